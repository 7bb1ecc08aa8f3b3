"""Reading and writing layers.

Any format pyogrio reads (GeoPackage, GeoJSON, Shapefile, FlatGeobuf, ...)
plus GeoParquet (through geopandas/pyarrow). A source is ``PATH`` or
``PATH:LAYER``. Output is GeoPackage unless the file name says otherwise, and
it is written atomically: into a temporary folder beside the target, moved
into place only when complete, so a failed run never damages an existing file.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from gridkit.errors import LayerError, LayerNotFoundError

__all__ = [
    "parse_source",
    "read_layer",
    "read_table",
    "list_layers",
    "write_layers",
    "write_layer",
    "PARQUET_SUFFIXES",
    "is_parquet",
    "is_parquet_dir",
]

log = logging.getLogger(__name__)

PARQUET_SUFFIXES = {".parquet", ".geoparquet", ".pq"}
"""File name suffixes (lower case) read and written as GeoParquet."""
_DRIVERS = {
    ".gpkg": "GPKG",
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".shp": "ESRI Shapefile",
    ".fgb": "FlatGeobuf",
}
_SINGLE_LAYER = {"GeoJSON", "ESRI Shapefile", "FlatGeobuf", "Parquet"}
_SHAPEFILE_SIDECARS = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx")


def parse_source(source: str | os.PathLike) -> tuple[Path, str | None]:
    """Split ``PATH:LAYER`` into the path and the layer name (or ``None``).

    Examples
    --------
    >>> parse_source("data/sample.gpkg:roads")
    (PosixPath('data/sample.gpkg'), 'roads')
    """
    text = os.fspath(source)
    if os.path.exists(text) or ":" not in text:
        path, layer = Path(text), None
    else:
        head, tail = text.rsplit(":", 1)
        # "C:\\x.gpkg" on Windows: a one-letter head is a drive, not a path
        if len(head) == 1 or not tail or "/" in tail or "\\" in tail:
            path, layer = Path(text), None
        else:
            path, layer = Path(head), tail
    if not path.exists():
        raise LayerNotFoundError(f"{os.fspath(path)!r} does not exist: check the path")
    return path, layer


def is_parquet_dir(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a directory of GeoParquet files.

    Such a directory (a dataset, as dask-geopandas writes) is read as one layer.

    Examples
    --------
    >>> is_parquet_dir("no/such/directory")
    False
    """
    path = Path(path)
    return path.is_dir() and any(p.suffix.lower() in PARQUET_SUFFIXES for p in path.iterdir())


def is_parquet(path: str | os.PathLike) -> bool:
    """Whether ``path`` is read as GeoParquet.

    That is a file whose suffix is one of :data:`PARQUET_SUFFIXES`, or a
    directory of such files (:func:`is_parquet_dir`).

    Examples
    --------
    >>> is_parquet("entities.parquet"), is_parquet("roads.gpkg")
    (True, False)
    """
    return Path(path).suffix.lower() in PARQUET_SUFFIXES or is_parquet_dir(path)


def list_layers(path: str | os.PathLike) -> list[str]:
    """Names of the layers in a file (a GeoParquet file or directory has one)."""
    path = Path(path)
    if is_parquet(path):
        return [path.stem]
    return [str(name) for name, _ in pyogrio.list_layers(path)]


def read_layer(source: str | os.PathLike, *, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read one layer as a GeoDataFrame.

    Parameters
    ----------
    source
        ``PATH`` or ``PATH:LAYER``; a directory of GeoParquet files is read
        as one layer.
    layer
        The layer name, when not given in ``source``. A file with several
        layers and no layer named is an error that lists them.

    Examples
    --------
    >>> from gridkit import sample_path
    >>> roads = read_layer(f"{sample_path()}:roads")
    >>> roads.geom_type.unique().tolist()
    ['LineString']
    """
    path, spec_layer = parse_source(source)
    layer = layer or spec_layer
    if is_parquet(path):
        try:
            return gpd.read_parquet(path)
        except ValueError as exc:  # a Parquet file without geometry metadata
            raise LayerError(f"{os.fspath(path)!r} is not a GeoParquet file: {exc}") from exc
    names = list_layers(path)
    if layer is None:
        if len(names) > 1:
            raise LayerError(
                f"{os.fspath(path)!r} holds {len(names)} layers {names}: "
                f"name one as '{os.fspath(path)}:LAYER'"
            )
    elif layer not in names:
        raise LayerNotFoundError(
            f"{os.fspath(path)!r} has no layer {layer!r}; its layers are {names}"
        )
    try:
        return pyogrio.read_dataframe(path, layer=layer)
    except pyogrio.errors.DataSourceError as exc:
        raise LayerError(f"cannot read {os.fspath(path)!r}: {exc}") from exc


def read_table(source: str | os.PathLike, *, layer: str | None = None) -> pd.DataFrame:
    """Read a table (CSV, XLSX, or a layer whose geometry is ignored), e.g. staff."""
    path, spec_layer = parse_source(source)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    if suffix in {".xlsx", ".xls"}:
        return pd.read_excel(path, dtype=str, sheet_name=layer or spec_layer or 0)
    df = read_layer(source, layer=layer)
    return pd.DataFrame(df.drop(columns=df.geometry.name, errors="ignore"))


def _driver_for(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        return "Parquet"
    if suffix in _DRIVERS:
        return _DRIVERS[suffix]
    if suffix == "":
        return "GPKG"
    raise LayerError(
        f"cannot tell the format of {os.fspath(path)!r} from its extension: use one of "
        f"{sorted(_DRIVERS) + sorted(PARQUET_SUFFIXES)}"
    )


def write_layers(layers: Mapping[str, gpd.GeoDataFrame], path: str | os.PathLike) -> Path:
    """Write one or more named layers to ``path``, atomically.

    A path without extension gets ``.gpkg``. Formats that hold a single layer
    (GeoJSON, Shapefile, FlatGeobuf, GeoParquet) take exactly one. An existing
    file is replaced only once the new one is complete.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    path = Path(path)
    if path.suffix == "":
        path = path.with_suffix(".gpkg")
    driver = _driver_for(path)
    if not layers:
        raise LayerError("nothing to write: no layers given")
    if driver in _SINGLE_LAYER and len(layers) > 1:
        raise LayerError(
            f"{path.suffix} holds one layer but {len(layers)} were given "
            f"({list(layers)}): write a .gpkg instead"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmpdir = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        tmp = tmpdir / path.name
        for name, gdf in layers.items():
            if driver == "Parquet":
                gdf.to_parquet(tmp)
            elif isinstance(gdf, gpd.GeoDataFrame) and gdf.geometry.name in gdf:
                pyogrio.write_dataframe(gdf, tmp, layer=name, driver=driver)
            else:
                pyogrio.write_dataframe(pd.DataFrame(gdf), tmp, layer=name, driver=driver)
        for produced in tmpdir.iterdir():
            target = path.parent / produced.name
            os.replace(produced, target)
        if driver == "ESRI Shapefile":  # stale sidecars of an older file
            produced_names = {p.name for p in path.parent.glob(path.stem + ".*")}
            for ext in _SHAPEFILE_SIDECARS:
                stale = path.with_suffix(ext)
                if stale.name not in produced_names and stale.exists():
                    stale.unlink()
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    log.info("wrote %s (%s)", path, ", ".join(layers))
    return path


def write_layer(
    gdf: gpd.GeoDataFrame, path: str | os.PathLike, *, layer: str | None = None
) -> Path:
    """Write one layer atomically (see :func:`write_layers`)."""
    path = Path(path)
    return write_layers({layer or path.stem or "layer": gdf}, path)
