"""Coverage validation on dask: the territory cut into tiles with a halo.

:func:`validate_coverage_distributed` reports the same issues as
:func:`gridkit.validate_coverage` (the single-machine reference), but runs
the geometric checks tile by tile on a dask cluster, so that a province's
grids need not be checked by one process:

1. the per-grid checks that need no neighbour (invalid geometry, duplicate
   and missing codes, staff) run once on the client: they are cheap;
2. a regular grid of ``tiles`` is laid over the data; each tile gets the
   grids within its box grown by ``halo`` metres, the jurisdiction clipped
   around them, the villages nearby, and the entities and buildings it owns
   (each feature belongs to exactly one tile, by the centre of its bounding
   box);
3. every tile runs the layout checks (overlaps, edge mismatches, gaps,
   parts outside the jurisdiction, nesting) and the feature checks on its
   piece, and keeps an issue only when the issue's point ``(x, y)`` lies in
   the tile itself (tiles are half-open boxes, so every point has one
   owner);
4. the tiles' issues are merged into one :class:`gridkit.coverage.CoverageReport`.

The halo must be wider than any gap: a gap that reaches past it is cut by
the tile's box and may be reported differently (a
:class:`gridkit._errors.GridkitWarning` says how many). The default halo is
the extent of the largest grid, enough for any gap up to a missing grid.

Requires the ``scale`` extra (``dask[distributed]``).
"""

from __future__ import annotations

import logging
import math
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridkit import _coverage_checks as checks
from gridkit import _distributed_tiles as tiling
from gridkit._coverage_geom import polygonal
from gridkit._dask import check_scheduler, run_tasks
from gridkit._errors import GridkitWarning, InvalidValueError
from gridkit.coverage import (
    DEFAULT_TOLERANCE,
    KINDS,
    CoverageReport,
    _check_arguments,
    _issue_frame,
    _prepare,
)
from gridkit.crs import to_crs
from gridkit.layers import check_staff

__all__ = ["validate_coverage_distributed", "DEFAULT_TILES"]

log = logging.getLogger(__name__)

#: Default tiling: 4 × 4 tiles.
DEFAULT_TILES = 4


def validate_coverage_distributed(
    grids: gpd.GeoDataFrame,
    *,
    jurisdiction: gpd.GeoDataFrame | None = None,
    villages: gpd.GeoDataFrame | None = None,
    entities: gpd.GeoDataFrame | None = None,
    buildings: gpd.GeoDataFrame | None = None,
    staff: pd.DataFrame | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    id_column: str | None = "grid_id",
    code_column: str | None = None,
    crs=None,
    tiles: int | tuple[int, int] = DEFAULT_TILES,
    halo: float | None = None,
    scheduler=None,
) -> CoverageReport:
    """:func:`gridkit.validate_coverage`, run tile by tile on dask.

    Parameters
    ----------
    grids, jurisdiction, villages, entities, buildings, staff, tolerance, id_column, \
    code_column, crs
        As for :func:`gridkit.validate_coverage`.
    tiles
        Number of tiles: ``n`` for n × n, or ``(nx, ny)``.
    halo
        Metres of neighbouring data each tile sees around its box; must be
        wider than the widest gap. Default: the width or height of the
        largest grid, whichever is greater.
    scheduler
        Where the tiles run: ``None`` starts a ``distributed.LocalCluster``
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
    >>> from gridkit._coverage_synth import voronoi_grids
    >>> grids, jur = voronoi_grids(50, seed=1)
    >>> report = validate_coverage_distributed(grids, jurisdiction=jur, tiles=2,
    ...                                        scheduler="synchronous")
    >>> report.valid
    True
    """
    code_column = _check_arguments(grids, tolerance, id_column, code_column)
    check_scheduler(scheduler)
    shape = tiling.tile_shape(tiles)
    if halo is not None and not (
        isinstance(halo, (int, float)) and math.isfinite(halo) and halo >= 0
    ):
        raise InvalidValueError(f"halo must be a number of metres >= 0, got {halo!r}")
    # 1. inputs and per-grid checks, once, here (the same code as validate_coverage)
    prep = _prepare(grids, jurisdiction, villages, entities, buildings, staff,
                    id_column=id_column, code_column=code_column, crs=crs)
    jurisdiction, villages, entities, buildings, staff = (
        prep.jurisdiction, prep.villages, prep.entities, prep.buildings, prep.staff)
    ent_dropped, bld_dropped, work, out_crs = (
        prep.ent_dropped, prep.bld_dropped, prep.work, prep.out_crs)
    g, usable = prep.g, prep.usable
    ga, ids = prep.ga, prep.ids
    issues, checked = prep.issues, prep.checked
    if entities is not None:
        checked += ["entity_unassigned", "entity_multiple"]
    if buildings is not None:
        checked += ["building_split", "building_unassigned"]
    for lab in ent_dropped:
        issues.append(
            checks.issue(
                "entity_unassigned", [], feature=lab, detail=f"entity {lab} has no geometry"
            )
        )
    for lab in bld_dropped:
        issues.append(
            checks.issue(
                "building_unassigned", [], feature=lab, detail=f"building {lab}: no geometry"
            )
        )

    j_geom = None
    src = jurisdiction if jurisdiction is not None else villages
    if src is not None:
        j_geom = polygonal(shapely.union_all(to_crs(src, work).geometry.values))
        checked.append("outside_jurisdiction")
    v = to_crs(villages, work)
    if v is not None:
        checked.append("not_nested")
    ent = to_crs(entities, work)
    bld = to_crs(buildings, work)

    # 2. tiles
    tile_results, truncated = _run_tiles(
        ga,
        ids,
        g.loc[usable],
        work,
        j_geom,
        v,
        ent,
        bld,
        shape=shape,
        halo=halo,
        tolerance=float(tolerance),
        scheduler=scheduler,
    )
    issues += tile_results
    if truncated:
        warnings.warn(
            f"{truncated} gap(s) reach past the tiles' halo and may be reported differently "
            "from validate_coverage; give a larger halo=... or fewer tiles",
            GridkitWarning,
            stacklevel=2,
        )
    if staff is not None:
        checked += ["missing_responsible", "staff_unknown_grid"]
        issues += checks.check_staff(check_staff(staff), ga, ids)

    frame = _issue_frame(issues, work, out_crs)
    summary = {k: int((frame["kind"] == k).sum()) for k in KINDS if k in checked}
    log.info(
        "coverage (distributed, %d×%d tiles): %d grids, %d issue(s)", *shape, len(grids), len(frame)
    )
    return CoverageReport(
        issues=frame,
        summary=summary,
        tolerance=float(tolerance),
        n_grids=len(grids),
        crs=work,
        checked=tuple(checked),
    )


def _bounds(*arrays) -> tuple[float, float, float, float]:
    boxes = [shapely.bounds(a) for a in arrays if a is not None and len(a)]
    b = np.vstack(boxes)
    x0, y0 = np.nanmin(b[:, 0]), np.nanmin(b[:, 1])
    x1, y1 = np.nanmax(b[:, 2]), np.nanmax(b[:, 3])
    # a degenerate extent still needs tiles of positive size
    return x0, y0, max(x1, x0 + 1.0), max(y1, y0 + 1.0)


def _run_tiles(ga, ids, g_usable, work, j_geom, v, ent, bld, *, shape, halo, tolerance, scheduler):
    if halo is None:
        b = shapely.bounds(ga) if len(ga) else np.zeros((1, 4))
        halo = float(np.max(np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]), initial=0.0))
        halo = max(halo, 2 * tolerance)
    vgeoms = np.asarray(v.geometry.values, dtype=object) if v is not None else None
    egeoms = np.asarray(ent.geometry.values, dtype=object) if ent is not None else None
    bgeoms = np.asarray(bld.geometry.values, dtype=object) if bld is not None else None
    jarr = np.array([j_geom], dtype=object) if j_geom is not None else None
    bounds = _bounds(ga, jarr, egeoms, bgeoms)
    typical = float(np.median(shapely.area(ga))) if len(ga) else 0.0
    codes = g_usable["village_code"].to_numpy(dtype=object) if "village_code" in g_usable else None
    tiles = tiling.make_tiles(
        ga,
        bounds=bounds,
        shape=shape,
        halo=halo,
        jurisdiction=j_geom,
        villages=vgeoms,
        entities=egeoms,
        buildings=bgeoms,
    )
    log.info("%d tile(s) with data, halo %.1f m", len(tiles), halo)
    payloads = []
    for t in tiles:
        payloads.append(
            {
                "index": t.index,
                "core": t.core,
                "halo_box": t.halo_box,
                "shape": shape,
                "grids": ga[t.grids],
                "ids": ids[t.grids],
                "crs": work,
                "jurisdiction": t.jurisdiction,
                "gap_jurisdiction": t.gap_jurisdiction,
                "tolerance": tolerance,
                "typical_area": typical,
                "vgeoms": vgeoms[t.villages] if vgeoms is not None else None,
                "vcodes": v["code"].astype(str).to_numpy()[t.villages] if v is not None else None,
                "village_codes": codes[t.grids] if codes is not None else None,
                "entities": ent.iloc[t.entities] if ent is not None else None,
                "buildings": bld.iloc[t.buildings] if bld is not None else None,
            }
        )
    results = run_tasks(tiling.check_tile, payloads, scheduler, desc="tiles", unit="tile")
    issues, truncated = [], 0
    for found, cut in results:
        issues += found
        truncated += cut
    return issues, truncated
