"""Rural postman over one-way (directed or mixed) streets as an integer programme.

Variables: copies of every arc (one per one-way street, two per two-way street), integer.
Conservation at every node; each required one-way street at least once forward, each
required two-way street at least once in either direction. Connectivity by cuts: every
piece of the required streets must be left at least once, and, whenever the solution falls
into several pieces holding required streets, so must each of those (sum of the arcs out
of the piece >= 1), valid for any closed tour over all the required streets. HiGHS
(scipy's ``milp``) solves again until the solution is one piece. Every round's dual bound
is a bound for the whole problem (it has fewer constraints), so the bound stays honest
when the time runs out. Own code: no library solves the mixed rural postman; HiGHS does
the integer programming.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, dijkstra

from gridkit.errors import RoutingError

__all__ = ["DirectedRural", "rural_directed"]

#: metres by which a piece is grown for further connectivity cuts
_MOATS = (50.0, 100.0, 200.0, 400.0, 800.0)


@dataclass
class DirectedRural:
    """``counts`` per arc (``None`` when no connected tour was found in time), its
    ``length``, a lower ``bound`` on every closed tour and whether it is ``optimal``."""

    counts: np.ndarray | None
    length: float
    bound: float
    optimal: bool


def rural_directed(n: int, arcs_from, arcs_to, arcs_w, arcs_edge, required_edges,
                   fixed_required, *, time_limit: float = 4.0) -> DirectedRural:
    """The shortest connected closed walk over the required streets (see the module text)."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    t0 = time.perf_counter()
    fr, to = np.asarray(arcs_from, int), np.asarray(arcs_to, int)
    edge, w = np.asarray(arcs_edge, int), np.asarray(arcs_w, float)
    m = len(fr)
    cols = np.r_[np.arange(m), np.arange(m)]
    inc = coo_matrix((np.r_[np.ones(m), -np.ones(m)], (np.r_[to, fr], cols)),
                     shape=(n, m)).tocsr()
    lower = np.zeros(m)
    fixed = np.isin(edge, np.asarray(fixed_required, int))
    lower[fixed] = 1
    free = np.flatnonzero(np.isin(edge, np.asarray(required_edges, int)) & ~fixed)
    rows = np.unique(edge[free], return_inverse=True)[1]
    base = [LinearConstraint(inc, 0, 0)]
    if len(free):
        base.append(LinearConstraint(coo_matrix((np.ones(len(free)), (rows, free)),
                                                shape=(int(rows.max()) + 1, m)), 1, np.inf))
    req_arcs = np.r_[np.flatnonzero(fixed), free]
    # to start with: every piece of the required streets must be left at least once
    x0 = np.zeros(m, dtype=int)
    x0[req_arcs] = 1
    net = coo_matrix((w, (fr, to)), shape=(n, n)).tocsr()
    cuts: list[np.ndarray] = _leaving_cuts(n, fr, to, x0, req_arcs, net)
    bound, last = 0.0, None
    while True:
        left = time_limit - (time.perf_counter() - t0)
        if left <= 0:
            break
        cons = list(base)
        if cuts:
            M = coo_matrix((np.ones(sum(len(c) for c in cuts)),
                            (np.repeat(np.arange(len(cuts)), [len(c) for c in cuts]),
                             np.concatenate(cuts))), shape=(len(cuts), m))
            cons.append(LinearConstraint(M, 1, np.inf))
        res = milp(c=w, constraints=cons, integrality=np.ones(m), bounds=Bounds(lower, np.inf),
                   options={"time_limit": left, "disp": False})
        dual = getattr(res, "mip_dual_bound", None)
        if dual is not None and np.isfinite(dual):
            bound = max(bound, float(dual))
        if res.x is None:
            break
        x = np.round(res.x).astype(int)
        joined = _joined(n, fr, to, w, x, req_arcs)  # if time runs out: the best joined
        if np.abs(inc @ joined).max() > 0:
            raise RoutingError("internal: the one-way tour programme is not balanced")
        if last is None or w @ joined < w @ last:
            last = joined
        if res.status == 0:
            bound = max(bound, float(res.fun))
        new = _leaving_cuts(n, fr, to, x, req_arcs, net)
        if not new:  # one piece (cycles off the required streets dropped by the join)
            length = float(w @ last)
            return DirectedRural(last, length, min(bound, length), res.status == 0)
        cuts += new
    if last is None:
        return DirectedRural(None, np.inf, bound, False)
    return DirectedRural(last, float(w @ last), bound, False)


def _joined(n, fr, to, w, x, req_arcs) -> np.ndarray:
    """``x`` with its pieces joined to the one holding the first required street by the
    shortest directed way there and back (a closed detour: in = out stays true)."""
    x = x.copy()
    best: dict[tuple[int, int], int] = {}
    for j in np.argsort(-w):  # the shortest arc between two nodes wins
        best[(int(fr[j]), int(to[j]))] = int(j)
    arcs = np.array(list(best.values()), dtype=int)  # one arc per pair: no summed weights
    D = coo_matrix((np.maximum(w[arcs], 1e-9), (fr[arcs], to[arcs])), shape=(n, n)).tocsr()
    while True:
        on = np.flatnonzero(x > 0)
        _, label = connected_components(
            coo_matrix((np.ones(len(on)), (fr[on], to[on])), shape=(n, n)), directed=False)
        pieces = np.unique(label[fr[req_arcs]])
        if len(pieces) <= 1:  # cycles away from every required street: not needed
            x[label[fr] != pieces[0]] = 0
            return x
        main = np.flatnonzero(label == label[fr[req_arcs[0]]])
        other = np.flatnonzero(label == [p for p in pieces if p != label[main[0]]][0])
        d, pred, origin = dijkstra(D, indices=main, min_only=True, return_predecessors=True)
        t = int(other[np.argmin(d[other])])
        if not np.isfinite(d[t]):
            raise RoutingError("one-way streets: a piece cannot be reached and left")
        back = dijkstra(D, indices=t, return_predecessors=True)[1]
        # there from the nearest node of the main piece, and back to that same node
        _add_path(x, best, pred, t)
        _add_path(x, best, back, int(origin[t]))


def _add_path(x, best, pred, t: int) -> None:
    """One more walk of every arc on the predecessor path ending at ``t``."""
    while pred[t] >= 0:
        x[best[(int(pred[t]), t)]] += 1
        t = int(pred[t])


def _leaving_cuts(n, fr, to, x, req_arcs, net) -> list[np.ndarray]:
    """Arcs out of every piece of the solution that holds required streets, when there is
    more than one such piece, and out of the piece grown by ``_MOATS`` metres (still valid
    while some required street lies outside: the tour must cross out of it)."""
    on = np.flatnonzero(x > 0)
    _, label = connected_components(
        coo_matrix((np.ones(len(on)), (fr[on], to[on])), shape=(n, n)), directed=False)
    pieces = np.unique(label[fr[req_arcs]])
    if len(pieces) <= 1:
        return []
    ends = np.unique(np.r_[fr[req_arcs], to[req_arcs]])
    cuts, seen = [], set()
    for p in pieces:
        near = dijkstra(net, directed=False, indices=np.flatnonzero(label == p), min_only=True,
                        limit=max(_MOATS))
        for r in (0.0, *_MOATS):
            inside = near <= r
            if inside[ends].all():
                break
            key = inside.tobytes()
            if key not in seen:
                seen.add(key)
                cuts.append(np.flatnonzero(inside[fr] & ~inside[to]))
    return cuts
