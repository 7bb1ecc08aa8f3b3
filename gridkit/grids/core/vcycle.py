"""V-cycle: refine a finished plan again on coarser copies of itself.

The units of every grid are clustered by heavy-edge matching inside their
grid (:func:`coarsen` with the grids as its parts), so each cluster lies in
one grid, is connected, and each coarser graph carries the plan exactly,
with the same border cost. From the coarsest level back down to the units,
boundary moves and the flow refinement then shift whole clusters: a border
moves by a street block at once where, unit by unit, every step would lose.
This is the V-cycle of METIS and KaHIP (iterated multilevel refinement);
here every grid stays connected (a connected grid of connected clusters is
a connected grid of units) and inside its weight window, and the plan is
never made worse: a level's result is kept only when its border is shorter
and no grid is further outside its window.
"""

from __future__ import annotations

import numpy as np

from gridkit.grids.core.coarsen import coarsen
from gridkit.grids.core.flows import flow_refine
from gridkit.grids.core.graph import Graph
from gridkit.grids.core.kway import excess, plan_key
from gridkit.grids.core.refine import Refiner

# clusters per grid at the coarsest level, and a cluster's largest share of
# its grid's weight (small enough that a window of a few percent can take one)
_PER_GRID = 6
_CAP_SHARE = 0.1
# the coarse levels only for grids of this many units or more on average: in
# smaller grids the flows on the units already move whole blocks (measured:
# -0.1% border at 50 units per grid for a third more time, -3% at 500)
_MIN_PER_GRID = 100


def v_cycle(graph: Graph, labels: np.ndarray, weight: np.ndarray, target: np.ndarray,
            tolerance: float) -> np.ndarray:
    """One V-cycle on ``labels`` (grid per node, 0..k-1, every grid connected);
    returns the new labels, never worse by (weight outside the windows, cost).

    ``target`` is each grid's target weight, ``tolerance`` the window's half
    width relative to it. Deterministic (no random choices)."""
    lab = np.asarray(labels, dtype=np.int64)
    k = len(target)
    band = tolerance * np.asarray(target, dtype=float)
    best, best_key = lab.copy(), plan_key(graph, lab, weight, target, band)
    levels = _levels(graph, lab, weight, k) if graph.n >= _MIN_PER_GRID * k else []
    for member in levels[::-1]:  # coarsest first
        n = int(member.max()) + 1
        cu, cv = member[graph.eu], member[graph.ev]
        keep = cu != cv
        coarse = Graph.from_edges(n, cu[keep], cv[keep], graph.shared[keep], graph.cost[keep])
        cw = np.bincount(member, weights=weight, minlength=n)
        clab = np.zeros(n, dtype=np.int64)
        clab[member] = best  # every cluster lies in one grid
        ref = Refiner(coarse, clab, cw, target, tolerance)
        ref.shape(band=1.0)
        out = flow_refine(coarse, ref.labels, cw, target, tolerance)[member]
        key = plan_key(graph, out, weight, target, band)
        # no grid further outside its window (the key sums the excess; a grid
        # inside must not be pushed out for another to come in)
        if key < best_key and (excess(out, weight, target, band)
                               <= excess(best, weight, target, band) + 1e-9).all():
            best, best_key = out, key
    out = flow_refine(graph, best, weight, target, tolerance)  # and on the units
    return out if plan_key(graph, out, weight, target, band) < best_key else best


def _levels(graph: Graph, lab: np.ndarray, weight: np.ndarray, k: int) -> list[np.ndarray]:
    """The cluster of every node on each coarser level, finest first."""
    inside = lab[graph.eu] == lab[graph.ev]
    within = Graph.from_edges(graph.n, graph.eu[inside], graph.ev[inside],
                              graph.shared[inside], graph.cost[inside])
    levels: list = []
    coarsen(within, weight, np.zeros((graph.n, 2)), np.ones(graph.n), lab,
            np.ones(k, dtype=int), per_grid=_PER_GRID, cap_share=_CAP_SHARE, levels=levels)
    out, member = [], np.arange(graph.n)
    for cluster, *_ in levels:
        member = cluster[member]
        out.append(member)
    return out
