"""Invitations and reminders: links, e-mails, and the links CSV for HR's own mail system.

Sending commits after every message, so that a crash or a mail-server failure midway leaves a
record of who was sent; sending again skips them. (A crash between the server accepting a
message and the commit can send that one message twice: at least once, never lost.)
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from flask import current_app, has_request_context
from flask_login import current_user
from sqlalchemy import CursorResult, and_, select, update

from ..clock import today
from ..extensions import db
from ..mail import Mailer, MailError, make_message
from ..models import (
    Invitation,
    LinkExport,
    Participation,
    Person,
    Round,
    RoundStatus,
    RoundTeam,
    utcnow,
)
from ..spreadsheet import text_cell
from .operations import RoundError
from .tokens import token_for


def survey_url(invitation: Invitation) -> str:
    """The absolute link of an invitation (``BASE_URL`` + ``/s/<token>``)."""
    return f"{current_app.config['BASE_URL'].rstrip('/')}/s/{token_for(invitation.nonce)}"


def _not_submitted():
    return ~select(Participation).where(
        and_(Participation.round_id == Invitation.round_id,
             Participation.person_id == Invitation.person_id)
    ).exists()


def pending_invitations(round_: Round):
    """Invitations whose person has not submitted yet, by name."""
    return db.session.scalars(
        select(Invitation).join(Invitation.person)
        .where(Invitation.round_id == round_.id, _not_submitted())
        .order_by(Person.name, Person.id)
    )


def links_csv_rows(round_: Round) -> Iterator[list[str]]:
    """Rows ``email,name,team,url`` (header first) for every invitation not yet submitted.

    Names and team paths that would start a spreadsheet formula get a leading apostrophe.
    """
    paths = dict(db.session.execute(
        select(RoundTeam.team_id, RoundTeam.path).where(RoundTeam.round_id == round_.id)
    ).all())
    yield ["email", "name", "team", "url"]
    for invitation in pending_invitations(round_):
        yield [text_cell(invitation.person.email), text_cell(invitation.person.name),
               text_cell(paths.get(invitation.team_id, "")), survey_url(invitation)]


def links_csv(rows: Iterable[list[str]]) -> str:
    """``rows`` (from ``links_csv_rows``) as CSV text with CRLF line ends, for spreadsheets."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows(rows)
    return out.getvalue()


@dataclass(frozen=True)
class SendReport:
    sent: int
    #: Set when sending stopped early; those not sent are sent by the next attempt.
    error: str | None = None
    #: Reminders only: this call went on with a batch already started (asked to, or because
    #: another batch had begun since HR loaded the page) instead of starting a new one.
    resumed: bool = False


def _body(invitation: Invitation, *, reminder: bool) -> tuple[str, str]:
    cfg = current_app.config
    round_ = invitation.round
    closes = f"{round_.closes_on:%A %-d %B %Y}"
    if reminder:
        subject = f"Reminder: {round_.name} closes on {closes}"
        opening = ("A short reminder: you have not submitted your answers to our service culture "
                   "survey yet. If you have started, your answers are saved; the link takes you "
                   "back to where you stopped.")
    else:
        subject = f"Your invitation: {round_.name}"
        opening = ("We would like to know how you practise the habits behind excellent service, "
                   "and what you would do to make our service better. It takes about 10 minutes.")
    body = f"""Hello {invitation.person.name},

{opening}

Your personal link:
{survey_url(invitation)}

The survey is open until {closes}. You can stop at any time and come back later.

Your answers are stored without your name. Results are only shown for groups of at least
{round_.min_group_size} people, so no one, including your manager, can see what you answered.
Please do not forward this e-mail: the link is yours alone.

Thank you,
{cfg['ORGANISATION_NAME']}
"""
    return subject, body


def _claim(invitation_id: int, *, reminder: bool, batch: int) -> Invitation | None:
    """Lock and return the invitation if it still needs this message, else None.

    The row lock (PostgreSQL) or the write transaction (SQLite's BEGIN IMMEDIATE) is held
    until the commit after sending, so that two senders at once (a double click, two admins,
    cron and a click) never send the same message twice: the second sees it done and skips.
    """
    invitation = db.session.get(Invitation, invitation_id, with_for_update=True,
                                populate_existing=True)
    if invitation is None or invitation.round.phase(today()) != RoundStatus.OPEN:
        return None  # a round that closed meanwhile: its links no longer work
    if not reminder:
        return invitation if invitation.sent_at is None else None
    submitted = db.session.get(Participation, (invitation.round_id, invitation.person_id))
    if invitation.reminder_batch >= batch or submitted is not None:
        return None
    return invitation


#: Who took links out of the application from ``flask round ...`` (no one is signed in).
COMMAND_LINE = "the command line"
#: How a link left the application other than by e-mail to its person's address at launch
#: (``LinkExport.exported_by`` reads "<who> (<how>)").
TO_THE_OUTBOX = "e-mails written to the outbox folder, as no mail server is set"
TO_A_CHANGED_ADDRESS = "e-mailed to an address changed after the round opened"


class _Exports:
    """The links of a sending that leave the application where someone other than their person
    could read them, counted in a ``LinkExport`` per way, in the same commit as each message:
    written to ``instance/outbox/`` (no mail server), or mailed to an address HR changed after
    the round opened. Either lets the reader answer in the person's name, as an export does."""

    def __init__(self, mailer: Mailer):
        self.to_files = mailer.writes_files
        self.rows: dict[str, LinkExport] = {}
        user = current_user if has_request_context() else None
        self.user = user if user is not None and user.is_authenticated else None

    def count(self, invitation: Invitation) -> None:
        if self.to_files:
            self._add(invitation.round_id, TO_THE_OUTBOX)
        elif invitation.email is not None and invitation.person.email != invitation.email:
            self._add(invitation.round_id, TO_A_CHANGED_ADDRESS)

    def _add(self, round_id: int, how: str) -> None:
        row = self.rows.get(how)
        if row is None:
            who = self.user.name if self.user else COMMAND_LINE
            row = self.rows[how] = LinkExport(
                round_id=round_id, links=0, exported_by=f"{who} ({how})"[:200],
                user_id=self.user.id if self.user else None)
            db.session.add(row)
        row.links += 1


def _send(invitation_ids: list[int], *, reminder: bool, batch: int = 0) -> SendReport:
    sent = 0
    try:
        with Mailer() as mailer:
            exports = _Exports(mailer)
            for invitation_id in invitation_ids:
                invitation = _claim(invitation_id, reminder=reminder, batch=batch)
                if invitation is None:
                    db.session.rollback()
                    continue
                subject, body = _body(invitation, reminder=reminder)
                mailer.send(make_message(to=invitation.person.email, subject=subject, body=body))
                exports.count(invitation)
                if reminder:
                    invitation.reminder_batch = batch
                else:
                    invitation.sent_at = utcnow()
                db.session.commit()
                sent += 1
    except MailError as error:
        db.session.rollback()
        # A reminder goes only to someone who has not submitted: its address stays out.
        return SendReport(sent, error.without_recipient if reminder else str(error))
    return SendReport(sent)


def unsent_invitations(round_: Round) -> list[int]:
    """Ids of the round's invitations not e-mailed yet, in the order of the people's names."""
    return list(db.session.scalars(
        select(Invitation.id).join(Invitation.person)
        .where(Invitation.round_id == round_.id, Invitation.sent_at.is_(None))
        .order_by(Person.name, Person.id)
    ))


def reminders_due(round_: Round, batch: int) -> list[int]:
    """Ids of the invitations that reminder ``batch`` still has to reach: e-mailed from here,
    not submitted, and not reminded in this batch yet."""
    return list(db.session.scalars(
        select(Invitation.id).join(Invitation.person)
        .where(Invitation.round_id == round_.id, Invitation.sent_at.is_not(None),
               Invitation.reminder_batch < batch, _not_submitted())
        .order_by(Person.name, Person.id)
    ))


def send_invitations(round_: Round) -> SendReport:
    """E-mail every invitation of an open round not sent yet. Commits after each message.

    :raise RoundError: when the round is not open.
    """
    if round_.phase(today()) != RoundStatus.OPEN:
        raise RoundError("Invitations can only be sent for an open round.")
    return _send(unsent_invitations(round_), reminder=False)


def send_reminders(round_: Round, *, new_batch: bool = True,
                   expected_batch: int | None = None) -> SendReport:
    """Remind everyone invited who has not submitted. Commits after each message.

    ``new_batch=True`` starts a new reminder (HR pressed "Send reminders"); ``False`` resumes
    the current one after a failure, skipping those already reminded. ``expected_batch`` is
    the number of batches HR saw when pressing the button: if another batch has started since
    (a double click), this one resumes it instead of reminding everyone a second time.

    :raise RoundError: when the round is not open, or there is no reminder to resume.
    """
    if round_.phase(today()) != RoundStatus.OPEN:
        raise RoundError("Reminders can only be sent for an open round.")
    resumed = not new_batch
    if new_batch:
        seen = round_.reminder_batches if expected_batch is None else expected_batch
        started = db.session.execute(
            update(Round).where(Round.id == round_.id, Round.reminder_batches == seen)
            .values(reminder_batches=seen + 1)
        )
        # An UPDATE's result is a CursorResult, though Session.execute's annotation says Result.
        if not isinstance(started, CursorResult):
            raise AssertionError(f"an UPDATE returned a {type(started).__name__}")
        resumed = started.rowcount == 0
        db.session.commit()
        db.session.refresh(round_)
    elif round_.reminder_batches == 0:
        raise RoundError("No reminder has been started for this round.")
    batch = round_.reminder_batches
    if batch == 0:
        raise RoundError("No reminder has been started for this round.")
    report = _send(reminders_due(round_, batch), reminder=True, batch=batch)
    return SendReport(report.sent, report.error, resumed)
