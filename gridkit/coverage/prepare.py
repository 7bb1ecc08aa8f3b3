"""The inputs of a coverage check, read, checked and prepared.

:func:`gridkit.coverage.validate.validate_coverage` and its dask twin
:func:`gridkit.scale.coverage.validate_coverage_distributed` start and end
the same way; this module is that shared part:

- :func:`check_arguments` refuses unusable arguments before any work;
- :func:`prepare` reads the layers (paths or frames), drops features without
  geometry, chooses the metric working CRS and runs the per-grid checks
  (invalid geometry, duplicate and missing codes) into a :class:`Prepared`;
- :class:`FeatureLabels` names the entities and buildings an issue is about,
  :func:`no_geometry_issues` reports the ones without geometry;
- :func:`issue_frame` turns the issue records of
  :mod:`gridkit.coverage.checks` into the report's GeoDataFrame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from gridkit.coverage import checks
from gridkit.coverage.geom import polygonal
from gridkit.crs import to_crs, working_crs
from gridkit.errors import (
    EmptyLayerError,
    GeometryTypeError,
    InvalidValueError,
    LayerError,
    MissingColumnError,
    MissingCRSError,
)
from gridkit.layers import check_layer

__all__ = [
    "FEATURE_ID",
    "BUILDING_ID",
    "ALWAYS_CHECKED",
    "FeatureLabels",
    "Prepared",
    "check_arguments",
    "grid_labels",
    "issue_frame",
    "no_geometry_issues",
    "prepare",
    "read_input",
]

#: Columns looked up, in order, for the label of an entity (or any feature).
FEATURE_ID = ("entity_id", "building_id", "id", "osm_id", "fid")
#: Columns looked up, in order, for the label of a building.
BUILDING_ID = ("building_id", "id", "osm_id", "fid")

#: The checks every validation runs (the others depend on the layers given).
ALWAYS_CHECKED = (
    "invalid_geometry",
    "overlap",
    "gap",
    "edge_mismatch",
    "duplicate_code",
    "missing_code",
)


def read_input(src, kind: str):
    """A layer argument as a frame: frames and ``None`` as they are, paths read.

    Parameters
    ----------
    src
        ``None``, a (Geo)DataFrame, or a ``PATH[:LAYER]``.
    kind
        The layer's role; ``"staff"`` is read as a table, the rest as layers.

    Examples
    --------
    >>> read_input(None, "villages") is None
    True
    """
    if src is None or isinstance(src, (gpd.GeoDataFrame, pd.DataFrame)):
        return src
    from gridkit.io.files import read_layer, read_table

    return read_table(src) if kind == "staff" else read_layer(src)


class FeatureLabels:
    """Labels of features, looked up only for the rows that have an issue.

    Building a million strings up front costs more than the whole point check.
    A label is the first of ``prefer``'s columns the frame has (when the row's
    value is not missing), else the row's index label.

    Parameters
    ----------
    gdf
        The features.
    prefer
        Candidate label columns, in order (default :data:`FEATURE_ID`).
    positions
        Row positions in ``gdf`` this sequence stands for (default: all rows).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> pts = gpd.GeoDataFrame({"entity_id": ["e1", None]}, geometry=[Point(0, 0)] * 2)
    >>> labels = FeatureLabels(pts)
    >>> len(labels), labels[0], labels[1]
    (2, 'e1', '1')
    """

    def __init__(self, gdf: gpd.GeoDataFrame, prefer=FEATURE_ID, positions=None):
        self._gdf = gdf
        self._col = next((c for c in prefer if c in gdf.columns), None)
        self._pos = positions

    def __len__(self) -> int:
        return len(self._gdf) if self._pos is None else len(self._pos)

    def __getitem__(self, i):
        if isinstance(i, np.ndarray) and i.dtype == bool:
            base = np.arange(len(self._gdf)) if self._pos is None else self._pos
            out = FeatureLabels(self._gdf, (), base[i])
            out._col = self._col
            return out
        row = int(i) if self._pos is None else int(self._pos[int(i)])
        if self._col is not None:
            value = self._gdf[self._col].iat[row]
            if value is not None and value == value:
                return str(value)
        return str(self._gdf.index[row])


def no_geometry_issues(kind: str, labels) -> list[dict]:
    """Issues for the entities or buildings dropped for having no geometry.

    Parameters
    ----------
    kind
        ``"entities"`` (issues ``entity_unassigned``) or ``"buildings"``
        (issues ``building_unassigned``).
    labels
        The labels of the dropped features.

    Examples
    --------
    >>> [r["detail"] for r in no_geometry_issues("entities", ["e7"])]
    ['entity e7 has no geometry']
    """
    if kind == "entities":
        return [checks.issue("entity_unassigned", [], feature=lab,
                             detail=f"entity {lab} has no geometry") for lab in labels]
    return [checks.issue("building_unassigned", [], feature=lab,
                         detail=f"building {lab}: no geometry") for lab in labels]


def _points_layer(gdf, kind):
    """Drop rows without geometry (their labels returned), then the usual layer checks."""
    geoms = gdf.geometry.values
    missing = np.asarray(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    labels = FeatureLabels(gdf)
    dropped = [labels[i] for i in np.flatnonzero(missing)]
    if missing.all():
        raise EmptyLayerError(f"{kind}: no row has a geometry")
    return check_layer(gdf[~missing], kind), dropped


def check_arguments(grids, tolerance, id_column, code_column) -> str | None:
    """Refuse unusable arguments before any work.

    Parameters
    ----------
    grids
        The grids (a GeoDataFrame of polygons with a CRS).
    tolerance
        The sliver tolerance (m, >= 0).
    id_column, code_column
        As for :func:`gridkit.validate_coverage`.

    Returns
    -------
    str or None
        The code column to check: ``code_column``, or ``grid_code`` when
        the grids have it and no code column was named.

    Raises
    ------
    LayerError, EmptyLayerError, MissingCRSError, InvalidValueError, MissingColumnError,
    GeometryTypeError
        What is wrong, in words.
    """
    _check_layer_argument(grids)
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
    _check_polygons(grids)
    return code_column


def _check_layer_argument(grids) -> None:
    if not isinstance(grids, gpd.GeoDataFrame):
        raise LayerError(f"grids: expected a GeoDataFrame, got {type(grids).__name__}")
    if len(grids) == 0:
        raise EmptyLayerError("grids: the layer is empty; give at least one grid")
    if grids.crs is None:
        raise MissingCRSError("grids: the layer has no CRS; set it with gdf.set_crs(...)")


def _check_polygons(grids) -> None:
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


def grid_labels(g: gpd.GeoDataFrame, id_column: str | None) -> np.ndarray:
    """The grids' ids as strings (``row N`` where an id is missing).

    Parameters
    ----------
    g
        The grids.
    id_column
        Their id column; ``None`` labels them by their index.

    Examples
    --------
    >>> import geopandas as gpd
    >>> g = gpd.GeoDataFrame({"grid_id": ["a", None]}, geometry=[None, None])
    >>> grid_labels(g, "grid_id").tolist(), grid_labels(g, None).tolist()
    (['a', 'row 1'], ['0', '1'])
    """
    if not id_column:
        return np.array([str(i) for i in g.index], dtype=object)
    text = checks.code_text(g[id_column])
    blank = text.isna().to_numpy()
    labels = np.array(text.to_numpy(dtype=object), dtype=object)
    labels[blank] = [f"row {i}" for i in g.index[blank]]
    return labels


@dataclass
class Prepared:
    """Checked inputs in the working CRS and the per-grid issues (see :func:`prepare`).

    Attributes
    ----------
    jurisdiction, villages, entities, buildings, staff
        The layers, read and checked (``None`` when not given); entities and
        buildings without the rows that have no geometry. In their own CRS.
    ent_dropped, bld_dropped
        Labels of the entities and buildings dropped for having no geometry.
    work
        The metric working CRS.
    out_crs
        The grids' CRS (where the issues are reported).
    g
        The grids in the working CRS.
    labels
        Every grid's label (:func:`grid_labels`).
    geoms
        Every grid's usable polygonal geometry (``None`` where there is none).
    usable
        Mask of the grids with a usable geometry.
    ga, ids
        The usable geometries and their labels.
    issues
        The issues found so far (invalid geometry, codes).
    checked
        The kinds of issue checked so far (to be extended by the caller).
    """

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

    def territory(self):
        """The territory to cover, in the working CRS: the jurisdiction, else the
        union of the villages, else ``None``."""
        src = self.jurisdiction if self.jurisdiction is not None else self.villages
        if src is None:
            return None
        return polygonal(shapely.union_all(to_crs(src, self.work).geometry.values))


def prepare(grids, jurisdiction, villages, entities, buildings, staff, *,
            id_column, code_column, crs) -> Prepared:
    """Read and check the layers, choose the working CRS, run the per-grid checks.

    Parameters
    ----------
    grids
        The grids, already passed through :func:`check_arguments`.
    jurisdiction, villages, entities, buildings, staff
        As for :func:`gridkit.validate_coverage` (frames, paths or ``None``).
    id_column, code_column
        The id column and the code column (from :func:`check_arguments`).
    crs
        The metric working CRS, or ``None`` to choose one.

    Returns
    -------
    Prepared

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> grids = gpd.GeoDataFrame({"grid_id": ["a", "a"]},
    ...                          geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], crs=32650)
    >>> prep = prepare(grids, None, None, None, None, None, id_column="grid_id",
    ...                code_column=None, crs=None)
    >>> [r["kind"] for r in prep.issues], prep.ids.tolist()
    (['duplicate_code'], ['a', 'a'])
    """
    layers = {kind: read_input(src, kind) for kind, src in (
        ("jurisdiction", jurisdiction), ("villages", villages), ("entities", entities),
        ("buildings", buildings), ("staff", staff))}
    dropped = {"entities": [], "buildings": []}
    for kind in ("villages", "jurisdiction"):
        if layers[kind] is not None:
            layers[kind] = check_layer(layers[kind], kind)
    for kind in ("entities", "buildings"):
        if layers[kind] is not None:
            layers[kind], dropped[kind] = _points_layer(layers[kind], kind)
    work = working_crs(grids, layers["jurisdiction"], layers["villages"], layers["entities"],
                       layers["buildings"], crs=crs)
    g = to_crs(grids, work)
    labels = grid_labels(g, id_column)
    issues, geoms = _grid_issues(g, labels, id_column, code_column)
    usable = np.array([x is not None for x in geoms], dtype=bool)
    return Prepared(**layers, ent_dropped=dropped["entities"], bld_dropped=dropped["buildings"],
                    work=work, out_crs=CRS.from_user_input(grids.crs), g=g, labels=labels,
                    geoms=geoms, usable=usable, ga=geoms[usable].astype(object),
                    ids=labels[usable], issues=issues, checked=list(ALWAYS_CHECKED))


def _grid_issues(g, labels, id_column, code_column):
    """Invalid geometries and duplicate or missing codes; the usable geometries."""
    raw = np.asarray(g.geometry.values, dtype=object)
    geo_issues, geoms = checks.check_geometries(raw, labels)
    issues = list(geo_issues)
    for column in (id_column, code_column):
        if column is not None:
            issues += checks.check_codes(g[column], column, labels, geoms)
    return issues, geoms


def issue_frame(issues: list[dict], work: CRS, out_crs: CRS, *, kinds) -> gpd.GeoDataFrame:
    """The issue records as the report's GeoDataFrame, in ``out_crs``.

    Parameters
    ----------
    issues
        Records made by :func:`gridkit.coverage.checks.issue`, geometries
        and points in ``work``.
    work, out_crs
        The working CRS and the CRS to report in.
    kinds
        The kinds of issue in report order: rows are sorted by kind, then
        by area, largest first.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns :data:`gridkit.coverage.validate.ISSUE_COLUMNS`.
    """
    order = {k: i for i, k in enumerate(kinds)}
    issues = sorted(
        issues, key=lambda r: (order[r["kind"]], -(r["area"] if r["area"] == r["area"] else 0))
    )
    geoms = gpd.GeoSeries([r["geometry"] for r in issues], crs=work)
    pts = gpd.GeoSeries([r["point"] for r in issues], crs=work)
    if work != out_crs:
        geoms = geoms.to_crs(out_crs)
        pts = pts.to_crs(out_crs)
    x, y = _xy(pts)
    columns = {
        "kind": pd.Series([r["kind"] for r in issues], dtype=object),
        "grids": pd.Series([r["grids"] for r in issues], dtype=object),
        "area": pd.Series([r["area"] for r in issues], dtype=float),
        "width": pd.Series([r["width"] for r in issues], dtype=float),
        "x": x,
        "y": y,
    }
    for name, dtype in (("sliver", bool), ("detail", object), ("feature", object)):
        columns[name] = pd.Series([r[name] for r in issues], dtype=dtype)
    return gpd.GeoDataFrame(columns, geometry=geoms.values, crs=out_crs)


def _xy(pts: gpd.GeoSeries) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates of the points (NaN where there is none)."""
    has = ~(pts.isna() | pts.is_empty) if len(pts) else pd.Series([], dtype=bool)
    x = np.full(len(pts), np.nan)
    y = np.full(len(pts), np.nan)
    if len(pts) and has.any():
        x[has.to_numpy()] = pts[has].x.to_numpy()
        y[has.to_numpy()] = pts[has].y.to_numpy()
    return x, y
