"""The road network as a graph: noding, snapping, levels, speeds, reachability.

:func:`road_graph` turns a roads layer into a :class:`networkx.MultiGraph` in
the metric working CRS. Lines are split where they really meet: at shared
vertices and crossings on the same level, and wherever a line ends on another
one. Where the data says a line is a bridge or a tunnel (columns ``bridge``,
``tunnel``, ``layer`` as in OpenStreetMap), its crossings with lines on
another level are *not* junctions. Line ends that miss a line by less than
``snap_tolerance`` metres are snapped onto it. Every edge keeps its length
(m), road class, one-way flag, travel time (s) and geometry; the graph's
``report`` lists the connected components and the streets that cannot be
reached from the main network, instead of failing on them.
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

from gridkit.crs import to_crs, working_crs
from gridkit.errors import InvalidValueError
from gridkit.layers import check_layer

__all__ = [
    "road_graph",
    "RoadGraphReport",
    "WALK_SPEED_KMH",
    "DRIVE_SPEEDS_KMH",
    "NOT_DRIVABLE",
    "graph_edges",
]

log = logging.getLogger(__name__)

WALK_SPEED_KMH = 5.0
#: Default driving speeds (km/h) by OSM ``highway`` class; ``"default"`` for the rest.
DRIVE_SPEEDS_KMH: dict[str, float] = {
    "motorway": 80,
    "trunk": 60,
    "primary": 40,
    "secondary": 35,
    "tertiary": 30,
    "primary_link": 30,
    "secondary_link": 30,
    "tertiary_link": 25,
    "unclassified": 25,
    "residential": 20,
    "living_street": 10,
    "service": 15,
    "default": 20,
}
#: Classes cars cannot use (dropped in ``mode="drive"``).
NOT_DRIVABLE = frozenset(
    {
        "footway",
        "steps",
        "path",
        "pedestrian",
        "corridor",
        "elevator",
        "trail",
        "cycleway",
        "bridleway",
        "track_grade5",
        "platform",
    }
)
_NO = {"no", "false", "0", "", "none", "nan", "building_passage", "-1"}
_REVERSE = {"-1", "reverse"}
_EPS = 1e-6


@dataclass
class RoadGraphReport:
    """What :func:`road_graph` found and did.

    Attributes
    ----------
    components
        One row per connected component: ``component`` (0 = largest),
        ``nodes``, ``edges``, ``length_m``.
    unreachable
        The road rows (index of the input layer) whose edges are all outside
        the largest component, with ``component`` and ``length_m``; in the
        input CRS.
    snapped
        Line ends moved onto a line or node within the snap tolerance.
    level_crossings
        Crossings not made junctions because the lines are on different
        levels (bridge/tunnel/layer).
    dropped
        Input rows without usable geometry (zero length) or not usable in the
        mode (e.g. footways when driving).
    """

    components: pd.DataFrame
    unreachable: gpd.GeoDataFrame
    snapped: int = 0
    level_crossings: int = 0
    dropped: list = field(default_factory=list)

    @property
    def summary(self) -> str:
        n = len(self.components)
        main = self.components.iloc[0] if n else None
        text = f"{n} connected component(s)"
        if main is not None:
            text += (
                f"; the largest holds {int(main['edges'])} edges ({main['length_m'] / 1000:.1f} km)"
            )
        if len(self.unreachable):
            text += (
                f"; {len(self.unreachable)} road(s) ({self.unreachable['length_m'].sum():.0f} m) "
                "cannot be reached from it"
            )
        text += (
            f"; {self.snapped} end(s) snapped, {self.level_crossings} level crossing(s) kept apart"
        )
        return text


def _flag(values: pd.Series | None, n: int) -> np.ndarray:
    if values is None:
        return np.zeros(n, dtype=bool)
    text = values.astype("string").fillna("no").str.strip().str.lower()
    return ~text.isin(_NO).to_numpy()


def _levels(roads: pd.DataFrame) -> np.ndarray:
    """Vertical level of each road: OSM ``layer`` when given, else bridge +1 / tunnel -1 / 0."""
    n = len(roads)
    level = np.zeros(n, dtype=float)
    if "layer" in roads.columns:
        level = pd.to_numeric(roads["layer"], errors="coerce").fillna(0).to_numpy(dtype=float)
    bridge = _flag(roads.get("bridge"), n)
    tunnel = _flag(roads.get("tunnel"), n)
    level = np.where((level == 0) & bridge, 1.0, level)
    level = np.where((level == 0) & tunnel, -1.0, level)
    return level


def _speeds_for(classes: np.ndarray, speeds, mode: str) -> np.ndarray:
    if speeds is None:
        speeds = WALK_SPEED_KMH if mode == "walk" else DRIVE_SPEEDS_KMH
    if isinstance(speeds, (int, float)):
        if speeds <= 0:
            raise InvalidValueError(f"`speeds` must be positive km/h, got {speeds}")
        return np.full(len(classes), float(speeds))
    if not isinstance(speeds, Mapping):
        raise InvalidValueError(
            "`speeds` must be a number (km/h) or a mapping road_class -> km/h, "
            f"got {type(speeds).__name__}"
        )
    default = float(
        speeds.get("default", DRIVE_SPEEDS_KMH["default"] if mode == "drive" else WALK_SPEED_KMH)
    )
    out = np.array([float(speeds.get(c, default)) for c in classes])
    if (out <= 0).any():
        raise InvalidValueError("`speeds`: every speed must be positive km/h")
    return out


def _split_points(lines: np.ndarray, levels: np.ndarray, tol: float):
    """Where each line must be cut: {line: [distances along it]}; also node coordinates.

    Own code because GEOS noding (``shapely.node``) would join bridges to the
    streets under them and loses which input row a piece came from.
    """
    n = len(lines)
    cuts: list[list[float]] = [[0.0, float(shapely.length(g))] for g in lines]
    tree = shapely.STRtree(lines)
    left, right = tree.query(lines, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    starts = shapely.get_point(lines, 0)
    ends = shapely.get_point(lines, -1)
    level_crossings = 0
    if len(left):
        inter = shapely.intersection(lines[left], lines[right])
        for i, j, g in zip(left, right, inter, strict=False):
            pts = []
            for part in shapely.get_parts(g):
                if part.geom_type == "Point":
                    pts.append(part)
                elif part.geom_type == "LineString":  # overlapping lines: cut at the overlap's ends
                    pts.extend([shapely.get_point(part, 0), shapely.get_point(part, -1)])
            for p in pts:
                at_end_i = min(p.distance(starts[i]), p.distance(ends[i])) <= _EPS
                at_end_j = min(p.distance(starts[j]), p.distance(ends[j])) <= _EPS
                if levels[i] != levels[j] and not (at_end_i or at_end_j):
                    level_crossings += 1
                    continue
                cuts[i].append(float(lines[i].project(p)))
                cuts[j].append(float(lines[j].project(p)))
    # near misses: a line end within tol of another line (and not touching it)
    snapped = 0
    if tol > 0:
        ends_all = np.concatenate([starts, ends])
        owner = np.concatenate([np.arange(n), np.arange(n)])
        e_idx, l_idx = tree.query(ends_all, predicate="dwithin", distance=tol)
        for e, line in zip(e_idx, l_idx, strict=False):
            i = owner[e]
            if line == i:
                continue
            p = ends_all[e]
            if lines[line].distance(p) <= _EPS:
                continue  # already a junction
            cuts[line].append(float(lines[line].project(p)))
            snapped += 1
    return cuts, snapped, level_crossings


def _pieces(line, dists: list[float]) -> list:
    total = float(line.length)
    d = np.unique(np.clip(np.asarray(dists, dtype=float), 0.0, total))
    # merge cut points closer than 1 mm
    keep = np.concatenate([[True], np.diff(d) > 1e-3])
    d = d[keep]
    if d[-1] < total - 1e-3:
        d = np.append(d, total)
    else:
        d[-1] = total
    if len(d) <= 2:
        return [line]
    coords = np.asarray(line.coords)
    seg = np.hypot(*np.diff(coords, axis=0).T)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    cum *= total / cum[-1] if cum[-1] > 0 else 1.0
    out = []
    for a, b in zip(d[:-1], d[1:], strict=False):
        inside = (cum > a + 1e-9) & (cum < b - 1e-9)
        pa = [np.interp(a, cum, coords[:, 0]), np.interp(a, cum, coords[:, 1])]
        pb = [np.interp(b, cum, coords[:, 0]), np.interp(b, cum, coords[:, 1])]
        out.append(shapely.LineString(np.vstack([pa, coords[inside], pb])))
    return out


def road_graph(
    roads: gpd.GeoDataFrame,
    *,
    snap_tolerance: float = 1.0,
    speeds: float | Mapping[str, float] | None = None,
    respect_bridges: bool = True,
    mode: str = "walk",
    crs=None,
    class_column: str = "road_class",
) -> nx.MultiGraph:
    """Build the road network graph from a roads layer.

    Parameters
    ----------
    roads
        Road lines (LineString/MultiLineString). Optional columns:
        ``road_class`` (OSM ``highway``), ``oneway`` (yes/no/-1), ``bridge``,
        ``tunnel``, ``layer``. Never modified.
    snap_tolerance
        Line ends closer than this (m) to another line are joined to it.
    speeds
        Travel speed in km/h: one number for every road, or a mapping
        ``road_class -> km/h`` with an optional ``"default"``. Default:
        :data:`WALK_SPEED_KMH` when walking, :data:`DRIVE_SPEEDS_KMH` when driving.
    respect_bridges
        Do not join lines that cross on different levels (bridge, tunnel,
        ``layer``). ``False`` joins every crossing.
    mode
        ``"walk"`` (one-way flags are kept but not binding) or ``"drive"``
        (one-way streets bind; :data:`NOT_DRIVABLE` classes are left out).
    crs
        Metric working CRS (default: chosen by :func:`gridkit.crs.working_crs`).
    class_column
        The column holding the road class.

    Returns
    -------
    networkx.MultiGraph
        Nodes carry ``x``, ``y`` (working CRS). Edges carry ``edge_id``,
        ``road_index`` (input row label), ``length`` (m), ``road_class``,
        ``oneway`` (bool, binding in this mode: only ``from_node`` ->
        ``to_node`` may be travelled), ``from_node``, ``to_node``,
        ``travel_time`` (s) and ``geometry`` (oriented from ``from_node``).
        ``G.graph`` holds ``crs``, ``input_crs``, ``mode`` and ``report``
        (a :class:`RoadGraphReport`).

    Examples
    --------
    >>> from gridkit import load_sample
    >>> G = road_graph(load_sample()["roads"])
    >>> bool(G.graph["report"].components.iloc[0]["edges"] > 1000)
    True
    """
    if mode not in ("walk", "drive"):
        raise InvalidValueError(f"`mode` must be 'walk' or 'drive', got {mode!r}")
    if snap_tolerance < 0:
        raise InvalidValueError(f"`snap_tolerance` must be >= 0 m, got {snap_tolerance}")
    checked = check_layer(roads, "roads")
    wcrs = working_crs(checked, crs=crs)
    metric = to_crs(checked, wcrs)
    dropped: list = []
    if mode == "drive" and class_column in metric.columns:
        walk_only = (
            metric[class_column].astype("string").isin(NOT_DRIVABLE).fillna(False).to_numpy()
        )
        dropped.extend(metric.index[walk_only].tolist())
        metric = metric[~walk_only]
    parts = metric.explode(index_parts=False)
    parts = parts[parts.geometry.length > 1e-3]
    if parts.empty:
        raise InvalidValueError(
            "roads: no line with a positive length is left to build a graph from"
        )
    dropped.extend(sorted(set(metric.index) - set(parts.index)))
    lines = parts.geometry.to_numpy()
    levels = _levels(parts) if respect_bridges else np.zeros(len(parts))
    classes = (
        parts[class_column].astype("string").fillna("unknown").to_numpy()
        if class_column in parts.columns
        else np.full(len(parts), "unknown", dtype=object)
    )
    oneway_raw = (
        parts["oneway"].astype("string").fillna("no").str.strip().str.lower()
        if "oneway" in parts.columns
        else pd.Series("no", index=parts.index)
    )
    oneway = ~oneway_raw.isin(_NO).to_numpy() | oneway_raw.isin(_REVERSE).to_numpy()
    reverse = oneway_raw.isin(_REVERSE).to_numpy()
    kmh = _speeds_for(classes, speeds, mode)

    cuts, snapped, level_crossings = _split_points(lines, levels, snap_tolerance)
    pieces, owner = [], []
    for i, (line, d) in enumerate(zip(lines, cuts, strict=False)):
        got = _pieces(line, d)
        pieces.extend(got)
        owner.extend([i] * len(got))
    owner = np.asarray(owner)
    pieces = np.asarray(pieces, dtype=object)
    ends = np.vstack(
        [
            shapely.get_coordinates(shapely.get_point(pieces, 0)),
            shapely.get_coordinates(shapely.get_point(pieces, -1)),
        ]
    )
    # cluster end coordinates within the snap tolerance (at least 1 mm): the nodes
    tree = cKDTree(ends)
    pairs = tree.query_pairs(max(snap_tolerance, 1e-3), output_type="ndarray")
    m = len(ends)
    adj = (
        coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(m, m))
        if len(pairs)
        else coo_matrix((m, m))
    )
    _, label = connected_components(adj, directed=False)
    # nodes are numbered in order of first appearance: stable ids
    _, first, node_of = np.unique(label, return_index=True, return_inverse=True)
    order = np.argsort(first)
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    node_of = rank[node_of]
    xy = pd.DataFrame(ends).groupby(node_of).mean().to_numpy()
    k = len(pieces)
    u_of, v_of = node_of[:k], node_of[k:]

    G = nx.MultiGraph(crs=wcrs, input_crs=checked.crs, mode=mode)
    for nid, (x, y) in enumerate(xy):
        G.add_node(nid, x=float(x), y=float(y))
    index = parts.index.to_numpy()
    for eid in range(k):
        i = owner[eid]
        u, v = int(u_of[eid]), int(v_of[eid])
        coords = np.asarray(pieces[eid].coords)
        coords[0], coords[-1] = xy[u], xy[v]
        geom = shapely.LineString(coords)
        length = float(geom.length)
        if length <= 1e-3 and u == v:
            continue
        binding = bool(oneway[i]) and mode == "drive"
        frm, to = (v, u) if reverse[i] else (u, v)
        if frm != u:
            geom = shapely.reverse(geom)
        G.add_edge(
            frm,
            to,
            key=eid,
            edge_id=eid,
            road_index=index[i],
            length=length,
            road_class=str(classes[i]),
            oneway=binding,
            from_node=frm,
            to_node=to,
            travel_time=length / (kmh[i] / 3.6),
            geometry=geom,
        )
    G.graph["report"] = _report(G, metric, snapped, level_crossings, dropped, checked.crs)
    log.info(
        "road graph: %d nodes, %d edges; %s",
        G.number_of_nodes(),
        G.number_of_edges(),
        G.graph["report"].summary,
    )
    return G


def _report(G, metric, snapped, level_crossings, dropped, input_crs) -> RoadGraphReport:
    comps = sorted(
        nx.connected_components(G),
        key=lambda c: (-sum(d["length"] for _, _, d in G.edges(c, data=True)), min(c)),
    )
    rows, comp_of = [], {}
    for cid, nodes in enumerate(comps):
        sub = G.subgraph(nodes)
        rows.append(
            {
                "component": cid,
                "nodes": len(nodes),
                "edges": sub.number_of_edges(),
                "length_m": float(sum(d["length"] for _, _, d in sub.edges(data=True))),
            }
        )
        for n in nodes:
            comp_of[n] = cid
    components = pd.DataFrame(rows, columns=["component", "nodes", "edges", "length_m"])
    by_road: dict = {}
    for u, _, d in G.edges(data=True):
        by_road.setdefault(d["road_index"], set()).add(comp_of[u])
    lost = [r for r, cs in by_road.items() if 0 not in cs]
    unreachable = metric.loc[lost].copy()
    unreachable = unreachable[~unreachable.index.duplicated()]
    unreachable["component"] = [min(by_road[r]) for r in unreachable.index]
    unreachable["length_m"] = unreachable.geometry.length
    unreachable = unreachable.to_crs(input_crs)
    return RoadGraphReport(
        components=components,
        unreachable=unreachable,
        snapped=snapped,
        level_crossings=level_crossings,
        dropped=dropped,
    )


def graph_edges(G: nx.MultiGraph) -> gpd.GeoDataFrame:
    """The edges of a :func:`road_graph` graph as a GeoDataFrame (working CRS).

    Examples
    --------
    >>> from gridkit import load_sample
    >>> edges = graph_edges(road_graph(load_sample()["roads"]))
    >>> {"edge_id", "length", "road_class"} <= set(edges.columns)
    True
    """
    rows = [{"u": u, "v": v, **d} for u, v, d in G.edges(data=True)]
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=G.graph.get("crs"))
