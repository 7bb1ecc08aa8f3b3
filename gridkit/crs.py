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

Reprojection keeps topology (:func:`to_crs`): an edge that is straight in one
CRS is a curve in another, so before transforming, every segment longer than
:data:`DENSIFY_STEP_M` is split into equal pieces (:func:`densify`), which
keeps the reprojected edge within a tenth of a millimetre of the true curve
(below 70° latitude). The added points depend only on the segment's two ends,
not on its direction, so an edge shared by two polygons gets the same points
in both and stays shared, vertex for vertex, in the output CRS.

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
import shapely
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
    "densify",
    "DENSIFY_STEP_M",
]

DENSIFY_STEP_M = 50.0
"""Longest segment (m) reprojected as it is. The image of a straight line curves
by about tan(latitude) / 6,371 km (1e-6 per metre at most below 70°), so a 50 m
chord strays from it by under 50² x 1e-6 / 8 ≈ 0.3 mm, and mostly far less."""

_M_PER_DEGREE = 111_320.0

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

    Lines and polygons are densified first (:func:`densify`, every segment
    longer than :data:`DENSIFY_STEP_M`), so that straight edges keep their
    shape and shared edges stay identical. A local engineering CRS is never
    transformed (:class:`CRSError`).

    Examples
    --------
    >>> from shapely import box
    >>> g = gpd.GeoDataFrame(geometry=[box(24.9, 60.1, 25.0, 60.2)], crs=4326)
    >>> out = to_crs(g, 32635)
    >>> int(shapely.get_num_coordinates(out.geometry.iloc[0])) > 5   # the edges were split
    True
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
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    if src.is_geographic:
        step = DENSIFY_STEP_M / _M_PER_DEGREE
    else:
        step = DENSIFY_STEP_M / (src.axis_info[0].unit_conversion_factor or 1.0)
    out = gdf.copy()
    dense = densify(geoms, step, geographic=bool(src.is_geographic))
    if isinstance(out, gpd.GeoSeries):
        out = gpd.GeoSeries(dense, index=out.index, crs=out.crs, name=out.name)
    else:
        out[out.geometry.name] = gpd.GeoSeries(dense, index=out.index, crs=out.crs)
    return out.to_crs(crs)


def densify(geoms, step: float, *, geographic: bool = False) -> np.ndarray:
    """Split every segment longer than ``step`` into equal pieces, whichever way it runs.

    ``step`` is in the coordinates' unit; with ``geographic`` (longitude,
    latitude in degrees) a segment's length is measured in metres-like
    degrees (longitude scaled by the cosine of the latitude). Points are
    left alone, and so are geometries with Z. The points added to a segment
    are computed from its lexicographically smaller end, so two polygons
    sharing an edge (which runs one way in one and the other way in the
    other) get bit-identical vertices. (Own code: ``shapely.segmentize``
    computes them from the start of each segment, so a shared edge gets two
    slightly different sets of points and no longer matches.)

    Examples
    --------
    >>> from shapely import box
    >>> a, b = densify([box(0, 0, 10, 10), box(10, 0, 20, 10)], 4.0)
    >>> shared = {tuple(c) for c in shapely.get_coordinates(a)} & \\
    ...     {tuple(c) for c in shapely.get_coordinates(b)}
    >>> len(shared)   # (10, 0), two points between, (10, 10): identical in both
    4
    """
    geoms = np.array(geoms, dtype=object)
    tid = shapely.get_type_id(geoms)
    todo = np.flatnonzero(np.isin(tid, (1, 2, 3, 5, 6)) & ~shapely.is_empty(geoms)
                          & ~shapely.has_z(geoms))
    if len(todo) == 0 or not step > 0:
        return geoms
    parts, owner = shapely.get_parts(geoms[todo], return_index=True)
    ptype = shapely.get_type_id(parts)
    new_parts = parts.copy()
    poly = np.flatnonzero(ptype == 3)
    if len(poly):
        rings, ring_of = shapely.get_rings(parts[poly], return_index=True)
        coords, seq = _densified(*shapely.get_coordinates(rings, return_index=True),
                                 step, geographic)
        new_rings = shapely.linearrings(coords, indices=seq)
        new_parts[poly] = shapely.polygons(new_rings, indices=ring_of)
    line = np.flatnonzero(ptype != 3)
    if len(line):
        coords, seq = _densified(*shapely.get_coordinates(parts[line], return_index=True),
                                 step, geographic)
        made = shapely.linestrings(coords, indices=seq)
        rings = ptype[line] == 2
        made[rings] = shapely.linearrings(shapely.get_coordinates(made[rings]),
                                          indices=np.repeat(np.arange(int(rings.sum())),
                                                            shapely.get_num_coordinates(
                                                                made[rings])))
        new_parts[line] = made
    out = geoms.copy()
    single = ~np.isin(tid[todo][owner], (5, 6))
    out[todo[owner[single]]] = new_parts[single]
    for kind, make in ((6, shapely.multipolygons), (5, shapely.multilinestrings)):
        sel = np.flatnonzero(tid[todo][owner] == kind)
        if len(sel):
            pos, idx = np.unique(owner[sel], return_inverse=True)
            out[todo[pos]] = make(new_parts[sel], indices=idx)
    return out


def _densified(coords: np.ndarray, seq: np.ndarray, step: float, geographic: bool):
    """Coordinates with the points splitting each segment into pieces <= ``step``."""
    p, q = coords[:-1], coords[1:]
    same = seq[1:] == seq[:-1]
    d = q - p
    if geographic:
        d = d * np.column_stack([np.cos(np.radians((p[:, 1] + q[:, 1]) / 2)),
                                 np.ones(len(p))])
    n = np.where(same, np.maximum(np.ceil(np.hypot(d[:, 0], d[:, 1]) / step), 1), 1)
    n = n.astype(np.int64)
    counts = np.r_[n, 1]  # the last coordinate of every sequence emits only itself
    counts[np.flatnonzero(~same)] = 1
    if (counts == 1).all():
        return coords, seq
    out = np.repeat(coords, counts, axis=0)
    out_seq = np.repeat(seq, counts)
    start = np.repeat(np.cumsum(counts) - counts, counts)
    k = np.arange(len(out)) - start  # 0 for the segment's own start, 1..n-1 inside it
    src = np.repeat(np.arange(len(counts)), counts)
    inner = np.flatnonzero(k > 0)
    s = src[inner]
    a, b, m = p[s], q[s], n[s]
    swap = (a[:, 0] > b[:, 0]) | ((a[:, 0] == b[:, 0]) & (a[:, 1] > b[:, 1]))
    lo = np.where(swap[:, None], b, a)
    hi = np.where(swap[:, None], a, b)
    steps = np.where(swap, m - k[inner], k[inner])  # pieces from the smaller end
    out[inner] = lo + (hi - lo) * (steps / m)[:, None]
    return out, out_seq
