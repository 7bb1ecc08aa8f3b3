"""Reading every layer kind from several formats; atomic writing."""

import pandas as pd
import pyogrio
import pytest
from geopandas.testing import assert_geodataframe_equal

from gridkit import (
    LayerError,
    LayerNotFoundError,
    list_layers,
    load_layers,
    parse_source,
    read_layer,
    read_table,
    write_layer,
    write_layers,
)
from gridkit.io.sample import SAMPLE_LAYERS

FORMATS = [".gpkg", ".geojson", ".shp", ".fgb", ".parquet"]


def test_sample_has_all_layers(sample_file):
    assert set(SAMPLE_LAYERS) <= set(list_layers(sample_file))


def test_path_colon_layer(sample_file):
    path, layer = parse_source(f"{sample_file}:roads")
    assert path == sample_file and layer == "roads"
    roads = read_layer(f"{sample_file}:roads")
    assert len(roads) > 1000 and set(roads.geom_type) == {"LineString"}


def test_multi_layer_file_needs_a_layer_name(sample_file):
    with pytest.raises(LayerError, match="name one"):
        read_layer(sample_file)


def test_unknown_layer_lists_the_layers(sample_file):
    with pytest.raises(LayerNotFoundError, match="roads"):
        read_layer(f"{sample_file}:nope")


def test_missing_file():
    with pytest.raises(FileNotFoundError):
        read_layer("/nonexistent/x.gpkg")


@pytest.mark.parametrize("kind", SAMPLE_LAYERS)
@pytest.mark.parametrize("suffix", FORMATS)
def test_every_layer_kind_round_trips_and_loads(tmp_path, sample, kind, suffix):
    gdf = sample[kind]
    if suffix == ".shp":  # shapefile field names are cut at 10 characters
        gdf = gdf.rename(columns=lambda c: c[:10])
    path = write_layer(gdf, tmp_path / f"{kind}{suffix}", layer=kind)
    back = read_layer(path)
    assert len(back) == len(gdf)
    assert back.crs.to_epsg() == 4326
    # checked and projected through the same entry point users call
    layers = load_layers(**{kind: str(path)})
    assert len(layers[kind]) == len(gdf)
    assert layers.crs.to_epsg() == 32635
    if suffix in (".gpkg", ".parquet"):
        assert_geodataframe_equal(back[gdf.columns], gdf, check_dtype=False,
                                  check_less_precise=True)


def test_write_without_extension_is_geopackage(tmp_path, sample):
    out = write_layer(sample["villages"], tmp_path / "out", layer="villages")
    assert out.suffix == ".gpkg"
    assert list_layers(out) == ["villages"]


def test_write_several_layers(tmp_path, sample):
    out = write_layers({"villages": sample["villages"], "roads": sample["roads"]},
                       tmp_path / "x.gpkg")
    assert sorted(list_layers(out)) == ["roads", "villages"]
    with pytest.raises(LayerError, match="holds one layer"):
        write_layers({"a": sample["villages"], "b": sample["roads"]}, tmp_path / "x.geojson")


def test_failed_write_keeps_existing_file(tmp_path, sample, monkeypatch):
    target = tmp_path / "keep.gpkg"
    write_layer(sample["villages"], target, layer="villages")
    before = target.read_bytes()
    real = pyogrio.write_dataframe

    def failing(df, path, layer=None, **kw):
        if layer == "bad":
            raise OSError("disk full")
        return real(df, path, layer=layer, **kw)

    monkeypatch.setattr(pyogrio, "write_dataframe", failing)
    with pytest.raises(OSError, match="disk full"):
        write_layers({"villages": sample["villages"], "bad": sample["roads"]}, target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keep.gpkg"]  # no temp left


def test_unknown_extension(tmp_path, sample):
    with pytest.raises(LayerError, match="extension"):
        write_layer(sample["villages"], tmp_path / "x.xyz")


def test_read_table_csv_and_xlsx(tmp_path):
    df = pd.DataFrame({"name": ["张三", "Li Si"], "phone": ["138 0000 0000", "139"],
                       "grid_id": ["1", "2"]})
    df.to_csv(tmp_path / "staff.csv", index=False)
    df.to_excel(tmp_path / "staff.xlsx", index=False)
    for f in ("staff.csv", "staff.xlsx"):
        back = read_table(tmp_path / f)
        assert back["name"].tolist() == ["张三", "Li Si"]
        assert back["phone"].tolist()[0] == "138 0000 0000"
