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

import numpy as np

__all__ = ["min_max_split", "persons_bound"]

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
