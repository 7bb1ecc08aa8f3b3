"""Grid sequence numbers and ids: west to east, north to south inside each village.

One ordering serves both the ids :func:`gridkit.grids.partition` gives its
grids and the codes :func:`gridkit.publish.assign_codes` writes, so a grid has
one identity from the partition to the poster.

Numbering inside a village ("从西到东、从北到南"): the village's grids are cut
into horizontal rows of ``row_height`` metres counted down from the northern
edge of its grids; a grid belongs to the row holding its centroid; rows are
numbered north to south and, inside a row, grids west to east by centroid.
``row_height`` defaults to the square root of the median area of the village's
grids (about one grid's height), so a city of 200 m grids and a county of 5 km
grids both get sensible rows, and numbering one village never depends on
another.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import shapely

#: Digits of a village/community division code (6 county + 3 town + 3 village).
VILLAGE_DIGITS = 12
#: Digits of the grid sequence in the 15-digit code.
SEQUENCE_DIGITS = 3


def village_order(geoms, ids=None, *, row_height: float | None = None) -> np.ndarray:
    """Positions of one village's grids (metric geometries) in numbering order.

    Ties (same row and x) go north first, then by ``ids`` (default: position).

    Examples
    --------
    >>> from shapely.geometry import box
    >>> village_order([box(10, 0, 20, 10), box(0, 0, 10, 10), box(0, 10, 10, 20)]).tolist()
    [2, 1, 0]
    """
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) == 0:
        return np.zeros(0, dtype=int)
    cent = shapely.get_coordinates(shapely.centroid(geoms))
    height = row_height if row_height is not None else float(
        np.sqrt(np.median(shapely.area(geoms))))
    height = max(height, 1e-6) if np.isfinite(height) else 1.0
    top = float(shapely.total_bounds(geoms)[3])
    key = pd.DataFrame({
        "row": np.floor((top - cent[:, 1]) / height).astype(int),
        "x": cent[:, 0],
        "y": -cent[:, 1],
        "id": np.arange(len(geoms)) if ids is None else np.asarray(ids, dtype=str),
    })
    return key.sort_values(["row", "x", "y", "id"], kind="mergesort").index.to_numpy()


def is_village_code(code) -> bool:
    """True for a 12-digit division code given as text."""
    return isinstance(code, str) and re.fullmatch(rf"\d{{{VILLAGE_DIGITS}}}", code) is not None


def grid_ids(village_codes, geoms, *, nested: bool = True) -> list[str]:
    """One id per grid (metric geometries), numbered in each village by :func:`village_order`.

    - a village with a 12-digit code: the standard 15-digit code, the village's
      code followed by a 3-digit sequence (``000091001002001``);
    - the fallback, for any other village code (or a village of more than 999
      grids): ``{village}-{seq:03d}`` (``a-001``);
    - without nesting (``nested=False``): ``G001``, ``G002`` ... over all grids.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> grid_ids(["000091001002", "000091001002", "a"],
    ...          [box(10, 0, 20, 10), box(0, 0, 10, 10), box(0, 0, 1, 1)])
    ['000091001002002', '000091001002001', 'a-001']
    """
    geoms = np.asarray(geoms, dtype=object)
    codes = pd.Series(village_codes, dtype=object).astype(str).to_numpy() if nested \
        else np.full(len(geoms), "", dtype=object)
    out = np.empty(len(geoms), dtype=object)
    for code in pd.unique(codes):
        rows = np.flatnonzero(codes == code)
        seq = np.empty(len(rows), dtype=int)
        seq[village_order(geoms[rows])] = np.arange(1, len(rows) + 1)
        width = max(SEQUENCE_DIGITS, len(str(len(rows))))
        if not nested:
            names = [f"G{n:0{width}d}" for n in seq]
        elif is_village_code(code) and len(rows) < 10**SEQUENCE_DIGITS:
            names = [f"{code}{n:03d}" for n in seq]
        else:
            names = [f"{code}-{n:0{width}d}" for n in seq]
        out[rows] = names
    return out.tolist()
