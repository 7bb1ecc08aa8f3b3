"""Coverage repair: snap, remove overlaps, fill gaps, clip, and say what moved.

:func:`repair_coverage` uses GEOS's coverage cleaner (``shapely.coverage_clean``,
shapely >= 2.2, GEOS >= 3.14): it snaps nearly-matching vertices, gives every
overlap to the neighbour with the longest shared border and fills gaps
narrower than ``tolerance`` into the neighbour with the longest shared
border. Around it gridkit clips the grids to the jurisdiction, fills the gaps
along the jurisdiction's edge (which the cleaner cannot see) the same way,
fills wider gaps only when asked, validates the result with
:func:`gridkit.coverage.validate.validate_coverage`, and reports the area each grid
gained and lost. It never drops a grid.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from gridkit.coverage.checks import unmatched_vertices
from gridkit.coverage.diff import MIN_CHANGE_M2
from gridkit.coverage.geom import RESOLUTION, holes, match_vertices, polygon_parts, polygonal
from gridkit.coverage.validate import DEFAULT_TOLERANCE, CoverageReport, validate_coverage
from gridkit.crs import to_crs, working_crs
from gridkit.errors import (
    EmptyLayerError,
    GeometryTypeError,
    GridkitWarning,
    InvalidValueError,
    LayerError,
    MissingColumnError,
    MissingCRSError,
)
from gridkit.layers import check_layer

__all__ = ["repair_coverage", "RepairResult"]

log = logging.getLogger(__name__)


@dataclass
class RepairResult:
    """What :func:`repair_coverage` returns.

    Attributes
    ----------
    grids
        The repaired grids, every input row, same columns, input CRS.
    changes
        One row per grid whose geometry changed: ``grid_id``, ``area_before``,
        ``area_after``, ``gained_m2``, ``lost_m2`` (m²) and ``note``.
    report
        Validation of the repaired grids (wide gaps left unfilled show here).
    """

    grids: gpd.GeoDataFrame
    changes: pd.DataFrame
    report: CoverageReport

    def __str__(self) -> str:
        moved = (
            self.changes["gained_m2"].sum() + self.changes["lost_m2"].sum()
            if len(self.changes)
            else 0
        )
        lines = [
            f"repaired {len(self.grids)} grid(s): {len(self.changes)} changed, "
            f"{moved:,.2f} m² moved in total"
        ]
        if len(self.changes):
            with pd.option_context("display.width", 120, "display.max_rows", 40):
                lines.append(self.changes.round(3).to_string(index=False))
        lines.append(str(self.report))
        return "\n".join(lines)


def _longest_border_fill(geoms: np.ndarray, gaps: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Merge each gap into the neighbour with which it shares the longest border.

    GEOS's cleaner does this for gaps inside the coverage; gaps along the
    jurisdiction's edge (and wide gaps, on request) are not holes of the
    coverage, so they are merged here with the same rule.
    """
    geoms = geoms.copy()
    notes: list[str] = [""] * len(geoms)
    if len(gaps) == 0:
        return geoms, notes
    tree = shapely.STRtree(geoms)
    left, right = tree.query(gaps, predicate="dwithin", distance=RESOLUTION)
    for k, gap in enumerate(gaps):
        cand = right[left == k]
        if len(cand) == 0:
            continue
        border = shapely.length(
            shapely.intersection(
                shapely.buffer(shapely.boundary(geoms[cand]), RESOLUTION), gap.boundary
            )
        )
        j = cand[int(np.argmax(border))]
        geoms[j] = polygonal(shapely.union(geoms[j], gap))
        notes[j] = "gap filled"
    return geoms, notes


def repair_coverage(
    grids: gpd.GeoDataFrame,
    *,
    jurisdiction: gpd.GeoDataFrame | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    fill_gaps: bool = False,
    id_column: str | None = "grid_id",
    snapping_distance: float | None = None,
    crs=None,
) -> RepairResult:
    """Clean a coverage: no overlaps, no slivers, matched edges, clipped.

    Steps (in the metric working CRS): repair invalid geometries
    (``make_valid``); clip to the jurisdiction; run GEOS's coverage cleaner
    (snap, overlaps to the neighbour with the longest border, gaps narrower
    than ``tolerance`` filled); fill gaps along the jurisdiction's edge
    narrower than ``tolerance`` (all gaps when ``fill_gaps``) into the
    neighbour with the longest shared border; clean once more so the edges
    match; validate.

    Parameters
    ----------
    grids
        The grids; never modified. Every row comes back (a grid that would
        vanish keeps its geometry and a note says why).
    jurisdiction
        Clip to it and fill gaps up to its edge.
    tolerance
        Gap width (m) filled automatically (default 1 m, the sliver width of
        :func:`gridkit.coverage.validate.validate_coverage`).
    fill_gaps
        Also fill wider gaps (missing grids!) into their neighbours. Off by
        default: a wide gap usually means a grid is missing.
    id_column
        The grids' id column (``None``: the row index).
    snapping_distance
        Vertex snapping distance (m) for the cleaner; default: GEOS's
        automatic choice from the extent.
    crs
        Metric working CRS (default: chosen automatically).

    Returns
    -------
    RepairResult

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> grids = gpd.GeoDataFrame({"grid_id": ["a", "b"]},
    ...     geometry=[box(0, 0, 10.2, 10), box(10, 0, 20, 10)], crs=32650)
    >>> result = repair_coverage(grids)
    >>> result.report.valid, round(float(result.grids.area.sum()), 6)
    (True, 200.0)
    """
    if not isinstance(grids, gpd.GeoDataFrame):
        raise LayerError(f"grids: expected a GeoDataFrame, got {type(grids).__name__}")
    if len(grids) == 0:
        raise EmptyLayerError("grids: the layer is empty")
    if grids.crs is None:
        raise MissingCRSError("grids: the layer has no CRS; set it with gdf.set_crs(...)")
    if not (isinstance(tolerance, (int, float)) and tolerance >= 0):
        raise InvalidValueError(f"tolerance must be a number of metres >= 0, got {tolerance!r}")
    if id_column is not None and id_column not in grids.columns:
        raise MissingColumnError(
            f"grids: no id column {id_column!r}; name it with id_column=... "
            "(--id-column) or use id_column=None for the row number"
        )
    other = set(grids.geom_type.dropna()) - {"Polygon", "MultiPolygon", "GeometryCollection"}
    if other:
        raise GeometryTypeError(f"grids: expected polygons, found {sorted(other)}")
    if jurisdiction is not None:
        jurisdiction = check_layer(jurisdiction, "jurisdiction")
    work = working_crs(grids, jurisdiction, crs=crs)
    g = to_crs(grids, work)
    ids = (
        g[id_column].astype(str).to_numpy()
        if id_column
        else np.array([str(i) for i in g.index], dtype=object)
    )
    before = np.asarray(g.geometry.values, dtype=object)
    geoms = np.array(
        [
            polygonal(shapely.make_valid(x)) if x is not None and not x.is_empty else None
            for x in before
        ],
        dtype=object,
    )
    notes = ["" for _ in ids]
    present = np.array([x is not None for x in geoms])
    for i in np.flatnonzero(~present):
        notes[i] = "no usable geometry: draw it"
    jur = None
    if jurisdiction is not None:
        jur = polygonal(shapely.union_all(to_crs(jurisdiction, work).geometry.values))
        clipped = np.array(
            [polygonal(x) for x in shapely.intersection(geoms[present], jur)], dtype=object
        )
        idx = np.flatnonzero(present)
        for k, i in enumerate(idx):
            if clipped[k] is None:
                notes[i] = "lies outside the jurisdiction: kept as it was"
            else:
                geoms[i] = clipped[k]
    work_idx = np.flatnonzero(present)
    cleaned = _clean(geoms[work_idx], tolerance, snapping_distance)
    # edge gaps (not holes of the coverage) and, on request, every gap
    union = shapely.union_all(cleaned[[c is not None for c in cleaned]])
    if jur is not None:
        gap_geom = shapely.difference(jur, union)
    else:
        gap_geom = shapely.union_all(holes(union))
    parts, _, width, _ = polygon_parts(np.array([gap_geom], dtype=object))
    fill = width < tolerance if not fill_gaps else np.ones(len(parts), dtype=bool)
    if fill.any():
        usable = np.array([c is not None for c in cleaned])
        filled, _ = _longest_border_fill(cleaned[usable], parts[fill])
        cleaned[usable] = filled
        cleaned = _clean(cleaned, 0.0, snapping_distance)
    usable = np.array([c is not None for c in cleaned])
    if usable.any():
        # GEOS's cleaner leaves vertices on a neighbour's edge that it lacks: add them
        sub = cleaned[usable].astype(object)
        cleaned[usable] = match_vertices(sub, unmatched_vertices(sub, shapely.STRtree(sub)))
    for k, i in enumerate(work_idx):
        if cleaned[k] is None:
            notes[i] = notes[i] or "would vanish (wholly overlapped): kept as it was"
        else:
            geoms[i] = cleaned[k]
    out_geoms = gpd.GeoSeries(geoms, index=g.index, crs=work)
    fixed = g.copy()
    fixed = fixed.set_geometry(
        out_geoms.to_crs(grids.crs) if CRS.from_user_input(grids.crs) != work else out_geoms
    )
    if fixed.geometry.name != grids.geometry.name:
        fixed = fixed.rename_geometry(grids.geometry.name)
    changes = _changes(ids, before, geoms, notes)
    report = validate_coverage(
        fixed, jurisdiction=jurisdiction, tolerance=tolerance, id_column=id_column, crs=work
    )
    if not report.valid:
        log.info("repair left %d issue(s): %s", len(report.issues), report.summary)
    return RepairResult(grids=fixed, changes=changes, report=report)


def _clean(geoms: np.ndarray, gap_width: float, snapping_distance: float | None) -> np.ndarray:
    present = np.array([x is not None for x in geoms])
    out = np.array(geoms, dtype=object)
    if not present.any():
        return out
    kw = {"gap_width": float(gap_width)}
    if snapping_distance is not None:
        kw["snapping_distance"] = float(snapping_distance)
    res = shapely.coverage_clean(geoms[present].astype(object), **kw)
    res = np.array([polygonal(x) for x in res], dtype=object)
    idx = np.flatnonzero(present)
    for k, i in enumerate(idx):
        out[i] = res[k]
    vanished = sum(r is None for r in res)
    if vanished:
        warnings.warn(
            f"coverage cleaner: {vanished} grid(s) would vanish (wholly overlapped by "
            "others); they are kept as they were, fix them by hand",
            GridkitWarning,
            stacklevel=3,
        )
    return out


def _changes(ids, before, after, notes) -> pd.DataFrame:
    rows = []
    for gid, b, a, note in zip(ids, before, after, notes, strict=False):
        if b is None or a is None or b.is_empty:
            if note:
                rows.append(
                    {
                        "grid_id": gid,
                        "area_before": np.nan,
                        "area_after": a.area if a is not None else np.nan,
                        "gained_m2": np.nan,
                        "lost_m2": np.nan,
                        "note": note,
                    }
                )
            continue
        if not note and (shapely.equals_exact(a, b, 0.0) or shapely.equals(a, b)):
            continue
        gained = shapely.difference(a, b).area if a is not None else 0.0
        lost = shapely.difference(b, a).area if a is not None else 0.0
        if max(gained, lost) < MIN_CHANGE_M2 and not note:
            note = "vertices snapped, no area moved"
        rows.append(
            {
                "grid_id": gid,
                "area_before": b.area,
                "area_after": a.area,
                "gained_m2": gained,
                "lost_m2": lost,
                "note": note or "reshaped",
            }
        )
    return pd.DataFrame(
        rows, columns=["grid_id", "area_before", "area_after", "gained_m2", "lost_m2", "note"]
    )
