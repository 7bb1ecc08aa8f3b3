import geopandas as gpd
import geopandas.testing
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString

from gridkit.errors import InvalidValueError
from gridkit.routing.roadgraph import graph_edges, road_graph

CRS = 32635  # metric


def _roads(lines, **cols):
    return gpd.GeoDataFrame(cols, geometry=lines, crs=CRS)


def test_crossing_is_a_junction():
    G = road_graph(_roads([LineString([(0, 0), (100, 0)]), LineString([(50, -50), (50, 50)])]))
    assert G.number_of_edges() == 4
    assert max(dict(G.degree()).values()) == 4
    assert sum(d["length"] for _, _, d in G.edges(data=True)) == pytest.approx(200)


def test_bridge_crossing_is_not_a_junction():
    roads = _roads(
        [LineString([(0, 0), (100, 0)]), LineString([(50, -50), (50, 50)])], bridge=["no", "yes"]
    )
    G = road_graph(roads)
    assert G.number_of_edges() == 2
    assert G.graph["report"].level_crossings == 1
    assert len(G.graph["report"].components) == 2
    assert road_graph(roads, respect_bridges=False).number_of_edges() == 4


def test_bridge_end_joins_the_road_it_lands_on():
    roads = _roads(
        [LineString([(0, 0), (100, 0)]), LineString([(50, 0), (50, 80)])], bridge=["no", "yes"]
    )
    G = road_graph(roads)
    assert G.number_of_edges() == 3 and len(G.graph["report"].components) == 1


def test_near_miss_is_snapped_and_far_miss_reported():
    near = _roads([LineString([(0, 0), (100, 0)]), LineString([(50, 0.6), (50, 50)])])
    G = road_graph(near, snap_tolerance=1.0)
    assert len(G.graph["report"].components) == 1 and G.graph["report"].snapped >= 1
    far = _roads([LineString([(0, 0), (100, 0)]), LineString([(50, 5), (50, 50)])])
    G = road_graph(far, snap_tolerance=1.0)
    rep = G.graph["report"]
    assert len(rep.components) == 2
    assert rep.unreachable.index.tolist() == [1]
    assert rep.unreachable["length_m"].iloc[0] == pytest.approx(45)
    assert "cannot be reached" in rep.summary


def test_drive_mode_oneway_and_classes():
    roads = _roads(
        [
            LineString([(0, 0), (100, 0)]),
            LineString([(100, 0), (100, 100)]),
            LineString([(0, 0), (0, 100)]),
        ],
        road_class=["residential", "residential", "footway"],
        oneway=["yes", "-1", "no"],
    )
    G = road_graph(roads, mode="drive")
    assert G.number_of_edges() == 2
    e = {d["road_index"]: d for _, _, d in G.edges(data=True)}
    assert e[0]["oneway"] and e[1]["oneway"]
    n0 = e[1]["from_node"]
    assert (G.nodes[n0]["x"], G.nodes[n0]["y"]) == pytest.approx((100, 100))
    assert e[0]["travel_time"] == pytest.approx(100 / (20 / 3.6))
    walk = road_graph(roads)
    assert walk.number_of_edges() == 3
    assert not any(d["oneway"] for _, _, d in walk.edges(data=True))


def test_sample_graph_in_metres_and_input_untouched(sample):
    roads = sample["roads"]
    before = roads.copy()
    G = road_graph(roads)
    gpd.testing.assert_geodataframe_equal(roads, before)
    edges = graph_edges(G)
    total = roads.to_crs(32635).length.sum()
    assert edges["length"].sum() == pytest.approx(total, rel=0.01)
    assert G.graph["crs"].to_epsg() == 32635
    rep = G.graph["report"]
    assert rep.components["length_m"].iloc[0] > 0.9 * total
    assert rep.level_crossings > 0  # tunnels and bridges in central Helsinki


def test_speeds_validation():
    roads = _roads([LineString([(0, 0), (10, 0)])])
    with pytest.raises(InvalidValueError, match="speeds"):
        road_graph(roads, speeds=-1)
    with pytest.raises(InvalidValueError, match="mode"):
        road_graph(roads, mode="fly")
    G = road_graph(roads, speeds={"default": 3.6})
    assert next(iter(G.edges(data=True)))[2]["travel_time"] == pytest.approx(10)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(*[st.integers(0, 50)] * 4).filter(lambda t: (t[0], t[1]) != (t[2], t[3])),
        min_size=1,
        max_size=8,
    )
)
def test_noding_keeps_length_and_ends_on_nodes(segments):
    """Property: splitting never changes the total length; every edge ends on its nodes."""
    lines = [LineString([(a * 10, b * 10), (c * 10, d * 10)]) for a, b, c, d in segments]
    G = road_graph(_roads(lines), snap_tolerance=0.0)
    total = sum(d["length"] for _, _, d in G.edges(data=True))
    assert total == pytest.approx(sum(g.length for g in lines), rel=1e-9, abs=1e-6)
    for _, _, d in G.edges(data=True):
        start, end = d["geometry"].coords[0], d["geometry"].coords[-1]
        a, b = G.nodes[d["from_node"]], G.nodes[d["to_node"]]
        assert start == pytest.approx((a["x"], a["y"])) and end == pytest.approx((b["x"], b["y"]))
