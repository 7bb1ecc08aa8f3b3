"""What the command line prints: gridkit's own steps with -v, each warning once (issue 20)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import warnings

import pandas as pd
import pytest

from gridkit.cli.main import _Warnings, main
from gridkit.errors import GridkitWarning
from gridkit.io.files import read_layer, write_layers

#: A -v line: elapsed seconds and a message; or a warning / error line.
LINE = re.compile(r"^ *\d+\.\ds \S|^warning: \S|^error: \S")


@pytest.fixture(scope="module")
def village_grids(tmp_path_factory, sample_file):
    """The sample's villages as grids, and a staff table that names only two of them."""
    d = tmp_path_factory.mktemp("vg")
    v = read_layer(f"{sample_file}:villages")
    v["grid_id"] = v["code"].astype(str)
    v["village_code"] = v["code"].astype(str)
    path = write_layers({"grids": v}, d / "vg.gpkg")
    staff = d / "staff.csv"
    pd.DataFrame({"name": ["甲", "乙"], "phone": ["1", "2"],
                  "grid_id": v["grid_id"].tolist()[:2]}).to_csv(staff, index=False)
    return path, staff


def test_verbose_shows_gridkit_steps_only(village_grids, tmp_path):
    """Posters load fonts (fontTools) and files (pyogrio): none of their records is shown."""
    grids, staff = village_grids
    res = subprocess.run([sys.executable, "-m", "gridkit", "-v", "report", "--grids",
                          f"{grids}:grids", "--staff", str(staff), "-o", str(tmp_path / "r")],
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    lines = res.stderr.splitlines()
    assert lines and all(LINE.match(line) for line in lines), res.stderr
    assert any("wrote" in line or "poster" in line for line in lines)
    for foreign in ("fontTools", "pyogrio", "matplotlib", "PIL", "py.warnings", "INFO", "DEBUG"):
        assert foreign not in res.stderr
    # the staff warning once, with its count, and without a source line
    staff_lines = [line for line in lines if line.startswith("warning: staff:")]
    assert len(staff_lines) == 1 and "3 grid(s)" in staff_lines[0], res.stderr
    assert ".py:" not in res.stderr


def test_per_grid_maps_do_not_repeat_the_staff_warning(village_grids, tmp_path, capsys):
    grids, staff = village_grids
    code = main(["map", "--grids", f"{grids}:grids", "--staff", str(staff), "--per-grid",
                 str(tmp_path / "maps"), "-o", str(tmp_path / "map.html")])
    err = capsys.readouterr().err
    assert code == 0
    assert err.splitlines() == [line for line in err.splitlines() if line.startswith("warning: ")]
    assert err.count("warning: staff: 3 grid(s) have nobody responsible") == 1, err


def test_warnings_shown_once_each_and_counted():
    shown = _Warnings()
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = shown.show
        for _ in range(3):
            warnings.warn("8 grids without staff: ...", GridkitWarning, stacklevel=1)
            warnings.warn("invalid value encountered", RuntimeWarning, stacklevel=1)
        warnings.warn("a second  note\n on two lines", GridkitWarning, stacklevel=1)
    assert list(shown.seen) == ["8 grids without staff: ...",
                                "RuntimeWarning: invalid value encountered",
                                "a second note on two lines"]


def test_warning_lines(capsys):
    shown = _Warnings()
    shown.show("8 grids without staff: a, b", GridkitWarning, "x.py", 1)
    shown.show("8 grids without staff: a, b", GridkitWarning, "x.py", 1)
    shown.show("overflow", RuntimeWarning, "y.py", 2)
    shown.show("overflow", RuntimeWarning, "y.py", 2)
    shown.flush()
    assert capsys.readouterr().err.splitlines() == [
        "warning: 8 grids without staff: a, b",
        "warning: RuntimeWarning: overflow (2 times)",
    ]


def test_an_input_error_is_the_only_line(tmp_path, sample_file, capsys):
    """Warnings raised before the error are not shown: the error is one line."""
    bad = tmp_path / "units.gpkg"
    bad.write_text("not a GeoPackage")
    code = main(["partition", "--units", str(bad), "--weight", "w", "--grids", "2",
                 "-o", str(tmp_path / "g.gpkg")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and err.startswith("gridkit partition: error:")


@pytest.mark.parametrize("crs", ["EPSG:32650", "EPSG:4490"])
def test_json_report_names_its_crs_and_gives_points_in_it(crs, tmp_path, capsys):
    """x/y of every issue in the grids' own CRS (metres or CGCS2000 degrees), named."""
    from gridkit.synthetic.faults import inject, voronoi_grids

    grids, jur = voronoi_grids(12, seed=4)
    bad, _, _ = inject(grids, jur, "overlap", seed=4)
    path = write_layers({"grids": bad.to_crs(crs), "jurisdiction": jur.to_crs(crs)},
                        tmp_path / "g.gpkg")
    code = main(["validate", f"{path}:grids", "--jurisdiction", f"{path}:jurisdiction",
                 "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and report["crs"] == crs and report["issues"]
    x0, y0, x1, y1 = bad.to_crs(crs).total_bounds
    for issue in report["issues"]:
        assert x0 <= issue["x"] <= x1 and y0 <= issue["y"] <= y1, issue
