"""Spatial look-ups shared by the units builder and the coverage checks."""

from __future__ import annotations

import numpy as np
import shapely

__all__ = ["locate_points"]


def locate_points(points: np.ndarray, geoms: np.ndarray, tree: shapely.STRtree):
    """For each point, the grids holding it inside and the grids it touches.

    Returns ``(inside_pairs, touch_pairs)``, each a ``(point, grid)`` index
    array pair. Interior hits come from one query of the grids against a
    tree of the points (one prepared polygon per grid, the fastest way here);
    only points in no interior are tested against grid boundaries.
    """
    ptree = shapely.STRtree(points)
    gi, pi = ptree.query(geoms, predicate="contains")
    count = np.bincount(pi, minlength=len(points))
    lonely = np.flatnonzero(count == 0)
    tl, tr = tree.query(points[lonely], predicate="intersects")
    return (pi, gi), (lonely[tl], tr)
