"""Siting new facilities over the road network (location set covering, maximal covering).

:func:`site_facilities` picks new sites from candidate points (given, or the
road graph's nodes):

- ``p=None``: the fewest sites that bring every reachable demand point within
  ``max_distance`` along the streets (LSCP, location set covering);
- ``p=N``: the ``N`` sites that bring the most demand weight (households)
  within reach (MCLP, maximal covering).

Distances are network distances (see :mod:`gridkit.reach.reach`). The models are
spopt's LSCP/MCLP solved by the MIP solver pulp ships (CBC) or any pulp
solver; the result says whether the solution is proven optimal and, when the
time limit stops the solver first, the gap to the LP-relaxation bound.
``method="greedy"`` gives the classic greedy heuristic instead (fast, no
guarantee). Demand already within reach of ``existing`` facilities is left
out of the problem.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely

from gridkit.crs import to_crs, working_crs
from gridkit.errors import InvalidValueError
from gridkit.layers import check_layer
from gridkit.reach import _siting as sit
from gridkit.reach.reach import _graph_crs, reach_graph
from gridkit.routing import network

__all__ = ["site_facilities", "SitingResult", "SITING_STATUSES"]

log = logging.getLogger(__name__)

#: ``status`` of each demand point in a :class:`SitingResult`.
SITING_STATUSES = ("covered_existing", "covered", "not_covered", "uncoverable", "off_network")
_METHODS = ("mip", "greedy")


@dataclass
class SitingResult:
    """What :func:`site_facilities` chose (layers in the demand's CRS).

    Attributes
    ----------
    sites
        The chosen candidates (a copy of their rows) with ``site`` (id),
        ``covers`` (demand points newly within reach) and ``covers_weight``.
    demand
        A copy of the demand with ``status`` (one of :data:`SITING_STATUSES`)
        and ``site`` (a chosen site that covers it).
    problem
        ``"LSCP"`` or ``"MCLP"``.
    method
        ``"mip"`` (spopt + solver) or ``"greedy"``.
    objective
        Number of sites (LSCP) or covered weight (MCLP).
    optimal
        Proven optimal by the solver (always ``False`` for greedy).
    bound, gap
        The LP-relaxation bound and the relative gap to it (0 when optimal;
        NaN for greedy).
    stats
        Problem size and timings.
    """

    sites: gpd.GeoDataFrame
    demand: gpd.GeoDataFrame
    problem: str
    method: str
    objective: float
    optimal: bool
    bound: float
    gap: float
    status: str
    stats: dict = field(default_factory=dict)

    @property
    def summary(self) -> str:
        counts = self.demand["status"].value_counts()
        covered = counts.get("covered", 0) + counts.get("covered_existing", 0)
        quality = (
            "proven optimal"
            if self.optimal
            else f"gap {self.gap:.1%} to the LP bound {self.bound:g}"
            if np.isfinite(self.gap)
            else "heuristic, no bound"
        )
        return (
            f"{self.problem} ({self.method}): {len(self.sites)} new site(s), {covered} of "
            f"{len(self.demand)} demand point(s) within reach ({quality}); "
            f"{counts.get('uncoverable', 0)} no candidate can reach, "
            f"{counts.get('off_network', 0)} off the network"
        )


def _node_candidates(edges: network.EdgeTable, crs) -> gpd.GeoDataFrame:
    """Every network node as a candidate site (``node``: the graph's node label)."""
    return gpd.GeoDataFrame(
        {"node": list(edges.nodes)}, geometry=shapely.points(edges.node_xy), crs=crs
    )


def site_facilities(
    demand: gpd.GeoDataFrame,
    roads,
    *,
    max_distance: float,
    p: int | None = None,
    candidates: gpd.GeoDataFrame | None = None,
    existing: gpd.GeoDataFrame | None = None,
    weight_column: str | None = "households",
    method: str = "mip",
    snap_limit: float = 100.0,
    time_limit: float = 60.0,
    mip_gap: float | None = None,
    solver=None,
    direction: str = "to_facility",
    crs=None,
) -> SitingResult:
    """Choose new facility sites that bring demand within reach over the network.

    Parameters
    ----------
    demand
        Buildings or entities to serve (polygons or points). Never modified.
    roads
        A roads layer or a road graph (see :func:`gridkit.network_reach`).
    max_distance
        Reach in metres along the streets, access legs included.
    p
        ``None``: the fewest sites covering every demand point any candidate
        can reach (LSCP). A number: the best ``p`` sites (MCLP).
    candidates
        Candidate points (default: every node of the road graph).
    existing
        Facilities already in place; the demand they reach is not a target.
    weight_column
        Demand weight for MCLP (e.g. households); 1 per point when absent.
    method
        ``"mip"`` (spopt LSCP/MCLP and a MIP solver) or ``"greedy"``.
    snap_limit
        Farther than this (m) from every street a point is ``off_network``
        and a candidate is not used.
    time_limit, mip_gap
        Solver limits (seconds, relative gap); with a limit hit, the result
        reports the gap instead of optimality.
    solver
        A pulp solver to use instead of CBC (e.g. ``pulp.HiGHS_CMD()``).
    direction
        ``"to_facility"`` or ``"from_facility"`` (one-way streets).
    crs
        Metric working CRS when ``roads`` is a layer.

    Returns
    -------
    SitingResult

    Examples
    --------
    >>> import gridkit as gk
    >>> s = gk.load_sample()
    >>> r = gk.site_facilities(s["buildings"], s["roads"], max_distance=400, p=3)
    >>> len(r.sites), r.problem
    (3, 'MCLP')
    """
    if method not in _METHODS:
        raise InvalidValueError(f"`method` must be one of {_METHODS}, got {method!r}")
    if not (max_distance and max_distance > 0):
        raise InvalidValueError(f"`max_distance` must be positive metres, got {max_distance!r}")
    if p is not None and (int(p) != p or p < 1):
        raise InvalidValueError(f"`p` must be a whole number >= 1 (or None for LSCP), got {p!r}")
    if direction not in ("to_facility", "from_facility"):
        raise InvalidValueError(
            f"`direction` must be 'to_facility' or 'from_facility', got {direction!r}"
        )
    t0 = time.perf_counter()
    dem_in = check_layer(demand, "buildings", name="demand", id_column="")
    cand_in = (
        check_layer(candidates, "facilities", name="candidates", id_column="")
        if candidates is not None
        else None
    )
    ex_in = (
        check_layer(existing, "facilities", name="existing", id_column="")
        if existing is not None
        else None
    )
    if isinstance(roads, nx.Graph):
        G = roads
        wcrs = _graph_crs(G, dem_in, crs)
    else:
        wcrs = working_crs(
            dem_in, cand_in, ex_in, roads if isinstance(roads, gpd.GeoDataFrame) else None, crs=crs
        )
        G = reach_graph(roads, crs=wcrs)
    dem = to_crs(dem_in, wcrs)
    edges = network.edge_table(G)
    if cand_in is None:
        cand_in = _node_candidates(edges, wcrs).to_crs(dem_in.crs)
    cand = to_crs(cand_in, wcrs)
    ex = to_crs(ex_in, wcrs) if ex_in is not None else None

    sites_geom = cand.geometry.to_numpy()
    n_cand = len(sites_geom)
    if ex is not None:
        sites_geom = np.concatenate([sites_geom, ex.geometry.to_numpy()])
    ssnap = network.snap(sites_geom, edges, limit=snap_limit)
    split, snode = network.split_at(edges, ssnap.edge, ssnap.t)
    scost = np.where(ssnap.edge >= 0, ssnap.dist, 0.0)
    dsnap = network.snap(dem.geometry.to_numpy(), split, limit=snap_limit)
    t1 = time.perf_counter()
    A_all = sit.coverage_matrix(
        split, snode, scost, dsnap, float(max_distance), direction=direction
    )
    t2 = time.perf_counter()
    A = A_all[:, :n_cand]
    covered_existing = (
        (np.asarray(A_all[:, n_cand:].sum(axis=1)).ravel() > 0)
        if ex is not None
        else np.zeros(len(dem), dtype=bool)
    )
    weight = (
        pd.to_numeric(dem[weight_column], errors="coerce").fillna(0).to_numpy(dtype=float)
        if weight_column and weight_column in dem.columns
        else np.ones(len(dem))
    )
    target = ~covered_existing
    A_target = A.multiply(target[:, None]).tocsr()
    A_target.eliminate_zeros()
    red = sit.reduce_cols(sit.reduce_rows(A_target, weight))
    log.info(
        "siting: %d demand rows -> %d unique coverable rows over %d of %d candidates (%d nonzeros)",
        len(dem),
        red.A.shape[0],
        red.A.shape[1],
        n_cand,
        red.A.nnz,
    )
    if red.A.shape[0] == 0:
        chosen = np.zeros(0, dtype=np.int64)
        solved = sit.Solved(chosen, 0.0, True, 0.0, 0.0, "nothing to cover", 0.0, "-")
    elif p is not None and p >= red.A.shape[1]:  # every useful site fits: take them all
        chosen = np.arange(red.A.shape[1])
        solved = sit.Solved(
            chosen,
            float(red.weight.sum()),
            True,
            float(red.weight.sum()),
            0.0,
            "all useful candidates",
            0.0,
            "-",
        )
    elif method == "greedy":
        t = time.perf_counter()
        chosen = sit.greedy(red, p=p)
        covered = np.asarray(red.A[:, chosen].sum(axis=1)).ravel() > 0
        obj = float(len(chosen)) if p is None else float(red.weight[covered].sum())
        solved = sit.Solved(
            chosen,
            obj,
            False,
            float("nan"),
            float("nan"),
            "heuristic",
            time.perf_counter() - t,
            "greedy",
        )
    else:
        solved = sit.solve(red, p=p, solver=solver, time_limit=time_limit, mip_gap=mip_gap)
    chosen = red.cols[solved.chosen]

    # demand status and the covering site
    A_chosen = A[:, chosen].tocsr()
    hit = np.diff(A_chosen.indptr) > 0
    first = np.full(len(dem), -1, dtype=np.int64)
    first[hit] = chosen[A_chosen.indices[A_chosen.indptr[:-1][hit]]]
    coverable = np.diff(A.indptr) > 0
    status = np.where(
        dsnap.edge < 0,
        "off_network",
        np.where(
            covered_existing,
            "covered_existing",
            np.where(hit, "covered", np.where(coverable, "not_covered", "uncoverable")),
        ),
    )
    cand_ids = cand_in.index.to_numpy()
    dem_out = dem_in.copy()
    site_col = pd.Series(pd.NA, index=dem_out.index, dtype="object")
    new = hit & ~covered_existing
    site_col[new] = cand_ids[first[new]]
    dem_out["status"] = status
    dem_out["site"] = site_col
    sites = cand_in.iloc[chosen].copy()
    sites.insert(0, "site", cand_ids[chosen])
    A_new = A_target[:, chosen].tocsc()
    sites["covers"] = np.diff(A_new.indptr)
    sites["covers_weight"] = [
        float(weight[A_new.indices[A_new.indptr[j] : A_new.indptr[j + 1]]].sum())
        for j in range(len(chosen))
    ]
    stats = {
        "demand": len(dem),
        "candidates": n_cand,
        "coverable_rows": int(len(red.demand)),
        "unique_rows": int(red.A.shape[0]),
        "useful_candidates": int(red.A.shape[1]),
        "nonzeros": int(red.A.nnz),
        "matrix_s": t2 - t1,
        "solve_s": solved.seconds,
        "total_s": time.perf_counter() - t0,
        "builder": solved.builder,
    }
    result = SitingResult(
        sites=sites,
        demand=dem_out,
        problem="LSCP" if p is None else "MCLP",
        method=method,
        objective=solved.objective,
        optimal=solved.optimal,
        bound=solved.bound,
        gap=solved.gap,
        status=solved.status,
        stats=stats,
    )
    log.info("siting: %s", result.summary)
    return result
