"""Repair ends valid: GEOS and validate_coverage both accept what repair_coverage returns."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely import box

from gridkit import repair_coverage, validate_coverage

X0, Y0 = 499_500.0, 3_400_000.0  # CGCS2000 / 3-degree Gauss-Kruger CM 117E (EPSG:4547)


def _wobble(phase, amplitude):
    """A smooth displacement of every vertex, different per polygon (rings stay closed)."""

    def move(c):
        dx = np.sin(c[:, :1] * 0.37 + c[:, 1:] * 0.71 + phase[0]) * amplitude
        dy = np.sin(c[:, :1] * 0.53 - c[:, 1:] * 0.29 + phase[1]) * amplitude
        return c + np.hstack([dx, dy])

    return move


def dirty_coverage(seed: int, *, cells: int, amplitude: float, pinholes: int):
    """Voronoi cells whose shared edges were digitised twice, independently: overlaps and
    gaps up to ``2 * amplitude`` wide, pinholes, and an outline that misses them in slivers."""
    rng = np.random.default_rng(seed)
    extent = box(0, 0, 1000, 1000)
    seeds = shapely.multipoints(rng.uniform(0, 1000, (cells, 2)))
    polys = shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=extent))
    polys = shapely.segmentize(shapely.intersection(polys, extent), 40)
    polys = np.array([shapely.transform(p, _wobble(rng.uniform(0, 6.3, 2), amplitude))
                      for p in polys], dtype=object)
    polys = shapely.make_valid(polys)
    for k in rng.choice(len(polys), min(pinholes, len(polys)), replace=False):
        polys[k] = polys[k].difference(shapely.point_on_surface(polys[k]).buffer(0.3))
    outline = shapely.transform(shapely.segmentize(extent, 40),
                                _wobble(rng.uniform(0, 6.3, 2), amplitude))

    def move(c):
        return c + (X0, Y0)

    grids = gpd.GeoDataFrame({"grid_id": [f"g{i:02d}" for i in range(len(polys))]},
                             geometry=[shapely.transform(p, move) for p in polys], crs=4547)
    jur = gpd.GeoDataFrame(geometry=[shapely.transform(outline, move)], crs=4547)
    return grids, jur


def assert_repaired(result, grids, tolerance):
    out = np.asarray(result.grids.to_crs(4547).geometry.values)
    assert list(result.grids["grid_id"]) == list(grids["grid_id"])  # never drops a grid
    assert not shapely.is_empty(out).any()
    assert shapely.is_valid(out).all()
    assert shapely.coverage_is_valid(out)
    assert result.report.valid, str(result.report)
    again = validate_coverage(result.grids, tolerance=tolerance)
    assert again.summary.get("overlap", 0) == again.summary.get("edge_mismatch", 0) == 0


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1), cells=st.integers(3, 40),
       amplitude=st.floats(0.05, 0.9), pinholes=st.integers(0, 5),
       geographic=st.booleans())
def test_dirty_coverages_repair_to_valid(seed, cells, amplitude, pinholes, geographic):
    tolerance = 2.0  # every gap of these is under 2 * amplitude < 2 m wide
    grids, jur = dirty_coverage(seed, cells=cells, amplitude=amplitude, pinholes=pinholes)
    if geographic:
        grids, jur = grids.to_crs(4326), jur.to_crs(4326)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert not validate_coverage(grids, jurisdiction=jur, tolerance=tolerance).valid
        result = repair_coverage(grids, jurisdiction=jur, tolerance=tolerance)
    assert_repaired(result, grids, tolerance)
    again = validate_coverage(result.grids, jurisdiction=jur, tolerance=tolerance)
    assert again.valid, str(again)
    # little area moved: about the slivers' area, never a grid's worth
    moved = result.changes[["gained_m2", "lost_m2"]].fillna(0).to_numpy().sum(axis=1)
    assert moved.max() < 2 * amplitude * result.grids.to_crs(4547).length.max()


def test_tokyo_repaired_valid_for_geos_and_gridkit():
    examples = pytest.importorskip("libpysal.examples")
    tokyo = gpd.read_file(examples.get_path("tokyomet262.shp"))
    work = tokyo.to_crs(6677)  # JGD2011 / Japan Plane Rectangular CS IX, metres
    assert not shapely.coverage_is_valid(shapely.make_valid(work.geometry.values))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = repair_coverage(tokyo, id_column="GEOCODE", tolerance=2.0)
    out = np.asarray(result.grids.to_crs(6677).geometry.values)
    assert len(out) == 262 and not shapely.is_empty(out).any()
    assert shapely.is_valid(out).all() and shapely.coverage_is_valid(out)
    assert result.report.valid, str(result.report)
    assert validate_coverage(result.grids, id_column="GEOCODE", tolerance=2.0).valid


def test_tokyo_with_an_outline_that_misses_it():
    # the prefecture's outline simplified by 1 m: slivers inside and outside along the edge
    examples = pytest.importorskip("libpysal.examples")
    tokyo = gpd.read_file(examples.get_path("tokyomet262.shp"))
    outline = shapely.simplify(shapely.union_all(shapely.make_valid(tokyo.geometry.values)), 1.0)
    jur = gpd.GeoDataFrame(geometry=[outline], crs=tokyo.crs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        before = validate_coverage(tokyo, jurisdiction=jur, id_column="GEOCODE", tolerance=2.0)
        result = repair_coverage(tokyo, jurisdiction=jur, id_column="GEOCODE", tolerance=2.0)
    out = np.asarray(result.grids.geometry.values)
    assert len(out) == 262 and shapely.is_valid(out).all() and shapely.coverage_is_valid(out)
    assert before.summary["gap"] > 10 and before.summary["outside_jurisdiction"] > 10
    again = validate_coverage(result.grids, jurisdiction=jur, id_column="GEOCODE", tolerance=2.0)
    assert again.summary == result.report.summary  # the result says what remains
    # every gap filled, every overlap and edge fixed; what is left outside the outline
    # is a sliver a millimetre wide (GEOS's snapping), named in the report
    left = again.issues
    assert set(left["kind"]) <= {"outside_jurisdiction"}
    assert (left["width"] < 2e-3).all() and left["sliver"].all()
