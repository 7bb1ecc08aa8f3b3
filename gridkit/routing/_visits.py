"""A lower bound on the longest of N routes when a far part of the grid needs two persons.

The plain bounds (the total / N, the farthest street's round trip) count the walk out to a
far part of the grid once. When one person alone cannot patrol that part within a route
of the present length, at least two persons walk out to it and back, and the total grows
by that second trip. For a set ``S`` of required pieces away from the start either

- one person walks all of ``S``: that route is at least the shortest closed walk from the
  start over ``S`` (its rural postman bound, :func:`rural_postman`), or
- two or more persons enter ``S``: every cut between the start and ``S`` is crossed at
  least four times, so the total is at least the persons' programme
  (:func:`persons_model`) with a flow of four from the start into ``S`` that the walks
  carry (:func:`visits_bound`), and the longest route at least that / N,

so the longest route is at least the smaller of the two. Extra walks beyond two per edge
(needed when several persons share a corridor) are integer pairs, which keeps every
node's parity and so the model's parity cuts valid.
"""

from __future__ import annotations

import time

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from gridkit.routing._rural_ip import _Model, model_bound, persons_model, rural_postman

__all__ = ["far_bound", "visits_bound"]

#: sets of far pieces for which the bound is computed (the most promising first)
_SETS = 2


def visits_bound(n: int, u, v, w, required, *, depot: int, persons: int, inside,
                 visits: int = 2, time_limit: float = 3.0) -> float:
    """A lower bound on the total length of ``persons`` closed routes from ``depot`` over
    the ``required`` edges when at least ``visits`` of the routes walk edges of the
    ``inside`` ones (a boolean mask over ``required``; none of them at the depot)."""
    t0 = time.perf_counter()
    u, v = np.asarray(u), np.asarray(v)
    required = np.asarray(required, dtype=int)
    inside = np.asarray(inside, dtype=bool)
    model, street = persons_model(n, u, v, w, required, depot=depot, persons=persons)
    nodes = model.R.nodes
    ra, rb = np.searchsorted(nodes, u[required]), np.searchsorted(nodes, v[required])
    sinks = np.unique(np.r_[ra[inside], rb[inside]])
    d = int(np.searchsorted(nodes, depot))
    if d in sinks.tolist():
        raise ValueError("the depot must not be an end of an `inside` edge")
    _add_flow(model, ra, rb, sinks, d, value=2.0 * visits, copies=int(persons))
    return street + model_bound(model, t0, time_limit)


def _add_flow(model: _Model, ra, rb, sinks, depot: int, *, value: float, copies: int) -> None:
    """Columns: ``copies`` integer pairs of extra walks per reduced edge (cost twice its
    length) and a flow over the reduced and the required edges (both directions), within
    the walks; rows: capacities, conservation off the depot and ``sinks``, and the depot's
    net outflow at least ``value``."""
    R, m, h, inf = model.R, model.m, model.h, model.hs.kHighsInf
    q, first = len(ra), h.getNumCol()
    cost = np.r_[2 * R.d, np.zeros(2 * m + 2 * q)]
    upper = np.r_[np.full(m, float(copies)), np.full(2 * m, inf), np.ones(2 * q)]
    h.addCols(len(cost), cost, np.zeros(len(cost)), upper, 0,
              np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0))
    pair, fp, fm = first + np.arange(m), first + m + np.arange(m), first + 2 * m + np.arange(m)
    gp, gm = first + 3 * m + np.arange(q), first + 3 * m + q + np.arange(q)
    model.pairs.append((np.arange(m), pair))
    rows = []
    for e in range(m):  # the flow along an edge: within its walks
        cols = [fp[e], fm[e], e, m + e, pair[e]]
        vals = [1.0, 1.0, -1.0, -1.0, -2.0]
        if e in model.extra_col:
            cols.append(model.extra_col[e])
            vals.append(-1.0)
        rows.append((-inf, 0.0, cols, vals))
    rows += [(-inf, 1.0, [gp[r], gm[r]], [1.0, 1.0]) for r in range(q)]
    out: list[tuple[list, list]] = [([], []) for _ in range(len(R.nodes))]
    for a, b, plus, minus in ((R.a, R.b, fp, fm), (ra, rb, gp, gm)):
        for e, (x, y) in enumerate(zip(a.tolist(), b.tolist(), strict=True)):
            out[x][0].extend([plus[e], minus[e]])
            out[x][1].extend([1.0, -1.0])
            out[y][0].extend([plus[e], minus[e]])
            out[y][1].extend([-1.0, 1.0])
    free = set(np.asarray(sinks).tolist())
    for x, (cols, vals) in enumerate(out):
        if x == depot:
            rows.append((value, inf, cols, vals))
        elif x not in free and cols:
            rows.append((0.0, 0.0, cols, vals))
    _add_rows(model, rows)


def _add_rows(model: _Model, rows) -> None:
    starts, idx, vals = [], [], []
    for _, _, c, x in rows:
        starts.append(len(idx))
        idx += [int(i) for i in c]
        vals += x
    model.h.addRows(len(rows), np.array([r[0] for r in rows], float),
                    np.array([r[1] for r in rows], float), len(idx),
                    np.asarray(starts, np.int32), np.asarray(idx, np.int32),
                    np.asarray(vals, float))


def far_bound(n: int, u, v, w, required, *, depot: int, persons: int, d0, floor: float,
              time_limit: float = 3.0) -> float:
    """The bound of the module's docstring, over the sets ``S`` of all required pieces at
    least some distance from the start (that distance running over the pieces' own),
    computed for the ``_SETS`` farthest sets one person could not obviously walk within
    ``floor``: the largest result, or ``floor`` when none beats it. ``d0``: network
    distances from the depot."""
    t0 = time.perf_counter()
    u, v, w = np.asarray(u), np.asarray(v), np.asarray(w, dtype=float)
    required = np.asarray(required, dtype=int)
    label = _piece_of(n, u[required], v[required])
    near = np.minimum(d0[u[required]], d0[v[required]])
    at_depot = np.unique(label[(u[required] == depot) | (v[required] == depot)])
    piece_near = np.full(label.max() + 1, np.inf)
    np.minimum.at(piece_near, label, near)
    piece_near[at_depot] = 0.0
    best = floor
    for j, inside in enumerate(_candidates(label, piece_near, w[required], floor)):
        left = time_limit - (time.perf_counter() - t0)
        if left <= 0 or j == _SETS:
            break
        alone = rural_postman(n, u, v, w, required[inside], depot=depot,
                              time_limit=left / 2).bound
        if alone <= best:
            continue
        left = time_limit - (time.perf_counter() - t0)
        shared = visits_bound(n, u, v, w, required, depot=depot, persons=persons,
                              inside=inside, time_limit=max(left, 0.1)) / persons
        best = max(best, min(alone, shared))
    return best


def _piece_of(n: int, a, b) -> np.ndarray:
    """The connected piece of each edge ``(a, b)`` among these edges."""
    M = coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n))
    _, comp = connected_components(M, directed=False)
    return np.unique(comp[a], return_inverse=True)[1]


def _candidates(label, piece_near, lens, floor: float):
    """Masks of the required edges in the pieces at least ``r`` from the depot, for ``r``
    the pieces' distances, farthest first, while one person could not obviously walk them
    within ``floor`` (out, the streets, back: ``2 r + length > floor``)."""
    length = np.bincount(label, weights=lens)
    for r in np.unique(piece_near[piece_near > 0])[::-1]:
        far = piece_near >= r
        if 2 * r + length[far].sum() > floor:
            yield far[label]
