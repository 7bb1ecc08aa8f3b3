"""Several persons per grid: one closed tour cut into N routes from the same start.

The min-max k-postman is NP-hard; this is the tour-splitting approach of Frederickson,
Hecht and Kim, with the cuts chosen exactly instead of by their length rule: the grid's
optimal tour, read as a sequence of street traversals, is cut into N consecutive pieces
(each starting and ending at a patrolled street) so that the longest of
``way there + piece + way back`` is as small as possible, by dynamic programming over the
cut points (O(N q^2) for q streets; own code, no library splits a sequence this way).
The caller tries several Euler orders of the same tour and several starting streets, cuts
the one whose longest piece is shortest, then re-solves every piece as its own exact tour
from the start, which can only make it shorter.

A lower bound on the longest route: the N routes together are one closed walk through the
start over every street, so the longest is at least the single tour's bound / N; and some
route walks the farthest street, at least its round trip from the start.
"""

from __future__ import annotations

import itertools

import numpy as np

__all__ = ["min_max_split", "persons_bound", "pigeonhole_bound"]

_BLOCK = 1024


def min_max_split(start_cost, end_cost, before, after, persons: int) -> list[tuple[int, int]]:
    """Cut a sequence of q streets into at most ``persons`` consecutive pieces.

    For street ``i`` of the sequence: ``start_cost[i]`` the way from the start to where it
    begins, ``end_cost[i]`` the way back from where it ends, ``before[i]``/``after[i]`` the
    tour's length before / after walking it. Piece ``p..r`` costs
    ``start_cost[p] + after[r] - before[p] + end_cost[r]``. Returns ``(p, r)`` index
    ranges (inclusive) minimising the largest cost, one piece per person (fewer only when
    there are fewer streets).
    """
    a = np.asarray(start_cost, float) - np.asarray(before, float)
    b = np.asarray(end_cost, float) + np.asarray(after, float)
    q = len(a)
    k = max(1, min(int(persons), q))
    F = np.full((k, q), np.inf)
    arg = np.zeros((k, q), dtype=int)
    F[0] = a[0] + b
    p = np.arange(q)
    for t in range(1, k):
        prev = np.r_[np.inf, F[t - 1, :-1]]
        for lo in range(0, q, _BLOCK):  # blocks of end streets r: memory q x _BLOCK
            r = p[lo: lo + _BLOCK]
            # M[p, r]: the longest so far with piece t running from street p to r (p <= r)
            M = np.maximum(prev[:, None], a[:, None] + b[None, r])
            M[(p[:, None] > r[None, :]) | (p[:, None] < t)] = np.inf
            arg[t, r] = np.argmin(M, axis=0)
            F[t, r] = M[arg[t, r], np.arange(len(r))]
    pieces, r = [], q - 1
    for t in range(k - 1, -1, -1):
        p = arg[t, r] if t > 0 else 0
        pieces.append((int(p), int(r)))
        r = p - 1
    return pieces[::-1]


def persons_bound(total_bound: float, persons: int, round_trips) -> float:
    """Lower bound on the longest of ``persons`` routes (see the module text)."""
    far = float(np.max(round_trips)) if len(round_trips) else 0.0
    return max(total_bound / max(int(persons), 1), far)


def pigeonhole_bound(enter, leave, lens, dist, persons: int, *, most: int = 3) -> float:
    """Lower bound on the longest of ``persons`` routes from counting (own code: the bound
    is specific to this problem).

    Any ``k * persons + 1`` streets put ``k + 1`` of them on one person's route, which is
    then at least the shortest closed walk from the start through those ``k + 1``
    streets. So the longest route is at least, over a set ``S`` of ``k * persons + 1``
    candidate streets, the smallest such walk over the ``(k + 1)``-subsets of ``S``; the
    set is chosen by a swap search (any set gives a valid bound), for ``k`` = 1 .. ``most``.

    For m candidate streets, ``enter[i, o]`` / ``leave[i, o]`` is the way from the start to
    street i's end o / from its end o back; ``dist[i, o, j, p]`` the way between end o of
    street i and end p of street j; ``lens[i]`` its length.
    """
    m = len(lens)
    best = 0.0
    for k in range(1, most + 1):
        size = k * int(persons) + 1
        if size > m or (2 * m) ** (k + 1) > 8_000_000:
            break
        T = _walks(np.asarray(enter, float), np.asarray(leave, float),
                   np.asarray(lens, float), np.asarray(dist, float), k + 1)
        best = max(best, _max_min_set(T, size, k + 1))
    return best


def _walks(enter, leave, lens, dist, r: int) -> np.ndarray:
    """``T[i, j, ...]`` (r indices): the shortest closed walk from the start walking the r
    streets (any order, any direction); inf where an index repeats."""
    m = len(lens)
    # states (street, entering end): walk it from end o to end 1 - o
    a = (enter + lens[:, None]).reshape(-1)  # start -> through street s
    b = leave[:, ::-1].reshape(-1)  # the end left is 1 - o
    # hop from state s (left at its end 1 - o) to state t (entered at end p), then walk t
    D = dist[:, ::-1, :, :].reshape(2 * m, 2 * m) + np.repeat(lens, 2)[None, :]
    cur = a  # cur[s1, ..., s_j]: walked streets in this order, now past s_j
    for _ in range(r - 1):
        cur = cur[..., None] + D.reshape((1,) * (cur.ndim - 1) + D.shape)
    cur = cur + b.reshape((1,) * (cur.ndim - 1) + (-1,))
    # min over directions, then over orders
    cur = cur.reshape(sum(((m, 2) for _ in range(r)), ())).min(axis=tuple(range(1, 2 * r, 2)))
    T = cur
    for perm in itertools.permutations(range(r)):
        T = np.minimum(T, cur.transpose(perm))
    idx = np.indices((m,) * r)
    rep = np.zeros(T.shape, dtype=bool)
    for i, j in itertools.combinations(range(r), 2):
        rep |= idx[i] == idx[j]
    T[rep] = np.inf
    return T


def _max_min_set(T: np.ndarray, size: int, r: int) -> float:
    """Largest, over sets of ``size`` indices found by greedy growth and swaps, of the
    smallest ``T`` over the set's r-subsets."""
    m = T.shape[0]
    combos = np.array(list(itertools.combinations(range(size), r)), dtype=int)

    def value(S):
        return float(T[tuple(S[combos].T)].min())

    # greedy: add the street whose smallest walk with the chosen ones is longest (while
    # fewer than r are chosen: with the chosen ones and any others)
    S: list[int] = []
    while len(S) < size:
        rest = [j for j in range(m) if j not in S]
        score = []
        for j in rest:
            cand = np.array([*S, j])
            if len(cand) < r:
                score.append(float(T[tuple(cand) + (slice(None),) * (r - len(cand))].min()))
            else:
                sub = np.array(list(itertools.combinations(range(len(cand)), r)))
                score.append(float(T[tuple(cand[sub].T)].min()))
        S.append(rest[int(np.argmax(score))])
    S = np.array(S)
    val = value(S)
    improved = True
    while improved:
        improved = False
        for pos in range(size):
            for j in range(m):
                if j in S:
                    continue
                trial = S.copy()
                trial[pos] = j
                tv = value(trial)
                if tv > val + 1e-9:
                    S, val, improved = trial, tv, True
    return val
