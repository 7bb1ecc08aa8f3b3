"""Flow refinement: the shortest border between two grids, by a minimum cut.

For a pair of neighbouring grids A and B, the units within a few steps of
their common border are set free; the rest of A is the source, the rest of
B the sink, and the minimum s-t cut of the free region (capacities = border
cost) is the shortest border between them that moves only free units (as in
KaHIP's flow refinement). Edges from A or B to other grids are cut whatever
the new border, so the pair's gain is the plan's gain. A cut is taken only
when both grids stay inside their weight windows and connected; when the
cut leaves one grid too heavy, the other side's band is made shallower (it
can give less), until the cut fits. Unit moves cannot find such borders: a
border that must shift by a whole street block gains nothing unit by unit.

The maximum flow is scipy's (``scipy.sparse.csgraph.maximum_flow``, Dinic in
C); the cut is the set reached from the source in the residual graph.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import breadth_first_order, connected_components, maximum_flow

from gridkit.grids.core.graph import Graph

_CAP_TOTAL = 2e9  # integer capacities: a pair's total cost maps below int32's range


def flow_refine(graph: Graph, labels: np.ndarray, weight: np.ndarray, target: np.ndarray,
                tolerance: float, *, depth: int = 16, rounds: int = 5) -> np.ndarray:
    """Minimum-cut borders for every pair of neighbouring grids (longest border
    first), up to ``rounds`` passes while one gains; returns new labels.

    ``graph`` needs its neighbour lists (a graph from ``Graph.from_edges``);
    ``target`` is each grid's target weight, ``tolerance`` the window's half
    width relative to it; ``depth`` is the deepest band tried, in steps."""
    lab = np.asarray(labels, dtype=np.int64).copy()
    lo, hi = target * (1 - tolerance), target * (1 + tolerance)
    W = np.bincount(lab, weights=weight, minlength=len(target))
    local = np.full(graph.n, -1)
    changed = np.ones(len(target), dtype=bool)
    for _ in range(rounds):
        # a pair whose grids did not change since its last cut has no new cut
        todo = [(a, b) for a, b in _pairs(graph, lab) if changed[a] or changed[b]]
        changed[:] = False
        for a, b in todo:
            pair = _Pair.of(graph, lab, a, b, local)
            if pair.refine(lab, weight, W, lo, hi, depth) > 0:
                changed[[a, b]] = True
        if not changed.any():
            break
    return lab


def _pairs(graph: Graph, lab: np.ndarray) -> list[tuple[int, int]]:
    cross = lab[graph.eu] != lab[graph.ev]
    a, b = lab[graph.eu[cross]], lab[graph.ev[cross]]
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    k = int(lab.max()) + 1
    border = np.bincount(lo * k + hi, weights=graph.cost[cross], minlength=k * k)
    keys = np.flatnonzero(border > 0)
    keys = keys[np.argsort(-border[keys], kind="stable")]
    return [(int(x // k), int(x % k)) for x in keys]


@dataclass
class _Pair:
    """Grids ``a`` and ``b`` as one small graph: their units (``nodes``), whether
    each is in ``a`` (``in_a``), and the edges among them (local ends, cost)."""

    a: int
    b: int
    nodes: np.ndarray
    in_a: np.ndarray
    eu: np.ndarray
    ev: np.ndarray
    cost: np.ndarray

    @classmethod
    def of(cls, graph: Graph, lab, a, b, local) -> _Pair:
        nodes = np.flatnonzero((lab == a) | (lab == b))
        local[nodes] = np.arange(len(nodes))
        start, end = graph.indptr[nodes], graph.indptr[nodes + 1]
        count = end - start
        entry = np.repeat(end - np.cumsum(count), count) + np.arange(int(count.sum()))
        src = np.repeat(np.arange(len(nodes)), count)
        dst = local[graph.indices[entry]]
        keep = (dst >= 0) & (src < dst)
        local[nodes] = -1
        return cls(a, b, nodes, lab[nodes] == a, src[keep], dst[keep],
                   graph.ecost[entry][keep])

    def refine(self, lab, weight, W, lo, hi, depth: int) -> float:
        """The best feasible minimum cut, applied in place on ``lab`` and ``W``;
        returns its gain (0: none found)."""
        a, b = self.a, self.b
        w = weight[self.nodes]
        total = float(W[a] + W[b])
        da = db = depth
        while da > 0 or db > 0:
            free = self._band(da, db)
            if not (self.in_a & ~free).any():
                da //= 2  # A's band reaches all of A: no source left
                continue
            if not (~self.in_a & ~free).any():
                db //= 2
                continue
            sides, wa = self._min_cuts(free, w)
            fits = (wa >= lo[a] - 1e-9) & (wa <= hi[a] + 1e-9) & \
                (total - wa >= lo[b] - 1e-9) & (total - wa <= hi[b] + 1e-9)
            if not fits.any():
                if wa[0] > hi[a] + 1e-9 or total - wa[0] < lo[b] - 1e-9:
                    if db == 0:
                        return 0.0  # A is too heavy even when it takes nothing from B
                    db //= 2  # even the least A takes is too much: B's band shrinks
                else:
                    if da == 0:
                        return 0.0
                    da //= 2
                continue
            middle = (lo[a] + hi[a]) / 2
            for i in np.flatnonzero(fits)[np.argsort(np.abs(wa[fits] - middle))][:3]:
                side = sides(int(i))
                gain = self._gain(side)
                if gain > 1e-9:
                    lab[self.nodes] = np.where(side, a, b)
                    W[a], W[b] = wa[i], total - wa[i]
                    return gain
            return 0.0
        return 0.0

    def _band(self, da: int, db: int) -> np.ndarray:
        """Units of A within ``da`` steps (inside A) of the border, of B within ``db``."""
        eu, ev = self.eu, self.ev
        cross = self.in_a[eu] != self.in_a[ev]
        depth = np.where(self.in_a, da, db)
        free = np.zeros(len(self.nodes), dtype=bool)
        free[eu[cross]] = free[ev[cross]] = True
        free &= depth > 0
        su, sv = eu[~cross], ev[~cross]
        for step in range(1, max(da, db)):
            grow = free.copy()
            grow[sv[free[su]]] = True
            grow[su[free[sv]]] = True
            free = grow & (depth > step)
        return free

    def _min_cuts(self, free: np.ndarray, w: np.ndarray):
        """Every minimum cut in a nested sequence, and A's weight with each.

        Returns ``(side, wa)``: ``side(i)`` is the mask (True on A's side) of
        the ``i``-th cut, ``wa[i]`` A's weight with it. The first is the cut
        closest to A's core (the set reached from the source in the residual
        graph); each next one adds a strongly connected piece of the residual
        graph whose successors are all in already (reverse topological
        order), which keeps the cut minimal (Picard and Queyranne). Ties
        between minimum cuts are then broken by balance, as in KaHIP.
        """
        # flow nodes: 0 = source (A's core), 1 = sink (B's core), 2.. = free units
        fid = np.where(free, 1 + np.cumsum(free), np.where(self.in_a, 0, 1))
        u, v = fid[self.eu], fid[self.ev]
        inner = u != v
        u, v, c = u[inner], v[inner], self.cost[inner]
        scale = min(_CAP_TOTAL / max(float(c.sum()), 1e-9), 1e3)
        cap = np.round(c * scale).astype(np.int32)
        m = int(free.sum()) + 2
        net = sp.csr_matrix((np.r_[cap, cap], (np.r_[u, v], np.r_[v, u])), shape=(m, m))
        net.sum_duplicates()
        residual = _residual(net, maximum_flow(net, 0, 1).flow, m)
        reach_s = np.zeros(m, dtype=bool)
        reach_s[breadth_first_order(residual, 0, directed=True, return_predecessors=False)] = True
        reach_t = np.zeros(m, dtype=bool)
        reach_t[breadth_first_order(residual.T.tocsr(), 1, directed=True,
                                    return_predecessors=False)] = True
        order = _addable(residual, ~reach_s & ~reach_t)
        fw = np.bincount(fid, weights=w, minlength=m)
        wa = np.r_[fw[reach_s].sum(), fw[reach_s].sum() + np.cumsum([fw[g].sum() for g in order])]

        def side(i: int) -> np.ndarray:
            on_a = reach_s.copy()
            for g in order[:i]:
                on_a[g] = True
            return on_a[fid]

        return side, wa

    def _gain(self, side: np.ndarray) -> float:
        """The border cost the cut saves; 0 when it saves none or leaves a grid in pieces."""
        eu, ev, c = self.eu, self.ev, self.cost
        before = float(c[self.in_a[eu] != self.in_a[ev]].sum())
        after = float(c[side[eu] != side[ev]].sum())
        if after >= before - 1e-9 or side.all() or not side.any():
            return 0.0
        same = side[eu] == side[ev]
        n = len(self.nodes)
        adj = sp.coo_matrix((np.ones(int(same.sum())), (eu[same], ev[same])), shape=(n, n))
        _, comp = connected_components(adj, directed=False)
        if len(np.unique(comp[side])) != 1 or len(np.unique(comp[~side])) != 1:
            return 0.0
        return before - after


def _residual(net, flow, m: int):
    """The residual graph's arcs (capacity left) as a 0/1 matrix."""
    flow = sp.csr_matrix(flow)
    if np.array_equal(flow.indptr, net.indptr) and np.array_equal(flow.indices, net.indices):
        # same entries (net holds both directions of every edge): no sparse
        # subtraction, which is slow on many small graphs
        res = sp.csr_matrix(((net.data > flow.data).astype(np.int8), net.indices, net.indptr),
                            shape=(m, m))
    else:
        res = net - flow
        res.data = (res.data > 0).astype(np.int8)
    res.eliminate_zeros()
    return res


def _addable(residual, between: np.ndarray) -> list[np.ndarray]:
    """The strongly connected pieces of the residual graph among the nodes
    ``between`` (reached neither from the source nor back from the sink), in
    an order where each piece's successors come before it."""
    nodes = np.flatnonzero(between)
    if len(nodes) == 0:
        return []
    sub = residual[nodes][:, nodes]
    n_comp, comp = connected_components(sub, directed=True, connection="strong")
    coo = sub.tocoo()
    cu, cv = comp[coo.row], comp[coo.col]
    keep = cu != cv
    succ = [set() for _ in range(n_comp)]
    for x, y in zip(cu[keep].tolist(), cv[keep].tolist(), strict=True):
        succ[x].add(y)
    out_deg = [len(s) for s in succ]
    pred = [[] for _ in range(n_comp)]
    for x in range(n_comp):
        for y in succ[x]:
            pred[y].append(x)
    ready = [x for x in range(n_comp) if out_deg[x] == 0]
    order = []
    while ready:  # Kahn's algorithm on the reversed graph: successors first
        x = ready.pop()
        order.append(x)
        for p in pred[x]:
            out_deg[p] -= 1
            if out_deg[p] == 0:
                ready.append(p)
    members = np.argsort(comp, kind="stable")
    bounds = np.r_[0, np.cumsum(np.bincount(comp, minlength=n_comp))]
    return [nodes[members[bounds[x]:bounds[x + 1]]] for x in order]
