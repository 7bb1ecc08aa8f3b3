"""repair_coverage: GEOS coverage cleaner plus edge gaps, vertex matching, change table."""

from __future__ import annotations

import warnings

import geopandas as gpd
import pandas as pd
import pytest
from shapely import Polygon, box

from gridkit import MissingColumnError, MissingCRSError, repair_coverage, validate_coverage

CRS = "EPSG:32650"
JUR = gpd.GeoDataFrame(geometry=[box(0, 0, 200, 200)], crs=CRS)


def grids(*geoms):
    return gpd.GeoDataFrame(
        {"grid_id": [f"g{i}" for i in range(len(geoms))], "keep": range(len(geoms))},
        geometry=list(geoms),
        crs=CRS,
    )


def test_overlap_removed_and_area_moved_reported():
    g = grids(box(0, 0, 100.4, 100), box(100, 0, 200, 100))
    before = g.copy()
    result = repair_coverage(g)
    pd.testing.assert_frame_equal(g, before)  # input untouched
    assert result.report.valid
    assert result.grids.area.sum() == pytest.approx(20_000)
    # the 0.4 m x 100 m overlap went to one of the two grids; the other lost it
    assert result.changes["lost_m2"].sum() == pytest.approx(40, rel=1e-6)
    assert result.changes["gained_m2"].sum() == pytest.approx(0, abs=1e-6)
    assert list(result.grids.columns) == list(g.columns) and list(result.grids["keep"]) == [0, 1]


def test_valid_coverage_left_exactly_as_it_was(sample):
    """Repairing what validation already passes moves nothing, not even a vertex: the
    sample's villages (in degrees) as grids, with the jurisdiction."""
    villages = sample["villages"]
    result = repair_coverage(villages, jurisdiction=sample["jurisdiction"], id_column="code")
    assert result.report.valid and result.changes.empty
    assert all(a.equals_exact(b, 0.0) for a, b in
               zip(result.grids.geometry, villages.geometry, strict=True))
    # a real fault is still repaired
    g = grids(box(0, 0, 100.4, 100), box(100, 0, 200, 100))
    assert not repair_coverage(g).changes.empty


def test_narrow_gap_filled_wide_gap_kept_unless_asked():
    g = grids(
        box(0, 0, 99.5, 100),
        box(100, 0, 200, 100),  # 0.5 m gap: filled
        box(0, 100, 100, 200),
    )  # the (100..200, 100..200) grid is missing: kept
    result = repair_coverage(g, jurisdiction=JUR)
    assert result.report.summary["gap"] == 1
    assert result.report.issues.iloc[0].area == pytest.approx(10_000)
    filled = repair_coverage(g, jurisdiction=JUR, fill_gaps=True)
    assert filled.report.valid, str(filled.report)
    assert filled.grids.area.sum() == pytest.approx(40_000)
    assert len(filled.grids) == 3


def test_edge_gap_and_outside_clipped():
    g = grids(box(0, 0.3, 100, 100), box(100, 0, 203, 100), box(0, 100, 200, 200))
    result = repair_coverage(g, jurisdiction=JUR)
    assert result.report.valid, str(result.report)
    assert result.grids.union_all().equals(box(0, 0, 200, 200))


def test_extra_vertex_matched():
    g = grids(Polygon([(0, 0), (100, 0), (100, 50), (100, 100), (0, 100)]), box(100, 0, 200, 100))
    assert validate_coverage(g).summary["edge_mismatch"] == 1
    result = repair_coverage(g)
    assert result.report.valid
    assert result.grids.area.tolist() == pytest.approx([10_000, 10_000])


def test_never_drops_a_grid():
    g = grids(box(0, 0, 100, 100), box(10, 10, 20, 20))  # g1 wholly inside g0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = repair_coverage(g)
    assert list(result.grids["grid_id"]) == ["g0", "g1"]
    assert not result.grids.geometry.is_empty.any()


def test_back_in_input_crs(sample):
    villages = sample["villages"]
    result = repair_coverage(villages, jurisdiction=sample["jurisdiction"], id_column="code")
    assert result.grids.crs == villages.crs
    assert result.report.valid
    assert len(result.grids) == len(villages)
    # a clean coverage: nothing but vertex snapping, no area of note moved
    assert (result.changes[["gained_m2", "lost_m2"]].fillna(0) < 0.01).all().all()


def test_tokyo_repaired_to_a_valid_coverage():
    examples = pytest.importorskip("libpysal.examples")
    tokyo = gpd.read_file(examples.get_path("tokyomet262.shp"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert not validate_coverage(tokyo, id_column="GEOCODE").valid
        result = repair_coverage(tokyo, id_column="GEOCODE")
    assert result.report.valid, str(result.report)
    assert len(result.grids) == 262
    total = tokyo.geometry.make_valid().union_all().area
    assert result.grids.area.sum() == pytest.approx(total, rel=1e-4)


def test_errors():
    with pytest.raises(MissingCRSError):
        repair_coverage(gpd.GeoDataFrame({"grid_id": ["a"]}, geometry=[box(0, 0, 1, 1)]))
    with pytest.raises(MissingColumnError):
        repair_coverage(grids(box(0, 0, 1, 1)), id_column="nope")


def test_cli_says_what_is_not_repaired_and_exits_1(tmp_path, capsys):
    import cli

    # a grid is missing (a 100 m gap, wider than the tolerance): repair cannot fill it
    g = grids(box(0, 0, 99.5, 100), box(100, 0, 200, 100), box(0, 100, 100, 200))
    src, out = tmp_path / "g.gpkg", tmp_path / "fixed.gpkg"
    g.to_file(src, layer="grids")
    JUR.to_file(tmp_path / "j.gpkg", layer="j")
    code = cli.main(["repair", f"{src}:grids", "--jurisdiction", f"{tmp_path / 'j.gpkg'}:j",
                     "-o", str(out)])
    text = capsys.readouterr().out
    assert code == 1
    assert "not repaired: gap 1" in text
    assert out.exists()  # the repaired grids are written all the same
    ok = cli.main(["repair", f"{src}:grids", "--jurisdiction", f"{tmp_path / 'j.gpkg'}:j",
                   "--fill-gaps", "-o", str(tmp_path / "filled.gpkg")])
    assert ok == 0 and "not repaired" not in capsys.readouterr().out
