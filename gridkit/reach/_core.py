"""Array core of network reach: the multi-source search from facilities, the
cost of every point, and the parts of the streets within reach.

Everything here works on plain arrays in one metric CRS, on the edge table,
snapper and shortest-path helper of :mod:`gridkit.routing.network`;
:mod:`gridkit.reach.reach` is the GeoDataFrame shell around it.

Why own code and not ``networkx.multi_source_dijkstra``: the search must start
*inside* edges (a facility halfway along a street) and end inside edges (a
building halfway along another), and it must run over 20,000+ edges for
100,000 points in seconds. The graph search itself is scipy's
(:func:`scipy.sparse.csgraph.dijkstra` with ``min_only=True``); the code here
only does the edge-offset arithmetic around it.
"""

from __future__ import annotations

import numpy as np
import shapely

from gridkit.routing.network import (
    TINY,
    EdgeTable,
    Snap,
    arc_matrix,
    shortest_paths,
)

#: distances within this many metres of a budget count as within it (float noise
#: and the TINY weights of zero-length legs)
TOLERANCE = 1e-6


def nearest_sources(
    edges: EdgeTable,
    site_node: np.ndarray,
    site_cost: np.ndarray,
    *,
    direction: str,
    limit: float = np.inf,
) -> tuple[np.ndarray, np.ndarray]:
    """Multi-source Dijkstra: for every node the cost to the nearest site and its index.

    Each site gets a virtual node joined to its snap node by its access cost
    (the site-to-street leg), so the search starts with that cost. Sites with
    ``site_node`` -1 are left out. ``direction="from_facility"`` follows
    one-way streets as travelled; ``"to_facility"`` searches backwards
    (people travel to the facility). Returns ``(dist, site)`` per node;
    ``site`` is -1 where no site is reached.
    """
    n = edges.n_nodes
    valid = np.flatnonzero(site_node >= 0)
    if len(valid) == 0:
        return np.full(n, np.inf), np.full(n, -1, dtype=np.int64)
    arcs = arc_matrix(
        edges,
        reverse=direction == "to_facility",
        start_nodes=site_node[valid],
        start_costs=site_cost[valid],
    )
    dist, src = shortest_paths(arcs.matrix, arcs.starts, nearest=True, limit=limit)
    site = np.full(n + len(valid), -1, dtype=np.int64)
    reached = src >= 0
    site[reached] = valid[src[reached] - n]
    # the virtual nodes' own costs are access legs, not part of the network
    return dist[:n], site[:n]


def point_costs(
    edges: EdgeTable, s: Snap, dist: np.ndarray, site: np.ndarray, *, direction: str
) -> tuple[np.ndarray, np.ndarray]:
    """Network cost (m, without the point's own access leg) and nearest site of snapped points."""
    n = len(s.edge)
    cost = np.full(n, np.inf)
    best = np.full(n, -1, dtype=np.int64)
    ok = np.flatnonzero(s.edge >= 0)
    if len(ok) == 0:
        return cost, best
    e = s.edge[ok]
    t = s.t[ok]
    L = edges.length[e]
    one = edges.oneway[e]
    via_u = dist[edges.u[e]] + t * L
    via_v = dist[edges.v[e]] + (1 - t) * L
    # a one-way street: the search may only enter it from u (outwards) or v (backwards)
    if direction == "from_facility":
        via_v = np.where(one, np.inf, via_v)
    else:
        via_u = np.where(one, np.inf, via_u)
    use_u = via_u <= via_v
    cost[ok] = np.where(use_u, via_u, via_v)
    best[ok] = np.where(use_u, site[edges.u[e]], site[edges.v[e]])
    best[~np.isfinite(cost)] = -1
    return cost, best


def reached_pieces(edges: EdgeTable, dist: np.ndarray, site: np.ndarray, budget: float):
    """The parts of every edge within ``budget`` of a site, with that site.

    An edge whose ends are reached from different sites is cut where the two
    meet, so that the pieces of different sites never overlap. Returns
    ``(site, geometry)`` arrays. One-way restrictions are ignored here (the
    areas are a map layer, not a measure).
    """
    du, dv = dist[edges.u], dist[edges.v]
    L = np.maximum(edges.length, TINY)
    su, sv = site[edges.u], site[edges.v]
    # meeting point along the edge (fraction from u)
    with np.errstate(invalid="ignore"):  # inf - inf on edges no site reaches
        meet = np.clip((L + dv - du) / (2 * L), 0.0, 1.0)
        meet = np.where(np.isfinite(meet), meet, np.where(np.isfinite(du), 1.0, 0.0))
        reach_u = np.clip((budget - du) / L, 0.0, 1.0)
        reach_v = np.clip((budget - dv) / L, 0.0, 1.0)
    reach_u = np.where(np.isfinite(du), reach_u, 0.0)
    reach_v = np.where(np.isfinite(dv), reach_v, 0.0)
    a_end = np.minimum(reach_u, meet)  # [0, a_end] from u
    b_start = np.maximum(1.0 - reach_v, meet)  # [b_start, 1] from v
    out_site, out_geom = [], []
    for lo, hi, who in (
        (np.zeros_like(a_end), a_end, su),
        (b_start, np.ones_like(b_start), sv),
    ):
        take = (hi - lo > 1e-9) & (who >= 0)
        full = take & (lo <= 1e-9) & (hi >= 1 - 1e-9)
        part = np.flatnonzero(take & ~full)
        out_site.append(who[full])
        out_geom.append(edges.geom[full])
        out_site.append(who[part])
        out_geom.append(substrings(edges.geom[part], lo[part], hi[part]))
    return np.concatenate(out_site), np.concatenate(out_geom)


def substrings(geoms: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The part of each line between fractions ``lo`` and ``hi`` of its length.

    A vectorised :func:`shapely.ops.substring` (which loops in Python: 12 s
    for 17,000 pieces); ``lo < hi`` is assumed.
    """
    if len(geoms) == 0:
        return np.empty(0, dtype=object)
    coords, owner = shapely.get_coordinates(geoms, return_index=True)
    seg = np.hypot(*np.diff(coords, axis=0).T)
    seg = np.where(owner[1:] == owner[:-1], seg, 0.0)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    first = np.searchsorted(owner, np.arange(len(geoms)))
    cum = cum - cum[first][owner]
    total = shapely.length(geoms)
    frac = cum / np.where(total > 0, total, 1)[owner]
    inside = (frac > lo[owner]) & (frac < hi[owner])
    start = shapely.get_coordinates(shapely.line_interpolate_point(geoms, lo, normalized=True))
    end = shapely.get_coordinates(shapely.line_interpolate_point(geoms, hi, normalized=True))
    n = len(geoms)
    key_line = np.concatenate([np.arange(n), owner[inside], np.arange(n)])
    key_pos = np.concatenate([np.full(n, -1.0), frac[inside], np.full(n, 2.0)])
    xy = np.vstack([start, coords[inside], end])
    order = np.lexsort((key_pos, key_line))
    return shapely.linestrings(xy[order], indices=key_line[order])
