"""Buildings whole by construction; village boundaries that cut buildings (issue #16)."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, box

import gridkit as gk
from gridkit.coverage.validate import validate_coverage
from gridkit.errors import GridkitWarning
from gridkit.units.build import build_units
from gridkit.units.whole import OUTSIDE, villages_around_buildings

CRS = "EPSG:4547"
X0, Y0 = 500_000.0, 3_400_000.0


def gdf(geoms, **cols):
    return gpd.GeoDataFrame(cols, geometry=[shapely.transform(g, lambda c: c + (X0, Y0))
                                            for g in geoms], crs=CRS)


def square():
    return gdf([box(0, 0, 1000, 1000)])


def two_villages():
    return gdf([box(0, 0, 500, 1000), box(500, 0, 1000, 1000)], code=["A", "B"])


def _split(units, buildings, villages=None):
    report = validate_coverage(units, buildings=buildings, villages=villages,
                               id_column="unit_id")
    return report, report.issues[report.issues["kind"] == "building_split"]


def test_roads_cutting_buildings_leave_them_whole():
    # a road grid through a row of buildings: every one straddles two units
    roads = gdf([LineString([(x, 0), (x, 1000)]) for x in (250, 500, 750)]
                + [LineString([(0, 500), (1000, 500)])])
    buildings = gdf([box(x - 12, 480, x + 8, 530) for x in (250, 500, 750)]
                    + [box(100, 100, 130, 130)])
    with warnings.catch_warnings():
        warnings.simplefilter("error", GridkitWarning)  # no conflict: no village cuts them
        res = build_units(roads, square(), buildings=buildings)
    assert res.report["buildings_made_whole"] == 3 and res.report["conflicts"] == []
    assert res.report["coverage_valid"]
    assert res.buildings["unit_share"].tolist() == [1.0] * 4
    units = res.units.set_index("unit_id").geometry
    for b, u in zip(buildings.geometry, res.buildings["unit_id"], strict=True):
        assert units[u].covers(b)
    report, split = _split(res.units, buildings)
    assert len(split) == 0 and report.valid, report.summary
    assert res.units.area.sum() == pytest.approx(1_000_000)


def test_village_boundary_cutting_a_building_is_a_conflict():
    buildings = gdf([box(470, 100, 510, 120), box(100, 100, 120, 120)])  # 30 m in A, 10 m in B
    with pytest.warns(GridkitWarning, match="1 building.*cut by a village.*fix_villages"):
        res = build_units(None, square(), villages=two_villages(), buildings=buildings,
                          barriers=gdf([LineString([(0, 600), (1000, 600)])]))
    [c] = res.report["conflicts"]
    assert c["building"] == 0 and c["villages"] == ["A", "B"]
    assert c["area_m2"] == pytest.approx([600.0, 200.0])
    assert shapely.Point(c["x"], c["y"]).within(buildings.geometry.iloc[0])
    # the units stay nested: the building stays split along the village line
    _, split = _split(res.units, buildings, two_villages().rename(columns={}))
    assert len(split) == 1


def test_fix_villages_moves_the_boundary_around_the_building():
    buildings = gdf([box(470, 100, 510, 120), box(100, 100, 120, 120)])
    villages = two_villages()
    with pytest.warns(GridkitWarning, match="moved the village boundary around 1"):
        res = build_units(None, square(), villages=villages, buildings=buildings,
                          fix_villages=True)
    assert villages.area.tolist() == [500_000, 500_000]  # the caller's layer is untouched
    [m] = res.report["villages_moved"]
    assert m["to"] == "A" and m["from"] == ["B"] and m["moved_m2"] == pytest.approx(200.0)
    fixed = res.report["villages_fixed"].set_index("code")
    assert fixed.area["A"] == pytest.approx(500_200) and fixed.area["B"] == pytest.approx(499_800)
    assert shapely.coverage_is_valid(fixed.geometry.values)
    report, split = _split(res.units, buildings, res.report["villages_fixed"])
    assert len(split) == 0 and report.valid, report.summary


def test_jurisdiction_edge_cutting_a_building_is_reported():
    buildings = gdf([box(990, 100, 1010, 120)])
    with pytest.warns(GridkitWarning, match="only the jurisdiction's outline cuts them"):
        res = build_units(None, square(), villages=two_villages(), buildings=buildings,
                          barriers=gdf([LineString([(0, 600), (1000, 600)])]))
    [c] = res.report["conflicts"]
    assert c["villages"] == ["B", OUTSIDE] and c["area_m2"] == pytest.approx([200.0, 200.0])


def test_villages_around_buildings_keeps_a_connected_coverage():
    villages = gdf([box(0, 0, 500, 1000), box(500, 0, 1000, 1000)], code=["A", "B"])
    # the first building, mostly in A, has a courtyard in B: once the building is A's,
    # the courtyard is an island of B inside A and goes to A too (B stays in one piece)
    ring = box(480, 400, 520, 600).difference(box(505, 450, 515, 550))
    buildings = gdf([ring, box(490, 800, 530, 900)])  # the second: 10 m in A, 30 m in B
    fixed, moved = villages_around_buildings(villages, buildings)
    assert villages.area.tolist() == [500_000, 500_000]
    assert moved["to"].tolist() == ["A", "B"]
    assert moved["moved_m2"].tolist() == pytest.approx([20 * 200 - 10 * 100, 10 * 100])
    assert shapely.coverage_is_valid(fixed.geometry.values)
    assert fixed.geom_type.tolist() == ["Polygon", "Polygon"]
    assert fixed.area.tolist() == pytest.approx([500_000 + 3000 + 1000 - 1000,
                                                 500_000 - 3000 - 1000 + 1000])
    for b, code in zip(buildings.geometry, ["A", "B"], strict=True):
        assert fixed.set_index("code").geometry[code].covers(b)


def test_sample_units_keep_every_building_whole():
    s = gk.load_sample()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridkitWarning)
        res = build_units(s["roads"], s["jurisdiction"], villages=s["villages"],
                          barriers=s["barriers"], buildings=s["buildings"],
                          entities=s["entities"], max_workload=500)
    assert res.report["coverage_valid"] and res.report["buildings_made_whole"] > 0
    # the sample's villages cut no building: only its rectangle's edge may
    assert all(OUTSIDE in c["villages"] for c in res.report["conflicts"])
    report = validate_coverage(res.units, jurisdiction=s["jurisdiction"],
                               villages=s["villages"], buildings=s["buildings"],
                               entities=s["entities"], id_column="unit_id")
    assert report.summary.get("building_split", 0) == 0
    assert report.valid, {k: v for k, v in report.summary.items() if v}


def test_sample_fix_villages_on_villages_that_cut_buildings():
    s = gk.load_sample()
    # postcode cells as they were before the refit: straight cuts across the blocks
    cut = s["villages"].copy()
    xs = np.linspace(*cut.total_bounds[[0, 2]], 6)[1:-1]
    ymin, ymax = cut.total_bounds[[1, 3]]
    cut = gpd.GeoDataFrame({"code": [f"00009100100{i}" for i in range(1, 6)]},
                           geometry=[box(a, ymin, b, ymax)
                                     for a, b in zip(np.r_[cut.total_bounds[0], xs],
                                                     np.r_[xs, cut.total_bounds[2]],
                                                     strict=True)], crs=cut.crs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridkitWarning)
        plain = build_units(s["roads"], s["jurisdiction"], villages=cut,
                            buildings=s["buildings"])
        fixed = build_units(s["roads"], s["jurisdiction"], villages=cut,
                            buildings=s["buildings"], fix_villages=True)
    cut_by_village = [c for c in plain.report["conflicts"]
                      if len(set(c["villages"]) - {OUTSIDE}) >= 2]
    assert len(cut_by_village) > 5
    assert len(fixed.report["villages_moved"]) == len(cut_by_village)
    before = validate_coverage(plain.units, villages=cut, buildings=s["buildings"],
                               id_column="unit_id").summary.get("building_split", 0)
    after = validate_coverage(fixed.units, villages=fixed.report["villages_fixed"],
                              buildings=s["buildings"], id_column="unit_id")
    assert before == len(cut_by_village)
    assert after.summary.get("building_split", 0) == 0
    assert after.summary.get("not_nested", 0) == 0
