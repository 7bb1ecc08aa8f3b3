"""Buildings whole by construction, and the village boundaries that cut buildings.

"A building or household is never split between two grids" (DOMAIN.md).
Grids are unions of units, so it is enough that every footprint lies in one
unit. The cutting lines (roads, barriers, village boundaries) may cross
footprints; :func:`whole_buildings` reshapes the units afterwards: the unit a
building is assigned to takes the whole footprint and its neighbours lose it.

A village (or the jurisdiction's) boundary that crosses a footprint is a
conflict in the input: a unit cannot take the part of a building in another
village without leaving its village. :func:`building_conflicts` lists them up
front; :func:`move_villages` moves the village boundary around each such
building, to the village holding most of it.

Both reshape a polygon coverage the same way (:func:`take_shapes`): the
polygons' boundaries and the footprints' outlines are noded together and
polygonized (the noding of :mod:`gridkit.units.noding`, snap-rounded to
:data:`GRID_SIZE`), each face inside a footprint goes to the footprint's owner
and the others to the polygon they lie in, and the faces are dissolved with
GEOS's coverage union. Shared edges therefore keep identical vertices: the
result is a valid coverage. (Own code: GEOS offers no "move this area from
one coverage polygon to another"; an overlay difference/union per polygon
would leave edges that coincide only up to floating-point noise.)
"""

from __future__ import annotations

import numpy as np
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from gridkit.units._slivers import dissolve_labels, segment_adjacency
from gridkit.units.assign import largest_overlap
from gridkit.units.noding import GRID_SIZE

_POLYGONAL = (3, 6)
_SNAP = 1e-3  # coverage.tolerances.RESOLUTION (units may not import coverage)
OUTSIDE = "outside the jurisdiction"
"""The "village" named in a conflict for the part of a building outside the jurisdiction."""


def real_area(geoms: np.ndarray) -> np.ndarray:
    """Area of each geometry, 0 for pieces that vanish on the :data:`GRID_SIZE` grid.

    Overlay leaves pieces 1e-10 m wide where edges coincide up to noise; they
    are not a part of a building in another unit.
    """
    area = shapely.area(geoms)
    small = np.flatnonzero(area > 0)
    if len(small):
        snapped = shapely.set_precision(geoms[small], GRID_SIZE)
        area[small[shapely.is_empty(snapped) | (shapely.area(snapped) == 0)]] = 0.0
    return area


def take_shapes(polys: np.ndarray, shapes: np.ndarray, owner: np.ndarray,
                may_take=None, *, everywhere: bool = False,
                grid_size: float = GRID_SIZE) -> np.ndarray:
    """Give each shape's area to ``polys[owner]``; the other polygons lose it.

    ``polys`` is a coverage with identical shared vertices; ``shapes`` are
    footprints and ``owner`` the polygon position each goes to.
    ``may_take(face_home, new_owner)`` (arrays of polygon positions) says
    which moves are allowed (default: all). Only polygons meeting a shape are
    touched (``everywhere``: all are noded, e.g. to snap a whole layer to the
    grid); the noding snap-rounds to ``grid_size`` (m). Returns the new
    polygons (same length and order; an empty polygon where one lost
    everything).
    """
    out = polys.copy()
    if len(shapes) == 0:
        return out
    tree = shapely.STRtree(polys)
    _, hit = tree.query(shapes, predicate="intersects")
    affected = np.arange(len(polys)) if everywhere else np.unique(hit)
    if len(hit) == 0:
        return out
    sub = polys[affected]
    lines = np.concatenate([shapely.get_parts(shapely.boundary(sub)),
                            shapely.get_parts(shapely.boundary(shapes))])
    noded = shapely.union_all(lines, grid_size=grid_size)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    pts = shapely.point_on_surface(faces)
    home = np.full(len(faces), -1, dtype=np.int64)
    f_idx, s_idx = shapely.STRtree(sub).query(pts, predicate="within")
    home[f_idx[::-1]] = s_idx[::-1]
    rest = np.flatnonzero(home < 0)
    if len(rest):  # interior point on an edge (noise), or a face outside all polygons
        best, share = largest_overlap(faces[rest], sub)
        home[rest] = np.where(share > 0.5, best, -1)
    keep = home >= 0
    label = home.copy()
    pos = np.searchsorted(affected, owner)  # every owner meets its shape: it is affected
    f_idx, b_idx = shapely.STRtree(shapes).query(pts, predicate="within")
    first = np.r_[True, f_idx[1:] != f_idx[:-1]] if len(f_idx) else np.zeros(0, bool)
    f_idx, b_idx = f_idx[first], b_idx[first]  # overlapping footprints: the first wins
    ok = keep[f_idx]
    f_idx, new = f_idx[ok], pos[b_idx[ok]]
    if may_take is not None:
        allowed = np.asarray(may_take(affected[home[f_idx]], affected[new]), dtype=bool)
        f_idx, new = f_idx[allowed], new[allowed]
    label[f_idx] = new
    merged, lab = dissolve_labels(faces[keep], label[keep], label[keep])
    out[affected] = shapely.Polygon()
    out[affected[lab]] = merged
    return out


def whole_buildings(polys: np.ndarray, village: np.ndarray, buildings: np.ndarray,
                    b_unit: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Reshape units so that each footprint lies whole in its unit (``b_unit``).

    Only moves inside a village: a footprint cut by a village boundary stays
    cut there (a conflict, see :func:`building_conflicts`). Returns
    ``(polygons, kept, buildings_made_whole)``: ``kept`` marks the input
    units that still have an area (a unit wholly inside a building assigned
    to a neighbour disappears).
    """
    kept = np.ones(len(polys), dtype=bool)
    is_poly = np.isin(shapely.get_type_id(buildings), _POLYGONAL) & (b_unit >= 0)
    idx = np.flatnonzero(is_poly)
    if len(idx) == 0:
        return polys, kept, 0
    shapes, owner = _footprint_groups(polys, buildings[idx], b_unit[idx])
    inside = shapely.covered_by(shapes, polys[owner])
    shapes, owner = shapes[~inside], owner[~inside]
    rest = shapely.difference(shapes, polys[owner], grid_size=GRID_SIZE)
    cut = real_area(rest) > 0
    if not cut.any():
        return polys, kept, 0
    # a 1 µm grid: on the units' 1 mm grid a footprint's corner a hair from a village
    # line would pull that line across by up to a millimetre; and footprints first
    # snapped to the units' corners within RESOLUTION, so that no new node lands a
    # hair from one (validation would take the two for one vertex)
    shapes, owner = _snapped(shapes[cut], polys), owner[cut]
    cut = np.ones(len(shapes), dtype=bool)
    out = take_shapes(polys, shapes, owner,
                      may_take=lambda home, new: village[home] == village[new],
                      grid_size=GRID_SIZE / 1000)
    out = _rejoin_parts(out, village, shapely.get_num_geometries(polys))
    kept = ~shapely.is_empty(out)
    return out, kept, int(cut.sum())


def _snapped(shapes: np.ndarray, polys: np.ndarray) -> np.ndarray:
    """Each footprint snapped (GEOS) to the boundaries of the units it meets, within 1 mm."""
    s_idx, u_idx = shapely.STRtree(polys).query(shapes, predicate="intersects")
    if len(s_idx) == 0:
        return shapes
    rings, ring_of = shapely.get_parts(shapely.boundary(polys[u_idx]), return_index=True)
    owner = s_idx[ring_of]
    order = np.argsort(owner, kind="stable")
    present, idx = np.unique(owner[order], return_inverse=True)
    reference = shapely.multilinestrings(rings[order], indices=idx)
    out = shapes.copy()
    snapped = shapely.snap(shapes[present], reference, _SNAP)
    ok = np.isin(shapely.get_type_id(snapped), _POLYGONAL) & shapely.is_valid(snapped)
    out[present[ok]] = snapped[ok]
    return out


def _footprint_groups(polys: np.ndarray, geoms: np.ndarray, unit: np.ndarray):
    """Footprints, overlapping ones merged, and the unit each goes to.

    Two footprints that overlap (OSM has such) cannot lie whole in two units:
    they go together to the unit holding most of their union.
    """
    left, right = shapely.STRtree(geoms).query(geoms, predicate="overlaps")
    sel = left < right
    left, right = left[sel], right[sel]
    real = real_area(shapely.intersection(geoms[left], geoms[right])) > 0
    left, right = left[real], right[real]
    if len(left) == 0:
        return geoms, unit
    n = len(geoms)
    graph = coo_matrix((np.ones(len(left)), (left, right)), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    size = np.bincount(label)
    single = size[label] == 1
    groups = np.flatnonzero(size > 1)
    merged = np.array([shapely.union_all(geoms[label == g]) for g in groups], dtype=object)
    best, _ = largest_overlap(merged, polys)
    ok = best >= 0
    return (np.concatenate([geoms[single], merged[ok]]),
            np.concatenate([unit[single], best[ok]]))


def _rejoin_parts(polys: np.ndarray, village: np.ndarray, before: np.ndarray) -> np.ndarray:
    """Polygons that a building moved away cut in pieces: the new pieces join a neighbour.

    Each polygon keeps its ``before`` (its part count before the move)
    largest parts; every other part goes to the neighbour in the same
    ``village`` with which it shares the longest border (it stays where it is
    when it has none).
    """
    multi = shapely.get_num_geometries(polys) > np.maximum(before, 1)
    if not multi.any():
        return polys
    parts, owner = shapely.get_parts(polys, return_index=True)
    area = shapely.area(parts)
    order = np.lexsort((-area, owner))
    rank = np.arange(len(parts)) - np.searchsorted(owner[order], owner[order])
    main = np.zeros(len(parts), dtype=bool)
    main[order] = rank < np.maximum(before, 1)[owner[order]]
    pairs, _ = segment_adjacency(parts)
    a, b, shared = pairs["a"].to_numpy(), pairs["b"].to_numpy(), pairs["shared"].to_numpy()
    a, b, shared = np.r_[a, b], np.r_[b, a], np.r_[shared, shared]
    ok = ~main[a] & (owner[a] != owner[b]) & (village[owner[a]] == village[owner[b]])
    a, b, shared = a[ok], b[ok], shared[ok]
    label = owner.copy()
    if len(a):
        best = np.lexsort((-shared, a))
        first = best[np.r_[True, a[best][1:] != a[best][:-1]]]
        label[a[first]] = owner[b[first]]
    out = polys.copy()
    for u in np.unique(label[np.isin(owner, np.flatnonzero(multi)) | (label != owner)]):
        out[u] = shapely.coverage_union_all(parts[label == u])
    return out


def building_conflicts(buildings: np.ndarray, labels, villages: np.ndarray | None, codes,
                       area) -> list[dict]:
    """Footprints cut by a village boundary or by the jurisdiction's outline.

    One record per building: ``building`` (its label), ``villages`` (codes,
    largest part first; :data:`OUTSIDE` for the part outside the
    jurisdiction), ``area_m2`` (the part in each), ``village`` (the position
    of the village holding most of it, ``-1`` without villages) and
    ``point`` (a point inside the footprint, working CRS).
    """
    idx = np.flatnonzero(np.isin(shapely.get_type_id(buildings), _POLYGONAL))
    if len(idx) == 0:
        return []
    geoms = buildings[idx]
    parts: dict[int, list[tuple[str, float, int]]] = {}
    home = np.full(len(geoms), -1, dtype=np.int64)  # a village each building meets
    if villages is not None and len(villages):
        bi, vi = shapely.STRtree(villages).query(geoms, predicate="intersects")
        home[bi[::-1]] = vi[::-1]
        several = np.bincount(bi, minlength=len(geoms))[bi] >= 2
        bi, vi = bi[several], vi[several]
        inter = real_area(shapely.intersection(geoms[bi], villages[vi]))
        for b, v, a in zip(bi, vi, inter, strict=True):
            if a > 0:
                parts.setdefault(int(b), []).append((str(codes[v]), float(a), int(v)))
    shapely.prepare(area)
    out_idx = np.flatnonzero(~shapely.covered_by(geoms, area) & shapely.intersects(geoms, area))
    if len(out_idx):
        outside = real_area(shapely.difference(geoms[out_idx], area))
        for b, a in zip(out_idx, outside, strict=True):
            if a > 0:
                lst = parts.setdefault(int(b), [])
                if not lst:  # the part inside: in one village (or there are none)
                    inside = real_area(np.array([shapely.intersection(geoms[b], area)]))[0]
                    v = int(home[b])
                    lst.append(("" if v < 0 else str(codes[v]), float(inside), v))
                lst.append((OUTSIDE, float(a), -1))
    records = []
    for b in sorted(parts):
        lst = sorted(parts[b], key=lambda t: -t[1])
        if len(lst) < 2:
            continue
        records.append({"building": labels[idx[b]], "position": int(idx[b]),
                        "villages": [c for c, _, _ in lst],
                        "area_m2": [round(a, 3) for _, a, _ in lst],
                        "village": lst[0][2], "point": shapely.point_on_surface(geoms[b])})
    return records


def move_villages(villages: np.ndarray, buildings: np.ndarray, conflicts: list[dict], *,
                  codes=None, everywhere: bool = False,
                  grid_size: float = GRID_SIZE) -> tuple[np.ndarray, list[dict]]:
    """Move village boundaries around the conflicting buildings.

    Each building cut by a village boundary goes whole to the village holding
    most of it (parts outside the jurisdiction stay outside); footprints that
    overlap it go along, to the village holding most of them together.
    Returns the new village polygons (same order; a valid coverage where the
    input was one) and, per building cut, ``building``, ``to`` (code),
    ``from`` (codes) and ``moved_m2``.
    """
    rows = [c for c in conflicts if c["village"] >= 0
            and any(v != OUTSIDE for v in c["villages"][1:])]
    if not rows:
        return villages, []
    pos = np.array([c["position"] for c in rows], dtype=np.int64)
    shapes, owner, group_of = _overlap_groups(villages, buildings, pos)
    out = take_shapes(villages, shapes, owner, everywhere=everywhere, grid_size=grid_size)
    out = _rejoin_parts(out, np.zeros(len(out), dtype=np.int64),
                        shapely.get_num_geometries(villages))
    moved = []
    for c, p in zip(rows, pos, strict=True):
        to = owner[group_of[p]]
        code = c["villages"][0] if codes is None else str(codes[to])
        moved.append({"building": c["building"], "to": code,
                      "from": [v for v in c["villages"] if v not in (OUTSIDE, code)],
                      "moved_m2": round(sum(a for v, a in zip(c["villages"], c["area_m2"],
                                                              strict=True)
                                            if v not in (OUTSIDE, code)), 3)})
    return out, moved


def _overlap_groups(villages: np.ndarray, buildings: np.ndarray, pos: np.ndarray):
    """The footprints at ``pos`` with those overlapping them, merged where they overlap.

    Returns ``(shapes, village of each, group of each building position)``.
    """
    polys = np.flatnonzero(np.isin(shapely.get_type_id(buildings), _POLYGONAL))
    left, right = shapely.STRtree(buildings[polys]).query(buildings[pos], predicate="overlaps")
    real = real_area(shapely.intersection(buildings[pos[left]], buildings[polys[right]])) > 0
    members = np.unique(np.r_[pos, polys[right[real]]])
    geoms = buildings[members]
    a, b = shapely.STRtree(geoms).query(geoms, predicate="overlaps")
    sel = a < b
    a, b = a[sel], b[sel]
    real = real_area(shapely.intersection(geoms[a], geoms[b])) > 0
    n = len(members)
    graph = coo_matrix((np.ones(int(real.sum())), (a[real], b[real])), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    groups = np.unique(label)
    shapes = np.array([shapely.union_all(geoms[label == g]) for g in groups], dtype=object)
    owner, _ = largest_overlap(shapes, villages)
    group_of = dict(zip(members.tolist(), label.tolist(), strict=True))
    keep = owner >= 0
    if not keep.all():  # a group in no village (outside all of them): left alone
        remap = np.cumsum(keep) - 1
        group_of = {k: int(remap[v]) for k, v in group_of.items() if keep[v]}
        shapes, owner = shapes[keep], owner[keep]
    return shapes, owner, group_of


def villages_around_buildings(villages, buildings, *, jurisdiction=None, crs=None):
    """Villages whose boundaries cut no building: each cut building goes whole to
    the village holding most of it.

    Parameters
    ----------
    villages, buildings
        GeoDataFrames (or ``PATH[:LAYER]``); villages with a unique ``code``.
    jurisdiction
        The outline (default: the villages' union); parts of buildings outside
        it stay outside.
    crs
        The metric working CRS (default: :func:`gridkit.working_crs`).

    Returns
    -------
    (villages, moved)
        The villages in their own CRS with the boundaries moved (a copy; the
        other columns unchanged) and a DataFrame with one row per building
        moved: ``building`` (its label), ``to``, ``from`` (village codes) and
        ``moved_m2``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> v = gpd.GeoDataFrame({"code": ["A", "B"]}, geometry=[box(0, 0, 50, 100),
    ...                      box(50, 0, 100, 100)], crs=32650)
    >>> b = gpd.GeoDataFrame(geometry=[box(40, 40, 55, 50)], crs=32650)
    >>> fixed, moved = villages_around_buildings(v, b)
    >>> fixed.area.round(1).tolist(), moved["to"].tolist()
    ([5050.0, 4950.0], ['A'])
    """
    import geopandas as gpd
    import pandas as pd

    from gridkit.crs import to_crs
    from gridkit.layers import load_layers

    layers = load_layers(villages=villages, buildings=buildings, jurisdiction=jurisdiction,
                         crs=crs)
    v_gdf, b_gdf = layers["villages"], layers["buildings"]
    vgeoms = np.asarray(v_gdf.geometry.values)
    area = (shapely.union_all(layers["jurisdiction"].geometry.values)
            if "jurisdiction" in layers.layers else shapely.coverage_union_all(vgeoms))
    bgeoms = np.asarray(b_gdf.geometry.values)
    found = building_conflicts(bgeoms, b_gdf.index.to_numpy(), vgeoms,
                               v_gdf["code"].astype(str).to_numpy(), area)
    # the units' 1 mm grid, as build_units(fix_villages=True) moves them (the outline may
    # move by half a millimetre)
    new, moved = move_villages(vgeoms, bgeoms, found, codes=v_gdf["code"].astype(str).to_numpy())
    out = to_crs(gpd.GeoDataFrame(v_gdf.drop(columns=v_gdf.geometry.name), geometry=new,
                                  crs=v_gdf.crs), layers.input_crs)
    table = pd.DataFrame(moved, columns=["building", "to", "from", "moved_m2"])
    return out, table
