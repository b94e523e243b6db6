"""The Huey instance behind ``Jobs``: which storage, how jobs run, and the web server's worker.

Huey was chosen for its size and its two storages (docs/ARCHITECTURE.md, "Background jobs"):
Redis for production, and a SQLite file for one host with nothing else installed, both with
its scheduler for the jobs that run by the clock.
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Callable
from pathlib import Path

from flask import Flask, g, has_request_context
from huey import Huey, RedisHuey, SqliteHuey, crontab
from huey.consumer import Consumer

from ..extensions import db
from . import JOBS, Job

#: The queue file in the instance folder when ``QUEUE_URL`` is empty.
SQLITE_QUEUE_FILE = "jobs.sqlite3"
IMMEDIATE = "immediate"
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")

log = logging.getLogger(__name__)


class AppQueue:
    """One app's queue: its Huey (None in ``immediate`` mode) and what enqueues each job."""

    def __init__(self, app: Flask) -> None:
        self.mode = mode(app.config["QUEUE_URL"])
        self.huey = make_huey(app)
        self.tasks = register(app, self.huey)
        #: The worker a web server process runs itself, once started (see below).
        self.web_consumer: Consumer | None = None
        start_worker_in_web(app, self)

    def enqueue(self, declared: Job, *args, **kwargs) -> None:
        self.tasks[declared.name](*args, **kwargs)


class QueueConfigurationError(ValueError):
    """``QUEUE_URL`` names no queue this app knows."""


def mode(url: str) -> str:
    """"immediate", "sqlite" (an empty URL) or "redis", from ``QUEUE_URL``."""
    if url == IMMEDIATE:
        return IMMEDIATE
    if not url:
        return "sqlite"
    if url.startswith(REDIS_SCHEMES):
        return "redis"
    raise QueueConfigurationError(
        f"QUEUE_URL must be empty (a SQLite file in the instance folder), a Redis URL "
        f"(redis://host:6379/0, unix:///path/redis.sock) or {IMMEDIATE!r}; it is {url!r}.")


def make_huey(app: Flask) -> Huey | None:
    """The app's Huey; None in ``immediate`` mode, which runs jobs without one."""
    url = app.config["QUEUE_URL"]
    name = app.config["QUEUE_NAME"]
    kind = mode(url)
    if kind == IMMEDIATE:
        return None
    if kind == "redis":
        return RedisHuey(name, url=url, results=False, utc=True)
    return SqliteHuey(name, filename=str(Path(app.instance_path) / SQLITE_QUEUE_FILE),
                      results=False, utc=True)


def register(app: Flask, huey: Huey | None) -> dict[str, Callable[..., object]]:
    """Give every declared job to ``huey``; return, by job name, what enqueues each."""
    _import_features()
    if huey is None:
        return {name: _immediately(app, declared) for name, declared in JOBS.items()}
    tasks: dict[str, Callable[..., object]] = {}
    for name, declared in JOBS.items():
        runner = _in_app_context(app, declared)
        if declared.schedule:
            tasks[name] = huey.periodic_task(crontab(**declared.schedule), name=name)(runner)
        else:
            tasks[name] = huey.task(retries=declared.retries, retry_delay=declared.retry_delay,
                                    name=name)(runner)
    return tasks


def _import_features() -> None:
    """Import the modules that declare jobs, so that ``JOBS`` holds them all."""
    from ..reports import jobs as _reports  # noqa: F401
    from ..rounds import jobs as _rounds  # noqa: F401


def _in_app_context(app: Flask, declared: Job) -> Callable[..., None]:
    def run(*args, **kwargs) -> None:
        with app.app_context():
            declared.function(*args, **kwargs)

    run.__name__ = run.__qualname__ = declared.name.rpartition(".")[2]
    return run


def _immediately(app: Flask, declared: Job) -> Callable[..., None]:
    """Run the job now, on a thread of its own (so with no request, user or session of the
    caller's, as on a worker), and wait for it. In a request: once the request has ended."""
    runner = _in_app_context(app, declared)

    def run_on_a_thread(*args, **kwargs) -> None:
        failure: list[BaseException] = []

        def target() -> None:
            try:
                runner(*args, **kwargs)
            except BaseException as error:  # noqa: BLE001 (reported on the caller's thread)
                failure.append(error)

        worker = threading.Thread(target=target, name=f"job {declared.name}")
        worker.start()
        worker.join()
        if failure:
            # A worker logs a failed job and goes on; so does the request that enqueued it.
            log.error("Job %s failed", declared.name, exc_info=failure[0])

    def enqueue(*args, **kwargs) -> None:
        if declared.schedule:
            raise TypeError(f"{declared.name} runs by the clock: call it to run it now")
        if has_request_context():
            g.setdefault("jobs_after_request", []).append((run_on_a_thread, args, kwargs))
            return
        if db.session().in_transaction():
            # On a worker the job would wait for this transaction's end; here it would wait
            # for itself (SQLite) or miss what is not committed yet.
            raise RuntimeError(f"{declared.name} was enqueued inside a transaction: commit "
                               "(or roll back) first, so that the job sees the work it does")
        run_on_a_thread(*args, **kwargs)

    return enqueue


def run_jobs_after_request(_error: BaseException | None = None) -> None:
    """Run what an ``immediate`` request enqueued, once its own transaction has ended."""
    pending = g.pop("jobs_after_request", [])
    if pending:
        db.session.remove()
    for run, args, kwargs in pending:
        run(*args, **kwargs)


class WebConsumer(Consumer):
    """Huey's consumer on background threads of a web server process: the server owns the
    signals, so this one installs no handlers and is stopped at exit."""

    def _set_signal_handlers(self) -> None:
        return None


def start_worker_in_web(app: Flask, queue: AppQueue) -> None:
    """With the SQLite queue and ``QUEUE_WORKER_IN_WEB``, have each web server process run a
    worker thread and the clock, from its first request (so not in CLI commands)."""
    app.teardown_request(run_jobs_after_request)
    if queue.huey is None or queue.mode != "sqlite" or not app.config["QUEUE_WORKER_IN_WEB"]:
        return
    starting = threading.Lock()

    @app.before_request
    def start_consumer() -> None:
        if queue.web_consumer is not None or not starting.acquire(blocking=False):
            return
        consumer = WebConsumer(queue.huey, workers=1, worker_type="thread", max_delay=2.0)
        consumer.start()
        queue.web_consumer = consumer
        atexit.register(consumer.stop, graceful=False)
