"""A laboratory building's floor plan in a local engineering CRS, end to end (issue 21).

The building is drawn in metres in a local engineering CRS (WKT ``ENGCRS``),
with no geodetic CRS at all. Rooms are the basic units: there are no roads,
the room and corridor walls are given as ``barriers`` (lines that cut), the
wings are the ``villages`` (the middle grid of the domain's hierarchy: a
laboratory building as zones, each zone cut into grids) and the equipment
points are the ``entities``. Nothing is reprojected.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import CRS
from shapely.geometry import box

import gridkit as gk
from gridkit.errors import CRSError

ENG = CRS.from_wkt('ENGCRS["Building A floor plan",EDATUM["Building A"],CS[Cartesian,2],'
                   'AXIS["x",east,LENGTHUNIT["metre",1]],AXIS["y",north,LENGTHUNIT["metre",1]]]')
LOCAL_WKT1 = ('LOCAL_CS["Building A",LOCAL_DATUM["Building A",0],UNIT["metre",1],'
              'AXIS["X",EAST],AXIS["Y",NORTH]]')
ROOM_OPTIONS = {"min_area": 1.0, "min_width": 0.5}  # rooms of 48 m² are no slivers


def floor_plan(crs=ENG) -> dict[str, gpd.GeoDataFrame]:
    """60 x 20 m: 10 rooms of 6 x 8 m on each side of a corridor 4 m wide, two wings."""
    rooms = [box(x, 0, x + 6, 8) for x in range(0, 60, 6)] + \
            [box(x, 12, x + 6, 20) for x in range(0, 60, 6)]
    spaces = rooms + [box(0, 8, 30, 12), box(30, 8, 60, 12)]  # the corridor, one per wing
    names = [f"R{i + 1:02d}" for i in range(len(rooms))] + ["corridor W", "corridor E"]
    rng = np.random.default_rng(7)
    xy = np.column_stack([rng.uniform(0.5, 59.5, 60), rng.uniform(0.5, 19.5, 60)])
    xy = xy[(np.abs(xy % 6)[:, 0] > 0.1) & (np.abs(xy[:, 1] - 8) > 0.1)
            & (np.abs(xy[:, 1] - 12) > 0.1)]  # no point right on a wall
    return {
        "spaces": gpd.GeoDataFrame({"name": names}, geometry=spaces, crs=crs),
        "walls": gpd.GeoDataFrame({"name": names}, geometry=shapely.boundary(spaces), crs=crs),
        "outline": gpd.GeoDataFrame({"name": ["Building A"]}, geometry=[box(0, 0, 60, 20)],
                                    crs=crs),
        "wings": gpd.GeoDataFrame({"code": ["W", "E"], "name": ["west wing", "east wing"]},
                                  geometry=[box(0, 0, 30, 20), box(30, 0, 60, 20)], crs=crs),
        "equipment": gpd.GeoDataFrame({"risk": rng.integers(1, 4, len(xy)),
                                       "credit": ["A"] * len(xy)},
                                      geometry=shapely.points(xy), crs=crs),
    }


@pytest.fixture(scope="module")
def plan():
    return floor_plan()


@pytest.fixture(scope="module")
def rooms(plan):
    return gk.build_units(None, plan["outline"], barriers=plan["walls"],
                          villages=plan["wings"], entities=plan["equipment"], **ROOM_OPTIONS)


def test_rooms_are_the_units_in_the_local_crs(plan, rooms):
    units = rooms.units
    assert rooms.crs == ENG and units.crs == ENG
    assert len(units) == len(plan["spaces"]) == 22
    # every unit is exactly one room (or corridor half), vertex for vertex up to 1 mm
    spaces = plan["spaces"].geometry.values
    for geom in units.geometry.values:
        match = spaces[shapely.equals_exact(spaces, shapely.normalize(geom), tolerance=1e-3)
                       | shapely.equals(spaces, geom)]
        assert len(match) == 1
    assert units["area_m2"].sum() == pytest.approx(1200)
    assert units.groupby("village_code").size().to_dict() == {"E": 11, "W": 11}
    assert int(units["entities"].sum()) == len(plan["equipment"])
    assert rooms.report["coverage_valid"] and rooms.report["working_crs"] == "Building A floor plan"
    assert rooms.entities.crs == ENG and rooms.entities["unit_id"].notna().all()


def test_rooms_partition_and_validate(plan, rooms):
    part = gk.partition(rooms.units, "entities", k=4, tolerance=0.25)
    grids = part.grids
    assert len(grids) == 4 and grids.crs == ENG
    assert set(grids["village_code"]) == {"W", "E"}
    report = gk.validate_coverage(grids, jurisdiction=plan["outline"], villages=plan["wings"],
                                  entities=plan["equipment"], code_column=None)
    assert report.crs == ENG
    assert len(report.issues) == 0, report.issues[["kind", "detail"]].to_string()
    adj = gk.unit_adjacency(rooms.units, barriers=plan["walls"], villages=plan["wings"])
    assert len(adj) > 0 and (adj["shared_m"] > 0).all()


def test_wkt1_local_cs_works_the_same():
    plan = floor_plan(CRS.from_wkt(LOCAL_WKT1))
    res = gk.build_units(None, plan["outline"], barriers=plan["walls"], **ROOM_OPTIONS)
    assert len(res.units) == 22 and res.units.crs.is_engineering


def test_inputs_are_not_modified(plan, rooms):
    fresh = floor_plan()
    for name, layer in plan.items():
        assert layer.equals(fresh[name]) and layer.crs == ENG


def test_mixing_the_plan_with_a_geodetic_layer_is_refused(plan):
    lonlat = plan["equipment"].set_crs(4490, allow_override=True)
    with pytest.raises(CRSError, match="engineering CRS.*cannot be transformed"):
        gk.build_units(None, plan["outline"], barriers=plan["walls"], entities=lonlat)
    with pytest.raises(CRSError, match="engineering CRS.*cannot be transformed"):
        gk.build_units(None, plan["outline"], barriers=plan["walls"], crs=4547)


def test_posters_of_the_rooms(plan, rooms, tmp_path):
    grids = gk.partition(rooms.units, "entities", k=4, tolerance=0.25).grids
    ps = gk.prepare_posters(grids, entities=plan["equipment"], jurisdiction=plan["outline"])
    paths = gk.write_posters(ps, tmp_path, formats=("png",))
    assert len(paths) == 5 and all(p.stat().st_size > 0 for p in paths)
