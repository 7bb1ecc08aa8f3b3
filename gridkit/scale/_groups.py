"""Groups of villages for the per-town pipeline: territories, jobs, tasks, merging (private).

Used by :mod:`gridkit.scale.pipeline`. A *job* is what one dask task
gets (its ``payload``: only the group's rows and the columns the task needs)
plus what the client keeps to merge the answer back (row positions).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridkit.grids.core.alloc import grid_counts
from gridkit.grids.core.inputs import resolve_weight
from gridkit.grids.partition import PartitionReport, partition
from gridkit.layers import check_layer
from gridkit.units.assign import village_of
from gridkit.units.build import UNIT_COLUMNS, build_units
from gridkit.units.noding import GRID_SIZE, node_and_polygonize
from gridkit.units.plan import village_boundaries

#: Characters of the 12-digit village code that name the town (6 county + 3 town).
TOWN_DIGITS = 9

# --------------------------------------------------------------------------- territories


@dataclass
class Plan:
    codes: list[str]  # group codes, sorted (the merge order)
    regions: np.ndarray  # territory of each group (metric CRS)
    villages: list[gpd.GeoDataFrame]  # the villages of each group, as given
    pieces: list[gpd.GeoDataFrame]  # the same villages cut from the noded faces
    edges: list[np.ndarray]  # the noded village boundaries in each territory (lines)
    area: object  # the jurisdiction
    outside_m2: float  # area of the jurisdiction in no village
    overlap_m2: float  # area in several villages


def _dissolve(faces: np.ndarray):
    shape = shapely.coverage_union_all(faces)
    return shape if shapely.is_valid(shape) else shapely.union_all(faces)


def plan_groups(area, villages: gpd.GeoDataFrame, group_of_village: np.ndarray) -> Plan:
    """Cut the jurisdiction into the groups' territories.

    The village boundaries are noded with the outline exactly as
    :func:`gridkit.build_units` nodes them (1 mm snap rounding), every face
    goes to its village by the same rule (interior point, else largest
    overlap, else nearest: gaps between villages go to a neighbour), and the
    faces are dissolved per village and per group. The territories are thus
    a valid coverage of the jurisdiction whose shared edges are identical.
    Each task gets its villages as these dissolved faces, whose boundaries
    are exactly its territory's: with the villages as given, their boundaries
    lie up to half a millimetre off the snapped territory outline, and snap
    rounding the two together can drop faces where a territory's parts touch
    at a point (measured: 5,600 m² lost in one town of synthetic_county 16x).
    """
    noded = node_and_polygonize(village_boundaries(villages), area, snap_tolerance=0.0)
    faces = noded.faces
    v_geoms = np.asarray(villages.geometry.values)
    village, share, several = village_of(faces, v_geoms)
    face_area = shapely.area(faces)
    order = np.argsort(village, kind="stable")
    bounds = np.searchsorted(village[order], np.arange(len(villages) + 1))
    has = np.diff(bounds) > 0
    pieces = np.empty(len(villages), dtype=object)
    for v in np.flatnonzero(has):
        pieces[v] = _dissolve(faces[order[bounds[v]:bounds[v + 1]]])
    face_group = group_of_village[village]
    codes, regions, members, cut, edges = [], [], [], [], []
    for code in sorted(set(group_of_village)):
        mine = faces[face_group == code]
        if len(mine) == 0:  # its villages lie outside the jurisdiction (or under others)
            continue
        codes.append(code)
        regions.append(_dissolve(mine))
        edges.append(shapely.get_parts(shapely.boundary(mine)))
        in_group = group_of_village == code
        members.append(villages.loc[in_group, ["code", "geometry"]])
        keep = in_group & has
        cut.append(gpd.GeoDataFrame({"code": villages["code"].to_numpy()[keep]},
                                    geometry=pieces[keep], crs=villages.crs))
    return Plan(codes=codes, regions=np.asarray(regions, dtype=object), villages=members,
                pieces=cut, edges=edges, area=area,
                outside_m2=float((face_area * (1 - share)).sum()),
                overlap_m2=float(face_area[several].sum()))


class _Router:
    """Which groups a feature touches, queried against the village pieces.

    The pieces (a village's faces) are much smaller than a town's territory,
    so the intersects tests are cheaper than against the territories.
    """

    def __init__(self, plan: Plan):
        geoms = [np.asarray(p.geometry.values) for p in plan.pieces]
        self.group = np.concatenate([np.full(len(g), i) for i, g in enumerate(geoms)])
        self.tree = shapely.STRtree(np.concatenate(geoms))
        self.n = len(plan.codes)

    def pairs(self, geoms) -> tuple[np.ndarray, np.ndarray]:
        """Unique (row, group) pairs, sorted by group then row."""
        rows, piece = self.tree.query(geoms, predicate="intersects")
        key = np.unique(self.group[piece].astype(np.int64) * len(geoms) + rows)
        return key % len(geoms), key // len(geoms)

    def rows_by_group(self, geoms) -> list[np.ndarray]:
        """Row positions of ``geoms`` touching each group's territory."""
        if geoms is None or len(geoms) == 0:
            return [np.empty(0, dtype=np.int64) for _ in range(self.n)]
        rows, grp = self.pairs(geoms)
        bounds = np.searchsorted(grp, np.arange(self.n + 1))
        return [rows[bounds[i]:bounds[i + 1]] for i in range(self.n)]


# --------------------------------------------------------------------------- seams

#: Vertices this close (m) are one vertex when the groups' units are stitched.
SEAM_SNAP = 2 * GRID_SIZE


def stitch_seams(geoms: np.ndarray, n_groups: int) -> np.ndarray:
    """Make the units of neighbouring groups match exactly along the seams.

    Each task snap-rounds its own noding to the 1 mm grid, so a road that
    ends on a seam (or a dangle snapped onto it) puts a vertex into one
    side's edge only: sub-millimetre gaps and overlaps, and edges whose
    vertices do not match. GEOS's coverage cleaner (``shapely.coverage_clean``,
    GEOS 3.14) snaps vertices closer than :data:`SEAM_SNAP` together and nodes
    the edges. It runs on all units: cleaning only those along the seams
    changes the edges they share with the others (measured on
    synthetic_county: a few mismatches left); it costs about 0.2 ms per unit
    (11 s for the 52,000 units of synthetic_county 16x, on the client).
    """
    if n_groups < 2 or len(geoms) == 0:
        return geoms
    return _clean(geoms)


def _clean(geoms: np.ndarray) -> np.ndarray:
    cleaned = shapely.coverage_clean(geoms, gap_width=SEAM_SNAP, snapping_distance=SEAM_SNAP)
    bad = shapely.is_empty(cleaned) | ~np.isin(shapely.get_type_id(cleaned), (3, 6))
    cleaned[bad] = geoms[bad]  # never lose a unit to the cleaner
    return cleaned


# --------------------------------------------------------------------------- units


@dataclass
class Job:
    code: str
    payload: dict
    b_rows: np.ndarray | None = None
    e_rows: np.ndarray | None = None
    rows: np.ndarray | None = None  # partition: unit row positions


def _columns(gdf, wanted) -> list[str]:
    return [c for c in wanted if c in gdf.columns] + [gdf.geometry.name]


def _placeholder_road(roads: gpd.GeoDataFrame, region, options: dict) -> gpd.GeoDataFrame:
    """One short road just outside ``region`` for a group without any cutting road.

    build_units refuses a roads layer with no cutting road; a village with no
    road is legitimate, so the task gets a stand-in that lies outside its
    territory: it is clipped away (no cut, no street length).
    """
    x0, y0, _, _ = region.bounds
    row = {c: [None] for c in roads.columns if c != roads.geometry.name}
    classes = options.get("road_classes")
    if classes is not None:
        row["road_class"] = [classes if isinstance(classes, str) else sorted(classes)[0]]
    if "tunnel" in row:
        row["tunnel"] = ["no"]
    line = shapely.LineString([(x0 - 20.0, y0 - 20.0), (x0 - 10.0, y0 - 20.0)])
    stub = gpd.GeoDataFrame(row, geometry=[line], crs=roads.crs)
    return pd.concat([roads, stub], ignore_index=True) if len(roads) else stub


def unit_jobs(plan: Plan, *, road, cutting, barriers, buildings, entities, crs,
              options: dict) -> list[Job]:
    """One job per group: its territory and the features touching it."""
    n = len(plan.codes)
    router = _Router(plan)
    road = road[_columns(road, ("road_class", "tunnel"))]
    road_rows = router.rows_by_group(road.geometry.values)
    bar_rows = router.rows_by_group(None if barriers is None else barriers.geometry.values)
    b_rows = router.rows_by_group(None if buildings is None else buildings.geometry.values)
    e_owner = None
    if entities is not None:
        # an entity goes to one group only: the first (by code) whose territory holds it
        rows, grp = router.pairs(entities.geometry.values)
        e_owner = np.full(len(entities), n, dtype=np.int64)
        np.minimum.at(e_owner, rows, grp)
    crs_text = crs.to_wkt()
    jobs = []
    for i, code in enumerate(plan.codes):
        # one group: its territory is the jurisdiction itself (so that the result is
        # exactly build_units'), not the same area re-noded along the village boundaries
        region = plan.regions[i] if n > 1 else plan.area
        villages = plan.pieces[i] if n > 1 else plan.villages[i]
        r = road.iloc[road_rows[i]]
        if not cutting[road_rows[i]].any():
            r = _placeholder_road(r, region, options)
        payload = {
            "code": code,
            "jurisdiction": gpd.GeoDataFrame({"code": [code]}, geometry=[region], crs=crs),
            "villages": villages,
            "roads": r,
            "barriers": _task_barriers(barriers, bar_rows[i], plan.edges[i] if n > 1 else None,
                                       crs),
            "buildings": None, "entities": None, "crs": crs_text, "options": options,
        }
        job = Job(code=code, payload=payload)
        if buildings is not None:
            job.b_rows = b_rows[i]
            if len(b_rows[i]):
                payload["buildings"] = buildings.iloc[b_rows[i]][_columns(buildings,
                                                                          ("households",))]
        if entities is not None:
            job.e_rows = np.flatnonzero(e_owner == i)
            if len(job.e_rows):
                payload["entities"] = entities.iloc[job.e_rows]
        jobs.append(job)
    return jobs


def _task_barriers(barriers, rows, edges, crs):
    """The group's barriers, plus the noded village boundaries when it has a territory.

    A task's villages are its faces dissolved per village: a face that lies in
    no village (a gap) would otherwise lose the boundary that cuts it off, as
    build_units cuts it. Barriers only cut: they count for no length.
    """
    parts = []
    if barriers is not None and len(rows):
        parts.append(np.asarray(barriers.geometry.values)[rows])
    if edges is not None:
        parts.append(edges)
    if not parts:
        return None
    return gpd.GeoDataFrame(geometry=np.concatenate(parts), crs=crs)


def _caught(caught, code: str, *, skip=()) -> list[str]:
    out = []
    for w in caught:
        text = str(w.message)
        if not any(text.startswith(s) for s in skip):
            out.append(f"{code}: {text}")
    return out


def run_unit_job(payload: dict) -> dict:
    """The dask task: build_units on one group; positions instead of whole frames back."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = build_units(payload["roads"], payload["jurisdiction"],
                          villages=payload["villages"], barriers=payload["barriers"],
                          buildings=payload["buildings"], entities=payload["entities"],
                          crs=payload["crs"], **payload["options"])
    out = {"units": res.units, "report": res.report,
           # the client warns once for the whole input about classes, outside features
           "warnings": _caught(caught, payload["code"],
                               skip=("roads: road class(es)", "units: the units do not tile"))}
    out["warnings"] = [w for w in out["warnings"] if "lie outside the jurisdiction" not in w]
    if res.buildings is not None:
        out["b_unit"] = res.buildings["unit_id"].fillna(-1).to_numpy(np.int64)
        out["b_share"] = res.buildings["unit_share"].to_numpy(float)
    if res.entities is not None:
        out["e_unit"] = res.entities["unit_id"].fillna(-1).to_numpy(np.int64)
    return out


_SUMMED = ("faces", "slivers_merged", "slivers_left", "units_split", "units_over_limit",
           "snapped_ends", "area_in_several_villages_m2", "area_outside_villages_m2")


def _outside(gdf, unit, layer):
    rows = gdf[unit < 0]
    return gpd.GeoDataFrame({"layer": layer, "index": rows.index.astype(str)},
                            geometry=rows.geometry.values, crs=gdf.crs)


def merge_units(jobs: list[Job], results: list[dict], *, area, crs, buildings, entities,
                policy, classify):
    """Concatenate the groups' units (ids renumbered) and settle buildings and entities."""
    offsets = np.cumsum([0] + [len(r["units"]) for r in results])
    parts = []
    for off, res in zip(offsets[:-1], results, strict=True):
        u = res["units"].copy()
        u["unit_id"] = u["unit_id"].to_numpy(np.int64) + off
        parts.append(u)
    units = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=crs)
    n = len(units)
    if len(results) > 1:
        geoms = stitch_seams(np.asarray(units.geometry.values), len(results))
        units = units.set_geometry(geoms, crs=crs)
        units["area_m2"] = shapely.area(geoms)
    report: dict = {k: 0 for k in _SUMMED}
    for res in results:
        for key in _SUMMED:
            report[key] += res["report"].get(key, 0)
    report["warnings"] = [w for res in results for w in res["warnings"]]
    unassigned = []
    b_out = e_out = None
    if buildings is not None:
        # a straddling building was measured by every group it touches: keep the
        # unit holding most of its area (the first group's on a tie), as build_units does
        best = np.full(len(buildings), -1, dtype=np.int64)
        share = np.full(len(buildings), -1.0)
        seen = np.zeros(len(buildings), dtype=np.int64)
        for off, job, res in zip(offsets[:-1], jobs, results, strict=True):
            rows = job.b_rows
            if rows is None or len(rows) == 0:
                continue
            local, s = res["b_unit"], res["b_share"]
            seen[rows] += local >= 0
            better = (local >= 0) & (s > share[rows])
            best[rows[better]] = local[better] + off
            share[rows[better]] = s[better]
        hh = (pd.to_numeric(buildings["households"], errors="coerce").fillna(0).to_numpy(float)
              if "households" in buildings.columns else np.zeros(len(buildings)))
        ok = best >= 0
        units["buildings"] = np.bincount(best[ok], minlength=n)
        households = np.bincount(best[ok], weights=hh[ok], minlength=n)
        units["households"] = (np.rint(households).astype(np.int64)
                               if np.all(np.mod(hh, 1) == 0) else households)
        b_out = buildings.copy()
        b_out["unit_id"] = pd.array(np.where(ok, best, 0), dtype="Int64")
        b_out.loc[~ok, "unit_id"] = pd.NA
        b_out["unit_share"] = np.where(ok, share, 0.0)
        unassigned.append(_outside(buildings, best, "buildings"))
        report.update(buildings_assigned=int(ok.sum()), buildings_outside=int((~ok).sum()),
                      buildings_straddling=int((ok & (share < 1 - 1e-9)).sum()),
                      buildings_in_several_groups=int((seen > 1).sum()))
    else:
        report.update(buildings_assigned=0, buildings_outside=0, buildings_straddling=0,
                      buildings_in_several_groups=0)
    if entities is not None:
        e_unit = np.full(len(entities), -1, dtype=np.int64)
        for off, job, res in zip(offsets[:-1], jobs, results, strict=True):
            if job.e_rows is not None and len(job.e_rows):
                local = res["e_unit"]
                e_unit[job.e_rows] = np.where(local >= 0, local + off, -1)
        e_out = classify(entities, policy)
        ok = e_unit >= 0
        e_out["unit_id"] = pd.array(np.where(ok, e_unit, 0), dtype="Int64")
        e_out.loc[~ok, "unit_id"] = pd.NA
        unassigned.append(_outside(entities, e_unit, "entities"))
        report.update(entities_assigned=int(ok.sum()), entities_outside=int((~ok).sum()))
    else:
        report.update(entities_assigned=0, entities_outside=0)
    unassigned = (pd.concat(unassigned, ignore_index=True) if unassigned else
                  gpd.GeoDataFrame({"layer": [], "index": []}, geometry=[], crs=crs))
    unassigned = gpd.GeoDataFrame(unassigned, geometry="geometry", crs=crs)
    units = units[list(UNIT_COLUMNS) + ["geometry"]]
    total = float(units.area.sum())
    report.update(units=n, villages=int(units["village_code"].nunique()),
                  area_jurisdiction_m2=float(area.area), area_units_m2=total,
                  coverage_valid=bool(shapely.coverage_is_valid(units.geometry.values)))
    return units, b_out, e_out, unassigned, report


# --------------------------------------------------------------------------- partition


def _counting_mode(k, target, capacity, options) -> bool:
    """Whether the grids per group come from a total (k or target) split centrally."""
    if capacity is not None or options.get("per_village"):
        return False
    return k is not None or target is not None


def group_grid_counts(units, weight, group, *, k, target, capacity, options) -> dict | None:
    """Grids per group: partition's own per-village allocation, summed per group."""
    if not _counting_mode(k, target, capacity, options):
        return None
    nest_by = options.get("nest_by", "village_code")
    id_column = options.get("id_column", "unit_id")
    checked = check_layer(units, "units", id_column=id_column, required=(id_column, nest_by))
    w, _ = resolve_weight(checked, weight)
    nest = checked[nest_by].astype(str).to_numpy()
    vgroup, codes = pd.factorize(nest, sort=True)
    codes = np.asarray(codes)
    village_k = grid_counts(np.bincount(vgroup, weights=w, minlength=len(codes)),
                             np.bincount(vgroup, minlength=len(codes)), codes, len(checked),
                             k=k, target=target, capacity=None, per_village=False, messages=[])
    first = {}
    for v, g in zip(nest, group, strict=True):
        first.setdefault(v, g)
    out: dict = {}
    for code, kv in zip(codes, village_k, strict=True):
        out[first[code]] = out.get(first[code], 0) + int(kv)
    return out


def partition_jobs(units, weight, group, counts, *, k, target, capacity, options) -> list[Job]:
    adjacency = options.get("adjacency")
    id_column = options.get("id_column", "unit_id")
    rest = {key: v for key, v in options.items() if key != "adjacency"}
    jobs = []
    for code in sorted(set(group)):
        rows = np.flatnonzero(group == code)
        sub = units.iloc[rows]
        w = weight.loc[sub.index] if isinstance(weight, pd.Series) else weight
        adj = None
        if adjacency is not None:
            ids = sub[id_column]
            adj = adjacency[adjacency["unit_a"].isin(ids) & adjacency["unit_b"].isin(ids)]
        if counts is not None:
            gk, gt = counts[code], None
        else:
            gk, gt = k, target
        payload = {"code": code, "units": sub, "weight": w, "k": gk, "target": gt,
                   "capacity": capacity, "adjacency": adj, "options": rest}
        jobs.append(Job(code=code, payload=payload, rows=rows))
    return jobs


def run_partition_job(payload: dict) -> dict:
    """The dask task: partition one group."""
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        res = partition(payload["units"], payload["weight"], k=payload["k"],
                        target=payload["target"], capacity=payload["capacity"],
                        adjacency=payload["adjacency"], **payload["options"])
    out = {"grids": res.grids, "grid_id": res.assignment["grid_id"].to_numpy(object),
           "report": res.report}
    if "moved" in res.assignment.columns:
        out["moved"] = res.assignment["moved"].to_numpy(bool)
    return out


def _off_mean(message: str) -> bool:
    return message.startswith("village ") and "off the overall mean" in message


def merge_partitions(units, jobs, results, *, options, seconds):
    """One Partition from the groups': grids sorted by id, report over all grids."""
    id_column = options.get("id_column", "unit_id")
    nest_by = options.get("nest_by", "village_code")
    existing = options.get("existing")
    tolerance = options.get("tolerance", 0.02)
    required = tuple(c for c in (id_column, nest_by, existing) if c)
    grids = pd.concat([r["grids"] for r in results], ignore_index=True)
    grids = gpd.GeoDataFrame(grids, geometry="geometry", crs=results[0]["grids"].crs)
    grids = grids.sort_values("grid_id", kind="stable").reset_index(drop=True)
    assignment = check_layer(units, "units", id_column=id_column, required=required).copy()
    gid = np.empty(len(assignment), dtype=object)
    moved = np.zeros(len(assignment), dtype=bool)
    for job, res in zip(jobs, results, strict=True):
        gid[job.rows] = res["grid_id"]
        if "moved" in res:
            moved[job.rows] = res["moved"]
    assignment["grid_id"] = gid
    reports: list[PartitionReport] = [r["report"] for r in results]
    if existing is not None:
        assignment["moved"] = moved
    gw = grids["weight"].to_numpy(float)
    k = len(grids)
    mean = gw.sum() / k
    villages = pd.concat([r.villages for r in reports], ignore_index=True)
    villages["vs_overall"] = villages["mean"] / mean - 1 if mean > 0 else 0.0
    messages = [f"{job.code}: {m}" for job, r in zip(jobs, reports, strict=True)
                for m in r.warnings if not _off_mean(m)]
    total_mode = _counting_mode(jobs[0].payload["k"], jobs[0].payload["target"],
                                jobs[0].payload["capacity"], options)
    if total_mode and len(villages) > 1:
        for row in villages.itertuples():
            if abs(row.vs_overall) > tolerance and row.weight > 0:
                messages.append(f"village {row.village!r}: {int(row.grids)} grid(s) of mean "
                                f"{row.mean:,.1f}, {row.vs_overall:+.1%} off the overall mean "
                                "(whole grids per village)")
    adjacency = options.get("adjacency")
    if adjacency is not None and "road_m" in adjacency.columns:
        g = pd.Series(gid, index=assignment[id_column].to_numpy())
        cross = (g.reindex(adjacency["unit_a"]).to_numpy()
                 != g.reindex(adjacency["unit_b"]).to_numpy())
        shared = adjacency["shared_m"].to_numpy(float)[cross].sum()
        road_share = (float(adjacency["road_m"].to_numpy(float)[cross].sum() / shared)
                      if shared > 0 else float("nan"))
    else:  # every task measured its own adjacency without roads: no border on a road
        road_share = 0.0 if k > 1 else float("nan")
    moved_n = kept = None
    if existing is not None:
        moved_n = sum(r.moved or 0 for r in reports)
        kept = sum(r.kept or 0 for r in reports)
    dev = grids["deviation"].to_numpy(float)
    report = PartitionReport(
        k=k, mean=float(mean), tolerance=tolerance,
        max_over_mean=float(gw.max() / mean) if mean > 0 else float("nan"),
        min_over_mean=float(gw.min() / mean) if mean > 0 else float("nan"),
        max_deviation=float(np.abs(dev).max()), bound=max(r.bound for r in reports),
        within_tolerance=all(r.within_tolerance for r in reports), moved=moved_n, kept=kept,
        road_share=road_share,
        mean_polsby_popper=float(np.nanmean(grids["polsby_popper"].to_numpy(float))),
        villages=villages, warnings=messages, seconds=seconds)
    return grids, assignment, report
