"""STAND-IN basic units for the partition tests, benchmark and demo.

This is NOT :func:`gridkit.units.build_units` (issue #3). Until that lands,
the partition needs units on the real sample: the street lines of the main
classes, the village boundaries and the jurisdiction boundary are noded and
polygonized into blocks; each block gets its village ``code`` (the village
holding its representative point) as ``village_code`` and the counts of
entities and households inside it. Replace every use of it with
``build_units`` once issue #3 is merged.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridkit.layers import Layers

STANDIN_ROAD_CLASSES = ("residential", "primary", "secondary", "tertiary", "unclassified",
                        "pedestrian", "service", "primary_link", "tertiary_link")


def standin_units(layers: Layers, *, road_classes=STANDIN_ROAD_CLASSES,
                  min_area: float = 50.0) -> gpd.GeoDataFrame:
    """Stand-in units (blocks between streets), in the layers' working CRS.

    Columns: ``unit_id``, ``village_code``, ``entities``, ``households``,
    ``buildings``. Blocks smaller than ``min_area`` m² are merged into
    nothing (dropped) only when they are slivers between lines; the blocks
    still tile the jurisdiction up to those slivers.
    """
    jur = shapely.union_all(layers["jurisdiction"].geometry.values)
    roads = layers["roads"]
    lines = roads.geometry.values[roads["road_class"].isin(road_classes).to_numpy()]
    villages = layers["villages"]
    edges = np.concatenate([
        shapely.intersection(lines, jur),
        shapely.boundary(villages.geometry.values),
        [shapely.boundary(jur)],
    ])
    noded = shapely.union_all(edges)
    polys = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    polys = polys[shapely.area(polys) >= min_area]
    polys = polys[shapely.intersects(shapely.point_on_surface(polys), jur)]
    units = gpd.GeoDataFrame({"unit_id": np.arange(len(polys))}, geometry=polys, crs=layers.crs)
    pts = gpd.GeoDataFrame(geometry=units.geometry.representative_point(), crs=layers.crs)
    hit = gpd.sjoin(pts, villages[["code", "geometry"]], predicate="within", how="left")
    hit = hit[~hit.index.duplicated()]
    code = hit["code"].reindex(units.index).fillna(villages["code"].iloc[0])
    units["village_code"] = code.astype(str)
    for name, layer, value in (("entities", layers.get("entities"), None),
                               ("households", layers.get("buildings"), "households"),
                               ("buildings", layers.get("buildings"), None)):
        if layer is None:
            units[name] = 0
            continue
        pts = gpd.GeoDataFrame(
            {"v": layer[value].to_numpy() if value else np.ones(len(layer))},
            geometry=layer.geometry.representative_point().values, crs=layers.crs)
        j = gpd.sjoin(pts, units[["geometry"]], predicate="within")
        j = j[~j.index.duplicated()]
        units[name] = (pd.Series(j["v"].to_numpy(), index=j["index_right"].to_numpy())
                       .groupby(level=0).sum().reindex(units.index, fill_value=0)
                       .to_numpy().astype(int))
    return units
