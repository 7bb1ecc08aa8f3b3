"""Rural postman on real, fragmented street networks: coverage, walkability, honest bounds,
several persons."""

import itertools
import warnings

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from shapely.geometry import LineString, Point

from gridkit.errors import GridkitWarning, InvalidValueError
from gridkit.routing._kpostman import min_max_split
from gridkit.routing.postman import edges_by_grid, patrol_routes, postman_tour
from gridkit.routing.roadgraph import road_graph


@pytest.fixture(scope="module")
def demo_grids(_sample_layers):
    """The sample cut into grids the way the demo does it (units, then partition)."""
    from gridkit.grids.partition import partition
    from gridkit.units.adjacency import unit_adjacency
    from gridkit.units.build import build_units

    s = _sample_layers
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridkitWarning)
        res = build_units(s["roads"], s["jurisdiction"], villages=s["villages"],
                          buildings=s.get("buildings"), entities=s.get("entities"))
        units = res.units
        adj = unit_adjacency(units, roads=s["roads"], villages=s["villages"])
        grids = partition(units, "workload_min", k=20, adjacency=adj, road_weight=0.5).grids
    return grids


@pytest.fixture(scope="module")
def graph(_sample_layers):
    return road_graph(_sample_layers["roads"])


def _edges(G):
    return {d["edge_id"]: (u, v, d) for u, v, d in G.edges(data=True)}


def _check_walk(G, steps, start=None):
    """Consecutive, closed, and every step an edge of the network or a flagged connector
    between two network components that no street joins."""
    edges = _edges(G)
    comp = {x: i for i, c in enumerate(nx.connected_components(G)) for x in c}
    rows = steps.to_dict("records")
    for r1, r2 in zip(rows, rows[1:], strict=False):
        assert r1["to_node"] == r2["from_node"]
    assert rows[-1]["to_node"] == rows[0]["from_node"]
    if start is not None:
        assert rows[0]["from_node"] == start
    for r in rows:
        if r["connector"]:
            assert r["edge_id"] < 0 and r["deadhead"]
            assert comp[r["from_node"]] != comp[r["to_node"]]
        else:
            u, v, d = edges[r["edge_id"]]
            assert {r["from_node"], r["to_node"]} == {u, v}
            assert r["length_m"] == pytest.approx(d["length"])


def test_every_street_on_its_tour_closed_and_walkable(demo_grids, graph):
    grids = demo_grids.iloc[:6]
    res = patrol_routes(None, grids, graph=graph)
    owner = edges_by_grid(graph, grids, "grid_id")
    r = res.routes.set_index("grid_id")
    assert (r["unreachable_m"] == 0).all() and (r["person"] == 1).all()
    assert (r["components"] > 1).any()  # real grids fall into pieces
    for gid, walked in res.steps.groupby("grid_id"):
        want = set(owner.index[owner == gid])
        patrolled = walked.loc[~walked["deadhead"], "edge_id"]
        assert sorted(patrolled) == sorted(want)  # each street once, none left out
        _check_walk(graph, walked)
        row = r.loc[gid]
        assert walked["length_m"].sum() == pytest.approx(row["length_m"])
        assert walked.loc[walked["connector"], "length_m"].sum() == pytest.approx(
            row["connector_m"]
        )
        assert row["lower_bound_m"] <= row["length_m"] + 1e-6
        assert row["gap"] == pytest.approx(row["length_m"] / row["lower_bound_m"] - 1)


def test_pieces_no_street_joins_get_a_flagged_connector(graph, demo_grids):
    # the demo grids where the sample's network itself is in pieces (OSM: footways a few
    # metres short of the street)
    res = patrol_routes(None, demo_grids, graph=graph)
    with_conn = res.routes[res.routes["connector_m"] > 0]
    assert len(with_conn) > 0
    steps = res.steps[res.steps["grid_id"].isin(with_conn["grid_id"])]
    _check_walk(graph, steps[steps["grid_id"] == with_conn["grid_id"].iloc[0]])
    # every connector is a straight line as long as its geometry
    conn = steps[steps["connector"]].to_crs(graph.graph["crs"])
    assert np.allclose(conn.geometry.length, conn["length_m"], rtol=1e-6, atol=1e-3)
    assert "walking connectors" in " ".join(res.issues["message"])


def test_excluded_classes_are_left_off_and_reported(graph, demo_grids):
    grids = demo_grids.iloc[:4]
    classes = {d["road_class"] for _, _, d in graph.edges(data=True)} - {"footway", "service"}
    res = patrol_routes(None, grids, graph=graph, patrol_classes=sorted(classes))
    owner = edges_by_grid(graph, grids, "grid_id")
    edges = _edges(graph)
    for gid, row in res.routes.set_index("grid_id").iterrows():
        mine = owner.index[owner == gid]
        off = [e for e in mine if edges[e][2]["road_class"] in ("footway", "service")]
        assert row["excluded_m"] == pytest.approx(sum(edges[e][2]["length"] for e in off))
        walked = res.steps[(res.steps["grid_id"] == gid) & ~res.steps["deadhead"]]
        assert set(walked["edge_id"]) == set(mine) - set(off)
    with pytest.raises(InvalidValueError, match="patrol_classes"):
        patrol_routes(None, grids, graph=graph, patrol_classes=["no such class"])


def test_persons_cover_every_street_exactly_once(graph, demo_grids):
    grids = demo_grids.iloc[[0, 5]]
    one = patrol_routes(None, grids, graph=graph).routes.set_index("grid_id")
    res = patrol_routes(None, grids, graph=graph, persons=3)
    owner = edges_by_grid(graph, grids, "grid_id")
    for gid, rows in res.routes.groupby("grid_id"):
        assert sorted(rows["person"]) == [1, 2, 3]
        walked = res.steps[(res.steps["grid_id"] == gid) & ~res.steps["deadhead"]]
        assert sorted(walked["edge_id"]) == sorted(owner.index[owner == gid])
        starts = set()
        for _, mine in res.steps[res.steps["grid_id"] == gid].groupby("person"):
            _check_walk(graph, mine)
            starts.add(mine["from_node"].iloc[0])
        assert len(starts) == 1  # the same start for everyone
        longest = rows["length_m"].max()
        bound = rows["lower_bound_m"].iloc[0]
        assert bound >= one.loc[gid, "lower_bound_m"] / 3 - 1e-6
        assert longest >= bound - 1e-6
        assert rows["gap"].iloc[0] == pytest.approx(longest / bound - 1)
        assert rows["street_m"].sum() == pytest.approx(one.loc[gid, "street_m"])
        # sharing never makes a person walk more than the whole tour
        assert longest <= one.loc[gid, "length_m"] + 1e-6


# -- small cases: the optimum computed here, independently ---------------------------------


def _graph(edges, xy=None):
    G = nx.MultiGraph()
    for i, (a, b, w) in enumerate(edges):
        G.add_edge(a, b, key=i, edge_id=i, length=float(w), oneway=False, from_node=a,
                   to_node=b, travel_time=float(w), geometry=LineString([(a, 0), (b, 1)]))
    return G


def _brute_rpp(n, edges, required, depot=None):
    """Shortest closed walk over the required edges: every edge walked 0-2 extra times,
    all degrees even, the used edges connected (and through the depot)."""
    best = np.inf
    req = set(required)
    for extra in itertools.product(range(3), repeat=len(edges)):
        use = [1 if i in req else 0 for i in range(len(edges))]
        cnt = [a + b for a, b in zip(use, extra, strict=True)]
        if not any(cnt):
            continue
        deg = np.zeros(n, dtype=int)
        for (a, b, _), c in zip(edges, cnt, strict=True):
            deg[a] += c
            deg[b] += c
        if (deg % 2).any() or (depot is not None and deg[depot] == 0):
            continue
        on = [i for i, c in enumerate(cnt) if c]
        M = coo_matrix((np.ones(len(on)), ([edges[i][0] for i in on], [edges[i][1] for i in on])),
                       shape=(n, n))
        _, label = connected_components(M, directed=False)
        if len(set(label[np.flatnonzero(deg)])) > 1:
            continue
        best = min(best, sum(edges[i][2] * c for i, c in enumerate(cnt)))
    return best


@st.composite
def rural_cases(draw):
    n = draw(st.integers(4, 6))
    edges = [(i, i + 1, draw(st.integers(1, 9))) for i in range(n - 1)]
    extra = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1),
                                    st.integers(1, 9)), max_size=7 - (n - 1)))
    edges += [(a, b, w) for a, b, w in extra if a != b]
    required = draw(st.lists(st.integers(0, len(edges) - 1), min_size=1, unique=True))
    depot = draw(st.one_of(st.none(), st.integers(0, n - 1)))
    return n, edges, sorted(required), depot


@settings(max_examples=60, deadline=None)
@given(rural_cases())
def test_rural_tour_is_optimal_and_bound_honest_against_brute_force(case):
    n, edges, required, depot = case
    G = _graph(edges)
    tour = postman_tour(G, edges=required, start=depot)
    opt = _brute_rpp(n, edges, required, depot)
    assert tour.lower_bound_m <= opt + 1e-6
    assert tour.length_m == pytest.approx(opt)
    walked = [s[0] for s in tour.steps if not s[3]]
    assert sorted(walked) == sorted(required)
    for s1, s2 in zip(tour.steps, tour.steps[1:] + tour.steps[:1], strict=True):
        assert s1[2] == s2[1]
    if depot is not None:
        assert tour.steps[0][1] == depot


def test_time_limited_bound_stays_below_the_optimum(graph, demo_grids):
    owner = edges_by_grid(graph, demo_grids, "grid_id")
    gid = demo_grids["grid_id"].iloc[5]
    req = owner.index[owner == gid]
    exact = postman_tour(graph, req, time_limit=30)
    assert exact.optimal
    for limit in (1e-3, 0.05):
        quick = postman_tour(graph, req, time_limit=limit)
        assert quick.lower_bound_m <= exact.length_m + 1e-6
        assert quick.length_m >= exact.length_m - 1e-6


# -- the split into persons ----------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 20), st.integers(0, 20), st.integers(1, 15)),
                min_size=1, max_size=7),
       st.integers(1, 4))
def test_min_max_split_matches_brute_force(seq, k):
    sc = np.array([a for a, _, _ in seq], float)
    ec = np.array([b for _, b, _ in seq], float)
    lens = np.array([w for _, _, w in seq], float)
    after = np.cumsum(lens)
    before = after - lens
    q = len(seq)

    def cost(p, r):
        return sc[p] + after[r] - before[p] + ec[r]

    best = np.inf  # one piece per person (fewer only when there are fewer streets)
    for cuts in itertools.combinations(range(1, q), min(k, q) - 1):
        bounds = [0, *cuts, q]
        best = min(best, max(cost(a, b - 1) for a, b in itertools.pairwise(bounds)))
    got = min_max_split(sc, ec, before, after, k)
    assert len(got) == min(k, q) and got[0][0] == 0 and got[-1][1] == q - 1
    assert all(b + 1 == c for (_, b), (c, _) in itertools.pairwise(got))
    assert max(cost(p, r) for p, r in got) == pytest.approx(best)


@pytest.mark.parametrize(("seed", "persons"), [(s, 2) for s in range(4)]
                         + [(s, 3) for s in range(4, 8)])
def test_persons_bound_never_exceeds_the_min_max_optimum(seed, persons):
    from gridkit.routing.persons import split_tour

    rng = np.random.default_rng(seed)
    n = 6
    edges = [(i, i + 1, int(rng.integers(1, 9))) for i in range(n - 1)]
    edges += [(int(a), int(b), int(rng.integers(1, 9)))
              for a, b in rng.integers(0, n, size=(3, 2)) if a != b]
    required = sorted(rng.choice(len(edges), size=min(len(edges), persons + 2),
                                 replace=False).tolist())
    G = _graph(edges)
    tour = postman_tour(G, edges=required, start=0)
    shared = split_tour(G, tour, persons, start=0)
    # the optimum by brute force: every way to give the streets to the persons
    cache = {}

    def route(sub):
        if not sub:
            return 0.0
        if sub not in cache:
            cache[sub] = _brute_rpp(n, edges, list(sub), depot=0)
        return cache[sub]

    opt = min(max(route(tuple(r for r, m in zip(required, who, strict=True) if m == p))
                  for p in range(persons))
              for who in itertools.product(range(persons), repeat=len(required)))
    assert shared.bound <= opt + 1e-6 <= shared.longest_m + 2e-6
    walked = sorted(s[0] for r in shared.routes for s in r.steps if not s[3])
    assert walked == required
    for r in shared.routes:
        assert r.steps[0][1] == 0 and r.steps[-1][2] == 0


@pytest.mark.parametrize(("seed", "persons"), [(s, 2) for s in range(8, 13)]
                         + [(s, 3) for s in range(13, 16)])
def test_far_pieces_bound_never_exceeds_the_min_max_optimum(seed, persons):
    """The bound for far pieces (one person alone, or a second trip out), computed for every
    set of far pieces (floor 0), against the brute-force min-max optimum."""
    from scipy.sparse.csgraph import dijkstra

    from gridkit.routing._postman_core import _sparse
    from gridkit.routing._visits import far_bound, visits_bound

    rng = np.random.default_rng(seed)
    n = 7
    edges = [(i, i + 1, int(rng.integers(1, 9))) for i in range(n - 1)]
    edges += [(int(a), int(b), int(rng.integers(1, 9)))
              for a, b in rng.integers(0, n, size=(2, 2)) if a != b]
    required = sorted(rng.choice(np.arange(1, len(edges)), size=persons + 1,
                                 replace=False).tolist())
    u, v, w = (np.array(c) for c in zip(*edges, strict=True))
    d0 = dijkstra(_sparse(n, u, v, w), indices=0)
    cache = {}

    def route(sub):
        if not sub:
            return 0.0
        if sub not in cache:
            cache[sub] = _brute_rpp(n, edges, list(sub), depot=0)
        return cache[sub]

    def longest(who):
        return max(route(tuple(r for r, m in zip(required, who, strict=True) if m == p))
                   for p in range(persons))

    whos = list(itertools.product(range(persons), repeat=len(required)))
    opt = min(longest(who) for who in whos)
    got = far_bound(n, u, v, w, required, depot=0, persons=persons, d0=d0, floor=0.0)
    assert got <= opt + 1e-6
    # the second trip: a lower bound on every total where two persons walk the far street
    far = required[-1]
    if 0 not in edges[far][:2]:
        inside = np.array(required) == far
        total = visits_bound(n, u, v, w, required, depot=0, persons=persons, inside=inside)
        rest = required[:-1]
        # every person walks (with at least as many streets as persons, an optimum of
        # the longest route never needs to leave one idle)
        both = min(sum(route(tuple(sorted([r for r, m in zip(rest, who, strict=True) if m == p]
                                          + ([far] if p < 2 else []))))
                       for p in range(persons))
                   for who in itertools.product(range(persons), repeat=len(rest))
                   if set(range(2, persons)) <= set(who))
        assert route((far,)) * 2 <= both  # both persons walk out to it
        assert total <= both + 1e-6


def test_far_pieces_bound_counts_the_second_trip():
    """A grid whose far, wide piece no single person can patrol within the shared total:
    the bound sees that two persons walk out there, the total / N does not."""
    from scipy.sparse.csgraph import dijkstra

    from gridkit.routing._postman_core import _sparse
    from gridkit.routing._rural_ip import shared_bound
    from gridkit.routing._visits import far_bound
    from gridkit.routing.persons import split_tour

    # near: a loop at the start; far, 30 m out: a ladder of 12 short streets
    edges = [(0, 1, 3), (1, 2, 3), (2, 0, 3), (0, 3, 30)]
    ladder = [(3, 4, 2), (4, 5, 2), (5, 6, 2), (6, 7, 2), (7, 8, 2),
              (8, 9, 2), (9, 10, 2), (10, 11, 2), (11, 3, 2), (4, 9, 2), (5, 10, 2),
              (6, 11, 2)]
    edges += ladder
    required = [0, 1, 2] + list(range(4, 4 + len(ladder)))
    G = _graph(edges)
    tour = postman_tour(G, edges=required, start=0)
    shared = split_tour(G, tour, 2, start=0)
    u, v, w = (np.array(c, dtype=float if i == 2 else int)
               for i, c in enumerate(zip(*edges, strict=True)))
    d0 = dijkstra(_sparse(len(G), u, v, w), indices=0)
    total = shared_bound(len(G), u, v, w, required, depot=0, persons=2) / 2
    far = far_bound(len(G), u, v, w, required, depot=0, persons=2, d0=d0, floor=total)
    assert far > total + 1  # the second trip out: 2 x 30 m more in all
    assert far <= shared.bound + 1e-9 <= shared.longest_m + 1e-6


def test_persons_start_at_the_base_point_or_the_central_street_node(graph, demo_grids):
    from gridkit.routing.persons import central_node

    grid = demo_grids.iloc[[2]]
    gid = grid["grid_id"].iloc[0]
    owner = edges_by_grid(graph, grid, "grid_id")
    mine = owner.index[owner == gid]
    res = patrol_routes(None, grid, graph=graph, persons=2)
    assert set(res.steps.groupby("person")["from_node"].first()) == {
        central_node(graph, mine)
    }
    # a base point: everyone starts at the grid's street node nearest to it
    base = grid.to_crs(graph.graph["crs"]).geometry.iloc[0].exterior.coords[0]
    pt = gpd.GeoSeries([Point(base)], crs=graph.graph["crs"]).to_crs(grid.crs).iloc[0]
    res = patrol_routes(None, grid, graph=graph, persons=2, start=pt)
    ends = {x for e in mine for x in _edges(graph)[e][:2]}
    d = {x: np.hypot(graph.nodes[x]["x"] - base[0], graph.nodes[x]["y"] - base[1]) for x in ends}
    assert set(res.steps.groupby("person")["from_node"].first()) == {min(d, key=d.get)}


def test_counting_bound_is_the_optimum_on_a_star_of_far_streets():
    from gridkit.routing.persons import split_tour

    # four streets of 2 m at the ends of 10 m spokes: with 3 persons one walks two of them
    edges = [(0, 1, 10), (1, 2, 2), (0, 3, 10), (3, 4, 2), (0, 5, 10), (5, 6, 2),
             (0, 7, 10), (7, 8, 2)]
    G = _graph(edges)
    tour = postman_tour(G, edges=[1, 3, 5, 7], start=0)
    shared = split_tour(G, tour, 3, start=0)
    # total / 3 = 32 and the farthest round trip = 24 are weaker than the truth: 48
    assert shared.bound == pytest.approx(48)
    assert shared.longest_m == pytest.approx(48)


# -- one-way streets in pieces: the directed/mixed rural programme against brute force -----


def _brute_directed(n, arcs, required):
    """Shortest closed walk over the required streets on arcs ``(a, b, w, street)``: every
    arc 0-2 times, in = out everywhere, each required street once in a direction it
    allows, the used arcs one piece."""
    best = np.inf
    for cnt in itertools.product(range(3), repeat=len(arcs)):
        if any(not any(c for c, (*_, e) in zip(cnt, arcs, strict=True) if e == r)
               for r in required):
            continue
        bal = np.zeros(n, dtype=int)
        for c, (a, b, _, _) in zip(cnt, arcs, strict=True):
            bal[a] += c
            bal[b] -= c
        if bal.any():
            continue
        on = [i for i, c in enumerate(cnt) if c]
        M = coo_matrix((np.ones(len(on)), ([arcs[i][0] for i in on], [arcs[i][1] for i in on])),
                       shape=(n, n))
        _, label = connected_components(M, directed=False)
        ends = {label[a] for a, b, _, e in arcs if e in required}
        if len(ends) > 1:
            continue
        best = min(best, sum(c * a[2] for c, a in zip(cnt, arcs, strict=True)))
    return best


@pytest.mark.parametrize("seed", range(16))
def test_one_way_streets_in_pieces_optimal_against_brute_force(seed):
    rng = np.random.default_rng(100 + seed)
    n = 5
    # a one-way ring keeps the network strongly connected; two-way chords beside it
    edges = [(i, (i + 1) % n, int(rng.integers(1, 9)), True) for i in range(n)]
    edges += [(0, 2, int(rng.integers(1, 9)), False), (1, 3, int(rng.integers(1, 9)), False)]
    G = nx.MultiGraph()
    for i, (a, b, w, one) in enumerate(edges):
        G.add_edge(a, b, key=i, edge_id=i, length=float(w), oneway=one, from_node=a,
                   to_node=b, travel_time=float(w), geometry=LineString([(a, 0), (b, 1)]))
    required = [[0, 2], [1, 3, 5], [0, 3], [1, 3]][seed % 4]  # in pieces
    arcs = [(a, b, w, i) for i, (a, b, w, _) in enumerate(edges)]
    arcs += [(b, a, w, i) for i, (a, b, w, one) in enumerate(edges) if not one]
    opt = _brute_directed(n, arcs, set(required))
    tour = postman_tour(G, edges=required, time_limit=10)
    assert tour.method.startswith("rural/")
    assert tour.lower_bound_m <= opt + 1e-6
    assert tour.length_m == pytest.approx(opt)
    assert tour.optimal
    assert sorted(s[0] for s in tour.steps if not s[3]) == sorted(required)
    for s1, s2 in zip(tour.steps, tour.steps[1:] + tour.steps[:1], strict=True):
        assert s1[2] == s2[1]
    for e, a, b, _ in tour.steps:  # one-way streets only forward
        if edges[e][3]:
            assert (a, b) == edges[e][:2]


def test_one_way_grid_tour_walkable_and_bound_below_it(_sample_layers, demo_grids):
    G = road_graph(_sample_layers["roads"], mode="drive")
    owner = edges_by_grid(G, demo_grids, "grid_id")
    edges = _edges(G)
    for gid in demo_grids["grid_id"].iloc[:2]:
        req = owner.index[owner == gid]
        tours = [postman_tour(G, req, time_limit=t) for t in (2.5, 6.0)]
        for tour in tours:
            assert tour.method.startswith("rural/") and tour.components > 1
            # the bound of each time limit stays below both tours (no tour beats a bound)
            assert max(t.lower_bound_m for t in tours) <= tour.length_m + 1e-6
            kept = set(req) - set(tour.unreachable)
            assert {s[0] for s in tour.steps if not s[3]} == kept
            for s1, s2 in zip(tour.steps, tour.steps[1:] + tour.steps[:1], strict=True):
                assert s1[2] == s2[1]
            for e, a, b, _ in tour.steps:
                u, v, d = edges[e]
                assert {a, b} == {u, v}
                if d["oneway"]:
                    assert (a, b) == (d["from_node"], d["to_node"])
