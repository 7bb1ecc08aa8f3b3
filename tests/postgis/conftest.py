"""A real PostgreSQL + PostGIS server for the tests, on loopback, in a temporary folder.

Debian's ``postgresql`` and ``postgresql-15-postgis-3`` are installed when
missing (as root, like the browser tests install Chromium; skipped with the
reason when apt-get cannot run, failed on CI). The cluster is made with
``initdb`` as the ``postgres`` system user (PostgreSQL refuses to run as
root), password authentication (SCRAM) on a free TCP port of 127.0.0.1, and
stopped and removed when the session ends.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from browser import ensure_debian_packages

PACKAGES = ("postgresql", "postgresql-15-postgis-3")
BIN = Path("/usr/lib/postgresql/15/bin")
USER, PASSWORD, DATABASE = "gridkit", "s3cret-pw", "office"


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    user: str
    password: str
    database: str

    def url(self, table: str | None = None, *, password: bool = True) -> str:
        auth = f"{self.user}:{self.password}" if password else self.user
        query = f"?table={table}" if table else ""
        return f"postgresql://{auth}@{self.host}:{self.port}/{self.database}{query}"

    def connect(self):
        import psycopg

        return psycopg.connect(host=self.host, port=self.port, user=self.user,
                               password=self.password, dbname=self.database, autocommit=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--", *cmd]


def _run(cmd: list[str], **kw) -> None:
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kw)
    if res.returncode != 0:
        pytest.fail(f"`{' '.join(cmd)}` failed: {(res.stderr or res.stdout).strip()[-800:]}")


@pytest.fixture(scope="session")
def postgis_server():
    ensure_debian_packages(PACKAGES, why="PostGIS tests need a PostgreSQL server")
    folder = Path(tempfile.mkdtemp(prefix="gridkit-pg-"))
    data = folder / "data"
    pwfile = folder / "pw"
    pwfile.write_text(PASSWORD + "\n")
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        for p in (folder, pwfile):
            os.chown(p, entry.pw_uid, entry.pw_gid)
    port = _free_port()
    _run(_as_postgres([str(BIN / "initdb"), "-D", str(data), "-U", USER, "-E", "UTF8",
                       "--auth-host=scram-sha-256", "--auth-local=trust",
                       f"--pwfile={pwfile}"]))
    log = folder / "server.log"
    _run(_as_postgres([str(BIN / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60",
                       "-o", f"-p {port} -k {folder} -c listen_addresses=127.0.0.1", "start"]))
    server = Server("127.0.0.1", port, USER, PASSWORD, DATABASE)
    try:
        import psycopg

        with psycopg.connect(host=server.host, port=port, user=USER, password=PASSWORD,
                             dbname="postgres", autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {DATABASE}")
        with server.connect() as conn:
            conn.execute("CREATE EXTENSION postgis")
            conn.execute("CREATE SCHEMA work")
        yield server
    finally:
        subprocess.run(_as_postgres([str(BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w",
                                     "stop"]), capture_output=True, timeout=120)
        shutil.rmtree(folder, ignore_errors=True)
