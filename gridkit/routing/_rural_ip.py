"""The undirected rural postman solved exactly: an integer programme with connectivity cuts.

Array level, like :mod:`gridkit.routing._postman_core` (plain ``u``, ``v``, ``w`` edge
arrays, nodes ``0..n-1``), so that tests can check it against brute force.

The model is the classic one of Ghiani and Laporte on the *reduced* graph: its nodes are
the ends of the required edges (and the depot); its edges are the shortest paths between
two such nodes that pass no third one (longer ones are sums of these). Per reduced edge an
integer ``y`` in 0..2 (an optimal tour never walks a street more than twice) counts the
deadhead walks along it. Constraints: every node has even degree (required edges plus
``y``; an integer ``z`` per node takes half the degree), and every set ``S`` of required
pieces that is not all of them is left at least twice, ``y(delta(S)) >= 2``. There are
exponentially many of those cuts, so they are added as needed: on the LP relaxation by a
minimum cut of the pieces (Stoer-Wagner on the contracted graph, networkx) until none is
violated, then on the integer solutions by their connected parts. HiGHS (highspy) solves
it, warm-started with Frederickson's heuristic (spanning tree of the pieces + minimum
T-join), within a time limit. Any dual bound of the programme with a subset of the cuts is
a lower bound for the tour, so the gap reported is honest when the limit stops it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import networkx as nx
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, dijkstra, minimum_spanning_tree

from gridkit.highs import new_highs
from gridkit.routing._postman_core import _pair_index, _sparse, min_t_join

__all__ = ["RuralSolution", "model_bound", "persons_model", "rural_postman", "shared_bound"]

_EPS = 1e-6
#: most rounds of LP cuts before the integer programme starts
_LP_ROUNDS = 60
#: relative gap (of the whole tour) at which HiGHS may stop
_MIP_GAP = 1e-6


@dataclass
class RuralSolution:
    """``extra``: edge indices walked as deadhead (with repeats); ``length`` of the whole tour
    (required + extra); ``bound`` a proven lower bound; ``optimal`` when they meet."""

    extra: list[int]
    length: float
    bound: float
    optimal: bool
    pieces: int


@dataclass
class _Reduced:
    a: np.ndarray  # reduced edge ends (positions into nodes)
    b: np.ndarray
    d: np.ndarray  # length
    nodes: np.ndarray  # graph node of each reduced node
    piece: np.ndarray  # required piece of each reduced node
    pred: np.ndarray  # Dijkstra predecessors, one row per reduced node
    k: int


def _pieces(n, u, v, required, depot):
    ru, rv = u[required], v[required]
    nodes = np.unique(np.concatenate([ru, rv] + ([[depot]] if depot is not None else [])))
    sub = coo_matrix((np.ones(len(ru)), (ru, rv)), shape=(n, n))
    _, label = connected_components(sub, directed=False)
    _, piece = np.unique(label[nodes], return_inverse=True)
    return nodes, piece


def _reduce(n, u, v, w, required, depot, limit) -> _Reduced:
    nodes, piece = _pieces(n, u, v, required, depot)
    A = _sparse(n, u, v, w)
    dist, pred = dijkstra(A, indices=nodes, return_predecessors=True, limit=limit)
    m = len(nodes)
    # only the nodes some search reached (the ``limit`` keeps that small): compact columns
    reach = np.flatnonzero(np.isfinite(dist).any(axis=0))
    col = np.full(n + 1, len(reach))
    col[reach] = np.arange(len(reach))
    is_r = np.zeros(len(reach) + 1, dtype=bool)
    is_r[col[nodes]] = True
    # inner[i, x]: the shortest path from nodes[i] to x passes another reduced node
    # (pointer doubling up the predecessor tree; the last column stands for "none")
    sub = pred[:, reach]
    anc = col[np.where(sub < 0, n, sub)]
    inner = is_r[anc] & (anc != col[nodes][:, None])
    inner = np.concatenate([inner, np.zeros((m, 1), dtype=bool)], axis=1)
    anc = np.concatenate([anc, np.full((m, 1), len(reach))], axis=1)
    rows = np.arange(m)[:, None]
    for _ in range(int(np.ceil(np.log2(max(len(reach), 2)))) + 1):
        inner = inner | inner[rows, anc]
        anc = anc[rows, anc]
    d = dist[:, nodes]
    ok = np.isfinite(d) & ~inner[:, col[nodes]] & ~np.eye(m, dtype=bool)
    ok = ok | ok.T  # ties may give either direction only
    ia, ib = np.nonzero(np.triu(ok, 1))
    dd = np.minimum(d[ia, ib], d[ib, ia])
    keep = np.isfinite(dd)
    return _Reduced(ia[keep], ib[keep], dd[keep], nodes, piece, pred, int(piece.max()) + 1)


def _path(R: _Reduced, i: int, j: int, pairs) -> list[int]:
    """Graph edge indices of the shortest path between reduced nodes i and j."""
    pred = R.pred[i]
    node, src, out = int(R.nodes[j]), int(R.nodes[i]), []
    if pred[node] < 0 and node != src:  # only the other direction was searched
        pred, node, src = R.pred[j], src, node
    while node != src:
        p = int(pred[node])
        out.append(pairs[(min(p, node), max(p, node))])
        node = p
    return out


def _odd(R: _Reduced, n, u, v, required):
    deg = np.bincount(np.concatenate([u[required], v[required]]), minlength=n)
    return deg[R.nodes] % 2


def _heuristic(R: _Reduced, odd) -> np.ndarray:
    """Frederickson's: a spanning tree of the pieces, then a minimum T-join (reduced graph)."""
    y = np.zeros(len(R.a), dtype=int)
    pa, pb = R.piece[R.a], R.piece[R.b]
    cross = np.flatnonzero(pa != pb)
    best: dict[tuple[int, int], int] = {}
    for e in cross[np.argsort(R.d[cross], kind="stable")]:
        key = (min(pa[e], pb[e]), max(pa[e], pb[e]))
        best.setdefault(key, int(e))
    if best:
        keys = np.array(list(best))
        vals = R.d[list(best.values())] + 1e-9
        M = coo_matrix((vals, (keys[:, 0], keys[:, 1])), shape=(R.k, R.k))
        T = minimum_spanning_tree(M).tocoo()
        for a, b in zip(T.row, T.col, strict=True):
            y[best[(min(a, b), max(a, b))]] += 1
    deg = odd + np.bincount(np.concatenate([R.a, R.b]), weights=np.concatenate([y, y]),
                            minlength=len(R.nodes)).astype(int)
    terminals = np.flatnonzero(deg % 2)
    if len(terminals):
        for e in min_t_join(len(R.nodes), R.a, R.b, R.d, terminals):
            y[e] += 1
    y = np.where(y > 2, y - 2, y)
    return np.where((y == 2) & (pa == pb), 0, y)  # a double walk inside a piece is not needed


def _contracted(R: _Reduced, y: np.ndarray, eps: float) -> nx.Graph:
    C = nx.Graph()
    C.add_nodes_from(range(R.k))
    pa, pb = R.piece[R.a], R.piece[R.b]
    for e in np.flatnonzero((y > eps) & (pa != pb)):
        a, b = int(pa[e]), int(pb[e])
        C.add_edge(a, b, weight=C.get_edge_data(a, b, {"weight": 0.0})["weight"] + float(y[e]))
    return C


def _violated(R: _Reduced, y: np.ndarray, *, integral: bool) -> list[np.ndarray]:
    """Sets of pieces whose cut ``y(delta(S)) >= 2`` the solution ``y`` violates."""
    C = _contracted(R, y, 0.5 if integral else _EPS)
    parts = [np.fromiter(c, int) for c in nx.connected_components(C)]
    if len(parts) > 1:
        return parts
    if integral:
        return []
    value, (side, _) = nx.stoer_wagner(C)
    return [np.asarray(side)] if value < 2 - 1e-6 else []


def _cut_row(R: _Reduced, pieces: np.ndarray) -> np.ndarray:
    inside = np.isin(R.piece, pieces)
    return np.flatnonzero(inside[R.a] != inside[R.b])


def _highs():
    import highspy

    return new_highs(), highspy


class _Model:
    """The programme in HiGHS. Each reduced edge is two binary columns (its first and second
    deadhead walk, ``y1 >= y2``), then one integer ``z`` per reduced node (half its degree).
    Binary copies allow the co-circuit inequalities of Ghiani and Laporte, which give the
    parity constraints a tight LP relaxation (without them HiGHS branches for seconds)."""

    def __init__(self, R: _Reduced, odd: np.ndarray, depot_degree: tuple | None = None):
        self.h, self.hs = _highs()
        self.R, m, p = R, len(R.a), len(R.nodes)
        self.m, self.odd = m, odd
        h = self.h
        # with a depot degree (several persons leave the start): more walks on its edges
        self.more = (
            np.flatnonzero((R.a == depot_degree[0]) | (R.b == depot_degree[0]))
            if depot_degree is not None
            else np.zeros(0, dtype=int)
        )
        q = len(self.more)
        cost = np.concatenate([R.d, R.d, np.zeros(p), R.d[self.more]])
        # a second walk only between pieces: doubling an edge inside a piece is never needed
        # (dropping both walks keeps every degree's parity and the piece stays connected)
        between = (R.piece[R.a] != R.piece[R.b]).astype(float)
        more_ub = 2.0 * depot_degree[1] if depot_degree is not None else 0.0
        upper = np.concatenate([np.ones(m), between, np.full(p, float(2 * m + 2 * q * more_ub)),
                                np.full(q, more_ub)])
        h.addCols(2 * m + p + q, cost, np.zeros(2 * m + p + q), upper, 0,
                  np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0))
        inc = [[] for _ in range(p)]
        for e, (a, b) in enumerate(zip(R.a.tolist(), R.b.tolist(), strict=True)):
            inc[a] += [e, m + e]
            inc[b] += [e, m + e]
        self.inc = [np.asarray(c, dtype=np.int32) for c in inc]
        # co-circuits hold for binary walks only: not at the ends of the depot's edges
        self.skip = set(R.a[self.more].tolist()) | set(R.b[self.more].tolist())
        self.extra_col = {int(e): 2 * m + p + j for j, e in enumerate(self.more)}
        for e, c in self.extra_col.items():
            inc[R.a[e]].append(c)
            inc[R.b[e]].append(c)
        # parity: y(delta(v)) - 2 z_v = odd_v
        idx, starts, vals = [], [], []
        for x in range(p):
            starts.append(len(idx))
            idx += inc[x] + [2 * m + x]
            vals += [1.0] * len(inc[x]) + [-2.0]
        h.addRows(p, odd.astype(float), odd.astype(float), len(idx),
                  np.asarray(starts, np.int32), np.asarray(idx, np.int32), np.asarray(vals))
        if depot_degree is not None:  # the start's degree: at least 2 per person
            d, persons, deg = depot_degree
            cols = np.asarray(inc[d], dtype=np.int32)
            h.addRow(float(2 * persons - deg), self.hs.kHighsInf,
                     len(cols), cols, np.ones(len(cols)))
        # the second walk only after the first: y1 - y2 >= 0
        rows = np.arange(m, dtype=np.int32)
        idx = np.stack([rows, rows + m], axis=1).ravel()
        h.addRows(m, np.zeros(m), np.full(m, self.hs.kHighsInf), 2 * m,
                  (2 * rows).astype(np.int32), idx.astype(np.int32),
                  np.tile([1.0, -1.0], m))
        for c in range(R.k):  # every piece is left and entered
            self.cut(np.array([c]))
        #: further integer columns (edge, column, walks each): extra walks added in pairs
        self.pairs: list[tuple[np.ndarray, np.ndarray]] = []

    def cut(self, pieces: np.ndarray) -> None:
        e = _cut_row(self.R, pieces)
        more = [self.extra_col[int(x)] for x in e if int(x) in self.extra_col]
        cols = np.concatenate([e, e + self.m, more]).astype(np.int32)
        self.h.addRow(2.0, self.hs.kHighsInf, len(cols), cols, np.ones(len(cols)))

    def cocircuits(self, x: np.ndarray) -> int:
        """Add the violated co-circuit inequalities ``x(delta(v) - F) - x(F) >= 1 - |F|``
        (``|F|`` of the wrong parity at ``v``); exact separation per node."""
        added = 0
        for v, cols in enumerate(self.inc):
            if not len(cols) or v in self.skip:
                continue
            added += self._parity_cut(x, cols, self.odd[v])
        return added

    def _parity_cut(self, x: np.ndarray, cols: np.ndarray, odd: int) -> int:
        """Add ``x(cols - F) - x(F) >= 1 - |F|`` for the ``F`` (of the parity the set may
        not have, ``odd``) it is most violated for, when it is violated; 1 if added."""
        xv = x[cols]
        F = xv > 0.5
        if F.sum() % 2 == odd:  # F must have the parity the set may not have
            if not len(xv):
                return 0
            j = int(np.argmin(np.abs(xv - 0.5)))
            F[j] = ~F[j]
        if xv[~F].sum() - xv[F].sum() < 1 - F.sum() - 1e-6:
            coef = np.where(F, -1.0, 1.0)
            self.h.addRow(float(1 - F.sum()), self.hs.kHighsInf, len(cols), cols, coef)
            return 1
        return 0

    def odd_sets(self, x: np.ndarray) -> int:
        """The same inequality on node sets (a heuristic separation of the blossom-type
        cuts): the connected parts of the fractional edges, each tried as ``S``."""
        R, m = self.R, self.m
        y = x[:m] + x[m: 2 * m]
        frac = np.flatnonzero(np.abs(y - np.round(y)) > 1e-6)
        if not len(frac):
            return 0
        p = len(R.nodes)
        M = coo_matrix((np.ones(len(frac)), (R.a[frac], R.b[frac])), shape=(p, p))
        k, label = connected_components(M, directed=False)
        touched = np.unique(np.concatenate([R.a[frac], R.b[frac]]))
        added = 0
        for c in np.unique(label[touched]):
            inside = label == c
            cross = np.flatnonzero(inside[R.a] != inside[R.b])
            if np.isin(cross, self.more).any():
                continue
            cols = np.concatenate([cross, cross + m]).astype(np.int32)
            added += self._parity_cut(x, cols, self.odd[inside].sum() % 2)
        return added

    def integral(self) -> None:
        n = 2 * self.m + len(self.R.nodes) + len(self.more)
        cols = np.concatenate([np.arange(n)] + [c for _, c in self.pairs]).astype(np.int32)
        self.h.changeColsIntegrality(
            len(cols), cols, np.array([self.hs.HighsVarType.kInteger] * len(cols))
        )

    def run(self, seconds: float):
        h = self.h
        h.setOptionValue("time_limit", max(float(seconds), 0.01))
        h.run()
        info, status = h.getInfo(), h.getModelStatus()
        x = np.asarray(h.getSolution().col_value)
        if not len(x):
            return status, None, None, info
        y = x[: self.m] + x[self.m: 2 * self.m]
        if len(self.more):
            first = 2 * self.m + len(self.R.nodes)
            y = y + np.bincount(self.more, weights=x[first: first + len(self.more)],
                                minlength=self.m)
        for edges, cols in self.pairs:
            y = y + np.bincount(edges, weights=2 * x[cols], minlength=self.m)
        return status, y, x, info


def _warm(model: _Model, y: np.ndarray, odd: np.ndarray) -> None:
    z = (np.bincount(np.concatenate([model.R.a, model.R.b]), weights=np.concatenate([y, y]),
                     minlength=len(odd)) - odd) / 2
    vals = np.concatenate([(y >= 1).astype(float), (y >= 2).astype(float), z])
    model.h.setSolution(len(vals), np.arange(len(vals), dtype=np.int32), vals)


def _repair(R: _Reduced, y: np.ndarray) -> np.ndarray:
    """Join the parts of a parity-feasible ``y`` by walking a spanning tree of them twice."""
    y = y.copy()
    while True:
        parts = _violated(R, y, integral=True)
        if not parts:
            return y
        label = np.zeros(R.k, dtype=int)
        for i, p in enumerate(parts):
            label[p] = i
        la, lb = label[R.piece[R.a]], label[R.piece[R.b]]
        cross = np.flatnonzero(la != lb)
        e = cross[np.argmin(R.d[cross])]
        y[e] += 2
        y = np.where(y > 2, y - 2, y)


def _lp_rounds(model: _Model, R: _Reduced, t0: float, time_limit: float) -> float:
    """The LP relaxation with violated cuts added until none is left: its bound."""
    bound = 0.0
    for _ in range(_LP_ROUNDS):
        if time.perf_counter() - t0 > time_limit / 4:
            break
        status, y, x, info = model.run(time_limit - (time.perf_counter() - t0))
        if y is None or str(status) != "HighsModelStatus.kOptimal":
            break
        bound = max(bound, float(info.objective_function_value))
        cuts = _violated(R, y, integral=False)
        for c in cuts:
            model.cut(c)
        if not model.cocircuits(x) + model.odd_sets(x) and not cuts:
            break
    return bound


def shared_bound(n: int, u, v, w, required, *, depot: int, persons: int,
                 time_limit: float = 3.0) -> float:
    """A lower bound on the total length of ``persons`` closed routes from ``depot`` that
    together walk every required edge: the rural postman whose start has degree at least
    ``2 * persons`` (every person leaves it and comes back), LP and integer bound."""
    t0 = time.perf_counter()
    model, street = persons_model(n, u, v, w, required, depot=depot, persons=persons)
    return street + model_bound(model, t0, time_limit)


def persons_model(n: int, u, v, w, required, *, depot: int, persons: int):
    """The programme of :func:`shared_bound` (before any round): ``(model, street length)``."""
    u, v, w = np.asarray(u), np.asarray(v), np.asarray(w, dtype=float)
    required = np.asarray(required, dtype=int)
    R = _reduce(n, u, v, w, required, depot, np.inf)
    deg = np.bincount(np.concatenate([u[required], v[required]]), minlength=n)[R.nodes]
    d = int(np.flatnonzero(R.nodes == depot)[0])
    return _Model(R, deg % 2, (d, int(persons), int(deg[d]))), float(w[required].sum())


def model_bound(model: _Model, t0: float, time_limit: float) -> float:
    """The best dual bound of ``model`` (deadhead only) by ``time_limit`` s after ``t0``:
    LP rounds with cuts, then the integer programme with connectivity cuts."""
    R = model.R
    bound = _lp_rounds(model, R, t0, time_limit)
    model.integral()
    while time.perf_counter() - t0 < time_limit:
        status, y, _, info = model.run(time_limit - (time.perf_counter() - t0))
        dual = float(getattr(info, "mip_dual_bound", -np.inf))
        if np.isfinite(dual):
            bound = max(bound, dual)
        if y is None or not len(y) or str(status) != "HighsModelStatus.kOptimal":
            break
        cuts = _violated(R, np.round(y).astype(int), integral=True)
        if not cuts:
            bound = max(bound, float(info.objective_function_value))
            break
        for c in cuts:
            model.cut(c)
    return bound


def rural_postman(
    n: int, u, v, w, required, *, depot: int | None = None, upper: float | None = None,
    time_limit: float = 5.0,
) -> RuralSolution:
    """The shortest closed walk over the ``required`` edges (and through ``depot``).

    ``upper``: the length of a known tour (limits the searches: no deadhead walk of an
    optimal tour is longer than ``upper`` minus the required length). The network must
    join every required edge (and the depot).
    """
    t0 = time.perf_counter()
    u, v, w = np.asarray(u), np.asarray(v), np.asarray(w, dtype=float)
    required = np.asarray(required, dtype=int)
    street = float(w[required].sum())
    limit = np.inf if upper is None else max(upper - street, 0.0) * (1 + 1e-9) + 1e-6
    R = _reduce(n, u, v, w, required, depot, limit)
    odd = _odd(R, n, u, v, required)
    y_heur = _heuristic(R, odd)
    best_y, best = y_heur, float(R.d @ y_heur)
    if R.k <= 1:  # one piece: the minimum T-join is the optimum (Edmonds and Johnson)
        return _expand(R, u, v, w, best_y, street, bound=street + best, optimal=True)
    model = _Model(R, odd)
    bound = lp_bound = _lp_rounds(model, R, t0, time_limit)
    model.integral()
    model.h.changeObjectiveOffset(street)  # HiGHS's relative gap: of the whole tour
    model.h.setOptionValue("mip_rel_gap", _MIP_GAP)
    while time.perf_counter() - t0 < time_limit:
        _warm(model, best_y, odd)
        status, y, _, info = model.run(time_limit - (time.perf_counter() - t0))
        dual = float(getattr(info, "mip_dual_bound", -np.inf)) - street
        if np.isfinite(dual):
            bound = max(bound, dual)
        if y is None or not len(y):
            break
        y = np.round(y).astype(int)
        cuts = _violated(R, y, integral=True)
        if not cuts:
            if float(R.d @ y) < best:
                best_y, best = y, float(R.d @ y)
            break
        fixed = _repair(R, y)
        if float(R.d @ fixed) < best:
            best_y, best = fixed, float(R.d @ fixed)
        for c in cuts:
            model.cut(c)
        if str(status) != "HighsModelStatus.kOptimal":
            break  # out of time with a disconnected incumbent: keep the bound
    bound = max(bound, lp_bound)
    sol = _expand(R, u, v, w, best_y, street, bound=street + min(bound, best),
                  optimal=bound >= best - _MIP_GAP * (street + best))
    return sol


def _expand(R, u, v, w, y, street, *, bound, optimal) -> RuralSolution:
    pairs = _pair_index(u, v, w)
    extra: list[int] = []
    for e in np.flatnonzero(y):
        path = _path(R, int(R.a[e]), int(R.b[e]), pairs)
        extra += path * int(y[e])
    length = street + float(w[extra].sum()) if extra else street
    return RuralSolution(extra=extra, length=length, bound=min(bound, length), optimal=optimal,
                         pieces=R.k)
