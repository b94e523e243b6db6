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
from werkzeug.routing import IntegerConverter

READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: The largest id the databases take (PostgreSQL's INTEGER); a larger number in a query fails
#: in the database ("integer out of range"; on SQLite past 2**63, an OverflowError).
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """``<int:...>`` in URLs, up to ``MAX_ID``: a larger number is no id of ours, so the URL
    does not match (404) instead of failing in the database."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):
        super().__init__(map, fixed_digits, min, max, signed)


def page_number() -> int:
    """Return the request's ``?page=`` (1 when missing or not a number), at most ``MAX_ID``,
    so that the page's OFFSET fits the database's integers (a page past the last is empty)."""
    return min(request.args.get("page", 1, type=int), MAX_ID)


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
