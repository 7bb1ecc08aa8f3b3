"""Benchmark: network reach and siting against peers.

    python benchmarks/bench_reach.py [--quick]

Reach (issue #10: 100,000 buildings over a 20,000-segment network in < 10 s):
  gridkit.network_reach (segment snapping, edges split at facilities, scipy
  multi-source Dijkstra) against
  - nearest-node snapping + networkx.multi_source_dijkstra_path_length (the
    usual osmnx-style recipe),
  - nearest-node snapping + scipy csgraph (same approximation, fast),
  - a Euclidean buffer (what planners draw by hand),
  with how often each disagrees with the exact network answer.

Siting (2,000 candidates, 20,000 demand points in < 60 s or gap reported):
  gridkit.site_facilities LSCP/MCLP (spopt + CBC on the reduced problem)
  against the greedy heuristic, and spopt's own dense model builder on a
  2,000-demand slice.

Data: a synthetic city (seeded): a jittered street grid with 8% of the
streets missing and a river crossed by 4 bridges; buildings scattered along
the streets. And the real sample (central Helsinki, OSM): buildings to
pharmacies.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
import warnings
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import gridkit as gk  # noqa: E402

CRS = "EPSG:32650"
#: solver time limit (s); the model build and the LP bound come on top
TIME_LIMIT = 30  # any metric CRS; the data are synthetic


def city(n: int, *, spacing: float = 80.0, seed: int = 7, drop: float = 0.08, bridges: int = 4):
    """Jittered n x n street grid; a river along x = middle cut except at `bridges` streets."""
    rng = np.random.default_rng(seed)
    xy = {
        (i, j): (i * spacing + rng.uniform(-15, 15), j * spacing + rng.uniform(-15, 15))
        for i in range(n)
        for j in range(n)
    }
    river_i = n // 2  # edges between column river_i-1 and river_i cross the river
    bridge_rows = set(rng.choice(n, size=bridges, replace=False).tolist())
    G = nx.MultiGraph(crs=CRS)
    for (i, j), (x, y) in xy.items():
        G.add_node((i, j), x=x, y=y)
    for i in range(n):
        for j in range(n):
            for di, dj in ((1, 0), (0, 1)):
                a, b = (i, j), (i + di, j + dj)
                if b not in xy:
                    continue
                if di == 1 and i + 1 == river_i and j not in bridge_rows:
                    continue
                if rng.random() < drop:
                    continue
                line = shapely.LineString([xy[a], xy[b]])
                G.add_edge(a, b, length=line.length, geometry=line)
    river = shapely.LineString(
        [((river_i - 0.5) * spacing, -spacing), ((river_i - 0.5) * spacing, n * spacing)]
    )
    return G, river


def scatter(G, k: int, seed: int, offset=(5.0, 40.0)) -> gpd.GeoDataFrame:
    """k points beside random streets (random place along, random side and distance)."""
    rng = np.random.default_rng(seed)
    edges = [d["geometry"] for _, _, d in G.edges(data=True)]
    idx = rng.integers(0, len(edges), k)
    lines = np.asarray(edges, dtype=object)[idx]
    t = rng.uniform(0, 1, k)
    p = shapely.line_interpolate_point(lines, t, normalized=True)
    a = shapely.get_coordinates(shapely.get_point(lines, 0))
    b = shapely.get_coordinates(shapely.get_point(lines, -1))
    d = b - a
    nrm = (
        np.stack([-d[:, 1], d[:, 0]], axis=1)
        / np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-9)[:, None]
    )
    off = rng.uniform(*offset, k) * rng.choice([-1, 1], k)
    xy = shapely.get_coordinates(p) + nrm * off[:, None]
    return gpd.GeoDataFrame(
        {"households": rng.integers(1, 40, k)}, geometry=shapely.points(xy), crs=CRS
    )


def node_snapped(G, pts, fac, budget, engine: str):
    """Peer: snap to the nearest *node*, multi-source shortest paths on nodes."""
    nodes = list(G.nodes)
    xy = np.array([[G.nodes[n]["x"], G.nodes[n]["y"]] for n in nodes])
    tree = cKDTree(xy)
    dp, ip = tree.query(shapely.get_coordinates(pts.geometry.representative_point().to_numpy()))
    df, jf = tree.query(shapely.get_coordinates(fac.geometry.to_numpy()))
    if engine == "networkx":
        src = {nodes[j] for j in jf}
        lengths = nx.multi_source_dijkstra_path_length(G, src, weight="length")
        dist = np.array([lengths.get(n, np.inf) for n in nodes])
    else:
        pos = {n: i for i, n in enumerate(nodes)}
        u, v, w = zip(
            *[(pos[a], pos[b], d["length"]) for a, b, d in G.edges(data=True)], strict=True
        )
        M = coo_matrix((w, (u, v)), shape=(len(nodes), len(nodes))).tocsr()
        dist = dijkstra(M, directed=False, indices=np.unique(jf), min_only=True)
    total = dp + dist[ip]
    return total, total <= budget


def euclid(pts, fac, budget):
    tree = shapely.STRtree(fac.geometry.to_numpy())
    (i, _), d = tree.query_nearest(pts.geometry.to_numpy(), return_distance=True, all_matches=False)
    out = np.full(len(pts), np.inf)
    out[i] = d
    return out, out <= budget


def markdown(df: pd.DataFrame, digits: int = 3) -> str:
    """A markdown table (no tabulate dependency)."""

    def cell(v):
        if isinstance(v, (float, np.floating)):
            return f"{v:.{digits}f}"
        return str(v)

    lines = [
        "| " + " | ".join(map(str, df.columns)) + " |",
        "|" + "|".join("---" for _ in df.columns) + "|",
    ]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)


def timed(fn, *a, **kw):
    t = time.perf_counter()
    out = fn(*a, **kw)
    return out, time.perf_counter() - t


def reach_table(G, pts, fac, budget, label) -> list[dict]:
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gk.GridkitWarning)
        res, t_full = timed(gk.network_reach, pts, fac, G, max_distance=budget, service_areas=True)
        res2, t_core = timed(
            gk.network_reach, pts, fac, G, max_distance=budget, service_areas=False
        )
    exact = res.points["within_reach"].to_numpy()
    exact_d = res.points["distance_m"].to_numpy()
    base = {
        "data": label,
        "points": len(pts),
        "segments": G.number_of_edges(),
        "facilities": len(fac),
    }
    rows.append(
        {
            **base,
            "method": "gridkit.network_reach (segments, + service areas)",
            "seconds": t_full,
            "share_within": exact.mean(),
            "disagree_with_exact": 0.0,
            "mean_abs_err_m": 0.0,
        }
    )
    rows.append(
        {
            **base,
            "method": "gridkit.network_reach (segments, no service areas)",
            "seconds": t_core,
            "share_within": res2.points["within_reach"].mean(),
            "disagree_with_exact": float((res2.points["within_reach"].to_numpy() != exact).mean()),
            "mean_abs_err_m": 0.0,
        }
    )
    for engine in ("networkx", "scipy"):
        (d, ok), t = timed(node_snapped, G, pts, fac, budget, engine)
        both = np.isfinite(d) & np.isfinite(exact_d)
        rows.append(
            {
                **base,
                "method": f"nearest node + {engine} Dijkstra",
                "seconds": t,
                "share_within": ok.mean(),
                "disagree_with_exact": float((ok != exact).mean()),
                "mean_abs_err_m": float(np.abs(d[both] - exact_d[both]).mean()),
            }
        )
    (d, ok), t = timed(euclid, pts, fac, budget)
    both = np.isfinite(d) & np.isfinite(exact_d)
    rows.append(
        {
            **base,
            "method": "Euclidean buffer",
            "seconds": t,
            "share_within": ok.mean(),
            "disagree_with_exact": float((ok != exact).mean()),
            "mean_abs_err_m": float(np.abs(d[both] - exact_d[both]).mean()),
        }
    )
    over = float((ok & ~exact).mean())
    rows[-1]["method"] += f" (claims {over:.1%} of points wrongly)"
    return rows


def siting_table(G, n_dem, n_cand, radius, p, label) -> list[dict]:
    dem = scatter(G, n_dem, seed=11)
    cand = scatter(G, n_cand, seed=12, offset=(0.0, 5.0))
    rows = []
    for problem, pp in (("LSCP", None), ("MCLP", p)):
        for method in ("mip", "greedy"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                r, t = timed(
                    gk.site_facilities,
                    dem,
                    G,
                    max_distance=radius,
                    p=pp,
                    candidates=cand,
                    method=method,
                    time_limit=TIME_LIMIT,
                )
            covered = r.demand["status"].isin(["covered", "covered_existing"]).mean()
            rows.append(
                {
                    "data": label,
                    "problem": problem,
                    "method": method,
                    "demand": n_dem,
                    "candidates": n_cand,
                    "radius_m": radius,
                    "p": pp or "-",
                    "seconds": t,
                    "solve_s": r.stats["solve_s"],
                    "matrix_s": r.stats["matrix_s"],
                    "unique_rows": r.stats["unique_rows"],
                    "useful_candidates": r.stats["useful_candidates"],
                    "sites": len(r.sites),
                    "objective": r.objective,
                    "optimal": r.optimal,
                    "gap": r.gap,
                    "covered_share": covered,
                }
            )
    return rows


def spopt_dense_peer(G, n_dem, n_cand, radius) -> dict:
    """spopt's own builder on the full dense matrix (a slice: it loops over every pair)."""
    import pulp
    from spopt.locate import LSCP

    from gridkit.reach import _siting as sit
    from gridkit.routing import network

    dem = scatter(G, n_dem, seed=11)
    cand = scatter(G, n_cand, seed=12, offset=(0.0, 5.0))
    edges = network.edge_table(G)
    s = network.snap(cand.geometry.to_numpy(), edges, limit=100)
    split, node = network.split_at(edges, s.edge, s.t)
    ds = network.snap(dem.geometry.to_numpy(), split, limit=100)
    A = sit.coverage_matrix(split, node, s.dist, ds, radius, direction="to_facility").toarray()
    keep = A.any(axis=1)
    cost = np.where(A[keep], 0.0, 2.0)
    t = time.perf_counter()
    model = LSCP.from_cost_matrix(cost, 1.0)
    t_build = time.perf_counter() - t
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.problem.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=60))
    t_all = time.perf_counter() - t
    sites = sum((v.value() or 0) > 0.5 for v in model.fac_vars)
    return {
        "data": f"spopt LSCP.from_cost_matrix, dense {cost.shape[0]}x{cost.shape[1]}",
        "build_s": t_build,
        "total_s": t_all,
        "sites": sites,
        "status": pulp.LpStatus[model.problem.status],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    ap.add_argument("--part", choices=("all", "reach", "siting"), default="all")
    args = ap.parse_args()
    n, k_pts, k_fac = (40, 10_000, 30) if args.quick else (105, 100_000, 150)
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 20)
    print(f"python {platform.python_version()}, gridkit {gk.__version__}")

    G, _ = city(n)
    if args.part in ("all", "reach"):
        pts = scatter(G, k_pts, seed=1)
        fac = scatter(G, k_fac, seed=2, offset=(0.0, 10.0))
        rows = reach_table(G, pts, fac, 800.0, f"synthetic city {n}x{n} with river")
        s = gk.load_sample()
        Gs, t_graph = timed(gk.road_graph, s["roads"])
        b = s["buildings"].to_crs(Gs.graph["crs"])
        ph = s["entities"][s["entities"]["category"] == "pharmacy"].to_crs(Gs.graph["crs"])
        rows += reach_table(Gs, b, ph, 500.0, "Helsinki sample, buildings to pharmacies")
        print("\n## Reach\n")
        print(markdown(pd.DataFrame(rows)))
        print(f"\n(road_graph of the Helsinki sample: {t_graph:.2f} s, not included above)")
    if args.part in ("all", "siting"):
        nd, nc = (2_000, 300) if args.quick else (20_000, 2_000)
        sit_rows = siting_table(G, nd, nc, 500.0, 20, f"synthetic city {n}x{n}")
        print(f"\n## Siting (solver time limit {TIME_LIMIT} s)\n")
        print(markdown(pd.DataFrame(sit_rows)))
        peer = spopt_dense_peer(G, 2_000 if not args.quick else 500, nc, 500.0)
        print("\n## spopt's dense builder (peer)\n")
        print(markdown(pd.DataFrame([peer]), 2))


if __name__ == "__main__":
    main()
