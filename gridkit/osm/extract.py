"""Read an OpenStreetMap extract (``.osm`` or ``.osm.pbf``) into gridkit's layers.

GDAL's OSM driver (in the pyogrio wheels) gives the file as the layers
``points``, ``lines`` and ``multipolygons`` with the common tags as columns
and the rest in ``other_tags``. From them, all in EPSG:4326 as OSM gives them:

- ``jurisdiction``: the union of ``clip`` when given, else the smallest
  administrative area (deepest ``admin_level``) holding
  :data:`JURISDICTION_SHARE` of the roads' length, else the roads' bounding
  rectangle;
- ``villages``, when the extract has them: the administrative areas of the
  deepest level below the jurisdiction that together cover
  :data:`VILLAGE_COVER` of it, clipped to it, with ``code`` (the ``ref`` tag,
  else the OSM id), ``name`` and ``admin_level``;
- ``roads``: ``highway`` lines (not :data:`~gridkit.osm.tags.NOT_ROADS`, not
  areas) with ``road_class`` (the ``highway`` value), ``oneway``, ``bridge``,
  ``tunnel`` (``yes``/``no``...), ``layer``, ``name``, ``osm_id``;
- ``barriers``: railways (:data:`~gridkit.osm.tags.RAILWAYS`) and waterways
  (:data:`~gridkit.osm.tags.WATERWAYS`) that are not in a tunnel, with
  ``barrier_class`` ``railway`` or ``waterway``;
- ``buildings``: footprints with ``building``, ``levels``, ``households``
  (estimated, see :mod:`gridkit.osm.tags`), ``name``, ``osm_id``;
- ``entities``: points of interest (tags :data:`~gridkit.osm.tags.CATEGORY_KEYS`,
  street furniture left out; an area becomes a point inside it) with
  ``category_key``, ``category``, ``risk`` (1-3) and ``name``.

Lines are cut at the jurisdiction's edge; buildings and entities are kept when
a point inside them is inside it (a footprint is never cut).
"""

from __future__ import annotations

import os
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from shapely.geometry import box

from gridkit.crs import working_crs
from gridkit.errors import EmptyLayerError, LayerError
from gridkit.osm.tags import (
    NOT_ROADS,
    RAILWAYS,
    WATERWAYS,
    building_levels,
    entity_category,
    estimate_households,
    parse_other_tags,
    risk_classes,
)

__all__ = ["osm_layers", "OSM_LAYERS", "JURISDICTION_SHARE", "VILLAGE_COVER"]

OSM_LAYERS = ("jurisdiction", "roads", "barriers", "buildings", "entities")
"""The layers :func:`osm_layers` always returns, in order (``villages`` when found)."""
JURISDICTION_SHARE = 0.95
"""Share of the road length an administrative area must hold to be the jurisdiction."""
VILLAGE_COVER = 0.99
"""Share of the jurisdiction the administrative areas of one level must cover as villages."""


def _read(path, layer: str) -> gpd.GeoDataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # GDAL's notes on unclosed rings
        try:
            gdf = pyogrio.read_dataframe(path, layer=layer, on_invalid="ignore")
        except (RuntimeError, ValueError) as exc:  # pyogrio's DataSourceError...
            text = " ".join(str(exc).split())
            if os.path.getsize(path) == 0:
                text = "the file is empty"
            elif "not recognized" in text or "not recognised" in text:
                text = "not an OpenStreetMap extract (.osm XML or .osm.pbf)"
            else:
                text = text.replace(os.fspath(path), "the file")
            raise LayerError(f"cannot read {os.fspath(path)!r}: {text}") from exc
    gdf = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    if gdf.crs is None:
        gdf = gdf.set_crs(4326)
    return gdf.reset_index(drop=True)


def _tags(gdf: gpd.GeoDataFrame, columns=()) -> list[dict[str, str]]:
    """Every feature's tags: ``other_tags`` plus the driver's own tag columns."""
    out = []
    own = [c for c in columns if c in gdf.columns]
    others = gdf["other_tags"] if "other_tags" in gdf.columns else [None] * len(gdf)
    values = gdf[own].astype(object).where(gdf[own].notna(), None).to_numpy() if own else None
    for i, text in enumerate(others):
        tags = parse_other_tags(text)
        if values is not None:
            tags.update({c: v for c, v in zip(own, values[i], strict=True) if v is not None})
        out.append(tags)
    return out


def _flag(tags: list[dict], key: str, default: str = "no") -> list[str]:
    return [t.get(key, default) for t in tags]


def _lines(gdf: gpd.GeoDataFrame, area) -> gpd.GeoDataFrame:
    """Lines cut to ``area`` (``None``: as they are), as single LineStrings."""
    if area is not None:
        gdf = gdf[gdf.intersects(area)].copy()
        gdf["geometry"] = gdf.geometry.intersection(area)
    gdf = gdf.explode(index_parts=False)
    gdf = gdf[gdf.geom_type == "LineString"]
    return gdf[~gdf.geometry.is_empty].reset_index(drop=True)


def _roads(lines: gpd.GeoDataFrame, area) -> gpd.GeoDataFrame:
    tags = _tags(lines, ("highway", "name"))
    keep = np.array([bool(t.get("highway")) and t["highway"] not in NOT_ROADS
                     and t.get("area") != "yes" for t in tags], dtype=bool)
    sel = [t for t, k in zip(tags, keep, strict=True) if k]
    roads = gpd.GeoDataFrame({
        "osm_id": lines.loc[keep, "osm_id"].astype("int64").to_numpy(),
        "name": [t.get("name") for t in sel],
        "road_class": [t["highway"] for t in sel],
        "oneway": _flag(sel, "oneway"),
        "bridge": _flag(sel, "bridge"),
        "tunnel": _flag(sel, "tunnel"),
        "layer": pd.to_numeric(pd.Series(_flag(sel, "layer", "0")), errors="coerce")
        .fillna(0).astype(int).to_numpy(),
    }, geometry=lines.geometry[keep].to_numpy(), crs=lines.crs)
    return _lines(roads, area)


def _barriers(lines: gpd.GeoDataFrame, area) -> gpd.GeoDataFrame:
    tags = _tags(lines, ("railway", "waterway", "name"))
    kind = [("railway" if t.get("railway") in RAILWAYS else
             "waterway" if t.get("waterway") in WATERWAYS else None)
            if t.get("tunnel", "no") in ("no", None) else None for t in tags]
    keep = np.array([k is not None for k in kind], dtype=bool)
    barriers = gpd.GeoDataFrame({
        "osm_id": lines.loc[keep, "osm_id"].astype("int64").to_numpy(),
        "barrier_class": [k for k in kind if k is not None],
        "name": [t.get("name") for t, k in zip(tags, keep, strict=True) if k],
    }, geometry=lines.geometry[keep].to_numpy(), crs=lines.crs)
    return _lines(barriers, area)


def _polygonal(geom):
    if geom is None or geom.is_empty:
        return None
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else None


def _inside(gdf: gpd.GeoDataFrame, area) -> np.ndarray:
    if area is None:
        return np.ones(len(gdf), dtype=bool)
    return np.asarray(shapely.within(gdf.geometry.representative_point().values, area))


def _osm_id(gdf: gpd.GeoDataFrame) -> np.ndarray:
    """A multipolygon's id: its way's for a closed way, else its relation's."""
    way = pd.to_numeric(gdf.get("osm_way_id"), errors="coerce")
    rel = pd.to_numeric(gdf.get("osm_id"), errors="coerce")
    return way.fillna(rel).fillna(-1).astype("int64").to_numpy()


def _buildings(polys: gpd.GeoDataFrame, area, metric) -> gpd.GeoDataFrame:
    b = polys[polys["building"].notna() & (polys["building"] != "no")].copy()
    b["geometry"] = [_polygonal(g) for g in shapely.make_valid(b.geometry.values)]
    b = b[b.geometry.notna()]
    b = b[_inside(b, area)]
    tags = _tags(b)
    levels = building_levels([t.get("building:levels") for t in tags])
    footprint = b.to_crs(metric).area.to_numpy()
    return gpd.GeoDataFrame({
        "osm_id": _osm_id(b),
        "building": b["building"].to_numpy(),
        "name": b["name"].to_numpy(),
        "levels": levels,
        "households": estimate_households(b["building"], footprint, levels),
    }, geometry=b.geometry.to_numpy(), crs=b.crs).reset_index(drop=True)


def _entities(points, polys, roads, area, metric) -> gpd.GeoDataFrame:
    rows = []
    point_tags = _tags(points, ("name",))
    poly_tags = _tags(polys, ("name", "amenity", "shop", "tourism", "leisure", "office",
                              "craft"))
    poly_points = polys.geometry.representative_point()
    for ids, tags, geoms in ((points["osm_id"], point_tags, points.geometry),
                             (_osm_id(polys), poly_tags, poly_points)):
        for osm_id, t, g in zip(ids, tags, geoms, strict=True):
            key, value = entity_category(t)
            if key is not None:
                rows.append({"osm_id": int(osm_id), "name": t.get("name"), "category_key": key,
                             "category": value, "geometry": g})
    if not rows:
        raise EmptyLayerError("the extract holds no points of interest (amenity, shop, tourism, "
                              "leisure, office, craft) to make entities of")
    ent = gpd.GeoDataFrame(rows, geometry="geometry", crs=4326)
    ent = ent[_inside(ent, area)].drop_duplicates("osm_id").reset_index(drop=True)
    ent["risk"] = risk_classes(ent, roads, crs=metric)
    return ent


def _admin(polys: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Administrative boundaries with a numeric ``level``, their code and name."""
    if not {"boundary", "admin_level"} <= set(polys.columns):
        return polys.iloc[:0].assign(level=pd.Series(dtype=float))
    admin = polys[(polys["boundary"] == "administrative")].copy()
    admin["level"] = pd.to_numeric(admin["admin_level"], errors="coerce")
    admin = admin[admin["level"].notna()]
    tags = _tags(admin)
    refs = [t.get("ref") or t.get("ref:GB") for t in tags]
    admin["code"] = [r if r else str(i) for r, i in zip(refs, _osm_id(admin), strict=True)]
    admin["geometry"] = [_polygonal(g) for g in shapely.make_valid(admin.geometry.values)]
    return admin[admin.geometry.notna()]


def _jurisdiction(admin, roads, clip, metric) -> tuple[gpd.GeoDataFrame, float | None]:
    """The jurisdiction and, when it is an administrative area, its level."""
    if clip is not None:
        return gpd.GeoDataFrame({"name": ["clip"]}, geometry=[clip], crs=4326), None
    lines = roads.to_crs(metric).geometry
    total = lines.length.sum()
    best = None
    mids = shapely.line_interpolate_point(roads.geometry.values, 0.5, normalized=True)
    x, y = shapely.get_x(mids), shapely.get_y(mids)
    weight = lines.length.to_numpy()
    for _, row in admin.sort_values("level", ascending=False).iterrows():
        # cheap first: the length share of the roads whose midpoint is inside
        if weight[shapely.contains_xy(row.geometry, x, y)].sum() < 0.9 * total:
            continue
        polygon = gpd.GeoSeries([row.geometry], crs=4326).to_crs(metric).iloc[0]
        if lines.intersection(polygon).length.sum() >= JURISDICTION_SHARE * total:
            best = row
            break
    if best is None:
        extent = box(*roads.total_bounds)
        return gpd.GeoDataFrame({"name": ["extract"]}, geometry=[extent], crs=4326), None
    return (gpd.GeoDataFrame({"name": [best["name"]], "code": [best["code"]]},
                             geometry=[best.geometry], crs=4326), float(best["level"]))


def _villages(admin, area, level: float | None, metric) -> gpd.GeoDataFrame | None:
    """The deepest level of administrative areas below the jurisdiction that tiles it."""
    if not len(admin):
        return None
    total = gpd.GeoSeries([area], crs=4326).to_crs(metric).area.iloc[0]
    below = admin if level is None else admin[admin["level"] > level]
    for lvl in sorted(below["level"].unique(), reverse=True):
        parts = below[below["level"] == lvl].copy()
        parts["geometry"] = parts.geometry.intersection(area)
        parts = parts[~parts.geometry.is_empty]
        parts["geometry"] = [_polygonal(g) for g in parts.geometry]
        parts = parts[parts.geometry.notna()]
        areas = parts.to_crs(metric).area
        parts = parts[areas > 1e-4 * total]  # slivers of a neighbour's edge
        if len(parts) >= 2 and parts.to_crs(metric).area.sum() >= VILLAGE_COVER * total:
            return gpd.GeoDataFrame(
                {"code": parts["code"].to_numpy(), "name": parts["name"].to_numpy(),
                 "admin_level": parts["level"].astype(int).to_numpy()},
                geometry=parts.geometry.to_numpy(), crs=4326).reset_index(drop=True)
    return None


def osm_layers(path: str | os.PathLike, *, clip: gpd.GeoDataFrame | None = None
               ) -> dict[str, gpd.GeoDataFrame]:
    """The layers of an OSM extract (see the module docstring), in EPSG:4326.

    Parameters
    ----------
    path
        A ``.osm`` (XML) or ``.osm.pbf`` file.
    clip
        Polygons (any CRS): the area to keep, and the jurisdiction.

    Raises
    ------
    LayerError
        The file is not an OSM extract GDAL reads, or holds no roads.
    """
    if not os.path.isfile(path):
        from gridkit.errors import LayerNotFoundError

        if os.path.isdir(path):
            raise LayerError(f"{os.fspath(path)!r} is a folder, not an OpenStreetMap extract")
        raise LayerNotFoundError(f"{os.fspath(path)!r} does not exist: check the path")
    area = None
    if clip is not None:
        area = shapely.union_all(clip.to_crs(4326).geometry.values)
    lines = _read(path, "lines")
    roads = _roads(lines, area)
    if not len(roads):
        raise EmptyLayerError(f"{os.fspath(path)!r} holds no roads (highway=*) "
                              f"{'inside the clip polygons' if area is not None else ''}")
    polys = _read(path, "multipolygons")
    metric = working_crs(roads)
    admin = _admin(polys)
    jurisdiction, level = _jurisdiction(admin, roads, area, metric)
    area = jurisdiction.geometry.iloc[0]  # nothing outside the jurisdiction
    roads = _lines(roads, area)
    villages = _villages(admin, area, level, metric)
    return {
        "jurisdiction": jurisdiction,
        **({"villages": villages} if villages is not None else {}),
        "roads": roads,
        "barriers": _barriers(lines, area),
        "buildings": _buildings(polys, area, metric),
        "entities": _entities(_read(path, "points"), polys, roads, area, metric),
    }
