"""`gridkit units` on the command line and in the demo (issue #3)."""

from __future__ import annotations

import geopandas as gpd
import pyogrio
import pytest
import shapely

import cli
from gridkit.cli.commands._demo import DemoContext
from gridkit.cli.commands.units import demo_step


def test_units_command_on_sample(sample_file, tmp_path, capsys):
    out = tmp_path / "units.gpkg"
    assert cli.main(["-q", "units", "--layers", str(sample_file), "-o", str(out)]) == 0
    assert "units in 5 village(s)" in capsys.readouterr().out
    layers = dict(pyogrio.list_layers(out))
    assert {"units", "adjacency", "buildings", "entities"} <= set(layers)
    units = gpd.read_file(out, layer="units")
    jur = gpd.read_file(sample_file, layer="jurisdiction")
    assert units.crs == jur.crs
    metric = units.estimate_utm_crs()
    area = units.to_crs(metric).area.sum()
    assert area == pytest.approx(jur.to_crs(metric).area.sum(), rel=1e-6)
    assert shapely.coverage_is_valid(units.geometry.values)
    adjacency = gpd.read_file(out, layer="adjacency")
    assert {"unit_a", "unit_b", "shared_m", "road_m", "village_m"} <= set(adjacency.columns)
    assert (adjacency["unit_a"] < adjacency["unit_b"]).all()
    assert set(adjacency["unit_a"]) | set(adjacency["unit_b"]) <= set(units["unit_id"])


def test_units_command_explicit_sources_and_options(sample_file, tmp_path, capsys):
    out = tmp_path / "u.gpkg"
    code = cli.main(["-q", "units", "--roads", f"{sample_file}:roads",
                     "--jurisdiction", f"{sample_file}:jurisdiction",
                     "--road-classes", "primary,secondary,tertiary", "--min-area", "500",
                     "--max-area", "60000", "--no-adjacency", "-o", str(out)])
    assert code == 0
    units = gpd.read_file(out, layer="units")
    assert "adjacency" not in dict(pyogrio.list_layers(out))
    assert units["area_m2"].max() <= 60000 * 1.05 and units["area_m2"].min() >= 500 * 0.99
    assert set(units["village_code"]) == {"0"}


def test_units_command_input_errors(sample_file, tmp_path, capsys):
    assert cli.main(["units", "--roads", f"{sample_file}:roads", "-o", str(tmp_path / "x")]) == 2
    assert "--jurisdiction" in capsys.readouterr().err
    assert cli.main(["units", "--layers", str(sample_file), "--max-area", "-3",
                     "-o", str(tmp_path / "x")]) == 2
    assert "max_area" in capsys.readouterr().err
    bad = tmp_path / "p.toml"
    bad.write_text("[patrol]\nspeed = 3\n")
    assert cli.main(["units", "--layers", str(sample_file), "--policy", str(bad),
                     "-o", str(tmp_path / "x")]) == 2
    assert "unknown key" in capsys.readouterr().err


def test_demo_step(sample_layers, tmp_path):
    ctx = DemoContext(layers=sample_layers, outdir=tmp_path)
    demo_step(ctx)
    units = ctx.results["units"]
    assert units.crs == sample_layers.crs and len(units) > 100
    assert {"unit_a", "unit_b"} <= set(ctx.results["adjacency"].columns)
    assert ctx.summary[-1].startswith("units:") and (tmp_path / "units.gpkg").exists()
    written = gpd.read_file(tmp_path / "units.gpkg", layer="units")
    assert written.crs == sample_layers.input_crs


def test_units_cli_without_roads_cuts_along_barriers(tmp_path, sample):
    from gridkit.cli.main import main
    from gridkit.io.files import read_layer, write_layers

    src = write_layers({"jurisdiction": sample["jurisdiction"], "barriers": sample["barriers"]},
                       tmp_path / "in.gpkg")
    assert main(["units", "--layers", str(src), "-o", str(tmp_path / "u.gpkg")]) == 0
    units = read_layer(tmp_path / "u.gpkg:units").to_crs(32635)
    assert len(units) > 1  # the barriers cut the jurisdiction
    assert abs(units.area.sum() - sample["jurisdiction"].to_crs(32635).area.sum()) < 1.0


def test_units_cli_refuses_a_tangle_and_names_the_option(tmp_path, capsys):
    import geopandas as gpd
    import numpy as np
    import shapely

    from gridkit.cli.main import main
    from gridkit.io.files import write_layers

    rng = np.random.default_rng(3)
    a, b = rng.uniform(0, 2000, (3000, 2)), rng.uniform(0, 2000, (3000, 2))
    tangle = gpd.GeoDataFrame(geometry=shapely.linestrings(np.stack([a, b], axis=1)),
                              crs=32635)
    outline = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 2000, 2000)], crs=32635)
    src = write_layers({"roads": tangle, "jurisdiction": outline}, tmp_path / "in.gpkg")
    out = tmp_path / "u.gpkg"
    assert main(["units", "--layers", str(src), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cross" in err[0] and "--max-crossings" in err[0]
    assert not out.exists()
    with pytest.raises(SystemExit) as exit_info:  # argparse refuses the value
        main(["units", "--layers", str(src), "--max-crossings", "x", "-o", str(out)])
    assert exit_info.value.code == 2


def test_units_fix_villages_cli(sample_file, tmp_path, capsys):
    # five straight strips across the sample: their boundaries cut buildings
    j = gpd.read_file(sample_file, layer="jurisdiction")
    x0, y0, x1, y1 = j.total_bounds
    xs = [x0 + (x1 - x0) * i / 5 for i in range(6)]
    strips = gpd.GeoDataFrame({"code": [f"00009100100{i + 1}" for i in range(5)]},
                              geometry=[shapely.box(a, y0, b, y1)
                                        for a, b in zip(xs[:-1], xs[1:], strict=True)],
                              crs=j.crs)
    villages = tmp_path / "strips.gpkg"
    strips.to_file(villages, layer="villages")
    out = tmp_path / "units.gpkg"
    args = ["units", "--layers", str(sample_file), "--villages", f"{villages}:villages",
            "--no-adjacency"]
    assert cli.main([*args, "-o", str(out)]) == 0
    plain = capsys.readouterr().out
    assert "cut by a village or jurisdiction boundary" in plain
    assert "villages" not in pyogrio.list_layers(out)[:, 0]
    fixed = tmp_path / "fixed.gpkg"
    assert cli.main([*args, "--fix-villages", "-o", str(fixed)]) == 0
    text = capsys.readouterr().out
    moved = [line for line in text.splitlines() if "moved from village" in line]
    assert len(moved) > 5
    layers = set(pyogrio.list_layers(fixed)[:, 0])
    assert {"units", "villages", "buildings"} <= layers
    v = gpd.read_file(fixed, layer="villages")
    assert len(v) == 5 and shapely.coverage_is_valid(v.to_crs(32635).geometry.values)
