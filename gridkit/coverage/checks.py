"""The individual coverage checks (private; see :mod:`gridkit.coverage.validate`).

Each check takes geometries already in the metric working CRS and returns a
list of issue records (dicts with ``kind``, ``grids``, ``area``, ``width``,
``point``, ``sliver``, ``detail``, ``feature``, ``geometry``). None of them
stops at the first problem.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import shapely

from gridkit.coverage.geom import (
    RESOLUTION,
    holes,
    inscribed_width,
    line_point,
    polygon_parts,
    polygonal,
    reason_point,
    union_coverage,
)
from gridkit.spatial import locate_points

log = logging.getLogger(__name__)

NAN = float("nan")


def issue(
    kind,
    grids,
    *,
    geometry=None,
    point=None,
    area=NAN,
    width=NAN,
    sliver=False,
    detail="",
    feature=None,
) -> dict:
    return {
        "kind": kind,
        "grids": [str(g) for g in grids],
        "area": float(area),
        "width": float(width),
        "point": point,
        "sliver": bool(sliver),
        "detail": detail,
        "feature": None if feature is None else str(feature),
        "geometry": geometry,
    }


def _fmt(ids, limit: int = 6) -> str:
    ids = [str(i) for i in ids]
    more = f" and {len(ids) - limit} more" if len(ids) > limit else ""
    return ", ".join(ids[:limit]) + more


# --------------------------------------------------------------------------
# grid geometries
# --------------------------------------------------------------------------
def check_geometries(geoms: np.ndarray, ids: np.ndarray):
    """Null, empty, non-polygonal remains and invalid geometries.

    Returns the issues and the usable polygonal geometries (``None`` where a
    grid has none left), invalid ones repaired with ``make_valid``.
    """
    issues = []
    out = np.empty(len(geoms), dtype=object)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    for i in np.flatnonzero(missing):
        issues.append(issue("invalid_geometry", [ids[i]], detail="grid without geometry"))
    present = ~missing
    valid = np.zeros(len(geoms), dtype=bool)
    valid[present] = shapely.is_valid(geoms[present])
    tids = np.full(len(geoms), -1)
    tids[present] = shapely.get_type_id(geoms[present])
    ok = present & valid & np.isin(tids, (3, 6))
    out[ok] = geoms[ok]
    for i in np.flatnonzero(present & ~ok):
        geom = geoms[i]
        reason = shapely.is_valid_reason(geom) if not valid[i] else f"a {geom.geom_type}"
        fixed = polygonal(shapely.make_valid(geom))
        where = reason_point(reason) or (
            fixed.representative_point() if fixed is not None else None
        )
        detail = f"{reason}; repaired with make_valid for the other checks"
        if fixed is None:
            detail = f"{reason}; nothing polygonal is left after make_valid: redraw it"
        issues.append(
            issue("invalid_geometry", [ids[i]], geometry=where, point=where, detail=detail)
        )
        out[i] = fixed
    return issues, out


def code_text(values: pd.Series) -> pd.Series:
    """Codes as strings (vectorised); ``None`` where missing or blank."""
    text = values.astype(str).str.strip()
    return text.where(values.notna() & (text != ""), None).astype(object)


def check_codes(values: pd.Series, column: str, labels: np.ndarray, geoms: np.ndarray):
    """Duplicate and missing values of an id/code column."""
    issues = []
    text = code_text(values)
    missing = text.isna().to_numpy()
    for i in np.flatnonzero(missing):
        g = geoms[i]
        pt = g.representative_point() if g is not None else None
        issues.append(
            issue(
                "missing_code",
                [labels[i]],
                geometry=g,
                point=pt,
                detail=f"grid has no {column}: give every grid one",
            )
        )
    dup = text.duplicated(keep=False).to_numpy() & ~missing
    groups = (
        pd.Series(np.flatnonzero(dup)).groupby(text[dup].to_numpy()).agg(list) if dup.any() else {}
    )
    for value, rows in groups.items() if len(groups) else []:
        parts = [geoms[r] for r in rows if geoms[r] is not None]
        geom = shapely.union_all(parts) if parts else None
        pt = parts[0].representative_point() if parts else None
        issues.append(
            issue(
                "duplicate_code",
                [value] * len(rows),
                geometry=geom,
                point=pt,
                area=geom.area if geom is not None else NAN,
                detail=f"{column} {value!r} is used by {len(rows)} grids: give each its own",
                feature=value,
            )
        )
    return issues


# --------------------------------------------------------------------------
# overlaps, edge mismatches, gaps
# --------------------------------------------------------------------------
def check_overlaps(geoms, ids, tree, edges, suspect, *, tolerance):
    """Overlaps and mismatched shared edges, from GEOS's coverage validator.

    Only the grids GEOS flags (an invalid edge) are looked at pairwise, so a
    clean coverage of any size costs one validator run.

    Returns
    -------
    overlaps, overlapped, mismatches
        The overlap issues, the (i, j) pairs that overlap, and an
        ``edge_mismatch`` issue per other flagged pair (its invalid edges),
        for the pairs :func:`check_vertices` cannot place more precisely.
    """
    issues = []
    if not suspect.any():
        return issues, set(), {}
    fi = np.flatnonzero(suspect)
    left, right = tree.query(geoms[fi], predicate="dwithin", distance=RESOLUTION)
    a, b = fi[left], right
    keep = a != b
    a, b = np.minimum(a[keep], b[keep]), np.maximum(a[keep], b[keep])
    pairs = np.unique(np.stack([a, b], axis=1), axis=0) if len(a) else np.empty((0, 2), int)
    if len(pairs) == 0:
        return issues, set(), {}
    a, b = pairs[:, 0], pairs[:, 1]
    inter = shapely.intersection(geoms[a], geoms[b])
    parts, owner, width, centre = polygon_parts(inter)
    overlapped = np.zeros(len(a), dtype=bool)
    overlapped[owner] = True
    for p, o, w, c in zip(parts, owner, width, centre, strict=False):
        issues.append(
            issue(
                "overlap",
                [ids[a[o]], ids[b[o]]],
                geometry=p,
                point=c,
                area=p.area,
                width=w,
                sliver=w < tolerance,
                detail=f"grids {ids[a[o]]} and {ids[b[o]]} overlap",
            )
        )
    # the rest: flagged edges of one grid lying on the other one, without area
    reported = {(int(x), int(y)) for x, y in pairs[overlapped]}
    mismatches: dict[tuple, dict] = {}
    rest = np.flatnonzero(~overlapped & (suspect[a] | suspect[b]))
    if len(rest):
        ra, rb = a[rest], b[rest]
        near_a = shapely.intersection(edges[ra], shapely.buffer(geoms[rb], RESOLUTION))
        near_b = shapely.intersection(edges[rb], shapely.buffer(geoms[ra], RESOLUTION))
        length = np.maximum(shapely.length(near_a), shapely.length(near_b))
        for k in np.flatnonzero(length >= 10 * RESOLUTION):
            la, lb = near_a[k], near_b[k]
            line = shapely.line_merge(shapely.union_all([la, lb]))
            off = shapely.hausdorff_distance(la, lb) if not (la.is_empty or lb.is_empty) else NAN
            mismatches[(int(ra[k]), int(rb[k]))] = issue(
                "edge_mismatch",
                [ids[ra[k]], ids[rb[k]]],
                geometry=line,
                point=line_point([la if not la.is_empty else lb])[0],
                area=0.0,
                width=off,
                sliver=True,
                detail=f"shared edge of {ids[ra[k]]} and {ids[rb[k]]} has "
                f"vertices that do not match ({length[k]:.2f} m of edge)",
            )
    return issues, reported, mismatches


def unmatched_vertices(geoms, tree):
    """Vertices lying on a neighbour's boundary (within :data:`RESOLUTION`) that it lacks.

    GEOS's validator (3.14) accepts a vertex lying exactly on a neighbour's
    straight edge (an extra vertex, or a T-junction the neighbour passes
    through), yet the edges then no longer match vertex for vertex, which
    breaks topology editing and coverage simplification. Testing every
    vertex against its neighbours would cost more than the whole validation,
    so only the vertices that can be at fault are tested: in a matched
    coverage the grids owning a vertex fill the full 360° around it, unless
    it lies on the coverage's outer boundary. Vertices whose owners' interior
    angles sum to less than 360° (the outer boundary's and the mismatched
    ones) are tested against the neighbours' boundaries.

    Returns
    -------
    xy, owner, neighbour, distance
        One row per (vertex, neighbour lacking it).
    """
    parts, part_owner = shapely.get_parts(geoms, return_index=True)  # get_rings skips multis
    parts = shapely.orient_polygons(parts)  # shells CCW, holes CW: the inside is on the left
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    ring_owner = part_owner[ring_part]
    coords, ci = shapely.get_coordinates(rings, return_index=True)
    last = np.r_[ci[1:] != ci[:-1], True]  # each ring's closing vertex
    first = np.r_[True, ci[1:] != ci[:-1]]
    # previous and next vertex along the ring (closing vertex repeats the first)
    idx = np.arange(len(coords))
    start = np.maximum.accumulate(np.where(first, idx, 0))
    end = len(coords) - 1 - np.maximum.accumulate(np.where(last[::-1], idx, 0))[::-1]
    prev_i = np.where(first, end - 1, idx - 1)
    next_i = idx + 1
    keep = ~last
    v = coords[keep]
    a = coords[next_i[keep]] - v
    b = coords[prev_i[keep]] - v
    angle = np.mod(np.arctan2(b[:, 1], b[:, 0]) - np.arctan2(a[:, 1], a[:, 0]), 2 * np.pi)
    owner = ring_owner[ci[keep]]
    del start
    table = pd.DataFrame({"x": v[:, 0], "y": v[:, 1], "g": owner, "angle": angle})
    total = table.groupby(["x", "y"], sort=False)["angle"].transform("sum").to_numpy()
    open_ = total < 2 * np.pi - 1e-9
    cand = table.loc[open_, ["x", "y", "g"]].drop_duplicates().to_numpy()
    empty = (np.empty((0, 2)), np.array([], int), np.array([], int), np.array([]))
    if len(cand) == 0:
        return empty
    pts = shapely.points(cand[:, :2])
    own = cand[:, 2].astype(int)
    left, right = tree.query(pts, predicate="dwithin", distance=RESOLUTION)
    owned = {(x, y, int(g)) for x, y, g in cand}  # a neighbour owning the vertex is fine
    keep = np.array(
        [(cand[p, 0], cand[p, 1], int(r)) not in owned for p, r in zip(left, right, strict=False)],
        dtype=bool,
    )
    left, right = left[keep], right[keep]
    dist = shapely.distance(pts[left], shapely.boundary(geoms[right]))
    keep = dist < RESOLUTION
    left, right, dist = left[keep], right[keep], dist[keep]
    return cand[left, :2], own[left], right, dist


def check_vertices(geoms, ids, tree, reported):
    """Edge mismatches GEOS does not flag: vertices a neighbour lacks (see above)."""
    xy, own, nb, dist = unmatched_vertices(geoms, tree)
    found: dict[tuple, list] = {}
    for p, o, gi, d in zip(xy, own, nb, dist, strict=False):
        pair = (int(min(o, gi)), int(max(o, gi)))
        if pair in reported:
            continue
        found.setdefault(pair, []).append((shapely.Point(p), d, o))
    issues = []
    for (ia, ib), items in found.items():
        reported.add((ia, ib))
        vs = shapely.multipoints([v for v, _, _ in items])
        owners = {ids[o] for _, _, o in items}
        issues.append(
            issue(
                "edge_mismatch",
                [ids[ia], ids[ib]],
                geometry=vs,
                point=items[0][0],
                area=0.0,
                width=max(d for _, d, _ in items),
                sliver=True,
                detail=f"shared edge of {ids[ia]} and {ids[ib]}: {len(items)} vertex(es) "
                f"of {', '.join(sorted(owners))} missing from the neighbour",
            )
        )
    return issues


def check_gaps(geoms, ids, tree, suspect, *, jurisdiction, tolerance, typical_area):
    """Gaps inside the coverage, along the jurisdiction's edge and missing grids."""
    union = union_coverage(geoms, suspect)
    if jurisdiction is not None:
        gaps = np.array([shapely.difference(jurisdiction, union)], dtype=object)
        edge = jurisdiction.boundary
    else:
        gaps = holes(union)
        edge = None
    parts, _, width, centre = polygon_parts(gaps)
    issues = []
    if len(parts) == 0:
        return issues, union
    near_l, near_r = tree.query(parts, predicate="dwithin", distance=RESOLUTION)
    on_edge = (
        shapely.dwithin(parts, edge, RESOLUTION)
        if edge is not None
        else np.zeros(len(parts), dtype=bool)
    )
    for k, (p, w, c) in enumerate(zip(parts, width, centre, strict=False)):
        neighbours = [ids[j] for j in np.unique(near_r[near_l == k])]
        where = []
        if w >= tolerance and typical_area and p.area >= 0.5 * typical_area:
            where.append("a hole the size of a grid (missing grid?)")
        where.append("along the jurisdiction's edge" if on_edge[k] else "inside the coverage")
        issues.append(
            issue(
                "gap",
                neighbours,
                geometry=p,
                point=c,
                area=p.area,
                width=w,
                sliver=w < tolerance,
                detail=f"gap {', '.join(where)}; next to {_fmt(neighbours) or 'no grid'}",
            )
        )
    return issues, union


def check_outside(geoms, ids, *, jurisdiction, tolerance):
    """Parts of grids outside the jurisdiction."""
    shapely.prepare(jurisdiction)
    inside = shapely.contains_properly(jurisdiction, geoms)
    idx = np.flatnonzero(~inside)
    if len(idx) == 0:
        return []
    parts, owner, width, centre = polygon_parts(shapely.difference(geoms[idx], jurisdiction))
    return [
        issue(
            "outside_jurisdiction",
            [ids[idx[o]]],
            geometry=p,
            point=c,
            area=p.area,
            width=w,
            sliver=w < tolerance,
            detail=f"part of grid {ids[idx[o]]} lies outside the jurisdiction",
        )
        for p, o, w, c in zip(parts, owner, width, centre, strict=False)
    ]


# --------------------------------------------------------------------------
# nesting in villages
# --------------------------------------------------------------------------
def check_nesting(geoms, ids, village_codes, vgeoms, vcodes, *, tolerance):
    """Grids that cross a village boundary or name a village they are not in.

    ``village_codes`` is the grids' own ``village_code`` (or ``None``): when
    given, a grid's home is that village, otherwise the village holding its
    representative point.
    """
    issues = []
    vtree = shapely.STRtree(vgeoms)
    code_pos = {str(c): k for k, c in enumerate(vcodes)}
    home = np.full(len(geoms), -1)
    reps = shapely.point_on_surface(geoms)
    pl, pr = vtree.query(reps, predicate="intersects")
    home[pl[::-1]] = pr[::-1]  # the first village holding the point
    spatial_home = home.copy()

    def whole_grid(i, detail):  # an issue about the whole grid i
        return issue("not_nested", [ids[i]], geometry=geoms[i], point=reps[i],
                     area=geoms[i].area, detail=detail)

    if village_codes is not None:
        for i, code in enumerate(village_codes):
            if code is None or (isinstance(code, float) and np.isnan(code)):
                continue
            k = code_pos.get(str(code))
            if k is None:
                issues.append(whole_grid(i, f"grid {ids[i]} has village_code {code!r}, which "
                                            "is not in the villages layer"))
            else:
                home[i] = k
    for i in np.flatnonzero(home < 0):
        issues.append(whole_grid(i, f"grid {ids[i]} lies in no village"))
    has = np.flatnonzero(home >= 0)
    shapely.prepare(vgeoms)
    covered = shapely.covers(vgeoms[home[has]], geoms[has])
    idx = has[~covered]
    if len(idx) == 0:
        return issues
    parts, owner, width, centre = polygon_parts(shapely.difference(geoms[idx], vgeoms[home[idx]]))
    into_l, into_r = vtree.query(centre, predicate="intersects") if len(centre) else ([], [])
    into = {int(k): str(vcodes[j]) for k, j in zip(into_l, into_r, strict=False)}
    for k, (p, o, w, c) in enumerate(zip(parts, owner, width, centre, strict=False)):
        i = idx[o]
        own = str(vcodes[home[i]])
        other = into.get(k, "no village")
        if village_codes is not None and spatial_home[i] >= 0 and spatial_home[i] != home[i]:
            where = vcodes[spatial_home[i]]
            why = f"grid {ids[i]} is coded to village {own} but lies mostly in {where}"
        else:
            why = f"grid {ids[i]} of village {own} crosses into {other}"
        issues.append(
            issue(
                "not_nested",
                [ids[i]],
                geometry=p,
                point=c,
                area=p.area,
                width=w,
                sliver=w < tolerance,
                detail=why,
            )
        )
    return issues


# --------------------------------------------------------------------------
# entities and buildings
# --------------------------------------------------------------------------
def check_points(points, labels, geoms, ids, tree, *, what="entity"):
    """Points (entities, point buildings) in no grid or in more than one."""
    issues = []
    (pi, gi), (ti, tg) = locate_points(points, geoms, tree)
    count = np.bincount(pi, minlength=len(points))
    touch = np.bincount(ti, minlength=len(points))
    unassigned_kind = "entity_unassigned" if what == "entity" else "building_unassigned"
    multiple_kind = "entity_multiple" if what == "entity" else "building_split"
    for i in np.flatnonzero((count == 0) & (touch == 0)):
        p = points[i]
        issues.append(
            issue(
                unassigned_kind,
                [],
                geometry=p,
                point=p,
                feature=labels[i],
                detail=f"{what} {labels[i]} lies in no grid",
            )
        )
    # grids listed in their input order, whatever order the spatial index found them
    order = np.lexsort((gi, pi))
    pi_s, gi_s = pi[order], gi[order]
    for i in np.flatnonzero(count >= 2):
        lo, hi = np.searchsorted(pi_s, [i, i + 1])
        grids = [ids[g] for g in gi_s[lo:hi]]
        p = points[i]
        issues.append(
            issue(
                multiple_kind,
                grids,
                geometry=p,
                point=p,
                feature=labels[i],
                detail=f"{what} {labels[i]} lies in the overlap of grids {_fmt(grids)}",
            )
        )
    for i in np.flatnonzero((count == 0) & (touch >= 2)):
        grids = [ids[g] for g in np.sort(tg[ti == i])]
        p = points[i]
        issues.append(
            issue(
                multiple_kind,
                grids,
                geometry=p,
                point=p,
                feature=labels[i],
                detail=f"{what} {labels[i]} lies exactly on the boundary of grids "
                f"{_fmt(grids)}: assign it to one",
            )
        )
    return issues


def check_buildings(bgeoms, labels, geoms, ids, tree, *, tolerance):
    """Building footprints split between grids or in none."""
    issues = []
    is_point = shapely.get_type_id(bgeoms) == 0
    if is_point.any():
        issues += check_points(
            bgeoms[is_point], labels[is_point], geoms, ids, tree, what="building"
        )
    polys = np.flatnonzero(~is_point)
    if len(polys) == 0:
        return issues
    bl, gr = tree.query(bgeoms[polys], predicate="intersects")
    count = np.bincount(bl, minlength=len(polys))
    # a single candidate grid: the building is in it (a part in a gap is a gap issue)
    multi = count[bl] >= 2
    shares = np.zeros(len(polys), dtype=int)
    pieces: dict[int, list] = {}
    if multi.any():
        ml, mr = bl[multi], gr[multi]
        inter = shapely.intersection(bgeoms[polys[ml]], geoms[mr])
        parts, owner, width, centre = polygon_parts(inter)
        for p, o, w in zip(parts, owner, width, strict=False):
            pieces.setdefault(int(ml[o]), []).append((ids[mr[o]], p.area, w))
        for k, lst in pieces.items():
            shares[k] = len({g for g, _, _ in lst})
    for k in np.flatnonzero((count == 0) | ((count >= 2) & (shares == 0))):
        b = bgeoms[polys[k]]
        issues.append(
            issue(
                "building_unassigned",
                [],
                geometry=b,
                point=b.representative_point(),
                area=b.area,
                feature=labels[polys[k]],
                detail=f"building {labels[polys[k]]} lies in no grid",
            )
        )
    for k in np.flatnonzero(shares >= 2):
        lst = pieces[k]
        by_grid: dict[str, list] = {}
        for g, a, w in lst:
            by_grid.setdefault(g, []).append((a, w))
        areas = {g: sum(a for a, _ in v) for g, v in by_grid.items()}
        main = max(areas, key=areas.get)
        minor_width = max(w for g, v in by_grid.items() if g != main for _, w in v)
        b = bgeoms[polys[k]]
        split = ", ".join(
            f"{g}: {areas[g]:.1f} m²" for g in sorted(areas, key=areas.get, reverse=True)
        )
        issues.append(
            issue(
                "building_split",
                list(areas),
                geometry=b,
                point=b.representative_point(),
                area=b.area,
                width=minor_width,
                sliver=minor_width < tolerance,
                feature=labels[polys[k]],
                detail=f"building {labels[polys[k]]} is split between grids ({split})",
            )
        )
    return issues


# --------------------------------------------------------------------------
# staff
# --------------------------------------------------------------------------
def check_staff(staff: pd.DataFrame, geoms, ids):
    issues = []
    staffed = set(staff["grid_id"].dropna().astype(str).str.strip())
    for i, gid in enumerate(ids):
        if str(gid) not in staffed:
            g = geoms[i]
            issues.append(
                issue(
                    "missing_responsible",
                    [gid],
                    geometry=g,
                    point=g.representative_point() if g is not None else None,
                    area=g.area if g is not None else NAN,
                    detail=f"grid {gid} has nobody responsible in the staff table",
                )
            )
    known = {str(g) for g in ids}
    table = staff.assign(_gid=staff["grid_id"].astype("string").str.strip())
    for gid, rows in table[~table["_gid"].isin(known)].groupby("_gid", dropna=False):
        names = ", ".join(map(str, rows["name"]))
        issues.append(
            issue(
                "staff_unknown_grid",
                [gid] if pd.notna(gid) else [],
                feature=gid,
                detail=f"staff {names} listed for grid {gid!r}, which is not in the grids",
            )
        )
    return issues


__all__ = [
    "issue",
    "check_geometries",
    "check_codes",
    "check_overlaps",
    "check_vertices",
    "unmatched_vertices",
    "check_gaps",
    "check_outside",
    "check_nesting",
    "check_points",
    "check_buildings",
    "check_staff",
    "inscribed_width",
]
