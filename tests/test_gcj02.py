"""GCJ-02: known points both ways within 1 m, no shift outside China, layers."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod
from shapely.geometry import Point, box

import gridkit as gk
from gridkit.gcj02 import (
    bd09_to_gcj02,
    from_gcj02,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    lonlat_to_wgs84,
    out_of_china,
    to_gcj02,
    wgs84_to_gcj02,
)

GEOD = Geod(ellps="WGS84")

# (WGS84 lat, lon, GCJ-02 lat, lon): the reference pairs of the eviltransform
# project's test suite (googollee/eviltransform), computed independently of gridkit
KNOWN = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),  # Shanghai
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),  # Shenzhen
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),  # Beijing
]


def metres(lon1, lat1, lon2, lat2) -> np.ndarray:
    return np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2])


@pytest.mark.parametrize("wlat,wlon,glat,glon", KNOWN)
def test_known_points_forward_within_a_metre(wlat, wlon, glat, glon):
    lon, lat = wgs84_to_gcj02(wlon, wlat)
    assert metres(lon, lat, glon, glat) < 1.0
    assert metres(wlon, wlat, glon, glat) > 100  # the shift itself is hundreds of metres


@pytest.mark.parametrize("wlat,wlon,glat,glon", KNOWN)
def test_known_points_inverse_within_a_metre(wlat, wlon, glat, glon):
    lon, lat = gcj02_to_wgs84(glon, glat)
    assert metres(lon, lat, wlon, wlat) < 1.0


def test_gcoord_reference_inverse():
    # hujiulong/gcoord's test: GCJ-02 (123, 45) -> WGS84 (122.99395597, 44.99804071)
    lon, lat = gcj02_to_wgs84(123.0, 45.0)
    assert metres(lon, lat, 122.99395597, 44.99804071) < 1.0


def test_vectorised_and_shape_kept():
    wlat, wlon, glat, glon = map(np.array, zip(*KNOWN, strict=True))
    lon, lat = wgs84_to_gcj02(wlon.reshape(3, 1), wlat.reshape(3, 1))
    assert lon.shape == (3, 1)
    assert np.all(metres(lon.ravel(), lat.ravel(), glon, glat) < 1.0)
    back_lon, back_lat = gcj02_to_wgs84(glon, glat)
    assert np.all(metres(back_lon, back_lat, wlon, wlat) < 1.0)
    with pytest.raises(ValueError, match="same shape"):
        wgs84_to_gcj02([1, 2], [3])


def test_no_shift_outside_china():
    lon = np.array([24.94, -74.0, 139.69, 151.2])  # Helsinki, New York, Tokyo, Sydney
    lat = np.array([60.17, 40.7, 35.69, -33.87])
    assert out_of_china(lon, lat).all()
    np.testing.assert_array_equal(np.stack(wgs84_to_gcj02(lon, lat)), np.stack([lon, lat]))
    np.testing.assert_array_equal(np.stack(gcj02_to_wgs84(lon, lat)), np.stack([lon, lat]))


@settings(max_examples=200, deadline=None)
@given(st.floats(73.7, 134.9), st.floats(18.2, 53.4))
def test_round_trip_below_a_centimetre(lon, lat):
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    shift = metres(lon, lat, g_lon, g_lat)
    assert 0 < shift < 1500
    w_lon, w_lat = gcj02_to_wgs84(g_lon, g_lat)
    assert metres(w_lon, w_lat, lon, lat) < 0.01


def test_layer_shift_both_ways_and_input_untouched():
    g = gpd.GeoDataFrame(
        {"name": ["a", "b"]},
        geometry=[Point(116.377817, 39.911954), box(121.5, 31.1, 121.52, 31.12)],
        crs=4490,
    )
    before = g.copy()
    shifted = to_gcj02(g)
    assert shifted.crs == g.crs  # CGCS2000 lon/lat stays as it is
    assert (
        metres(shifted.geometry.iloc[0].x, shifted.geometry.iloc[0].y, KNOWN[2][3], KNOWN[2][2])
        < 1.0
    )
    back = from_gcj02(shifted)
    for a, b in zip(back.geometry, g.geometry, strict=True):
        ax, ay = np.asarray(a.exterior.coords if a.geom_type == "Polygon" else a.coords).T
        bx, by = np.asarray(b.exterior.coords if b.geom_type == "Polygon" else b.coords).T
        assert metres(ax, ay, bx, by).max() < 0.01
    pd.testing.assert_frame_equal(pd.DataFrame(g), pd.DataFrame(before))


def test_projected_layer_goes_to_lonlat_first():
    g = gpd.GeoDataFrame(geometry=[Point(116.377817, 39.911954)], crs=4326).to_crs(4548)
    shifted = to_gcj02(g)
    assert shifted.crs.to_epsg() == 4326
    assert (
        metres(shifted.geometry.x.iloc[0], shifted.geometry.y.iloc[0], KNOWN[2][3], KNOWN[2][2])
        < 1.0
    )


def test_from_gcj02_errors():
    g = gpd.GeoDataFrame(geometry=[Point(500000, 4400000)], crs=4548)
    with pytest.raises(gk.CRSError, match="longitude/latitude"):
        from_gcj02(g)
    with pytest.raises(gk.MissingCRSError, match="set_crs"):
        from_gcj02(gpd.GeoDataFrame(geometry=[Point(116, 39)]))


# BD-09: the reference pair of the coordtransform project's README (wandergis/coordtransform),
# computed independently of gridkit: GCJ-02 (116.404, 39.915) -> BD-09
BD_KNOWN = (116.404, 39.915, 116.41036949371029, 39.92133699351021)


def test_bd09_reference_forward_and_inverse():
    glon, glat, blon, blat = BD_KNOWN
    lon, lat = gcj02_to_bd09(glon, glat)
    assert metres(lon, lat, blon, blat) < 0.01
    assert metres(glon, glat, blon, blat) > 500  # BD-09 is another shift on top of GCJ-02
    back_lon, back_lat = bd09_to_gcj02(blon, blat)
    assert metres(back_lon, back_lat, glon, glat) < 0.01


@settings(max_examples=200, deadline=None)
@given(st.floats(73.7, 134.9), st.floats(18.2, 53.4))
def test_bd09_round_trip_below_a_centimetre(lon, lat):
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    b_lon, b_lat = gcj02_to_bd09(g_lon, g_lat)
    w_lon, w_lat = lonlat_to_wgs84(np.atleast_1d(b_lon), np.atleast_1d(b_lat), "bd09")
    assert metres(w_lon, w_lat, lon, lat).max() < 0.01
    w_lon, w_lat = lonlat_to_wgs84(np.atleast_1d(g_lon), np.atleast_1d(g_lat), "GCJ-02")
    assert metres(w_lon, w_lat, lon, lat).max() < 0.01


def test_bd09_no_shift_outside_china_and_unknown_system():
    lon, lat = np.array([24.94, -74.0]), np.array([60.17, 40.7])
    np.testing.assert_array_equal(np.stack(lonlat_to_wgs84(lon, lat, "bd09")),
                                  np.stack([lon, lat]))
    np.testing.assert_array_equal(np.stack(lonlat_to_wgs84(lon, lat, "cgcs2000")),
                                  np.stack([lon, lat]))
    with pytest.raises(gk.InvalidValueError, match="wgs84"):
        lonlat_to_wgs84(lon, lat, "xian80")
