"""k-way boundary search: shorter borders inside the two-sided balance window.

A tabu search over single boundary moves (one unit to a neighbouring grid of
the same part, never breaking its grid apart), scored by

    cut cost saved - penalty x (weight outside the windows [T - band, T + band]),

so the search may step outside the window for a move or two: a unit out
and another one in is the pair swap that two-sided balance with coarse units
needs, and longer walks are the ejection chains. The penalty grows while the
plan stays infeasible and shrinks while it is feasible (strategic
oscillation). A unit that moved may not move again for a few iterations
(tabu), unless that gives the best plan seen (aspiration). The best plan
seen, first by weight outside the windows and then by cut, is returned.

This is the KL/FM family of refinement (gain = border cost saved) with the
contiguity and two-sided balance rules that METIS and KaHIP do not enforce;
no maintained Python library does it, hence own code. Candidates are scored
with numpy; the connectivity test runs only on the chosen move. The search
is deterministic (no randomness; ties broken by position).
"""

from __future__ import annotations

import numpy as np

from gridkit.grids.core.graph import Graph
from gridkit.grids.core.refine import removable


class _State:
    def __init__(self, graph: Graph, labels, weight, target, band, movable):
        self.g = graph
        self.lab = np.asarray(labels, dtype=np.int64).copy()
        self.ll = self.lab.tolist()
        self.k = int(self.lab.max()) + 1
        self.w = np.asarray(weight, dtype=float)
        self.T = np.asarray(target, dtype=float)
        self.band = np.asarray(band, dtype=float)
        self.W = np.bincount(self.lab, weights=self.w, minlength=self.k)
        self.size = np.bincount(self.lab, minlength=self.k)
        self.rows = np.repeat(np.arange(graph.n), np.diff(graph.indptr))
        self.nbrs = graph.neighbour_lists()
        self.movable = np.ones(graph.n, bool) if movable is None else np.asarray(movable, bool)

    def excess(self, W=None) -> np.ndarray:
        W = self.W if W is None else W
        return np.maximum(np.abs(W - self.T) - self.band, 0.0)

    def cut(self) -> float:
        g = self.g
        return float(g.cost[self.lab[g.eu] != self.lab[g.ev]].sum())

    def move(self, u: int, b: int) -> None:
        a = self.ll[u]
        self.ll[u] = b
        self.lab[u] = b
        self.W[a] -= self.w[u]
        self.W[b] += self.w[u]
        self.size[a] -= 1
        self.size[b] += 1

    def candidates(self):
        """Boundary moves (u, b) with their cut gain and excess change."""
        lab, src, dst, k = self.lab, self.rows, self.g.indices, self.k
        cross = lab[src] != lab[dst]
        if not cross.any():
            return None
        # only the edges of boundary units: their cost to each grid around them
        boundary = np.zeros(self.g.n, dtype=bool)
        boundary[src[cross]] = True
        sel = boundary[src]
        src, dst, cross = src[sel], dst[sel], cross[sel]
        key = src * k + lab[dst]
        ukeys, inv = np.unique(key, return_inverse=True)
        conn = np.bincount(inv, weights=self.g.ecost[sel])
        cand = np.unique(key[cross])
        u, b = cand // k, cand % k
        ok = self.movable[u]
        u, b = u[ok], b[ok]
        a = lab[u]
        to_b = conn[np.searchsorted(ukeys, u * k + b)]
        own_key = u * k + a
        pos = np.clip(np.searchsorted(ukeys, own_key), 0, len(ukeys) - 1)
        to_a = np.where(ukeys[pos] == own_key, conn[pos], 0.0)
        gain = to_b - to_a
        wu = self.w[u]
        ex = self.excess()
        Wa, Wb = self.W[a] - wu, self.W[b] + wu
        d_ex = (np.maximum(np.abs(Wa - self.T[a]) - self.band[a], 0)
                + np.maximum(np.abs(Wb - self.T[b]) - self.band[b], 0) - ex[a] - ex[b])
        return u, b, gain, d_ex


def tabu_search(graph: Graph, labels, weight, target, band, *, iterations: int,
                movable=None, tenure: int = 7, patience: int | None = None) -> np.ndarray:
    """Best labels found in ``iterations`` steps (the input when nothing is better).

    A step is the best allowed move, plus (with many grids) further improving
    moves between other grids, away from the units already moved: their
    gains do not interact, so one scoring serves them all.

    ``graph`` must have neighbour lists (:meth:`Graph.from_edges`); ``band``
    is the allowed absolute deviation of each grid from its ``target``;
    ``movable`` (bool per unit) keeps the other units where they are.
    """
    s = _State(graph, labels, weight, target, band, movable)
    if s.k < 2 or graph.n < 3:
        return s.lab.copy()
    cut = s.cut()
    ex_total = float(s.excess().sum())
    best = (round(ex_total, 9), cut)
    best_lab = s.lab.copy()
    scale = max(float(np.mean(s.band[s.band > 0])) if (s.band > 0).any() else 1.0, 1e-9)
    # penalty per unit of weight out of window: at first, a band's worth of
    # excess costs as much as the mean cut of a grid
    lam = max(cut / s.k, 1.0) / scale
    tabu_until = np.zeros(graph.n, dtype=np.int64)
    patience = patience or max(50, iterations // 4)
    since_best = 0
    batch = max(1, s.k // 4)
    for it in range(1, iterations + 1):
        c = s.candidates()
        if c is None:
            break
        u, b, gain, d_ex = c
        score = gain - lam * d_ex
        new_ex = ex_total + d_ex
        new_cut = cut - gain
        free = tabu_until[u] <= it
        aspire = (np.round(new_ex, 9) < best[0]) | (
            (np.round(new_ex, 9) == best[0]) & (new_cut < best[1] - 1e-9))
        allowed = free | aspire
        allowed &= s.size[s.lab[u]] > 1
        if not allowed.any():
            break
        idx = np.flatnonzero(allowed)
        order = idx[np.lexsort((u[idx], -score[idx]))]
        done = False
        for i in order[:64].tolist():
            uu, bb = int(u[i]), int(b[i])
            if removable(uu, s.ll[uu], s.ll, s.nbrs):
                grids = {s.ll[uu], bb}
                s.move(uu, bb)
                cut, ex_total = new_cut[i], max(0.0, float(new_ex[i]))
                tabu_until[uu] = it + tenure + (uu % 3)
                done = True
                break
        if not done:
            break
        if batch > 1:  # more improving moves that do not interact with it or each other
            touched = {uu, *s.nbrs[uu]}
            made = 1
            for i in order.tolist():
                if made >= batch or score[i] <= 1e-9:
                    break
                uu, bb = int(u[i]), int(b[i])
                aa = s.ll[uu]
                if uu in touched or aa in grids or bb in grids or not free[i]:
                    continue
                if s.size[aa] <= 1 or not removable(uu, aa, s.ll, s.nbrs):
                    continue
                s.move(uu, bb)
                grids.update((aa, bb))
                touched.add(uu)
                touched.update(s.nbrs[uu])
                cut -= gain[i]
                ex_total = max(0.0, ex_total + float(d_ex[i]))
                tabu_until[uu] = it + tenure + (uu % 3)
                made += 1
        here = (round(ex_total, 9), cut)
        if here[0] < best[0] or (here[0] == best[0] and here[1] < best[1] - 1e-9):
            best, best_lab, since_best = here, s.lab.copy(), 0
        else:
            since_best += 1
            if since_best > patience:
                break
        if it % 10 == 0:  # strategic oscillation of the penalty
            lam = lam * 1.5 if ex_total > 0 else lam / 1.2
    return best_lab


def excess(labels, weight, target, band) -> np.ndarray:
    """Each grid's weight outside its window (0 inside)."""
    W = np.bincount(labels, weights=weight, minlength=len(target))
    return np.maximum(np.abs(W - target) - band, 0.0)


def plan_key(graph: Graph, labels, weight, target, band) -> tuple[float, float]:
    """(weight outside the windows, border cost): lower is better, in that order."""
    ex = float(excess(labels, weight, target, band).sum())
    return round(ex, 9), float(graph.cost[labels[graph.eu] != labels[graph.ev]].sum())


def _perturb(graph: Graph, labels, movable, rng: np.random.Generator, moves: int) -> np.ndarray:
    """``moves`` random boundary moves that keep every grid connected."""
    lab = labels.copy()
    ll = lab.tolist()
    nbrs = graph.neighbour_lists()
    size = np.bincount(lab).tolist()
    rows = np.repeat(np.arange(graph.n), np.diff(graph.indptr))
    for _ in range(moves):
        cross = np.flatnonzero((lab[rows] != lab[graph.indices]) & movable[rows])
        if len(cross) == 0:
            break
        e = int(cross[rng.integers(len(cross))])
        u, b = int(rows[e]), int(lab[graph.indices[e]])
        a = ll[u]
        if size[a] > 1 and removable(u, a, ll, nbrs):
            ll[u] = lab[u] = b
            size[a] -= 1
            size[b] += 1
    return lab


def improve(graph: Graph, labels, weight, target, band, *, rng: np.random.Generator,
            rounds: int = 8, iterations: int = 600, movable=None) -> np.ndarray:
    """Iterated tabu search: tabu search, then ``rounds`` times a random kick of
    the best plan (a few boundary moves) and tabu search again; the best plan
    by (weight outside the windows, cut) is returned."""
    movable = np.ones(graph.n, bool) if movable is None else np.asarray(movable, bool)
    labels = np.asarray(labels, dtype=np.int64)
    best = tabu_search(graph, labels, weight, target, band, iterations=iterations,
                       movable=movable)
    best_key = min(plan_key(graph, best, weight, target, band),
                   plan_key(graph, labels, weight, target, band))
    if best_key == plan_key(graph, labels, weight, target, band):
        best = labels.copy()
    n_boundary = int((best[graph.eu] != best[graph.ev]).sum())
    for _ in range(rounds):
        kicked = _perturb(graph, best, movable, rng, max(3, n_boundary // 10))
        cand = tabu_search(graph, kicked, weight, target, band, iterations=iterations,
                           movable=movable)
        key = plan_key(graph, cand, weight, target, band)
        if key < best_key:
            best, best_key = cand, key
    return best
