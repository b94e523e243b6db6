"""SQLite's write lock: who takes it, for how long, and how long a writer waits for it.

The processes here are real ones (``flask shell``, a script with the app), as the write lock and
the writers' queue are shared between the processes of a site. Every wait is bounded, so that a
regression fails a test instead of hanging the suite.
"""

from __future__ import annotations

import os
import queue
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import copy_context
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from surveyapp import create_app
from surveyapp.auth import operations
from surveyapp.database import (
    WriterQueue,
    reading,
    shell_context,
    sqlite_begin_statement,
    writing,
)
from surveyapp.extensions import db as _db
from surveyapp.models import LoginFailure, Role, User

from .conftest import TEST_PASSWORD, FormClient, _test_config

pytestmark = pytest.mark.only_on("sqlite")

ROOT = Path(__file__).resolve().parent.parent
#: Long enough for a process to start and import the app on a busy machine; a test that fails
#: waits this long, one that passes far less.
PATIENCE = 20
#: A writer that waits for nobody commits well within this (the busy timeout is 30 s).
PROMPT = 5.0


# --- Helpers ----------------------------------------------------------------------------------


class Process:
    """A process of the app on the test's database, fed its input line by line."""

    def __init__(self, args: list[str], database_url: str, instance: Path):
        env = {key: value for key, value in os.environ.items()
               if not key.startswith("SURVEYAPP_")}
        env.update(SURVEYAPP_DATABASE_URL=database_url, SURVEYAPP_INSTANCE_PATH=str(instance),
                   PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
        self.popen = subprocess.Popen(
            [sys.executable, *args], cwd=ROOT, env=env, text=True, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.lines.put(line)

    def send(self, *lines: str) -> None:
        assert self.popen.stdin is not None
        self.popen.stdin.write("".join(line + "\n" for line in lines))
        self.popen.stdin.flush()

    def wait_for(self, marker: str) -> None:
        """Wait until the process prints ``marker`` (it has done what came before)."""
        deadline = time.monotonic() + PATIENCE
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                if self.popen.poll() is not None:
                    break
                continue
            self.output.append(line)
            if marker in line:
                return
        pytest.fail(f"the process never printed {marker!r}:\n{''.join(self.output)}")

    def stop(self) -> None:
        self.popen.kill()
        self.popen.wait(timeout=PATIENCE)
        for stream in (self.popen.stdin, self.popen.stdout):
            if stream is not None:
                stream.close()


@contextmanager
def process(app: Flask, tmp_path: Path, args: list[str], *lines: str) -> Iterator[Process]:
    """Run the app in another process, send it ``lines``, and wait until it prints "ready"."""
    proc = Process(args, app.config["SQLALCHEMY_DATABASE_URI"], tmp_path / "other-instance")
    try:
        proc.send(*lines, 'print("re" + "ady")')  # not "ready" in the echoed input
        proc.wait_for("ready")
        yield proc
    finally:
        proc.stop()


def idle_shell(app: Flask, tmp_path: Path) -> AbstractContextManager[Process]:
    """``flask shell`` after one read query, left idle at its prompt."""
    return process(
        app, tmp_path, ["-m", "flask", "--app", "surveyapp", "shell"],
        "from sqlalchemy import text",
        "from surveyapp.extensions import db",
        'db.session.execute(text("SELECT count(*) FROM user_account")).scalar()',
    )


def writer_holding_the_lock(app: Flask, tmp_path: Path) -> AbstractContextManager[Process]:
    """A script that has written and not committed: it holds SQLite's write lock (and its
    turn in the writers' queue) until it is stopped."""
    script = (
        "from sqlalchemy import text\n"
        "from surveyapp import create_app\n"
        "from surveyapp.extensions import db\n"
        "app = create_app()\n"
        "app.app_context().push()\n"
        "db.session.execute(text(\"DELETE FROM login_failure WHERE key = 'nothing'\"))\n"
        "exec(input())\n"  # the print of "ready"
        "input()\n"
    )
    return process(app, tmp_path, ["-c", script])


def timed_in_thread(work: Callable[[], object], timeout: float = PATIENCE):
    """Run ``work`` in a thread; return (seconds it took or None if still running after
    ``timeout``, its result or exception). A thread still running is left to finish when
    whatever blocks it goes away."""
    outcome: dict[str, object] = {}

    def run() -> None:
        start = time.monotonic()
        try:
            outcome["result"] = work()
        except BaseException as error:  # noqa: BLE001 - handed to the test
            outcome["result"] = error
        outcome["seconds"] = time.monotonic() - start

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    return outcome.get("seconds"), outcome.get("result")


def wrong_sign_in(client: FormClient):
    """A failed sign-in: a POST that writes (the failure is stored)."""
    return client.submit("/login", {"email": "nobody@example.test", "password": "wrong"})


def failures() -> int:
    return _db.session.scalar(select(func.count(LoginFailure.id))) or 0


@pytest.fixture
def impatient_app(app) -> Flask:
    """A second app on the same database whose writers wait 0.5 s at most."""
    config = _test_config(app.config["SQLALCHEMY_DATABASE_URI"])
    other = create_app({**config, "SQLITE_BUSY_TIMEOUT": 0.5, "PROPAGATE_EXCEPTIONS": False})
    other.test_client_class = FormClient
    yield other
    with other.app_context():
        _db.engine.dispose()


# --- Readers never keep a writer waiting --------------------------------------------------------


def test_an_idle_flask_shell_that_has_read_keeps_no_writer_waiting(app, client, tmp_path):
    with idle_shell(app, tmp_path):
        seconds, response = timed_in_thread(lambda: wrong_sign_in(client))
        assert seconds is not None and seconds < PROMPT, "the writer waited for the idle shell"
    assert response.status_code == 200, response
    with app.app_context():
        assert failures() == 2  # the account as tried from the client, and the client


def test_flask_shell_reads_by_default_and_writes_when_told(app):
    # In a context of its own: the shell's default lasts as long as the thread's context.
    copy_context().run(_shell_reads_by_default_and_writes_when_told, app)


def _shell_reads_by_default_and_writes_when_told(app):
    with app.app_context():
        namespace = shell_context()
        assert sqlite_begin_statement() == "BEGIN"
        with pytest.raises(OperationalError, match="readonly"):
            _db.session.add(LoginFailure(key="client:shell"))
            _db.session.commit()
        _db.session.rollback()
        with namespace["writing"]():
            assert sqlite_begin_statement() == "BEGIN IMMEDIATE"
            _db.session.add(LoginFailure(key="client:shell"))
        assert failures() == 1


# --- A writer waits no longer than the busy timeout ---------------------------------------------


def test_a_writer_whose_turn_does_not_come_fails_within_the_busy_timeout(
    impatient_app, tmp_path
):
    client = impatient_app.test_client()
    client.csrf_token("/login")  # the first request (and its page) before the clock starts
    with writer_holding_the_lock(impatient_app, tmp_path):
        seconds, response = timed_in_thread(lambda: wrong_sign_in(client))
        assert seconds is not None, "the writer was still waiting for its turn"
    assert 0.4 < seconds < 10
    # The error page a locked database gives: "try again in a moment".
    assert response.status_code == 500
    assert "Try again in a moment" in response.get_data(as_text=True)


def test_a_writer_that_waits_its_turn_gets_it_the_moment_the_lock_is_given_back(tmp_path):
    path = str(tmp_path / "queue.lock")
    holder, waiter = WriterQueue(path, 10), WriterQueue(path, 10)  # two open files: two writers
    assert holder.enter()
    threading.Timer(0.3, holder.leave).start()

    seconds, entered = timed_in_thread(waiter.enter)

    assert entered is True
    assert seconds is not None and 0.2 < seconds < 2
    waiter.leave()


def test_a_writer_that_gave_up_leaves_the_queue_free_for_the_next(tmp_path):
    path = str(tmp_path / "queue.lock")
    holder, waiter = WriterQueue(path, 10), WriterQueue(path, 0.2)
    assert holder.enter()
    seconds, error = timed_in_thread(waiter.enter, timeout=5)
    assert seconds is not None and seconds < 2, "the waiter was still waiting"
    assert isinstance(error, sqlite3.OperationalError)
    assert str(error) == "database is locked"
    holder.leave()

    # The lock that the waiter's process took for it after it had gone is given back ...
    assert holder.enter()
    holder.leave()
    # ... and the waiter's next turn comes at once.
    waiter.timeout = 2
    assert waiter.enter()
    waiter.leave()


# --- Signing in checks the password without the write lock ----------------------------------


def test_signing_in_holds_no_write_lock_while_it_checks_the_password(
    app, client, make_user, monkeypatch
):
    user = make_user(Role.HR, email="slow@example.test")
    user_id, email = user.id, user.email
    _db.session.remove()
    verifying, release = threading.Event(), threading.Event()
    verify = operations.verify_password

    def slow_verify(password_hash: str, password: str) -> bool:
        verifying.set()
        release.wait(PATIENCE)
        return verify(password_hash, password)

    monkeypatch.setattr(operations, "verify_password", slow_verify)
    client.csrf_token("/login")
    signing_in = threading.Thread(target=lambda: client.submit(
        "/login", {"email": email, "password": TEST_PASSWORD}))
    signing_in.start()
    try:
        assert verifying.wait(PATIENCE)

        def write() -> None:
            with app.app_context():
                _db.session.add(LoginFailure(key="client:elsewhere"))
                _db.session.commit()

        seconds, error = timed_in_thread(write)
        assert error is None
        assert seconds is not None and seconds < PROMPT, "the writer waited for the hash"
    finally:
        release.set()
        signing_in.join(PATIENCE)
    with app.app_context():
        assert _db.session.get(User, user_id).last_login_at is not None


# --- reading() and writing() --------------------------------------------------------------------


def test_reading_begins_deferred_and_refuses_writes(app):
    with app.app_context():
        with reading():
            assert sqlite_begin_statement() == "BEGIN"
            assert _db.session.execute(text("PRAGMA query_only")).scalar() == 1
            with pytest.raises(OperationalError, match="readonly"):
                _db.session.execute(text("DELETE FROM login_failure"))
        # The next transaction writes as before.
        assert sqlite_begin_statement() == "BEGIN IMMEDIATE"
        assert _db.session.execute(text("PRAGMA query_only")).scalar() == 0
        _db.session.add(LoginFailure(key="client:after"))
        _db.session.commit()
        assert failures() == 1


def test_writing_takes_the_write_lock_even_in_a_read_only_request(app):
    with app.test_request_context("/", method="GET"):
        assert sqlite_begin_statement() == "BEGIN"
        _db.session.execute(text("SELECT 1"))  # a read transaction in progress
        with writing():
            assert sqlite_begin_statement() == "BEGIN IMMEDIATE"
            _db.session.add(LoginFailure(key="client:get"))
        assert not _db.session().in_transaction()  # the block committed what it began
        assert failures() == 1
        _db.session.remove()


def test_writing_joins_a_transaction_that_holds_the_write_lock(app):
    with app.test_request_context("/", method="POST"):
        _db.session.add(LoginFailure(key="client:outer"))
        _db.session.flush()
        with writing():
            _db.session.add(LoginFailure(key="client:inner"))
        assert _db.session().in_transaction()  # the caller's to commit
        _db.session.rollback()
        assert failures() == 0
        _db.session.remove()


def test_reading_refuses_to_begin_over_changes_not_flushed(app):
    with app.app_context():
        _db.session.add(LoginFailure(key="client:pending"))
        with pytest.raises(RuntimeError, match="not flushed"), reading():
            pass
        _db.session.rollback()
