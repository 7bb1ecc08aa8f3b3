"""Tests for gridkit.grids.partition: hard rules on the real sample (units from
gridkit.build_units) and on hand-made cases."""

from __future__ import annotations

import warnings

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
from geopandas.testing import assert_geodataframe_equal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, box

from gridkit import (
    GridkitWarning,
    InvalidValueError,
    MissingColumnError,
    PartitionError,
    inertia_index,
    partition,
    polsby_popper,
    unit_adjacency,
)
from gridkit.grids.core.alloc import allocate, largest_remainder


# ----------------------------------------------------------------- helpers
def lattice(nx_, ny, *, villages=None, weights=None, crs=3857, cell=10.0, skip=()):
    """nx_ x ny square cells; ``villages(i, j)`` gives each cell's village code."""
    rows = []
    for j in range(ny):
        for i in range(nx_):
            if (i, j) in skip:
                continue
            rows.append({"i": i, "j": j, "geometry": box(i * cell, j * cell, (i + 1) * cell,
                                                          (j + 1) * cell)})
    cells = gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)
    cells.insert(0, "unit_id", np.arange(len(cells)))
    cells["village_code"] = [villages(i, j) if villages else "v"
                             for i, j in zip(cells["i"], cells["j"], strict=True)]
    cells["w"] = weights if weights is not None else 1.0
    return cells


def check_hard_rules(units, result, k, *, nest_by="village_code", id_column="unit_id"):
    """Exactly k non-empty grids, every unit in one grid, contiguous, nested."""
    a = result.assignment
    assert len(a) == len(units) and a[id_column].tolist() == units[id_column].tolist()
    assert a["grid_id"].notna().all()
    assert a["grid_id"].nunique() == k == len(result.grids) == result.report.k
    assert set(result.grids["grid_id"]) == set(a["grid_id"])
    assert (result.grids["units"] > 0).all()
    if nest_by:
        assert (a.groupby("grid_id")[nest_by].nunique() == 1).all()
    adj = unit_adjacency(units, id_column=id_column)
    graph = nx.Graph()
    graph.add_nodes_from(units[id_column])
    graph.add_edges_from(adj[["unit_a", "unit_b"]].itertuples(index=False, name=None))
    for gid, members in a.groupby("grid_id")[id_column]:
        contiguous = result.grids.set_index("grid_id").loc[gid, "contiguous"]
        if contiguous:
            assert nx.is_connected(graph.subgraph(members)), f"grid {gid} is in pieces"
    # weights add up
    assert result.grids["weight"].sum() == pytest.approx(result.grids["weight"].sum())


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridkitWarning)
        return fn(*args, **kwargs)



# ----------------------------------------------------------------- the sample
def test_sample_hard_rules_and_outputs(units, units_adjacency):
    geographic = units.to_crs(4326)
    before = geographic.copy()
    result = quiet(partition, geographic, "entities", k=20, adjacency=units_adjacency)
    assert_geodataframe_equal(geographic, before)  # the input is untouched
    check_hard_rules(geographic, result, 20)
    assert result.grids.crs == geographic.crs == result.assignment.crs
    for col in ("grid_id", "village_code", "weight", "units", "area_m2", "polsby_popper",
                "inertia_index", "deviation", "target"):
        assert col in result.grids.columns
    assert list(result.assignment.columns[:-1]) == list(geographic.columns)
    assert result.grids["weight"].sum() == pytest.approx(units["entities"].sum())
    # the dissolved grids cover exactly the units (areas in m², in the working CRS)
    assert result.grids["area_m2"].sum() == pytest.approx(units.area.sum(), rel=1e-6)
    assert result.grids["polsby_popper"].between(0, 1).all()
    assert result.grids["inertia_index"].between(0, 1).all()
    # every village gets at least one grid; grids are numbered inside their village
    assert set(result.grids["village_code"]) == set(units["village_code"])
    # with the standard 15-digit code: the village's 12 digits and a 3-digit sequence
    assert result.grids["grid_id"].str.fullmatch(r"\d{15}").all()
    assert (result.grids["grid_id"].str[:12] == result.grids["village_code"]).all()


def test_sample_balance_reported_honestly(units, units_adjacency):
    result = quiet(partition, units, "households", k=10, adjacency=units_adjacency)
    r = result.report
    dev = (result.grids["weight"] / result.grids["target"] - 1).abs()
    assert r.max_deviation == pytest.approx(dev.max())
    assert r.within_tolerance == bool((dev <= r.tolerance + 1e-9).all())
    if not r.within_tolerance:
        assert any("outside ±2%" in w for w in r.warnings)
    mean = result.grids["weight"].mean()
    assert r.max_over_mean == pytest.approx(result.grids["weight"].max() / mean)


def test_sample_per_village_and_capacity(units, units_adjacency):
    per = quiet(partition, units, "entities", k=2, per_village=True, adjacency=units_adjacency)
    assert (per.grids.groupby("village_code").size() == 2).all()
    check_hard_rules(units, per, 2 * units["village_code"].nunique())
    cap = quiet(partition, units, "entities", capacity=150, adjacency=units_adjacency)
    by_village = units.groupby("village_code")["entities"].sum()
    expected = np.maximum(1, np.ceil(by_village / 150)).astype(int)
    assert (cap.grids.groupby("village_code").size() == expected).all()
    assert (cap.report.villages.set_index("village")["mean"] <= 150).all()


def test_road_weight_pulls_borders_onto_roads(units, units_adjacency):
    plain = quiet(partition, units, "entities", k=12, adjacency=units_adjacency)
    roads = quiet(partition, units, "entities", k=12, adjacency=units_adjacency, road_weight=1.0)
    assert roads.report.road_share >= plain.report.road_share - 0.02
    assert 0 <= roads.report.road_share <= 1


def test_deterministic_for_a_seed(units, units_adjacency):
    one = quiet(partition, units, "entities", k=15, seed=3, adjacency=units_adjacency)
    two = quiet(partition, units, "entities", k=15, seed=3, adjacency=units_adjacency)
    assert one.assignment["grid_id"].tolist() == two.assignment["grid_id"].tolist()


# ----------------------------------------------------------------- balance on a lattice
def test_lattice_balance_within_tolerance():
    rng = np.random.default_rng(7)
    w = rng.integers(0, 20, 30 * 30).astype(float)
    cells = lattice(30, 30, villages=lambda i, j: "west" if i < 13 else "east", weights=w)
    result = partition(cells, "w", k=12)
    check_hard_rules(cells, result, 12)
    assert result.report.within_tolerance
    assert result.report.max_deviation <= 0.02
    assert result.report.mean_polsby_popper > 0.4  # compact, not stringy


def test_weight_forms_agree():
    cells = lattice(8, 8)
    cells["a"] = np.arange(64) % 5
    cells["b"] = 2.0
    via_dict = partition(cells, {"a": 1, "b": 0.5}, k=4)
    via_series = partition(cells, cells["a"] + 1.0, k=4)
    assert via_dict.assignment["grid_id"].tolist() == via_series.assignment["grid_id"].tolist()
    assert via_dict.grids["weight"].sum() == pytest.approx(cells["a"].sum() + 64)


def test_target_sets_k():
    cells = lattice(10, 10)
    result = partition(cells, "w", target=20)
    assert result.report.k == 5


# ----------------------------------------------------------------- the hard cases
def _with_island(island_weight):
    cells = lattice(6, 6)
    island = gpd.GeoDataFrame({"unit_id": [99], "village_code": ["v"], "w": [island_weight]},
                              geometry=[box(200, 200, 210, 210)], crs=cells.crs)
    return pd.concat([cells.drop(columns=["i", "j"]), island], ignore_index=True)


def test_heavy_island_unit_gets_its_own_grid():
    cells = _with_island(18.0)  # half a grid's worth or more: a grid of its own
    with pytest.warns(GridkitWarning, match="disconnected parts"):
        own = partition(cells, "w", k=3)
    check_hard_rules(cells, own, 3)
    island_grid = own.assignment.loc[own.assignment.unit_id == 99, "grid_id"].item()
    assert (own.assignment["grid_id"] == island_grid).sum() == 1
    assert own.grids["contiguous"].all()
    others = own.grids[own.grids.grid_id != island_grid]["weight"]
    assert others.tolist() == [18.0, 18.0]


def test_light_island_unit_is_attached_and_reported():
    cells = _with_island(1.0)  # a sliver: joins the nearest grid rather than a near-empty grid
    with pytest.warns(GridkitWarning, match="attached"):
        result = partition(cells, "w", k=3)
    check_hard_rules(cells, result, 3)
    island_grid = result.assignment.loc[result.assignment.unit_id == 99, "grid_id"].item()
    flags = result.grids.set_index("grid_id")["contiguous"]
    assert not flags[island_grid] and flags.drop(island_grid).all()
    assert any("attached" in w for w in result.report.warnings)
    # one grid for the village: the island is attached too
    one = quiet(partition, cells, "w", k=1)
    assert one.report.k == 1 and not one.grids["contiguous"].item()


def test_disconnected_village_gets_grids_per_part():
    # village "a" on both sides of village "b"
    cells = lattice(12, 4, villages=lambda i, j: "b" if 4 <= i < 8 else "a")
    with pytest.warns(GridkitWarning, match="'a' is in 2 disconnected parts"):
        result = partition(cells, "w", k=5)
    check_hard_rules(cells, result, 5)
    assert result.grids["contiguous"].all()
    a_grids = result.assignment[result.assignment.village_code == "a"]
    for _, grid in a_grids.groupby("grid_id"):
        assert grid["i"].max() < 4 or grid["i"].min() >= 8  # never spans the two parts
    assert any("disconnected" in w for w in result.report.warnings)


def test_unit_heavier_than_target_is_alone_and_reported():
    w = np.ones(100)
    w[55] = 80.0  # the mean grid weighs 180/4 = 45
    cells = lattice(10, 10, weights=w)
    with pytest.warns(GridkitWarning, match="weighs 1.8x"):
        result = partition(cells, "w", k=4)
    check_hard_rules(cells, result, 4)
    heavy_grid = result.assignment.loc[55, "grid_id"]
    assert (result.assignment["grid_id"] == heavy_grid).sum() == 1
    others = result.grids[result.grids.grid_id != heavy_grid]["weight"]
    assert others.max() - others.min() <= 2  # the rest share what is left evenly
    assert result.report.bound == pytest.approx(80 / (179 / 4) - 1)


def test_k_larger_than_units_is_a_clear_error():
    cells = lattice(3, 3)
    with pytest.raises(PartitionError, match="only 9 unit"):
        partition(cells, "w", k=10)
    two = lattice(4, 2, villages=lambda i, j: "small" if i == 0 else "big")
    with pytest.raises(PartitionError, match="village 'small' has only 2 unit"):
        partition(two, "w", k=3, per_village=True)
    with pytest.raises(PartitionError, match="cannot cover 2 villages"):
        partition(two, "w", k=1)
    assert isinstance(PartitionError("x"), ValueError)


def test_bad_inputs():
    cells = lattice(4, 4)
    with pytest.raises(MissingColumnError, match="weight"):
        partition(cells, "nope", k=2)
    cells.loc[3, "w"] = -1
    with pytest.raises(InvalidValueError, match="negative"):
        partition(cells, "w", k=2)
    cells.loc[3, "w"] = np.nan
    with pytest.raises(InvalidValueError, match="fillna"):
        partition(cells, "w", k=2)
    cells.loc[3, "w"] = 1
    with pytest.raises(PartitionError, match="only one of"):
        partition(cells, "w", k=2, target=3)
    with pytest.raises(PartitionError, match="how many grids"):
        partition(cells, "w")
    with pytest.raises(MissingColumnError, match="village_code"):
        partition(cells.drop(columns="village_code"), "w", k=2)
    with pytest.raises(MissingColumnError, match="road_m"):
        partition(cells, "w", k=2, road_weight=0.5)
    assert partition(cells.drop(columns="village_code"), "w", k=2, nest_by=None).report.k == 2


# ----------------------------------------------------------------- rebalancing
def test_rebalance_keeps_most_units():
    rng = np.random.default_rng(1)
    cells = lattice(20, 20, weights=rng.integers(1, 10, 400).astype(float))
    first = partition(cells, "w", k=8)
    changed = first.assignment.copy()
    changed["current"] = changed["grid_id"]
    heavy = changed.index[changed["grid_id"] == changed["grid_id"].iloc[0]][:10]
    changed.loc[heavy, "w"] += 15  # new entities in one grid
    changed.loc[5, "current"] = None  # a new unit with no grid yet
    again = quiet(partition, changed.drop(columns="grid_id"), "w", existing="current")
    check_hard_rules(cells, again, 8)
    r = again.report
    assert r.within_tolerance
    assert 0 < r.moved < 80 and r.kept + r.moved == 399
    assert set(again.grids["grid_id"]) == set(first.grids["grid_id"])  # ids are kept
    assert again.assignment["moved"].sum() == r.moved
    fresh = partition(changed.drop(columns=["grid_id", "current"]), "w", k=8)
    assert (fresh.assignment["grid_id"] != first.assignment["grid_id"]).sum() >= r.moved


def test_rebalance_to_more_grids():
    cells = lattice(10, 10)
    first = partition(cells, "w", k=4)
    cells["current"] = first.assignment["grid_id"]
    more = quiet(partition, cells, "w", existing="current", k=5)
    check_hard_rules(cells, more, 5)
    assert more.report.within_tolerance


# ----------------------------------------------------------------- properties
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(3, 8), st.integers(3, 8), st.integers(1, 12), st.integers(0, 10**6),
       st.booleans())
def test_property_hard_rules(nx_, ny, k, seed, two_villages):
    rng = np.random.default_rng(seed)
    n = nx_ * ny
    w = np.where(rng.random(n) < 0.3, 0, rng.pareto(1.5, n) * 5)
    villages = (lambda i, j: "a" if i < nx_ // 2 + 1 else "b") if two_villages else None
    cells = lattice(nx_, ny, villages=villages, weights=w)
    nv = cells["village_code"].nunique()
    k = max(k, nv)
    if k > n:
        with pytest.raises(PartitionError):
            partition(cells, "w", k=k, seed=seed)
        return
    result = quiet(partition, cells, "w", k=k, seed=seed)
    check_hard_rules(cells, result, k)
    assert result.grids["weight"].sum() == pytest.approx(w.sum())


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0, 1000), min_size=1, max_size=12), st.integers(1, 60))
def test_property_allocation(weights, extra):
    k = len(weights) + extra
    alloc = allocate(weights, k)
    assert alloc.sum() == k and (alloc >= 1).all()
    lr = largest_remainder(weights, k)
    assert lr.sum() == k and (lr >= 1).all()


# ----------------------------------------------------------------- shape measures
def test_shape_measures():
    g = gpd.GeoDataFrame(geometry=[Point(0, 0).buffer(100, 256), box(0, 0, 10, 10),
                                   box(0, 0, 100, 1), box(0, 0, 10, 10).difference(
                                       box(4, 4, 6, 6))], crs=3857)
    pp = polsby_popper(g)
    mi = inertia_index(g)
    assert pp.iloc[0] == pytest.approx(1, abs=1e-3) and mi.iloc[0] == pytest.approx(1, abs=1e-3)
    assert pp.iloc[1] == pytest.approx(np.pi / 4) and mi.iloc[1] == pytest.approx(3 / np.pi)
    assert pp.iloc[2] < 0.05 and mi.iloc[2] < 0.05
    # a hole lowers the index: J of the square minus J of the hole
    j = (10**4 / 6) - (2**4 / 6)
    assert mi.iloc[3] == pytest.approx(96**2 / (2 * np.pi * j))
    # geographic input is measured in metres
    geo = g.set_crs(3857, allow_override=True).to_crs(4326)
    assert np.allclose(inertia_index(geo), mi, rtol=1e-2)  # Mercator vs UTM scale


# ----------------------------------------------------------------- command line
def test_cli_writes_grids_and_assignment(units, tmp_path, capsys):
    import cli
    from gridkit import read_layer

    src = tmp_path / "units.gpkg"
    units.to_crs(4326).to_file(src, layer="units")
    out = tmp_path / "grids.gpkg"
    code = cli.main(["-q", "partition", "--units", f"{src}:units", "--weight",
                     "entities*2+households*0.1", "--grids", "8", "-o", str(out)])
    assert code == 0
    assert "8 grids" in capsys.readouterr().out
    grids = read_layer(out, layer="grids")
    assignment = read_layer(out, layer="assignment")
    assert len(grids) == 8 and grids.crs.to_epsg() == 4326
    assert len(assignment) == len(units) and assignment["grid_id"].isin(grids["grid_id"]).all()
    assert cli.main(["-q", "partition", "--units", f"{src}:units", "--weight", "entities",
                     "--grids", str(len(units) + 1), "-o", str(out)]) == 2
    assert "only" in capsys.readouterr().err


def test_messages_name_integer_unit_ids_as_plain_numbers():
    cells = gpd.GeoDataFrame(
        {"unit_id": np.arange(4, dtype="int64"), "w": [1, 1, 1, 100], "village_code": "v"},
        geometry=[box(i, 0, i + 1, 1) for i in range(4)], crs=32635)
    with pytest.warns(GridkitWarning) as record:
        result = partition(cells, "w", k=2)
    text = " ".join([str(w.message) for w in record] + result.report.warnings)
    assert "unit 3 weighs" in text and "np." not in text
