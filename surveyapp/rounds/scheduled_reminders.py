"""Reminders scheduled ahead: HR picks days of an open round, and on each the job that runs by
the clock starts a reminder at ``REMINDER_HOUR`` (the organisation's time), exactly as
"Send reminders" would then: to everyone e-mailed who has not submitted, in batches.

Schedule and cancel validate and flush; the caller commits. ``start_due`` runs by the clock.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from flask import current_app
from sqlalchemy import select

from ..clock import organisation_zone, today
from ..extensions import db
from ..models import Round, RoundStatus, ScheduledReminder, User, utcnow
from .invitations import enqueue_batches, queue_reminders
from .operations import RoundError


def scheduled_reminders(round_id: int) -> list[ScheduledReminder]:
    """The round's scheduled reminders, by day."""
    return list(db.session.scalars(select(ScheduledReminder)
                                   .where(ScheduledReminder.round_id == round_id)
                                   .order_by(ScheduledReminder.send_on)))


def schedule_reminder(round_: Round, send_on: date, user: User | None) -> ScheduledReminder:
    """Schedule a reminder for ``send_on``.

    :raise RoundError: (field ``send_on``) the round is not open, the day has passed or is
        after the round closes, or a reminder is already scheduled that day.
    """
    now = today()
    if round_.phase(now) != RoundStatus.OPEN:
        raise RoundError("Reminders can only be scheduled for an open round.")
    if send_on < now:
        raise RoundError("That day has passed: choose today or a later day.", "send_on")
    if send_on > round_.closes_on:
        raise RoundError(f"The round closes on {round_.closes_on:%-d %B %Y}: choose that day or "
                         "an earlier one.", "send_on")
    if db.session.scalar(select(ScheduledReminder.id).where(
            ScheduledReminder.round_id == round_.id, ScheduledReminder.send_on == send_on)):
        raise RoundError(f"A reminder is already scheduled on {send_on:%-d %B %Y}.", "send_on")
    scheduled = ScheduledReminder(round_id=round_.id, send_on=send_on,
                                  scheduled_by_id=user.id if user else None,
                                  scheduled_by=(user.name if user else "the command line")[:200])
    db.session.add(scheduled)
    db.session.flush()
    return scheduled


def cancel_reminder(round_: Round, reminder_id: int) -> None:
    """:raise RoundError: no such scheduled reminder of this round, or it has started."""
    scheduled = db.session.get(ScheduledReminder, reminder_id)
    if scheduled is None or scheduled.round_id != round_.id:
        raise RoundError("That reminder is not scheduled any more.")
    if scheduled.started_at is not None:
        raise RoundError("That reminder has already been sent.")
    db.session.delete(scheduled)
    db.session.flush()


def is_due(send_on: date, now: datetime) -> bool:
    """Whether a reminder scheduled on ``send_on`` goes out at ``now`` (aware)."""
    local = now.astimezone(organisation_zone())
    return send_on < local.date() or (
        send_on == local.date() and local.hour >= int(current_app.config["REMINDER_HOUR"]))


def start_due(now: datetime | None = None) -> int:
    """Start every scheduled reminder that is due, each in a transaction of its own (its row
    locked, so that two workers start it once). A reminder of a round that is no longer open
    is left as it is. :return: how many started."""
    now = now or datetime.now(UTC)
    candidates = list(db.session.scalars(
        select(ScheduledReminder.id).join(Round)
        .where(ScheduledReminder.started_at.is_(None), Round.status == RoundStatus.OPEN,
               ScheduledReminder.send_on <= now.astimezone(organisation_zone()).date())
        .order_by(ScheduledReminder.send_on, ScheduledReminder.id)))
    db.session.rollback()
    started = 0
    for reminder_id in candidates:
        scheduled = db.session.get(ScheduledReminder, reminder_id, with_for_update=True,
                                   populate_existing=True)
        round_ = db.session.get(Round, scheduled.round_id) if scheduled else None
        if scheduled is None or scheduled.started_at is not None or round_ is None \
                or round_.phase(today()) != RoundStatus.OPEN or not is_due(scheduled.send_on, now):
            db.session.rollback()
            continue
        user = db.session.get(User, scheduled.scheduled_by_id) if scheduled.scheduled_by_id \
            else None
        request = queue_reminders(round_, user, new_batch=True,
                                  expected_batch=round_.reminder_batches)
        scheduled.started_at, scheduled.reminder = utcnow(), round_.reminder_batches
        db.session.commit()
        enqueue_batches(request.batch_ids)
        started += 1
    return started
