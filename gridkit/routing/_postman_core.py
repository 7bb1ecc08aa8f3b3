"""Array-level arc routing: T-joins, directed and mixed augmentation, Euler tours.

The geo shell is :mod:`gridkit.routing.postman`. Everything here works on plain edge
arrays (``u``, ``v``, ``w`` with node ids ``0..n-1``) so that it can be tested
against brute force on tiny graphs.

Why a T-join: the undirected Chinese postman adds to the streets a
minimum-weight set of edges whose odd-degree nodes are exactly the streets'
odd nodes (a minimum T-join). With non-negative weights that is the same as
the classic minimum-weight perfect matching on shortest-path distances
between odd nodes, but it is solved on the sparse road graph itself by
PyMatching's sparse blossom (exact minimum-weight perfect matching; weights
are scaled to integers up to 2**24 internally, so the result is optimal to
about 1e-7 of the longest edge per edge), which avoids the k x k distance
matrix and runs in well under a second for thousands of odd nodes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import networkx as nx
import numpy as np
from scipy.sparse import coo_matrix, csc_matrix, csr_matrix
from scipy.sparse.csgraph import dijkstra, minimum_spanning_tree

from gridkit.errors import RoutingError

log = logging.getLogger(__name__)


def _pair_index(u: np.ndarray, v: np.ndarray, w: np.ndarray) -> dict[tuple[int, int], int]:
    """For each unordered node pair, the index of its lightest edge (self-loops skipped)."""
    a, b, idx = _lightest(u, v, w)
    return dict(zip(zip(a.tolist(), b.tolist(), strict=True), idx.tolist(), strict=True))


def _lightest(u, v, w):
    """``(a, b, index)`` of the lightest edge of each unordered node pair ``a < b`` (the
    first in input order among equal weights; self-loops skipped)."""
    u, v = np.asarray(u, dtype=np.int64), np.asarray(v, dtype=np.int64)
    order = np.argsort(np.asarray(w, dtype=float), kind="stable")
    a, b = np.minimum(u, v)[order], np.maximum(u, v)[order]
    ok = a != b
    order, a, b = order[ok], a[ok], b[ok]
    if not len(order):
        return a, b, order
    _, first = np.unique(a * (int(b.max()) + 1) + b, return_index=True)
    return a[first], b[first], order[first]


def min_t_join(n: int, u, v, w, terminals) -> list[int]:
    """Indices of a minimum-weight T-join of the graph (``u``, ``v``, ``w`` >= 0).

    ``terminals`` are the nodes that must have odd degree in the join (an
    even number in every connected component).
    """
    import pymatching

    u, v, w = np.asarray(u), np.asarray(v), np.asarray(w, dtype=float)
    terminals = np.unique(np.asarray(terminals, dtype=int))
    if len(terminals) == 0:
        return []
    if (w < 0).any():
        raise ValueError("min_t_join: weights must be >= 0")
    a, b, idx = _lightest(u, v, w)
    if not len(idx) or terminals.max() > max(a.max(), b.max()):
        raise RoutingError("a node that must be paired has no edge")
    nodes = int(max(a.max(), b.max())) + 1
    k = len(idx)
    H = csc_matrix((np.ones(2 * k, dtype=np.uint8), (np.r_[a, b], np.tile(np.arange(k), 2))),
                   shape=(nodes, k))
    scale = float(w.max()) if w.max() > 0 else 1.0
    # weights scaled so the longest edge uses pymatching's full integer range
    m = pymatching.Matching.from_check_matrix(H, weights=w[idx] / scale * 1e6)
    syndrome = np.zeros(nodes, dtype=np.uint8)
    syndrome[terminals] = 1
    try:
        chosen = np.flatnonzero(m.decode(syndrome))
    except ValueError as exc:
        raise RoutingError(f"odd nodes cannot be paired (disconnected network?): {exc}") from exc
    if len(chosen) and chosen.max() >= k:
        raise RoutingError("odd nodes cannot be paired inside their network component")
    return idx[chosen].tolist()


def t_join_cost(n: int, u, v, w, terminals) -> float:
    idx = min_t_join(n, u, v, w, terminals)
    return float(np.asarray(w, dtype=float)[idx].sum()) if idx else 0.0


def odd_nodes(n: int, u, v) -> np.ndarray:
    deg = np.bincount(np.concatenate([np.asarray(u), np.asarray(v)]), minlength=n)
    return np.flatnonzero(deg % 2)


def _sparse(n: int, u, v, w, *, directed_arcs=None):
    """CSR adjacency with the lightest parallel edge (both directions unless ``directed_arcs``)."""
    u, v, w = np.asarray(u), np.asarray(v), np.asarray(w, dtype=float)
    if directed_arcs is None:
        rows, cols, vals = np.concatenate([u, v]), np.concatenate([v, u]), np.concatenate([w, w])
    else:
        rows, cols, vals = directed_arcs
    keep = rows != cols
    rows, cols, vals = rows[keep], cols[keep], vals[keep] + 1e-12  # explicit zeros survive
    order = np.lexsort((vals, cols, rows))
    rows, cols, vals = rows[order], cols[order], vals[order]
    first = np.concatenate([[True], (np.diff(rows) != 0) | (np.diff(cols) != 0)])
    return csr_matrix((vals[first], (rows[first], cols[first])), shape=(n, n))


def connect_components(n: int, u, v, w, required: np.ndarray):
    """Connect the components of the required edges by shortest paths (MST over components).

    Returns ``(connector_edge_indices, mst_weight, n_components)``. The MST
    weight over the component-to-component distances is a lower bound on the
    deadhead any closed tour needs to join them (an Euler tour of the
    contracted components visits every component, so it is at least a
    spanning tree of them).
    """
    u, v, w = np.asarray(u), np.asarray(v), np.asarray(w, dtype=float)
    ru, rv = u[required], v[required]
    nodes = np.unique(np.concatenate([ru, rv]))
    sub = coo_matrix((np.ones(len(ru)), (ru, rv)), shape=(n, n))
    from scipy.sparse.csgraph import connected_components

    _, label = connected_components(sub, directed=False)
    comp_ids = np.unique(label[nodes])
    k = len(comp_ids)
    if k <= 1:
        return [], 0.0, k
    A = _sparse(n, u, v, w)
    comp_nodes = [nodes[label[nodes] == c] for c in comp_ids]
    dist = np.full((k, k), np.inf)
    preds = []
    for a, src in enumerate(comp_nodes):
        d, pred, _ = dijkstra(A, indices=src, min_only=True, return_predecessors=True)
        preds.append((d, pred))
        for b, dst in enumerate(comp_nodes):
            if b != a:
                dist[a, b] = d[dst].min()
    if not np.isfinite(dist[~np.eye(k, dtype=bool)]).all():
        raise RoutingError("the required streets lie in separate network components")
    sym = np.minimum(dist, dist.T)
    tree = minimum_spanning_tree(csr_matrix(np.where(np.isfinite(sym), sym + 1e-9, 0))).tocoo()
    pairs = _pair_index(u, v, w)
    connectors: list[int] = []
    for a, b in zip(tree.row, tree.col, strict=False):
        dst = comp_nodes[b]
        d, pred = preds[a]
        node = int(dst[np.argmin(d[dst])])
        while pred[node] >= 0:
            p = int(pred[node])
            connectors.append(pairs[(min(p, node), max(p, node))])
            node = p
    return connectors, float(tree.data.sum()), k


@dataclass
class Augmentation:
    """Extra traversals making the required arcs Eulerian.

    ``extra`` holds ``(edge_index, from_node, to_node)`` triples; for
    undirected solutions ``from``/``to`` are the edge's own ends.
    """

    extra: list[tuple[int, int, int]]
    cost: float
    lower_bound: float
    method: str


def directed_flow(
    n: int, arcs_from, arcs_to, arcs_w, arcs_edge, req_from, req_to
) -> list[tuple[int, int, int]]:
    """Directed postman augmentation by minimum-cost flow (networkx network simplex).

    ``req_*``: the fixed required arcs. Returns extra arcs ``(edge, from, to)``.
    """
    balance = np.bincount(req_to, minlength=n) - np.bincount(req_from, minlength=n)
    if not balance.any():
        return []
    D = nx.DiGraph()
    best: dict[tuple[int, int], tuple[int, int]] = {}
    for a, b, wt, e in zip(arcs_from, arcs_to, arcs_w, arcs_edge, strict=False):
        if a == b:
            continue
        c = int(round(float(wt) * 100))  # integer centimetres: network simplex is exact on ints
        if (a, b) not in best or c < best[(a, b)][0]:
            best[(a, b)] = (c, int(e))
    for (a, b), (c, _) in best.items():
        D.add_edge(int(a), int(b), weight=c)
    for node in np.flatnonzero(balance):
        if node not in D:
            raise RoutingError(f"node {node} has unbalanced one-way streets and no way in or out")
    # networkx: demand = inflow - outflow; the extras must bring each node back to balance
    nx.set_node_attributes(D, {int(x): int(-balance[x]) for x in np.flatnonzero(balance)}, "demand")
    try:
        _, flow = nx.network_simplex(D)
    except nx.NetworkXUnfeasible as exc:
        raise RoutingError(
            "one-way streets make a closed tour impossible (not strongly connected)"
        ) from exc
    extra = []
    for a, targets in flow.items():
        for b, f in targets.items():
            for _ in range(int(f)):
                extra.append((best[(a, b)][1], a, b))
    return extra


def mixed_milp(
    n: int,
    arcs_from,
    arcs_to,
    arcs_w,
    arcs_edge,
    required_edges: np.ndarray,
    fixed_required: np.ndarray,
    *,
    time_limit: float = 10.0,
):
    """Mixed postman (some streets one-way) as an integer programme (scipy/HiGHS).

    Variables: copies of each arc. Conservation at every node; each required
    two-way street at least once in either direction, each required one-way
    arc at least once. Returns ``(arc_counts, objective, dual_bound)``.
    """
    from scipy.optimize import Bounds, LinearConstraint, milp

    arcs_from, arcs_to = np.asarray(arcs_from), np.asarray(arcs_to)
    arcs_edge = np.asarray(arcs_edge)
    m = len(arcs_from)
    inc = coo_matrix(
        (
            np.concatenate([np.ones(m), -np.ones(m)]),
            (np.concatenate([arcs_to, arcs_from]), np.concatenate([np.arange(m)] * 2)),
        ),
        shape=(n, m),
    ).tocsr()
    cons = [LinearConstraint(inc, 0, 0)]
    lower = np.zeros(m)
    req_set = set(int(e) for e in required_edges)
    fixed = set(int(e) for e in fixed_required)
    rows, cols = [], []
    r = 0
    seen = {}
    for j, e in enumerate(arcs_edge):
        e = int(e)
        if e not in req_set:
            continue
        if e in fixed:
            lower[j] = 1
        else:
            if e not in seen:
                seen[e] = r
                r += 1
            rows.append(seen[e])
            cols.append(j)
    if r:
        cover = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(r, m)).tocsr()
        cons.append(LinearConstraint(cover, 1, np.inf))
    # only the arcs of required two-way streets need to be integer: once their
    # directions are fixed the rest is a min-cost flow, whose optimal vertex is integral
    integrality = np.zeros(m)
    integrality[cols] = 1
    res = milp(
        c=np.asarray(arcs_w, dtype=float),
        constraints=cons,
        integrality=integrality,
        bounds=Bounds(lower, np.inf),
        options={"time_limit": time_limit, "disp": False},
    )
    if res.x is None:
        raise RoutingError(f"no closed tour over the one-way streets: {res.message}")
    bound = getattr(res, "mip_dual_bound", None)
    bound = float(bound) if bound is not None and np.isfinite(bound) else float(res.fun)
    counts = np.round(res.x).astype(int)
    if np.abs(inc @ counts).max() > 0:
        raise RoutingError("internal: the integer programme returned a fractional flow")
    return counts, float(res.fun), bound


def euler_order(
    steps: list[tuple[int, int, int]], *, directed: bool, start: int | None, end: int | None = None
) -> list[tuple[int, int, int]]:
    """Order traversals ``(edge, a, b)`` into one Euler circuit (or path from start to end).

    Hierholzer's algorithm on plain lists (linear time; networkx's
    ``eulerian_circuit`` copies the multigraph and was most of the run time).
    """
    if not steps:
        return []
    adj: dict[int, list[tuple[int, int]]] = {}
    balance: dict[int, int] = {}
    for k, (_e, a, b) in enumerate(steps):
        adj.setdefault(a, []).append((k, b))
        if directed:
            adj.setdefault(b, [])
            balance[a] = balance.get(a, 0) + 1
            balance[b] = balance.get(b, 0) - 1
        else:
            adj.setdefault(b, []).append((k, a))
            balance[a] = balance.get(a, 0) + 1
            balance[b] = balance.get(b, 0) + 1
    if start is None or start not in adj:
        start = steps[0][1]
    open_route = end is not None and end != start
    if directed:
        bad = {v for v, x in balance.items() if x != 0}
    else:
        bad = {v for v, x in balance.items() if x % 2}
    if bad - ({start, end} if open_route else set()):
        raise RoutingError("internal: the augmented streets are not Eulerian")
    used = [False] * len(steps)
    ptr = dict.fromkeys(adj, 0)
    stack: list[tuple[int, int, int]] = [(start, -1, -1)]
    walk: list[tuple[int, int, int]] = []
    while stack:
        v = stack[-1][0]
        edges, i = adj[v], ptr[v]
        while i < len(edges) and used[edges[i][0]]:
            i += 1
        ptr[v] = i
        if i == len(edges):
            walk.append(stack.pop())
        else:
            k, w = edges[i]
            used[k] = True
            ptr[v] = i + 1
            stack.append((w, k, v))
    if not all(used):
        raise RoutingError("internal: the augmented streets are not connected")
    walk.reverse()
    return [(steps[k][0], frm, node) for node, k, frm in walk[1:]]
