"""Merging slivers (faces under a minimum area or width) into a neighbour.

Adjacency here is exact and cheap because the faces come from polygonize:
two neighbouring faces carry the very same edge coordinates, so a shared
edge is a ring segment that occurs twice
(:func:`gridkit.units.adjacency.shared_segments`, the fast path that
:func:`gridkit.units.adjacency.unit_adjacency` also takes for valid coverages).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from gridkit.units.adjacency import shared_segments

log = logging.getLogger(__name__)


def segment_adjacency(faces: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """Shared edge length of faces of a coverage with identical shared vertices.

    Returns ``(pairs, perimeter)``: a frame with ``a < b`` (face positions)
    and ``shared`` (length), and each face's perimeter.
    """
    a, b, segs, seg_pair = shared_segments(faces)
    shared = np.bincount(seg_pair, weights=shapely.length(segs), minlength=len(a))
    pairs = pd.DataFrame({"a": a, "b": b, "shared": shared})
    return pairs, shapely.length(faces)


def merge_slivers(
    faces: np.ndarray,
    village: np.ndarray,
    *,
    min_area: float,
    min_width: float,
    max_rounds: int = 20,
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Merge sliver faces into their same-village neighbour with the longest shared border.

    A face is a sliver when its area is under ``min_area`` or its mean width
    ``2 * area / perimeter`` (the width of a long strip) is under
    ``min_width``. Merged groups are measured again and merged further until
    no sliver has a neighbour in its village.

    Returns ``(polygons, village, slivers_merged, slivers_left)``.
    """
    n = len(faces)
    if n == 0:
        return faces, village, 0, 0
    pairs, perimeter = segment_adjacency(faces)
    area = shapely.area(faces)
    label = np.arange(n)
    a, b, shared = pairs["a"].to_numpy(), pairs["b"].to_numpy(), pairs["shared"].to_numpy()
    same_village = village[a] == village[b]
    merged = 0
    for _ in range(max_rounds):
        la, lb = label[a], label[b]
        internal = la == lb
        g_area = np.bincount(label, weights=area, minlength=n)
        g_perim = (np.bincount(label, weights=perimeter, minlength=n)
                   - 2 * np.bincount(la[internal], weights=shared[internal], minlength=n))
        present = np.bincount(label, minlength=n) > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            width = np.where(g_perim > 0, 2 * g_area / g_perim, 0.0)
        sliver = present & ((g_area < min_area) | (width < min_width))
        ext = ~internal & same_village
        edges = pd.DataFrame({"g": np.r_[la[ext], lb[ext]], "h": np.r_[lb[ext], la[ext]],
                              "shared": np.r_[shared[ext], shared[ext]]})
        edges = edges[sliver[edges["g"].to_numpy()]]
        if edges.empty:
            break
        edges = edges.groupby(["g", "h"], as_index=False)["shared"].sum()
        best = edges.sort_values(["g", "shared"]).drop_duplicates("g", keep="last")
        merged += len(best)
        graph = coo_matrix((np.ones(len(best)), (best["g"].to_numpy(), best["h"].to_numpy())),
                           shape=(n, n))
        _, comp = connected_components(graph, directed=False)
        label = comp[label]
    # final measure for the report
    g_area = np.bincount(label, weights=area, minlength=n)
    present = np.bincount(label, minlength=n) > 0
    la, lb = label[a], label[b]
    internal = la == lb
    g_perim = (np.bincount(label, weights=perimeter, minlength=n)
               - 2 * np.bincount(la[internal], weights=shared[internal], minlength=n))
    with np.errstate(divide="ignore", invalid="ignore"):
        width = np.where(g_perim > 0, 2 * g_area / g_perim, 0.0)
    left = int((present & ((g_area < min_area) | (width < min_width))).sum())
    polygons, out_village = dissolve_labels(faces, village, label)
    log.info("merged %d sliver group(s); %d left without a neighbour in their village",
             merged, left)
    return polygons, out_village, merged, left


def dissolve_labels(faces: np.ndarray, village: np.ndarray, label: np.ndarray):
    """Union the faces of each label (coverage union keeps shared vertices)."""
    _, label = np.unique(label, return_inverse=True)
    counts = np.bincount(label)
    out = np.empty(len(counts), dtype=object)
    out_village = np.empty(len(counts), dtype=village.dtype)
    first = np.full(len(counts), -1)
    first[label[::-1]] = np.arange(len(label))[::-1]
    single = counts == 1
    out[single] = faces[first[single]]
    out_village[:] = village[first]
    order = np.argsort(label, kind="stable")
    bounds = np.r_[0, np.cumsum(counts)]
    for g in np.flatnonzero(~single):  # only the merged groups, not every face
        members = faces[order[bounds[g]:bounds[g + 1]]]
        out[g] = shapely.coverage_union_all(members)
    return out, out_village
