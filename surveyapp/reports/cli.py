"""``flask --app surveyapp report ...``: a closed round's results as PDF or CSV files.

    report ROUND_ID [--team PATH] --format pdf|csv [--output FILE]
    report ROUND_ID --all-teams --output DIR [--jobs N]

Without --team the report is the whole organisation's (its CSV holds the organisation and every
team of the round). ``--team`` takes the team's path as it stood in the round
("Operations/Customer Care"), in any case. Every output follows the same confidentiality rules
as the pages: a hidden group's CSV rows keep their labels with every figure empty, and its PDF
shows no figures. The CSV (header ``team,capability,respondents,answers,mean,favourable_pct,
neutral_pct,unfavourable_pct,notice``, no byte-order mark; stdout without --output; see
export.py) is a contract for scripts; its ``notice`` column, like a line on stderr and the PDF,
says when the round's survey links were exported.

``--all-teams`` writes the organisation's PDF and every team's into DIR: those prepared when
the round closed (``storage.py``) at once, the others rendered by one worker process per core;
each worker builds its own app, so no database connection crosses a process boundary.
Files are named after the team's path ("Operations-Customer-Care.pdf"; the organisation's is
"<organisation>-whole-organisation.pdf"). Every file is written under a temporary name and
renamed once complete, so a file that exists is finished: a second run skips it, and an
interrupted run can simply be started again.

Exit codes: 0 done; 1 no such round, a round that is not closed, or a PDF that failed;
2 bad arguments (an unknown team path, options that do not go together).
"""

from __future__ import annotations

import difflib
import multiprocessing
import os
import pickle
import sys
from dataclasses import dataclass

import click
from flask import current_app
from flask.cli import with_appcontext

from ..analysis.confidentiality import ORGANISATION
from ..analysis.report import RoundContext
from ..database import reading
from ..extensions import db
from ..models import Round, RoundStatus
from ..orgtree import PATH_SEPARATOR, split_path
from ..rounds.link_exports import notice_text, recorded_exports
from .export import csv_rows, to_csv
from .pdf import pdf_inputs, render_pdf
from .queries import load_context
from .storage import PDF, file_names, stored_report


@dataclass(frozen=True)
class Job:
    """One PDF for a worker to render."""

    round_id: int
    group_id: int
    path: str


@click.command("report")
@click.argument("round_id", type=int)
@click.option("--team", "team_path", metavar="PATH",
              help="The team's path in the round, e.g. “Operations/Customer Care” "
                   "(default: the whole organisation).")
@click.option("--all-teams", is_flag=True,
              help="Write the PDF of the organisation and of every team into the folder --output.")
@click.option("--format", "file_format", type=click.Choice(["pdf", "csv"]), default="pdf",
              show_default=True, help="PDF report, or CSV of the aggregate figures.")
@click.option("--output", type=click.Path(), metavar="FILE",
              help="The file to write (a folder with --all-teams). A CSV goes to stdout without it.")
@click.option("--jobs", type=click.IntRange(min=1), metavar="N",
              help="Worker processes for --all-teams (default: one per core).")
@with_appcontext
@reading()  # keeps no writer of the site waiting, however long it takes
def report_command(round_id, team_path, all_teams, file_format, output, jobs):
    """Write the report of a closed round as a PDF or CSV file."""
    if all_teams and team_path:
        raise click.UsageError("Use --team or --all-teams, not both.")
    if all_teams and file_format != "pdf":
        raise click.UsageError("--all-teams writes PDFs. For every team's figures in one CSV, "
                               "leave out --all-teams and --team.")
    if all_teams and not output:
        raise click.UsageError("--all-teams needs --output DIR, the folder to write the PDFs to.")
    if file_format == "pdf" and not output:
        raise click.UsageError("A PDF needs --output FILE.")
    if output and not all_teams and os.path.isdir(output):
        raise click.UsageError(f"{output} is a folder: give --output a file name.")
    round_ = closed_round(round_id)
    organisation = current_app.config["ORGANISATION_NAME"]
    ctx = load_context(round_)
    notice = notice_text(recorded_exports(round_.id))
    if notice:  # the files say it too
        click.echo(f"Note: {notice}", err=True)
    if all_teams:
        write_all_teams(round_, ctx, organisation, output, jobs or usable_cores())
        return
    group_id = ORGANISATION if team_path is None else find_team(ctx, team_path)
    name = ctx.path(group_id, organisation)
    if file_format == "csv":
        text = to_csv(csv_rows(ctx, group_id, ctx.require_tallies(), organisation, notice=notice))
        db.session.rollback()
        if output:
            write_output(output, text.encode("utf-8"))
            click.echo(f"Wrote the figures of {name} in “{round_.name}” to {output}.", err=True)
        else:
            click.echo(text, nl=False)
        return
    inputs = pdf_inputs(round_, group_id, organisation, ctx)
    db.session.rollback()  # end the read transaction before the slow part
    write_output(output, render_pdf(inputs.report, inputs.aggregates, inputs.exports))
    click.echo(f"Wrote the report of {name} in “{round_.name}” to {output}.", err=True)


def closed_round(round_id: int) -> Round:
    """:raise ClickException: (exit 1) no such round, or one that has not closed yet."""
    round_ = db.session.get(Round, round_id)
    if round_ is None:
        raise click.ClickException(f"There is no round {round_id}.")
    if round_.status != RoundStatus.CLOSED:
        raise click.ClickException(
            f"Round {round_id} (“{round_.name}”) is {RoundStatus.LABELS[round_.status].lower()}: "
            "results are published only after a round has closed."
        )
    return round_


def find_team(ctx: RoundContext, path: str) -> int:
    """The id of the round's team at ``path``, matched without regard to case or spaces.

    :raise BadParameter: (exit 2) when no team of the round has that path.
    """
    wanted = PATH_SEPARATOR.join(split_path(path)).casefold()
    by_path = {team.path.casefold(): team.team_id for team in ctx.teams.values()}
    if wanted in by_path:
        return by_path[wanted]
    message = (f"no team of round {ctx.info.round_id} (“{ctx.info.name}”) has the path “{path}”. "
               "Write the full path from the top, e.g. “Operations/Customer Care”.")
    close = difflib.get_close_matches(wanted, list(by_path), n=1)
    if close:
        message += f" Did you mean “{ctx.teams[by_path[close[0]]].path}”?"
    raise click.BadParameter(message, param_hint="--team")


def usable_cores() -> int:
    """The cores this process may run on (fewer than the machine's under a CPU affinity mask)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def write_output(path: str, data: bytes) -> None:
    """:raise ClickException: (exit 1) when the file cannot be written."""
    try:
        write_atomically(path, data)
    except OSError as error:
        raise click.ClickException(f"Could not write {path}: {error.strerror}.") from error


def write_atomically(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder, renamed at the
    end, so that a crash never leaves a partial file under the final name."""
    folder, name = os.path.split(os.path.abspath(path))
    temporary = os.path.join(folder, f".{name}.part")
    with open(temporary, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temporary, path)


def write_all_teams(round_: Round, ctx: RoundContext, organisation: str, folder: str,
                    jobs: int) -> None:
    """Render the PDF of the organisation and every team that is not in ``folder`` yet.

    :raise ClickException: (exit 1) naming the PDFs that failed, after rendering the rest.
    """
    names = file_names(ctx, organisation)
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as error:
        message = f"Could not create the folder {folder}: {error.strerror}."
        raise click.ClickException(message) from error
    pending = [Job(round_.id, group_id, os.path.join(folder, name))
               for group_id, name in names.items()
               if not os.path.exists(os.path.join(folder, name))]
    copied = copy_stored(pending)
    pending = [job for job in pending if job.path not in copied]
    # Largest groups first: a group's PDF grows with its people (their ideas) and its teams
    # (its heatmap), from a dozen pages to hundreds, so the long ones start at once and the
    # short ones fill in, instead of one long PDF keeping a worker busy after the rest are done.
    invited = {group_id: ctx.invited(group_id) for group_id in names}
    pending.sort(key=lambda job: (-invited[job.group_id], job.path))
    done = len(names) - len(pending) - len(copied)
    db.session.rollback()  # the workers read on their own connections
    if copied:
        click.echo(f"Wrote {len(copied)} PDF{'' if len(copied) == 1 else 's'} prepared when "
                   "the round closed.", err=True)
    if not pending:
        click.echo(f"All {len(names)} PDFs are already in {folder}: nothing to do."
                   if not copied else f"All {len(names)} PDFs are in {folder}.", err=True)
        return
    failures = []
    context = multiprocessing.get_context("spawn")
    with context.Pool(min(jobs, len(pending)), initializer=start_worker,
                      initargs=(worker_config(),)) as pool:
        with click.progressbar(length=len(pending), label="Rendering PDFs", file=sys.stderr,
                               show_pos=True) as bar:
            for path, failure in pool.imap_unordered(render_job, pending):
                if failure:
                    failures.append(f"{os.path.basename(path)}: {failure}")
                bar.update(1)
        pool.close()
        pool.join()
    written = len(pending) - len(failures)
    click.echo(f"Wrote {written} PDF{'' if written == 1 else 's'} to {folder}"
               + (f" ({done} already there)." if done else "."), err=True)
    if failures:
        raise click.ClickException("These PDFs failed; run the command again to retry them:\n  "
                                   + "\n  ".join(failures))


def copy_stored(jobs: list[Job]) -> set[str]:
    """Write the PDFs of these jobs that were stored when the round closed (and are current:
    ``storage.py``); return their paths."""
    copied = set()
    for job in jobs:
        pdf = stored_report(job.round_id, job.group_id, PDF)
        if pdf is not None:
            write_output(job.path, pdf)
            copied.add(job.path)
    return copied


def worker_config() -> dict:
    """The app's configuration, for the workers to build the same app (picklable values only)."""
    config = {}
    for key, value in current_app.config.items():
        try:
            pickle.dumps(value)
        except (pickle.PicklingError, TypeError, AttributeError):
            continue
        config[key] = value
    return config


def start_worker(config: dict) -> None:
    """Build this worker process's own app (and so its own database engine) and enter it."""
    # Imported here: the app factory registers this command, so this module is loaded while
    # the package is still initialising, and only a worker process needs the factory.
    from .. import create_app

    create_app(config).app_context().push()


def render_job(job: Job) -> tuple[str, str | None]:
    """Render one PDF in a worker: (path, None) when written, (path, the error) when not."""
    try:
        # Read without SQLite's write lock, and end the read before rendering.
        with reading():
            round_ = db.session.get(Round, job.round_id)
            if round_ is None:
                raise LookupError(f"round {job.round_id} no longer exists")
            # The worker's app keeps the round's context (and the previous round's) between jobs.
            inputs = pdf_inputs(round_, job.group_id, current_app.config["ORGANISATION_NAME"],
                                load_context(round_))
        write_atomically(job.path, render_pdf(inputs.report, inputs.aggregates, inputs.exports))
    except Exception as error:  # one failed PDF must not stop the others; the parent reports it
        db.session.rollback()
        return job.path, f"{type(error).__name__}: {error}"
    return job.path, None
