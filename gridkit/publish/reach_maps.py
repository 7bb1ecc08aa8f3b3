"""Folium maps of reach and checkpoints (EPSG:4326, opened in a browser), each
with a title, a legend and the layer list.

Every value from the data (village codes and names, facility ids, road
names) reaches the page as JSON and is shown with ``textContent`` (the
tooltips of :mod:`gridkit.publish._elements`), never as HTML: a village named
``<img src=x onerror=alert(1)>`` shows as that text.
"""

from __future__ import annotations

import folium
import geopandas as gpd
import pandas as pd

from gridkit.crs import to_crs
from gridkit.publish._bounds import lonlat_bounds
from gridkit.publish._elements import DetailsTooltip, Legend, Title
from gridkit.publish._names import osm_based
from gridkit.publish.options import OSM_ATTRIBUTION
from gridkit.publish.webmap import _features, _text, base_map

_STATUS_NAMES = {
    "reached": "可达 within reach",
    "out_of_reach": "超出范围 out of reach",
    "unreachable": "不可达 unreachable",
    "off_network": "离路网 off the network",
}
_STATUS_COLOURS = {
    "reached": "#1a9850",
    "out_of_reach": "#fdae61",
    "unreachable": "#d73027",
    "off_network": "#7b3294",
}
_MAJOR = {"motorway", "trunk", "primary", "secondary", "tertiary"}


def _base(frames: list[tuple[str, gpd.GeoDataFrame | None]]) -> folium.Map:
    bounds = [lonlat_bounds(f, name) for name, f in frames if f is not None and len(f)]
    x0 = min(b[0] for b in bounds)
    y0 = min(b[1] for b in bounds)
    x1 = max(b[2] for b in bounds)
    y1 = max(b[3] for b in bounds)
    m = base_map(tiles="osm")  # only vendored scripts: the page works offline
    m.fit_bounds([[y0, x0], [y1, x1]])
    return m


def _rows(df: pd.DataFrame, columns: list[str]) -> list[list[list[str]]]:
    """Each row's ``[column, value as text]`` pairs (the tooltip tables)."""
    cols = [c for c in columns if c in df.columns]
    return [
        [[c, t] for c, v in zip(cols, record, strict=True) if (t := _text(v)) is not None]
        for record in df[cols].itertuples(index=False, name=None)
    ]


def _layer(gdf: gpd.GeoDataFrame, props: dict, name: str, style, marker=None) -> folium.GeoJson:
    layer = folium.GeoJson(
        _features(to_crs(gdf, 4326), props), name=name, style_function=style, marker=marker
    )
    layer.add_child(DetailsTooltip("_tip"))
    return layer


def _villages(m: folium.Map, villages: gpd.GeoDataFrame | None, legend: list) -> None:
    if villages is None or not len(villages):
        return
    style = {"color": "#333333", "weight": 2, "fill": False, "dashArray": "6 4"}
    tips = _rows(villages, ["code", "name"])
    layer = _layer(villages, {"_tip": tips}, "村/社区 villages", lambda _: style).add_to(m)
    legend.append(["dash", "#333333", "村/社区界 village boundary", layer.get_name()])


def _finish(m: folium.Map, title: str, legend: list, *layers) -> folium.Map:
    """The layer list, the legend (with the OSM credit when the data is OSM) and the title."""
    folium.LayerControl(collapsed=False).add_to(m)
    note = OSM_ATTRIBUTION if osm_based(*layers) else ""
    m.add_child(Legend(legend, note=note))
    m.add_child(Title(title))
    return m


def _points(m: folium.Map, pts: gpd.GeoDataFrame, legend: list) -> None:
    shown = pts.copy()
    for c in ("distance_m", "euclidean_m"):
        if c in shown.columns:
            shown[c] = pd.to_numeric(shown[c], errors="coerce").round(0)
    status = shown["status"] if "status" in shown.columns else pd.Series("", index=shown.index)
    props = {
        "_tip": _rows(shown, ["facility", "distance_m", "euclidean_m", "status"]),
        "_c": [_STATUS_COLOURS.get(str(s), "#555") for s in status],
    }
    style = lambda f: {  # noqa: E731
        "color": f["properties"]["_c"],
        "fillColor": f["properties"]["_c"],
        "weight": 1,
        "fillOpacity": 0.7,
    }
    name = "点位 points by reach"
    layer = _layer(shown, props, name, style, folium.CircleMarker(radius=3)).add_to(m)
    present = {str(s) for s in status}
    legend += [
        ["point", colour, _STATUS_NAMES[key], layer.get_name()]
        for key, colour in _STATUS_COLOURS.items()
        if key in present
    ]


def reach_map(
    result,
    *,
    villages: gpd.GeoDataFrame | None = None,
    title: str = "服务可达范围 Service reach",
) -> folium.Map:
    """Service areas, points coloured by status and the facilities of a ReachResult.

    With a title, a legend of what is drawn and the layer list.
    """
    pts = result.points
    m = _base([("points", pts), ("facilities", result.facilities)])
    legend: list = []
    _villages(m, villages, legend)
    areas = result.service_areas
    if len(areas):
        tips = _rows(areas, ["facility", "street_m", "points_within"])
        style = {"color": "#2b83ba", "weight": 1, "fillOpacity": 0.15}
        layer = _layer(areas, {"_tip": tips}, "服务区 service areas", lambda _: style).add_to(m)
        legend.append(["fill", "#abd0e6", "服务区 service area", layer.get_name()])
    _points(m, pts, legend)
    fac = result.facilities[result.facilities["status"] == "ok"]
    if len(fac):
        tips = [
            [["facility", str(f)], ["within reach", str(_text(n))]]
            for f, n in zip(fac["facility"], fac["points_within"], strict=True)
        ]
        style = {"color": "#08306b", "fillColor": "#2171b5", "fillOpacity": 1.0, "weight": 2}
        marker = folium.CircleMarker(radius=7, fill=True)
        layer = _layer(fac, {"_tip": tips}, "设施 facilities", lambda _: style, marker).add_to(m)
        legend.append(["point", "#2171b5", "设施 facility", layer.get_name()])
    return _finish(m, title, legend, pts, result.facilities, villages)


def checkpoints_map(
    cp,
    *,
    villages: gpd.GeoDataFrame | None = None,
    title: str = "村/社区出入口卡口 Checkpoints",
) -> folium.Map:
    """Checkpoints on the village boundaries, coloured by road class importance.

    With a title, a legend of what is drawn and the layer list.
    """
    m = _base([("villages", cp.per_village), ("checkpoints", cp.points)])
    legend: list = []
    shown = cp.per_village if villages is None else villages
    _villages(m, shown, legend)
    pts = cp.points
    if not len(pts):
        return _finish(m, title, legend, shown)
    major = pts["road_class"].isin(_MAJOR).to_numpy()
    names = [n if isinstance(n, str) else "(unnamed)" for n in pts["road_name"]]
    tips = [
        [["checkpoint", str(i)], ["road", f"{c} {n}"], ["villages", f"{a} | {b}"]]
        for i, c, n, a, b in zip(
            pts["checkpoint_id"],
            pts["road_class"],
            names,
            pts["village_a"],
            pts["village_b"],
            strict=True,
        )
    ]
    props = {"_tip": tips, "_c": ["#d7191c" if x else "#fdae61" for x in major]}
    props["_r"] = [5 if x else 3 for x in major]
    style = lambda f: {  # noqa: E731
        "color": f["properties"]["_c"],
        "fillColor": f["properties"]["_c"],
        "radius": f["properties"]["_r"],
        "fillOpacity": 0.9,
    }
    marker = folium.CircleMarker(radius=4, fill=True)
    layer = _layer(pts, props, "卡口 checkpoints", style, marker).add_to(m)
    name = layer.get_name()
    legend += [
        ["point", "#d7191c", "主要道路卡口 on a main road (motorway .. tertiary)", name],
        ["point", "#fdae61", "其他道路卡口 on another road", name],
    ]
    return _finish(m, title, legend, pts, shown)
