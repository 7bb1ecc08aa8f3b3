"""Web maps of the grids (folium): one self-contained HTML file to publish online.

:func:`grid_map` draws the grids, each neighbour in another colour (greedy
graph colouring of the adjacency), labelled at a point inside the grid, with a
popup in Chinese and English (code, village, persons and phones, entities by
regime, workload in hours, area in km² or ha); grids, labels, village
boundaries and roads are on when the page opens, entities by risk class,
patrol routes and validation issues are layers the user switches on; a title,
a legend that follows the layer list, and the view fitted to the data.

Base maps: OpenStreetMap (default), Tianditu (CGCS2000, needs your key) or
AMap/Gaode, whose tiles are drawn in GCJ-02: with ``tiles="amap"`` every
geometry is shifted into GCJ-02 before drawing (:mod:`gridkit.gcj02`).
``tiles=None`` draws no base map (offline use, tests).

:func:`save_map` writes the map as ONE HTML file with every script and
stylesheet inlined (vendored in ``gridkit/assets/web``); only the tile server
is reached over the network. :func:`write_grid_maps` writes one map per grid
(网格示意图) into a folder.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Sequence
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridkit.crs import to_crs, working_crs
from gridkit.errors import InvalidValueError, MissingCRSError
from gridkit.gcj02 import from_gcj02, to_gcj02
from gridkit.io.atomic import staged
from gridkit.layers import check_layer
from gridkit.progress import progress
from gridkit.publish._assets import JQUERY_JS, LEAFLET_CSS, LEAFLET_JS, inline_assets
from gridkit.publish._bounds import lonlat_bounds
from gridkit.publish._colour import grid_colours
from gridkit.publish._elements import DetailsPopup, Labels, Legend, Title, add_header
from gridkit.publish._files import unique_stems
from gridkit.publish._names import grid_codes, grid_titles, osm_based
from gridkit.publish._popups import entity_rows, grid_rows, issue_rows, route_rows, village_rows
from gridkit.publish.options import OSM_ATTRIBUTION, TILES
from gridkit.publish.tables import TABLE_HEADERS, grid_keys, grid_stats, staff_by_grid

__all__ = ["TILES", "RISK_COLOURS", "base_map", "grid_map", "save_map", "write_grid_maps"]

log = logging.getLogger(__name__)

RISK_COLOURS = {1: "#d7191c", 2: "#fdae61", 3: "#1a9641"}
_RISK_NAMES = {1: "一类风险 risk 1", 2: "二类风险 risk 2", 3: "三类风险 risk 3"}
_LABELS = {
    **TABLE_HEADERS,
    "name": "名称",
    "code": "代码",
    "category": "类别",
    "risk": "风险度",
    "credit": "信用度",
    "regime": "巡查类别",
    "entity_id": "主体编号",
    "grid_seq": "序号",
}
_DIGITS = 7  # ~1 cm in longitude/latitude: enough for a web map, smaller files


def _text(value) -> str | None:
    """A display string for a popup value (None when there is nothing to show)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (float, np.floating)):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}".rstrip("0").rstrip(".")
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}" if abs(int(value)) >= 10000 else str(int(value))
    if isinstance(value, shapely.Geometry):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    return str(value)


def _popup_rows(df: pd.DataFrame, fields) -> list[list[list[str]]]:
    """Popups of the columns the caller chose (a list, or a dict column -> label)."""
    if isinstance(fields, dict):
        cols, labels = list(fields), {str(k): str(v) for k, v in fields.items()}
    else:
        cols = list(fields)
        labels = {c: _LABELS.get(c, str(c)) for c in cols}
    absent = [c for c in cols if c not in df.columns]
    if absent:
        raise InvalidValueError(
            f"`fields` names column(s) {absent} the layer does not have; "
            f"it has {[c for c in df.columns if c != df.geometry.name]}"
        )
    rows = []
    for record in df[cols].itertuples(index=False, name=None):
        pairs = zip(cols, record, strict=True)
        rows.append([[labels[c], t] for c, v in pairs if (t := _text(v)) is not None])
    return rows


def _features(gdf: gpd.GeoDataFrame, props: dict[str, Sequence]) -> dict:
    geoms = shapely.transform(gdf.geometry.values, lambda c: np.round(c, _DIGITS))
    features = []
    for i, geom in enumerate(geoms):
        features.append(
            {
                "type": "Feature",
                "id": str(i),
                "properties": {k: v[i] for k, v in props.items()},
                "geometry": json.loads(shapely.to_geojson(geom)),
            }
        )
    return {"type": "FeatureCollection", "features": features}


class _Display:
    """Brings layers into the display coordinates (WGS84, or GCJ-02 for AMap)."""

    def __init__(self, gcj02: bool, input_gcj02: bool):
        self.gcj02 = gcj02
        self.input_gcj02 = input_gcj02

    def wgs84(self, gdf: gpd.GeoDataFrame, name: str) -> gpd.GeoDataFrame:
        if self.input_gcj02:
            return from_gcj02(gdf, name=name)  # refuses a projected or CRS-less layer
        return gdf

    def __call__(self, gdf: gpd.GeoDataFrame, name: str) -> gpd.GeoDataFrame:
        out = to_crs(gdf, 4326)
        return to_gcj02(out, name=name) if self.gcj02 else out


def _base_map(tiles: str | None, tianditu_key: str | None) -> folium.Map:
    if tiles is not None and tiles not in TILES:
        raise InvalidValueError(f"unknown `tiles` {tiles!r}; use one of {sorted(TILES)} or None")
    if tiles == "tianditu" and not tianditu_key:
        raise InvalidValueError(
            "tiles='tianditu' needs your Tianditu key: pass `tianditu_key=` (gridkit map "
            "--tianditu-key KEY); register a free browser key with the Tianditu service"
        )
    m = folium.Map(tiles=None, control_scale=True, zoom_start=13, location=[0, 0])
    # only the libraries gridkit maps use (the rest of folium's defaults serve icons)
    m.default_js = [("leaflet", LEAFLET_JS), ("jquery", JQUERY_JS)]
    m.default_css = [("leaflet_css", LEAFLET_CSS)]
    if tiles is not None:
        spec = TILES[tiles]
        extra = {"subdomains": spec["subdomains"]} if "subdomains" in spec else {}
        url = spec["url"].replace("{key}", str(tianditu_key or ""))
        folium.TileLayer(url, attr=spec["attr"], name=spec["name"], max_zoom=19, **extra).add_to(m)
        if "labels" in spec:
            folium.TileLayer(
                spec["labels"].replace("{key}", str(tianditu_key)),
                attr=spec["attr"],
                name="天地图注记 labels",
                overlay=True,
                control=True,
                **extra,
            ).add_to(m)
    add_header(m)
    return m


def base_map(*, tiles: str | None = "osm", tianditu_key: str | None = None) -> folium.Map:
    """An empty folium map that :func:`save_map` can write self-contained.

    Only Leaflet and jQuery are loaded (both vendored); add layers that need
    nothing else (GeoJson, CircleMarker, PolyLine, LayerControl...).
    """
    return _base_map(tiles, tianditu_key)


def _label_column(grids: gpd.GeoDataFrame, label_column: str | None) -> pd.Series:
    if label_column is not None:
        if label_column not in grids.columns:
            raise InvalidValueError(
                f"`label_column` {label_column!r} is not a column of grids; "
                f"it has {list(grids.columns)}"
            )
        return grids[label_column].astype(str)
    for c in ("grid_code", "grid_id", "name", "code"):
        if c in grids.columns:
            return grids[c].astype(str)
    return grid_keys(grids)


def _legend_note(optional, tiles, *layers) -> str:
    """The legend's small print: the layers to switch on, the OSM credit when needed."""
    parts = []
    if optional:
        parts.append(f"在图层列表中打开 switch on in the layer list: {', '.join(optional)}")
    if tiles != "osm" and osm_based(*layers):  # OSM tiles carry the credit themselves
        parts.append(OSM_ATTRIBUTION)
    return "\n".join(parts)


def grid_map(
    grids: gpd.GeoDataFrame,
    *,
    villages: gpd.GeoDataFrame | None = None,
    roads: gpd.GeoDataFrame | None = None,
    entities: gpd.GeoDataFrame | None = None,
    routes: gpd.GeoDataFrame | None = None,
    issues: gpd.GeoDataFrame | None = None,
    staff: pd.DataFrame | None = None,
    assignment: pd.DataFrame | None = None,
    tiles: str | None = "osm",
    tianditu_key: str | None = None,
    fields: Sequence[str] | dict[str, str] | None = None,
    label_column: str | None = None,
    title: str | None = None,
    input_gcj02: bool = False,
    highlight: int | None = None,
) -> folium.Map:
    """An interactive map of the grids.

    Parameters
    ----------
    grids
        Grid polygons (any CRS). Never modified.
    villages, roads, entities, routes, issues
        Optional layers, each drawn in its own toggleable layer: village
        outlines (``code``, ``name``: popups give each grid's village by name
        and code) and roads, shown on opening; entities coloured by ``risk``
        (1-3), patrol routes, validation issues (e.g. ``report.issues`` of
        :func:`gridkit.validate_coverage`), off until switched on.
    staff
        Staff table (``name``, ``phone``, ``grid_id``): persons and phones
        are added to each grid's popup.
    assignment
        The partition's units with ``grid_id``: grid figures (households,
        entities, workload) are summed from it when the grids lack them.
    tiles
        ``"osm"`` (default), ``"tianditu"`` (needs ``tianditu_key``),
        ``"amap"`` (geometries shifted into GCJ-02) or ``None`` (no base map).
    fields
        The grid columns shown in popups (a list, or a dict column -> label),
        as they are. Default: the published figures only, in Chinese and
        English (no partition internals such as weight or deviation).
    label_column
        The column written on each grid (default ``grid_code``, else
        ``grid_id``, ``name``, ``code``).
    title
        The title box (default "网格图 Grid map · N 个网格 grids").
    input_gcj02
        The layers' coordinates are GCJ-02 (digitised on AMap tiles): shift
        them back to WGS84 first.
    highlight
        Position of one grid to emphasise (the per-grid maps use it).

    Returns
    -------
    folium.Map
        Save it with :func:`save_map` to get one self-contained file.

    Examples
    --------
    >>> import gridkit as gk
    >>> s = gk.load_sample()
    >>> m = grid_map(s["villages"], roads=s["roads"], tiles=None)
    >>> type(m).__name__
    'Map'
    """
    grids = check_layer(grids, "grids", id_column="", required=())
    display = _Display(tiles == "amap", input_gcj02)
    m = _base_map(tiles, tianditu_key)
    grids = display.wgs84(grids, "grids")
    lonlat_bounds(grids, "grids")  # a layer off the Earth would give a blank page
    crs = working_crs(grids)
    metric = to_crs(grids, crs)
    colours = grid_colours(metric.geometry.values)
    stats = grid_stats(
        grids,
        assignment=assignment,
        entities=display.wgs84(entities, "entities") if entities is not None else None,
    )
    if staff is not None:
        people = staff_by_grid(staff, grid_keys(stats))
        stats["persons"] = people["persons"].to_numpy()
        stats["phones"] = people["phones"].to_numpy()
    if fields is None:
        popups = grid_rows(stats, villages)
    else:
        popups = _popup_rows(stats, fields)
    code_of = dict(zip(grid_keys(grids), grid_codes(grids), strict=True))
    optional: list[str] = []
    labels = _label_column(grids, label_column).to_numpy()
    shown = display(grids, "grids")
    points = display(
        gpd.GeoDataFrame(geometry=metric.geometry.representative_point(), crs=crs), "grids"
    )
    legend: list[list[str]] = []
    bounds = shown.total_bounds

    if roads is not None:
        r = display(display.wgs84(check_layer(roads, "roads"), "roads"), "roads")
        rlayer = folium.GeoJson(
            _features(r, {}),
            name="道路 roads",
            interactive=False,
            style_function=lambda f: {"color": "#777", "weight": 1.2, "opacity": 0.7},
        ).add_to(m)
        legend.append(["line", "#777", "道路 roads", rlayer.get_name()])

    props = {
        "_popup": popups,
        "_fill": colours,
        "_label": list(labels),
        "_hl": [highlight is not None and i == highlight for i in range(len(grids))],
    }
    layer = folium.GeoJson(
        _features(shown, props),
        name="网格 grids",
        style_function=lambda f: {
            "fillColor": f["properties"]["_fill"],
            "fillOpacity": 0.55 if f["properties"]["_hl"] or highlight is None else 0.15,
            "color": "#b2182b" if f["properties"]["_hl"] else "#333",
            "weight": 4 if f["properties"]["_hl"] else 1.5,
        },
    )
    layer.add_child(DetailsPopup("_popup"))
    layer.add_to(m)
    legend.append(
        [
            "fill",
            colours[0] if colours else "#8dd3c7",
            "网格 grid (neighbours in other colours)",
            layer.get_name(),
        ]
    )
    if highlight is not None:
        legend.append(["line", "#b2182b", "本网格 this grid", layer.get_name()])
    label_group = folium.FeatureGroup(name="网格编码 labels")
    items = [
        [round(p.y, _DIGITS), round(p.x, _DIGITS), str(t)]
        for p, t in zip(points.geometry, labels, strict=True)
    ]
    label_group.add_child(Labels(items))
    label_group.add_to(m)

    # over the grids, so that the boundary shows; only its line takes clicks
    if villages is not None:
        v = display(
            display.wgs84(check_layer(villages, "villages", id_column=""), "villages"), "villages"
        )
        vlayer = folium.GeoJson(
            _features(v, {"_popup": village_rows(v)}),
            name="村/社区 villages",
            style_function=lambda f: {
                "color": "#1a1a1a",
                "weight": 3.5,
                "opacity": 0.9,
                "dashArray": "10 6",
                "fill": False,
            },
        ).add_to(m)
        legend.append(["dash", "#1a1a1a", "村/社区界 village boundary", vlayer.get_name()])
    if entities is not None:
        e = display(
            display.wgs84(check_layer(entities, "entities", id_column=""), "entities"), "entities"
        )
        risk = (
            pd.to_numeric(e["risk"], errors="coerce")
            if "risk" in e.columns
            else pd.Series(np.nan, index=e.index)
        )
        colour = [RISK_COLOURS.get(int(r), "#666") if pd.notna(r) else "#666" for r in risk]
        elayer = folium.GeoJson(
            _features(e, {"_popup": entity_rows(e), "_c": colour}),
            name="主体 entities",
            show=False,
            marker=folium.CircleMarker(radius=4, weight=1, fill=True, fill_opacity=0.9),
            style_function=lambda f: {"color": "#222", "fillColor": f["properties"]["_c"]},
        )
        elayer.add_child(DetailsPopup("_popup")).add_to(m)
        legend += [["point", RISK_COLOURS[k], _RISK_NAMES[k], elayer.get_name()] for k in (1, 2, 3)]
        optional.append("主体 entities")
    if routes is not None:
        rt = display(display.wgs84(check_layer(routes, "roads", name="routes"), "routes"), "routes")
        tlayer = folium.GeoJson(
            _features(rt, {"_popup": route_rows(rt, code_of)}),
            name="巡查路线 routes",
            show=False,
            style_function=lambda f: {"color": "#2c7bb6", "weight": 3, "opacity": 0.8},
        )
        tlayer.add_child(DetailsPopup("_popup")).add_to(m)
        legend.append(["line", "#2c7bb6", "巡查路线 patrol routes", tlayer.get_name()])
        optional.append("巡查路线 routes")
    if issues is not None and len(issues):
        if issues.crs is None:
            raise MissingCRSError("issues: the layer has no CRS; set it with gdf.set_crs(...)")
        iss = display(display.wgs84(issues.copy(), "issues"), "issues")
        iss = iss[~(iss.geometry.isna() | iss.geometry.is_empty)]
        ilayer = folium.GeoJson(
            _features(iss, {"_popup": issue_rows(iss, code_of)}),
            name="问题 issues",
            show=False,
            marker=folium.CircleMarker(radius=7, weight=2, fill=True),
            style_function=lambda f: {
                "color": "#e31a1c",
                "fillColor": "#e31a1c",
                "fillOpacity": 0.5,
                "weight": 3,
            },
        )
        ilayer.add_child(DetailsPopup("_popup")).add_to(m)
        legend.append(["fill", "#e31a1c", "问题 validation issues", ilayer.get_name()])
        optional.append("问题 issues")

    folium.LayerControl(collapsed=False).add_to(m)
    note = _legend_note(optional, tiles, grids, villages, roads, entities)
    m.add_child(Legend(legend, note=note))
    m.add_child(Title(title or f"网格图 Grid map · {len(grids)} 个网格 grids"))
    m.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]])
    return m


def save_map(m: folium.Map, path: str | os.PathLike) -> Path:
    """Write ``m`` as one self-contained HTML file (scripts and styles inlined).

    Raises :class:`gridkit.publish._assets.ExternalResourceError` when an element
    added to the map needs a library gridkit has not vendored.

    Examples
    --------
    >>> import gridkit as gk, tempfile, os
    >>> m = grid_map(gk.load_sample()["villages"], tiles=None)
    >>> p = save_map(m, os.path.join(tempfile.mkdtemp(), "map.html"))
    >>> "cdn.jsdelivr" in p.read_text(encoding="utf-8")
    False
    """
    path = Path(path)
    html = inline_assets(m.get_root().render())
    # replaced when complete; inside a command's set, at its end
    with staged() as out, out.writing(path) as tmp:
        tmp.write_text(html, encoding="utf-8")
        size = tmp.stat().st_size
    log.info("wrote %s (%.0f kB)", path, size / 1024)
    return path


def write_grid_maps(
    grids: gpd.GeoDataFrame,
    folder: str | os.PathLike,
    *,
    margin: float = 0.25,
    **kwargs,
) -> list[Path]:
    """One map per grid (网格示意图), named by its label, written into ``folder``.

    A file is named after the grid's label (``label_column``, default its
    code) made safe for a file name; when two labels give the same name
    (equal ignoring case, or differing only in characters a file name cannot
    hold) the later grids get ``-2``, ``-3``... in the grids' order, and a
    :class:`~gridkit.errors.GridkitWarning` lists them: no map overwrites
    another. The maps are written as one set (:func:`gridkit.io.atomic.staged`):
    when one fails, every file already in ``folder`` stays as it was.

    Each map shows the grid emphasised among its neighbours, with the other
    layers clipped to the grid's surroundings (``margin`` times its size).
    ``kwargs`` are those of :func:`grid_map`.

    Returns
    -------
    list of pathlib.Path
        The files written, in the grids' order.
    """
    grids = check_layer(grids, "grids", id_column="", required=())
    if "grid_id" not in grids.columns:  # the positional ids grid_map uses for staff
        grids = grids.assign(grid_id=grid_keys(grids).to_numpy())
    folder = Path(folder)
    labels = _label_column(grids, kwargs.get("label_column"))
    names = unique_stems(labels, what="grid")
    titles = grid_titles(grids, kwargs.get("villages"))
    codes = grid_codes(grids)
    crs = working_crs(grids)
    metric = to_crs(grids, crs)
    with staged():  # all the maps, or none
        return [
            save_map(
                _one_grid_map(
                    grids, metric, pos, _grid_title(titles[pos], codes[pos]), margin, kwargs
                ),
                folder / f"{names[pos]}.html",
            )
            for pos in progress(range(len(grids)), desc="grid maps", unit="map")
        ]


def _grid_title(name: str, code: str) -> str:
    return (
        f"网格示意图 Grid map · {name} {code}"
        if name and name != code
        else (f"网格示意图 Grid map · {code}")
    )


def _one_grid_map(grids, metric, pos: int, title: str, margin: float, kwargs) -> folium.Map:
    """The map of grid ``pos`` among its neighbours, the other layers clipped around it."""
    crs = metric.crs
    layer_keys = ("villages", "roads", "entities", "routes", "issues")
    geom = metric.geometry.iloc[pos]
    x0, y0, x1, y1 = geom.bounds
    pad = margin * max(x1 - x0, y1 - y0, 1.0)
    area = gpd.GeoSeries([shapely.box(x0 - pad, y0 - pad, x1 + pad, y1 + pad)], crs=crs)
    near = grids[metric.intersects(area.iloc[0]).to_numpy()]
    local = dict(kwargs)
    for key in layer_keys:
        layer = kwargs.get(key)
        if layer is not None and len(layer):
            clip_area = area.to_crs(layer.crs).iloc[0]
            local[key] = layer[layer.intersects(clip_area)]
            if local[key].empty:
                local[key] = None
    staff = kwargs.get("staff")
    if staff is not None:  # only the persons of the grids on this map
        keep = staff["grid_id"].astype(str).isin(near["grid_id"].astype(str))
        local["staff"] = staff[keep] if keep.any() else None
    local.setdefault("title", title)
    m = grid_map(near, highlight=int(np.flatnonzero(near.index == grids.index[pos])[0]), **local)
    bounds = area.to_crs(4326).total_bounds
    m.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]])
    return m
