"""Adjacency of polygons that share a boundary of positive length.

Two units (or grids) are neighbours when their boundaries share a line, not
just a point (rook contiguity on real geometry, not on vertices). For each
pair the shared length is recorded, and how much of it lies on a road, a
barrier (river, railway) or a village boundary, so that the partition can
prefer grid boundaries along real features.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridkit._errors import MissingColumnError
from gridkit.crs import is_metric, to_crs, working_crs

__all__ = ["unit_adjacency", "adjacency_lists"]

log = logging.getLogger(__name__)

_EPS = 1e-6  # metres: shorter shared lines are touching points in practice


def _segments(lines: np.ndarray, owner: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Explode lines into 2-point segments; return (segments, owner of each)."""
    parts, part_idx = shapely.get_parts(lines, return_index=True)
    parts_owner = owner[part_idx]
    keep = np.isin(shapely.get_type_id(parts), (1, 2))  # LineString, LinearRing
    parts, parts_owner = parts[keep], parts_owner[keep]
    coords, coord_idx = shapely.get_coordinates(parts, return_index=True)
    same = coord_idx[1:] == coord_idx[:-1]
    starts = coords[:-1][same]
    ends = coords[1:][same]
    segs = shapely.linestrings(np.stack([starts, ends], axis=1))
    return segs, parts_owner[coord_idx[:-1][same]]


def _on_feature(segs: np.ndarray, features: gpd.GeoSeries | None, tolerance: float,
                class_values: np.ndarray | None = None):
    """Length of each segment lying within ``tolerance`` of a feature, and its class.

    Each segment is measured against the flat-capped buffer of every nearby
    feature; the best-covering feature counts (overlapping features are not
    added twice).
    """
    on_len = np.zeros(len(segs))
    cls = np.full(len(segs), None, dtype=object)
    if features is None or len(features) == 0 or len(segs) == 0:
        return on_len, cls
    geoms = np.asarray(features.values)
    tree = shapely.STRtree(geoms)
    idx_seg, idx_feat = tree.query(segs, predicate="dwithin", distance=tolerance)
    if len(idx_seg) == 0:
        return on_len, cls
    uniq, inv = np.unique(idx_feat, return_inverse=True)
    buffers = shapely.buffer(geoms[uniq], tolerance, cap_style="flat")
    covered = shapely.length(shapely.intersection(segs[idx_seg], buffers[inv]))
    order = np.lexsort((covered, idx_seg))  # per segment, the best feature last
    last = np.r_[idx_seg[order][1:] != idx_seg[order][:-1], True]
    best = order[last]
    on_len[idx_seg[best]] = covered[best]
    if class_values is not None:
        hit = covered[best] > _EPS
        cls[idx_seg[best][hit]] = class_values[idx_feat[best][hit]]
    return on_len, cls


def unit_adjacency(
    units: gpd.GeoDataFrame,
    *,
    id_column: str = "unit_id",
    roads: gpd.GeoDataFrame | None = None,
    barriers: gpd.GeoDataFrame | None = None,
    villages: gpd.GeoDataFrame | None = None,
    tolerance: float = 0.5,
) -> pd.DataFrame:
    """Pairs of polygons that share a boundary of positive length.

    Parameters
    ----------
    units
        Polygons (basic units or grids), in any CRS; measured in a metric CRS.
    id_column
        Column identifying the polygons (default ``unit_id``); the index is
        used when the column is absent and ``id_column`` is ``None``.
    roads, barriers, villages
        Optional layers: the shared boundary lying within ``tolerance`` metres
        of a road line, a barrier line or a village boundary is measured in
        ``road_m``, ``barrier_m`` and ``village_m``. When ``roads`` has a
        ``road_class`` column, the class covering most of the shared boundary
        is given in ``road_class``.
    tolerance
        Distance (m) within which a shared edge counts as lying on a feature.
        Where a feature meets a shared edge at an angle, up to this distance
        of the edge is counted as on it.

    Returns
    -------
    pandas.DataFrame
        ``unit_a``, ``unit_b`` (ids, ``unit_a < unit_b`` in input order),
        ``shared_m``, ``road_m``, ``barrier_m``, ``village_m``, ``road_class``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> cells = gpd.GeoDataFrame({"unit_id": [0, 1, 2]},
    ...     geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 1, 3, 2)], crs=3857)
    >>> unit_adjacency(cells)[["unit_a", "unit_b", "shared_m"]].values.tolist()
    [[0, 1, 1.0]]
    """
    if id_column is not None and id_column not in units.columns:
        raise MissingColumnError(
            f"units: no column {id_column!r}; name the id column with id_column=... "
            "or pass id_column=None to use the index"
        )
    crs = units.crs if is_metric(units.crs) else working_crs(units)
    u = to_crs(units, crs)
    ids = np.asarray(u[id_column] if id_column is not None else u.index)
    geoms = np.asarray(u.geometry.values)
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    shared = shapely.intersection(shapely.boundary(geoms[left]), shapely.boundary(geoms[right]))
    length = shapely.length(shared)
    pos = length > _EPS
    left, right, shared, length = left[pos], right[pos], shared[pos], length[pos]
    out = pd.DataFrame({"unit_a": ids[left], "unit_b": ids[right], "shared_m": length})
    pair = np.arange(len(out))
    segs, seg_pair = _segments(shared, pair)
    for name, layer in (("road_m", roads), ("barrier_m", barriers)):
        lines = None if layer is None else to_crs(layer, crs).geometry
        classes = None
        if name == "road_m" and layer is not None and "road_class" in layer.columns:
            classes = np.asarray(layer["road_class"].astype(object))
        on_len, cls = _on_feature(segs, lines, tolerance, classes)
        out[name] = np.bincount(seg_pair, weights=on_len, minlength=len(out))
        if name == "road_m":
            out["road_class"] = _majority_class(seg_pair, cls, on_len, len(out))
    vb = None if villages is None else to_crs(villages, crs).geometry.boundary
    on_len, _ = _on_feature(segs, vb, tolerance)
    out["village_m"] = np.bincount(seg_pair, weights=on_len, minlength=len(out))
    return out


def _majority_class(seg_pair, cls, seg_len, n) -> np.ndarray:
    result = np.full(n, None, dtype=object)
    has = np.array([c is not None for c in cls], dtype=bool)
    if not has.any():
        return result
    df = pd.DataFrame({"pair": seg_pair[has], "cls": cls[has], "len": seg_len[has]})
    best = df.groupby(["pair", "cls"])["len"].sum().reset_index()
    best = best.sort_values("len").drop_duplicates("pair", keep="last")
    result[best["pair"].to_numpy()] = best["cls"].to_numpy()
    return result


def adjacency_lists(adjacency: pd.DataFrame, ids) -> list[np.ndarray]:
    """Neighbour positions (0..n-1, in the order of ``ids``) for each id."""
    pos = pd.Index(ids)
    a = pos.get_indexer(adjacency["unit_a"])
    b = pos.get_indexer(adjacency["unit_b"])
    ok = (a >= 0) & (b >= 0)
    a, b = a[ok], b[ok]
    src = np.concatenate([a, b])
    dst = np.concatenate([b, a])
    order = np.argsort(src, kind="stable")
    src, dst = src[order], dst[order]
    splits = np.searchsorted(src, np.arange(1, len(pos)))
    return np.split(dst, splits)
