"""Workers for the queue's tests: ``flask --app surveyapp worker`` in a process of its own,
on the test's database and queue, as in production."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from flask import Flask


def worker_environment(app: Flask, **overrides: str) -> dict[str, str]:
    """The environment of a worker process that shares ``app``'s database, key and queue."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("SURVEYAPP_")}
    config = app.config
    env |= {
        "SURVEYAPP_INSTANCE_PATH": app.instance_path,
        "SURVEYAPP_SECRET_KEY": config["SECRET_KEY"],
        "SURVEYAPP_DATABASE_URL": config["SQLALCHEMY_DATABASE_URI"],
        "SURVEYAPP_QUEUE_URL": config["QUEUE_URL"],
        "SURVEYAPP_QUEUE_NAME": config["QUEUE_NAME"],
        "SURVEYAPP_BASE_URL": config["BASE_URL"],
        "SURVEYAPP_MAIL_SERVER": config["MAIL_SERVER"],
        "SURVEYAPP_MAIL_PORT": str(config["MAIL_PORT"]),
    }
    return env | overrides


@contextmanager
def running_worker(app: Flask, *args: str, **env: str) -> Iterator[subprocess.Popen]:
    """A worker process on ``app``'s queue until the block ends (then stopped, gracefully).
    Its log goes to a file (a pipe nobody reads would stop it once full), printed at the end,
    which pytest shows when the test fails."""
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed once the worker has stopped)
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "surveyapp", "worker", *args],
        env=worker_environment(app, **env), stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True)
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.seek(0)
        print(log.read().decode(errors="replace"))
        log.close()


def wait_for(condition: Callable[[], object], timeout: float = 60, what: str = "") -> object:
    """Poll ``condition`` until it returns something true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"waited {timeout} s {what or 'for a worker'}")
        time.sleep(0.1)
