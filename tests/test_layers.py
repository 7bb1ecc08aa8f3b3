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


# --- swapped longitude/latitude (issue 21) -------------------------------------------


def test_latitudes_beyond_90_are_refused_as_swapped():
    from gridkit import CRSError

    beijing_swapped = gpd.GeoDataFrame(geometry=[Point(39.9, 116.4)], crs=4326)
    with pytest.raises(CRSError, match="latitude.*outside.*swapped"):
        check_layer(beijing_swapped, "entities")


def test_swapped_chinese_points_warn():
    urumqi_swapped = gpd.GeoDataFrame(geometry=[Point(43.8, 87.6), Point(43.9, 87.5)], crs=4490)
    with pytest.warns(GridkitWarning, match="swapped"):
        check_layer(urumqi_swapped, "entities")


def test_valid_lonlat_gives_no_swap_warning(sample):
    import gridkit as gk

    layers = [sample["roads"], sample["villages"],
              gk.synthetic_county(0, roads=200, buildings=50, entities=50, villages=4,
                                  crs="EPSG:4490")["entities"],
              gpd.GeoDataFrame(geometry=[Point(87.6, 43.8)], crs=4490),  # Urumqi
              gpd.GeoDataFrame(geometry=[Point(15.6, 78.2)], crs=4326)]  # Longyearbyen
    with warnings.catch_warnings():
        warnings.simplefilter("error", GridkitWarning)
        for layer in layers:
            check_layer(layer, "entities" if layer.geom_type.iloc[0] == "Point" else
                        "roads" if "Line" in layer.geom_type.iloc[0] else "jurisdiction")


def test_messages_show_plain_numbers_not_numpy_reprs():
    import numpy as np

    from gridkit import NullGeometryError
    from gridkit.units.plan import check_options

    layer = gpd.GeoDataFrame(geometry=[Point(24.9, 60.2), None], crs=4326,
                             index=np.array([5, 114], dtype=np.int64))
    with pytest.raises(NullGeometryError, match=r"index \[114\]") as err:
        check_layer(layer, "entities")
    assert "np." not in str(err.value)
    with pytest.raises(ValueError, match=r"got -1\b") as err:
        check_options(np.float64(1.0), np.int64(-1), 3.0, None, None)
    assert "np." not in str(err.value)
