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

A local engineering CRS (WKT ``ENGCRS`` / ``LOCAL_CS``: a building's floor
plan in metres, with no geodetic datum) counts as metric and is used as it
is, but it cannot be transformed to or from any other CRS: every layer of a
set must share it (or its origin and orientation on the Earth would have to
be guessed). Mixing it with a geographic or projected layer, or naming a
different working CRS, raises :class:`~gridkit.errors.CRSError`.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable

import geopandas as gpd
import numpy as np
from pyproj import CRS, Transformer

from gridkit.errors import CRSError, GridkitWarning, MissingCRSError

__all__ = [
    "working_crs",
    "is_metric",
    "is_engineering",
    "cgcs2000_zone",
    "utm_zone",
    "in_china",
    "to_crs",
    "lonlat_center",
    "crs_label",
    "check_lonlat",
]

log = logging.getLogger(__name__)

# A coarse box around mainland China, Hainan and Taiwan. Neighbouring areas
# that fall inside it still get a valid (CGCS2000 Gauss-Krüger) projection.
_CHINA_BOX = (73.0, 18.0, 135.5, 53.6)


def is_engineering(crs) -> bool:
    """True when ``crs`` is a local engineering CRS (``ENGCRS``/``LOCAL_CS``).

    Examples
    --------
    >>> is_engineering('LOCAL_CS["lab",LOCAL_DATUM["lab",0],UNIT["metre",1],'
    ...                'AXIS["X",EAST],AXIS["Y",NORTH]]'), is_engineering(4326)
    (True, False)
    """
    return crs is not None and bool(CRS.from_user_input(crs).is_engineering)


def is_metric(crs) -> bool:
    """True when ``crs`` is projected (or local engineering) and its axes are in metres."""
    if crs is None:
        return False
    crs = CRS.from_user_input(crs)
    if not (crs.is_projected or crs.is_engineering):
        return False
    units = {ax.unit_name.lower() for ax in crs.axis_info}
    return units <= {"metre", "meter", "m"}


def crs_label(crs) -> str:
    """``EPSG:code`` when the CRS has one, else its name (e.g. a local engineering CRS).

    Examples
    --------
    >>> crs_label(4547), crs_label('LOCAL_CS["lab",LOCAL_DATUM["lab",0],UNIT["metre",1],'
    ...                            'AXIS["X",EAST],AXIS["Y",NORTH]]')
    ('EPSG:4547', 'lab')
    """
    crs = CRS.from_user_input(crs)
    code = crs.to_epsg()
    return f"EPSG:{code}" if code is not None else crs.name


def in_china(lon: float, lat: float) -> bool:
    """Whether a WGS84/CGCS2000 point lies in the (coarse) China box."""
    x0, y0, x1, y1 = _CHINA_BOX
    return x0 <= lon <= x1 and y0 <= lat <= y1


def _box_inside(b, box) -> bool:
    return box[0] <= b[0] and b[2] <= box[2] and box[1] <= b[1] and b[3] <= box[3]


def check_lonlat(gdf: gpd.GeoDataFrame, label: str) -> None:
    """Refuse or warn about degrees that cannot be right in a geographic layer.

    Latitudes outside [-90, 90] or longitudes outside [-180, 180] are a
    :class:`CRSError` (the layer is unusable): the message says whether the
    axes look swapped or the coordinates are not degrees at all. A layer
    lying wholly outside China whose swapped coordinates lie wholly inside
    it (e.g. Xinjiang with x=43.8, y=87.6) gets a
    :class:`~gridkit.errors.GridkitWarning`: such places (near the North
    Pole) hold almost no real data. Layers in other CRSs are not checked.
    """
    crs = CRS.from_user_input(gdf.crs)
    if not crs.is_geographic:
        return
    b = [float(v) for v in gdf.total_bounds]
    if not np.all(np.isfinite(b)):
        return
    swapped = [b[1], b[0], b[3], b[2]]
    where = f"x {b[0]:.6g}..{b[2]:.6g}, y {b[1]:.6g}..{b[3]:.6g} in {crs.name}"
    swap_fix = ("swap them (gdf.geometry.map(lambda g: shapely.ops.transform(lambda x, y: "
                "(y, x), g))) or read the longitude column as x")
    if not _box_inside(b, (-180, -90, 180, 90)):
        if _box_inside(swapped, (-180, -90, 180, 90)):
            reason = f"longitude and latitude look swapped: {swap_fix}"
        else:
            reason = ("these are not degrees (projected metres?): set the layer's real CRS "
                      "(gdf.set_crs(..., allow_override=True) or fix the .prj)")
        raise CRSError(f"{label}: latitude/longitude outside [-90, 90]/[-180, 180] ({where}); "
                       f"{reason}")
    if not _box_inside(b, _CHINA_BOX) and _box_inside(swapped, _CHINA_BOX) \
            and not (b[0] <= _CHINA_BOX[2] and _CHINA_BOX[0] <= b[2]
                     and b[1] <= _CHINA_BOX[3] and _CHINA_BOX[1] <= b[3]):
        warnings.warn(f"{label}: the layer lies near the North Pole ({where}) but in China "
                      f"with x and y exchanged: longitude and latitude look swapped; "
                      f"{swap_fix}", GridkitWarning, stacklevel=3)


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
        if is_engineering(gdf.crs):
            raise CRSError(_not_transformable(CRS.from_user_input(gdf.crs), CRS.from_epsg(4326)))
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
    crss = list(dict.fromkeys(CRS.from_user_input(g.crs) for g in layers))
    chosen = None if crs is None else CRS.from_user_input(crs)
    if any(c.is_engineering for c in crss + [chosen] if c is not None):
        return _engineering_working(crss, chosen)
    if chosen is not None:
        if not is_metric(chosen):
            raise CRSError(
                f"working CRS {chosen.name!r} is not projected in metres: choose a metric "
                "CRS such as a CGCS2000 Gauss-Krüger zone (EPSG:4534-4554) or a UTM zone, "
                "or leave it unset to pick one automatically"
            )
        return chosen
    if len(crss) == 1:
        only = crss[0]
        if is_metric(only):
            return only
    lon, lat = lonlat_center(layers)
    chosen = cgcs2000_zone(lon) if in_china(lon, lat) else utm_zone(lon, lat)
    log.info("working CRS: %s (EPSG:%s)", chosen.name, chosen.to_epsg())
    return chosen


def _not_transformable(engineering: CRS, other: CRS) -> str:
    return (
        f"engineering CRS {engineering.name!r} is a local coordinate system (e.g. a floor "
        f"plan) and cannot be transformed to or from {other.name!r}: its place on the Earth is "
        "unknown. Give every layer the same engineering CRS (and no other working CRS), or "
        "georeference the plan into a projected CRS first"
    )


def _engineering_working(crss: list[CRS], chosen: CRS | None) -> CRS:
    """The working CRS of layers of which at least one (or ``chosen``) is local engineering."""
    every = list(dict.fromkeys(crss + ([chosen] if chosen is not None else [])))
    local = [c for c in every if c.is_engineering]
    other = [c for c in every if not c.is_engineering]
    if other:
        raise CRSError(_not_transformable(local[0], other[0]))
    if len(local) > 1:
        raise CRSError(
            f"the layers are in two different engineering CRSs ({local[0].name!r}, "
            f"{local[1].name!r}): local coordinates cannot be transformed into each other; "
            "give every layer the same CRS (gdf.set_crs(..., allow_override=True) when they "
            "really share one origin and orientation)"
        )
    only = local[0]
    if not is_metric(only):
        units = sorted({ax.unit_name for ax in only.axis_info})
        raise CRSError(
            f"engineering CRS {only.name!r} is not in metres (axes in {units}) and a local CRS "
            "cannot be reprojected: scale the coordinates to metres (e.g. "
            "gdf.geometry.scale(0.3048, 0.3048, origin=(0, 0)) for feet) and set a CRS whose "
            "unit is the metre"
        )
    return only


def to_crs(gdf: gpd.GeoDataFrame | None, crs) -> gpd.GeoDataFrame | None:
    """A copy of ``gdf`` in ``crs`` (the same object's copy when already there).

    A local engineering CRS is never transformed (:class:`CRSError`).
    """
    if gdf is None:
        return None
    if gdf.crs is None:
        raise MissingCRSError("layer has no CRS: set it with gdf.set_crs(...)")
    src, dst = CRS.from_user_input(gdf.crs), CRS.from_user_input(crs)
    if src == dst:
        return gdf.copy()
    if src.is_engineering or dst.is_engineering:
        raise CRSError(_not_transformable(*((src, dst) if src.is_engineering else (dst, src))))
    return gdf.to_crs(crs)
