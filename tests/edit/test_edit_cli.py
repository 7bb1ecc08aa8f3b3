"""`gridkit edit`: one line on stdout, the API served until interrupted, exit codes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

import gridkit as gk
from gridkit.cli.main import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def units_file(edit_units, tmp_path_factory):
    path = tmp_path_factory.mktemp("edit-cli") / "units.gpkg"
    gk.write_layers({"units": edit_units.to_crs(4326)}, path)
    return path


def _start(args):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p))
    proc = subprocess.Popen([sys.executable, "-m", "gridkit", "edit", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=ROOT)
    line = proc.stdout.readline()
    return proc, line


def _call(base: str, token: str, method: str, path: str) -> dict:
    req = urllib.request.Request(base + path, method=method,
                                 headers={"X-Gridkit-Token": token},
                                 data=b"{}" if method == "POST" else None)
    with urllib.request.urlopen(req, timeout=60) as res:
        return json.loads(res.read())


def _stop(proc) -> tuple[int, str, str]:
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out, err


def test_edit_serves_until_interrupted_and_saves(units_file, tmp_path):
    out_file = tmp_path / "edited.gpkg"
    proc, line = _start(["--units", f"{units_file}:units", "--weight", "workload_min",
                         "--grids", "14", "--no-browser", "-o", out_file])
    try:
        assert line.startswith("gridkit edit: serving http://127.0.0.1:"), line
        url = line.split("serving ", 1)[1].strip()
        base, token = url.split("?token=")
        assert len(token) >= 20
        state = _call(base, token, "GET", "api/state")
        assert len(state["grids"]) == 14
        saved = _call(base, token, "POST", "api/save")
        assert Path(saved["path"]) == out_file
    finally:
        code, rest, err = _stop(proc)
    assert code == 0, err
    assert rest == ""  # exactly one line on stdout
    grids = gk.read_layer(out_file, layer="grids")
    assert len(grids) == 14 and grids.crs.to_epsg() == 4326
    assert gk.validate_coverage(grids).summary["overlap"] == 0


def test_edit_starts_from_a_partition_file(units_file, tmp_path):
    plan = tmp_path / "plan.gpkg"
    assert main(["-q", "partition", "--units", f"{units_file}:units", "--weight",
                 "workload_min", "--grids", "12", "-o", str(plan)]) == 0
    proc, line = _start(["--units", f"{units_file}:units", "--weight", "workload_min",
                         "--assignment", f"{plan}:assignment", "--no-browser",
                         "-o", tmp_path / "edited.gpkg"])
    try:
        url = line.split("serving ", 1)[1].strip()
        base, token = url.split("?token=")
        state = _call(base, token, "GET", "api/state")
    finally:
        _stop(proc)
    want = gk.read_layer(plan, layer="grids").set_index("grid_id")
    got = {g["grid_id"]: g for g in state["grids"]}
    assert sorted(got) == sorted(want.index)
    for gid, g in got.items():
        assert g["weight"] == pytest.approx(want.loc[gid, "weight"])
        assert g["units"] == want.loc[gid, "units"]


def test_edit_needs_a_start(units_file, tmp_path, capsys):
    code = main(["edit", "--units", f"{units_file}:units", "--weight", "workload_min",
                 "--no-browser", "-o", str(tmp_path / "x.gpkg")])
    assert code == 2
    assert "--assignment" in capsys.readouterr().err
    assert not (tmp_path / "x.gpkg").exists()



def test_edit_says_when_the_port_is_taken(units_file, tmp_path, capsys):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = main(["-q", "edit", "--units", f"{units_file}:units", "--weight", "workload_min",
                     "--grids", "8", "--port", str(port), "--no-browser",
                     "-o", str(tmp_path / "x.gpkg")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert f"127.0.0.1:{port}" in err and "another port" in err
