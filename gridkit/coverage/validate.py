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
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from gridkit.coverage import checks
from gridkit.coverage.geom import RESOLUTION, polygonal
from gridkit.crs import to_crs, working_crs
from gridkit.errors import (
    EmptyLayerError,
    GeometryTypeError,
    InvalidValueError,
    LayerError,
    MissingColumnError,
    MissingCRSError,
)
from gridkit.layers import check_layer, check_staff

__all__ = [
    "validate_coverage",
    "CoverageReport",
    "KINDS",
    "DEFAULT_TOLERANCE",
    "RESOLUTION",
    "ISSUE_COLUMNS",
]

log = logging.getLogger(__name__)

#: Default sliver tolerance in metres: an overlap or gap narrower than 1 m is
#: a digitising artefact, not a strip of land somebody patrols.
DEFAULT_TOLERANCE = 1.0

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
_FEATURE_ID = ("entity_id", "building_id", "id", "osm_id", "fid")
_BUILDING_ID = ("building_id", "id", "osm_id", "fid")


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

    @property
    def valid(self) -> bool:
        """True when no issue of any kind was found."""
        return len(self.issues) == 0

    @property
    def slivers(self) -> int:
        """Number of issues narrower than the tolerance."""
        return int(self.issues["sliver"].sum()) if len(self.issues) else 0

    def to_dict(self) -> dict:
        """The report as plain data: ``{"valid", "summary", "issues": [...]}``."""
        rows = []
        for rec in self.issues.drop(columns="geometry").to_dict("records"):
            rows.append({k: _plain(v) for k, v in rec.items()})
        return {
            "valid": self.valid,
            "summary": dict(self.summary),
            "tolerance": self.tolerance,
            "grids": self.n_grids,
            "issues": rows,
        }

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


def _read(src, kind):
    if src is None or isinstance(src, (gpd.GeoDataFrame, pd.DataFrame)):
        return src
    from gridkit.io.files import read_layer, read_table

    return read_table(src) if kind == "staff" else read_layer(src)


class _Labels:
    """Feature labels looked up only for the rows that have an issue.

    Building a million strings up front costs more than the whole point check.
    """

    def __init__(self, gdf: gpd.GeoDataFrame, prefer=_FEATURE_ID, positions=None):
        self._gdf = gdf
        self._col = next((c for c in prefer if c in gdf.columns), None)
        self._pos = positions

    def __len__(self) -> int:
        return len(self._gdf) if self._pos is None else len(self._pos)

    def __getitem__(self, i):
        if isinstance(i, np.ndarray) and i.dtype == bool:
            base = np.arange(len(self._gdf)) if self._pos is None else self._pos
            out = _Labels(self._gdf, (), base[i])
            out._col = self._col
            return out
        row = int(i) if self._pos is None else int(self._pos[int(i)])
        if self._col is not None:
            value = self._gdf[self._col].iat[row]
            if value is not None and value == value:
                return str(value)
        return str(self._gdf.index[row])


def _labels(gdf, prefer=_FEATURE_ID) -> _Labels:
    return _Labels(gdf, prefer)


def _points_layer(gdf, kind):
    """Drop rows without geometry (reported), then the usual layer checks."""
    geoms = gdf.geometry.values
    missing = np.asarray(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    labels = _labels(gdf)
    dropped = [labels[i] for i in np.flatnonzero(missing)]
    if missing.all():
        raise EmptyLayerError(f"{kind}: no row has a geometry")
    return check_layer(gdf[~missing], kind), dropped


def _check_arguments(grids, tolerance, id_column, code_column) -> str | None:
    """Refuse unusable arguments before any work; returns the code column to check."""
    if not isinstance(grids, gpd.GeoDataFrame):
        raise LayerError(f"grids: expected a GeoDataFrame, got {type(grids).__name__}")
    if len(grids) == 0:
        raise EmptyLayerError("grids: the layer is empty; give at least one grid")
    if grids.crs is None:
        raise MissingCRSError("grids: the layer has no CRS; set it with gdf.set_crs(...)")
    if not (isinstance(tolerance, (int, float)) and math.isfinite(tolerance) and tolerance >= 0):
        raise InvalidValueError(f"tolerance must be a number of metres >= 0, got {tolerance!r}")
    if id_column is not None and id_column not in grids.columns:
        raise MissingColumnError(
            f"grids: no id column {id_column!r}; the layer has {list(grids.columns)}. Name the id "
            "column with id_column=... (--id-column), or id_column=None to use the row number"
        )
    if code_column is None and "grid_code" in grids.columns and id_column != "grid_code":
        code_column = "grid_code"
    if code_column is not None and code_column not in grids.columns:
        raise MissingColumnError(
            f"grids: no code column {code_column!r}; the layer has {list(grids.columns)}"
        )
    kinds_present = set(grids.geom_type.dropna()) - {
        "Polygon",
        "MultiPolygon",
        "GeometryCollection",
    }
    if kinds_present:
        raise GeometryTypeError(
            f"grids: expected polygons, found {sorted(kinds_present)}; give grid polygons "
            "(buffer or polygonize lines first)"
        )
    return code_column


def _grid_labels(g: gpd.GeoDataFrame, id_column: str | None) -> np.ndarray:
    """The grids' ids as strings (``row N`` where an id is missing)."""
    if not id_column:
        return np.array([str(i) for i in g.index], dtype=object)
    text = checks.code_text(g[id_column])
    blank = text.isna().to_numpy()
    labels = np.array(text.to_numpy(dtype=object), dtype=object)
    labels[blank] = [f"row {i}" for i in g.index[blank]]
    return labels


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


def _no_geometry(kind: str, labels) -> list[dict]:
    """Issues for the entities or buildings dropped for having no geometry."""
    if kind == "entities":
        return [checks.issue("entity_unassigned", [], feature=lab,
                             detail=f"entity {lab} has no geometry") for lab in labels]
    return [checks.issue("building_unassigned", [], feature=lab,
                         detail=f"building {lab}: no geometry") for lab in labels]


def _feature_issues(ga, ids, work, entities, ent_dropped, buildings, bld_dropped, *, tolerance):
    """Entity and building checks (run in a worker thread: its own spatial index)."""
    issues = []
    tree = shapely.STRtree(ga)
    entities, buildings = to_crs(entities, work), to_crs(buildings, work)
    if entities is not None:
        issues += _no_geometry("entities", ent_dropped)
        points = np.asarray(entities.geometry.values, dtype=object)
        issues += checks.check_points(points, _labels(entities), ga, ids, tree, what="entity")
    if buildings is not None:
        issues += _no_geometry("buildings", bld_dropped)
        issues += checks.check_buildings(
            np.asarray(buildings.geometry.values, dtype=object),
            _labels(buildings, _BUILDING_ID),
            ga,
            ids,
            tree,
            tolerance=tolerance,
        )
    return issues


@dataclass
class _Prepared:
    """Checked inputs in the working CRS and the per-grid issues (shared with
    :func:`gridkit.scale.coverage.validate_coverage_distributed`)."""

    jurisdiction: Any
    villages: Any
    entities: Any
    buildings: Any
    staff: Any
    ent_dropped: list
    bld_dropped: list
    work: Any
    out_crs: Any
    g: gpd.GeoDataFrame
    labels: np.ndarray
    geoms: np.ndarray
    usable: np.ndarray
    ga: np.ndarray
    ids: np.ndarray
    issues: list
    checked: list


def _prepare(grids, jurisdiction, villages, entities, buildings, staff, *,
             id_column, code_column, crs) -> _Prepared:
    """Read and check the layers, choose the working CRS, run the per-grid checks."""
    jurisdiction = _read(jurisdiction, "jurisdiction")
    villages = _read(villages, "villages")
    entities = _read(entities, "entities")
    buildings = _read(buildings, "buildings")
    staff = _read(staff, "staff")

    checked = [
        "invalid_geometry",
        "overlap",
        "gap",
        "edge_mismatch",
        "duplicate_code",
        "missing_code",
    ]
    if villages is not None:
        villages = check_layer(villages, "villages")
    if jurisdiction is not None:
        jurisdiction = check_layer(jurisdiction, "jurisdiction")
    ent_dropped = bld_dropped = []
    if entities is not None:
        entities, ent_dropped = _points_layer(entities, "entities")
    if buildings is not None:
        buildings, bld_dropped = _points_layer(buildings, "buildings")
    work = working_crs(grids, jurisdiction, villages, entities, buildings, crs=crs)
    out_crs = CRS.from_user_input(grids.crs)

    g = to_crs(grids, work)
    labels = _grid_labels(g, id_column)
    raw = np.asarray(g.geometry.values, dtype=object)
    geo_issues, geoms = checks.check_geometries(raw, labels)
    issues = list(geo_issues)
    if id_column is not None:
        issues += checks.check_codes(g[id_column], id_column, labels, geoms)
    if code_column is not None:
        issues += checks.check_codes(g[code_column], code_column, labels, geoms)

    usable = np.array([x is not None for x in geoms], dtype=bool)
    ga, ids = geoms[usable].astype(object), labels[usable]
    return _Prepared(jurisdiction, villages, entities, buildings, staff, ent_dropped,
                     bld_dropped, work, out_crs, g, labels, geoms, usable, ga, ids, issues,
                     checked)


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
    code_column = _check_arguments(grids, tolerance, id_column, code_column)
    prep = _prepare(grids, jurisdiction, villages, entities, buildings, staff,
                    id_column=id_column, code_column=code_column, crs=crs)
    jurisdiction, villages, entities, buildings, staff = (
        prep.jurisdiction, prep.villages, prep.entities, prep.buildings, prep.staff)
    ent_dropped, bld_dropped, work, out_crs = (
        prep.ent_dropped, prep.bld_dropped, prep.work, prep.out_crs)
    g, geoms, usable = prep.g, prep.geoms, prep.usable
    ga, ids = prep.ga, prep.ids
    issues, checked = prep.issues, prep.checked
    if entities is not None:
        checked += ["entity_unassigned", "entity_multiple"]
    if buildings is not None:
        checked += ["building_split", "building_unassigned"]
    # GEOS releases the GIL: entities and buildings are located in a second thread
    # (with its own spatial index) while this one checks the grids' layout
    with ThreadPoolExecutor(max_workers=1) as pool:
        features = pool.submit(
            _feature_issues,
            ga,
            ids,
            work,
            entities,
            ent_dropped,
            buildings,
            bld_dropped,
            tolerance=tolerance,
        )
        tree = shapely.STRtree(ga)

        j_geom = None
        if jurisdiction is not None:
            j_geom = polygonal(shapely.union_all(to_crs(jurisdiction, work).geometry.values))
        elif villages is not None:
            j_geom = polygonal(shapely.union_all(to_crs(villages, work).geometry.values))
        else:
            log.info("no jurisdiction (or villages): gaps along the outer edge cannot be seen")
        if len(ga):
            issues += _layout_issues(ga, ids, tree, j_geom, tolerance=tolerance)
            if j_geom is not None:
                checked.append("outside_jurisdiction")
                issues += checks.check_outside(ga, ids, jurisdiction=j_geom, tolerance=tolerance)
            if villages is not None:
                checked.append("not_nested")
                v = to_crs(villages, work)
                codes = (
                    g.loc[usable, "village_code"].to_numpy(dtype=object)
                    if "village_code" in g
                    else None
                )
                issues += checks.check_nesting(
                    ga,
                    ids,
                    codes,
                    np.asarray(v.geometry.values, dtype=object),
                    v["code"].astype(str).to_numpy(),
                    tolerance=tolerance,
                )
        issues += features.result()
    if staff is not None:
        checked += ["missing_responsible", "staff_unknown_grid"]
        issues += checks.check_staff(check_staff(staff), geoms[usable], ids)

    frame = _issue_frame(issues, work, out_crs)
    summary = {k: int((frame["kind"] == k).sum()) for k in KINDS if k in checked}
    log.info("coverage: %d grids, %d issue(s)", len(grids), len(frame))
    return CoverageReport(
        issues=frame,
        summary=summary,
        tolerance=float(tolerance),
        n_grids=len(grids),
        crs=work,
        checked=tuple(checked),
    )


def _issue_frame(issues: list[dict], work: CRS, out_crs: CRS) -> gpd.GeoDataFrame:
    order = {k: i for i, k in enumerate(KINDS)}
    issues = sorted(
        issues, key=lambda r: (order[r["kind"]], -(r["area"] if r["area"] == r["area"] else 0))
    )
    geoms = gpd.GeoSeries([r["geometry"] for r in issues], crs=work)
    pts = gpd.GeoSeries([r["point"] for r in issues], crs=work)
    if work != out_crs:
        geoms = geoms.to_crs(out_crs)
        pts = pts.to_crs(out_crs)
    has = ~(pts.isna() | pts.is_empty) if len(pts) else pd.Series([], dtype=bool)
    x = np.full(len(issues), np.nan)
    y = np.full(len(issues), np.nan)
    if len(issues) and has.any():
        x[has.to_numpy()] = pts[has].x.to_numpy()
        y[has.to_numpy()] = pts[has].y.to_numpy()
    frame = gpd.GeoDataFrame(
        {
            "kind": pd.Series([r["kind"] for r in issues], dtype=object),
            "grids": pd.Series([r["grids"] for r in issues], dtype=object),
            "area": pd.Series([r["area"] for r in issues], dtype=float),
            "width": pd.Series([r["width"] for r in issues], dtype=float),
            "x": x,
            "y": y,
            "sliver": pd.Series([r["sliver"] for r in issues], dtype=bool),
            "detail": pd.Series([r["detail"] for r in issues], dtype=object),
            "feature": pd.Series([r["feature"] for r in issues], dtype=object),
        },
        geometry=geoms.values,
        crs=out_crs,
    )
    return frame
