"""Grids written back to the input CRS keep their shared edges (issue #16).

The sample is in EPSG:4326; gridkit works in a metric CRS and writes its
results back in degrees. A user validates them as they are, in degrees:
the grids' shared edges must still match there, vertex for vertex.
"""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import shapely

from gridkit import cli

TOPOLOGY = {"edge_mismatch", "gap", "overlap", "invalid_geometry"}


def test_cli_grids_in_degrees_validate_without_topology_issues(tmp_path, capsys, sample_file):
    units, grids = tmp_path / "units.gpkg", tmp_path / "grids.gpkg"
    assert cli.main(["units", "--layers", str(sample_file), "--max-workload", "500",
                     "-o", str(units)]) == 0
    assert cli.main(["partition", "--units", f"{units}:units", "--weight", "workload_min",
                     "--grids", "20", "--roads", f"{sample_file}:roads", "-o", str(grids)]) == 0
    capsys.readouterr()
    written = gpd.read_file(grids, layer="grids")
    assert written.crs.to_epsg() == 4326 and len(written) == 20
    layers = [f"--{n}={sample_file}:{n}" for n in ("jurisdiction", "villages", "buildings")]
    cli.main(["validate", f"{grids}:grids", *layers, "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert report["crs"] == "EPSG:4326"
    found = [(i["kind"], i["detail"]) for i in report["issues"] if i["kind"] in TOPOLOGY]
    assert found == []
    # and GEOS agrees, in degrees
    assert shapely.coverage_is_valid(np.asarray(written.geometry.values))

