"""How sources are read when the caller does not say: the command line's source options.

A command's ``--coords``, ``--x``/``--y``, ``--crs-of-table``, ``--encoding``
and ``--source-crs LAYER=CRS`` apply to every source the command reads,
whichever module reads it. The command line sets them once per run with
:func:`set_read_defaults`; :func:`gridkit.io.files.read_layer` falls back to
them for every option its caller leaves out. A library caller passes the
options to ``read_layer`` itself (``coords=``, ``x=``, ``y=``, ``crs=``,
``encoding=``) or sets them for a block with :func:`reading`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from pathlib import PurePath

__all__ = ["ReadOptions", "read_defaults", "set_read_defaults", "reading", "declared_crs"]


@dataclass(frozen=True)
class ReadOptions:
    """Defaults for reading sources.

    Attributes
    ----------
    coords
        The longitude/latitude system of tables of points: ``wgs84`` (the
        default), ``cgcs2000``, ``gcj02`` (AMap/Gaode, Tencent) or ``bd09`` (Baidu).
    x, y
        The coordinate columns of tables (default: recognised by name).
    table_crs
        The CRS of tables whose x/y are projected (e.g. ``EPSG:4547``).
    encoding
        The text encoding of shapefiles (default: the ``.cpg``, else UTF-8
        when the text is valid UTF-8, else GB18030).
    source_crs
        Source key -> CRS declared for layers that carry none. A key is a
        path, a file name, a file stem or a layer name.
    """

    coords: str | None = None
    x: str | None = None
    y: str | None = None
    table_crs: str | None = None
    encoding: str | None = None
    source_crs: Mapping[str, str] = field(default_factory=dict)


_EMPTY = ReadOptions()  # frozen: safe to share as the default
_DEFAULTS: ContextVar[ReadOptions] = ContextVar("gridkit_read_defaults",
                                                default=_EMPTY)  # noqa: B039


def read_defaults() -> ReadOptions:
    """The defaults in force (all empty unless a command or :func:`reading` set them)."""
    return _DEFAULTS.get()


def set_read_defaults(options: ReadOptions | None = None) -> None:
    """Set the defaults for the rest of this context (the command line does, once per run)."""
    _DEFAULTS.set(options or ReadOptions())


@contextlib.contextmanager
def reading(**options) -> Iterator[ReadOptions]:
    """Read with these defaults inside the block (keywords of :class:`ReadOptions`).

    Examples
    --------
    >>> with reading(coords="gcj02") as opts:
    ...     read_defaults().coords
    'gcj02'
    >>> read_defaults().coords is None
    True
    """
    token = _DEFAULTS.set(replace(_DEFAULTS.get(), **options))
    try:
        yield _DEFAULTS.get()
    finally:
        _DEFAULTS.reset(token)


def declared_crs(source: str | os.PathLike, layer: str | None) -> str | None:
    """The CRS ``--source-crs`` declares for ``source`` (its path, name, stem or layer).

    Examples
    --------
    >>> with reading(source_crs={"villages": "EPSG:4547"}):
    ...     declared_crs("data/villages.shp", None), declared_crs("a.gpkg", "villages")
    ('EPSG:4547', 'EPSG:4547')
    """
    table = read_defaults().source_crs
    if not table:
        return None
    text = os.fspath(source)
    path = PurePath(text)
    for key in (text, layer, path.name, path.stem):
        if key and key in table:
            return table[key]
    return None
