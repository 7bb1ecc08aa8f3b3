"""Choosing and using a metric working CRS.

Every geometric operation in gridkit happens in a projected CRS whose unit is
the metre, so that areas are in m² and lengths in m. The working CRS is, in
order of preference:

1. the CRS the caller names (it must be projected and in metres);
2. the CRS all the layers already share, when it is projected in metres;
3. for data inside China, the CGCS2000 3-degree Gauss-Krüger zone
   (EPSG:4534-4554, central meridians 75°E-135°E, no zone prefix);
4. otherwise the local UTM zone (WGS 84).

Layers in feet (US survey or international) are never used as they are: they
are reprojected into a metric CRS by rule 3 or 4.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import geopandas as gpd
import numpy as np
from pyproj import CRS, Transformer

from gridkit.errors import CRSError, MissingCRSError

__all__ = [
    "working_crs",
    "is_metric",
    "cgcs2000_zone",
    "utm_zone",
    "in_china",
    "to_crs",
    "lonlat_center",
]

log = logging.getLogger(__name__)

# A coarse box around mainland China, Hainan and Taiwan. Neighbouring areas
# that fall inside it still get a valid (CGCS2000 Gauss-Krüger) projection.
_CHINA_BOX = (73.0, 18.0, 135.5, 53.6)


def is_metric(crs) -> bool:
    """True when ``crs`` is projected and its axes are in metres."""
    if crs is None:
        return False
    crs = CRS.from_user_input(crs)
    if not crs.is_projected:
        return False
    units = {ax.unit_name.lower() for ax in crs.axis_info}
    return units <= {"metre", "meter", "m"}


def in_china(lon: float, lat: float) -> bool:
    """Whether a WGS84/CGCS2000 point lies in the (coarse) China box."""
    x0, y0, x1, y1 = _CHINA_BOX
    return x0 <= lon <= x1 and y0 <= lat <= y1


def cgcs2000_zone(lon: float) -> CRS:
    """The CGCS2000 3-degree Gauss-Krüger CRS (EPSG:4534-4554) nearest ``lon``.

    Examples
    --------
    >>> cgcs2000_zone(120.2).to_epsg()   # Hangzhou: central meridian 120°E
    4549
    """
    cm = int(round(lon / 3.0)) * 3
    cm = min(max(cm, 75), 135)
    return CRS.from_epsg(4534 + (cm - 75) // 3)


def utm_zone(lon: float, lat: float) -> CRS:
    """The WGS 84 UTM zone CRS holding ``(lon, lat)``.

    Examples
    --------
    >>> utm_zone(24.94, 60.17).to_epsg()   # Helsinki
    32635
    """
    zone = int((lon + 180) // 6) % 60 + 1
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def lonlat_center(gdfs: Iterable[gpd.GeoDataFrame]) -> tuple[float, float]:
    """Longitude/latitude of the centre of the layers' joint bounding box."""
    xs, ys = [], []
    for gdf in gdfs:
        if gdf is None or gdf.empty or gdf.crs is None:
            continue
        b = gdf.total_bounds
        if not np.all(np.isfinite(b)):
            continue
        t = Transformer.from_crs(gdf.crs, 4326, always_xy=True)
        lon, lat = t.transform([b[0], b[2], b[0], b[2]], [b[1], b[1], b[3], b[3]])
        xs.extend(lon)
        ys.extend(lat)
    if not xs:
        raise CRSError("no layer with geometries and a CRS: cannot choose a working CRS")
    return (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2


def working_crs(*gdfs: gpd.GeoDataFrame | None, crs=None) -> CRS:
    """Choose the metric working CRS for a set of layers (see module doc).

    Parameters
    ----------
    *gdfs
        The layers (``None`` entries are skipped). Each must carry a CRS.
    crs
        The caller's choice (anything pyproj accepts). Must be projected in
        metres.

    Returns
    -------
    pyproj.CRS

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import Point
    >>> g = gpd.GeoDataFrame(geometry=[Point(116.4, 39.9)], crs=4490)
    >>> working_crs(g).to_epsg()   # Beijing: CGCS2000 / 3-degree GK CM 117E
    4548
    """
    layers = [g for g in gdfs if g is not None]
    for i, g in enumerate(layers):
        if g.crs is None:
            raise MissingCRSError(
                f"layer {i + 1} has no CRS: set it with gdf.set_crs(...) "
                "(e.g. 'EPSG:4490' for CGCS2000 longitude/latitude)"
            )
    if crs is not None:
        chosen = CRS.from_user_input(crs)
        if not is_metric(chosen):
            raise CRSError(
                f"working CRS {chosen.name!r} is not projected in metres: choose a metric "
                "CRS such as a CGCS2000 Gauss-Krüger zone (EPSG:4534-4554) or a UTM zone, "
                "or leave it unset to pick one automatically"
            )
        return chosen
    crss = {CRS.from_user_input(g.crs) for g in layers}
    if len(crss) == 1:
        only = next(iter(crss))
        if is_metric(only):
            return only
    lon, lat = lonlat_center(layers)
    chosen = cgcs2000_zone(lon) if in_china(lon, lat) else utm_zone(lon, lat)
    log.info("working CRS: %s (EPSG:%s)", chosen.name, chosen.to_epsg())
    return chosen


def to_crs(gdf: gpd.GeoDataFrame | None, crs) -> gpd.GeoDataFrame | None:
    """A copy of ``gdf`` in ``crs`` (the same object's copy when already there)."""
    if gdf is None:
        return None
    if gdf.crs is None:
        raise MissingCRSError("layer has no CRS: set it with gdf.set_crs(...)")
    if CRS.from_user_input(gdf.crs) == CRS.from_user_input(crs):
        return gdf.copy()
    return gdf.to_crs(crs)
