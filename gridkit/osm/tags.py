"""The OSM tags behind each layer, and the documented mappings to gridkit's columns.

Risk classes follow DOMAIN.md: class 1 for the kinds of business it names
(food production and sale, bars and entertainment, fuel, pharmacies, beauty
and bath services, printing, chemicals, fireworks, agricultural inputs...),
listed as OSM tag values in :data:`RISK1`; class 2 for any other entity within
:data:`MAIN_STREET_M` of a main street (:data:`MAIN_ROADS`) or within
:data:`SENSITIVE_M` of a school, kindergarten or town hall (:data:`SENSITIVE`);
class 3 for the rest. OSM knows no credit record, so no ``credit`` is made up.

Households: OSM has no household counts. A building whose ``building`` value
holds homes (:data:`HOME_TYPES`) is given
``floor(footprint m² x levels x 0.8 / 70)`` (80% of the floor area is
living space, 70 m² a home); others 0. ``levels`` is ``building:levels``,
else :data:`DEFAULT_LEVELS`, clipped to 1-20.
"""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

__all__ = [
    "RISK1", "NOT_ENTITIES", "CATEGORY_KEYS", "SENSITIVE", "MAIN_ROADS", "HOME_TYPES",
    "NOT_ROADS", "RAILWAYS", "WATERWAYS", "DEFAULT_LEVELS", "MAIN_STREET_M", "SENSITIVE_M",
    "parse_other_tags", "entity_category", "risk_classes", "building_levels",
    "estimate_households",
]

# OSM tag value -> risk class 1 (DOMAIN.md "Class 1 (high)")
RISK1: dict[str, set[str]] = {
    "amenity": {"bar", "pub", "nightclub", "restaurant", "fast_food", "cafe", "food_court",
                "ice_cream", "fuel", "pharmacy", "casino", "cinema", "theatre",
                "internet_cafe", "stripclub", "gambling", "biergarten"},
    "shop": {"alcohol", "bakery", "butcher", "convenience", "supermarket", "deli", "confectionery",
             "greengrocer", "seafood", "beverages", "wine", "coffee", "tea", "chocolate",
             "pastry", "food", "kiosk", "chemist", "hairdresser", "beauty", "cosmetics",
             "massage", "tattoo", "copyshop", "paint", "fireworks", "tobacco", "e-cigarette",
             "pharmacy", "erotic", "hardware", "gas", "agrarian", "garden_centre"},
    "leisure": {"sauna", "amusement_arcade", "adult_gaming_centre", "dance"},
}
"""Tag key -> the values whose entities are risk class 1."""

NOT_ENTITIES = {"bench", "waste_basket", "vending_machine", "bicycle_parking", "post_box",
                "parking", "taxi", "toilets", "recycling", "telephone", "drinking_water",
                "clock", "artwork", "information", "bicycle_rental", "parking_entrance",
                "motorcycle_parking", "shelter", "fountain", "atm", "charging_station",
                "viewpoint", "grit_bin", "parking_space", "water_point", "picnic_table",
                "smoking_area", "bbq", "compressed_air", "vacuum_cleaner", "feeding_place",
                "loading_dock", "ticket_validator", "hunting_stand", "waste_disposal",
                "bus_station", "ferry_terminal", "car_sharing", "public_bookcase", "letter_box"}
"""Category values that are street furniture, not businesses or sites to inspect."""

CATEGORY_KEYS = ("amenity", "shop", "tourism", "leisure", "office", "craft")
"""The tags that make an entity, in order: the first present gives ``category``."""
SENSITIVE = {"school", "kindergarten", "townhall", "college", "university", "childcare"}
MAIN_ROADS = {"primary", "secondary", "tertiary", "primary_link", "secondary_link"}
HOME_TYPES = {"yes", "residential", "apartments", "house"}
NOT_ROADS = {"abandoned", "bus_guideway", "construction", "planned", "platform", "proposed",
             "raceway", "elevator", "corridor", "bus_stop", "rest_area", "services", "razed",
             "disused"}
"""``highway`` values that are no road to cut units along."""
RAILWAYS = {"rail", "light_rail", "narrow_gauge", "monorail"}
WATERWAYS = {"river", "canal"}
DEFAULT_LEVELS = 4
MAIN_STREET_M = 25.0
SENSITIVE_M = 150.0

_PAIR = re.compile(r'"((?:[^"\\]|\\.)*)"=>"((?:[^"\\]|\\.)*)"')


def parse_other_tags(text) -> dict[str, str]:
    """GDAL's ``other_tags`` (HSTORE text) as a dict.

    Examples
    --------
    >>> parse_other_tags('"building:levels"=>"6","oneway"=>"yes"')
    {'building:levels': '6', 'oneway': 'yes'}
    """
    if not isinstance(text, str) or not text:
        return {}
    return {k.replace('\\"', '"'): v.replace('\\"', '"') for k, v in _PAIR.findall(text)}


def entity_category(tags) -> tuple[str | None, str | None]:
    """(key, value) of the first :data:`CATEGORY_KEYS` tag; ``(None, None)`` when not an entity.

    Examples
    --------
    >>> entity_category({"shop": "bakery", "name": "x"}), entity_category({"amenity": "bench"})
    (('shop', 'bakery'), (None, None))
    """
    for key in CATEGORY_KEYS:
        value = tags.get(key)
        if isinstance(value, str) and value:
            return (None, None) if value in NOT_ENTITIES else (key, value)
    return None, None


def risk_classes(entities: gpd.GeoDataFrame, roads: gpd.GeoDataFrame, *,
                 crs) -> np.ndarray:
    """Risk class 1-3 of each entity (``category_key``, ``category``; see the module docstring).

    ``crs`` is the metric CRS the distances are measured in.
    """
    high = np.array([v in RISK1.get(k, set())
                     for k, v in zip(entities["category_key"], entities["category"], strict=True)],
                    dtype=bool)
    points = entities.to_crs(crs).geometry
    near = np.zeros(len(entities), dtype=bool)
    main = roads[roads["road_class"].isin(MAIN_ROADS)]
    if len(main):
        near |= np.asarray(points.distance(shapely.union_all(main.to_crs(crs).geometry.values))
                           <= MAIN_STREET_M)
    sensitive = points[entities["category"].isin(SENSITIVE).to_numpy()]
    if len(sensitive):
        near |= np.asarray(points.distance(shapely.union_all(sensitive.values)) <= SENSITIVE_M)
    return np.where(high, 1, np.where(near, 2, 3)).astype(int)


def building_levels(values) -> np.ndarray:
    """``building:levels`` as whole numbers 1-20 (:data:`DEFAULT_LEVELS` when missing)."""
    levels = pd.to_numeric(pd.Series(values, dtype="object"), errors="coerce")
    return levels.fillna(DEFAULT_LEVELS).clip(1, 20).astype(int).to_numpy()


def estimate_households(building: pd.Series, footprint_m2, levels) -> np.ndarray:
    """The households estimate of the module docstring, per building."""
    homes = building.fillna("yes").isin(HOME_TYPES).to_numpy()
    estimate = np.floor(np.asarray(footprint_m2) * np.asarray(levels) * 0.8 / 70)
    return np.where(homes, estimate, 0).astype(int)
