"""Tables of points: a CSV or XLSX register read as a point layer from its coordinate columns.

The columns are recognised by name (any case): longitude ``lon``, ``lng``,
``long``, ``longitude``, ``x``, ``经度``, ``东经``; latitude ``lat``,
``latitude``, ``y``, ``纬度``, ``北纬``; or named by the caller. Numbers are
longitude/latitude in ``coords`` (``wgs84`` unless told; ``gcj02`` and
``bd09`` are shifted back to WGS84, see :mod:`gridkit.gcj02`) or, with a
projected ``crs`` (a CGCS2000 Gauss-Krüger zone such as EPSG:4547), eastings
and northings in it.

A row whose coordinates are missing, not numbers, out of range or (0, 0) (a
geocoder's "not found") is left out of the layer, and never silently: the
layer's ``attrs["unlocated_rows"]`` lists their spreadsheet row numbers (the
header is row 1) and a :class:`~gridkit.errors.GridkitWarning` gives the count
and rows. Every other column of the table is kept as it is.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS

from gridkit.errors import CRSError, GridkitWarning, LayerError, MissingColumnError
from gridkit.gcj02 import COORDS, lonlat_to_wgs84
from gridkit.io.headers import sheet_rows

__all__ = ["X_NAMES", "Y_NAMES", "coordinate_columns", "table_to_points", "UNLOCATED"]

X_NAMES = ("lon", "lng", "long", "longitude", "x", "经度", "东经")
Y_NAMES = ("lat", "latitude", "y", "纬度", "北纬")
UNLOCATED = "unlocated_rows"
"""The ``attrs`` key of a table's layer: spreadsheet rows left out for want of coordinates."""


def _find(columns, names: tuple[str, ...]) -> str | None:
    folded = {str(c).strip().lower(): c for c in reversed(list(columns))}
    for name in names:
        if name in folded:
            return folded[name]
    return None


def coordinate_columns(columns, *, x: str | None = None, y: str | None = None,
                       label: str = "table") -> tuple[str, str]:
    """The (x, y) columns of a table: the ones named, else recognised by name.

    Examples
    --------
    >>> coordinate_columns(["名称", "经度", "纬度"])
    ('经度', '纬度')
    >>> coordinate_columns(["name", "LNG", "Lat"])
    ('LNG', 'Lat')
    """
    columns = list(columns)
    found = []
    for given, names, option in ((x, X_NAMES, "x"), (y, Y_NAMES, "y")):
        if given is not None:
            if given not in columns:
                raise MissingColumnError(
                    f"{label}: no column {given!r} (given as --{option} / {option}=); the table "
                    f"has {columns}")
            found.append(given)
        else:
            found.append(_find(columns, names))
    if None in found:
        raise MissingColumnError(
            f"{label}: no coordinate columns found among {columns}: name them "
            f"(--x COL --y COL on the command line, x=, y= in Python); recognised are "
            f"{'/'.join(X_NAMES)} and {'/'.join(Y_NAMES)}")
    return found[0], found[1]


def _numbers(series: pd.Series) -> np.ndarray:
    text = series.astype("string").str.strip().str.replace("°", "", regex=False)
    return pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _source_crs(coords: str | None, crs) -> tuple[CRS, bool]:
    """The table's CRS and whether its numbers are longitude/latitude."""
    key = None if coords is None else str(coords).lower().replace("-", "").replace("_", "")
    if key is not None and key not in COORDS:
        raise LayerError(f"unknown coordinate system {coords!r}: use one of {list(COORDS)}")
    if crs is None:
        return CRS.from_epsg(4490 if key == "cgcs2000" else 4326), True
    try:
        crs = CRS.from_user_input(crs)
    except Exception as exc:  # pyproj's CRSError
        raise CRSError(f"the table's CRS {crs!r} is not a CRS pyproj knows: give e.g. "
                       "EPSG:4547") from exc
    if key in ("gcj02", "bd09"):
        raise CRSError(f"coords={coords!r} is longitude/latitude but the table's CRS is given "
                       f"as {crs.name}: give one or the other")
    return crs, bool(crs.is_geographic)


def _refuse_swapped(xs: np.ndarray, ys: np.ndarray, xcol: str, ycol: str, label: str) -> None:
    """Every latitude column value a longitude of China and the reverse: a swap, not data."""
    swapped = len(xs) > 0 and np.all((ys >= 73) & (ys <= 136)) and np.all((xs >= 3) & (xs <= 54))
    if swapped:
        raise CRSError(
            f"{label}: {xcol!r} holds latitudes and {ycol!r} longitudes of China (e.g. "
            f"{xs[0]:g}, {ys[0]:g}): name them the other way round (--x {ycol} --y {xcol} on the "
            "command line, x=, y= in Python)")


def table_to_points(df: pd.DataFrame, *, x: str | None = None, y: str | None = None,
                    coords: str | None = None, crs=None,
                    label: str = "table") -> gpd.GeoDataFrame:
    """Points from a table's coordinate columns (see the module docstring).

    Parameters
    ----------
    df
        The table, one row per feature, as read (index 0 = spreadsheet row 2).
    x, y
        The coordinate columns (default: recognised by name).
    coords
        ``wgs84`` (default), ``cgcs2000``, ``gcj02`` or ``bd09``: the
        longitude/latitude system of the numbers.
    crs
        The CRS of projected x/y (e.g. ``EPSG:4547``); not with ``gcj02``/``bd09``.
    label
        The table's name in messages.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"名称": ["a", "b"], "经度": ["116.38", ""], "纬度": ["39.91", "39.9"]})
    >>> import warnings; warnings.simplefilter("ignore")
    >>> pts = table_to_points(t, coords="gcj02")
    >>> len(pts), pts.attrs["unlocated_rows"], pts.crs.to_epsg()
    (1, [3], 4326)
    """
    xcol, ycol = coordinate_columns(df.columns, x=x, y=y, label=label)
    target, lonlat = _source_crs(coords, crs)
    xs, ys = _numbers(df[xcol]), _numbers(df[ycol])
    usable = np.isfinite(xs) & np.isfinite(ys)
    if lonlat:
        usable &= (np.abs(xs) <= 180) & (np.abs(ys) <= 90) & ~((xs == 0) & (ys == 0))
        if usable.sum() == 0 and np.isfinite(xs).any() and np.nanmax(np.abs(xs)) > 180:
            raise CRSError(
                f"{label}: the coordinates in {xcol!r}/{ycol!r} are not longitude/latitude "
                f"(e.g. {xs[np.isfinite(xs)][0]:g}): give the table's projected CRS "
                "(--crs-of-table EPSG:4547 on the command line, crs= in Python)")
        finite = np.isfinite(xs) & np.isfinite(ys)
        _refuse_swapped(xs[finite], ys[finite], xcol, ycol, label)
    blank = df.isna().all(axis=1).to_numpy()  # an empty spreadsheet line is no record
    out = pd.DataFrame(df[usable]).copy()
    lon, lat = xs[usable], ys[usable]
    if lonlat and coords is not None:
        lon, lat = lonlat_to_wgs84(lon, lat, coords)
    gdf = gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(lon, lat), crs=target)
    lost = df.index[~usable & ~blank]
    gdf.attrs[UNLOCATED] = sheet_rows(lost)
    if len(lost):
        rows = gdf.attrs[UNLOCATED]
        warnings.warn(
            f"{label}: {len(lost)} row(s) without usable coordinates in {xcol!r}/{ycol!r} left "
            f"out (spreadsheet row(s) {rows[:20]}{' ...' if len(rows) > 20 else ''}); give "
            "them coordinates to place them", GridkitWarning, stacklevel=3)
    return gdf
