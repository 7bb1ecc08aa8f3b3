"""Colour grids so that no two neighbours share a colour (networkx greedy colouring)."""

from __future__ import annotations

import logging
import warnings

import networkx as nx
import numpy as np
import shapely

from gridkit.errors import GridkitWarning

log = logging.getLogger(__name__)

# ColorBrewer Set3 (light, readable under dark labels and over a base map)
PALETTE = (
    "#8dd3c7",
    "#ffffb3",
    "#bebada",
    "#fb8072",
    "#80b1d3",
    "#fdb462",
    "#b3de69",
    "#fccde5",
    "#d9d9d9",
    "#bc80bd",
)


def neighbour_pairs(geoms: np.ndarray, *, tolerance: float = 0.5) -> np.ndarray:
    """Pairs (i, j), i < j, of polygons sharing a boundary stretch longer than ``tolerance``.

    ``geoms`` must be in a metric CRS. Polygons meeting at a single corner are
    not neighbours (the usual rule of map colouring); boundaries up to
    ``tolerance`` metres apart count as shared, which absorbs tiny seams.
    (:func:`gridkit.units.adjacency.unit_adjacency` measures exactly shared
    boundaries of clean units; a map must also colour grids from any source,
    digitised with small gaps, hence this tolerant test.)
    """
    geoms = np.asarray(geoms, dtype=object)
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="dwithin", distance=tolerance)
    keep = left < right
    left, right = left[keep], right[keep]
    if len(left) == 0:
        return np.empty((0, 2), dtype=int)
    edges = shapely.boundary(geoms)
    near = shapely.buffer(edges[right], tolerance, cap_style="flat")
    shared = shapely.length(shapely.intersection(edges[left], near))
    ok = shared > 2 * tolerance
    return np.column_stack([left[ok], right[ok]])


def colour_indices(n: int, pairs: np.ndarray) -> np.ndarray:
    """A colour index per polygon, different across every pair.

    Greedy colouring, largest degree first, then DSATUR when that needs more
    colours than the palette holds; planar maps rarely need more than five.
    """
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(map(tuple, pairs))
    colours = nx.greedy_color(graph, strategy="largest_first")
    if colours and max(colours.values()) >= len(PALETTE):
        colours = nx.greedy_color(graph, strategy="saturation_largest_first")
    result = np.array([colours[i] for i in range(n)], dtype=int)
    if n and result.max() >= len(PALETTE):
        warnings.warn(
            f"the grids need {result.max() + 1} colours but the palette has {len(PALETTE)}: "
            "some neighbours share a colour",
            GridkitWarning,
            stacklevel=3,
        )
    return result


def grid_colours(geoms: np.ndarray, *, tolerance: float = 0.5) -> list[str]:
    """Palette colours for metric polygons, neighbours never equal (see above)."""
    idx = colour_indices(len(geoms), neighbour_pairs(geoms, tolerance=tolerance))
    return [PALETTE[i % len(PALETTE)] for i in idx]
