"""A deterministic synthetic county for benchmarks and tests at scale.

:func:`synthetic_county` returns the same layers as :func:`gridkit.load_sample`
(``jurisdiction``, ``villages``, ``roads``, ``barriers``, ``buildings``,
``entities``), of any size, from a seed. Shapes are meant to look like a real
Chinese county, not like a chessboard:

- the outline is an irregular blob; roads run past it (they are clipped);
- roads are a jittered street grid with missing links (larger blocks), main
  roads every tenth line, and the messes of real data: short gaps (ends that
  stop 0.2-0.9 m short) and duplicated segments;
- a river and a railway cross the county;
- villages are Voronoi regions of random seeds, clipped to the outline, with
  12-digit codes (county + town + village);
- buildings are rotated rectangles laid out in the blocks, denser in a few
  towns (heavy-tailed density), with households;
- entities sit mostly in buildings, with a heavy-tailed number per building,
  and the risk/credit mix of DOMAIN.md (risk 1/2/3: 6/28.5/65.5 %, credit
  A/B/C: 75.5/24/0.5 %).

Everything is vectorised with numpy and shapely 2, so a county with 100,000
buildings and 200,000 entities takes a few seconds.

:func:`synthetic_province` (module :mod:`gridkit.synthetic.province`) lays
several such counties side by side, of heavy-tailed sizes, with ``counties``,
``towns`` and ``villages`` layers that tile the province exactly; it reuses the
helpers below for each county's streets, buildings and entities.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely

from gridkit.errors import SyntheticSizeError

__all__ = [
    "synthetic_county",
    "SyntheticSizeError",
    "SYNTHETIC_CRS",
]

log = logging.getLogger(__name__)

SYNTHETIC_CRS = "EPSG:4547"
"""Default CRS: CGCS2000 / 3-degree Gauss-Kruger CM 114E (metres)."""

_ORIGIN = (440_000.0, 3_380_000.0)  # south-west corner, in EPSG:4547 (about 30.5N 113.4E)
_COUNTY = "429999"  # made-up 6-digit county code
_RISK_P = (0.06, 0.285, 0.655)
_CREDIT = np.array(["A", "B", "C"])
_CREDIT_P = (0.755, 0.24, 0.005)
_CATEGORIES = {
    1: ["restaurant", "food_shop", "pharmacy", "internet_cafe", "fuel", "beauty"],
    2: ["retail", "market_stall", "hardware", "clothing"],
    3: ["office", "workshop", "service", "warehouse"],
}


def _blob(rng, center, radius, n=64):
    """An irregular closed outline: a circle with smooth random radius changes."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    r = np.ones(n)
    for k in (2, 3, 5):
        r += rng.uniform(0.03, 0.09) * np.sin(k * t + rng.uniform(0, 2 * np.pi))
    xy = np.column_stack([center[0] + radius * r * np.cos(t), center[1] + radius * r * np.sin(t)])
    return shapely.Polygon(xy)


def _grid(rng, roads: int, spacing: float, *, origin=_ORIGIN, shape=None):
    """Jittered node grid big enough for ``roads`` kept edges (or of ``shape`` nodes)."""
    if shape is None:
        # the outline covers about half the grid's square: make the grid big enough
        side = max(int(np.ceil(np.sqrt(roads / (2 * 0.85 * 0.5)))) + 1, 4)
        shape = (side, side)
    nx, ny = shape
    ii, jj = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
    xy = np.stack([ii, jj], -1).reshape(-1, 2) * spacing
    xy = xy + rng.normal(0, 0.12 * spacing, xy.shape) + np.asarray(origin)
    node = np.arange(nx * ny).reshape(nx, ny)
    h = np.column_stack([node[:, :-1].ravel(), node[:, 1:].ravel()])
    v = np.column_stack([node[:-1, :].ravel(), node[1:, :].ravel()])
    h_main = (ii[:, :-1] % 10 == 0).ravel()
    v_main = (jj[:-1, :] % 10 == 0).ravel()
    edges = np.vstack([h, v])
    main = np.r_[h_main, v_main]
    return shape, xy, edges, main


def _roads(rng, xy, edges, main, roads: int, outline, spacing, near=None) -> gpd.GeoDataFrame:
    n_dup = int(round(0.01 * roads))
    # streets near the outline (some run past it, as real data); main roads first,
    # the missing links are local streets
    if near is None:
        near = shapely.buffer(outline, spacing)
    mid_xy = (xy[edges[:, 0]] + xy[edges[:, 1]]) / 2
    inside = shapely.contains_xy(near, mid_xy[:, 0], mid_xy[:, 1])
    keep_n = min(roads - n_dup, int(inside.sum()))
    score = rng.random(len(edges)) + main * 2.0 + inside * 4.0
    kept = np.sort(np.argsort(-score)[:keep_n])
    e, m = edges[kept], main[kept]
    a, b = xy[e[:, 0]], xy[e[:, 1]]
    mid = (a + b) / 2 + rng.normal(0, 6.0, a.shape)  # gentle bends
    # messy data: 2% of streets stop 0.2-0.9 m short of their end node
    short = rng.random(len(e)) < 0.02
    direction = (b - a) / np.maximum(np.linalg.norm(b - a, axis=1, keepdims=True), 1e-9)
    b = b - short[:, None] * direction * rng.uniform(0.2, 0.9, (len(e), 1))
    coords = np.stack([a, mid, b], axis=1)
    geoms = shapely.linestrings(coords)
    dup = rng.choice(len(geoms), size=min(n_dup, len(geoms)), replace=False)
    geoms = np.concatenate([geoms, geoms[dup]])
    m = np.r_[m, m[dup]]
    local = rng.choice(["residential", "unclassified", "service"], size=len(geoms),
                       p=(0.6, 0.3, 0.1))
    road_class = np.where(m, np.where(rng.random(len(geoms)) < 0.5, "primary", "secondary"), local)
    return gpd.GeoDataFrame({"road_id": np.arange(len(geoms)), "road_class": road_class},
                            geometry=geoms, crs=SYNTHETIC_CRS)


def _barriers(rng, extent) -> gpd.GeoDataFrame:
    x0, y0, x1, y1 = extent
    t = np.linspace(0, 1, 400)
    river_y = y0 + (y1 - y0) * (0.35 + 0.08 * np.sin(2 * np.pi * (2 * t + rng.random())))
    river = np.column_stack([x0 - 100 + (x1 - x0 + 200) * t, river_y])
    rail_x = x0 + (x1 - x0) * (0.6 + 0.1 * t)
    rail = np.column_stack([rail_x, y0 - 100 + (y1 - y0 + 200) * t])
    # a few segments per line, as real data come
    parts = ([river[i:i + 41] for i in range(0, 399, 40)]
             + [rail[i:i + 101] for i in range(0, 399, 100)])
    cls = ["river"] * 10 + ["railway"] * 4
    return gpd.GeoDataFrame({"barrier_class": cls[:len(parts)]},
                            geometry=[shapely.LineString(p) for p in parts], crs=SYNTHETIC_CRS)


def _villages(rng, outline, n: int) -> gpd.GeoDataFrame:
    x0, y0, x1, y1 = outline.bounds
    pts = []
    while sum(map(len, pts)) < n:
        cand = rng.uniform((x0, y0), (x1, y1), (n * 2, 2))
        pts.append(cand[shapely.contains_xy(outline, cand[:, 0], cand[:, 1])])
    seeds = np.vstack(pts)[:n]
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seeds),
                                                       extend_to=outline, ordered=True))
    cells = shapely.intersection(cells, outline)
    cells = np.array([_largest(c) for c in cells], dtype=object)
    cx = shapely.get_x(shapely.centroid(cells))
    order = np.argsort(cx, kind="stable")
    towns = np.maximum(n // 25, 1)
    town = (np.arange(n) * towns // n) + 1
    seq = np.zeros(n, dtype=int)
    for t in np.unique(town):
        seq[town == t] = np.arange((town == t).sum()) + 1
    codes = [f"{_COUNTY}{t:03d}{s:03d}" for t, s in zip(town, seq, strict=True)]
    return gpd.GeoDataFrame({"code": codes, "name": [f"Village {c[-6:]}" for c in codes]},
                            geometry=cells[order], crs=SYNTHETIC_CRS)


def _largest(geom):
    parts = shapely.get_parts(geom)
    parts = parts[shapely.get_type_id(parts) == 3]
    return parts[np.argmax(shapely.area(parts))] if len(parts) else geom


def _density(rng, centers_n, extent, xy):
    """Heavy-tailed settlement density: a few towns of Pareto-distributed size."""
    x0, y0, x1, y1 = extent
    towns = rng.uniform((x0, y0), (x1, y1), (centers_n, 2))
    weight = (rng.pareto(1.2, centers_n) + 1) * 1.0
    radius = 600 + 1500 * rng.random(centers_n)
    d2 = ((xy[:, None, :] - towns[None, :, :]) ** 2).sum(-1)
    return 0.15 + (weight * np.exp(-d2 / (2 * radius**2))).sum(1)


@dataclass
class _Plots:
    """Where buildings may stand: the blocks of a street grid of ``shape`` nodes at
    ``xy`` (``spacing`` m apart), filled as ``density`` (of points ``(n, 2)``) says."""

    shape: tuple[int, int]
    xy: np.ndarray
    spacing: float
    density: Callable[[np.ndarray], np.ndarray]


def _building_params(rng, plots: _Plots, n: int) -> dict:
    """Where and how big ``n`` buildings are (arrays; no geometry yet)."""
    shape, xy, spacing, density = plots.shape, plots.xy, plots.spacing, plots.density
    # cells between grid nodes; each holds a square set of building slots
    node = np.arange(shape[0] * shape[1]).reshape(shape)
    corner = node[:-1, :-1].ravel()
    center = xy[corner] + spacing / 2
    cells = len(center)
    per_side = max(int(np.ceil(np.sqrt(2.5 * n / cells))), 2)
    slots = per_side * per_side
    w_cell = density(center)
    p = np.repeat(w_cell, slots)
    p = p / p.sum()
    chosen = np.sort(rng.choice(cells * slots, size=n, replace=False, p=p))
    cell, slot = np.divmod(chosen, slots)
    sx, sy = np.divmod(slot, per_side)
    usable = 0.62 * spacing  # margin from the streets
    step = usable / per_side
    base = center[cell] - usable / 2 + step * (np.column_stack([sx, sy]) + 0.5)
    w = np.minimum(rng.uniform(8, 24, n), step * 0.85)
    h = np.minimum(w * rng.uniform(0.5, 1.0, n), step * 0.85)
    ang = rng.normal(0, 0.08, n)
    taller = np.sqrt(w_cell[cell] / w_cell.mean())  # taller buildings in the towns
    levels = np.clip(np.round(rng.lognormal(0.8, 0.5, n) * taller), 1, 30)
    homes = rng.random(n) < 0.8
    households = np.where(homes, np.floor(w * h * levels * 0.8 / 90), 0).astype(np.int64)
    return {"base": base, "w": w, "h": h, "ang": ang, "levels": levels.astype(int),
            "households": households}


def _building_polygons(b: dict, idx) -> np.ndarray:
    """Rotated rectangles of the buildings ``idx`` of :func:`_building_params`."""
    base, w, h, ang = b["base"][idx], b["w"][idx], b["h"][idx], b["ang"][idx]
    c, s = np.cos(ang), np.sin(ang)
    dx = np.array([-1, 1, 1, -1, -1]) / 2
    dy = np.array([-1, -1, 1, 1, -1]) / 2
    px = base[:, :1] + (w[:, None] * dx) * c[:, None] - (h[:, None] * dy) * s[:, None]
    py = base[:, 1:] + (w[:, None] * dx) * s[:, None] + (h[:, None] * dy) * c[:, None]
    return shapely.polygons(np.stack([px, py], -1))


def _building_frame(b: dict, idx, geoms) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"building_id": np.arange(len(geoms)), "levels": b["levels"][idx],
                             "households": b["households"][idx]},
                            geometry=geoms, crs=SYNTHETIC_CRS)


def _buildings(rng, plots: _Plots, n: int) -> gpd.GeoDataFrame:
    b = _building_params(rng, plots, n)
    idx = np.arange(n)
    return _building_frame(b, idx, _building_polygons(b, idx))


def _entities(rng, buildings: gpd.GeoDataFrame, extent, n: int) -> gpd.GeoDataFrame:
    nb = len(buildings)
    in_building = rng.random(n) < 0.9 if nb else np.zeros(n, bool)
    k = int(in_building.sum())
    pull = rng.pareto(1.5, nb) + 0.05 if nb else np.zeros(0)
    owner = rng.choice(nb, size=k, p=pull / pull.sum()) if nb else np.zeros(0, int)
    b = np.asarray(buildings.geometry.values)
    bx0, by0, bx1, by1 = shapely.bounds(b).T if nb else (np.zeros(0),) * 4
    xy = np.empty((n, 2))
    frac = rng.uniform(0.3, 0.7, (k, 2))
    xy[in_building] = np.column_stack([bx0[owner] + frac[:, 0] * (bx1 - bx0)[owner],
                                       by0[owner] + frac[:, 1] * (by1 - by0)[owner]])
    # the rest along streets and in open land: near a random building, offset
    rest = (~in_building).sum()
    near = rng.integers(0, max(nb, 1), rest)
    # (centroids only of the buildings needed: GEOS centroids are the slow part)
    cxy = shapely.get_coordinates(shapely.centroid(b[near])) if nb else \
        np.full((rest, 2), np.asarray(_ORIGIN))
    xy[~in_building] = cxy + rng.normal(0, 40, (rest, 2))
    risk = rng.choice([1, 2, 3], size=n, p=_RISK_P)
    credit = rng.choice(_CREDIT, size=n, p=_CREDIT_P)
    cat = np.empty(n, dtype=object)
    for r, names in _CATEGORIES.items():
        sel = risk == r
        cat[sel] = rng.choice(names, size=int(sel.sum()))
    return gpd.GeoDataFrame({"entity_id": np.arange(n), "category": cat, "risk": risk,
                             "credit": credit}, geometry=shapely.points(xy), crs=SYNTHETIC_CRS)


def synthetic_county(
    seed: int = 0,
    *,
    buildings: int = 100_000,
    roads: int = 20_000,
    villages: int = 500,
    entities: int = 200_000,
    spacing: float = 200.0,
    crs=SYNTHETIC_CRS,
) -> dict[str, gpd.GeoDataFrame]:
    """Generate a synthetic county: the sample's layers at any size, from a seed.

    Parameters
    ----------
    seed
        Random seed; the same seed and sizes give identical layers.
    buildings, roads, villages, entities
        Feature counts (``roads`` counts road segments, about 1 % of which
        are duplicates, as in real data).
    spacing
        Mean distance (m) between street-grid nodes; the county's side is
        about ``spacing * sqrt(roads / 1.7)``.
    crs
        CRS of the returned layers (default :data:`SYNTHETIC_CRS`, a metric
        CGCS2000 Gauss-Kruger zone; e.g. ``"EPSG:4490"`` for longitude/latitude).

    Returns
    -------
    dict
        ``{"jurisdiction", "villages", "roads", "barriers", "buildings",
        "entities"}`` GeoDataFrames.

    Examples
    --------
    >>> layers = synthetic_county(1, buildings=200, roads=300, villages=4, entities=400)
    >>> {k: len(v) for k, v in layers.items()}["buildings"]
    200
    """
    for name, value in (("buildings", buildings), ("roads", roads), ("villages", villages),
                        ("entities", entities)):
        if int(value) != value or value < (1 if name in ("roads", "villages") else 0):
            raise SyntheticSizeError(f"`{name}` must be a whole number >= 1 (0 allowed for "
                                     f"buildings and entities), got {value!r}")
    if not spacing > 0:
        raise SyntheticSizeError(f"`spacing` must be positive (metres), got {spacing!r}")
    roads = max(int(roads), 12)
    rng = np.random.default_rng(seed)
    shape, xy, edges, main = _grid(rng, roads, spacing)
    extent = (*xy.min(0), *xy.max(0))
    cx, cy = (extent[0] + extent[2]) / 2, (extent[1] + extent[3]) / 2
    outline = _blob(rng, (cx, cy), 0.4 * min(extent[2] - extent[0], extent[3] - extent[1]))
    jurisdiction = gpd.GeoDataFrame({"name": ["Synthetic county"]}, geometry=[outline],
                                    crs=SYNTHETIC_CRS)
    road_gdf = _roads(rng, xy, edges, main, roads, outline, spacing)
    barriers = _barriers(rng, outline.bounds)
    village_gdf = _villages(rng, outline, int(villages))
    towns = max(int(villages) // 50, 3)
    density = lambda pts: _density(rng_d, towns, outline.bounds, pts)  # noqa: E731
    rng_d = np.random.default_rng([seed, 1])
    building_gdf = _buildings_inside(rng, _Plots(shape, xy, spacing, density), int(buildings),
                                     outline, np.asarray(road_gdf.geometry.values))
    entity_gdf = _entities(rng, building_gdf, outline.bounds, int(entities))
    out = {"jurisdiction": jurisdiction, "villages": village_gdf, "roads": road_gdf,
           "barriers": barriers, "buildings": building_gdf, "entities": entity_gdf}
    if crs is not None and str(crs) != SYNTHETIC_CRS:
        out = {k: v.to_crs(crs) for k, v in out.items()}
    return out


def _buildings_inside(rng, plots: _Plots, n, outline, roads, *,
                      fringe=None) -> gpd.GeoDataFrame:
    """``n`` buildings whose centres lie in the outline (plus a 30 m fringe, so a few
    straddle the boundary or lie just outside, as in real data), off the streets
    (but for one in ten of those the jittered street grid runs across).

    ``fringe`` replaces the outline buffered by 30 m as the area the centres
    must lie in."""
    if n == 0:
        return _buildings(rng, plots, 0)
    if fringe is None:
        fringe = shapely.buffer(outline, 30)
    shape = plots.shape
    extent = shapely.box(*plots.xy.min(0), *plots.xy.max(0))
    frac = shapely.area(shapely.intersection(fringe, extent)) / shapely.area(extent)
    factor = 1.15 / max(frac, 0.05)
    # the centroid of a rectangle is its base point up to rounding: footprints are
    # only built for bases within 1 m of the fringe, and (slow) GEOS centroids only
    # for bases within 1 m of its edge; the test then picks exactly as on all of them
    near_fringe = shapely.buffer(fringe, 1.0)
    deep = shapely.buffer(fringe, -1.0)
    shapely.prepare(near_fringe)
    shapely.prepare(deep)
    tree = shapely.STRtree(roads)
    while True:
        cap = (shape[0] - 1) * (shape[1] - 1) * 64  # slots available
        m = min(int(np.ceil(n * factor)), cap)
        b = _building_params(rng, plots, m)
        idx = np.flatnonzero(shapely.contains_xy(near_fringe, b["base"][:, 0], b["base"][:, 1]))
        geoms = _building_polygons(b, idx)
        inside = np.zeros(m, dtype=bool)
        inside[idx] = shapely.contains_xy(deep, b["base"][idx, 0], b["base"][idx, 1])
        edge = idx[~inside[idx]]
        centre = shapely.get_coordinates(shapely.centroid(geoms[~inside[idx]]))
        inside[edge] = shapely.contains_xy(fringe, centre[:, 0], centre[:, 1])
        on_street = np.zeros(m, dtype=bool)
        on_street[idx[tree.query(geoms, predicate="intersects")[0]]] = True
        inside &= ~on_street | (rng.random(m) < 0.1)
        if inside.sum() >= n or m >= cap:
            break
        factor *= 1.5
    size = min(n, int(inside.sum()))
    pick = np.sort(rng.choice(np.flatnonzero(inside), size=size, replace=False))
    return _building_frame(b, pick, geoms[np.searchsorted(idx, pick)])

