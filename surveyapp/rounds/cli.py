"""``flask --app surveyapp round ...``: rounds from the command line (and from cron).

The output of ``create`` (the new id alone on the last line of stdout) and of ``links`` (CSV
with the header ``email,name,team,url``, no byte-order mark) is a contract for scripts. Every
``links`` is recorded and shown on the round's reports (``link_exports.py``).
Errors go to stderr with a non-zero exit code: 2 for bad arguments (an unknown team path),
1 when the round refuses the change (the RoundError message).
"""

from __future__ import annotations

import csv
import sys
from datetime import timedelta

import click
from flask.cli import AppGroup
from sqlalchemy import select

from ..clock import today
from ..directory.queries import load_tree
from ..extensions import db
from ..models import MailBatch, Round, RoundStatus, Team
from ..orgtree import PATH_SEPARATOR, split_path
from ..reports.jobs import prepare_reports
from .invitations import (
    MailRequest,
    enqueue_batches,
    queue_invitations,
    queue_reminders,
    refused_invitations,
    send_batch,
)
from .jobs import close_if_due, due_round_ids
from .link_exports import export_links
from .operations import (
    DEFAULT_MIN_GROUP,
    RoundError,
    close_round,
    create_round,
    groups_below_minimum,
    launch_round,
)
from .progress import RoundCount, round_counts, round_progress

round_group = AppGroup("round", help="Create, launch and close rounds; send invitations.")

DAY = click.DateTime(formats=["%Y-%m-%d"])


def _round(round_id: int) -> Round:
    """:raise ClickException: (exit 1) when there is no such round."""
    round_ = db.session.get(Round, round_id)
    if round_ is None:
        raise click.ClickException(f"There is no round {round_id}.")
    return round_


def _teams(paths: tuple[str, ...]) -> list[Team]:
    """The teams at ``paths`` ("Operations/Customer Care"), matched without regard to case.

    :raise BadParameter: (exit 2) naming every path that matches no team.
    """
    by_path = load_tree().by_path()
    ids, unknown = [], []
    for path in paths:
        key = PATH_SEPARATOR.join(split_path(path)).casefold()
        (ids.append(by_path[key]) if key in by_path else unknown.append(path))
    if unknown:
        raise click.BadParameter(
            "no team has the path " + ", ".join(f"“{p}”" for p in unknown)
            + ". Write the full path from the top, e.g. “Operations/Customer Care”.",
            param_hint="--team",
        )
    return list(db.session.scalars(select(Team).where(Team.id.in_(ids))))


@round_group.command("create")
@click.option("--name", required=True, help="The round's name, e.g. “Autumn 2026”.")
@click.option("--team", "team_paths", required=True, multiple=True,
              help="A team path such as “Operations/Customer Care” (repeatable); "
                   "each team includes every team below it.")
@click.option("--opens", type=DAY, help="First day to answer, YYYY-MM-DD (default: today).")
@click.option("--closes", type=DAY,
              help="Last day to answer, YYYY-MM-DD (default: 14 days after opening).")
@click.option("--min-group", type=int, default=DEFAULT_MIN_GROUP, show_default=True,
              help="Fewest responses behind any score shown (at least 3).")
@click.option("--min-comment-group", type=int,
              help="Fewest responses behind any comment shown (default: --min-group).")
def create_command(name, team_paths, opens, closes, min_group, min_comment_group):
    """Create a draft round; print its id alone on the last line."""
    now = today()
    opens_on = opens.date() if opens else now
    closes_on = closes.date() if closes else opens_on + timedelta(days=14)
    teams = _teams(team_paths)
    try:
        round_ = create_round(name=name, teams=teams, opens_on=opens_on, closes_on=closes_on,
                              today=now, min_group_size=min_group,
                              min_comment_group_size=min_comment_group)
    except RoundError as error:
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"Created the draft round “{round_.name}”, open {opens_on} to {closes_on}.",
               err=True)
    click.echo(round_.id)


@round_group.command("launch")
@click.argument("round_id", type=int)
def launch_command(round_id):
    """Launch a draft round: freeze its survey and invite everyone in its teams."""
    round_ = _round(round_id)
    small = groups_below_minimum(round_) if round_.status == RoundStatus.DRAFT else []
    try:
        invited = launch_round(round_, today=today())
    except RoundError as error:
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"Launched “{round_.name}”: {invited} people invited.")
    minimum = round_.min_group_size
    if invited < minimum:
        click.echo(f"Note: fewer than {minimum} people are invited, so no result of this round "
                   "and no count of who took part will ever be shown.", err=True)
    elif small:
        click.echo(f"Note: these teams have fewer than {minimum} people invited; their results "
                   "and how many of them took part are never shown on their own (their answers "
                   "count only in the groups above them): " + "; ".join(small) + ".", err=True)


@round_group.command("close")
@click.argument("round_id", type=int)
def close_command(round_id):
    """Close an open round now."""
    round_ = _round(round_id)
    try:
        close_round(round_)
    except RoundError as error:
        raise click.ClickException(str(error)) from error
    db.session.commit()
    prepare_reports.enqueue(round_id)
    click.echo(f"Closed “{round_.name}”. Its reports are queued to be prepared.")


@round_group.command("close-due")
def close_due_command():
    """Close every open round whose closing date has passed, or that HR asked to close.

    A worker does this every minute; this command is for when none runs."""
    closed = sum(close_if_due(round_id) for round_id in due_round_ids())
    click.echo(f"Closed {closed} round{'' if closed == 1 else 's'}.")


@round_group.command("links")
@click.argument("round_id", type=int)
@click.option("--output", type=click.Path(dir_okay=False, writable=True),
              help="Write the CSV to this file instead of stdout.")
def links_command(round_id, output):
    """Write the personal links of everyone who has not submitted as CSV: email,name,team,url.

    The export is recorded (as made by "the command line") and shown on every report of the
    round. Refused when the organisation has switched link export off (LINK_EXPORT).
    """
    round_ = _round(round_id)
    try:
        rows = export_links(round_, user=None)
    except RoundError as error:
        raise click.ClickException(str(error)) from error
    db.session.commit()  # recorded before a single link leaves
    if output:
        with open(output, "w", newline="", encoding="utf-8") as f:
            csv.writer(f, lineterminator="\n").writerows(rows)
        click.echo(f"Wrote {len(rows) - 1} links to {output}.", err=True)
    else:
        csv.writer(sys.stdout, lineterminator="\n").writerows(rows)
    click.echo("This export is recorded and shown on every report of the round: anyone holding "
               "a link can answer as that person.", err=True)


WAIT_HELP = ("Send the messages from this command, batch after batch, and say how it went, "
             "instead of leaving them to the queue's workers.")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n:,} {word}s"


def _dispatch(request: MailRequest, wait: bool) -> str | None:
    """Queue the request's batches, or with ``wait`` send them here. :return: the last
    failure when waiting (None: everything went)."""
    db.session.commit()
    if not wait:
        enqueue_batches(request.batch_ids)
        return None
    error = None
    for batch_id in request.batch_ids:
        send_batch(batch_id)
        batch = db.session.get(MailBatch, batch_id)
        if batch is not None and batch.finished_at is None:
            error = batch.error or "the batch was not finished"
        db.session.rollback()
    return error


def _sent(request: MailRequest) -> int:
    return sum(b.sent for batch_id in request.batch_ids
               if (b := db.session.get(MailBatch, batch_id)) is not None)


@round_group.command("send")
@click.argument("round_id", type=int)
@click.option("--wait", is_flag=True, help=WAIT_HELP)
def send_command(round_id, wait):
    """E-mail the invitations of an open round that have not been sent yet.

    By default the queue's workers send them, in batches; the round's page shows the progress.
    """
    try:
        request = queue_invitations(_round(round_id), None)
    except RoundError as refused:
        raise click.ClickException(str(refused)) from refused
    error = _dispatch(request, wait)
    if not wait:
        click.echo(f"Queued {_plural(request.queued, 'invitation')} for the workers"
                   + (f" (and {_plural(request.retried, 'waiting batch')} again)"
                      if request.retried else "") + ": the round's page shows the progress.")
        return
    sent = _sent(request)
    click.echo(f"Sent {_plural(sent, 'invitation')}.")
    count, not_reached = refused_invitations(_round(round_id))
    if count:
        addresses = "1 address" if count == 1 else f"{count:,} addresses"
        click.echo(f"The mail server refused {addresses}; correct each on the person's page "
                   "(or in a people import), then run the command again:")
        for item in not_reached:
            click.echo(f"  {item.name} <{item.email}>: {item.refusal}")
        if count > len(not_reached):
            click.echo(f"  and {count - len(not_reached):,} more")
    if error:
        raise click.ClickException(
            f"The mail server failed: {error} The rest is tried again by the workers, or run "
            "the command again; no one gets the same invitation twice.")


@round_group.command("remind")
@click.argument("round_id", type=int)
@click.option("--resume", is_flag=True,
              help="Finish the last reminder after a failure instead of starting a new one.")
@click.option("--wait", is_flag=True, help=WAIT_HELP)
def remind_command(round_id, resume, wait):
    """Remind those e-mailed an invitation who have not submitted yet.

    How many were reminded is said only where HR's page may show it (see rounds/progress.py).
    """
    round_ = _round(round_id)
    counted = None if resume else round_progress(round_).to_remind
    try:
        request = queue_reminders(round_, None, new_batch=not resume,
                                  countable=counted is not None)
    except RoundError as refused:
        raise click.ClickException(str(refused)) from refused
    minimum = round_.min_group_size
    error = _dispatch(request, wait)
    if error:
        raise click.ClickException(
            f"{error.rstrip('.')}. Not every reminder was sent: the workers try again, or run "
            "the command again with --resume; no one gets the same reminder twice.")
    done = "Reminded" if wait else "Reminding"
    if request.resumed or counted is None:
        click.echo(f"{done} everyone e-mailed who had not been reminded and has not submitted "
                   "yet." if request.resumed else
                   f"{done} everyone e-mailed who has not submitted yet (how many is hidden "
                   f"while fewer than {minimum} have submitted, or while some "
                   "invitations have not been e-mailed).")
    elif wait:
        click.echo(f"Sent {_plural(_sent(request), 'reminder')}.")
    else:
        click.echo(f"Queued {_plural(request.queued, 'reminder')} for the workers: the round's "
                   "page shows the progress.")


@round_group.command("list")
def list_command():
    """List every round, newest first, with its response rate (hidden while fewer than the
    round's minimum have submitted)."""
    rounds = list(db.session.scalars(
        select(Round).order_by(Round.created_at.desc(), Round.id.desc())))
    counts = round_counts(rounds)
    for r in rounds:
        count = counts.get(r.id, RoundCount(0, None))
        if count.submitted is None:
            submitted = (f"{count.invited} invited, submitted hidden (fewer than "
                         f"{r.min_group_size})")
        else:
            submitted = f"{count.submitted}/{count.invited} submitted ({count.rate:.0%})"
        click.echo(f"{r.id}\t{r.status}\t{r.opens_on}\t{r.closes_on}\t{submitted}\t{r.name}")
    if not rounds:
        click.echo("No rounds yet.", err=True)
