"""The synthetic province generator (issue #9): counties side by side that tile the province."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridkit import build_units, check_layer, validate_coverage
from gridkit.errors import SyntheticSizeError
from gridkit.synthetic.county import SYNTHETIC_CRS
from gridkit.synthetic.province import synthetic_province

SIZES = dict(counties=3, buildings_per_county=400, entities_per_county=800,
             roads_per_county=300, villages_per_county=10, villages_per_town=4)
ADMIN = ("counties", "towns", "villages")
SAMPLE_KINDS = {"jurisdiction": "jurisdiction", "villages": "villages", "roads": "roads",
                "barriers": "barriers", "buildings": "buildings", "entities": "entities",
                "counties": "jurisdiction", "towns": "jurisdiction"}


@pytest.fixture(scope="module")
def province():
    return synthetic_province(3, **SIZES)


def test_counts_kinds_and_ids(province):
    assert list(province) == ["jurisdiction", "counties", "towns", "villages", "roads",
                              "barriers", "buildings", "entities"]
    n = SIZES["counties"]
    assert len(province["jurisdiction"]) == 1
    assert len(province["counties"]) == n
    assert len(province["villages"]) == n * SIZES["villages_per_county"]
    assert len(province["buildings"]) == n * SIZES["buildings_per_county"]
    assert len(province["entities"]) == n * SIZES["entities_per_county"]
    assert len(province["roads"]) == n * SIZES["roads_per_county"]
    for name, layer in province.items():
        check_layer(layer, SAMPLE_KINDS[name])
        assert layer.crs == SYNTHETIC_CRS
    for name, col in (("roads", "road_id"), ("buildings", "building_id"),
                      ("entities", "entity_id")):
        assert (province[name][col].to_numpy() == np.arange(len(province[name]))).all()
    # the county generator's columns, so build_units and partition take them
    assert {"households", "levels"} <= set(province["buildings"].columns)
    assert {"risk", "credit", "category"} <= set(province["entities"].columns)
    assert "road_class" in province["roads"].columns


@pytest.mark.parametrize("name", ADMIN)
def test_admin_layers_tile_the_province(province, name):
    report = validate_coverage(province[name], jurisdiction=province["jurisdiction"],
                               id_column="code")
    assert report.valid, str(report)
    layer = province[name]
    assert (layer.geom_type == "Polygon").all()  # every county, town, village in one piece
    assert layer.area.sum() == pytest.approx(province["jurisdiction"].area.iloc[0], rel=1e-9)


def test_codes_and_nesting(province):
    c, t, v = province["counties"], province["towns"], province["villages"]
    assert c["code"].str.fullmatch(r"49\d{4}").all() and c["code"].is_unique
    assert t["code"].str.fullmatch(r"\d{9}").all() and t["code"].is_unique
    assert v["code"].str.fullmatch(r"\d{12}").all() and v["code"].is_unique
    assert (v["town_code"] == v["code"].str[:9]).all()
    assert (t["county_code"] == t["code"].str[:6]).all()
    assert set(v["town_code"]) == set(t["code"]) and set(t["county_code"]) == set(c["code"])
    # towns are exactly the unions of their villages, counties of their towns
    for parent, child, key in ((t, v, "town_code"), (c, t, "county_code")):
        union = child.dissolve(key).geometry
        geom = parent.set_index("code").geometry.loc[union.index]
        assert shapely.area(shapely.symmetric_difference(geom.values, union.values)).max() < 1e-3
    # every village inside its county
    vc = v.geometry.values
    county = c.set_index("code").geometry.loc[v["code"].str[:6]].values
    assert (shapely.area(shapely.intersection(vc, county)) / shapely.area(vc)).min() > 1 - 1e-9
    # about `villages_per_town` villages per town
    assert len(t) == pytest.approx(len(v) / SIZES["villages_per_town"], rel=0.35)


def test_layers_stay_in_their_county(province):
    """Buildings and entities lie in the province; roads stop at county borders."""
    outline = province["jurisdiction"].geometry.iloc[0]
    b = province["buildings"].geometry.values
    inside = shapely.contains_xy(shapely.buffer(outline, 31),
                                 *shapely.get_coordinates(shapely.centroid(b)).T)
    assert inside.all()
    e = shapely.get_coordinates(province["entities"].geometry.values)
    assert shapely.contains_xy(outline, e[:, 0], e[:, 1]).mean() > 0.95
    # roads are clipped at the borders between counties: no road runs into two
    roads, counties = province["roads"], province["counties"]
    pairs = roads.sjoin(counties[["code", "geometry"]], predicate="intersects")
    length = shapely.length(shapely.intersection(
        pairs.geometry.values, counties.geometry.values[pairs["index_right"].to_numpy()]))
    per_road = pairs.assign(length=length).groupby(level=0)["length"]
    assert (per_road.sum() - per_road.max()).max() < 1e-6
    assert (per_road.max() > 0).all()


def test_deterministic(province):
    again = synthetic_province(3, **SIZES)
    for kind in province:
        assert_geodataframe_equal(province[kind], again[kind])
    other = synthetic_province(4, **SIZES)
    assert not other["villages"].geometry.equals(province["villages"].geometry)


def test_heavy_tailed_counties():
    p = synthetic_province(5, counties=6, buildings_per_county=300, entities_per_county=0,
                           roads_per_county=200, villages_per_county=6)
    centre = shapely.centroid(p["buildings"].geometry.values)
    counties = p["counties"]
    per = np.array([shapely.contains_xy(g, *shapely.get_coordinates(centre).T).sum()
                    for g in counties.geometry.values])
    density = per / counties.area.to_numpy()
    assert density.max() > 3 * density.min()  # a dense city county and sparse rural ones
    # the densest county is a central one (nearer the centre than the mean county)
    mid = p["jurisdiction"].centroid.iloc[0]
    dist = counties.centroid.distance(mid).to_numpy()
    assert dist[np.argmax(density)] < dist.mean()


def test_domain_mix():
    p = synthetic_province(6, counties=2, buildings_per_county=1_000, entities_per_county=10_000,
                           roads_per_county=200, villages_per_county=4)
    e = p["entities"]
    assert len(e) == 20_000
    risk = e["risk"].value_counts(normalize=True)
    for r, share in zip((1, 2, 3), (0.06, 0.285, 0.655), strict=True):
        assert risk[r] == pytest.approx(share, abs=0.015)
    credit = e["credit"].value_counts(normalize=True)
    for c, share in zip("ABC", (0.755, 0.24, 0.005), strict=True):
        assert credit[c] == pytest.approx(share, abs=0.015 if c != "C" else 0.003)


def test_build_units_on_one_town(province):
    towns = province["towns"]
    town = towns.iloc[[int(np.argmax(towns.area))]].reset_index(drop=True)
    geom = town.geometry.iloc[0]
    villages = province["villages"][province["villages"]["town_code"] == town["code"].iloc[0]]
    near = {k: province[k][province[k].intersects(geom)]
            for k in ("roads", "barriers", "buildings", "entities")}
    near = {k: v if len(v) else None for k, v in near.items()}
    result = build_units(near["roads"], town, villages=villages, barriers=near["barriers"],
                         buildings=near["buildings"], entities=near["entities"])
    units = result.units
    assert len(units) > 0
    assert set(units["village_code"]) <= set(villages["code"])
    assert units.area.sum() == pytest.approx(geom.area, rel=1e-6)
    assert units["entities"].sum() > 0


def test_one_county_and_geographic_crs():
    p = synthetic_province(1, counties=1, buildings_per_county=50, entities_per_county=50,
                           roads_per_county=100, villages_per_county=1, crs="EPSG:4490")
    assert len(p["counties"]) == len(p["towns"]) == len(p["villages"]) == 1
    assert p["villages"]["code"].iloc[0] == "490101001001"
    x0, y0, x1, y1 = p["roads"].total_bounds
    assert 100 < x0 < x1 < 130 and 20 < y0 < y1 < 40
    assert p["buildings"].crs == "EPSG:4490"


@pytest.mark.parametrize("bad", [{"counties": 0}, {"counties": 1.5},
                                 {"buildings_per_county": -1}, {"entities_per_county": 2.5},
                                 {"roads_per_county": 5}, {"villages_per_county": 0},
                                 {"villages_per_town": 0}, {"spacing": 0}])
def test_bad_sizes(bad):
    name = list(bad)[0]
    with pytest.raises(SyntheticSizeError, match=f"`{name}`") as err:
        synthetic_province(0, **{**SIZES, **bad})
    assert isinstance(err.value, ValueError)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), counties=st.integers(1, 5), villages=st.integers(1, 12),
       per_town=st.integers(1, 6))
def test_tiling_property(seed, counties, villages, per_town):
    """Whatever the seed and sizes, villages tile the province, towns are connected
    unions of villages and the codes nest."""
    p = synthetic_province(seed, counties=counties, buildings_per_county=0,
                           entities_per_county=0, roads_per_county=40,
                           villages_per_county=villages, villages_per_town=per_town)
    v = p["villages"]
    assert len(v) == counties * villages and len(p["counties"]) == counties
    assert validate_coverage(v, jurisdiction=p["jurisdiction"], id_column="code").valid
    assert (v.geom_type == "Polygon").all() and (p["towns"].geom_type == "Polygon").all()
    assert (p["counties"].geom_type == "Polygon").all()
    assert (v["town_code"] == v["code"].str[:9]).all()
    assert set(v["code"].str[:6]) == set(p["counties"]["code"])
