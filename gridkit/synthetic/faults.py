"""Synthetic coverages and fault injection, for tests and benchmarks (private).

:func:`voronoi_grids` builds a clean coverage (Voronoi cells of seeded random
points clipped to a square jurisdiction); :func:`inject` applies one fault of
a named kind and says where it is, so that a test or benchmark can check the
validator finds it at the right place. Everything is deterministic from the
seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import shapely

from gridkit.coverage.geom import insert_vertices

FAULTS = (
    "overlap",
    "gap",
    "sliver_overlap",
    "sliver_gap",
    "extra_vertex",
    "deleted_grid",
    "cut_back",
    "point_outside",
    "point_on_two",
)
#: The issue kind each fault must produce.
FAULT_KIND = {
    "overlap": "overlap",
    "gap": "gap",
    "sliver_overlap": "overlap",
    "sliver_gap": "gap",
    "extra_vertex": "edge_mismatch",
    "deleted_grid": "gap",
    "cut_back": "gap",
    "point_outside": "entity_unassigned",
    "point_on_two": "entity_multiple",
}


@dataclass
class Fault:
    """An injected fault: its name, the issue kind it must raise, where and whom."""

    name: str
    kind: str
    where: object  # shapely geometry (metric CRS) the issue must touch
    grids: set = field(default_factory=set)
    width: float | None = None
    sliver: bool | None = None


def voronoi_grids(
    n: int,
    *,
    seed: int = 0,
    size: float = 1000.0,
    crs="EPSG:32650",
    origin=(500_000.0, 3_000_000.0),
):
    """A clean coverage of ``n`` Voronoi grids over a ``size`` m square.

    Returns ``(grids, jurisdiction)`` GeoDataFrames; grids have ``grid_id``
    ``"g0"``... .
    """
    rng = np.random.default_rng(seed)
    x0, y0 = origin
    box = shapely.box(x0, y0, x0 + size, y0 + size)
    pts = rng.uniform(0, size, (n, 2)) + np.array([x0, y0])
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=box, ordered=True)
    )
    cells = shapely.intersection(np.asarray(cells, dtype=object), box)
    grids = gpd.GeoDataFrame(
        {"grid_id": [f"g{i}" for i in range(len(cells))]}, geometry=cells, crs=crs
    )
    jur = gpd.GeoDataFrame({"name": ["box"]}, geometry=[box], crs=crs)
    return grids, jur


def _shared_segments(grids: gpd.GeoDataFrame, jur_boundary, rng, min_len: float):
    """Pairs of neighbours with a straight shared edge ``(i, j, A, B)``, shuffled."""
    geoms = grids.geometry.values
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="touches")
    pairs = [(i, j) for i, j in zip(left, right, strict=False) if i < j]
    rng.shuffle(pairs)
    for i, j in pairs:
        shared = shapely.line_merge(shapely.intersection(geoms[i].boundary, geoms[j].boundary))
        if shared.geom_type != "LineString" or shared.length < min_len:
            continue
        coords = np.asarray(shared.coords)
        if len(coords) != 2:
            continue
        yield i, j, coords[0], coords[1]


def _notch(poly, A, B, depth, frac=(0.25, 0.75), into=None):
    """Replace the edge AB of ``poly`` by a rectangular notch ``depth`` deep.

    The notch points into ``into`` (a polygon on one side of AB); ``depth=0``
    only inserts the two vertices. Built on the coordinates, not with an
    overlay, so that both grids get bit-identical new vertices.
    Returns ``(new_poly, rect)`` or ``(None, None)`` when AB is not an edge.
    """
    ring = [tuple(c) for c in poly.exterior.coords]
    d = B - A
    n = np.array([-d[1], d[0]]) / np.hypot(*d)
    P1, P2 = A + frac[0] * d, A + frac[1] * d
    if into is not None and not into.contains(shapely.Point(*(0.5 * (P1 + P2) + 1e-3 * n))):
        n = -n
    seq = [P1, P1 + depth * n, P2 + depth * n, P2] if depth else [P1, P2]
    for k in range(len(ring) - 1):
        if ring[k] == tuple(A) and ring[k + 1] == tuple(B):
            new = ring[: k + 1] + [tuple(p) for p in seq] + ring[k + 1 :]
            break
        if ring[k] == tuple(B) and ring[k + 1] == tuple(A):
            new = ring[: k + 1] + [tuple(p) for p in seq[::-1]] + ring[k + 1 :]
            break
    else:
        return None, None
    rect = shapely.Polygon([P1, P2, P2 + depth * n, P1 + depth * n]) if depth else None
    return shapely.Polygon(new, [r.coords for r in poly.interiors]), rect


def _renode(geoms, k, before):
    """Give the neighbours of grid ``k`` the new vertices it got on their edges.

    Keeps an injected fault pure: the neighbours' edges stay matched vertex
    for vertex, so the only issue is the one injected.
    """
    old = {tuple(c) for c in shapely.get_coordinates(before)}
    new = [tuple(c) for c in shapely.get_coordinates(geoms[k]) if tuple(c) not in old]
    if not new:
        return
    tree = shapely.STRtree(geoms)
    for j in tree.query(geoms[k], predicate="dwithin", distance=1e-6):
        if j != k:
            geoms[j] = insert_vertices(geoms[j], new, tol=1e-6)


def inject(
    grids: gpd.GeoDataFrame,
    jurisdiction: gpd.GeoDataFrame,
    fault: str,
    *,
    seed: int = 0,
    width: float | None = None,
    entities: gpd.GeoDataFrame | None = None,
):
    """Apply one fault; returns ``(grids, entities, Fault)`` (inputs untouched).

    ``width`` sets the overlap/gap width (defaults: 3 m overlap, 2 m gap,
    5 cm slivers, 3 m cut-back).
    """
    rng = np.random.default_rng(seed)
    geoms = np.array(grids.geometry.values, dtype=object)
    ids = grids["grid_id"].to_numpy()
    jur = shapely.union_all(jurisdiction.geometry.values)
    ents = (
        entities.copy()
        if entities is not None
        else gpd.GeoDataFrame({"entity_id": []}, geometry=[], crs=grids.crs)
    )
    out = None
    if fault in ("overlap", "gap", "sliver_overlap", "sliver_gap", "extra_vertex"):
        depth = (
            width
            or {
                "overlap": 3.0,
                "gap": 2.0,
                "sliver_overlap": 0.05,
                "sliver_gap": 0.05,
                "extra_vertex": 0.0,
            }[fault]
        )
        for i, j, A, B in _shared_segments(grids, jur.boundary, rng, min_len=max(8 * depth, 1.0)):
            if fault == "extra_vertex":
                ring = np.asarray(geoms[i].exterior.coords)
                k = next(
                    (
                        k
                        for k in range(len(ring) - 1)
                        if {tuple(ring[k]), tuple(ring[k + 1])} == {tuple(A), tuple(B)}
                    ),
                    None,
                )
                if k is None:
                    continue
                M = 0.5 * (ring[k] + ring[k + 1])
                ring = np.insert(ring, k + 1, M, axis=0)
                geoms[i] = shapely.Polygon(ring, [r.coords for r in geoms[i].interiors])
                out = Fault(fault, "edge_mismatch", shapely.LineString([A, B]), {ids[i], ids[j]})
                break
            if fault in ("overlap", "sliver_overlap"):
                grown, rect = _notch(geoms[i], A, B, depth, into=geoms[j])
                if grown is None or not grown.is_valid or rect.difference(geoms[j]).area > 1e-9:
                    continue
                geoms[i] = grown
                out = Fault(
                    fault, "overlap", rect, {ids[i], ids[j]}, depth, fault.startswith("sliver")
                )
            else:
                cut, rect = _notch(geoms[j], A, B, depth, into=geoms[j])
                if cut is None or not cut.is_valid or rect.difference(geoms[j]).area > 1e-9:
                    continue
                geoms[j] = cut
                geoms[i], _ = _notch(geoms[i], A, B, 0.0)
                out = Fault(fault, "gap", rect, {ids[i], ids[j]}, depth, fault.startswith("sliver"))
            break
    elif fault == "deleted_grid":
        k = int(rng.integers(len(geoms)))
        out = Fault(fault, "gap", geoms[k], set(), None, False)
        keep = np.arange(len(geoms)) != k
        res = grids.iloc[keep].copy()
        res = res.set_geometry(gpd.GeoSeries(geoms[keep], index=res.index, crs=grids.crs))
        return res, ents, out
    elif fault == "cut_back":
        depth = width or 3.0
        edge = jur.boundary  # the jurisdiction is the box of voronoi_grids
        cand = np.flatnonzero(
            shapely.length(shapely.intersection(shapely.boundary(geoms), edge)) > 10 * depth
        )
        k = int(rng.choice(cand))
        x0, y0, x1, y1 = jur.bounds
        inner = shapely.box(x0 + depth, y0 + depth, x1 - depth, y1 - depth)
        strip = shapely.difference(geoms[k], inner)
        before = geoms[k]
        geoms[k] = shapely.intersection(geoms[k], inner)
        _renode(geoms, k, before)
        out = Fault(fault, "gap", strip, {ids[k]}, depth, False)
    elif fault == "point_outside":
        x0, y0, x1, y1 = jur.bounds
        p = shapely.Point(x1 + 10 + rng.uniform(0, 50), rng.uniform(y0, y1))
        ents = _add_point(ents, p, "outside")
        out = Fault(fault, "entity_unassigned", p, set())
    elif fault == "point_on_two":
        # a vertex on the jurisdiction's edge where exactly two grids meet
        coords, owner = shapely.get_coordinates(shapely.get_exterior_ring(geoms), return_index=True)
        keyed = {}
        for c, o in zip(map(tuple, coords), owner, strict=False):
            keyed.setdefault(c, set()).add(int(o))
        two = [(c, o) for c, o in keyed.items() if len(o) == 2]
        c, o = two[int(rng.integers(len(two)))]
        p = shapely.Point(c)
        ents = _add_point(ents, p, "on_two")
        out = Fault(fault, "entity_multiple", p, {ids[x] for x in o})
    else:
        raise ValueError(f"unknown fault {fault!r}; use one of {FAULTS}")
    if out is None:
        raise RuntimeError(f"no place found for fault {fault!r} (seed {seed}); use more grids")
    res = grids.copy()
    res = res.set_geometry(gpd.GeoSeries(geoms, index=res.index, crs=grids.crs))
    return res, ents, out


def _add_point(ents, p, label):
    row = gpd.GeoDataFrame({"entity_id": [f"injected_{label}"]}, geometry=[p], crs=ents.crs)
    import pandas as pd

    return gpd.GeoDataFrame(pd.concat([ents, row], ignore_index=True), crs=ents.crs)


def random_points(jurisdiction: gpd.GeoDataFrame, n: int, *, seed: int = 0) -> gpd.GeoDataFrame:
    """``n`` entity points uniformly inside the jurisdiction's bounds."""
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = jurisdiction.total_bounds
    xy = rng.uniform([x0, y0], [x1, y1], (n, 2))
    # keep them off the edge so that a clean coverage holds each exactly once
    xy = np.clip(xy, [x0 + 1e-3, y0 + 1e-3], [x1 - 1e-3, y1 - 1e-3])
    return gpd.GeoDataFrame(
        {"entity_id": np.arange(n).astype(str)}, geometry=shapely.points(xy), crs=jurisdiction.crs
    )


def nested_grids(
    n: int,
    *,
    entities: int = 0,
    per_village: int = 18,
    villages_per_town: int = 20,
    towns_per_county: int = 15,
    seed: int = 0,
    crs="EPSG:4549",
    origin=(400_000.0, 3_000_000.0),
):
    """A clean province-like coverage of ``n`` grids nested in villages, towns, counties.

    Built bottom up so that the nesting is exact: grids are Voronoi cells of
    seeds denser around a few cities (small urban grids, large rural ones,
    about 1 ha on average), villages are unions of about ``per_village``
    neighbouring grids, towns of ``villages_per_town`` villages, counties of
    ``towns_per_county`` towns; codes follow the standard (village code 12
    digits = county 6 + town 3 + village 3; grid id = village code + 3 digits).
    ``entities`` points follow the grids (about the same number per grid, as
    balanced grids have): 80 % near a grid's seed, 20 % anywhere; with
    ``entity_id``, ``risk`` and ``credit`` in the mix of DOMAIN.md.

    Returns ``(grids, villages, jurisdiction, entities)`` GeoDataFrames;
    grids have ``grid_id`` and ``village_code``, villages ``code`` and
    ``town_code``.
    """
    from scipy.spatial import cKDTree

    rng = np.random.default_rng(seed)
    size = 100.0 * np.sqrt(n)
    x0, y0 = origin
    box = shapely.box(x0, y0, x0 + size, y0 + size)
    pts = _clustered(rng, n, size) + np.array([x0, y0])
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=box, ordered=True)
    )
    cells = shapely.intersection(np.asarray(cells, dtype=object), box)
    # villages: grids whose seed is nearest to one of n / per_village village seeds
    # (drawn among the grid seeds, so they follow the density)
    nv = max(n // per_village, 1)
    vseed = pts[rng.choice(n, size=nv, replace=False)]
    # number villages west to east in bands, towns and counties as runs of them
    band = np.floor((vseed[:, 1] - y0) / size * max(int(np.sqrt(nv) / 4), 1))
    vseed = vseed[np.lexsort((vseed[:, 0], band))]
    village = cKDTree(vseed).query(pts)[1]
    used, village = np.unique(village, return_inverse=True)
    nv = len(used)
    t = np.arange(nv) // villages_per_town
    county, town = t // towns_per_county, t % towns_per_county
    seq = np.arange(nv) % villages_per_town
    vcodes = np.array(
        [f"33{c + 1:04d}{tt + 1:03d}{s + 1:03d}" for c, tt, s in zip(county, town, seq,
                                                                      strict=True)],
        dtype=object,
    )
    grids = gpd.GeoDataFrame({"village_code": vcodes[village]}, geometry=cells, crs=crs)
    order = np.argsort(grids["village_code"].to_numpy(), kind="stable")
    grids, pts = grids.iloc[order].reset_index(drop=True), pts[order]
    rank = grids.groupby("village_code").cumcount().to_numpy() + 1
    if rank.max() > 999:
        raise RuntimeError("a village got more than 999 grids; use a larger per_village")
    grids.insert(0, "grid_id", [f"{c}{r:03d}" for c, r in zip(grids["village_code"], rank,
                                                                strict=True)])
    villages = grids.dissolve("village_code", method="coverage").reset_index()
    villages = villages.rename(columns={"village_code": "code"})[["code", "geometry"]]
    villages["town_code"] = villages["code"].str[:9]
    jur = gpd.GeoDataFrame({"name": ["synthetic province"]}, geometry=[box], crs=crs)
    ents = _entities_near(rng, pts, entities, (x0, y0, x0 + size, y0 + size), crs)
    return grids, villages, jur, ents


def _clustered(rng, n: int, size: float) -> np.ndarray:
    """``n`` points in a ``size`` square: 40 % uniform, 60 % around cities."""
    k = max(int(np.sqrt(n) / 20), 3)
    centres = rng.uniform(0.1 * size, 0.9 * size, (k, 2))
    weight = rng.pareto(1.2, k) + 1
    spread = size * rng.uniform(0.02, 0.08, k)
    m = int(0.6 * n)
    city = rng.choice(k, size=m, p=weight / weight.sum())
    clustered = centres[city] + rng.normal(0, 1, (m, 2)) * spread[city, None]
    xy = np.vstack([clustered, rng.uniform(0, size, (n - m, 2))])
    return np.clip(xy, 1e-3 * size, size * (1 - 1e-3))


def _entities_near(rng, seeds: np.ndarray, n: int, bounds, crs, chunk: int = 2_000_000):
    """``n`` points: 80 % within half the nearest-seed distance of a random seed (so
    inside that seed's Voronoi cell), 20 % uniform in ``bounds``. Chunked: 10 M
    points take about 3 GB at most."""
    import pandas as pd
    from scipy.spatial import cKDTree

    x0, y0, x1, y1 = bounds
    radius = cKDTree(seeds).query(seeds, k=2)[0][:, 1] / 2 if len(seeds) > 1 else np.ones(1)
    parts = []
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        near = rng.random(m) < 0.8
        k = int(near.sum())
        owner = rng.integers(0, len(seeds), k)
        ang = rng.uniform(0, 2 * np.pi, k)
        r = radius[owner] * 0.98 * np.sqrt(rng.random(k))
        xy = np.empty((m, 2))
        xy[near] = seeds[owner] + np.column_stack([r * np.cos(ang), r * np.sin(ang)])
        xy[~near] = rng.uniform([x0, y0], [x1, y1], (m - k, 2))
        parts.append(np.clip(xy, [x0 + 1e-3, y0 + 1e-3], [x1 - 1e-3, y1 - 1e-3]))
    xy = np.vstack(parts) if parts else np.empty((0, 2))
    risk = rng.choice(np.array([1, 2, 3], dtype=np.int8), size=n, p=(0.06, 0.285, 0.655))
    credit = pd.Categorical.from_codes(rng.choice(3, size=n, p=(0.755, 0.24, 0.005)),
                                       categories=["A", "B", "C"])
    return gpd.GeoDataFrame(
        {"entity_id": np.arange(n, dtype=np.int64), "risk": risk, "credit": credit},
        geometry=shapely.points(xy),
        crs=crs,
    )
