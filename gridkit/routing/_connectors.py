"""Straight walking connectors between pieces of a street network that no street joins.

Real extracts fall into pieces: a footway mapped a few metres short of the street, a
service road cut off by the extract's edge. A patrol still walks there, so instead of
dropping such streets the tour may cross the gap on foot: for every two network
components that hold streets to patrol, one candidate connector between their nearest
nodes (scipy's KD-tree), as long as the straight line. The tour solver then uses a
connector only where it is shorter than any way round by the streets, and the output
flags it (``connector_m``).
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

__all__ = ["walking_connectors"]


def walking_connectors(
    n: int, u, v, xy, required, nodes=()
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Connector edges ``(a, b, length)`` joining the network components of ``required``
    (edge positions) and of ``nodes`` (e.g. the start).

    ``xy``: node coordinates (metric), one row per node. Empty when the required edges
    already lie in one component.
    """
    u, v = np.asarray(u), np.asarray(v)
    _, label = connected_components(
        coo_matrix((np.ones(len(u)), (u, v)), shape=(n, n)), directed=False
    )
    comps = np.unique(
        np.concatenate([label[u[required]], label[np.asarray(nodes, dtype=np.int64)]])
    )
    if len(comps) <= 1:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    has_edge = np.zeros(n, dtype=bool)
    has_edge[u] = has_edge[v] = True
    members = [np.flatnonzero((label == c) & has_edge) for c in comps]
    trees = [cKDTree(xy[m]) for m in members]
    a_out, b_out, d_out = [], [], []
    for i in range(len(comps)):
        for j in range(i + 1, len(comps)):
            small, big = (i, j) if len(members[i]) <= len(members[j]) else (j, i)
            d, k = trees[big].query(xy[members[small]])
            s = int(np.argmin(d))
            a_out.append(int(members[small][s]))
            b_out.append(int(members[big][k[s]]))
            d_out.append(max(float(d[s]), 1e-3))
    return np.asarray(a_out, np.int64), np.asarray(b_out, np.int64), np.asarray(d_out)
