"""Folium maps of reach and checkpoints (EPSG:4326, opened in a browser)."""

from __future__ import annotations

from html import escape

import folium
import geopandas as gpd

from gridkit.publish.webmap import base_map

_STATUS_COLOURS = {
    "reached": "#1a9850",
    "out_of_reach": "#fdae61",
    "unreachable": "#d73027",
    "off_network": "#7b3294",
}


def _base(frames: list[gpd.GeoDataFrame]) -> folium.Map:
    bounds = [f.to_crs(4326).total_bounds for f in frames if f is not None and len(f)]
    x0 = min(b[0] for b in bounds)
    y0 = min(b[1] for b in bounds)
    x1 = max(b[2] for b in bounds)
    y1 = max(b[3] for b in bounds)
    m = base_map(tiles="osm")  # only vendored scripts: the page works offline
    m.fit_bounds([[y0, x0], [y1, x1]])
    return m


def _villages(m: folium.Map, villages: gpd.GeoDataFrame | None) -> None:
    if villages is None or not len(villages):
        return
    cols = [c for c in ("code", "name") if c in villages.columns]
    folium.GeoJson(
        villages[cols + [villages.geometry.name]].to_crs(4326),
        name="villages",
        style_function=lambda _: {
            "color": "#333333",
            "weight": 2,
            "fill": False,
            "dashArray": "6 4",
        },
        tooltip=folium.GeoJsonTooltip(cols) if cols else None,
    ).add_to(m)


def reach_map(result, *, villages: gpd.GeoDataFrame | None = None) -> folium.Map:
    """Service areas, points coloured by status and the facilities of a ReachResult."""
    pts = result.points
    m = _base([pts, result.facilities])
    _villages(m, villages)
    if len(result.service_areas):
        folium.GeoJson(
            result.service_areas.to_crs(4326),
            name="service areas",
            style_function=lambda _: {"color": "#2b83ba", "weight": 1, "fillOpacity": 0.15},
            tooltip=folium.GeoJsonTooltip(["facility", "street_m", "points_within"]),
        ).add_to(m)
    keep = [c for c in ("facility", "distance_m", "euclidean_m", "status") if c in pts.columns]
    shown = pts[keep + [pts.geometry.name]].copy()
    shown["distance_m"] = shown["distance_m"].round(0)
    shown["euclidean_m"] = shown["euclidean_m"].round(0)
    folium.GeoJson(
        shown.to_crs(4326),
        name="points by reach",
        style_function=lambda f: {
            "color": _STATUS_COLOURS.get(f["properties"]["status"], "#555"),
            "fillColor": _STATUS_COLOURS.get(f["properties"]["status"], "#555"),
            "weight": 1,
            "fillOpacity": 0.7,
        },
        marker=folium.CircleMarker(radius=3),
        tooltip=folium.GeoJsonTooltip(keep),
    ).add_to(m)
    fac = result.facilities[result.facilities["status"] == "ok"]
    for _, row in fac.to_crs(4326).iterrows():
        folium.CircleMarker(
            [row.geometry.y, row.geometry.x],
            radius=7,
            color="#08306b",
            fill=True,
            fill_color="#2171b5",
            fill_opacity=1.0,
            tooltip=escape(f"facility {row['facility']}: {row['points_within']} within reach"),
        ).add_to(m)
    folium.LayerControl().add_to(m)
    return m


def checkpoints_map(cp, *, villages: gpd.GeoDataFrame | None = None) -> folium.Map:
    """Checkpoints on the village boundaries, coloured by road class importance."""
    m = _base([cp.per_village, cp.points])
    _villages(m, cp.per_village if villages is None else villages)
    major = {"motorway", "trunk", "primary", "secondary", "tertiary"}
    for _, row in cp.points.to_crs(4326).iterrows():
        colour = "#d7191c" if row["road_class"] in major else "#fdae61"
        name = row["road_name"] if isinstance(row["road_name"], str) else "(unnamed)"
        folium.CircleMarker(
            [row.geometry.y, row.geometry.x],
            radius=5 if colour == "#d7191c" else 3,
            color=colour,
            fill=True,
            fill_opacity=0.9,
            tooltip=escape(
                f"{row['checkpoint_id']}: {row['road_class']} {name}; "
                f"{row['village_a']} | {row['village_b']}"
            ),
        ).add_to(m)
    return m
