import geopandas as gpd
import pytest
from pyproj import CRS
from shapely.geometry import Point

from gridkit import CRSError, MissingCRSError, cgcs2000_zone, is_metric, utm_zone, working_crs
from gridkit.crs import is_engineering, lonlat_center, to_crs


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


# --- local engineering CRS (a building's floor plan in metres, no geodetic datum) -----

ENG_WKT2 = ('ENGCRS["Building A floor plan",EDATUM["Building A"],CS[Cartesian,2],'
            'AXIS["x",east,LENGTHUNIT["metre",1]],AXIS["y",north,LENGTHUNIT["metre",1]]]')
ENG_WKT1 = ('LOCAL_CS["Building B",LOCAL_DATUM["Building B",0],UNIT["metre",1],'
            'AXIS["X",EAST],AXIS["Y",NORTH]]')
ENG_FEET = ('LOCAL_CS["Building C",LOCAL_DATUM["Building C",0],UNIT["foot",0.3048],'
            'AXIS["X",EAST],AXIS["Y",NORTH]]')


@pytest.mark.parametrize("wkt", [ENG_WKT2, ENG_WKT1])
def test_engineering_crs_in_metres_is_the_working_crs(wkt):
    eng = CRS.from_wkt(wkt)
    assert is_metric(eng) and is_engineering(eng)
    assert not is_engineering(4326) and not is_engineering(3067)
    assert working_crs(_pt(3, 4, eng), _pt(10, 2, eng)) == eng
    assert working_crs(_pt(3, 4, eng), crs=eng) == eng
    moved = to_crs(_pt(3, 4, eng), eng)
    assert moved.crs == eng and moved.geometry.iloc[0].equals(Point(3, 4))


def test_engineering_crs_mixed_with_geodetic_is_refused():
    eng = CRS.from_wkt(ENG_WKT2)
    with pytest.raises(CRSError, match="engineering CRS.*cannot be transformed"):
        working_crs(_pt(3, 4, eng), _pt(116.4, 39.9, 4490))
    with pytest.raises(CRSError, match="engineering CRS.*cannot be transformed"):
        working_crs(_pt(3, 4, eng), crs=3067)
    with pytest.raises(CRSError, match="engineering CRS.*cannot be transformed"):
        working_crs(_pt(116.4, 39.9, 4490), crs=eng)
    with pytest.raises(CRSError, match="two different engineering CRSs"):
        working_crs(_pt(3, 4, eng), _pt(3, 4, CRS.from_wkt(ENG_WKT1)))
    with pytest.raises(CRSError, match="engineering CRS.*cannot be transformed"):
        to_crs(_pt(3, 4, eng), 4326)
    with pytest.raises(CRSError, match="engineering CRS.*cannot be transformed"):
        lonlat_center([_pt(3, 4, eng)])


def test_engineering_crs_in_feet_is_refused_with_a_reason():
    feet = CRS.from_wkt(ENG_FEET)
    assert not is_metric(feet)
    with pytest.raises(CRSError, match="not in metres"):
        working_crs(_pt(3, 4, feet))


def test_to_crs_keeps_edges_straight_in_degrees_shared_and_on_their_curve():
    """Two villages sharing a 5 km edge straight in degrees (drawn in opposite
    directions) projected to a Gauss-Krüger zone: the shared edge stays shared,
    vertex for vertex, and follows the projected line within a millimetre
    (projected vertex by vertex, its middle is 0.68 m off)."""
    import numpy as np
    import shapely
    from pyproj import Transformer
    from shapely.geometry import Polygon

    a, b, c = (116.30, 39.90), (116.36, 39.93), (116.36, 39.88)
    left = Polygon([a, b, (116.28, 39.95), a])
    right = Polygon([b, a, c, b])  # the shared edge a-b runs the other way here
    gdf = gpd.GeoDataFrame(geometry=[left, right], crs=4490)
    out = to_crs(gdf, 4547)
    geoms = np.asarray(out.geometry.values)
    assert shapely.coverage_is_valid(geoms)
    shared = shapely.intersection(*geoms)
    assert shared.length > 5_000
    t = Transformer.from_crs(4490, 4547, always_xy=True)
    mid = shapely.Point(t.transform((a[0] + b[0]) / 2, (a[1] + b[1]) / 2))
    assert shapely.distance(mid, shapely.boundary(geoms[0])) < 1e-3
    assert shapely.distance(mid, shapely.boundary(geoms[1])) < 1e-3
    plain = gdf.to_crs(4547)
    assert shapely.distance(mid, plain.boundary.iloc[0]) > 0.1  # what densifying avoids
    # and back: a valid coverage in degrees too
    assert shapely.coverage_is_valid(np.asarray(to_crs(out, 4490).geometry.values))
