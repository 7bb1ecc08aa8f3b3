"""Features read by the workers (GeoParquet, dask-geopandas) and assignment on dask.

The reference is always the single-machine code on the same data:
validate_coverage for the issues, a plain spatial predicate for assignment.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely import box

from gridkit import validate_coverage
from gridkit.synthetic.faults import inject, nested_grids
from gridkit.units.assign import assign_buildings

dask_geopandas = pytest.importorskip("dask_geopandas")
from test_distributed import _key, _same  # noqa: E402

from gridkit.scale.coverage import (  # noqa: E402
    assign_to_grids_distributed,
    validate_coverage_distributed,
)

SYNC = "synchronous"


@pytest.fixture(scope="module")
def province():
    """A small province: 400 grids nested in villages, 3,000 entities, faults."""
    grids, villages, jur, ents = nested_grids(400, entities=3000, seed=3)
    g, e, _ = inject(grids, jur, "overlap", seed=1, entities=ents)
    g, e, _ = inject(g, jur, "point_on_two", seed=2, entities=e)
    g, e, _ = inject(g, jur, "point_outside", seed=3, entities=e)
    # a grid coded to the wrong village, and an entity without geometry
    g = g.copy()
    g.loc[5, "village_code"] = villages["code"].iloc[-1]
    e = e.copy()
    e.loc[7, "geometry"] = None
    e["entity_id"] = [f"e{i}" for i in range(len(e))]  # labels unique across partitions
    return g, villages, jur, e


def _unsorted_parquet(gdf, path, n=4):
    """A GeoParquet directory of ``n`` files whose rows are in random places."""
    shuffled = gdf.sample(frac=1.0, random_state=0)
    dask_geopandas.from_geopandas(shuffled, npartitions=n, sort=False).to_parquet(path)
    return str(path)


def test_nested_province_same_as_single(province):
    g, villages, jur, e = province
    ref = validate_coverage(g, jurisdiction=jur, villages=villages, entities=e)
    assert ref.summary["not_nested"] >= 1 and ref.summary["entity_multiple"] >= 1
    assert ref.summary["entity_unassigned"] >= 2  # outside, no geometry
    dist = validate_coverage_distributed(
        g, jurisdiction=jur, villages=villages, entities=e, tiles=3, scheduler=SYNC
    )
    _same(ref, dist)


def test_entities_from_geoparquet_read_by_workers(province, tmp_path):
    g, villages, jur, e = province
    path = _unsorted_parquet(e, tmp_path / "entities")
    ref = validate_coverage(g, jurisdiction=jur, entities=e)
    dist = validate_coverage_distributed(g, jurisdiction=jur, entities=path, tiles=2,
                                         scheduler=SYNC)
    _same(ref, dist)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), tiles=st.integers(1, 5), parts=st.integers(1, 4))
def test_property_points_on_edges_and_vertices(seed, tiles, parts):
    """Points on grid vertices and edges (on two or three grids), anywhere on the
    seams, in partitions of any order: the same issues as one process."""
    grids, villages, jur, ents = nested_grids(120, entities=200, seed=seed)
    rng = np.random.default_rng(seed)
    coords = shapely.get_coordinates(grids.geometry.values)
    on_vertex = coords[rng.choice(len(coords), 20)]
    b = grids.geometry.values[rng.choice(len(grids), 20)].boundary
    on_edge = shapely.get_coordinates(shapely.line_interpolate_point(b, rng.random(20),
                                                                     normalized=True))
    extra = gpd.GeoDataFrame(geometry=shapely.points(np.vstack([on_vertex, on_edge])),
                             crs=grids.crs)
    e = pd.concat([ents, extra], ignore_index=True)
    e["entity_id"] = [f"e{i}" for i in range(len(e))]
    ddf = dask_geopandas.from_geopandas(e.sample(frac=1.0, random_state=seed),
                                        npartitions=parts, sort=False)
    ref = validate_coverage(grids, jurisdiction=jur, villages=villages, entities=e)
    assert ref.summary["entity_multiple"] >= 1
    dist = validate_coverage_distributed(grids, jurisdiction=jur, villages=villages,
                                         entities=ddf, tiles=tiles, scheduler=SYNC)
    _same(ref, dist)


def test_one_big_file_is_read_in_row_group_runs(province, tmp_path, monkeypatch):
    from gridkit.scale import _features as _distributed_features
    from gridkit.scale._features import feature_items

    g, villages, jur, e = province
    path = tmp_path / "one.parquet"
    e.sample(frac=1.0, random_state=1).to_parquet(path, row_group_size=500)
    items, crs = feature_items(str(path), "entities", bounds=tuple(jur.total_bounds),
                               shape=(2, 2), opts={}, chunk=1000)
    assert len(items) == -(-len(e) // 1000) and crs == e.crs
    assert all(it["row_groups"] for it in items)
    monkeypatch.setattr(_distributed_features, "CHUNK_ROWS", 1000)  # the same runs below
    ref = validate_coverage(g, jurisdiction=jur, villages=villages, entities=e)
    dist = validate_coverage_distributed(g, jurisdiction=jur, villages=villages,
                                         entities=str(path), tiles=2, scheduler=SYNC)
    _same(ref, dist)
    got = assign_to_grids_distributed(str(path), g, scheduler=SYNC)
    assert sorted(got["entity_id"]) == sorted(e["entity_id"])


def _strips(villages):
    """Five straight strips across the sample: they cut buildings (its villages do not)."""
    x0, y0, x1, y1 = villages.total_bounds
    xs = np.linspace(x0, x1, 6)
    return gpd.GeoDataFrame({"code": [f"00009100100{i + 1}" for i in range(5)]},
                            geometry=[box(a, y0, b, y1) for a, b in zip(xs[:-1], xs[1:],
                                                                         strict=True)],
                            crs=villages.crs)


def test_dask_frame_of_buildings(sample):
    blds = sample["buildings"]
    ddf = dask_geopandas.from_geopandas(blds, npartitions=3)
    kw = dict(jurisdiction=sample["jurisdiction"], id_column="code")
    villages = _strips(sample["villages"])
    ref = validate_coverage(villages, buildings=blds, **kw)
    dist = validate_coverage_distributed(villages, buildings=ddf, tiles=2,
                                         scheduler=SYNC, **kw)
    assert ref.summary["building_split"] > 0
    _same(ref, dist)


def test_dask_frame_without_crs_is_refused(province):
    from gridkit.errors import MissingCRSError

    g, _, jur, e = province
    ddf = dask_geopandas.from_geopandas(e.set_crs(None, allow_override=True), npartitions=2)
    with pytest.raises(MissingCRSError, match="entities"):
        validate_coverage_distributed(g, jurisdiction=jur, entities=ddf, scheduler=SYNC)


def _reference_assignment(features, grids, id_column):
    """Single machine: largest overlap for footprints, first containing grid for points."""
    f = features.to_crs(grids.crs)
    pos, _ = assign_buildings(np.asarray(grids.geometry.values, dtype=object),
                              np.asarray(f.geometry.values, dtype=object))
    ids = grids[id_column].astype(str).to_numpy()
    return [ids[p] if p >= 0 else None for p in pos]


def test_assign_points_and_buildings_match_reference(sample):
    grids = sample["villages"]
    for layer in ("entities", "buildings"):
        feats = sample[layer]
        before = feats.copy()
        got = assign_to_grids_distributed(feats, grids, id_column="code", column="village",
                                          tiles=3, scheduler=SYNC)
        pd.testing.assert_frame_equal(feats, before)  # input untouched
        assert list(got.index) == list(feats.index) and got.crs == feats.crs
        want = _reference_assignment(feats, grids, "code")
        assert [None if pd.isna(v) else v for v in got["village"]] == want
        assert got["village"].notna().mean() > 0.9


def test_assign_edges_and_outside():
    cells = [box(0, 0, 10, 10), box(10, 0, 20, 10)]
    grids = gpd.GeoDataFrame({"grid_id": ["a", "b"]}, geometry=cells, crs="EPSG:32650")
    pts = gpd.GeoDataFrame(
        {"entity_id": ["in_b", "edge", "out", "none"]},
        geometry=[shapely.Point(15, 5), shapely.Point(10, 5), shapely.Point(50, 50), None],
        crs="EPSG:32650",
    )
    got = assign_to_grids_distributed(pts, grids, tiles=2, scheduler=SYNC)
    assert got["grid_id"].tolist()[:2] == ["b", "a"]  # on the shared edge: the first grid
    assert got["grid_id"].isna().tolist()[2:] == [True, True]


def test_assign_writes_geoparquet(province, tmp_path):
    g, _, _, e = province
    src = _unsorted_parquet(e, tmp_path / "in", n=3)
    out = assign_to_grids_distributed(src, g, out=tmp_path / "out", scheduler=SYNC)
    back = gpd.read_parquet(out)
    assert len(back) == len(e)
    back = back.set_index("entity_id").loc[e["entity_id"]]
    want = _reference_assignment(e[e.geometry.notna()], g, "grid_id")
    got = back.loc[e["entity_id"][e.geometry.notna()], "grid_id"]
    assert [None if pd.isna(v) else v for v in got] == want


def test_two_workers_read_their_own_partitions(province, tmp_path):
    distributed = pytest.importorskip("distributed")
    g, villages, jur, e = province
    path = _unsorted_parquet(e, tmp_path / "entities")
    ref = validate_coverage(g, jurisdiction=jur, villages=villages, entities=e)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster, distributed.Client(cluster) as client:
        dist = validate_coverage_distributed(
            g, jurisdiction=jur, villages=villages, entities=path, tiles=2, scheduler=client
        )
        got = assign_to_grids_distributed(path, g, scheduler=client)
    _same(ref, dist)
    assert len(got) == len(e) and got["grid_id"].notna().sum() >= len(e) - 3
    assert _key(dist)  # the faults are there


# ---------------------------------------------------------------------------
# the CLI
# ---------------------------------------------------------------------------
def test_cli_distributed_reads_geoparquet(province, tmp_path, capsys):
    import json

    import cli

    g, villages, jur, e = province
    gpath, jpath = tmp_path / "grids.parquet", tmp_path / "jur.parquet"
    g.to_parquet(gpath)
    jur.to_parquet(jpath)
    epath = _unsorted_parquet(e, tmp_path / "entities")
    base = ["validate", str(gpath), "--jurisdiction", str(jpath), "--format", "json"]
    assert cli.main(base + ["--entities", str(tmp_path / "entities")]) == 1
    one = json.loads(capsys.readouterr().out)
    assert cli.main(base + ["--entities", epath, "--distributed", "--scheduler", SYNC]) == 1
    two = json.loads(capsys.readouterr().out)
    assert one["summary"] == two["summary"] and one["summary"]["entity_multiple"] >= 1
    key = lambda i: (i["kind"], tuple(i["grids"]), i["x"], i["y"], i["feature"])  # noqa: E731
    assert sorted(map(key, one["issues"]), key=str) == sorted(map(key, two["issues"]), key=str)


def test_cli_assign_to_layer_and_directory(province, tmp_path, capsys):
    import cli

    g, _, _, e = province
    gpath = tmp_path / "grids.gpkg"
    g.to_file(gpath)
    epath = _unsorted_parquet(e, tmp_path / "entities")
    assert cli.main(["assign", epath, str(gpath), "-o", str(tmp_path / "out.gpkg")]) == 0
    assert "in a grid" in capsys.readouterr().out
    layer = gpd.read_file(tmp_path / "out.gpkg")
    assert len(layer) == len(e) and layer["grid_id"].notna().sum() >= len(e) - 3
    assert cli.main(["assign", epath, str(gpath), "--column", "grid",
                     "-o", str(tmp_path / "outdir")]) == 0
    back = gpd.read_parquet(tmp_path / "outdir")
    assert len(back) == len(e) and "grid" in back.columns


# ---------------------------------------------------------------------------
# spatially sorted GeoParquet files
# ---------------------------------------------------------------------------
def test_write_spatial_parquet_in_memory_and_on_dask(province, tmp_path):
    from gridkit import write_spatial_parquet

    g, _, jur, e = province
    before = e.copy()
    out = write_spatial_parquet(e, tmp_path / "sorted", rows_per_file=800)
    pd.testing.assert_frame_equal(e, before)
    files = sorted((tmp_path / "sorted").glob("*.parquet"))
    assert len(files) == -(-len(e) // 800)
    back = gpd.read_parquet(out)
    assert sorted(back["entity_id"]) == sorted(e["entity_id"]) and back.crs == e.crs
    # each file covers a compact area: much less than the whole province
    whole = shapely.box(*jur.total_bounds).area
    areas = [shapely.box(*gpd.read_parquet(f).dropna(subset=["geometry"]).total_bounds).area
             for f in files]
    assert np.mean(areas) < 0.5 * whole
    # from GeoParquet on dask; same issues when validated from either
    again = write_spatial_parquet(_unsorted_parquet(e, tmp_path / "raw"), tmp_path / "dask",
                                  scheduler=SYNC)
    ref = validate_coverage(g, jurisdiction=jur, entities=e)
    for src in (out, again):
        _same(ref, validate_coverage_distributed(g, jurisdiction=jur, entities=src, tiles=2,
                                                 scheduler=SYNC))
    with pytest.raises(FileExistsError, match="overwrite"):
        write_spatial_parquet(e, out)
    assert write_spatial_parquet(e.iloc[:10], out, overwrite=True) == str(out)
    assert len(gpd.read_parquet(out)) == 10


def test_cli_shard(province, tmp_path, capsys):
    import cli

    _, _, _, e = province
    src = tmp_path / "e.gpkg"
    e = e.dropna(subset=["geometry"])
    e.to_file(src)
    assert cli.main(["shard", str(src), "-o", str(tmp_path / "out"), "--rows", "1000"]) == 0
    assert "written" in capsys.readouterr().out
    assert len(list((tmp_path / "out").glob("*.parquet"))) == -(-len(e) // 1000)
    assert len(gpd.read_parquet(tmp_path / "out")) == len(e)
    assert cli.main(["shard", str(src), "-o", str(tmp_path / "out")]) == 2  # exists
