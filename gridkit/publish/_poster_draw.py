"""Map drawing for posters: geometries (axes in a metric CRS), north arrow, scale bar."""

from __future__ import annotations

import math

import numpy as np
import shapely
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection, PatchCollection
from matplotlib.patches import Polygon, Rectangle
from shapely.plotting import patch_from_polygon


def nice_length(span_m: float) -> float:
    """A round scale-bar length (1, 2 or 5 x 10^k m) near a fifth of ``span_m``."""
    target = max(span_m / 5.0, 1e-9)
    power = 10 ** math.floor(math.log10(target))
    for step in (5, 2, 1):
        if step * power <= target:
            return step * power
    return power


def scale_bar(
    ax: Axes,
    *,
    metres_per_unit: float,
    left: float,
    bottom: float,
    max_width: float,
    fontsize: float = 8,
    family=None,
) -> float:
    """Draw a two-segment scale bar in ``ax``'s data units; returns its length in metres.

    ``metres_per_unit`` is how many metres of the map one unit of ``ax`` stands
    for (the legend panel works in inches; the map in metres gives 1). The bar
    is the roundest length (1, 2 or 5 x 10^k m) not longer than ``max_width``.
    """
    length = nice_length(5 * max_width * metres_per_unit)
    width = length / metres_per_unit
    height = max_width * 0.045
    for i, colour in enumerate(("black", "white")):
        ax.add_patch(
            Rectangle(
                (left + i * width / 2, bottom),
                width / 2,
                height,
                facecolor=colour,
                edgecolor="black",
                linewidth=0.6,
                zorder=21,
            )
        )
    text = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    style = {"va": "bottom", "fontsize": fontsize, "family": family, "zorder": 22}
    ax.text(left, bottom + height * 1.6, "0", ha="center", **style)
    ax.text(left + width, bottom + height * 1.6, text, ha="center", **style)
    return length


def north_arrow(ax: Axes, *, cx: float, cy: float, size: float, family=None) -> None:
    """An arrow pointing to the top of the page, marked N (北), centred at (cx, cy).

    Up is grid north of the map's projected CRS; in a Gauss-Krüger or UTM zone
    it is within a degree or two of true north across a town.
    """
    left = [(cx, cy + size), (cx - size * 0.45, cy - size * 0.6), (cx, cy - size * 0.25)]
    right = [(cx, cy + size), (cx + size * 0.45, cy - size * 0.6), (cx, cy - size * 0.25)]
    ax.add_patch(
        Polygon(left, closed=True, facecolor="black", edgecolor="black", lw=0.8, zorder=21)
    )
    ax.add_patch(
        Polygon(right, closed=True, facecolor="white", edgecolor="black", lw=0.8, zorder=21)
    )
    ax.text(
        cx,
        cy + size * 1.15,
        "N 北",
        ha="center",
        va="bottom",
        fontsize=9,
        weight="bold",
        family=family,
        zorder=22,
    )


# geopandas' GeoSeries.plot redraws the whole figure after every call (draw_idle);
# a poster calls it a dozen times, so these draw shapely geometries straight
# into matplotlib collections instead (one draw at savefig).


def draw_polygons(ax: Axes, geoms, *, zorder: float = 1, **style) -> None:
    """Fill (and outline) polygons; ``style`` goes to PatchCollection."""
    parts = shapely.get_parts(np.asarray(geoms, dtype=object))
    parts = parts[shapely.get_type_id(parts) == 3]  # Polygon
    if len(parts) == 0:
        return
    patches = [patch_from_polygon(p) for p in parts]
    ax.add_collection(PatchCollection(patches, zorder=zorder, **style), autolim=False)


def draw_lines(ax: Axes, geoms, *, zorder: float = 1, **style) -> None:
    """Draw lines (and polygon outlines via ``shapely.boundary``) as one LineCollection."""
    parts = shapely.get_parts(np.asarray(geoms, dtype=object))
    parts = parts[np.isin(shapely.get_type_id(parts), (1, 2))]  # LineString, LinearRing
    if len(parts) == 0:
        return
    segments = [shapely.get_coordinates(p) for p in parts]
    ax.add_collection(LineCollection(segments, zorder=zorder, **style), autolim=False)


def draw_outlines(ax: Axes, geoms, *, zorder: float = 1, **style) -> None:
    """Outline polygons."""
    draw_lines(ax, shapely.boundary(np.asarray(geoms, dtype=object)), zorder=zorder, **style)


def draw_points(ax: Axes, geoms, *, zorder: float = 1, **style) -> None:
    """Points as one scatter; ``style`` goes to ``ax.scatter``."""
    xy = shapely.get_coordinates(np.asarray(geoms, dtype=object))
    if len(xy):
        ax.scatter(xy[:, 0], xy[:, 1], zorder=zorder, **style)
