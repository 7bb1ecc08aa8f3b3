"""Shapefile text encodings (GB18030 without .cpg) and CRSs declared for layers without one."""

from __future__ import annotations

import logging

import pyogrio
import pytest

from gridkit import GridkitWarning, load_sample, read_layer, sample_path, write_layer
from gridkit.cli.main import main
from gridkit.io.encoding import shapefile_encoding

NAMES = ["东风村", "红旗社区", "𠀀家庄"]  # the last: a character GBK lacks, GB18030 has


@pytest.fixture
def gb_villages(tmp_path):
    villages = load_sample()["villages"].head(3).copy()
    villages["名称"] = NAMES
    path = tmp_path / "villages.shp"
    pyogrio.write_dataframe(villages, path, encoding="GB18030")
    (tmp_path / "villages.cpg").unlink()  # as desktop GIS exports it
    return path


def test_gb18030_shapefile_without_cpg_reads_its_chinese_names(gb_villages, caplog):
    assert pyogrio.read_dataframe(gb_villages).columns[-2] != "名称"  # GDAL alone: mojibake
    with caplog.at_level(logging.WARNING):
        villages = read_layer(gb_villages)
    assert villages["名称"].tolist() == NAMES
    assert "read as GB18030" in caplog.text and len(caplog.records) == 1


def test_encoding_option_overrides(tmp_path, capsys):
    villages = load_sample()["villages"].head(2).assign(nimi=["Töölö", "Kallio"])
    path = tmp_path / "fi.shp"
    pyogrio.write_dataframe(villages, path, encoding="ISO-8859-1")
    (tmp_path / "fi.cpg").unlink()
    assert read_layer(path)["nimi"].iloc[0] != "Töölö"  # not UTF-8: taken as GB18030
    assert read_layer(path, encoding="ISO-8859-1")["nimi"].tolist() == ["Töölö", "Kallio"]
    out = tmp_path / "assigned.gpkg"
    capsys.readouterr()  # what the reads above logged
    assert main(["assign", f"{sample_path()}:entities", str(path), "--id-column", "nimi",
                 "--encoding", "ISO-8859-1", "-o", str(out)]) == 0
    assert "GB18030" not in capsys.readouterr().err
    assert set(read_layer(out)["nimi"].dropna()) <= {"Töölö", "Kallio"}


def test_cpg_is_honoured_and_utf8_needs_no_guess(gb_villages, tmp_path):
    (tmp_path / "villages.cpg").write_text("GB18030")
    assert shapefile_encoding(gb_villages) is None  # GDAL reads the .cpg itself
    assert read_layer(gb_villages)["名称"].tolist() == NAMES
    villages = load_sample()["villages"].head(3).assign(名称=NAMES)
    out = write_layer(villages, tmp_path / "utf8" / "v.shp")
    assert out.with_suffix(".cpg").read_text().strip().upper().replace("-", "") == "UTF8"
    out.with_suffix(".cpg").unlink()
    assert shapefile_encoding(out) == "UTF-8"  # GDAL alone would take it as Latin-1
    assert read_layer(out)["名称"].tolist() == NAMES


def test_cli_assigns_to_gb18030_villages_by_their_chinese_id(gb_villages, tmp_path, capsys):
    out = tmp_path / "assigned.gpkg"
    assert main(["assign", f"{sample_path()}:entities", str(gb_villages), "--id-column", "名称",
                 "-o", str(out)]) == 0
    assert "read as GB18030" in capsys.readouterr().err
    names = read_layer(out)["名称"]
    assert set(names.dropna()) == set(NAMES) and names.notna().sum() > 10


def test_declared_crs_for_a_shapefile_without_prj(tmp_path):
    villages = load_sample()["villages"].to_crs(32635)
    path = write_layer(villages, tmp_path / "v.shp")
    path.with_suffix(".prj").unlink()
    assert read_layer(path).crs is None
    assert read_layer(path, crs="EPSG:32635").crs.to_epsg() == 32635
    other = write_layer(villages, tmp_path / "w.gpkg")
    with pytest.warns(GridkitWarning, match="was declared"):
        assert read_layer(other, crs="EPSG:3067").crs.to_epsg() == 3067


def test_cli_source_crs(tmp_path, capsys, sample_file):
    jurisdiction = write_layer(load_sample()["jurisdiction"].to_crs(32635), tmp_path / "j.shp")
    jurisdiction.with_suffix(".prj").unlink()
    args = ["units", "--jurisdiction", str(jurisdiction), "--roads", f"{sample_file}:roads",
            "-o", str(tmp_path / "units.gpkg")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "no CRS" in err and "--source-crs" in err
    assert main([*args, "--source-crs", "jurisdiction=EPSG:32635"]) == 0
    assert len(read_layer(tmp_path / "units.gpkg:units")) > 10
