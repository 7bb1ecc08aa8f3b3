"""The road network as arrays: one edge table, one snapper, one shortest-path helper.

Every network computation of gridkit (street tours, visit rounds, schedules,
reach, siting) starts from the same three pieces:

- :func:`edge_table` turns a networkx road graph (from
  :func:`gridkit.road_graph`, or any graph whose nodes have ``x``/``y`` and
  edges a ``length`` in metres) into an :class:`EdgeTable`, once;
- :func:`snap` puts points (or footprints) onto their nearest street
  *segment*, anywhere along an edge, not at a node;
- :func:`arc_matrix` builds the CSR matrix of the arcs that may be travelled
  (two-way streets both ways, one-way streets as signed; optionally virtual
  start nodes with an access cost) and :func:`shortest_paths` runs scipy's
  Dijkstra (:func:`scipy.sparse.csgraph.dijkstra`) over it.

Also here: :func:`split_at` (cut edges at points so that a search can start
inside an edge), :func:`components`/:func:`main_edges` (connected parts),
:func:`subset` and :func:`join_lines` (one LineString from consecutive pieces).

Everything works on plain arrays in one metric CRS; node numbers are
positions ``0..n_nodes-1`` in the graph's node order (``EdgeTable.nodes``
holds the graph's own node labels).

>>> import networkx as nx
>>> G = nx.MultiGraph()
>>> G.add_node(0, x=0.0, y=0.0); G.add_node(1, x=100.0, y=0.0); G.add_node(2, x=100.0, y=50.0)
>>> _ = G.add_edge(0, 1, length=100.0); _ = G.add_edge(1, 2, length=50.0)
>>> edges = edge_table(G)
>>> M = arc_matrix(edges)
>>> shortest_paths(M.matrix, [0])[0].tolist()
[0.0, 100.0, 150.0]
>>> import shapely
>>> s = snap(np.array([shapely.Point(30.0, 4.0)]), edges)
>>> s.edge.tolist(), s.t.round(2).tolist(), s.dist.tolist()
([0], [0.3], [4.0])
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass

import networkx as nx
import numpy as np
import shapely
import shapely.ops
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

__all__ = [
    "TINY",
    "EdgeTable",
    "edge_table",
    "subset",
    "Snap",
    "snap",
    "split_at",
    "ArcMatrix",
    "arc_matrix",
    "shortest_paths",
    "components",
    "main_edges",
    "join_lines",
]

#: smallest arc weight: scipy treats explicit zeros in sparse input as no arc
TINY = 1e-9
#: fractions closer than this to an edge end are the end node itself
_END = 1e-9


@dataclass(eq=False)
class EdgeTable:
    """The edges of a road graph as arrays (working CRS, metres), one row per edge.

    ``u``/``v`` are node positions ``0..n_nodes-1``: an edge with
    ``from_node``/``to_node`` runs from ``u = from_node`` to ``v = to_node``;
    ``geom`` runs from ``u`` to ``v``; ``oneway`` edges may only be travelled
    from ``u`` to ``v`` (every edge of a directed graph is one-way);
    ``length`` is the edge weight (m), which may differ from the geometry's
    length (searches use ``length``, offsets scale it). ``source`` is the row
    each edge comes from (its own row, or the original edge after
    :func:`split_at` / :func:`subset`).

    The remaining fields describe the graph the table was built from (left
    ``None`` in split tables): ``nodes`` the graph's node labels by position,
    ``edge_id``/``road_index`` the edges' attributes (``None`` when not every
    edge has them), ``travel_time`` (s, NaN where an edge has none) and
    ``turned`` (True where networkx lists the edge as ``(v, u)``).
    """

    u: np.ndarray
    v: np.ndarray
    length: np.ndarray
    geom: np.ndarray
    oneway: np.ndarray
    n_nodes: int
    node_xy: np.ndarray
    source: np.ndarray
    _: KW_ONLY
    nodes: np.ndarray | None = None
    edge_id: np.ndarray | None = None
    road_index: np.ndarray | None = None
    travel_time: np.ndarray | None = None
    turned: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.u)

    def times(self, default: str | float = "length") -> np.ndarray:
        """Travel time (s) per edge; where the graph has none: the ``length``
        (``default="length"``, i.e. 1 m/s) or the number ``default``."""
        t = self.travel_time if self.travel_time is not None else np.full(len(self.u), np.nan)
        fill = self.length if isinstance(default, str) else np.full(len(t), float(default))
        return np.where(np.isnan(t), fill, t)


def _attribute(data: list[dict], name: str, **default) -> np.ndarray | None:
    """One edge attribute as an array: ``None`` when an edge lacks it (unless ``default``)."""
    if not default and not all(name in d for d in data):
        return None
    out = np.empty(len(data), dtype=object)
    out[:] = [d.get(name, default.get("default")) for d in data]
    if name == "edge_id" and all(isinstance(x, (int, np.integer)) for x in out):
        return out.astype(np.int64)
    return out


def edge_table(G: nx.Graph, *, weight: str = "length", need_xy: bool = True) -> EdgeTable:
    """The arrays of a networkx road graph (nodes need ``x``/``y``; edges ``weight``).

    Edge geometries are taken from the ``geometry`` attribute when present
    (oriented from ``from_node`` when the edge says so, else turned to start
    at ``u``), otherwise the straight line between the nodes. With
    ``need_xy=False`` nodes without coordinates are accepted (their ``x``/``y``
    are NaN and edges without ``geometry`` get none): enough for arc routing
    on a bare graph.

    Raises
    ------
    KeyError
        A node without ``x``/``y`` (with ``need_xy``) or an edge without ``weight``.
    ValueError
        An edge weight that is negative or not finite.
    """
    nodes = list(G.nodes)
    pos = {n: i for i, n in enumerate(nodes)}
    try:
        xy = np.array([[G.nodes[n]["x"], G.nodes[n]["y"]] for n in nodes], dtype=float)
    except KeyError as exc:
        if need_xy:
            raise KeyError(
                f"road graph nodes need 'x' and 'y' coordinates (missing {exc})"
            ) from None
        xy = np.array(
            [[G.nodes[n].get("x", np.nan), G.nodes[n].get("y", np.nan)] for n in nodes],
            dtype=float,
        )
    if xy.size == 0:
        xy = np.zeros((0, 2))
    us, vs, ws, gs, ow, turned, data = [], [], [], [], [], [], []
    directed = G.is_directed()
    rows = G.edges(keys=True, data=True) if G.is_multigraph() else G.edges(data=True)
    for row in rows:
        a, b, d = row[0], row[1], row[-1]
        u, v = a, b
        if "from_node" in d and "to_node" in d and {d["from_node"], d["to_node"]} == {a, b}:
            u, v = d["from_node"], d["to_node"]
        if weight not in d:
            raise KeyError(
                f"road graph edge ({u}, {v}) has no {weight!r} attribute; "
                f"build the graph with gridkit.road_graph or set edge {weight!r} in metres"
            )
        us.append(pos[u])
        vs.append(pos[v])
        ws.append(float(d[weight]))
        gs.append(d.get("geometry"))
        ow.append(bool(d.get("oneway", False)) or directed)
        turned.append(u != a)
        data.append(d)
    u = np.asarray(us, dtype=np.int64)
    v = np.asarray(vs, dtype=np.int64)
    geom = np.empty(len(gs), dtype=object)
    geom[:] = gs
    missing = np.asarray(shapely.is_missing(geom)) if len(geom) else np.zeros(0, bool)
    # no geometry: the straight line between the nodes (when they have coordinates)
    fill = missing & ~(np.isnan(xy[u]).any(axis=1) | np.isnan(xy[v]).any(axis=1))
    if fill.any():
        geom[fill] = shapely.linestrings(np.stack([xy[u[fill]], xy[v[fill]]], axis=1))
    if len(geom):
        # orient every geometry from u to v
        start = shapely.get_coordinates(shapely.get_point(geom, 0))
        has = ~np.asarray(shapely.is_missing(geom))
        d_u = np.full(len(geom), np.nan)
        d_v = np.full(len(geom), np.nan)
        d_u[has] = np.hypot(*(start - xy[u[has]]).T)
        d_v[has] = np.hypot(*(start - xy[v[has]]).T)
        flip = (d_v < d_u) & (u != v)
        if flip.any():
            geom[flip] = shapely.reverse(geom[flip])
    length = np.asarray(ws, dtype=float)
    if len(length) and (~np.isfinite(length) | (length < 0)).any():
        raise ValueError(f"road graph: edge {weight!r} must be finite and >= 0 metres")
    label = np.empty(len(nodes), dtype=object)
    label[:] = nodes
    if len(nodes) and all(isinstance(n, (int, np.integer)) for n in nodes):
        label = label.astype(np.int64)
    times = np.array([d.get("travel_time", np.nan) for d in data], dtype=float)
    return EdgeTable(
        u=u,
        v=v,
        length=length,
        geom=geom,
        oneway=np.asarray(ow, dtype=bool),
        n_nodes=len(nodes),
        node_xy=xy,
        source=np.arange(len(u)),
        nodes=label,
        edge_id=_attribute(data, "edge_id"),
        road_index=_attribute(data, "road_index", default=None),
        travel_time=times,
        turned=np.asarray(turned, dtype=bool),
    )


def subset(edges: EdgeTable, rows: np.ndarray) -> EdgeTable:
    """The table of some edges only (same nodes); ``source`` holds their rows in ``edges``."""
    rows = np.asarray(rows, dtype=np.int64)

    def take(a):
        return None if a is None else a[rows]

    return EdgeTable(
        u=edges.u[rows],
        v=edges.v[rows],
        length=edges.length[rows],
        geom=edges.geom[rows],
        oneway=edges.oneway[rows],
        n_nodes=edges.n_nodes,
        node_xy=edges.node_xy,
        source=rows,
        nodes=edges.nodes,
        edge_id=take(edges.edge_id),
        road_index=take(edges.road_index),
        travel_time=take(edges.travel_time),
        turned=take(edges.turned),
    )


# -- snapping ------------------------------------------------------------------------------


@dataclass
class Snap:
    """Where geometries meet the network: ``edge`` (row, -1 = none within the limit),
    ``t`` (fraction along the edge's geometry from ``u``) and ``dist`` (m, geometry
    to street)."""

    edge: np.ndarray
    t: np.ndarray
    dist: np.ndarray


#: longest sub-segment in the point-snapping index (m); see :func:`_snap_points`
_PIECE = 20.0
_K = 8


def snap(
    geoms: np.ndarray, edges: EdgeTable, *, limit: float = np.inf, tree=None, fast: bool = True
) -> Snap:
    """Snap each geometry to the nearest street *segment* (not node) within ``limit`` m.

    For polygons the nearest point of the footprint counts (a building is
    reached at its side facing the street). Points take a fast exact path
    (:func:`_snap_points`); other geometries and the points it cannot decide
    use GEOS's STRtree nearest search (``tree``: a prebuilt
    ``shapely.STRtree(edges.geom)``). With ``fast=False`` every geometry goes
    to GEOS (slower for many points; where streets are equally near, e.g. at
    a junction, the one GEOS finds first).
    """
    n = len(geoms)
    edge = np.full(n, -1, dtype=np.int64)
    t = np.full(n, np.nan)
    dist = np.full(n, np.inf)
    if n == 0 or len(edges.geom) == 0:
        return Snap(edge, t, dist)
    is_point = np.asarray(shapely.get_type_id(geoms)) == 0
    if not fast:
        is_point[:] = False
    rest = np.flatnonzero(~is_point)
    if is_point.any():
        idx = np.flatnonzero(is_point)
        e, tt, dd, sure = _snap_points(shapely.get_coordinates(geoms[idx]), edges, limit)
        edge[idx], t[idx], dist[idx] = e, tt, dd
        rest = np.concatenate([rest, idx[~sure]])
    if len(rest):
        tree = tree if tree is not None else shapely.STRtree(edges.geom)
        (gi, ei), dd = tree.query_nearest(
            geoms[rest],
            max_distance=limit if np.isfinite(limit) else None,
            return_distance=True,
            all_matches=False,
        )
        gi = rest[gi]
        edge[rest] = -1
        dist[rest] = np.inf
        t[rest] = np.nan
        edge[gi] = ei
        dist[gi] = dd
        on_street = shapely.get_point(shapely.shortest_line(geoms[gi], edges.geom[ei]), 1)
        t[gi] = shapely.line_locate_point(edges.geom[ei], on_street, normalized=True)
    # zero-length geometries: fraction 0
    t = np.where(np.isnan(t) & (edge >= 0), 0.0, t)
    return Snap(edge, t, dist)


def _pieces(edges: EdgeTable):
    """Every edge cut into straight sub-segments of at most ``_PIECE`` m (cached)."""
    cached = getattr(edges, "_pieces_cache", None)
    if cached is not None:
        return cached
    coords, owner = shapely.get_coordinates(edges.geom, return_index=True)
    same = owner[1:] == owner[:-1]
    a, b, own = coords[:-1][same], coords[1:][same], owner[1:][same]
    seg = np.hypot(*(b - a).T)
    # distance along the edge where each vertex pair starts
    cum = np.zeros(len(seg))
    if len(seg):
        starts = np.r_[True, own[1:] != own[:-1]]
        c = np.cumsum(seg)
        group_start = np.maximum.accumulate(np.where(starts, np.arange(len(seg)), 0))
        cum = c - seg - (c - seg)[group_start]
    k = np.maximum(np.ceil(seg / _PIECE).astype(np.int64), 1)
    rep = np.repeat(np.arange(len(seg)), k)
    j = np.arange(len(rep)) - np.repeat(np.cumsum(k) - k, k)
    f0, f1 = j / k[rep], (j + 1) / k[rep]
    pa = a[rep] + (b[rep] - a[rep]) * f0[:, None]
    pb = a[rep] + (b[rep] - a[rep]) * f1[:, None]
    along = cum[rep] + seg[rep] * f0
    glen = shapely.length(edges.geom)
    half = float((seg / k).max(initial=0)) / 2
    out = (pa, pb, own[rep], along, glen, cKDTree((pa + pb) / 2), half)
    edges._pieces_cache = out
    return out


def _snap_points(xy: np.ndarray, edges: EdgeTable, limit: float):
    """Exact nearest sub-segment for points, from a KD-tree of sub-segment midpoints.

    Own code because GEOS's nearest search over lines costs ~50 µs a point
    (5 s for 100,000 buildings). A sub-segment of half-length ``h`` whose
    midpoint is ``m`` away is at least ``m - h`` away, so once the best exact
    distance ``d`` among the ``_K`` nearest midpoints is below the farthest
    midpoint looked at minus ``h``, no other sub-segment can be nearer. Points
    where that does not hold are returned as not ``sure`` (GEOS decides them).
    """
    pa, pb, own, along, glen, tree, h = _pieces(edges)
    k = min(_K, len(pa))
    bound = limit + h if np.isfinite(limit) else np.inf
    md, mi = tree.query(xy, k=k, distance_upper_bound=bound, workers=-1)
    if k == 1:
        md, mi = md[:, None], mi[:, None]
    found = mi < len(pa)
    mi_safe = np.where(found, mi, 0)
    A, B = pa[mi_safe], pb[mi_safe]
    d = B - A
    L2 = np.einsum("...i,...i", d, d)
    s = np.clip(np.einsum("...i,...i", xy[:, None, :] - A, d) / np.where(L2 > 0, L2, 1), 0, 1)
    near = A + d * s[..., None]
    dist = np.hypot(*(xy[:, None, :] - near).transpose(2, 0, 1))
    dist = np.where(found, dist, np.inf)
    best = np.argmin(dist, axis=1)
    rows = np.arange(len(xy))
    dd = dist[rows, best]
    piece = mi_safe[rows, best]
    e = np.where(np.isfinite(dd) & (dd <= limit), own[piece], -1)
    L = np.sqrt(L2[rows, best])
    gl = glen[own[piece]]
    t = np.where(gl > 0, (along[piece] + s[rows, best] * L) / np.where(gl > 0, gl, 1), 0.0)
    t = np.clip(t, 0.0, 1.0)
    # sure: every unseen midpoint is farther than the best distance + h
    farthest = np.where(found[:, -1], md[:, -1], np.inf)
    sure = (farthest >= dd + h) | ~found[:, -1]
    dd = np.where(e >= 0, dd, np.inf)
    return e, np.where(e >= 0, t, np.nan), dd, sure


def split_at(edges: EdgeTable, edge: np.ndarray, t: np.ndarray) -> tuple[EdgeTable, np.ndarray]:
    """Split edges at fractions ``t`` (one per site, ``edge`` -1 = skip).

    Returns the new edge table and the node position of every site (-1 when
    skipped). Sites at an edge end use the end node; sites at the same spot
    share a node. The new table has only the search fields (``u`` ... ``source``).
    """
    node = np.full(len(edge), -1, dtype=np.int64)
    ok = edge >= 0
    at_u = ok & (t <= _END)
    at_v = ok & (t >= 1 - _END)
    node[at_u] = edges.u[edge[at_u]]
    node[at_v] = edges.v[edge[at_v]]
    inner = np.flatnonzero(ok & ~at_u & ~at_v)
    if len(inner) == 0:
        return edges, node
    next_node = edges.n_nodes
    keep = np.ones(len(edges.u), dtype=bool)
    nu, nv, nl, ng, no, ns, nxy = [], [], [], [], [], [], []
    order = np.lexsort((t[inner], edge[inner]))
    inner = inner[order]
    host_of = edge[inner]
    bounds = np.flatnonzero(np.diff(host_of)) + 1
    for group in np.split(inner, bounds):
        h = int(edge[group[0]])
        keep[h] = False
        fr, inv = np.unique(t[group], return_inverse=True)
        ids = np.arange(next_node, next_node + len(fr))
        next_node += len(fr)
        node[group] = ids[inv]
        geom, length = edges.geom[h], edges.length[h]
        pts = shapely.line_interpolate_point(geom, fr, normalized=True)
        nxy.append(shapely.get_coordinates(pts))
        cuts = np.concatenate([[0.0], fr, [1.0]])
        chain = np.concatenate([[edges.u[h]], ids, [edges.v[h]]])
        for a in range(len(cuts) - 1):
            nu.append(chain[a])
            nv.append(chain[a + 1])
            nl.append((cuts[a + 1] - cuts[a]) * length)
            ng.append(shapely.ops.substring(geom, cuts[a], cuts[a + 1], normalized=True))
            no.append(edges.oneway[h])
            ns.append(edges.source[h])
    geoms = np.empty(len(ng), dtype=object)
    geoms[:] = ng
    out = EdgeTable(
        u=np.concatenate([edges.u[keep], np.asarray(nu, dtype=np.int64)]),
        v=np.concatenate([edges.v[keep], np.asarray(nv, dtype=np.int64)]),
        length=np.concatenate([edges.length[keep], np.asarray(nl, dtype=float)]),
        geom=np.concatenate([edges.geom[keep], geoms]),
        oneway=np.concatenate([edges.oneway[keep], np.asarray(no, dtype=bool)]),
        n_nodes=next_node,
        node_xy=np.vstack([edges.node_xy] + nxy),
        source=np.concatenate([edges.source[keep], np.asarray(ns, dtype=np.int64)]),
    )
    return out, node


# -- shortest paths ------------------------------------------------------------------------


@dataclass
class ArcMatrix:
    """The arcs a search moves along, as a CSR matrix.

    ``matrix`` is ``(n_nodes + k) x (n_nodes + k)``: the network's nodes,
    then one virtual start node per start (``starts``, joined to its street
    node by its access cost). Of parallel arcs only the lightest is kept;
    ``frm``/``to``/``edge`` list the kept network arcs and the table row each
    one travels.
    """

    matrix: csr_matrix
    frm: np.ndarray
    to: np.ndarray
    edge: np.ndarray
    starts: np.ndarray


def arc_matrix(
    edges: EdgeTable,
    *,
    weight: np.ndarray | None = None,
    reverse: bool = False,
    start_nodes: np.ndarray | None = None,
    start_costs: np.ndarray | None = None,
) -> ArcMatrix:
    """The CSR matrix of the arcs of ``edges`` for :func:`shortest_paths`.

    Two-way edges give two arcs, one-way edges one (``u`` to ``v``; with
    ``reverse`` every arc is turned round, for searches backwards: people
    travelling *to* a facility). ``weight`` is the cost per edge (default:
    ``length``); weights below :data:`TINY` count as ``TINY`` (scipy drops
    explicit zeros). Self-loops are left out (they never shorten a path).
    ``start_nodes``/``start_costs`` add one virtual node per start with an
    arc of that cost (at least ``TINY``) to its node, so that a search from
    the virtual node begins with the access leg.
    """
    n = edges.n_nodes
    w_edge = edges.length if weight is None else np.asarray(weight, dtype=float)
    two = np.flatnonzero(~edges.oneway)
    a = np.concatenate([edges.u, edges.v[two]])
    b = np.concatenate([edges.v, edges.u[two]])
    pos = np.concatenate([np.arange(len(edges.u)), two])
    if reverse:
        a, b = b, a
    w = np.maximum(np.concatenate([w_edge, w_edge[two]]), TINY)
    keep = a != b
    a, b, w, pos = a[keep], b[keep], w[keep], pos[keep]
    # parallel arcs: keep the lightest (COO -> CSR would add them up); ties: the first
    order = np.lexsort((w, b, a))
    a, b, w, pos = a[order], b[order], w[order], pos[order]
    first = np.concatenate([[True], (np.diff(a) != 0) | (np.diff(b) != 0)]) if len(a) else keep
    a, b, w, pos = a[first], b[first], w[first], pos[first]
    k = 0 if start_nodes is None else len(start_nodes)
    starts = n + np.arange(k)
    rows, cols, vals = a, b, w
    if k:
        rows = np.concatenate([a, starts])
        cols = np.concatenate([b, np.asarray(start_nodes, dtype=np.int64)])
        cost = np.zeros(k) if start_costs is None else np.asarray(start_costs, dtype=float)
        vals = np.concatenate([w, np.maximum(cost, TINY)])
    M = coo_matrix((vals, (rows, cols)), shape=(n + k, n + k)).tocsr()
    return ArcMatrix(matrix=M, frm=a, to=b, edge=pos, starts=starts)


def shortest_paths(
    matrix: csr_matrix,
    sources,
    *,
    limit: float = np.inf,
    nearest: bool = False,
    predecessors: bool = False,
):
    """Dijkstra from ``sources`` over an :func:`arc_matrix` (scipy, directed).

    Returns the distance rows (one per source), or with ``nearest`` one row:
    the distance to the nearest source and that source's node (``-1``: none
    within ``limit``). With ``predecessors`` the predecessor rows come too.
    """
    sources = np.asarray(sources, dtype=np.int64)
    if nearest:
        dist, pred, src = dijkstra(
            matrix,
            directed=True,
            indices=sources,
            return_predecessors=True,
            min_only=True,
            limit=limit,
        )
        return (dist, src, pred) if predecessors else (dist, src)
    if predecessors:
        return dijkstra(
            matrix, directed=True, indices=sources, return_predecessors=True, limit=limit
        )
    return dijkstra(matrix, directed=True, indices=sources, limit=limit)


# -- connected parts -----------------------------------------------------------------------


def components(edges: EdgeTable, *, strong: bool = False) -> np.ndarray:
    """Connected component label of every node.

    Ignoring direction by default; with ``strong`` the strongly connected
    parts over the arcs that may be travelled (one-way streets bind).
    """
    n = edges.n_nodes
    if not strong:
        M = coo_matrix((np.ones(len(edges.u)), (edges.u, edges.v)), shape=(n, n))
        return connected_components(M, directed=False)[1]
    return connected_components(arc_matrix(edges).matrix, directed=True, connection="strong")[1]


def main_edges(edges: EdgeTable) -> np.ndarray:
    """Mask of the edges inside the largest connected part (the most nodes; strongly
    connected when one-way streets bind; on a tie the part found first)."""
    if len(edges.u) == 0:
        return np.zeros(0, dtype=bool)
    if edges.oneway.any():
        label = _strong_labels(edges)
    else:
        label = components(edges)
    best = int(np.argmax(np.bincount(label)))
    return (label[edges.u] == best) & (label[edges.v] == best)


def _strong_labels(edges: EdgeTable) -> np.ndarray:
    """Strongly connected labels numbered in networkx's discovery order.

    networkx's ``strongly_connected_components`` on the arc graph, so that
    ties between equally large parts resolve as they always have.
    """
    D = nx.DiGraph()
    for a, b, one in zip(edges.u.tolist(), edges.v.tolist(), edges.oneway.tolist(), strict=True):
        D.add_edge(a, b)
        if not one:
            D.add_edge(b, a)
    label = np.arange(edges.n_nodes) + edges.n_nodes  # nodes without arcs: their own part
    for i, comp in enumerate(nx.strongly_connected_components(D)):
        label[list(comp)] = i
    _, label = np.unique(label, return_inverse=True)
    return label


# -- lines ---------------------------------------------------------------------------------


def join_lines(geoms) -> shapely.LineString | None:
    """One LineString from consecutive pieces (``None``/empty ones skipped), dropping
    the repeated vertex where a piece starts at the previous one's end.

    >>> join_lines([shapely.LineString([(0, 0), (1, 0)]), shapely.LineString([(1, 0), (1, 1)])])
    <LINESTRING (0 0, 1 0, 1 1)>
    """
    coords = [np.asarray(g.coords) for g in geoms if g is not None and not g.is_empty]
    if not coords:
        return None
    parts = [coords[0]]
    for prev, c in zip(coords, coords[1:], strict=False):
        parts.append(c[1:] if np.allclose(c[0], prev[-1]) else c)
    xy = np.vstack(parts)
    return shapely.LineString(xy) if len(xy) >= 2 else None
