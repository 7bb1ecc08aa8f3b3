"""The README's tour runs as written, top to bottom, on the sample: Python and shell.

The Python examples and the shell commands run in the order the README gives
them, in one folder that holds only what the repository commits (``data/``),
with the ``gridkit`` of this checkout: every command must succeed, read only
files an earlier step wrote or that are committed, and write what it says.
The install commands at the top (what CI runs) are not run again.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
#: Commands that report a failed check with exit 1 (documented in the README).
CHECKS = ("validate",)


def tour_blocks() -> list[tuple[str, str]]:
    """``(language, code)`` of every python and bash block after ``## Tour``, in order."""
    text = README.read_text(encoding="utf-8")
    tour = text[text.index("## Tour"):]
    return re.findall(r"```(python|bash)\n(.*?)```", tour, flags=re.S)


def shell_commands(block: str) -> list[str]:
    """The commands of a bash block, continuation lines joined."""
    joined = re.sub(r"[ \t]*\\\n\s*", " ", block)
    return [line.strip() for line in joined.splitlines()
            if line.strip() and not line.strip().startswith("#")]


def output_of(command: str) -> str | None:
    args = shlex.split(command, comments=True)
    for flag in ("-o", "--output"):
        if flag in args:
            return args[args.index(flag) + 1]
    return None


def test_blocks_are_found():
    blocks = tour_blocks()
    shell = [c for lang, b in blocks if lang == "bash" for c in shell_commands(b)]
    assert len(shell) >= 20 and all(c.startswith("gridkit ") for c in shell)
    assert "gridkit demo -o gridkit-demo" in shell
    python = "".join(b for lang, b in blocks if lang == "python")
    assert "gk.build_units" in python and "gk.partition" in python
    assert shell_commands("gridkit a \\\n    --b c   # note\n\ngridkit d\n") == [
        "gridkit a --b c   # note", "gridkit d"]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A folder with what the repository commits for the examples, and a `gridkit` on PATH."""
    shutil.copytree(ROOT / "data", tmp_path / "data",
                    ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    bin_dir = tmp_path / "_bin"
    bin_dir.mkdir()
    shim = bin_dir / "gridkit"
    shim.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m gridkit "$@"\n')
    shim.chmod(0o755)
    monkeypatch.chdir(tmp_path)
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    return tmp_path, env


#: Commands that serve until interrupted: started, driven through their API, then stopped.
SERVERS = ("edit",)


def run_server(command: str, cwd: Path, env: dict) -> None:
    """Start ``gridkit edit`` as written (without opening a browser), save through its
    API, stop it with Ctrl+C: it must print its one line, write its output and exit 0."""
    import json
    import signal
    import urllib.request

    proc = subprocess.Popen(["bash", "-c", f"exec {command} --no-browser"], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("gridkit edit: serving http://127.0.0.1:"), (
            line + proc.stderr.read() if proc.poll() is not None else line)
        url = line.split()[-1]
        base, token = url.split("/?token=")
        request = urllib.request.Request(f"{base}/api/save", data=b"{}", method="POST",
                                         headers={"X-Gridkit-Token": token})
        with urllib.request.urlopen(request, timeout=120) as response:
            assert json.load(response)["path"]
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=60)
    assert code == 0, proc.stderr.read()
    assert (cwd / output_of(command)).exists(), f"{command} did not write its output"


def run_shell(command: str, cwd: Path, env: dict) -> None:
    if command.split()[1] in SERVERS:
        return run_server(command, cwd, env)
    res = subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True,
                         text=True, timeout=900)
    allowed = (0, 1) if command.split()[1] in CHECKS else (0,)
    assert res.returncode in allowed, f"{command}\n{res.stderr}"
    assert "Traceback" not in res.stderr, f"{command}\n{res.stderr}"
    out = output_of(command)
    if out is not None:
        assert (cwd / out).exists(), f"{command} did not write {out}"


@pytest.mark.slow
def test_readme_tour_runs(workdir):
    folder, env = workdir
    scope = {"pd": pd}
    ran = 0
    for lang, block in tour_blocks():
        if lang == "python":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                exec(compile(block, str(README), "exec"), scope)
            continue
        for command in shell_commands(block):
            run_shell(command, folder, env)
            ran += 1
    assert ran >= 20
    result, report = scope["result"], scope["report"]
    assert len(result.grids) == 20
    # the tour's grids carry the standard code, the ids the committed staff table uses
    assert result.grids["grid_id"].str.fullmatch(r"\d{15}").all()
    assert set(scope["staff"]["grid_id"]) == set(result.grids["grid_id"])
    # units split to under a quarter of the target: balanced within 2% of each village's target
    assert result.report.max_deviation <= 0.02
    assert report.summary["gap"] == report.summary["overlap"] == 0
    assert (folder / "map.html").exists() and (folder / "grids.xlsx").exists()
    assert len(scope["res"].routes) == 20
    # the shell chain: the staff table names the grids `gridkit partition` made
    from gridkit.io.files import read_layer, read_table

    grids = read_layer(folder / "grids.gpkg", layer="grids")
    assert set(read_table(folder / "data/staff.csv")["grid_id"]) == set(grids["grid_id"])
    plan = pd.read_csv(folder / "plan.csv", dtype=str)
    assert set(plan["grid_id"]) <= set(grids["grid_id"])
