"""Invitations and reminders: links, e-mails, and the links CSV for HR's own mail system.

HR's buttons (and ``flask round send`` / ``remind``) only record the request: the messages
still due are split into ``MailBatch`` rows of ``MAIL_BATCH_SIZE`` invitations each (by id),
which the queue's workers send, each batch over one SMTP connection (``send_batch``, the job
``rounds.jobs.send_mail_batch``). docs/ARCHITECTURE.md ("E-mail in batches") has the whole story:

- **One worker per batch.** A worker takes a batch with a lease (``lease_owner`` until
  ``lease_until``), renewed with every message; a batch whose lease ran out (its worker died)
  is queued again by the job that runs by the clock, and another worker takes it over.
- **Each message once.** What each person was sent is recorded on their invitation
  (``sent_at``; ``reminder_batch`` for the reminder's number) in the commit right after the
  mail server accepted the message, and a batch sends only what is not recorded yet. The one
  message in doubt is the one a worker had handed to the server when it died, before that
  commit: the worker that takes the batch over sends it again, with the same Message-ID
  (``message_id``: deterministic per invitation and message), so that mail systems that keep
  track of Message-IDs take it for the same message. It is the only message that may arrive
  twice, and only once per worker killed.
- **The mail server down.** A batch that fails is tried again after a delay that doubles from
  ``MAIL_RETRY_SECONDS`` up to an hour; the round's page says what failed and when the next
  try is (``sending_status``).
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import os
import secrets
import socket
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import CursorResult, and_, bindparam, exists, func, insert, or_, select, update
from sqlalchemy.engine import Result

from ..clock import today
from ..extensions import db
from ..mail import Letterhead, Mailer, MailError
from ..models import (
    Invitation,
    LinkExport,
    MailBatch,
    MailKind,
    Participation,
    Person,
    Round,
    RoundStatus,
    RoundTeam,
    User,
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


#: Who took links out of the application from ``flask round ...`` (no one is signed in).
COMMAND_LINE = "the command line"
#: How a link left the application other than by e-mail to its person's address at launch
#: (``LinkExport.exported_by`` reads "<who> (<how>)").
TO_THE_OUTBOX = "e-mails written to the outbox folder, as no mail server is set"
TO_A_CHANGED_ADDRESS = "e-mailed to an address changed after the round opened"
#: The longest wait between two tries of a batch after the mail server failed.
LONGEST_RETRY = timedelta(hours=1)
#: A batch queued this long ago and not taken by any worker is queued again by the clock (the
#: queue lost it: a Redis flushed, a queue file deleted).
REQUEUE_AFTER = timedelta(minutes=15)


# --- asking: HR's buttons and the commands ----------------------------------------------------


@dataclass(frozen=True)
class MailRequest:
    """What a press of "Send invitations" or "Send reminders" set going."""

    #: Messages in the batches made now (a reminder's count is shown only where allowed).
    queued: int
    #: The batches to put on the queue once the request has committed: the new ones, and
    #: those of the same sending that were waiting (for a retry, or for a worker).
    batch_ids: tuple[int, ...] = ()
    #: Reminders only: this press went on with the reminder already started (asked to, or
    #: because another one had started since HR loaded the page) instead of a new one.
    resumed: bool = False
    #: How many of ``batch_ids`` were made now (the others were waiting and are tried again).
    new_batches: int = 0

    @property
    def retried(self) -> int:
        """Batches that were waiting and are queued again now."""
        return len(self.batch_ids) - self.new_batches


def unsent_invitations(round_: Round) -> list[int]:
    """Ids of the round's invitations not e-mailed yet, in order."""
    return list(db.session.scalars(
        select(Invitation.id)
        .where(Invitation.round_id == round_.id, Invitation.sent_at.is_(None))
        .order_by(Invitation.id)))


def reminders_due(round_: Round, reminder: int) -> list[int]:
    """Ids of the invitations that reminder ``reminder`` still has to reach: e-mailed from
    here, not submitted, and not reminded in this reminder yet; in order."""
    return list(db.session.scalars(
        select(Invitation.id)
        .where(Invitation.round_id == round_.id, Invitation.sent_at.is_not(None),
               Invitation.reminder_batch < reminder, _not_submitted())
        .order_by(Invitation.id)))


def queue_invitations(round_: Round, user: User | None) -> MailRequest:
    """Record the sending of every invitation of the open round not e-mailed yet, in batches
    (``user``: the HR admin who asked; None for the command line). The caller commits, then
    ``enqueue_batches``.

    An invitation that a batch not finished yet will send gets no second batch: pressing the
    button twice (or again while the mail server is down) sends no one two invitations, and
    queues the waiting batches again at once.

    :raise RoundError: when the round is not open.
    """
    _lock(round_)
    if round_.phase(today()) != RoundStatus.OPEN:
        raise RoundError("Invitations can only be sent for an open round.")
    return _queue(round_, MailKind.INVITATION, 0, unsent_invitations(round_), user,
                  countable=True)


def queue_reminders(round_: Round, user: User | None, *, new_batch: bool = True,
                    expected_batch: int | None = None, countable: bool = False) -> MailRequest:
    """Record a reminder to everyone e-mailed who has not submitted, in batches. The caller
    commits, then ``enqueue_batches``.

    ``new_batch=True`` starts a new reminder (HR pressed "Send reminders"); ``False`` goes on
    with the current one (after a failure: at once, rather than at the next try), sending to
    those it has not reached. ``expected_batch`` is the number of reminders HR saw when
    pressing the button: if another has started since (a double click), this press goes on
    with it instead of reminding everyone a second time. ``countable``: whether the page that
    asked may show how many the reminder reaches (``RoundProgress.to_remind``).

    :raise RoundError: when the round is not open, or there is no reminder to go on with.
    """
    if round_.phase(today()) != RoundStatus.OPEN:
        raise RoundError("Reminders can only be sent for an open round.")
    resumed = not new_batch
    if new_batch:
        seen = round_.reminder_batches if expected_batch is None else expected_batch
        started = db.session.execute(
            update(Round).where(Round.id == round_.id, Round.reminder_batches == seen)
            .values(reminder_batches=seen + 1))
        # An UPDATE's result is a CursorResult, though Session.execute's annotation says Result.
        if not isinstance(started, CursorResult):
            raise AssertionError(f"an UPDATE returned a {type(started).__name__}")
        resumed = started.rowcount == 0
    _lock(round_)
    reminder = round_.reminder_batches
    if reminder == 0:
        raise RoundError("No reminder has been started for this round.")
    request = _queue(round_, MailKind.REMINDER, reminder, reminders_due(round_, reminder), user,
                     countable=countable and not resumed)
    return MailRequest(request.queued, request.batch_ids, resumed, request.new_batches)


def _lock(round_: Round) -> None:
    """Lock the round's row (PostgreSQL; SQLite's writers take turns anyway) and read it
    again, so that two presses at once make one set of batches."""
    db.session.refresh(round_, with_for_update=True)


def _queue(round_: Round, kind: str, reminder: int, due: list[int], user: User | None, *,
           countable: bool) -> MailRequest:
    now = utcnow()
    waiting = list(db.session.scalars(
        select(MailBatch).where(MailBatch.round_id == round_.id, MailBatch.kind == kind,
                                MailBatch.reminder == reminder, MailBatch.finished_at.is_(None))
        .order_by(MailBatch.id)))
    covered = sorted((b.first_invitation_id, b.last_invitation_id) for b in waiting)
    firsts = [first for first, _ in covered]

    def is_covered(invitation_id: int) -> bool:
        at = bisect_right(firsts, invitation_id) - 1
        return at >= 0 and invitation_id <= covered[at][1]

    todo = [i for i in due if not is_covered(i)]
    size = max(1, int(current_app.config["MAIL_BATCH_SIZE"]))
    new = [MailBatch(round_id=round_.id, kind=kind, reminder=reminder,
                     first_invitation_id=chunk[0], last_invitation_id=chunk[-1],
                     total=len(chunk), countable=countable,
                     requested_by_id=user.id if user else None,
                     requested_by=(user.name if user else COMMAND_LINE)[:200], queued_at=now)
           for chunk in (todo[start:start + size] for start in range(0, len(todo), size))]
    db.session.add_all(new)
    again = [b for b in waiting if b.lease_until is None or b.lease_until < now]
    for batch in again:  # asked again: try now rather than at the next try
        batch.next_try_at, batch.queued_at = None, now
    db.session.flush()
    return MailRequest(len(todo), tuple(b.id for b in new + again), new_batches=len(new))


def enqueue_batches(batch_ids: Iterable[int]) -> None:
    """Put the batches on the queue (after the commit that recorded them)."""
    from .jobs import send_mail_batch  # the jobs module imports this one

    for batch_id in batch_ids:
        send_mail_batch.enqueue(batch_id)


def requeue_stalled() -> int:
    """Queue again every batch not finished that no worker holds and that is due: its lease
    ran out (the worker died), its retry is due, or it waited on the queue too long. (The job
    ``rounds.jobs.resume_mail`` runs this every minute.) :return: how many."""
    now = utcnow()
    batch_ids = list(db.session.scalars(
        select(MailBatch.id).where(
            MailBatch.finished_at.is_(None),
            or_(MailBatch.lease_until.is_(None), MailBatch.lease_until < now),
            or_(MailBatch.next_try_at.is_(None), MailBatch.next_try_at <= now),
            or_(MailBatch.queued_at.is_(None), MailBatch.queued_at < now - REQUEUE_AFTER))
        .order_by(MailBatch.id)))
    if batch_ids:
        db.session.execute(update(MailBatch).where(MailBatch.id.in_(batch_ids))
                           .values(queued_at=now))
    db.session.commit()
    enqueue_batches(batch_ids)
    return len(batch_ids)


# --- sending: a worker and its batch ----------------------------------------------------------


def message_id(salt: str, invitation_id: int, kind: str, reminder: int, domain: str) -> str:
    """The Message-ID of one message: the same each time it is sent (so a message sent again
    after a worker died is known as the same one), an HMAC under the round's random salt so
    that it tells its reader nothing (not the invitation, the person or the round)."""
    digest = hmac.new(salt.encode(), f"{invitation_id}.{kind}.{reminder}".encode(),
                      hashlib.sha256).hexdigest()[:40]
    return f"<{digest}@{domain}>"


def mail_domain() -> str:
    """The domain of ``MAIL_SENDER``, for Message-IDs."""
    domain = current_app.config["MAIL_SENDER"].rpartition("@")[2].strip("> ")
    return domain or socket.getfqdn()


@dataclass(frozen=True)
class _Letter:
    """What a batch's messages share: the round's words, worked out once per batch."""

    round_name: str
    closes: str
    minimum: int
    organisation: str
    base_url: str
    reminder: bool

    @property
    def subject(self) -> str:
        if self.reminder:
            return f"Reminder: {self.round_name} closes on {self.closes}"
        return f"Your invitation: {self.round_name}"

    def body(self, name: str, nonce: str) -> str:
        if self.reminder:
            opening = ("A short reminder: you have not submitted your answers to our service "
                       "culture survey yet. If you have started, your answers are saved; the "
                       "link takes you back to where you stopped.")
        else:
            opening = ("We would like to know how you practise the habits behind excellent "
                       "service, and what you would do to make our service better. It takes "
                       "about 10 minutes.")
        return f"""Hello {name},

{opening}

Your personal link:
{self.base_url}/s/{token_for(nonce)}

The survey is open until {self.closes}. You can stop at any time and come back later.

Your answers are stored without your name. Results are only shown for groups of at least
{self.minimum} people, so no one, including your manager, can see what you answered.
Please do not forward this e-mail: the link is yours alone.

Thank you,
{self.organisation}
"""


class _Exports:
    """The links of a batch that leave the application where someone other than their person
    could read them, counted in a ``LinkExport`` per way, in the same commit as each message:
    written to ``instance/outbox/`` (no mail server), or mailed to an address HR changed after
    the round opened. Either lets the reader answer in the person's name, as an export does.
    Counted under the HR admin who asked for the sending (``MailBatch.requested_by``)."""

    def __init__(self, batch: MailBatch, to_files: bool):
        self.round_id = batch.round_id
        self.to_files = to_files
        self.who = batch.requested_by
        self.user_id = batch.requested_by_id
        self.row_ids: dict[str, int] = {}

    def how(self, launch_email: str | None, email: str) -> str | None:
        if self.to_files:
            return TO_THE_OUTBOX
        if launch_email is not None and launch_email != email:
            return TO_A_CHANGED_ADDRESS
        return None

    def count(self, how: str) -> None:
        row_id = self.row_ids.get(how)
        if row_id is None:
            self.row_ids[how] = db.session.execute(
                insert(LinkExport).values(
                    round_id=self.round_id, links=1, exported_by=f"{self.who} ({how})"[:200],
                    user_id=self.user_id, at=utcnow())
                .returning(LinkExport.id)).scalar_one()
        else:
            db.session.execute(update(LinkExport).where(LinkExport.id == row_id)
                               .values(links=LinkExport.links + 1))


@dataclass(frozen=True)
class _Due:
    invitation_id: int
    nonce: str
    launch_email: str | None
    email: str
    name: str


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"[:100]


def _rowcount(result: Result[Any]) -> int:
    if not isinstance(result, CursorResult):
        raise AssertionError(f"an UPDATE returned a {type(result).__name__}")
    return result.rowcount


INVITATIONS = Invitation.__table__
BATCHES = MailBatch.__table__
ROUNDS = Round.__table__
PARTICIPATIONS = Participation.__table__


class _Batch:
    """One worker's run of one batch (``send_batch``). Its per-message statements are Core
    statements on the tables, built once per run and run on the session's connection: per
    message, the ORM's statement building and its session's bookkeeping cost more than the
    database."""

    def __init__(self, batch_id: int) -> None:
        cfg = current_app.config
        self.id = batch_id
        self.owner = _worker_name()
        self.postgresql = db.engine.dialect.name == "postgresql"
        self.lease = timedelta(seconds=float(cfg["MAIL_LEASE_SECONDS"]))
        self.retry = timedelta(seconds=float(cfg["MAIL_RETRY_SECONDS"]))
        mine = and_(BATCHES.c.id == self.id, BATCHES.c.lease_owner == self.owner)
        self.progress = update(BATCHES).where(mine).values(
            sent=BATCHES.c.sent + 1, lease_until=bindparam("until"), error=None, failures=0)
        self.invited = update(INVITATIONS).where(
            INVITATIONS.c.id == bindparam("invitation"),
            INVITATIONS.c.sent_at.is_(None)).values(sent_at=bindparam("now"), refused_at=None,
                                                     refusal=None)
        self.reminded = update(INVITATIONS).where(
            INVITATIONS.c.id == bindparam("invitation"),
            INVITATIONS.c.reminder_batch < bindparam("reminder")).values(
            reminder_batch=bindparam("reminder"))
        self.state = (
            select(ROUNDS.c.status, ROUNDS.c.closes_on, ROUNDS.c.close_requested_at,
                   INVITATIONS.c.sent_at, INVITATIONS.c.reminder_batch,
                   exists().where(PARTICIPATIONS.c.round_id == INVITATIONS.c.round_id,
                                  PARTICIPATIONS.c.person_id == INVITATIONS.c.person_id),
                   select(BATCHES.c.lease_owner).where(BATCHES.c.id == self.id)
                   .scalar_subquery())
            .select_from(INVITATIONS.join(ROUNDS, ROUNDS.c.id == INVITATIONS.c.round_id))
            .where(INVITATIONS.c.id == bindparam("invitation")))

    def begin(self) -> None:
        """Begin the transaction of a message. On PostgreSQL its commit does not wait for the
        disk (``synchronous_commit`` off): a worker that dies loses nothing committed, and a
        database server that crashes loses at most the last fraction of a second of records,
        whose messages are then sent again under the same Message-ID, as after a worker
        killed between a message and its commit. Waiting for the disk at every message took
        a sixth off the rate (docs/PERFORMANCE.md)."""
        if self.postgresql:
            db.session.connection().exec_driver_sql("SET LOCAL synchronous_commit TO OFF")

    def take(self) -> bool:
        """Take the batch, if it is unfinished, due and no live lease holds it."""
        now = utcnow()
        took = _rowcount(db.session.execute(
            update(MailBatch).where(
                MailBatch.id == self.id, MailBatch.finished_at.is_(None),
                or_(MailBatch.lease_until.is_(None), MailBatch.lease_until < now),
                or_(MailBatch.next_try_at.is_(None), MailBatch.next_try_at <= now))
            .values(lease_owner=self.owner, lease_until=now + self.lease, queued_at=None)))
        db.session.commit()
        return took == 1

    def finish(self) -> None:
        db.session.execute(
            update(MailBatch).where(MailBatch.id == self.id, MailBatch.lease_owner == self.owner)
            .values(finished_at=utcnow(), lease_owner=None, lease_until=None, error=None,
                    failures=0, next_try_at=None))

    def record(self, batch: MailBatch, due: _Due, exports: _Exports) -> bool:
        """Record one message as sent (not committed): the invitation, the batch's progress
        and its lease, and the link's export if it is one. :return: False when the lease is
        no longer this worker's (the batch was taken over: stop)."""
        now = utcnow()
        connection = db.session.connection()
        if batch.kind == MailKind.INVITATION:
            connection.execute(self.invited, {"invitation": due.invitation_id, "now": now})
        else:
            connection.execute(self.reminded, {"invitation": due.invitation_id,
                                               "reminder": batch.reminder})
        how = exports.how(due.launch_email, due.email)
        if how is not None:
            exports.count(how)
        return connection.execute(self.progress, {"until": now + self.lease}).rowcount == 1

    def refused(self, invitation_id: int, error: MailError) -> None:
        """Record that the mail server refused this invitation's address (not committed)."""
        db.session.execute(
            update(Invitation).where(Invitation.id == invitation_id,
                                     Invitation.sent_at.is_(None))
            .values(refused_at=utcnow(), refusal=error.reason[:500]))

    def fail(self, error: str) -> None:
        now = utcnow()
        failures = db.session.scalar(select(MailBatch.failures).where(MailBatch.id == self.id))
        delay = min(self.retry * 2 ** (failures or 0), LONGEST_RETRY)
        db.session.execute(
            update(MailBatch).where(MailBatch.id == self.id, MailBatch.lease_owner == self.owner)
            .values(failures=MailBatch.failures + 1, error=error[:1000], failed_at=now,
                    next_try_at=now + delay, lease_owner=None, lease_until=None,
                    queued_at=None))
        current_app.logger.warning("Mail batch %s failed (trying again in %s): %s", self.id,
                                   delay, error)

    def still_due(self, batch: MailBatch, invitation_id: int) -> bool | None:
        """Whether the message is still due: None when the batch must stop (the round closed,
        or the lease is no longer this worker's)."""
        row = db.session.connection().execute(
            self.state, {"invitation": invitation_id}).one_or_none()
        if row is None:
            return False
        status, closes_on, close_requested_at, sent_at, reminded, submitted, owner = row
        if owner != self.owner or not _open(status, closes_on, close_requested_at):
            return None
        if batch.kind == MailKind.INVITATION:
            return sent_at is None
        return sent_at is not None and reminded < batch.reminder and not submitted


def _open(status: str, closes_on: date, close_requested_at: datetime | None) -> bool:
    """``Round.phase(today()) == OPEN`` for a round read as plain values."""
    return (status == RoundStatus.OPEN and close_requested_at is None
            and closes_on >= today())


def _due_rows(batch: MailBatch) -> list[_Due]:
    """The batch's messages not recorded as sent yet, in one query."""
    query = (select(Invitation.id, Invitation.nonce, Invitation.email, Person.email, Person.name)
             .join(Person, Person.id == Invitation.person_id)
             .where(Invitation.round_id == batch.round_id,
                    Invitation.id.between(batch.first_invitation_id, batch.last_invitation_id)))
    if batch.kind == MailKind.INVITATION:
        query = query.where(Invitation.sent_at.is_(None))
    else:
        query = query.where(Invitation.sent_at.is_not(None),
                            Invitation.reminder_batch < batch.reminder, _not_submitted())
    return [_Due(*row) for row in db.session.execute(query.order_by(Invitation.id))]


def send_batch(batch_id: int) -> int:
    """Send what the batch still has to send, if no other worker holds it; the job
    ``rounds.jobs.send_mail_batch``. :return: the messages this call sent.

    Each message is recorded as sent in the commit right after the mail server accepted it,
    in the same transaction as the check of the next one (the round still open, the lease
    still this worker's, the message still due), so one short write transaction per message
    and none held during the SMTP exchange. A mail-server failure leaves the rest for the
    next try (``MailBatch.next_try_at``). A refused recipient does not: an invitation is
    recorded as refused (``Invitation.refused_at``) and stays unsent, and the batch goes on. A
    refused reminder counts as sent, and nothing, not even the log, says it was refused: only
    people who have not submitted are reminded, and HR can change anyone's address, so a
    refusal that showed would tell whether that person has submitted.
    """
    run = _Batch(batch_id)
    if not run.take():
        return 0
    batch = db.session.get(MailBatch, batch_id)
    round_ = db.session.get(Round, batch.round_id) if batch is not None else None
    if batch is None or round_ is None:
        db.session.rollback()
        return 0
    db.session.expunge(batch)
    cfg = current_app.config
    reminder = batch.kind == MailKind.REMINDER
    letter = _Letter(round_.name, f"{round_.closes_on:%A %-d %B %Y}", round_.min_group_size,
                     cfg["ORGANISATION_NAME"], cfg["BASE_URL"].rstrip("/"), reminder)
    salt, domain = round_.mail_salt, mail_domain()
    due = _due_rows(batch) if round_.phase(today()) == RoundStatus.OPEN else []
    if not due:
        run.finish()
        db.session.commit()
        return 0
    db.session.commit()
    sent = 0
    done: _Due | None = None  # sent, to record in the next commit
    try:
        with Mailer() as mailer:
            exports = _Exports(batch, mailer.writes_files)
            letterhead = Letterhead(letter.subject)
            for item in due:
                run.begin()
                if done is not None and not run.record(batch, done, exports):
                    db.session.commit()
                    return sent  # taken over: the lease ran out
                done = None
                state = run.still_due(batch, item.invitation_id)
                if state is None:
                    break
                db.session.commit()
                if not state:
                    continue
                try:
                    mailer.send(
                        letterhead, to=item.email, body=letter.body(item.name, item.nonce),
                        message_id=message_id(salt, item.invitation_id, batch.kind,
                                              batch.reminder, domain))
                except MailError as error:
                    if not error.recipient_refused:
                        raise
                    if not reminder:
                        # The batch goes on; HR sees whom it did not reach (``refused``).
                        run.begin()
                        run.refused(item.invitation_id, error)
                        db.session.commit()
                        continue
                    # A refused reminder counts as sent, unlogged (see the docstring).
                done = item
                sent += 1
            run.begin()
            if done is not None and not run.record(batch, done, exports):
                db.session.commit()
                return sent
            run.finish()
            db.session.commit()
    except MailError as error:
        # Raised by the connection or by a message the server did not accept: every message
        # accepted before it is recorded already (in the commit before the next message).
        db.session.rollback()
        # A reminder goes only to someone who has not submitted: its address stays out.
        run.fail(error.without_recipient if reminder else str(error))
        db.session.commit()
    return sent


# --- what the round's page shows --------------------------------------------------------------


@dataclass(frozen=True)
class SendingStatus:
    """The state of a round's invitations, or of its latest reminder, for HR's page."""

    #: Batches not finished yet (0: nothing under way).
    unfinished: int
    #: Messages the batches had to send, and those sent; None where the page may not show
    #: them (a reminder whose count would tell how many have submitted).
    total: int | None
    sent: int | None
    #: The latest failure of a batch not finished: what the mail server did, when, and the
    #: next try (a reminder's names no recipient).
    error: str | None = None
    failed_at: datetime | None = None
    next_try_at: datetime | None = None

    @property
    def under_way(self) -> bool:
        return self.unfinished > 0


def sending_status(round_: Round, kind: str, *, may_count: bool = True) -> SendingStatus:
    """Where the round's invitations (``kind`` invitation) or its latest reminder stand.
    ``may_count``: whether the page may show a reminder's figures at all (see
    ``RoundProgress.to_remind``); they are shown only when every batch of the reminder was
    counted when it started (``MailBatch.countable``)."""
    reminder = round_.reminder_batches if kind == MailKind.REMINDER else 0
    where = (MailBatch.round_id == round_.id, MailBatch.kind == kind,
             MailBatch.reminder == reminder)
    unfinished, total, sent, uncounted = db.session.execute(
        select(func.count(MailBatch.id).filter(MailBatch.finished_at.is_(None)),
               func.coalesce(func.sum(MailBatch.total), 0),
               func.coalesce(func.sum(MailBatch.sent), 0),
               func.count(MailBatch.id).filter(MailBatch.countable.is_(False)))
        .where(*where)).one()
    failed = db.session.execute(
        select(MailBatch.error, MailBatch.failed_at, MailBatch.next_try_at)
        .where(*where, MailBatch.finished_at.is_(None), MailBatch.error.is_not(None))
        .order_by(MailBatch.failed_at.desc()).limit(1)).one_or_none()
    shown = kind == MailKind.INVITATION or (may_count and not uncounted)
    return SendingStatus(unfinished, total if shown else None, sent if shown else None,
                         *(failed or (None, None, None)))


@dataclass(frozen=True)
class RefusedInvitation:
    """An invitation whose address the mail server refused, for HR to correct."""

    person_id: int
    name: str
    email: str
    refusal: str
    refused_at: datetime


def refused_invitations(round_: Round, limit: int = 50) -> tuple[int, list[RefusedInvitation]]:
    """How many of the round's invitations are unsent because the mail server refused their
    address, and the first ``limit`` of them by name. (Whom an invitation reached says nothing
    of who has submitted: every invitation is sent, whoever has answered.)"""
    refused = and_(Invitation.round_id == round_.id, Invitation.sent_at.is_(None),
                   Invitation.refused_at.is_not(None))
    count = db.session.scalar(select(func.count()).select_from(Invitation).where(refused))
    rows = db.session.execute(
        select(Person.id, Person.name, Person.email, Invitation.refusal, Invitation.refused_at)
        .join(Person, Person.id == Invitation.person_id).where(refused)
        .order_by(Person.name, Person.id).limit(limit)).all()
    return count or 0, [RefusedInvitation(person_id, name, email, refusal or "", refused_at)
                        for person_id, name, email, refusal, refused_at in rows
                        if refused_at is not None]


def batches_of(round_id: int, kind: str, reminder: int = 0) -> Sequence[MailBatch]:
    """The round's batches of one sending, in order (for commands and tests)."""
    return db.session.scalars(
        select(MailBatch).where(MailBatch.round_id == round_id, MailBatch.kind == kind,
                                MailBatch.reminder == reminder).order_by(MailBatch.id)).all()
