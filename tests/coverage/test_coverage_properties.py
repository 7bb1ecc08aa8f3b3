"""Property tests: random tessellations, random injected faults, found at the right place."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridkit import repair_coverage, validate_coverage
from gridkit.synthetic.faults import FAULTS, inject, voronoi_grids

SETTINGS = settings(
    max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)

seeds = st.integers(min_value=0, max_value=10_000)
sizes = st.integers(min_value=6, max_value=40)
crss = st.sampled_from(["EPSG:32650", "EPSG:4547", "EPSG:3857"])


@SETTINGS
@given(seed=seeds, n=sizes, crs=crss)
def test_clean_tessellation_passes(seed, n, crs):
    grids, jur = voronoi_grids(n, seed=seed, crs=crs)
    report = validate_coverage(grids, jurisdiction=jur)
    assert report.valid, str(report)
    # and without a jurisdiction too
    assert validate_coverage(grids).valid


@SETTINGS
@given(
    seed=seeds,
    n=sizes,
    fault=st.sampled_from(FAULTS),
    width=st.one_of(st.none(), st.floats(min_value=0.02, max_value=6.0)),
)
def test_every_fault_found_at_its_place(seed, n, fault, width):
    grids, jur = voronoi_grids(n, seed=seed)
    w = width if fault in ("overlap", "gap", "sliver_overlap", "sliver_gap", "cut_back") else None
    if fault.startswith("sliver") and w is not None:
        w = min(w, 0.5)
    try:
        faulty, ents, f = inject(grids, jur, fault, seed=seed, width=w)
    except RuntimeError:  # no edge long enough for this width: nothing injected
        return
    report = validate_coverage(faulty, jurisdiction=jur, entities=ents if len(ents) else None)
    issues = report.issues
    # exactly one issue, of the fault's kind: nothing else is reported
    assert list(issues["kind"]) == [f.kind], str(report)
    row = issues.iloc[0]
    # at the right place: the issue's geometry and point touch the injected fault
    assert shapely.distance(row.geometry, f.where) <= 1e-3
    assert shapely.distance(shapely.Point(row.x, row.y), f.where) <= 1e-3
    assert f.grids <= set(row.grids)
    if f.kind in ("overlap", "gap") and fault != "deleted_grid":
        assert f.where.area * 0.98 <= row.area <= f.where.area * 1.02
        if f.width is not None:
            assert abs(row.width - f.width) <= 0.05 * f.width
            assert row.sliver == (f.width < report.tolerance)
    if fault == "deleted_grid":
        assert (
            row.area == shapely.area(f.where) or abs(row.area - f.where.area) < 1e-6 * f.where.area
        )


@settings(
    max_examples=10, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    seed=seeds,
    n=sizes,
    fault=st.sampled_from(["overlap", "sliver_overlap", "sliver_gap", "extra_vertex"]),
)
def test_repair_fixes_narrow_faults_and_keeps_every_grid(seed, n, fault):
    grids, jur = voronoi_grids(n, seed=seed)
    try:
        faulty, _, _ = inject(grids, jur, fault, seed=seed)
    except RuntimeError:
        return
    result = repair_coverage(faulty, jurisdiction=jur)
    assert result.report.valid, str(result.report)
    assert list(result.grids["grid_id"]) == list(faulty["grid_id"])
    assert abs(result.grids.area.sum() - jur.area.sum()) < 1e-6 * jur.area.sum()


def test_generator_is_deterministic():
    a, _ = voronoi_grids(12, seed=7)
    b, _ = voronoi_grids(12, seed=7)
    assert all(x.equals_exact(y, 0) for x, y in zip(a.geometry, b.geometry, strict=True))
    assert isinstance(a, gpd.GeoDataFrame) and np.isclose(a.area.sum(), 1e6)
