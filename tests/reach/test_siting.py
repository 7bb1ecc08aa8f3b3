"""Siting: LSCP/MCLP over network coverage, reductions, greedy, the sample."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse import csr_matrix
from shapely.geometry import Point

from gridkit import network_reach, road_graph, site_facilities
from gridkit.errors import InvalidValueError
from gridkit.reach import _siting as sit
from gridkit.reach.siting import SITING_STATUSES

CRS = "EPSG:32635"
# spopt builds its pulp variables the way pulp 3.3 deprecates; not ours to fix
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pulp.*")


def street(n: int = 11, step: float = 100.0) -> nx.MultiGraph:
    """A straight street of n nodes, 100 m apart, plus an unconnected piece far away."""
    G = nx.MultiGraph(crs=CRS)
    for i in range(n):
        G.add_node(i, x=step * i, y=0.0)
    for i in range(n - 1):
        G.add_edge(i, i + 1, length=step)
    G.add_node("a", x=0.0, y=5000.0)
    G.add_node("b", x=100.0, y=5000.0)
    G.add_edge("a", "b", length=100.0)
    return G


def pts(xs, y=0.0, **cols):
    return gpd.GeoDataFrame(cols, geometry=[Point(x, y) for x in xs], crs=CRS)


def red_from(rows: list[list[int]], n_cols: int, weight=None) -> sit.Reduced:
    data = [(i, j) for i, r in enumerate(rows) for j in r]
    A = csr_matrix(
        (np.ones(len(data), dtype=bool), ([d[0] for d in data], [d[1] for d in data])),
        shape=(len(rows), n_cols),
    )
    w = np.ones(len(rows)) if weight is None else np.asarray(weight, dtype=float)
    return sit.reduce_rows(A, w)


def test_lscp_on_a_street_is_optimal():
    # demand every 50 m over 1 km; reach 100 m: a site covers 5 points (200 m) -> 5 sites
    demand = pts(np.arange(0, 1001, 50))
    r = site_facilities(demand, street(), max_distance=100)
    assert r.problem == "LSCP" and r.optimal and r.gap == 0
    assert len(r.sites) == 5 == r.objective
    assert sorted(r.sites.geometry.x) == [100, 300, 500, 700, 900]
    assert (r.demand["status"] == "covered").all()
    # every covered point really is within 100 m of its site along the street
    check = network_reach(demand, r.sites, street(), max_distance=100)
    assert check.points["within_reach"].all()


def test_mclp_takes_the_heaviest_stretch():
    demand = pts([0, 50, 100, 800, 850, 900, 950], households=[1, 1, 1, 5, 5, 5, 5])
    r = site_facilities(demand, street(), max_distance=100, p=1)
    assert r.problem == "MCLP" and r.optimal
    assert r.objective == 20
    assert r.sites["covers_weight"].tolist() == [20.0]
    assert r.demand["status"].tolist()[:3] == ["not_covered"] * 3


def test_uncoverable_off_network_and_existing():
    demand = pts([0, 500, 1000]).pipe(
        lambda d: pd.concat([d, pts([50], y=5000.0), pts([3000], y=3000.0)], ignore_index=True)
    )
    existing = pts([0])
    cand = pts([500, 1000])  # none on the far piece
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = site_facilities(demand, street(), max_distance=100, candidates=cand, existing=existing)
    assert r.demand["status"].tolist() == [
        "covered_existing",
        "covered",
        "covered",
        "uncoverable",
        "off_network",
    ]
    assert set(r.demand["status"]) <= set(SITING_STATUSES)
    assert len(r.sites) == 2


def test_greedy_trap_exact_beats_greedy():
    # X={0,1,2}, Y={3,4,5}, Z={0,1,3,4}: greedy takes Z then X and Y (3); optimum X+Y (2)
    rows = [[0, 2], [0, 2], [0], [1, 2], [1, 2], [1]]
    red = red_from(rows, 3)
    assert len(sit.greedy(red, p=None)) == 3
    solved = sit.solve(red, p=None)
    assert solved.optimal and sorted(solved.chosen.tolist()) == [0, 1]


def test_reductions_keep_the_optimum():
    rows = [[0, 1], [0, 1], [1, 2], [2], [3]]
    red = red_from(rows, 5, weight=[1, 2, 3, 4, 5])
    assert red.A.shape[0] == 4 and red.weight.tolist() == [3, 3, 4, 5]
    cols = sit.reduce_cols(red)
    # site 4 covers nothing, site 0 is inside site 1
    assert cols.cols.tolist() == [1, 2, 3]


@settings(max_examples=15, deadline=None)
@given(
    st.lists(
        st.lists(st.integers(0, 5), min_size=1, max_size=3, unique=True), min_size=1, max_size=12
    ),
    st.integers(1, 3),
)
def test_exact_at_least_as_good_as_greedy_and_reductions_exact(rows, p):
    red = red_from(rows, 6, weight=np.arange(1, len(rows) + 1))
    small = sit.reduce_cols(red)
    full = sit.solve(red, p=None)
    reduced = sit.solve(small, p=None)
    assert full.objective == reduced.objective <= len(sit.greedy(red, p=None))
    m_full = sit.solve(red, p=p)
    m_red = sit.solve(small, p=p) if p < small.A.shape[1] else m_full
    assert m_full.objective == pytest.approx(m_red.objective)
    g = sit.greedy(red, p=p)
    covered = np.asarray(red.A[:, g].sum(axis=1)).ravel() > 0
    assert m_full.objective >= red.weight[covered].sum() - 1e-9


def test_sparse_builder_matches_spopt_builder(monkeypatch):
    rows = [[0, 1], [1, 2], [2, 3], [3, 4], [0, 4], [2]]
    red = red_from(rows, 5, weight=[3, 1, 4, 1, 5, 9])
    dense = sit.solve(red, p=2)
    assert dense.builder == "spopt"
    monkeypatch.setattr(sit, "DENSE_LIMIT", 0)
    sparse = sit.solve(red, p=2)
    assert sparse.builder == "sparse"
    assert dense.objective == sparse.objective
    assert sit.solve(red, p=None).objective == 3


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"max_distance": 0}, "max_distance"),
        ({"max_distance": 100, "p": 0}, "`p`"),
        ({"max_distance": 100, "method": "best"}, "method"),
    ],
)
def test_bad_options(kw, match):
    with pytest.raises(InvalidValueError, match=match):
        site_facilities(pts([0]), street(), **kw)


def test_sample_lscp_and_mclp(sample_layers):
    b = sample_layers["buildings"]
    b0 = b.copy()
    G = road_graph(sample_layers["roads"])
    # candidates: every 8th road node, to keep the test short
    nodes = list(G.nodes)[::8]
    cand = gpd.GeoDataFrame(
        {"node": nodes},
        geometry=[Point(G.nodes[n]["x"], G.nodes[n]["y"]) for n in nodes],
        crs=G.graph["crs"],
    )
    lscp = site_facilities(b, G, max_distance=400, candidates=cand)
    pd.testing.assert_frame_equal(pd.DataFrame(b), pd.DataFrame(b0))
    assert lscp.optimal or np.isfinite(lscp.gap)
    covered = lscp.demand["status"] == "covered"
    assert covered.sum() + (lscp.demand["status"] == "uncoverable").sum() == len(b)
    check = network_reach(b[covered], lscp.sites, G, max_distance=400, service_areas=False)
    assert check.points["within_reach"].all()
    greedy = site_facilities(b, G, max_distance=400, candidates=cand, method="greedy")
    assert len(greedy.sites) >= len(lscp.sites)
    mclp = site_facilities(b, G, max_distance=400, candidates=cand, p=3)
    assert len(mclp.sites) == 3
    hh = b.loc[mclp.demand["status"] == "covered", "households"].sum()
    assert hh == pytest.approx(mclp.objective)
    assert mclp.sites["covers_weight"].sum() >= hh  # overlaps count for each site


def test_cli_reach_new_sites(sample_file, tmp_path, capfd):
    import cli

    s = str(sample_file)
    out = tmp_path / "r.gpkg"
    args = [
        "reach",
        "--facilities",
        f"{s}:entities",
        "--where",
        "category=pharmacy",
        "--roads",
        f"{s}:roads",
        "--buildings",
        f"{s}:buildings",
        "--max-distance",
        "400",
        "-o",
        str(out),
    ]
    assert cli.main([*args, "--new-sites", "2"]) == 0
    text = capfd.readouterr().out  # fd level: the HiGHS banner would show here
    assert "new sites: MCLP" in text and "Running HiGHS" not in text
    sites = gpd.read_file(out, layer="new_sites")
    assert len(sites) == 2 and sites.crs.to_epsg() == 4326
    assert cli.main([*args, "--new-sites", "many"]) == 2
