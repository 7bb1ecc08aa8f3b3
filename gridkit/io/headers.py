"""Chinese column headers of office registers, and their risk and credit spellings.

An office's entity register (市场主体名录, 台账) or staff list names its columns
in Chinese; gridkit's layers use English names (``name``, ``category``,
``risk``, ``credit``, ``households``; staff ``name``, ``phone``, ``grid_id``).
:func:`apply_aliases` renames the recognised headers of a table (only when the
English column is not there already) and writes the risk and credit grades as
gridkit does: ``一类/二类/三类``, ``1-3``, ``高/中/低`` -> 1, 2, 3, ``A级``,
``a`` ... -> ``A``/``B``/``C`` and households (``12户``) as whole numbers. A
value it does not recognise is reported with its rows (a
:class:`~gridkit.errors.GridkitWarning`) and left empty, which gridkit treats
as unknown.
"""

from __future__ import annotations

import logging
import re
import warnings

import pandas as pd

from gridkit.errors import GridkitWarning

__all__ = ["HEADER_ALIASES", "apply_aliases", "risk_class", "credit_grade", "household_count",
           "sheet_rows"]

log = logging.getLogger(__name__)

HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("名称", "企业名称", "主体名称", "单位名称", "姓名"),
    "category": ("类别", "行业", "类型", "行业类别"),
    "risk": ("风险等级", "风险类别", "风险度"),
    "credit": ("信用等级", "信用类别", "信用度"),
    "households": ("户数",),
    "phone": ("电话", "联系电话", "手机", "手机号"),
    "grid_id": ("网格编码", "网格编号"),
    "address": ("地址",),
}
"""gridkit's column -> the headers that mean it, in order of preference."""

_RISK = {"一": 1, "二": 2, "三": 3, "1": 1, "2": 2, "3": 3, "高": 1, "中": 2, "低": 3,
         "I": 1, "II": 2, "III": 3}
_ALLOWED = {"risk": "risk is 1-3, 一类/二类/三类 or 高/中/低", "credit": "credit is A/B/C",
            "households": "households is a whole number (e.g. 12 or 12户)"}
_RISK_SUFFIX = re.compile(r"(风险|类|级|等)+$")


def sheet_rows(index) -> list[int]:
    """Spreadsheet row numbers of table rows: the header is row 1, the first record row 2."""
    return [int(i) + 2 for i in index]


def risk_class(value) -> int | None:
    """A risk class 1-3 from the spellings of registers; ``None`` when not recognised.

    Examples
    --------
    >>> [risk_class(v) for v in ("一类", "2", "高风险", "三级", 3.0, "极高")]
    [1, 2, 1, 3, 3, None]
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value) if value in (1, 2, 3) else None
    text = _RISK_SUFFIX.sub("", str(value).strip()).strip().upper()
    if text.endswith(".0"):
        text = text[:-2]
    return _RISK.get(text)


def credit_grade(value) -> str | None:
    """A credit grade A/B/C (``A级``, ``b``, ``A类``...); ``None`` when not recognised.

    Examples
    --------
    >>> [credit_grade(v) for v in ("A级", "b", "C类", "D")]
    ['A', 'B', 'C', None]
    """
    text = re.sub(r"(级|类|等)+$", "", str(value).strip()).strip().upper()
    return text if text in ("A", "B", "C") else None


def _normalise(out: pd.DataFrame, column: str, func, label: str) -> None:
    present = out[column].notna() & (out[column].astype("string").str.strip() != "")
    values = [func(v) if ok else None for v, ok in zip(out[column], present, strict=True)]
    bad = present & pd.Series([v is None for v in values], index=out.index)
    found = sorted(set(map(str, out.loc[bad, column])))[:5]
    out[column] = pd.array(values, dtype="string" if column == "credit" else "Int64")
    if bad.any():
        rows = sheet_rows(out.index[bad])
        warnings.warn(
            f"{label}: {int(bad.sum())} unknown {column} value(s) {found} left empty (unknown) "
            f"at row(s) {rows[:10]}{' ...' if len(rows) > 10 else ''}; "
            + _ALLOWED[column],
            GridkitWarning, stacklevel=3,
        )


def household_count(value) -> int | None:
    """A household count from a register cell (``12``, ``12户``, ``12.0``); ``None`` if not one.

    Examples
    --------
    >>> [household_count(v) for v in ("12", "12户", " 3.0 ", "-1", "多")]
    [12, 12, 3, None, None]
    """
    text = re.sub(r"户$", "", str(value).strip()).strip()
    try:
        number = float(text)
    except ValueError:
        return None
    return int(number) if number >= 0 and number == int(number) else None


def apply_aliases(df: pd.DataFrame, *, label: str = "table") -> pd.DataFrame:
    """A copy of ``df`` with the recognised Chinese headers renamed and grades normalised.

    Examples
    --------
    >>> import pandas as pd
    >>> t = apply_aliases(pd.DataFrame({"企业名称": ["甲"], "风险等级": ["二类"],
    ...                                 "信用等级": ["A级"]}))
    >>> t.columns.tolist(), int(t["risk"].iloc[0]), t["credit"].iloc[0]
    (['name', 'risk', 'credit'], 2, 'A')
    """
    stripped = {c: str(c).strip() for c in df.columns}
    renames = {}
    for target, aliases in HEADER_ALIASES.items():
        if target in df.columns:
            continue
        found = [c for c in df.columns if stripped[c] in aliases and c not in renames]
        if found:
            found.sort(key=lambda c: aliases.index(stripped[c]))
            renames[found[0]] = target
    out = df.rename(columns=renames)
    if renames:
        log.info("%s: columns %s", label, ", ".join(f"{a} -> {b}" for a, b in renames.items()))
    for column, func in (("risk", risk_class), ("credit", credit_grade),
                         ("households", household_count)):
        if column in out.columns and not pd.api.types.is_integer_dtype(out[column]):
            _normalise(out, column, func, label)
    return out
