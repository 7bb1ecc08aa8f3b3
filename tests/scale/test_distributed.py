"""validate_coverage_distributed: the same issues as validate_coverage, tile by tile.

Faults are injected ON the tiles' seams (where a naive split would miss them
or report them twice); the reference is the single-machine validator.
Most tests use dask's synchronous scheduler (fast); one runs a real
2-worker local cluster.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely import box

from gridkit import validate_coverage
from gridkit.errors import GridkitWarning, InvalidValueError
from gridkit.synthetic.faults import inject, random_points, voronoi_grids

pytest.importorskip("dask")
from gridkit.scale.coverage import validate_coverage_distributed  # noqa: E402

SYNC = "synchronous"


def _key(report) -> list[tuple]:
    """Every issue as comparable plain values (x, y to the micrometre)."""

    def num(v, nd=6):
        return float("-inf") if v is None or v != v else round(float(v), nd)

    return sorted(
        (
            r.kind,
            tuple(sorted(r.grids)),
            num(r.x),
            num(r.y),
            num(r.area),
            num(r.width),
            bool(r.sliver),
            r.feature,
            r.detail,
        )
        for r in report.issues.itertuples()
    )


def _same(ref, dist):
    assert _key(dist) == _key(ref)
    assert dist.summary == ref.summary
    assert dist.n_grids == ref.n_grids and dist.valid == ref.valid


def _seams(*layers, tiles=2):
    """The tiles' inner seam lines for the data's total bounds (as the validator lays them)."""
    b = np.vstack([lay.total_bounds for lay in layers if lay is not None and len(lay)])
    x0, y0 = b[:, 0].min(), b[:, 1].min()
    x1, y1 = b[:, 2].max(), b[:, 3].max()
    xs = [x0 + k * (x1 - x0) / tiles for k in range(1, tiles)]
    ys = [y0 + k * (y1 - y0) / tiles for k in range(1, tiles)]
    lines = [shapely.LineString([(x, y0 - 1), (x, y1 + 1)]) for x in xs]
    lines += [shapely.LineString([(x0 - 1, y), (x1 + 1, y)]) for y in ys]
    return shapely.union_all(lines)


@pytest.fixture(scope="module")
def voronoi():
    grids, jur = voronoi_grids(100, seed=7)
    return grids, jur, random_points(jur, 300, seed=2)


# ---------------------------------------------------------------------------
# faults on seams
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "fault",
    ["overlap", "gap", "sliver_overlap", "sliver_gap", "extra_vertex", "deleted_grid", "cut_back"],
)
def test_fault_on_seam_same_as_single_machine(voronoi, fault):
    grids, jur, ents = voronoi
    seam = _seams(grids, jur, ents)
    for seed in range(200):
        g, e, f = inject(grids, jur, fault, seed=seed, entities=ents)
        if shapely.intersects(f.where, seam):
            break
    else:  # pragma: no cover - the synthetic data always has seam-crossing edges
        pytest.fail(f"no {fault} on a seam")
    ref = validate_coverage(g, jurisdiction=jur, entities=e)
    assert ref.summary[f.kind] >= 1
    with warnings.catch_warnings():
        warnings.simplefilter("error", GridkitWarning)  # the default halo is wide enough
        dist = validate_coverage_distributed(
            g, jurisdiction=jur, entities=e, tiles=2, scheduler=SYNC
        )
    _same(ref, dist)
    # the fault is found once, not once per tile that sees it
    hits = dist.issues[(dist.issues.kind == f.kind)]
    assert sum(shapely.dwithin(geom, f.where, 1e-3) for geom in hits.geometry) >= 1
    assert not hits.duplicated(["kind", "x", "y"]).any()


def _lattice(n=4, size=100.0):
    """n × n square grids; with 2 tiles the seams run along grid edges."""
    cells = [
        box(i * size, j * size, (i + 1) * size, (j + 1) * size) for j in range(n) for i in range(n)
    ]
    grids = gpd.GeoDataFrame(
        {"grid_id": [f"s{k}" for k in range(len(cells))]}, geometry=cells, crs="EPSG:32650"
    )
    jur = gpd.GeoDataFrame(
        {"name": ["j"]}, geometry=[box(0, 0, n * size, n * size)], crs="EPSG:32650"
    )
    return grids, jur


def test_seams_along_grid_edges():
    """Hand-made: shared edges, points and buildings lying exactly on the seams."""
    grids, jur = _lattice()
    geoms = list(grids.geometry)
    # the seams run along x = 200 and y = 200
    geoms[5] = box(100, 100, 203, 200).difference(box(120, 197, 140, 200))  # overlaps s6
    geoms[9] = box(100, 200, 200, 300).difference(box(120, 200, 140, 203))  # gap across y=200
    geoms[0] = box(0, 0, 100, 100).difference(box(40, 40, 60, 60))  # a hole in one tile
    g = grids.set_geometry(gpd.GeoSeries(geoms, crs=grids.crs))
    ents = gpd.GeoDataFrame(
        {"entity_id": ["corner", "edge_x", "edge_y", "inside", "in_hole"]},
        geometry=shapely.points([(200, 200), (200, 50), (50, 200), (20, 20), (50, 50)]),
        crs=grids.crs,
    )
    blds = gpd.GeoDataFrame(
        {"building_id": ["across_x", "across_y", "whole"]},
        geometry=[box(195, 20, 206, 30), box(20, 190, 30, 212), box(20, 20, 30, 30)],
        crs=grids.crs,
    )
    ref = validate_coverage(g, jurisdiction=jur, entities=ents, buildings=blds)
    dist = validate_coverage_distributed(
        g, jurisdiction=jur, entities=ents, buildings=blds, tiles=2, scheduler=SYNC
    )
    _same(ref, dist)
    iss = dist.issues.set_index("feature")
    assert sorted(iss.loc["corner", "grids"]) == ["s10", "s5", "s6", "s9"]
    assert iss.loc["in_hole", "kind"] == "entity_unassigned"
    assert sorted(iss.loc["edge_x", "grids"]) == ["s1", "s2"]
    assert set(dist.issues.loc[dist.issues.kind == "building_split", "feature"]) == {
        "across_x",
        "across_y",
    }
    assert dist.summary["overlap"] == 1 and dist.summary["gap"] == 2


@pytest.mark.parametrize("tiles", [1, 3, (4, 2), 7])
def test_tile_counts_agree(voronoi, tiles):
    grids, jur, ents = voronoi
    g, e, _ = inject(grids, jur, "deleted_grid", seed=3, entities=ents)
    g, e, _ = inject(g, jur, "overlap", seed=4, entities=e)
    ref = validate_coverage(g, jurisdiction=jur, entities=e)
    _same(
        ref,
        validate_coverage_distributed(g, jurisdiction=jur, entities=e, tiles=tiles, scheduler=SYNC),
    )


def test_villages_codes_and_staff_match():
    grids, jur = _lattice()
    g = grids.copy()
    g["village_code"] = ["A" if k % 4 < 2 else "B" for k in range(len(g))]
    g.loc[3, "grid_id"] = "s2"  # duplicate id, far from its twin's tile
    g.loc[15, "village_code"] = "A"  # coded to the wrong village
    villages = gpd.GeoDataFrame(
        {"code": ["A", "B"]}, geometry=[box(0, 0, 200, 400), box(200, 0, 400, 400)], crs=g.crs
    )
    staff = pd.DataFrame({"name": ["x", "y"], "phone": ["1", "2"], "grid_id": ["s0", "zz"]})
    ref = validate_coverage(g, villages=villages, staff=staff)
    dist = validate_coverage_distributed(g, villages=villages, staff=staff, tiles=2, scheduler=SYNC)
    _same(ref, dist)
    assert dist.summary["duplicate_code"] == 1 and dist.summary["not_nested"] >= 1


# ---------------------------------------------------------------------------
# clean input, real data, a real cluster
# ---------------------------------------------------------------------------
def test_clean_coverage_passes(voronoi):
    grids, jur, ents = voronoi
    before = grids.copy()
    report = validate_coverage_distributed(
        grids, jurisdiction=jur, entities=ents, tiles=3, scheduler=SYNC
    )
    assert report.valid, str(report)
    assert set(report.summary) >= {"overlap", "gap", "entity_multiple", "outside_jurisdiction"}
    pd.testing.assert_frame_equal(grids, before)  # the input is not modified


def _strips(villages):
    """Five straight strips across the sample: they cut buildings (its villages do not)."""
    x0, y0, x1, y1 = villages.total_bounds
    xs = np.linspace(x0, x1, 6)
    return gpd.GeoDataFrame({"code": [f"00009100100{i + 1}" for i in range(5)]},
                            geometry=[box(a, y0, b, y1) for a, b in zip(xs[:-1], xs[1:],
                                                                         strict=True)],
                            crs=villages.crs)


def test_sample_villages_and_buildings(sample):
    """Real OSM data in EPSG:4326: buildings split between villages, found once each."""
    kw = dict(
        jurisdiction=sample["jurisdiction"],
        entities=sample["entities"],
        buildings=sample["buildings"],
        id_column="code",
    )
    villages = _strips(sample["villages"])
    ref = validate_coverage(villages, **kw)
    dist = validate_coverage_distributed(villages, tiles=3, scheduler=SYNC, **kw)
    _same(ref, dist)
    assert dist.summary["building_split"] > 0
    assert dist.issues.crs == villages.crs


def test_two_worker_local_cluster(voronoi):
    distributed = pytest.importorskip("distributed")
    grids, jur, ents = voronoi
    g, e, _ = inject(grids, jur, "gap", seed=1, entities=ents)
    ref = validate_coverage(g, jurisdiction=jur, entities=e)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster:
        with distributed.Client(cluster) as client:
            dist = validate_coverage_distributed(
                g, jurisdiction=jur, entities=e, tiles=2, scheduler=client
            )
            assert len(client.scheduler_info()["workers"]) == 2
        # a scheduler address, as for a cluster elsewhere
        by_address = validate_coverage_distributed(
            g, jurisdiction=jur, entities=e, tiles=3, scheduler=cluster.scheduler_address
        )
    _same(ref, dist)
    _same(ref, by_address)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    tiles=st.integers(1, 5),
    fault=st.sampled_from(["overlap", "gap", "sliver_gap", "extra_vertex", "deleted_grid"]),
)
def test_property_same_as_reference(seed, tiles, fault):
    grids, jur = voronoi_grids(60, seed=seed)
    g, e, _ = inject(grids, jur, fault, seed=seed, entities=random_points(jur, 50, seed=seed))
    ref = validate_coverage(g, jurisdiction=jur, entities=e)
    _same(
        ref,
        validate_coverage_distributed(g, jurisdiction=jur, entities=e, tiles=tiles, scheduler=SYNC),
    )


# ---------------------------------------------------------------------------
# a halo too small is reported; bad arguments are refused
# ---------------------------------------------------------------------------
def test_halo_too_small_warns(voronoi):
    grids, jur, ents = voronoi
    seam = _seams(grids, jur, ents)
    for seed in range(200):
        g, e, f = inject(grids, jur, "deleted_grid", seed=seed, entities=ents)
        if shapely.intersects(f.where, seam):
            break
    with pytest.warns(GridkitWarning, match="halo"):
        validate_coverage_distributed(g, jurisdiction=jur, tiles=2, halo=0.5, scheduler=SYNC)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(tiles=0), "tiles"),
        (dict(tiles="four"), "tiles"),
        (dict(halo=-1.0), "halo"),
    ],
)
def test_bad_arguments(voronoi, kwargs, match):
    grids, jur, _ = voronoi
    with pytest.raises(InvalidValueError, match=match):
        validate_coverage_distributed(grids, jurisdiction=jur, scheduler=SYNC, **kwargs)


def test_bad_scheduler(voronoi):
    grids, jur, _ = voronoi
    with pytest.raises(TypeError, match="scheduler"):
        validate_coverage_distributed(grids, jurisdiction=jur, scheduler=42)


def test_cli_tiles_option_matches_single_process(sample_file, capsys, tmp_path):
    import json

    import cli

    strips = tmp_path / "strips.gpkg"  # villages that cut the sample's buildings
    _strips(gpd.read_file(sample_file, layer="villages")).to_file(strips, layer="villages")
    base = ["validate", f"{strips}:villages", "--id-column", "code",
            "--jurisdiction", f"{sample_file}:jurisdiction",
            "--buildings", f"{sample_file}:buildings", "--format", "json"]
    single = cli.main(base)
    one = json.loads(capsys.readouterr().out)
    tiled = cli.main(base + ["--tiles", "2", "--scheduler", "synchronous"])
    two = json.loads(capsys.readouterr().out)
    assert single == tiled == 1  # the sample's buildings straddle the strips' boundaries
    assert one["summary"] == two["summary"]
    key = lambda i: (i["kind"], tuple(i["grids"]), round(i["x"], 9), round(i["y"], 9))  # noqa: E731
    assert sorted(map(key, one["issues"])) == sorted(map(key, two["issues"]))
