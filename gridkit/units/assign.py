"""Assigning villages, buildings, entities and street length to units.

All functions work on arrays of shapely geometries in one metric CRS and
return positions (``-1`` for none), vectorised with STRtree queries. They are
the assignment rules of :func:`gridkit.units.build.build_units`, shared with
the dask pipeline (:mod:`gridkit.scale`), which applies the same rules to grids.
"""

from __future__ import annotations

import numpy as np
import shapely

from gridkit.spatial import locate_points


def _best_by(first: np.ndarray, second: np.ndarray, score: np.ndarray, n: int) -> np.ndarray:
    """For each ``first`` position, the ``second`` with the highest score (-1 if none).

    Ties go to the lowest ``second`` position, so results are deterministic.
    """
    out = np.full(n, -1, dtype=np.int64)
    if len(first) == 0:
        return out
    order = np.lexsort((-second, score, first))  # per first: best score last, low id wins ties
    last = np.r_[first[order][1:] != first[order][:-1], True]
    out[first[order][last]] = second[order][last]
    return out


def largest_overlap(polys: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Position of the target holding most of each polygon's area, and that share.

    Polygons entirely inside one target need no intersection; only the
    straddling ones are measured. Polygons touching no target get -1.
    """
    n = len(polys)
    share = np.zeros(n)
    if n == 0 or len(targets) == 0:
        return np.full(n, -1, dtype=np.int64), share
    tree = shapely.STRtree(targets)
    p_idx, t_idx = tree.query(polys, predicate="intersects")
    counts = np.bincount(p_idx, minlength=n)
    single = counts[p_idx] == 1
    score = np.ones(len(p_idx))
    multi = ~single
    if multi.any():
        inter = shapely.area(shapely.intersection(polys[p_idx[multi]], targets[t_idx[multi]]))
        score[multi] = inter
    best = _best_by(p_idx, t_idx, score, n)
    hit = np.flatnonzero(best >= 0)
    covered = shapely.covered_by(polys[hit], targets[best[hit]])
    share[hit[covered]] = 1.0
    part = hit[~covered]
    if len(part):
        inter = shapely.area(shapely.intersection(polys[part], targets[best[part]]))
        share[part] = inter / np.maximum(shapely.area(polys[part]), 1e-12)
    return best, share


def village_of(polys: np.ndarray, villages: np.ndarray):
    """The village of each polygon, the share of its area inside it, and whether
    it lies in several (overlapping) villages.

    The village holding the polygon's interior point (the first one where
    villages overlap), else the one holding most of its area, else (no overlap
    at all: a gap between villages) the nearest.
    """
    n = len(polys)
    share = np.ones(n)
    tree = shapely.STRtree(villages)
    p_idx, v_idx = tree.query(shapely.point_on_surface(polys), predicate="within")
    out = _best_by(p_idx, v_idx, np.zeros(len(p_idx)), n)
    several = np.bincount(p_idx, minlength=n) > 1
    rest = np.flatnonzero(out < 0)
    if len(rest):
        best, part = largest_overlap(polys[rest], villages)
        found = part > 0
        out[rest[found]], share[rest] = best[found], np.where(found, part, 0.0)
        still = rest[~found]
        if len(still):
            _, near = tree.query_nearest(polys[still], all_matches=False)
            out[still] = near
    return out, share, several


def assign_buildings(units: np.ndarray, buildings: np.ndarray, *,
                     within: shapely.Geometry | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Unit holding most of each building's area (points: the containing unit).

    Returns ``(unit position or -1 when outside every unit, share of the
    building's area in that unit)``; a building is never split. ``within``:
    see :func:`assign_points`.
    """
    n = len(buildings)
    out = np.full(n, -1, dtype=np.int64)
    share = np.zeros(n)
    is_point = shapely.get_type_id(buildings) == 0
    if (~is_point).any():
        pos = np.flatnonzero(~is_point)
        best, s = largest_overlap(buildings[pos], units)
        out[pos], share[pos] = best, s
    if is_point.any():
        pos = np.flatnonzero(is_point)
        out[pos] = assign_points(units, buildings[pos], within=within)
        share[pos] = (out[pos] >= 0).astype(float)
    return out, share


def assign_points(units: np.ndarray, points: np.ndarray, *,
                  within: shapely.Geometry | None = None) -> np.ndarray:
    """Unit containing each point (on a shared edge: the lowest unit position), -1 outside.

    ``within``: the area the units tile (the jurisdiction). When given, it
    alone decides inside or outside: a point it covers that no unit holds
    (on the jurisdiction's edge, where snapping the units together moved
    that edge by up to a millimetre) goes to the nearest unit, and a point
    it does not cover is outside even if a unit's snapped edge reaches it.
    """
    tree = shapely.STRtree(units)
    # prepared polygons against a tree of the points: ~1.6x faster than querying
    # each point against the polygons
    (pi, ui), (ti, tu) = locate_points(points, units, tree)
    p_idx, u_idx = np.concatenate([pi, ti]), np.concatenate([ui, tu])
    out = _best_by(p_idx, u_idx, np.zeros(len(p_idx)), len(points))
    if within is None or len(points) == 0:
        return out
    inside = shapely.covers(within, points)
    out[~inside] = -1
    lost = np.flatnonzero(inside & (out < 0))
    if len(lost):
        _, out[lost] = tree.query_nearest(points[lost], all_matches=False)
    return out


def road_pieces(pieces: np.ndarray, roads: np.ndarray, *, tolerance: float = 1e-3):
    """Midpoints and lengths of the noded pieces that are roads.

    A piece is a road when its midpoint lies within ``tolerance`` (m) of a
    road line (the noding moves lines only by floating-point noise).
    """
    mid = shapely.line_interpolate_point(pieces, 0.5, normalized=True)
    if len(roads) == 0 or len(pieces) == 0:
        return mid[:0], np.zeros(0)
    hit = np.unique(shapely.STRtree(roads).query(mid, predicate="dwithin", distance=tolerance)[0])
    return mid[hit], shapely.length(pieces[hit])


def street_length(units: np.ndarray, *, mid: np.ndarray, length: np.ndarray,
                  loose_roads: np.ndarray | None = None) -> np.ndarray:
    """Road length (m) in each unit; a road on a boundary between units counts half to each.

    ``mid`` and ``length`` describe the noded road pieces (:func:`road_pieces`),
    which are unit edges or lie inside one unit, so their midpoint tells where
    they belong. Duplicated road lines count once. ``loose_roads`` are roads
    that did not cut units (not in ``road_classes``): their length is cut by
    overlay; on a unit boundary it counts half. Along the jurisdiction
    boundary a road counts in full to the one unit there.
    """
    n = len(units)
    out = np.zeros(n)
    if n == 0:
        return out
    tree = shapely.STRtree(units)
    if len(mid):
        p_idx, u_idx = tree.query(mid, predicate="intersects")
        share = 1.0 / np.bincount(p_idx, minlength=len(mid))[p_idx]
        out += np.bincount(u_idx, weights=length[p_idx] * share, minlength=n)
    if loose_roads is not None and len(loose_roads):
        r_idx, u_idx = tree.query(loose_roads, predicate="intersects")
        closed = shapely.length(shapely.intersection(loose_roads[r_idx], units[u_idx]))
        rim = shapely.boundary(units[u_idx])
        edge = shapely.length(shapely.intersection(loose_roads[r_idx], rim))
        out += np.bincount(u_idx, weights=closed - 0.5 * edge, minlength=n)
    return out
