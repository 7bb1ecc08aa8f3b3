"""GCJ-02, the shifted coordinates of Chinese web map tiles (AMap/Gaode, Tencent).

Official Chinese data is in CGCS2000 (practically WGS84 for mapping), but the
tiles of AMap/Gaode and Tencent are drawn in GCJ-02, a deliberately obfuscated
datum offset by a few hundred metres. To sit on those tiles a geometry must be
shifted into GCJ-02; data digitised on such tiles must be shifted back.

The forward shift is the widely published formula (Krasovsky ellipsoid
parameters, no closed-form inverse). The inverse is computed by fixed-point
iteration ``w <- w - (gcj(w) - g)``: the shift varies slowly (its derivative
is ~1e-5), so each step gains about five decimal digits and three steps are
below a millimetre; we iterate to ``tol`` degrees (default 1e-9, ~0.1 mm).

BD-09 (Baidu) is GCJ-02 shifted again (a rotation and scaling around a
fixed offset, again a few hundred metres); :func:`gcj02_to_bd09` is Baidu's
published formula and :func:`bd09_to_gcj02` its inverse by the same
fixed-point iteration (the widely copied closed-form "inverse" is only an
approximation, off by up to a metre). :func:`lonlat_to_wgs84` brings numbers in
any of ``wgs84``, ``cgcs2000``, ``gcj02``, ``bd09`` to WGS84.

Outside China no shift applies: points outside the box used by every public
implementation (longitude 72.004-137.8347, latitude 0.8293-55.8271) are
returned unchanged. Everything is vectorised numpy; coordinates are
**longitude, latitude** (x, y) in degrees, like shapely and GeoJSON.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS

from gridkit.errors import CRSError, InvalidValueError, MissingCRSError

__all__ = [
    "wgs84_to_gcj02",
    "gcj02_to_wgs84",
    "out_of_china",
    "to_gcj02",
    "from_gcj02",
    "gcj02_to_bd09",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "lonlat_to_wgs84",
    "layer_to_wgs84",
    "COORDS",
]

log = logging.getLogger(__name__)

_A = 6378245.0  # Krasovsky 1940 semi-major axis, as the GCJ-02 formula uses
_EE = 0.00669342162296594323  # its first eccentricity squared
_BOX = (72.004, 0.8293, 137.8347, 55.8271)
_X_PI = np.pi * 3000.0 / 180.0  # Baidu's constant
COORDS = ("wgs84", "cgcs2000", "gcj02", "bd09")
"""The longitude/latitude systems :func:`lonlat_to_wgs84` converts from."""


def out_of_china(lon, lat) -> np.ndarray:
    """True where a WGS84 point lies outside the box where GCJ-02 applies.

    Examples
    --------
    >>> out_of_china([116.39, 24.94], [39.91, 60.17]).tolist()   # Beijing, Helsinki
    [False, True]
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    x0, y0, x1, y1 = _BOX
    return ~((lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1))


def _delta(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The GCJ-02 offset (dlon, dlat) in degrees at WGS84 (lon, lat)."""
    x = lon - 105.0
    y = lat - 35.0
    xp, yp = x * np.pi, y * np.pi
    common = 20.0 * np.sin(6.0 * xp) + 20.0 * np.sin(2.0 * xp)
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    dlat += (
        (
            common
            + 20.0 * np.sin(yp)
            + 40.0 * np.sin(yp / 3.0)
            + 160.0 * np.sin(yp / 12.0)
            + 320.0 * np.sin(yp / 30.0)
        )
        * 2.0
        / 3.0
    )
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    dlon += (
        (
            common
            + 20.0 * np.sin(xp)
            + 40.0 * np.sin(xp / 3.0)
            + 150.0 * np.sin(xp / 12.0)
            + 300.0 * np.sin(xp / 30.0)
        )
        * 2.0
        / 3.0
    )
    rad = np.radians(lat)
    magic = 1.0 - _EE * np.sin(rad) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = dlat * 180.0 / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    dlon = dlon * 180.0 / (_A / sqrt_magic * np.cos(rad) * np.pi)
    return dlon, dlat


def _arrays(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    if lon.shape != lat.shape:
        raise ValueError(
            f"`lon` and `lat` must have the same shape, got {lon.shape} and {lat.shape}"
        )
    return lon, lat


def wgs84_to_gcj02(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Shift WGS84/CGCS2000 longitude/latitude into GCJ-02.

    Parameters
    ----------
    lon, lat
        Scalars or arrays of the same shape, in degrees.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        GCJ-02 longitude and latitude; unchanged outside China.

    Examples
    --------
    >>> lon, lat = wgs84_to_gcj02(116.377817, 39.911954)   # Beijing
    >>> round(float(lon), 5), round(float(lat), 5)
    (116.38405, 39.91335)
    """
    lon, lat = _arrays(lon, lat)
    dlon, dlat = _delta(lon, lat)
    outside = out_of_china(lon, lat)
    return np.where(outside, lon, lon + dlon), np.where(outside, lat, lat + dlat)


def gcj02_to_wgs84(
    lon, lat, *, tol: float = 1e-9, max_iter: int = 30
) -> tuple[np.ndarray, np.ndarray]:
    """Shift GCJ-02 longitude/latitude back to WGS84 (iterated inverse).

    Parameters
    ----------
    lon, lat
        GCJ-02 coordinates in degrees, scalars or arrays of one shape.
    tol
        Stop when every point moves less than this many degrees (1e-9° is
        about 0.1 mm).
    max_iter
        Upper bound on the iterations (three to five are typical).

    Examples
    --------
    >>> lon, lat = gcj02_to_wgs84(116.38404722455657, 39.91334545536069)
    >>> round(float(lon), 5), round(float(lat), 5)
    (116.37782, 39.91195)
    """
    return _invert(wgs84_to_gcj02, lon, lat, tol, max_iter)


def _invert(func, lon, lat, tol: float, max_iter: int) -> tuple[np.ndarray, np.ndarray]:
    """Solve ``func(w) = g`` by the fixed-point iteration ``w <- w - (func(w) - g)``."""
    g_lon, g_lat = _arrays(lon, lat)
    w_lon, w_lat = g_lon.copy(), g_lat.copy()
    for _ in range(max_iter):
        f_lon, f_lat = func(w_lon, w_lat)
        step_lon, step_lat = f_lon - g_lon, f_lat - g_lat
        w_lon, w_lat = w_lon - step_lon, w_lat - step_lat
        if max(np.nanmax(np.abs(step_lon), initial=0.0),
               np.nanmax(np.abs(step_lat), initial=0.0)) < tol:
            break
    else:  # pragma: no cover - both maps are contractions, this does not happen in China
        log.warning("inverse shift did not converge to %g° in %d iterations", tol, max_iter)
    return w_lon, w_lat


def gcj02_to_bd09(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Shift GCJ-02 longitude/latitude into BD-09 (Baidu); unchanged outside China.

    Examples
    --------
    >>> lon, lat = gcj02_to_bd09(116.404, 39.915)   # Tiananmen, GCJ-02
    >>> round(float(lon), 5), round(float(lat), 5)
    (116.41037, 39.92134)
    """
    lon, lat = _arrays(lon, lat)
    z = np.sqrt(lon * lon + lat * lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    b_lon, b_lat = z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006
    outside = out_of_china(lon, lat)
    return np.where(outside, lon, b_lon), np.where(outside, lat, b_lat)


def bd09_to_gcj02(lon, lat, *, tol: float = 1e-9, max_iter: int = 30):
    """Shift BD-09 longitude/latitude back to GCJ-02 (iterated inverse of :func:`gcj02_to_bd09`).

    Examples
    --------
    >>> lon, lat = bd09_to_gcj02(116.41036949371029, 39.92133699351021)
    >>> round(float(lon), 4), round(float(lat), 4)
    (116.404, 39.915)
    """
    return _invert(gcj02_to_bd09, lon, lat, tol, max_iter)


def bd09_to_wgs84(lon, lat, *, tol: float = 1e-9) -> tuple[np.ndarray, np.ndarray]:
    """Shift BD-09 (Baidu) longitude/latitude back to WGS84: BD-09 -> GCJ-02 -> WGS84."""
    g_lon, g_lat = bd09_to_gcj02(lon, lat, tol=tol)
    return gcj02_to_wgs84(g_lon, g_lat, tol=tol)


def lonlat_to_wgs84(lon, lat, coords: str = "wgs84") -> tuple[np.ndarray, np.ndarray]:
    """Longitude/latitude in ``coords`` (one of :data:`COORDS`) as WGS84.

    ``wgs84`` and ``cgcs2000`` are returned as they are (the two differ by
    centimetres); ``gcj02`` (AMap/Gaode, Tencent) and ``bd09`` (Baidu) are
    shifted back inside China, to under a centimetre.

    Examples
    --------
    >>> lon, lat = lonlat_to_wgs84([116.38404722455657], [39.91334545536069], "gcj02")
    >>> round(float(lon[0]), 5), round(float(lat[0]), 5)
    (116.37782, 39.91195)
    """
    lon, lat = _arrays(lon, lat)
    key = str(coords).lower().replace("-", "").replace("_", "")
    if key in ("wgs84", "cgcs2000"):
        return lon.copy(), lat.copy()
    if key == "gcj02":
        return gcj02_to_wgs84(lon, lat)
    if key == "bd09":
        return bd09_to_wgs84(lon, lat)
    raise InvalidValueError(f"unknown coordinate system {coords!r}: use one of {list(COORDS)}")


def _geographic(gdf: gpd.GeoDataFrame, name: str) -> gpd.GeoDataFrame:
    if gdf.crs is None:
        raise MissingCRSError(f"{name}: the layer has no CRS; set it with gdf.set_crs(...)")
    crs = CRS.from_user_input(gdf.crs)
    if (
        crs.is_geographic
        and crs.ellipsoid
        and crs.ellipsoid.name in ("WGS 84", "GRS 1980", "CGCS2000")
    ):
        return gdf.copy()
    return gdf.to_crs(4326)


def _shift(gdf: gpd.GeoDataFrame, func) -> gpd.GeoDataFrame:
    def apply(coords: np.ndarray) -> np.ndarray:
        x, y = func(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    out = gdf.copy()
    geoms = shapely.transform(out.geometry.values, apply)
    return out.set_geometry(gpd.GeoSeries(geoms, index=out.index, crs=out.crs))


def to_gcj02(gdf: gpd.GeoDataFrame, *, name: str = "layer") -> gpd.GeoDataFrame:
    """A copy of ``gdf`` in longitude/latitude, shifted into GCJ-02.

    The result's CRS still says EPSG:4326 (pyproj knows no GCJ-02): use it
    only to draw on GCJ-02 tiles. Geographic layers on the WGS84/CGCS2000
    ellipsoid keep their CRS; others are reprojected to EPSG:4326 first.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import Point
    >>> g = gpd.GeoDataFrame(geometry=[Point(116.377817, 39.911954)], crs=4326)
    >>> round(float(to_gcj02(g).geometry.x.iloc[0]), 5)
    116.38405
    """
    return _shift(_geographic(gdf, name), wgs84_to_gcj02)


def _lonlat_layer(gdf: gpd.GeoDataFrame, name: str, system: str) -> None:
    """Refuse a layer that cannot hold shifted longitude/latitude."""
    if gdf.crs is None:
        raise MissingCRSError(
            f"{name}: the layer has no CRS; {system} input is longitude/latitude: "
            "gdf.set_crs(4326) first"
        )
    if not CRS.from_user_input(gdf.crs).is_geographic:
        raise CRSError(
            f"{name}: {system} coordinates are longitude/latitude but the layer's CRS is "
            f"projected ({CRS.from_user_input(gdf.crs).name}); give the {system} "
            "longitude/latitude with gdf.set_crs(4326, allow_override=True)"
        )


def from_gcj02(gdf: gpd.GeoDataFrame, *, name: str = "layer") -> gpd.GeoDataFrame:
    """A copy of a layer digitised in GCJ-02 shifted back to WGS84 (EPSG:4326).

    ``gdf`` must be in geographic coordinates (its CRS usually says
    EPSG:4326 although the numbers are GCJ-02); accuracy well under a metre.
    """
    _lonlat_layer(gdf, name, "GCJ-02")
    return _shift(gdf.copy(), gcj02_to_wgs84)


def layer_to_wgs84(gdf: gpd.GeoDataFrame, coords: str, *, name: str = "layer") -> gpd.GeoDataFrame:
    """A copy of a longitude/latitude layer whose numbers are in ``coords``, in WGS84.

    For a layer digitised on AMap/Tencent (``gcj02``) or Baidu (``bd09``)
    tiles; ``wgs84`` and ``cgcs2000`` layers are returned as copies.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import Point
    >>> g = gpd.GeoDataFrame(geometry=[Point(116.41036949371029, 39.92133699351021)], crs=4326)
    >>> p = layer_to_wgs84(g, "bd09").geometry.iloc[0]
    >>> round(p.x, 4), round(p.y, 4)
    (116.3978, 39.9136)
    """
    key = str(coords).lower().replace("-", "").replace("_", "")
    if key in ("wgs84", "cgcs2000"):
        return gdf.copy()
    if key not in COORDS:
        raise InvalidValueError(f"unknown coordinate system {coords!r}: use one of "
                                f"{list(COORDS)}")
    _lonlat_layer(gdf, name, key.upper())
    return _shift(gdf.copy(), gcj02_to_wgs84 if key == "gcj02" else bd09_to_wgs84)
