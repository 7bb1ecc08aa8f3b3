"""Input layers: what each kind must hold, checks, repair, and the working set.

The kinds are ``jurisdiction``, ``villages``, ``roads``, ``barriers``,
``buildings``, ``entities``, ``grids``, ``units`` (spatial) and ``staff`` (a
table). :func:`check_layer` checks one layer and returns a cleaned copy;
:func:`load_layers` reads and checks a whole set and brings it into one metric
working CRS.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from gridkit.crs import check_lonlat, to_crs, working_crs
from gridkit.errors import (
    DuplicateIdError,
    EmptyLayerError,
    GeometryTypeError,
    GridkitWarning,
    InvalidGeometryError,
    InvalidValueError,
    LayerError,
    MissingColumnError,
    MissingCRSError,
    NullGeometryError,
)
from gridkit.io.files import read_layer, read_table

__all__ = ["LAYER_KINDS", "check_layer", "check_staff", "load_layers", "Layers"]

log = logging.getLogger(__name__)

_POLY = ("Polygon", "MultiPolygon")
_LINE = ("LineString", "MultiLineString")
_POINT = ("Point",)


@dataclass(frozen=True)
class _Kind:
    geometry: tuple[str, ...]
    required: tuple[str, ...] = ()
    id_column: str | None = None
    hint: str = ""


LAYER_KINDS: dict[str, _Kind] = {
    "jurisdiction": _Kind(_POLY, hint="the outline of the whole territory"),
    "villages": _Kind(_POLY, ("code",), "code", "村/社区 polygons with a `code` and a `name`"),
    "roads": _Kind(_LINE, hint="road lines; `road_class` is used when present"),
    "barriers": _Kind(_LINE, hint="rivers, railways: lines that cut units"),
    "buildings": _Kind(_POLY + _POINT, hint="footprints or points; optional `households`"),
    "entities": _Kind(_POINT, hint="points with optional `category`, `risk` (1-3), "
                                   "`credit` (A/B/C)"),
    "units": _Kind(_POLY, hint="basic units from gridkit.build_units"),
    "grids": _Kind(_POLY, hint="management grids"),
    "facilities": _Kind(_POINT, hint="service points"),
}
STAFF_COLUMNS = ("name", "phone", "grid_id")
RISK_CLASSES = (1, 2, 3)
CREDIT_GRADES = ("A", "B", "C")


def _rows(index, limit: int = 5) -> str:
    items = pd.Index(index[:limit]).tolist()  # Python numbers: no np.int64(...) in messages
    more = f" and {len(index) - limit} more" if len(index) > limit else ""
    return f"{items}{more}"


def _fix_message(kind: str, wanted: tuple[str, ...]) -> str:
    if wanted == _POINT:
        return "convert polygons with gdf.representative_point() or explode multipoints"
    if wanted == _POLY:
        return "give polygons (buffer lines or points only if that is what you mean)"
    if wanted == _LINE:
        return "give line geometries (polygon outlines: gdf.boundary)"
    return f"give {' or '.join(wanted)} geometries"


def _extract(geom, wanted: tuple[str, ...]):
    """The parts of a (repaired) geometry that have the wanted type."""
    if geom is None or geom.geom_type in wanted:
        return geom
    if geom.geom_type == "GeometryCollection":
        kinds = wanted + ("Multi" + wanted[0],)
        parts = [g for g in shapely.get_parts(geom) if g.geom_type in kinds]
        if not parts:
            return None
        if wanted[0] in ("Polygon", "MultiPolygon"):
            return shapely.union_all(parts) if len(parts) > 1 else parts[0]
        if wanted[0] in ("LineString", "MultiLineString"):
            return shapely.line_merge(shapely.union_all(parts)) if len(parts) > 1 else parts[0]
        return parts[0]
    return geom


def check_layer(
    gdf: gpd.GeoDataFrame,
    kind: str,
    *,
    name: str | None = None,
    strict: bool = False,
    id_column: str | None = None,
    required: tuple[str, ...] | None = None,
) -> gpd.GeoDataFrame:
    """Check a layer of a given kind and return a cleaned copy.

    Errors (all subclasses of :class:`ValueError`): wrong object or geometry
    type, empty layer, no CRS, null or empty geometries, missing required
    columns, duplicate ids, risk classes outside 1-3 or credit grades outside
    A/B/C. Repairs, each counted in a :class:`GridkitWarning`: Z coordinates
    dropped, invalid geometries repaired with ``make_valid`` (refused when
    ``strict``).

    Parameters
    ----------
    gdf
        The layer. It is never modified.
    kind
        One of :data:`LAYER_KINDS`.
    name
        How to call the layer in messages (default: ``kind``).
    strict
        Refuse invalid geometries instead of repairing them.
    id_column
        A column whose values must be unique (default: the kind's, e.g.
        ``code`` for villages). Use ``id_column=""`` for none.
    required
        Columns that must exist (default: the kind's).

    Examples
    --------
    >>> from gridkit import load_sample
    >>> villages = check_layer(load_sample()["villages"], "villages")
    >>> villages["code"].is_unique
    True
    """
    if kind not in LAYER_KINDS:
        raise LayerError(f"unknown layer kind {kind!r}; use one of {sorted(LAYER_KINDS)}")
    spec = LAYER_KINDS[kind]
    label = name or kind
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise LayerError(
            f"{label}: expected a GeoDataFrame, got {type(gdf).__name__}; "
            "read it with gridkit.read_layer or geopandas.read_file"
        )
    if len(gdf) == 0:
        raise EmptyLayerError(f"{label}: the layer is empty; give at least one feature")
    if gdf.crs is None:
        raise MissingCRSError(
            f"{label}: the layer has no CRS; set it with gdf.set_crs('EPSG:4490') "
            "(or the CRS the coordinates are really in), or fix the file's .prj / metadata"
        )
    out = gdf.copy()
    geoms = out.geometry.values
    missing = np.asarray(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if missing.any():
        raise NullGeometryError(
            f"{label}: {int(missing.sum())} row(s) without geometry "
            f"(index {_rows(out.index[missing])}); "
            "drop them (gdf[~gdf.geometry.is_empty & gdf.geometry.notna()]) or give them a geometry"
        )
    check_lonlat(out, label)
    types = np.asarray(shapely.get_type_id(geoms))
    type_names = pd.Series(out.geom_type.values, index=out.index)
    bad = ~type_names.isin(spec.geometry)
    # a repaired polygon may arrive as a collection; those are handled below
    collection = type_names == "GeometryCollection"
    if (bad & ~collection).any():
        found = sorted(type_names[bad & ~collection].unique())
        raise GeometryTypeError(
            f"{label}: expected {'/'.join(spec.geometry)} geometries, found {found} "
            f"(index {_rows(out.index[bad & ~collection])}); {_fix_message(kind, spec.geometry)}"
        )
    del types
    has_z = np.asarray(shapely.has_z(geoms))
    if has_z.any():
        warnings.warn(
            f"{label}: dropped Z coordinates of {int(has_z.sum())} geometr(y/ies)",
            GridkitWarning,
            stacklevel=2,
        )
        geoms = shapely.force_2d(geoms)
    invalid = ~np.asarray(shapely.is_valid(geoms)) | np.asarray(collection)
    if invalid.any():
        reasons = shapely.is_valid_reason(geoms[invalid])
        if strict:
            raise InvalidGeometryError(
                f"{label}: {int(invalid.sum())} invalid geometr(y/ies) (index "
                f"{_rows(out.index[invalid])}, e.g. {reasons[0]}); repair them "
                "(shapely.make_valid) or run without strict mode to repair automatically"
            )
        fixed = shapely.make_valid(geoms[invalid])
        fixed = np.array([_extract(g, spec.geometry) for g in fixed], dtype=object)
        lost = np.array([g is None or g.is_empty for g in fixed])
        if lost.any():
            raise InvalidGeometryError(
                f"{label}: {int(lost.sum())} geometr(y/ies) collapse when repaired "
                f"(index {_rows(out.index[invalid][lost])}); fix or remove them"
            )
        geoms = geoms.copy()
        geoms[invalid] = fixed
        warnings.warn(
            f"{label}: repaired {int(invalid.sum())} invalid geometr(y/ies) with make_valid "
            f"(index {_rows(out.index[invalid])}; e.g. {reasons[0]})",
            GridkitWarning,
            stacklevel=2,
        )
    out = out.set_geometry(gpd.GeoSeries(geoms, index=out.index, crs=out.crs), crs=out.crs)
    if out.geometry.name != gdf.geometry.name:
        out = out.rename_geometry(gdf.geometry.name)
    needed = spec.required if required is None else required
    absent = [c for c in needed if c not in out.columns]
    if absent:
        raise MissingColumnError(
            f"{label}: missing column(s) {absent}; the layer has {list(out.columns)}. "
            f"Rename the right column (gdf.rename(columns={{'old': {absent[0]!r}}})) "
            f"or name it with the matching option. ({spec.hint})"
        )
    key = spec.id_column if id_column is None else (id_column or None)
    if key is not None and key in out.columns:
        dup = out[key].duplicated(keep=False) & out[key].notna()
        if dup.any():
            values = sorted(map(str, out.loc[dup, key].unique()))
            raise DuplicateIdError(
                f"{label}: column {key!r} must be unique but {len(values)} value(s) repeat: "
                f"{values[:5]}; give each feature its own {key}"
            )
    if kind == "entities":
        _check_classes(out, label)
    return out


def _check_classes(out: gpd.GeoDataFrame, label: str) -> None:
    if "risk" in out.columns:
        risk = pd.to_numeric(out["risk"], errors="coerce")
        bad = out["risk"].notna() & ~risk.isin(RISK_CLASSES)
        if bad.any():
            raise InvalidValueError(
                f"{label}: column 'risk' must be 1, 2 or 3 (or empty when unknown); found "
                f"{sorted(map(str, out.loc[bad, 'risk'].unique()))[:5]} at index "
                f"{_rows(out.index[bad])}"
            )
    if "credit" in out.columns:
        grade = out["credit"].astype("string").str.strip().str.upper()
        bad = out["credit"].notna() & ~grade.isin(CREDIT_GRADES)
        if bad.any():
            raise InvalidValueError(
                f"{label}: column 'credit' must be A, B or C (or empty when unknown); found "
                f"{sorted(map(str, out.loc[bad, 'credit'].unique()))[:5]} at index "
                f"{_rows(out.index[bad])}"
            )


def check_staff(df: pd.DataFrame, *, name: str = "staff") -> pd.DataFrame:
    """Check the staff table (columns ``name``, ``phone``, ``grid_id``); a copy."""
    if not isinstance(df, pd.DataFrame):
        raise LayerError(f"{name}: expected a DataFrame, got {type(df).__name__}")
    if len(df) == 0:
        raise EmptyLayerError(f"{name}: the table is empty")
    absent = [c for c in STAFF_COLUMNS if c not in df.columns]
    if absent:
        raise MissingColumnError(
            f"{name}: missing column(s) {absent}; the table has {list(df.columns)}. "
            "A staff table needs one row per person and grid: name, phone, grid_id"
        )
    out = pd.DataFrame(df).copy()
    dup = out.duplicated(["name", "grid_id"], keep=False)
    if dup.any():
        raise DuplicateIdError(
            f"{name}: the same person is listed twice for a grid at rows {_rows(out.index[dup])}"
        )
    return out


@dataclass
class Layers:
    """A checked set of layers in one metric working CRS.

    Attributes
    ----------
    crs
        The working CRS (projected, metres).
    input_crs
        The CRS of the first spatial layer given: outputs go back out in it.
    layers
        The layers by kind, already in ``crs``.
    staff
        The staff table, when given.
    """

    crs: CRS
    input_crs: CRS
    layers: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    staff: pd.DataFrame | None = None

    def __getitem__(self, kind: str) -> gpd.GeoDataFrame:
        return self.layers[kind]

    def get(self, kind: str, default=None):
        return self.layers.get(kind, default)

    def __contains__(self, kind: str) -> bool:
        return kind in self.layers

    def summary(self) -> pd.DataFrame:
        """One row per layer: features, geometry types, total area or length."""
        rows = []
        for kind, gdf in self.layers.items():
            geom = gdf.geometry
            kinds = ", ".join(sorted(geom.geom_type.unique()))
            area = float(geom.area.sum()) if "Polygon" in kinds else np.nan
            length = float(geom.length.sum()) if "Line" in kinds else np.nan
            rows.append({"layer": kind, "features": len(gdf), "geometry": kinds,
                         "area_m2": area, "length_m": length})
        if self.staff is not None:
            rows.append({"layer": "staff", "features": len(self.staff), "geometry": "table",
                         "area_m2": np.nan, "length_m": np.nan})
        return pd.DataFrame(rows)


def load_layers(
    *,
    crs=None,
    strict: bool = False,
    staff=None,
    **sources,
) -> Layers:
    """Read (when given paths), check and reproject a set of layers.

    Parameters
    ----------
    crs
        The metric working CRS; chosen automatically when ``None``
        (see :func:`gridkit.crs.working_crs`).
    strict
        Refuse invalid geometries instead of repairing them.
    staff
        A staff table (DataFrame or path to CSV/XLSX/layer).
    **sources
        ``kind=GeoDataFrame`` or ``kind="PATH[:LAYER]"`` for each kind in
        :data:`LAYER_KINDS`; ``None`` values are skipped.

    Examples
    --------
    >>> from gridkit import sample_path
    >>> layers = load_layers(roads=f"{sample_path()}:roads",
    ...                      jurisdiction=f"{sample_path()}:jurisdiction")
    >>> layers.crs.to_epsg()   # Helsinki: UTM zone 35N
    32635
    """
    unknown = sorted(set(sources) - set(LAYER_KINDS))
    if unknown:
        raise LayerError(f"unknown layer kind(s) {unknown}; use {sorted(LAYER_KINDS)}")
    checked: dict[str, gpd.GeoDataFrame] = {}
    for kind, src in sources.items():
        if src is None:
            continue
        gdf = src if isinstance(src, gpd.GeoDataFrame) else read_layer(src)
        label = kind if isinstance(src, gpd.GeoDataFrame) else f"{kind} ({src})"
        checked[kind] = check_layer(gdf, kind, name=label, strict=strict)
    if not checked:
        raise LayerError("no layer given: pass at least one, e.g. load_layers(roads='roads.gpkg')")
    chosen = working_crs(*checked.values(), crs=crs)
    input_crs = CRS.from_user_input(next(iter(checked.values())).crs)
    projected = {k: to_crs(v, chosen) for k, v in checked.items()}
    table = None
    if staff is not None:
        table = check_staff(staff if isinstance(staff, pd.DataFrame) else read_table(staff))
    return Layers(crs=chosen, input_crs=input_crs, layers=projected, staff=table)
