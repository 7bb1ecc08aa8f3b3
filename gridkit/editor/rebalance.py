"""Rebalance the unlocked grids: :func:`gridkit.partition` on their units only.

The units of the locked grids stay where they are: the partition sees only
the units of the unlocked grids (and their adjacency among themselves),
with their current grid ids as ``existing`` (so as few units move as
possible and every village keeps its number of grids), the session's
tolerance and road preference, nested in the villages' connected pieces of
free units (see :func:`_parts`).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from gridkit.editor.inputs import Plan
from gridkit.errors import GridkitWarning, PartitionError
from gridkit.grids.partition import partition

__all__ = ["rebalance"]

_CURRENT = "edit_grid_id"
_PART = "edit_part"


def _parts(board, free: np.ndarray) -> np.ndarray:
    """Village and connected piece of each free unit, as one nesting code.

    Locked grids can cut a village's free units into pieces; nesting by
    piece keeps every piece's current grids (the partition would otherwise
    share a village's grids among its pieces by weight, and merge or split
    grids to get there).
    """
    nest = board.graph.nest[free]
    sub = board.graph.matrix[free][:, free].tocoo()
    same = nest[sub.row] == nest[sub.col]
    inside = coo_matrix((sub.data[same], (sub.row[same], sub.col[same])), shape=sub.shape)
    _, piece = connected_components(inside, directed=False)
    return np.array([f"{v}#{p}" for v, p in zip(nest, piece, strict=True)], dtype=object)


def rebalance(plan: Plan) -> tuple[np.ndarray, list[str]]:
    """Re-partition the unlocked grids; returns the positions changed and the warnings."""
    board = plan.board
    free = np.flatnonzero(~board.locked[board.labels])
    if len(free) == 0:
        raise PartitionError("every grid is locked: unlock the grids to rebalance")
    units = plan.metric.iloc[free].copy()
    units[_CURRENT] = np.asarray(board.names, dtype=object)[board.labels[free]]
    units[_PART] = _parts(board, free)
    ids = set(units[plan.id_column].tolist())
    adj = plan.adjacency
    adj = adj[adj["unit_a"].isin(ids) & adj["unit_b"].isin(ids)]
    weight = pd.Series(board.graph.weight[free], index=units.index)
    options = dict(nest_by=_PART, existing=_CURRENT, tolerance=board.tolerance,
                   adjacency=adj, road_weight=plan.road_weight, id_column=plan.id_column)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", GridkitWarning)
        result = partition(units, weight, **options)
    new_names = result.assignment["grid_id"].astype(str).to_numpy()
    new = np.empty(len(free), dtype=np.int64)
    for i, name in enumerate(new_names):
        try:
            new[i] = board.grid(name)
        except ValueError:
            old = board.labels[free[i]]
            new[i] = board.add_grid(name, float(board.targets[old]), board.village[old])
    messages = result.report.warnings or [str(w.message) for w in caught]
    return board.relabel(free, new), messages
