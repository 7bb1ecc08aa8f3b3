import geopandas as gpd
import pytest
from pyproj import CRS
from shapely.geometry import Point

from gridkit import CRSError, MissingCRSError, cgcs2000_zone, is_metric, utm_zone, working_crs


def _pt(x, y, crs):
    return gpd.GeoDataFrame(geometry=[Point(x, y)], crs=crs)


@pytest.mark.parametrize(
    ("lon", "lat", "epsg"),
    [(116.40, 39.90, 4548), (121.47, 31.23, 4549), (104.07, 30.67, 4544), (87.6, 43.8, 4538)],
)
def test_china_gets_cgcs2000_gauss_kruger_zone(lon, lat, epsg):
    crs = working_crs(_pt(lon, lat, 4490))
    assert crs.to_epsg() == epsg
    assert is_metric(crs)
    # the zone's central meridian is the nearest multiple of 3 degrees
    cm = [p.value for p in crs.coordinate_operation.params if "longitude" in p.name.lower()][0]
    assert abs(cm - lon) <= 1.5


def test_outside_china_gets_utm(sample):
    assert working_crs(sample["roads"]).to_epsg() == 32635
    assert utm_zone(-74.0, 40.7).to_epsg() == 32618
    assert utm_zone(151.2, -33.9).to_epsg() == 32756


def test_mixed_crs_layers_get_one_metric_crs(sample):
    roads = sample["roads"]
    jur = sample["jurisdiction"].to_crs(3067)  # ETRS-TM35FIN, metres
    crs = working_crs(roads, jur)
    assert crs.to_epsg() == 32635


def test_shared_metric_crs_is_kept(sample):
    roads = sample["roads"].to_crs(3067)
    jur = sample["jurisdiction"].to_crs(3067)
    assert working_crs(roads, jur).to_epsg() == 3067


def test_feet_crs_is_replaced_by_metric():
    # New York State Plane Long Island, US survey feet
    pts = _pt(-73.98, 40.75, 4326).to_crs(2263)
    crs = working_crs(pts)
    assert is_metric(crs) and crs.to_epsg() == 32618
    assert not is_metric(CRS.from_epsg(2263))


def test_user_crs_must_be_metric(sample):
    with pytest.raises(CRSError, match="not projected in metres"):
        working_crs(sample["roads"], crs=4326)
    with pytest.raises(ValueError):
        working_crs(sample["roads"], crs=2263)
    assert working_crs(sample["roads"], crs=3067).to_epsg() == 3067


def test_missing_crs_is_an_error():
    with pytest.raises(MissingCRSError, match="set_crs"):
        working_crs(gpd.GeoDataFrame(geometry=[Point(0, 0)]))


def test_cgcs2000_zone_bounds():
    assert cgcs2000_zone(70).to_epsg() == 4534
    assert cgcs2000_zone(140).to_epsg() == 4554
