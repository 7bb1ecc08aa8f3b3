"""PostGIS tables as sources and outputs: ``postgresql://USER[:PASSWORD]@HOST[:PORT]/DB?table=T``.

``table=`` is ``TABLE`` or ``SCHEMA.TABLE`` (default schema ``public``); other
query parameters go to libpq as they are (``sslmode=require``...). What the
URL leaves out (user, password, host, port) comes from the usual ``PG*``
environment variables and ``~/.pgpass``, as for ``psql``. The password is never
printed: messages name the source with it masked.

Reading goes through SQLAlchemy and psycopg (GDAL in the pyogrio wheels has no
PostgreSQL driver): the table's geometry column and SRID come from PostGIS's
``geometry_columns``.

Writing is the database's version of :mod:`gridkit.io.atomic`: the rows go
into a staging table in one transaction (created, filled by ``COPY``, given
its spatial index); only when the whole command succeeded does a second
transaction drop the old table and rename the staging table in its place, so
readers see the old table or the complete new one, never a part. The geometry
column is ``geom`` with the layer's SRID (its EPSG code) and a GiST index.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridkit.errors import LayerError, LayerNotFoundError
from gridkit.io.atomic import staged
from gridkit.io.formats import DATABASE_URL

__all__ = ["is_database", "DatabaseSource", "parse_database", "read_postgis_table",
           "list_tables", "write_tables", "GEOMETRY_COLUMN", "DatabaseTarget", "companion_table"]

GEOMETRY_COLUMN = "geom"
_SCHEME = DATABASE_URL


def _normal(source) -> str:
    """``source`` with the scheme written ``postgresql://`` (pathlib leaves one slash).

    >>> _normal("postgres:/gis@h/city"), _normal("postgresql:///city")
    ('postgresql://gis@h/city', 'postgresql:///city')
    """
    text = os.fspath(source)
    head = _SCHEME.match(text).group(0)
    slashes = len(head) - len(head.rstrip("/"))
    return "postgresql:" + ("//" if slashes == 1 else "/" * slashes) + text[len(head):]


def is_database(source) -> bool:
    """Whether ``source`` names a PostgreSQL/PostGIS table (a ``postgresql://`` URL).

    Examples
    --------
    >>> is_database("postgresql://gis@localhost/city?table=grids"), is_database("a.gpkg")
    (True, False)
    """
    return isinstance(source, str | os.PathLike) and bool(_SCHEME.match(os.fspath(source)))


@dataclass(frozen=True)
class DatabaseSource:
    """A parsed ``postgresql://`` source: connection parts, schema and table."""

    user: str | None
    password: str | None
    host: str | None
    port: int | None
    database: str | None
    schema: str
    table: str | None
    params: tuple[tuple[str, str], ...] = ()

    @property
    def label(self) -> str:
        """The source as written, password masked (for messages)."""
        auth = self.user or ""
        if self.password is not None:
            auth += ":***"
        host = (self.host or "") + (f":{self.port}" if self.port else "")
        where = f"{auth}@{host}" if auth else host
        table = f"?table={self.schema}.{self.table}" if self.table else ""
        return f"postgresql://{where}/{self.database or ''}{table}"

    def url(self) -> str:
        """The source as a URL again, password included (never print it: see :attr:`label`)."""
        auth = quote(self.user or "", safe="")
        if self.password is not None:
            auth += ":" + quote(self.password, safe="")
        host = (self.host or "") + (f":{self.port}" if self.port else "")
        query = list(self.params)
        if self.table:
            query.append(("table", f"{self.schema}.{self.table}"))
        elif self.schema != "public":
            query.append(("schema", self.schema))
        tail = f"?{urlencode(query, safe='.')}" if query else ""
        return f"postgresql://{auth + '@' if auth else ''}{host}/{quote(self.database or '')}{tail}"

    @property
    def name(self) -> str:
        """What ``gridkit info`` shows as the file: the database, password masked."""
        return self.without_table().label

    def without_table(self) -> DatabaseSource:
        """The database and schema alone (what ``--layers URL`` lists the tables of)."""
        return replace(self, table=None)

    def with_table(self, table: str) -> DatabaseSource:
        schema, name = _split_table(table, self.schema)
        return replace(self, schema=schema, table=name)

    def engine(self):
        """A SQLAlchemy engine (psycopg); libpq fills what the URL leaves out."""
        import sqlalchemy

        url = sqlalchemy.engine.URL.create(
            "postgresql+psycopg", username=self.user, password=self.password, host=self.host,
            port=self.port, database=self.database, query=dict(self.params))
        return sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)

    def clean(self, text: str) -> str:
        """``text`` (a driver's message) on one line, without the password."""
        text = " ".join(str(text).split())
        return text.replace(self.password, "***") if self.password else text


def _split_table(text: str, schema: str) -> tuple[str, str]:
    if "." in text:
        schema, text = text.split(".", 1)
    if not text:
        raise LayerError("table= names no table: give table=NAME or table=SCHEMA.NAME")
    return schema, text


def parse_database(source) -> DatabaseSource:
    """Split a ``postgresql://`` source into its parts.

    ``URL:NAME`` (as ``--layers URL`` builds for each layer) names the table
    too, when the URL has no ``table=``.

    Examples
    --------
    >>> s = parse_database("postgresql://gis:secret@db.local:5433/city?table=work.grids")
    >>> s.user, s.host, s.port, s.database, s.schema, s.table, s.label
    ('gis', 'db.local', 5433, 'city', 'work', 'grids', 'postgresql://gis:***@db.local:5433/city?table=work.grids')
    >>> s = parse_database("postgresql://gis@db.local:5433/city?schema=work:roads")
    >>> s.port, s.schema, s.table
    (5433, 'work', 'roads')
    """
    text = _normal(source)
    suffix = None
    rest = text[len("postgresql://"):]
    if "table=" not in text and "/" in rest and re.search(r":[\w.]+$", rest.rsplit("/", 1)[1]):
        text, suffix = text.rsplit(":", 1)  # URL:NAME, as --layers URL gives each layer
    parts = urlsplit(text)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    table = next((v for k, v in query if k == "table"), None) or suffix
    schema = next((v for k, v in query if k == "schema"), None) or "public"
    params = tuple((k, v) for k, v in query if k not in ("table", "schema"))
    name = None
    if table:
        schema, name = _split_table(table, schema)
    try:
        port = parts.port
    except ValueError as exc:
        raise LayerError(f"the port in {source!r} is not a number") from exc
    return DatabaseSource(
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        host=parts.hostname or None, port=port,
        database=unquote(parts.path.lstrip("/")) or None,
        schema=schema, table=name, params=params)


def _connect_error(src: DatabaseSource, exc: BaseException, verb: str) -> LayerError:
    orig = getattr(exc, "orig", None) or exc
    return LayerError(f"cannot {verb} {src.label}: {src.clean(orig)}")


def _geometry_columns(conn, src: DatabaseSource) -> list[tuple[str, int]]:
    from sqlalchemy import text

    rows = conn.execute(text(
        "SELECT f_geometry_column, srid FROM geometry_columns "
        "WHERE f_table_schema = :s AND f_table_name = :t"), {"s": src.schema, "t": src.table})
    return [(r[0], int(r[1])) for r in rows]


def list_tables(source) -> list[str]:
    """The tables with a geometry column in the URL's schema (``public`` unless told)."""
    from sqlalchemy import text

    src = parse_database(source)
    try:
        with src.engine().connect() as conn:
            rows = conn.execute(text(
                "SELECT DISTINCT f_table_name FROM geometry_columns WHERE f_table_schema = :s "
                "ORDER BY 1"), {"s": src.schema})
            return [r[0] for r in rows]
    except Exception as exc:  # sqlalchemy's OperationalError, ProgrammingError...
        raise _connect_error(src, exc, "read") from exc


def _quoted(src: DatabaseSource, table: str | None = None) -> str:
    def q(name: str) -> str:
        return '"' + name.replace('"', '""') + '"'
    return f"{q(src.schema)}.{q(table or src.table)}"


def read_postgis_table(source) -> gpd.GeoDataFrame | pd.DataFrame:
    """Read a table: a GeoDataFrame (CRS from its SRID), or a DataFrame when it has no geometry.

    Raises
    ------
    LayerNotFoundError
        No such table (the message lists the schema's geometry tables).
    LayerError
        No table named, or the server cannot be reached or refuses the login.
    """
    from sqlalchemy import text

    src = parse_database(source)
    if src.table is None:
        raise LayerError(f"{src.label} names no table: add ?table=NAME (or SCHEMA.NAME)")
    try:
        with src.engine().connect() as conn:
            exists = conn.execute(text("SELECT to_regclass(:t)"),
                                  {"t": _quoted(src)}).scalar()
            if exists is None:
                names = list_tables(source)
                raise LayerNotFoundError(
                    f"{src.label}: no table {src.schema}.{src.table}; the geometry tables in "
                    f"schema {src.schema!r} are {names}")
            columns = _geometry_columns(conn, src)
            sql = f"SELECT * FROM {_quoted(src)}"
            if not columns:
                return pd.read_sql(text(sql), conn)
            column, srid = columns[0]
            return gpd.read_postgis(text(sql), conn, geom_col=column,
                                    crs=srid if srid > 0 else None)
    except LayerError:
        raise
    except Exception as exc:  # sqlalchemy's OperationalError, ProgrammingError...
        raise _connect_error(src, exc, "read") from exc


_TYPES = (("b", "boolean"), ("i", "bigint"), ("u", "bigint"), ("f", "double precision"),
          ("M", "timestamp"))


def _sql_type(series: pd.Series) -> str:
    kind = getattr(series.dtype, "kind", "O")
    if isinstance(series.dtype, pd.BooleanDtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(series.dtype):
        return "bigint"
    return dict(_TYPES).get(kind, "text")


def _cell(value):
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def _geometry_sql(gdf: gpd.GeoDataFrame, label: str) -> tuple[str, int]:
    if gdf.crs is None:
        raise LayerError(f"{label}: the layer has no CRS; PostGIS needs an SRID")
    srid = gdf.crs.to_epsg()
    if srid is None:
        raise LayerError(f"{label}: the layer's CRS ({gdf.crs.name}) has no EPSG code, which "
                         "PostGIS needs as the SRID: reproject it (e.g. to EPSG:4490)")
    kinds = set(gdf.geom_type.dropna())
    kind = kinds.pop().upper() if len(kinds) == 1 else "GEOMETRY"
    return f"geometry({kind}, {srid})", srid


def _stage(conn, src: DatabaseSource, staging: str, gdf) -> None:
    """Create ``staging`` and fill it, in the caller's transaction."""
    from sqlalchemy import text

    is_geo = isinstance(gdf, gpd.GeoDataFrame) and gdf.geometry.name in gdf
    data = pd.DataFrame(gdf.drop(columns=gdf.geometry.name) if is_geo else gdf)
    data.columns = [str(c) for c in data.columns]
    columns = [(c, _sql_type(data[c])) for c in data.columns if c != GEOMETRY_COLUMN]
    defs = [f'"{c.replace(chr(34), chr(34) * 2)}" {t}' for c, t in columns]
    if is_geo:
        geom_type, srid = _geometry_sql(gdf, src.label)
        defs.append(f"{GEOMETRY_COLUMN} {geom_type}")
    conn.execute(text(f"DROP TABLE IF EXISTS {_quoted(src, staging)}"))
    conn.execute(text(f"CREATE TABLE {_quoted(src, staging)} ({', '.join(defs)})"))
    values = [data[c].astype(object).map(_cell).tolist() for c, _ in columns]
    if is_geo:
        geoms = shapely.set_srid(gdf.geometry.values, srid)
        values.append(list(shapely.to_wkb(geoms, hex=True, include_srid=True)))
    names = [f'"{c.replace(chr(34), chr(34) * 2)}"' for c, _ in columns]
    names += [GEOMETRY_COLUMN] if is_geo else []
    cursor = conn.connection.driver_connection.cursor()
    with cursor.copy(f"COPY {_quoted(src, staging)} ({', '.join(names)}) FROM STDIN") as copy:
        for row in zip(*values, strict=True):
            copy.write_row(row)
    if is_geo:
        conn.execute(text(f'CREATE INDEX "{staging}_geom_idx" ON {_quoted(src, staging)} '
                          f"USING gist ({GEOMETRY_COLUMN})"))


def _swap(src: DatabaseSource, staging: str) -> None:
    from sqlalchemy import text

    try:
        with src.engine().begin() as conn:
            conn.execute(text(f"DROP TABLE IF EXISTS {_quoted(src)}"))
            conn.execute(text(f'ALTER TABLE {_quoted(src, staging)} RENAME TO "{src.table}"'))
            conn.execute(text(f'ALTER INDEX IF EXISTS "{src.schema}"."{staging}_geom_idx" '
                              f'RENAME TO "{src.table[:50]}_geom_idx"'))
    except Exception as exc:
        raise _connect_error(src, exc, "write") from exc


def _drop(src: DatabaseSource, staging: str) -> None:
    from sqlalchemy import text

    with src.engine().begin() as conn:
        conn.execute(text(f"DROP TABLE IF EXISTS {_quoted(src, staging)}"))


def _targets(layers: Mapping, src: DatabaseSource) -> dict[str, DatabaseSource]:
    if len(layers) == 1:
        name = next(iter(layers))
        return {name: src if src.table else src.with_table(str(name))}
    out = {}
    for name in layers:
        table = name if not src.table else src.table if name == src.table else \
            f"{src.table}_{name}"
        out[name] = src.with_table(f"{src.schema}.{table}")
    return out


class DatabaseTarget(os.PathLike):
    """A written table: ``os.fspath`` gives the URL, ``str`` the URL with the password masked.

    What a writer returns, so that a command can print it (never the password)
    and still hand it on (``write_csv`` of a change table beside it).
    """

    def __init__(self, url: str) -> None:
        self.url = _normal(url)

    @property
    def name(self) -> str:
        """The database, password masked (as ``Path.name`` names a file)."""
        return parse_database(self.url).name

    def __fspath__(self) -> str:
        # the table's dots quoted (%2E, which the URL parser decodes): a caller that
        # derives a file beside it (Path(t).with_suffix(...)) keeps the table whole
        head, sep, rest = self.url.partition("table=")
        if not sep:
            return self.url
        table, amp, tail = rest.partition("&")
        return f"{head}table={table.replace('.', '%2E')}{amp}{tail}"

    def __str__(self) -> str:
        return parse_database(self.url).label

    __repr__ = __str__

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __eq__(self, other) -> bool:
        return isinstance(other, DatabaseTarget) and other.url == self.url

    def __hash__(self) -> int:
        return hash(self.url)


def companion_table(url) -> str:
    """The table for a file a command writes beside a table (``T.changes.csv`` -> ``T_changes``).

    Examples
    --------
    The table is the one of a :class:`DatabaseTarget` (its dots quoted as ``%2E``).

    >>> companion_table("postgresql:/gis@h/city?table=grids.changes.csv")
    'postgresql://gis@h/city?table=grids_changes'
    >>> companion_table("postgresql://gis@h/city?table=work%2Egrids.gpkg.changes.csv")
    'postgresql://gis@h/city?table=work.grids_changes'
    """
    text = _normal(url)
    head, sep, table = text.rpartition("table=")
    if not sep:
        return text
    table, amp, rest = table.partition("&")
    parts = [p for p in table.split(".") if p not in ("csv", "gpkg")]
    name = "_".join([unquote(parts[0]), *parts[1:]])
    return f"{head}table={name}{amp}{rest}"


def write_tables(layers: Mapping[str, gpd.GeoDataFrame], target) -> DatabaseTarget:
    """Write layers as tables, each replacing its table only when the command succeeds.

    One layer goes to the URL's ``table=`` (or a table named after the
    layer). Of several, the one named like ``table=`` goes there, the others
    to ``TABLE_LAYER`` (without ``table=``: ``LAYER``) in the URL's schema.
    Inside a ``with staged():`` block the tables are swapped in when the
    block ends, together with the files.
    """
    src = parse_database(target)
    if not layers:
        raise LayerError("nothing to write: no layers given")
    with staged() as out:
        for name, gdf in layers.items():
            dest = _targets(layers, src)[name]
            staging = f"{dest.table[:40]}__gridkit_new"
            try:
                with dest.engine().begin() as conn:
                    _stage(conn, dest, staging, gdf)
            except LayerError:
                raise
            except Exception as exc:
                raise _connect_error(dest, exc, "write") from exc
            out.external(lambda d=dest, s=staging: _swap(d, s),
                         lambda d=dest, s=staging: _drop(d, s))
    return DatabaseTarget(target)
