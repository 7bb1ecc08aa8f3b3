"""Every subcommand against inputs it cannot read (issue 21).

Each command is run with one input replaced by a missing file, an empty file,
a truncated GeoPackage, a folder, text in a ``.gpkg``, a ``.txt`` and broken
GeoJSON. Every run must end with exit code 2 and exactly one line on stderr
naming the file, without a traceback, and leave the folder (including an
existing output given with ``-o``) exactly as it was.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gridkit.cli.commands import ORDER
from gridkit.cli.main import main
from gridkit.io.files import read_layer, write_layers

KINDS = ("missing", "empty", "truncated", "folder", "text", "txt", "geojson")

# the command line per subcommand: {bad} is the unreadable input, {out} the output
# (an existing file, or for a folder output an existing folder with a file in it),
# {sample} the bundled sample, {grids} the sample's villages as grids, {staff} a table
CASES = {
    "info": ["info", "{bad}"],
    "osm": ["osm", "{bad}", "-o", "{out}"],
    "osm-clip": ["osm", "{sample}", "--clip", "{bad}", "-o", "{out}"],
    "units": ["units", "--layers", "{bad}", "-o", "{out}"],
    "units-roads": ["units", "--roads", "{bad}", "--jurisdiction", "{sample}:jurisdiction",
                    "-o", "{out}"],
    "partition": ["partition", "--units", "{bad}", "--weight", "workload_min", "--grids", "3",
                  "-o", "{out}"],
    "validate": ["validate", "{bad}", "-o", "{out}"],
    "validate-staff": ["validate", "{grids}", "--staff", "{bad}", "-o", "{out}"],
    "shard": ["shard", "{bad}", "--overwrite", "-o", "{outdir}"],
    "assign": ["assign", "{bad}", "{grids}", "-o", "{out}"],
    "repair": ["repair", "{bad}", "-o", "{out}"],
    "diff": ["diff", "{grids}", "{bad}", "-o", "{out}"],
    "route": ["route", "--roads", "{bad}", "--grids", "{grids}", "-o", "{out}"],
    "schedule": ["schedule", "--roads", "{sample}:roads", "--grids", "{grids}",
                 "--entities", "{sample}:entities", "--staff", "{bad}", "-o", "{out}"],
    "reach": ["reach", "--facilities", "{bad}", "--roads", "{sample}:roads",
              "--entities", "{sample}:entities", "--max-distance", "500", "-o", "{out}"],
    "checkpoints": ["checkpoints", "--layers", "{bad}", "-o", "{out}"],
    "map": ["map", "--grids", "{bad}", "-o", "{html}"],
    "report": ["report", "--grids", "{bad}", "-o", "{outdir}"],
}


def test_every_subcommand_is_in_the_table():
    assert {c.split("-")[0] for c in CASES} | {"demo"} == set(ORDER)


@pytest.fixture(scope="module")
def grids(tmp_path_factory, sample_file):
    v = read_layer(f"{sample_file}:villages")
    v["grid_id"] = v["code"].astype(str)
    v["village_code"] = v["code"].astype(str)
    return write_layers({"grids": v}, tmp_path_factory.mktemp("g") / "vg.gpkg")


def make_bad(folder: Path, kind: str, sample_file: Path) -> Path:
    if kind == "missing":
        return folder / "missing.gpkg"
    if kind == "empty":
        path = folder / "empty.gpkg"
        path.write_bytes(b"")
    elif kind == "truncated":
        path = folder / "truncated.gpkg"
        path.write_bytes(sample_file.read_bytes()[:1000])
    elif kind == "folder":
        path = folder / "folder"
        path.mkdir()
    elif kind == "text":
        path = folder / "text.gpkg"
        path.write_text("this is not a GeoPackage\n")
    elif kind == "txt":
        path = folder / "notes.txt"
        path.write_text("name,phone,grid_id\nsomeone,123,1\n")
    else:
        path = folder / "broken.geojson"
        path.write_text('{"type": "FeatureCollection", "features": [{"type": "Feat')
    return path


def snapshot(folder: Path) -> list:
    return sorted((str(p.relative_to(folder)), p.read_bytes() if p.is_file() else None)
                  for p in folder.rglob("*"))


def command_line(case: str, tmp_path: Path, kind: str, sample_file: Path, grids: Path):
    bad = make_bad(tmp_path, kind, sample_file)
    out = tmp_path / "out.gpkg"  # an existing, valid output
    write_layers({"previous": read_layer(f"{sample_file}:villages")}, out)
    html = tmp_path / "map.html"
    html.write_text("<html>previous map</html>")
    outdir = tmp_path / "outdir"
    outdir.mkdir()
    (outdir / "previous.txt").write_text("previous output")
    staff = tmp_path / "staff.csv"
    staff.write_text("name,phone,grid_id\nsomeone,123,1\n")
    values = dict(bad=bad, out=out, html=html, outdir=outdir, sample=sample_file,
                  grids=grids, staff=staff)
    return bad, [a.format(**values) for a in CASES[case]]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_unreadable_input(case, kind, tmp_path, sample_file, grids, capsys):
    bad, argv = command_line(case, tmp_path, kind, sample_file, grids)
    before = snapshot(tmp_path)
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith(f"gridkit {argv[0]}: "), err
    assert "Traceback" not in err and bad.name in err, err
    assert ".tmp" not in err and "<DRIVER>" not in err, err
    assert snapshot(tmp_path) == before


def test_demo_output_that_is_a_file(tmp_path, capsys):
    out = tmp_path / "demo"
    out.write_text("a file where the demo folder should go")
    before = snapshot(tmp_path)
    code = main(["demo", "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err and "demo" in err
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(("case", "kind"), [("info", "empty"), ("units", "truncated"),
                                            ("schedule", "txt"), ("map", "folder")])
def test_the_real_process_behaves_the_same(case, kind, tmp_path, sample_file, grids):
    bad, argv = command_line(case, tmp_path, kind, sample_file, grids)
    before = snapshot(tmp_path)
    res = subprocess.run([sys.executable, "-m", "gridkit", *argv], capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 2, res.stderr
    assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr, res.stderr
    assert bad.name in res.stderr
    assert snapshot(tmp_path) == before
