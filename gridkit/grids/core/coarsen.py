"""Coarsening: merge units into small clusters before the split (multilevel).

Heavy-edge matching as in METIS: each round, units are paired with the
neighbour they share the most cut cost with (the longest border that is not
on a road, since road borders are discounted), when the pair is mutual and
light enough. Clusters therefore grow inside street blocks and stop at
roads, and the split and refinement on the cluster graph move whole blocks,
so grid borders land on roads. The partition is then projected back to the
units and refined there. Matching is vectorised with numpy; clusters never
cross a part (the graph has no edges between parts or villages).
"""

from __future__ import annotations

import numpy as np

from gridkit.grids.core.graph import Graph


def _match(graph: Graph, weight: np.ndarray, cap: float, eligible: np.ndarray) -> np.ndarray:
    """One round of mutual heavy-edge matching; returns cluster ids 0..m-1."""
    n = graph.n
    mate = np.full(n, -1)
    # an edge may be contracted only when it is among the strongest of both its
    # ends: a unit inside a block never pairs across the road that bounds it
    strongest = np.zeros(n)
    c_all = graph.cost + 1e-6 * graph.shared
    np.maximum.at(strongest, graph.eu, c_all)
    np.maximum.at(strongest, graph.ev, c_all)
    strong = (c_all >= 0.9 * strongest[graph.eu]) & (c_all >= 0.9 * strongest[graph.ev])
    for _ in range(3):  # a few passes: nodes whose best partner was taken try again
        free = (mate < 0) & eligible
        eu, ev, c = graph.eu, graph.ev, graph.cost + 1e-6 * graph.shared
        ok = free[eu] & free[ev] & strong & (weight[eu] + weight[ev] <= cap)
        if not ok.any():
            break
        a = np.r_[eu[ok], ev[ok]]
        b = np.r_[ev[ok], eu[ok]]
        cost = np.r_[c[ok], c[ok]]
        order = np.lexsort((b, -cost, a))  # per node: heaviest edge first (ties: lower id)
        a, b = a[order], b[order]
        first = np.r_[True, a[1:] != a[:-1]]
        best = np.full(n, -1)
        best[a[first]] = b[first]
        i = np.flatnonzero(best >= 0)
        mutual = i[best[best[i]] == i]
        mate[mutual] = best[mutual]
    cluster = np.full(n, -1)
    paired = np.flatnonzero((mate >= 0) & (np.arange(n) < mate))
    single = np.flatnonzero(mate < 0)
    cluster[paired] = np.arange(len(paired))
    cluster[mate[paired]] = np.arange(len(paired))
    cluster[single] = len(paired) + np.arange(len(single))
    return cluster


def coarsen(graph: Graph, weight: np.ndarray, xy: np.ndarray, area: np.ndarray,
            parts: np.ndarray, part_k: np.ndarray, *, per_grid: int = 30,
            cap_share: float = 0.25, max_rounds: int = 8, levels: list | None = None):
    """Cluster the units; return (cluster id per unit, coarse graph, weight, xy, area, parts).

    A part keeps being coarsened while it has more than ``per_grid`` nodes per
    grid; a cluster weighs at most ``cap_share`` of its part's mean grid.
    ``levels``, when given, receives one ``(cluster of each node, graph,
    weight, parts)`` per round, finest first (the graph before the round), for
    refinement on the way back up.
    """
    n = graph.n
    member = np.arange(n)  # unit -> current node
    g, w, c, a, p = graph, weight.astype(float), xy.astype(float), area.astype(float), parts
    part_mean = np.bincount(parts, weights=weight) / np.maximum(part_k, 1)
    for _ in range(max_rounds):
        count = np.bincount(p, minlength=len(part_k))
        eligible = count[p] > per_grid * np.maximum(part_k[p], 1)
        if not eligible.any():
            break
        cap = cap_share * part_mean[p]
        cap = np.where(cap > 0, cap, np.inf)
        cluster = _match(g, w, float("inf"), eligible)
        # the cap is per part: undo pairs that are too heavy
        cw = np.bincount(cluster, weights=w)
        too_heavy = cw[cluster] > cap
        if too_heavy.any():
            cluster = cluster.copy()
            cluster[too_heavy] = cluster.max() + 1 + np.arange(int(too_heavy.sum()))
            _, cluster = np.unique(cluster, return_inverse=True)
        m = int(cluster.max()) + 1
        if m > 0.95 * g.n:
            break
        wsum = np.bincount(cluster, weights=w, minlength=m)
        asum = np.bincount(cluster, weights=a, minlength=m)
        safe = np.where(asum > 0, asum, 1.0)
        cx = np.bincount(cluster, weights=c[:, 0] * a, minlength=m) / safe
        cy = np.bincount(cluster, weights=c[:, 1] * a, minlength=m) / safe
        newp = np.zeros(m, dtype=p.dtype)
        newp[cluster] = p
        if levels is not None:
            levels.append((cluster, g, w, p))
        cu, cv = cluster[g.eu], cluster[g.ev]
        keep = cu != cv
        g = Graph.from_edges(m, cu[keep], cv[keep], g.shared[keep], g.cost[keep])
        w, c, a, p = wsum, np.stack([cx, cy], axis=1), asum, newp
        member = cluster[member]
    return member, g, w, c, a, p
