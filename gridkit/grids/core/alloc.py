"""How many grids each group (village, or connected part of a village) gets.

The quota method is largest remainder (Hamilton) with a floor of one grid per
group and a cap of one grid per unit; it is then improved by moving single
grids between groups while that lowers the worst deviation of a group's mean
grid weight from the overall mean. Hamilton alone can leave a group whose
mean is 20-30% off when the quotas are small; the trade step is a few lines
of own code because no library allocates with both bounds and this objective.
"""

from __future__ import annotations

import numpy as np

from gridkit.errors import PartitionError


def largest_remainder(weights, k: int, *, minimum=1, cap=None) -> np.ndarray:
    """Split ``k`` over groups in proportion to ``weights``.

    Every group gets at least ``minimum`` (scalar or array) and at most
    ``cap`` (array, default unbounded). The caller makes sure
    ``sum(minimum) <= k <= sum(cap)``.
    """
    w = np.asarray(weights, dtype=float)
    n = len(w)
    lo = np.broadcast_to(np.asarray(minimum, dtype=int), (n,)).copy()
    hi = np.full(n, np.iinfo(np.int64).max // 4) if cap is None else np.asarray(cap, dtype=int)
    total = w.sum()
    quota = k * (w / total if total > 0 else np.full(n, 1.0 / n))
    alloc = np.clip(np.floor(quota).astype(int), lo, hi)
    while alloc.sum() > k:  # floors pushed up by the minimum: take back where least deserved
        over = np.where(alloc > lo, alloc - quota, -np.inf)
        alloc[int(np.argmax(over))] -= 1
    while alloc.sum() < k:
        under = np.where(alloc < hi, quota - alloc, -np.inf)
        alloc[int(np.argmax(under))] += 1
    return alloc


def _worst(weights, alloc, mean) -> float:
    live = weights > 0
    if not live.any():
        return 0.0
    return float(np.max(np.abs(weights[live] / alloc[live] / mean - 1.0)))


def allocate(weights, k: int, *, minimum=1, cap=None, max_trades: int = 1000) -> np.ndarray:
    """Largest remainder, then single-grid trades that lower the worst deviation.

    Examples
    --------
    >>> allocate([10, 10, 80], 10).tolist()
    [1, 1, 8]
    """
    w = np.asarray(weights, dtype=float)
    alloc = largest_remainder(w, k, minimum=minimum, cap=cap)
    n = len(w)
    if n < 2 or w.sum() <= 0:
        return alloc
    lo = np.broadcast_to(np.asarray(minimum, dtype=int), (n,))
    hi = np.full(n, np.iinfo(np.int64).max // 4) if cap is None else np.asarray(cap, dtype=int)
    mean = w.sum() / k
    best = _worst(w, alloc, mean)
    for _ in range(max_trades):
        dev = np.where(w > 0, w / alloc / mean - 1.0, 0.0)
        giver = np.argsort(dev)  # lightest grids first: they can spare one
        taker = np.argsort(-dev)
        improved = False
        for i in giver[:5]:
            if alloc[i] <= lo[i]:
                continue
            for j in taker[:5]:
                if i == j or alloc[j] >= hi[j]:
                    continue
                alloc[i] -= 1
                alloc[j] += 1
                score = _worst(w, alloc, mean)
                if score < best - 1e-12:
                    best, improved = score, True
                    break
                alloc[i] += 1
                alloc[j] -= 1
            if improved:
                break
        if not improved:
            break
    return alloc


def grid_counts(group_w, group_n, codes, n, *, k, target, capacity, per_village,
                messages) -> np.ndarray:
    """Grids per nest group (village), as :func:`gridkit.partition` asks for them.

    Parameters
    ----------
    group_w, group_n
        Weight and number of units of each group.
    codes
        Each group's code (for messages).
    n
        Number of units in all.
    k, target, capacity, per_village
        As for :func:`gridkit.partition`: ``k`` grids in all (or in each group
        with ``per_village``), ``k = round(total / target)``, or
        ``ceil(weight / capacity)`` grids per group.
    messages
        A list the warnings are appended to (a group with too few units for
        its capacity gets one grid per unit).

    Returns
    -------
    numpy.ndarray
        Grids per group, at least one each and at most one per unit.

    Raises
    ------
    PartitionError
        More grids than units, or fewer grids than groups.

    Examples
    --------
    >>> grid_counts(np.array([10.0, 30.0]), np.array([5, 5]), ["a", "b"], 10, k=4,
    ...             target=None, capacity=None, per_village=False, messages=[]).tolist()
    [1, 3]
    """
    if per_village:
        return _per_group(group_n, codes, k)
    if capacity is not None:
        return _by_capacity(group_w, group_n, codes, capacity, messages)
    n_groups = len(group_w)
    total_k = k if k is not None else max(1, int(round(group_w.sum() / target)))
    if total_k > n:
        raise PartitionError(
            f"k={total_k} grids asked for but there are only {n} unit(s); every grid needs at "
            "least one unit: lower k (or raise target/capacity), or split the units finer"
        )
    if total_k < n_groups:
        raise PartitionError(
            f"k={total_k} grids cannot cover {n_groups} villages (each needs at least one grid "
            f"of its own): use k >= {n_groups}, or nest_by=None to ignore villages"
        )
    return allocate(group_w, total_k, minimum=1, cap=group_n)


def _per_group(group_n, codes, k) -> np.ndarray:
    over = np.flatnonzero(group_n < k)
    if len(over):
        g = over[0]
        raise PartitionError(
            f"k={k} grids per village but village {codes[g]!r} has only {group_n[g]} unit(s); "
            "lower k or split the units finer"
        )
    return np.full(len(group_n), k)


def _by_capacity(group_w, group_n, codes, capacity, messages) -> np.ndarray:
    counts = np.maximum(1, np.ceil(group_w / capacity - 1e-9)).astype(int)
    for g in np.flatnonzero(counts > group_n):
        messages.append(f"village {codes[g]!r} needs {counts[g]} grids for capacity "
                        f"{capacity:g} but has only {group_n[g]} unit(s): it gets {group_n[g]}")
    return np.minimum(counts, group_n)


def part_counts(part_w, part_n, kv: int) -> np.ndarray:
    """Grids per connected part of one group; parts left with 0 are attached later.

    A part gets grids of its own when its share of the group's ``kv`` grids
    is at least half a grid (the heaviest part always does); lighter parts,
    such as a sliver or an island with little weight, join the nearest grid
    instead of becoming a near-empty grid.

    Parameters
    ----------
    part_w, part_n
        Weight and number of units of each part.
    kv
        The group's grids.

    Examples
    --------
    >>> part_counts(np.array([90.0, 2.0]), np.array([9, 1]), 3).tolist()
    [3, 0]
    """
    total = part_w.sum()
    share = kv * (part_w / total if total > 0 else part_n / part_n.sum())
    order = np.lexsort((-part_n, -part_w))
    own = np.zeros(len(part_w), dtype=bool)
    own[order[0]] = True
    own |= share >= 0.5
    if own.sum() > kv:
        own[:] = False
        own[order[:kv]] = True
    for p in order:  # enough units for the grids
        if part_n[own].sum() >= kv:
            break
        own[p] = True
    counts = np.zeros(len(part_w), dtype=int)
    idx = np.flatnonzero(own)
    counts[idx] = allocate(part_w[idx], kv, minimum=1, cap=part_n[idx])
    return counts
