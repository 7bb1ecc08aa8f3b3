"""The plan being edited: the grid of every unit, kept checked as units move.

:class:`Board` holds plain arrays (unit weights, village of each unit, the
unit adjacency as CSR, built once) and the label (grid) of every unit. A
move, an undo or a rebalance changes some labels; only the grids touched are
measured again (weight and unit count by difference, contiguity by the
connected components of the grid's own units, the colour against the grid's
neighbours), so a move costs the size of the grids it touches, not of the
whole plan. Every change is one history entry (labels before/after, or a
lock), undone and redone exactly.

The rules a move must keep, as :func:`gridkit.partition` does: a grid never
crosses its village (nesting), no grid is left empty, a locked grid neither
gives nor takes units, and a grid stays in one piece unless the move is
forced (then it is reported ``contiguous: false``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx
import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from gridkit.errors import InvalidValueError, PartitionError

__all__ = ["Board", "UnitGraph", "PALETTE"]

# ColorBrewer Set3, as on gridkit's web maps: neighbouring grids never share one
PALETTE = ("#8dd3c7", "#ffffb3", "#bebada", "#fb8072", "#80b1d3", "#fdb462", "#b3de69",
           "#fccde5", "#d9d9d9", "#bc80bd")


@dataclass(frozen=True)
class UnitGraph:
    """The units as arrays: ids, weights, village (nest) code, adjacency (CSR, symmetric)."""

    ids: np.ndarray
    weight: np.ndarray
    nest: np.ndarray
    matrix: csr_matrix

    @classmethod
    def from_edges(cls, ids, weight, nest, ea, eb) -> UnitGraph:
        n = len(ids)
        data = np.ones(2 * len(ea), dtype=np.int8)
        rows = np.concatenate([ea, eb])
        cols = np.concatenate([eb, ea])
        matrix = csr_matrix((data, (rows, cols)), shape=(n, n))
        return cls(np.asarray(ids, dtype=object), np.asarray(weight, dtype=float),
                   np.asarray(nest, dtype=object), matrix)

    def neighbours(self, nodes: np.ndarray) -> np.ndarray:
        """Units adjacent to any of ``nodes`` (may include ``nodes`` themselves)."""
        m = self.matrix
        if len(nodes) == 0:
            return np.empty(0, dtype=int)
        return np.unique(np.concatenate([m.indices[m.indptr[i]:m.indptr[i + 1]] for i in nodes]))

    def pieces(self, nodes: np.ndarray) -> int:
        """Connected pieces of the subgraph on ``nodes``."""
        if len(nodes) <= 1:
            return len(nodes)
        sub = self.matrix[nodes][:, nodes]
        return int(connected_components(sub, directed=False)[0])


@dataclass
class Board:
    """The labels of a plan and everything derived from them, per grid.

    ``names[g]`` is grid ``g``'s id, ``targets[g]`` its target weight (the mean
    grid of its village, fixed for the session: moves stay inside villages).
    """

    graph: UnitGraph
    labels: np.ndarray
    names: list[str]
    targets: np.ndarray
    tolerance: float
    locked: np.ndarray = field(default=None)
    history: list = field(default_factory=list)
    future: list = field(default_factory=list)

    def __post_init__(self) -> None:
        self.labels = np.asarray(self.labels, dtype=np.int64).copy()
        k = len(self.names)
        self.targets = np.asarray(self.targets, dtype=float)
        self.locked = np.zeros(k, dtype=bool) if self.locked is None else self.locked
        self._index = {name: g for g, name in enumerate(self.names)}
        self._unit_index = {_key(u): i for i, u in enumerate(self.graph.ids)}
        self.weights = np.bincount(self.labels, weights=self.graph.weight, minlength=k)
        self.counts = np.bincount(self.labels, minlength=k)
        first = np.full(k, -1)
        first[self.labels[::-1]] = np.arange(len(self.labels))[::-1]
        self.village = np.array([self.graph.nest[i] if i >= 0 else None for i in first],
                                dtype=object)
        self.contiguous = np.array([self.graph.pieces(self.members(g)) <= 1 for g in range(k)])
        self.colours = self._initial_colours()
        self.version = 0
        self._whole_before: dict[int, bool] = {}
        self.last_touched = np.empty(0, dtype=np.int64)  # grids the last change re-measured

    # --- looking up -----------------------------------------------------------

    def members(self, g: int) -> np.ndarray:
        return np.flatnonzero(self.labels == g)

    def grid(self, grid_id) -> int:
        g = self._index.get(str(grid_id))
        if g is None:
            raise InvalidValueError(f"no grid {grid_id!r}; the grids are {self.names[:5]}...")
        return g

    def positions(self, unit_ids) -> np.ndarray:
        if isinstance(unit_ids, (str, bytes)) or not hasattr(unit_ids, "__iter__"):
            unit_ids = [unit_ids]
        pos, unknown = [], []
        for u in unit_ids:
            i = self._unit_index.get(_key(u))
            if i is None:
                unknown.append(u)
            else:
                pos.append(i)
        if unknown:
            raise InvalidValueError(f"no unit(s) {unknown[:5]} in the plan: give unit ids "
                                    "from the units' id column")
        return np.unique(np.asarray(pos, dtype=np.int64))

    def neighbour_grids(self, g: int) -> set[int]:
        near = self.labels[self.graph.neighbours(self.members(g))]
        return set(near.tolist()) - {g}

    # --- changing -------------------------------------------------------------

    def move(self, unit_ids, grid_id, *, force: bool = False) -> np.ndarray:
        """Move units into a grid; returns the positions whose grid changed.

        Raises
        ------
        InvalidValueError
            Unknown units or grid (a bad request).
        PartitionError
            The move breaks a rule (the message says which and what to do).
        """
        g = self.grid(grid_id)
        pos = self.positions(unit_ids)
        pos = pos[self.labels[pos] != g]
        if len(pos) == 0:
            return pos
        self._check_move(pos, g)
        old = self.labels[pos].copy()
        colours, version = self.colours.copy(), self.version
        self._set(pos, np.full(len(pos), g))
        broken = [s for s in {g, *old.tolist()} if not self.contiguous[s] and self._was_whole(s)]
        if broken and not force:  # put everything back as it was, colours too
            self._set(pos, old)
            self.colours, self.version = colours, version
            names = ", ".join(repr(self.names[s]) for s in sorted(broken))
            raise PartitionError(f"the move would break grid(s) {names} into pieces: move "
                                 "other units too, or send \"force\": true to move anyway")
        self._record(("labels", pos, old, np.full(len(pos), g)))
        return pos

    def relabel(self, pos: np.ndarray, new: np.ndarray) -> np.ndarray:
        """Set the grids of ``pos`` (a rebalance), as one history entry; returns changed."""
        pos, new = np.asarray(pos, dtype=np.int64), np.asarray(new, dtype=np.int64)
        changed = self.labels[pos] != new
        pos, new = pos[changed], new[changed]
        if len(pos):
            old = self.labels[pos].copy()
            self._set(pos, new)
            self._record(("labels", pos, old, new))
        return pos

    def add_grid(self, name: str, target: float, village) -> int:
        """A new (empty) grid, for a rebalance that names one; returns its label."""
        g = len(self.names)
        self.names.append(name)
        self._index[name] = g
        self.targets = np.append(self.targets, target)
        self.locked = np.append(self.locked, False)
        self.weights = np.append(self.weights, 0.0)
        self.counts = np.append(self.counts, 0)
        self.village = np.append(self.village, np.array([village], dtype=object))
        self.contiguous = np.append(self.contiguous, True)
        self.colours = np.append(self.colours, 0)
        return g

    def lock(self, grid_id, locked: bool) -> None:
        g = self.grid(grid_id)
        if bool(self.locked[g]) != bool(locked):
            self.locked[g] = bool(locked)
            self._record(("lock", g, not locked, bool(locked)))

    def undo(self) -> np.ndarray:
        if not self.history:
            raise PartitionError("nothing to undo")
        entry = self.history.pop()
        self.future.append(entry)
        return self._apply(entry, back=True)

    def redo(self) -> np.ndarray:
        if not self.future:
            raise PartitionError("nothing to redo")
        entry = self.future.pop()
        self.history.append(entry)
        return self._apply(entry, back=False)

    # --- inside ---------------------------------------------------------------

    def _check_move(self, pos: np.ndarray, g: int) -> None:
        ids = self.graph.ids
        foreign = pos[self.graph.nest[pos] != self.village[g]]
        if len(foreign):
            u = foreign[0]
            raise PartitionError(
                f"unit {ids[u]!r} lies in village {self.graph.nest[u]!r} and grid "
                f"{self.names[g]!r} in village {self.village[g]!r}: a grid never crosses a "
                "village boundary; choose a grid of the unit's own village")
        if self.locked[g]:
            raise PartitionError(f"grid {self.names[g]!r} is locked: unlock it to move units "
                                 "into it")
        sources, taken = np.unique(self.labels[pos], return_counts=True)
        for s, n in zip(sources.tolist(), taken.tolist(), strict=True):
            if self.locked[s]:
                raise PartitionError(f"grid {self.names[s]!r} is locked: unlock it to move its "
                                     "units")
            if n >= self.counts[s]:
                raise PartitionError(f"the move would leave grid {self.names[s]!r} empty: every "
                                     "grid keeps at least one unit (leave one, or merge grids "
                                     "with gridkit partition)")

    def _was_whole(self, s: int) -> bool:
        """Grid ``s`` was in one piece before the last :meth:`_set` (a forced break stays
        allowed to change)."""
        return self._whole_before.get(s, True)

    def _set(self, pos: np.ndarray, new: np.ndarray) -> None:
        """Relabel and re-measure only the grids touched."""
        old = self.labels[pos]
        touched = np.unique(np.concatenate([old, new]))
        self.last_touched = touched
        self._whole_before = {int(t): bool(self.contiguous[t]) for t in touched}
        np.subtract.at(self.counts, old, 1)
        np.add.at(self.counts, new, 1)
        self.labels[pos] = new
        # weights summed afresh, as at the start: a move and its undo (or a
        # refused move) leave them exactly as they were, with no rounding drift
        k = len(self.weights)
        self.weights[touched] = np.bincount(self.labels, weights=self.graph.weight,
                                            minlength=k)[touched]
        for t in touched.tolist():
            self.contiguous[t] = self.graph.pieces(self.members(t)) <= 1
        self._recolour(touched.tolist())
        self.version += 1

    def _record(self, entry) -> None:
        self.history.append(entry)
        self.future.clear()

    def _apply(self, entry, *, back: bool) -> np.ndarray:
        if entry[0] == "lock":
            _, g, before, after = entry
            self.locked[g] = before if back else after
            self.version += 1
            return np.empty(0, dtype=np.int64)
        _, pos, old, new = entry
        self._set(pos, old if back else new)
        return pos

    def _initial_colours(self) -> np.ndarray:
        k = len(self.names)
        m = self.graph.matrix.tocoo()
        la, lb = self.labels[m.row], self.labels[m.col]
        cross = la < lb
        graph = nx.Graph()
        graph.add_nodes_from(range(k))
        graph.add_edges_from(zip(la[cross].tolist(), lb[cross].tolist(), strict=True))
        colours = nx.greedy_color(graph, strategy="largest_first")
        return np.array([colours[g] for g in range(k)], dtype=np.int64)

    def _recolour(self, touched: list[int]) -> None:
        """A touched grid sharing its colour with a neighbour takes the lowest free one."""
        for t in touched:
            if self.counts[t] == 0:
                continue
            used = {int(self.colours[h]) for h in self.neighbour_grids(t)}
            if int(self.colours[t]) in used:
                self.colours[t] = next(c for c in range(len(used) + 1) if c not in used)


def _key(unit_id):
    """Unit ids compare as text: ``"17"`` from a browser finds the unit ``17``."""
    if isinstance(unit_id, (np.integer, np.floating)):
        unit_id = unit_id.item()
    if isinstance(unit_id, float) and unit_id.is_integer():
        unit_id = int(unit_id)
    return str(unit_id)
