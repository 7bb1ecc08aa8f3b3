"""Network reach: exact distances on hand-made graphs, the sample, edge cases, properties."""

from __future__ import annotations

import warnings

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point, box

import cli
from gridkit import GridkitWarning, network_reach, road_graph
from gridkit.errors import InvalidValueError
from gridkit.reach.reach import REACH_STATUSES, share_by_area

CRS = "EPSG:32635"


def line_graph(oneway: bool = False) -> nx.MultiGraph:
    """0 --100-- 1 --100-- 2 on y=0, and a separate piece 3 --100-- 4 at y=500."""
    G = nx.MultiGraph(crs=CRS)
    for i, (x, y) in enumerate([(0, 0), (100, 0), (200, 0), (0, 500), (100, 500)]):
        G.add_node(i, x=x, y=y)
    G.add_edge(0, 1, length=100.0, oneway=oneway, from_node=0, to_node=1)
    G.add_edge(1, 2, length=100.0, oneway=oneway, from_node=1, to_node=2)
    G.add_edge(3, 4, length=100.0)
    return G


def pts(*xy, **cols) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(cols, geometry=[Point(x, y) for x, y in xy], crs=CRS)


@pytest.fixture(scope="module")
def graph(sample_layers):
    return road_graph(sample_layers["roads"])


@pytest.fixture(scope="module")
def pharmacies(sample_layers):
    e = sample_layers["entities"]
    return e[e["category"] == "pharmacy"]


# --- exact arithmetic on hand-made graphs -------------------------------------------------


def test_snaps_inside_edges_and_adds_access_legs():
    fac = pts((50, 5), name=["a"])
    p = pts((150, 10), (60, -3))
    r = network_reach(p, fac, line_graph(), max_distance=150)
    # (150,10): 10 m to the street, 100 m along it to x=50, 5 m to the facility
    assert r.points["snap_m"].tolist() == pytest.approx([10.0, 3.0])
    assert r.points["network_m"].tolist() == pytest.approx([105.0, 15.0])
    assert r.points["distance_m"].tolist() == pytest.approx([115.0, 18.0])
    assert r.points["status"].tolist() == ["reached", "reached"]


def test_two_facilities_on_one_edge_split_it():
    fac = pts((20, 0), (80, 0), name=["a", "b"])
    p = pts((45, 0), (60, 0), (190, 0))
    r = network_reach(p, fac, line_graph(), max_distance=1000)
    assert r.points["facility"].tolist() == [0, 1, 1]
    assert r.points["distance_m"].tolist() == pytest.approx([25.0, 20.0, 110.0])


def test_unreachable_component_and_off_network_point():
    fac = pts((50, 0))
    p = pts((50, 505), (1000, 1000), (150, 0))
    with pytest.warns(GridkitWarning, match="off_network"):
        r = network_reach(p, fac, line_graph(), max_distance=60)
    assert r.points["status"].tolist() == ["unreachable", "off_network", "out_of_reach"]
    assert r.points["facility"].isna().tolist() == [True, True, False]
    assert len(r.uncovered) == 3
    assert r.points.loc[1, "snap_m"] != r.points.loc[1, "snap_m"]  # NaN: not assigned


def test_facility_off_network_is_left_out_and_reported():
    fac = pts((50, 0), (5000, 5000), name=["on", "off"])
    p = pts((100, 0))
    with pytest.warns(GridkitWarning, match="facilit"):
        r = network_reach(p, fac, line_graph(), max_distance=100, facility_id="name")
    assert r.facilities["status"].tolist() == ["ok", "off_network"]
    assert r.points["facility"].tolist() == ["on"]
    assert r.facilities["points_within"].tolist() == [1, 0]


def test_one_way_streets_respect_direction():
    fac = pts((0, 0))
    p = pts((200, 0))
    # travel from the point to the facility runs against 0->1->2: impossible
    r = network_reach(p, fac, line_graph(oneway=True), max_distance=1000)
    assert r.points["status"].tolist() == ["unreachable"]
    r = network_reach(p, fac, line_graph(oneway=True), max_distance=1000, direction="from_facility")
    assert r.points["distance_m"].tolist() == pytest.approx([200.0])


def test_minutes_and_budget_in_minutes():
    fac, p = pts((0, 0)), pts((200, 0))
    r = network_reach(p, fac, line_graph(), max_minutes=2, speed_kmh=5)  # 2 min at 5 km/h = 166.7 m
    assert r.max_distance == pytest.approx(166.6667, rel=1e-4)
    assert r.points["minutes"].iloc[0] == pytest.approx(200 / (5000 / 60))
    assert r.points["status"].iloc[0] == "out_of_reach"


@pytest.mark.parametrize(
    "kw, match",
    [
        ({}, "max_distance"),
        ({"max_distance": -5}, "positive"),
        ({"max_minutes": 5}, "speed_kmh"),
        ({"max_distance": 100, "direction": "both"}, "direction"),
        ({"max_distance": 100, "facility_id": "nope"}, "facility_id"),
    ],
)
def test_bad_options_name_the_parameter(kw, match):
    with pytest.raises(InvalidValueError, match=match):
        network_reach(pts((0, 0)), pts((0, 0)), line_graph(), **kw)


def test_service_areas_follow_reached_streets():
    fac = pts((50, 5))
    r = network_reach(pts((150, 10)), fac, line_graph(), max_distance=150, area_width=1)
    area = r.service_areas
    assert len(area) == 1
    # 145 m of budget after the 5 m access leg: 50 m to the left end, 145 m to the right
    assert area["street_m"].iloc[0] == pytest.approx(195.0)
    assert area.geometry.iloc[0].contains(Point(195.5, 0))
    assert not area.geometry.iloc[0].contains(Point(197, 0))


def test_share_by_area_counts_and_weights():
    areas = gpd.GeoDataFrame(
        {"code": ["a", "b"]}, geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10)], crs=CRS
    )
    p = pts((1, 1), (2, 2), (15, 5), within_reach=[True, False, True], households=[3, 1, 0])
    out = share_by_area(p, areas, id_column="code", weight_column="households")
    assert out["points"].tolist() == [2, 1]
    assert out["share"].tolist() == pytest.approx([0.5, 1.0])
    assert out["households_share"].tolist()[0] == pytest.approx(0.75)
    assert np.isnan(out["households_share"].tolist()[1])


# --- the real sample ----------------------------------------------------------------------


def test_sample_pharmacies(sample_layers, graph, pharmacies):
    b = sample_layers["buildings"]
    before = b.copy()
    r = network_reach(b, pharmacies, graph, max_distance=500, villages=sample_layers["villages"])
    pd.testing.assert_frame_equal(pd.DataFrame(b), pd.DataFrame(before))  # not mutated
    p = r.points
    assert set(p["status"]) <= set(REACH_STATUSES)
    assert len(p) == len(b) and p.index.equals(b.index)
    # the walking network of the extract has pieces no pharmacy can reach
    assert (p["status"] == "unreachable").any()
    reached = p[p["within_reach"]]
    assert (reached["distance_m"] <= 500 + 1e-6).all()
    # along the streets is never shorter than the straight line to the same facility
    fac = pharmacies.loc[p["facility"].dropna().to_numpy()]
    straight = shapely.distance(
        p.loc[p["facility"].notna()].geometry.to_numpy(), fac.geometry.to_numpy()
    )
    assert (p.loc[p["facility"].notna(), "distance_m"].to_numpy() >= straight - 1e-6).all()
    # and the straight line to the *nearest* facility is no longer than that
    assert (p["euclidean_m"] <= p["distance_m"].fillna(np.inf) + 1e-6).all()
    by_v = r.by_village
    assert by_v["points"].sum() == len(p)
    assert by_v["reached"].sum() == p["within_reach"].sum()
    assert r.facilities["points_within"].sum() == p["within_reach"].sum()


def test_sample_disconnected_component_and_far_facility(sample_layers, graph, pharmacies):
    """A road piece away from the network with a building on it; a facility 2 km out."""
    roads = sample_layers["roads"]
    x0, y0, x1, y1 = roads.total_bounds
    island = gpd.GeoDataFrame(
        {"road_class": ["residential"]},
        geometry=[LineString([(x1 + 300, y0), (x1 + 300, y0 + 200)])],
        crs=roads.crs,
    )
    roads2 = pd.concat([roads, island], ignore_index=True)
    b = sample_layers["buildings"]
    extra = gpd.GeoDataFrame({"households": [10]}, geometry=[Point(x1 + 310, y0 + 100)], crs=b.crs)
    b2 = pd.concat([b, extra], ignore_index=True)
    far = gpd.GeoDataFrame({"name": ["far"]}, geometry=[Point(x1 + 2000, y1 + 2000)], crs=b.crs)
    fac = pd.concat([pharmacies[["geometry"]], far], ignore_index=True)
    with pytest.warns(GridkitWarning, match="facilit"):
        r = network_reach(b2, fac, roads2, max_distance=500)
    assert r.points["status"].iloc[-1] == "unreachable"
    assert r.facilities["status"].iloc[-1] == "off_network"
    assert (r.facilities["status"].iloc[:-1] == "ok").all()


def test_cli_reach(sample_file, tmp_path, capsys):
    s = str(sample_file)
    out = tmp_path / "reach.gpkg"
    # the file is written, then --min-share fails the check: exit code 1
    code = cli.main(
        [
            "reach",
            "--facilities",
            f"{s}:entities",
            "--where",
            "category=pharmacy",
            "--roads",
            f"{s}:roads",
            "--buildings",
            f"{s}:buildings",
            "--villages",
            f"{s}:villages",
            "--max-distance",
            "500",
            "--min-share",
            "0.99",
            "-o",
            str(out),
        ]
    )
    assert code == 1
    text = capsys.readouterr()
    assert "within 500 m" in text.out and "per village" in text.out
    assert "--min-share" in text.err
    import pyogrio

    names = {n for n, _ in pyogrio.list_layers(out)}
    assert {"points", "facilities", "service_areas", "uncovered", "by_village"} <= names
    pts_back = gpd.read_file(out, layer="points")
    assert pts_back.crs.to_epsg() == 4326  # back in the input CRS
    assert set(pts_back["status"]) <= set(REACH_STATUSES)


def test_cli_reach_needs_a_budget(sample_file, tmp_path):
    s = str(sample_file)
    code = cli.main(
        [
            "reach",
            "--facilities",
            f"{s}:entities",
            "--roads",
            f"{s}:roads",
            "--entities",
            f"{s}:entities",
            "-o",
            str(tmp_path / "x.gpkg"),
        ]
    )
    assert code == 2


# --- properties -----------------------------------------------------------------------------


@st.composite
def grid_case(draw):
    n = draw(st.integers(3, 5))
    keep = draw(st.lists(st.booleans(), min_size=2 * n * (n - 1), max_size=2 * n * (n - 1)))
    G = nx.MultiGraph(crs=CRS)
    for i in range(n):
        for j in range(n):
            G.add_node((i, j), x=100.0 * i, y=100.0 * j)
    k = 0
    for i in range(n):
        for j in range(n):
            for di, dj in ((1, 0), (0, 1)):
                if i + di < n and j + dj < n:
                    if keep[k]:
                        G.add_edge((i, j), (i + di, j + dj), length=100.0)
                    k += 1
    nodes = list(G.nodes)
    fac = draw(st.lists(st.sampled_from(nodes), min_size=1, max_size=3, unique=True))
    dem = draw(st.lists(st.sampled_from(nodes), min_size=1, max_size=6, unique=True))
    return G, fac, dem


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grid_case())
def test_distances_match_networkx_at_nodes(case):
    G, fac, dem = case
    if G.number_of_edges() == 0:
        return
    isolated = {n for n in G.nodes if G.degree(n) == 0}
    f = pts(*[(100.0 * i, 100.0 * j) for i, j in fac])
    p = pts(*[(100.0 * i, 100.0 * j) for i, j in dem])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridkitWarning)
        r = network_reach(p, f, G, max_distance=250, snap_limit=1.0, service_areas=False)
    usable = [n for n in fac if n not in isolated]
    expected = nx.multi_source_dijkstra_path_length(G, usable, weight="length") if usable else {}
    for node, (_, row) in zip(dem, r.points.iterrows(), strict=True):
        if node in isolated:
            assert row["status"] == "off_network"
        elif node in expected:
            assert row["distance_m"] == pytest.approx(expected[node], abs=1e-6)
            assert row["within_reach"] == (expected[node] <= 250 + 1e-9)
        else:
            assert row["status"] == "unreachable"


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.tuples(st.floats(-50, 250), st.floats(-40, 40)), min_size=1, max_size=8),
    st.floats(0, 200),
)
def test_network_never_shorter_than_straight_line(xy, fx):
    f = pts((fx, 0.0))
    p = pts(*xy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridkitWarning)  # points beyond the snap limit
        r = network_reach(p, f, line_graph(), max_distance=100, snap_limit=60)
    got = r.points[r.points["distance_m"].notna()]
    straight = got.geometry.distance(Point(fx, 0.0))
    assert (got["distance_m"] >= straight - 1e-6).all()
    # and equal to it plus nothing more when the point sits on the street
    on = got[np.isclose(got.geometry.y, 0.0)]
    assert np.allclose(on["distance_m"], on.geometry.distance(Point(fx, 0.0)), atol=1e-6)


def test_graph_without_crs_uses_metric_points():
    G = line_graph()
    del G.graph["crs"]
    r = network_reach(pts((150, 0)), pts((0, 0)), G, max_distance=1000)
    assert r.points["distance_m"].iloc[0] == pytest.approx(150.0)
    with pytest.raises(ValueError, match="CRS"):
        network_reach(pts((150, 0)).to_crs(4326), pts((0, 0)).to_crs(4326), G, max_distance=10)


def test_result_in_input_crs(sample):
    s = sample
    ph = s["entities"][s["entities"]["category"] == "pharmacy"]
    r = network_reach(s["buildings"].head(50), ph, s["roads"], max_distance=300)
    assert r.points.crs == s["buildings"].crs
    assert r.service_areas.crs == s["buildings"].crs
    assert shapely.equals(
        r.points.geometry.to_numpy(), s["buildings"].head(50).geometry.to_numpy()
    ).all()


def test_demo_step_writes_reach_and_skips_without_input(sample_layers, tmp_path):
    from gridkit.cli.commands._demo import DemoContext
    from gridkit.cli.commands.reach import demo_step
    from gridkit.layers import Layers

    ctx = DemoContext(layers=sample_layers, outdir=tmp_path)
    demo_step(ctx)
    assert (tmp_path / "reach.gpkg").exists() and (tmp_path / "reach_map.html").exists()
    assert ctx.results["reach"].points["status"].isin(REACH_STATUSES).all()
    assert "pharmacies" in ctx.summary[-1] and "straight-line" in ctx.summary[-1]
    bare = Layers(
        crs=sample_layers.crs,
        input_crs=sample_layers.input_crs,
        layers={"roads": sample_layers["roads"]},
    )
    ctx2 = DemoContext(layers=bare, outdir=tmp_path / "b")
    demo_step(ctx2)
    assert ctx2.summary[-1].startswith("reach: skipped") and "reach" not in ctx2.results
