"""Recombination: merge a grid that is out of band with a neighbour and split the pair again.

Single-unit moves stall when units are coarse or heavy (a heavy unit deep
inside a grid, a light grid wedged between balanced ones). Re-splitting the
union of two neighbouring grids, as GerryChain's ReCom step does, can swap
whole groups of units at once. The pair is cut along a few directions (the
principal axis, its normal and two turned by the seed) at the weight share
of each grid's target, made connected and rebalanced two-way; the best cut
replaces the pair only when the pair's squared relative deviations fall.
"""

from __future__ import annotations

import numpy as np

from gridkit.grids.core.graph import Graph
from gridkit.grids.core.refine import Refiner
from gridkit.grids.core.split import _cut, _rebalance


def _pair_split(graph: Graph, nodes: np.ndarray, weight: np.ndarray, xy: np.ndarray,
                goal: float, rng: np.random.Generator, tolerance: float):
    """Best two-way connected split of ``nodes`` with ``goal`` weight on side 0."""
    region = graph.subgraph(nodes)
    w = weight[nodes]
    c = xy[nodes] - xy[nodes].mean(axis=0)
    vals, vecs = np.linalg.eigh(c.T @ c)
    base = np.arctan2(vecs[1, -1], vecs[0, -1])
    best, best_err = None, np.inf
    for angle in (base, base + np.pi / 2 + rng.uniform(-0.2, 0.2)):
        proj = c[:, 0] * np.cos(angle) + c[:, 1] * np.sin(angle)
        for order in (np.argsort(proj, kind="stable"), np.argsort(-proj, kind="stable")):
            cum = np.cumsum(w[order])
            m = int(np.clip(np.searchsorted(cum, goal) + 1, 1, len(order) - 1))
            if m > 1 and abs(cum[m - 2] - goal) < abs(cum[m - 1] - goal):
                m -= 1
            side = _cut(region, order, m)
            if (side == 0).sum() < 1 or (side == 1).sum() < 1:
                continue
            side = _rebalance(region, side, w, goal, 1, 1, tolerance)
            err = abs(w[side == 0].sum() - goal)
            if err < best_err:
                best, best_err = side, err
            if best_err <= tolerance * goal:
                return best
    return best


def recombine(ref: Refiner, xy: np.ndarray, rng: np.random.Generator, tolerance: float,
              *, max_rounds: int | None = None) -> int:
    """Re-split pairs of grids around out-of-band grids; return pairs changed."""
    changed = 0
    tried: set[int] = set()
    # pair splits in all, and in a row without success: bounds the time on
    # hopeless (granular) cases, where most grids cannot be brought into band
    budget = min(3 * ref.k, 40)
    misses = 0
    for _ in range(max_rounds or 2 * ref.k):
        if budget <= 0 or misses >= 12:
            break
        labels = ref.labels
        W = np.asarray(ref.W)
        dev = (W - ref.target) / ref.norm
        band = np.asarray(ref.band) / ref.norm
        order = [int(g) for g in np.argsort(-np.abs(dev), kind="stable")
                 if abs(dev[g]) > band[g] and int(g) not in tried]
        if not order:
            break
        a = order[0]
        tried.add(a)
        src, dst = ref.rows, ref.graph.indices
        near = np.unique(labels[dst[labels[src] == a]])
        near = near[near != a]
        near = near[np.argsort(dev[near] * np.sign(dev[a]), kind="stable")]  # opposite first
        best = None
        for b in near[:3].tolist():
            budget -= 1
            misses += 1
            ta, tb = ref.target[a], ref.target[b]
            old = dev[a] ** 2 + dev[b] ** 2
            nodes = np.flatnonzero((labels == a) | (labels == b))
            total = W[a] + W[b]
            goal = total * ta / (ta + tb) if ta + tb > 0 else total / 2
            side = _pair_split(ref.graph, nodes, ref.w, xy, goal, rng, tolerance / 2)
            if side is None:
                continue
            wa = ref.w[nodes][side == 0].sum()
            new = ((wa - ta) / ref.norm[a]) ** 2 + ((total - wa - tb) / ref.norm[b]) ** 2
            if new < old - 1e-12 and (best is None or new < best[0]):
                best = (new, b, nodes, side)
        if best is None:
            continue
        misses = 0
        _, b, nodes, side = best
        for u, s in zip(nodes.tolist(), side.tolist(), strict=True):
            ref.lab[u] = a if s == 0 else b
        sizes = np.bincount(ref.labels, minlength=ref.k)
        weights = np.bincount(ref.labels, weights=ref.w, minlength=ref.k)
        ref.size = sizes.tolist()
        ref.W = weights.tolist()
        ref.moves += len(nodes)
        changed += 1
        tried.clear()
    return changed
