"""diff_grids: added, removed, reshaped grids; moved pieces, entities, staff."""

from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import pytest
from shapely import Point, box

from gridkit import LayerError, diff_grids
from gridkit.cli.commands.diff import simulated_change

CRS = "EPSG:32650"


def grids(ids, geoms):
    return gpd.GeoDataFrame({"grid_id": ids}, geometry=geoms, crs=CRS)


OLD = grids(["a", "b", "c"], [box(0, 0, 10, 10), box(10, 0, 20, 10), box(20, 0, 30, 10)])
NEW = grids(["a", "b", "d"], [box(0, 0, 12, 10), box(12, 0, 25, 10), box(25, 0, 30, 10)])
ENTS = gpd.GeoDataFrame(
    {"entity_id": ["e1", "e2", "e3"]}, geometry=[Point(11, 5), Point(5, 5), Point(22, 5)], crs=CRS
)
STAFF = pd.DataFrame(
    {"name": ["Li", "Wang", "Zhao"], "phone": ["1", "2", "3"], "grid_id": ["a", "b", "c"]}
)


def test_statuses_areas_and_sources():
    d = diff_grids(OLD, NEW, entities=ENTS, staff=STAFF)
    t = d.table.set_index("grid_id")
    assert t.loc["a", "status"] == "reshaped" and t.loc["a", "gained_m2"] == pytest.approx(20)
    assert t.loc["a", "gained_from"] == "b"
    assert t.loc["b", "gained_m2"] == pytest.approx(50) and t.loc["b", "lost_m2"] == pytest.approx(
        20
    )
    assert t.loc["b", "gained_from"] == "c" and t.loc["b", "lost_to"] == "a"
    assert t.loc["c", "status"] == "removed" and t.loc["c", "lost_to"] == "b,d"
    assert t.loc["d", "status"] == "added" and t.loc["d", "gained_from"] == "c"
    assert d.summary["added"] == 1 and d.summary["removed"] == 1 and d.summary["reshaped"] == 2


def test_moved_pieces_layer_sums_to_changed_area():
    d = diff_grids(OLD, NEW)
    moved = d.layer[d.layer.change == "moved"]
    assert set(zip(moved.old_grid, moved.new_grid, strict=True)) == {
        ("b", "a"),
        ("c", "b"),
        ("c", "d"),
    }
    assert moved.area_m2.sum() == pytest.approx(20 + 50 + 50)
    assert d.layer.crs == NEW.crs


def test_entities_and_staff_affected():
    d = diff_grids(OLD, NEW, entities=ENTS, staff=STAFF)
    moved = d.entities.set_index("feature")
    assert set(moved.index) == {"e1", "e3"}
    assert (moved.loc["e1", "old_grid"], moved.loc["e1", "new_grid"]) == ("b", "a")
    assert (moved.loc["e3", "old_grid"], moved.loc["e3", "new_grid"]) == ("c", "b")
    staff = d.staff.set_index("name")
    assert set(staff.index) == {"Li", "Wang", "Zhao"}
    assert staff.loc["Zhao", "change"] == "removed"
    assert staff.loc["Li", "entities_in"] == 1
    data = json.loads(d.to_json())
    assert data["changed"] and data["summary"]["entities_moved"] == 2


def test_no_change():
    d = diff_grids(OLD, OLD.copy())
    assert not d.changed and len(d.layer) == 0
    assert (d.table.status == "unchanged").all()


def test_inputs_untouched_and_duplicate_ids_refused():
    old, new = OLD.copy(), NEW.copy()
    diff_grids(old, new, entities=ENTS)
    pd.testing.assert_frame_equal(old, OLD)
    pd.testing.assert_frame_equal(new, NEW)
    with pytest.raises(LayerError, match="unique"):
        diff_grids(grids(["a", "a"], [box(0, 0, 1, 1), box(1, 0, 2, 1)]), NEW)


def test_sample_simulated_change(sample_layers):
    villages = sample_layers["villages"]
    new = simulated_change(villages)
    d = diff_grids(villages, new, entities=sample_layers["entities"], id_column="code")
    assert d.summary["reshaped"] == 2 and d.summary["added"] == 0
    reshaped = d.table[d.table.status == "reshaped"]
    # what one grid gains the other loses
    assert reshaped.gained_m2.sum() == pytest.approx(reshaped.lost_m2.sum(), rel=1e-6)
    # every entity reported as moved really is in the piece that changed grid
    pieces = d.layer.union_all()
    assert all(pieces.distance(p) < 1e-6 for p in d.entities.geometry)
