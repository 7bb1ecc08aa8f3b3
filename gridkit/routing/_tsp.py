"""A small travelling-salesman solver on a cost matrix (the visit order).

Own code because the library must not depend on OR-Tools (too heavy a
runtime dependency for a GIS toolkit) and no maintained light package offers
an asymmetric-aware local search: nearest neighbour, then best-improvement
2-opt and Or-opt (segments of 1-3 moved, either way round), vectorised with
numpy, inside an iterated local search with local double-bridge kicks until
the time limit. Works for asymmetric matrices (one-way streets): 2-opt
prices the reversed segment exactly from prefix sums.

Index 0 is the depot (base point); tours start and end there.
"""

from __future__ import annotations

import itertools
import time

import numpy as np


def tour_cost(D: np.ndarray, tour: np.ndarray) -> float:
    return float(D[tour, np.roll(tour, -1)].sum())


def nearest_neighbour(D: np.ndarray) -> np.ndarray:
    n = len(D)
    seen = np.zeros(n, dtype=bool)
    seen[0] = True
    tour = [0]
    for _ in range(n - 1):
        row = np.where(seen, np.inf, D[tour[-1]])
        nxt = int(np.argmin(row))
        tour.append(nxt)
        seen[nxt] = True
    return np.asarray(tour)


def _best_two_opt(D, t):
    """Best reversal of t[i+1..j] (0 <= i < j <= N-1); returns (delta, i, j)."""
    N = len(t)
    ext = np.append(t, t[0])
    fw = D[ext[:-1], ext[1:]]
    bw = D[ext[1:], ext[:-1]]
    F = np.concatenate([[0.0], np.cumsum(fw)])
    B = np.concatenate([[0.0], np.cumsum(bw)])
    i = np.arange(N)[:, None]
    j = np.arange(N)[None, :]
    ti, tj = ext[:-1][:, None], ext[:-1][None, :]
    ti1, tj1 = ext[1:][:, None], ext[1:][None, :]
    delta = (
        D[ti, tj] + D[ti1, tj1] + (B[j] - B[i + 1]) - D[ti, ti1] - D[tj, tj1] - (F[j] - F[i + 1])
    )
    delta = np.where(j > i + 1, delta, np.inf)
    k = int(np.argmin(delta))
    return float(delta.flat[k]), k // N, k % N


def _best_or_opt(D, t, max_len=3):
    """Best move of a segment t[i..i+L-1] (not the depot) between t[j], t[j+1]."""
    N = len(t)
    ext = np.append(t, t[0])
    best = (np.inf, 0, 0, 0, False)
    jj = np.arange(N)
    tj, tj1 = ext[jj], ext[jj + 1]
    base_j = D[tj, tj1]
    for L in range(1, max_len + 1):
        if N - 1 < L + 1:
            break
        i = np.arange(1, N - L + 1)
        s0, sL = ext[i], ext[i + L - 1]
        p, q = ext[i - 1], ext[i + L]
        gain = D[p, s0] + D[sL, q] - D[p, q]
        if L > 1:
            idx = i[:, None] + np.arange(L - 1)[None, :]
            fwd = D[ext[idx], ext[idx + 1]].sum(axis=1)
            rev = D[ext[idx + 1], ext[idx]].sum(axis=1)
        else:
            fwd = rev = np.zeros(len(i))
        ins = D[tj[None, :], s0[:, None]] + D[sL[:, None], tj1[None, :]] - base_j[None, :]
        ins_r = (
            D[tj[None, :], sL[:, None]]
            + D[s0[:, None], tj1[None, :]]
            - base_j[None, :]
            + (rev - fwd)[:, None]
        )
        bad = (jj[None, :] >= i[:, None] - 1) & (jj[None, :] <= i[:, None] + L - 1)
        for rev_flag, cost in ((False, ins), (True, ins_r)):
            delta = np.where(bad, np.inf, cost - gain[:, None])
            k = int(np.argmin(delta))
            if delta.flat[k] < best[0]:
                best = (float(delta.flat[k]), int(i[k // N]), L, int(k % N), rev_flag)
    return best


def _apply_or(t, i, L, j, rev):
    seg = t[i : i + L]
    if rev:
        seg = seg[::-1]
    rest = np.concatenate([t[:i], t[i + L :]])
    pos = j + 1 if j < i else j + 1 - L
    return np.concatenate([rest[:pos], seg, rest[pos:]])


def local_search(D: np.ndarray, t: np.ndarray, *, deadline: float = np.inf) -> np.ndarray:
    t = t.copy()
    while time.perf_counter() < deadline:
        d2, i, j = _best_two_opt(D, t) if len(t) > 3 else (np.inf, 0, 0)
        do, oi, L, oj, rev = _best_or_opt(D, t) if len(t) > 3 else (np.inf, 0, 0, 0, False)
        if min(d2, do) > -1e-9:
            break
        if d2 <= do:
            t[i + 1 : j + 1] = t[i + 1 : j + 1][::-1]
        else:
            t = _apply_or(t, oi, L, oj, rev)
    return t


def _exact(D: np.ndarray) -> np.ndarray:
    n = len(D)
    perms = np.array(list(itertools.permutations(range(1, n))))
    tours = np.hstack(
        [np.zeros((len(perms), 1), dtype=int), perms, np.zeros((len(perms), 1), dtype=int)]
    )
    cost = D[tours[:, :-1], tours[:, 1:]].sum(axis=1)
    return tours[int(np.argmin(cost)), :-1]


def solve_tsp(D: np.ndarray, *, time_limit: float = 1.0, seed: int = 0) -> np.ndarray:
    """A short closed tour through every index of ``D``, starting at 0.

    Parameters
    ----------
    D
        Square cost matrix (may be asymmetric; finite).
    time_limit
        Seconds for the iterated local search (the first local optimum is
        always reached).
    seed
        Seed of the kicks: the result is deterministic for a seed and a
        number of iterations.
    """
    D = np.asarray(D, dtype=float)
    n = len(D)
    if n <= 3:
        if n == 3 and tour_cost(D, np.array([0, 2, 1])) < tour_cost(D, np.array([0, 1, 2])):
            return np.array([0, 2, 1])
        return np.arange(n)
    if n <= 9:  # small rounds: every order (at most 8! = 40,320), exactly
        return _exact(D)
    start = time.perf_counter()
    deadline = start + time_limit
    best = local_search(D, nearest_neighbour(D))
    best_cost = tour_cost(D, best)
    rng = np.random.default_rng(seed)
    cur, cur_cost = best, best_cost
    span = max(2, min(30, (n - 1) // 4))
    while time.perf_counter() < deadline and n > 8:
        # local double bridge: swap two short neighbouring segments
        a = int(rng.integers(1, n - 2))
        b = min(n - 1, a + int(rng.integers(1, span + 1)))
        c = min(n, b + int(rng.integers(1, span + 1)))
        if not (a < b < c):
            continue
        cand = np.concatenate([cur[:a], cur[b:c], cur[a:b], cur[c:]])
        cand = local_search(D, cand, deadline=deadline + 0.05 * time_limit)
        cost = tour_cost(D, cand)
        if cost < cur_cost - 1e-9:
            cur, cur_cost = cand, cost
            if cost < best_cost - 1e-9:
                best, best_cost = cand, cost
    return best
