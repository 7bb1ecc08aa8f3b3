"""The shared network core: edge table, snapper, shortest paths."""

import networkx as nx
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Point

from gridkit.routing import network


def _line_graph(oneway=False):
    # 0 --100-- 1 --50-- 2, plus a longer parallel edge 0-1 and a self-loop at 2
    G = nx.MultiGraph()
    for i, x in enumerate((0.0, 100.0, 150.0)):
        G.add_node(i, x=x, y=0.0)
    G.add_edge(0, 1, key=0, edge_id=0, length=100.0, oneway=oneway, from_node=0, to_node=1)
    G.add_edge(1, 2, key=1, edge_id=1, length=50.0, oneway=oneway, from_node=1, to_node=2)
    G.add_edge(0, 1, key=2, edge_id=2, length=130.0)
    G.add_edge(2, 2, key=3, edge_id=3, length=5.0)
    return G


def test_edge_table_orients_from_from_node():
    G = nx.MultiGraph()
    G.add_node("a", x=0.0, y=0.0)
    G.add_node("b", x=10.0, y=0.0)
    geom = LineString([(0, 0), (10, 0)])
    G.add_edge("a", "b", length=10.0, from_node="b", to_node="a", oneway=True, geometry=geom)
    t = network.edge_table(G)
    assert t.nodes.tolist() == ["a", "b"]
    assert (t.u[0], t.v[0]) == (1, 0) and bool(t.turned[0]) and bool(t.oneway[0])
    assert shapely.get_coordinates(t.geom[0])[0].tolist() == [10.0, 0.0]
    assert t.edge_id is None and np.isnan(t.travel_time[0]) and t.times()[0] == 10.0


def test_edge_table_needs_coordinates_unless_told():
    G = nx.MultiGraph()
    G.add_edge(0, 1, edge_id=0, length=3.0)
    with pytest.raises(KeyError, match="'x' and 'y'"):
        network.edge_table(G)
    t = network.edge_table(G, need_xy=False)
    assert t.geom[0] is None and t.edge_id.tolist() == [0]


def test_arc_matrix_keeps_the_lightest_parallel_arc_and_respects_one_way():
    t = network.edge_table(_line_graph())
    arcs = network.arc_matrix(t)
    assert arcs.matrix[0, 1] == 100.0 and arcs.matrix[1, 0] == 100.0
    assert arcs.matrix[2, 2] == 0  # self-loops are left out
    assert network.shortest_paths(arcs.matrix, [2])[0].tolist() == [150.0, 50.0, 0.0]
    one = network.edge_table(_line_graph(oneway=True))
    d = network.shortest_paths(network.arc_matrix(one).matrix, [2])[0]
    assert d[2] == 0 and d[1] == np.inf  # 1 -> 2 is one-way; only 0-1 (id 2) is two-way
    back = network.shortest_paths(network.arc_matrix(one, reverse=True).matrix, [2])[0]
    assert back.tolist() == [150.0, 50.0, 0.0]


def test_virtual_starts_carry_their_access_cost():
    t = network.edge_table(_line_graph())
    arcs = network.arc_matrix(t, start_nodes=np.array([0, 2]), start_costs=np.array([30.0, 0.0]))
    dist, src = network.shortest_paths(arcs.matrix, arcs.starts, nearest=True)
    assert dist[:3] == pytest.approx([30.0, 50.0, 0.0], abs=1e-6)
    assert src[:3].tolist() == [arcs.starts[0], arcs.starts[1], arcs.starts[1]]


def test_snap_fast_and_geos_agree():
    t = network.edge_table(_line_graph())
    rng = np.random.default_rng(0)
    pts = shapely.points(rng.uniform([-20, -30], [170, 30], size=(200, 2)))
    fast = network.snap(pts, t)
    slow = network.snap(pts, t, fast=False)
    assert np.allclose(fast.dist, slow.dist)
    same = fast.edge == slow.edge  # the parallel edges 0-1 lie on top of each other
    assert same.mean() > 0.3
    assert np.allclose(fast.t[same], slow.t[same], atol=1e-9)
    far = network.snap(np.array([Point(75.0, 40.0)]), t, limit=10.0)
    assert far.edge.tolist() == [-1] and far.dist.tolist() == [np.inf]


def test_split_at_cuts_edges_and_keeps_lengths():
    t = network.edge_table(_line_graph())
    row = {int(e): i for i, e in enumerate(t.edge_id)}
    hosts = np.array([row[0], row[0], row[1], -1])
    split, node = network.split_at(t, hosts, np.array([0.25, 0.25, 1.0, 0.5]))
    assert node.tolist() == [3, 3, 2, -1]  # a new node; the same spot shares it; an edge end
    assert split.n_nodes == 4
    assert split.length.sum() == pytest.approx(t.length.sum())
    assert sorted(split.source.tolist()) == [0, 0, 1, 2, 3]


def test_main_edges_is_the_largest_part():
    G = _line_graph()
    G.add_node(7, x=0.0, y=500.0)
    G.add_node(8, x=10.0, y=500.0)
    G.add_edge(7, 8, key=9, edge_id=9, length=10.0)
    t = network.edge_table(G)
    assert network.main_edges(t).tolist() == [True] * 4 + [False]
    assert network.components(t).tolist() == [0, 0, 0, 1, 1]


def test_join_lines_skips_gaps_and_repeats():
    a = LineString([(0, 0), (1, 0)])
    b = LineString([(1, 0), (2, 0)])
    assert network.join_lines([a, None, b]).equals(LineString([(0, 0), (1, 0), (2, 0)]))
    assert network.join_lines([None]) is None
