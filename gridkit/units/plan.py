"""The cutting plan of :func:`gridkit.units.build.build_units`: options and lines.

What to cut the jurisdiction with, decided before any noding, shared with the
dask pipeline (:mod:`gridkit.scale.pipeline`) that cuts a province county by
county:

- :func:`check_options` refuses unusable sizes and tolerances;
- :func:`cutting_roads` picks the roads that cut units (by class, tunnels not);
- :func:`village_boundaries` and :func:`jurisdiction_shape` give the other
  lines and the polygon they cut.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import shapely

from gridkit.errors import GridkitWarning, MissingColumnError, UnitsError

__all__ = ["check_options", "cutting_roads", "jurisdiction_shape", "village_boundaries",
           "warn_roads_outside"]


def warn_roads_outside(roads: np.ndarray, area) -> None:
    """Warn (:class:`GridkitWarning`) when no road touches the jurisdiction ``area``.

    Such roads cut nothing: the layers are probably not in the same place
    (a wrong CRS, swapped coordinates, another county's file).
    """
    if len(roads) == 0 or shapely.intersects(area, roads).any():
        return
    rb = [round(float(v)) for v in shapely.total_bounds(roads)]
    jb = [round(float(v)) for v in area.bounds]
    warnings.warn(
        f"roads: none of the {len(roads)} roads touch the jurisdiction (roads x {rb[0]}..{rb[2]}, "
        f"y {rb[1]}..{rb[3]}; jurisdiction x {jb[0]}..{jb[2]}, y {jb[1]}..{jb[3]} in the working "
        "CRS), so they cut no unit: check that both layers have the right CRS and the same "
        "place (swapped longitude/latitude, a missing GCJ-02 shift, another area's file)",
        GridkitWarning, stacklevel=3)

def _plain(value):
    """A numpy scalar as the Python number it holds (messages show ``5``, not ``np.int64(5)``)."""
    return value.item() if isinstance(value, np.generic) else value


def check_options(snap_tolerance, min_area, min_width, max_area, max_workload) -> None:
    """Refuse unusable sizes and tolerances before any work.

    Parameters
    ----------
    snap_tolerance, min_area, min_width
        Numbers >= 0 (metres or m²).
    max_area, max_workload
        Positive numbers or ``None``; ``max_area`` more than twice ``min_area``
        (or split pieces would be slivers).

    Raises
    ------
    UnitsError
        Which option is wrong, and why.

    Examples
    --------
    >>> check_options(1.0, 100.0, 3.0, None, None)
    >>> check_options(1.0, 100.0, 3.0, 150.0, None)
    Traceback (most recent call last):
    ...
    gridkit.errors.UnitsError: `max_area` (150.0) must be more than twice `min_area` (100.0): \
split pieces would be slivers
    """
    for name, value in (("snap_tolerance", snap_tolerance), ("min_area", min_area),
                        ("min_width", min_width)):
        if value is None or not np.isfinite(value) or value < 0:
            raise UnitsError(f"`{name}` must be a number >= 0 (metres or m²), "
                             f"got {_plain(value)!r}")
    for name, value in (("max_area", max_area), ("max_workload", max_workload)):
        if value is not None and (not np.isfinite(value) or value <= 0):
            raise UnitsError(f"`{name}` must be a positive number or None, got {_plain(value)!r}")
    if max_area is not None and max_area <= 2 * min_area:
        raise UnitsError(
            f"`max_area` ({max_area}) must be more than twice `min_area` ({min_area}): "
            "split pieces would be slivers"
        )


_NO = {"", "no", "false", "0", "none", "nan", "<na>"}


def _underground(roads: gpd.GeoDataFrame) -> np.ndarray:
    """Roads flagged as tunnels (any ``tunnel`` value but no/false/0/empty)."""
    if "tunnel" not in roads.columns:
        return np.zeros(len(roads), dtype=bool)
    flag = roads["tunnel"].astype("string").str.strip().str.lower().fillna("")
    return (~flag.isin(_NO)).to_numpy()


def cutting_roads(roads: gpd.GeoDataFrame, road_classes, cut_tunnels: bool) -> np.ndarray:
    """Mask of the roads that cut units.

    Parameters
    ----------
    roads
        The road lines, with ``road_class`` when ``road_classes`` is given
        and optionally ``tunnel``.
    road_classes
        The classes that cut (a value or a list); ``None``: every road.
    cut_tunnels
        Whether roads flagged in ``tunnel`` (any value but no/false/0/empty)
        cut too.

    Returns
    -------
    numpy.ndarray
        One boolean per road. A class that does not occur is warned about
        (:class:`gridkit.errors.GridkitWarning`).

    Raises
    ------
    UnitsError
        No road would cut.
    MissingColumnError
        ``road_classes`` without a ``road_class`` column.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString
    >>> roads = gpd.GeoDataFrame({"road_class": ["primary", "path"], "tunnel": ["no", "yes"]},
    ...                          geometry=[LineString([(0, 0), (1, 0)])] * 2)
    >>> cutting_roads(roads, None, False).tolist(), cutting_roads(roads, "path", True).tolist()
    ([True, False], [False, True])
    """
    tunnels = np.zeros(len(roads), dtype=bool) if cut_tunnels else _underground(roads)
    if road_classes is None:
        if tunnels.all():
            raise UnitsError("roads: every road is a tunnel, so none cuts units; pass "
                             "cut_tunnels=True if the `tunnel` column means something else")
        return ~tunnels
    if isinstance(road_classes, str):
        road_classes = [road_classes]
    if "road_class" not in roads.columns:
        raise MissingColumnError(
            "roads: `road_classes` was given but the layer has no 'road_class' column; "
            "rename the class column to 'road_class' or leave `road_classes` unset"
        )
    wanted = set(road_classes)
    present = set(roads["road_class"].dropna().astype(str))
    absent = sorted(wanted - present)
    if absent:
        warnings.warn(f"roads: road class(es) {absent} do not occur; the layer has "
                      f"{sorted(present)[:20]}", GridkitWarning, stacklevel=3)
    mask = roads["road_class"].astype(str).isin(wanted).to_numpy() & ~tunnels
    if not mask.any():
        raise UnitsError(f"roads: no road (that is not a tunnel) has a class in "
                         f"road_classes={sorted(wanted)}")
    return mask


def jurisdiction_shape(jurisdiction: gpd.GeoDataFrame):
    """The jurisdiction as one valid (multi)polygon: the union of its rows, repaired.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> j = gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)])
    >>> jurisdiction_shape(j).area
    2.0
    """
    shape = shapely.union_all(jurisdiction.geometry.values)
    return shapely.make_valid(shape) if not shape.is_valid else shape


def village_boundaries(villages: gpd.GeoDataFrame | None) -> np.ndarray:
    """The villages' boundaries as an array of lines (empty without villages).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> v = gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)])
    >>> len(village_boundaries(v)), len(village_boundaries(None))
    (2, 0)
    """
    if villages is None:
        return np.empty(0, dtype=object)
    return shapely.get_parts(shapely.boundary(villages.geometry.values))
