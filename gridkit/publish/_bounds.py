"""Refuse layers whose coordinates cannot be shown: a map or poster of them is blank."""

from __future__ import annotations

import numpy as np

from gridkit.crs import is_engineering, to_crs
from gridkit.errors import CRSError


def check_drawable(gdf, name: str) -> None:
    """Refuse a layer a poster would draw blank: non-finite coordinates, or off the Earth.

    A layer in a local engineering CRS (a floor plan in metres) has no
    longitude/latitude: its own bounds need only be finite.
    """
    if gdf.crs is not None and is_engineering(gdf.crs):
        if not np.isfinite(gdf.total_bounds).all():
            raise CRSError(f"{name}: the coordinates are not finite numbers, so the poster "
                           "would be blank: remove the rows with empty or broken geometry")
        return
    lonlat_bounds(gdf, name)


def lonlat_bounds(gdf, name: str) -> tuple[float, float, float, float]:
    """The bounds of ``gdf`` in longitude/latitude, checked to be finite and on the Earth.

    Raises :class:`~gridkit.errors.CRSError` saying what to do when they are
    not (coordinates of 1e12 m in a metric CRS, or a layer in the wrong CRS).

    >>> import gridkit as gk
    >>> x0, y0, x1, y1 = lonlat_bounds(gk.load_sample()["villages"], "villages")
    >>> 24 < x0 < x1 < 26 and 60 < y0 < y1 < 61
    True
    """
    own = [float(v) for v in gdf.total_bounds]
    x0, y0, x1, y1 = (float(v) for v in to_crs(gdf, 4326).total_bounds)
    finite = bool(np.isfinite([x0, y0, x1, y1]).all())
    if finite and -180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90:
        return x0, y0, x1, y1
    raise CRSError(
        f"{name}: the coordinates (x {own[0]:.6g}..{own[2]:.6g}, y {own[1]:.6g}..{own[3]:.6g} "
        f"in {gdf.crs.to_string() if gdf.crs else 'no CRS'}) do not transform to valid "
        "longitude/latitude, so the map would be blank. The layer's CRS is probably wrong "
        "or some coordinates are corrupt: set the right CRS (gdf.set_crs(..., "
        "allow_override=True), or fix the file's .prj) and remove the rows with impossible "
        "coordinates"
    )
