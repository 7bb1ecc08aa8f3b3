"""Array helpers for siting: the sparse coverage matrix over the network, the
problem reduction, the models handed to spopt, and the greedy heuristic.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
import pulp
from scipy.sparse import coo_matrix, csr_matrix

from gridkit.highs import silence_banner
from gridkit.reach import _core as core
from gridkit.routing.network import EdgeTable, Snap, arc_matrix, shortest_paths

log = logging.getLogger(__name__)

#: above this many matrix cells spopt's own builder (a Python loop over every
#: demand x candidate pair) is too slow; the same model is then built from the
#: sparse coverage rows (see :func:`build_model`).
DENSE_LIMIT = 200_000


def coverage_matrix(
    edges: EdgeTable,
    site_node: np.ndarray,
    site_cost: np.ndarray,
    snap: Snap,
    radius: float,
    *,
    direction: str,
    chunk: int = 256,
) -> csr_matrix:
    """Boolean demand x site matrix: site j reaches demand i within ``radius`` m.

    One bounded Dijkstra per site (scipy, ``limit=radius``), in chunks so that
    memory stays at ``chunk x nodes``. Costs include both access legs.
    """
    k = len(site_node)
    n_dem = len(snap.edge)
    valid = site_node >= 0
    sites = np.flatnonzero(valid)
    arcs = arc_matrix(
        edges,
        reverse=direction == "to_facility",
        start_nodes=site_node[valid],
        start_costs=site_cost[valid],
    )
    start_of = np.full(k, -1, dtype=np.int64)
    start_of[sites] = arcs.starts
    ok = np.flatnonzero(snap.edge >= 0)
    e = snap.edge[ok]
    t = snap.t[ok]
    L = edges.length[e]
    one = edges.oneway[e]
    u, v = edges.u[e], edges.v[e]
    enter_u = ~one | (direction == "from_facility")
    enter_v = ~one | (direction == "to_facility")
    access = snap.dist[ok]
    out_r, out_c = [], []
    for start in range(0, len(sites), chunk):
        idx = sites[start : start + chunk]
        D = shortest_paths(arcs.matrix, start_of[idx], limit=radius + core.TOLERANCE)
        via_u = np.where(enter_u, D[:, u] + t * L, np.inf)
        via_v = np.where(enter_v, D[:, v] + (1 - t) * L, np.inf)
        cost = np.minimum(via_u, via_v) + access
        r, c = np.nonzero(cost <= radius + core.TOLERANCE)
        out_r.append(ok[c])
        out_c.append(idx[r])
    if out_r:
        r = np.concatenate(out_r)
        c = np.concatenate(out_c)
    else:
        r = c = np.zeros(0, dtype=np.int64)
    return coo_matrix((np.ones(len(r), dtype=bool), (r, c)), shape=(n_dem, k)).tocsr()


@dataclass
class Reduced:
    """The problem after merging demand rows that the same sites cover."""

    A: csr_matrix  # unique rows x sites (bool)
    weight: np.ndarray  # summed demand weight per unique row
    row_of: np.ndarray  # unique row of each original coverable demand row
    demand: np.ndarray  # original demand index of each coverable row
    cols: np.ndarray | None = None  # original site index of each kept column


def reduce_rows(A: csr_matrix, weight: np.ndarray) -> Reduced:
    """Merge demand rows with identical coverage (their weights add up).

    Rows that no site covers are dropped (``demand`` lists the kept ones).
    Exact: a model over the unique rows has the same optimum.
    """
    A = A.tocsr()
    A.sort_indices()
    covered = np.flatnonzero(np.diff(A.indptr) > 0)
    keys = {}
    row_of = np.empty(len(covered), dtype=np.int64)
    for pos, i in enumerate(covered):
        key = A.indices[A.indptr[i] : A.indptr[i + 1]].tobytes()
        row_of[pos] = keys.setdefault(key, len(keys))
    first = np.full(len(keys), -1, dtype=np.int64)
    for pos in range(len(covered) - 1, -1, -1):
        first[row_of[pos]] = covered[pos]
    U = A[first]
    w = np.bincount(row_of, weights=weight[covered], minlength=len(keys))
    return Reduced(A=U.tocsr(), weight=w, row_of=row_of, demand=covered, cols=np.arange(A.shape[1]))


def reduce_cols(red: Reduced, *, max_pairs: int = 30_000_000) -> Reduced:
    """Drop sites that cover nothing, or nothing another site does not cover too.

    A site whose demand set is contained in another's can always be swapped
    for that one without losing coverage, so the optimum of LSCP and MCLP is
    unchanged (of identical sites the first is kept). The containment test
    uses the overlap counts ``A.T @ A``; above ``max_pairs`` site pairs only
    empty sites are dropped.
    """
    A = red.A.tocsc().astype(np.int32)
    size = np.diff(A.indptr)
    keep = size > 0
    idx = np.flatnonzero(keep)
    if len(idx) and len(idx) ** 2 <= max_pairs:
        B = A[:, idx]
        overlap = (B.T @ B).tocoo()
        s = size[idx]
        i, k = overlap.row, overlap.col
        # i is inside k: every demand of i is covered by k
        inside = (i != k) & (overlap.data == s[i]) & ((s[k] > s[i]) | (k < i))
        dominated = np.zeros(len(idx), dtype=bool)
        dominated[np.unique(i[inside])] = True
        keep[idx[dominated]] = False
    cols = np.flatnonzero(keep)
    return Reduced(
        A=red.A[:, cols].tocsr(),
        weight=red.weight,
        row_of=red.row_of,
        demand=red.demand,
        cols=red.cols[cols],
    )


@dataclass
class Solved:
    chosen: np.ndarray  # site indices (columns) chosen
    objective: float
    optimal: bool
    bound: float
    gap: float
    status: str
    seconds: float
    builder: str


def build_model(red: Reduced, *, p: int | None):
    """The spopt model (LSCP when ``p`` is None, else MCLP) over the reduced rows.

    Small problems go through spopt's ``from_cost_matrix``; big ones are
    assembled with spopt's own model classes and variable builders, but with
    coverage constraints built from the sparse rows, because spopt's builder
    writes a term for every demand x candidate pair (40 million for 20,000
    demand points and 2,000 candidates).
    """
    from spopt.locate import LSCP, MCLP
    from spopt.locate.base import FacilityModelBuilder

    n_rows, n_sites = red.A.shape
    if n_rows * n_sites <= DENSE_LIMIT:
        cost = np.where(red.A.toarray(), 0.0, 2.0)  # covered <=> cost <= radius (1)
        if p is None:
            return LSCP.from_cost_matrix(cost, 1.0), "spopt"
        return MCLP.from_cost_matrix(cost, red.weight, 1.0, p_facilities=p), "spopt"
    A = red.A.tocsr()
    if p is None:
        model = LSCP("lscp", pulp.LpProblem("lscp", pulp.LpMinimize))
        FacilityModelBuilder.add_facility_integer_variable(model, range(n_sites), "y[{i}]")
        y = model.fac_vars
        model.problem += pulp.lpSum(y), "objective function"
        for i in range(n_rows):
            cols = A.indices[A.indptr[i] : A.indptr[i + 1]]
            model.problem += pulp.LpAffineExpression([(y[j], 1) for j in cols]) >= 1
    else:
        model = MCLP("mclp", pulp.LpProblem("mclp", pulp.LpMaximize))
        FacilityModelBuilder.add_facility_integer_variable(model, range(n_sites), "x[{i}]")
        FacilityModelBuilder.add_client_integer_variable(model, range(n_rows), "y[{i}]")
        x, y = model.fac_vars, model.cli_vars
        model.problem += (
            pulp.LpAffineExpression(list(zip(y, red.weight, strict=True))),
            "objective function",
        )
        for i in range(n_rows):
            cols = A.indices[A.indptr[i] : A.indptr[i + 1]]
            model.problem += pulp.LpAffineExpression([(x[j], 1) for j in cols] + [(y[i], -1)]) >= 0
        FacilityModelBuilder.add_facility_constraint(model, p)
    model.aij = None
    return model, "sparse"


def _objective(red: Reduced, chosen: np.ndarray, p: int | None) -> float:
    if p is None:
        return float(len(chosen))
    covered = np.asarray(red.A[:, chosen].sum(axis=1)).ravel() > 0
    return float(red.weight[covered].sum())


def solve(
    red: Reduced,
    *,
    p: int | None,
    solver=None,
    time_limit: float = 60.0,
    mip_gap: float | None = None,
) -> Solved:
    """Solve LSCP/MCLP with spopt and report optimality, the LP bound and the gap.

    The greedy solution is handed to the solver as a warm start, so a run
    stopped by ``time_limit`` returns at least that, with the gap to the
    LP-relaxation bound.
    """
    t0 = time.perf_counter()
    start = greedy(red, p=p)
    model, builder = build_model(red, p=p)
    picked = np.zeros(red.A.shape[1], dtype=bool)
    picked[start] = True
    if p is not None or picked.any():
        for var, on in zip(model.fac_vars, picked, strict=True):
            var.setInitialValue(int(on))
        if p is not None:
            covered = np.asarray(red.A[:, start].sum(axis=1)).ravel() > 0
            for var, on in zip(model.cli_vars, covered, strict=True):
                var.setInitialValue(int(on))
    if solver is None:
        solver = default_solver(time_limit=time_limit, mip_gap=mip_gap)
    model.problem.solve(solver)
    status = pulp.LpStatus[model.problem.status]
    sol = getattr(model.problem, "sol_status", None)
    solved = model.problem.status == 1 or sol in (1, 2)
    chosen = np.flatnonzero([(v.value() or 0) > 0.5 for v in model.fac_vars]) if solved else start
    if p is None and solved:
        # a time-limited incumbent must still cover every row
        if (np.asarray(red.A[:, chosen].sum(axis=1)).ravel() == 0).any():
            chosen, solved = start, False
    objective = _objective(red, chosen, p)
    if solved and p is not None and objective < _objective(red, start, p):
        chosen, objective = start, _objective(red, start, p)
    optimal = solved and (sol == 1 or (sol is None and model.problem.status == 1))
    if optimal:
        bound = objective
    else:
        remaining = max(time_limit - (time.perf_counter() - t0), 10.0)
        bound = _lp_bound(model.problem, _lp_solver(remaining), p)
        status = f"{status} (time limit; best of solver and greedy kept)"
    gap = 0.0 if optimal else abs(bound - objective) / max(abs(objective), 1e-9)
    return Solved(
        chosen=chosen,
        objective=objective,
        optimal=bool(optimal),
        bound=bound,
        gap=gap,
        status=pulp.LpSolution.get(sol, status) if optimal else status,
        seconds=time.perf_counter() - t0,
        builder=builder,
    )


def default_solver(*, time_limit: float, mip_gap: float | None):
    """HiGHS (through pulp and highspy) when installed, else pulp's bundled CBC.

    HiGHS solves the set-covering models here several times faster than CBC
    and reports its dual bound, so a time-limited run has an exact gap.
    """
    try:
        import highspy  # noqa: F401  (installed? else CBC)
    except ImportError:
        return pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit, gapRel=mip_gap, warmStart=True)
    silence_banner()
    return pulp.HiGHS(msg=False, timeLimit=time_limit, gapRel=mip_gap)


def _lp_solver(time_limit: float):
    try:
        import highspy  # noqa: F401
    except ImportError:
        return pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit)
    return pulp.HiGHS(msg=False, timeLimit=time_limit, mip=False)


def _lp_bound(problem: pulp.LpProblem, solver, p) -> float:
    """The LP relaxation's optimum: a bound on the best integer objective."""
    for var in problem.variables():
        var.cat = pulp.LpContinuous
    problem.solve(solver)
    value = pulp.value(problem.objective)
    if problem.status != 1 or value is None:
        return float("nan")
    value = float(value)
    return float(np.ceil(value - 1e-9)) if p is None else value


def greedy(red: Reduced, *, p: int | None) -> np.ndarray:
    """Greedy covering: repeatedly take the site covering the most uncovered weight.

    Own code (a few lines on a sparse matrix) because no well-kept library
    ships it; it is the baseline the exact solution is compared with (the
    classic ln(n)-approximation for set covering).
    """
    A = red.A.tocsc().astype(np.float64)
    AT = A.T.tocsr()
    uncovered = np.ones(A.shape[0], dtype=bool)
    # MCLP: demand weight; LSCP: the number of demand points behind each row
    w = red.weight if p is not None else np.bincount(red.row_of, minlength=A.shape[0]).astype(float)
    chosen: list[int] = []
    limit = p if p is not None else A.shape[1]
    while uncovered.any() and len(chosen) < limit:
        gain = AT @ (w * uncovered)
        j = int(np.argmax(gain))
        if gain[j] <= 0:
            break
        chosen.append(j)
        uncovered[A.indices[A.indptr[j] : A.indptr[j + 1]]] = False
    return np.asarray(chosen, dtype=np.int64)
