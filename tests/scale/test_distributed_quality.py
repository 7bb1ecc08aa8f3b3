"""Distributed = local: partition_distributed as good as partition on the same units (#16)."""

from __future__ import annotations

import warnings

import pytest

import gridkit as gk
from gridkit.errors import GridkitWarning
from gridkit.scale.pipeline import partition_distributed


@pytest.fixture(scope="module")
def sample_units():
    s = gk.load_sample()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridkitWarning)
        res = gk.build_units(s["roads"], s["jurisdiction"], villages=s["villages"],
                             barriers=s["barriers"], buildings=s["buildings"],
                             entities=s["entities"], max_workload=500)
    adjacency = gk.unit_adjacency(res.units, roads=s["roads"], villages=s["villages"])
    return res.units, adjacency


@pytest.mark.parametrize("by", ["village", "town"])
# the README's units: split to 500 min, under a quarter of a grid's work
def test_same_quality_with_the_same_options(sample_units, by):
    units, adjacency = sample_units
    kw = dict(k=20, adjacency=adjacency, road_weight=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridkitWarning)
        local = gk.partition(units, "workload_min", **kw)
        dist = partition_distributed(units, "workload_min", by=by, scheduler="synchronous", **kw)
    assert len(dist.grids) == len(local.grids) == 20
    assert dist.grids["contiguous"].all()
    if by == "town":  # the sample is one town: one task, the same search as in one process
        assert abs(dist.report.max_deviation - local.report.max_deviation) <= 0.005
    else:  # one task per village: each searched on its own, within the same tolerance
        assert max(dist.report.max_deviation, local.report.max_deviation) <= 0.02
    # and borders along roads as often (the tasks got the adjacency with road lengths)
    assert local.report.road_share > 0.3
    assert dist.report.road_share >= local.report.road_share - 0.05
    # every unit in one grid of its own village
    merged = dist.assignment[["unit_id", "grid_id"]].merge(units[["unit_id", "village_code"]],
                                                          on="unit_id")
    assert len(merged) == len(units)
    assert (merged["grid_id"].str[:12] == merged["village_code"]).all()
