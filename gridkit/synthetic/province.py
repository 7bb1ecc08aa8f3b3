"""A deterministic synthetic province: counties side by side (private module).

:func:`synthetic_province` is re-exported by :mod:`gridkit.synthetic.county`. The
administrative layers come from **one** Voronoi diagram of village seeds,
clipped once to the province outline, so that villages, towns (unions of
villages), counties (unions of towns) and the province share every edge
vertex for vertex: they tile the outline with no gap or overlap.

1. the province outline is an irregular blob (:func:`gridkit.synthetic.county._blob`)
   sized for ``counties`` counties of ``roads_per_county`` streets each;
2. county seeds, spread by a few Lloyd steps, give coarse county cells;
   each county draws a heavy-tailed (log-normal) weight, the largest ones
   going to the central counties (the city); buildings and entities are
   shared out in proportion to the weights, streets and villages in
   proportion to sqrt(weight x area) (a city has more and shorter streets,
   smaller villages);
3. village seeds are drawn in each coarse cell; a village belongs to the county
   whose cell holds its seed (then counties are made contiguous), and towns
   grow from k-means centres by breadth-first search over shared village
   borders, so every town is one connected piece;
4. each county's streets, buildings and entities are made by the county
   generator's own helpers (street grid, roads, buildings, entities of
   :mod:`gridkit.synthetic.county`), restricted to the county's polygon; river and
   railway cross the whole province.
"""

from __future__ import annotations

import logging
import warnings
from collections import deque

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.cluster.vq import kmeans2
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from gridkit.coverage.checks import unmatched_vertices
from gridkit.coverage.geom import RESOLUTION
from gridkit.errors import SyntheticSizeError
from gridkit.progress import progress
from gridkit.synthetic import county as _county

__all__ = ["synthetic_province"]

log = logging.getLogger(__name__)

_PROVINCE = "49"  # made-up 2-digit province code (unused by GB/T 2260)
_COUNTIES_PER_CITY = 6
_KEY = 0x5052  # mixes the seed for the province's random streams ("PR")


def _rng(seed, *key):
    return np.random.default_rng([seed, _KEY, *key])


def _check_sizes(counties, sizes: dict, villages_per_town, spacing):
    if int(counties) != counties or not 1 <= counties <= 99 * _COUNTIES_PER_CITY:
        raise SyntheticSizeError(f"`counties` must be a whole number from 1 to "
                                 f"{99 * _COUNTIES_PER_CITY}, got {counties!r}")
    least = {"buildings_per_county": 0, "entities_per_county": 0, "roads_per_county": 12,
             "villages_per_county": 1}
    for name, value in sizes.items():
        if isinstance(value, bool) or int(value) != value or value < least[name]:
            raise SyntheticSizeError(f"`{name}` must be a whole number >= {least[name]}, "
                                     f"got {value!r}")
    if int(villages_per_town) != villages_per_town or not 1 <= villages_per_town <= 200:
        raise SyntheticSizeError(f"`villages_per_town` must be a whole number from 1 to 200, "
                                 f"got {villages_per_town!r}")
    if not spacing > 0:
        raise SyntheticSizeError(f"`spacing` must be positive (metres), got {spacing!r}")


def _allocate(total: int, weights, minimum: int = 0) -> np.ndarray:
    """Split ``total`` into whole shares proportional to ``weights`` (each >= minimum),
    by largest remainder, so the shares add up exactly."""
    weights = np.asarray(weights, float)
    rest = total - minimum * len(weights)
    exact = rest * weights / weights.sum()
    share = np.floor(exact).astype(np.int64)
    short = rest - share.sum()
    share[np.argsort(-(exact - share), kind="stable")[:short]] += 1
    return share + minimum


def _points_in(rng, poly, n: int) -> np.ndarray:
    """``n`` uniform random points inside ``poly`` (rejection sampling)."""
    x0, y0, x1, y1 = poly.bounds
    frac = max(poly.area / ((x1 - x0) * (y1 - y0)), 0.05)
    out, got = [], 0
    while got < n:
        cand = rng.uniform((x0, y0), (x1, y1), (int((n - got) / frac * 1.2) + 8, 2))
        cand = cand[shapely.contains_xy(poly, cand[:, 0], cand[:, 1])]
        out.append(cand)
        got += len(cand)
    return np.vstack(out)[:n]


def _voronoi(seeds: np.ndarray, outline) -> np.ndarray:
    """Voronoi cells of ``seeds`` (in seed order) clipped to ``outline``, one polygon each.

    A cell that the clip cuts in pieces keeps its largest piece; the others go to
    the neighbour they share most border with, so the cells still tile the outline.
    Where two cells' clips put their corner on the outline a fraction of a
    millimetre apart, the neighbour gets that vertex too (edges match vertex
    for vertex).
    """
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seeds),
                                                       extend_to=outline, ordered=True))
    cells = shapely.intersection(cells, outline)
    parts, owner = shapely.get_parts(cells, return_index=True)
    poly = shapely.get_type_id(parts) == 3
    parts, owner = parts[poly], owner[poly]
    order = np.lexsort((-shapely.area(parts), owner))
    first = order[np.r_[True, owner[order][1:] != owner[order][:-1]]]
    out = parts[first]  # owners ascending: one per seed
    rest = np.setdiff1d(np.arange(len(parts)), first)
    for frag in parts[rest]:  # rare (a concave outline): a plain loop
        cand = shapely.STRtree(out).query(frag, predicate="intersects")
        shared = shapely.length(shapely.intersection(shapely.boundary(out[cand]),
                                                     frag.boundary))
        j = cand[int(np.argmax(shared))]
        out[j] = shapely.union(out[j], frag)
    xy, owner, nb, _ = unmatched_vertices(out, shapely.STRtree(out))
    for q, i, j in zip(xy, owner, nb, strict=True):
        out[i] = _onto_vertex(out[i], q, shapely.get_coordinates(out[j]))
    return out


def _onto_vertex(poly, q, others: np.ndarray):
    """``poly`` with its vertex ``q`` moved onto the nearest of ``others`` (within
    :data:`RESOLUTION`), or dropped where ``poly`` has that vertex already."""
    d = np.hypot(*(others - q).T)
    if not len(d) or d.min() >= RESOLUTION:
        return poly
    target = tuple(others[int(np.argmin(d))])
    q = tuple(q)

    def fix(ring):
        coords = [tuple(c) for c in ring.coords[:-1]]
        coords = [c for c in coords if c != q] if target in coords else [
            target if c == q else c for c in coords]
        return coords + coords[:1]

    parts = [shapely.Polygon(fix(part.exterior), [fix(r) for r in part.interiors])
             for part in shapely.get_parts(poly)]
    return parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)


def _rook_pairs(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (a < b) of cells sharing a stretch of border (not just a point)."""
    a, b = shapely.STRtree(cells).query(cells, predicate="intersects")
    keep = a < b
    a, b = a[keep], b[keep]
    line = shapely.relate_pattern(cells[a], cells[b], "****1****")
    return a[line], b[line]


def _contiguous(owner: np.ndarray, area: np.ndarray, a, b, n_groups: int) -> np.ndarray:
    """Make each group of cells one connected piece: cells cut off from their
    group's largest piece join the neighbouring group they touch most."""
    owner = owner.copy()
    for _ in range(20):
        same = owner[a] == owner[b]
        g = coo_matrix((np.ones(same.sum()), (a[same], b[same])), shape=(len(owner),) * 2)
        _, comp = connected_components(g, directed=False)
        comp_area = np.bincount(comp, weights=area)
        best = np.full(n_groups, -1)
        best_area = np.full(n_groups, -1.0)
        for c in np.unique(comp):  # one pass over components, not cells
            grp = owner[np.flatnonzero(comp == c)[0]]
            if comp_area[c] > best_area[grp]:
                best[grp], best_area[grp] = c, comp_area[c]
        stray = comp != best[owner]
        if not stray.any():
            return owner
        for i in np.flatnonzero(stray):
            nb = np.r_[b[a == i], a[b == i]]
            other = owner[nb][owner[nb] != owner[i]]
            if len(other):
                owner[i] = np.bincount(other).argmax()
    return owner


def _towns(rng, centre: np.ndarray, nbrs: list[np.ndarray], k: int) -> np.ndarray:
    """Group one county's villages into ``k`` connected towns: k-means centres,
    then a multi-source breadth-first search over shared borders (own code: a
    BFS keeps every town in one piece, which plain k-means does not)."""
    n = len(centre)
    if k <= 1:
        return np.zeros(n, dtype=np.int64)
    with warnings.catch_warnings():  # an empty cluster only moves a town's seed village
        warnings.simplefilter("ignore")
        ctr, _ = kmeans2(centre, k, rng=rng, minit="++")
    town = np.full(n, -1, dtype=np.int64)
    queue = deque()
    for t, c in enumerate(ctr):
        d = ((centre - c) ** 2).sum(1)
        d[town >= 0] = np.inf
        s = int(np.argmin(d))
        town[s] = t
        queue.append(s)
    while queue:
        i = queue.popleft()
        for j in nbrs[i]:
            if town[j] < 0:
                town[j] = town[i]
                queue.append(j)
    # a village no border reaches (not expected): the nearest town centre
    lost = town < 0
    if lost.any():
        town[lost] = np.argmin(((centre[lost, None, :] - ctr[None]) ** 2).sum(-1), axis=1)
    return town


def _reading_order(xy: np.ndarray) -> np.ndarray:
    """Order ``xy`` "from west to east, from north to south" (rows of about
    sqrt(n) items, as the coding standards number their units)."""
    n = len(xy)
    if n <= 1:
        return np.arange(n)
    rows = max(int(round(np.sqrt(n))), 1)
    top, bottom = xy[:, 1].max(), xy[:, 1].min()
    row = np.minimum(((top - xy[:, 1]) / max(top - bottom, 1e-9) * rows).astype(int), rows - 1)
    return np.lexsort((xy[:, 0], row))


def _province_outline(rng, counties: int, roads_per_county: int, spacing: float):
    area = counties * roads_per_county * spacing**2 / 1.7  # as a county: roads/1.7 cells
    radius = np.sqrt(area / np.pi)
    centre = (_county._ORIGIN[0] + 1.3 * radius, _county._ORIGIN[1] + 1.3 * radius)
    return _county._blob(rng, centre, radius, n=128)


def _county_cells(rng, outline, counties: int) -> np.ndarray:
    seeds = _points_in(rng, outline, counties)
    if counties == 1:
        return np.array([outline], dtype=object), seeds
    for _ in range(4):  # Lloyd steps: counties of comparable size
        cells = _voronoi(seeds, outline)
        seeds = shapely.get_coordinates(shapely.centroid(cells))
    return _voronoi(seeds, outline), seeds


def _admin(rng, outline, counties, sizes):
    """Villages (one Voronoi diagram), their town and county, and each county's sizes."""
    coarse, cseeds = _county_cells(rng, outline, counties)
    area = shapely.area(coarse)
    # heavy-tailed weights, the largest for the most central counties (the city)
    weight = np.sort(rng.lognormal(0.0, 1.0, counties))[::-1]
    centre = np.asarray(outline.centroid.coords[0])
    w = np.empty(counties)
    w[np.argsort(((cseeds - centre) ** 2).sum(1), kind="stable")] = weight
    spread = np.sqrt(w / w.mean() * area / area.mean())
    n_vil = _allocate(counties * sizes["villages_per_county"], spread, minimum=1)
    seeds = np.vstack([_points_in(rng, coarse[c], n_vil[c]) for c in range(counties)])
    owner = np.repeat(np.arange(counties), n_vil)
    if len(seeds) == 1:
        cells = np.array([outline], dtype=object)
    else:
        cells = _voronoi(seeds, outline)
    a, b = _rook_pairs(cells)
    owner = _contiguous(owner, shapely.area(cells), a, b, counties)
    return cells, owner, (a, b), w, spread


def synthetic_province(
    seed: int = 0,
    *,
    counties: int = 4,
    buildings_per_county: int = 50_000,
    entities_per_county: int = 100_000,
    roads_per_county: int = 10_000,
    villages_per_county: int = 100,
    villages_per_town: int = 20,
    spacing: float = 200.0,
    crs=_county.SYNTHETIC_CRS,
) -> dict[str, gpd.GeoDataFrame]:
    """Generate a synthetic province: counties side by side, each like :func:`synthetic_county`.

    Sizes are given **per county on average**: the province holds exactly
    ``counties * buildings_per_county`` buildings (and so on), shared out
    unevenly: each county draws a heavy-tailed weight, the central counties
    (the city) are the heaviest, and get most buildings and entities on a
    small area; streets and villages follow sqrt(weight x area).

    Parameters
    ----------
    seed
        Random seed; the same seed and sizes give identical layers.
    counties
        Number of counties (1-594; codes ``49CCNN``: city ``CC``, county ``NN``).
    buildings_per_county, entities_per_county
        Mean buildings and entities per county (0 allowed).
    roads_per_county
        Mean road segments per county (>= 12); they set the province's area
        (a county covers about ``roads * spacing**2 / 1.7`` m²); the total is
        exact. About 1 % are duplicates and 2 % stop short of their node, as in
        :func:`synthetic_county`; roads are clipped at the borders between
        counties but run past the province's outer edge.
    villages_per_county
        Mean villages (村/社区) per county (>= 1); the total is exact.
    villages_per_town
        Mean villages per town (1-200): a county with ``v`` villages has
        ``round(v / villages_per_town)`` towns (at least one).
    spacing
        Mean street spacing (m) of an average county; dense counties get
        shorter blocks.
    crs
        CRS of the returned layers (default :data:`SYNTHETIC_CRS`; e.g.
        ``"EPSG:4490"`` for longitude/latitude).

    Returns
    -------
    dict
        GeoDataFrames ``jurisdiction`` (the province, 1 row), ``counties``
        (``code`` 6 digits, ``name``, ``city_code``), ``towns`` (``code`` 9
        digits, ``name``, ``county_code``), ``villages`` (``code`` 12 digits,
        ``name``, ``town_code``), and ``roads``, ``barriers``, ``buildings``,
        ``entities`` with the columns of :func:`synthetic_county` (ids unique
        across the province). Counties, towns and villages tile the
        province exactly (shared edges vertex for vertex).

    Raises
    ------
    SyntheticSizeError
        A size is out of range (a :class:`ValueError`).

    Examples
    --------
    >>> p = synthetic_province(1, counties=2, buildings_per_county=100,
    ...                        entities_per_county=200, roads_per_county=200,
    ...                        villages_per_county=6, villages_per_town=3)
    >>> len(p["counties"]), len(p["villages"]), len(p["buildings"])
    (2, 12, 200)
    """
    sizes = {"buildings_per_county": buildings_per_county,
             "entities_per_county": entities_per_county,
             "roads_per_county": roads_per_county, "villages_per_county": villages_per_county}
    _check_sizes(counties, sizes, villages_per_town, spacing)
    counties = int(counties)
    sizes = {k: int(v) for k, v in sizes.items()}
    rng = _rng(seed)
    outline = _province_outline(rng, counties, sizes["roads_per_county"], spacing)
    shapely.prepare(outline)
    cells, owner, (a, b), w, spread = _admin(rng, outline, counties, sizes)
    vcentre = shapely.get_coordinates(shapely.centroid(cells))

    # counties in reading order; then towns and villages inside each
    regions = np.array([shapely.coverage_union_all(cells[owner == c]) for c in range(counties)],
                       dtype=object)
    corder = _reading_order(shapely.get_coordinates(shapely.centroid(regions)))
    rank = np.empty(counties, dtype=np.int64)
    rank[corder] = np.arange(counties)
    owner, w, spread, regions = rank[owner], w[corder], spread[corder], regions[corder]
    ccode = [f"{_PROVINCE}{i // _COUNTIES_PER_CITY + 1:02d}{i % _COUNTIES_PER_CITY + 1:02d}"
             for i in range(counties)]
    nbrs = _neighbours(len(cells), a, b, owner)
    vcode = np.empty(len(cells), dtype=object)
    for c in range(counties):
        idx = np.flatnonzero(owner == c)
        k = min(max(int(round(len(idx) / villages_per_town)), 1), len(idx))
        if k > 999:
            raise SyntheticSizeError(
                f"county {ccode[c]} would have {k} towns, more than 3-digit town codes allow: "
                f"raise `villages_per_town` or lower `villages_per_county`")
        local = {v: i for i, v in enumerate(idx)}
        sub = [np.array([local[j] for j in nbrs[v]], dtype=np.int64) for v in idx]
        town = _towns(_rng(seed, c + 1, 2), vcentre[idx], sub, k)
        tcentre = np.array([vcentre[idx[town == t]].mean(0) for t in range(k)])
        trank = np.empty(k, dtype=np.int64)
        trank[_reading_order(tcentre)] = np.arange(k)
        town = trank[town]
        if np.bincount(town).max() > 999:
            raise SyntheticSizeError(f"a town of county {ccode[c]} would hold more than 999 "
                                     f"villages (3-digit codes): lower `villages_per_town`")
        for t in range(k):
            members = idx[town == t]
            for s, v in enumerate(members[_reading_order(vcentre[members])]):
                vcode[v] = f"{ccode[c]}{t + 1:03d}{s + 1:03d}"
    vorder = np.argsort(vcode, kind="stable")
    vcode, cells, owner = vcode[vorder], cells[vorder], owner[vorder]
    tcode = np.array([c[:9] for c in vcode], dtype=object)
    villages = gpd.GeoDataFrame({"code": vcode, "name": [f"Village {c[6:]}" for c in vcode],
                                 "town_code": tcode}, geometry=cells, crs=_county.SYNTHETIC_CRS)
    tu, tstart = np.unique(tcode, return_index=True)
    tgeom = [shapely.coverage_union_all(g) for g in np.split(cells, tstart[1:])]
    towns = gpd.GeoDataFrame({"code": tu, "name": [f"Town {t[6:]}" for t in tu],
                              "county_code": [t[:6] for t in tu]},
                             geometry=tgeom, crs=_county.SYNTHETIC_CRS)
    county_gdf = gpd.GeoDataFrame({"code": ccode, "name": [f"County {c}" for c in ccode],
                                   "city_code": [c[:4] for c in ccode]},
                                  geometry=list(regions), crs=_county.SYNTHETIC_CRS)
    jurisdiction = gpd.GeoDataFrame({"code": [_PROVINCE], "name": ["Synthetic province"]},
                                    geometry=[outline], crs=_county.SYNTHETIC_CRS)

    n_b = _allocate(counties * sizes["buildings_per_county"], w)
    n_e = _allocate(counties * sizes["entities_per_county"], w)
    n_r = _allocate(counties * sizes["roads_per_county"], spread, minimum=12)
    n_v = np.bincount(owner, minlength=counties)
    parts = {"roads": [], "buildings": [], "entities": []}
    done = {"roads": 0, "buildings": 0, "entities": 0}
    for c in progress(range(counties), desc="synthetic counties", unit="county"):
        layers = _fill_county(_rng(seed, c + 1), _rng(seed, c + 1, 1), regions[c], outline,
                              roads=int(n_r[c]), villages=int(n_v[c]), buildings=int(n_b[c]),
                              entities=int(n_e[c]), spacing=spacing)
        for kind, id_col in (("roads", "road_id"), ("buildings", "building_id"),
                             ("entities", "entity_id")):
            layer = layers[kind]
            layer[id_col] = np.arange(done[kind], done[kind] + len(layer))
            done[kind] += len(layer)
            parts[kind].append(layer)
        log.debug("county %s: %s", ccode[c], {k: len(v) for k, v in layers.items()})
        del layers
    out = {"jurisdiction": jurisdiction, "counties": county_gdf, "towns": towns,
           "villages": villages}
    for kind in ("roads", "buildings", "entities"):
        out[kind] = _concat(parts[kind])
        parts[kind] = None
    out["barriers"] = _county._barriers(rng, outline.bounds)
    out = {k: out[k] for k in ("jurisdiction", "counties", "towns", "villages", "roads",
                               "barriers", "buildings", "entities")}
    log.info("synthetic province: %s", {k: len(v) for k, v in out.items()})
    if crs is not None and str(crs) != _county.SYNTHETIC_CRS:
        out = {k: v.to_crs(crs) for k, v in out.items()}
    return out


def _neighbours(n: int, a, b, owner) -> list[np.ndarray]:
    """Neighbours of each cell through a shared border, within its own county."""
    same = owner[a] == owner[b]
    a, b = a[same], b[same]
    src, dst = np.r_[a, b], np.r_[b, a]
    order = np.argsort(src, kind="stable")
    src, dst = src[order], dst[order]
    return np.split(dst, np.searchsorted(src, np.arange(1, n)))


def _concat(frames: list[gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    out = pd.concat(frames, ignore_index=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=frames[0].crs)


def _fill_county(rng, rng_d, region, province, *, roads, villages, buildings, entities, spacing):
    """Streets, buildings and entities of one county, by the county generator's helpers.

    The street grid covers the region's bounding box with a spacing that gives
    about ``roads`` segments inside; roads and buildings stay inside the region
    except along the province's outer edge, where (as in a lone county) a few
    run past it.
    """
    x0, y0, x1, y1 = region.bounds
    # a county's edges number about 2 * area / spacing**2 and 15 % are missing links
    # (synthetic._roads): this spacing leaves enough inside; a mean-density county
    # gets the caller's spacing back
    step = np.sqrt(1.7 * region.area / roads)
    outside = shapely.difference(shapely.buffer(region, step), province)
    near = shapely.union(region, outside)
    fringe = shapely.union(region, shapely.difference(shapely.buffer(region, 30), province))
    shapely.prepare(near)
    shapely.prepare(fringe)
    n_dup = int(round(0.01 * roads))
    for _ in range(20):
        shape = (int(np.ceil((x1 - x0) / step)) + 3, int(np.ceil((y1 - y0) / step)) + 3)
        shape_, xy, edges, main = _county._grid(rng, roads, step, origin=(x0 - step, y0 - step),
                                                shape=shape)
        mid = (xy[edges[:, 0]] + xy[edges[:, 1]]) / 2
        if shapely.contains_xy(near, mid[:, 0], mid[:, 1]).sum() >= roads - n_dup:
            break
        step *= 0.9  # a thin county: a finer grid
    road_gdf = _county._roads(rng, xy, edges, main, roads, region, step, near=near)
    geoms = road_gdf.geometry.values
    cross = ~shapely.within(geoms, near)
    clipped = shapely.intersection(geoms[cross], near)
    geoms[cross] = np.where(shapely.is_empty(clipped), geoms[cross], clipped)
    road_gdf = road_gdf.set_geometry(geoms)
    towns = max(villages // 50, 3)
    density = lambda pts: _county._density(rng_d, towns, region.bounds, pts)  # noqa: E731
    plots = _county._Plots(shape_, xy, step, density)
    building_gdf = _county._buildings_inside(rng, plots, buildings, region,
                                             np.asarray(road_gdf.geometry.values), fringe=fringe)
    entity_gdf = _county._entities(rng, building_gdf, region.bounds, entities)
    return {"roads": road_gdf, "buildings": building_gdf, "entities": entity_gdf}
