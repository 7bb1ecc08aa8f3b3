"""Reading and writing layers.

Any format pyogrio reads (GeoPackage, GeoJSON, Shapefile, FlatGeobuf, ...)
plus GeoParquet (through geopandas/pyarrow). A source is ``PATH`` or
``PATH:LAYER``. Output is GeoPackage unless the file name says otherwise, and
it is written atomically: into a temporary folder beside the target, moved
into place only when complete, so a failed run never damages an existing file
(see :mod:`gridkit.io.atomic`; inside a ``with staged():`` block every write
joins the block's set and moves in when the block ends).

Writing layers into an existing GeoPackage replaces only those layers and
keeps the others. Every file that cannot be read (missing, empty, truncated,
a folder, another format) raises a :class:`~gridkit.errors.LayerError` (a
``ValueError``) that names the file.
"""

from __future__ import annotations

import logging
import os
import zipfile
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from gridkit.errors import LayerError, LayerNotFoundError
from gridkit.io.atomic import staged
from gridkit.io.formats import (
    PARQUET_SUFFIXES,
    SINGLE_LAYER_DRIVERS,
    output_driver,
)
from gridkit.io.formulas import quote_formulas

__all__ = [
    "parse_source",
    "read_layer",
    "read_table",
    "list_layers",
    "write_layers",
    "write_layer",
    "write_csv",
    "output_driver",
    "PARQUET_SUFFIXES",
    "is_parquet",
    "is_parquet_dir",
]

log = logging.getLogger(__name__)

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


def _unreadable(path: Path, exc: BaseException) -> LayerError:
    """The error for a file GDAL, pyarrow or pandas cannot read: one line, naming the file."""
    text = " ".join(str(exc).split())
    lower = text.lower()
    if path.is_dir():
        why = "a folder holding no layer gridkit reads"
    elif path.is_file() and path.stat().st_size == 0:
        why = "the file is empty"
    elif "malformed" in lower or "not a database" in lower or "truncated" in lower:
        why = "the file is damaged (truncated or not completely written)"
    elif "not recognized as" in lower or "not recognised as" in lower:
        why = ("not in a format gridkit reads (GeoPackage, GeoJSON, Shapefile, FlatGeobuf, "
               "GeoParquet; CSV/XLSX for tables)")
    else:
        why = text.replace(os.fspath(path), "the file").replace(path.name, "the file")
    return LayerError(f"cannot read {os.fspath(path)!r}: {why}")


def _exists(path: Path) -> Path:
    if not path.exists():
        raise LayerNotFoundError(f"{os.fspath(path)!r} does not exist: check the path")
    return path


def list_layers(path: str | os.PathLike) -> list[str]:
    """Names of the layers in a file (a GeoParquet file or directory has one).

    Raises
    ------
    LayerNotFoundError
        The file does not exist.
    LayerError
        It cannot be read (empty, damaged, another format) or holds no layer.
    """
    path = _exists(Path(path))
    if is_parquet(path):
        return [path.stem]
    try:
        names = [str(name) for name, _ in pyogrio.list_layers(path)]
    except RuntimeError as exc:  # pyogrio's DataSourceError...
        raise _unreadable(path, exc) from exc
    if not names:
        raise LayerError(f"cannot read {os.fspath(path)!r}: it holds no layer")
    return names


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
        except (ValueError, OSError, RuntimeError) as exc:  # not (Geo)Parquet, damaged
            if path.is_file() and path.stat().st_size == 0:
                raise _unreadable(path, exc) from exc
            text = " ".join(str(exc).split())
            raise LayerError(f"{os.fspath(path)!r} is not a GeoParquet file: {text}") from exc
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
    except RuntimeError as exc:  # pyogrio's DataSourceError, FeatureError; pyproj's CRSError
        raise _unreadable(path, exc) from exc


def read_table(source: str | os.PathLike, *, layer: str | None = None) -> pd.DataFrame:
    """Read a table (CSV, XLSX, or a layer whose geometry is ignored), e.g. staff.

    An empty, damaged or unreadable file raises :class:`~gridkit.errors.LayerError`.
    """
    path, spec_layer = parse_source(source)
    suffix = path.suffix.lower()
    if suffix in {".csv", ".xlsx", ".xls"}:
        try:
            if suffix == ".csv":
                return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
            return pd.read_excel(path, dtype=str, sheet_name=layer or spec_layer or 0)
        except (ValueError, OSError, RuntimeError, zipfile.BadZipFile) as exc:
            # pandas' EmptyDataError and ParserError, UnicodeDecodeError, a folder...
            raise _unreadable(path, exc) from exc
    df = read_layer(source, layer=layer)
    return pd.DataFrame(df.drop(columns=df.geometry.name, errors="ignore"))


def _write_error(exc: BaseException, path: Path, out) -> Exception:
    """A write failure, naming ``path`` and never the temporary file."""
    if isinstance(exc, OSError) and not isinstance(exc, LayerError):
        return out.write_error(exc, path)
    return LayerError(f"cannot write {os.fspath(path)!r}: {out.untemp(' '.join(str(exc).split()))}")


def _check_appendable(path: Path) -> None:
    """An existing GeoPackage gets layers added; anything else there is not touched."""
    try:
        pyogrio.list_layers(path)
    except RuntimeError as exc:
        raise LayerError(
            f"{os.fspath(path)!r} exists but is not a GeoPackage gridkit can add layers to "
            f"({_unreadable(path, exc).args[0].split(': ', 1)[1]}): remove it or write "
            "to another file"
        ) from exc


def write_layers(layers: Mapping[str, gpd.GeoDataFrame], path: str | os.PathLike, *,
                 replace_file: bool = False) -> Path:
    """Write one or more named layers to ``path``, atomically.

    A path without extension gets ``.gpkg``. Formats that hold a single layer
    (GeoJSON, Shapefile, FlatGeobuf, GeoParquet) take exactly one and replace
    the file (and, for a shapefile, every sidecar: a stale ``.prj`` never
    outlives the data it described).

    An existing GeoPackage keeps its other layers: the layers given replace
    the same-named ones and the rest stay, written into a copy that replaces
    the file only when complete. An existing file at ``path`` that is not a
    GeoPackage is refused (:class:`~gridkit.errors.LayerError`), not overwritten.

    Inside a ``with gridkit.io.atomic.staged():`` block the file joins the
    block's set and is moved in when the block ends; a failure anywhere in
    the block leaves every target as it was.

    Parameters
    ----------
    layers
        Layer name -> GeoDataFrame (or DataFrame, written as a table).
    path
        The file to write.
    replace_file
        Replace the whole file: only the given layers remain.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    path = Path(path)
    if path.suffix == "":
        path = path.with_suffix(".gpkg")
    driver = output_driver(path)
    if not layers:
        raise LayerError("nothing to write: no layers given")
    if driver in SINGLE_LAYER_DRIVERS and len(layers) > 1:
        raise LayerError(
            f"{path.suffix} holds one layer but {len(layers)} were given "
            f"({list(layers)}): write a .gpkg instead"
        )
    keep = (driver == "GPKG" and not replace_file and path.is_file()
            and path.stat().st_size > 0)
    if keep:
        _check_appendable(path)
    sidecars = _SHAPEFILE_SIDECARS[1:] if driver == "ESRI Shapefile" else ()
    with staged() as out:
        tmp = out.path(path, keep_existing=keep, sidecars=sidecars)
        if driver in SINGLE_LAYER_DRIVERS or replace_file:  # written again in the same set
            for old in [tmp, *(tmp.with_suffix(s) for s in sidecars)]:
                old.unlink(missing_ok=True)
        try:
            for name, gdf in layers.items():
                if driver == "Parquet":
                    gdf.to_parquet(tmp)
                elif isinstance(gdf, gpd.GeoDataFrame) and gdf.geometry.name in gdf:
                    pyogrio.write_dataframe(gdf, tmp, layer=name, driver=driver)
                else:
                    pyogrio.write_dataframe(pd.DataFrame(gdf), tmp, layer=name, driver=driver)
        except (RuntimeError, OSError) as exc:  # pyogrio's errors, a full disk...
            raise _write_error(exc, path, out) from exc
    log.info("wrote %s (%s)", path, ", ".join(layers))
    return path


def write_csv(df: pd.DataFrame, path: str | os.PathLike, **options) -> Path:
    """Write ``df`` as CSV (no index unless ``index=True``), atomically, like :func:`write_layers`.

    Text cells a spreadsheet would run as formulas (``=``, ``+``, ``-``,
    ``@`` ...) start with ``'`` (:func:`gridkit.io.formulas.quote_formulas`);
    rows end in CRLF (RFC 4180), so a value holding a line break is quoted.

    Examples
    --------
    >>> import pandas as pd, tempfile, os
    >>> p = write_csv(pd.DataFrame({"a": [1]}), os.path.join(tempfile.mkdtemp(), "t.csv"))
    >>> p.read_text().split()
    ['a', '1']
    """
    path = Path(path)
    options.setdefault("index", False)
    options.setdefault("lineterminator", "\r\n")
    with staged() as out, out.writing(path) as tmp:
        quote_formulas(df).to_csv(tmp, **options)
    return path


def write_layer(
    gdf: gpd.GeoDataFrame, path: str | os.PathLike, *, layer: str | None = None
) -> Path:
    """Write one layer atomically (see :func:`write_layers`)."""
    path = Path(path)
    return write_layers({layer or path.stem or "layer": gdf}, path)
