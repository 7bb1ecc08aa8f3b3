"""Several persons per grid: the grid's tour shared into N closed routes from one start.

:func:`split_tour` cuts the grid's (optimal) tour into N consecutive pieces minimising the
longest route (:func:`gridkit.routing._kpostman.min_max_split`), then re-solves every
piece as its own exact tour from the start (:func:`gridkit.routing.postman.postman_tour`
with ``start``), and reports a lower bound on the longest route. :func:`central_node` picks
the start when the grid has no base point: the street node with the smallest distance to
the farthest street node (the network centre of the grid's streets).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import networkx as nx
import numpy as np
from scipy.sparse.csgraph import dijkstra

from gridkit.errors import InvalidValueError
from gridkit.routing._kpostman import min_max_split, persons_bound, pigeonhole_bound
from gridkit.routing._postman_core import _sparse, euler_order
from gridkit.routing._rural_ip import shared_bound
from gridkit.routing._visits import far_bound
from gridkit.routing.network import EdgeTable, edge_table
from gridkit.routing.postman import PostmanTour, _tour_frame, postman_tour

__all__ = ["SharedTour", "split_tour", "central_node"]

#: starting streets tried when cutting the closed tour (per Euler order)
_ROTATIONS = 12
#: other Euler orders of the tour tried for the cut
_ORDERS = 40
#: rounds of re-cutting the persons' routes (stops when the longest no longer shrinks)
_ROUNDS = 1
#: Euler orders tried when two persons' routes are merged and cut again
_PAIR_ORDERS = 12
#: seconds for the local search moving streets between persons
_SEARCH_S = 3.0
#: shares of the longest route's streets (nearest another route first) tried as moves (the
#: smallest: single streets)
_SHARES = (0.01, 0.03, 0.05, 0.1, 0.2, 0.3)
#: streets the counting bound chooses among
_PICK = 24
#: candidate centres looked at (the street nodes nearest the streets' mean point)
_CANDIDATES = 48


@dataclass
class SharedTour:
    """``routes``: one closed tour per person (every street on exactly one of them);
    ``bound``: a lower bound on the longest route: the largest of the tour's bound / N,
    the farthest street's round trip, and the bound of the tour whose start has degree
    ``2 N`` (every person leaves and comes back) / N; ``gap`` of the longest route to it."""

    routes: list[PostmanTour]
    bound: float

    @property
    def longest_m(self) -> float:
        return max((r.length_m for r in self.routes), default=0.0)

    @property
    def gap(self) -> float:
        return max(self.longest_m / self.bound - 1, 0.0) if self.bound > 0 else 0.0


def _arrays(frame, tour: PostmanTour):
    ca = np.array([c[0] for c in tour.connectors.values()], dtype=np.int64)
    cb = np.array([c[1] for c in tour.connectors.values()], dtype=np.int64)
    cw = np.array([c[2] for c in tour.connectors.values()], dtype=float)
    u = np.r_[frame["u"].to_numpy(), ca]
    v = np.r_[frame["v"].to_numpy(), cb]
    w = np.r_[frame["w"].to_numpy(float), cw]
    return u, v, w


def split_tour(
    G: nx.MultiGraph,
    tour: PostmanTour,
    persons: int,
    *,
    start: int,
    network: EdgeTable | None = None,
    time_limit: float = 10.0,
) -> SharedTour:
    """Share a closed tour among ``persons`` people, all starting and ending at ``start``."""
    if int(persons) != persons or persons < 1:
        raise InvalidValueError(f"`persons` must be a whole number >= 1, got {persons!r}")
    table = network if network is not None else edge_table(G, need_xy=False)
    frame = _tour_frame(table)
    u, v, w = _arrays(frame, tour)
    n = int(table.nodes.max()) + 1
    d0 = dijkstra(_sparse(n, u, v, w), indices=int(start))
    length_of = dict(zip(frame.index.tolist(), frame["w"].to_numpy(float).tolist(), strict=True))
    length_of.update({e: c[2] for e, c in tour.connectors.items()})
    lens = np.array([length_of[e] for e, *_ in tour.steps])
    at = {e: i for i, e in enumerate(frame.index.tolist())}
    bound = _lower_bound(tour, (n, u, v, w), d0, lens, at, start=int(start),
                         persons=int(persons), time_limit=min(time_limit, 3.0))
    joins = sorted({x for a_, b_, _ in tour.connectors.values() for x in (a_, b_)})

    def plan(steps, lens, k=int(persons)):
        req = np.array([i for i, s in enumerate(steps) if not s[3]], dtype=int)
        a = np.array([steps[i][1] for i in req], dtype=int)
        b = np.array([steps[i][2] for i in req], dtype=int)
        pieces, cost = _best_rotation(d0[a], d0[b], lens, req, k)
        return cost, steps, req, pieces

    def solve(steps, req, pieces):
        return [
            postman_tour(G, [steps[req[j % len(req)]][0] for j in range(p, r + 1)],
                         start=int(start), network=table, time_limit=time_limit,
                         join_nodes=joins)
            for p, r in pieces
        ]

    def solve_edges(ids):
        return postman_tour(G, list(ids), start=int(start), network=table,
                            time_limit=time_limit, join_nodes=joins)

    def cut(steps, lens):
        return solve(*plan(steps, lens)[1:])

    # the same tour in other Euler orders: which one cuts best is a matter of luck
    plans = [plan(st, ln) for st, ln in [(tour.steps, lens), *_orders(tour, length_of, start)]]
    best = solve(*min(plans, key=lambda x: x[0])[1:])
    xy = np.full((n, 2), np.nan)
    xy[table.nodes.astype(int)] = table.node_xy
    for _ in range(_ROUNDS):  # re-cut the persons' own routes, joined in turn round the start
        steps, seq_lens = _joined(best, xy, int(start), length_of)
        new = cut(steps, seq_lens)
        if max(r.length_m for r in new) >= max(r.length_m for r in best) - 1e-6:
            break
        best = new
    def two(ids):  # two persons' streets as one exact tour, cut in two again
        t = solve_edges(ids)
        lens = [t.connectors[e][2] if e < 0 else length_of[e] for e, *_ in t.steps]
        plans = [plan(st, np.asarray(ln, float), 2)
                 for st, ln in [(t.steps, lens), *_orders(t, length_of, start, _PAIR_ORDERS)]]
        return solve(*min(plans, key=lambda x: x[0])[1:])

    if persons > 1:
        best = _resplit_pairs(best, two, time_budget=_SEARCH_S)
        best = _move_blocks(best, _sparse(n, u, v, w), solve_edges, time_budget=_SEARCH_S)
    return SharedTour(routes=best, bound=bound)


def _lower_bound(tour, arrays, d0, lens, at, *, start: int, persons: int,
                 time_limit: float) -> float:
    """The largest of the bounds of :class:`SharedTour` and :func:`far_bound`. With fewer
    streets than persons only that many walk (an optimum never needs more: a person with
    nothing to do can take one street off a route with several, which lengthens neither)."""
    n, u, v, w = arrays
    req = np.array([i for i, s in enumerate(tour.steps) if not s[3]], dtype=int)
    a = np.array([tour.steps[i][1] for i in req], dtype=int)
    b = np.array([tour.steps[i][2] for i in req], dtype=int)
    bound = persons_bound(tour.lower_bound_m, persons, d0[a] + lens[req] + d0[b])
    busy = min(persons, len(req))
    if busy < 2:
        return bound
    if len(req) > persons:  # k N + 1 streets put k + 1 on one route
        bound = max(bound, _counting_bound(_sparse(n, u, v, w), d0, a, b, lens[req], persons))
    # every person who walks leaves the start and comes back: its degree is 2 per person
    req_pos = [at[tour.steps[i][0]] for i in req]
    total = shared_bound(n, u, v, w, req_pos, depot=start, persons=busy, time_limit=time_limit)
    bound = max(bound, total / busy)
    return far_bound(n, u, v, w, req_pos, depot=start, persons=busy, d0=d0, floor=bound,
                     time_limit=time_limit)


def _streets(route: PostmanTour) -> list[tuple[int, int, int]]:
    return [(s[0], s[1], s[2]) for s in route.steps if not s[3]]


def _move_blocks(routes, M, solve, *, time_budget: float):
    """Local search on the split: move the part of the longest route nearest to another
    person's route (its nearest 1-30 % of streets, at least one, by the network distance to
    that route) over to that person, both routes re-solved exactly; kept when the longer of
    the two is shorter than the longest was. Stops when no move helps or after ``time_budget`` s."""
    t0 = time.perf_counter()
    routes = list(routes)
    improved = True
    while improved and time.perf_counter() - t0 < time_budget:
        improved = False
        lens = [r.length_m for r in routes]
        li = int(np.argmax(lens))
        mine = _streets(routes[li])
        if len(mine) < 2:
            break
        for j in np.argsort(lens):
            if j == li or time.perf_counter() - t0 >= time_budget:
                continue
            theirs = _streets(routes[j])
            nodes = np.unique([x for _, a, b in theirs for x in (a, b)]) if theirs else None
            if nodes is None:
                continue
            d = dijkstra(M, indices=nodes, min_only=True)
            far = np.array([min(d[a], d[b]) for _, a, b in mine])
            order = np.argsort(far, kind="stable")
            for share in _SHARES:
                k = max(1, int(round(share * len(mine))))
                if k >= len(mine):
                    break
                moved = {mine[i][0] for i in order[:k]}
                keep = [e for e, *_ in mine if e not in moved]
                new_l = solve(keep)
                if new_l.length_m >= lens[li] - 1e-6:
                    continue
                new_j = solve([e for e, *_ in theirs] + sorted(moved))
                if max(new_l.length_m, new_j.length_m) < lens[li] - 1e-6:
                    routes[li], routes[j] = new_l, new_j
                    improved = True
                    break
                if time.perf_counter() - t0 >= time_budget:
                    break
            if improved:
                break
    return routes


def _counting_bound(M, d0, a, b, lens, persons: int) -> float:
    """:func:`pigeonhole_bound` over ``_PICK`` streets chosen far from the start and from
    each other (farthest first by the shortest walk through two of them)."""
    m = min(_PICK, len(a))
    rows: dict[int, np.ndarray] = {}
    chosen = [int(np.argmax(d0[a] + lens + d0[b]))]
    near = np.full(len(a), np.inf)
    while True:
        c = chosen[-1]
        for x in (int(a[c]), int(b[c])):
            if x not in rows:
                rows[x] = dijkstra(M, indices=x)
        pair = np.full(len(a), np.inf)
        for x, y in ((a[c], b[c]), (b[c], a[c])):  # street c walked from x to y, then e
            for p, r in ((a, b), (b, a)):
                pair = np.minimum(pair, d0[x] + lens[c] + rows[int(y)][p] + lens + d0[r])
        near = np.minimum(near, pair)
        near[chosen] = -np.inf
        if len(chosen) == m or not np.isfinite(near.max()):
            break
        chosen.append(int(np.argmax(near)))
    ch = np.array(chosen)
    ends = np.stack([a[ch], b[ch]], axis=1)
    enter = d0[ends]
    dist = np.array([[rows[int(x)][ends] for x in e] for e in ends])
    return pigeonhole_bound(enter, enter, lens[ch], dist, persons)


def _resplit_pairs(routes, two, *, time_budget: float):
    """Local search on the split: the longest route and another one, merged and cut in two
    again (``two``); kept when the longer of the two new routes is shorter than the longest
    was. Stops when no pair helps or after ``time_budget`` s."""
    t0 = time.perf_counter()
    routes = list(routes)
    tried: set = set()
    while time.perf_counter() - t0 < time_budget:
        lens = [r.length_m for r in routes]
        li = int(np.argmax(lens))
        for j in np.argsort(lens):
            key = (frozenset(e for e, *_ in _streets(routes[li])),
                   frozenset(e for e, *_ in _streets(routes[j])))
            if j == li or key in tried:
                continue
            tried.add(key)
            new = two([e for r in (routes[li], routes[j]) for e, *_ in _streets(r)])
            if len(new) == 2 and max(r.length_m for r in new) < lens[li] - 1e-6:
                routes[li], routes[j] = new
                break
            if time.perf_counter() - t0 >= time_budget:
                return routes
        else:
            return routes
    return routes


def _orders(tour: PostmanTour, length_of, start: int, count: int = _ORDERS):
    """``_ORDERS`` other Euler orders of the tour's walks from the start (seeded shuffles of
    Hierholzer's adjacency lists)."""
    rng = np.random.default_rng(0)
    for _ in range(count):
        walks = [tour.steps[i] for i in rng.permutation(len(tour.steps))]
        order = euler_order([(i, a, b) for i, (_, a, b, _) in enumerate(walks)], directed=False,
                            start=int(start))
        steps = [(walks[i][0], a, b, walks[i][3]) for i, a, b in order]
        lens = [tour.connectors[e][2] if e < 0 else length_of[e] for e, *_ in steps]
        yield steps, np.asarray(lens, dtype=float)


def _joined(routes, xy, start: int, length_of) -> tuple[list, np.ndarray]:
    """The routes one after the other, in the order of their direction from the start, as
    one closed walk: neighbouring persons can then trade the streets between them."""
    def angle(r):
        pts = np.array([xy[s[1]] for s in r.steps if not s[3]] or [xy[start]])
        if not np.isfinite(pts).all() or not np.isfinite(xy[start]).all():
            return 0.0  # no coordinates: keep the order
        d = pts.mean(axis=0) - xy[start]
        return float(np.arctan2(d[1], d[0]))

    steps, lens = [], []
    for r in sorted(routes, key=angle):
        steps += r.steps
        lens += [r.connectors[e][2] if e < 0 else length_of[e] for e, *_ in r.steps]
    return steps, np.asarray(lens, dtype=float)


def _best_rotation(start_cost, end_cost, lens, req, persons: int):
    """The split of the closed tour, read from one of ``_ROTATIONS`` starting streets, with
    the smallest longest route: ``(pieces, longest)``. Pieces index ``req`` cyclically
    (``j % len(req)``)."""
    q = len(req)
    total = float(lens.sum())
    cum = np.r_[0.0, np.cumsum(lens)]
    best, best_cost = None, np.inf
    for s in np.unique(np.linspace(0, q, _ROTATIONS, endpoint=False).astype(int)):
        order = np.r_[np.arange(s, q), np.arange(0, s)]
        before = cum[req[order]] - cum[req[s]]
        before = np.where(before < 0, before + total, before)
        after = before + lens[req[order]]
        pieces = min_max_split(start_cost[order], end_cost[order], before, after, persons)
        cost = max(start_cost[order][p] + after[r] - before[p] + end_cost[order][r]
                   for p, r in pieces)
        if cost < best_cost - 1e-9:
            best_cost, best = cost, [(int(p + s), int(r + s)) for p, r in pieces]
    return best, best_cost


def central_node(G: nx.MultiGraph, edges, *, network: EdgeTable | None = None) -> int:
    """The node of the ``edges`` (ids) nearest, along the network, to the farthest of them."""
    table = network if network is not None else edge_table(G)
    frame = _tour_frame(table)
    sel = frame.loc[np.asarray(list(edges))]
    nodes = np.unique(sel[["u", "v"]].to_numpy())
    xy = np.full((int(table.nodes.max()) + 1, 2), np.nan)
    xy[table.nodes.astype(int)] = table.node_xy
    mid = np.nanmean(xy[nodes], axis=0)
    near = nodes[np.argsort(np.hypot(*(xy[nodes] - mid).T))[:_CANDIDATES]]
    u, v, w = frame["u"].to_numpy(), frame["v"].to_numpy(), frame["w"].to_numpy(float)
    D = dijkstra(_sparse(len(xy), u, v, w), indices=near)[:, nodes]
    lost = (~np.isfinite(D)).sum(axis=1)
    far = np.where(np.isfinite(D), D, 0).max(axis=1)
    return int(near[np.lexsort((far, lost))[0]])
