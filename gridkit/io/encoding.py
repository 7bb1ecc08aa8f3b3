"""The text encoding of a shapefile: its ``.cpg``, else UTF-8 when valid, else GB18030.

Desktop GIS in China exports shapefiles in the system code page (GBK, whose
superset is GB18030) and often without a ``.cpg``; GDAL then takes the text
as Latin-1 and 名称 comes out as ``Ãû³Æ``. :func:`shapefile_encoding` looks at
the raw bytes of the ``.dbf`` (its field names and records; the rest of the
file is binary) with an incremental decoder: when they are not valid UTF-8 it
answers ``GB18030``, which also decodes GBK and GB2312 text unchanged.
Valid non-ASCII UTF-8 is read as UTF-8 (GDAL would take it as Latin-1). GDAL
has no such guess (only the ``.cpg`` and the DBF's language driver byte).
"""

from __future__ import annotations

import codecs
import os
from pathlib import Path

__all__ = ["shapefile_encoding", "FALLBACK_ENCODING"]

FALLBACK_ENCODING = "GB18030"
_CHUNK = 1 << 20


def _dbf(path: Path) -> Path | None:
    for suffix in (".dbf", ".DBF"):
        candidate = path.with_suffix(suffix)
        if candidate.is_file():
            return candidate
    return None


def _has_cpg(path: Path) -> bool:
    return any(path.with_suffix(s).is_file() for s in (".cpg", ".CPG"))


def _utf8(data: bytes, decoder) -> bool:
    try:
        decoder.decode(data)
    except UnicodeDecodeError:
        return False
    return True


def shapefile_encoding(path: str | os.PathLike) -> str | None:
    """How to decode a shapefile without ``.cpg``: ``GB18030``, ``UTF-8`` or ``None``.

    ``GB18030`` when its text is not valid UTF-8; ``UTF-8`` when it is and
    holds non-ASCII text (GDAL alone would take it as Latin-1); ``None``
    means "let GDAL decide" (a ``.cpg``, the DBF's language driver byte, or
    plain ASCII, all of which GDAL reads right).

    Examples
    --------
    >>> shapefile_encoding("no/such.shp") is None
    True
    """
    path = Path(path)
    dbf = _dbf(path)
    if path.suffix.lower() != ".shp" or dbf is None or _has_cpg(path):
        return None
    with open(dbf, "rb") as fh:
        head = fh.read(32)
        if len(head) < 32:
            return None
        if head[29] != 0:  # a language driver id: GDAL recodes from it
            return None
        header_len = int.from_bytes(head[8:10], "little")
        fields = fh.read(max(header_len - 32, 0))
        names = b"".join(fields[i:i + 11].split(b"\0", 1)[0]
                         for i in range(0, len(fields) - 31, 32))
        decoder = codecs.getincrementaldecoder("utf-8")()
        if not _utf8(names, decoder):
            return FALLBACK_ENCODING
        ascii_only = names.isascii()
        decoder = codecs.getincrementaldecoder("utf-8")()
        while chunk := fh.read(_CHUNK):
            if not _utf8(chunk, decoder):
                return FALLBACK_ENCODING
            ascii_only = ascii_only and chunk.isascii()
    return None if ascii_only else "UTF-8"
