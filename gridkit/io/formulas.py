"""Cells a spreadsheet would run as formulas, made plain text (OWASP, CSV injection).

Every CSV gridkit writes goes through :func:`quote_formulas`
(:func:`gridkit.io.files.write_csv` and :func:`gridkit.publish.tables.write_table`);
XLSX cells that look like formulas are stored as text.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["FORMULA_START", "formula_like", "quote_formulas"]

#: A spreadsheet reads a cell starting with one of these as a formula (OWASP, CSV injection)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def formula_like(value) -> bool:
    """True for text a spreadsheet would take for a formula."""
    return isinstance(value, str) and value.startswith(FORMULA_START)


def quote_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells (and headers) a spreadsheet would run start with ``'``.

    For any CSV gridkit writes from data (OWASP's advice against CSV
    injection): ``=``, ``+``, ``-``, ``@``, tab and carriage return at the
    start of a text cell; numbers are left alone.

    >>> quote_formulas(pd.DataFrame({"name": ["=1+1", "Li"], "n": [-1, 2]})).to_dict("list")
    {'name': ["'=1+1", 'Li'], 'n': [-1, 2]}
    """
    out = df.copy()
    for c in out.columns:
        if not pd.api.types.is_numeric_dtype(out[c]):
            out[c] = out[c].map(lambda v: f"'{v}" if formula_like(v) else v)
    out.columns = [f"'{c}" if formula_like(c) else c for c in out.columns]
    return out
