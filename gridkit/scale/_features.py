"""Entities and buildings, checked and assigned partition by partition (private).

A feature needs no halo: a point or a footprint is judged by the grids that
meet it alone. So features are not shuffled to tiles. Each partition (a
chunk of an in-memory frame, or a partition a dask worker reads from
GeoParquet itself) is cut by a regular grid of boxes into spatially compact
groups, and each group is checked against the grids meeting its bounding
box, looked up in the broadcast :class:`~gridkit.scale._tiles.GridIndex`.
Those grids are all the grids that can hold the group's features, so every
feature gets exactly the verdict of the single-machine check, whatever the
partitions' order (a partition spanning every tile costs one small spatial
query per tile more than a compact one).
"""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridkit.coverage import checks
from gridkit.coverage.prepare import BUILDING_ID, FEATURE_ID, FeatureLabels, no_geometry_issues
from gridkit.crs import to_crs
from gridkit.errors import LayerError, MissingCRSError
from gridkit.io.files import PARQUET_SUFFIXES, is_parquet
from gridkit.layers import check_layer
from gridkit.scale._tiles import GridIndex, owner
from gridkit.scale.parquet import is_dask, is_lazy  # noqa: F401 (is_lazy: old home)
from gridkit.units.assign import assign_buildings

#: Label columns looked up, in order, for issues about each kind of feature.
PREFER = {"entities": FEATURE_ID, "buildings": BUILDING_ID}
#: In-memory features are sent to the workers in chunks of about this many rows.
CHUNK_ROWS = 500_000


def feature_items(src, kind: str, *, bounds, shape, opts: dict, chunk: int | None = None):
    """The work items for a features argument, and its CRS.

    Every item is a dict (or a dask ``Delayed`` giving one) with ``task``
    ``"features"``, ``frame``, ``positions`` (rows in ``src``, or None),
    ``part`` (its number) and ``opts``.

    A GeoDataFrame is cut into chunks of ``chunk`` rows, in tile order so
    that each chunk is compact; each chunk remembers its rows' positions.
    A GeoParquet path gives one item per file, or per run of row groups of
    about ``chunk`` rows in a big file, read by the worker itself (``path``,
    ``row_groups``); a dask-geopandas frame one dask ``Delayed`` per partition.
    """
    chunk = chunk or CHUNK_ROWS
    if isinstance(src, (str, os.PathLike)) and is_parquet(src):
        # tasks read their own file (or row groups): no dask-geopandas graph whose
        # partitions would travel between workers
        files = _parquet_files(os.fspath(src))
        crs = _parquet_crs(files[0])
        if crs is None:
            raise MissingCRSError(f"{kind}: {os.fspath(src)!r} has no CRS in its GeoParquet "
                                  "metadata; write it with a CRS set")
        runs = [(f, groups) for f in files for groups in _row_group_runs(f, chunk)]
        return [_wrap(None, i, opts, path=f, row_groups=groups)
                for i, (f, groups) in enumerate(runs)], crs
    if is_dask(src):
        if getattr(src, "crs", None) is None:
            raise MissingCRSError(f"{kind}: the dask frame has no CRS; set it with .set_crs(...)")
        import dask

        wrap = dask.delayed(_wrap, pure=True)
        return [wrap(d, i, opts) for i, d in enumerate(src.to_delayed())], src.crs
    if not isinstance(src, gpd.GeoDataFrame):
        raise LayerError(f"{kind}: expected a GeoDataFrame, a GeoParquet path or a dask-geopandas "
                         f"frame, got {type(src).__name__}")
    if src.crs is None:
        raise MissingCRSError(f"{kind}: the layer has no CRS; set it with gdf.set_crs(...)")
    geoms = src.geometry.values
    b = shapely.bounds(geoms)
    anchor_x = np.where(np.isnan(b[:, 0]), bounds[0], 0.5 * (b[:, 0] + b[:, 2]))
    anchor_y = np.where(np.isnan(b[:, 1]), bounds[1], 0.5 * (b[:, 1] + b[:, 3]))
    order = np.argsort(owner(anchor_x, anchor_y, bounds, shape), kind="stable")
    items = []
    for start in range(0, len(order), chunk):
        pos = np.sort(order[start : start + chunk])
        items.append(_wrap(src.iloc[pos], len(items), opts, positions=pos))
    return items, src.crs


def _wrap(frame, part: int, opts: dict, positions=None, path=None, row_groups=None) -> dict:
    return {"task": "features", "frame": frame, "positions": positions, "part": part,
            "opts": opts, "path": path, "row_groups": row_groups}


def _parquet_files(path: str) -> list[str]:
    if not os.path.isdir(path):
        return [path]
    files = sorted(str(p) for p in Path(path).iterdir() if p.suffix.lower() in PARQUET_SUFFIXES)
    if not files:
        raise LayerError(f"{path!r} holds no GeoParquet file")
    return files


def _parquet_crs(path: str):
    """The CRS in a GeoParquet file's metadata (the spec's default: OGC:CRS84)."""
    import json

    import pyarrow.parquet as pq
    from pyproj import CRS

    meta = pq.read_schema(path).metadata or {}
    if b"geo" not in meta:
        raise LayerError(f"{path!r} is not a GeoParquet file (no 'geo' metadata)")
    geo = json.loads(meta[b"geo"])
    col = geo.get("columns", {}).get(geo.get("primary_column"), {})
    if "crs" not in col:
        return CRS.from_user_input("OGC:CRS84")
    return None if col["crs"] is None else CRS.from_user_input(col["crs"])


def _row_group_runs(path: str, chunk: int) -> list[list[int] | None]:
    """Runs of row groups of about ``chunk`` rows (``[None]``: the whole file)."""
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(path).metadata
    if meta.num_rows <= chunk or meta.num_row_groups < 2:
        return [None]
    runs, run, rows = [], [], 0
    for i in range(meta.num_row_groups):
        run.append(i)
        rows += meta.row_group(i).num_rows
        if rows >= chunk:
            runs.append(run)
            run, rows = [], 0
    if run:
        runs.append(run)
    return runs


def _read_row_groups(path: str, groups: list[int]) -> gpd.GeoDataFrame:
    """Some row groups of a GeoParquet file (WKB-encoded, as GeoParquet 1.x writes)."""
    import json

    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    geo = json.loads(pf.schema_arrow.metadata[b"geo"])
    name = geo["primary_column"]
    if geo["columns"][name].get("encoding", "WKB").upper() != "WKB":
        return gpd.read_parquet(path).iloc[_rows_of(pf, groups)]
    df = pf.read_row_groups(groups).to_pandas()
    geom = shapely.from_wkb(df.pop(name).to_numpy())
    return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geom, index=df.index, name=name),
                            crs=_parquet_crs(path))


def _rows_of(pf, groups: list[int]) -> np.ndarray:
    starts = np.cumsum([0] + [pf.metadata.row_group(i).num_rows
                              for i in range(pf.metadata.num_row_groups)])
    return np.concatenate([np.arange(starts[g], starts[g + 1]) for g in groups])


def frame_of(item: dict) -> gpd.GeoDataFrame:
    """The item's features (read from its file here, on the worker, when it has one)."""
    if item["path"] is not None:
        if item["row_groups"] is not None:
            return _read_row_groups(item["path"], item["row_groups"])
        return gpd.read_parquet(item["path"])
    return item["frame"]


def _usable(part: gpd.GeoDataFrame, kind: str, work):
    """Rows with a geometry (checked, in the working CRS) and the labels of the others."""
    geoms = part.geometry.values
    missing = np.asarray(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    labels = FeatureLabels(part, PREFER[kind])
    dropped = [labels[i] for i in np.flatnonzero(missing)]
    keep = part[~missing] if missing.any() else part
    if len(keep):
        keep = to_crs(check_layer(keep, kind), work)
    return keep, dropped


def _groups(geoms: np.ndarray, bounds, shape):
    """Positions of the features in each tile-sized box (by bounding-box centre)."""
    b = shapely.bounds(geoms)
    own = owner(0.5 * (b[:, 0] + b[:, 2]), 0.5 * (b[:, 1] + b[:, 3]), bounds, shape)
    order = np.argsort(own, kind="stable")
    cuts = np.flatnonzero(np.diff(own[order])) + 1
    for pos in np.split(order, cuts):
        if len(pos):
            bb = b[pos]
            yield np.sort(pos), (*bb[:, :2].min(axis=0), *bb[:, 2:].max(axis=0))


def check_features(item, index: GridIndex, opts: dict) -> list[dict]:
    """The entity or building issues of one partition (as ``validate_coverage``'s)."""
    kind = opts["kind"]
    part, dropped = _usable(frame_of(item), kind, opts["work"])
    issues = no_geometry_issues(kind, dropped)
    if not len(part):
        return issues
    geoms = np.asarray(part.geometry.values, dtype=object)
    for pos, box in _groups(geoms, opts["bounds"], opts["shape"]):
        near = index.near(box)
        ga, ids = index.ga[near], index.ids[near]
        tree = shapely.STRtree(ga)
        labels = FeatureLabels(part, PREFER[kind], positions=pos)
        if kind == "entities":
            issues += checks.check_points(geoms[pos], labels, ga, ids, tree, what="entity")
        else:
            issues += checks.check_buildings(geoms[pos], labels, ga, ids, tree,
                                             tolerance=opts["tolerance"])
    return issues


def assign_features(item, index: GridIndex, opts: dict):
    """One partition with the id of its grid: the one holding most of a footprint,
    or containing a point (on a shared edge: the first grid); missing when none.

    Returns the partition (in its own CRS) with ``opts["column"]``, or, when
    ``opts["out"]`` is a directory, writes it there as GeoParquet and returns
    the number of rows.
    """
    frame, positions = frame_of(item), item["positions"]
    work = to_crs(frame, opts["work"])
    geoms = np.asarray(work.geometry.values, dtype=object)
    grid = np.full(len(frame), None, dtype=object)
    ok = ~np.asarray(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    sub = np.flatnonzero(ok)
    if len(sub):
        for pos, box in _groups(geoms[sub], opts["bounds"], opts["shape"]):
            rows = sub[pos]
            near = index.near(box)
            best, _share = assign_buildings(index.ga[near], geoms[rows])
            hit = best >= 0
            grid[rows[hit]] = index.ids[near[best[hit]]]
    out = frame.copy()
    out[opts["column"]] = pd.array(grid, dtype="string")
    if positions is not None:
        out["_position"] = positions
    if opts.get("out"):
        name = f"part.{item['part']:05d}.parquet"
        out.to_parquet(os.path.join(opts["out"], name))
        return len(out)
    return out
