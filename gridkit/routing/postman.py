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
  components are joined by the shortest connecting streets (a minimum
  spanning tree over component-to-component distances, Frederickson's
  heuristic), then made Eulerian as above. NP-hard in general: the result
  reports a lower bound (street length + max(minimum T-join of the odd
  nodes, the spanning tree)) and the gap to it.

Also an open route from a given start to a given end (undirected only).
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
from scipy.spatial import cKDTree

from gridkit.crs import to_crs
from gridkit.errors import InvalidValueError
from gridkit.layers import check_layer
from gridkit.progress import progress
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
from gridkit.routing.network import EdgeTable, edge_table, join_lines
from gridkit.routing.roadgraph import road_graph

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
        Required edge ids that lie in another network component than the
        rest and are left out of the tour.
    """

    steps: list[tuple[int, int, int, bool]]
    street_m: float
    length_m: float
    lower_bound_m: float
    method: str
    components: int = 1
    unreachable: list[int] = field(default_factory=list)
    travel_s: float = 0.0

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


def postman_tour(
    G: nx.MultiGraph,
    edges=None,
    *,
    start: int | None = None,
    end: int | None = None,
    time_limit: float = 10.0,
    network: EdgeTable | None = None,
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
    # keep the network component that holds most of the required length
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    _, label = connected_components(
        coo_matrix((np.ones(len(df)), (u_all, v_all)), shape=(n, n)), directed=False
    )
    req_pos = np.array([pos[e] for e in req_ids])
    comp = label[u_all[req_pos]]
    main = pd.Series(w_all[req_pos]).groupby(comp).sum().idxmax()
    unreachable = req_ids[comp != main].tolist()
    req_pos = req_pos[comp == main]
    in_comp = np.flatnonzero(label[u_all] == main)
    # restrict the arrays to that component (positions into df)
    sub_u, sub_v, sub_w = u_all[in_comp], v_all[in_comp], w_all[in_comp]
    local = {int(p): i for i, p in enumerate(in_comp)}
    req_local = np.array([local[int(p)] for p in req_pos])
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
    street = float(sub_w[req_local].sum())
    connectors, mst_w, k = connect_components(n, sub_u, sub_v, sub_w, req_local)
    if end is not None and directed:
        raise InvalidValueError(
            "open routes (`end`) are only available for undirected streets (mode='walk')"
        )

    def lb_undirected() -> float:
        t = t_join_cost(n, sub_u, sub_v, sub_w, odd_nodes(n, sub_u[req_local], sub_v[req_local]))
        return street + max(t, mst_w)

    ids = df.index.to_numpy()[in_comp]
    frm_all, to_all = df["frm"].to_numpy()[in_comp], df["to"].to_numpy()[in_comp]
    steps: list[tuple[int, int, int, bool]] = []
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
        if k <= 1:
            lower, method = length, "undirected"
            if end is not None:
                method = "undirected/open"
        else:
            lower, method = lb_undirected(), "rural/undirected"
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
            lower = length if k <= 1 else max(lb_undirected(), street)
        else:
            counts, length, bound = mixed_milp(
                n, a_from, a_to, a_w, a_pos, must, must[oneway[must]], time_limit=time_limit
            )
            req_set = set(int(p) for p in req_local)
            used: set[int] = set()
            for j in np.flatnonzero(counts):
                p = int(a_pos[j])
                for _ in range(int(counts[j])):
                    dead = p not in req_set or p in used
                    used.add(p)
                    steps.append((p, int(a_from[j]), int(a_to[j]), dead))
            method = "mixed"
            length = float(sub_w[[s[0] for s in steps]].sum())
            # with connectors forced in, the programme's bound is not a bound for the grid
            lower = min(length, bound) if k <= 1 else lb_undirected()
        if k > 1:
            method = "rural/" + method
    ordered = euler_order(
        [(i, a, b) for i, (_, a, b, _) in enumerate(steps)], directed=directed, start=start, end=end
    )
    out = []
    times = df["time"].to_numpy(float)[in_comp]
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
    )


@dataclass
class PatrolRoutes:
    """Street patrol routes, one per grid.

    Attributes
    ----------
    routes
        One row per grid: ``grid_id``, ``street_m``, ``length_m``,
        ``deadhead_m``, ``ratio`` (length / street length),
        ``lower_bound_m``, ``gap``, ``method``, ``components``,
        ``unreachable_m``, ``minutes`` and the whole tour as one ordered
        LineString; in the grids' CRS.
    steps
        One row per traversal in tour order: ``grid_id``, ``seq``,
        ``edge_id``, ``road_index``, ``deadhead``, ``length_m``, geometry.
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
        grid's centre); with ``end`` the route is open, from start to end.
    time_limit
        Seconds per grid for the mixed one-way/two-way integer programme.

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
    grids = check_layer(grids, "grids", required=(grid_id,), id_column=grid_id)
    G = (
        graph
        if graph is not None
        else road_graph(roads, mode=mode, speeds=speeds, snap_tolerance=snap_tolerance, crs=crs)
    )
    wcrs = G.graph["crs"]
    table = edge_table(G)
    owner = edges_by_grid(G, grids, grid_id, network=table)
    arrays = _tour_frame(table)
    geom_of = dict(zip(table.edge_id.tolist(), table.geom, strict=True))
    road_of = dict(zip(table.edge_id.tolist(), table.road_index, strict=True))
    by_label = np.argsort(table.nodes, kind="stable")
    nodes, xy = table.nodes[by_label], table.node_xy[by_label]
    metric_grids = to_crs(grids, wcrs)
    rows, step_rows, issues = [], [], []
    extra_cols = [c for c in ("village_code",) if c in grids.columns]
    for idx in progress(range(len(grids)), desc="patrol routes", unit="grid"):
        gid = grids[grid_id].iloc[idx]
        base = {grid_id: gid, **{c: grids[c].iloc[idx] for c in extra_cols}}
        req = owner.index[owner == gid].to_numpy()
        if len(req) == 0:
            issues.append(
                {
                    grid_id: gid,
                    "issue": "no_streets",
                    "message": f"grid {gid!r}: no street inside it; no patrol route",
                }
            )
            rows.append(
                {
                    **base,
                    "street_m": 0.0,
                    "length_m": 0.0,
                    "deadhead_m": 0.0,
                    "ratio": np.nan,
                    "lower_bound_m": 0.0,
                    "gap": 0.0,
                    "method": "none",
                    "components": 0,
                    "unreachable_m": 0.0,
                    "minutes": 0.0,
                    "geometry": None,
                }
            )
            continue
        req_nodes = np.unique(arrays.loc[req, ["u", "v"]].to_numpy())
        tree = cKDTree(xy[req_nodes])
        centre = metric_grids.geometry.iloc[idx].representative_point()
        s_pt = _point_for(start, gid)
        e_pt = _point_for(end, gid)
        s_node = (
            _nearest(tree, req_nodes, s_pt, grids.crs, wcrs)
            if s_pt is not None
            else int(req_nodes[tree.query([centre.x, centre.y])[1]])
        )
        e_node = _nearest(cKDTree(xy), nodes, e_pt, grids.crs, wcrs) if e_pt is not None else None
        try:
            tour = postman_tour(
                G, req, start=s_node, end=e_node, time_limit=time_limit, network=table
            )
        except RoutingError as exc:
            issues.append({grid_id: gid, "issue": "no_tour", "message": f"grid {gid!r}: {exc}"})
            continue
        if tour.unreachable:
            lost = float(arrays.loc[tour.unreachable, "w"].sum())
            issues.append(
                {
                    grid_id: gid,
                    "issue": "unreachable",
                    "message": f"grid {gid!r}: {len(tour.unreachable)} street segment(s) "
                    f"({lost:.0f} m) are not connected to the rest of the network and are "
                    "left out; check the roads layer near them (snap_tolerance)",
                }
            )
        else:
            lost = 0.0
        if tour.components > 1:
            issues.append(
                {
                    grid_id: gid,
                    "issue": "disconnected",
                    "message": f"grid {gid!r}: its streets form {tour.components} separate pieces "
                    f"inside it; the route uses connecting streets outside the grid "
                    f"(heuristic, gap to lower bound {tour.gap:.1%})",
                }
            )
        geoms = []
        for seq, (e, a, b, dead) in enumerate(tour.steps):
            geom = _oriented(geom_of[e], a, arrays.at[e, "frm"])
            geoms.append(geom)
            step_rows.append(
                {
                    grid_id: gid,
                    "seq": seq,
                    "edge_id": e,
                    "road_index": road_of[e],
                    "from_node": a,
                    "to_node": b,
                    "deadhead": dead,
                    "length_m": float(arrays.at[e, "w"]),
                    "minutes": float(arrays.at[e, "time"]) / 60,
                    "geometry": geom,
                }
            )
        rows.append(
            {
                **base,
                "street_m": tour.street_m,
                "length_m": tour.length_m,
                "deadhead_m": tour.deadhead_m,
                "ratio": tour.length_m / tour.street_m,
                "lower_bound_m": tour.lower_bound_m,
                "gap": tour.gap,
                "method": tour.method,
                "components": tour.components,
                "unreachable_m": lost,
                "minutes": tour.travel_s / 60,
                "geometry": join_lines(geoms),
            }
        )
    route_cols = [
        grid_id,
        *extra_cols,
        "street_m",
        "length_m",
        "deadhead_m",
        "ratio",
        "lower_bound_m",
        "gap",
        "method",
        "components",
        "unreachable_m",
        "minutes",
        "geometry",
    ]
    routes = gpd.GeoDataFrame(rows, columns=route_cols, geometry="geometry", crs=wcrs).to_crs(
        grids.crs
    )
    step_cols = [
        grid_id,
        "seq",
        "edge_id",
        "road_index",
        "from_node",
        "to_node",
        "deadhead",
        "length_m",
        "minutes",
        "geometry",
    ]
    steps = gpd.GeoDataFrame(step_rows, columns=step_cols, geometry="geometry", crs=wcrs).to_crs(
        grids.crs
    )
    return PatrolRoutes(
        routes=routes,
        steps=steps,
        issues=pd.DataFrame(issues, columns=[grid_id, "issue", "message"]),
        graph=G,
    )


def _nearest(tree, candidates, point, src_crs, dst_crs) -> int:
    pt = gpd.GeoSeries([point], crs=src_crs).to_crs(dst_crs).iloc[0]
    return int(candidates[tree.query([pt.x, pt.y])[1]])
