"""Splitting units that are too large or too heavy, along building clusters.

Where roads are sparse a block can be far bigger or busier than a grid should
be. Such a unit is cut into ``k`` pieces:

1. Its content becomes weighted items: each building (with the entities and
   the share of the unit's area and patrol it holds), and a lattice of
   points for open land (carrying the rest of the area and patrol).
2. Recursive coordinate bisection at weighted quantiles groups the items
   into ``k`` clusters of equal weight. (Own code: a few lines, balanced by
   construction, deterministic; k-means would not balance the weights.)
3. A Voronoi diagram of all building *outline* points and lattice points,
   dissolved by cluster and clipped to the unit, gives the pieces. Cells of
   one building's outline points share a cluster, so piece boundaries run
   between buildings, not through them.
4. The split units and their neighbours are noded and polygonized again, so
   that shared edges keep identical vertices (a valid coverage).
"""

from __future__ import annotations

import logging

import numpy as np
import shapely

from gridkit._units_assign import largest_overlap
from gridkit._units_noding import GRID_SIZE
from gridkit._units_slivers import dissolve_labels

log = logging.getLogger(__name__)

_OUTLINE_POINTS = 12  # at most this many outline points per building seed the Voronoi


def bisect(xy: np.ndarray, weight: np.ndarray, k: int) -> np.ndarray:
    """Cluster labels 0..k-1 by recursive coordinate bisection at weighted quantiles."""
    labels = np.zeros(len(xy), dtype=np.int64)
    stack = [(np.arange(len(xy)), k, 0)]
    while stack:
        idx, parts, base = stack.pop()
        if parts <= 1 or len(idx) <= 1:
            labels[idx] = base
            continue
        span = xy[idx].max(axis=0) - xy[idx].min(axis=0)
        axis = int(np.argmax(span))
        order = idx[np.argsort(xy[idx, axis], kind="stable")]
        left_parts = parts // 2
        w = weight[order]
        total = w.sum()
        cum = np.cumsum(w)
        target = total * left_parts / parts
        if total > 0:
            cut = int(np.searchsorted(cum, target)) + 1
        else:
            cut = len(order) * left_parts // parts
        cut = min(max(cut, 1), len(order) - 1)
        stack.append((order[:cut], left_parts, base))
        stack.append((order[cut:], parts - left_parts, base + left_parts))
    return labels


def _lattice(poly, count: int) -> np.ndarray:
    """About ``count`` points on a square lattice inside ``poly`` (at least one)."""
    x0, y0, x1, y1 = poly.bounds
    step = max(np.sqrt(poly.area / max(count, 1)), 1e-6)
    xs = np.arange(x0 + step / 2, x1, step)
    ys = np.arange(y0 + step / 2, y1, step)
    gx, gy = np.meshgrid(xs, ys)
    pts = shapely.points(gx.ravel(), gy.ravel())
    inside = shapely.contains_properly(poly, pts) if len(pts) else np.zeros(0, bool)
    xy = np.column_stack([gx.ravel(), gy.ravel()])[inside]
    if len(xy) == 0:
        p = shapely.point_on_surface(poly)
        xy = np.array([[p.x, p.y]])
    return xy


def split_unit(poly, k: int, *, buildings: np.ndarray, building_weight: np.ndarray,
               area_weight: float, lattice_points: int = 400) -> list:
    """Cut ``poly`` into about ``k`` pieces of equal weight along building clusters.

    ``building_weight`` is each building's own weight (entities' work);
    ``area_weight`` the weight of the whole area (area and patrol terms),
    spread over the lattice points.
    """
    shapely.prepare(poly)
    lattice = _lattice(poly, lattice_points)
    b_xy = shapely.get_coordinates(shapely.centroid(buildings)).reshape(-1, 2)
    item_xy = np.vstack([b_xy, lattice])
    item_w = np.r_[building_weight, np.full(len(lattice), area_weight / len(lattice))]
    k = min(k, len(item_xy))
    if k < 2:
        return [poly]
    labels = bisect(item_xy, item_w, k)
    # Voronoi seeds: building outline points (labelled with their building's cluster)
    seeds, seed_label = [lattice], [labels[len(b_xy):]]
    if len(buildings):
        outline = shapely.segmentize(shapely.boundary(buildings), 1.0)
        coords, owner = shapely.get_coordinates(outline, return_index=True)
        # thin to at most _OUTLINE_POINTS per building, keeping each building's first point
        rank = np.arange(len(owner)) - np.searchsorted(owner, owner)
        per = np.bincount(owner, minlength=len(buildings))
        stride = np.maximum(per // _OUTLINE_POINTS, 1)
        keep = rank % stride[owner] == 0
        seeds.insert(0, coords[keep])
        seed_label.insert(0, labels[owner[keep]])
    seeds = np.vstack(seeds)
    seed_label = np.concatenate(seed_label)
    seeds, first = np.unique(seeds, axis=0, return_index=True)
    seed_label = seed_label[first]
    if len(np.unique(seed_label)) < 2:
        return [poly]
    cells = shapely.get_parts(shapely.voronoi_polygons(
        shapely.multipoints(seeds), extend_to=shapely.buffer(poly, 1.0), ordered=True))
    if len(cells) != len(seeds):  # GEOS merged near-coincident seeds: fall back to lattice only
        log.debug("voronoi returned %d cells for %d seeds", len(cells), len(seeds))
        return [poly]
    pieces = []
    for lab in np.unique(seed_label):
        group = shapely.coverage_union_all(cells[seed_label == lab])
        pieces.extend(shapely.get_parts(shapely.intersection(group, poly)))
    pieces = np.array([p for p in pieces if p.geom_type == "Polygon" and p.area > 0], dtype=object)
    return list(_absorb_fragments(pieces, expected=len(np.unique(seed_label))))


def _absorb_fragments(pieces: np.ndarray, *, expected: int) -> np.ndarray:
    """Merge the smallest pieces beyond ``expected`` into the neighbour with the longest border."""
    pieces = list(pieces)
    while len(pieces) > expected:
        areas = [p.area for p in pieces]
        i = int(np.argmin(areas))
        small = pieces.pop(i)
        shared = [shapely.length(shapely.intersection(small.boundary, p.boundary)) for p in pieces]
        j = int(np.argmax(shared))
        pieces[j] = shapely.union(pieces[j], small)
    return np.array(pieces, dtype=object)


def renode(polys: np.ndarray, affected: np.ndarray) -> np.ndarray:
    """Re-node the ``affected`` polygons (positions) so shared edges match vertex for vertex.

    Their boundaries are noded together and polygonized; each face goes back
    to the polygon holding it. Returns the new array (same length and order).
    """
    if len(affected) == 0:
        return polys
    sub = polys[affected]
    lines = shapely.get_parts(shapely.boundary(sub))
    noded = shapely.union_all(lines, grid_size=GRID_SIZE)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    tree = shapely.STRtree(sub)
    f_idx, s_idx = tree.query(shapely.point_on_surface(faces), predicate="within")
    label = np.full(len(faces), -1, dtype=np.int64)
    label[f_idx] = s_idx
    rest = np.flatnonzero(label < 0)
    if len(rest):  # faces whose interior point sits on an edge (floating-point noise)
        best, share = largest_overlap(faces[rest], sub)
        label[rest] = np.where(share > 0.5, best, -1)
    keep = label >= 0  # faces in holes of the region (outside all polygons)
    merged, lab = dissolve_labels(faces[keep], label[keep], label[keep])
    out = polys.copy()
    out[affected[lab]] = merged
    return out
