"""Geometry helpers shared by coverage validation, repair and diff (private).

All functions work on numpy object arrays of shapely geometries in a metric
CRS and never modify their inputs.
"""

from __future__ import annotations

import re

import numpy as np
import shapely

from gridkit.coverage.tolerances import RESOLUTION  # noqa: E402

_POLYGONAL = (3, 6)  # shapely type ids: Polygon, MultiPolygon
_REASON_XY = re.compile(r"\[\s*([-+0-9.eE]+)\s+([-+0-9.eE]+)")


def polygonal(geom):
    """The polygonal part of a geometry (``None`` when it has none)."""
    if geom is None or geom.is_empty:
        return None
    tid = shapely.get_type_id(geom)
    if tid in _POLYGONAL:
        return geom
    if tid == 7:  # GeometryCollection
        parts = [p for p in shapely.get_parts(geom) if shapely.get_type_id(p) in _POLYGONAL]
        parts = [p for p in parts if not p.is_empty]
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else shapely.union_all(parts)
    return None


def polygon_parts(geoms: np.ndarray, *, min_width: float = RESOLUTION):
    """Split polygonal (parts of) geometries into single polygons.

    Returns
    -------
    parts, owner, width, centre
        The polygons at least ``min_width`` wide, the index of the input
        each came from, their width (diameter of the largest inscribed
        circle, metres) and a point inside each at its widest place.
    """
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) == 0:
        empty = np.array([], dtype=object)
        return empty, np.array([], dtype=int), np.array([]), empty
    parts, owner = shapely.get_parts(geoms, return_index=True)
    keep = np.isin(shapely.get_type_id(parts), _POLYGONAL) & ~shapely.is_empty(parts)
    parts, owner = parts[keep], owner[keep]
    area = shapely.area(parts)
    keep = area > 0
    parts, owner = parts[keep], owner[keep]
    # overlay output may carry zero-width spikes along nearly collinear edges: they
    # would inflate the perimeter, so widths are measured on the part snapped to a
    # 10 µm grid, which drops such spikes (and parts thinner than that)
    snapped = shapely.set_precision(parts, RESOLUTION / 100)
    width, centre = inscribed_width(snapped)
    lost = shapely.is_empty(snapped)
    width[lost] = 0.0
    keep = width >= min_width
    return parts[keep], owner[keep], width[keep], centre[keep]


def inscribed_width(polys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Width (diameter of the maximum inscribed circle) and a point inside.

    GEOS's inscribed-circle search costs about length/tolerance cells on a
    long thin strip, and its default tolerance (1/1000 of the extent) is far
    too coarse for a 5 cm sliver 1 km long. So: elongated shapes
    (perimeter²/area > 100, length > ~25 widths) get the width of the
    rectangle with the same area and perimeter, (P - sqrt(P² - 16A)) / 4:
    exact for rectangles and free; compact shapes get the inscribed circle
    with a tolerance of 1/20 of the strip estimate 2A/P.
    """
    polys = np.asarray(polys, dtype=object)
    if len(polys) == 0:
        return np.array([]), np.array([], dtype=object)
    area = shapely.area(polys)
    perim = shapely.length(polys)
    approx = np.where(perim > 0, 2 * area / np.maximum(perim, 1e-300), 0.0)
    thin = perim * perim > 100 * np.maximum(area, 1e-300)
    width = approx.copy()
    width[thin] = (perim[thin] - np.sqrt(np.maximum(perim[thin] ** 2 - 16 * area[thin], 0))) / 4
    centre = np.empty(len(polys), dtype=object)
    if thin.any():
        centre[thin] = shapely.point_on_surface(polys[thin])
    compact = ~thin & (area > 0)
    centre[area <= 0] = None
    if compact.any():
        mic = shapely.maximum_inscribed_circle(
            polys[compact], np.maximum(approx[compact] / 20.0, 1e-9)
        )
        width[compact] = 2 * shapely.length(mic)
        centre[compact] = shapely.get_point(mic, 0)
    return width, centre


def line_point(lines: np.ndarray) -> np.ndarray:
    """A point halfway along each line."""
    return shapely.line_interpolate_point(np.asarray(lines, dtype=object), 0.5, normalized=True)


def reason_point(reason: str):
    """The location GEOS gives in an ``is_valid_reason`` message, or ``None``."""
    m = _REASON_XY.search(reason or "")
    if not m:
        return None
    return shapely.Point(float(m.group(1)), float(m.group(2)))


def holes(geom) -> np.ndarray:
    """The interior rings of a (multi)polygon as polygons."""
    if geom is None or geom.is_empty:
        return np.array([], dtype=object)
    polys = shapely.get_parts(geom)
    rings = []
    for p in polys:
        if shapely.get_type_id(p) == 3:
            rings.extend(p.interiors)
    return np.array([shapely.Polygon(r) for r in rings], dtype=object)


def union_coverage(geoms: np.ndarray, suspect: np.ndarray):
    """Union of a coverage whose ``suspect`` members may overlap or mismatch.

    The members with no invalid edge form a valid coverage by themselves and
    are merged with the fast GEOS coverage union; only the suspects go
    through the general (overlay) union.
    """
    good = geoms[~suspect]
    base = shapely.coverage_union_all(good) if len(good) else shapely.Polygon()
    if not suspect.any():
        return base
    return shapely.union_all(np.append(geoms[suspect], base))


def insert_vertices(poly, pts, *, tol: float = RESOLUTION):
    """``poly`` with each point of ``pts`` within ``tol`` of its boundary made a vertex.

    Each point goes into the nearest segment of the nearest ring; points that
    already are vertices are skipped. Used to match shared edges vertex for
    vertex (moves the boundary by at most ``tol``).
    """

    def fix(ring, todo):
        coords = [tuple(c) for c in ring.coords]
        for p in todo:
            if p in coords:
                continue
            seg = shapely.distance(
                shapely.Point(p),
                shapely.linestrings(
                    np.stack([np.asarray(coords[:-1]), np.asarray(coords[1:])], axis=1)
                ),
            )
            k = int(np.argmin(seg))
            if seg[k] < tol:
                coords.insert(k + 1, p)
        return coords

    pts = [tuple(map(float, p)) for p in pts]
    parts = []
    for part in shapely.get_parts(poly):
        parts.append(
            shapely.Polygon(fix(part.exterior, pts), [fix(r, pts) for r in part.interiors])
        )
    return parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)


def match_vertices(geoms: np.ndarray, unmatched) -> np.ndarray:
    """Insert every vertex a neighbour lacks (from ``unmatched_vertices``) into it."""
    xy, _, nb, _ = unmatched
    out = np.array(geoms, dtype=object)
    for j in np.unique(nb):
        out[j] = insert_vertices(out[j], xy[nb == j])
    return out
