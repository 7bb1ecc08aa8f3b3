"""Each grid's target weight: its part's mean, leaving out what heavy units force.

A unit heavier than its part's mean grid makes a grid above the mean on its
own; so does a unit that, with the units only it connects to the rest of
the part (too light to make a grid of their own: courtyards inside a
campus, blocks between a large unit and the water), weighs more than the
mean. Such a grid's target is that weight (its floor), and the other grids
of the part share what is left. Measured on the Helsinki sample (728 units,
20 grids): one unit weighs 1.9x the mean and encloses 53 others (0.48x the
mean more); with the unit's own weight as its grid's target, all 19 other
grids sat 2.5% below their windows, where any move made one lighter and so
was refused, which left the borders ragged.
"""

from __future__ import annotations

import numpy as np

from gridkit.grids.core.graph import Graph


def grid_targets(labels, label_part, parts, part_w, part_k, w) -> np.ndarray:
    """Target weight per grid: the part's mean, leaving out units heavier than it.

    ``w`` is each unit's weight, or its floor (:func:`unit_floors`). A unit
    heavier than the mean gets a grid of its own at best; the other grids of
    its part then share what is left, so their target is lower (and the
    heavy grid's target is its heaviest unit's).
    """
    n_labels = int(labels.max()) + 1
    target = np.zeros(n_labels)
    heaviest = np.zeros(n_labels)
    has = labels >= 0
    np.maximum.at(heaviest, labels[has], w[has])
    for p in np.unique(label_part):
        t = part_w[p] / part_k[p]
        unit_w = np.sort(w[parts == p])[::-1]
        for _ in range(int(part_k[p]) - 1):
            heavy = unit_w[:int(part_k[p]) - 1][unit_w[:int(part_k[p]) - 1] > t]
            new = (part_w[p] - heavy.sum()) / (part_k[p] - len(heavy))
            if np.isclose(new, t):
                break
            t = new
        mine = label_part == p
        target[mine] = np.maximum(t, heaviest[mine])
    return target


def unit_floors(graph: Graph, parts, w, part_w, part_k, tolerance: float) -> np.ndarray:
    """Each unit's weight plus that of the units only it connects to the rest of
    its part, when those are too light to make a grid of their own (below the
    window of the part's mean grid): the least its grid can weigh.

    Computed for units of at least half their part's mean grid (the others
    never decide a target); a search from each neighbour stops as soon as
    it has found a grid's worth of weight, so the work is about one grid's
    units per neighbour of such a unit.
    """
    w = np.asarray(w, dtype=float)
    floor = w.copy()
    k_unit = part_k[parts]
    mean = np.where(k_unit > 0, part_w[parts] / np.maximum(k_unit, 1), np.inf)
    heavy = np.flatnonzero((w >= 0.5 * mean) & (k_unit >= 2))
    if not len(heavy):
        return floor
    nbrs = graph.neighbour_lists()
    wl = w.tolist()
    for h in heavy.tolist():
        lo = (1.0 - tolerance) * float(mean[h])
        visited: set = set()  # units of the pieces already searched
        for v in nbrs[h]:
            if v not in visited:
                light, seen, weight = _piece(v, h, nbrs, wl, lo)
                visited |= seen
                if light:
                    floor[h] += weight
    return floor


def _piece(start: int, cut: int, nbrs, wl, lo: float):
    """(light, units seen, weight) of the piece of ``start`` once ``cut`` is taken
    out: light when the whole piece weighs less than ``lo`` (the search stops
    at ``lo``, so a heavy piece is only partly seen)."""
    seen = {cut, start}
    stack, weight = [start], wl[start]
    while stack:
        for y in nbrs[stack.pop()]:
            if y not in seen:
                seen.add(y)
                stack.append(y)
                weight += wl[y]
                if weight >= lo:
                    return False, seen - {cut}, weight
    return weight < lo, seen - {cut}, weight
