"""Input checks: every bad input gets its own error type and a message with the fix."""

import warnings

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, Polygon

from gridkit import (
    DuplicateIdError,
    EmptyLayerError,
    GeometryTypeError,
    GridkitWarning,
    InvalidGeometryError,
    InvalidValueError,
    LayerError,
    MissingColumnError,
    MissingCRSError,
    NullGeometryError,
    check_layer,
    check_staff,
    load_layers,
)

BOWTIE = Polygon([(0, 0), (10, 10), (10, 0), (0, 10)])


def test_sample_layers_pass(sample):
    for kind, gdf in sample.items():
        with warnings.catch_warnings():
            warnings.simplefilter("error", GridkitWarning)
            out = check_layer(gdf, kind)
        assert len(out) == len(gdf)


def test_errors_subclass_valueerror():
    for cls in (MissingCRSError, GeometryTypeError, EmptyLayerError, MissingColumnError,
                DuplicateIdError, NullGeometryError, InvalidGeometryError, InvalidValueError):
        assert issubclass(cls, ValueError)


def test_missing_crs(sample):
    roads = sample["roads"].set_crs(None, allow_override=True)
    with pytest.raises(MissingCRSError, match="set_crs"):
        check_layer(roads, "roads")


def test_wrong_geometry_type_names_layer_and_rows(sample):
    with pytest.raises(GeometryTypeError, match=r"villages: expected Polygon.*LineString"):
        check_layer(sample["roads"].assign(code=range(len(sample["roads"]))), "villages")
    with pytest.raises(GeometryTypeError, match="representative_point"):
        check_layer(sample["buildings"], "entities")


def test_empty_layer(sample):
    with pytest.raises(EmptyLayerError, match="empty"):
        check_layer(sample["roads"].iloc[:0], "roads")


def test_missing_required_column(sample):
    with pytest.raises(MissingColumnError, match=r"\['code'\]"):
        check_layer(sample["villages"].drop(columns="code"), "villages")


def test_duplicate_ids(sample):
    v = sample["villages"].copy()
    v.loc[1, "code"] = v.loc[0, "code"]
    with pytest.raises(DuplicateIdError, match=v.loc[0, "code"]):
        check_layer(v, "villages")


def test_null_geometries(sample):
    e = sample["entities"].copy()
    e.loc[[3, 7], "geometry"] = None
    with pytest.raises(NullGeometryError, match=r"2 row\(s\).*\[3, 7\]"):
        check_layer(e, "entities")


def test_z_coordinates_dropped_with_warning():
    g = gpd.GeoDataFrame(geometry=[LineString([(0, 0, 5), (1, 1, 6)])], crs=3857)
    with pytest.warns(GridkitWarning, match="Z coordinates"):
        out = check_layer(g, "roads")
    assert not out.has_z.any()
    assert g.has_z.all()  # the caller's frame is untouched


def test_invalid_geometry_repaired_or_refused():
    g = gpd.GeoDataFrame({"code": ["a", "b"]},
                         geometry=[BOWTIE, Polygon([(20, 0), (30, 0), (30, 10)])], crs=3857)
    with pytest.warns(GridkitWarning, match="repaired 1 invalid"):
        out = check_layer(g, "villages")
    assert out.is_valid.all() and out.area.iloc[0] == pytest.approx(50)
    assert not g.is_valid.iloc[0]  # input untouched
    with pytest.raises(InvalidGeometryError, match="strict"):
        check_layer(g, "villages", strict=True)


def test_risk_and_credit_values(sample):
    e = sample["entities"].copy()
    e.loc[0, "risk"] = 4
    with pytest.raises(InvalidValueError, match="'risk' must be 1, 2 or 3"):
        check_layer(e, "entities")
    e = sample["entities"].copy()
    e["credit"] = e["credit"].astype(object)
    e.loc[0, "credit"] = "D"
    with pytest.raises(InvalidValueError, match="A, B or C"):
        check_layer(e, "entities")


def test_not_a_geodataframe():
    with pytest.raises(LayerError, match="GeoDataFrame"):
        check_layer(pd.DataFrame({"a": [1]}), "roads")


def test_staff_table():
    ok = pd.DataFrame({"name": ["A"], "phone": ["1"], "grid_id": ["g1"]})
    assert len(check_staff(ok)) == 1
    with pytest.raises(MissingColumnError, match="phone"):
        check_staff(ok.drop(columns="phone"))


def test_load_layers_projects_and_keeps_inputs(sample):
    roads = sample["roads"]
    layers = load_layers(roads=roads, jurisdiction=sample["jurisdiction"].to_crs(3067))
    assert layers.crs.to_epsg() == 32635
    assert layers.input_crs.to_epsg() == 4326
    assert layers["roads"].crs.to_epsg() == 32635
    assert roads.crs.to_epsg() == 4326
    assert layers["jurisdiction"].area.iloc[0] == pytest.approx(1.684e6, rel=0.01)
    with pytest.raises(LayerError, match="unknown layer kind"):
        load_layers(streets=roads)


def test_china_layer_gets_cgcs2000(sample):
    p = gpd.GeoDataFrame({"risk": [1]}, geometry=[Point(120.15, 30.28)], crs=4490)
    assert load_layers(entities=p).crs.to_epsg() == 4549
