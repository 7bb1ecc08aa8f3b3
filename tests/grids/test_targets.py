"""Grid targets: a heavy unit's grid must take the units only it connects to the rest."""

import warnings

import numpy as np
import pytest

from gridkit.errors import GridkitWarning
from gridkit.grids.core.graph import Graph
from gridkit.grids.core.targets import unit_floors
from gridkit.grids.partition import partition


def graph_of(n, edges):
    a, b = np.array(edges).T
    ones = np.ones(len(a))
    return Graph.from_edges(n, a, b, ones, ones)


def floors(n, edges, w, k, tolerance=0.02):
    parts = np.zeros(n, dtype=int)
    w = np.asarray(w, dtype=float)
    return unit_floors(graph_of(n, edges), parts, w, np.array([w.sum()]), np.array([k]),
                       tolerance)


def test_a_pocket_behind_a_heavy_unit_joins_its_floor():
    # unit 0 (weight 10) is the only way from the pocket {1, 2} to the chain 3..8
    edges = [(0, 1), (1, 2), (0, 3)] + [(i, i + 1) for i in range(3, 8)]
    w = [10, 1, 1, 2, 2, 2, 2, 2, 2]
    out = floors(9, edges, w, k=2)  # mean grid 12: the pocket (2) is too light for a grid
    assert out[0] == 12
    assert (out[1:] == w[1:]).all()


def test_a_pocket_with_a_second_way_out_or_a_grid_of_its_own_is_not_forced():
    w = [10, 1, 1, 2, 2, 2, 2, 2, 2]
    chain = [(0, 1), (1, 2), (0, 3)] + [(i, i + 1) for i in range(3, 8)]
    assert floors(9, chain + [(2, 3)], w, k=2)[0] == 10  # the pocket also touches 3
    # a pocket of 24 can hold a grid of its own (mean grid 23, window from 22.54)
    assert floors(9, chain, [10, 12, 12, 2, 2, 2, 2, 2, 2], k=2)[0] == 10
    # one of 18 cannot (mean grid 39, window from 38.22): it is forced, the chain of 40 not
    long_chain = [(0, 1), (1, 2), (0, 3)] + [(i, i + 1) for i in range(3, 10)]
    assert floors(11, long_chain, [20, 9, 9] + [5] * 8, k=2)[0] == 38


def test_sample_heavy_unit_with_its_enclosed_units_sets_its_grids_target(units, units_adjacency):
    """On the sample one unit weighs 1.9x the mean grid by workload and is the only
    way out for 53 others: its grid's target is all of them, and the other 19
    grids share the rest inside +-2% (before: all 19 below their windows)."""
    adj = units_adjacency
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridkitWarning)
        result = partition(units, "workload_min", k=20, adjacency=adj, nest_by=None,
                           road_weight=0.5, seed=0)
    grids = result.grids
    heavy = int(np.argmax(units["workload_min"].to_numpy()))
    heavy_grid = result.assignment["grid_id"].iloc[heavy]
    row = grids.set_index("grid_id").loc[heavy_grid]
    unit_w = float(units["workload_min"].iloc[heavy])
    assert row["target"] > 1.1 * unit_w  # more than the unit itself: the units it encloses
    others = grids[grids["grid_id"] != heavy_grid]
    share = (units["workload_min"].sum() - row["target"]) / 19
    assert others["target"].to_numpy() == pytest.approx(share)
    dev = (grids["weight"] / grids["target"] - 1).abs()
    assert (dev <= 0.02 + 1e-9).all()
    assert result.report.within_tolerance
    # the report says why that grid is heavier: the unit and what only it reaches
    assert any("with the units only it connects" in m for m in result.report.warnings)
    assert result.report.bound == pytest.approx(row["target"] / result.report.mean - 1)
