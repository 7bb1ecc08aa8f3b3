"""Features written as spatially sorted GeoParquet files, for dask workers.

Province-scale layers (millions of entities or buildings) are best handed to
:func:`gridkit.validate_coverage_distributed` and
:func:`gridkit.assign_to_grids_distributed` as a directory of GeoParquet
files that the workers read themselves. Any row order is correct and, as
measured (benchmarks/results/scale_sorted_4x.md), about as fast; files that
each cover a compact area are easier to inspect and to read in part.
:func:`write_spatial_parquet` writes such a directory: rows in Hilbert
curve order (geopandas' ``hilbert_distance``; in memory, or on dask with a
shuffle as dask-geopandas' ``spatial_shuffle`` does, for data already on dask
or in GeoParquet), cut into files of about ``rows_per_file`` rows.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import tempfile

import geopandas as gpd
import numpy as np

from gridkit.errors import InvalidValueError, MissingCRSError
from gridkit.io.files import is_parquet
from gridkit.scale._dask import LOCAL_SCHEDULERS, check_scheduler, client

__all__ = ["write_spatial_parquet", "is_lazy", "is_dask"]

log = logging.getLogger(__name__)


def is_lazy(src) -> bool:
    """Whether ``src`` is left for the dask workers to read.

    A GeoParquet path (file or directory) or a dask collection is read by the
    workers themselves; anything else is read here.

    Examples
    --------
    >>> is_lazy("entities.parquet"), is_lazy("entities.gpkg")
    (True, False)
    """
    return is_dask(src) or (isinstance(src, (str, os.PathLike)) and is_parquet(src))


def is_dask(src) -> bool:
    """Whether ``src`` is a dask collection (a dask-geopandas frame, say).

    Examples
    --------
    >>> is_dask([1, 2])
    False
    """
    try:
        import dask

        return dask.is_dask_collection(src)
    except ImportError:  # pragma: no cover - dask is a core dependency
        return False


def write_spatial_parquet(
    features,
    path: str | os.PathLike,
    *,
    rows_per_file: int = 500_000,
    overwrite: bool = False,
    scheduler=None,
) -> str:
    """Write features as a directory of spatially sorted GeoParquet files.

    Parameters
    ----------
    features
        A GeoDataFrame or a layer path (sorted in memory), or a GeoParquet
        path (file or directory) or dask-geopandas frame (sorted on dask,
        never brought into this process).
    path
        The directory to write (``part.00000.parquet``...). Written to a
        temporary directory first and moved into place at the end.
    rows_per_file
        About this many rows per file (in-memory input); dask input keeps
        its number of partitions.
    overwrite
        Replace an existing directory at ``path``.
    scheduler
        For dask input: as for :func:`gridkit.validate_coverage_distributed`.

    Returns
    -------
    str
        ``path``.

    Examples
    --------
    >>> import tempfile, os, geopandas as gpd
    >>> import gridkit as gk
    >>> s = gk.load_sample()
    >>> out = write_spatial_parquet(s["entities"], os.path.join(tempfile.mkdtemp(), "e"),
    ...                             rows_per_file=500)
    >>> len(os.listdir(out)), len(gpd.read_parquet(out)) == len(s["entities"])
    (3, True)
    """
    if not (isinstance(rows_per_file, (int, np.integer)) and rows_per_file >= 1):
        raise InvalidValueError(f"rows_per_file must be a whole number >= 1, got {rows_per_file!r}")
    check_scheduler(scheduler)
    path = os.fspath(path)
    if os.path.exists(path) and not overwrite:
        raise FileExistsError(f"{path!r} exists: remove it or pass overwrite=True (--overwrite)")
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".gridkit-", dir=parent)
    try:
        if is_lazy(features):
            n = _write_dask(features, tmp, scheduler)
        else:
            if not isinstance(features, gpd.GeoDataFrame):
                from gridkit.io.files import read_layer

                features = read_layer(features)
            n = _write_frame(features, tmp, rows_per_file)
        if os.path.exists(path):
            shutil.rmtree(path)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("%s: %d file(s) in Hilbert order", path, n)
    return path


def _hilbert(gdf: gpd.GeoDataFrame, total_bounds=None) -> np.ndarray:
    """Hilbert-curve distance of each row (rows without geometry: last), over
    ``total_bounds`` (default: the bounds of the rows that have a geometry)."""
    geom = gdf.geometry
    ok = ~(geom.isna() | geom.is_empty).to_numpy()
    key = np.full(len(gdf), np.iinfo(np.int64).max, dtype=np.int64)
    if ok.any():
        key[ok] = geom[ok].hilbert_distance(total_bounds=total_bounds)
    return key


def _write_frame(gdf: gpd.GeoDataFrame, out: str, rows: int) -> int:
    if gdf.crs is None:
        raise MissingCRSError("features: the layer has no CRS; set it with gdf.set_crs(...)")
    order = np.argsort(_hilbert(gdf), kind="stable")
    files = max(1, math.ceil(len(gdf) / rows))
    for i, pos in enumerate(np.array_split(order, files)):
        gdf.iloc[pos].to_parquet(os.path.join(out, f"part.{i:05d}.parquet"))
    return files


def _write_dask(src, out: str, scheduler) -> int:
    import dask
    import dask_geopandas
    import pandas as pd

    ddf = dask_geopandas.read_parquet(os.fspath(src)) if not dask.is_dask_collection(src) else src
    if ddf.crs is None:
        raise MissingCRSError("features: the dask frame has no CRS; set it with .set_crs(...)")
    # dask-geopandas' spatial_shuffle refuses any missing geometry, which real
    # layers have: the same method (Hilbert distance, then a shuffle on it) with
    # such rows sorted last
    def bounds(part):
        b = part.geometry.bounds
        return pd.DataFrame([[b.minx.min(), b.miny.min(), b.maxx.max(), b.maxy.max()]])

    def key(part, tb):
        return pd.Series(_hilbert(part, tb), index=part.index, name="_hilbert")

    def run():
        b = ddf.map_partitions(bounds, meta=pd.DataFrame(columns=range(4), dtype=float)).compute()
        tb = (b[0].min(), b[1].min(), b[2].max(), b[3].max())
        keyed = ddf.assign(_hilbert=ddf.map_partitions(key, tb, meta=("_hilbert", "int64")))
        keyed.set_index("_hilbert", npartitions=ddf.npartitions).to_parquet(out)

    if isinstance(scheduler, str) and scheduler in LOCAL_SCHEDULERS:
        with dask.config.set(scheduler=scheduler):
            run()
    else:
        with client(scheduler):
            run()
    return len([f for f in os.listdir(out) if f.endswith(".parquet")])
