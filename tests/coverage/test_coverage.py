"""validate_coverage: hand-made cases, the sample, and a real messy coverage (Tokyo)."""

from __future__ import annotations

import json
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely import Point, Polygon, box

from gridkit import (
    EmptyLayerError,
    GeometryTypeError,
    InvalidValueError,
    MissingColumnError,
    MissingCRSError,
    validate_coverage,
)
from gridkit.coverage.validate import DEFAULT_TOLERANCE, KINDS

CRS = "EPSG:32650"


def frame(geoms, ids=None, crs=CRS, **cols):
    ids = ids or [f"g{i}" for i in range(len(geoms))]
    return gpd.GeoDataFrame({"grid_id": ids, **cols}, geometry=list(geoms), crs=crs)


def two_by_two():
    """Four 100 m grids tiling a 200 m square."""
    return frame(
        [box(0, 0, 100, 100), box(100, 0, 200, 100), box(0, 100, 100, 200), box(100, 100, 200, 200)]
    )


JUR = gpd.GeoDataFrame(geometry=[box(0, 0, 200, 200)], crs=CRS)


def kinds(report):
    return sorted(report.issues["kind"])


# ---------------------------------------------------------------------------
# clean and basic faults
# ---------------------------------------------------------------------------
def test_clean_coverage_is_valid():
    report = validate_coverage(two_by_two(), jurisdiction=JUR)
    assert report.valid
    assert set(report.summary) >= {"overlap", "gap", "edge_mismatch", "outside_jurisdiction"}
    assert all(v == 0 for v in report.summary.values())
    assert "coverage valid" in str(report)


def test_overlap_found_with_area_width_and_place():
    g = two_by_two()
    g.loc[0, "geometry"] = box(0, 0, 103, 100)  # 3 m into g1
    report = validate_coverage(g, jurisdiction=JUR)
    # g0's top edge now passes the corner (100, 100) of g2 and g3 without a vertex there,
    # and its corner (103, 100) lies on g3's edge: real mismatches, found at those vertices
    assert set(kinds(report)) == {"overlap", "edge_mismatch"}
    mismatch = report.issues[report.issues.kind == "edge_mismatch"]
    assert sorted(map(sorted, mismatch.grids)) == [["g0", "g2"], ["g0", "g3"]]
    pts = {tuple(p.coords[0]) for geom in mismatch.geometry for p in geom.geoms}
    assert pts == {(100, 100), (103, 100)}
    row = report.issues[report.issues.kind == "overlap"].iloc[0]
    assert row.grids == ["g0", "g1"]
    assert row.area == pytest.approx(300)
    assert row.width == pytest.approx(3, rel=0.02)
    assert 100 <= row.x <= 103 and 0 <= row.y <= 100
    assert not row.sliver


def test_sliver_overlap_flagged_not_hidden():
    g = two_by_two()
    g.loc[0, "geometry"] = box(0, 0, 100.05, 100)
    report = validate_coverage(g, jurisdiction=JUR)
    row = report.issues[report.issues.kind == "overlap"].iloc[0]
    assert row.sliver
    assert row.width == pytest.approx(0.05, rel=0.05)
    # a tolerance below the width makes it a real overlap
    strict = validate_coverage(g, jurisdiction=JUR, tolerance=0.01).issues
    assert not strict[strict.kind == "overlap"].iloc[0].sliver


def test_inner_gap_edge_gap_and_missing_grid():
    g = two_by_two()
    g.loc[0, "geometry"] = box(0, 0, 98, 100)  # 2 m gap between g0 and g1
    g = g.drop(index=3)  # a missing grid at the corner of the jurisdiction
    report = validate_coverage(g, jurisdiction=JUR)
    gaps = report.issues[report.issues.kind == "gap"].sort_values("area")
    assert len(gaps) == 2
    small, big = gaps.iloc[0], gaps.iloc[1]
    assert small.area == pytest.approx(200) and small.width == pytest.approx(2, rel=0.02)
    assert set(small.grids) >= {"g0", "g1"}
    assert "along the jurisdiction's edge" in small.detail  # it reaches the outer edge
    assert big.area == pytest.approx(10_000)
    assert "missing grid" in big.detail
    assert big.geometry.equals(box(100, 100, 200, 200))


def test_gap_without_jurisdiction_only_holes():
    g = frame([box(0, 0, 300, 100).difference(box(100, 40, 200, 60)), box(100, 40, 150, 60)])
    report = validate_coverage(g)
    gaps = report.issues[report.issues.kind == "gap"]
    assert len(gaps) == 1 and gaps.iloc[0].area == pytest.approx(1000)
    assert "inside the coverage" in gaps.iloc[0].detail


def test_extra_vertex_on_shared_edge_is_edge_mismatch():
    g = two_by_two()
    g.loc[0, "geometry"] = Polygon([(0, 0), (100, 0), (100, 50), (100, 100), (0, 100)])
    report = validate_coverage(g, jurisdiction=JUR)
    assert kinds(report) == ["edge_mismatch"]
    row = report.issues.iloc[0]
    assert row.grids == ["g0", "g1"] and row.area == 0 and row.sliver
    assert (row.x, row.y) == (100, 50)


def test_outside_jurisdiction():
    g = two_by_two()
    g.loc[1, "geometry"] = box(100, 0, 205, 100)
    report = validate_coverage(g, jurisdiction=JUR)
    out = report.issues[report.issues.kind == "outside_jurisdiction"]
    assert len(out) == 1 and out.iloc[0].grids == ["g1"] and out.iloc[0].area == pytest.approx(500)


def test_invalid_geometry_reported_and_other_checks_still_run():
    g = two_by_two()
    g.loc[0, "geometry"] = Polygon([(0, 0), (100, 100), (100, 0), (0, 100)])  # bow-tie
    g.loc[3, "geometry"] = None
    report = validate_coverage(g, jurisdiction=JUR)
    inv = report.issues[report.issues.kind == "invalid_geometry"]
    assert len(inv) == 2
    bow = inv[inv.grids.map(lambda x: x == ["g0"])].iloc[0]
    assert "Self-intersection" in bow.detail and (bow.x, bow.y) == (50, 50)
    assert "without geometry" in inv[inv.grids.map(lambda x: x == ["g3"])].iloc[0].detail
    assert (report.issues.kind == "gap").sum() >= 1  # the missing geometry leaves a gap


def test_duplicate_and_missing_codes():
    g = two_by_two()
    g["grid_id"] = ["a", "a", None, "d"]
    g["grid_code"] = ["1", "2", "3", "3"]
    report = validate_coverage(g)
    assert report.summary["duplicate_code"] == 2  # grid_id 'a' and grid_code '3'
    assert report.summary["missing_code"] == 1
    dup = report.issues[report.issues.kind == "duplicate_code"]
    assert set(dup.feature) == {"a", "3"}


def test_points_unassigned_and_multiple():
    g = two_by_two()
    g.loc[0, "geometry"] = box(0, 0, 110, 100)  # overlap 100..110
    ents = gpd.GeoDataFrame(
        {"entity_id": ["in", "out", "overlap", "edge", "nogeom"]},
        geometry=[Point(50, 50), Point(300, 50), Point(105, 50), Point(100, 150), None],
        crs=CRS,
    )
    report = validate_coverage(g, entities=ents)
    iss = report.issues
    un = iss[iss.kind == "entity_unassigned"]
    assert set(un.feature) == {"out", "nogeom"}
    multi = iss[iss.kind == "entity_multiple"].set_index("feature")
    assert set(multi.index) == {"overlap", "edge"}
    assert sorted(multi.loc["overlap", "grids"]) == ["g0", "g1"]
    assert sorted(multi.loc["edge", "grids"]) == ["g2", "g3"]
    assert "boundary" in multi.loc["edge", "detail"]


def test_building_split_and_sliver_split():
    g = two_by_two()
    blds = gpd.GeoDataFrame(
        {"osm_id": [1, 2, 3]},
        geometry=[
            box(90, 10, 110, 20),  # 10 m each side
            box(10, 10, 99.8, 20),  # 20 cm across: a sliver split
            box(10, 10, 20, 20),
        ],
        crs=CRS,
    )
    blds.loc[1, "geometry"] = box(10, 30, 100.2, 40)
    report = validate_coverage(g, buildings=blds)
    split = report.issues[report.issues.kind == "building_split"].set_index("feature")
    assert set(split.index) == {"1", "2"}
    assert not split.loc["1", "sliver"] and split.loc["2", "sliver"]
    assert "g0: " in split.loc["1", "detail"] and sorted(split.loc["1", "grids"]) == ["g0", "g1"]


def test_not_nested_in_villages():
    villages = gpd.GeoDataFrame(
        {"code": ["v1", "v2"]}, geometry=[box(0, 0, 100, 200), box(100, 0, 200, 200)], crs=CRS
    )
    g = frame(
        [
            box(0, 0, 120, 100),
            box(120, 0, 200, 100),
            box(0, 100, 100, 200),
            box(100, 100, 200, 200),
        ],
        village_code=["v1", "v2", "v1", "v1"],
    )
    report = validate_coverage(g, villages=villages)
    nn = report.issues[report.issues.kind == "not_nested"]
    by_grid = {tuple(r.grids): r for r in nn.itertuples()}
    assert by_grid[("g0",)].area == pytest.approx(2000)  # 20 m into v2
    assert "coded to village v1" in by_grid[("g3",)].detail  # lies in v2
    # the villages' union serves as the jurisdiction: no gap, nothing outside
    assert report.summary["gap"] == 0 and report.summary["outside_jurisdiction"] == 0


def test_staff_checks():
    staff = pd.DataFrame({"name": ["Li", "Wang"], "phone": ["1", "2"], "grid_id": ["g0", "g9"]})
    report = validate_coverage(two_by_two(), staff=staff)
    missing = report.issues[report.issues.kind == "missing_responsible"]
    assert sorted(x[0] for x in missing.grids) == ["g1", "g2", "g3"]
    unknown = report.issues[report.issues.kind == "staff_unknown_grid"]
    assert list(unknown.feature) == ["g9"] and "Wang" in unknown.iloc[0].detail


def test_all_problems_collected_not_first_only():
    g = two_by_two()
    g.loc[0, "geometry"] = box(0, 0, 103, 100)
    g.loc[3, "geometry"] = box(100, 100, 195, 200)
    g.loc[2, "grid_id"] = "g1"
    report = validate_coverage(g, jurisdiction=JUR)
    assert {"overlap", "gap", "duplicate_code"} <= set(report.issues.kind)


# ---------------------------------------------------------------------------
# the report
# ---------------------------------------------------------------------------
def test_report_json_shape_and_crs_of_points():
    g = two_by_two().to_crs(4326)
    g.loc[0, "geometry"] = shapely.box(*g.geometry[0].bounds).buffer(0.00003, join_style="mitre")
    report = validate_coverage(g)
    data = json.loads(report.to_json())
    assert set(data) >= {"valid", "summary", "issues"} and data["valid"] is False
    issue = data["issues"][0]
    assert set(issue) >= {"kind", "grids", "area", "width", "x", "y", "sliver"}
    # the point is in the grids' CRS (degrees here), the area in m²
    assert 110 < issue["x"] < 120 and issue["area"] > 1
    assert report.issues.crs == g.crs
    assert sum(data["summary"].values()) == len(data["issues"])


def test_input_never_modified():
    g = two_by_two()
    g.loc[0, "geometry"] = box(0, 0, 103, 100)
    before = g.copy()
    ents = gpd.GeoDataFrame({"entity_id": ["a"]}, geometry=[Point(1, 1)], crs=CRS)
    e_before = ents.copy()
    validate_coverage(g, jurisdiction=JUR, entities=ents)
    pd.testing.assert_frame_equal(g, before)
    pd.testing.assert_frame_equal(ents, e_before)


def test_errors_name_the_problem():
    with pytest.raises(MissingCRSError, match="grids"):
        validate_coverage(gpd.GeoDataFrame({"grid_id": ["a"]}, geometry=[box(0, 0, 1, 1)]))
    with pytest.raises(MissingColumnError, match="id_column"):
        validate_coverage(two_by_two().rename(columns={"grid_id": "gid"}))
    with pytest.raises(GeometryTypeError, match="polygons"):
        validate_coverage(frame([Point(0, 0)]))
    with pytest.raises(EmptyLayerError):
        validate_coverage(two_by_two().iloc[:0])
    with pytest.raises(InvalidValueError, match="tolerance"):
        validate_coverage(two_by_two(), tolerance=-1)
    assert issubclass(MissingColumnError, ValueError)


def test_kinds_and_default_documented():
    import gridkit.coverage.validate as cov

    for kind in KINDS:
        assert f"``{kind}``" in cov.__doc__
    assert DEFAULT_TOLERANCE == 1.0 and "1 m" in cov.__doc__


# ---------------------------------------------------------------------------
# real data
# ---------------------------------------------------------------------------
def test_sample_villages_are_a_clean_coverage(sample):
    report = validate_coverage(
        sample["villages"],
        jurisdiction=sample["jurisdiction"],
        id_column="code",
        entities=sample["entities"],
    )
    assert report.valid, str(report)
    assert report.crs.to_epsg() == 32635


def test_sample_buildings_split_by_villages_are_real(sample_layers):
    # the sample's villages cut no building (data/build_sample.py fits them to the
    # buildings): five straight strips across the sample do
    x0, y0, x1, y1 = sample_layers["villages"].total_bounds
    xs = np.linspace(x0, x1, 6)
    strips = [box(a, y0, b, y1) for a, b in zip(xs[:-1], xs[1:], strict=True)]
    villages = gpd.GeoDataFrame({"code": [f"V{i}" for i in range(5)]}, geometry=strips,
                                crs=sample_layers["villages"].crs)
    buildings = sample_layers["buildings"]
    report = validate_coverage(villages, id_column="code", buildings=buildings)
    split = report.issues[report.issues.kind == "building_split"]
    assert len(split) > 0
    # every reported building really has area in two villages
    for r in split.itertuples():
        b = buildings.loc[buildings["osm_id"].astype(str) == r.feature].geometry.iloc[0]
        parts = villages.geometry.intersection(b).area
        assert (parts > 0).sum() >= 2


@pytest.fixture(scope="module")
def tokyo():
    examples = pytest.importorskip("libpysal.examples")
    try:
        path = examples.get_path("tokyomet262.shp")
    except Exception:  # pragma: no cover - libpysal without its bundled data
        pytest.skip("libpysal's tokyo example is not installed")
    return gpd.read_file(path)


def test_tokyo_is_not_a_valid_coverage(tokyo):
    before = tokyo.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = validate_coverage(tokyo, id_column="GEOCODE")
    pd.testing.assert_frame_equal(tokyo, before)
    s = report.summary
    assert s["invalid_geometry"] == int((~tokyo.is_valid).sum()) == 10
    assert s["overlap"] > 0 and s["edge_mismatch"] > 0 and s["gap"] > 0
    # GEOS alone agrees that the coverage is invalid
    assert not shapely.coverage_is_valid(shapely.make_valid(np.asarray(tokyo.geometry.values)))
    # every overlap is real: the two municipalities share that much area
    geoms = tokyo.set_index("GEOCODE").geometry.make_valid()
    for r in report.issues[report.issues.kind == "overlap"].head(10).itertuples():
        a, b = r.grids
        assert geoms[a].intersection(geoms[b]).area >= r.area * 0.99
        assert shapely.Point(r.x, r.y).distance(geoms[a]) < 1e-6
    # the names repeat (two towns called Ina-machi): found when used as the id
    named = validate_coverage(tokyo, id_column="AREANAME")
    dup = named.issues[named.issues.kind == "duplicate_code"]
    assert "Ina-machi" in set(dup.feature)


def test_null_geometry_first_does_not_shift_other_issues():
    # shapely 2.2.0's coverage_invalid_edges moves nulls to the end: nulls are dropped first
    g = frame(
        [None, box(0, 0, 103, 100), box(100, 0, 200, 100), box(0, 100, 200, 200)],
        ids=["empty", "a", "b", "c"],
    )
    report = validate_coverage(g)
    overlap = report.issues[report.issues.kind == "overlap"]
    assert len(overlap) == 1 and overlap.iloc[0].grids == ["a", "b"]
    assert report.summary["invalid_geometry"] == 1
