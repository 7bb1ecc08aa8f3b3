"""Tables of points: an office's XLSX/CSV register read where a point layer is expected.

The sample's villages and entities (central Helsinki, OSM) are moved, shape for
shape, into the CGCS2000 Gauss-Krüger zone of Hangzhou (EPSG:4549), so that the
GCJ-02/BD-09 shifts apply; the register holds the entities' coordinates as a
Chinese web map's geocoder gives them.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from gridkit import GridkitWarning, load_sample, read_layer, read_table
from gridkit.cli.main import main
from gridkit.errors import CRSError, MissingColumnError
from gridkit.gcj02 import gcj02_to_bd09, gcj02_to_wgs84, wgs84_to_gcj02
from gridkit.io.headers import credit_grade, risk_class
from gridkit.io.options import reading
from gridkit.io.points import UNLOCATED


def _to_china(gdf: gpd.GeoDataFrame, origin) -> gpd.GeoDataFrame:
    """``gdf`` moved rigidly (in metres) to around Hangzhou, back in EPSG:4326."""
    metric = gdf.to_crs(32635)
    geoms = shapely.transform(metric.geometry.values,
                              lambda xy: xy - origin + np.array([500_000.0, 3_340_000.0]))
    return gpd.GeoDataFrame(metric.drop(columns="geometry"), geometry=geoms,
                            crs=4549).to_crs(4326)


@pytest.fixture(scope="module")
def china():
    sample = load_sample()
    origin = np.array(sample["villages"].to_crs(32635).union_all().centroid.coords[0])
    villages = _to_china(sample["villages"], origin)
    entities = _to_china(sample["entities"], origin).head(400).reset_index(drop=True)
    return villages, entities


def _truth(entities, villages) -> pd.Series:
    joined = gpd.sjoin(entities[["entity_id", "geometry"]], villages[["code", "geometry"]],
                       predicate="within", how="left")
    return joined.drop_duplicates("entity_id").set_index("entity_id")["code"]


def _register(entities, lon, lat) -> pd.DataFrame:
    return pd.DataFrame({
        "企业名称": entities["name"].fillna("无名").to_numpy(),
        "统一社会信用代码": entities["entity_id"].to_numpy(),
        "地址": "某街道",
        "类别": entities["category"].to_numpy(),
        "风险等级": np.array(["一类", "二类", "三类", "高", "2", "低"])[np.arange(len(lon)) % 6],
        "信用等级": np.array(["A级", "B", "c"])[np.arange(len(lon)) % 3],
        "经度": np.round(lon, 7), "纬度": np.round(lat, 7),
    })


@pytest.fixture(scope="module")
def gcj_register(china, tmp_path_factory):
    villages, entities = china
    lon, lat = wgs84_to_gcj02(entities.geometry.x.to_numpy(), entities.geometry.y.to_numpy())
    table = _register(entities, lon, lat)
    table.loc[[5, 17], "经度"] = np.nan  # the geocoder found nothing
    table["纬度"] = table["纬度"].astype(object)
    table.loc[30, "纬度"] = "未知"
    folder = tmp_path_factory.mktemp("register")
    path = folder / "台账.xlsx"
    table.to_excel(path, index=False)
    villages.to_file(folder / "villages.gpkg", layer="villages")
    return path, folder / "villages.gpkg", table


def test_xlsx_register_in_gcj02_lands_in_the_right_villages(china, gcj_register, tmp_path, capsys):
    villages, entities = china
    register, villages_file, table = gcj_register
    out = tmp_path / "assigned.gpkg"
    code = main(["assign", str(register), f"{villages_file}:villages", "--id-column", "code",
                 "--coords", "gcj02", "-o", str(out)])
    assert code == 0
    printed = capsys.readouterr()
    assert "3 row(s)" in printed.out and "7, 19, 32" in printed.out  # the command's report
    assert "3 row(s) without usable coordinates" in printed.err  # and the warning
    assert "[7, 19, 32]" in printed.err
    result = read_layer(out).set_index("统一社会信用代码")
    # by hand: the GCJ-02 numbers shifted back with gcj02_to_wgs84, then a spatial join
    ok = table.drop(index=[5, 17, 30])
    lon, lat = gcj02_to_wgs84(ok["经度"].astype(float), ok["纬度"].astype(float))
    by_hand = gpd.GeoDataFrame({"entity_id": ok["统一社会信用代码"].to_numpy()},
                               geometry=gpd.points_from_xy(lon, lat), crs=4326)
    expected = _truth(by_hand, villages)
    assert len(result) == len(table) - 3
    assert (result.loc[expected.index, "code"] == expected).all()
    # and the truth the register came from
    truth = _truth(entities, villages)
    assert (result["code"] == truth.loc[result.index]).mean() > 0.995
    # every other column is kept; the Chinese headers became gridkit's names
    assert {"name", "address", "category", "risk", "credit"} <= set(result.columns)
    assert sorted(result["risk"].unique().tolist()) == [1, 2, 3]
    assert set(result["credit"]) == {"A", "B", "C"}


def test_without_coords_the_gcj02_offset_misplaces_entities(china, gcj_register):
    villages, entities = china
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridkitWarning)
        raw = read_layer(gcj_register[0])
        shifted = read_layer(gcj_register[0], coords="gcj02")
    truth = _truth(entities, villages)
    wrong = (_truth(raw.rename(columns={"统一社会信用代码": "entity_id"}), villages)
             != truth.loc[raw["统一社会信用代码"]].to_numpy()).mean()
    right = (_truth(shifted.rename(columns={"统一社会信用代码": "entity_id"}), villages)
             != truth.loc[shifted["统一社会信用代码"]].to_numpy()).mean()
    assert wrong > 0.05 and right < 0.005
    metres = gpd.GeoSeries(shifted.geometry.values, crs=4326).to_crs(4549).distance(
        entities.set_index("entity_id").loc[shifted["统一社会信用代码"]].to_crs(4549)
        .geometry.reset_index(drop=True))
    assert metres.max() < 0.05  # 7 decimals in the register: about a centimetre


def test_bd09_register_csv(china, tmp_path):
    villages, entities = china
    g_lon, g_lat = wgs84_to_gcj02(entities.geometry.x.to_numpy(), entities.geometry.y.to_numpy())
    lon, lat = gcj02_to_bd09(g_lon, g_lat)
    table = _register(entities, lon, lat).rename(columns={"经度": "LNG", "纬度": "Lat"})
    path = tmp_path / "register.csv"
    table.to_csv(path, index=False, encoding="utf-8-sig")  # as Excel saves CSV
    points = read_layer(path, coords="bd09")
    assert points.attrs[UNLOCATED] == []
    truth = _truth(entities, villages)
    got = _truth(points.rename(columns={"统一社会信用代码": "entity_id"}), villages)
    assert (got == truth.loc[got.index]).mean() > 0.995
    wrong = _truth(read_layer(path, coords="gcj02").rename(
        columns={"统一社会信用代码": "entity_id"}), villages)
    assert (wrong != truth.loc[wrong.index]).mean() > 0.05  # BD-09 is not GCJ-02


def test_projected_table_and_named_columns(china, tmp_path):
    villages, entities = china
    metric = entities.to_crs(4547)
    table = pd.DataFrame({"id": entities["entity_id"], "E": metric.geometry.x,
                          "N": metric.geometry.y})
    path = tmp_path / "points.csv"
    table.to_csv(path, index=False)
    with pytest.raises(MissingColumnError, match="--x COL --y COL"):
        read_layer(path)
    with pytest.raises(CRSError, match="--crs-of-table"):
        read_layer(path, x="E", y="N")
    points = read_layer(path, x="E", y="N", crs="EPSG:4547")
    assert points.crs.to_epsg() == 4547
    assert points.geometry.distance(metric.geometry.reset_index(drop=True)).max() < 1e-3
    with reading(x="E", y="N", table_crs="EPSG:4547"):
        assert len(read_layer(path)) == len(entities)


def test_cli_crs_of_table_and_x_y(china, tmp_path, capsys):
    villages, entities = china
    metric = entities.to_crs(4547)
    pd.DataFrame({"E": metric.geometry.x, "N": metric.geometry.y}).to_csv(
        tmp_path / "p.csv", index=False)
    villages.to_file(tmp_path / "v.gpkg")
    code = main(["assign", str(tmp_path / "p.csv"), str(tmp_path / "v.gpkg"), "--id-column",
                 "code", "--x", "E", "--y", "N", "--crs-of-table", "EPSG:4547",
                 "-o", str(tmp_path / "a.gpkg")])
    assert code == 0
    assert f"{len(entities)} feature(s)" in capsys.readouterr().out


def test_staff_headers_and_grades():
    staff = pd.DataFrame({"姓名": ["张三"], "联系电话": ["13800000000"], "网格编码": ["G1"]})
    from gridkit.io.headers import apply_aliases

    assert apply_aliases(staff).columns.tolist() == ["name", "phone", "grid_id"]
    assert [risk_class(v) for v in ("一类", "二类", "三类", "1", "3", "高", "中", "低风险")] == \
        [1, 2, 3, 1, 3, 1, 2, 3]
    assert [credit_grade(v) for v in ("A", "B级", "c", "AA")] == ["A", "B", "C", None]


def test_unknown_grades_are_reported_with_their_rows(tmp_path):
    pd.DataFrame({"名称": ["a", "b", "c"], "风险等级": ["一类", "极高", ""],
                  "信用等级": ["A", "A", "X"]}).to_csv(tmp_path / "t.csv", index=False)
    with pytest.warns(GridkitWarning) as record:
        table = read_table(tmp_path / "t.csv")
    text = " ".join(str(w.message) for w in record)
    assert "unknown risk value(s) ['极高']" in text and "row(s) [3]" in text
    assert "unknown credit value(s) ['X']" in text and "row(s) [4]" in text
    assert table["risk"].tolist()[0] == 1 and table["risk"].isna().sum() == 2


def test_staff_xlsx_in_chinese_is_read_as_staff(tmp_path):
    from gridkit.layers import check_staff

    pd.DataFrame({"姓名": ["张三", "李四"], "手机": ["1", "2"], "网格编码": ["G1", "G2"]}).to_excel(
        tmp_path / "staff.xlsx", index=False)
    assert len(check_staff(read_table(tmp_path / "staff.xlsx"))) == 2


def test_coords_shifts_a_layer_digitised_on_baidu_tiles(china, tmp_path):
    from gridkit.gcj02 import layer_to_wgs84

    villages, _ = china

    def to_bd09(xy):
        lon, lat = wgs84_to_gcj02(xy[:, 0], xy[:, 1])
        return np.column_stack(gcj02_to_bd09(lon, lat))

    drawn = villages.set_geometry(shapely.transform(villages.geometry.values, to_bd09))
    path = tmp_path / "drawn.gpkg"
    drawn.to_file(path)
    back = read_layer(path, coords="bd09")
    assert back.geom_equals_exact(villages.geometry, tolerance=1e-7).all()  # ~1 cm
    assert not read_layer(path).geom_equals_exact(villages.geometry, tolerance=1e-4).any()
    with pytest.raises(CRSError, match="longitude/latitude"):
        layer_to_wgs84(villages.to_crs(4549), "gcj02")


def test_csv_saved_by_excel_in_gb18030(china, tmp_path, caplog):
    import logging

    _, entities = china
    lon, lat = entities.geometry.x.to_numpy(), entities.geometry.y.to_numpy()
    path = tmp_path / "register.csv"
    _register(entities, lon, lat).to_csv(path, index=False, encoding="gb18030")
    with caplog.at_level(logging.WARNING):
        points = read_layer(path)
    assert "read as GB18030" in caplog.text
    assert {"name", "category", "risk", "credit", "address"} <= set(points.columns)
    assert len(points) == len(entities)


def test_buildings_as_points_with_households(tmp_path):
    from gridkit.layers import check_layer

    sample = load_sample()["buildings"].head(5)
    point = sample.representative_point()
    pd.DataFrame({"名称": ["甲", "乙", "丙", "丁", "戊"], "户数": ["12", "8户", "", "多", "3"],
                  "lng": point.x, "lat": point.y}).to_csv(tmp_path / "b.csv", index=False)
    with pytest.warns(GridkitWarning, match=r"unknown households value\(s\) \['多'\].*\[5\]"):
        buildings = check_layer(read_layer(tmp_path / "b.csv"), "buildings")
    assert buildings["households"].tolist()[:2] == [12, 8]
    assert buildings["households"].isna().sum() == 2


def test_swapped_columns_are_named(tmp_path):
    pd.DataFrame({"经度": ["30.27", "30.28"], "纬度": ["120.15", "120.16"]}).to_csv(
        tmp_path / "t.csv", index=False)
    with pytest.raises(CRSError, match="other way round.*--x 纬度 --y 经度"):
        read_layer(tmp_path / "t.csv")
    assert len(read_layer(tmp_path / "t.csv", x="纬度", y="经度")) == 2
