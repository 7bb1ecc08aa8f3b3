"""Exact pair recombination (gridkit.grids.core.exact.pair_polish) with per-grid windows."""

from __future__ import annotations

import numpy as np

from gridkit.grids.core.exact import cut_cost, pair_polish
from gridkit.grids.core.graph import Graph, components_per_label


def _lattice(nx_: int, ny: int) -> Graph:
    i = np.arange(nx_ * ny)
    x, y = i % nx_, i // nx_
    right, up = i[x + 1 < nx_], i[y + 1 < ny]
    eu, ev = np.r_[right, up], np.r_[right + 1, up + nx_]
    return Graph.from_edges(nx_ * ny, eu, ev, np.ones(len(eu)), np.ones(len(eu)))


def _zigzag(nx_: int, ny: int, shift: int) -> np.ndarray:
    i = np.arange(nx_ * ny)
    x, y = i % nx_, i // nx_
    return (x >= nx_ // 2 + np.where(y % 2 == 0, shift, -shift)).astype(np.int64)


def test_a_pair_too_light_for_its_window_is_re_split_without_more_excess():
    # two 6 x 8 halves (24 units each) whose window is [30, 34]: neither can
    # reach it; the re-split may shorten the border but keeps both at or below
    # 30 and neither lighter than the lighter one is now
    g = _lattice(6, 8)
    labels = _zigzag(6, 8, 1)
    w = np.ones(g.n)
    before = np.bincount(labels, weights=w)
    out = pair_polish(g, labels, w, np.array([30.0, 30.0]), np.array([34.0, 34.0]),
                      time_limit=20, node_limit=500, max_solves=4)
    after = np.bincount(out, weights=w)
    assert cut_cost(g, out) < cut_cost(g, labels)
    assert cut_cost(g, out) <= 8  # at least as short as the straight border down the 8 rows
    assert (after <= 30).all() and after.min() >= before.min()
    assert (components_per_label(g, out) == 1).all()


def test_a_pair_whose_windows_differ_is_left_alone():
    g = _lattice(6, 8)
    labels = _zigzag(6, 8, 1)
    w = np.ones(g.n)
    out = pair_polish(g, labels, w, np.array([20.0, 22.0]), np.array([28.0, 30.0]),
                      time_limit=20, node_limit=500, max_solves=4)
    assert (out == labels).all()
