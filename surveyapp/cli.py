"""Command-line interface: ``flask --app surveyapp COMMAND``.

Each feature keeps its commands beside its operations; this module only registers them.
"""

from __future__ import annotations

from flask import Flask

from .accounts.cli import create_admin_command
from .demo import seed_demo_command
from .directory.cli import import_people_command
from .jobs.worker import worker_command
from .reports.cli import report_command
from .rounds.cli import round_group


def register(app: Flask) -> None:
    for command in (create_admin_command, import_people_command, seed_demo_command, round_group,
                    report_command, worker_command):
        app.cli.add_command(command)
