"""Reading and writing layers.

Any format pyogrio reads (GeoPackage, GeoJSON, Shapefile, FlatGeobuf, ...)
plus GeoParquet (through geopandas/pyarrow). A source is ``PATH`` or
``PATH:LAYER``. Output is GeoPackage unless the file name says otherwise, and
it is written atomically: into a temporary folder beside the target, moved
into place only when complete, so a failed run never damages an existing file
(see :mod:`gridkit.io.atomic`; inside a ``with staged():`` block every write
joins the block's set and moves in when the block ends).

A CSV or XLSX where a layer is expected is a table of points, read from its
coordinate columns (:mod:`gridkit.io.points`; Chinese headers renamed by
:mod:`gridkit.io.headers`). A shapefile without ``.cpg`` whose text is not
UTF-8 is read as GB18030 (:mod:`gridkit.io.encoding`). A
``postgresql://USER@HOST/DB?table=T`` URL is read and written as a PostGIS
table (:mod:`gridkit.io.postgis`). Options the caller leaves out come from
:func:`gridkit.io.options.read_defaults` (the command line's source options).

Writing layers into an existing GeoPackage replaces only those layers and
keeps the others. Every file that cannot be read (missing, empty, truncated,
a folder, another format) raises a :class:`~gridkit.errors.LayerError` (a
``ValueError``) that names the file.
"""

from __future__ import annotations

import logging
import os
import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from gridkit.errors import GridkitWarning, LayerError, LayerNotFoundError
from gridkit.gcj02 import layer_to_wgs84
from gridkit.io import postgis
from gridkit.io.atomic import staged
from gridkit.io.encoding import shapefile_encoding
from gridkit.io.formats import (
    PARQUET_SUFFIXES,
    SINGLE_LAYER_DRIVERS,
    output_driver,
)
from gridkit.io.formulas import quote_formulas
from gridkit.io.headers import apply_aliases
from gridkit.io.options import declared_crs, read_defaults
from gridkit.io.points import table_to_points

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
    "is_table",
    "TABLE_SUFFIXES",
]

log = logging.getLogger(__name__)

TABLE_SUFFIXES = (".csv", ".xlsx", ".xls")
"""File name suffixes (lower case) read as tables; as points where a layer is expected."""
_SHAPEFILE_SIDECARS = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx")


def parse_source(source: str | os.PathLike) -> tuple[Path, str | None]:
    """Split ``PATH:LAYER`` into the path and the layer name (or ``None``).

    Examples
    --------
    >>> parse_source("data/sample.gpkg:roads")
    (PosixPath('data/sample.gpkg'), 'roads')

    A ``postgresql://`` URL gives the database (a path-like
    :class:`~gridkit.io.postgis.DatabaseTarget`) and its ``table=``.
    """
    if postgis.is_database(source):
        db = postgis.parse_database(source)
        return postgis.DatabaseTarget(db.without_table().url()), db.table
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


def is_table(source: str | os.PathLike) -> bool:
    """Whether ``source`` (``PATH`` or ``PATH:SHEET``) is a CSV or Excel table.

    Examples
    --------
    >>> is_table("register.xlsx:Sheet1"), is_table("roads.gpkg")
    (True, False)
    """
    text = os.fspath(source)
    if postgis.is_database(text):
        return False
    head = text if os.path.exists(text) or ":" not in text else text.rsplit(":", 1)[0]
    return Path(text).suffix.lower() in TABLE_SUFFIXES or \
        Path(head).suffix.lower() in TABLE_SUFFIXES


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
    if postgis.is_database(path):
        return postgis.list_tables(path)
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


def read_layer(source: str | os.PathLike, *, layer: str | None = None,
               x: str | None = None, y: str | None = None, coords: str | None = None,
               crs=None, encoding: str | None = None) -> gpd.GeoDataFrame:
    """Read one layer as a GeoDataFrame.

    Parameters
    ----------
    source
        ``PATH`` or ``PATH:LAYER``; a directory of GeoParquet files is read
        as one layer; a CSV/XLSX (``PATH:SHEET``) as points from its
        coordinate columns; ``postgresql://USER@HOST/DB?table=[SCHEMA.]TABLE``
        as a PostGIS table.
    layer
        The layer name, when not given in ``source``. A file with several
        layers and no layer named is an error that lists them.
    x, y
        A table's coordinate columns (default: recognised by name, see
        :mod:`gridkit.io.points`).
    coords
        A table's longitude/latitude system: ``wgs84`` (default),
        ``cgcs2000``, ``gcj02`` (AMap/Gaode, Tencent) or ``bd09`` (Baidu);
        GCJ-02 and BD-09 are shifted back to WGS84 inside China. Given here
        for a layer file (digitised on such tiles), its geometries are
        shifted back too (the command line's ``--coords`` is for tables only).
    crs
        The CRS the coordinates are in when the source does not say: a
        table's projected x/y (e.g. ``EPSG:4547``), a shapefile without
        ``.prj``. A layer that names another CRS is given this one instead,
        with a warning.
    encoding
        The text encoding of a shapefile (default: its ``.cpg``, else UTF-8
        when valid, else GB18030) or of a CSV (default UTF-8).

    Examples
    --------
    >>> from gridkit import sample_path
    >>> roads = read_layer(f"{sample_path()}:roads")
    >>> roads.geom_type.unique().tolist()
    ['LineString']
    """
    defaults = read_defaults()
    if postgis.is_database(source):
        gdf = postgis.read_postgis_table(_db_with_layer(source, layer))
        if not isinstance(gdf, gpd.GeoDataFrame):
            raise LayerError(f"{postgis.parse_database(source).label}: the table has no "
                             "geometry column")
        return _finish(gdf, crs or declared_crs(source, layer), source, coords)
    if is_table(source):
        table = read_table(source, layer=layer, encoding=encoding or defaults.encoding)
        path, spec_layer = parse_source(source)
        declared = crs or defaults.table_crs or declared_crs(source, layer or spec_layer)
        return table_to_points(table, x=x or defaults.x, y=y or defaults.y,
                               coords=coords or defaults.coords, crs=declared,
                               label=os.fspath(path))
    path, spec_layer = parse_source(source)
    layer = layer or spec_layer
    gdf = _read_file(path, layer, encoding or defaults.encoding)
    return _finish(gdf, crs or declared_crs(source, layer), source, coords)


def _read_file(path: Path, layer: str | None, encoding: str | None) -> gpd.GeoDataFrame:
    """A GeoParquet file or folder, or a layer of a file GDAL reads."""
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
    if encoding is None:
        encoding = shapefile_encoding(path)
        if encoding == "GB18030":
            log.warning("%s has no .cpg and its text is not UTF-8: read as %s "
                        "(give --encoding / encoding= to override)", path.name, encoding)
    try:
        return pyogrio.read_dataframe(path, layer=layer, encoding=encoding)
    except (RuntimeError, LookupError) as exc:  # pyogrio's DataSourceError...; bad encoding
        raise _unreadable(path, exc) from exc


def _label(source) -> str:
    """``source`` for messages: a database URL with its password masked."""
    if postgis.is_database(source):
        return postgis.parse_database(source).label
    return os.fspath(source)


def _finish(gdf: gpd.GeoDataFrame, crs, source, coords: str | None) -> gpd.GeoDataFrame:
    """The declared CRS; ``coords=`` given to ``read_layer`` itself (not the command
    line's, which is for tables) shifts a layer digitised on AMap/Baidu tiles back."""
    gdf = _declare(gdf, crs, _label(source))
    return gdf if coords is None else layer_to_wgs84(gdf, coords, name=_label(source))


def _db_with_layer(source, layer: str | None) -> str:
    """The database source with ``layer`` as its table (in the URL's schema), when given."""
    if layer is None:
        return os.fspath(source)
    return postgis.parse_database(source).with_table(layer).url()


def _declare(gdf: gpd.GeoDataFrame, crs, source: str) -> gpd.GeoDataFrame:
    """``gdf`` in the declared CRS: set when it has none; replaced, with a warning, when not."""
    if crs is None:
        return gdf
    from pyproj import CRS
    from pyproj.exceptions import CRSError as ProjError

    try:
        wanted = CRS.from_user_input(crs)
    except ProjError as exc:
        raise LayerError(f"{crs!r} (declared for {source!r}) is not a CRS pyproj "
                         "knows: give e.g. EPSG:4547") from exc
    if gdf.crs is not None and CRS.from_user_input(gdf.crs) != wanted:
        warnings.warn(f"{source!r} says its CRS is {gdf.crs.name} but "
                      f"{wanted.name} was declared: using {wanted.name}", GridkitWarning,
                      stacklevel=3)
    return gdf.set_crs(wanted, allow_override=True)


def read_table(source: str | os.PathLike, *, layer: str | None = None,
               encoding: str | None = None) -> pd.DataFrame:
    """Read a table (CSV, XLSX, or a layer whose geometry is ignored), e.g. staff.

    A CSV is UTF-8, else GB18030 (as Excel saves it on Chinese Windows; a
    one-line note says so), unless ``encoding`` says otherwise. A CSV or XLSX
    has its Chinese headers renamed (姓名 -> ``name``, 联系电话 ->
    ``phone``, 网格编码 -> ``grid_id``, 风险等级 -> ``risk``...: see
    :mod:`gridkit.io.headers`); every cell is read as text. An empty,
    damaged or unreadable file raises :class:`~gridkit.errors.LayerError`.
    """
    if postgis.is_database(source):
        df = postgis.read_postgis_table(_db_with_layer(source, layer))
        if isinstance(df, gpd.GeoDataFrame):
            df = pd.DataFrame(df.drop(columns=df.geometry.name))
        return df
    path, spec_layer = parse_source(source)
    suffix = path.suffix.lower()
    if suffix in TABLE_SUFFIXES:
        encoding = encoding or read_defaults().encoding
        try:
            if suffix == ".csv":
                df = _read_csv(path, encoding)
            else:
                df = pd.read_excel(path, dtype=str, sheet_name=layer or spec_layer or 0)
        except (ValueError, OSError, RuntimeError, LookupError, zipfile.BadZipFile) as exc:
            # pandas' EmptyDataError and ParserError, UnicodeDecodeError, a folder...
            raise _unreadable(path, exc) from exc
        return apply_aliases(df, label=os.fspath(path))
    df = read_layer(source, layer=layer)
    return pd.DataFrame(df.drop(columns=df.geometry.name, errors="ignore"))


def _read_csv(path: Path, encoding: str | None) -> pd.DataFrame:
    """A CSV as text cells: UTF-8 (with or without BOM), else GB18030, as Excel in China saves."""
    options = dict(dtype=str, keep_default_na=False, na_values=[""])
    if encoding is not None:
        return pd.read_csv(path, encoding=encoding, **options)
    try:
        return pd.read_csv(path, encoding="utf-8-sig", **options)
    except UnicodeDecodeError:
        df = pd.read_csv(path, encoding="gb18030", **options)
        log.warning("%s is not UTF-8: read as GB18030 (give --encoding / encoding= to "
                    "override)", path.name)
        return df


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
    if postgis.is_database(path):
        written = postgis.write_tables(layers, path)
        log.info("wrote %s (%s)", written, ", ".join(layers))
        return written
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
    if postgis.is_database(path):  # a table beside a table: T.changes.csv -> T_changes
        return postgis.write_tables({"table": df}, postgis.companion_table(path))
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
    if postgis.is_database(path):
        return write_layers({layer or postgis.parse_database(path).table or "layer": gdf}, path)
    path = Path(path)
    return write_layers({layer or path.stem or "layer": gdf}, path)
