import itertools

import geopandas as gpd
import geopandas.testing
import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, box

from gridkit.routing._postman_core import min_t_join
from gridkit.routing.postman import patrol_routes, postman_tour
from gridkit.routing.roadgraph import road_graph


def _graph(edges, oneway=()):
    G = nx.MultiGraph()
    for i, (a, b, w) in enumerate(edges):
        G.add_edge(
            a,
            b,
            key=i,
            edge_id=i,
            length=float(w),
            oneway=i in oneway,
            from_node=a,
            to_node=b,
            travel_time=float(w),
            geometry=LineString([(a, 0), (b, 1)]),
        )
    return G


def _check_tour(G, tour, required=None, closed=True):
    req = set(d["edge_id"] for _, _, d in G.edges(data=True)) if required is None else set(required)
    assert req <= {s[0] for s in tour.steps}
    for (_e1, _a1, b1, _), (_e2, a2, _b2, _) in zip(tour.steps, tour.steps[1:], strict=False):
        assert b1 == a2
    if closed:
        assert tour.steps[-1][2] == tour.steps[0][1]
    w = {d["edge_id"]: d["length"] for _, _, d in G.edges(data=True)}
    assert sum(w[s[0]] for s in tour.steps) == pytest.approx(tour.length_m)


def _brute_tjoin(edges, T):
    best = np.inf
    for r in range(len(edges) + 1):
        for sub in itertools.combinations(range(len(edges)), r):
            deg = {}
            for i in sub:
                a, b, _ = edges[i]
                deg[a] = deg.get(a, 0) + 1
                deg[b] = deg.get(b, 0) + 1
            if {x for x, d in deg.items() if d % 2} == set(T):
                best = min(best, sum(edges[i][2] for i in sub))
    return best


@st.composite
def small_graphs(draw, max_nodes=6, max_edges=9):
    n = draw(st.integers(3, max_nodes))
    # a spanning path keeps it connected, then random extra edges
    edges = [(i, i + 1, draw(st.integers(1, 20))) for i in range(n - 1)]
    extra = draw(
        st.lists(
            st.tuples(st.integers(0, n - 1), st.integers(0, n - 1), st.integers(1, 20)),
            max_size=max_edges - (n - 1),
        )
    )
    edges += [(a, b, w) for a, b, w in extra if a != b]
    return n, edges


@settings(max_examples=40, deadline=None)
@given(small_graphs())
def test_t_join_matches_brute_force(g):
    n, edges = g
    u, v, w = (np.array(x) for x in zip(*edges, strict=False))
    deg = np.bincount(np.concatenate([u, v]), minlength=n)
    T = np.flatnonzero(deg % 2)
    got = min_t_join(n, u, v, w, T)
    assert w[got].sum() == pytest.approx(_brute_tjoin(edges, T))
    d = np.bincount(np.concatenate([u[got], v[got]]), minlength=n)
    assert set(np.flatnonzero(d % 2)) == set(T)


def _cpp_by_networkx(G):
    """Reference: street length + max_weight_matching on shortest-path distances of odd nodes."""
    simple = nx.Graph()
    for a, b, d in G.edges(data=True):
        if a != b and (not simple.has_edge(a, b) or simple[a][b]["weight"] > d["length"]):
            simple.add_edge(a, b, weight=d["length"])
    odd = [x for x in G if G.degree(x) % 2]
    dist = dict(nx.all_pairs_dijkstra_path_length(simple))
    K = nx.Graph()
    for a, b in itertools.combinations(odd, 2):
        K.add_edge(a, b, weight=-dist[a][b])
    m = nx.max_weight_matching(K, maxcardinality=True)
    return sum(d["length"] for _, _, d in G.edges(data=True)) + sum(dist[a][b] for a, b in m)


@pytest.mark.parametrize("seed", range(5))
def test_undirected_tour_is_optimal_against_networkx(seed):
    rng = np.random.default_rng(seed)
    base = nx.gnm_random_graph(40, 70, seed=seed)
    base = base.subgraph(max(nx.connected_components(base), key=len))
    mapping = {x: i for i, x in enumerate(base)}
    edges = [(mapping[a], mapping[b], float(rng.integers(1, 100))) for a, b in base.edges]
    G = _graph(edges)
    tour = postman_tour(G)
    _check_tour(G, tour)
    assert tour.method == "undirected"
    assert tour.length_m == pytest.approx(_cpp_by_networkx(G))
    assert tour.lower_bound_m == pytest.approx(tour.length_m)


def test_textbook_example():
    # a triangle with a tail: the tail is walked twice
    G = _graph([(0, 1, 1), (1, 2, 1), (2, 0, 1), (2, 3, 2)])
    tour = postman_tour(G, start=0)
    assert (tour.length_m, tour.deadhead_m) == (7.0, 2.0)
    assert tour.steps[0][1] == 0
    _check_tour(G, tour)


def test_directed_postman_min_cost_flow():
    # one-way square 0->1->2->3->0 plus one-way diagonal 0->2: 2->3->0 must be repeated
    G = _graph([(0, 1, 1), (1, 2, 1), (2, 3, 1), (3, 0, 1), (0, 2, 1)], oneway={0, 1, 2, 3, 4})
    tour = postman_tour(G)
    assert tour.method == "directed"
    assert tour.length_m == pytest.approx(7)
    _check_tour(G, tour)
    for e, a, b, _ in tour.steps:  # every traversal follows the one-way direction
        assert (a, b) == (
            G.edges[next((u, v, k) for u, v, k in G.edges(keys=True) if k == e)]["from_node"],
            G.edges[next((u, v, k) for u, v, k in G.edges(keys=True) if k == e)]["to_node"],
        )


def test_mixed_postman():
    # one-way 0->1, two-way 1-2 and 2-0: the cycle 0->1->2->0 is enough
    G = _graph([(0, 1, 5), (1, 2, 1), (2, 0, 1)], oneway={0})
    tour = postman_tour(G)
    assert tour.method == "mixed" and tour.length_m == pytest.approx(7)
    # one-way 0->1 with only the two-way 0-1 back: that street is walked twice
    G = _graph([(0, 1, 5), (0, 1, 3)], oneway={0})
    tour = postman_tour(G)
    assert tour.length_m == pytest.approx(8)
    _check_tour(G, tour)


def test_rural_postman_bridges_components_and_reports_gap():
    # required: two triangles joined only through the non-required path 2-3-4 (lengths 5)
    edges = [(0, 1, 1), (1, 2, 1), (2, 0, 1), (4, 5, 1), (5, 6, 1), (6, 4, 1), (2, 3, 5), (3, 4, 5)]
    G = _graph(edges)
    tour = postman_tour(G, edges=[0, 1, 2, 3, 4, 5])
    assert tour.method == "rural/undirected" and tour.components == 2
    assert tour.length_m == pytest.approx(26)
    # the integer programme proves it: the path 2-3-4 is walked there and back
    assert tour.lower_bound_m == pytest.approx(26) and tour.optimal
    _check_tour(G, tour, required=range(6))


def test_open_route():
    G = _graph([(0, 1, 1), (1, 2, 1), (2, 3, 1)])
    tour = postman_tour(G, start=0, end=3)
    assert tour.length_m == 3 and tour.steps[0][1] == 0 and tour.steps[-1][2] == 3


def test_unreachable_required_streets_are_reported():
    G = _graph([(0, 1, 1), (1, 2, 1), (2, 0, 1), (5, 6, 1)])
    tour = postman_tour(G)
    assert tour.unreachable == [3] and tour.length_m == 3


def test_patrol_routes_on_sample(sample):
    roads, villages = sample["roads"], sample["villages"]
    grids = villages.rename(columns={"code": "grid_id"}).iloc[[0, 3]]
    before = grids.copy()
    G = road_graph(roads)
    res = patrol_routes(None, grids, graph=G)
    gpd.testing.assert_geodataframe_equal(grids, before)
    r = res.routes
    assert list(r["grid_id"]) == list(grids["grid_id"])
    assert r.crs == grids.crs
    assert (r["length_m"] >= r["street_m"]).all() and (r["gap"] >= -1e-9).all()
    assert np.allclose(r["deadhead_m"], r["length_m"] - r["street_m"])
    # every street segment whose midpoint is in the grid is walked (or reported unreachable)
    steps = res.steps
    for gid, row in r.set_index("grid_id").iterrows():
        walked = steps.loc[steps["grid_id"] == gid]
        assert walked.loc[~walked["deadhead"], "length_m"].sum() == pytest.approx(row["street_m"])
        assert walked["length_m"].sum() == pytest.approx(row["length_m"])
        assert walked["seq"].tolist() == list(range(len(walked)))
    assert set(res.issues["issue"]) <= {"unreachable", "disconnected", "no_streets", "no_tour"}


def test_grid_without_streets():
    roads = gpd.GeoDataFrame(
        geometry=[LineString([(0, 0), (100, 0)]), LineString([(100, 0), (100, 100)])], crs=32635
    )
    grids = gpd.GeoDataFrame(
        {"grid_id": ["a", "b"]},
        geometry=[box(-10, -10, 110, 110), box(500, 500, 600, 600)],
        crs=32635,
    )
    res = patrol_routes(roads, grids)
    assert res.routes.set_index("grid_id").loc["a", "length_m"] == pytest.approx(
        400
    )  # out and back
    assert res.issues["issue"].tolist() == ["no_streets"]


def test_grid_with_separate_street_pieces_is_reported():
    # two streets inside the grid, joined only by a street outside it
    roads = gpd.GeoDataFrame(
        geometry=[
            LineString([(0, 0), (100, 0)]),
            LineString([(0, 300), (100, 300)]),
            LineString([(100, 0), (400, 0), (400, 300), (100, 300)]),
        ],
        crs=32635,
    )
    grid = gpd.GeoDataFrame({"grid_id": ["g"]}, geometry=[box(-10, -10, 150, 310)], crs=32635)
    res = patrol_routes(roads, grid)
    row = res.routes.iloc[0]
    assert row["components"] == 2 and row["method"] == "rural/undirected"
    assert row["street_m"] == pytest.approx(200)
    assert row["length_m"] == pytest.approx(200 + 2 * 900 + 2 * 100)  # via the outside street
    assert row["lower_bound_m"] == pytest.approx(row["length_m"])  # proven optimal
    assert "separate pieces" in res.issues["message"].iloc[0]


def test_one_way_dead_end_is_reported_when_driving():
    # a one-way loop plus a one-way spur that cannot be left
    roads = gpd.GeoDataFrame(
        {"oneway": ["yes", "yes", "yes", "yes"], "road_class": "residential"},
        geometry=[
            LineString([(0, 0), (100, 0)]),
            LineString([(100, 0), (100, 100)]),
            LineString([(100, 100), (0, 0)]),
            LineString([(100, 100), (200, 200)]),
        ],
        crs=32635,
    )
    grid = gpd.GeoDataFrame({"grid_id": ["g"]}, geometry=[box(-10, -10, 300, 300)], crs=32635)
    res = patrol_routes(roads, grid, mode="drive")
    row = res.routes.iloc[0]
    assert row["method"] == "directed"
    assert row["unreachable_m"] == pytest.approx(100 * 2**0.5)
    assert row["length_m"] == pytest.approx(200 + 100 * 2**0.5)
    assert res.issues["issue"].tolist() == ["unreachable"]
