"""``flask --app surveyapp worker``: run the queue's jobs, and the ones that run by the clock.

Run one (or more, on any hosts) beside the web servers when ``QUEUE_URL`` names Redis. Stop it
with SIGINT or SIGTERM: it finishes the jobs under way first (a second signal stops at once).
A worker killed mid-job loses that job from the queue, not its work: the jobs that run by the
clock find what is left undone in the database and queue it again.
"""

from __future__ import annotations

import logging
import os

import click
from flask import current_app
from flask.cli import with_appcontext
from huey.consumer import Consumer

from ..extensions import db
from .queue import AppQueue


@click.command("worker")
@click.option("--workers", type=click.IntRange(min=1), metavar="N",
              help="Jobs run at once (default: one per core).")
@click.option("--threads", "use_threads", is_flag=True,
              help="Run them on threads of one process instead of a process each (rendering "
                   "PDFs then shares one core).")
@click.option("--no-clock", is_flag=True,
              help="Leave the jobs that run by the clock to another worker.")
@with_appcontext
def worker_command(workers: int | None, use_threads: bool, no_clock: bool) -> None:
    """Run the job queue's workers until stopped."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    jobs: AppQueue = app.extensions["jobs"]
    if jobs.huey is None:
        raise click.UsageError("QUEUE_URL is 'immediate': jobs run where they are enqueued, "
                               "so there is no queue to work on.")
    if app.config["QUEUE_WORKER_IN_WEB"] and jobs.mode == "sqlite":
        click.echo("Note: the web server runs a worker too (QUEUE_WORKER_IN_WEB); set it to "
                   "false when this worker is to do all the work.", err=True)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(processName)s %(name)s: %(message)s")
    for chatty in ("weasyprint", "fontTools"):  # a line per page laid out, per font subset
        logging.getLogger(chatty).setLevel(logging.WARNING)

    @jobs.huey.on_startup()
    def fresh_connections() -> None:
        # A forked worker must not use the connections its parent opened.
        with app.app_context():
            db.engine.dispose(close=False)

    db.session.remove()
    consumer = Consumer(jobs.huey, workers=workers or os.cpu_count() or 1,
                        worker_type="thread" if use_threads else "process",
                        periodic=not no_clock, max_delay=2.0, flush_locks=True)
    consumer.run()
