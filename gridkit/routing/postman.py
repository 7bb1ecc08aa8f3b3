"""Street patrol routes: the Chinese postman problem per grid.

For each grid, a closed tour that walks (or drives) every street segment
inside the grid at least once, as short as possible:

- **undirected** streets (walking, or no binding one-way street): solved
  exactly. The odd-degree nodes are paired by a minimum-weight perfect
  matching on shortest-path distances, computed as a minimum T-join on the
  sparse road graph by PyMatching's sparse blossom (see
  :mod:`gridkit.routing._postman_core`). Deadhead may use streets outside the grid.
- **directed** (every street to patrol is one-way, ``mode="drive"``): exact
  by minimum-cost flow (:func:`networkx.network_simplex`).
- **mixed** (one-way and two-way streets): an integer programme solved by
  scipy's HiGHS (exact unless the time limit stops it; the gap is reported).
- **rural** (the grid's streets are not connected inside the grid): the
  exact rural postman, an integer programme with connectivity cuts solved by
  HiGHS (:mod:`gridkit.routing._rural_ip`), warm-started by Frederickson's
  heuristic (spanning tree of the pieces + minimum T-join); when the time
  limit stops it, the best tour and a proven lower bound (``gap``). Pieces in
  network components that no street joins get straight walking connectors
  (:mod:`gridkit.routing._connectors`, needs node coordinates): no street is
  dropped. One-way streets in pieces: Frederickson's tour, bounded by the
  undirected programme and the unjoined min-cost flow.

Also an open route from a given start to a given end (undirected only), and
(:mod:`gridkit.routing.persons`) a grid's tour shared among several persons.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from gridkit.crs import to_crs
from gridkit.errors import InvalidValueError
from gridkit.layers import check_layer
from gridkit.progress import progress
from gridkit.routing._connectors import walking_connectors
from gridkit.routing._postman_core import (
    RoutingError,
    connect_components,
    directed_flow,
    euler_order,
    min_t_join,
    mixed_milp,
    odd_nodes,
    t_join_cost,
)
from gridkit.routing._rural_directed import rural_directed
from gridkit.routing._rural_ip import rural_postman
from gridkit.routing.network import EdgeTable, edge_table, join_lines
from gridkit.routing.roadgraph import WALK_SPEED_KMH, road_graph

__all__ = ["postman_tour", "patrol_routes", "PostmanTour", "PatrolRoutes", "RoutingError"]

log = logging.getLogger(__name__)


@dataclass
class PostmanTour:
    """One closed (or open) tour over a set of required streets.

    Attributes
    ----------
    steps
        Ordered traversals ``(edge_id, from_node, to_node, deadhead)``.
    street_m, length_m, deadhead_m
        Length of the required streets, of the tour, and of the repeated or
        connecting part (``length_m - street_m``).
    lower_bound_m
        A proven lower bound on any tour's length (equal to ``length_m``
        when the method is exact).
    method
        ``"undirected"``, ``"directed"``, ``"mixed"`` or ``"rural"`` (with
        the base method, e.g. ``"rural/undirected"``).
    components
        Connected components of the required streets.
    unreachable
        Required edge ids left out of the tour: only where the network cannot join
        them (no node coordinates for a connector, or one-way streets that cannot be
        left); on a walkable graph with coordinates nothing is left out.
    optimal
        ``True`` when the tour is proven shortest (``lower_bound_m == length_m``).
    connectors
        Straight walking connectors the tour may use between network components that
        no street joins: ``edge_id`` (negative) -> ``(node, node, length_m)``.
    """

    steps: list[tuple[int, int, int, bool]]
    street_m: float
    length_m: float
    lower_bound_m: float
    method: str
    components: int = 1
    unreachable: list[int] = field(default_factory=list)
    travel_s: float = 0.0
    optimal: bool = False
    connectors: dict[int, tuple[int, int, float]] = field(default_factory=dict)

    @property
    def connector_m(self) -> float:
        """Length of the straight walking connectors on the tour (negative edge ids)."""
        return float(sum(self.connectors[e][2] for e, *_ in self.steps if e < 0))

    @property
    def deadhead_m(self) -> float:
        return self.length_m - self.street_m

    @property
    def gap(self) -> float:
        """Relative gap to the lower bound (0 when optimal)."""
        return self.length_m / self.lower_bound_m - 1 if self.lower_bound_m > 0 else 0.0


def _tour_frame(edges: EdgeTable) -> pd.DataFrame:
    """The edge table as the tour code reads it, indexed by ``edge_id``: node ids are
    the graph's own (integer) labels, ``u``/``v`` the ends as networkx lists them,
    ``frm``/``to`` the direction of travel, ``time`` the travel time (0 when none)."""
    if edges.edge_id is None:
        raise KeyError("edge_id")
    label = edges.nodes
    frm, to = label[edges.u], label[edges.v]
    df = pd.DataFrame(
        {
            "edge_id": edges.edge_id,
            "u": np.where(edges.turned, to, frm),
            "v": np.where(edges.turned, frm, to),
            "w": edges.length,
            "oneway": edges.oneway,
            "frm": frm,
            "to": to,
            "time": edges.times(0.0),
        }
    )
    return df.set_index("edge_id", drop=False)


def _main_component(n, u_all, v_all, w_all, req_ids, req_pos):
    """The network component holding most of the required length: ``(left out edge ids,
    edge positions of the component, required positions local to it)``."""
    _, label = connected_components(
        coo_matrix((np.ones(len(u_all)), (u_all, v_all)), shape=(n, n)), directed=False
    )
    comp = label[u_all[req_pos]]
    main = pd.Series(w_all[req_pos]).groupby(comp).sum().idxmax()
    unreachable = req_ids[comp != main].tolist()
    in_comp = np.flatnonzero(label[u_all] == main)
    local = {int(p): i for i, p in enumerate(in_comp)}
    kept = req_pos[comp == main]
    return unreachable, in_comp, np.array([local[int(p)] for p in kept]), kept


def postman_tour(
    G: nx.MultiGraph,
    edges=None,
    *,
    start: int | None = None,
    end: int | None = None,
    time_limit: float = 10.0,
    network: EdgeTable | None = None,
    join_nodes=(),
) -> PostmanTour:
    """The shortest tour over the required ``edges`` of a road graph.

    Parameters
    ----------
    G
        A graph from :func:`gridkit.road_graph` (edges with ``edge_id``,
        ``length``, ``oneway``, ``from_node``, ``to_node``). Node ids must be
        integers ``0..n-1``.
    edges
        ``edge_id`` values to traverse (default: every edge).
    start, end
        Node ids. The tour starts at ``start`` (default: any required
        node); with ``end`` it is an open route from ``start`` to ``end``
        (undirected streets only).
    time_limit
        Seconds for the integer programme of mixed one-way/two-way streets.
    network
        ``gridkit.routing.network.edge_table(G, need_xy=False)``, to reuse it
        over many tours on the same graph (default: built here).
    join_nodes
        Nodes whose network components the walking connectors also join (besides
        those of the streets and the start), e.g. all of a grid's when touring one
        person's share of it.

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.MultiGraph()
    >>> for i, (a, b, w) in enumerate([(0, 1, 1.0), (1, 2, 1.0), (2, 0, 1.0), (2, 3, 2.0)]):
    ...     _ = G.add_edge(a, b, key=i, edge_id=i, length=w)
    >>> tour = postman_tour(G)
    >>> tour.length_m, tour.deadhead_m
    (7.0, 2.0)
    """
    table = network if network is not None else edge_table(G, need_xy=False)
    df = _tour_frame(table)
    n = int(table.nodes.max()) + 1 if len(table.nodes) else 0
    req_ids = df.index.to_numpy() if edges is None else np.unique(np.asarray(list(edges)))
    missing = sorted(set(req_ids.tolist()) - set(df.index))
    if missing:
        raise InvalidValueError(
            f"`edges`: {len(missing)} edge id(s) not in the graph, e.g. {missing[:5]}"
        )
    if len(req_ids) == 0:
        raise InvalidValueError("`edges` is empty: nothing to patrol")
    pos = {e: i for i, e in enumerate(df.index)}
    u_all, v_all, w_all = df["u"].to_numpy(), df["v"].to_numpy(), df["w"].to_numpy(float)
    req_pos = np.array([pos[e] for e in req_ids])
    xy = np.full((n, 2), np.nan)
    if table.node_xy is not None and len(table.nodes):
        xy[table.nodes.astype(int)] = table.node_xy
    walkable = not bool(df["oneway"].to_numpy().any()) and bool(np.isfinite(xy).all())
    if walkable:
        # nothing dropped: pieces no street joins get straight walking connectors
        join = list(join_nodes) + ([] if start is None or end is not None else [start])
        ca, cb, cw = walking_connectors(n, u_all, v_all, xy, req_pos, join)
        unreachable: list[int] = []
        in_comp = np.arange(len(df))
        req_local = req_pos
    else:  # no coordinates (or one-way streets): keep the component holding most streets
        ca, cb, cw = np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
        unreachable, in_comp, req_local, req_pos = _main_component(
            n, u_all, v_all, w_all, req_ids, req_pos
        )
    sub_u, sub_v, sub_w = u_all[in_comp], v_all[in_comp], w_all[in_comp]
    local = {int(p): i for i, p in enumerate(in_comp)}
    directed = bool(df["oneway"].to_numpy()[in_comp].any())
    if directed:
        # one-way streets: keep the strongly connected part holding most required length
        ow = df["oneway"].to_numpy()[in_comp]
        fr, to = df["frm"].to_numpy()[in_comp], df["to"].to_numpy()[in_comp]
        rows = np.concatenate([fr, to[~ow]])
        cols = np.concatenate([to, fr[~ow]])
        _, scc = connected_components(
            coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n)),
            directed=True,
            connection="strong",
        )
        req_comp = scc[sub_u[req_local]]
        ok = scc[sub_u[req_local]] == scc[sub_v[req_local]]
        main_scc = (
            pd.Series(sub_w[req_local][ok]).groupby(req_comp[ok]).sum().idxmax()
            if ok.any()
            else None
        )
        good = ok & (req_comp == main_scc)
        unreachable += df.index.to_numpy()[in_comp[req_local[~good]]].tolist()
        keep = np.flatnonzero((scc[sub_u] == main_scc) & (scc[sub_v] == main_scc))
        if not good.any():
            raise RoutingError(
                "no required street lies in a strongly connected part of the network"
            )
        in_comp = in_comp[keep]
        sub_u, sub_v, sub_w = u_all[in_comp], v_all[in_comp], w_all[in_comp]
        local = {int(p): i for i, p in enumerate(in_comp)}
        req_local = np.array([local[int(p)] for p in req_pos[good]])
    sub_u, sub_v, sub_w = np.r_[sub_u, ca], np.r_[sub_v, cb], np.r_[sub_w, cw]
    street = float(sub_w[req_local].sum())
    connectors, mst_w, k = connect_components(n, sub_u, sub_v, sub_w, req_local)
    if end is not None and directed:
        raise InvalidValueError(
            "open routes (`end`) are only available for undirected streets (mode='walk')"
        )

    def base_nodes(p) -> list[int]:
        return np.concatenate([sub_u[p], sub_v[p]]).tolist()

    def lb_undirected() -> float:
        t = t_join_cost(n, sub_u, sub_v, sub_w, odd_nodes(n, sub_u[req_local], sub_v[req_local]))
        return street + max(t, mst_w)

    def lb_directed() -> float:
        """One-way streets in pieces: ignoring the directions is a relaxation, so the exact
        undirected rural postman's bound (time-limited) is a bound here."""
        sol = rural_postman(n, sub_u, sub_v, sub_w, req_local, time_limit=time_limit / 2)
        return max(lb_undirected(), sol.bound)

    ids = np.r_[df.index.to_numpy()[in_comp], -1 - np.arange(len(ca))]
    frm_all, to_all = df["frm"].to_numpy()[in_comp], df["to"].to_numpy()[in_comp]
    steps: list[tuple[int, int, int, bool]] = []
    optimal = k <= 1
    if not directed:
        base = np.concatenate([req_local, np.asarray(connectors, dtype=int)])
        odd = odd_nodes(n, sub_u[base], sub_v[base])
        if end is not None and start is not None and end != start:
            odd = np.setxor1d(odd, [start, end])
        extra = min_t_join(n, sub_u, sub_v, sub_w, odd)
        for p in req_local:
            steps.append((p, sub_u[p], sub_v[p], False))
        for p in list(connectors) + list(extra):
            steps.append((p, sub_u[p], sub_v[p], True))
        length = float(sub_w[[s[0] for s in steps]].sum())
        # a start off the streets is one more piece the closed tour must join
        off = end is None and start is not None and start not in set(base_nodes(req_local))
        if k <= 1 and not off:
            lower, method = length, "undirected"
            if end is not None:
                method = "undirected/open"
        else:
            lower, method = lb_undirected(), "rural/undirected"
            if end is None:  # the exact rural postman, warm-started by the tour above
                sol = rural_postman(n, sub_u, sub_v, sub_w, req_local, depot=start,
                                    upper=None if off else length, time_limit=time_limit)
                if off or sol.length <= length:
                    steps = [(p, sub_u[p], sub_v[p], False) for p in req_local]
                    steps += [(p, sub_u[p], sub_v[p], True) for p in sol.extra]
                    length = sol.length
                lower, optimal = max(lower, sol.bound), sol.optimal
    else:
        oneway = df["oneway"].to_numpy()[in_comp]
        a_from = np.concatenate([frm_all, to_all[~oneway]])
        a_to = np.concatenate([to_all, frm_all[~oneway]])
        a_pos = np.concatenate([np.arange(len(in_comp)), np.flatnonzero(~oneway)])
        a_w = sub_w[a_pos]
        must = np.unique(np.concatenate([req_local, np.asarray(connectors, dtype=int)]))
        if oneway[must].all():
            extra = directed_flow(n, a_from, a_to, a_w, a_pos, frm_all[must], to_all[must])
            steps = [(p, frm_all[p], to_all[p], p not in set(req_local)) for p in must]
            steps += [(p, a, b, True) for p, a, b in extra]
            method = "directed"
            length = float(sub_w[[s[0] for s in steps]].sum())
            if k <= 1:
                lower = length
            else:  # the pieces without joining them (min-cost flow) is a relaxation too
                flow = directed_flow(n, a_from, a_to, a_w, a_pos, frm_all[req_local],
                                     to_all[req_local])
                lower = street + float(sum(sub_w[p] for p, _, _ in flow))
        else:
            try:
                counts, length, bound = mixed_milp(
                    n, a_from, a_to, a_w, a_pos, must, must[oneway[must]], time_limit=time_limit
                )
            except RoutingError:
                if k <= 1:
                    raise
                # in pieces the rural programme below still finds a tour
                counts, length, bound = np.zeros(len(a_pos), dtype=int), np.inf, 0.0
            req_set = set(int(p) for p in req_local)
            used: set[int] = set()
            for j in np.flatnonzero(counts):
                p = int(a_pos[j])
                for _ in range(int(counts[j])):
                    dead = p not in req_set or p in used
                    used.add(p)
                    steps.append((p, int(a_from[j]), int(a_to[j]), dead))
            method = "mixed"
            length = float(sub_w[[s[0] for s in steps]].sum()) if steps else np.inf
            # with connectors forced in, the programme's bound is not a bound for the grid
            lower = min(length, bound) if k <= 1 else lb_undirected()
            optimal = optimal and lower >= length - 1e-6
        if k > 1:
            method = "rural/" + method
            sol = rural_directed(n, a_from, a_to, a_w, a_pos, req_local,
                                 req_local[oneway[req_local]], time_limit=time_limit)
            if sol.counts is not None and sol.length < length - 1e-6:
                steps = _arc_steps(sol.counts, a_from, a_to, a_pos, req_local)
                length = float(sub_w[[s[0] for s in steps]].sum())
            if not np.isfinite(length):
                raise RoutingError("no closed tour over the one-way streets within the time "
                                   "limit: raise `time_limit`")
            optimal = sol.optimal and length <= sol.length + 1e-6
            lower = length if optimal else max(lower, sol.bound, lb_directed())
    ordered = euler_order(
        [(i, a, b) for i, (_, a, b, _) in enumerate(steps)], directed=directed, start=start, end=end
    )
    out = []
    times = np.r_[df["time"].to_numpy(float)[in_comp], cw / (WALK_SPEED_KMH / 3.6)]
    for i, a, b in ordered:
        p = steps[i][0]
        out.append((int(ids[p]), int(a), int(b), bool(steps[i][3])))
    travel = float(sum(times[steps[i][0]] for i, _, _ in ordered))
    return PostmanTour(
        steps=out,
        street_m=street,
        length_m=length,
        lower_bound_m=min(lower, length),
        method=method,
        components=max(k, 1),
        unreachable=unreachable,
        travel_s=travel,
        optimal=bool(optimal or lower >= length - 1e-6),
        connectors={-1 - i: (int(a), int(b), float(d)) for i, (a, b, d) in
                    enumerate(zip(ca, cb, cw, strict=True))},
    )


@dataclass
class PatrolRoutes:
    """Street patrol routes, one per grid.

    Attributes
    ----------
    routes
        One row per grid and person: ``grid_id``, ``person`` (1..N), ``street_m``,
        ``length_m``, ``deadhead_m`` (repeated and connecting walks, connectors
        included), ``connector_m`` (straight walking connectors between street pieces
        no street joins), ``excluded_m`` (streets of classes not patrolled),
        ``ratio`` (length / street length), ``lower_bound_m``, ``gap``
        (``(length - bound) / bound``), ``optimal`` (proven), ``method``,
        ``components``, ``unreachable_m``, ``minutes`` and the whole tour as one
        ordered LineString; in the grids' CRS.
    steps
        One row per traversal in tour order: ``grid_id``, ``person``, ``seq``,
        ``edge_id`` (negative: a walking connector), ``road_index``, ``deadhead``,
        ``connector``, ``length_m``, geometry.
    issues
        ``grid_id``, ``issue``, ``message``: grids without streets, streets
        that cannot be reached, grids whose streets are not connected inside
        them, one-way streets that make a tour impossible.
    graph
        The road graph used.
    """

    routes: gpd.GeoDataFrame
    steps: gpd.GeoDataFrame
    issues: pd.DataFrame
    graph: nx.MultiGraph


def _arc_steps(counts, a_from, a_to, a_pos, req_local) -> list[tuple[int, int, int, bool]]:
    """Traversals from arc counts: the first traversal of a required street is its patrol."""
    req_set = set(int(p) for p in req_local)
    used: set[int] = set()
    steps = []
    for j in np.flatnonzero(counts):
        p = int(a_pos[j])
        for _ in range(int(counts[j])):
            steps.append((p, int(a_from[j]), int(a_to[j]), p not in req_set or p in used))
            used.add(p)
    return steps


def _point_for(spec, gid):
    if spec is None:
        return None
    if isinstance(spec, Mapping):
        return spec.get(gid)
    return spec


def _oriented(geom, a, frm):
    return geom if a == frm else shapely.reverse(geom)


def edges_by_grid(
    G: nx.MultiGraph, grids: gpd.GeoDataFrame, grid_id: str, *, network: EdgeTable | None = None
) -> pd.Series:
    """``grid_id`` of each edge (by its midpoint; on a shared boundary: the first grid).

    ``network``: the graph's :func:`gridkit.routing.network.edge_table`, when built already.
    """
    table = network if network is not None else edge_table(G, need_xy=False)
    mids = shapely.line_interpolate_point(table.geom, 0.5, normalized=True)
    pts = gpd.GeoDataFrame({"edge_id": table.edge_id}, geometry=mids, crs=G.graph["crs"])
    g = to_crs(grids[[grid_id, grids.geometry.name]], G.graph["crs"]).reset_index(drop=True)
    g["_order"] = np.arange(len(g))
    hit = gpd.sjoin(pts, g, predicate="intersects", how="inner").sort_values("_order")
    hit = hit.drop_duplicates("edge_id")
    return hit.set_index("edge_id")[grid_id]


def patrol_routes(
    roads: gpd.GeoDataFrame | None,
    grids: gpd.GeoDataFrame,
    *,
    graph: nx.MultiGraph | None = None,
    grid_id: str = "grid_id",
    mode: str = "walk",
    speeds=None,
    start=None,
    end=None,
    snap_tolerance: float = 1.0,
    crs=None,
    time_limit: float = 10.0,
    persons: int = 1,
    patrol_classes=None,
) -> PatrolRoutes:
    """A shortest street patrol tour for every grid.

    Parameters
    ----------
    roads
        The roads layer (ignored when ``graph`` is given).
    grids
        Grid polygons with a ``grid_id`` column. A street belongs to the grid
        holding its midpoint (a street on a shared boundary: the first such
        grid). Never modified.
    graph
        A prebuilt :func:`gridkit.road_graph` graph.
    grid_id
        The grid id column.
    mode, speeds, snap_tolerance, crs
        Passed to :func:`gridkit.road_graph`.
    start, end
        A point (in the grids' CRS) or a mapping ``grid_id -> point``: the
        tour starts at the nearest node (default: the tour node nearest the
        grid's base point); default: the most central street node of the grid (the one
        nearest, along the network, to the farthest street). With ``end`` the route is
        open, from start to end.
    time_limit
        Seconds per grid (and per person) for the integer programmes (rural postman,
        mixed one-way/two-way streets); when it stops them, the best tour found and a
        proven lower bound are reported (``gap``).
    persons
        Share each grid's streets among this many people: N closed routes from the same
        start, every street on exactly one of them, the longest as short as the split can
        make it (the optimal tour cut into N pieces by dynamic programming, each piece
        then re-solved exactly from the start). ``lower_bound_m`` and ``gap`` then refer
        to the longest route: bound ``max(tour bound / N, farthest street's round trip)``.
    patrol_classes
        Road classes to patrol (e.g. every class but ``motorway``); streets of other
        classes are left off (``excluded_m``) but may still be walked to get somewhere.
        Default: every street.

    Returns
    -------
    PatrolRoutes

    Examples
    --------
    >>> from gridkit import load_sample
    >>> s = load_sample()
    >>> grids = s["villages"].rename(columns={"code": "grid_id"})
    >>> res = patrol_routes(s["roads"], grids)
    >>> bool((res.routes["length_m"] >= res.routes["street_m"]).all())
    True
    """
    from gridkit.routing.persons import central_node, split_tour

    grids = check_layer(grids, "grids", required=(grid_id,), id_column=grid_id)
    if int(persons) != persons or persons < 1:
        raise InvalidValueError(f"`persons` must be a whole number >= 1, got {persons!r}")
    if end is not None and persons > 1:
        raise InvalidValueError("`end` (open routes) cannot be combined with `persons` > 1")
    G = (
        graph
        if graph is not None
        else road_graph(roads, mode=mode, speeds=speeds, snap_tolerance=snap_tolerance, crs=crs)
    )
    wcrs = G.graph["crs"]
    table = edge_table(G)
    owner = edges_by_grid(G, grids, grid_id, network=table)
    ctx = _Context(G, table, grid_id, wcrs)
    patrolled = _patrolled(G, patrol_classes)
    by_label = np.argsort(table.nodes, kind="stable")
    nodes, xy = table.nodes[by_label], table.node_xy[by_label]
    rows, step_rows, issues = [], [], []
    extra_cols = [c for c in ("village_code",) if c in grids.columns]
    for idx in progress(range(len(grids)), desc="patrol routes", unit="grid"):
        gid = grids[grid_id].iloc[idx]
        base = {grid_id: gid, **{c: grids[c].iloc[idx] for c in extra_cols}}
        inside = owner.index[owner == gid].to_numpy()
        keep = np.array([patrolled(e) for e in inside], dtype=bool)
        req, excluded_m = inside[keep], float(ctx.arrays.loc[inside[~keep], "w"].sum())
        base["excluded_m"] = excluded_m
        if len(req) == 0:
            issues.append(_issue(grid_id, gid, "no_streets", f"grid {gid!r}: no street inside it"
                                 f"{' to patrol' if excluded_m else ''}; no patrol route"))
            rows.append(_empty_row(base))
            continue
        req_nodes = np.unique(ctx.arrays.loc[req, ["u", "v"]].to_numpy())
        s_pt, e_pt = _point_for(start, gid), _point_for(end, gid)
        s_node = (
            _nearest(cKDTree(xy[req_nodes]), req_nodes, s_pt, grids.crs, wcrs)
            if s_pt is not None
            else central_node(G, req, network=table)
        )
        e_node = _nearest(cKDTree(xy), nodes, e_pt, grids.crs, wcrs) if e_pt is not None else None
        try:
            tour = postman_tour(
                G, req, start=s_node, end=e_node, time_limit=time_limit, network=table
            )
            shared = (
                split_tour(G, tour, persons, start=s_node, network=table, time_limit=time_limit)
                if persons > 1
                else None
            )
        except RoutingError as exc:
            issues.append(_issue(grid_id, gid, "no_tour", f"grid {gid!r}: {exc}"))
            continue
        lost = float(ctx.arrays.loc[tour.unreachable, "w"].sum()) if tour.unreachable else 0.0
        issues += _tour_issues(grid_id, gid, tour, lost)
        base.update(components=tour.components, unreachable_m=lost)
        routes = [tour] if shared is None else shared.routes
        for person, route in enumerate(routes, start=1):
            geoms = ctx.steps(route, {**base, "person": person}, step_rows)
            row = _route_row(base, route, person, join_lines(geoms))
            if shared is not None:
                row.update(lower_bound_m=shared.bound, gap=shared.gap, optimal=False,
                           method=f"{tour.method}/split {persons}")
            rows.append(row)
    routes = gpd.GeoDataFrame(
        rows, columns=[grid_id, *extra_cols, *ROUTE_COLUMNS], geometry="geometry", crs=wcrs
    ).to_crs(grids.crs)
    steps = gpd.GeoDataFrame(
        step_rows, columns=[grid_id, *STEP_COLUMNS], geometry="geometry", crs=wcrs
    ).to_crs(grids.crs)
    return PatrolRoutes(
        routes=routes,
        steps=steps,
        issues=pd.DataFrame(issues, columns=[grid_id, "issue", "message"]),
        graph=G,
    )


ROUTE_COLUMNS = [
    "person", "street_m", "length_m", "deadhead_m", "connector_m", "excluded_m", "ratio",
    "lower_bound_m", "gap", "optimal", "method", "components", "unreachable_m", "minutes",
    "geometry",
]
STEP_COLUMNS = [
    "person", "seq", "edge_id", "road_index", "from_node", "to_node", "deadhead", "connector",
    "length_m", "minutes", "geometry",
]


def _issue(grid_id, gid, kind, message) -> dict:
    return {grid_id: gid, "issue": kind, "message": message}


def _patrolled(G, classes):
    """``edge_id -> bool``: is the street of a class to patrol (every class when ``None``)."""
    if classes is None:
        return lambda e: True
    wanted = {str(c) for c in ([classes] if isinstance(classes, str) else classes)}
    cls = {d["edge_id"]: str(d.get("road_class", "unknown")) for _, _, d in G.edges(data=True)}
    known = set(cls.values())
    if not wanted & known:
        raise InvalidValueError(
            f"`patrol_classes`: none of {sorted(wanted)} is a road class of the network "
            f"(it has {sorted(known)[:12]})"
        )
    return lambda e: cls[e] in wanted


def _empty_row(base) -> dict:
    return {
        **base, "person": 1, "street_m": 0.0, "length_m": 0.0, "deadhead_m": 0.0,
        "connector_m": 0.0, "ratio": np.nan, "lower_bound_m": 0.0, "gap": 0.0, "optimal": True,
        "method": "none", "components": 0, "unreachable_m": 0.0, "minutes": 0.0,
        "geometry": None,
    }


def _route_row(base, tour: PostmanTour, person: int, geometry) -> dict:
    return {
        **base,
        "person": person,
        "street_m": tour.street_m,
        "length_m": tour.length_m,
        "deadhead_m": tour.deadhead_m,
        "connector_m": tour.connector_m,
        "ratio": tour.length_m / tour.street_m if tour.street_m > 0 else np.nan,
        "lower_bound_m": tour.lower_bound_m,
        "gap": tour.gap,
        "optimal": tour.optimal,
        "method": tour.method,
        "minutes": tour.travel_s / 60,
        "geometry": geometry,
    }


def _tour_issues(grid_id, gid, tour: PostmanTour, lost: float) -> list[dict]:
    out = []
    if tour.unreachable:
        out.append(_issue(
            grid_id, gid, "unreachable",
            f"grid {gid!r}: {len(tour.unreachable)} street segment(s) ({lost:.0f} m) cannot "
            "be reached by the tour (one-way streets, or no coordinates to join them) and "
            "are left out; check the roads layer near them (snap_tolerance)",
        ))
    if tour.components > 1:
        proof = "proven optimal" if tour.optimal else f"gap to lower bound {tour.gap:.1%}"
        walk = (
            f"; {tour.connector_m:.0f} m of it are straight walking connectors between "
            "street pieces no street joins (check the roads layer there)"
            if tour.connector_m > 0
            else ""
        )
        out.append(_issue(
            grid_id, gid, "disconnected",
            f"grid {gid!r}: its streets form {tour.components} separate pieces inside it; the "
            f"route joins them by the shortest connections outside the grid ({proof}){walk}",
        ))
    return out


class _Context:
    """What every grid's step rows look up: edge lengths, times, geometries, road rows."""

    def __init__(self, G, table: EdgeTable, grid_id: str, wcrs):
        self.arrays = _tour_frame(table)
        self.geom_of = dict(zip(table.edge_id.tolist(), table.geom, strict=True))
        self.road_of = dict(zip(table.edge_id.tolist(), table.road_index, strict=True))
        self.xy = {int(n): xy for n, xy in zip(table.nodes.tolist(), table.node_xy, strict=True)}
        self.grid_id = grid_id

    def steps(self, tour: PostmanTour, base: dict, out: list) -> list:
        geoms = []
        for seq, (e, a, b, dead) in enumerate(tour.steps):
            if e < 0:  # a straight walking connector
                geom = shapely.LineString([self.xy[a], self.xy[b]])
                length, minutes, road = tour.connectors[e][2], 0.0, None
                minutes = length / (WALK_SPEED_KMH / 3.6) / 60
            else:
                geom = _oriented(self.geom_of[e], a, self.arrays.at[e, "frm"])
                length = float(self.arrays.at[e, "w"])
                minutes, road = float(self.arrays.at[e, "time"]) / 60, self.road_of[e]
            geoms.append(geom)
            out.append({
                **{k: base[k] for k in (self.grid_id, "person")},
                "seq": seq, "edge_id": e, "road_index": road, "from_node": a, "to_node": b,
                "deadhead": dead, "connector": e < 0, "length_m": length, "minutes": minutes,
                "geometry": geom,
            })
        return geoms


def _nearest(tree, candidates, point, src_crs, dst_crs) -> int:
    pt = gpd.GeoSeries([point], crs=src_crs).to_crs(dst_crs).iloc[0]
    return int(candidates[tree.query([pt.x, pt.y])[1]])
