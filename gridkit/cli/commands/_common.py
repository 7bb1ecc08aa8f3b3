"""Helpers shared by the subcommands: common options, cheap checks, outputs, output CRS."""

from __future__ import annotations

import argparse
import logging
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: the geo stack loads when a command runs
    import geopandas as gpd
    import pandas as pd

    from gridkit.layers import Layers

log = logging.getLogger("gridkit.cli")

_NUMPY_SCALAR = re.compile(
    r"\bnp\.(?:u?int\d*|float\d*|complex\d*|str_|bytes_|bool_?|longlong|double)"
    r"\(((?:'[^']*'|\"[^\"]*\"|[^()'\"])*)\)"
)
_NUMPY_BOOL = re.compile(r"\bnp\.(True|False)_")


def plain(text: str) -> str:
    """``text`` with numpy's scalar reprs as plain values: ``np.int64(114)`` -> ``114``.

    Examples
    --------
    >>> plain("unit np.int64(114) in ['a', np.str_('b')], np.True_, np.float64(1.5)")
    "unit 114 in ['a', 'b'], True, 1.5"
    """
    return _NUMPY_BOOL.sub(r"\1", _NUMPY_SCALAR.sub(r"\1", text))


def check_options(args: argparse.Namespace) -> None:
    """The checks every command gets before it reads anything (run by ``main``).

    ``--crs`` must be a CRS pyproj knows; a layer output (``-o``, see
    :func:`add_output_option`) must have an extension gridkit writes.
    """
    from gridkit.errors import InvalidValueError

    crs = getattr(args, "crs", None)
    if crs:
        from pyproj import CRS
        from pyproj.exceptions import CRSError

        try:
            CRS.from_user_input(crs)
        except CRSError:
            raise InvalidValueError(
                f"--crs {crs!r} is not a coordinate reference system: give e.g. EPSG:4547 "
                "(a CGCS2000 Gauss-Krüger zone) or EPSG:32650 (a UTM zone)"
            ) from None
    _set_read_defaults(args)
    output = getattr(args, "output", None)
    kind = getattr(args, "output_kind", None)
    if output and (kind == "layers" or kind == "layers-or-folder" and Path(output).suffix):
        from gridkit.io.formats import output_driver

        output_driver(output)


def layer_file(path: str | os.PathLike) -> Path:
    """The file ``write_layers`` writes for ``path`` (``.gpkg`` added without extension).

    A ``postgresql://`` URL is returned as it is (a table, not a file).
    """
    from gridkit.io.formats import DATABASE_URL

    if DATABASE_URL.match(os.fspath(path)):
        return path
    path = Path(path)
    return path.with_suffix(".gpkg") if path.suffix == "" else path


def refuse_output_over_input(output: str | os.PathLike | None,
                             inputs: Iterable[str | os.PathLike | None], *,
                             writes: Iterable[str] | None = None,
                             also: Iterable[str | os.PathLike] = ()) -> None:
    """Refuse to run when an output would replace something the command reads.

    Parameters
    ----------
    output
        The layer file of ``-o`` (``None``: nothing written).
    inputs
        The command's sources, ``PATH`` or ``PATH:LAYER`` (``None`` entries skipped).
    writes
        The layers the command writes into ``output``. A GeoPackage keeps its
        other layers, so reading some layers of it and adding others is fine;
        ``None`` means the whole file is replaced.
    also
        Further files the command writes (a CSV or GPX beside the output...),
        each replaced as a whole.

    Raises
    ------
    gridkit.errors.InvalidValueError
        Naming the output and the input it would replace.
    """
    from gridkit.errors import InvalidValueError, LayerNotFoundError
    from gridkit.io.files import list_layers, parse_source
    from gridkit.io.formats import DATABASE_URL, output_driver

    if output is not None and DATABASE_URL.match(os.fspath(output)):
        _refuse_table_over_input(output, inputs)
        output = None
    sources = []
    for source in inputs:
        if source is None or DATABASE_URL.match(os.fspath(source)):
            continue
        try:
            sources.append((source, *parse_source(source)))
        except LayerNotFoundError:  # reading it fails later, with its own message
            continue

    def same(a: Path, b: Path) -> bool:
        return a.exists() and b.exists() and os.path.samefile(a, b)

    for extra in also:
        for source, path, _ in sources:
            if same(Path(extra), path):
                raise InvalidValueError(
                    f"{os.fspath(extra)!r} would be written over the input {os.fspath(source)!r}: "
                    "write to another file"
                )
    if output is None:
        return
    target = layer_file(output)
    whole = writes is None or output_driver(target) != "GPKG"
    writes = set(writes or ())
    for source, path, layer in sources:
        if not same(target, path):
            continue
        if not whole and layer is None and path.is_file():
            names = list_layers(path)
            layer = names[0] if len(names) == 1 else None
        if whole or layer is None:
            raise InvalidValueError(
                f"-o {os.fspath(output)!r} is also the input {os.fspath(source)!r}: "
                "write to another file"
            )
        if layer in writes:
            raise InvalidValueError(
                f"-o {os.fspath(output)!r} would replace the layer {layer!r} this command "
                f"reads from it: write to another file"
            )



def _refuse_table_over_input(output, inputs) -> None:
    """A PostGIS output must not be a table the command reads."""
    from gridkit.errors import InvalidValueError
    from gridkit.io.formats import DATABASE_URL
    from gridkit.io.postgis import parse_database

    target = parse_database(output)
    for source in inputs:
        if source is None or not DATABASE_URL.match(os.fspath(source)):
            continue
        src = parse_database(source)
        if (src.host, src.port, src.database, src.schema, src.table) == \
                (target.host, target.port, target.database, target.schema, target.table):
            raise InvalidValueError(f"-o {target.label} is also the input {src.label}: "
                                    "write to another table")


def refuse_folder_over_input(folder: str | os.PathLike,
                             inputs: Iterable[str | os.PathLike | None]) -> None:
    """An output folder whose files are replaced must not hold an input.

    Examples
    --------
    >>> refuse_folder_over_input("out", ["out/e.parquet"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    gridkit.errors.InvalidValueError: -o 'out' holds the input 'out/e.parquet': write to another...
    """
    from gridkit.errors import InvalidValueError

    root = Path(folder).resolve()
    for source in inputs:
        if source is None:
            continue
        path = Path(source).resolve()
        if path == root or root in path.parents:
            raise InvalidValueError(f"-o {os.fspath(folder)!r} holds the input "
                                    f"{os.fspath(source)!r}: write to another folder")


def add_crs_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--crs",
        help="metric working CRS (e.g. EPSG:4547); default: the layers' own metric CRS, "
        "else the CGCS2000 Gauss-Krüger zone in China, else the UTM zone",
    )
    parser.add_argument(
        "--strict", action="store_true", help="refuse invalid geometries instead of repairing them"
    )
    add_source_options(parser)


COORDS = ("wgs84", "cgcs2000", "gcj02", "bd09")  # gridkit.gcj02.COORDS (no geo stack here)


def add_source_options(parser: argparse.ArgumentParser) -> None:
    """How the command reads its sources: tables of points, encodings, declared CRSs."""
    g = parser.add_argument_group(
        "sources", "CSV/XLSX tables where points are expected, shapefile text, layers without "
        "a CRS; a source may also be postgresql://USER@HOST/DB?table=[SCHEMA.]TABLE")
    g.add_argument("--coords", choices=COORDS,
                   help="longitude/latitude system of the tables' coordinates: wgs84 "
                   "(default), cgcs2000, gcj02 (AMap, Tencent) or bd09 (Baidu), shifted to WGS84")
    g.add_argument("--x", metavar="COL", help="the tables' x/longitude column (default: "
                   "lon/lng/longitude/x/经度/东经)")
    g.add_argument("--y", metavar="COL", help="the tables' y/latitude column (default: "
                   "lat/latitude/y/纬度/北纬)")
    g.add_argument("--crs-of-table", metavar="CRS",
                   help="the CRS of the tables' x/y when projected (e.g. EPSG:4547, a CGCS2000 "
                   "Gauss-Krüger zone); not the working CRS (--crs)")
    g.add_argument("--encoding", help="text encoding of the shapefiles and CSVs (default: the "
                   ".cpg, else UTF-8, else GB18030)")
    g.add_argument("--source-crs", metavar="LAYER=CRS", action="append", default=[],
                   help="declare the CRS of an input that has none (LAYER: the option name, "
                   "e.g. villages, or a file/layer name); repeatable")


def _set_read_defaults(args: argparse.Namespace) -> None:
    """The run's source options as the defaults of :func:`gridkit.io.files.read_layer`.

    They hold while the command runs (``args.func`` is wrapped), not after: a
    program that calls ``main`` and then reads layers itself gets no leftovers.
    """
    import functools

    from gridkit.errors import InvalidValueError
    from gridkit.io.options import ReadOptions, reading

    declared: dict[str, str] = {}
    for item in getattr(args, "source_crs", None) or ():
        name, sep, crs = item.partition("=")
        if not sep or not name or not crs:
            raise InvalidValueError(f"--source-crs {item!r}: give LAYER=CRS, e.g. "
                                    "villages=EPSG:4547")
        declared[name] = crs
        value = getattr(args, name.replace("-", "_"), None)
        if isinstance(value, str):  # the option's source, e.g. --villages v.shp
            declared[value] = crs
    options = ReadOptions(
        coords=getattr(args, "coords", None), x=getattr(args, "x", None),
        y=getattr(args, "y", None), table_crs=getattr(args, "crs_of_table", None),
        encoding=getattr(args, "encoding", None), source_crs=declared)
    func = getattr(args, "func", None)
    if func is None or getattr(func, "_reads_with_options", False):
        return
    has_option = hasattr(args, "source_crs")

    @functools.wraps(func)
    def run(*a, **kw):
        from gridkit.errors import MissingCRSError

        with reading(**vars(options)):
            try:
                return func(*a, **kw)
            except MissingCRSError as exc:
                if not has_option:
                    raise
                raise MissingCRSError(
                    f"{exc}; on the command line, declare it with --source-crs "
                    "LAYER=EPSG:4490 (LAYER: the option, e.g. jurisdiction, or the file name; "
                    "the CRS the coordinates are really in)") from exc

    run._reads_with_options = True
    args.func = run


def add_output_option(parser: argparse.ArgumentParser, *, default: str | None = None,
                      help: str = "output file (GeoPackage unless the extension says otherwise)"):
    """``-o``: a layer file, its extension checked before the command runs."""
    parser.add_argument("-o", "--output", default=default, required=default is None, help=help)
    parser.set_defaults(output_kind="layers")


def back_to_input_crs(gdf: gpd.GeoDataFrame, layers: Layers) -> gpd.GeoDataFrame:
    """Results go back out in the CRS of the input layers.

    Through :func:`gridkit.crs.to_crs`: edges are densified first, so grids
    that share an edge still share it, vertex for vertex, in the input CRS.
    """
    import geopandas as gpd

    from gridkit.crs import to_crs

    if isinstance(gdf, gpd.GeoDataFrame) and gdf.crs is not None and gdf.crs != layers.input_crs:
        return to_crs(gdf, layers.input_crs)
    return gdf


def frame_text(df: pd.DataFrame, *, max_rows: int = 30) -> str:
    import pandas as pd

    with pd.option_context("display.max_rows", max_rows, "display.width", 120):
        return df.to_string(index=False)


_GROUP_LEVELS = ("town", "village")  # gridkit.scale.pipeline.GROUP_LEVELS (needs dask)


def add_distributed_options(p) -> None:
    """``--distributed``, ``--scheduler`` and ``--by``: one dask task per town or village."""
    g = p.add_argument_group("distributed (dask)", "run every town (or village) as its own "
                             "task, on a local cluster or an existing dask cluster")
    g.add_argument("--distributed", action="store_true",
                   help="one task per town or village on a local dask cluster started for "
                   "the run (needs villages with 12-digit codes for --by town)")
    g.add_argument("--scheduler", metavar="ADDR",
                   help="use this dask scheduler (e.g. tcp://10.0.0.5:8786, or 'synchronous' "
                   "to run the tasks in this process); implies --distributed")
    g.add_argument("--by", choices=_GROUP_LEVELS, default="town",
                   help="what one task holds (default: %(default)s; the town is the first 9 "
                   "digits of the village code)")


def distributed_requested(args) -> bool:
    return bool(getattr(args, "distributed", False) or getattr(args, "scheduler", None))


def layer_sources(args, names, *, required) -> dict[str, str | None]:
    """Each input's source: its own option, else the layer of that name in ``--layers``.

    Raises ``ValueError`` (exit 2) naming the first ``required`` input found nowhere.
    """
    from gridkit.io.files import list_layers

    sources = {name: getattr(args, name) for name in names}
    if args.layers:
        available = set(list_layers(args.layers))
        for name in names:
            if sources[name] is None and name in available:
                sources[name] = f"{args.layers}:{name}"
    missing = [n for n in required if sources[n] is None]
    if missing:
        raise ValueError(
            f"missing input(s) {missing}: give --{missing[0]} PATH[:LAYER] or a --layers FILE "
            "that holds such a layer"
        )
    return sources


def check_text_file(path: str | os.PathLike | None, option: str) -> None:
    """A text input (a policy, a requirements table) must be UTF-8: said naming the file.

    The readers decode it themselves and a decoding error names no file; a
    missing file is left to them (they say so).
    """
    from gridkit.errors import InvalidValueError

    if path is None or not Path(path).is_file():
        return
    try:
        Path(path).read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidValueError(
            f"{option} {os.fspath(path)!r} is not UTF-8 text (byte {exc.start}): save it as "
            "UTF-8 (TOML or CSV)"
        ) from None


def parse_weight(text: str):
    """``COL`` or ``COL*F+COL*F`` -> a column name or a dict of column -> factor.

    Examples
    --------
    >>> parse_weight("entities")
    'entities'
    >>> parse_weight("entities_risk1*3+entities")
    {'entities_risk1': 3.0, 'entities': 1.0}
    """
    from gridkit.errors import InvalidValueError

    if "+" not in text and "*" not in text:
        return text.strip()
    terms = {}
    for term in text.split("+"):
        name, _, factor = term.partition("*")
        try:
            terms[name.strip()] = float(factor) if factor else 1.0
        except ValueError:
            raise InvalidValueError(
                f"--weight: cannot read {term!r}; write COL or COL*FACTOR+COL*FACTOR"
            ) from None
    return terms
