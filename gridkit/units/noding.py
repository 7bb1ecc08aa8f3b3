"""Noding, snapping and polygonizing the cutting lines into faces.

The first step of :func:`gridkit.units.build.build_units` (and of its dask
twin in :mod:`gridkit.scale.pipeline`): :func:`node_and_polygonize`.

The lines (roads, barriers, village boundaries) are clipped to the
jurisdiction, the jurisdiction's own boundary is added, and everything is
noded by GEOS (``shapely.union_all`` on lines splits them at every crossing
and removes duplicates). Line ends that stop short of another line (dangles)
within ``snap_tolerance`` get a short connector to the nearest line, then
``shapely.polygonize`` builds the faces, ignoring the remaining dangles.
Because the jurisdiction boundary is part of the linework, the faces tile the
jurisdiction: shared edges are the same noded lines, so the faces form a
valid polygon coverage.

Noding snap-rounds every coordinate to a grid of :data:`GRID_SIZE` (1 mm).
Without it, lines that coincide up to floating-point noise (a village
boundary along the jurisdiction outline, both reprojected from degrees)
produce faces 1e-10 m wide, and polygons with such spikes turn invalid when
reprojected. The price is that the units' outline may differ from the
jurisdiction's by half a millimetre.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import shapely

log = logging.getLogger(__name__)

GRID_SIZE = 1e-3
"""Snap-rounding grid (m) of the noded linework."""


@dataclass
class NodedFaces:
    """What :func:`node_and_polygonize` made of the cutting lines.

    Attributes
    ----------
    faces
        The polygons inside the jurisdiction (a valid coverage of it).
    lines_outside
        Input lines entirely outside the jurisdiction.
    lines_clipped
        Input lines cut at the jurisdiction boundary.
    snapped
        Dangle ends joined to a nearby line.
    pieces
        The noded linework (unit edges and dangles).
    """

    faces: np.ndarray
    lines_outside: int
    lines_clipped: int
    snapped: int
    pieces: np.ndarray


def clip_lines(lines: np.ndarray, area) -> tuple[np.ndarray, int, int]:
    """Lines clipped to ``area``: (clipped lines, number outside, number cut)."""
    if len(lines) == 0:
        return lines, 0, 0
    shapely.prepare(area)
    inside = shapely.covers(area, lines)
    touching = shapely.intersects(area, lines)
    cut = touching & ~inside
    out = lines[inside]
    if cut.any():
        clipped = shapely.intersection(lines[cut], area)
        clipped = clipped[~shapely.is_empty(clipped)]
        out = np.concatenate([out, clipped])
    return out, int((~touching).sum()), int(cut.sum())


def _line_parts(geom) -> np.ndarray:
    parts = shapely.get_parts(geom)
    return parts[np.isin(shapely.get_type_id(parts), (1, 2))]


def _dangle_connectors(pieces: np.ndarray, tolerance: float) -> np.ndarray:
    """Short lines joining each dangling end to the nearest other line within ``tolerance``."""
    if tolerance <= 0 or len(pieces) == 0:
        return np.empty(0, dtype=object)
    ends = np.concatenate([shapely.get_coordinates(shapely.get_point(pieces, 0)),
                           shapely.get_coordinates(shapely.get_point(pieces, -1))])
    owner = np.concatenate([np.arange(len(pieces)), np.arange(len(pieces))])
    _, inverse, counts = np.unique(ends, axis=0, return_inverse=True, return_counts=True)
    dangling = counts[inverse.ravel()] == 1
    if not dangling.any():
        return np.empty(0, dtype=object)
    points = shapely.points(ends[dangling])
    own = owner[dangling]
    tree = shapely.STRtree(pieces)
    p_idx, l_idx = tree.query(points, predicate="dwithin", distance=tolerance)
    other = l_idx != own[p_idx]
    p_idx, l_idx = p_idx[other], l_idx[other]
    if len(p_idx) == 0:
        return np.empty(0, dtype=object)
    dist = shapely.distance(points[p_idx], pieces[l_idx])
    # the end touches another line already (only a ring end): nothing to snap
    far = dist > 0
    p_idx, l_idx, dist = p_idx[far], l_idx[far], dist[far]
    order = np.lexsort((dist, p_idx))
    first = np.r_[True, p_idx[order][1:] != p_idx[order][:-1]]
    best = order[first]
    return shapely.shortest_line(points[p_idx[best]], pieces[l_idx[best]])


def node_and_polygonize(lines: np.ndarray, jurisdiction, *, snap_tolerance: float) -> NodedFaces:
    """Faces cut from ``jurisdiction`` (one polygon or multipolygon) by ``lines``.

    Parameters
    ----------
    lines
        The cutting lines (roads, barriers, village boundaries), in a metric CRS.
    jurisdiction
        The polygon to cut; its boundary is part of the linework.
    snap_tolerance
        Line ends closer than this (m) to another line are joined to it.

    Returns
    -------
    NodedFaces
        Coordinates snap-rounded to :data:`GRID_SIZE`.

    Examples
    --------
    >>> import numpy as np
    >>> from shapely import LineString, box
    >>> cross = np.array([LineString([(5, 0), (5, 10)]), LineString([(0, 5), (9.5, 5)])])
    >>> noded = node_and_polygonize(cross, box(0, 0, 10, 10), snap_tolerance=1.0)
    >>> len(noded.faces), noded.snapped
    (4, 1)
    """
    clipped, outside, cut = clip_lines(lines, jurisdiction)
    rings = shapely.boundary(jurisdiction)
    linework = np.concatenate([clipped, _line_parts(rings)])
    noded = shapely.union_all(linework, grid_size=GRID_SIZE)
    pieces = _line_parts(noded)
    connectors = _dangle_connectors(pieces, snap_tolerance)
    if len(connectors):
        # node the connectors with the few lines they touch, not the whole network again
        connectors = clip_lines(connectors, jurisdiction)[0]
        touched = np.zeros(len(pieces), dtype=bool)
        touched[shapely.STRtree(pieces).query(connectors, predicate="dwithin",
                                              distance=GRID_SIZE)[1]] = True
        local = shapely.union_all(np.concatenate([pieces[touched], connectors]),
                                  grid_size=GRID_SIZE)
        pieces = np.concatenate([pieces[~touched], _line_parts(local)])
    log.info("noded %d lines into %d pieces (%d snapped dangle ends)",
             len(linework), len(pieces), len(connectors))
    faces = shapely.get_parts(shapely.polygonize(pieces))
    # faces in holes of the jurisdiction are not part of it
    shapely.prepare(jurisdiction)
    keep = shapely.contains_properly(jurisdiction, shapely.point_on_surface(faces))
    return NodedFaces(faces[keep], outside, cut, len(connectors), pieces)
