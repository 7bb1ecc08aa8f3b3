"""build_units / partition per town or village on dask, against the single-machine functions.

Most tests use dask's synchronous scheduler; one runs a real 2-worker local
cluster (processes) and compares it with the synchronous run.
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

import cli
from gridkit import build_units, partition, validate_coverage
from gridkit.errors import GridkitWarning, InvalidValueError, MissingColumnError
from gridkit.synthetic.county import synthetic_county

pytest.importorskip("distributed")
from gridkit.scale.pipeline import (  # noqa: E402
    build_units_distributed,
    partition_distributed,
)

SYNC = "synchronous"
LAYERS = ("villages", "barriers", "buildings", "entities")


def _quiet(func, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridkitWarning)
        return func(*args, **kwargs)


@pytest.fixture(scope="module")
def county():
    """A small synthetic county: 50 villages in 2 towns (codes 429999001xxx, 429999002xxx)."""
    return synthetic_county(3, buildings=4000, roads=1200, villages=50, entities=8000)


@pytest.fixture(scope="module")
def county_units(county):
    ref = _quiet(build_units, county["roads"], county["jurisdiction"],
                 **{k: county[k] for k in LAYERS})
    dist = _quiet(build_units_distributed, county["roads"], county["jurisdiction"],
                  scheduler=SYNC, **{k: county[k] for k in LAYERS})
    return ref, dist


def _as_grids(units):
    return units.assign(grid_id=units["unit_id"].astype(str))


def _check_units(res, layers, ref):
    """The invariants single-machine build_units guarantees, on a distributed result."""
    units = res.units
    assert units["unit_id"].tolist() == list(range(len(units)))
    # one tiling of the jurisdiction: same total area as the single-machine units
    assert res.report["coverage_valid"]
    assert res.report["area_error_m2"] <= res.report["area_tolerance_m2"]
    metric = res.crs
    assert units.to_crs(metric).area.sum() == pytest.approx(
        ref.units.to_crs(metric).area.sum(), abs=res.report["area_tolerance_m2"])
    cov = validate_coverage(_as_grids(units), jurisdiction=layers["jurisdiction"],
                            villages=layers["villages"])
    assert cov.valid, cov.summary
    # every unit in one village: its interior point lies in the village it names
    v = layers["villages"].to_crs(metric).set_index("code").geometry
    pts = shapely.point_on_surface(units.to_crs(metric).geometry.values)
    assert shapely.covers(v.loc[units["village_code"]].values, pts).all()
    # every building and entity assigned once, as by build_units
    for layer, col in (("buildings", "buildings"), ("entities", "entities")):
        out, want = getattr(res, layer), getattr(ref, layer)
        assert len(out) == len(layers[layer])
        assert out["unit_id"].notna().sum() == want["unit_id"].notna().sum()
        assert int(units[col].sum()) == int(out["unit_id"].notna().sum())
        counted = out["unit_id"].dropna().astype(int).value_counts()
        assert (counted.reindex(units["unit_id"], fill_value=0).to_numpy()
                == units[col].to_numpy()).all()
    assert len(res.unassigned) == len(ref.unassigned)


# --------------------------------------------------------------------------- units


def test_one_town_is_build_units_exactly(sample):
    layers = {k: sample[k] for k in LAYERS}
    ref = _quiet(build_units, sample["roads"], sample["jurisdiction"], **layers)
    res = _quiet(build_units_distributed, sample["roads"], sample["jurisdiction"],
                 scheduler=SYNC, **layers)
    assert res.report["groups"] == 1  # the sample's 5 villages are in one town
    pd.testing.assert_frame_equal(res.units, ref.units)
    pd.testing.assert_frame_equal(res.buildings, ref.buildings)
    pd.testing.assert_frame_equal(res.entities, ref.entities)
    assert res.units.crs == sample["roads"].crs


def test_per_village_on_sample(sample):
    layers = {k: sample[k] for k in LAYERS}
    before = {k: v.copy() for k, v in sample.items()}
    ref = _quiet(build_units, sample["roads"], sample["jurisdiction"], **layers)
    res = _quiet(build_units_distributed, sample["roads"], sample["jurisdiction"],
                 by="village", scheduler=SYNC, **layers)
    assert res.report["groups"] == 5
    _check_units(res, sample, ref)
    # per village, the same entities (points: the village holding them)
    per_v = res.units.groupby("village_code")["entities"].sum()
    assert per_v.equals(ref.units.groupby("village_code")["entities"].sum())
    assert res.report["buildings_in_several_groups"] > 0  # straddlers were settled
    for k, v in before.items():  # inputs untouched
        pd.testing.assert_frame_equal(sample[k], v)


def test_per_town_on_synthetic_county(county, county_units):
    ref, res = county_units
    assert res.report["groups"] == 2
    _check_units(res, county, ref)
    for col in ("entities", "buildings", "households", "entities_risk1"):
        got = res.units.groupby("village_code")[col].sum()
        want = ref.units.groupby("village_code")[col].sum()
        assert got.equals(want), col
    assert res.units["street_length_m"].sum() == pytest.approx(
        ref.units["street_length_m"].sum(), rel=1e-6)
    assert res.units["workload_min"].sum() == pytest.approx(
        ref.units["workload_min"].sum(), rel=1e-6)


def test_straddling_building_goes_where_most_of_it_lies():
    """Two towns side by side; a building 70/30 across the border; a point on it."""
    crs = "EPSG:4547"
    x0, y0 = 440_000.0, 3_380_000.0
    jur = gpd.GeoDataFrame(geometry=[box(x0, y0, x0 + 400, y0 + 200)], crs=crs)
    villages = gpd.GeoDataFrame(
        {"code": ["429999001001", "429999002001"]},
        geometry=[box(x0, y0, x0 + 200, y0 + 200), box(x0 + 200, y0, x0 + 400, y0 + 200)],
        crs=crs)
    roads = gpd.GeoDataFrame(geometry=[shapely.LineString([(x0, y0 + 100), (x0 + 400, y0 + 100)])],
                             crs=crs)
    buildings = gpd.GeoDataFrame(
        {"households": [3, 1]},
        geometry=[box(x0 + 170, y0 + 20, x0 + 270, y0 + 40),  # 30 % west, 70 % east
                  box(x0 + 10, y0 + 150, x0 + 30, y0 + 170)], crs=crs)
    entities = gpd.GeoDataFrame(
        {"risk": [1, 3], "credit": ["A", "B"]},
        geometry=[shapely.Point(x0 + 200, y0 + 30), shapely.Point(x0 + 50, y0 + 50)], crs=crs)
    kw = dict(villages=villages, buildings=buildings, entities=entities, min_area=10.0)
    ref = _quiet(build_units, roads, jur, **kw)
    res = _quiet(build_units_distributed, roads, jur, scheduler=SYNC, **kw)
    assert res.report["groups"] == 2 and res.report["buildings_in_several_groups"] == 1
    assert len(res.units) == len(ref.units) == 4
    code = res.units.set_index("unit_id")["village_code"]
    assert code[res.buildings["unit_id"].iloc[0]] == "429999002001"
    assert res.buildings["unit_share"].iloc[0] == pytest.approx(0.7)
    assert res.units["buildings"].sum() == 2 and res.units["households"].sum() == 4
    assert res.units["entities"].sum() == 2  # the point on the border counted once
    ref_code = ref.units.set_index("unit_id")["village_code"]
    assert code[res.entities["unit_id"].iloc[0]] == ref_code[ref.entities["unit_id"].iloc[0]]


def test_village_without_roads_and_gap_between_villages():
    """A town with no road at all, and a strip of the jurisdiction in no village."""
    crs = "EPSG:4547"
    x0, y0 = 440_000.0, 3_380_000.0
    jur = gpd.GeoDataFrame(geometry=[box(x0, y0, x0 + 300, y0 + 100)], crs=crs)
    villages = gpd.GeoDataFrame(
        {"code": ["429999001001", "429999002001"]},
        geometry=[box(x0, y0, x0 + 140, y0 + 100), box(x0 + 150, y0, x0 + 300, y0 + 100)],
        crs=crs)
    roads = gpd.GeoDataFrame(
        {"road_class": ["primary"]},
        geometry=[shapely.LineString([(x0 + 70, y0 - 10), (x0 + 70, y0 + 110)])], crs=crs)
    ref = _quiet(build_units, roads, jur, villages=villages, road_classes=["primary"])
    res = _quiet(build_units_distributed, roads, jur, villages=villages,
                 road_classes=["primary"], scheduler=SYNC)
    assert res.report["groups"] == 2
    assert sorted(res.units["village_code"]) == sorted(ref.units["village_code"])
    assert res.units.area.sum() == pytest.approx(300 * 100, abs=0.01)
    assert res.units["street_length_m"].sum() == pytest.approx(100.0)
    assert res.report["coverage_valid"]


def test_unit_errors(sample):
    r, j = sample["roads"], sample["jurisdiction"]
    with pytest.raises(InvalidValueError, match="villages"):
        build_units_distributed(r, j, villages=None, scheduler=SYNC)
    with pytest.raises(InvalidValueError, match="by must be one of"):
        build_units_distributed(r, j, villages=sample["villages"], by="county", scheduler=SYNC)
    short = sample["villages"].assign(code=["a", "b", "c", "d", "e"])
    with pytest.raises(InvalidValueError, match="by='village'"):
        build_units_distributed(r, j, villages=short, scheduler=SYNC)
    with pytest.raises(MissingColumnError, match="code"):
        build_units_distributed(r, j, villages=sample["villages"].drop(columns="code"),
                                scheduler=SYNC)
    with pytest.raises(TypeError, match="unexpected option"):
        build_units_distributed(r, j, villages=sample["villages"], scheduler=SYNC, nest=1)
    with pytest.raises(TypeError, match="scheduler"):
        build_units_distributed(r, j, villages=sample["villages"], scheduler=3)
    with pytest.raises(ValueError, match="min_area"):
        build_units_distributed(r, j, villages=sample["villages"], scheduler=SYNC,
                                min_area=-1)


# --------------------------------------------------------------------------- partition


def test_partition_one_town_is_partition_exactly(county_units):
    _, res = county_units
    one = res.units[res.units["village_code"].str.startswith("429999001")].copy()
    ref = _quiet(partition, one, "workload_min", k=40)
    dist = _quiet(partition_distributed, one, "workload_min", k=40, scheduler=SYNC)
    pd.testing.assert_frame_equal(dist.grids, ref.grids)
    pd.testing.assert_frame_equal(dist.assignment, ref.assignment)
    assert dist.report.max_deviation == ref.report.max_deviation


@pytest.mark.parametrize("by", ["town", "village"])
def test_partition_per_group_matches_single_machine(county_units, by):
    _, res = county_units
    units = res.units
    before = units.copy()
    ref = _quiet(partition, units, "workload_min", k=120)
    dist = _quiet(partition_distributed, units, "workload_min", k=120, by=by, scheduler=SYNC)
    pd.testing.assert_frame_equal(units, before)
    grids, asg = dist.grids, dist.assignment
    assert dist.report.k == len(grids) == 120
    assert grids["grid_id"].is_unique and grids["grid_id"].is_monotonic_increasing
    assert grids["contiguous"].all()
    # nested: every unit's grid is in its village; every unit has a grid
    assert asg["grid_id"].notna().all()
    assert (asg["grid_id"].str[:12] == asg["village_code"]).all()
    assert asg["grid_id"].str.fullmatch(r"\d{15}").all()  # the standard code
    assert asg[units.columns].equals(units)
    # the grids per town are the single machine's (central allocation)
    town = lambda g: g["village_code"].str[:9].value_counts().sort_index()  # noqa: E731
    assert town(grids).equals(town(ref.grids))
    if by == "village":
        village = lambda g: g["village_code"].value_counts().sort_index()  # noqa: E731
        assert village(grids).equals(village(ref.grids))
    # balance within the same tolerance band as the single machine reaches
    assert dist.report.max_deviation <= max(ref.report.max_deviation, ref.report.bound) + 0.05
    w = grids.set_index("grid_id")["weight"]
    summed = asg.groupby("grid_id")["workload_min"].sum().reindex(w.index)
    np.testing.assert_allclose(w.to_numpy(), summed.to_numpy(), rtol=1e-9)
    assert dist.report.mean == pytest.approx(units["workload_min"].sum() / 120)


def test_partition_capacity_and_per_village(county_units):
    _, res = county_units
    units = res.units
    ref = _quiet(partition, units, "workload_min", capacity=8000)
    dist = _quiet(partition_distributed, units, "workload_min", capacity=8000, scheduler=SYNC)
    assert len(dist.grids) == len(ref.grids)
    per = _quiet(partition_distributed, units, "entities", k=1, per_village=True,
                 scheduler=SYNC)
    assert len(per.grids) == units["village_code"].nunique()


def test_partition_errors(county_units):
    _, res = county_units
    units = res.units
    with pytest.raises(InvalidValueError, match="nest_by"):
        partition_distributed(units, "entities", k=60, nest_by=None, scheduler=SYNC)
    with pytest.raises(MissingColumnError, match="nesting column"):
        partition_distributed(units.drop(columns="village_code"), "entities", k=60,
                              scheduler=SYNC)
    with pytest.raises(TypeError, match="unexpected option"):
        partition_distributed(units, "entities", k=60, nest="village_code", scheduler=SYNC)
    with pytest.raises(ValueError, match="villages"):  # fewer grids than villages
        partition_distributed(units, "entities", k=3, scheduler=SYNC)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n_towns=st.integers(1, 3),
    villages_per_town=st.integers(1, 3),
    extra=st.integers(0, 8),
    seed=st.integers(0, 10_000),
)
def test_partition_property_exact_k_nested(n_towns, villages_per_town, extra, seed):
    """Any split of a strip of cells into towns and villages: exactly k grids, nested."""
    rng = np.random.default_rng(seed)
    n_v = n_towns * villages_per_town
    cells_per_v = 6
    codes = [f"429999{t + 1:03d}{v + 1:03d}" for t in range(n_towns)
             for v in range(villages_per_town)]
    geoms, vcode = [], []
    for i, code in enumerate(codes):  # each village a 2 x 3 block, side by side
        for c in range(cells_per_v):
            x, y = i * 2 + c % 2, c // 2
            geoms.append(box(x, y, x + 1, y + 1))
            vcode.append(code)
    units = gpd.GeoDataFrame({"unit_id": range(len(geoms)), "village_code": vcode,
                              "w": rng.integers(1, 20, len(geoms))},
                             geometry=geoms, crs=3857)
    k = n_v + min(extra, n_v * (cells_per_v - 1))  # at most one grid per unit
    ref = _quiet(partition, units, "w", k=k)
    dist = _quiet(partition_distributed, units, "w", k=k, scheduler=SYNC)
    assert len(dist.grids) == len(ref.grids) == k
    assert dist.grids["grid_id"].is_unique
    g = dist.assignment.set_index("unit_id")["grid_id"]
    assert (g.str[:12] == units.set_index("unit_id")["village_code"]).all()
    town = lambda r: r.grids["village_code"].str[:9].value_counts().sort_index()  # noqa: E731
    assert town(dist).equals(town(ref))


# --------------------------------------------------------------------------- real cluster


def test_local_cluster_matches_synchronous(sample):
    distributed = pytest.importorskip("distributed")
    layers = {k: sample[k] for k in LAYERS}
    sync = _quiet(build_units_distributed, sample["roads"], sample["jurisdiction"],
                  by="village", scheduler=SYNC, **layers)
    psync = _quiet(partition_distributed, sync.units, "workload_min", k=12, by="village",
                   scheduler=SYNC)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            res = _quiet(build_units_distributed, sample["roads"], sample["jurisdiction"],
                         by="village", scheduler=client, **layers)
            assert len(client.scheduler_info()["workers"]) == 2
        part = _quiet(partition_distributed, res.units, "workload_min", k=12, by="village",
                      scheduler=cluster.scheduler_address)
    pd.testing.assert_frame_equal(res.units, sync.units)
    pd.testing.assert_frame_equal(res.buildings, sync.buildings)
    pd.testing.assert_frame_equal(res.entities, sync.entities)
    pd.testing.assert_frame_equal(part.grids, psync.grids)
    pd.testing.assert_frame_equal(part.assignment, psync.assignment)


# --------------------------------------------------------------------------- CLI


def test_cli_units_and_partition_distributed(sample_file, tmp_path, capsys):
    units = tmp_path / "units.gpkg"
    assert cli.main(["-q", "units", "--layers", str(sample_file), "--by", "village",
                     "--scheduler", SYNC, "--no-adjacency", "-o", str(units)]) == 0
    out = capsys.readouterr().out
    assert "5 village task(s) on dask" in out
    u = gpd.read_file(units, layer="units")
    assert shapely.coverage_is_valid(u.geometry.values)
    grids = tmp_path / "grids.gpkg"
    assert cli.main(["-q", "partition", "--units", f"{units}:units", "--weight", "entities",
                     "--grids", "10", "--by", "village", "--scheduler", SYNC,
                     "-o", str(grids)]) == 0
    g = gpd.read_file(grids, layer="grids")
    assert len(g) == 10 and g["grid_id"].is_unique
    assert cli.main(["-q", "partition", "--units", f"{units}:units", "--weight", "entities",
                     "--grids", "10", "--nest-by", "none", "--scheduler", SYNC,
                     "-o", str(grids)]) == 2


def test_cli_units_distributed_needs_villages(sample_file, tmp_path, capsys):
    code = cli.main(["-q", "units", "--roads", f"{sample_file}:roads", "--jurisdiction",
                     f"{sample_file}:jurisdiction", "--distributed", "-o",
                     str(tmp_path / "u.gpkg")])
    assert code == 2
    assert "--villages" in capsys.readouterr().err


def test_distributed_units_refuse_a_tangle_before_any_task(sample):
    from gridkit.errors import UnitsError

    x0, y0, x1, y1 = sample["jurisdiction"].to_crs(32635).total_bounds
    rng = np.random.default_rng(5)
    a = rng.uniform((x0, y0), (x1, y1), (3000, 2))
    b = rng.uniform((x0, y0), (x1, y1), (3000, 2))
    tangle = gpd.GeoDataFrame(geometry=shapely.linestrings(np.stack([a, b], axis=1)), crs=32635)
    with pytest.raises(UnitsError, match="cross each other"):
        build_units_distributed(tangle, sample["jurisdiction"], villages=sample["villages"],
                                scheduler=SYNC)
