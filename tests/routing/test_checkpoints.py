"""Checkpoints: road crossings of village and jurisdiction boundaries."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, box

import cli
from gridkit import find_checkpoints
from gridkit.errors import InvalidValueError

CRS = "EPSG:32635"


def villages() -> gpd.GeoDataFrame:
    """Two 100 x 100 m villages side by side: A (x 0-100) and B (x 100-200)."""
    return gpd.GeoDataFrame(
        {"code": ["A", "B"], "name": ["Alpha", "Beta"]},
        geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100)],
        crs=CRS,
    )


def roads(*lines, classes=None, names=None) -> gpd.GeoDataFrame:
    n = len(lines)
    return gpd.GeoDataFrame(
        {
            "road_class": classes or ["residential"] * n,
            "name": names or [f"road {i}" for i in range(n)],
        },
        geometry=[LineString(c) for c in lines],
        crs=CRS,
    )


def test_one_crossing_with_class_name_and_sides():
    r = roads([(50, 50), (150, 50)], classes=["primary"], names=["Main St"])
    cp = find_checkpoints(r, villages())
    assert len(cp.points) == 1
    row = cp.points.iloc[0]
    assert (row["village_a"], row["village_b"], row["boundary_type"]) == ("A", "B", "village")
    assert (row["road_class"], row["road_name"], row["roads"]) == ("primary", "Main St", 1)
    assert row.geometry.distance(shapely.Point(100, 50)) < 1e-9
    assert cp.per_village["checkpoints"].tolist() == [1, 1]


def test_zigzag_is_reported_at_each_crossing():
    r = roads([(90, 10), (110, 30), (90, 50), (110, 70), (90, 90)])
    cp = find_checkpoints(r, villages())
    assert len(cp.points) == 4
    assert sorted(round(p.y) for p in cp.points.geometry) == [20, 40, 60, 80]


def test_touching_and_running_along_are_not_crossings():
    r = roads(
        [(50, 50), (100, 50)],  # dead end on the boundary
        [(100, 20), (100, 40)],  # runs along the boundary
        [(60, 70), (100, 70), (100, 90), (60, 90)],
    )  # along, back into A
    cp = find_checkpoints(r, villages())
    assert len(cp.points) == 0
    assert cp.per_village["checkpoints"].tolist() == [0, 0]


def test_runs_along_then_crosses_is_one_checkpoint():
    r = roads([(60, 30), (100, 30), (100, 60), (140, 60)])
    cp = find_checkpoints(r, villages())
    assert len(cp.points) == 1
    assert cp.points.iloc[0].geometry.distance(shapely.Point(100, 45)) < 1e-6


def test_road_pieces_meeting_on_the_boundary_are_one_checkpoint():
    r = roads(
        [(50, 50), (100, 50)],
        [(100, 50), (150, 50)],
        [(100, 50), (70, 80)],
        classes=["footway", "secondary", "footway"],
        names=["a", "b", None],
    )
    cp = find_checkpoints(r, villages())
    assert len(cp.points) == 1
    row = cp.points.iloc[0]
    assert row["roads"] == 3
    assert row["road_class"] == "secondary"  # the most important one
    assert row["road_name"] == "a; b"


def test_jurisdiction_crossings_and_clipped_ends():
    j = gpd.GeoDataFrame(geometry=[box(0, 0, 200, 100)], crs=CRS)
    r = roads(
        [(-50, 50), (50, 50)],  # enters from outside
        [(150, 100), (150, 60)],
    )  # clipped at the jurisdiction edge
    cp = find_checkpoints(r, villages(), jurisdiction=j)
    assert sorted(cp.points["boundary_type"]) == ["jurisdiction", "jurisdiction"]
    assert set(cp.points["village_b"]) == {"outside"}
    assert cp.per_village.set_index("code")["external"].to_dict() == {"A": 1, "B": 1}
    cp2 = find_checkpoints(r, villages(), jurisdiction=j, ends_on_boundary=False)
    assert len(cp2.points) == 1


def test_inputs_not_modified_and_errors():
    r, v = roads([(50, 50), (150, 50)]), villages()
    r0, v0 = r.copy(), v.copy()
    find_checkpoints(r, v)
    pd.testing.assert_frame_equal(pd.DataFrame(r), pd.DataFrame(r0))
    pd.testing.assert_frame_equal(pd.DataFrame(v), pd.DataFrame(v0))
    with pytest.raises(InvalidValueError, match="probe"):
        find_checkpoints(r, v, probe=0)
    with pytest.raises(ValueError, match="code"):
        find_checkpoints(r, v.drop(columns="code"))


@settings(max_examples=30, deadline=None)
@given(st.floats(1, 99), st.floats(1, 99), st.integers(1, 6))
def test_crossing_count_equals_sign_changes(y0, y1, n):
    """A road zigzagging across x=100 n times crosses n times."""
    xs = [90.0 if i % 2 == 0 else 110.0 for i in range(n + 1)]
    ys = [y0 + (y1 - y0) * i / n for i in range(n + 1)]
    if len({round(y, 3) for y in ys}) < len(ys) and n > 1:
        ys = [1 + 98 * i / n for i in range(n + 1)]
    cp = find_checkpoints(roads(list(zip(xs, ys, strict=True))), villages(), merge_distance=0.01)
    assert len(cp.points) == n
    assert (cp.points.geometry.x.round(6) == 100).all()


def test_sample(sample_layers):
    v = sample_layers["villages"]
    cp = find_checkpoints(sample_layers["roads"], v, jurisdiction=sample_layers["jurisdiction"])
    pts = cp.points
    assert len(pts) > 50
    assert pts["checkpoint_id"].is_unique
    # every checkpoint sits on a village boundary (in the working CRS)
    edges = shapely.union_all(v.boundary.to_numpy())
    assert (shapely.distance(pts.to_crs(v.crs).geometry.to_numpy(), edges) < 1.0).all()
    # an inner crossing counts for both villages, one on the outer boundary for one
    inner = (pts["boundary_type"] == "village").sum()
    outer = (pts["boundary_type"] == "jurisdiction").sum()
    assert cp.per_village["checkpoints"].sum() == 2 * inner + outer
    assert (cp.per_village["checkpoints"] > 0).all()
    assert set(pts["village_a"]) | set(pts["village_b"]) <= set(v["code"]) | {"outside"}
    assert pts.crs == sample_layers["roads"].crs


def test_cli_checkpoints(sample_file, tmp_path, capsys):
    out, csv = tmp_path / "cp.gpkg", tmp_path / "cp.csv"
    assert (
        cli.main(["checkpoints", "--layers", str(sample_file), "-o", str(out), "--csv", str(csv)])
        == 0
    )
    assert "checkpoint(s)" in capsys.readouterr().out
    pts = gpd.read_file(out, layer="checkpoints")
    table = pd.read_csv(csv, dtype={"village_a": str, "village_b": str})
    assert len(pts) == len(table) > 0
    assert {"lon", "lat", "road_class", "village_a", "village_b"} <= set(table.columns)
    assert pts.crs.to_epsg() == 4326


def test_demo_step(sample_layers, tmp_path):
    from gridkit.cli.commands._demo import DemoContext
    from gridkit.cli.commands.checkpoints import demo_step
    from gridkit.layers import Layers

    ctx = DemoContext(layers=sample_layers, outdir=tmp_path)
    demo_step(ctx)
    for name in ("checkpoints.gpkg", "checkpoints.csv", "checkpoints_map.html"):
        assert (tmp_path / name).exists()
    assert len(ctx.results["checkpoints"].points) > 0
    bare = Layers(
        crs=sample_layers.crs,
        input_crs=sample_layers.input_crs,
        layers={"roads": sample_layers["roads"]},
    )
    ctx2 = DemoContext(layers=bare, outdir=tmp_path / "b")
    demo_step(ctx2)
    assert ctx2.summary[-1].startswith("checkpoints: skipped")
