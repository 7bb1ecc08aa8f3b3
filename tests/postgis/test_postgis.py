"""PostGIS tables as sources and outputs, against a real server (see conftest.py)."""

from __future__ import annotations

import numpy as np
import pytest
from geopandas.testing import assert_geodataframe_equal

from gridkit import LayerError, LayerNotFoundError, load_sample, read_layer, write_layer
from gridkit.cli.main import main
from gridkit.io.atomic import staged
from gridkit.io.files import list_layers, read_table, write_layers


def _rows(server, sql, *params):
    with server.connect() as conn:
        return conn.execute(sql, params).fetchall()


def test_write_and_read_back(postgis_server):
    villages = load_sample()["villages"].to_crs(4547)
    target = postgis_server.url("work.villages")
    written = write_layer(villages, target)
    assert postgis_server.password not in str(written) and "***" in str(written)
    back = read_layer(target)
    assert back.crs.to_epsg() == 4547
    back = back.rename_geometry("geometry")
    assert_geodataframe_equal(back[villages.columns], villages, check_less_precise=True)
    assert _rows(postgis_server, "SELECT srid, type FROM geometry_columns "
                 "WHERE f_table_schema = 'work' AND f_table_name = 'villages'") == \
        [(4547, "POLYGON")]
    indexes = _rows(postgis_server, "SELECT indexdef FROM pg_indexes WHERE schemaname = 'work' "
                    "AND tablename = 'villages'")
    assert any("USING gist (geom)" in i[0] for i in indexes)
    assert "villages" in list_layers(postgis_server.url() + "?schema=work")


def test_a_failed_run_leaves_the_old_table(postgis_server):
    entities = load_sample()["entities"]
    target = postgis_server.url("entities")
    write_layer(entities.head(10), target)
    with pytest.raises(RuntimeError, match="boom"), staged():
        write_layer(entities, target)
        raise RuntimeError("boom")
    assert len(read_layer(target)) == 10
    tables = _rows(postgis_server, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    assert [t for (t,) in tables if "gridkit" in t] == []  # no staging table left behind
    write_layer(entities, target)  # a complete run replaces it
    got = read_layer(target)
    assert len(got) == len(entities)
    assert got["risk"].dtype.kind == "i" and np.array_equal(got["risk"], entities["risk"])


def test_credentials_from_the_environment_and_never_printed(postgis_server, monkeypatch, capsys):
    write_layer(load_sample()["jurisdiction"], postgis_server.url("jurisdiction"))
    bare = postgis_server.url("jurisdiction", password=False)
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", "/nonexistent")
    with pytest.raises(LayerError, match="password") as err:
        read_layer(bare)
    assert postgis_server.password not in str(err.value)
    monkeypatch.setenv("PGPASSWORD", postgis_server.password)
    assert len(read_layer(bare)) == 1
    wrong = postgis_server.url("jurisdiction").replace(postgis_server.password, "wrong-pw")
    monkeypatch.delenv("PGPASSWORD")
    assert main(["repair", wrong, "-o", postgis_server.url("x")]) == 2
    out = capsys.readouterr()
    assert "wrong-pw" not in out.err + out.out and "password authentication failed" in out.err


def test_missing_table_lists_the_tables(postgis_server):
    write_layer(load_sample()["jurisdiction"], postgis_server.url("jurisdiction"))
    with pytest.raises(LayerNotFoundError, match=r"no table public.nope.*'jurisdiction'"):
        read_layer(postgis_server.url("nope"))


def test_round_trip_partition_validate_repair(postgis_server, sample_file, tmp_path, capsys):
    units = tmp_path / "units.gpkg"
    assert main(["units", "--layers", str(sample_file), "-o", str(units)]) == 0
    grids = postgis_server.url("work.grids")
    assert main(["partition", "--units", f"{units}:units", "--weight", "workload_min",
                 "--grids", "8", "-o", grids]) == 0
    printed = capsys.readouterr().out
    assert postgis_server.password not in printed and "***" in printed
    assert len(read_layer(grids)) == 8
    assert len(read_table(postgis_server.url("work.grids_assignment"))) > 8
    assert main(["validate", grids, "--jurisdiction", f"{sample_file}:jurisdiction"]) == 0
    repaired = postgis_server.url("work.grids_repaired")
    assert main(["repair", grids, "--jurisdiction", f"{sample_file}:jurisdiction",
                 "-o", repaired]) == 0
    fixed = read_layer(repaired)
    assert sorted(fixed["grid_id"]) == sorted(read_layer(grids)["grid_id"])
    changes = read_table(postgis_server.url("work.grids_repaired_changes"))
    assert "grid_id" in changes.columns
    assert main(["validate", repaired, "--jurisdiction", f"{sample_file}:jurisdiction"]) == 0
    # the output may not be the input
    assert main(["repair", grids, "-o", grids]) == 2
    assert "is also the input" in capsys.readouterr().err


def test_units_from_a_database_of_layers(postgis_server, tmp_path, sample_file):
    from gridkit.io.sample import SAMPLE_LAYERS

    sample = load_sample()
    office = postgis_server.url() + "?schema=work"
    write_layers({name: sample[name] for name in SAMPLE_LAYERS}, office)
    assert set(SAMPLE_LAYERS) <= set(list_layers(office))
    units = tmp_path / "units.gpkg"
    assert main(["units", "--layers", office, "-o", str(units)]) == 0
    from_files = tmp_path / "units_files.gpkg"
    assert main(["units", "--layers", str(sample_file), "-o", str(from_files)]) == 0
    assert len(read_layer(f"{units}:units")) == len(read_layer(f"{from_files}:units"))


def test_info_lists_the_tables(postgis_server, capsys):
    write_layer(load_sample()["villages"], postgis_server.url("work.info_villages"))
    assert main(["info", postgis_server.url("work.info_villages")]) == 0
    out = capsys.readouterr().out
    assert "info_villages" in out and "EPSG:4326" in out and postgis_server.password not in out
    assert main(["info", postgis_server.url() + "?schema=work"]) == 0
    assert "info_villages" in capsys.readouterr().out
