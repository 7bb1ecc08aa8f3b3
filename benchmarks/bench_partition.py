"""Benchmark: gridkit.grids.partition against spopt (SKATER, max-p), GerryChain and METIS.

    python benchmarks/bench_partition.py [--sizes 1000 10000 50000] [--k 20 200]
        [--cap 240] [--no-sample] [--out benchmarks/results/partition.md]
        [--no-districting | --districting-only] [--opt-seconds 20]

The districting rows (real libpysal graphs at ±0.5%, with HiGHS's optimum)
come first; see ``districting``.

Every method gets the same units, weights, adjacency (shared boundary length,
road length along it) and k, and runs in its own forked process with a time
cap (``--cap`` seconds; a peer is skipped at a size where its time at the
previous size predicts more than the cap, and the table says so). Times
include turning the units/adjacency into each library's input (networkx
graph, libpysal W, CSR arrays). Measured on the result, the same way for all:

- grids: non-empty grids returned (asked: k);
- max/mean, min/mean: grid weight against total/k (a missing grid weighs 0);
- split: grids in more than one piece (units joined by shared boundaries);
- in_tol: k grids, none split, every grid within ±2% of total/k (two-sided;
  gridkit nested in villages balances to its village's mean instead, see note);
- cut_km: total cut cost (shared border less half the road length along it), km;
- cross: grids spanning more than one village;
- PP: mean Polsby-Popper of the dissolved grids;
- road: share of the border length between grids that runs along roads;
- RSS: peak resident memory of the process (MB; includes the inputs).
- seconds: the method's call alone, in a forked child, with every method's
  library imported beforehand (the same for all).

Data:
- methods: ``gridkit`` (grids nested in villages, as the tool is meant to be
  used) and ``gridkit-flat`` (``nest_by=None``: the peers' problem, no
  villages, for a like-for-like balance comparison); with many grids per
  part gridkit also starts from METIS's contiguous splits (pymetis) and
  keeps the better plan after its own two-sided refinement; ``metis-nested``
  (METIS inside each village, with the grid counts gridkit gives the
  villages): the like-for-like peer of nested ``gridkit``;
- synthetic: a square lattice of 50 m cells (STAND-IN for gridkit.synthetic.county),
  villages = Voronoi regions of 6 random seeds, "roads" along every 4th
  lattice line, heavy-tailed weights (30% zeros, the rest ceil(lognormal(0.5,
  1.1))), seed 0;
- sample: central Helsinki, units from ``gridkit.build_units`` (weight
  ``workload_min``); ``--sample standin``: the STAND-IN street blocks used
  before build_units landed (``standin_units`` below, weight entities).

Peers' settings: METIS (pymetis) with ``contiguous=True`` and ufactor 20
(2%, gridkit's default tolerance), vertex weights = weights, edge weights =
cut cost (shared length less half the road length, as gridkit's
``road_weight=0.5``); KaHIP (kaffpa, strong) and Mt-KaHyPar (default preset)
at imbalance 0.02 (no contiguity option); GerryChain ``recursive_tree_part`` with
epsilon 0.02 (the same tolerance); SKATER on the unit centroids (compact
regions) with a floor of n/(2k) units; max-p on the centroids with a
threshold of 0.9 x total/k (it decides k itself).
"""

from __future__ import annotations

import argparse
import importlib
import multiprocessing as mp
import os
import platform
import resource
import subprocess
import sys
import time
import traceback
import warnings
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import gridkit as gk  # noqa: E402
from gridkit.grids import shape  # noqa: E402

ROAD_WEIGHT = 0.5
TOLERANCE = 0.02  # gridkit's default; the peers get the same imbalance
SLOW = ("gerrychain", "skater", "max-p")  # only these are skipped on a predicted time
EXPONENT = {"gridkit": 1.2, "gridkit-flat": 1.2, "metis": 1.2, "metis-nested": 1.2,
            "kahip": 1.2, "mt-kahypar": 1.2,
            "gerrychain": 1.6,
            "skater": 2.0, "max-p": 2.0}


# ------------------------------------------------------------------ data
def synthetic(n_units: int, *, villages: int = 6, seed: int = 0, road_every: int = 4,
              cell: float = 50.0):
    """Lattice units (STAND-IN for gridkit.synthetic.county) and their exact adjacency."""
    rng = np.random.default_rng(seed)
    side = int(round(np.sqrt(n_units)))
    nx_ = side
    i = np.arange(n_units)
    cx, cy = i % nx_, i // nx_
    ny = int(cy.max()) + 1
    geoms = shapely.box(cx * cell, cy * cell, (cx + 1) * cell, (cy + 1) * cell)
    seeds = rng.uniform([0, 0], [nx_, ny], size=(villages, 2))
    d = (cx[:, None] + .5 - seeds[:, 0]) ** 2 + (cy[:, None] + .5 - seeds[:, 1]) ** 2
    vill = np.argmin(d, axis=1)
    zero = rng.random(n_units) < 0.3
    weight = np.where(zero, 0, np.ceil(rng.lognormal(0.5, 1.1, n_units))).astype(int)
    units = gpd.GeoDataFrame({"unit_id": i, "village_code": [f"V{v:02d}" for v in vill],
                              "weight": weight}, geometry=geoms, crs=32650)
    right = np.flatnonzero((cx + 1 < nx_) & (i + 1 < n_units))
    up = np.flatnonzero(i + nx_ < n_units)
    ua, ub = np.r_[right, up], np.r_[right + 1, up + nx_]
    onroad = np.r_[(cx[right] + 1) % road_every == 0, (cy[up] + 1) % road_every == 0]
    adj = pd.DataFrame({"unit_a": ua, "unit_b": ub, "shared_m": cell,
                        "road_m": np.where(onroad, cell, 0.0), "barrier_m": 0.0,
                        "village_m": 0.0,
                        "road_class": np.where(onroad, "residential", None)})
    return units, adj


# STAND-IN units (street blocks), used before gridkit.build_units landed (issue #3);
# kept so that the early sample rows of the results can be reproduced.
STANDIN_ROAD_CLASSES = ("residential", "primary", "secondary", "tertiary", "unclassified",
                        "pedestrian", "service", "primary_link", "tertiary_link")


def standin_units(layers, *, road_classes=STANDIN_ROAD_CLASSES,
                  min_area: float = 50.0) -> gpd.GeoDataFrame:
    """Stand-in units (blocks between streets), in the layers' working CRS.

    Columns: ``unit_id``, ``village_code``, ``entities``, ``households``,
    ``buildings``. Blocks smaller than ``min_area`` m² are merged into
    nothing (dropped) only when they are slivers between lines; the blocks
    still tile the jurisdiction up to those slivers.
    """
    jur = shapely.union_all(layers["jurisdiction"].geometry.values)
    roads = layers["roads"]
    lines = roads.geometry.values[roads["road_class"].isin(road_classes).to_numpy()]
    villages = layers["villages"]
    edges = np.concatenate([
        shapely.intersection(lines, jur),
        shapely.boundary(villages.geometry.values),
        [shapely.boundary(jur)],
    ])
    noded = shapely.union_all(edges)
    polys = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    polys = polys[shapely.area(polys) >= min_area]
    polys = polys[shapely.intersects(shapely.point_on_surface(polys), jur)]
    units = gpd.GeoDataFrame({"unit_id": np.arange(len(polys))}, geometry=polys, crs=layers.crs)
    pts = gpd.GeoDataFrame(geometry=units.geometry.representative_point(), crs=layers.crs)
    hit = gpd.sjoin(pts, villages[["code", "geometry"]], predicate="within", how="left")
    hit = hit[~hit.index.duplicated()]
    code = hit["code"].reindex(units.index).fillna(villages["code"].iloc[0])
    units["village_code"] = code.astype(str)
    for name, layer, value in (("entities", layers.get("entities"), None),
                               ("households", layers.get("buildings"), "households"),
                               ("buildings", layers.get("buildings"), None)):
        if layer is None:
            units[name] = 0
            continue
        pts = gpd.GeoDataFrame(
            {"v": layer[value].to_numpy() if value else np.ones(len(layer))},
            geometry=layer.geometry.representative_point().values, crs=layers.crs)
        j = gpd.sjoin(pts, units[["geometry"]], predicate="within")
        j = j[~j.index.duplicated()]
        units[name] = (pd.Series(j["v"].to_numpy(), index=j["index_right"].to_numpy())
                       .groupby(level=0).sum().reindex(units.index, fill_value=0)
                       .to_numpy().astype(int))
    return units


def sample_case(kind: str = "build"):
    """The real sample: units from gridkit.build_units (weight workload_min), or the
    STAND-IN street blocks used before build_units landed (weight entities)."""
    from gridkit.io.sample import SAMPLE_LAYERS

    layers = gk.load_layers(**{n: f"{gk.sample_path()}:{n}" for n in SAMPLE_LAYERS})
    if kind == "build":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            units = gk.build_units(layers["roads"], layers["jurisdiction"],
                                   villages=layers["villages"], barriers=layers["barriers"],
                                   buildings=layers["buildings"],
                                   entities=layers["entities"]).units
        units["weight"] = units["workload_min"]
        label = "sample (Helsinki, build_units, workload_min)"
    else:
        units = standin_units(layers, road_classes=STANDIN_ROAD_CLASSES
                              + ("footway", "steps", "path", "pedestrian"))
        units["weight"] = units["entities"]
        label = "sample (Helsinki, stand-in units)"
    adj = gk.unit_adjacency(units, roads=layers["roads"], villages=layers["villages"])
    return label, units, adj


# ------------------------------------------------------------------ methods
def _csr(n, adj):
    a, b = adj["unit_a"].to_numpy(), adj["unit_b"].to_numpy()
    cost = np.maximum(adj["shared_m"] - ROAD_WEIGHT * adj["road_m"], 0).to_numpy()
    m = sp.csr_matrix((np.r_[cost, cost], (np.r_[a, b], np.r_[b, a])), shape=(n, n))
    m.sort_indices()
    return m


def run_gridkit(units, adj, k, seed, nest_by="village_code"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = gk.partition(units, "weight", k=k, adjacency=adj, road_weight=ROAD_WEIGHT, seed=seed,
                         nest_by=nest_by)
    labels = pd.factorize(r.assignment["grid_id"])[0]
    rep = r.report
    return labels, {"note": f"max dev. from village target {rep.max_deviation:.1%}, "
                            f"granularity bound {rep.bound:.1%}"}


def run_gridkit_flat(units, adj, k, seed):
    """gridkit with nest_by=None: the peers' problem (no villages), for a like-for-like balance."""
    labels, _ = run_gridkit(units, adj, k, seed, nest_by=None)
    return labels, {}


def run_metis(units, adj, k, seed):
    import pymetis

    m = _csr(len(units), adj)
    ew = np.maximum(1, np.round(m.data)).astype(int)
    _, parts = pymetis.part_graph(
        k, xadj=m.indptr, adjncy=m.indices, vweights=units["weight"].astype(int).tolist(),
        eweights=ew.tolist(), contiguous=True,
        options=pymetis.Options(seed=seed, ufactor=round(TOLERANCE * 1000)))
    return np.asarray(parts), {}



def run_metis_nested(units, adj, k, seed):
    """METIS (contig) inside each village: the like-for-like peer of nested gridkit.

    Each village gets gridkit's number of grids (``alloc.allocate`` over the
    village weights), each connected piece of a village its share
    (``alloc.part_counts``); a piece too light for a grid of its own is left
    without one (gridkit attaches such pieces to a neighbouring grid)."""
    import pymetis

    from gridkit.grids.core.alloc import allocate, part_counts

    n = len(units)
    m = _csr(n, adj)
    village = pd.factorize(units["village_code"])[0]
    w = units["weight"].to_numpy(dtype=float)
    same = village[m.nonzero()[0]] == village[m.indices]
    inside = sp.csr_matrix((m.data * same, m.indices, m.indptr), shape=m.shape)
    inside.eliminate_zeros()
    _, piece = connected_components(inside, directed=False)
    counts = allocate(np.bincount(village, weights=w), k, cap=np.bincount(village))
    labels, next_label = np.full(n, -1), 0
    for v in range(len(counts)):
        pieces = np.unique(piece[village == v])
        pk = part_counts(np.array([w[piece == p].sum() for p in pieces]),
                         np.array([(piece == p).sum() for p in pieces]), int(counts[v]))
        for p, kp in zip(pieces, pk, strict=True):
            nodes = np.flatnonzero(piece == p)
            if kp == 1:
                labels[nodes] = next_label
            elif kp > 1:
                sub = inside[nodes][:, nodes]
                _, parts = pymetis.part_graph(
                    int(kp), xadj=sub.indptr, adjncy=sub.indices,
                    vweights=np.round(w[nodes]).astype(int).tolist(),
                    eweights=np.maximum(1, np.round(sub.data)).astype(int).tolist(),
                    contiguous=True,
                    options=pymetis.Options(seed=seed, ufactor=round(TOLERANCE * 1000)))
                labels[nodes] = np.asarray(parts) + next_label
            next_label += int(kp)
    return labels, {}


def _peer_inputs(units, adj):
    m = _csr(len(units), adj)
    ew = np.maximum(1, np.round(m.data)).astype(int)
    vw = np.maximum(0, np.round(units["weight"].to_numpy(dtype=float))).astype(int)
    return m, ew, vw


def run_kahip(units, adj, k, seed, imbalance=TOLERANCE):
    import kahip

    m, ew, vw = _peer_inputs(units, adj)
    _, parts = kahip.kaffpa(vw.tolist(), m.indptr.tolist(), ew.tolist(), m.indices.tolist(), k,
                            imbalance, True, seed, 2)  # mode 2: STRONG
    return np.asarray(parts), {}


def run_mtkahypar(units, adj, k, seed, imbalance=TOLERANCE):
    import mtkahypar

    m, ew, vw = _peer_inputs(units, adj)
    coo = sp.triu(m, k=1).tocoo()
    w = np.maximum(1, np.round(coo.data)).astype(int)
    mk = mtkahypar.initialize(1, False)
    ctx = mk.context_from_preset(mtkahypar.PresetType.DEFAULT)
    ctx.set_partitioning_parameters(k, imbalance, mtkahypar.Objective.CUT)
    ctx.logging = False
    mtkahypar.set_seed(seed)
    g = mk.create_graph(ctx, len(units), len(coo.row), list(zip(coo.row.tolist(),
                        coo.col.tolist(), strict=True)), vw.tolist(), w.tolist())
    return np.asarray(g.partition(ctx).get_partition()), {}


def run_gerrychain(units, adj, k, seed):
    import networkx as nx
    from gerrychain import Graph
    from gerrychain.partition import recursive_tree_part

    g = nx.Graph()
    for i, w in enumerate(units["weight"].tolist()):
        g.add_node(i, w=w)
    g.add_edges_from(zip(adj["unit_a"].tolist(), adj["unit_b"].tolist(), strict=True))
    graph = Graph.from_networkx(g)
    total = float(units["weight"].sum())
    assign = recursive_tree_part(graph, range(k), total / k, "w", 0.02, rng=seed)
    labels = np.array([assign[i] for i in range(len(units))])
    return labels, {}


def _w(units, adj):
    from libpysal.weights import W

    neigh = {i: [] for i in range(len(units))}
    for a, b in zip(adj["unit_a"].tolist(), adj["unit_b"].tolist(), strict=True):
        neigh[a].append(b)
        neigh[b].append(a)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return W(neigh, silence_warnings=True)


def _xy_frame(units):
    c = units.geometry.centroid
    df = units[["weight"]].copy()
    df["x"], df["y"] = c.x.to_numpy(), c.y.to_numpy()
    return gpd.GeoDataFrame(df, geometry=units.geometry.values, crs=units.crs)


def run_skater(units, adj, k, seed):
    from spopt.region import Skater

    np.random.seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = Skater(_xy_frame(units).reset_index(drop=True), _w(units, adj), ["x", "y"],
                       n_clusters=k, floor=max(1, len(units) // (2 * k)), islands="ignore")
        model.solve()
    return np.asarray(model.labels_), {}


def run_maxp(units, adj, k, seed):
    from spopt.region import MaxPHeuristic

    np.random.seed(seed)
    total = float(units["weight"].sum())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = MaxPHeuristic(_xy_frame(units).reset_index(drop=True), _w(units, adj), ["x", "y"],
                              "weight", 0.9 * total / k, top_n=2)
        model.solve()
    labels = np.asarray(model.labels_)
    return labels, {"note": f"max-p chose p={model.p}"}


METHODS = {"gridkit": run_gridkit, "gridkit-flat": run_gridkit_flat, "metis": run_metis,
           "metis-nested": run_metis_nested,
           "kahip": run_kahip, "mt-kahypar": run_mtkahypar,
           "gerrychain": run_gerrychain, "skater": run_skater, "max-p": run_maxp}


# ------------------------------------------------------------------ running
# the libraries each method calls, imported before any timed run: the forked
# children inherit them, so no method's time includes loading its library
LIBRARIES = {"gridkit": ("gridkit.grids.partition", "highspy"),
             "gridkit-flat": ("gridkit.grids.partition", "highspy"),
             "metis": ("pymetis",), "metis-nested": ("pymetis", "gridkit.grids.core.alloc"),
             "kahip": ("kahip",), "mt-kahypar": ("mtkahypar",),
             "gerrychain": ("gerrychain", "networkx"), "skater": ("spopt.region",),
             "max-p": ("spopt.region",)}


def warm_up(methods) -> None:
    for name in methods:
        for module in LIBRARIES[name]:
            try:
                importlib.import_module(module)
            except ImportError:  # the method's own run reports it
                pass


def _child(conn, name, units, adj, k, seed):
    try:
        t = time.perf_counter()
        labels, extra = METHODS[name](units, adj, k, seed)
        secs = time.perf_counter() - t
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        conn.send(("ok", labels, secs, rss, extra))
    except Exception as exc:  # a peer failing is a result too
        conn.send(("error", None, 0.0, 0.0,
                   {"note": f"{type(exc).__name__}: {str(exc)[:80]}",
                    "tb": traceback.format_exc()[-400:]}))
    finally:
        conn.close()


def run_capped(name, units, adj, k, seed, cap):
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, name, units, adj, k, seed))
    start = time.perf_counter()
    proc.start()
    child.close()
    if parent.poll(cap):
        status, labels, secs, rss, extra = parent.recv()
    else:
        status, labels, secs, rss, extra = "timeout", None, time.perf_counter() - start, 0.0, {
            "note": f"stopped after {cap:.0f} s"}
    proc.join(5)
    if proc.is_alive():
        proc.terminate()
        proc.join()
    return status, labels, secs, rss, extra

# ------------------------------------------------------- districting (real graphs)
# libpysal's bundled layers (offline): file, weight column (None: every unit
# weighs 1, i.e. equal unit counts), metric CRS to assume when the file has none
REAL = {
    "columbus": ("columbus.shp", None, 3857),
    "stl": ("stl_hom.shp", "PO8893", 4326),
    "sids2": ("sids2.shp", "BIR74", 4326),
    "georgia": ("G_utm.shp", "TotPop90", 32617),
    "10740": ("10740.shp", None, 4326),
    "tokyo": ("tokyomet262.shp", None, 30166),
}
INSTANCES = [("columbus", 7), ("stl", 2), ("stl", 3), ("stl", 4), ("sids2", 2), ("sids2", 3),
             ("sids2", 4), ("georgia", 2), ("georgia", 3), ("georgia", 4), ("georgia", 5),
             ("10740", 2), ("tokyo", 5)]
DISTRICT_TOL = 0.005


def real_graph(name: str):
    """Units (largest connected piece of the rook graph) and their adjacency
    (shared border length, m); ``weight`` is the population or 1 per unit."""
    import libpysal.examples as ex

    file, column, crs = REAL[name]
    g = gpd.read_file(ex.get_path(file))
    if g.crs is None:
        g = g.set_crs(crs)
    if not g.crs.is_projected:
        g = g.to_crs(g.estimate_utm_crs())
    g = g.assign(geometry=g.geometry.make_valid()).reset_index(drop=True)
    g["unit_id"] = np.arange(len(g))
    adj = gk.unit_adjacency(g)
    n = len(g)
    m = sp.coo_matrix((np.ones(len(adj)), (adj["unit_a"], adj["unit_b"])), shape=(n, n))
    _, comp = connected_components(m, directed=False)
    keep = comp == np.bincount(comp).argmax()
    g = g[keep].reset_index(drop=True)
    g["unit_id"] = np.arange(len(g))
    g["weight"] = g[column].astype(float) if column else 1.0
    g["village_code"] = "all"
    adj = gk.unit_adjacency(g)
    adj["road_m"] = 0.0
    return g, adj


def _district_check(units, adj, labels, k, tol):
    """(feasible, cut in km, worst deviation, grids in pieces) of a labelling."""
    labels = np.asarray(labels)
    w = units["weight"].to_numpy(dtype=float)
    gw = np.bincount(labels, weights=w, minlength=k)
    dev = float(np.abs(gw / (w.sum() / k) - 1).max())
    a, b = adj["unit_a"].to_numpy(), adj["unit_b"].to_numpy()
    same = labels[a] == labels[b]
    n = len(units)
    g = sp.coo_matrix((np.ones(int(same.sum())), (a[same], b[same])), shape=(n, n))
    _, comp = connected_components(g, directed=False)
    pieces = pd.Series(comp).groupby(labels).nunique().reindex(range(k), fill_value=0)
    split = int((pieces != 1).sum())
    ok = split == 0 and len(np.unique(labels)) == k and dev <= tol + 1e-9
    return ok, float(adj["shared_m"].to_numpy()[~same].sum() / 1000), dev, split


def _optimum(units, adj, start, k, tol, seconds):
    """HiGHS on the integer programme (gridkit.grids.core.exact), warm-started; beyond
    two grids, pairs of grids are first re-split exactly (half the time)."""
    from gridkit.grids.core.exact import pair_polish, solve_part
    from gridkit.grids.core.graph import Graph

    a, b = adj["unit_a"].to_numpy(), adj["unit_b"].to_numpy()
    s = adj["shared_m"].to_numpy(dtype=float)
    graph = Graph.from_edges(len(units), a, b, s, s)
    w = units["weight"].to_numpy(dtype=float)
    t = w.sum() / k
    lo, hi = (1 - tol) * t, (1 + tol) * t
    began = time.perf_counter()
    if start is not None and k > 2:
        start = pair_polish(graph, start, w, lo, hi, time_limit=seconds / 2)
    left = seconds - (time.perf_counter() - began)
    res = solve_part(graph, w, k, lo, hi, start=start, time_limit=max(left, 0.1))
    res.seconds = time.perf_counter() - began
    return res


def _district_peer(name, units, adj, k, seed, tol):
    if name == "gridkit":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = gk.partition(units, "weight", k=k, adjacency=adj, nest_by=None, tolerance=tol,
                             seed=seed)
        return pd.factorize(r.assignment["grid_id"])[0]
    if name == "metis":
        import pymetis

        m, ew, vw = _peer_inputs(units, adj)
        _, parts = pymetis.part_graph(k, xadj=m.indptr, adjncy=m.indices, vweights=vw.tolist(),
                                      eweights=ew.tolist(), contiguous=True,
                                      options=pymetis.Options(seed=seed,
                                                              ufactor=max(1, round(tol * 1000))))
        return np.asarray(parts)
    if name == "kahip":
        return run_kahip(units, adj, k, seed, imbalance=tol)[0]
    return run_mtkahypar(units, adj, k, seed, imbalance=tol)[0]


def districting(seed: int, seconds: float, instances=INSTANCES) -> pd.DataFrame:
    """Every method on every instance at ±DISTRICT_TOL, with the optimum where HiGHS proves it."""
    rows = []
    graphs = {}
    for name, k in instances:
        if name not in graphs:
            graphs[name] = real_graph(name)
        units, adj = graphs[name]
        label = f"{name} ({len(units)})"
        found = {}
        for method in DISTRICT_METHODS:
            t0 = time.perf_counter()
            try:
                labels = _district_peer(method, units, adj, k, seed, DISTRICT_TOL)
            except Exception as exc:  # a peer that fails on an instance is a row, not a crash
                rows.append({"data": label, "k": k, "method": method, "feasible": False,
                             "note": f"failed: {exc}"[:80]})
                continue
            secs = time.perf_counter() - t0
            ok, cut, dev, split = _district_check(units, adj, labels, k, DISTRICT_TOL)
            found[method] = (ok, labels)
            rows.append({"data": label, "k": k, "method": method, "feasible": ok, "cut_km": cut,
                         "max_dev": dev, "split": split, "seconds": secs})
        ok, labels = found.get("gridkit", (False, None))
        res = _optimum(units, adj, labels if ok else None, k, DISTRICT_TOL, seconds)
        opt = res.cost / 1000 if res.optimal else np.nan
        if res.optimal:
            note = "proved optimal"
        elif res.infeasible:
            note = "proved infeasible"
        elif res.gap is not None:
            note = f"not proved in {seconds:.0f} s (gap {res.gap:.0%})"
        else:
            note = f"no plan or bound in {seconds:.0f} s"
        rows.append({"data": label, "k": k, "method": "gridkit exact (HiGHS)",
                     "feasible": res.labels is not None,
                     "cut_km": res.cost / 1000 if res.labels is not None else np.nan,
                     "seconds": res.seconds, "note": note})
        for r in rows:
            if r["data"] == label and r["k"] == k:
                r["optimum_km"] = opt
        print(rows[-1], flush=True)
    return pd.DataFrame(rows)


DISTRICT_METHODS = ("gridkit", "metis", "kahip", "mt-kahypar")


def render_districting(t: pd.DataFrame, seconds: float) -> str:
    """The districting table and, per method, feasibility and cut vs the optimum."""
    t = t.copy()
    t["vs_opt"] = (t["cut_km"] / t["optimum_km"]).where(t["feasible"].astype(bool))
    cols = ["data", "k", "method", "feasible", "cut_km", "vs_opt", "max_dev", "split", "seconds",
            "note"]
    fmt = {"cut_km": "{:,.4g}", "vs_opt": "{:.3f}", "max_dev": "{:.2%}", "seconds": "{:.2f}"}
    out = t.reindex(columns=cols).copy()
    for c, f in fmt.items():
        out[c] = out[c].map(lambda v, f=f: "" if pd.isna(v) else f.format(v))
    out["feasible"] = out["feasible"].map({True: "yes", False: "no"})
    out["split"] = out["split"].map(lambda v: "" if pd.isna(v) else str(int(v)))
    out["note"] = out["note"].fillna("")
    header = "| " + " | ".join(cols) + " |\n|" + "---|" * len(cols) + "\n"
    body = "".join("| " + " | ".join(str(v) for v in r) + " |\n"
                   for r in out.itertuples(index=False))
    summary = ["", "| method | feasible, where a feasible plan is known | "
               "cut / optimum, geometric mean (feasible runs, proved optima) |",
               "|---|---|---|"]
    opt_rows = t[t["method"] == "gridkit exact (HiGHS)"]
    possible = opt_rows[opt_rows["feasible"].astype(bool)][["data", "k"]]
    known = t[t["optimum_km"].notna()]
    for method in (*DISTRICT_METHODS, "gridkit exact (HiGHS)"):
        mine = t[t["method"] == method]
        feas = mine.merge(possible, on=["data", "k"])
        ratio = known[(known["method"] == method) & known["feasible"].astype(bool)]
        ratio = ratio["cut_km"] / ratio["optimum_km"]
        gm = f"{np.exp(np.log(ratio).mean()):.3f} over {len(ratio)}" if len(ratio) else "-"
        summary.append(f"| {method} | {int(feas['feasible'].astype(bool).sum())} of {len(feas)} "
                       f"| {gm} |")
    return (f"\n## Districting on real graphs (libpysal examples), ±0.5% two-sided, HiGHS "
            f"{seconds:.0f} s per instance\n\n"
            "Largest connected piece of each layer's rook graph (borders of positive length, "
            "from `gridkit.unit_adjacency`); weight = population (stl PO8893, sids2 BIR74, "
            "georgia TotPop90) or 1 per unit (columbus, 10740, tokyo); cut = total shared "
            "border length between grids (km; columbus has no CRS: its own units / 1000). "
            "gridkit: `gk.partition(..., nest_by=None, tolerance=0.005)` with its defaults "
            "(exact='auto'); gridkit exact: HiGHS on gridkit's integer programme "
            f"(`gridkit.grids.core.exact`, pairs re-split exactly, then the whole programme), "
            f"warm-started from gridkit, {seconds:.0f} s each: the optimum where it proves it "
            "(vs_opt = cut / proved optimum). "
            "feasible = exactly k grids, each connected, each within ±0.5% of total/k. "
            "METIS with `contiguous=True` and ufactor 5; KaHIP (kaffpa, strong) and Mt-KaHyPar "
            "(default preset) at imbalance 0.005, which is one-sided and has no contiguity.\n\n"
            + header + body + "\n".join(summary) + "\n")



# ------------------------------------------------------------------ measures
def measures(units, adj, labels, k):
    labels = np.asarray(labels)
    n = len(units)
    w = units["weight"].to_numpy(dtype=float)
    valid = labels >= 0
    _, lab = np.unique(labels[valid], return_inverse=True)
    full = np.full(n, -1)
    full[valid] = lab
    m = int(lab.max()) + 1 if len(lab) else 0
    gw = np.bincount(full[valid], weights=w[valid], minlength=m)
    mean = w.sum() / k
    weights_k = np.r_[gw, np.zeros(max(0, k - m))]
    a, b = adj["unit_a"].to_numpy(), adj["unit_b"].to_numpy()
    same = (full[a] == full[b]) & (full[a] >= 0)
    g = sp.coo_matrix((np.ones(int(same.sum())), (a[same], b[same])), shape=(n, n))
    _, comp = connected_components(g, directed=False)
    pieces = pd.Series(comp[valid]).groupby(full[valid]).nunique()
    village = units["village_code"].to_numpy()
    crossings = pd.Series(village[valid]).groupby(full[valid]).nunique()
    geoms = np.asarray(units.geometry.values)
    order = np.argsort(full, kind="stable")
    bounds = np.searchsorted(full[order], np.arange(m + 1))
    dissolved = [shapely.coverage_union_all(geoms[order[bounds[i]:bounds[i + 1]]])
                 for i in range(m)]
    pp = shape.polsby_popper_values(np.asarray(dissolved, dtype=object))
    cut = ~same
    road = adj["road_m"].to_numpy()[cut].sum() / max(adj["shared_m"].to_numpy()[cut].sum(), 1e-9)
    cost = np.maximum(adj["shared_m"] - ROAD_WEIGHT * adj["road_m"], 0).to_numpy()
    in_tol = (m == k and int((pieces > 1).sum()) == 0 and weights_k.max() / mean <= 1 + TOLERANCE
              and weights_k.min() / mean >= 1 - TOLERANCE)
    return {"in_tol": "yes" if in_tol else "no", "cut_km": float(cost[cut].sum() / 1000),
            "grids": m,
            "max/mean": weights_k.max() / mean, "min/mean": weights_k.min() / mean,
            "split": int((pieces > 1).sum()), "cross": int((crossings > 1).sum()),
            "PP": float(np.nanmean(pp)), "road": float(road)}


def machine() -> str:
    def sh(cmd):
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()

    return (f"- nproc: {sh('nproc')}; Python {platform.python_version()}\n"
            f"- free -g:\n\n```\n{sh('free -g')}\n```\n")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", type=int, nargs="*", default=[1000, 10000, 50000])
    p.add_argument("--k", type=int, nargs="*", default=[20, 200])
    p.add_argument("--cap", type=float, default=240.0)
    p.add_argument("--methods", nargs="*", default=list(METHODS))
    p.add_argument("--no-sample", action="store_true")
    p.add_argument("--sample", choices=("build", "standin"), default="build",
                   help="sample units: gridkit.build_units (default) or the early stand-in")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-districting", action="store_true",
                   help="skip the districting rows on libpysal's real graphs")
    p.add_argument("--districting-only", action="store_true")
    p.add_argument("--opt-seconds", type=float, default=20.0,
                   help="time for HiGHS to prove each districting optimum")
    p.add_argument("--out", default=None, help="write the markdown results here (and the raw "
                   "rows beside it as .csv)")
    p.add_argument("--merge", default=None, metavar="CSV",
                   help="rows of an earlier run: keep those of the methods not run now")
    p.add_argument("--combine", nargs="+", metavar="CSV",
                   help="run nothing: merge the rows of earlier runs (a later file wins for the "
                   "same data, k and method) and render them")
    args = p.parse_args(argv)
    if args.combine:
        return combine(args)

    warm_up(args.methods)
    started = datetime.now(UTC)
    load_start = os.getloadavg()
    district_text = ""
    if not args.no_districting:
        dt = districting(args.seed, args.opt_seconds)
        if args.out:
            dt.to_csv(Path(args.out).with_name(Path(args.out).stem + "_districting.csv"),
                      index=False)
        district_text = render_districting(dt, args.opt_seconds)
        print(district_text, flush=True)
    if args.districting_only:
        args.sizes, args.no_sample = [], True
    cases = []
    if not args.no_sample:
        cases.append(sample_case(args.sample))
    for n in args.sizes:
        cases.append((f"synthetic {n:,}", *synthetic(n, seed=args.seed)))
    rows = []
    last: dict[tuple[str, int], tuple[int, float]] = {}
    for label, units, adj in cases:
        n = len(units)
        for k in args.k:
            if k > n:
                continue
            for name in args.methods:
                prev = last.get((name, k))
                predicted = prev[1] * (n / prev[0]) ** EXPONENT[name] if prev else 0.0
                row = {"data": label, "units": n, "k": k, "method": name}
                if prev and predicted > args.cap and name in SLOW:
                    row.update(status="skipped", note=f"predicted {predicted:,.0f} s from "
                               f"{prev[1]:.1f} s at {prev[0]:,} units (cap {args.cap:.0f} s)")
                    rows.append(row)
                    print(row, flush=True)
                    continue
                status, labels, secs, rss, extra = run_capped(name, units, adj, k, args.seed,
                                                              args.cap)
                row.update(status=status, seconds=secs, rss_mb=rss, note=extra.get("note", ""))
                if status == "ok":
                    row.update(measures(units, adj, labels, k))
                    if "synthetic" in label:
                        last[(name, k)] = (n, secs)
                elif status == "timeout" and "synthetic" in label:
                    last[(name, k)] = (n, max(secs, args.cap * 1.01))
                rows.append(row)
                print({k_: (round(v, 3) if isinstance(v, float) else v) for k_, v in row.items()},
                      flush=True)
    table = pd.DataFrame(rows)
    table["run"] = f"{started:%Y-%m-%d %H:%M} UTC"
    if args.merge:
        old = pd.read_csv(args.merge)
        old = old[~old["method"].isin(args.methods)]
        table = pd.concat([old, table], ignore_index=True)
        order = {m: i for i, m in enumerate(METHODS)}
        data_order = {d: i for i, d in enumerate(dict.fromkeys(old["data"].tolist()
                                                               + table["data"].tolist()))}
        table = table.sort_values(["data", "k", "method"], key=lambda c: c.map(
            data_order if c.name == "data" else order if c.name == "method" else (lambda v: v)),
            kind="stable").reset_index(drop=True)
    if args.out and len(table):
        table.to_csv(Path(args.out).with_suffix(".csv"), index=False)
    if len(table):
        text = render(table, args, started, load_start) + district_text
    else:  # districting rows only: their own header
        load_end = os.getloadavg()
        cmd = "python benchmarks/bench_partition.py " + " ".join(sys.argv[1:])
        text = (f"# Partition: districting proofs\n\n- date: {started:%Y-%m-%d %H:%M} UTC; "
                f"command: `{cmd}`\n- load average (1 min) at start {load_start[0]:.2f}, at "
                f"end {load_end[0]:.2f}\n" + machine() + district_text)
    print(text)
    if args.out:
        Path(args.out).write_text(text)
    return 0


def combine(args) -> int:
    frames = [pd.read_csv(f) for f in args.combine]
    table = pd.concat(frames, ignore_index=True)
    table = table.drop_duplicates(["data", "k", "method"], keep="last")
    order = {m: i for i, m in enumerate(METHODS)}
    data_order = {d: i for i, d in enumerate(dict.fromkeys(table["data"].tolist()))}
    table = table.assign(_d=table["data"].map(data_order), _m=table["method"].map(order))
    table = table.sort_values(["_d", "k", "_m"], kind="stable").drop(columns=["_d", "_m"])
    runs = ", ".join(f"{f} ({', '.join(sorted(pd.read_csv(f)['run'].unique()))})"
                     for f in args.combine)
    text = render(table, args, None, None, note=f"Rows merged from {runs}; the `run` column "
                  "says which run measured each row (the load of each run is in its own .md).")
    print(text)
    if args.out:
        Path(args.out).write_text(text)
        table.to_csv(Path(args.out).with_suffix(".csv"), index=False)
    return 0


def render(table: pd.DataFrame, args, started, load_start, note: str = "") -> str:
    cols = ["data", "k", "method", "run", "status", "seconds", "rss_mb", "grids", "max/mean",
            "min/mean", "split", "cross", "in_tol", "cut_km", "PP", "road", "note"]
    t = table.reindex(columns=cols).copy()
    for c, f in (("seconds", "{:.2f}"), ("rss_mb", "{:.0f}"), ("max/mean", "{:.3f}"),
                 ("cut_km", "{:,.1f}"),
                 ("min/mean", "{:.3f}"), ("PP", "{:.3f}"), ("road", "{:.0%}")):
        t[c] = t[c].map(lambda v, f=f: "" if pd.isna(v) else f.format(v))
    for c in ("grids", "split", "cross"):
        t[c] = t[c].map(lambda v: "" if pd.isna(v) else str(int(v)))
    t["note"] = t["note"].fillna("")
    header = "| " + " | ".join(cols) + " |\n|" + "---|" * len(cols) + "\n"
    body = "".join("| " + " | ".join(str(v) for v in r) + " |\n" for r in t.itertuples(index=False))
    cmd = "python benchmarks/bench_partition.py " + " ".join(sys.argv[1:])
    if started is None:
        head = f"- command: `{cmd}`\n- {note}\n"
    else:
        load_end = os.getloadavg()
        head = (
            f"- date: {started:%Y-%m-%d %H:%M} UTC; command: `{cmd}`\n"
            f"- load average (1/5/15 min) at start {load_start[0]:.2f}/{load_start[1]:.2f}/"
            f"{load_start[2]:.2f}, at end {load_end[0]:.2f}/{load_end[1]:.2f}/{load_end[2]:.2f} "
            "(2 cores shared with other jobs: compare methods within a row group)\n"
        )
    return ("# Partition benchmark\n\n" + head + machine() + "\n" + header + body
            + shape_summary(table))


# like-for-like pairs for the shape comparison: (gridkit's method, its peer)
PP_PAIRS = (("gridkit-flat", "metis"), ("gridkit", "metis-nested"))


def shape_summary(table: pd.DataFrame) -> str:
    """Mean Polsby-Popper of gridkit and METIS on the same problem, per row group."""
    ok = table[table["status"] == "ok"]
    pp = ok.pivot_table(index=["data", "k"], columns="method", values="PP", sort=False)
    pairs = [(a, b) for a, b in PP_PAIRS if a in pp.columns and b in pp.columns]
    if not pairs:
        return ""
    cols = [f"{a} / {b}" for a, b in pairs]
    lines = ["", "Mean Polsby-Popper, gridkit / METIS on the same problem (flat: no villages; "
             "nested: grids inside villages, METIS run in each village with gridkit's grid "
             "counts):", "", "| data | k | " + " | ".join(cols) + " |",
             "|---|---|" + "---|" * len(cols)]
    for (data, k), row in pp.iterrows():
        cells = ["" if pd.isna(row[a]) or pd.isna(row[b]) else
                 f"{row[a]:.3f} / {row[b]:.3f}" + (" (below)" if row[a] < row[b] else "")
                 for a, b in pairs]
        if any(cells):
            lines.append(f"| {data} | {k} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
