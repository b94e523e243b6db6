"""The benchmark's databases: built once, cached, and copied fresh for every run.

The cache lives in ``.artifacts/bench/<sizes>-<key>/``: the SQLite file, a ``pg_dump`` of the
same data and the manifest. The key hashes everything that shapes the data (the models, the
migrations, the instrument, the generator), so a schema change builds a new database and an
unchanged one is reused. Every run works on a copy, because the load runs add responses.

PostgreSQL runs in a throwaway cluster (tests/pgcluster.py). The data is restored with the
suite's fast settings, then the server restarts with production durability (fsync and
synchronous commits on) before anything is measured.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.pgcluster import Cluster, start_cluster

from . import build
from .organisation import Sizes

ROOT = Path(__file__).resolve().parent.parent
#: What goes into the cache key: everything that changes the built database.
KEY_SOURCES = (
    "surveyapp/models.py", "surveyapp/migrations/versions", "surveyapp/instrument",
    "surveyapp/demo_results.py", "surveyapp/demo.py", "surveyapp/analysis/tally.py",
    "surveyapp/rounds/tallies.py", "benchmarks/build.py", "benchmarks/organisation.py",
)
#: Production-like PostgreSQL for the measurements (the suite's cluster turns durability off).
PG_OPTIONS = ("-c fsync=on -c synchronous_commit=on -c full_page_writes=on "
              "-c shared_buffers=1GB -c max_connections=200")


def cache_key(sizes: Sizes) -> str:
    digest = hashlib.sha256(repr(sizes).encode())
    for name in KEY_SOURCES:
        path = ROOT / name
        files = sorted(path.rglob("*")) if path.is_dir() else [path]
        for file in files:
            if file.is_file() and "__pycache__" not in file.parts:
                digest.update(file.relative_to(ROOT).as_posix().encode())
                digest.update(file.read_bytes())
    return digest.hexdigest()[:12]


@dataclass
class Cache:
    folder: Path
    sizes: Sizes

    @property
    def sqlite(self) -> Path:
        return self.folder / "bench.sqlite3"

    @property
    def dump(self) -> Path:
        return self.folder / "bench.pgdump"

    @property
    def manifest_file(self) -> Path:
        return self.folder / "manifest.json"


def open_cache(root: Path, sizes: Sizes, log) -> Cache:
    """The cache folder for ``sizes`` with the SQLite database built (older keys removed)."""
    key = cache_key(sizes)
    root = root.resolve()
    cache = Cache(root / f"{sizes.name}-{key}", sizes)
    for old in root.glob(f"{sizes.name}-*"):
        if old.resolve() != cache.folder:
            shutil.rmtree(old, ignore_errors=True)
    cache.folder.mkdir(parents=True, exist_ok=True)
    if not cache.manifest_file.exists():
        log(f"Building the {sizes.name} organisation (cached in {cache.folder})")
        started = time.perf_counter()
        partial = cache.folder / "building.sqlite3"
        manifest = build.build_sqlite(partial, sizes, log=log)
        partial.replace(cache.sqlite)
        manifest.save(cache.manifest_file)
        log(f"  built in {time.perf_counter() - started:.0f} s")
    return cache


def sqlite_copy(cache: Cache, folder: Path) -> str:
    """A fresh copy of the cached SQLite database in ``folder``; returns its URL."""
    target = folder / "bench.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(cache.sqlite, target)
    return f"sqlite:///{target}"


class Postgres:
    """A throwaway cluster holding a fresh copy of the cached database."""

    def __init__(self, log):
        self.log = log
        self.cluster: Cluster | None = None

    def start(self) -> Cluster:
        if self.cluster is None:
            self.cluster = start_cluster()
        return self.cluster

    def tool(self, name: str, *args: str) -> None:
        cluster = self.start()
        subprocess.run([str(cluster.bindir / name), "-h", str(cluster.folder), "-p",
                        str(cluster.port), "-U", "postgres", *args], check=True)

    def prepare(self, cache: Cache, dbname: str = "bench") -> str:
        """Restore the cached dump (making it first if needed) into ``dbname``; return its URL."""
        cluster = self.start()
        if not cache.dump.exists():
            self.log("Copying the organisation to PostgreSQL (cached as a dump)")
            self.tool("createdb", "bench_build")
            build.copy_to_postgresql(cache.sqlite, cluster.url_for("bench_build"), log=self.log)
            partial = cache.folder / "building.pgdump"
            self.tool("pg_dump", "-Fc", "-Z", "1", "-f", str(partial), "bench_build")
            partial.replace(cache.dump)
            self.tool("dropdb", "bench_build")
        started = time.perf_counter()
        self.tool("dropdb", "--if-exists", dbname)
        self.tool("createdb", dbname)
        self.tool("pg_restore", "-j", "2", "--no-owner", "-d", dbname, str(cache.dump))
        url = cluster.url_for(dbname)
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            # VACUUM too: otherwise autovacuum sets about the millions of restored rows during
            # the measurements, on one of the two cores.
            conn.execute(text("VACUUM (ANALYZE)"))
        engine.dispose()
        self.log(f"  restored PostgreSQL in {time.perf_counter() - started:.0f} s")
        cluster.restart(PG_OPTIONS)
        return url

    def empty_database(self, dbname: str) -> str:
        self.tool("dropdb", "--if-exists", dbname)
        self.tool("createdb", dbname)
        return self.start().url_for(dbname)

    def version(self) -> str:
        cluster = self.start()
        out = subprocess.run([str(cluster.bindir / "postgres"), "--version"], capture_output=True,
                             text=True)
        return out.stdout.strip()

    def stop(self) -> None:
        if self.cluster is not None:
            self.cluster.stop()
            self.cluster = None
