"""File formats by extension: which driver writes a path (no geo stack: cheap to import).

The command line checks an output's extension with :func:`output_driver`
before any heavy work; :mod:`gridkit.io.files` writes with the same table.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from gridkit.errors import LayerError

__all__ = ["PARQUET_SUFFIXES", "LAYER_SUFFIXES", "SINGLE_LAYER_DRIVERS", "DATABASE_URL",
           "output_driver"]

PARQUET_SUFFIXES = {".parquet", ".geoparquet", ".pq"}
"""File name suffixes (lower case) read and written as GeoParquet."""

LAYER_SUFFIXES = {
    ".gpkg": "GPKG",
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".shp": "ESRI Shapefile",
    ".fgb": "FlatGeobuf",
}
"""File name suffixes (lower case) written through GDAL, with their driver."""

DATABASE_URL = re.compile(r"^postgres(?:ql)?(?:\+psycopg)?:/+", re.IGNORECASE)
"""A ``postgresql://`` URL (also as ``pathlib`` leaves it, one slash): a PostGIS table."""

SINGLE_LAYER_DRIVERS = {"GeoJSON", "ESRI Shapefile", "FlatGeobuf", "Parquet"}
"""Drivers whose files hold exactly one layer."""


def output_driver(path: str | os.PathLike) -> str:
    """The driver :func:`gridkit.io.files.write_layers` uses for ``path``, from its extension.

    A path without extension is a GeoPackage. Raises
    :class:`~gridkit.errors.LayerError` for an extension gridkit does not write.

    Examples
    --------
    >>> output_driver("grids.gpkg"), output_driver("grids"), output_driver("a.geojson")
    ('GPKG', 'GPKG', 'GeoJSON')
    >>> output_driver("postgresql://gis@localhost/city?table=grids")
    'PostGIS'
    """
    if DATABASE_URL.match(os.fspath(path)):
        return "PostGIS"
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        return "Parquet"
    if suffix in LAYER_SUFFIXES:
        return LAYER_SUFFIXES[suffix]
    if suffix == "":
        return "GPKG"
    raise LayerError(
        f"cannot tell the format of {os.fspath(path)!r} from its extension: use one of "
        f"{sorted(LAYER_SUFFIXES) + sorted(PARQUET_SUFFIXES)}"
    )
