"""Flow refinement (gridkit.grids.core.flows): minimum-cut borders between grid pairs."""

from __future__ import annotations

import warnings

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import gridkit as gk
import gridkit.grids.partition as partition_module
from gridkit.grids.core.exact import cut_cost
from gridkit.grids.core.flows import flow_refine
from gridkit.grids.core.graph import Graph, components_per_label
from tests.grids.test_partition import lattice


def _lattice_graph(nx_: int, ny: int, rng=None) -> Graph:
    i = np.arange(nx_ * ny)
    x, y = i % nx_, i // nx_
    right = i[x + 1 < nx_]
    up = i[y + 1 < ny]
    eu, ev = np.r_[right, up], np.r_[right + 1, up + nx_]
    cost = np.ones(len(eu)) if rng is None else rng.integers(1, 5, len(eu)).astype(float)
    return Graph.from_edges(nx_ * ny, eu, ev, cost, cost)


def test_a_zigzag_border_becomes_straight():
    # two 20 x 20 halves of a 40 x 20 lattice, the border zigzagging by 3 cells:
    # the minimum cut between them is the straight border, 20 edges long
    nx_, ny = 40, 20
    g = _lattice_graph(nx_, ny)
    i = np.arange(nx_ * ny)
    x, y = i % nx_, i // nx_
    shift = np.where((y // 2) % 2 == 0, 3, -3)
    labels = (x >= 20 + shift).astype(np.int64)
    w = np.ones(g.n)
    before = cut_cost(g, labels)
    out = flow_refine(g, labels, w, np.array([400.0, 400.0]), 0.02)
    assert before > 60
    assert cut_cost(g, out) == 20
    assert (np.bincount(out) == 400).all()
    assert (components_per_label(g, out) == 1).all()


def test_no_cut_outside_the_windows():
    # the same zigzag with a window of zero width on uneven halves: the straight
    # border would move weight, so nothing that changes a grid's weight is taken
    nx_, ny = 40, 20
    g = _lattice_graph(nx_, ny)
    i = np.arange(nx_ * ny)
    x, y = i % nx_, i // nx_
    labels = (x >= 20 + np.where((y // 2) % 2 == 0, 3, -3) + (y == 0)).astype(np.int64)
    w = np.ones(g.n)
    sizes = np.bincount(labels).astype(float)
    out = flow_refine(g, labels, w, sizes, 0.0)
    assert (np.bincount(out) == sizes).all()
    assert cut_cost(g, out) <= cut_cost(g, labels)


@settings(max_examples=25, deadline=None)
@given(nx_=st.integers(6, 24), ny=st.integers(6, 24), k=st.integers(2, 6),
       seed=st.integers(0, 10_000), tolerance=st.sampled_from([0.0, 0.02, 0.1]))
def test_property_never_worse_connected_inside_windows(nx_, ny, k, seed, tolerance):
    rng = np.random.default_rng(seed)
    g = _lattice_graph(nx_, ny, rng)
    # a connected start: strips of rows, then random moves would be needed for
    # zigzags; strips cut along random columns per row give ragged borders
    i = np.arange(g.n)
    x, y = i % nx_, i // nx_
    jitter = rng.integers(-2, 3, ny)[y]
    labels = np.clip((x + jitter) * k // nx_, 0, k - 1).astype(np.int64)
    if (components_per_label(g, labels) != 1).any() or len(np.unique(labels)) < k:
        labels = np.minimum(x * k // nx_, k - 1).astype(np.int64)
    w = rng.integers(0, 4, g.n).astype(float)
    W = np.bincount(labels, weights=w, minlength=k)
    target = np.full(k, W.mean())
    inside = np.abs(W - target) <= tolerance * target + 1e-9
    out = flow_refine(g, labels, w, target, tolerance)
    W2 = np.bincount(out, weights=w, minlength=k)
    assert cut_cost(g, out) <= cut_cost(g, labels) + 1e-9
    assert (components_per_label(g, out) == 1).all()
    assert len(np.unique(out)) == k
    # a grid inside its window stays inside; a grid outside it keeps its weight
    ok = np.abs(W2 - target) <= tolerance * target + 1e-9
    assert ok[inside].all()
    assert (np.isclose(W2[~inside], W[~inside]) | ok[~inside]).all()


def _lattice_cut(units, result) -> int:
    """Neighbouring cells in different grids."""
    grid = result.assignment.set_index("unit_id").loc[units["unit_id"], "grid_id"].to_numpy()
    nx_ = int(units["i"].max()) + 1
    g = grid.reshape(-1, nx_)
    return int((g[:, 1:] != g[:, :-1]).sum() + (g[1:] != g[:-1]).sum())


def test_partition_borders_with_flows_are_shorter(monkeypatch):
    # 12,100 lattice units, 12 grids of about 1,000 units: the partition with the
    # flow refinement draws shorter borders than without, under the same rules
    units = lattice(110, 110, weights=np.random.default_rng(3).integers(0, 5, 12100))

    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return gk.partition(units, "w", k=12, nest_by=None, tolerance=0.02, seed=0)

    with_flows = run()
    monkeypatch.setattr(partition_module, "_FLOW_MIN_UNITS", 10**9)
    without = run()
    for r in (with_flows, without):
        assert r.report.within_tolerance
        assert r.report.max_deviation <= 0.02 + 1e-9
        assert r.grids.geometry.geom_type.eq("Polygon").all()  # every grid in one piece
    assert _lattice_cut(units, with_flows) < _lattice_cut(units, without)
