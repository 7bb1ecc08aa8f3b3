"""The synthetic county generator (issue #3; reused by the scale benchmarks)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal

from gridkit import check_layer
from gridkit.synthetic.county import SYNTHETIC_CRS, SyntheticSizeError, synthetic_county

SIZES = dict(buildings=1_500, roads=600, villages=12, entities=3_000)


@pytest.fixture(scope="module")
def county():
    return synthetic_county(7, **SIZES)


def test_counts_and_kinds(county):
    assert {k: len(v) for k, v in county.items() if k in SIZES} == SIZES
    for kind, layer in county.items():
        check_layer(layer, kind)  # every layer passes gridkit's own checks
        assert layer.crs == SYNTHETIC_CRS


def test_deterministic(county):
    again = synthetic_county(7, **SIZES)
    for kind in county:
        assert_geodataframe_equal(county[kind], again[kind])
    other = synthetic_county(8, **SIZES)
    assert not other["buildings"].geometry.equals(county["buildings"].geometry)


def test_villages_tile_the_outline(county):
    outline = county["jurisdiction"].geometry.iloc[0]
    villages = county["villages"].geometry.values
    assert shapely.area(villages).sum() == pytest.approx(outline.area, rel=1e-6)
    assert (county["villages"].geom_type == "Polygon").all()
    codes = county["villages"]["code"]
    assert codes.str.fullmatch(r"\d{12}").all() and codes.is_unique


def test_domain_mix(county):
    e = county["entities"]
    risk = e["risk"].value_counts(normalize=True)
    assert risk[3] > risk[2] > risk[1] > 0.02
    credit = e["credit"].value_counts(normalize=True)
    assert credit["A"] > 0.65 and credit["B"] > 0.15
    # heavy tail: a few buildings hold many entities
    b = county["buildings"]
    shapely.prepare(b.geometry.values)
    inside = b.sjoin(e, predicate="contains").groupby(level=0).size()
    assert inside.max() >= 10 * max(inside.median(), 1)


def test_messy_roads(county):
    roads = county["roads"]
    outline = county["jurisdiction"].geometry.iloc[0]
    assert roads.geometry.duplicated().sum() >= 1  # duplicated segments
    assert (~roads.intersects(outline)).any()  # some lie outside
    assert {"primary", "residential"} <= set(roads["road_class"])


def test_geographic_crs():
    small = synthetic_county(1, buildings=50, roads=100, villages=3, entities=50, crs="EPSG:4490")
    x0, y0, x1, y1 = small["roads"].total_bounds
    assert 100 < x0 < x1 < 130 and 20 < y0 < y1 < 40


@pytest.mark.parametrize("bad", [{"roads": 0}, {"villages": 1.5}, {"buildings": -1},
                                 {"spacing": 0}])
def test_bad_sizes(bad):
    with pytest.raises(SyntheticSizeError, match=list(bad)[0]) as err:
        synthetic_county(0, **{**SIZES, **bad})
    assert isinstance(err.value, ValueError)


def test_output_pinned(county):
    """A seed keeps giving the same county (the province generator and the speed-ups
    reuse its helpers: they must not change what a seed gives). Values recorded
    from the generator as first committed."""
    assert county["buildings"].area.sum() == pytest.approx(311352.9877235646, rel=1e-9)
    xy = shapely.get_coordinates(county["entities"].geometry.values)
    assert xy.sum() == pytest.approx(11475677678.80272, rel=1e-12)
    assert county["roads"].length.sum() == pytest.approx(121780.32046778189, rel=1e-9)
    assert county["villages"].area.sum() == pytest.approx(15221857.714527495, rel=1e-9)
    assert county["buildings"]["households"].sum() == 5469
    assert county["entities"]["risk"].sum() == 7802


def test_zero_buildings_and_entities():
    empty = synthetic_county(2, buildings=0, roads=100, villages=2, entities=0)
    assert len(empty["buildings"]) == 0 and len(empty["entities"]) == 0
    assert np.isfinite(empty["roads"].total_bounds).all()
