"""Jobs of rounds: closing them, on their date or when HR asks; sending their e-mail.

A round past its closing date (or asked to close) takes no answers from that moment: the pages
decide it from the dates when they are read (``Round.phase``). Closing it, releasing and
tallying its responses, is work for a job: ``close_due`` runs every minute and closes every
such round; HR's "Close round now" queues ``close`` for its round at once. Invitations and
reminders go out in batches (``send_mail_batch``), and ``resume_mail`` queues again every
minute the batches a killed worker or a failed mail server left undone (``invitations.py``).
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import or_, select, update

from ..clock import today
from ..extensions import db
from ..jobs import every, job
from ..models import Round, RoundStatus
from ..reports.jobs import prepare_reports
from .invitations import requeue_stalled, send_batch
from .operations import RoundError, close_round
from .scheduled_reminders import start_due


def due_round_ids() -> list[int]:
    """The open rounds past their closing date today, or asked to close."""
    return list(db.session.scalars(
        select(Round.id).where(Round.status == RoundStatus.OPEN, or_(
            Round.closes_on < today(), Round.close_requested_at.is_not(None)))
        .order_by(Round.id)))


def close_if_due(round_id: int) -> bool:
    """Close the round if it is due, then queue its reports. :return: whether it closed.

    The round's row is locked first (on PostgreSQL; SQLite's writers take turns anyway), so
    that two workers closing it at once close it once, and every submit that got in before
    has committed (a submit holds the round shared).
    """
    db.session.rollback()
    round_ = db.session.get(Round, round_id, with_for_update=True, populate_existing=True)
    if round_ is None or round_.phase(today()) != RoundStatus.CLOSING:
        db.session.rollback()
        return False
    name = round_.name
    try:
        close_round(round_)
    except RoundError as error:
        db.session.rollback()
        current_app.logger.error("Round %s (%s) is due but cannot close: %s", round_id, name,
                                 error)
        db.session.execute(update(Round).where(Round.id == round_id)
                           .values(close_problem=str(error)[:1000]))
        db.session.commit()
        return False
    round_.close_problem = None
    db.session.commit()
    prepare_reports.enqueue(round_id)
    return True


@job(retries=3, retry_delay=60)
def close(round_id: int) -> None:
    """Close a round that HR asked to close (or that is past its date)."""
    close_if_due(round_id)


@every(minute="*")
def close_due() -> None:
    """Close every round that is due (see ``due_round_ids``)."""
    for round_id in due_round_ids():
        close_if_due(round_id)


@job()
def send_mail_batch(batch_id: int) -> None:
    """Send one batch of invitations or reminders (``invitations.send_batch``). No retries
    from the queue: a failed batch records when to try again, and ``resume_mail`` queues it
    then."""
    send_batch(batch_id)


@every(minute="*")
def resume_mail() -> None:
    """Queue again the batches of e-mail left undone: a killed worker's (once its lease has
    run out), those whose retry after a mail-server failure is due, and any the queue lost."""
    requeued = requeue_stalled()
    if requeued:
        current_app.logger.info("Queued %s mail batch(es) again", requeued)


@every(minute="*/5")
def send_scheduled_reminders() -> None:
    """Start the reminders HR scheduled for today (at ``REMINDER_HOUR``) or earlier."""
    started = start_due()
    if started:
        current_app.logger.info("Started %s scheduled reminder(s)", started)
