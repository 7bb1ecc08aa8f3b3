"""Per-grid figures and the responsibility table (网格责任表) for publication.

:func:`grid_stats` fills in what a published grid shows (area, households,
entities by risk class and inspection regime, workload) from whatever is at
hand: the grids' own columns first, then the units assignment of the
partition, then the entities and buildings layers. :func:`responsibility_table`
makes the table, one row per grid sorted by code, with the persons
responsible and their phones; :func:`write_table` writes it as CSV (UTF-8
with BOM, so spreadsheet programs read the Chinese) or XLSX.
"""

from __future__ import annotations

import io
import logging
import os
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from gridkit.crs import to_crs, working_crs
from gridkit.errors import GridkitWarning, InvalidValueError, MissingColumnError
from gridkit.io.atomic import staged
from gridkit.io.formulas import formula_like, quote_formulas
from gridkit.layers import check_layer, check_staff

__all__ = [
    "STAT_COLUMNS",
    "TABLE_HEADERS",
    "grid_keys",
    "grid_stats",
    "staff_by_grid",
    "responsibility_table",
    "write_table",
    "quote_formulas",
]

log = logging.getLogger(__name__)

COUNT_COLUMNS = [
    "households",
    "entities",
    "entities_risk1",
    "entities_risk2",
    "entities_risk3",
    "entities_key",
    "entities_general",
    "entities_exempt",
]
STAT_COLUMNS = ["area_m2", *COUNT_COLUMNS, "workload_min"]

TABLE_HEADERS = {
    "grid_code": "网格编码",
    "grid_id": "网格标识",
    "village_code": "村/社区代码",
    "village_name": "村/社区",
    "area_m2": "面积(平方米)",
    "households": "户数",
    "entities": "主体户数",
    "entities_risk1": "一类风险",
    "entities_risk2": "二类风险",
    "entities_risk3": "三类风险",
    "entities_key": "重点巡查",
    "entities_general": "一般巡查",
    "entities_exempt": "免检",
    "workload_min": "月工作量(分钟)",
    "persons": "责任人",
    "phones": "联系电话",
}


def grid_keys(grids: pd.DataFrame) -> pd.Series:
    """Each grid's ``grid_id`` as text; "1", "2", ... by position when there is none."""
    if "grid_id" in grids.columns:
        return grids["grid_id"].astype(str)
    return pd.Series((np.arange(len(grids)) + 1).astype(str), index=grids.index)


def _regimes(entities: gpd.GeoDataFrame) -> pd.Series | None:
    """Each entity's inspection regime (key/general/exempt), when it can be known."""
    if "regime" in entities.columns:
        return entities["regime"].astype(str)
    try:  # issue 3's policy table; absent or unusable -> no regime columns
        from gridkit.workload import classify_entities
    except ImportError:
        return None
    try:
        return classify_entities(entities)["regime"].astype(str)
    except Exception as exc:  # noqa: BLE001 - any failure only drops optional columns
        log.info("entities not classified into regimes: %s", exc)
        return None


def _counts_from_layers(
    metric: gpd.GeoDataFrame, keys: pd.Series, entities, buildings, crs
) -> pd.DataFrame:
    out = pd.DataFrame(index=keys.to_numpy())
    cells = gpd.GeoDataFrame({"_key": keys.to_numpy()}, geometry=metric.geometry.values, crs=crs)
    if entities is not None:
        ent = to_crs(check_layer(entities, "entities"), crs)
        regime = _regimes(ent)
        ent = gpd.GeoDataFrame(
            {
                "risk": pd.to_numeric(ent["risk"], errors="coerce") if "risk" in ent else np.nan,
                "regime": regime.to_numpy() if regime is not None else None,
            },
            geometry=ent.geometry.values,
            crs=crs,
        )
        joined = gpd.sjoin(ent, cells, predicate="intersects", how="inner")
        joined = joined[~joined.index.duplicated()]  # a point on a shared edge counts once
        out["entities"] = joined.groupby("_key").size()
        for r in (1, 2, 3):
            out[f"entities_risk{r}"] = joined[joined["risk"] == r].groupby("_key").size()
        if regime is not None:
            for name in ("key", "general", "exempt"):
                out[f"entities_{name}"] = joined[joined["regime"] == name].groupby("_key").size()
    if buildings is not None:
        bld = to_crs(check_layer(buildings, "buildings"), crs)
        if "households" in bld.columns:
            pts = gpd.GeoDataFrame(
                {"households": pd.to_numeric(bld["households"], errors="coerce").fillna(0)},
                geometry=bld.geometry.representative_point().values,
                crs=crs,
            )
            joined = gpd.sjoin(pts, cells, predicate="intersects", how="inner")
            joined = joined[~joined.index.duplicated()]
            out["households"] = joined.groupby("_key")["households"].sum()
    return out.fillna(0)


def grid_stats(
    grids: gpd.GeoDataFrame,
    *,
    assignment: pd.DataFrame | None = None,
    entities: gpd.GeoDataFrame | None = None,
    buildings: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """A copy of ``grids`` with the published figures (:data:`STAT_COLUMNS`).

    A column the grids already carry is kept. A missing one is summed from
    ``assignment`` (the partition's units with ``grid_id``), else counted from
    ``entities`` (points within each grid, by ``risk`` and by regime) and
    ``buildings`` (``households`` at each footprint's representative point).
    ``area_m2`` is measured in the metric working CRS. Columns that no source
    provides stay absent.

    Examples
    --------
    >>> import gridkit as gk
    >>> s = gk.load_sample()
    >>> g = grid_stats(s["villages"], entities=s["entities"])
    >>> int(g["entities"].sum()) == len(s["entities"])
    True
    """
    grids = check_layer(
        grids, "grids", id_column="grid_id" if "grid_id" in grids.columns else "", required=()
    )
    crs = working_crs(grids)
    metric = to_crs(grids, crs)
    out = grids.copy()
    keys = grid_keys(out)
    if "area_m2" not in out.columns:
        out["area_m2"] = metric.area.to_numpy()
    missing = [c for c in COUNT_COLUMNS + ["workload_min"] if c not in out.columns]
    if missing and assignment is not None:
        if "grid_id" not in assignment.columns or "grid_id" not in out.columns:
            raise MissingColumnError(
                "assignment: summing units per grid needs `grid_id` in both the grids and the "
                "assignment (the partition's result.assignment)"
            )
        have = [c for c in missing if c in assignment.columns]
        sums = pd.DataFrame(assignment).groupby(assignment["grid_id"].astype(str))[have].sum()
        for c in have:
            out[c] = keys.map(sums[c]).fillna(0).to_numpy()
        missing = [c for c in missing if c not in have]
    if missing and (entities is not None or buildings is not None):
        counts = _counts_from_layers(metric, keys, entities, buildings, crs)
        for c in missing:
            if c in counts.columns:
                out[c] = keys.map(counts[c]).fillna(0).astype(int).to_numpy()
    return out


def staff_by_grid(staff: pd.DataFrame | None, grid_ids) -> pd.DataFrame:
    """``persons`` and ``phones`` (joined with "; ") per grid id, in staff-table order."""
    ids = pd.Index(pd.Series(list(grid_ids), dtype=str))
    empty = pd.DataFrame({"persons": "", "phones": ""}, index=ids)
    if staff is None:
        return empty
    table = check_staff(staff)
    table = table.assign(
        grid_id=table["grid_id"].astype(str).str.strip(),
        name=table["name"].fillna("").astype(str).str.strip(),
        phone=table["phone"].fillna("").astype(str).str.strip(),
    )
    unknown = sorted(set(table["grid_id"]) - set(ids))
    if unknown:
        warnings.warn(
            f"staff: {len(unknown)} grid id(s) match no grid: {unknown[:5]}; "
            "those persons are left out",
            GridkitWarning,
            stacklevel=3,
        )
    grouped = table.groupby("grid_id", sort=False).agg(
        persons=("name", "; ".join), phones=("phone", "; ".join)
    )
    out = empty.copy()
    found = grouped.index.intersection(ids)
    out.loc[found, ["persons", "phones"]] = grouped.loc[found, ["persons", "phones"]].to_numpy()
    nobody = list(out.index[out["persons"] == ""])
    if nobody:
        warnings.warn(
            f"staff: {len(nobody)} grid(s) have nobody responsible: {nobody[:5]}",
            GridkitWarning,
            stacklevel=3,
        )
    return out


def responsibility_table(
    grids: gpd.GeoDataFrame,
    *,
    staff: pd.DataFrame | None = None,
    assignment: pd.DataFrame | None = None,
    entities: gpd.GeoDataFrame | None = None,
    buildings: gpd.GeoDataFrame | None = None,
    villages: gpd.GeoDataFrame | None = None,
) -> pd.DataFrame:
    """The responsibility table: one row per grid, sorted by ``grid_code``.

    Columns (those with a source): ``grid_code``, ``grid_id``,
    ``village_code``, ``village_name``, ``area_m2``, ``households``,
    ``entities``, ``entities_risk1/2/3``, ``entities_key/general/exempt``,
    ``workload_min``, ``persons``, ``phones``. Figures come from
    :func:`grid_stats`; persons from ``staff`` (``name``, ``phone``,
    ``grid_id``); village names from ``villages`` (``code``, ``name``).
    Grids without ``grid_code`` are sorted by ``grid_id``.

    Examples
    --------
    >>> import gridkit as gk
    >>> s = gk.load_sample()
    >>> grids = s["villages"].rename(columns={"code": "village_code"})
    >>> grids["grid_id"] = grids["village_code"]
    >>> t = responsibility_table(gk.assign_codes(grids), entities=s["entities"])
    >>> t["grid_code"].is_monotonic_increasing
    True
    """
    stats = grid_stats(grids, assignment=assignment, entities=entities, buildings=buildings)
    table = pd.DataFrame(stats.drop(columns=stats.geometry.name))
    keys = grid_keys(stats)
    if "grid_id" not in table.columns:
        table["grid_id"] = keys.to_numpy()
    if villages is not None and "village_code" in table.columns and "name" in villages.columns:
        names = pd.Series(villages["name"].to_numpy(), index=villages["code"].astype(str))
        table["village_name"] = table["village_code"].astype(str).map(names).fillna("")
    people = staff_by_grid(staff, keys)
    table["persons"] = people["persons"].to_numpy()
    table["phones"] = people["phones"].to_numpy()
    columns = [c for c in TABLE_HEADERS if c in table.columns]
    table = table[columns]
    if "area_m2" in table:
        table["area_m2"] = table["area_m2"].astype(float).round(0).astype("int64")
    for c in COUNT_COLUMNS:
        if c in table:
            table[c] = pd.to_numeric(table[c], errors="coerce").fillna(0).round().astype("int64")
    if "workload_min" in table:
        table["workload_min"] = pd.to_numeric(table["workload_min"], errors="coerce").round(1)
    sort = "grid_code" if "grid_code" in table.columns else "grid_id"
    return table.sort_values(sort, kind="mergesort").reset_index(drop=True)


def write_table(table: pd.DataFrame, path: str | os.PathLike, *, headers: str = "both") -> Path:
    """Write the responsibility table as ``.csv`` or ``.xlsx``.

    Parameters
    ----------
    table
        From :func:`responsibility_table`.
    path
        Ends in ``.csv`` (UTF-8 with BOM) or ``.xlsx``.
    headers
        ``"both"`` (``网格编码 grid_code``, default), ``"zh"`` or ``"en"``.

    Text that a spreadsheet program would run as a formula (a name or phone
    starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) is
    neutralised as OWASP recommends for CSV injection: in CSV the cell
    starts with a single quote (``'+86 138...``, which spreadsheet programs
    show as the text); in XLSX the cell is stored as text, unchanged, with
    Excel's quote prefix. The file is written through
    :func:`gridkit.io.atomic.staged`: an existing file is replaced only when
    the new one is complete.

    Examples
    --------
    >>> import pandas as pd, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "t.csv")
    >>> p = write_table(pd.DataFrame({"grid_code": ["1"]}), path)
    >>> p.read_text(encoding="utf-8-sig").splitlines()[0]
    '网格编码 grid_code'
    """
    if headers not in ("both", "zh", "en"):
        raise InvalidValueError(f"unknown `headers` {headers!r}; use 'both', 'zh' or 'en'")
    path = Path(path)
    out = table.copy()
    if headers != "en":
        out.columns = [
            (f"{TABLE_HEADERS[c]} {c}" if headers == "both" else TABLE_HEADERS[c])
            if c in TABLE_HEADERS
            else c
            for c in out.columns
        ]
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise InvalidValueError(f"cannot write a table to {path.name!r}: use a .csv or .xlsx name")
    with staged() as files, files.writing(path) as tmp:  # old file kept until complete
        if suffix == ".csv":
            # CRLF rows (RFC 4180): a value holding a line break is quoted, never splits a row
            quote_formulas(out).to_csv(
                tmp, index=False, encoding="utf-8-sig", lineterminator="\r\n"
            )
        else:
            _write_xlsx(out, tmp)
    log.info("wrote %s (%d rows)", path, len(out))
    return path


def _text_cells(sheet) -> None:
    """Store formula-like text as text (quote-prefixed), never as a live formula."""
    for row in sheet.iter_rows():
        for cell in row:
            if formula_like(cell.value):
                cell.data_type = "s"
                cell.quotePrefix = True


def _write_xlsx(df: pd.DataFrame, path: Path) -> None:
    """Build the workbook in memory, then write it in one go (an error is never masked)."""
    buffer = io.BytesIO()
    writer = pd.ExcelWriter(buffer, engine="openpyxl")
    df.to_excel(writer, index=False, sheet_name="网格责任表")
    _format_sheet(writer.sheets["网格责任表"], df)
    writer.close()
    path.write_bytes(buffer.getvalue())


def _format_sheet(sheet, df: pd.DataFrame) -> None:
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    sheet.freeze_panes = "A2"
    _text_cells(sheet)
    for i, column in enumerate(df.columns, start=1):
        sheet.cell(row=1, column=i).font = Font(bold=True)
        values = [str(column)] + [str(v) for v in df[column].head(200)]
        # CJK characters are about two columns wide
        width = max(sum(2 if ord(ch) > 0x2E80 else 1 for ch in v) for v in values)
        sheet.column_dimensions[get_column_letter(i)].width = min(max(width + 2, 8), 60)
        if not pd.api.types.is_numeric_dtype(df[column]):
            for row in range(2, len(df) + 2):  # codes and phones stay text, no 1.2E+14
                sheet.cell(row=row, column=i).number_format = "@"
