"""Service reach over the road network.

:func:`network_reach` answers "is every household within 1 km of a pharmacy /
an early-education site / a fire-equipment point *along the streets*?". Each
building or entity and each facility is snapped onto the nearest street
segment (the edge is split at the facility, so a facility halfway along a
street is really there), a multi-source shortest-path search runs from all
facilities at once, and every point gets its distance and nearest facility.
Points farther than ``snap_limit`` from any street, and facilities likewise,
are reported, never silently assigned.

The result also holds the share within reach per grid and per village, the
service-area polygons (the streets each facility reaches first, widened for
the map) and the uncovered points as their own layer. Distances are in
metres; with ``speed_kmh`` also in minutes.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from gridkit.crs import is_metric, to_crs, working_crs
from gridkit.errors import (
    GridkitWarning,
    InvalidValueError,
    MissingCRSError,
    RoadGraphUnavailable,
)
from gridkit.layers import check_layer
from gridkit.reach import _core as core
from gridkit.routing import network

__all__ = [
    "network_reach",
    "ReachResult",
    "reach_graph",
    "share_by_area",
    "REACH_STATUSES",
    "RoadGraphUnavailable",
]

log = logging.getLogger(__name__)

#: ``status`` of a point: within reach, reached but too far, on a part of the
#: network no facility reaches, or farther than the snap limit from any street.
REACH_STATUSES = ("reached", "out_of_reach", "unreachable", "off_network")
_DIRECTIONS = ("to_facility", "from_facility")


@dataclass
class ReachResult:
    """What :func:`network_reach` found (all layers in the input CRS).

    Attributes
    ----------
    points
        A copy of the points with ``facility`` (id of the nearest facility
        over the network, missing when none), ``snap_m`` (point to street),
        ``network_m`` (along the streets, including the facility's own access
        leg), ``distance_m`` (``snap_m + network_m``), ``minutes`` (when a
        speed was given), ``euclidean_m`` (straight line to the nearest
        facility, for comparison), ``within_reach`` and ``status`` (one of
        :data:`REACH_STATUSES`).
    facilities
        A copy of the facilities with ``facility``, ``status`` (``ok`` or
        ``off_network``), ``snap_m``, ``points_nearest`` and ``points_within``.
    uncovered
        The points not within reach (every status but ``reached``).
    service_areas
        One polygon per facility that reaches anything: the streets it
        reaches first within the budget, widened by ``area_width``.
    by_grid, by_village
        Per area: ``points``, ``reached``, ``share`` (and the weighted
        columns when a weight column exists), or ``None`` when not given.
    max_distance
        The budget in metres.
    """

    points: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    uncovered: gpd.GeoDataFrame
    service_areas: gpd.GeoDataFrame
    by_grid: gpd.GeoDataFrame | None
    by_village: gpd.GeoDataFrame | None
    max_distance: float
    info: dict = field(default_factory=dict)

    @property
    def share(self) -> float:
        """Share of all points within reach (0..1)."""
        return float(self.points["within_reach"].mean()) if len(self.points) else float("nan")

    @property
    def summary(self) -> str:
        counts = self.points["status"].value_counts()
        parts = [
            f"{counts.get(s, 0)} {s.replace('_', ' ')}" for s in REACH_STATUSES if counts.get(s, 0)
        ]
        off = int((self.facilities["status"] != "ok").sum())
        text = (
            f"{self.share:.1%} of {len(self.points)} points within {self.max_distance:.0f} m "
            f"of {len(self.facilities) - off} facilities over the network ({', '.join(parts)})"
        )
        if off:
            text += f"; {off} facilit(y/ies) off the network"
        return text


def reach_graph(roads, *, crs=None, mode: str = "walk") -> nx.Graph:
    """The road graph to search: ``roads`` itself when it is a graph, else
    :func:`gridkit.road_graph` of the roads layer in ``crs``."""
    if isinstance(roads, nx.Graph):
        return roads
    if not isinstance(roads, gpd.GeoDataFrame):
        raise InvalidValueError(
            f"`roads` must be a roads GeoDataFrame or a networkx graph from gridkit.road_graph, "
            f"got {type(roads).__name__}"
        )
    try:
        from gridkit.routing.roadgraph import road_graph
    except ImportError:  # pragma: no cover - before the road graph lands
        raise RoadGraphUnavailable(
            "`roads`: gridkit.road_graph is not available in this version; pass a networkx "
            "graph whose nodes have x/y and edges a 'length' in metres"
        ) from None
    return road_graph(roads, crs=crs, mode=mode)


def _graph_crs(G: nx.Graph, points: gpd.GeoDataFrame, crs) -> CRS:
    gcrs = G.graph.get("crs")
    if gcrs is not None:
        gcrs = CRS.from_user_input(gcrs)
        if crs is not None and CRS.from_user_input(crs) != gcrs:
            raise InvalidValueError(
                f"`crs` {CRS.from_user_input(crs).name!r} differs from the road graph's CRS "
                f"{gcrs.name!r}; leave `crs` unset or rebuild the graph in it"
            )
        return gcrs
    if crs is not None:
        return working_crs(crs=crs)
    if is_metric(points.crs):
        return CRS.from_user_input(points.crs)
    raise MissingCRSError(
        "`roads`: the graph has no CRS (G.graph['crs']) and the points are not in a metric "
        "CRS; set G.graph['crs'] or pass `crs=` (the CRS of the graph's x/y)"
    )


def _budget(max_distance, max_minutes, speed_kmh) -> float:
    if speed_kmh is not None and not speed_kmh > 0:
        raise InvalidValueError(f"`speed_kmh` must be a positive speed in km/h, got {speed_kmh!r}")
    if max_minutes is not None:
        if speed_kmh is None:
            raise InvalidValueError(
                "`max_minutes` needs `speed_kmh` (e.g. 5 for walking, 30 for driving) "
                "to turn minutes into metres"
            )
        if max_distance is not None:
            raise InvalidValueError("give `max_distance` (m) or `max_minutes`, not both")
        if not max_minutes > 0:
            raise InvalidValueError(f"`max_minutes` must be positive, got {max_minutes!r}")
        return float(max_minutes) * float(speed_kmh) * 1000.0 / 60.0
    if max_distance is None:
        raise InvalidValueError("give `max_distance` in metres (or `max_minutes` with `speed_kmh`)")
    if not max_distance > 0:
        raise InvalidValueError(f"`max_distance` must be positive metres, got {max_distance!r}")
    return float(max_distance)


def network_reach(
    points: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    roads,
    *,
    max_distance: float | None = None,
    max_minutes: float | None = None,
    speed_kmh: float | None = None,
    snap_limit: float = 100.0,
    grids: gpd.GeoDataFrame | None = None,
    villages: gpd.GeoDataFrame | None = None,
    facility_id: str | None = None,
    weight_column: str | None = "households",
    direction: str = "to_facility",
    service_areas: bool = True,
    area_width: float = 40.0,
    crs=None,
) -> ReachResult:
    """Network distance from every point to its nearest facility along the roads.

    Parameters
    ----------
    points
        Buildings (polygons or points) or entities (points). Never modified.
        A footprint is reached at its side nearest the street.
    facilities
        Facility points (pharmacies, fire-equipment points, schools...).
    roads
        A roads layer (turned into a graph by :func:`gridkit.road_graph`) or
        a ready networkx graph (nodes with ``x``/``y``, edges with
        ``length`` in metres and optional ``geometry``, ``oneway``,
        ``from_node``/``to_node``; ``G.graph["crs"]`` its CRS).
    max_distance
        The reach budget in metres, from the point's door to the facility,
        including both access legs to the street.
    max_minutes, speed_kmh
        Alternatively a budget in minutes at a speed (km/h); with
        ``speed_kmh`` the points also get ``minutes``.
    snap_limit
        Points and facilities farther than this (m) from every street are not
        snapped; they are reported (``status="off_network"``).
    grids, villages
        Areas for the share within reach (``grid_id`` / ``code`` columns).
    facility_id
        Column naming the facilities (default: the index labels).
    weight_column
        Points column used to weight the shares (e.g. households), when present.
    direction
        ``"to_facility"`` (people travel to it, default) or
        ``"from_facility"`` (a service goes out); matters on one-way streets.
    service_areas
        Build the service-area polygons (skip for speed).
    area_width
        Half-width (m) of the street corridors that make the service areas.
    crs
        Metric working CRS when ``roads`` is a layer (default: chosen by
        :func:`gridkit.crs.working_crs`).

    Returns
    -------
    ReachResult

    Examples
    --------
    >>> import gridkit as gk
    >>> s = gk.load_sample()
    >>> pharmacies = s["entities"][s["entities"]["category"] == "pharmacy"]
    >>> r = gk.network_reach(s["buildings"], pharmacies, s["roads"], max_distance=500)
    >>> bool(r.points["status"].isin(REACH_STATUSES).all())
    True
    """
    if direction not in _DIRECTIONS:
        raise InvalidValueError(f"`direction` must be one of {_DIRECTIONS}, got {direction!r}")
    if not snap_limit >= 0:
        raise InvalidValueError(f"`snap_limit` must be >= 0 metres, got {snap_limit!r}")
    budget = _budget(max_distance, max_minutes, speed_kmh)
    pts_in = check_layer(points, "buildings", name="points", id_column="")
    fac_in = check_layer(facilities, "facilities", id_column=facility_id or "")
    if facility_id is not None and facility_id not in fac_in.columns:
        raise InvalidValueError(
            f"`facility_id`: facilities have no column {facility_id!r}; "
            f"they have {list(fac_in.columns)}"
        )
    if isinstance(roads, nx.Graph):
        G = roads
        wcrs = _graph_crs(G, pts_in, crs)
    else:
        wcrs = working_crs(
            pts_in, fac_in, roads if isinstance(roads, gpd.GeoDataFrame) else None, crs=crs
        )
        G = reach_graph(roads, crs=wcrs)
    if G.number_of_edges() == 0:
        raise InvalidValueError("`roads`: the road graph has no edges")
    pts = to_crs(pts_in, wcrs)
    fac = to_crs(fac_in, wcrs)
    fac_ids = fac[facility_id].to_numpy() if facility_id else fac.index.to_numpy()

    edges = network.edge_table(G)
    fsnap = network.snap(fac.geometry.to_numpy(), edges, limit=snap_limit)
    off_fac = fsnap.edge < 0
    if off_fac.any():
        warnings.warn(
            f"facilities: {int(off_fac.sum())} facilit(y/ies) farther than "
            f"snap_limit={snap_limit:g} m from every street "
            f"(ids {np.asarray(fac_ids[off_fac][:5]).tolist()}) are left out; "
            "move them onto the network or raise `snap_limit`",
            GridkitWarning,
            stacklevel=2,
        )
    split, fnode = network.split_at(edges, fsnap.edge, fsnap.t)
    dist, site = core.nearest_sources(
        split, fnode, np.where(off_fac, 0.0, fsnap.dist), direction=direction
    )
    tree = shapely.STRtree(split.geom)
    psnap = network.snap(pts.geometry.to_numpy(), split, limit=snap_limit, tree=tree)
    net, best = core.point_costs(split, psnap, dist, site, direction=direction)

    off = psnap.edge < 0
    total = psnap.dist + net
    status = np.where(
        off,
        "off_network",
        np.where(
            ~np.isfinite(net),
            "unreachable",
            np.where(total <= budget + core.TOLERANCE, "reached", "out_of_reach"),
        ),
    )
    if off.any():
        warnings.warn(
            f"points: {int(off.sum())} point(s) farther than snap_limit={snap_limit:g} m "
            "from every street are reported as 'off_network', not assigned",
            GridkitWarning,
            stacklevel=2,
        )
    # straight-line distance to the nearest facility, to show what buffers get wrong
    on = np.flatnonzero(~off_fac)
    euclid = np.full(len(pts), np.nan)
    if len(on):
        ftree = shapely.STRtree(fac.geometry.to_numpy()[on])
        (pi, _), dd = ftree.query_nearest(
            pts.geometry.to_numpy(), return_distance=True, all_matches=False
        )
        euclid[pi] = dd

    out = pts_in.copy()
    has = best >= 0
    fac_col = pd.Series(pd.NA, index=out.index, dtype="object")
    fac_col[has] = fac_ids[best[has]]
    out["facility"] = fac_col
    out["snap_m"] = np.where(off, np.nan, psnap.dist)
    out["network_m"] = np.where(np.isfinite(net), net, np.nan)
    out["distance_m"] = np.where(np.isfinite(total), total, np.nan)
    if speed_kmh is not None:
        out["minutes"] = out["distance_m"] / (float(speed_kmh) * 1000.0 / 60.0)
    out["euclidean_m"] = euclid
    out["within_reach"] = status == "reached"
    out["status"] = status

    fac_out = fac_in.copy()
    fac_out["facility"] = fac_ids
    fac_out["status"] = np.where(off_fac, "off_network", "ok")
    fac_out["snap_m"] = np.where(off_fac, np.nan, fsnap.dist)
    nearest = np.bincount(best[has], minlength=len(fac))
    within = np.bincount(best[has & (status == "reached")], minlength=len(fac))
    fac_out["points_nearest"] = nearest
    fac_out["points_within"] = within

    if service_areas:
        areas = _service_areas(split, dist, site, budget, area_width, fac_ids, within, wcrs)
        areas = (
            areas.to_crs(pts_in.crs)
            if len(areas)
            else areas.set_crs(pts_in.crs, allow_override=True)
        )
    else:
        areas = gpd.GeoDataFrame(
            {"facility": [], "street_m": [], "points_within": []}, geometry=[], crs=pts_in.crs
        )
    weight = weight_column if weight_column and weight_column in out.columns else None
    by_grid = (
        share_by_area(out, grids, id_column="grid_id", weight_column=weight)
        if grids is not None
        else None
    )
    by_village = (
        share_by_area(out, villages, id_column="code", weight_column=weight)
        if villages is not None
        else None
    )
    result = ReachResult(
        points=out,
        facilities=fac_out,
        uncovered=out[~out["within_reach"]].copy(),
        service_areas=areas,
        by_grid=by_grid,
        by_village=by_village,
        max_distance=budget,
        info={
            "edges": len(edges.u),
            "nodes": edges.n_nodes,
            "crs": wcrs,
            "snap_limit": snap_limit,
            "direction": direction,
        },
    )
    log.info("reach: %s", result.summary)
    return result


def _service_areas(split, dist, site, budget, width, fac_ids, within, wcrs) -> gpd.GeoDataFrame:
    who, geoms = core.reached_pieces(split, dist, site, budget)
    if len(who) == 0:
        return gpd.GeoDataFrame(
            {"facility": [], "street_m": [], "points_within": []}, geometry=[], crs=wcrs
        )
    order = np.argsort(who, kind="stable")
    who, geoms = who[order], geoms[order]
    bounds = np.flatnonzero(np.diff(who)) + 1
    rows = []
    for group_w, group_g in zip(np.split(who, bounds), np.split(geoms, bounds), strict=True):
        f = int(group_w[0])
        # buffering each piece and then uniting is ~100x faster in GEOS than
        # buffering the united (noded) lines, with the same result
        area = shapely.union_all(shapely.buffer(group_g, width, quad_segs=2))
        rows.append(
            {
                "facility": fac_ids[f],
                "street_m": float(shapely.length(group_g).sum()),
                "points_within": int(within[f]),
                "geometry": area,
            }
        )
    areas = gpd.GeoDataFrame(rows, geometry="geometry", crs=wcrs)
    # corridors of neighbouring facilities overlap where their streets meet: give
    # each overlap to the facility listed first so that the areas do not overlap
    geoms = areas.geometry.to_numpy()
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    earlier = left > right
    trimmed = geoms.copy()
    for i in np.unique(left[earlier]):
        before = geoms[right[earlier & (left == i)]]
        trimmed[i] = shapely.difference(geoms[i], shapely.union_all(before))
    return areas.set_geometry(trimmed, crs=wcrs)


def share_by_area(
    points: gpd.GeoDataFrame,
    areas: gpd.GeoDataFrame,
    *,
    id_column: str,
    weight_column: str | None = None,
    flag: str = "within_reach",
) -> gpd.GeoDataFrame:
    """Count points and the share flagged ``flag`` inside each area.

    Each point counts in the area holding its representative point.

    Parameters
    ----------
    points
        Points or polygons with a boolean ``flag`` column.
    areas
        Grids or villages with ``id_column``.
    id_column
        The areas' id (``grid_id``, ``code``).
    weight_column
        A points column to sum as well (e.g. households): adds
        ``<w>``, ``<w>_reached`` and ``<w>_share``.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy of the areas with ``points``, ``reached``, ``share``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import Point, box
    >>> a = gpd.GeoDataFrame({"code": ["a"]}, geometry=[box(0, 0, 2, 2)], crs=3857)
    >>> p = gpd.GeoDataFrame({"within_reach": [True, False]},
    ...                      geometry=[Point(1, 1), Point(1.5, 1)], crs=3857)
    >>> float(share_by_area(p, a, id_column="code")["share"].iloc[0])
    0.5
    """
    if id_column not in areas.columns:
        raise InvalidValueError(
            f"areas: no {id_column!r} column (they have {list(areas.columns)}); "
            f"name the id column {id_column!r}"
        )
    if areas.crs is None or points.crs is None:
        raise MissingCRSError("points and areas need a CRS for the share per area")
    area_pts = points.geometry.representative_point().to_crs(areas.crs)
    tree = shapely.STRtree(areas.geometry.to_numpy())
    pi, ai = tree.query(area_pts.to_numpy(), predicate="within")
    # a point on a shared edge: the first area only
    first = np.unique(pi, return_index=True)[1]
    pi, ai = pi[first], ai[first]
    flags = points[flag].to_numpy(dtype=bool)
    n_areas = len(areas)
    out = areas.copy()
    out["points"] = np.bincount(ai, minlength=n_areas)
    out["reached"] = np.bincount(ai, weights=flags[pi].astype(float), minlength=n_areas).astype(int)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["share"] = out["reached"] / out["points"].where(out["points"] > 0)
    if weight_column:
        w = pd.to_numeric(points[weight_column], errors="coerce").fillna(0).to_numpy(dtype=float)
        tot = np.bincount(ai, weights=w[pi], minlength=n_areas)
        got = np.bincount(ai, weights=w[pi] * flags[pi], minlength=n_areas)
        out[weight_column] = tot
        out[f"{weight_column}_reached"] = got
        with np.errstate(invalid="ignore", divide="ignore"):
            out[f"{weight_column}_share"] = np.where(
                tot > 0, got / np.where(tot > 0, tot, 1), np.nan
            )
    return out
