import itertools

import geopandas.testing
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point

from gridkit.routing._tsp import solve_tsp, tour_cost
from gridkit.routing.roadgraph import road_graph
from gridkit.routing.visits import visit_route


def _brute(D):
    n = len(D)
    best = np.inf
    for perm in itertools.permutations(range(1, n)):
        best = min(best, tour_cost(D, np.array((0,) + perm)))
    return best


@settings(max_examples=25, deadline=None)
@given(st.integers(4, 7), st.integers(0, 10_000), st.booleans())
def test_tsp_matches_brute_force_on_tiny(n, seed, symmetric):
    rng = np.random.default_rng(seed)
    D = rng.integers(1, 100, size=(n, n)).astype(float)
    if symmetric:
        D = (D + D.T) / 2
    np.fill_diagonal(D, 0)
    tour = solve_tsp(D, time_limit=0.05, seed=seed)
    assert tour[0] == 0 and sorted(tour) == list(range(n))
    assert tour_cost(D, tour) == pytest.approx(_brute(D))


def test_tsp_beats_nearest_neighbour_on_random_points():
    rng = np.random.default_rng(3)
    P = rng.random((120, 2))
    D = np.hypot(*(P[:, None] - P[None]).transpose(2, 0, 1))
    from gridkit.routing._tsp import nearest_neighbour

    t = solve_tsp(D, time_limit=0.3)
    assert tour_cost(D, t) < tour_cost(D, nearest_neighbour(D))


@pytest.fixture(scope="module")
def sample_graph(_sample_layers):
    return road_graph(_sample_layers["roads"])


def test_visit_route_on_sample(sample, sample_graph):
    ents = sample["entities"].iloc[::40].copy()
    ents["minutes_per_visit"] = 12.0
    before = ents.copy()
    r = visit_route(ents, graph=sample_graph, time_limit=0.2)
    geopandas.testing.assert_geodataframe_equal(ents, before)
    s = r.stops
    assert sorted(s["entity_id"]) == sorted(ents["entity_id"])
    assert s["order"].tolist() == list(range(1, len(ents) + 1))
    assert (np.diff(s["arrival_min"]) > 0).all()
    assert r.service_min == pytest.approx(12 * len(ents))
    assert r.legs["minutes"].sum() == pytest.approx(r.travel_min)
    assert r.legs["length_m"].sum() == pytest.approx(r.length_m)
    # walking at 5 km/h: minutes and metres agree
    assert r.length_m == pytest.approx(r.travel_min * 5000 / 60, rel=1e-6)
    # the network is never shorter than the straight line
    m = s.to_crs(32635).geometry
    straight = sum(a.distance(b) for a, b in zip(m.iloc[:-1], m.iloc[1:], strict=False))
    assert r.length_m >= straight
    assert r.stops.crs == ents.crs and r.legs.crs == ents.crs


def test_visit_route_from_a_base_point(sample, sample_graph):
    ents = sample["entities"].iloc[:8]
    base = Point(24.94, 60.17)
    r = visit_route(
        ents, graph=sample_graph, base=base, minutes_column=None, default_minutes=5, time_limit=0.1
    )
    first = r.legs.iloc[0]
    assert first["from_stop"] == 0 and r.legs.iloc[-1]["to_stop"] == 0
    assert r.service_min == 40


def test_visit_route_needs_roads(sample):
    with pytest.raises(ValueError, match="roads"):
        visit_route(sample["entities"].iloc[:3])


def test_bad_minutes_are_refused(sample, sample_graph):
    ents = sample["entities"].iloc[:3].assign(minutes_per_visit=[1, -2, 3])
    with pytest.raises(ValueError, match="minutes_per_visit"):
        visit_route(ents, graph=sample_graph)


def _snapshot(G):
    """Everything a graph holds, by identity (a cache written into it would show)."""
    return (
        {k: id(v) for k, v in G.graph.items()},
        [(n, {k: id(v) for k, v in d.items()}) for n, d in G.nodes(data=True)],
        [
            (u, v, k, {a: id(x) for a, x in d.items()})
            for u, v, k, d in G.edges(keys=True, data=True)
        ],
    )


def test_visit_route_leaves_the_graph_alone(sample):
    G = road_graph(sample["roads"])
    before = _snapshot(G)
    graph_before = dict(G.graph)
    visit_route(sample["entities"].iloc[:12], graph=G, time_limit=0.0)
    visit_route(sample["entities"].iloc[::60], graph=G, base=Point(24.94, 60.17), time_limit=0.0)
    assert G.graph == graph_before
    assert _snapshot(G) == before
