"""Engine set-up that depends on the database: SQLite pragmas and write transactions.

SQLite gets WAL (readers never wait for the writer), foreign keys and a busy timeout. Only one
connection at a time may write, so when a transaction takes SQLite's write lock decides who
waits for whom:

- A transaction that may write begins with ``BEGIN IMMEDIATE``, which takes the write lock at
  once. A deferred transaction that reads and then writes cannot wait for the lock: it fails at
  once with "database is locked" when another writer holds it or committed since its read.
  Taking the lock at ``BEGIN`` lets concurrent writers wait their turn instead.
- A transaction that only reads begins with a plain deferred ``BEGIN``: it never takes the write
  lock, so it never keeps a writer waiting, however long it stays open.

Which one a transaction is follows from where it runs, unless the code says otherwise:

- In a request, the method decides: GET, HEAD and OPTIONS read, every other method may write.
- Outside a request (CLI commands, migrations, the demo data, tests) every transaction may
  write. These paths read and then write, and a deferred transaction would make each of them
  fail now and then under a live site's writers, a failure no test would show. Forgetting to
  declare a read costs at worst some waiting; forgetting to declare a write would lose work.
- ``with reading():`` declares that the block only reads: on SQLite its transaction begins
  deferred and is read-only (``PRAGMA query_only``, so that a write in it fails every time
  instead of now and then). For slow read-only work outside a request (rendering a round's
  PDFs), and for the read that comes first in a request that writes later (signing in checks
  the password, a slow hash, between its read and its write).
- ``with writing():`` declares that the block writes: its transaction takes the write lock at
  ``BEGIN`` wherever it runs (in ``flask shell``, inside ``reading()``, in a GET request).
- ``flask shell`` reads by default, so that a shell left idle after a query holds no lock;
  its namespace has ``db``, ``reading`` and ``writing``; change data in ``with writing():``.

Each block is a transaction of its own: it commits the session's transaction in progress when it
starts (an error if the session has unflushed changes), and commits what it began when it ends
(rolls back on an exception). ``writing()`` inside a transaction that already holds the write
lock (a POST request) just joins it. On PostgreSQL neither changes how a transaction begins
(row locks are taken by the statements that need them); the blocks still mark transactions.

Deleted rows leave nothing readable behind: ``secure_delete`` overwrites them with zeros, and
after a commit that deleted what should not linger (``checkpoint_after_commit``: a round's
pending responses and drafts when it closes) the WAL is checkpointed and truncated.

Writers wait for their turn in ``WriterQueue`` before ``BEGIN IMMEDIATE``: SQLite's busy handler
lets a writer that finds the database locked sleep and try again, backing off to 100 ms a sleep,
so under load the lock sits idle while the writers sleep (submits at p99 took a second). In the
queue, the kernel wakes the next writer the moment one commits. No writer waits in the queue
longer than the busy timeout (``SQLITE_BUSY_TIMEOUT``): then it fails with SQLite's own
"database is locked", as it would have from SQLite's busy handler.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from flask import current_app, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from werkzeug.routing import IntegerConverter

from .extensions import db

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


def reading_connection() -> Connection:
    """A connection of its own for a request that only reads, to use in a ``with`` block.

    On PostgreSQL it reads in autocommit, so that it ends with no ROLLBACK: psycopg forgets its
    prepared statements at every ROLLBACK, and without them PostgreSQL plans every query again
    (planning the survey's five-table lookup took four times as long as running it).
    """
    connection = db.engine.connect()
    if connection.dialect.name == "postgresql":
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
    return connection


#: The intent that ``reading()`` and ``writing()`` declare for the transactions of their block.
READ, WRITE = "read", "write"
_intent: ContextVar[str | None] = ContextVar("surveyapp_database_intent", default=None)
#: Keys of a DBAPI connection's ``info``: whether its transaction began with the write lock,
#: and whether it is read-only (``PRAGMA query_only``), which outlasts the transaction.
_WRITE_LOCK = "surveyapp_write_lock"
_QUERY_ONLY = "surveyapp_query_only"


def sqlite_begin_statement() -> str:
    """Return the BEGIN statement for the current context (see module docstring)."""
    intent = _intent.get()
    if intent == READ or (
        intent is None and has_request_context() and request.method in READ_ONLY_METHODS
    ):
        return "BEGIN"
    return "BEGIN IMMEDIATE"


@contextmanager
def reading() -> Iterator[None]:
    """Run the block in a transaction that only reads (see module docstring): on SQLite it
    takes no write lock and keeps no writer waiting, and a write in it fails.

    :raise RuntimeError: the session has changes not yet flushed (they would be committed
        first, or fail as writes in the block).
    """
    _end_transaction(keep_write_lock=False)
    token = _intent.set(READ)
    try:
        with _own_transaction():
            yield
    finally:
        _intent.reset(token)


@contextmanager
def writing() -> Iterator[None]:
    """Run the block in a transaction that writes (see module docstring): on SQLite it takes
    the write lock at ``BEGIN``, after its turn in the queue, so that what it reads stays true
    until it commits. A block that began its transaction commits it at the end (rolls it back
    on an exception); inside a transaction that already holds the write lock it only joins.

    :raise RuntimeError: the session has changes not yet flushed, made in a transaction without
        the write lock.
    """
    if _end_transaction(keep_write_lock=True):
        yield
        return
    token = _intent.set(WRITE)
    try:
        with _own_transaction():
            yield
    finally:
        _intent.reset(token)


def _end_transaction(*, keep_write_lock: bool) -> bool:
    """Commit the session's transaction in progress, if any, so that the block begins its own;
    with ``keep_write_lock``, keep one that holds SQLite's write lock (or any on PostgreSQL,
    where a transaction holds no lock for being one) and return True."""
    session = db.session()
    if not session.in_transaction():
        return False
    if keep_write_lock:
        connection = session.connection()
        if connection.dialect.name != "sqlite" or connection.info.get(_WRITE_LOCK):
            return True
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("the session has changes that are not flushed: commit them (or roll "
                           "them back) before reading() or writing() begins a transaction")
    session.commit()
    return False


@contextmanager
def _own_transaction() -> Iterator[None]:
    """Commit the session's transaction after the block, or roll it back after an exception."""
    try:
        yield
    except BaseException:
        db.session.rollback()
        raise
    db.session.commit()


def shell_context() -> dict[str, object]:
    """``flask shell`` reads by default: a shell left idle after a query must hold no lock
    that the site's writers would wait for. Its namespace offers what it takes to write."""
    _intent.set(READ)  # for the rest of the shell's thread: the shell runs in it
    print("This shell only reads, so that it keeps none of the site's writers waiting: "
          "change data inside `with writing():`.", file=sys.stderr)
    return {"db": db, "reading": reading, "writing": writing}


def database_is_locked() -> sqlite3.OperationalError:
    """SQLite's own error for a writer that waited out the busy timeout."""
    return sqlite3.OperationalError("database is locked")


class WriterQueue:
    """SQLite's writers of every process, taking turns: an exclusive ``flock`` on a file beside
    the database, taken just before ``BEGIN IMMEDIATE`` and released once the transaction has
    ended (``QueuedConnection``). Threads of one process take turns on a lock first, as a flock
    belongs to an open file, not to a thread.

    No writer waits longer than ``timeout`` for its turn: it then fails with "database is
    locked". ``flock`` itself cannot wait for a limited time, and polling it would let the
    writers of one process, which ask again the moment one ends, keep those of the others
    waiting; so when the lock is taken, a helper thread waits in ``flock`` for the process and
    hands the lock to the writer whose turn it is, or gives it back if that writer has gone.

    The queue only orders who asks for SQLite's lock, which still decides: a writer on a second
    connection of a thread that already has a turn goes on without one, to SQLite's busy
    handler (and its timeout) as before.
    """

    def __init__(self, path: str, timeout: float):
        self.path = path
        self.timeout = timeout
        self._pid = -1

    def _open(self) -> None:
        # Once per process: a forked worker must not share its parent's open file (a flock
        # belongs to it) nor its locks, and has none of its threads.
        self._turn = threading.Lock()
        self._holder: int | None = None
        self._flock = threading.Condition()
        self._helper_waiting = False  # a helper thread is blocked in flock
        self._handed_over = False  # the helper took the flock for the writer in turn
        self._wanted = False  # the writer in turn waits for the helper
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self._pid = os.getpid()

    def enter(self) -> bool:
        """Wait for this writer's turn. :return: whether it has one (and must ``leave``).

        :raise sqlite3.OperationalError: "database is locked", when the turn has not come
            within ``timeout`` seconds.
        """
        if self._pid != os.getpid():
            self._open()
        if self._holder == threading.get_ident():
            return False
        deadline = time.monotonic() + self.timeout
        if not self._turn.acquire(timeout=self.timeout):
            raise database_is_locked()
        try:
            self._lock_file(deadline)
        except BaseException:
            self._turn.release()
            raise
        self._holder = threading.get_ident()
        return True

    def leave(self) -> None:
        self._holder = None
        try:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._turn.release()

    def _lock_file(self, deadline: float) -> None:
        """Take the flock for the writer in turn (which holds ``_turn``) by ``deadline``."""
        with self._flock:
            # While a helper waits in flock, flock must not be asked again on the same open
            # file: the helper's call would then return at once, and give the lock back.
            if not self._helper_waiting:
                try:
                    fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return
                except BlockingIOError:
                    self._helper_waiting = True
                    threading.Thread(target=self._wait_in_flock, daemon=True,
                                     name="sqlite-writer-queue").start()
            self._wanted = True
            try:
                while not self._handed_over:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise database_is_locked()
                    self._flock.wait(left)
                self._handed_over = False
            finally:
                self._wanted = False

    def _wait_in_flock(self) -> None:
        """The helper thread: wait in flock, then hand the lock over or give it back."""
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except OSError:  # the writer waiting, if any, runs out of time
            with self._flock:
                self._helper_waiting = False
            return
        with self._flock:
            self._helper_waiting = False
            if self._wanted:
                self._handed_over = True
                self._flock.notify()
            else:
                fcntl.flock(self._fd, fcntl.LOCK_UN)


class QueuedConnection(sqlite3.Connection):
    """A sqlite3 connection that gives up its turn in the ``WriterQueue`` once its transaction
    has ended: after the DBAPI commit or rollback itself (SQLAlchemy's events fire before)."""

    writers: WriterQueue | None = None
    in_turn = False

    def wait_for_turn(self) -> None:
        if self.writers is not None and not self.in_turn:
            self.in_turn = self.writers.enter()

    def give_up_turn(self) -> None:
        if self.in_turn:
            if self.writers is None:
                raise AssertionError("in turn without a writer queue to leave")
            self.in_turn = False
            self.writers.leave()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.give_up_turn()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.give_up_turn()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.give_up_turn()


def writer_queue(engine: Engine, timeout: float) -> WriterQueue | None:
    """The queue of a file database's writers; None for an in-memory one (one connection)."""
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return WriterQueue(os.path.abspath(database) + "-writers.lock", timeout)


def configure_sqlite(engine: Engine, busy_timeout_seconds: float) -> None:
    """Install the pragmas and transaction handling described in the module docstring."""
    writers = writer_queue(engine, busy_timeout_seconds)

    @event.listens_for(engine, "do_connect")
    def _on_do_connect(_dialect, _record, _cargs, cparams):
        if writers is not None:
            cparams["factory"] = QueuedConnection

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        if isinstance(dbapi_connection, QueuedConnection):
            dbapi_connection.writers = writers
        # Take transaction control away from the sqlite3 module, which would otherwise issue
        # its own deferred BEGIN; SQLAlchemy's "begin" event below issues ours.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_seconds * 1000)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        statement = sqlite_begin_statement()
        dbapi_connection = connection.connection.dbapi_connection
        queued = statement == "BEGIN IMMEDIATE" and isinstance(dbapi_connection, QueuedConnection)
        try:
            _set_query_only(dbapi_connection, connection.info, _intent.get() == READ)
            if queued:
                dbapi_connection.wait_for_turn()
            # On the DBAPI connection itself: through SQLAlchemy, BEGIN cost as much as a query.
            dbapi_connection.execute(statement)
        except BaseException as error:
            if queued:
                dbapi_connection.give_up_turn()
            if isinstance(error, sqlite3.Error):
                raise DBAPIError.instance(statement, None, error, sqlite3.Error) from error
            raise
        connection.info[_WRITE_LOCK] = statement == "BEGIN IMMEDIATE"


def _set_query_only(dbapi_connection: sqlite3.Connection, info: dict, query_only: bool) -> None:
    """Make the connection read-only for a ``reading()`` transaction, and writable again for
    the next one that is not (the pragma belongs to the connection, not to the transaction)."""
    if info.get(_QUERY_ONLY, False) != query_only:
        dbapi_connection.execute(f"PRAGMA query_only={int(query_only)}")
        info[_QUERY_ONLY] = query_only


def checkpoint_after_commit() -> None:
    """Once the session's transaction commits, copy SQLite's WAL into the database and
    truncate it, so that the WAL keeps no copy of the rows the transaction deleted (they are
    zeroed in the database itself by ``secure_delete``). Nothing on PostgreSQL."""
    db.session.info["checkpoint_after_commit"] = True


@event.listens_for(Session, "after_commit")
def _checkpoint(session: Session) -> None:
    # SQLAlchemy calls this for a savepoint's release too: the outer transaction is still open
    # then, and a checkpoint would wait out the busy timeout for it and truncate nothing.
    if session.in_nested_transaction() or not session.info.pop("checkpoint_after_commit", False):
        return
    bind = session.get_bind()
    if bind.dialect.name != "sqlite":
        return
    if not isinstance(bind, Engine):
        raise TypeError("the session must be bound to an engine, not to a connection")
    connection = bind.raw_connection()
    try:
        driver_connection = connection.driver_connection
        if driver_connection is None:
            raise AssertionError("the pool gave out a connection without its DBAPI connection")
        busy, _, _ = driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            current_app.logger.warning("SQLite's WAL could not be truncated after a round "
                                       "closed (a reader held it); it will be at the next "
                                       "checkpoint.")
    finally:
        connection.close()


@event.listens_for(Session, "after_rollback")
def _no_checkpoint(session: Session) -> None:
    # A savepoint rolled back (one round that could not close) leaves the outer transaction's
    # deletions, and their checkpoint, in place.
    if not session.in_nested_transaction():
        session.info.pop("checkpoint_after_commit", None)
