"""Spatial tiles with a halo, and the per-tile coverage check (private).

:func:`make_tiles` lays a regular grid of tiles over the data; every tile
gets the grids within its box grown by a halo, the jurisdiction clipped to a
box holding all of those grids, and the entities/buildings it *owns* (each
feature is owned by exactly one tile, by its location). :func:`check_tile`
runs the same checks as :func:`gridkit.validate_coverage` on that piece and
keeps only the issues whose point lies in the tile, so that merging the
tiles' issues reproduces the single-machine report.

A regular grid of tiles is used rather than dask-geopandas' Hilbert
``spatial_shuffle``: the tiles must be axis-aligned half-open boxes so that
every issue point has exactly one owner, which Hilbert partitions (whose
extents overlap) do not give.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from gridkit import _coverage_checks as checks
from gridkit._coverage_geom import polygonal
from gridkit._errors import InvalidValueError


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
    entities: np.ndarray  # positions of the entities the tile owns
    buildings: np.ndarray  # positions of the buildings the tile owns


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


def feature_anchor(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The point that decides a feature's tile: its bounding-box centre."""
    b = shapely.bounds(geoms)
    return 0.5 * (b[:, 0] + b[:, 2]), 0.5 * (b[:, 1] + b[:, 3])


def make_tiles(
    ga: np.ndarray,
    *,
    bounds,
    shape,
    halo: float,
    jurisdiction=None,
    villages: np.ndarray | None = None,
    entities: np.ndarray | None = None,
    buildings: np.ndarray | None = None,
) -> list[Tile]:
    """Cut the work into tiles (empty tiles, with no grid and no feature, are left out)."""
    x0, y0, x1, y1 = bounds
    nx, ny = shape
    dx, dy = (x1 - x0) / nx, (y1 - y0) / ny
    tree = shapely.STRtree(ga)
    vtree = shapely.STRtree(villages) if villages is not None else None
    n_tiles = nx * ny
    ent_owner = owner(*feature_anchor(entities), bounds, shape) if entities is not None else None
    bld_owner = owner(*feature_anchor(buildings), bounds, shape) if buildings is not None else None
    ent_by = _group(ent_owner, n_tiles)
    bld_by = _group(bld_owner, n_tiles)
    tiles = []
    for iy in range(ny):
        for ix in range(nx):
            t = iy * nx + ix
            core = (x0 + ix * dx, y0 + iy * dy, x0 + (ix + 1) * dx, y0 + (iy + 1) * dy)
            halo_box = (core[0] - halo, core[1] - halo, core[2] + halo, core[3] + halo)
            region = shapely.box(*halo_box)
            own_b = bld_by[t]
            if len(own_b):  # every grid a building it owns touches
                bb = shapely.bounds(buildings[own_b])
                region = shapely.union(
                    region, shapely.box(*bb[:, :2].min(axis=0), *bb[:, 2:].max(axis=0))
                )
            pos = np.sort(tree.query(region, predicate="intersects"))
            if len(pos) == 0 and len(ent_by[t]) == 0 and len(own_b) == 0:
                continue
            j = jg = None
            if jurisdiction is not None:
                # gaps are looked for in the halo box only: beyond it the tile's
                # grids are not all there
                jg = polygonal(shapely.intersection(jurisdiction, shapely.box(*halo_box)))
                # clip to a box holding all the tile's grids: parts of a grid outside
                # the jurisdiction are then exactly those of the single-machine run
                gb = shapely.bounds(ga[pos]) if len(pos) else np.empty((0, 4))
                allb = np.vstack([gb, np.array([halo_box])])
                clip = shapely.box(*allb[:, :2].min(axis=0), *allb[:, 2:].max(axis=0))
                j = polygonal(shapely.intersection(jurisdiction, clip))
            vpos = (
                np.sort(vtree.query(region, predicate="intersects"))
                if vtree is not None
                else np.array([], dtype=int)
            )
            tiles.append(Tile((ix, iy), core, halo_box, pos, j, jg, vpos, ent_by[t], own_b))
    return tiles


def _group(own: np.ndarray | None, n: int) -> list[np.ndarray]:
    if own is None:
        return [np.array([], dtype=int)] * n
    order = np.argsort(own, kind="stable")
    cuts = np.searchsorted(own[order], np.arange(n + 1))
    return [order[cuts[t] : cuts[t + 1]] for t in range(n)]


def in_core(point, core, *, first_x: bool, first_y: bool, last_x: bool, last_y: bool) -> bool:
    """Whether ``point`` is owned by the tile ``core`` (half-open; edge tiles open outwards)."""
    if point is None or point.is_empty:
        return False
    x, y = point.x, point.y
    ok_x = (first_x or x >= core[0]) and (last_x or x < core[2])
    ok_y = (first_y or y >= core[1]) and (last_y or y < core[3])
    return ok_x and ok_y


def check_tile(payload: dict) -> tuple[list[dict], int]:
    """Run the layout checks on one tile; returns its owned issues and truncations.

    ``payload`` holds plain arrays (it is shipped to a dask worker). The
    second value counts gaps in the tile cut by the halo box: those may
    differ from the single-machine result (the halo was too small).
    """
    from gridkit.coverage import _feature_issues

    ga, ids = payload["grids"], payload["ids"]
    core, shape, ix, iy = payload["core"], payload["shape"], *payload["index"]
    edges = dict(
        first_x=ix == 0, first_y=iy == 0, last_x=ix == shape[0] - 1, last_y=iy == shape[1] - 1
    )
    tol = payload["tolerance"]
    issues: list[dict] = []
    if len(ga):
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
            found += checks.check_outside(
                ga, ids, jurisdiction=payload["jurisdiction"], tolerance=tol
            )
        if payload["vgeoms"] is not None:
            found += checks.check_nesting(
                ga,
                ids,
                payload["village_codes"],
                payload["vgeoms"],
                payload["vcodes"],
                tolerance=tol,
            )
        issues += [r for r in found if in_core(r["point"], core, **edges)]
    else:
        # a tile with jurisdiction but no grid is one gap wider than the halo
        truncated = int(payload["gap_jurisdiction"] is not None)
    if payload["entities"] is not None or payload["buildings"] is not None:
        issues += _feature_issues(
            ga,
            ids,
            payload["crs"],
            payload["entities"],
            [],
            payload["buildings"],
            [],
            tolerance=tol,
        )
    return issues, truncated


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
