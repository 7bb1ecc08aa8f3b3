"""Coverage validation and feature assignment on dask, for a province.

:func:`validate_coverage_distributed` reports the same issues as
:func:`gridkit.validate_coverage` (the single-machine reference), but runs
the work as dask tasks, so that a province's grids and tens of millions of
entities need not be checked by one process:

1. the per-grid checks that need no neighbour (invalid geometry, duplicate
   and missing codes, staff) run once on the client: they are cheap;
2. the usable grids travel once to every worker (a broadcast
   :class:`~gridkit.scale._tiles.GridIndex`, with its spatial index
   built once per worker);
3. a regular grid of ``tiles`` is laid over the grids; each tile task checks
   the layout (overlaps, edge mismatches, gaps, parts outside the
   jurisdiction, nesting) of the grids within its box grown by ``halo``
   metres and keeps an issue only when the issue's point ``(x, y)`` lies in
   the tile itself (tiles are half-open boxes, so every point has one
   owner);
4. entities and buildings need no halo: each partition is checked against
   the grids that meet it (see :mod:`gridkit.scale._features`). A
   GeoParquet path (a file or a directory of files) or a dask-geopandas
   frame is read by the workers themselves, so the client never holds the
   tens of millions of points;
5. the tasks' issues are merged into one :class:`gridkit.coverage.validate.CoverageReport`.

The halo must be wider than any gap: a gap that reaches past it is cut by
the tile's box and may be reported differently (a
:class:`gridkit.errors.GridkitWarning` says how many). The default halo is
the extent of the largest grid, enough for any gap up to a missing grid.

:func:`assign_to_grids_distributed` gives every entity or building the id of
its grid the same way, partition by partition.

Runs on ``dask.distributed`` and ``dask-geopandas`` (core dependencies).
"""

from __future__ import annotations

import logging
import math
import os
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridkit.coverage import checks
from gridkit.coverage.prepare import (
    check_arguments,
    grid_labels,
    no_geometry_issues,
    prepare,
    read_input,
)
from gridkit.coverage.validate import DEFAULT_TOLERANCE, CoverageReport
from gridkit.crs import to_crs, working_crs
from gridkit.errors import GridkitWarning, InvalidValueError
from gridkit.layers import check_staff
from gridkit.scale import _features as feat
from gridkit.scale import _tiles as tiling
from gridkit.scale._dask import check_scheduler, run_tasks
from gridkit.scale.parquet import is_lazy

__all__ = ["validate_coverage_distributed", "assign_to_grids_distributed", "GRIDS_PER_TILE"]

log = logging.getLogger(__name__)

#: Default tiling: about this many grids per tile (at least 2 × 2 tiles).
GRIDS_PER_TILE = 10_000


def validate_coverage_distributed(
    grids: gpd.GeoDataFrame,
    *,
    jurisdiction: gpd.GeoDataFrame | None = None,
    villages: gpd.GeoDataFrame | None = None,
    entities=None,
    buildings=None,
    staff: pd.DataFrame | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    id_column: str | None = "grid_id",
    code_column: str | None = None,
    crs=None,
    tiles: int | tuple[int, int] | None = None,
    halo: float | None = None,
    scheduler=None,
) -> CoverageReport:
    """:func:`gridkit.validate_coverage`, run as dask tasks.

    Parameters
    ----------
    grids, jurisdiction, villages, staff, tolerance, id_column, code_column, crs
        As for :func:`gridkit.validate_coverage` (layers may be paths).
    entities, buildings
        As for :func:`gridkit.validate_coverage`, or a GeoParquet path (one
        file or a directory of files, e.g. written by dask-geopandas) or a
        dask-geopandas GeoDataFrame: then each worker reads its own
        partitions. Spatially compact partitions are fastest.
    tiles
        Number of tiles for the layout checks: ``n`` for n × n, or
        ``(nx, ny)``. Default: about :data:`GRIDS_PER_TILE` grids per tile,
        at least 2 × 2.
    halo
        Metres of neighbouring grids each tile sees around its box; must be
        wider than the widest gap. Default: the width or height of the
        largest grid, whichever is greater.
    scheduler
        Where the tasks run: ``None`` starts a ``distributed.LocalCluster``
        on this machine (closed afterwards); a ``distributed.Client``; a
        scheduler address such as ``"tcp://10.0.0.5:8786"``; or a dask
        scheduler name (``"synchronous"``, ``"threads"``, ``"processes"``).

    Returns
    -------
    CoverageReport
        The same issues as :func:`gridkit.validate_coverage` (row order
        may differ among issues of the same kind and area).

    Examples
    --------
    >>> from gridkit.synthetic.faults import voronoi_grids
    >>> grids, jur = voronoi_grids(50, seed=1)
    >>> report = validate_coverage_distributed(grids, jurisdiction=jur, tiles=2,
    ...                                        scheduler="synchronous")
    >>> report.valid
    True
    """
    grids = read_input(grids, "grids")
    code_column = check_arguments(grids, tolerance, id_column, code_column)
    check_scheduler(scheduler)
    _check_halo(halo)
    lazy = {k: is_lazy(v) for k, v in (("entities", entities), ("buildings", buildings))}
    # 1. inputs and per-grid checks, once, here (the same code as validate_coverage);
    # features read by the workers are checked there
    prep = prepare(grids, jurisdiction, villages,
                   None if lazy["entities"] else entities,
                   None if lazy["buildings"] else buildings, staff,
                   id_column=id_column, code_column=code_column, crs=crs)
    issues, checked = prep.issues, prep.checked
    issues += (no_geometry_issues("entities", prep.ent_dropped)
               + no_geometry_issues("buildings", prep.bld_dropped))
    srcs = {
        "entities": entities if lazy["entities"] else prep.entities,
        "buildings": buildings if lazy["buildings"] else prep.buildings,
    }
    if srcs["entities"] is not None:
        checked += ["entity_unassigned", "entity_multiple"]
    if srcs["buildings"] is not None:
        checked += ["building_split", "building_unassigned"]
    j_geom = prep.territory()
    if j_geom is not None:
        checked.append("outside_jurisdiction")
    v = to_crs(prep.villages, prep.work)
    if v is not None:
        checked.append("not_nested")

    # 2.-4. tiles and feature partitions, one batch of tasks
    index, items, shape = _work(prep, srcs, j_geom, v, tiles=tiles, halo=halo,
                                tolerance=float(tolerance))
    results = run_tasks(_task, items, scheduler, desc="coverage", unit="task", shared=index)
    truncated = 0
    for found, cut in results:
        issues += found
        truncated += cut
    if truncated:
        warnings.warn(
            f"{truncated} gap(s) reach past the tiles' halo and may be reported differently "
            "from validate_coverage; give a larger halo=... or fewer tiles",
            GridkitWarning,
            stacklevel=2,
        )
    if prep.staff is not None:
        checked += ["missing_responsible", "staff_unknown_grid"]
        issues += checks.check_staff(check_staff(prep.staff), prep.ga, prep.ids)
    report = CoverageReport.from_issues(issues, checked=checked, work=prep.work,
                                        out_crs=prep.out_crs, tolerance=tolerance,
                                        n_grids=len(grids))
    log.info("coverage (distributed, %d×%d tiles): %d grids, %d issue(s)", *shape, len(grids),
             len(report.issues))
    return report


def _work(prep, srcs: dict, j_geom, v, *, tiles, halo, tolerance: float):
    """The broadcast grid index, the tasks (tiles, then feature partitions) and the tiling."""
    g_usable = prep.g.loc[prep.usable]
    codes = (g_usable["village_code"].to_numpy(dtype=object)
             if v is not None and "village_code" in g_usable else None)
    index = tiling.GridIndex(prep.ga, prep.ids, codes)
    shape = _shape(tiles, len(prep.ga))
    bounds = _bounds(prep.ga, np.array([j_geom], dtype=object) if j_geom is not None else None)
    halo = _default_halo(prep.ga, halo, tolerance)
    items = _tile_items(index, v, j_geom, bounds=bounds, shape=shape, halo=halo,
                        tolerance=tolerance)
    n_tiles = len(items)
    for kind, source in srcs.items():
        if source is not None:
            opts = {"kind": kind, "work": prep.work, "bounds": bounds, "shape": shape,
                    "tolerance": tolerance}
            items += feat.feature_items(source, kind, bounds=bounds, shape=shape, opts=opts)[0]
    log.info("%d tile(s) (halo %.1f m) and %d feature partition(s)", n_tiles, halo,
             len(items) - n_tiles)
    return index, items, shape


def assign_to_grids_distributed(
    features,
    grids: gpd.GeoDataFrame,
    *,
    id_column: str = "grid_id",
    column: str | None = None,
    crs=None,
    tiles: int | tuple[int, int] | None = None,
    out: str | os.PathLike | None = None,
    scheduler=None,
):
    """Give every entity or building the id of its grid, partition by partition on dask.

    A footprint goes to the grid holding most of its area, a point to the
    grid containing it (on an edge shared by two grids: the first of them in
    ``grids``' order); features in no grid get a missing id. This is what
    :func:`gridkit.build_units` does for units, at province scale.

    Parameters
    ----------
    features
        Points or footprints: a GeoDataFrame, a GeoParquet path (file or
        directory) or a dask-geopandas GeoDataFrame.
    grids
        Grid polygons (GeoDataFrame or path) with ``id_column``.
    column
        Name of the new column (default: ``id_column``).
    crs
        Metric working CRS; chosen automatically when ``None``.
    tiles
        Boxes (n × n or ``(nx, ny)``) that cut each partition into compact
        groups; default as :func:`validate_coverage_distributed`.
    out
        A directory to write the result to as GeoParquet, one file per
        partition (for data too big to bring back); the path is returned.
    scheduler
        As for :func:`validate_coverage_distributed`.

    Returns
    -------
    geopandas.GeoDataFrame or str
        The features (a copy, in their own CRS and row order) with
        ``column``; or ``out`` when given.

    Examples
    --------
    >>> from gridkit.synthetic.faults import voronoi_grids, random_points
    >>> grids, jur = voronoi_grids(20, seed=1)
    >>> pts = random_points(jur, 100, seed=2)
    >>> got = assign_to_grids_distributed(pts, grids, scheduler="synchronous")
    >>> int(got["grid_id"].notna().sum())
    100
    """
    grids = read_input(grids, "grids")
    check_arguments(grids, 0.0, id_column, None)
    check_scheduler(scheduler)
    column = column or id_column
    lazy = is_lazy(features)
    if not lazy:
        features = read_input(features, "entities")
    work = working_crs(grids, None if lazy else features, crs=crs)
    g = to_crs(grids, work)
    ga = np.asarray(g.geometry.values, dtype=object)
    ok = ~np.asarray(shapely.is_missing(ga) | shapely.is_empty(ga))
    index = tiling.GridIndex(ga[ok], grid_labels(g, id_column)[ok])
    shape = _shape(tiles, int(ok.sum()))
    bounds = _bounds(index.ga)
    if out is not None:
        os.makedirs(out, exist_ok=True)
    opts = {"kind": "assign", "work": work, "bounds": bounds, "shape": shape, "column": column,
            "out": os.fspath(out) if out is not None else None}
    items = feat.feature_items(features, "features", bounds=bounds, shape=shape, opts=opts)[0]
    parts = run_tasks(_task, items, scheduler, desc="assign", unit="partition", shared=index)
    if out is not None:
        log.info("assigned %d feature(s) to grids, written to %s", sum(parts), out)
        return os.fspath(out)
    if not parts:
        return features.assign(**{column: pd.array([], dtype="string")})
    res = pd.concat(parts)
    if "_position" in res:
        res = res.sort_values("_position", kind="stable").drop(columns="_position")
    return gpd.GeoDataFrame(res, geometry=res.geometry.name, crs=parts[0].crs)


def _task(item, index):
    """One task: a tile's layout checks, a partition's feature checks or assignment."""
    task = item["task"]
    if task == "tile":
        return tiling.check_tile(item, index)
    if item["opts"]["kind"] == "assign":
        return feat.assign_features(item, index, item["opts"])
    return feat.check_features(item, index, item["opts"]), 0


def _tile_items(index, v, j_geom, *, bounds, shape, halo, tolerance) -> list[dict]:
    vgeoms = np.asarray(v.geometry.values, dtype=object) if v is not None else None
    vcodes = v["code"].astype(str).to_numpy() if v is not None else None
    typical = float(np.median(shapely.area(index.ga))) if len(index.ga) else 0.0
    tiles = tiling.make_tiles(index.ga, bounds=bounds, shape=shape, halo=halo,
                              jurisdiction=j_geom, villages=vgeoms)
    if vcodes is not None and index.village_codes is not None:
        # a grid coded to a village far away is judged against that village too
        where = {c: k for k, c in enumerate(vcodes)}
        for t in tiles:
            named = {where.get(str(c), -1) for c in set(index.village_codes[t.grids])} - {-1}
            t.villages = np.union1d(t.villages, np.fromiter(named, dtype=int, count=len(named)))
    return [
        {
            "task": "tile",
            "index": t.index,
            "core": t.core,
            "halo_box": t.halo_box,
            "shape": shape,
            "grids": t.grids,
            "jurisdiction": t.jurisdiction,
            "gap_jurisdiction": t.gap_jurisdiction,
            "tolerance": tolerance,
            "typical_area": typical,
            "vgeoms": vgeoms[t.villages] if vgeoms is not None else None,
            "vcodes": vcodes[t.villages] if vcodes is not None else None,
        }
        for t in tiles
    ]


def _check_halo(halo) -> None:
    if halo is not None and not (
        isinstance(halo, (int, float)) and math.isfinite(halo) and halo >= 0
    ):
        raise InvalidValueError(f"halo must be a number of metres >= 0, got {halo!r}")


def _shape(tiles, n_grids: int) -> tuple[int, int]:
    if tiles is None:
        side = max(2, round(math.sqrt(n_grids / GRIDS_PER_TILE)))
        return side, side
    return tiling.tile_shape(tiles)


def _default_halo(ga, halo, tolerance) -> float:
    if halo is not None:
        return float(halo)
    b = shapely.bounds(ga) if len(ga) else np.zeros((1, 4))
    widest = float(np.max(np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]), initial=0.0))
    return max(widest, 2 * float(tolerance))


def _bounds(*arrays) -> tuple[float, float, float, float]:
    boxes = [shapely.bounds(a) for a in arrays if a is not None and len(a)]
    if not boxes:
        return 0.0, 0.0, 1.0, 1.0
    b = np.vstack(boxes)
    x0, y0 = np.nanmin(b[:, 0]), np.nanmin(b[:, 1])
    x1, y1 = np.nanmax(b[:, 2]), np.nanmax(b[:, 3])
    # a degenerate extent still needs tiles of positive size
    return x0, y0, max(x1, x0 + 1.0), max(y1, y0 + 1.0)
