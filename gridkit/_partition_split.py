"""Initial split of one connected part into ``k`` grids.

Recursive bisection: the region's units are ordered along its principal
axis and cut where the cumulative weight reaches the share of the first
half's grids (``k // 2`` of ``k``), so both halves get their exact share up
to one unit. A straight cut can leave a half in pieces on an irregular
graph; each level repairs that at once (stray pieces join the other half,
see :func:`gridkit._partition_graph.repair`) before recursing. The cut line
gives compact, convex-ish grids; the refinement then fixes the balance that
the repair disturbed and moves the boundaries onto roads.
"""

from __future__ import annotations

import numpy as np

from gridkit._partition_graph import Graph, repair


def _axis_order(xy: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Units ordered along the principal axis (slightly turned by the seed)."""
    c = xy - xy.mean(axis=0)
    if len(c) < 2:
        return np.arange(len(c))
    cov = c.T @ c
    vals, vecs = np.linalg.eigh(cov)
    v = vecs[:, int(np.argmax(vals))]
    angle = np.arctan2(v[1], v[0]) + rng.uniform(-0.15, 0.15)
    proj = c[:, 0] * np.cos(angle) + c[:, 1] * np.sin(angle)
    return np.argsort(proj, kind="stable")


def _cut(region: Graph, order: np.ndarray, m: int) -> np.ndarray:
    side = np.ones(region.n, dtype=np.int64)
    side[order[:m]] = 0
    side, _ = repair(region, side)
    return side


def bisect_split(graph: Graph, nodes: np.ndarray, k: int, xy: np.ndarray, weight: np.ndarray,
                 rng: np.random.Generator) -> np.ndarray:
    """Labels 0..k-1 for ``nodes`` (a connected set of graph positions).

    Every label gets at least one unit and is connected.
    """
    graph = graph.subgraph(nodes)  # local positions from here on
    xy, weight = xy[nodes], weight[nodes]
    n_all = graph.n
    labels = np.zeros(n_all, dtype=np.int64)
    # work list of (label, k for it); labels are split in place
    pending = [(0, k)]
    next_label = 1
    while pending:
        lab, kk = pending.pop()
        if kk == 1:
            continue
        members = np.flatnonzero(labels == lab)
        k1 = kk // 2
        k2 = kk - k1
        order = members[_axis_order(xy[members], rng)]
        w = weight[order]
        if w.sum() <= 0:
            w = np.ones(len(order))
        cum = np.cumsum(w)
        goal = cum[-1] * k1 / kk
        m = int(np.searchsorted(cum, goal))  # first index with cum >= goal
        if m > 0 and abs(cum[m - 1] - goal) <= abs(cum[m] - goal):
            m -= 1
        m = min(max(m + 1, k1), len(order) - k2)  # m units on the first side
        new = next_label
        next_label += 1
        region = graph.subgraph(members)
        pos = np.empty(n_all, dtype=np.int64)
        pos[members] = np.arange(len(members))
        side = _cut(region, pos[order], m)
        if (side == 0).sum() < k1 or (side == 1).sum() < k2:  # repair ate a side: cut by count
            side = _cut(region, pos[order], min(max(k1, len(order) * k1 // kk), len(order) - k2))
            if (side == 0).sum() < k1 or (side == 1).sum() < k2:
                raise RuntimeError("cannot bisect a region into enough connected pieces")
        labels[members[side == 1]] = new
        pending.append((lab, k1))
        pending.append((new, k2))
    return labels
