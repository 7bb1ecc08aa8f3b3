"""Spatial tiles with a halo, and the per-tile layout check (private).

:func:`make_tiles` lays a regular grid of tiles over the grids; every tile
gets the grids within its box grown by a halo and the jurisdiction clipped to
a box holding all of those grids. :func:`check_tile` runs the layout checks
of :func:`gridkit.validate_coverage` on that piece and keeps only the issues
whose point lies in the tile, so that merging the tiles' issues reproduces
the single-machine report. The grids themselves travel once to every worker
(a :class:`GridIndex`, broadcast); a tile's payload holds only positions.

A regular grid of tiles is used rather than dask-geopandas' Hilbert
``spatial_shuffle``: the tiles must be axis-aligned half-open boxes so that
every issue point has exactly one owner, which Hilbert partitions (whose
extents overlap) do not give.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import shapely

from gridkit.coverage import checks
from gridkit.coverage.geom import polygonal
from gridkit.errors import InvalidValueError


@dataclass
class Tile:
    """One tile's share of the work (all geometry in the working CRS)."""

    index: tuple[int, int]
    core: tuple[float, float, float, float]  # the box that owns issue points
    halo_box: tuple[float, float, float, float]  # core grown by the halo
    grids: np.ndarray  # positions of the tile's grids in the usable grid array
    jurisdiction: object  # jurisdiction clipped to a box holding the tile's grids
    gap_jurisdiction: object  # jurisdiction clipped to the halo box
    villages: np.ndarray  # positions of the villages touching the halo box


class GridIndex:
    """The usable grids and their ids, sent once to each worker.

    The spatial index is built lazily, once per process (pickling drops
    it), so that the many tasks a worker runs share one STRtree.
    """

    def __init__(self, ga: np.ndarray, ids: np.ndarray, village_codes=None) -> None:
        self.ga, self.ids, self.village_codes = ga, ids, village_codes
        self._tree = None
        self._lock = threading.Lock()

    @property
    def tree(self) -> shapely.STRtree:
        with self._lock:
            if self._tree is None:
                self._tree = shapely.STRtree(self.ga)
            return self._tree

    def near(self, bounds) -> np.ndarray:
        """Sorted positions of the grids whose box meets ``bounds`` (x0, y0, x1, y1)."""
        return np.sort(self.tree.query(shapely.box(*bounds)))

    def __getstate__(self) -> dict:
        # one vectorised WKB array: pickling 100,000s of shapely objects one by one
        # is many times slower
        return {"wkb": shapely.to_wkb(self.ga), "ids": self.ids,
                "village_codes": self.village_codes}

    def __setstate__(self, state: dict) -> None:
        ga = np.asarray(shapely.from_wkb(state["wkb"]), dtype=object)
        self.__init__(ga, state["ids"], state["village_codes"])


def tile_shape(tiles) -> tuple[int, int]:
    """``tiles`` as ``(nx, ny)``: an int n gives n × n tiles."""
    if isinstance(tiles, (int, np.integer)) and not isinstance(tiles, bool):
        nx = ny = int(tiles)
    elif isinstance(tiles, (tuple, list)) and len(tiles) == 2:
        nx, ny = (int(t) for t in tiles)
    else:
        raise InvalidValueError(f"tiles must be an int or a pair (nx, ny), got {tiles!r}")
    if nx < 1 or ny < 1:
        raise InvalidValueError(f"tiles must be >= 1 in each direction, got {tiles!r}")
    return nx, ny


def owner(x, y, bounds, shape) -> np.ndarray:
    """Flat tile index owning each point (half-open tiles; clamped at the edges)."""
    x0, y0, x1, y1 = bounds
    nx, ny = shape
    ix = np.floor((np.asarray(x) - x0) / ((x1 - x0) / nx)).astype(np.int64)
    iy = np.floor((np.asarray(y) - y0) / ((y1 - y0) / ny)).astype(np.int64)
    ix = np.clip(ix, 0, nx - 1)
    iy = np.clip(iy, 0, ny - 1)
    return iy * nx + ix


def make_tiles(
    ga: np.ndarray,
    *,
    bounds,
    shape,
    halo: float,
    jurisdiction=None,
    villages: np.ndarray | None = None,
) -> list[Tile]:
    """Cut the grids into tiles (tiles with no grid and no jurisdiction are left out)."""
    x0, y0, x1, y1 = bounds
    nx, ny = shape
    dx, dy = (x1 - x0) / nx, (y1 - y0) / ny
    tree = shapely.STRtree(ga)
    vtree = shapely.STRtree(villages) if villages is not None else None
    tiles = []
    for iy in range(ny):
        for ix in range(nx):
            core = (x0 + ix * dx, y0 + iy * dy, x0 + (ix + 1) * dx, y0 + (iy + 1) * dy)
            halo_box = (core[0] - halo, core[1] - halo, core[2] + halo, core[3] + halo)
            region = shapely.box(*halo_box)
            pos = np.sort(tree.query(region, predicate="intersects"))
            j = jg = None
            if jurisdiction is not None:
                # gaps are looked for in the halo box only: beyond it the tile's
                # grids are not all there
                jg = polygonal(shapely.intersection(jurisdiction, region))
                # clip to a box holding all the tile's grids: parts of a grid outside
                # the jurisdiction are then exactly those of the single-machine run
                gb = shapely.bounds(ga[pos]) if len(pos) else np.empty((0, 4))
                allb = np.vstack([gb, np.array([halo_box])])
                clip = shapely.box(*allb[:, :2].min(axis=0), *allb[:, 2:].max(axis=0))
                j = polygonal(shapely.intersection(jurisdiction, clip))
            if len(pos) == 0 and (jg is None or jg.is_empty):
                continue
            vpos = (
                np.sort(vtree.query(region, predicate="intersects"))
                if vtree is not None
                else np.array([], dtype=int)
            )
            tiles.append(Tile((ix, iy), core, halo_box, pos, j, jg, vpos))
    return tiles


def in_core(point, core, *, first_x: bool, first_y: bool, last_x: bool, last_y: bool) -> bool:
    """Whether ``point`` is owned by the tile ``core`` (half-open; edge tiles open outwards)."""
    if point is None or point.is_empty:
        return False
    x, y = point.x, point.y
    ok_x = (first_x or x >= core[0]) and (last_x or x < core[2])
    ok_y = (first_y or y >= core[1]) and (last_y or y < core[3])
    return ok_x and ok_y


def check_tile(payload: dict, index: GridIndex) -> tuple[list[dict], int]:
    """Run the layout checks on one tile; returns its owned issues and truncations.

    ``payload`` holds the tile's grid positions in ``index`` and small arrays
    (it is shipped to a dask worker). The second value counts gaps in the
    tile cut by the halo box: those may differ from the single-machine
    result (the halo was too small).
    """
    ga, ids = index.ga[payload["grids"]], index.ids[payload["grids"]]
    core, shape, ix, iy = payload["core"], payload["shape"], *payload["index"]
    edges = dict(
        first_x=ix == 0, first_y=iy == 0, last_x=ix == shape[0] - 1, last_y=iy == shape[1] - 1
    )
    tol = payload["tolerance"]
    if not len(ga):
        # a tile with jurisdiction but no grid is one gap wider than the halo
        return [], int(payload["gap_jurisdiction"] is not None)
    tree = shapely.STRtree(ga)
    inv = shapely.coverage_invalid_edges(ga)
    suspect = ~(shapely.is_missing(inv) | shapely.is_empty(inv))
    found, reported, lines = checks.check_overlaps(ga, ids, tree, inv, suspect, tolerance=tol)
    found += checks.check_vertices(ga, ids, tree, reported)
    found += [rec for pair, rec in lines.items() if pair not in reported]
    gaps, _ = checks.check_gaps(
        ga,
        ids,
        tree,
        suspect,
        jurisdiction=payload["gap_jurisdiction"],
        tolerance=tol,
        typical_area=payload["typical_area"],
    )
    found += gaps
    truncated = _truncated(gaps, core, payload["halo_box"])
    if payload["jurisdiction"] is not None:
        found += checks.check_outside(ga, ids, jurisdiction=payload["jurisdiction"], tolerance=tol)
    if payload["vgeoms"] is not None:
        codes = index.village_codes
        found += checks.check_nesting(
            ga,
            ids,
            codes[payload["grids"]] if codes is not None else None,
            payload["vgeoms"],
            payload["vcodes"],
            tolerance=tol,
        )
    return [r for r in found if in_core(r["point"], core, **edges)], truncated


def _truncated(gaps: list[dict], core, halo_box) -> int:
    """Gaps reaching the tile's core and cut by its halo box (the halo is too narrow).

    Only gaps depend on what lies around them; overlaps, mismatches and
    parts outside are computed from the grids involved alone.
    """
    edge = shapely.box(*halo_box).boundary
    inner = shapely.box(*core)
    return sum(
        1
        for r in gaps
        if r["geometry"] is not None
        and shapely.intersects(r["geometry"], inner)
        and shapely.intersects(r["geometry"], edge)
    )
