"""Requirements per village or grid: tables, counting, share rules, staff, errors."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point, box

from gridkit import Requirement, RequirementsError, check_requirements, load_requirements
from gridkit.coverage.requirements import REQUIREMENT_ISSUE
from gridkit.errors import InvalidValueError, MissingColumnError

CRS = "EPSG:32635"


def areas(kind="village"):
    key = "code" if kind == "village" else "grid_id"
    return gpd.GeoDataFrame(
        {key: ["v1", "v2", "v3", "v4", "v5"]},
        geometry=[box(100 * i, 0, 100 * (i + 1), 100) for i in range(5)],
        crs=CRS,
    )


def points(spec):
    """spec: [(x, category), ...]"""
    return gpd.GeoDataFrame(
        {"category": [c for _, c in spec], "households": [10] * len(spec)},
        geometry=[Point(x, 50) for x, _ in spec],
        crs=CRS,
    )


EQUIP = points(
    [
        (10, "hydrant"),
        (20, "extinguisher"),
        (150, "pool"),
        (250, "hydrant"),
        (260, "hydrant"),
        (350, "bench"),
    ]
)


def test_at_least_per_village_reports_each_unmet():
    rule = {
        "id": "fire",
        "per": "village",
        "layer": "entities",
        "where": {"category": ["hydrant", "extinguisher", "pool"]},
        "at_least": 1,
    }
    rep = check_requirements([rule], villages=areas(), entities=EQUIP)
    assert rep.issues["kind"].unique().tolist() == [REQUIREMENT_ISSUE]
    assert rep.issues["area_id"].tolist() == ["v4", "v5"]
    assert rep.issues["found"].tolist() == [0.0, 0.0]
    assert rep.issues["required"].tolist() == [1.0, 1.0]
    assert "v4" in rep.issues["detail"].iloc[0]
    assert rep.table.set_index("area_id")["found"].to_dict() == {
        "v1": 2,
        "v2": 1,
        "v3": 2,
        "v4": 0,
        "v5": 0,
    }
    assert not rep.met and not rep.rules["met"].iloc[0]
    assert rep.issues.geometry.iloc[0].equals(areas().geometry.iloc[3])


def test_share_rule_one_issue_for_the_whole_rule():
    rule = {
        "id": "hydrant80",
        "per": "village",
        "layer": "entities",
        "where": {"category": ["hydrant", "pool"]},
        "at_least": 1,
        "share": 0.8,
    }
    rep = check_requirements([rule], villages=areas(), entities=EQUIP)
    assert len(rep.issues) == 1
    row = rep.issues.iloc[0]
    assert (row["area_id"], row["found"], row["required"]) == ("*", 0.6, 0.8)
    assert "3 of 5" in row["detail"]
    ok = check_requirements([{**rule, "share": 0.6}], villages=areas(), entities=EQUIP)
    assert ok.met and len(ok.issues) == 0


def test_share_given_as_percent():
    rule = load_requirements([{"id": "x", "per": "village", "layer": "e", "share": 80}])[0]
    assert rule.share == pytest.approx(0.8)


def test_staff_per_grid_and_per_village():
    grids = areas("grid").assign(village_code=["A", "A", "B", "B", "B"])
    staff = pd.DataFrame(
        {
            "name": ["a", "b", "c", "d", "e", "f", "g"],
            "phone": ["1"] * 7,
            "grid_id": ["v1", "v1", "v1", "v2", "v3", "v3", "v3"],
        }
    )
    rep = check_requirements(
        [{"id": "s3", "per": "grid", "layer": "staff", "at_least": 3}], grids=grids, staff=staff
    )
    assert rep.issues["area_id"].tolist() == ["v2", "v4", "v5"]
    assert rep.issues["grids"].tolist() == [["v2"], ["v4"], ["v5"]]
    v = gpd.GeoDataFrame(
        {"code": ["A", "B"]}, geometry=[box(0, 0, 200, 100), box(200, 0, 500, 100)], crs=CRS
    )
    rep = check_requirements(
        [{"id": "s", "per": "village", "layer": "staff", "at_least": 4}],
        villages=v,
        grids=grids,
        staff=staff,
    )
    assert rep.table.set_index("area_id")["found"].to_dict() == {"A": 4.0, "B": 3.0}
    assert rep.issues["area_id"].tolist() == ["B"]


def test_sum_of_a_column():
    rule = {"id": "hh", "per": "village", "layer": "buildings", "sum": "households", "at_least": 20}
    rep = check_requirements([rule], villages=areas(), buildings=EQUIP)
    assert rep.table["found"].tolist() == [20, 10, 20, 10, 0]
    assert rep.issues["area_id"].tolist() == ["v2", "v4", "v5"]


def test_toml_and_csv_tables(tmp_path):
    toml = tmp_path / "req.toml"
    toml.write_text(
        """
[[requirement]]
id = "fire"
description = "fire equipment in every village"
per = "village"
layer = "entities"
where = { category = ["hydrant", "extinguisher"] }
at_least = 1

[[requirement]]
id = "pool80"
per = "village"
layer = "entities"
where = { category = "pool" }
share = 0.8
""",
        encoding="utf-8",
    )
    csv = tmp_path / "req.csv"
    csv.write_text(
        "id,description,per,layer,column,values,at_least,share,sum\n"
        "fire,fire equipment in every village,village,entities,category,"
        "hydrant|extinguisher,1,,\n"
        "pool80,,village,entities,category,pool,,80,\n",
        encoding="utf-8",
    )
    a, b = load_requirements(toml), load_requirements(csv)
    assert a == b
    assert a[0].where == {"category": ("hydrant", "extinguisher")}
    assert a[0].describe() == "fire equipment in every village"
    assert a[1].describe() == "at least 1 pool per village in 80% of villages"
    rep = check_requirements(toml, villages=areas(), entities=EQUIP)
    assert set(rep.issues["requirement"]) == {"fire", "pool80"}


@pytest.mark.parametrize(
    "rows, match",
    [
        ([{"id": "x", "per": "county", "layer": "e"}], "per"),
        ([{"id": "x", "per": "grid", "layer": "e", "at_least": -1}], "at_least"),
        ([{"id": "x", "per": "grid", "layer": "e", "share": 0}], "share"),
        ([{"id": "x", "per": "grid", "layer": "e", "colour": 1}], "unknown key"),
        ([{"per": "grid", "layer": "e"}], "missing `id`"),
        ([{"id": "x", "per": "grid", "layer": "e", "at_least": "many"}], "number"),
    ],
)
def test_bad_tables_say_what_is_wrong(rows, match):
    with pytest.raises(RequirementsError, match=match):
        load_requirements(rows)


def test_bad_files(tmp_path):
    with pytest.raises(RequirementsError, match="does not exist"):
        load_requirements(tmp_path / "none.toml")
    bad = tmp_path / "r.toml"
    bad.write_text("[[requirement]\n", encoding="utf-8")
    with pytest.raises(RequirementsError, match="TOML"):
        load_requirements(bad)
    other = tmp_path / "r.txt"
    other.write_text("x", encoding="utf-8")
    with pytest.raises(RequirementsError, match="toml or .csv"):
        load_requirements(other)


def test_missing_inputs_are_named():
    rule = {"id": "x", "per": "grid", "layer": "entities", "where": {"kind": ["a"]}}
    with pytest.raises(InvalidValueError, match="grids"):
        check_requirements([rule], villages=areas(), entities=EQUIP)
    with pytest.raises(InvalidValueError, match="hydrants"):
        check_requirements([{**rule, "per": "village", "layer": "hydrants"}], villages=areas())
    with pytest.raises(MissingColumnError, match="kind"):
        check_requirements([{**rule, "per": "village"}], villages=areas(), entities=EQUIP)
    with pytest.raises(RequirementsError, match="unique"):
        check_requirements([rule, rule], villages=areas())


def test_requirement_object_validates():
    with pytest.raises(RequirementsError):
        Requirement("x", per="grid", layer="staff", at_least=-2)


def test_sample_pharmacy_per_village(sample):
    v, e = sample["villages"], sample["entities"]
    v0 = v.copy()
    rule = {
        "id": "pharmacy",
        "per": "village",
        "layer": "entities",
        "where": {"category": ["pharmacy"]},
        "at_least": 1,
    }
    rep = check_requirements([rule], villages=v, entities=e)
    pd.testing.assert_frame_equal(pd.DataFrame(v), pd.DataFrame(v0))
    # independent count: spatial join of the pharmacies with the villages
    ph = e[e["category"] == "pharmacy"]
    joined = gpd.sjoin(ph, v[["code", "geometry"]], predicate="within")
    having = set(joined["code"])
    assert set(rep.issues["area_id"]) == set(v["code"]) - having
    assert rep.table["found"].sum() == len(joined)
    assert rep.issues.crs == v.crs
