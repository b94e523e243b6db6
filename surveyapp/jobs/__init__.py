"""Long work on a job queue (Huey): e-mail, closing rounds, rendering reports.

A feature declares its jobs beside its operations, as plain functions of plain arguments
(ids, not rows: a job runs later, in another process, with a database session of its own)::

    @job(retries=3, retry_delay=60)
    def close_round(round_id: int) -> None: ...

    close_round.enqueue(round_.id)        # after the commit that made the work due

and the jobs that run by the clock with ``@every(minute="*")``. ``Jobs.init_app`` gives each
app a Huey instance of its own, chosen by ``QUEUE_URL`` (``queue.py``):

- ``redis://...`` (or ``rediss://``, ``unix://``): Redis, for production and several hosts;
  ``flask --app surveyapp worker`` runs the workers and the clock (``worker.py``).
- empty (the default): a SQLite file in the instance folder. The web server then runs one
  worker thread and the clock itself (``QUEUE_WORKER_IN_WEB``), so the demo and a small
  installation need nothing more; ``flask worker`` works on that file too.
- ``immediate``: each job runs at once, in the process that enqueues it (the tests).

Every job runs in an application context of its own, so with a session of its own: a job
enqueued in ``immediate`` mode from a view commits nothing of the view's. The queue is a
courier, not a record: what a job must achieve lives in the database (a round past its date,
a report missing), and the jobs that run by the clock find and finish work a killed worker
left undone. Enqueue only after the commit that made the work due, so that the job sees it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, ParamSpec

from flask import Flask, current_app

P = ParamSpec("P")

#: Every job, by name (the module and function: "surveyapp.rounds.jobs.close_round").
JOBS: dict[str, Job] = {}


@dataclass(frozen=True)
class Job(Generic[P]):
    """A function that runs on the queue. Call it to run it here and now."""

    name: str
    function: Callable[P, None]
    retries: int = 0
    retry_delay: int = 0
    #: For jobs that run by the clock: crontab fields (``{"minute": "*"}``), in UTC.
    schedule: dict[str, str] = field(default_factory=dict)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> None:
        self.function(*args, **kwargs)

    def enqueue(self, *args: P.args, **kwargs: P.kwargs) -> None:
        """Put the job on the current app's queue (in ``immediate`` mode: run it now)."""
        current_app.extensions["jobs"].enqueue(self, *args, **kwargs)


def job(*, retries: int = 0, retry_delay: int = 0) -> Callable[[Callable[P, None]], Job[P]]:
    """Declare a job. ``retries``: how often the queue runs it again after an error, waiting
    ``retry_delay`` seconds each time (a job must be safe to run again)."""

    def declare(function: Callable[P, None]) -> Job[P]:
        return _register(Job(f"{function.__module__}.{function.__name__}", function,
                             retries, retry_delay))

    return declare


def every(**crontab: str) -> Callable[[Callable[[], None]], Job[[]]]:
    """Declare a job that runs by the clock: ``@every(minute="*/5")`` (crontab fields, UTC).

    Several workers may each run it at the same minute: it must be safe to run twice at once.
    """

    def declare(function: Callable[[], None]) -> Job[[]]:
        return _register(Job(f"{function.__module__}.{function.__name__}", function,
                             schedule=dict(crontab)))

    return declare


def _register(declared: Job) -> Job:
    if declared.name in JOBS:
        raise ValueError(f"two jobs are named {declared.name}")
    JOBS[declared.name] = declared
    return declared


class Jobs:
    """The Flask extension: ``init_app`` gives the app its queue, ``app.extensions["jobs"]``
    (a ``queue.AppQueue``)."""

    def init_app(self, app: Flask) -> None:
        from .queue import AppQueue  # the features' jobs import this module: build it after

        app.extensions["jobs"] = AppQueue(app)
