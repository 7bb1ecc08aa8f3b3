"""Exact polish: the optimal contiguous, balanced split of one part, by integer programming.

The programme (solved with HiGHS through ``highspy``):

- ``x[i, j]`` = 1 when unit ``i`` is in grid ``j``; each unit in one grid;
- ``lo <= sum_i w[i] x[i, j] <= hi`` for every grid (two-sided balance), and
  at least one unit in each;
- ``y[e] >= |x[u, j] - x[v, j]|`` for every edge ``e = (u, v)`` and grid ``j``:
  ``y[e]`` is 1 when the edge is cut; the objective is ``sum_e cost[e] y[e]``;
- symmetry: grid ``j`` holds no unit below position ``j`` (grids are numbered by
  their first unit), which leaves one labelling per plan;
- contiguity by cut constraints added lazily: the programme is solved, each
  grid in several pieces gives the separator inequality
  ``x[a, j] + x[b, j] - sum(x[c, j] for c in N(S)) <= 1`` (``S`` the piece of
  ``a``, ``N(S)`` its outside neighbours, ``b`` in another piece) for every
  grid ``j``, and the programme is solved again, until the optimum is
  contiguous or the time is up.

Every round's dual bound is a lower bound on the contiguous optimum (the
rounds relax it), so the gap reported against the best contiguous plan is
valid even when time runs out. The heuristic's plan is passed as a start.
HiGHS has no lazy-constraint callback in Python, hence the rounds.

Beyond two grids the whole programme is hard (its relaxation is weak), so
:func:`pair_polish` first re-splits pairs of neighbouring grids with the
two-grid programme, only the units near their common border free: small
programmes that prove fast, and each accepted one shortens the border.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from gridkit.grids.core.graph import Graph
from gridkit.highs import new_highs


@dataclass
class ExactResult:
    """``labels`` (None: no contiguous plan found), ``cost``, lower ``bound``,
    ``optimal`` (proved), ``infeasible`` (no plan within the bounds exists)."""

    labels: np.ndarray | None
    cost: float
    bound: float
    optimal: bool
    infeasible: bool
    rounds: int
    seconds: float

    @property
    def gap(self) -> float | None:
        if self.labels is None or not np.isfinite(self.bound):
            return None
        if self.cost <= 0:
            return 0.0
        return max(0.0, (self.cost - self.bound) / self.cost)


def canonical(labels: np.ndarray) -> np.ndarray:
    """Relabel grids by their first unit (the programme's symmetry rule)."""
    uniq, first = np.unique(labels, return_index=True)
    rank = np.empty(len(uniq), dtype=np.int64)
    rank[np.argsort(first)] = np.arange(len(uniq))
    return rank[np.searchsorted(uniq, labels)]


def cut_cost(graph: Graph, labels: np.ndarray) -> float:
    return float(graph.cost[labels[graph.eu] != labels[graph.ev]].sum())


class _Model:
    """The programme in HiGHS, rows added round by round."""

    def __init__(self, graph: Graph, weight: np.ndarray, k: int, lo: float, hi: float,
                 fix: np.ndarray | None = None):
        import highspy

        self.hs = highspy
        n, m = graph.n, len(graph.eu)
        self.n, self.k, self.m = n, k, m
        h = self.h = new_highs()
        h.setOptionValue("random_seed", 0)
        h.setOptionValue("threads", 1)
        nx_ = n * k
        ub = np.ones(nx_ + m)
        lb = np.zeros(nx_ + m)
        if fix is None:
            for j in range(1, k):  # symmetry: no unit below position j in grid j
                ub[np.arange(min(j, n)) * k + j] = 0.0
        else:  # units fixed to a grid: no symmetry left to break
            fixed = np.flatnonzero(fix >= 0)
            ub[:nx_].reshape(n, k)[fixed] = 0.0
            ub[fixed * k + fix[fixed]] = 1.0
            lb[fixed * k + fix[fixed]] = 1.0
        h.addVars(nx_ + m, lb, ub)
        h.changeColsIntegrality(nx_, np.arange(nx_, dtype=np.int32),
                                np.full(nx_, highspy.HighsVarType.kInteger))
        h.changeColsCost(m, nx_ + np.arange(m, dtype=np.int32), graph.cost.astype(float))
        rows = [(np.arange(i * k, (i + 1) * k), np.ones(k), 1.0, 1.0) for i in range(n)]
        rows += [(np.arange(n) * k + j, weight.astype(float), lo, hi) for j in range(k)]
        rows += [(np.arange(n) * k + j, np.ones(n), 1.0, float(n)) for j in range(k)]  # none empty
        self._add(rows)
        inf = highspy.kHighsInf
        # grids numbered by their first unit: unit i in grid j needs an
        # earlier unit in grid j - 1 (orbitope column inequalities)
        for j in range(1, k if fix is None else 1):
            for i in range(j, n):
                idx = np.r_[i * k + j, np.arange(i) * k + j - 1]
                self.h.addRow(-inf, 0.0, len(idx), idx.astype(np.int32),
                              np.r_[1.0, -np.ones(i)])
        eu, ev = graph.eu, graph.ev
        for j in range(k):  # y_e - x_uj + x_vj >= 0 and y_e + x_uj - x_vj >= 0
            for sign in (1.0, -1.0):
                idx = np.stack([nx_ + np.arange(m), eu * k + j, ev * k + j], axis=1)
                val = np.tile([1.0, -sign, sign], (m, 1))
                self._add_block(idx, val, 0.0, inf)

    def x(self, i, j):
        return i * self.k + j

    def _add_block(self, idx, val, lo, hi):
        r = len(idx)
        if r == 0:
            return
        starts = np.arange(r, dtype=np.int32) * idx.shape[1]
        self.h.addRows(r, np.full(r, lo), np.full(r, hi), idx.size, starts,
                       idx.ravel().astype(np.int32), val.ravel().astype(float))

    def _add(self, rows):
        for idx, val, lo, hi in rows:
            self.h.addRow(lo, hi, len(idx), np.asarray(idx, dtype=np.int32),
                          np.asarray(val, dtype=float))

    def start(self, labels: np.ndarray, graph: Graph) -> None:
        n, k = self.n, self.k
        col = np.zeros(n * k + self.m)
        col[np.arange(n) * k + labels] = 1.0
        col[n * k:] = (labels[graph.eu] != labels[graph.ev]).astype(float)
        sol = self.hs.HighsSolution()
        sol.col_value = col.tolist()
        self.h.setSolution(sol)

    def solve(self, seconds: float):
        h = self.h
        h.setOptionValue("time_limit", max(0.05, float(seconds)))
        h.run()
        status = h.getModelStatus()
        info = h.getInfo()
        ms = self.hs.HighsModelStatus
        labels = None
        if info.primal_solution_status == 2 or status == ms.kOptimal:
            val = np.asarray(h.getSolution().col_value[: self.n * self.k]).reshape(self.n, self.k)
            labels = np.argmax(val, axis=1)
        bound = float(info.mip_dual_bound)
        return status == ms.kOptimal, status == ms.kInfeasible, labels, bound


def _border(piece: np.ndarray, nbrs) -> list[int]:
    inside = set(piece.tolist())
    return sorted({v for u in piece.tolist() for v in nbrs[u] if v not in inside})


def _separators(graph: Graph, labels: np.ndarray, k: int):
    """Separator rows for every grid in pieces (for every grid index, by symmetry)."""
    ncomp, comp = graph.components(labels)
    rows = []
    nbrs = graph.neighbour_lists()
    for j in np.unique(labels):
        pieces = np.unique(comp[labels == j])
        if len(pieces) < 2:
            continue
        sizes = [(int((comp == c).sum()), int(c)) for c in pieces]
        main = max(sizes)[1]
        main_units = np.flatnonzero(comp == main)
        main_border = _border(main_units, nbrs)
        for _, c in sizes:
            if c == main:
                continue
            piece = np.flatnonzero(comp == c)
            border = _border(piece, nbrs)
            # a few rows per piece, both ways round: fewer rounds of re-solving
            for a in piece[:4].tolist():
                for b in main_units[:2].tolist():
                    rows.append((a, b, border))
                    rows.append((b, a, main_border))
    return rows


def solve_part(graph: Graph, weight: np.ndarray, k: int, lo: float, hi: float, *,
               start: np.ndarray | None, time_limit: float,
               fix: np.ndarray | None = None, node_limit: int | None = None) -> ExactResult:
    """Optimal contiguous split of a connected ``graph`` into ``k`` grids of weight in
    ``[lo, hi]``, within ``time_limit`` seconds (best plan and bound otherwise).

    ``fix`` (grid per unit, -1: free) keeps some units in their grid: the
    optimum is then the best plan with them there (a neighbourhood search).
    ``node_limit`` bounds the branch-and-bound nodes of each round: a bound
    on work, so the result does not depend on the machine's speed.
    """
    began = time.perf_counter()
    model = _Model(graph, weight, k, lo, hi, fix)
    if node_limit is not None:
        model.h.setOptionValue("mip_max_nodes", int(node_limit))
    best, best_cost = None, np.inf
    if start is not None:
        start = canonical(np.asarray(start)) if fix is None else np.asarray(start)
        sw = np.bincount(start, weights=weight, minlength=k)
        if (sw >= lo - 1e-9).all() and (sw <= hi + 1e-9).all():
            best, best_cost = start, cut_cost(graph, start)
    bound, rounds, optimal, infeasible = -np.inf, 0, False, False
    max_rounds = None if node_limit is None else 4  # work bound: rounds too
    while max_rounds is None or rounds < max_rounds:
        left = time_limit - (time.perf_counter() - began)
        if left <= 0.05:
            break
        if best is not None:
            model.start(best, graph)
        done, infeasible, labels, round_bound = model.solve(left)
        rounds += 1
        if infeasible:
            break
        if np.isfinite(round_bound):
            bound = max(bound, round_bound)
        if labels is None:
            break
        seps = _separators(graph, labels, k)
        if not seps:
            cost = cut_cost(graph, labels)
            if cost < best_cost - 1e-9:
                best, best_cost = labels, cost
            optimal = done
            if done:
                bound = max(bound, best_cost)
            break
        if not done and best is not None and bound >= best_cost - 1e-9:
            optimal = True
            break
        for a, b, border in seps:
            for j in range(k):
                idx = [model.x(a, j), model.x(b, j)] + [model.x(c, j) for c in border]
                val = [1.0, 1.0] + [-1.0] * len(border)
                model.h.addRow(-model.hs.kHighsInf, 1.0, len(idx), np.asarray(idx, np.int32),
                               np.asarray(val, float))
    if best is not None and bound >= best_cost - 1e-6 * max(1.0, best_cost):
        optimal = True
    return ExactResult(best, float(best_cost), float(bound), optimal, infeasible and best is None,
                       rounds, time.perf_counter() - began)


@dataclass
class Polish:
    """What the exact polish did: ``ran`` (some part was solved), ``optimal``
    (every part proved), ``gap`` (relative, over the parts solved)."""

    ran: bool = False
    optimal: bool = False
    gap: float | None = None
    infeasible: bool = False


def polish(graph: Graph, labels: np.ndarray, weight: np.ndarray, target: np.ndarray,
           band: np.ndarray, parts: np.ndarray, *, max_units: int, max_k: int,
           time_limit: float, full: bool = True, node_limit: int | None = None,
           pair_units: int = 0) -> Polish:
    """Solve every part of at most ``max_units`` units and ``max_k`` grids exactly
    (in place on ``labels``), sharing ``time_limit`` seconds among them.

    A part is solved only when its grids share one target (the usual case;
    not when heavy units give some grids targets of their own). The plan is
    replaced only by a better one (inside the windows, lower cut). Parts are
    first recombined pair by pair (:func:`pair_polish`); with ``full=False``
    only that is done for parts of more than two grids (no proof, but no time
    spent once no pair improves). Larger parts of at most ``pair_units``
    units (any number of grids, targets alike or not) get the pair
    recombination only, each pair inside its grids' windows.
    """
    began = time.perf_counter()
    todo, pairs_only = [], []
    for p in np.unique(parts):
        nodes = np.flatnonzero(parts == p)
        labs = np.unique(labels[nodes])
        if 2 <= len(labs) <= max_k and len(nodes) <= max_units \
                and np.allclose(target[labs], target[labs[0]]) \
                and np.allclose(band[labs], band[labs[0]]):
            todo.append((nodes, labs))
        elif len(labs) >= 2 and len(nodes) <= pair_units:
            pairs_only.append((nodes, labs))
    for nodes, labs in pairs_only:
        _pairs_in_part(graph, labels, weight, target, band, nodes, labs,
                       time_limit=time_limit - (time.perf_counter() - began),
                       node_limit=node_limit)
    if not todo:
        return Polish()
    out = Polish(ran=True, optimal=True)
    cost_sum = bound_sum = 0.0
    total_units = sum(len(n) for n, _ in todo)
    for nodes, labs in todo:
        left = time_limit - (time.perf_counter() - began)
        share = left * len(nodes) / max(total_units, 1)
        total_units -= len(nodes)
        sub = graph.induced(nodes)
        local = np.searchsorted(labs, labels[nodes])
        t, b = float(target[labs[0]]), float(band[labs[0]])
        w = weight[nodes]
        sw = np.bincount(local, weights=w, minlength=len(labs))
        whole = full or len(labs) == 2  # the whole programme: proves for two grids
        if len(labs) > 2 or _inside(sw, t - b, t + b):
            # the whole programme is slow to improve a plan (or to find one
            # inside the windows: 8.6 s for 500 nodes on 136 units / 3 grids
            # of the Helsinki sample): recombine pairs exactly first, with
            # only the units near their border free
            t0 = time.perf_counter()
            local = pair_polish(sub, local, w, t - b, t + b,
                                time_limit=share / 2 if whole else share,
                                node_limit=node_limit,
                                max_solves=None if node_limit is None else 6 * len(labs))
            share -= time.perf_counter() - t0
            inside = _inside(np.bincount(local, weights=w, minlength=len(labs)), t - b, t + b)
            if not whole and inside:
                labels[nodes] = labs[local]
                out.optimal, out.gap, cost_sum = False, None, np.nan
                continue
        res = solve_part(sub, w, len(labs), t - b, t + b, start=local,
                         time_limit=max(share, 0.1),
                         node_limit=None if node_limit is None else 4 * node_limit)
        if res.labels is not None:
            # keep the grids' labels where they were: match new grids to old by overlap
            new = _match_labels(local, res.labels, len(labs))
            labels[nodes] = labs[new]
        out.optimal &= res.optimal
        out.infeasible |= res.infeasible
        if res.labels is None or not np.isfinite(res.bound):
            out.gap = None
            out.optimal = False
            cost_sum = np.nan
        else:
            cost_sum += res.cost
            bound_sum += min(res.bound, res.cost)
    if np.isfinite(cost_sum):
        out.gap = 0.0 if cost_sum <= 0 else max(0.0, (cost_sum - bound_sum) / cost_sum)
    return out


def _inside(W, lo, hi) -> bool:
    return bool(((W >= lo - 1e-9) & (W <= hi + 1e-9)).all())


# a part that gets only the pair recombination: at most this many programmes
# per grid and one per this many units (small grids: many cheap programmes),
# each with this many units free near the pair's border (measured on the
# Helsinki sample, 728 units / 20 grids: border -8%, 1.6 s)
_PAIR_SOLVES = 4
_UNITS_PER_SOLVE = 10
_PAIR_FREE = 20


def _pair_window(weight, labels, ga: int, gb: int, lo, hi) -> tuple[float, float]:
    """The window both grids of a pair must end in: theirs, or, when the pair
    is too light (heavy) for both to reach it, up to (down from) its edge and
    no further out than the lighter (heavier) grid is now, which leaves the
    weight outside the windows as it is."""
    wa, wb = (float(weight[labels == g].sum()) for g in (ga, gb))
    if wa + wb < 2 * lo[ga]:
        return min(wa, wb), float(lo[ga])
    if wa + wb > 2 * hi[ga]:
        return float(hi[ga]), max(wa, wb)
    return float(lo[ga]), float(hi[ga])


def _pairs_in_part(graph: Graph, labels, weight, target, band, nodes, labs, *,
                   time_limit: float, node_limit: int | None) -> None:
    """:func:`pair_polish` on one part, every grid with its own window (in place)."""
    sub = graph.induced(nodes)
    local = np.searchsorted(labs, labels[nodes])
    lo, hi = target[labs] - band[labs], target[labs] + band[labs]
    out = pair_polish(sub, local, weight[nodes], lo, hi, time_limit=max(time_limit, 0.1),
                      node_limit=node_limit, max_free=_PAIR_FREE,
                      max_solves=None if node_limit is None else
                      min(_PAIR_SOLVES * len(labs), len(nodes) // _UNITS_PER_SOLVE))
    labels[nodes] = labs[out]


def _match_labels(old: np.ndarray, new: np.ndarray, k: int) -> np.ndarray:
    """Renumber ``new`` so that each grid takes the old label it overlaps most."""
    from scipy.optimize import linear_sum_assignment

    overlap = np.zeros((k, k))
    np.add.at(overlap, (new, old), 1.0)
    rows, cols = linear_sum_assignment(-overlap)
    remap = np.empty(k, dtype=np.int64)
    remap[rows] = cols
    return remap[new]


def _band(graph: Graph, side: np.ndarray, max_free: int) -> np.ndarray:
    """Units within a few steps of the border between the two sides: all of them
    when there are at most ``max_free``, else as many rings as fit."""
    if graph.n <= max_free:
        return np.ones(graph.n, dtype=bool)
    cross = side[graph.eu] != side[graph.ev]
    free = np.zeros(graph.n, dtype=bool)
    free[graph.eu[cross]] = True
    free[graph.ev[cross]] = True
    while True:
        grow = free.copy()
        grow[graph.ev[free[graph.eu]]] = True
        grow[graph.eu[free[graph.ev]]] = True
        if grow.sum() > max_free or grow.sum() == free.sum():
            return free
        free = grow


def pair_polish(graph: Graph, labels: np.ndarray, weight: np.ndarray, lo: float, hi: float, *,
                time_limit: float, max_units: int = 250, max_free: int = 40,
                node_limit: int | None = None, max_solves: int | None = None) -> np.ndarray:
    """Exact recombination: for pairs of neighbouring grids (longest shared
    border first), the union is split again in two by the ``k = 2`` programme
    (warm-started) while that shortens the border and time is left; in a
    large pair, only the units near the pair's border (at most ``max_free``)
    may change side, which keeps each programme small.

    Edges from the pair to other grids are cut whatever the split, so the
    pair's optimal split is a move to a better plan. ``lo`` and ``hi`` are
    the weight window, for all grids or per grid (arrays by label: a pair
    whose two windows differ is left as it is). With ``node_limit`` and
    ``max_solves`` the work is bounded by counts (deterministic), the time
    limit is then only a safety stop. Returns new labels.
    """
    began = time.perf_counter()
    labels = np.asarray(labels, dtype=np.int64).copy()
    k = int(labels.max()) + 1
    lo = np.broadcast_to(np.asarray(lo, dtype=float), (k,))
    hi = np.broadcast_to(np.asarray(hi, dtype=float), (k,))
    improved, tried = True, set()
    while improved:
        improved = False
        cross = labels[graph.eu] != labels[graph.ev]
        a, b = labels[graph.eu[cross]], labels[graph.ev[cross]]
        lo_l, hi_l = np.minimum(a, b), np.maximum(a, b)
        border = np.bincount(lo_l * k + hi_l, weights=graph.cost[cross], minlength=k * k)
        for key in np.argsort(-border, kind="stable").tolist():
            if border[key] <= 0:
                break
            left = time_limit - (time.perf_counter() - began)
            if left <= 0.05:
                return labels
            ga, gb = divmod(key, k)
            if not (np.isclose(lo[ga], lo[gb]) and np.isclose(hi[ga], hi[gb])):
                continue
            nodes = np.flatnonzero((labels == ga) | (labels == gb))
            state = (ga, gb, hash(labels[nodes].tobytes()))
            if len(nodes) > max_units or state in tried:
                continue
            tried.add(state)
            if max_solves is not None:
                if max_solves <= 0:
                    return labels
                max_solves -= 1
            sub = graph.induced(nodes)
            local = (labels[nodes] == gb).astype(np.int64)
            window = _pair_window(weight, labels, ga, gb, lo, hi)
            # a pair outside its window takes any split inside it (feasibility first)
            before = cut_cost(sub, local) if _inside(
                np.bincount(local, weights=weight[nodes], minlength=2), *window) else np.inf
            free = _band(sub, local, max_free)
            res = solve_part(sub, weight[nodes], 2, *window, start=local,
                             time_limit=min(left, 1.0 if node_limit is None else left),
                             node_limit=node_limit,
                             fix=None if free.all() else np.where(free, -1, local))
            improves = not np.isfinite(before) or res.cost < before - 1e-6 * max(before, 1.0)
            if res.labels is not None and improves:
                new = _match_labels(local, res.labels, 2)
                labels[nodes] = np.where(new == 1, gb, ga)
                improved = True
                break
    return labels
