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
jurisdiction's by half a millimetre, and that distinct nodes may end up one
grid step apart; :func:`match_edges` snaps the finished units so that no
vertex lies within a millimetre of a neighbour's edge that lacks it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import shapely

from gridkit.errors import UnitsError
from gridkit.progress import progress

log = logging.getLogger(__name__)

GRID_SIZE = 1e-3
"""Snap-rounding grid (m) of the noded linework."""

MATCH_DISTANCE = 1.01e-3
"""Vertices closer than this (m) to a neighbour's edge are snapped onto it (:func:`match_edges`).

Just above the 1 mm within which validation (``gridkit.coverage.RESOLUTION``)
takes a vertex near a neighbour's edge for one the neighbour lacks; the margin
covers the round trip through degrees (under a micrometre)."""

MAX_CROSSINGS = 20
"""Most proper crossings per line (on average, estimated on a sample) that noding accepts.

A proper crossing is two lines whose interiors meet in a point. Street
networks are noded at their junctions or run through shared vertices: the
bundled sample has 0.5 crossings per line, a synthetic street grid 0; a
layer of random segments crossing each other has hundreds, and noding it
grows with the square of its size (3,000 such segments: minutes). Above the
limit :func:`node_and_polygonize` refuses with :class:`~gridkit.errors.UnitsError`;
``max_crossings=None`` (``build_units(max_crossings=None)``) skips the check."""

CROSSING_SAMPLE = 1000
"""Lines sampled (at random, seeded) to estimate the crossing rate."""

_MIN_REFUSED = 50_000  # estimated crossings in all: fewer are cheap to node, whatever the rate


def crossing_rate(lines: np.ndarray, *, sample: int = CROSSING_SAMPLE, seed: int = 0,
                  limit: float | None = None) -> float:
    """Mean number of proper crossings per line, estimated on ``sample`` random lines.

    With ``limit``, stops as soon as the sample's crossings already exceed
    ``limit`` per sampled line (the rate returned is then that of the lines
    looked at so far, certainly above ``limit`` for the whole sample), so
    that a layer crossing everywhere is judged in a fraction of a second.

    Examples
    --------
    >>> from shapely import LineString
    >>> grid = np.array([LineString([(0, y), (10, y)]) for y in range(5)]
    ...                 + [LineString([(x, -1), (x, 5)]) for x in range(5)])
    >>> crossing_rate(grid)   # x=0 only touches the ends of the lines along y
    4.0
    """
    n = len(lines)
    if n == 0:
        return 0.0
    rng = np.random.default_rng(seed)
    picked = lines[np.sort(rng.choice(n, min(n, sample), replace=False))]
    tree = shapely.STRtree(lines)
    found, done, chunk = 0, 0, 1
    while done < len(picked):
        part = picked[done:done + chunk]
        found += len(tree.query(part, predicate="crosses")[0])
        done += len(part)
        chunk *= 2
        if limit is not None and found > limit * len(picked):
            return float(found / done)
    return float(found / len(picked))


def check_crossings(lines: np.ndarray, max_crossings: float | None) -> None:
    """Refuse (``UnitsError``) a layer whose lines cross each other far more than streets do."""
    if max_crossings is None or len(lines) == 0:
        return
    rate = crossing_rate(lines, limit=max_crossings)
    if rate <= max_crossings or rate * len(lines) / 2 < _MIN_REFUSED:
        return
    raise UnitsError(
        f"the cutting lines cross each other {rate:.0f} times per line on average (estimated "
        f"on {min(len(lines), CROSSING_SAMPLE)} of {len(lines)} lines; about "
        f"{rate * len(lines) / 2:,.0f} crossings in all): this is not a road network (streets "
        f"meet at junctions: fewer than {MAX_CROSSINGS} crossings per line), and noding it "
        "would take time and memory growing with the square of its size. Check the layer "
        "(random or unnoded lines, a wrong column or file), or pass max_crossings=None "
        "(or a higher limit; on the command line --max-crossings none) to node it anyway"
    )


def match_edges(polys: np.ndarray) -> np.ndarray:
    """The coverage ``polys`` with no vertex within :data:`MATCH_DISTANCE` of a
    neighbour's edge unless the neighbour has it too.

    Snap rounding leaves distinct nodes one grid step (1 mm) apart, e.g. where
    a road's clipped end and its crossing with the outline round to
    neighbouring grid points, or a line meets the outline at a sharp angle:
    the unit holding the extra outline vertex then has one a millimetre from
    its neighbour's edge, and validation calls that a mismatched edge. GEOS's
    coverage cleaner snaps such vertices together (vertices to vertices and
    to segments within the snapping distance) and returns a valid coverage
    with identical shared edges; a polygon nowhere wider than that collapses
    (its neighbours take its area). Returns ``(polygons, kept)``: ``kept``
    marks the input polygons still there. The polygons are returned
    unchanged when the cleaner's result would not be a valid coverage.
    """
    kept = np.ones(len(polys), dtype=bool)
    if len(polys) == 0:
        return polys, kept
    out = shapely.coverage_clean(polys, snapping_distance=MATCH_DISTANCE)
    kept = ~shapely.is_empty(out)
    out = out[kept]
    ok = (np.isin(shapely.get_type_id(out), (3, 6)).all() and shapely.is_valid(out).all()
          and bool(shapely.coverage_is_valid(out)))
    return (out, kept) if ok else (polys, np.ones(len(polys), dtype=bool))


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


def node_and_polygonize(lines: np.ndarray, jurisdiction, *, snap_tolerance: float,
                        max_crossings: float | None = MAX_CROSSINGS) -> NodedFaces:
    """Faces cut from ``jurisdiction`` (one polygon or multipolygon) by ``lines``.

    Parameters
    ----------
    lines
        The cutting lines (roads, barriers, village boundaries), in a metric CRS.
    jurisdiction
        The polygon to cut; its boundary is part of the linework.
    snap_tolerance
        Line ends closer than this (m) to another line are joined to it.
    max_crossings
        Refuse lines crossing each other more than this per line
        (:data:`MAX_CROSSINGS`, :func:`check_crossings`); ``None``: no check.

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
    steps = progress(total=4, desc="noding lines", unit="step")
    clipped, outside, cut = clip_lines(lines, jurisdiction)
    rings = shapely.boundary(jurisdiction)
    linework = np.concatenate([clipped, _line_parts(rings)])
    check_crossings(clipped, max_crossings)
    steps.update()
    noded = shapely.union_all(linework, grid_size=GRID_SIZE)
    pieces = _line_parts(noded)
    steps.update()
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
    steps.update()
    faces = shapely.get_parts(shapely.polygonize(pieces))
    steps.update()
    steps.close()
    # faces in holes of the jurisdiction are not part of it
    shapely.prepare(jurisdiction)
    keep = shapely.contains_properly(jurisdiction, shapely.point_on_surface(faces))
    return NodedFaces(faces[keep], outside, cut, len(connectors), pieces)
