"""Initial split of one connected part by METIS (pymetis), as another start.

METIS's multilevel k-way partitioning with its contiguity option draws
shorter first borders than the geometric bisection on large k (its
coarsening and initial partitioning are well tuned, hence the library), but
its balance is one-sided and loose: the start goes through the same
refinement (two-sided window, connectivity kept) and tabu search as the
bisection's, and the better plan by (weight outside the windows, border
cost) is kept. METIS with a fixed seed is deterministic.
"""

from __future__ import annotations

import contextlib
import os
import sys

import numpy as np

from gridkit.grids.core.graph import Graph, components_per_label

_WEIGHT_SCALE = 1e8  # integer vertex weights for METIS: the part's total maps to this
_COST_MAX = 1e6  # integer edge weights: cost / the smallest positive cost, capped


def metis_split(graph: Graph, nodes: np.ndarray, k: int, weight: np.ndarray, *,
                tolerance: float, seed: int, slack: float = 1.0) -> np.ndarray | None:
    """Labels 0..k-1 for ``nodes`` (a connected set of graph positions), or
    None when METIS gives no k non-empty connected grids.

    ``slack`` scales METIS's imbalance (``tolerance``) for variety between starts.
    """
    import pymetis

    if k < 2 or len(nodes) < k:
        return None
    w = np.asarray(weight, dtype=float)[nodes]
    total = float(w.sum())
    if total <= 0:
        return None
    sub = graph.induced(nodes)
    c = sub.ecost
    pos = c[c > 0]
    scale = 1.0 / float(pos.min()) if len(pos) else 1.0
    ew = np.maximum(1, np.round(np.minimum(c * scale, _COST_MAX))).astype(np.int64)
    vw = np.round(w / total * _WEIGHT_SCALE).astype(np.int64)
    opts = pymetis.Options(seed=int(seed), ufactor=max(1, int(round(tolerance * slack * 1000))),
                           contig=1)
    csr = pymetis.CSRAdjacency(sub.indptr.astype(np.int64), sub.indices.astype(np.int64))
    try:
        with _quiet_stdout():
            _, parts = pymetis.part_graph(k, adjacency=csr, vweights=vw.tolist(),
                                          eweights=ew.tolist(), options=opts)
    except RuntimeError:  # METIS found no contiguous k-way split: the bisection's start stays
        return None
    labels = np.asarray(parts, dtype=np.int64)
    if len(np.unique(labels)) != k or (components_per_label(sub, labels) != 1).any():
        return None
    return labels


@contextlib.contextmanager
def _quiet_stdout():
    """Silence what METIS's C code prints ("***Cannot bisect a graph with 0
    vertices!" on parts it cannot split: the start is then dropped, which
    the caller handles) by pointing file descriptor 1 at the null device."""
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError, AttributeError):  # no descriptor 1 to redirect
        yield
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
