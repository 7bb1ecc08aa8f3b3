import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, box

from gridkit import MissingColumnError, adjacency_lists, unit_adjacency


def _cells(boxes, crs=3857):
    return gpd.GeoDataFrame({"unit_id": list(range(len(boxes)))}, geometry=boxes, crs=crs)


def test_point_contact_is_not_adjacency():
    cells = _cells([box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 1, 3, 2)])
    adj = unit_adjacency(cells)
    assert adj[["unit_a", "unit_b"]].values.tolist() == [[0, 1]]
    assert adj["shared_m"].iloc[0] == pytest.approx(1.0)


def test_road_barrier_village_lengths():
    cells = _cells([box(0, 0, 10, 10), box(10, 0, 20, 10), box(0, 10, 10, 20)])
    roads = gpd.GeoDataFrame({"road_class": ["primary"]},
                             geometry=[LineString([(10, -5), (10, 4)])], crs=3857)
    barriers = gpd.GeoDataFrame(geometry=[LineString([(0, 10), (10, 10)])], crs=3857)
    villages = gpd.GeoDataFrame({"code": ["a", "b"]},
                                geometry=[box(0, 0, 10, 20), box(10, 0, 20, 10)], crs=3857)
    adj = unit_adjacency(cells, roads=roads, barriers=barriers, villages=villages).set_index(
        ["unit_a", "unit_b"])
    assert adj.loc[(0, 1), "shared_m"] == pytest.approx(10)
    assert adj.loc[(0, 1), "road_m"] == pytest.approx(4)
    assert adj.loc[(0, 1), "road_class"] == "primary"
    assert adj.loc[(0, 1), "village_m"] == pytest.approx(10)
    assert adj.loc[(0, 2), "barrier_m"] == pytest.approx(10)
    # a feature meeting the shared edge at a right angle adds nothing
    assert adj.loc[(0, 2), "road_m"] == 0 and adj.loc[(0, 2), "village_m"] == pytest.approx(0)


def test_road_crossing_a_shared_edge_counts_nothing():
    cells = _cells([box(0, 0, 10, 10), box(10, 0, 20, 10)])
    cross = gpd.GeoDataFrame(geometry=[LineString([(5, 5), (15, 5)])], crs=3857)
    along = gpd.GeoDataFrame(geometry=[LineString([(10.2, 2), (10.2, 7)])], crs=3857)
    assert unit_adjacency(cells, roads=cross)["road_m"].iloc[0] == pytest.approx(0, abs=1e-9)
    assert unit_adjacency(cells, roads=along)["road_m"].iloc[0] == pytest.approx(5)


def test_inexact_coverage_uses_boundary_intersection():
    # the right cell has no vertex where the two left cells meet: not a valid coverage
    cells = _cells([box(0, 0, 10, 5), box(0, 5, 10, 10), box(10, 0, 20, 10)])
    adj = unit_adjacency(cells).set_index(["unit_a", "unit_b"])["shared_m"]
    assert adj.to_dict() == {(0, 1): 10.0, (0, 2): 5.0, (1, 2): 5.0}


def test_geographic_input_measured_in_metres(sample):
    v = sample["villages"].reset_index().rename(columns={"index": "unit_id"})
    adj = unit_adjacency(v)
    metric = unit_adjacency(v.to_crs(32635))
    assert len(adj) == len(metric) >= 4
    assert np.allclose(adj["shared_m"], metric["shared_m"], rtol=1e-6)
    assert adj["shared_m"].min() > 50  # metres, not degrees


def test_missing_id_column():
    with pytest.raises(MissingColumnError, match="id_column"):
        unit_adjacency(_cells([box(0, 0, 1, 1)]).drop(columns="unit_id"))


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 7), st.integers(2, 7))
def test_lattice_adjacency_matches_rook(nx, ny):
    boxes = [box(i, j, i + 1, j + 1) for j in range(ny) for i in range(nx)]
    adj = unit_adjacency(_cells(boxes))
    assert len(adj) == nx * (ny - 1) + ny * (nx - 1)
    assert np.allclose(adj["shared_m"], 1.0)
    nbrs = adjacency_lists(adj, range(nx * ny))
    assert all(2 <= len(n) <= 4 for n in nbrs)
    # symmetric
    for i, n in enumerate(nbrs):
        for j in n:
            assert i in nbrs[j]


def test_tessellation_shared_length_sums_to_interior_boundary():
    pts = shapely.points(np.random.default_rng(1).uniform(0, 100, (40, 2)))
    cells = shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=box(0, 0, 100, 100))
    cells = [c.intersection(box(0, 0, 100, 100)) for c in shapely.get_parts(cells)]
    g = _cells(cells)
    adj = unit_adjacency(g)
    interior = (g.boundary.length.sum() - 400) / 2
    assert adj["shared_m"].sum() == pytest.approx(interior, rel=1e-6)
