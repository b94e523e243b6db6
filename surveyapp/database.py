"""Engine set-up that depends on the database: SQLite pragmas and write transactions.

SQLite gets WAL (readers never wait for the writer), foreign keys, a busy timeout, and
``BEGIN IMMEDIATE`` for every transaction that may write: a request with a state-changing method,
or any work outside a request (CLI commands, tests). A deferred transaction that reads and then
writes cannot wait for the lock and fails at once with "database is locked"; taking the write lock
at ``BEGIN`` lets SQLite's busy timeout queue concurrent writers instead. Read-only requests
(GET, HEAD) use a plain deferred ``BEGIN`` so that they never wait for a writer.
"""

from __future__ import annotations

from flask import has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def sqlite_begin_statement() -> str:
    """Return the BEGIN statement for the current context (see module docstring)."""
    if has_request_context() and request.method in READ_ONLY_METHODS:
        return "BEGIN"
    return "BEGIN IMMEDIATE"


def configure_sqlite(engine: Engine, busy_timeout_seconds: float) -> None:
    """Install the pragmas and transaction handling described in the module docstring."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Take transaction control away from the sqlite3 module, which would otherwise issue
        # its own deferred BEGIN; SQLAlchemy's "begin" event below issues ours.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_seconds * 1000)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql(sqlite_begin_statement())
