"""Splitting units that are too large or too heavy, along building clusters.

Where roads are sparse a block can be far bigger or busier than a grid should
be. Such a unit is cut into ``k`` pieces:

1. Its content becomes weighted items: each building (with the entities and
   the share of the unit's area and patrol it holds), and a lattice of
   points for open land (carrying the rest of the area and patrol).
2. Recursive coordinate bisection at weighted quantiles groups the items
   into ``k`` clusters of equal weight. (Own code: a few lines, balanced by
   construction, deterministic; k-means would not balance the weights.)
3. A Voronoi diagram of all building *outline* points and lattice points
   gives the cut lines: the ridges between seeds of different clusters.
   Seeds of one building's outline share a cluster, so piece boundaries run
   between buildings, not through them.
4. The split units and their neighbours are noded and polygonized again, so
   that shared edges keep identical vertices (a valid coverage).

Street length after a split is approximate where a cut crosses a street: the
noded road piece counts to the piece holding its midpoint.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import shapely
from scipy.spatial import QhullError, Voronoi

from gridkit.progress import progress
from gridkit.units._measure import unit_workload
from gridkit.units._slivers import dissolve_labels
from gridkit.units.assign import largest_overlap, street_length
from gridkit.units.noding import GRID_SIZE
from gridkit.workload import patrol_minutes

log = logging.getLogger(__name__)

_OUTLINE_POINTS = 8  # about this many outline points per building seed the Voronoi...
_MAX_STEP = 5.0  # ...at most this far apart (m)
_CLEARANCE = 2.0  # open-land seeds keep this far (m) from buildings


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
               area_weight: float, lattice_points: int = 200) -> list:
    """Cut ``poly`` into about ``k`` pieces of equal weight along building clusters.

    ``building_weight`` is each building's own weight (entities' work);
    ``area_weight`` the weight of the whole area (area and patrol terms),
    spread over the lattice points.
    """
    shapely.prepare(poly)
    lattice = _lattice(poly, lattice_points)
    inner = shapely.point_on_surface(buildings)
    b_xy = shapely.get_coordinates(inner).reshape(-1, 2)
    if len(buildings):  # open land only: no lattice point in or right next to a building
        near = shapely.STRtree(buildings).query(shapely.points(lattice), predicate="dwithin",
                                                distance=_CLEARANCE)[0]
        lattice = np.delete(lattice, np.unique(near), axis=0)
    item_xy = np.vstack([b_xy, lattice])
    if len(lattice):
        item_w = np.r_[building_weight, np.full(len(lattice), area_weight / len(lattice))]
    else:
        item_w = building_weight + area_weight / len(buildings)
    k = min(k, len(item_xy))
    if k < 2:
        return [poly]
    labels = bisect(item_xy, item_w, k)
    # Voronoi seeds: building outline points and an inner point, labelled with their
    # building's cluster, so that a building's inside is nearest to its own seeds
    seeds, seed_label = [lattice], [labels[len(b_xy):]]
    if len(buildings):
        rings = shapely.boundary(buildings)
        step = np.clip(shapely.length(rings) / _OUTLINE_POINTS, 0.5, _MAX_STEP)
        coords, owner = shapely.get_coordinates(shapely.segmentize(rings, step),
                                                return_index=True)
        seeds[:0] = [b_xy, coords]
        seed_label[:0] = [labels[: len(b_xy)], labels[owner]]
    seeds = np.vstack(seeds)
    seed_label = np.concatenate(seed_label)
    seeds, first = np.unique(seeds, axis=0, return_index=True)
    seed_label = seed_label[first]
    if len(np.unique(seed_label)) < 2:
        return [poly]
    # Only the Voronoi ridges between seeds of different clusters cut the unit: scipy's
    # Voronoi names the two seeds of every ridge. Four far-away dummy seeds make every
    # ridge between real seeds finite. The cut lines, noded with the unit's outline,
    # are polygonized; each face takes the cluster of its nearest seed.
    x0, y0, x1, y1 = poly.bounds
    span = max(x1 - x0, y1 - y0) * 10 + 10
    far = np.array([[x0 - span, y0 - span], [x1 + span, y0 - span],
                    [x1 + span, y1 + span], [x0 - span, y1 + span]])
    try:
        vor = Voronoi(np.vstack([seeds, far]))
    except QhullError:  # degenerate seeds (all on a line): no cut
        return [poly]
    lab = np.r_[seed_label, np.full(4, -1)]
    rp = vor.ridge_points
    rv = np.asarray(vor.ridge_vertices)
    cuts = (lab[rp[:, 0]] != lab[rp[:, 1]]) & (lab[rp] >= 0).all(1) & (rv >= 0).all(1)
    if not cuts.any():
        return [poly]
    lines = shapely.intersection(shapely.linestrings(vor.vertices[rv[cuts]]), poly)
    lines = lines[~shapely.is_empty(lines)]
    noded = shapely.union_all(np.r_[shapely.get_parts(lines), shapely.get_parts(poly.boundary)],
                              grid_size=GRID_SIZE)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    faces = faces[shapely.contains_properly(poly, shapely.point_on_surface(faces))]
    _, nearest = shapely.STRtree(shapely.points(seeds)).query_nearest(
        shapely.point_on_surface(faces), all_matches=False)
    face_label = seed_label[nearest]
    merged, _ = dissolve_labels(faces, face_label, face_label)
    pieces = shapely.get_parts(merged)
    pieces = pieces[shapely.get_type_id(pieces) == 3]
    return list(_absorb_fragments(pieces, expected=len(np.unique(face_label))))


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


def split_heavy(polys, village, state, *, streets, building_geoms, households, entities,
                 entity_geoms, policy, max_area, max_workload, passes: int = 3):
    """Split units above ``max_area`` / ``max_workload``.

    ``state`` is ``(metrics, b_unit, b_share, e_unit)`` for ``polys``; only the
    new pieces are measured again. Returns ``(polys, village, state, count)``.
    """
    metrics, b_unit, b_share, e_unit = state
    visit = None if entities is None else \
        (entities["visits_per_month"] * entities["minutes_per_visit"]).to_numpy()
    split_count = 0
    for _ in range(passes):
        need = np.zeros(len(polys))
        if max_area is not None:
            need = np.maximum(need, metrics["area_m2"].to_numpy() / max_area)
        if max_workload is not None:
            need = np.maximum(need, metrics["workload_min"].to_numpy() / max_workload)
        heavy = np.flatnonzero(need > 1.0)
        if len(heavy) == 0:
            break
        b_of = _members(b_unit, heavy)
        e_of = _members(e_unit, heavy)
        new_polys, new_village, affected = [], [], []
        # only the heavy units: few compared with all units
        for i in progress(heavy, desc="splitting units", unit="unit"):
            k = int(np.ceil(need[i]))
            area_w = (metrics["area_m2"].iat[i] / max_area if max_area else 0.0) + \
                     (metrics["patrol_min"].iat[i] / max_workload if max_workload else 0.0)
            b_in, e_in = b_of.get(i, _NONE), e_of.get(i, _NONE)
            bgeoms = building_geoms[b_in] if len(b_in) else np.empty(0, dtype=object)
            # an entity's work weighs on the building nearest to it
            bw = np.zeros(len(b_in))
            if len(e_in) and max_workload:
                ew = visit[e_in] / max_workload
                if len(b_in):
                    _, near = shapely.STRtree(bgeoms).query_nearest(entity_geoms[e_in],
                                                                    all_matches=False)
                    bw = np.bincount(near, weights=ew, minlength=len(b_in))
                else:
                    area_w += ew.sum()
            pieces = split_unit(polys[i], k, buildings=bgeoms, building_weight=bw,
                                area_weight=area_w)
            if len(pieces) > 1:
                new_polys.append(pieces)
                new_village.extend([village[i]] * len(pieces))
                affected.append(i)
                split_count += 1
        if not affected:
            break
        affected = np.asarray(affected)
        keep = np.ones(len(polys), dtype=bool)
        keep[affected] = False
        old_n = int(keep.sum())
        remap = np.full(len(polys), -1)
        remap[keep] = np.arange(old_n)
        tree = shapely.STRtree(polys)  # neighbours of the split units take part in re-noding
        _, nb = tree.query(polys[affected], predicate="intersects")
        neighbours = np.setdiff1d(np.unique(nb), affected)
        pieces = np.concatenate([np.asarray(p, dtype=object) for p in new_polys])
        polys = np.concatenate([polys[keep], pieces])
        village = np.concatenate([village[keep], np.array(new_village, dtype=village.dtype)])
        polys = renode(polys, np.r_[remap[neighbours], np.arange(old_n, len(polys))])
        # measure the pieces with the buildings and entities of the split units
        b_sel = None if b_unit is None else np.concatenate([b_of.get(i, _NONE) for i in affected])
        e_sel = None if e_unit is None else np.concatenate([e_of.get(i, _NONE) for i in affected])
        sub, sb_unit, sb_share, se_unit = unit_workload(
            polys[old_n:], streets=streets,
            building_geoms=None if b_sel is None else building_geoms[b_sel],
            households=None if (b_sel is None or households is None) else households[b_sel],
            entities=None if e_sel is None else entities.iloc[e_sel],
            entity_geoms=None if e_sel is None else entity_geoms[e_sel], policy=policy)
        metrics = pd.concat([metrics[keep], sub], ignore_index=True)
        if b_unit is not None:
            b_unit = np.where(b_unit >= 0, remap[np.maximum(b_unit, 0)], -1)
            b_unit[b_sel] = np.where(sb_unit >= 0, sb_unit + old_n, -1)
            b_share = b_share.copy()
            b_share[b_sel] = sb_share
        if e_unit is not None:
            e_unit = np.where(e_unit >= 0, remap[np.maximum(e_unit, 0)], -1)
            se_unit = _nearest_if_lost(se_unit, polys[old_n:], entity_geoms[e_sel])
            e_unit[e_sel] = np.where(se_unit >= 0, se_unit + old_n, -1)
    if split_count:  # street length is shared with neighbours: measure it again for all
        metrics["street_length_m"] = street_length(polys, **streets)
        metrics["patrol_min"] = patrol_minutes(metrics["street_length_m"].to_numpy(), policy)
        metrics["workload_min"] = metrics["visit_min"] + metrics["patrol_min"]
    return polys, village, (metrics, b_unit, b_share, e_unit), split_count


_NONE = np.empty(0, dtype=np.int64)


def _nearest_if_lost(unit: np.ndarray, pieces: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Points of a split unit that no piece holds (on its edge, moved by the
    re-noding by floating-point noise) go to the nearest piece: never lost."""
    lost = np.flatnonzero(unit < 0)
    if len(lost):
        unit = unit.copy()
        _, unit[lost] = shapely.STRtree(pieces).query_nearest(points[lost], all_matches=False)
    return unit


def _members(unit: np.ndarray | None, wanted: np.ndarray) -> dict[int, np.ndarray]:
    """Positions of the rows assigned to each of the ``wanted`` units."""
    if unit is None:
        return {}
    rows = np.flatnonzero(np.isin(unit, wanted))
    order = np.argsort(unit[rows], kind="stable")
    rows = rows[order]
    keys, starts = np.unique(unit[rows], return_index=True)
    return dict(zip(keys.tolist(), np.split(rows, starts[1:]), strict=True))
