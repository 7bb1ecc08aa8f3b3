"""Requirements per grid or village: "at least N of X" and "in at least S% of them".

The plans set rules such as "every village has at least one public
fire-equipment point", "a hydrant or fire pool in at least 80% of villages"
or "at least 3 staff per small grid". A requirements table lists them; each
row counts the features of a layer (optionally filtered by a column's values)
in each village or grid, and :func:`check_requirements` reports every unmet
one as an issue of kind ``requirement_unmet`` with the area and the numbers.

The table is TOML::

    [[requirement]]
    id = "fire-equipment"
    description = "at least 1 public fire-equipment point per village"
    per = "village"            # or "grid"
    layer = "entities"         # a layer passed to check_requirements, or "staff"
    where = { category = ["fire_extinguisher", "fire_hydrant"] }
    at_least = 1

    [[requirement]]
    id = "hydrant-80"
    per = "village"
    layer = "entities"
    where = { category = ["fire_hydrant", "fire_pool"] }
    at_least = 1
    share = 0.8                # 80% of the villages must meet it, not every one

or CSV with the columns ``id, description, per, layer, column, values,
at_least, share, sum`` (``values`` separated by ``|``). ``sum = "households"``
adds up a column instead of counting features.
"""

from __future__ import annotations

import csv
import logging
import math
import os
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridkit.crs import to_crs, working_crs
from gridkit.errors import InvalidValueError, MissingColumnError, RequirementsError
from gridkit.layers import check_layer, check_staff

__all__ = [
    "Requirement",
    "RequirementsReport",
    "RequirementsError",
    "load_requirements",
    "check_requirements",
    "REQUIREMENT_ISSUE",
]

log = logging.getLogger(__name__)

REQUIREMENT_ISSUE = "requirement_unmet"
_PER = ("village", "grid")
_KEYS = {"id", "description", "per", "layer", "where", "at_least", "share", "sum"}


@dataclass(frozen=True)
class Requirement:
    """One rule: at least ``at_least`` of ``layer`` (filtered by ``where``) per
    ``per`` area; with ``share``, only that share of the areas must meet it.

    Examples
    --------
    >>> Requirement("staff-3", per="grid", layer="staff", at_least=3).describe()
    'at least 3 staff per grid'
    """

    id: str
    per: str
    layer: str
    at_least: float = 1
    where: Mapping[str, tuple] = field(default_factory=dict)
    share: float | None = None
    sum: str | None = None
    description: str = ""

    def __post_init__(self):
        label = f"requirement {self.id!r}"
        if self.per not in _PER:
            raise RequirementsError(f"{label}: `per` must be one of {_PER}, got {self.per!r}")
        if not self.layer:
            raise RequirementsError(f"{label}: name the `layer` whose features are counted")
        if not (isinstance(self.at_least, (int, float)) and self.at_least >= 0):
            raise RequirementsError(
                f"{label}: `at_least` must be a number >= 0, got {self.at_least!r}"
            )
        if self.share is not None and not (0 < self.share <= 1):
            raise RequirementsError(
                f"{label}: `share` must be a fraction in (0, 1] (80% is 0.8), got {self.share!r}"
            )

    def describe(self) -> str:
        if self.description:
            return self.description
        what = (
            self.layer
            if not self.where
            else (" or ".join(str(v) for vals in self.where.values() for v in vals) or self.layer)
        )
        n = int(self.at_least) if float(self.at_least).is_integer() else self.at_least
        what = f"{self.sum} of {what}" if self.sum else what
        text = f"at least {n} {what} per {self.per}"
        if self.share is not None:
            text += f" in {self.share:.0%} of {self.per}s"
        return text


def _values(v) -> tuple:
    if isinstance(v, (list, tuple, set)):
        return tuple(str(x) for x in v)
    return (str(v),)


def _from_dict(d: Mapping, where_from: str) -> Requirement:
    unknown = sorted(set(d) - _KEYS - {"column", "values"})
    if unknown:
        raise RequirementsError(f"{where_from}: unknown key(s) {unknown}; allowed: {sorted(_KEYS)}")
    for key in ("id", "per", "layer"):
        if not d.get(key):
            raise RequirementsError(f"{where_from}: missing `{key}`")
    where = {str(k): _values(v) for k, v in dict(d.get("where") or {}).items()}
    if d.get("column"):
        vals = d.get("values")
        if vals is None or (isinstance(vals, float) and math.isnan(vals)) or vals == "":
            raise RequirementsError(
                f"{where_from}: `column` {d['column']!r} given without `values`"
            )
        where[str(d["column"])] = _values(vals.split("|") if isinstance(vals, str) else vals)

    def num(key, default):
        value = d.get(key, default)
        if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
            return default
        try:
            return float(value)
        except (TypeError, ValueError):
            raise RequirementsError(
                f"{where_from}: `{key}` must be a number, got {value!r}"
            ) from None

    share = num("share", None)
    if share is not None and share > 1:  # "80" meaning 80%
        share = share / 100.0
    total = d.get("sum") or None
    return Requirement(
        id=str(d["id"]),
        per=str(d["per"]).strip().lower(),
        layer=str(d["layer"]),
        at_least=num("at_least", 1),
        where=where,
        share=share,
        sum=str(total) if total else None,
        description=str(d.get("description") or ""),
    )


def load_requirements(source) -> list[Requirement]:
    """Read a requirements table (TOML or CSV path), or check a list of dicts.

    Examples
    --------
    >>> rules = load_requirements([{"id": "s3", "per": "grid", "layer": "staff", "at_least": 3}])
    >>> rules[0].at_least
    3.0
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise RequirementsError(f"requirements file {os.fspath(path)!r} does not exist")
        suffix = path.suffix.lower()
        if suffix == ".toml":
            try:
                data = tomllib.loads(path.read_text(encoding="utf-8"))
            except tomllib.TOMLDecodeError as exc:
                raise RequirementsError(f"{path}: not valid TOML: {exc}") from None
            rows = data.get("requirement", data.get("requirements"))
            if not isinstance(rows, list) or not rows:
                raise RequirementsError(
                    f"{path}: no [[requirement]] tables; write one [[requirement]] per rule"
                )
            return [_from_dict(r, f"{path} requirement {i + 1}") for i, r in enumerate(rows)]
        if suffix == ".csv":
            with path.open(newline="", encoding="utf-8-sig") as fh:
                rows = list(csv.DictReader(fh))
            if not rows:
                raise RequirementsError(f"{path}: the table has no rows")
            return [
                _from_dict(
                    {
                        k.strip(): (v.strip() if isinstance(v, str) else v)
                        for k, v in r.items()
                        if k
                    },
                    f"{path} row {i + 2}",
                )
                for i, r in enumerate(rows)
            ]
        raise RequirementsError(f"{path}: requirements must be .toml or .csv, got {suffix!r}")
    if isinstance(source, Requirement):
        return [source]
    if isinstance(source, Iterable):
        out = []
        for i, r in enumerate(source):
            out.append(r if isinstance(r, Requirement) else _from_dict(r, f"requirement {i + 1}"))
        return out
    raise RequirementsError(
        f"requirements: expected a path, a list of dicts or Requirements, got "
        f"{type(source).__name__}"
    )


@dataclass
class RequirementsReport:
    """What :func:`check_requirements` found.

    Attributes
    ----------
    table
        One row per requirement and area: ``requirement``, ``per``,
        ``area_id``, ``found``, ``required``, ``met``.
    rules
        One row per requirement: ``requirement``, ``description``, ``areas``,
        ``areas_met``, ``share_met``, ``share_required``, ``met``.
    issues
        One row per unmet requirement and area (for a ``share`` rule, one
        row for the whole rule with the failing areas' union as geometry):
        ``kind`` (``"requirement_unmet"``), ``requirement``, ``per``,
        ``area_id``, ``found``, ``required``, ``detail`` and the columns of
        the coverage report (``grids``, ``feature``...), in the areas' CRS.
    """

    table: pd.DataFrame
    rules: pd.DataFrame
    issues: gpd.GeoDataFrame

    @property
    def met(self) -> bool:
        return len(self.issues) == 0

    @property
    def summary(self) -> str:
        n, bad = len(self.rules), int((~self.rules["met"]).sum()) if len(self.rules) else 0
        return f"{n - bad} of {n} requirement(s) met; {len(self.issues)} unmet in an area"


def _count_in(
    areas: gpd.GeoDataFrame, feats: gpd.GeoDataFrame, weights: np.ndarray | None
) -> np.ndarray:
    """Count (or sum ``weights`` of) features in each area by their representative point."""
    if len(feats) == 0:
        return np.zeros(len(areas))
    pts = shapely.point_on_surface(feats.geometry.to_numpy())
    tree = shapely.STRtree(areas.geometry.to_numpy())
    pi, ai = tree.query(pts, predicate="intersects")
    first = np.unique(pi, return_index=True)[1]  # a point on a shared edge counts once
    pi, ai = pi[first], ai[first]
    w = np.ones(len(pi)) if weights is None else weights[pi]
    return np.bincount(ai, weights=w, minlength=len(areas))


def _filtered(df: pd.DataFrame, rule: Requirement, label: str) -> pd.DataFrame:
    mask = np.ones(len(df), dtype=bool)
    for col, vals in rule.where.items():
        if col not in df.columns:
            raise MissingColumnError(
                f"requirement {rule.id!r}: layer {label!r} has no column {col!r} to filter on "
                f"(it has {[c for c in df.columns if c != 'geometry']})"
            )
        mask &= df[col].astype("string").isin(vals).fillna(False).to_numpy()
    return df[mask]


def check_requirements(
    requirements,
    *,
    villages: gpd.GeoDataFrame | None = None,
    grids: gpd.GeoDataFrame | None = None,
    staff: pd.DataFrame | None = None,
    crs=None,
    **layers: gpd.GeoDataFrame,
) -> RequirementsReport:
    """Check a requirements table against villages or grids.

    Parameters
    ----------
    requirements
        A TOML/CSV path, a list of dicts or of :class:`Requirement` (see
        :func:`load_requirements` and the module doc).
    villages
        Village polygons with ``code`` (for ``per = "village"``).
    grids
        Grid polygons with ``grid_id`` (for ``per = "grid"``, and for staff
        per village when they carry ``village_code``).
    staff
        The staff table (``name``, ``phone``, ``grid_id``): ``layer = "staff"``
        counts rows per grid, not by location.
    crs
        Metric working CRS (default: chosen by :func:`gridkit.crs.working_crs`).
    **layers
        The layers the rules name (``entities=...``, ``facilities=...``,
        ``hydrants=...``). Never modified.

    Returns
    -------
    RequirementsReport

    Examples
    --------
    >>> import gridkit as gk
    >>> s = gk.load_sample()
    >>> rule = {"id": "pharmacy", "per": "village", "layer": "entities",
    ...         "where": {"category": ["pharmacy"]}, "at_least": 1}
    >>> report = gk.check_requirements([rule], villages=s["villages"], entities=s["entities"])
    >>> sorted(report.issues["kind"].unique())
    ['requirement_unmet']
    """
    rules = load_requirements(requirements)
    ids = [r.id for r in rules]
    if len(set(ids)) != len(ids):
        raise RequirementsError(
            f"requirement ids must be unique; repeated: "
            f"{sorted({i for i in ids if ids.count(i) > 1})}"
        )
    v = check_layer(villages, "villages") if villages is not None else None
    g = (
        check_layer(grids, "grids", required=("grid_id",), id_column="grid_id")
        if grids is not None
        else None
    )
    checked = {
        k: check_layer(df, "entities" if k == "entities" else _kind_for(df), name=k, id_column="")
        for k, df in layers.items()
        if df is not None
    }
    st = check_staff(staff) if staff is not None else None
    spatial = [x for x in [v, g, *checked.values()] if x is not None]
    if not spatial:
        raise InvalidValueError(
            "check_requirements: give `villages` and/or `grids` to check against"
        )
    wcrs = working_crs(*spatial, crs=crs)
    out_crs = (v if v is not None else g).crs
    areas_for = {
        "village": (to_crs(v, wcrs), "code") if v is not None else None,
        "grid": (to_crs(g, wcrs), "grid_id") if g is not None else None,
    }
    metric = {k: to_crs(df, wcrs) for k, df in checked.items()}

    table_rows, rule_rows, issues = [], [], []
    for rule in rules:
        target = areas_for[rule.per]
        if target is None:
            raise InvalidValueError(
                f"requirement {rule.id!r} is per {rule.per} but no {rule.per}s were given; "
                f"pass `{rule.per}s=`"
            )
        areas, key = target
        found = _found(rule, areas, key, metric, st, g, wcrs)
        met = found >= rule.at_least
        area_ids = areas[key].astype(str).to_numpy()
        for a, f, m in zip(area_ids, found, met, strict=True):
            table_rows.append(
                {
                    "requirement": rule.id,
                    "per": rule.per,
                    "area_id": a,
                    "found": float(f),
                    "required": float(rule.at_least),
                    "met": bool(m),
                }
            )
        share = float(met.mean()) if len(met) else float("nan")
        rule_ok = bool(met.all()) if rule.share is None else share >= rule.share - 1e-12
        rule_rows.append(
            {
                "requirement": rule.id,
                "description": rule.describe(),
                "per": rule.per,
                "areas": len(met),
                "areas_met": int(met.sum()),
                "share_met": share,
                "share_required": rule.share if rule.share is not None else 1.0,
                "met": rule_ok,
            }
        )
        if rule.share is None:
            for i in np.flatnonzero(~met):
                issues.append(_issue(rule, areas, key, i, found[i]))
        elif not rule_ok:
            bad = np.flatnonzero(~met)
            geom = shapely.union_all(areas.geometry.to_numpy()[bad]) if len(bad) else None
            issues.append(
                {
                    "kind": REQUIREMENT_ISSUE,
                    "requirement": rule.id,
                    "per": rule.per,
                    "area_id": "*",
                    "found": share,
                    "required": rule.share,
                    "detail": (
                        f"{rule.describe()}: met in {int(met.sum())} of {len(met)} {rule.per}s "
                        f"({share:.0%} < {rule.share:.0%}); not met in "
                        f"{', '.join(area_ids[bad][:8])}{' ...' if len(bad) > 8 else ''}"
                    ),
                    "grids": list(area_ids[bad]) if rule.per == "grid" else [],
                    "feature": rule.id,
                    "geometry": geom,
                }
            )
    issue_cols = [
        "kind",
        "requirement",
        "per",
        "area_id",
        "found",
        "required",
        "detail",
        "grids",
        "feature",
        "area",
        "width",
        "x",
        "y",
        "sliver",
        "geometry",
    ]
    iss = gpd.GeoDataFrame(
        pd.DataFrame(
            issues,
            columns=[c for c in issue_cols if c not in ("area", "width", "x", "y", "sliver")],
        ),
        geometry="geometry",
        crs=wcrs,
    )
    iss["area"] = iss.geometry.area if len(iss) else []
    iss["width"] = np.nan
    rp = iss.geometry.representative_point() if len(iss) else gpd.GeoSeries([], crs=wcrs)
    iss["x"] = rp.x.to_numpy() if len(iss) else []
    iss["y"] = rp.y.to_numpy() if len(iss) else []
    iss["sliver"] = False
    iss = iss[issue_cols].to_crs(out_crs)
    if len(iss):  # x/y in the output CRS, like the coverage report
        rp = iss.geometry.representative_point()
        iss["x"], iss["y"] = rp.x.to_numpy(), rp.y.to_numpy()
    report = RequirementsReport(
        table=pd.DataFrame(table_rows), rules=pd.DataFrame(rule_rows), issues=iss
    )
    log.info("requirements: %s", report.summary)
    return report


def _kind_for(df) -> str:
    types = set(df.geom_type.dropna().unique()) if isinstance(df, gpd.GeoDataFrame) else set()
    if types and types <= {"Point"}:
        return "facilities"
    if types and types <= {"Polygon", "MultiPolygon", "Point"}:
        return "buildings"
    return "roads" if types and types <= {"LineString", "MultiLineString"} else "buildings"


def _found(rule, areas, key, metric, staff, grids, wcrs) -> np.ndarray:
    if rule.layer == "staff":
        if staff is None:
            raise InvalidValueError(
                f"requirement {rule.id!r} counts staff but no `staff` table was given"
            )
        rows = _filtered(staff, rule, "staff")
        w = (
            pd.to_numeric(rows[rule.sum], errors="coerce").fillna(0)
            if rule.sum
            else pd.Series(1.0, index=rows.index)
        )
        per_grid = w.groupby(rows["grid_id"].astype(str)).sum()
        if rule.per == "grid":
            return areas[key].astype(str).map(per_grid).fillna(0).to_numpy(dtype=float)
        if grids is None or "village_code" not in grids.columns:
            raise InvalidValueError(
                f"requirement {rule.id!r}: staff per village needs `grids` "
                "with a `village_code` column"
            )
        village_of = grids.set_index(grids["grid_id"].astype(str))["village_code"].astype(str)
        per_village = per_grid.groupby(per_grid.index.map(village_of)).sum()
        return areas[key].astype(str).map(per_village).fillna(0).to_numpy(dtype=float)
    if rule.layer not in metric:
        given = sorted(metric) + (["staff"] if staff is not None else [])
        raise InvalidValueError(
            f"requirement {rule.id!r} counts layer {rule.layer!r} but it was not given; "
            f"pass {rule.layer}=... (given: {given})"
        )
    feats = _filtered(metric[rule.layer], rule, rule.layer)
    weights = None
    if rule.sum:
        if rule.sum not in feats.columns:
            raise MissingColumnError(
                f"requirement {rule.id!r}: layer {rule.layer!r} has no column {rule.sum!r} to sum"
            )
        weights = pd.to_numeric(feats[rule.sum], errors="coerce").fillna(0).to_numpy(dtype=float)
    return _count_in(areas, feats, weights)


def _issue(rule, areas, key, i, found) -> dict:
    area_id = str(areas[key].iloc[i])
    name = (
        f" ({areas['name'].iloc[i]})"
        if "name" in areas.columns and pd.notna(areas["name"].iloc[i])
        else ""
    )
    f = int(found) if float(found).is_integer() else round(float(found), 2)
    req = int(rule.at_least) if float(rule.at_least).is_integer() else rule.at_least
    return {
        "kind": REQUIREMENT_ISSUE,
        "requirement": rule.id,
        "per": rule.per,
        "area_id": area_id,
        "found": float(found),
        "required": float(rule.at_least),
        "detail": f"{rule.per} {area_id}{name}: {f} found, {req} required ({rule.describe()})",
        "grids": [area_id] if rule.per == "grid" else [],
        "feature": rule.id,
        "geometry": areas.geometry.iloc[i],
    }
