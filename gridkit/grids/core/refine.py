"""Local refinement: move boundary units between neighbouring grids.

Two kinds of move, each of one unit from its grid ``a`` to a neighbouring
grid ``b`` of the same part, and only when ``a`` stays connected:

- balance moves lower the sum of squared deviations of grid weights from
  their targets (strictly, so they cannot cycle);
- shape moves lower the total cut cost (shared boundary length, less what
  runs along roads) while both grids stay inside the tolerance band (or get
  no further from it), which smooths ragged borders and pulls them onto
  roads.

Connectivity of ``a`` without the unit is tested locally first (the unit's
neighbours in ``a`` are linked among themselves), then by a bounded
breadth-first search; when the search hits its bound the move is refused,
so the test may be cautious but never wrong. This is the usual
Fiduccia-Mattheyses-style boundary refinement with a contiguity constraint;
no maintained Python library offers it with these rules, hence own code.
Candidate moves are found and ranked with numpy; only the accepted moves
run in the Python loop.
"""

from __future__ import annotations

import logging
from collections import deque

import numpy as np

from gridkit.grids.core.graph import Graph

log = logging.getLogger(__name__)

_BFS_CAP = 2000


def removable(u: int, a: int, lab: list, nbrs: list) -> bool:
    """Whether grid ``a`` stays connected without unit ``u``."""
    ring = [v for v in nbrs[u] if lab[v] == a]
    if len(ring) <= 1:
        return True
    ringset = set(ring)
    seen = {ring[0]}
    stack = [ring[0]]
    while stack:  # are the neighbours linked among themselves?
        x = stack.pop()
        for y in nbrs[x]:
            if y in ringset and y not in seen:
                seen.add(y)
                stack.append(y)
    if len(seen) == len(ringset):
        return True
    remaining = ringset - seen
    seen = {u} | seen
    queue = deque(seen - {u})
    count = 0
    while queue:
        x = queue.popleft()
        count += 1
        if count > _BFS_CAP:
            return False
        for y in nbrs[x]:
            if y not in seen and lab[y] == a:
                seen.add(y)
                if y in remaining:
                    remaining.discard(y)
                    if not remaining:
                        return True
                queue.append(y)
    return False


class _LazyNeighbours:
    """Neighbour lists built on first use (a two-way rebalance touches few units)."""

    def __init__(self, graph: Graph):
        self.ptr, self.ind, self.cache = graph.indptr, graph.indices, {}

    def __getitem__(self, u: int) -> list:
        out = self.cache.get(u)
        if out is None:
            out = self.cache[u] = self.ind[self.ptr[u]:self.ptr[u + 1]].tolist()
        return out


class Refiner:
    """Holds the state of a refinement over one graph (all parts at once)."""

    def __init__(self, graph: Graph, labels: np.ndarray, weight: np.ndarray,
                 target: np.ndarray, tolerance: float, *, lazy: bool = False):
        self.graph = graph
        # lazy neighbour lists for short refinements that touch few units
        self.nbrs = _LazyNeighbours(graph) if lazy else graph.neighbour_lists()
        self.rows = np.repeat(np.arange(graph.n), np.diff(graph.indptr))
        self.lab = labels.tolist()
        self.w = weight.astype(float)
        self.wl = self.w.tolist()
        self.k = int(labels.max()) + 1
        self.target = target.astype(float)  # per label
        positive = self.target[self.target > 0]
        # scale for relative deviations; a zero target (a part with no weight) must not divide
        self.norm = np.maximum(self.target, 1e-9 * (positive.mean() if len(positive) else 1.0))
        self.nl = self.norm.tolist()
        self.tolerance = tolerance
        self.band = (tolerance * self.target).tolist()
        self.tl = self.target.tolist()
        self.W = np.bincount(labels, weights=self.w, minlength=self.k).tolist()
        self.size = np.bincount(labels, minlength=self.k).tolist()
        self.min_size = None  # optional per-label floor on the unit count
        self.frozen = None  # optional bool per unit: units that never move
        self.closed = frozenset()  # grids no unit may join (all their units fixed)
        self.moves = 0

    @property
    def labels(self) -> np.ndarray:
        return np.asarray(self.lab, dtype=np.int64)

    def _candidates(self):
        lab = self.labels
        src, dst = self.rows, self.graph.indices
        cross = lab[src] != lab[dst]
        u, b = src[cross], lab[dst[cross]]
        key = np.unique(u * self.k + b)
        return key // self.k, key % self.k, lab

    def _connection(self, u, b, lab):
        """Cut cost between each candidate unit and grid ``b``, and its own grid."""
        src, dst, c = self.rows, self.graph.indices, self.graph.ecost
        key_all = src * self.k + lab[dst]
        order = np.argsort(key_all, kind="stable")
        sk = key_all[order]
        sums = np.add.reduceat(c[order], np.r_[0, np.flatnonzero(sk[1:] != sk[:-1]) + 1]) \
            if len(sk) else np.zeros(0)
        uk = sk[np.r_[True, sk[1:] != sk[:-1]]] if len(sk) else sk

        def lookup(keys):
            i = np.searchsorted(uk, keys)
            i = np.clip(i, 0, max(len(uk) - 1, 0))
            hit = (uk[i] == keys) if len(uk) else np.zeros(len(keys), bool)
            return np.where(hit, sums[i] if len(uk) else 0.0, 0.0)

        return lookup(u * self.k + b), lookup(u * self.k + lab[u])

    def balance(self, *, max_sweeps: int = 200, only_out_of_band: bool = False,
                allow_zero: bool = False) -> int:
        """Balance moves until none improves; return how many were made.

        With ``allow_zero``, units of zero weight may also move downhill
        (from the heavier grid to the lighter one, one of them out of band):
        that changes no weight but uncovers heavy units lying behind them.
        Such a unit only ever moves to a lighter grid, so this terminates.
        """
        total = 0
        band = np.asarray(self.band)
        for _ in range(max_sweeps):
            u, b, lab = self._candidates()
            if len(u) == 0:
                break
            a = lab[u]
            W = np.asarray(self.W)
            d_a = W[a] - self.target[a]
            d_b = W[b] - self.target[b]
            wu = self.w[u]
            gain = 2 * wu * (d_a - d_b - wu) / self.norm[a] ** 2
            ok = (gain > 1e-12) & (wu > 0)
            if only_out_of_band:
                ok &= (np.abs(d_a) > band[a]) | (np.abs(d_b) > band[b])
            if allow_zero:
                zero = (wu == 0) & (d_a > d_b + 1e-12) & (
                    (np.abs(d_a) > band[a]) | (np.abs(d_b) > band[b]))
                gain = np.where(zero, 1e-300, gain)
                ok |= zero
            if not ok.any():
                break
            cut_b, cut_a = self._connection(u[ok], b[ok], lab)
            # best balance gain first; among equals, the move that shortens borders
            order = np.lexsort((-(cut_b - cut_a), -gain[ok]))
            made = self._apply(u[ok][order], b[ok][order], mode="balance",
                               only_out_of_band=only_out_of_band, allow_zero=allow_zero)
            total += made
            if made == 0:
                break
        return total

    def shape(self, *, max_sweeps: int = 30, band: float = 0.5) -> int:
        """Shape moves (shorter, road-following borders) inside ``band`` x the
        balance band (half of it by default, to keep a margin)."""
        total = 0
        for _ in range(max_sweeps):
            u, b, lab = self._candidates()
            if len(u) == 0:
                break
            cut_b, cut_a = self._connection(u, b, lab)
            gain = cut_b - cut_a
            ok = gain > 1e-9
            if not ok.any():
                break
            order = np.argsort(-gain[ok], kind="stable")
            made = self._apply(u[ok][order], b[ok][order], mode="shape", shape_band=band)
            total += made
            if made == 0:
                break
        return total

    def _apply(self, us, bs, *, mode: str, only_out_of_band: bool = False,
               allow_zero: bool = False, shape_band: float = 0.5) -> int:
        lab, W, T, band, size, wl, nbrs = (self.lab, self.W, self.tl, self.band, self.size,
                                           self.wl, self.nbrs)
        costs = None
        if mode == "shape":
            costs = self._costs()
        made = 0
        touched = set()
        floor = [1] * self.k if self.min_size is None else [int(x) for x in self.min_size]
        frozen = self.frozen
        for u, b in zip(us.tolist(), bs.tolist(), strict=True):
            a = lab[u]
            if a == b or size[a] <= floor[a] or (frozen is not None and frozen[u]) \
                    or b in self.closed:
                continue
            if mode == "shape" and u in touched:
                continue
            nb = nbrs[u]
            if not any(lab[v] == b for v in nb):
                continue
            wu = wl[u]
            da, db = W[a] - T[a], W[b] - T[b]
            na, nb_ = da - wu, db + wu
            if mode == "balance":
                out_of_band = abs(da) > band[a] or abs(db) > band[b]
                if wu > 0:
                    if not wu < da - db - 1e-12 or (only_out_of_band and not out_of_band):
                        continue
                elif not (allow_zero and da > db + 1e-12 and out_of_band):
                    continue
            else:
                cu = costs[u]
                gain = sum(c for v, c in zip(nb, cu, strict=True) if lab[v] == b) - \
                    sum(c for v, c in zip(nb, cu, strict=True) if lab[v] == a)
                if gain <= 1e-9:
                    continue
                inside = abs(na) <= shape_band * band[a] and abs(nb_) <= shape_band * band[b]
                if not inside and max(abs(na), abs(nb_)) > max(abs(da), abs(db)) + 1e-12:
                    continue
            if not removable(u, a, lab, nbrs):
                continue
            lab[u] = b
            W[a] -= wu
            W[b] += wu
            size[a] -= 1
            size[b] += 1
            made += 1
            touched.update(nb)
        self.moves += made
        return made

    def chains(self, *, max_rounds: int = 500) -> int:
        """Shift weight along a path of grids, from a grid out of band to the
        nearest grid that can take (or give) it.

        Greedy single moves stall on plateaus: a heavy grid whose neighbours
        are all exactly on target cannot pass a unit on without making the
        neighbour as bad as itself. A chain moves one unit on every step of a
        path ``a -> p1 -> ... -> c`` in the grid adjacency graph, each unit
        about as heavy as the one received, and is kept only when the sum of
        squared relative deviations falls (otherwise it is undone).
        """
        made = 0
        failed: set[int] = set()
        stale = True
        for _ in range(max_rounds):
            if stale:
                lab_np = self.labels
                src, dst = self.rows, self.graph.indices
                cross = lab_np[src] != lab_np[dst]
                cu, cv = src[cross], dst[cross]
                key = np.unique(lab_np[cu] * self.k + lab_np[cv])
                adj: dict[int, list[int]] = {}
                for x, y in zip((key // self.k).tolist(), (key % self.k).tolist(), strict=True):
                    adj.setdefault(x, []).append(y)
                stale = False
            W = np.asarray(self.W)
            dev = (W - self.target) / self.norm
            band = np.asarray(self.band) / self.norm
            outside = np.abs(dev) > band
            if failed:
                outside[list(failed)] = False
            out = np.flatnonzero(outside)
            if len(out) == 0:
                break
            a = int(out[np.argmax(np.abs(dev[out]))])
            heavy = dev[a] > 0
            path = self._path(a, adj, dev, heavy)
            if path is None:
                failed.add(a)
                continue
            if not heavy:
                path = path[::-1]  # weight flows from the heavy end to a
            if self._push(path, cu, cv):
                made += 1
                stale = True
            else:
                failed.add(a)
        self.moves += made
        return made

    def _path(self, a, adj, dev, heavy):
        """Shortest grid path from ``a`` to a grid on the other side of the target."""
        prev = {a: None}
        queue = deque([a])
        while queue:
            x = queue.popleft()
            if x != a and ((dev[x] < 0) if heavy else (dev[x] > 0)) \
                    and abs(dev[x] - dev[a]) > 1e-12:
                path = [x]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])
                return path[::-1]
            for y in adj.get(x, ()):
                if y not in prev:
                    prev[y] = x
                    queue.append(y)
        return None

    def _ssq(self, grids) -> float:
        return sum(((self.W[g] - self.tl[g]) / self.nl[g]) ** 2 for g in set(grids))

    def _push(self, path, cu, cv) -> bool:
        lab, wl, W, size = self.lab, self.wl, self.W, self.size
        first, last = path[0], path[-1]
        amount = min(W[first] - self.tl[first], self.tl[last] - W[last])
        if amount <= 0:
            return False
        before = self._ssq(path)
        done = []
        if self.closed.intersection(path):
            return False
        for x, y in zip(path[:-1], path[1:], strict=True):
            # boundary units of x touching y
            best, best_err = None, None
            for u in self._frontier(x, y, cu, cv):
                wu = wl[u]
                if wu <= 0 or size[x] <= 1 or (self.frozen is not None and self.frozen[u]):
                    continue
                err = abs(wu - amount)
                if best is not None and err >= best_err:
                    continue
                if removable(u, x, lab, self.nbrs):
                    best, best_err = u, err
            if best is None:
                break
            lab[best] = y
            W[x] -= wl[best]
            W[y] += wl[best]
            size[x] -= 1
            size[y] += 1
            done.append((best, x, y))
            amount = wl[best]
        if len(done) == len(path) - 1 and self._ssq(path) < before - 1e-15:
            self.moves += len(done) - 1
            return True
        for u, x, y in reversed(done):  # undo: each step back is valid in reverse order
            lab[u] = x
            W[x] += wl[u]
            W[y] -= wl[u]
            size[x] += 1
            size[y] -= 1
        return False

    def _frontier(self, x, y, cu, cv):
        lab = np.asarray(self.lab)
        return np.unique(cu[(lab[cu] == x) & (lab[cv] == y)]).tolist()

    def _costs(self):
        if not hasattr(self, "_cost_lists"):
            self._cost_lists = self.graph.cost_lists()
        return self._cost_lists
