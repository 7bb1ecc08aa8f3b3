"""What bad input and bad luck do to the CLI's files (issue 21).

Outputs that are also inputs, failures in the middle of writing, interrupted
runs, unreadable inputs, and the options that used to be ignored.
"""

from __future__ import annotations

import shutil
import time
import xml.etree.ElementTree as ET

import pandas as pd
import pyogrio
import pytest

from gridkit.cli.main import main
from gridkit.io.files import list_layers, read_layer, write_layers
from gridkit.synthetic.faults import inject, voronoi_grids


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str) -> bool:
    return err.count("\n") == 1 and "Traceback" not in err


def listing(folder):
    return sorted((p.name, p.read_bytes() if p.is_file() else None) for p in folder.iterdir())


@pytest.fixture(scope="module")
def coverage_file(tmp_path_factory):
    """Synthetic grids with an overlap (`bad`), clean ones (`grids`) and an `assignment`."""
    d = tmp_path_factory.mktemp("cov")
    grids, jur = voronoi_grids(12, seed=3)
    bad, _, _ = inject(grids, jur, "overlap", seed=3)
    assignment = pd.DataFrame({"unit_id": range(12), "grid_id": grids["grid_id"].to_numpy()})
    return write_layers({"grids": grids, "bad": bad, "jurisdiction": jur,
                         "assignment": assignment}, d / "cov.gpkg")


@pytest.fixture(scope="module")
def village_grids(tmp_path_factory, sample_file):
    """The sample's villages as grids, and a staff table."""
    d = tmp_path_factory.mktemp("vg")
    v = read_layer(f"{sample_file}:villages")
    v["grid_id"] = v["code"].astype(str)
    v["village_code"] = v["code"].astype(str)
    path = write_layers({"grids": v}, d / "vg.gpkg")
    staff = d / "staff.csv"
    pd.DataFrame({"name": [f"p{i}" for i in range(len(v))], "phone": ["1"] * len(v),
                  "grid_id": v["grid_id"].tolist()}).to_csv(staff, index=False)
    return path, staff


# --- 1. an output that is also an input -------------------------------------------------


def test_units_into_its_layers_file_adds_the_units_and_keeps_the_inputs(
        sample_file, tmp_path, capsys):
    src = tmp_path / "in.gpkg"
    kept = ("roads", "jurisdiction", "villages", "barriers")
    write_layers({k: read_layer(f"{sample_file}:{k}") for k in kept}, src)
    code, out, err = run(capsys, "-q", "units", "--layers", src, "-o", src)
    assert code == 0, err
    assert set(list_layers(src)) == {*kept, "units", "adjacency"}
    assert len(read_layer(f"{src}:roads")) == len(read_layer(f"{sample_file}:roads"))


def test_units_refuses_to_replace_a_layer_it_reads(sample_file, tmp_path, capsys):
    src = tmp_path / "in.gpkg"
    shutil.copy(sample_file, src)
    before = listing(tmp_path)
    code, _, err = run(capsys, "units", "--layers", src, "-o", src)
    assert code == 2 and one_line_error(err)
    assert "buildings" in err and "another file" in err
    assert listing(tmp_path) == before


def test_validate_into_the_grids_file_keeps_its_layers(coverage_file, tmp_path, capsys):
    g = tmp_path / "g.gpkg"
    shutil.copy(coverage_file, g)
    code, _, err = run(capsys, "validate", f"{g}:bad", "-o", g)
    assert code == 1, err
    assert set(list_layers(g)) == {"grids", "bad", "jurisdiction", "assignment", "issues"}
    assert len(read_layer(f"{g}:issues")) > 0


def test_repair_refuses_to_write_over_the_grids_it_reads(coverage_file, tmp_path, capsys):
    g = tmp_path / "g.gpkg"
    shutil.copy(coverage_file, g)
    before = listing(tmp_path)
    code, _, err = run(capsys, "repair", f"{g}:grids", "-o", g)
    assert code == 2 and one_line_error(err) and "'grids'" in err
    assert listing(tmp_path) == before


def test_repair_into_another_geopackage_keeps_its_other_layers(coverage_file, tmp_path, capsys):
    out = tmp_path / "fixed.gpkg"
    write_layers({"assignment": read_layer(f"{coverage_file}:assignment"),
                  "grids": read_layer(f"{coverage_file}:bad").head(1)}, out)
    code, _, err = run(capsys, "repair", f"{coverage_file}:bad", "-o", out)
    assert code in (0, 1), err
    assert set(list_layers(out)) == {"assignment", "grids"}
    assert len(read_layer(f"{out}:grids")) == 12


def test_schedule_csv_may_not_replace_the_staff_table(sample_file, village_grids, tmp_path,
                                                       capsys):
    grids, staff = village_grids
    table = tmp_path / "plan.csv"
    shutil.copy(staff, table)
    before = listing(tmp_path)
    code, _, err = run(capsys, "schedule", "--roads", f"{sample_file}:roads", "--grids", grids,
                       "--entities", f"{sample_file}:entities", "--staff", table,
                       "-o", tmp_path / "plan.gpkg")
    assert code == 2 and one_line_error(err) and "plan.csv" in err
    assert listing(tmp_path) == before


# --- 2. all of a command's outputs, or none ---------------------------------------------


def test_checkpoints_csv_failure_leaves_the_geopackage(sample_file, tmp_path, capsys):
    out = tmp_path / "cp.gpkg"
    out.write_bytes(b"")  # an existing output (empty: replaceable)
    (tmp_path / "afile").write_text("a file, not a folder")
    before = listing(tmp_path)
    code, _, err = run(capsys, "checkpoints", "--layers", sample_file, "-o", out,
                       "--csv", tmp_path / "afile" / "cp.csv")
    assert code == 2 and one_line_error(err)
    assert listing(tmp_path) == before


def test_repair_change_table_failure_leaves_the_grids(coverage_file, tmp_path, capsys,
                                                      monkeypatch):
    out = tmp_path / "fixed.gpkg"
    write_layers({"grids": read_layer(f"{coverage_file}:grids")}, out)
    before = listing(tmp_path)

    def full_disk(self, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", full_disk)
    code, _, err = run(capsys, "repair", f"{coverage_file}:bad", "-o", out)
    assert code == 2 and one_line_error(err)
    assert "No space left on device" in err and "fixed.changes.csv" in err
    assert ".tmp" not in err
    assert listing(tmp_path) == before


def test_route_gpx_failure_leaves_the_routes(sample_file, village_grids, tmp_path, capsys,
                                             monkeypatch):
    grids, _ = village_grids
    out = tmp_path / "routes.gpkg"
    out.write_bytes(b"")
    before = listing(tmp_path)

    def broken(self, *args, **kwargs):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(ET.ElementTree, "write", broken)
    code, _, err = run(capsys, "route", "--roads", f"{sample_file}:roads", "--grids", grids,
                       "-o", out)
    assert code == 2 and one_line_error(err)
    assert listing(tmp_path) == before


@pytest.mark.parametrize("failure", [KeyboardInterrupt, OSError])
def test_interrupted_write_leaves_the_folder_as_it_was(sample_file, tmp_path, capsys,
                                                       monkeypatch, failure):
    out = tmp_path / "cp.gpkg"
    write_layers({"old": read_layer(f"{sample_file}:villages")}, out)
    before = listing(tmp_path)
    real = pyogrio.write_dataframe
    calls = []

    def once_then_fail(df, path, **kwargs):
        calls.append(kwargs.get("layer"))
        if len(calls) > 1:
            raise failure("interrupted")
        return real(df, path, **kwargs)

    monkeypatch.setattr(pyogrio, "write_dataframe", once_then_fail)
    code, _, err = run(capsys, "checkpoints", "--layers", sample_file, "-o", out)
    assert calls == ["checkpoints", "villages"]
    assert code == (130 if failure is KeyboardInterrupt else 2)
    assert listing(tmp_path) == before  # no .cp.gpkg.XXXX.tmp/ left either


# --- 4. input errors: one line, exit 2 ---------------------------------------------------


def test_garbage_crs_is_one_line_exit_2(sample_file, tmp_path, capsys):
    code, _, err = run(capsys, "checkpoints", "--layers", sample_file, "--crs", "garbage",
                       "-o", tmp_path / "cp.gpkg")
    assert code == 2 and one_line_error(err) and "--crs" in err and "garbage" in err
    assert list(tmp_path.iterdir()) == []


def test_output_in_a_folder_that_cannot_exist_is_one_line_exit_2(coverage_file, tmp_path,
                                                                 capsys):
    (tmp_path / "afile").write_text("x")
    code, _, err = run(capsys, "validate", f"{coverage_file}:bad", "-o",
                       tmp_path / "afile" / "issues.gpkg")
    assert code == 2 and one_line_error(err)
    assert [p.name for p in tmp_path.iterdir()] == ["afile"]


# --- 6. options that were ignored; cheap checks first; plain messages ------------------


@pytest.mark.parametrize("tiles", ["0", "-2"])
def test_validate_refuses_tiles_below_one(coverage_file, capsys, tiles):
    code, _, err = run(capsys, "validate", f"{coverage_file}:grids", "--tiles", tiles)
    assert code == 2 and one_line_error(err) and "--tiles" in err


def test_validate_without_issues_replaces_the_previous_issues(coverage_file, tmp_path, capsys):
    out = tmp_path / "issues.gpkg"
    assert run(capsys, "validate", f"{coverage_file}:bad", "-o", out)[0] == 1
    assert len(read_layer(f"{out}:issues")) > 0
    code, text, err = run(capsys, "validate", f"{coverage_file}:grids", "-o", out)
    assert code == 0, err
    assert len(read_layer(f"{out}:issues")) == 0
    assert "no issue" in text + err and "issues.gpkg" in text + err


def test_validate_json_stays_json_when_writing_no_issues(coverage_file, tmp_path, capsys):
    import json

    code, text, _ = run(capsys, "validate", f"{coverage_file}:grids", "--format", "json",
                        "-o", tmp_path / "i.gpkg")
    assert code == 0 and json.loads(text)["valid"] is True


@pytest.mark.parametrize("month", ["2024-13", "May", "2024-5-1"])
def test_schedule_bad_month_fails_before_reading(sample_file, village_grids, tmp_path, capsys,
                                                 month):
    grids, staff = village_grids
    start = time.perf_counter()
    code, _, err = run(capsys, "schedule", "--roads", f"{sample_file}:roads", "--grids", grids,
                       "--entities", f"{sample_file}:entities", "--staff", staff,
                       "--month", month, "-o", tmp_path / "plan.gpkg")
    assert time.perf_counter() - start < 0.5
    assert code == 2 and one_line_error(err) and "--month" in err and month in err
    assert list(tmp_path.iterdir()) == []


def test_schedule_bad_holiday_fails_before_reading(tmp_path, capsys):
    code, _, err = run(capsys, "schedule", "--roads", tmp_path / "missing.gpkg", "--grids", "g",
                       "--entities", "e", "--staff", "s", "--holiday", "2024-02-30",
                       "-o", tmp_path / "plan.gpkg")
    assert code == 2 and one_line_error(err) and "--holiday" in err


@pytest.mark.parametrize("command", [
    ["units", "--layers", "{sample}"],
    ["partition", "--units", "{sample}:villages", "--weight", "x", "--grids", "2"],
    ["checkpoints", "--layers", "{sample}"],
    ["validate", "{sample}:villages"],
    ["repair", "{sample}:villages"],
    ["diff", "{sample}:villages", "{sample}:villages"],
])
def test_unsupported_output_extension_fails_at_once(sample_file, tmp_path, capsys, command):
    argv = [a.format(sample=sample_file) for a in command]
    start = time.perf_counter()
    code, _, err = run(capsys, *argv, "-o", tmp_path / "out.xyz")
    assert time.perf_counter() - start < 0.5
    assert code == 2 and one_line_error(err) and "out.xyz" in err and "extension" in err
    assert list(tmp_path.iterdir()) == []


def test_warnings_and_summaries_show_plain_numbers(sample_file, tmp_path, capsys):
    """A unit id is printed as 114, not as numpy's repr np.int64(114)."""
    code, _, _ = run(capsys, "-q", "units", "--layers", sample_file, "-o", tmp_path / "u.gpkg")
    assert code == 0
    units = read_layer(f"{tmp_path / 'u.gpkg'}:units")
    units["unit_id"] = range(len(units))
    units.loc[units.index[114], "workload_min"] = 1e6  # one unit heavier than a grid
    write_layers({"units": units}, tmp_path / "heavy.gpkg")
    code, out, err = run(capsys, "partition", "--units", f"{tmp_path / 'heavy.gpkg'}:units",
                         "--weight", "workload_min", "--grids", "10", "-o", tmp_path / "p.gpkg")
    assert code == 0
    assert "warning: unit 114 weighs" in out  # partition's warnings, in full, once
    assert "unit 114 weighs" not in err and "result.report.warnings" not in err
    assert "np." not in out + err
