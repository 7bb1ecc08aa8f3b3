"""Checkpoints (卡点): every place where a road crosses a village or jurisdiction boundary.

During an epidemic every road entering a village gets a checkpoint or is
closed. :func:`find_checkpoints` finds those places: each point where a road
passes from one village into another, or across the jurisdiction boundary,
with the road's class and name and the villages on either side; a road that
crosses the same boundary several times is reported at each crossing. A
place where several roads meet on the boundary is one checkpoint (one post
guards the junction). A road that only touches a boundary (a dead end on it)
or runs along it without passing through is not a crossing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridkit.crs import to_crs, working_crs
from gridkit.errors import InvalidValueError
from gridkit.layers import check_layer

__all__ = ["find_checkpoints", "Checkpoints", "ROAD_RANK"]

log = logging.getLogger(__name__)

#: Road classes from most to least important (OSM ``highway``); a checkpoint
#: where several roads meet takes the most important class.
ROAD_RANK = (
    "motorway",
    "trunk",
    "primary",
    "secondary",
    "tertiary",
    "motorway_link",
    "trunk_link",
    "primary_link",
    "secondary_link",
    "tertiary_link",
    "unclassified",
    "residential",
    "living_street",
    "service",
    "road",
    "track",
    "pedestrian",
    "cycleway",
    "bridleway",
    "footway",
    "path",
    "steps",
    "corridor",
    "trail",
    "elevator",
)
_OUTSIDE = "outside"


@dataclass
class Checkpoints:
    """What :func:`find_checkpoints` found (input CRS).

    Attributes
    ----------
    points
        One row per checkpoint: ``checkpoint_id``, ``boundary_type``
        (``village`` or ``jurisdiction``), ``village_a``, ``village_b``
        (village codes, ``"outside"`` beyond the jurisdiction or the
        villages), ``road_class`` (the most important class there),
        ``road_name`` (names joined by ``"; "``), ``roads`` (how many road
        rows cross there), ``road_rows`` (their index labels).
    per_village
        One row per village: ``code``, ``name`` (when given),
        ``checkpoints`` (crossings on its boundary), ``external`` (of them
        on the jurisdiction boundary or leading outside), ``by_class``
        (e.g. ``"primary:2, footway:5"``) and the village geometry.
    """

    points: gpd.GeoDataFrame
    per_village: gpd.GeoDataFrame

    @property
    def summary(self) -> str:
        n = len(self.points)
        ext = int((self.points["boundary_type"] == "jurisdiction").sum()) if n else 0
        return (
            f"{n} checkpoint(s) where roads cross a boundary ({ext} on the jurisdiction "
            f"boundary) across {len(self.per_village)} villages"
        )


def _rank(cls: str) -> int:
    try:
        return ROAD_RANK.index(cls)
    except ValueError:
        return len(ROAD_RANK)


def find_checkpoints(
    roads: gpd.GeoDataFrame,
    villages: gpd.GeoDataFrame,
    *,
    jurisdiction: gpd.GeoDataFrame | None = None,
    class_column: str = "road_class",
    name_column: str = "name",
    merge_distance: float = 1.0,
    probe: float = 0.5,
    ends_on_boundary: bool = True,
    crs=None,
) -> Checkpoints:
    """Find every crossing of a road with a village or jurisdiction boundary.

    Parameters
    ----------
    roads
        Road lines; ``class_column`` and ``name_column`` are used when present.
    villages
        Village polygons with ``code`` (and ``name``).
    jurisdiction
        The jurisdiction outline; crossings of its boundary are
        ``boundary="jurisdiction"``. Without it, the outer edge of the
        villages counts as the jurisdiction boundary.
    merge_distance
        Crossing points closer than this (m) are one checkpoint (a junction
        on the boundary, the shared end of two road pieces).
    probe
        How far (m) along each road on both sides of a crossing to look which
        village it is in.
    ends_on_boundary
        A road that ends on the jurisdiction boundary was cut there when the
        data was clipped: count it as an entrance (``village_b="outside"``).
    crs
        Metric working CRS (default: chosen by :func:`gridkit.crs.working_crs`).

    Returns
    -------
    Checkpoints

    Examples
    --------
    >>> import gridkit as gk
    >>> s = gk.load_sample()
    >>> cp = gk.find_checkpoints(s["roads"], s["villages"], jurisdiction=s["jurisdiction"])
    >>> int(cp.per_village["checkpoints"].min()) > 0
    True
    """
    if not merge_distance >= 0 or not probe > 0:
        raise InvalidValueError(
            "`merge_distance` must be >= 0 and `probe` > 0 metres, "
            f"got {merge_distance!r}, {probe!r}"
        )
    r_in = check_layer(roads, "roads")
    v_in = check_layer(villages, "villages")
    j_in = check_layer(jurisdiction, "jurisdiction") if jurisdiction is not None else None
    wcrs = working_crs(r_in, v_in, j_in, crs=crs)
    r = to_crs(r_in, wcrs).explode(index_parts=False)
    v = to_crs(v_in, wcrs)
    j = to_crs(j_in, wcrs) if j_in is not None else None
    v_geom = v.geometry.to_numpy()
    j_geom = (
        shapely.union_all(j.geometry.to_numpy()) if j is not None else shapely.union_all(v_geom)
    )
    codes = v["code"].astype(str).to_numpy()
    j_edge = shapely.boundary(j_geom)

    # every boundary line: the villages' outlines and the jurisdiction's
    bounds = np.concatenate([shapely.boundary(v_geom), [shapely.boundary(j_geom)]])
    bounds = shapely.get_parts(shapely.line_merge(shapely.union_all(bounds)))
    lines = r.geometry.to_numpy()
    tree = shapely.STRtree(bounds)
    li, bi = tree.query(lines, predicate="intersects")
    cand_pt, cand_road, cand_lo, cand_hi = [], [], [], []
    for i, b in zip(li, bi, strict=True):
        hit = shapely.intersection(lines[i], bounds[b])
        for part in shapely.get_parts(hit):
            if part.geom_type == "Point":
                at = float(shapely.line_locate_point(lines[i], part))
                lo = hi = at
            elif part.geom_type == "LineString":
                # runs along the boundary: it crosses when it leaves on the other side
                ends = shapely.line_locate_point(lines[i], shapely.get_point(part, [0, -1]))
                lo, hi = float(ends.min()), float(ends.max())
                part = shapely.line_interpolate_point(part, 0.5, normalized=True)
            else:
                continue
            cand_pt.append(part)
            cand_road.append(i)
            cand_lo.append(lo)
            cand_hi.append(hi)
    empty = _empty(r_in.crs)
    if not cand_pt:
        return Checkpoints(empty, _per_village(v, empty).to_crs(v_in.crs))
    cand_pt = np.asarray(cand_pt, dtype=object)
    cand_road = np.asarray(cand_road)
    lo, hi = np.asarray(cand_lo), np.asarray(cand_hi)

    # which side of the boundary each road is on just before and after the point
    vtree = shapely.STRtree(v_geom)
    road = lines[cand_road]
    length = shapely.length(road)
    labels_before = _label(
        shapely.line_interpolate_point(road, np.maximum(lo - probe, 0)), vtree, codes, j_geom
    )
    labels_after = _label(
        shapely.line_interpolate_point(road, np.minimum(hi + probe, length)), vtree, codes, j_geom
    )
    # at a road end only one side exists: it pairs with the other roads at the point
    before = np.where(lo <= 1e-9, None, labels_before)
    after = np.where(hi >= length - 1e-9, None, labels_after)

    # group crossing points within merge_distance (junctions, shared road ends)
    xy = shapely.get_coordinates(cand_pt)
    group = _cluster(xy, merge_distance)
    cls = (
        r[class_column].astype("string").fillna("unknown").to_numpy()
        if class_column in r.columns
        else np.full(len(r), "unknown", dtype=object)
    )
    names = (
        r[name_column].astype("string").to_numpy()
        if name_column in r.columns
        else np.full(len(r), pd.NA, dtype=object)
    )
    index = r.index.to_numpy()
    rows = []
    for g in np.unique(group):
        members = np.flatnonzero(group == g)
        sides = [s for m in members for s in (before[m], after[m]) if s is not None]
        distinct = sorted(set(sides))
        if (
            ends_on_boundary
            and len(distinct) == 1
            and distinct[0] != _OUTSIDE
            and any(before[m] is None or after[m] is None for m in members)
            and shapely.distance(cand_pt[members[0]], j_edge) <= 0.01
        ):
            distinct.append(_OUTSIDE)
        if len(distinct) < 2:
            continue  # touches or runs along without passing through
        road_ids = sorted({int(cand_road[m]) for m in members})
        inside = [s for s in distinct if s != _OUTSIDE]
        kind = "jurisdiction" if _OUTSIDE in distinct else "village"
        a = inside[0] if inside else _OUTSIDE
        b = inside[1] if len(inside) > 1 else _OUTSIDE
        classes = sorted({str(cls[k]) for k in road_ids}, key=_rank)
        nm = sorted({str(names[k]) for k in road_ids if not pd.isna(names[k])})
        rows.append(
            {
                "boundary_type": kind,
                "village_a": a,
                "village_b": b,
                "villages": ";".join(distinct),
                "road_class": classes[0],
                "road_classes": ", ".join(classes),
                "road_name": "; ".join(nm) if nm else None,
                "roads": len({index[k] for k in road_ids}),
                "road_rows": ",".join(map(str, sorted({index[k] for k in road_ids}, key=str))),
                "geometry": shapely.Point(xy[members].mean(axis=0)),
            }
        )
    if not rows:
        return Checkpoints(empty, _per_village(v, empty).to_crs(v_in.crs))
    pts = gpd.GeoDataFrame(rows, geometry="geometry", crs=wcrs)
    pts = pts.assign(_x=pts.geometry.x, _y=-pts.geometry.y).sort_values(["_y", "_x"])
    pts = pts.drop(columns=["_x", "_y"]).reset_index(drop=True)
    pts.insert(0, "checkpoint_id", [f"CP{i + 1:04d}" for i in range(len(pts))])
    per = _per_village(v, pts)
    result = Checkpoints(pts.to_crs(r_in.crs), per.to_crs(v_in.crs))
    log.info("checkpoints: %s", result.summary)
    return result


def _label(points, vtree, codes, j_geom) -> np.ndarray:
    """Village code of each probe point; ``"outside"`` beyond the jurisdiction or
    the villages; ``None`` when the probe lies on a boundary (no side)."""
    out = np.full(len(points), _OUTSIDE, dtype=object)
    pi, vi = vtree.query(points, predicate="intersects")
    hits = np.bincount(pi, minlength=len(points))
    one = hits[pi] == 1
    out[pi[one]] = codes[vi[one]]
    out[hits > 1] = None
    on_edge = np.asarray(shapely.touches(points, j_geom))
    outside = ~np.asarray(shapely.intersects(points, j_geom))
    out[outside] = _OUTSIDE
    out[on_edge] = None
    return out


def _cluster(xy: np.ndarray, dist: float) -> np.ndarray:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    n = len(xy)
    pairs = cKDTree(xy).query_pairs(max(dist, 1e-6), output_type="ndarray")
    m = (
        coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
        if len(pairs)
        else coo_matrix((n, n))
    )
    return connected_components(m, directed=False)[1]


def _empty(crs) -> gpd.GeoDataFrame:
    cols = [
        "checkpoint_id",
        "boundary_type",
        "village_a",
        "village_b",
        "villages",
        "road_class",
        "road_classes",
        "road_name",
        "roads",
        "road_rows",
    ]
    return gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs=crs)


def _per_village(v: gpd.GeoDataFrame, pts: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    cols = ["code"] + (["name"] if "name" in v.columns else [])
    out = v[cols + [v.geometry.name]].copy()
    counts, external, by_class = [], [], []
    for code in out["code"].astype(str):
        mine = pts[(pts["village_a"] == code) | (pts["village_b"] == code)] if len(pts) else pts
        counts.append(len(mine))
        external.append(int((mine["boundary_type"] == "jurisdiction").sum()) if len(mine) else 0)
        if len(mine):
            vc = mine["road_class"].value_counts()
            vc = vc.reindex(sorted(vc.index, key=_rank))
            by_class.append(", ".join(f"{k}:{n}" for k, n in vc.items()))
        else:
            by_class.append("")
    out["checkpoints"] = counts
    out["external"] = external
    out["by_class"] = by_class
    return out
