"""What bad input and bad luck do to gridkit's files (issue 21): the I/O boundary."""

from __future__ import annotations

import shutil

import pandas as pd
import pyogrio
import pytest

from gridkit.errors import LayerError, LayerNotFoundError
from gridkit.io.atomic import staged
from gridkit.io.files import list_layers, read_layer, read_table, write_csv, write_layers


@pytest.fixture
def sample_copy(sample_file, tmp_path):
    path = tmp_path / "in.gpkg"
    shutil.copy(sample_file, path)
    return path


# --- writing into an existing GeoPackage ------------------------------------------------


def test_writing_into_a_geopackage_keeps_its_other_layers(sample_copy, sample):
    before = set(list_layers(sample_copy))
    few = sample["villages"].head(2)
    write_layers({"roads": few, "units": few}, sample_copy)
    assert set(list_layers(sample_copy)) == before | {"units"}
    assert len(read_layer(sample_copy, layer="roads")) == 2  # replaced
    assert len(read_layer(sample_copy, layer="entities")) == len(sample["entities"])  # kept


def test_replace_file_writes_only_the_given_layers(sample_copy, sample):
    write_layers({"units": sample["villages"]}, sample_copy, replace_file=True)
    assert list_layers(sample_copy) == ["units"]


def test_an_existing_target_that_is_not_a_geopackage_is_left_alone(tmp_path, sample):
    target = tmp_path / "notes.gpkg"
    target.write_text("my notes, not a GeoPackage\n")
    with pytest.raises(LayerError, match="notes.gpkg"):
        write_layers({"villages": sample["villages"]}, target)
    assert target.read_text() == "my notes, not a GeoPackage\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.gpkg"]


def test_nested_write_joins_the_outer_set(tmp_path, sample):
    target = tmp_path / "a.gpkg"
    with staged():
        write_layers({"villages": sample["villages"]}, target)
        write_layers({"roads": sample["roads"]}, target)
        assert not target.exists()
    assert sorted(list_layers(target)) == ["roads", "villages"]


def test_a_failure_inside_the_set_leaves_the_folder_as_it_was(tmp_path, sample):
    keep = write_layers({"villages": sample["villages"]}, tmp_path / "keep.gpkg")
    before = keep.read_bytes()
    with pytest.raises(RuntimeError, match="boom"), staged():
        write_layers({"roads": sample["roads"]}, keep)
        write_csv(pd.DataFrame({"a": [1]}), tmp_path / "new" / "t.csv")
        raise RuntimeError("boom")
    assert keep.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.gpkg"]  # no temp, no new/


def test_write_error_names_the_target_not_a_temporary_path(tmp_path, sample, monkeypatch):
    def failing(df, path, **kw):  # what GDAL says when it cannot create a file
        raise pyogrio.errors.DataSourceError(f"Failed to create GPKG file {path}")

    monkeypatch.setattr(pyogrio, "write_dataframe", failing)
    with pytest.raises(LayerError) as info:
        write_layers({"villages": sample["villages"]}, tmp_path / "out.gpkg")
    message = str(info.value)
    assert "out.gpkg" in message and ".tmp" not in message
    assert list(tmp_path.iterdir()) == []


def test_write_csv_is_staged_and_atomic(tmp_path):
    target = tmp_path / "t.csv"
    target.write_text("old\n")
    with pytest.raises(RuntimeError), staged():
        write_csv(pd.DataFrame({"a": [1, 2]}), target)
        raise RuntimeError("later failure")
    assert target.read_text() == "old\n"
    write_csv(pd.DataFrame({"a": [1, 2]}), target)
    assert target.read_text().split() == ["a", "1", "2"]


# --- shapefile sidecars -------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_stale_shapefile_sidecars_are_removed(tmp_path, sample):
    path = tmp_path / "x.shp"
    write_layers({"x": sample["villages"]}, path)
    assert read_layer(path).crs.to_epsg() == 4326
    (tmp_path / "x.qix").write_bytes(b"old spatial index")
    write_layers({"x": sample["villages"].set_crs(None, allow_override=True)}, path)
    assert read_layer(path).crs is None  # not the old .prj's CRS
    assert not (tmp_path / "x.prj").exists() and not (tmp_path / "x.qix").exists()
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".cpg", ".dbf", ".shp", ".shx"]


# --- unreadable inputs ----------------------------------------------------------------


def _bad_inputs(tmp_path, sample_file):
    empty = tmp_path / "empty.gpkg"
    empty.write_bytes(b"")
    truncated = tmp_path / "truncated.gpkg"
    truncated.write_bytes(sample_file.read_bytes()[:1000])
    folder = tmp_path / "folder"
    folder.mkdir()
    text = tmp_path / "text.gpkg"
    text.write_text("this is not a GeoPackage\n")
    broken = tmp_path / "broken.geojson"
    broken.write_text('{"type": "FeatureCollection", "features": [{"type": "Fea')
    txt = tmp_path / "notes.txt"
    txt.write_text("name,phone\n")
    return {"empty": empty, "truncated": truncated, "folder": folder, "text": text,
            "broken": broken, "txt": txt}


KINDS = ["empty", "truncated", "folder", "text", "broken", "txt"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("reader", [read_layer, list_layers, read_table])
def test_unreadable_input_is_a_layer_error_naming_the_file(tmp_path, sample_file, kind, reader):
    path = _bad_inputs(tmp_path, sample_file)[kind]
    with pytest.raises(LayerError) as info:
        reader(path)
    message = str(info.value)
    assert path.name in message
    assert "\n" not in message and "<DRIVER>" not in message


@pytest.mark.parametrize("content", [b"", b"\xff\xfe\x00garbage", b"a,b\n\"unclosed\n"])
@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_unreadable_table_is_a_layer_error(tmp_path, content, suffix):
    if suffix == ".csv" and content == b"\xff\xfe\x00garbage":
        content = b"\x00\xff\xfe\xfa"  # not text in any encoding pandas tries
    path = tmp_path / f"staff{suffix}"
    path.write_bytes(content)
    with pytest.raises(LayerError, match=f"staff{suffix}"):
        read_table(path)


def test_missing_file_for_list_layers():
    with pytest.raises(LayerNotFoundError, match="nope.gpkg"):
        list_layers("/nonexistent/nope.gpkg")


def test_truncated_layer_read_by_name(tmp_path, sample_file):
    path = _bad_inputs(tmp_path, sample_file)["truncated"]
    with pytest.raises(LayerError, match="truncated.gpkg"):
        read_layer(f"{path}:roads")


def test_every_csv_written_from_data_neutralises_formulas(tmp_path):
    import pandas as pd

    from gridkit.io.files import write_csv

    roads = ["=HYPERLINK(\"http://x\")", "@SUM(A1)", "Main St"]
    df = pd.DataFrame({"road": roads, "n": [-1, 2, 3]})
    raw = write_csv(df, tmp_path / "cp.csv").read_bytes()
    rows = pd.read_csv(tmp_path / "cp.csv", dtype=str)
    assert rows["road"].tolist() == ["'=HYPERLINK(\"http://x\")", "'@SUM(A1)", "Main St"]
    assert rows["n"].tolist() == ["-1", "2", "3"]  # numbers stay numbers
    assert raw.count(b"\r\n") == 4  # header and three rows, RFC 4180 line ends
