"""Basic units: tiling, villages, slivers, splitting, assignment (issue #3)."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point, box

import gridkit as gk
from gridkit.crs import to_crs
from gridkit.errors import GridkitWarning, MissingColumnError
from gridkit.units.build import (
    AREA_TOLERANCE,
    NO_VILLAGE_CODE,
    UNIT_COLUMNS,
    UnitsError,
    build_units,
)

CRS = "EPSG:4547"  # CGCS2000 Gauss-Kruger, metres
X0, Y0 = 500_000.0, 3_400_000.0


def gdf(geoms, crs=CRS, **cols):
    return gpd.GeoDataFrame(cols, geometry=list(geoms), crs=crs)


def shift(geom):
    return shapely.transform(geom, lambda c: c + (X0, Y0))


def lines(*coords):
    return gdf([shift(LineString(c)) for c in coords])


def square(side=1000.0):
    return gdf([shift(box(0, 0, side, side))], name=["J"])


def quiet_build(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridkitWarning)
        return build_units(*args, **kwargs)


def assert_tiles(units: gpd.GeoDataFrame, jurisdiction: gpd.GeoDataFrame):
    """Units cover the jurisdiction exactly (area tolerance) with no overlaps.

    Both are projected as gridkit projects (straight edges densified first): the
    jurisdiction's edges are straight in its own CRS, not in the metric one.
    """
    metric = to_crs(units, gk.working_crs(units))
    j = to_crs(jurisdiction, metric.crs).union_all()
    geoms = metric.geometry.values
    tolerance = AREA_TOLERANCE * j.length  # a 1 mm strip along the outline
    assert shapely.is_valid(geoms).all()
    assert shapely.coverage_is_valid(geoms)
    assert abs(shapely.area(geoms).sum() - j.area) <= tolerance
    assert shapely.union_all(geoms).symmetric_difference(j).area <= tolerance
    assert list(units["unit_id"]) == list(range(len(units)))


# --- the real sample -------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_result(_sample_layers):
    s = {k: v.copy() for k, v in _sample_layers.items()}
    return s, quiet_build(s["roads"], s["jurisdiction"], villages=s["villages"],
                          barriers=s["barriers"], buildings=s["buildings"],
                          entities=s["entities"])


def test_sample_units_tile_jurisdiction(sample_result):
    s, res = sample_result
    assert res.units.crs == s["roads"].crs  # back in the input CRS
    assert list(res.units.columns) == list(UNIT_COLUMNS) + ["geometry"]
    assert_tiles(res.units, s["jurisdiction"])
    assert res.report["coverage_valid"] and res.report["slivers_left"] == 0
    assert (res.units.geom_type == "Polygon").all()


def test_sample_units_pass_gridkit_coverage_validation(sample_result):
    s, res = sample_result
    report = gk.validate_coverage(res.units, id_column="unit_id", jurisdiction=s["jurisdiction"],
                                  villages=s["villages"], entities=res.entities)
    assert report.valid, str(report)
    assert report.summary["gap"] == report.summary["overlap"] == 0
    assert report.summary["not_nested"] == report.summary["entity_unassigned"] == 0


def test_sample_every_unit_in_exactly_one_village(sample_result):
    s, res = sample_result
    metric = gk.working_crs(res.units)
    units = res.units.to_crs(metric)
    villages = s["villages"].to_crs(metric).set_index("code")
    inside = shapely.area(shapely.intersection(
        units.geometry.values, villages.geometry.loc[units["village_code"]].values))
    # up to the 1 mm noding grid along the unit's outline
    assert np.all(units.area.to_numpy() - inside <= AREA_TOLERANCE * units.length.to_numpy())
    assert set(units["village_code"]) == set(s["villages"]["code"])


def test_sample_buildings_and_entities_assigned_once(sample_result):
    s, res = sample_result
    assert res.units["buildings"].sum() == len(s["buildings"])
    assert res.buildings["unit_id"].notna().sum() == len(s["buildings"])
    assert res.units["entities"].sum() == len(s["entities"])
    assert res.entities["unit_id"].notna().sum() == len(s["entities"])
    assert res.units["households"].sum() == s["buildings"]["households"].sum()
    assert len(res.unassigned) == 0
    counts = res.entities["unit_id"].value_counts().reindex(res.units["unit_id"], fill_value=0)
    assert (counts.to_numpy() == res.units["entities"].to_numpy()).all()
    # each entity really lies in its unit
    ent = res.entities.to_crs(res.crs)
    units = res.units.to_crs(res.crs).set_index("unit_id")
    assert shapely.intersects(units.geometry.loc[ent["unit_id"].astype(int)].values,
                              ent.geometry.values).all()


def test_sample_workload_columns(sample_result):
    s, res = sample_result
    u = res.units
    for r in (1, 2, 3):
        assert u[f"entities_risk{r}"].sum() == (s["entities"]["risk"] == r).sum()
    assert (u[["entities_key", "entities_general", "entities_exempt"]].sum(axis=1)
            == u["entities"]).all()
    np.testing.assert_allclose(u["workload_min"], u["visit_min"] + u["patrol_min"])
    policy = gk.load_policy()
    np.testing.assert_allclose(u["patrol_min"], u["street_length_m"] / policy.patrol_speed_m_per_min
                               * policy.patrol_passes_per_month)
    classified = gk.classify_entities(s["entities"])
    expected = (classified["visits_per_month"] * classified["minutes_per_visit"]).sum()
    assert u["visit_min"].sum() == pytest.approx(expected)
    # street length: the road network inside the jurisdiction, each road once
    roads = s["roads"].to_crs(res.crs)
    inside = shapely.length(shapely.intersection(roads.geometry.values,
                                                 s["jurisdiction"].to_crs(res.crs).union_all()))
    assert u["street_length_m"].sum() == pytest.approx(inside.sum(), rel=0.01)
    assert (u[list(UNIT_COLUMNS[2:])] >= 0).all().all()


def test_sample_inputs_not_modified(_sample_layers):
    s = {k: v.copy() for k, v in _sample_layers.items()}
    before = {k: v.copy() for k, v in s.items()}
    quiet_build(s["roads"], s["jurisdiction"], villages=s["villages"], buildings=s["buildings"],
                entities=s["entities"], max_area=50_000)
    for k in s:
        assert_geodataframe_equal(s[k], before[k])


def test_sample_road_classes_cut_fewer_units(sample_result):
    s, res = sample_result
    main = ["primary", "secondary", "tertiary", "residential"]
    fewer = quiet_build(s["roads"], s["jurisdiction"], villages=s["villages"], road_classes=main)
    assert len(fewer.units) < len(res.units)
    assert_tiles(fewer.units, s["jurisdiction"])
    # every road still counts for the patrol, cutting or not
    assert fewer.units["street_length_m"].sum() == pytest.approx(
        res.units["street_length_m"].sum(), rel=0.01)


def test_sample_split_respects_limits(_sample_layers):
    s = {k: v.copy() for k, v in _sample_layers.items()}
    res = quiet_build(s["roads"], s["jurisdiction"], villages=s["villages"],
                      buildings=s["buildings"], entities=s["entities"],
                      max_area=40_000, max_workload=1_500)
    assert res.report["units_split"] > 0 and res.report["units_over_limit"] == 0
    assert res.units["area_m2"].max() <= 40_000
    assert res.units["workload_min"].max() <= 1_500
    assert_tiles(res.units, s["jurisdiction"])
    assert res.units["entities"].sum() == len(s["entities"])


# --- hand-made messy roads ---------------------------------------------------------

H = ((0, 500), (1000, 500))  # a horizontal road across the square


def test_gap_of_half_a_metre_is_snapped():
    roads = lines(H, ((500, 0), (500, 499.5)))  # stops 0.5 m short of the road
    res = quiet_build(roads, square())
    assert len(res.units) == 3 and res.report["snapped_ends"] >= 1
    assert_tiles(res.units, square())
    # without snapping the short road is a dangle: it cuts nothing
    loose = quiet_build(roads, square(), snap_tolerance=0.1)
    assert len(loose.units) == 2


def test_duplicate_line_counts_once():
    res = quiet_build(lines(H, H, ((1000, 500), (0, 500))), square())
    assert len(res.units) == 2
    assert_tiles(res.units, square())
    assert res.units["street_length_m"].tolist() == pytest.approx([500.0, 500.0])


def test_dangle_cuts_nothing_but_is_patrolled():
    res = quiet_build(lines(H, ((200, 600), (300, 700))), square())
    assert len(res.units) == 2
    north = res.units.loc[res.units.geometry.centroid.y.idxmax()]
    assert north["street_length_m"] == pytest.approx(500 + np.hypot(100, 100))


def test_roads_outside_the_jurisdiction():
    roads = lines(H, ((1500, 0), (1500, 1000)), ((800, 200), (1200, 200)))
    res = quiet_build(roads, square())
    assert res.report["lines_outside"] == 1 and res.report["lines_clipped"] == 1
    assert len(res.units) == 2  # the clipped road is a dangle inside
    assert_tiles(res.units, square())
    assert res.units["street_length_m"].sum() == pytest.approx(1000 + 200)


def test_village_boundary_not_following_roads():
    villages = gdf([shift(box(0, 0, 600, 1000)), shift(box(600, 0, 1000, 1000))],
                   code=["A", "B"])
    res = quiet_build(lines(((500, 0), (500, 1000))), square(), villages=villages)
    assert sorted(res.units["village_code"]) == ["A", "A", "B"]
    assert sorted(res.units["area_m2"].round()) == [100_000, 400_000, 500_000]
    for _, unit in res.units.iterrows():
        village = villages.set_index("code").geometry[unit["village_code"]]
        assert unit.geometry.difference(village).area <= AREA_TOLERANCE * unit.geometry.length


def test_sliver_merges_within_its_village():
    villages = gdf([shift(box(0, 0, 501, 1000)), shift(box(501, 0, 1000, 1000))],
                   code=["A", "B"])
    # roads at x=500 and x=502: strips 1 m wide on both sides of the village line
    roads = lines(((500, 0), (500, 1000)), ((502, 0), (502, 1000)))
    res = quiet_build(roads, square(), villages=villages)
    assert len(res.units) == 2 and res.report["slivers_merged"] == 2
    by_code = res.units.set_index("village_code")["area_m2"]
    assert by_code["A"] == pytest.approx(501_000) and by_code["B"] == pytest.approx(499_000)


def test_buildings_whole_and_outside_reported():
    roads = lines(((500, 0), (500, 1000)))
    buildings = gdf([shift(box(470, 100, 510, 120)),  # 30 m west, 10 m east of the road
                     shift(box(600, 600, 620, 620)),
                     shift(box(1100, 100, 1120, 120))],  # outside
                    households=[4, 6, 9])
    entities = gdf([shift(Point(500, 300)), shift(Point(700, 700)), shift(Point(-50, 5))],
                   risk=[1, 3, 2], credit=["A", "A", "C"])
    with pytest.warns(GridkitWarning, match="1 building.*1 entit"):
        res = build_units(roads, square(), buildings=buildings, entities=entities)
    west = res.units.loc[res.units.geometry.centroid.x.idxmin(), "unit_id"]
    assert res.buildings["unit_id"].tolist()[:2] == [west, 1 - west]
    assert res.buildings["unit_id"].isna().tolist() == [False, False, True]
    # 75% of the first building lay west of the road: the west unit takes all of it
    assert res.report["buildings_made_whole"] == 1
    assert res.buildings["unit_share"].iloc[:2].tolist() == [1.0, 1.0]
    units = res.units.set_index("unit_id")
    assert units.geometry[west].covers(buildings.geometry.iloc[0])
    assert units.loc[west, "area_m2"] == pytest.approx(500_000 + 10 * 20)
    assert res.report["coverage_valid"]
    assert res.units["households"].sum() == 10
    assert res.units["entities"].sum() == 2  # the one on the road goes to one unit only
    assert sorted(res.unassigned["layer"]) == ["buildings", "entities"]
    assert res.unassigned["index"].tolist() == ["2", "2"]


def test_split_large_block_along_buildings():
    xs, ys = np.meshgrid(np.arange(50, 1000, 100), np.arange(50, 1000, 100))
    buildings = gdf([shift(box(x - 10, y - 10, x + 10, y + 10))
                     for x, y in zip(xs.ravel(), ys.ravel(), strict=True)])
    res = quiet_build(lines(((0, 0), (1, 1))), square(), buildings=buildings, max_area=300_000)
    assert len(res.units) >= 4 and res.report["units_split"] == 1
    assert res.units["area_m2"].max() <= 300_000
    assert_tiles(res.units, square())
    assert (res.buildings["unit_share"] == 1).all()  # no piece boundary through a building
    assert res.units["buildings"].sum() == 100


def test_jurisdiction_with_island_and_hole():
    outer = box(0, 0, 1000, 1000).difference(box(600, 600, 800, 800))  # a lake inside
    island = box(1200, 0, 1400, 200)
    j = gdf([shift(shapely.MultiPolygon([outer, island]))])
    res = quiet_build(lines(H, ((1300, -50), (1300, 250))), j)
    assert_tiles(res.units, j)
    assert len(res.units) == 4  # north, south (around the lake), two halves of the island
    lake = shift(box(600, 600, 800, 800))
    assert not shapely.intersects(shapely.buffer(lake, -1), res.units.geometry.values).any()


def test_split_cannot_cut_a_building():
    building = gdf([shift(box(100, 100, 120, 120))])
    entities = gdf([shift(Point(110, 110))] * 10, risk=[1] * 10, credit=["A"] * 10)
    with pytest.warns(GridkitWarning, match="still exceed"):
        res = build_units(lines(H), square(), buildings=building, entities=entities,
                          max_workload=60)
    assert res.report["units_over_limit"] >= 1
    assert res.buildings["unit_share"].iloc[0] == 1  # the building was not cut
    assert_tiles(res.units, square())


def test_no_villages_gives_one_code():
    res = quiet_build(lines(H), square())
    assert set(res.units["village_code"]) == {NO_VILLAGE_CODE}


def test_villages_with_gap_warn_and_nearest():
    villages = gdf([shift(box(0, 0, 400, 1000)), shift(box(600, 0, 1000, 1000))], code=["A", "B"])
    with pytest.warns(GridkitWarning, match="lie in no village"):
        res = build_units(lines(((500, 0), (500, 1000))), square(), villages=villages)
    assert_tiles(res.units, square())
    assert set(res.units["village_code"]) == {"A", "B"}


def test_overlapping_villages_warn():
    villages = gdf([shift(box(0, 0, 600, 1000)), shift(box(400, 0, 1000, 1000))], code=["A", "B"])
    with pytest.warns(GridkitWarning, match="more than one village"):
        res = build_units(lines(H), square(), villages=villages)
    assert res.report["area_in_several_villages_m2"] == pytest.approx(200_000)
    assert_tiles(res.units, square())
    by_village = res.units.groupby("village_code")["area_m2"].sum()
    assert by_village["A"] == pytest.approx(600_000)  # the overlap goes to the first


def test_geographic_input_comes_back_geographic():
    roads = lines(H).to_crs(4490)
    res = quiet_build(roads, square().to_crs(4490))
    assert res.units.crs.to_epsg() == 4490
    assert res.units["area_m2"].sum() == pytest.approx(1_000_000, rel=1e-3)


def test_tunnels_do_not_cut_unless_asked():
    roads = lines(H, ((500, 0), (500, 1000))).assign(tunnel=["no", "yes"])
    res = quiet_build(roads, square())
    assert len(res.units) == 2 and res.report["roads_not_cutting"] == 1
    assert res.units["street_length_m"].sum() == pytest.approx(2000)  # still patrolled
    assert len(quiet_build(roads, square(), cut_tunnels=True).units) == 4


def test_feet_crs_is_measured_in_metres():
    ft = 3.280833333  # US survey feet per metre
    j = gpd.GeoDataFrame(geometry=[box(980_000, 200_000, 980_000 + 1000 * ft,
                                       200_000 + 1000 * ft)], crs="EPSG:2263")
    roads = gpd.GeoDataFrame(geometry=[LineString([(980_000, 200_000 + 500 * ft),
                                                   (980_000 + 1000 * ft, 200_000 + 500 * ft)])],
                             crs="EPSG:2263")
    res = quiet_build(roads, j)
    assert res.units.crs.to_epsg() == 2263 and res.crs.to_epsg() != 2263
    assert res.units["area_m2"].sum() == pytest.approx(1_000_000, rel=1e-3)
    assert res.units["street_length_m"].sum() == pytest.approx(1000, rel=1e-3)


# --- options and errors ------------------------------------------------------------


@pytest.mark.parametrize("option", [{"snap_tolerance": -1}, {"min_area": float("nan")},
                                    {"max_area": 0}, {"max_workload": -5},
                                    {"min_area": 100, "max_area": 150}])
def test_bad_options(option):
    with pytest.raises(UnitsError, match=list(option)[-1]):
        build_units(lines(H), square(), **option)


def test_road_classes_need_the_column():
    with pytest.raises(MissingColumnError, match="road_class"):
        build_units(lines(H), square(), road_classes=["primary"])


def test_road_classes_matching_nothing():
    roads = lines(H).assign(road_class="footway")
    with pytest.raises(UnitsError, match="has a class in road_classes"), \
            pytest.warns(GridkitWarning):
        build_units(roads, square(), road_classes=["primary"])


def test_policy_path_is_used(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text("[patrol]\nspeed_m_per_min = 50.0\npasses_per_month = 10\n")
    res = quiet_build(lines(H), square(), policy=path)
    assert res.units["patrol_min"].sum() == pytest.approx(1000 / 50 * 10)


# --- property: any road set tiles the jurisdiction -----------------------------------

coord = st.floats(-200, 1200, allow_nan=False, allow_infinity=False)
segment = st.tuples(coord, coord, coord, coord).filter(lambda c: (c[0], c[1]) != (c[2], c[3]))


point = st.tuples(coord, coord)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(segment, min_size=1, max_size=25), st.floats(50, 950),
       st.lists(point, min_size=1, max_size=30))
# a road a millimetre from the jurisdiction's corner: snapping moves the corner, and the
# entity on the jurisdiction's edge beside it was once left in no unit
@example([(0.0, 0.5, 1002.0, 0.0)], 50.0, [(51.0, 0.0)])
def test_any_roads_tile_the_jurisdiction(segments, split_x, points):
    roads = lines(*[((a, b), (c, d)) for a, b, c, d in segments])
    villages = gdf([shift(box(0, 0, split_x, 1000)), shift(box(split_x, 0, 1000, 1000))],
                   code=["W", "E"])
    entities = gdf([shift(Point(p)) for p in points], risk=[1] * len(points),
                   credit=["A"] * len(points))
    res = quiet_build(roads, square(), villages=villages, entities=entities,
                      min_area=10, min_width=0.5)
    assert_tiles(res.units, square())
    # every entity inside is counted exactly once; the others are reported
    inside = int(shapely.covers(square().geometry.iloc[0], entities.geometry.values).sum())
    assert res.units["entities"].sum() == inside
    assert len(res.unassigned) == len(points) - inside
    vill = villages.set_index("code").geometry
    outside = shapely.area(shapely.difference(res.units.geometry.values,
                                              vill.loc[res.units["village_code"]].values))
    assert np.all(outside <= AREA_TOLERANCE * res.units.length.to_numpy())


def test_result_frames_are_independent(sample_result):
    _, res = sample_result
    assert isinstance(res.units, gpd.GeoDataFrame) and isinstance(res.report, dict)
    assert res.units["unit_id"].dtype == np.int64
    assert pd.api.types.is_integer_dtype(res.entities["unit_id"])
    assert "summary" not in res.report and "units" in res.summary()


# --- runaway input: a layer whose lines cross each other everywhere (issue 21) -------


def random_crossing_segments(n=3000, seed=21, side=10_000.0):
    rng = np.random.default_rng(seed)
    ends = rng.uniform(0, side, (n, 2, 2)) + (X0, Y0)
    return gdf(shapely.linestrings(ends)), square(side)


def test_lines_crossing_everywhere_are_refused_fast():
    import time

    from gridkit.units.noding import MAX_CROSSINGS

    roads, j = random_crossing_segments()
    t = time.perf_counter()
    with pytest.raises(UnitsError, match=r"cross each other \d+ times per line.*"
                                         r"not a road network.*max_crossings"):
        build_units(roads, j)
    assert time.perf_counter() - t < 10
    assert MAX_CROSSINGS == 20


def test_street_grids_pass_the_crossing_check(_sample_layers):
    from gridkit.units.noding import crossing_rate

    county = gk.synthetic_county(0, roads=2000, buildings=0, entities=0, villages=10)
    sample = _sample_layers["roads"].to_crs(32635)
    assert crossing_rate(np.asarray(county["roads"].geometry.values)) < 1
    assert crossing_rate(np.asarray(sample.geometry.values)) < 1
    roads, _ = random_crossing_segments(500)
    assert crossing_rate(np.asarray(roads.geometry.values)) > 50


def test_roads_missing_the_jurisdiction_warn():
    far = lines(((50_000, 0), (50_000, 1000)), ((50_000, 500), (51_000, 500)))
    with pytest.warns(GridkitWarning, match="none of the 2 roads touch the jurisdiction"):
        res = build_units(far, square())
    assert len(res.units) == 1


def test_sample_and_county_roads_give_no_missing_roads_warning(_sample_layers):
    county = gk.synthetic_county(0, roads=500, buildings=0, entities=0, villages=4)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        build_units(county["roads"], county["jurisdiction"])
        build_units(_sample_layers["roads"], _sample_layers["jurisdiction"])
    assert not [w for w in caught if "touch the jurisdiction" in str(w.message)]
