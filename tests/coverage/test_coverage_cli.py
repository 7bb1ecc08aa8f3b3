"""`gridkit validate | repair | diff` on files: output formats and exit codes."""

from __future__ import annotations

import json

import geopandas as gpd
import pytest

import cli
from gridkit import read_layer, write_layers
from gridkit.synthetic.faults import inject, random_points, voronoi_grids


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cov")
    grids, jur = voronoi_grids(25, seed=5)
    bad, _, _ = inject(grids, jur, "overlap", seed=5)
    write_layers(
        {
            "grids": grids,
            "jurisdiction": jur,
            "bad": bad,
            "entities": random_points(jur, 200, seed=1),
        },
        d / "cov.gpkg",
    )
    return d / "cov.gpkg"


def test_validate_clean_exit_0(files, capsys):
    code = cli.main(
        [
            "validate",
            f"{files}:grids",
            "--jurisdiction",
            f"{files}:jurisdiction",
            "--entities",
            f"{files}:entities",
        ]
    )
    assert code == 0
    assert "coverage valid" in capsys.readouterr().out


def test_validate_fault_exit_1_json_and_layer(files, tmp_path, capsys):
    out = tmp_path / "report.gpkg"
    code = cli.main(
        [
            "validate",
            f"{files}:bad",
            "--jurisdiction",
            f"{files}:jurisdiction",
            "--format",
            "json",
            "-o",
            str(out),
        ]
    )
    assert code == 1
    data = json.loads(capsys.readouterr().out)
    assert data["valid"] is False and data["summary"]["overlap"] == 1
    issue = data["issues"][0]
    assert issue["kind"] == "overlap" and len(issue["grids"]) == 2
    layer = read_layer(out)
    assert len(layer) == 1 and layer.crs == gpd.read_file(files, layer="bad").crs
    assert layer.geometry.iloc[0].distance(gpd.points_from_xy([issue["x"]], [issue["y"]])[0]) < 1e-6


def test_validate_input_errors_exit_2(files, tmp_path, capsys):
    assert cli.main(["validate", str(tmp_path / "missing.gpkg")]) == 2
    assert cli.main(["validate", f"{files}:grids", "--id-column", "nope"]) == 2
    err = capsys.readouterr().err
    assert "nope" in err and err.count("\n") == 2


def test_repair_then_diff(files, tmp_path, capsys):
    fixed = tmp_path / "fixed.gpkg"
    assert (
        cli.main(
            ["repair", f"{files}:bad", "--jurisdiction", f"{files}:jurisdiction", "-o", str(fixed)]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "coverage valid" in out and "changed" in out
    assert (tmp_path / "fixed.changes.csv").exists()
    assert (
        cli.main(
            [
                "diff",
                f"{files}:bad",
                str(fixed),
                "--format",
                "json",
                "-o",
                str(tmp_path / "changes.gpkg"),
            ]
        )
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert data["summary"]["reshaped"] >= 1 and data["summary"]["added"] == 0
    assert cli.main(["validate", str(fixed), "--jurisdiction", f"{files}:jurisdiction"]) == 0


@pytest.mark.parametrize("name", ["validate", "repair", "diff"])
def test_help(name, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main([name, "--help"])
    assert exc.value.code == 0
    assert "exit" in capsys.readouterr().out.lower() or name == "diff"
