"""Flow refinement: the shortest border between two grids, by a minimum cut.

For a pair of neighbouring grids A and B, the units within a few steps of
their common border are set free; the rest of A is the source, the rest of
B the sink, and the minimum s-t cut of the free region (capacities = border
cost) is the shortest border between them that moves only free units (as in
KaHIP's flow refinement). Edges from A or B to other grids are cut whatever
the new border, so the pair's gain is the plan's gain. A cut is taken only
when both grids stay inside their weight windows and connected; when every
minimum cut leaves one grid too heavy, the other side's band is made
shallower (it can give less), until a cut fits. Unit moves cannot find such
borders: a border that must shift by a whole street block gains nothing
unit by unit.

Pairs that share no grid are solved together, in one flow network whose
source joins all their A cores and whose sink joins all their B cores: the
network falls apart into one piece per pair, so its minimum cut is each
pair's minimum cut, and one call to scipy's ``maximum_flow`` (Dinic, in C)
serves a whole batch of pairs instead of one (the per-call overhead of
scipy's sparse matrices is most of the cost of a small cut).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import breadth_first_order, connected_components, maximum_flow

from gridkit.grids.core.graph import Graph

_CAP_TOTAL = 2e9  # integer capacities: a batch's total cost maps below int32's range
_TRIES = 3  # the most balanced minimum cuts tried per pair
_EPS = 1e-9


def flow_refine(graph: Graph, labels: np.ndarray, weight: np.ndarray, target: np.ndarray,
                tolerance: float, *, depth: int = 8, rounds: int = 5) -> np.ndarray:
    """Minimum-cut borders for every pair of neighbouring grids (longest border
    first), up to ``rounds`` passes while one gains; returns new labels.

    ``target`` is each grid's target weight, ``tolerance`` the window's half
    width relative to it; ``depth`` is the deepest band tried, in steps."""
    lab = np.asarray(labels, dtype=np.int64).copy()
    window = (target * (1 - tolerance) - _EPS, target * (1 + tolerance) + _EPS)
    W = np.bincount(lab, weights=weight, minlength=len(target)).astype(float)
    changed = np.ones(len(target), dtype=bool)
    for _ in range(rounds):
        # a pair whose grids did not change since its last cut has no new cut
        todo = [(a, b) for a, b in _pairs(graph, lab) if changed[a] or changed[b]]
        changed[:] = False
        for batch in _matchings(todo):
            moved = _Batch.of(graph, lab, batch).refine(lab, weight, W, window, depth)
            changed[moved.ravel()] = True
        if not changed.any():
            break
    return lab


def _pairs(graph: Graph, lab: np.ndarray) -> list[tuple[int, int]]:
    """Neighbouring grid pairs, longest common border first."""
    cross = lab[graph.eu] != lab[graph.ev]
    a, b = lab[graph.eu[cross]], lab[graph.ev[cross]]
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    k = int(lab.max()) + 1
    border = np.bincount(lo * k + hi, weights=graph.cost[cross], minlength=k * k)
    keys = np.flatnonzero(border > 0)
    keys = keys[np.argsort(-border[keys], kind="stable")]
    return [(int(x // k), int(x % k)) for x in keys]


def _matchings(pairs: list[tuple[int, int]]) -> list[np.ndarray]:
    """The pairs in batches that share no grid, each batch in the given order."""
    batches, rest = [], pairs
    while rest:
        used, batch, later = set(), [], []
        for a, b in rest:
            if a in used or b in used:
                later.append((a, b))
            else:
                used.update((a, b))
                batch.append((a, b))
        batches.append(np.array(batch, dtype=np.int64))
        rest = later
    return batches


@dataclass
class _Batch:
    """Grid pairs that share no grid, as one graph: the pairs' grids (``pa``,
    ``pb``), their units (``nodes``, global positions), each unit's pair and
    whether it is in the pair's A, and the edges inside each pair."""

    pa: np.ndarray
    pb: np.ndarray
    nodes: np.ndarray
    pair: np.ndarray
    in_a: np.ndarray
    eu: np.ndarray
    ev: np.ndarray
    cost: np.ndarray

    @classmethod
    def of(cls, graph: Graph, lab: np.ndarray, batch: np.ndarray) -> _Batch:
        owner = np.full(int(lab.max()) + 1, -1)
        owner[batch[:, 0]] = owner[batch[:, 1]] = np.arange(len(batch))
        node_pair = owner[lab]
        nodes = np.flatnonzero(node_pair >= 0)
        local = np.full(graph.n, -1)
        local[nodes] = np.arange(len(nodes))
        pu = node_pair[graph.eu]
        keep = (pu >= 0) & (pu == node_pair[graph.ev])
        pair = node_pair[nodes]
        return cls(batch[:, 0], batch[:, 1], nodes, pair, lab[nodes] == batch[pair, 0],
                   local[graph.eu[keep]], local[graph.ev[keep]], graph.cost[keep])

    def refine(self, lab, weight, W, window, depth: int) -> np.ndarray:
        """Each pair's best feasible minimum cut, applied in place on ``lab``
        and ``W``; returns the pairs that gained, as rows (a, b)."""
        n_pairs = len(self.pa)
        da, db = np.full(n_pairs, depth), np.full(n_pairs, depth)
        active, gained = np.ones(n_pairs, dtype=bool), np.zeros(n_pairs, dtype=bool)
        w = weight[self.nodes]
        while active.any():
            free = self._band(da, db) & active[self.pair]
            has_a = np.bincount(self.pair[self.in_a & ~free], minlength=n_pairs) > 0
            has_b = np.bincount(self.pair[~self.in_a & ~free], minlength=n_pairs) > 0
            da[active & ~has_a] //= 2  # A's band reaches all of A: no source left
            db[active & has_a & ~has_b] //= 2
            run = active & has_a & has_b
            if run.any():
                cuts = _Cuts.of(self, free & run[self.pair], run, w)
                fit = cuts.fitting(self, W, window)
                self._shrink(cuts, run & ~fit, da, db, W, window, active)
                gained |= self._take(cuts, fit, lab, W)
                active &= ~fit
            active &= (da > 0) | (db > 0)
        return np.c_[self.pa[gained], self.pb[gained]]

    def _band(self, da: np.ndarray, db: np.ndarray) -> np.ndarray:
        """Units of A within ``da`` steps (inside A) of the border, of B within
        ``db`` (per pair)."""
        eu, ev = self.eu, self.ev
        cross = self.in_a[eu] != self.in_a[ev]
        depth = np.where(self.in_a, da[self.pair], db[self.pair])
        free = np.zeros(len(self.nodes), dtype=bool)
        free[eu[cross]] = free[ev[cross]] = True
        free &= depth > 0
        su, sv = eu[~cross], ev[~cross]
        for step in range(1, int(max(da.max(), db.max()))):
            grow = free.copy()
            grow[sv[free[su]]] = True
            grow[su[free[sv]]] = True
            free |= grow & (depth > step)  # a shallower pair keeps its band
        return free

    def _shrink(self, cuts: _Cuts, pairs, da, db, W, window, active) -> None:
        """For ``pairs`` with no minimum cut in their windows: the side that
        takes too much gets less to take; a pair whose band is gone is done."""
        lo, hi = window
        wa = cuts.wa[cuts.start[:-1]]  # the cut closest to A's core
        total = W[self.pa] + W[self.pb]
        heavy = (wa > hi[self.pa]) | (total - wa < lo[self.pb])
        done = pairs & ((heavy & (db == 0)) | (~heavy & (da == 0)))
        active &= ~done
        db[pairs & heavy & ~done] //= 2
        da[pairs & ~heavy & ~done] //= 2

    def _take(self, cuts: _Cuts, fit: np.ndarray, lab, W) -> np.ndarray:
        """Tries the most balanced fitting cuts of the ``fit`` pairs in turn;
        applies the first that gains; returns which pairs gained."""
        gained = np.zeros(len(self.pa), dtype=bool)
        for rank in range(_TRIES):
            pick = cuts.choice(rank) * (fit & ~gained)[cuts.cand_pair]
            chosen = np.full(len(self.pa), -1)
            chosen[cuts.cand_pair[pick]] = np.flatnonzero(pick)
            if (chosen < 0).all():
                break
            side = cuts.side(self, chosen)
            good = self._gains(side, chosen >= 0)
            sel = good[self.pair]
            lab[self.nodes[sel]] = np.where(side[sel], self.pa[self.pair[sel]],
                                            self.pb[self.pair[sel]])
            total = W[self.pa[good]] + W[self.pb[good]]
            W[self.pa[good]] = cuts.wa[chosen[good]]
            W[self.pb[good]] = total - cuts.wa[chosen[good]]
            gained |= good
        return gained

    def _gains(self, side: np.ndarray, tried: np.ndarray) -> np.ndarray:
        """Which ``tried`` pairs the cut ``side`` (True on A's side) shortens,
        with both grids non-empty and connected."""
        n_pairs, eu, ev = len(self.pa), self.eu, self.ev
        epair = self.pair[eu]
        before = np.bincount(epair, weights=self.cost * (self.in_a[eu] != self.in_a[ev]),
                             minlength=n_pairs)
        after = np.bincount(epair, weights=self.cost * (side[eu] != side[ev]),
                            minlength=n_pairs)
        sel = tried[self.pair]
        same = (side[eu] == side[ev]) & sel[eu]
        n = len(self.nodes)
        adj = sp.coo_matrix((np.ones(int(same.sum())), (eu[same], ev[same])), shape=(n, n))
        _, comp = connected_components(adj, directed=False)
        _, first = np.unique(comp[sel], return_index=True)
        pieces = np.bincount((self.pair * 2 + side)[sel][first], minlength=2 * n_pairs)
        return tried & (after < before - _EPS) & (pieces.reshape(-1, 2) == 1).all(axis=1)


@dataclass
class _Cuts:
    """Every pair's minimum cuts, as a nested sequence per pair.

    The first cut of a pair is the one closest to A's core (the units reached
    from the source in the residual graph, ``reach_s``); each next one adds a
    strongly connected piece of the residual graph whose successors are all
    in already (reverse topological order), which keeps the cut minimal
    (Picard and Queyranne). Ties between minimum cuts are then broken by
    balance, as in KaHIP. The candidates are flat: pair ``cand_pair[i]``
    with its first ``cand_added[i]`` pieces, A weighing ``wa[i]``; a pair's
    candidates are ``start[p]:start[p + 1]``.
    """

    fid: np.ndarray  # flow node of each unit (0 source, 1 sink, 2.. free, -1 not in)
    reach_s: np.ndarray
    piece: np.ndarray  # per flow node: its piece, -1 for none
    piece_rank: np.ndarray  # per piece: its place in its pair's sequence
    cand_pair: np.ndarray
    cand_added: np.ndarray
    wa: np.ndarray
    start: np.ndarray

    @classmethod
    def of(cls, batch: _Batch, free: np.ndarray, run: np.ndarray, w: np.ndarray) -> _Cuts:
        inside = run[batch.pair]
        fid = np.where(free, 1 + np.cumsum(free), np.where(batch.in_a, 0, 1))
        fid[~inside] = -1
        m = int(free.sum()) + 2
        residual = _residual_after_max_flow(batch, fid, m)
        reach_s = _reached(residual, 0)
        reach_t = _reached(residual.T.tocsr(), 1)
        piece, order = _addable(residual, ~reach_s & ~reach_t)
        fpair = np.zeros(m, dtype=np.int64)
        fpair[fid[free]] = batch.pair[free]
        piece_pair = np.zeros(len(order), dtype=np.int64)
        piece_pair[piece[piece >= 0]] = fpair[piece >= 0]
        seq = order[np.argsort(piece_pair[order], kind="stable")]
        n_pairs = len(run)
        count = np.bincount(piece_pair, minlength=n_pairs) + 1
        start = np.r_[0, np.cumsum(count)]
        rank = np.empty(len(order), dtype=np.int64)
        rank[seq] = np.arange(len(seq)) - start[piece_pair[seq]] + piece_pair[seq]
        on_a0 = inside & np.where(free, reach_s[np.maximum(fid, 0)], batch.in_a)
        wa0 = np.bincount(batch.pair, weights=w * on_a0, minlength=n_pairs)
        fw = np.bincount(np.maximum(fid, 0), weights=w * free, minlength=m)
        pw = np.bincount(piece[piece >= 0], weights=fw[piece >= 0], minlength=len(order))
        cand_pair = np.repeat(np.arange(n_pairs), count)
        cand_added = np.arange(len(cand_pair)) - start[cand_pair]
        steps = np.zeros(len(cand_pair))
        steps[start[piece_pair[seq]] + rank[seq] + 1] = pw[seq]
        csum = np.cumsum(steps)
        wa = wa0[cand_pair] + csum - csum[start[cand_pair]]
        keep_runs = run[cand_pair]
        wa[~keep_runs] = np.nan
        return cls(fid, reach_s, piece, rank, cand_pair, cand_added, wa, start)

    def fitting(self, batch: _Batch, W, window) -> np.ndarray:
        """Per pair: whether one of its minimum cuts keeps both grids in their
        windows (candidates that do are marked in ``self.fits``)."""
        lo, hi = window
        a, b = batch.pa[self.cand_pair], batch.pb[self.cand_pair]
        total = W[a] + W[b]
        with np.errstate(invalid="ignore"):
            self.fits = (self.wa >= lo[a]) & (self.wa <= hi[a]) & \
                (total - self.wa >= lo[b]) & (total - self.wa <= hi[b])
        self.middle = (lo[a] + hi[a]) / 2
        return np.bincount(self.cand_pair[self.fits], minlength=len(batch.pa)) > 0

    def choice(self, rank: int) -> np.ndarray:
        """The candidates that are their pair's ``rank``-th most balanced fitting cut."""
        idx = np.flatnonzero(self.fits)
        idx = idx[np.lexsort((np.abs(self.wa[idx] - self.middle[idx]), self.cand_pair[idx]))]
        first = np.r_[0, np.flatnonzero(np.diff(self.cand_pair[idx])) + 1]
        place = np.arange(len(idx)) - np.repeat(first, np.diff(np.r_[first, len(idx)]))
        out = np.zeros(len(self.wa), dtype=bool)
        out[idx[place == rank]] = True
        return out

    def side(self, batch: _Batch, chosen: np.ndarray) -> np.ndarray:
        """Per unit: on A's side with each pair's ``chosen`` candidate (-1: none)."""
        added = np.where(chosen >= 0, self.cand_added[np.maximum(chosen, 0)], 0)
        fid = np.maximum(self.fid, 0)
        rank = np.r_[self.piece_rank, -1][self.piece[fid]]  # -1: in no piece
        taken = (rank >= 0) & (rank < added[batch.pair])
        free = self.fid >= 2
        return np.where(free, self.reach_s[fid] | taken, batch.in_a)


def _residual_after_max_flow(batch: _Batch, fid: np.ndarray, m: int):
    """The residual graph (arcs with capacity left, as a 0/1 matrix) of the
    maximum flow from node 0 to node 1 over the flow nodes ``fid``."""
    u, v = fid[batch.eu], fid[batch.ev]
    inner = (u != v) & (u >= 0)
    u, v, c = u[inner], v[inner], batch.cost[inner]
    scale = min(_CAP_TOTAL / max(float(c.sum()), _EPS), 1e3)
    cap = np.round(c * scale).astype(np.int32)
    net = sp.csr_matrix((np.r_[cap, cap], (np.r_[u, v], np.r_[v, u])), shape=(m, m))
    net.sum_duplicates()
    flow = sp.csr_matrix(maximum_flow(net, 0, 1).flow)
    if np.array_equal(flow.indptr, net.indptr) and np.array_equal(flow.indices, net.indices):
        # same entries (net holds both directions of every edge): no sparse
        # subtraction, which is slow
        res = sp.csr_matrix(((net.data > flow.data).astype(np.int8), net.indices, net.indptr),
                            shape=(m, m))
    else:
        res = net - flow
        res.data = (res.data > 0).astype(np.int8)
    res.eliminate_zeros()
    return res


def _reached(graph, source: int) -> np.ndarray:
    out = np.zeros(graph.shape[0], dtype=bool)
    out[breadth_first_order(graph, source, directed=True, return_predecessors=False)] = True
    return out


def _addable(residual, between: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The strongly connected pieces of the residual graph among the nodes
    ``between`` (reached neither from the source nor back from the sink):
    each node's piece (-1 outside), and the pieces in an order where each
    piece's successors come before it."""
    nodes = np.flatnonzero(between)
    piece = np.full(len(between), -1)
    if len(nodes) == 0:
        return piece, np.zeros(0, dtype=np.int64)
    sub = residual[nodes][:, nodes]
    n_comp, comp = connected_components(sub, directed=True, connection="strong")
    piece[nodes] = comp
    coo = sub.tocoo()
    cu, cv = comp[coo.row], comp[coo.col]
    keep = cu != cv
    return piece, _successors_first(n_comp, cu[keep], cv[keep])


def _successors_first(n: int, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """A topological order of the reversed DAG (arcs ``src`` -> ``dst``):
    every node after all its successors (Kahn's algorithm)."""
    key = np.unique(src * n + dst)
    src, dst = key // n, key % n
    out_deg = np.bincount(src, minlength=n)
    by_dst = np.argsort(dst, kind="stable")
    pred_start = np.r_[0, np.cumsum(np.bincount(dst, minlength=n))]
    pred = src[by_dst].tolist()
    pred_start = pred_start.tolist()
    deg = out_deg.tolist()
    ready = np.flatnonzero(out_deg == 0).tolist()
    order = []
    while ready:
        x = ready.pop()
        order.append(x)
        for p in pred[pred_start[x]:pred_start[x + 1]]:
            deg[p] -= 1
            if deg[p] == 0:
                ready.append(p)
    return np.array(order, dtype=np.int64)
