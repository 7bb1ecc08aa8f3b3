"""Initial split of one connected part into ``k`` grids.

Recursive bisection: the region's units are ordered along its principal
axis and cut where the cumulative weight reaches the share of the first
half's grids (``k // 2`` of ``k``), so both halves get their exact share up
to one unit. A straight cut can leave a half in pieces on an irregular
graph; each level repairs that at once (stray pieces join the other half,
see :func:`gridkit.grids.core.graph.repair`) before recursing. The cut line
gives compact, convex-ish grids; the refinement then fixes the balance that
the repair disturbed and moves the boundaries onto roads.
"""

from __future__ import annotations

import numpy as np

from gridkit.grids.core.graph import Graph, repair


def _axis_order(xy: np.ndarray, rng: np.random.Generator, turn: float = 0.0) -> np.ndarray:
    """Units ordered along the principal axis (turned by ``turn`` radians and
    slightly by the seed)."""
    c = xy - xy.mean(axis=0)
    if len(c) < 2:
        return np.arange(len(c))
    cov = c.T @ c
    vals, vecs = np.linalg.eigh(cov)
    v = vecs[:, int(np.argmax(vals))]
    angle = np.arctan2(v[1], v[0]) + turn + rng.uniform(-0.15, 0.15)
    proj = c[:, 0] * np.cos(angle) + c[:, 1] * np.sin(angle)
    return np.argsort(proj, kind="stable")


def _cut(region: Graph, order: np.ndarray, m: int) -> np.ndarray:
    side = np.ones(region.n, dtype=np.int64)
    side[order[:m]] = 0
    side, _ = repair(region, side)
    return side


def _rebalance(region: Graph, side: np.ndarray, weight: np.ndarray, goal: float,
               k1: int, k2: int, tolerance: float) -> np.ndarray:
    """Two-way balance refinement of a cut, so that errors do not pile up
    down the recursion (the repair may have moved heavy pieces across)."""
    from gridkit.grids.core.refine import Refiner

    total = float(weight.sum())
    if total <= 0 or abs(weight[side == 0].sum() - goal) <= tolerance / 2 * min(goal, total - goal):
        return side  # already close: the final refinement will do the rest
    full = Graph.from_edges(region.n, region.eu, region.ev, region.shared, region.cost)
    ref = Refiner(full, side, weight, np.array([goal, total - goal]), tolerance, lazy=True)
    ref.min_size = np.array([k1, k2])
    ref.balance(max_sweeps=50)
    ref.balance(max_sweeps=50, allow_zero=True, only_out_of_band=True)
    ref.balance(max_sweeps=50)
    out = ref.labels
    if (out == 0).sum() < k1 or (out == 1).sum() < k2:
        return side
    return out


def peel_split(region: Graph, k: int, weight: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Labels 0..k-1 by peeling connected grids off a connected region.

    Each grid grows from the first unit (in ``order``) whose removal keeps
    the rest connected, adding neighbouring units that keep the rest
    connected, until it reaches its share of the weight or the rest has just
    enough units left for the remaining grids. Always succeeds when the
    region is connected and has at least ``k`` units (a spanning tree always
    has a leaf to take). Slower than bisection: only a fallback.
    """
    from gridkit.grids.core.refine import removable

    full = Graph.from_edges(region.n, region.eu, region.ev, region.shared, region.cost)
    nbrs = full.neighbour_lists()
    lab = [0] * region.n  # 0: the rest
    rest_n = region.n
    rest_w = float(weight.sum())
    rank = np.empty(region.n, dtype=np.int64)
    rank[order] = np.arange(region.n)
    order_list = order.tolist()
    for g in range(1, k):
        goal = rest_w / (k - g + 1)
        seed = next((u for u in order_list if lab[u] == 0 and removable(u, 0, lab, nbrs)), None)
        if seed is None:
            raise RuntimeError("peeling found no unit to take (region not connected?)")
        lab[seed] = g
        got, rest_n, rest_w = weight[seed], rest_n - 1, rest_w - weight[seed]
        frontier = sorted({v for v in nbrs[seed] if lab[v] == 0}, key=rank.__getitem__)
        while frontier and got < goal and rest_n > k - g:
            u = frontier.pop(0)
            if lab[u] != 0 or got + weight[u] - goal > goal - got or not removable(u, 0, lab, nbrs):
                continue
            lab[u] = g
            got, rest_n, rest_w = got + weight[u], rest_n - 1, rest_w - weight[u]
            frontier = sorted(set(frontier) | {v for v in nbrs[u] if lab[v] == 0},
                              key=rank.__getitem__)
    out = np.asarray(lab)
    out[out == 0] = k  # the rest is the last grid
    return out - 1


def bisect_split(graph: Graph, nodes: np.ndarray, k: int, xy: np.ndarray, weight: np.ndarray,
                 rng: np.random.Generator, *, tolerance: float = 0.02,
                 turn: float = 0.0) -> np.ndarray:
    """Labels 0..k-1 for ``nodes`` (a connected set of graph positions); ``turn``
    turns every cut from the principal axis (radians), for other starts.

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
        order = members[_axis_order(xy[members], rng, turn)]
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
            # a straight cut cannot give both halves enough units (a stringy
            # region): peel the grids off one by one instead
            peeled = peel_split(region, kk, weight[members], pos[order])
            labels[members[peeled == 1]] = new
            for j in range(2, kk):
                labels[members[peeled == j]] = next_label
                next_label += 1
            continue
        side = _rebalance(region, side, weight[members], weight[members].sum() * k1 / kk, k1, k2,
                          tolerance / 2)
        labels[members[side == 1]] = new
        pending.append((lab, k1))
        pending.append((new, k2))
    return labels
