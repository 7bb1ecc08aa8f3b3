"""Shape measures of polygons: Polsby-Popper and a moment-of-inertia index.

Both are 1 for a disc and fall towards 0 for long or ragged shapes; both are
measured in a metric CRS (a geographic layer is projected first). Like
momepy, each returns a Series aligned on the input's index.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridkit.crs import is_metric, to_crs, working_crs

__all__ = ["polsby_popper", "inertia_index"]


def _metric(gdf: gpd.GeoDataFrame) -> np.ndarray:
    if gdf.crs is None or is_metric(gdf.crs):
        return np.asarray(gdf.geometry.values)
    return np.asarray(to_crs(gdf, working_crs(gdf)).geometry.values)


def polsby_popper_values(geoms: np.ndarray) -> np.ndarray:
    """4πA / P² for an array of (metric) polygons."""
    area = shapely.area(geoms)
    perim = shapely.length(geoms)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(perim > 0, 4 * np.pi * area / perim**2, np.nan)


def inertia_values(geoms: np.ndarray) -> np.ndarray:
    """A² / (2π J) for an array of (metric) polygons, J the polar moment about the centroid.

    Computed exactly from the rings (exterior counter-clockwise, holes
    clockwise), coordinates taken relative to each polygon's centroid for
    numerical stability. A multipolygon's parts count together, so a grid in
    two distant pieces scores low.
    """
    geoms = shapely.orient_polygons(np.asarray(geoms), exterior_cw=False)
    rings, owner = shapely.get_rings(geoms, return_index=True)
    cent = shapely.get_coordinates(shapely.centroid(geoms))
    xy, ring_idx = shapely.get_coordinates(rings, return_index=True)
    same = ring_idx[1:] == ring_idx[:-1]
    g = owner[ring_idx[:-1][same]]
    p0 = xy[:-1][same] - cent[g]
    p1 = xy[1:][same] - cent[g]
    x0, y0, x1, y1 = p0[:, 0], p0[:, 1], p1[:, 0], p1[:, 1]
    cross = x0 * y1 - x1 * y0
    jx = cross * (y0**2 + y0 * y1 + y1**2) / 12.0
    jy = cross * (x0**2 + x0 * x1 + x1**2) / 12.0
    polar = np.bincount(g, weights=jx + jy, minlength=len(geoms))
    area = shapely.area(geoms)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(polar > 0, area**2 / (2 * np.pi * polar), np.nan)


def polsby_popper(gdf: gpd.GeoDataFrame) -> pd.Series:
    """Polsby-Popper compactness 4πA/P² of each polygon (1 for a disc).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> g = gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1), box(0, 0, 4, 1)], crs=3857)
    >>> polsby_popper(g).round(3).tolist()   # square: π/4
    [0.785, 0.503]
    """
    return pd.Series(polsby_popper_values(_metric(gdf)), index=gdf.index, name="polsby_popper")


def inertia_index(gdf: gpd.GeoDataFrame) -> pd.Series:
    """Moment-of-inertia compactness A²/(2πJ) of each polygon (1 for a disc).

    ``J`` is the polar second moment of area about the centroid. Less
    sensitive than Polsby-Popper to ragged but compact borders (a block
    outline traced along streets), more sensitive to elongation.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import Point, box
    >>> g = gpd.GeoDataFrame(geometry=[Point(0, 0).buffer(10, 256), box(0, 0, 1, 1)], crs=3857)
    >>> inertia_index(g).round(3).tolist()   # disc 1, square 3/π
    [1.0, 0.955]
    """
    return pd.Series(inertia_values(_metric(gdf)), index=gdf.index, name="inertia_index")
