"""The array core's graph: units as nodes, shared boundaries as edges.

Edges are stored once (``u < v``) with their shared length and their cut
cost (shared length, less what runs along roads when asked), and as CSR
neighbour lists for the refinement. Connected components come from
:func:`scipy.sparse.csgraph.connected_components`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

_SMALL = 500  # below this many nodes, plain Python beats scipy's call overhead


def _small_components(n: int, eu: np.ndarray, ev: np.ndarray) -> tuple[int, np.ndarray]:
    """Connected components by union-find (labels numbered in order of first node)."""
    parent = list(range(n))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in zip(eu.tolist(), ev.tolist(), strict=True):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    roots = [find(x) for x in range(n)]
    _, labels = np.unique(np.asarray(roots), return_inverse=True)
    return int(labels.max()) + 1 if n else 0, labels


@dataclass
class Graph:
    """Undirected unit graph (positions 0..n-1)."""

    n: int
    eu: np.ndarray  # edge ends, eu < ev
    ev: np.ndarray
    shared: np.ndarray  # shared boundary length (m)
    cost: np.ndarray  # cut cost (m): shared length, roads discounted
    indptr: np.ndarray
    indices: np.ndarray
    ecost: np.ndarray  # cut cost per CSR entry

    def subgraph(self, nodes: np.ndarray) -> Graph:
        """The graph induced by ``nodes`` (positions), renumbered 0..len(nodes)-1.

        Without neighbour lists (``indptr``/``indices`` empty): for components
        and repair only.
        """
        local = np.full(self.n, -1)
        local[nodes] = np.arange(len(nodes))
        a, b = local[self.eu], local[self.ev]
        keep = (a >= 0) & (b >= 0)
        empty = np.zeros(0, dtype=np.int64)
        return Graph(len(nodes), a[keep], b[keep], self.shared[keep], self.cost[keep],
                     empty, empty, np.zeros(0))

    def induced(self, nodes: np.ndarray) -> Graph:
        """The graph induced by ``nodes``, renumbered, with neighbour lists
        (for refinement and programmes; :meth:`subgraph` is the light one)."""
        sub = self.subgraph(nodes)
        return Graph.from_edges(sub.n, sub.eu, sub.ev, sub.shared, sub.cost)

    @classmethod
    def from_edges(cls, n: int, u, v, shared, cost) -> Graph:
        u = np.asarray(u, dtype=np.int64)
        v = np.asarray(v, dtype=np.int64)
        lo, hi = np.minimum(u, v), np.maximum(u, v)
        keep = lo != hi
        lo, hi = lo[keep], hi[keep]
        shared = np.asarray(shared, dtype=float)[keep]
        cost = np.asarray(cost, dtype=float)[keep]
        # merge duplicate pairs (e.g. an adjacency given in both directions)
        key = lo * n + hi
        uniq, inv = np.unique(key, return_inverse=True)
        shared = np.bincount(inv, weights=shared, minlength=len(uniq))
        cost = np.bincount(inv, weights=cost, minlength=len(uniq))
        eu, ev = uniq // n, uniq % n
        src = np.concatenate([eu, ev])
        dst = np.concatenate([ev, eu])
        order = np.lexsort((dst, src))
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(src, minlength=n), out=indptr[1:])
        return cls(n, eu, ev, shared, cost, indptr, dst[order].astype(np.int64),
                   np.concatenate([cost, cost])[order].astype(float))

    def components(self, labels=None) -> tuple[int, np.ndarray]:
        """Connected components, using only edges inside one label when given."""
        if labels is None:
            keep = np.ones(len(self.eu), dtype=bool)
        else:
            keep = (labels[self.eu] == labels[self.ev]) & (labels[self.eu] >= 0)
        if self.n < _SMALL:
            return _small_components(self.n, self.eu[keep], self.ev[keep])
        m = sp.coo_matrix((np.ones(int(keep.sum())), (self.eu[keep], self.ev[keep])),
                          shape=(self.n, self.n))
        return connected_components(m, directed=False)

    def neighbour_lists(self) -> list[list[int]]:
        """Python lists of neighbours (the refinement's inner loop reads these)."""
        ind = self.indices.tolist()
        ptr = self.indptr.tolist()
        return [ind[ptr[i]:ptr[i + 1]] for i in range(self.n)]

    def cost_lists(self) -> list[list[float]]:
        c = self.ecost.tolist()
        ptr = self.indptr.tolist()
        return [c[ptr[i]:ptr[i + 1]] for i in range(self.n)]


def components_per_label(graph: Graph, labels: np.ndarray) -> np.ndarray:
    """Number of connected pieces of each label (index = label)."""
    _, comp = graph.components(labels)
    live = labels >= 0
    pairs = np.unique(np.stack([labels[live], comp[live]], axis=1), axis=0)
    return np.bincount(pairs[:, 0], minlength=int(labels.max()) + 1 if live.any() else 0)


def repair(graph: Graph, labels: np.ndarray, *, max_rounds: int = 10_000) -> tuple[np.ndarray, int]:
    """Make every label connected; return the new labels and the units moved.

    Each label keeps its largest piece (by unit count); every other piece is
    given whole to the neighbouring label it shares the longest boundary
    with (a piece touching only other stray pieces waits for the next round).
    Labels below zero are ignored. Assumes each connected component of the
    graph (restricted to labelled units) can host its labels, which holds
    for the parts the partition works on.
    """
    lab = labels.copy()
    moved = np.zeros(len(lab), dtype=bool)
    for _ in range(max_rounds):
        ncomp, comp = graph.components(lab)
        live = lab >= 0
        size = np.bincount(comp[live], minlength=ncomp)
        comp_label = np.full(ncomp, -1)
        comp_label[comp[live]] = lab[live]
        # main piece per label: the largest, ties to the lowest component id
        order = np.lexsort((np.arange(ncomp), -size, comp_label))
        first = np.r_[True, comp_label[order][1:] != comp_label[order][:-1]]
        is_main = np.zeros(ncomp, dtype=bool)
        is_main[order[first]] = True
        is_main[comp_label < 0] = True
        stray = live & ~is_main[comp]
        if not stray.any():
            return lab, int(moved.sum())
        a = np.concatenate([graph.eu, graph.ev])
        b = np.concatenate([graph.ev, graph.eu])
        w = np.concatenate([graph.shared, graph.shared])
        sel = stray[a] & (lab[b] >= 0) & is_main[comp[b]] & (lab[a] != lab[b])
        if not sel.any():
            raise RuntimeError("contiguity repair is stuck: a stray piece touches no grid")
        key_c, key_l, key_w = comp[a[sel]], lab[b[sel]], w[sel]
        pair = key_c.astype(np.int64) * (int(lab.max()) + 1) + key_l
        uniq, inv = np.unique(pair, return_inverse=True)
        total = np.bincount(inv, weights=key_w + 1e-9)
        pc, pl = uniq // (int(lab.max()) + 1), uniq % (int(lab.max()) + 1)
        best = np.lexsort((-total, pc))
        head = np.r_[True, pc[best][1:] != pc[best][:-1]]
        target = np.full(ncomp, -1)
        target[pc[best][head]] = pl[best][head]
        change = stray & (target[comp] >= 0)
        lab[change] = target[comp[change]]
        moved |= change
    raise RuntimeError("contiguity repair did not converge")
