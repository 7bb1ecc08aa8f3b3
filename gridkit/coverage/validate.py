"""Coverage validation: every point of the jurisdiction in exactly one grid.

:func:`validate_coverage` runs every check and collects every problem (it
never stops at the first) into a :class:`CoverageReport`. It combines

- GEOS's coverage validator (``shapely.coverage_invalid_edges``) for
  overlaps and shared edges whose vertices do not match;
- jurisdiction minus the union of the grids (``shapely.coverage_union_all``
  for the clean part) for gaps inside, along the jurisdiction's edge and
  missing grids, of any width; without a jurisdiction, the holes of the
  union;
- a vertex check GEOS's validator lacks: it accepts a vertex lying on a
  neighbour's straight edge (an extra vertex, a T-junction), which still
  breaks vertex-for-vertex matching;
- spatial indexes (``shapely.STRtree``) for entities, buildings and villages
  (the point checks run in a second thread: GEOS releases the GIL);

and adds the checks that only grid management needs: grids crossing a
village boundary, entities in no grid or in two, buildings split between
grids, grids with nobody responsible, duplicate codes.

Kinds of issue (``KINDS``):

``invalid_geometry``
    null, empty or invalid grid geometry (repaired with ``make_valid`` for
    the other checks).
``overlap``
    two grids share area.
``gap``
    area of the jurisdiction in no grid: inside, along the jurisdiction's
    edge, or a missing grid (``detail`` says which).
``edge_mismatch``
    shared edges whose vertices do not match, with no area (or an area
    narrower than :data:`RESOLUTION`, 1 mm). ``width`` is how far apart
    the two edges are.
``outside_jurisdiction``
    part of a grid outside the jurisdiction.
``not_nested``
    a grid crossing its village's boundary or coded to a village it is not
    in (when villages are given).
``entity_unassigned`` / ``entity_multiple``
    an entity in no grid / in two grids (in an overlap, or exactly on a
    shared boundary).
``building_split`` / ``building_unassigned``
    a building with area in two grids / in no grid.
``missing_responsible``
    a grid with nobody in the staff table; ``staff_unknown_grid``: staff
    listed for a grid that does not exist.
``duplicate_code`` / ``missing_code``
    repeated or empty grid ids (and codes, with ``code_column``).

Slivers: an overlap, gap, part outside the jurisdiction or outside the
village, or the minor part of a split building, narrower than ``tolerance``
(default :data:`DEFAULT_TOLERANCE`, 1 m) is still reported, with
``sliver=True``: it is a digitising artefact to be snapped away (see
:func:`gridkit.coverage.repair.repair_coverage`) rather than land to be patrolled.
Widths are diameters of the largest inscribed circle.
"""

from __future__ import annotations

import json
import logging
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from gridkit.coverage import checks
from gridkit.coverage.geom import RESOLUTION
from gridkit.coverage.prepare import (
    BUILDING_ID,
    FeatureLabels,
    Prepared,
    check_arguments,
    issue_frame,
    no_geometry_issues,
    prepare,
)
from gridkit.crs import to_crs
from gridkit.layers import check_staff

__all__ = [
    "validate_coverage",
    "CoverageReport",
    "KINDS",
    "DEFAULT_TOLERANCE",
    "RESOLUTION",
    "ISSUE_COLUMNS",
]

log = logging.getLogger(__name__)

from gridkit.coverage.tolerances import DEFAULT_TOLERANCE  # noqa: E402

KINDS = (
    "invalid_geometry",
    "overlap",
    "gap",
    "edge_mismatch",
    "outside_jurisdiction",
    "not_nested",
    "entity_unassigned",
    "entity_multiple",
    "building_split",
    "building_unassigned",
    "missing_responsible",
    "staff_unknown_grid",
    "duplicate_code",
    "missing_code",
)
ISSUE_COLUMNS = (
    "kind",
    "grids",
    "area",
    "width",
    "x",
    "y",
    "sliver",
    "detail",
    "feature",
    "geometry",
)


def crs_name(crs) -> str | None:
    """``"EPSG:4326"`` for a CRS with an EPSG code, else its full text; ``None`` for none.

    Examples
    --------
    >>> crs_name("EPSG:4547"), crs_name(None)
    ('EPSG:4547', None)
    """
    if crs is None:
        return None
    crs = CRS.from_user_input(crs)
    authority = crs.to_authority()
    return ":".join(authority) if authority else crs.to_string()


@dataclass
class CoverageReport:
    """The result of :func:`validate_coverage`.

    Attributes
    ----------
    issues
        One row per problem: ``kind``, ``grids`` (list of grid ids),
        ``area`` (m²), ``width`` (m), ``x``/``y`` (a point on the issue, in
        the grids' CRS), ``sliver``, ``detail`` (a sentence),
        ``feature`` (the entity/building/code concerned) and ``geometry``
        (in the grids' CRS).
    summary
        Number of issues per kind, for every kind that was checked.
    tolerance
        The sliver tolerance used (m).
    n_grids
        Number of grids checked.
    crs
        The working CRS in which areas and widths were measured.
    """

    issues: gpd.GeoDataFrame
    summary: dict[str, int]
    tolerance: float
    n_grids: int
    crs: Any = None
    checked: tuple[str, ...] = field(default=())

    @classmethod
    def from_issues(cls, issues: list[dict], *, checked, work, out_crs, tolerance,
                    n_grids: int) -> CoverageReport:
        """The report of a validation, from its issue records.

        Parameters
        ----------
        issues
            Records made by :func:`gridkit.coverage.checks.issue`, in the
            working CRS.
        checked
            The kinds of issue that were checked (the summary counts those).
        work, out_crs
            The working CRS and the grids' CRS (where issues are reported).
        tolerance
            The sliver tolerance used (m).
        n_grids
            Number of grids checked.

        Returns
        -------
        CoverageReport
        """
        frame = issue_frame(issues, work, out_crs, kinds=KINDS)
        summary = {k: int((frame["kind"] == k).sum()) for k in KINDS if k in checked}
        return cls(issues=frame, summary=summary, tolerance=float(tolerance), n_grids=n_grids,
                   crs=work, checked=tuple(checked))

    @property
    def valid(self) -> bool:
        """True when no issue of any kind was found."""
        return len(self.issues) == 0

    @property
    def slivers(self) -> int:
        """Number of issues narrower than the tolerance."""
        return int(self.issues["sliver"].sum()) if len(self.issues) else 0

    def to_dict(self) -> dict:
        """The report as plain data: ``{"valid", "summary", "crs", "issues": [...]}``.

        ``crs`` names the CRS of the issues' ``x``/``y`` (the grids' own, e.g.
        ``"EPSG:4326"``); areas and widths are in m² and m whatever it is.
        """
        rows = []
        for rec in self.issues.drop(columns="geometry").to_dict("records"):
            rows.append({k: _plain(v) for k, v in rec.items()})
        return {
            "valid": self.valid,
            "summary": dict(self.summary),
            "tolerance": self.tolerance,
            "grids": self.n_grids,
            "crs": crs_name(self.issues.crs),
            "issues": rows,
        }

    def to_crs(self, crs) -> CoverageReport:
        """The same report with the issues (geometries and ``x``/``y``) in ``crs``."""
        src = self.issues.crs
        if src is None or CRS.from_user_input(crs) == CRS.from_user_input(src):
            return self
        issues = self.issues.to_crs(crs)
        x, y = self.issues["x"].to_numpy(float), self.issues["y"].to_numpy(float)
        known = np.isfinite(x) & np.isfinite(y)
        pts = gpd.GeoSeries(gpd.points_from_xy(x[known], y[known]), crs=src).to_crs(crs)
        for column, values in (("x", pts.x), ("y", pts.y)):
            out = np.full(len(issues), np.nan)
            out[known] = values.to_numpy()
            issues[column] = out
        return replace(self, issues=issues)

    def to_json(self, **kwargs) -> str:
        """The report as one JSON object (see :meth:`to_dict`)."""
        kwargs.setdefault("ensure_ascii", False)
        return json.dumps(self.to_dict(), **kwargs)

    def to_layer(self) -> gpd.GeoDataFrame:
        """The issues as a layer fit for a file (grid lists joined by commas)."""
        out = self.issues.copy()
        out["grids"] = out["grids"].map(lambda g: ",".join(g))
        return out

    def __str__(self) -> str:
        head = "coverage valid" if self.valid else "coverage INVALID"
        lines = [
            f"{head}: {len(self.issues)} issue(s) in {self.n_grids} grid(s) "
            f"(sliver tolerance {self.tolerance:g} m)"
        ]
        for kind, count in self.summary.items():
            if not count:
                continue
            rows = self.issues[self.issues["kind"] == kind]
            extra = []
            slivers = int(rows["sliver"].sum())
            if slivers:
                extra.append(f"{slivers} sliver(s)")
            area = rows["area"].sum(min_count=1)
            if kind in ("overlap", "gap", "outside_jurisdiction", "not_nested") and pd.notna(area):
                extra.append(f"{area:,.1f} m²")
            lines.append(f"  {kind:<22}{count:>7}" + (f"  ({', '.join(extra)})" if extra else ""))
        ok = [k for k, c in self.summary.items() if not c]
        if ok:
            lines.append(f"  no issue: {', '.join(ok)}")
        shown = self.issues.head(20)
        if len(shown):
            lines.append("issues:")
            crs = self.issues.crs
            digits = 6 if crs is not None and crs.is_geographic else 1
            for r in shown.itertuples():
                at = f" at ({r.x:.{digits}f}, {r.y:.{digits}f})" if pd.notna(r.x) else ""
                if r.kind == "building_split":
                    size = f"; smaller part {r.width:.2f} m wide"
                elif pd.notna(r.area) and r.area:
                    wide = f", {r.width:.3f} m wide" if pd.notna(r.width) else ""
                    size = f", {r.area:,.2f} m²{wide}"
                else:
                    size = ""
                lines.append(f"  - {r.kind}{' (sliver)' if r.sliver else ''}: {r.detail}{size}{at}")
            if len(self.issues) > len(shown):
                lines.append(
                    f"  ... and {len(self.issues) - len(shown)} more (use --format json or -o)"
                )
        return "\n".join(lines)


def _plain(v):
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, (np.floating, float)):
        return None if math.isnan(v) else float(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v


def _layout_issues(ga, ids, tree, j_geom, *, tolerance) -> list[dict]:
    """Overlaps, edge mismatches and gaps of the usable grid geometries."""
    typical = float(np.median(shapely.area(ga)))
    edges = shapely.coverage_invalid_edges(ga)  # nulls were dropped (shapely 2.2.0 bug)
    suspect = ~(shapely.is_missing(edges) | shapely.is_empty(edges))
    issues, reported, lines = checks.check_overlaps(
        ga, ids, tree, edges, suspect, tolerance=tolerance
    )
    # vertex-precise mismatches first; GEOS's invalid edges for the pairs left
    issues += checks.check_vertices(ga, ids, tree, reported)
    issues += [rec for pair, rec in lines.items() if pair not in reported]
    gaps, _ = checks.check_gaps(
        ga, ids, tree, suspect, jurisdiction=j_geom, tolerance=tolerance, typical_area=typical
    )
    return issues + gaps


def _feature_issues(prep: Prepared, *, tolerance) -> list[dict]:
    """Entity and building checks (run in a worker thread: its own spatial index)."""
    issues = []
    ga, ids = prep.ga, prep.ids
    tree = shapely.STRtree(ga)
    entities, buildings = to_crs(prep.entities, prep.work), to_crs(prep.buildings, prep.work)
    if entities is not None:
        issues += no_geometry_issues("entities", prep.ent_dropped)
        points = np.asarray(entities.geometry.values, dtype=object)
        issues += checks.check_points(points, FeatureLabels(entities), ga, ids, tree,
                                      what="entity")
    if buildings is not None:
        issues += no_geometry_issues("buildings", prep.bld_dropped)
        issues += checks.check_buildings(
            np.asarray(buildings.geometry.values, dtype=object),
            FeatureLabels(buildings, BUILDING_ID),
            ga,
            ids,
            tree,
            tolerance=tolerance,
        )
    return issues


def _grid_issues(prep: Prepared, checked: list, *, tolerance) -> list[dict]:
    """The grids' layout: overlaps, mismatches, gaps, parts outside, nesting.

    Appends the kinds it could check (outside the jurisdiction, nesting) to
    ``checked``.
    """
    j_geom = prep.territory()
    if j_geom is None:
        log.info("no jurisdiction (or villages): gaps along the outer edge cannot be seen")
    if not len(prep.ga):
        return []
    tree = shapely.STRtree(prep.ga)
    issues = _layout_issues(prep.ga, prep.ids, tree, j_geom, tolerance=tolerance)
    if j_geom is not None:
        checked.append("outside_jurisdiction")
        issues += checks.check_outside(prep.ga, prep.ids, jurisdiction=j_geom,
                                       tolerance=tolerance)
    if prep.villages is not None:
        checked.append("not_nested")
        issues += _nesting_issues(prep, tolerance=tolerance)
    return issues


def _nesting_issues(prep: Prepared, *, tolerance) -> list[dict]:
    """Grids crossing their village's boundary or coded to a village they are not in."""
    v = to_crs(prep.villages, prep.work)
    g = prep.g
    codes = None
    if "village_code" in g:
        codes = g.loc[prep.usable, "village_code"].to_numpy(dtype=object)
    return checks.check_nesting(
        prep.ga,
        prep.ids,
        codes,
        np.asarray(v.geometry.values, dtype=object),
        v["code"].astype(str).to_numpy(),
        tolerance=tolerance,
    )


def validate_coverage(
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
) -> CoverageReport:
    """Check that grids cover the jurisdiction exactly once, and more.

    Every check runs and every problem is collected (see the module
    docstring for the kinds). Geometry is measured in a metric working CRS
    (:func:`gridkit.crs.working_crs`); issue geometries and ``x``/``y`` come
    back in the grids' CRS.

    Parameters
    ----------
    grids
        The grid polygons; never modified.
    jurisdiction
        The territory the grids must cover. Default: the union of
        ``villages`` when given, else none (then only holes inside the
        coverage count as gaps; gaps along the outer edge cannot be seen).
    villages
        Village/community polygons with a ``code``: grids must nest in them.
        A grid's village is its ``village_code`` when it has that column,
        else the village holding the grid.
    entities
        Points that must each lie in exactly one grid.
    buildings
        Footprints (or points) that must each lie in exactly one grid.
    staff
        Table with ``name``, ``phone``, ``grid_id``: every grid needs someone.
    tolerance
        Sliver width in metres (default 1 m): narrower overlaps and gaps are
        reported with ``sliver=True``.
    id_column
        The grids' id column (default ``grid_id``); ``None`` uses the row
        index.
    code_column
        A code column that must be unique too (default: ``grid_code`` when
        the grids have it).
    crs
        Metric working CRS; chosen automatically when ``None``.

    Returns
    -------
    CoverageReport

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> grids = gpd.GeoDataFrame({"grid_id": ["a", "b"]},
    ...                          geometry=[box(0, 0, 10, 10), box(9, 0, 20, 10)], crs=32650)
    >>> report = validate_coverage(grids)
    >>> report.valid, report.summary["overlap"]
    (False, 1)
    >>> row = report.issues.iloc[0]
    >>> row.kind, row.grids, float(row.area), round(float(row.width), 2)
    ('overlap', ['a', 'b'], 10.0, 1.0)
    """
    code_column = check_arguments(grids, tolerance, id_column, code_column)
    prep = prepare(grids, jurisdiction, villages, entities, buildings, staff,
                   id_column=id_column, code_column=code_column, crs=crs)
    issues, checked = prep.issues, prep.checked
    if prep.entities is not None:
        checked += ["entity_unassigned", "entity_multiple"]
    if prep.buildings is not None:
        checked += ["building_split", "building_unassigned"]
    # GEOS releases the GIL: entities and buildings are located in a second thread
    # (with its own spatial index) while this one checks the grids' layout
    with ThreadPoolExecutor(max_workers=1) as pool:
        features = pool.submit(_feature_issues, prep, tolerance=tolerance)
        issues += _grid_issues(prep, checked, tolerance=tolerance)
        issues += features.result()
    if prep.staff is not None:
        checked += ["missing_responsible", "staff_unknown_grid"]
        issues += checks.check_staff(check_staff(prep.staff), prep.geoms[prep.usable], prep.ids)
    report = CoverageReport.from_issues(issues, checked=checked, work=prep.work,
                                        out_crs=prep.out_crs, tolerance=tolerance,
                                        n_grids=len(grids))
    log.info("coverage: %d grids, %d issue(s)", len(grids), len(report.issues))
    return report
