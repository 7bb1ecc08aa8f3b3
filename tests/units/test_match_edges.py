"""match_edges: no vertex a hair from a neighbour's edge that the neighbour lacks."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import Polygon, box

from gridkit.coverage.validate import validate_coverage
from gridkit.units.noding import MATCH_DISTANCE, match_edges


def _report(polys):
    gdf = gpd.GeoDataFrame({"unit_id": np.arange(len(polys))}, geometry=polys, crs=4547)
    return validate_coverage(gdf, id_column="unit_id")


def test_an_outline_vertex_half_a_millimetre_from_the_neighbours_corner_is_snapped():
    # the left unit has an outline vertex 0.5 mm before the corner it shares with the right one
    left = Polygon([(0, 0), (9.9995, 0), (10, 0), (10, 10), (0, 10)])
    polys = np.array([left, box(10, 0, 20, 10)], dtype=object)
    assert shapely.coverage_is_valid(polys)  # GEOS accepts it ...
    assert (_report(polys).issues["kind"] == "edge_mismatch").sum() == 1  # ... validation not
    out, kept = match_edges(polys)
    assert kept.all() and shapely.coverage_is_valid(out)
    assert _report(out).issues.empty
    # the corner moved by at most MATCH_DISTANCE: a triangle on the 10 m shared edge
    moved = np.abs(shapely.area(out) - shapely.area(polys))
    assert (moved <= MATCH_DISTANCE * 10 / 2).all()
    assert shapely.area(out).sum() == pytest.approx(shapely.area(polys).sum(), abs=1e-9)


def test_a_matched_coverage_is_left_as_it_is():
    # a T-junction matched: the top unit has both corners below it
    top = Polygon([(0, 10), (10, 10), (20, 10), (20, 15), (0, 15)])
    polys = np.array([box(0, 0, 10, 10), box(10, 0, 20, 10), top], dtype=object)
    assert _report(polys).issues.empty
    out, kept = match_edges(polys)
    assert kept.all()
    assert shapely.equals(out, polys).all()
