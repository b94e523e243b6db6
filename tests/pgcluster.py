"""A throwaway PostgreSQL cluster for the test suite: a temp dir, a unix socket, no TCP.

``initdb`` refuses to run as root, so when the suite runs as root the cluster is created and run
by a system user ``pgtest`` (created on first use). Start-up takes about a second.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

PG_USER = "pgtest"


def find_bindir() -> Path:
    """Return the folder holding ``initdb`` and ``pg_ctl``.

    :raise RuntimeError: with install advice when PostgreSQL's server is not installed.
    """
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        candidates.insert(0, out.stdout.strip())
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(str(Path(initdb).parent))
    for folder in candidates:
        if folder and (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    raise RuntimeError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found: install them with "
        "'apt-get install postgresql-15' (Debian 12), or set SURVEYAPP_TEST_DATABASE_URL "
        "to a database the tests may wipe."
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_pg_user(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", PG_USER, "--", *cmd]


def _ensure_pg_user() -> None:
    if os.geteuid() != 0:
        return
    try:
        pwd.getpwnam(PG_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_USER],
            check=True,
        )


@dataclass
class Cluster:
    folder: Path
    port: int
    bindir: Path

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@/postgres?host={self.folder}&port={self.port}"

    def url_for(self, dbname: str) -> str:
        return f"postgresql+psycopg://postgres@/{dbname}?host={self.folder}&port={self.port}"

    def createdb(self, dbname: str) -> str:
        subprocess.run(
            _as_pg_user([str(self.bindir / "createdb"), "-h", str(self.folder), "-p",
                         str(self.port), "-U", "postgres", dbname]),
            check=True, capture_output=True,
        )
        return self.url_for(dbname)

    def restart(self, extra_options: str = "") -> None:
        """Restart the server with ``extra_options`` after the suite's (later ``-c`` wins), e.g.
        ``"-c fsync=on"`` for a benchmark that must not measure the suite's unsafe settings."""
        result = subprocess.run(
            _as_pg_user([str(self.bindir / "pg_ctl"), "-D", str(self.folder / "data"), "-o",
                         f"{_server_options(self.folder, self.port)} {extra_options}", "-l",
                         str(self.folder / "server.log"), "-w", "-t", "60", "restart"]),
            capture_output=True, text=True,
        )
        if result.returncode != 0:
            raise RuntimeError(f"PostgreSQL did not restart: {result.stderr}")

    def stop(self) -> None:
        subprocess.run(
            _as_pg_user([str(self.bindir / "pg_ctl"), "-D", str(self.folder / "data"),
                         "-m", "immediate", "-w", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(self.folder, ignore_errors=True)


def _server_options(folder: Path, port: int) -> str:
    # Durability off: the suite's data is thrown away, and fsync would only slow it down.
    return (
        f"-c listen_addresses='' -c unix_socket_directories='{folder}' -c port={port} "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )


def start_cluster() -> Cluster:
    """Create and start a cluster; the caller must ``stop()`` it."""
    bindir = find_bindir()
    _ensure_pg_user()
    folder = Path(tempfile.mkdtemp(prefix="surveyapp-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, PG_USER, PG_USER)
    port = free_port()
    data = folder / "data"
    subprocess.run(
        _as_pg_user([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                     "-E", "UTF8", "--locale=C", "--no-sync"]),
        check=True, capture_output=True,
    )
    options = _server_options(folder, port)
    result = subprocess.run(
        _as_pg_user([str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l",
                     str(folder / "server.log"), "-w", "-t", "60", "start"]),
        capture_output=True, text=True,
    )
    if result.returncode != 0:
        log = (folder / "server.log").read_text() if (folder / "server.log").exists() else ""
        raise RuntimeError(f"PostgreSQL did not start: {result.stderr}\n{log}")
    return Cluster(folder, port, bindir)


# --- Extra databases on the same server (for tests that need a truly empty database) ---------


def create_database(server_url: str, name: str) -> str:
    """Create database ``name`` on the server of ``server_url``; return the URL to it.

    ``server_url`` is any database URL on that server (e.g. the ``pg_cluster`` fixture's); the
    user in it must be allowed to create databases.
    """
    url = make_url(server_url)
    engine = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        engine.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str, name: str) -> None:
    """Drop database ``name`` on the server of ``server_url``, closing its connections."""
    url = make_url(server_url)
    engine = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        engine.dispose()
