"""The data model: the organisation directory and the staff who log in.

Teams form a tree. People belong to one team and never log in. Users (HR admins and leaders)
log in; a leader leads one or more teams and sees them and every team below.
"""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .email_addresses import MAX_EMAIL
from .extensions import Model, db


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every database (SQLite keeps no time zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use datetime.now(UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Team(Model):
    __tablename__ = "team"
    __table_args__ = (
        # Sibling names are unique; the root level is checked in operations (NULL parents).
        UniqueConstraint("parent_id", "name"),
        CheckConstraint("length(trim(name)) > 0", name="name_not_blank"),
        CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    #: NO ACTION rather than RESTRICT, so that a whole subtree can go in one statement.
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("team.id"), index=True)
    #: Set when HR archives the team; archived teams keep their history but take no new people.
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    parent: Mapped[Team | None] = relationship(
        back_populates="children", remote_side="Team.id"
    )
    children: Mapped[list[Team]] = relationship(back_populates="parent", order_by="Team.name")
    people: Mapped[list[Person]] = relationship(back_populates="team")
    leaders: Mapped[list[User]] = relationship(
        secondary="leadership", back_populates="teams", order_by="User.name"
    )

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    def __repr__(self) -> str:
        return f"<Team {self.id} {self.name!r}>"


class Person(Model):
    """Someone in the directory. People answer surveys through invitations; they never log in."""

    __tablename__ = "person"
    __table_args__ = (
        CheckConstraint("length(trim(name)) > 0", name="name_not_blank"),
        CheckConstraint("email = lower(email)", name="email_lowercase"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stored lower-cased: the import matches people by e-mail.
    email: Mapped[str] = mapped_column(String(MAX_EMAIL), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id", ondelete="RESTRICT"), index=True)
    #: Coarse attributes, copied onto responses; keep the values few and broad.
    location: Mapped[str | None] = mapped_column(String(80))
    role_level: Mapped[str | None] = mapped_column(String(80))
    tenure_band: Mapped[str | None] = mapped_column(String(80))
    #: Set when the person leaves; they are then invited to no new round.
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow
    )

    team: Mapped[Team] = relationship(back_populates="people")

    def __repr__(self) -> str:
        return f"<Person {self.id} {self.email!r}>"


#: Which teams a leader leads (and therefore sees, with every team below).
leadership = Table(
    "leadership",
    db.metadata,
    Column("user_id", ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True),
    Column("team_id", ForeignKey("team.id", ondelete="CASCADE"), primary_key=True),
)


class Role:
    HR = "hr"
    LEADER = "leader"
    ALL = (HR, LEADER)
    LABELS = {HR: "HR admin", LEADER: "Leader"}


class User(UserMixin, Model):
    """A member of staff who logs in: an HR admin or a leader."""

    __tablename__ = "user_account"
    __table_args__ = (
        CheckConstraint("role IN ('hr', 'leader')", name="role_known"),
        CheckConstraint("email = lower(email)", name="email_lowercase"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(MAX_EMAIL), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    #: Argon2id hash in PHC string format.
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active_account: Mapped[bool] = mapped_column(default=True)
    #: Changes when the password changes, which ends every existing session.
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    teams: Mapped[list[Team]] = relationship(
        secondary=leadership, back_populates="leaders", order_by="Team.name"
    )

    @property
    def is_hr(self) -> bool:
        return self.role == Role.HR

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.is_active_account

    def get_id(self) -> str:  # Flask-Login: a password change invalidates old sessions
        return f"{self.id}:{self.session_version}"

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email!r} {self.role}>"


class LoginFailure(Model):
    """One failed sign-in, counted per account and per client across every worker."""

    __tablename__ = "login_failure"
    __table_args__ = (Index("ix_login_failure_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: "account:<email>|<address>" (the account as tried from one client) or "client:<address>".
    key: Mapped[str] = mapped_column(String(300))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- Rounds, invitations, participation and responses ---------------------------------------


class RoundStatus:
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"
    ALL = (DRAFT, OPEN, CLOSED)
    #: Never stored: an open round past its closing date, or asked to close, that a job has
    #: not closed yet (``Round.phase``). It takes no answers and shows no results yet.
    CLOSING = "closing"
    LABELS = {DRAFT: "Draft", OPEN: "Open", CLOSING: "Closing", CLOSED: "Closed"}


#: The teams HR chose for a round; each includes every team below it.
round_scope = Table(
    "round_scope",
    db.metadata,
    Column("round_id", ForeignKey("round.id", ondelete="CASCADE"), primary_key=True),
    Column("team_id", ForeignKey("team.id", ondelete="RESTRICT"), primary_key=True),
)


class Round(Model):
    """One run of the survey for a set of teams, with its own frozen instrument and rules."""

    __tablename__ = "round"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'open', 'closed')", name="status_known"),
        CheckConstraint("length(trim(name)) > 0", name="name_not_blank"),
        CheckConstraint("min_group_size >= 3", name="min_group_at_least_3"),
        CheckConstraint(
            "min_comment_group_size >= min_group_size", name="comment_min_not_below_group_min"
        ),
        CheckConstraint("closes_on >= opens_on", name="closes_after_opens"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(10), default=RoundStatus.DRAFT)
    #: The first and last day on which employees can answer (in the organisation's time zone).
    opens_on: Mapped[date] = mapped_column(Date)
    closes_on: Mapped[date] = mapped_column(Date)
    #: Fewest responses behind any score shown (primary suppression).
    min_group_size: Mapped[int] = mapped_column(default=5)
    #: Fewest responses behind any comment shown; never below ``min_group_size``.
    min_comment_group_size: Mapped[int] = mapped_column(default=5)
    #: The instrument as ``Instrument.to_dict()``; editable while draft, frozen at launch.
    instrument: Mapped[dict] = mapped_column(JSON)
    #: How many reminder batches HR has started; each invitation records the last it received.
    reminder_batches: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    launched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When HR asked to close the round early: it takes no answers from then on, and a job
    #: closes it (releasing and tallying the responses takes a while for a large round).
    close_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Why the last attempt to close the round failed (for HR; the job tries again).
    close_problem: Mapped[str | None] = mapped_column(String(1000))
    #: When the rendering of the closed round's reports was last queued (``reports/jobs.py``).
    reports_queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Random, the key of the round's Message-IDs (``rounds/invitations.message_id``): a
    #: message sent again after a worker died gets the same Message-ID, so mail systems take it
    #: for the same message, while the ID tells no outsider which invitation it carries.
    mail_salt: Mapped[str] = mapped_column(String(32), default=lambda: secrets.token_hex(16))

    teams: Mapped[list[Team]] = relationship(secondary=round_scope, order_by="Team.name")
    invitations: Mapped[list[Invitation]] = relationship(
        back_populates="round", cascade="all, delete-orphan", passive_deletes=True
    )
    snapshot: Mapped[list[RoundTeam]] = relationship(
        back_populates="round", cascade="all, delete-orphan", passive_deletes=True
    )

    def __repr__(self) -> str:
        return f"<Round {self.id} {self.name!r} {self.status}>"

    def phase(self, today: date) -> str:
        """The status as people see it ``today``: ``RoundStatus.CLOSING`` for an open round
        past its closing date (or asked to close) that a job has not closed yet."""
        if self.status == RoundStatus.OPEN and (
                self.close_requested_at is not None or self.closes_on < today):
            return RoundStatus.CLOSING
        return self.status


class RoundTeam(Model):
    """A team as it stood when the round was launched: reports use this tree, not today's."""

    __tablename__ = "round_team"

    round_id: Mapped[int] = mapped_column(
        ForeignKey("round.id", ondelete="CASCADE"), primary_key=True
    )
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id", ondelete="RESTRICT"), primary_key=True)
    #: The parent within this round's tree (None at the top of the round's scope).
    parent_team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(120))
    path: Mapped[str] = mapped_column(String(1000))
    #: People invited whose own team this is (not counting teams below).
    invited: Mapped[int] = mapped_column(default=0)
    #: The sums behind the scores of this team's own responses (a list of integers, see
    #: surveyapp/analysis/tally.py), stored when the round closes so that reports need not read
    #: every answer; None before.
    tally: Mapped[list | None] = mapped_column(JSON, deferred=True)

    round: Mapped[Round] = relationship(back_populates="snapshot")


class Invitation(Model):
    """One person's personal link to one round. Only a hash of the link's token is stored."""

    __tablename__ = "invitation"
    __table_args__ = (UniqueConstraint("round_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"), index=True)
    #: The person's team when the round was launched; their response is counted there.
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id", ondelete="RESTRICT"))
    #: The person's e-mail address when the round was launched: a link e-mailed anywhere else
    #: (after HR changed the address) is recorded as a ``LinkExport``.
    email: Mapped[str | None] = mapped_column(String(MAX_EMAIL))
    #: Random per invitation; the token is an HMAC of it, so links can be produced again.
    nonce: Mapped[str] = mapped_column(String(32))
    #: HMAC-SHA-256 (hex) of the token in the link under the server's key: a log line holding
    #: a link cannot be matched to an invitation without that key.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: When the invitation e-mail went out (None: not yet).
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When and why the mail server last refused the invitation's address (None: it has not,
    #: or the invitation went out since). The invitation stays unsent until sent again.
    refused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refusal: Mapped[str | None] = mapped_column(String(500))
    #: The last reminder batch this person was sent (0: none).
    reminder_batch: Mapped[int] = mapped_column(default=0)

    round: Mapped[Round] = relationship(back_populates="invitations")
    person: Mapped[Person] = relationship()
    team: Mapped[Team] = relationship()
    draft: Mapped[Draft | None] = relationship(
        back_populates="invitation", cascade="all, delete-orphan", passive_deletes=True
    )


class Participation(Model):
    """The fact that a person has submitted in a round, stored apart from what they answered.

    No timestamp. It is written in the same transaction as the sealed ``PendingResponse``, never
    beside a readable response (see ``PendingResponse``).
    """

    __tablename__ = "participation"

    round_id: Mapped[int] = mapped_column(
        ForeignKey("round.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(
        ForeignKey("person.id", ondelete="RESTRICT"), primary_key=True
    )


def random_id() -> int:
    """A random 62-bit key: unlike a sequence, it says nothing about the order of inserts."""
    return secrets.randbits(62) or 1


#: BIGINT, but INTEGER on SQLite so that the column is the table's rowid.
RandomKey = BigInteger().with_variant(Integer, "sqlite")


class Draft(Model):
    """Answers saved as the employee goes, sealed; deleted when they submit or the round closes.

    The answers, comments and step are encrypted under a key derived from the link's token
    (``surveyapp/sealing.py``), which is never stored: a copy of the database cannot read a
    draft, nor what it said before the employee changed it.
    """

    __tablename__ = "draft"

    invitation_id: Mapped[int] = mapped_column(
        ForeignKey("invitation.id", ondelete="CASCADE"), primary_key=True
    )
    #: Nonce and AES-GCM ciphertext of {"answers", "comments", "step"}, of one length per round.
    sealed: Mapped[bytes] = mapped_column(LargeBinary)

    invitation: Mapped[Invitation] = relationship(back_populates="draft")


class PendingResponse(Model):
    """A submitted response waiting, sealed, for its round to close.

    A submit stores the participation and this row in one transaction, so the two share a
    transaction id (PostgreSQL) and a place in the order of writes (SQLite). What links them
    is therefore sealed under the server's key: the team, attributes, answers and comments.
    When the round closes, every pending response of the round is opened and written to
    ``response``, ``answer`` and ``comment`` in one transaction, in a random order and with
    fresh keys, and the pending rows are deleted: a readable response never shares a
    transaction, an order or a time with the person who gave it.
    """

    __tablename__ = "pending_response"

    id: Mapped[int] = mapped_column(RandomKey, primary_key=True, default=random_id)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id", ondelete="CASCADE"), index=True)
    #: Nonce and AES-GCM ciphertext of the response, of one length per round.
    sealed: Mapped[bytes] = mapped_column(LargeBinary)


class ImportUpload(Model):
    """A people file HR uploaded, kept between its preview and "Apply these changes": in the
    database, so that whichever host serves the "Apply" (behind a load balancer) has it."""

    __tablename__ = "import_upload"

    #: Random, carried by the preview page's URL.
    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StoredReport(Model):
    """A closed round's report of one group (a PDF, or the CSV of its figures), rendered in
    the background when the round closed, so that a download only reads it.

    The content depends on the round's data, which no longer changes, and on what the
    ``fingerprint`` sums up (the organisation's name, the report's templates and styles): a
    stored report whose fingerprint is not today's is not served, and is rendered again.
    """

    __tablename__ = "stored_report"
    __table_args__ = (CheckConstraint("kind IN ('pdf', 'csv')", name="kind_known"),)

    round_id: Mapped[int] = mapped_column(
        ForeignKey("round.id", ondelete="CASCADE"), primary_key=True)
    #: The team's id, or 0 for the whole organisation.
    team_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(3), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    fingerprint: Mapped[str] = mapped_column(String(64))
    rendered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MailKind:
    INVITATION = "invitation"
    REMINDER = "reminder"


class ScheduledReminder(Model):
    """A reminder HR asked for ahead, on a day of the round: the job that runs by the clock
    starts it that day at ``REMINDER_HOUR`` (the organisation's time), as if HR had pressed
    "Send reminders" then."""

    __tablename__ = "scheduled_reminder"
    __table_args__ = (UniqueConstraint("round_id", "send_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id", ondelete="CASCADE"), index=True)
    send_on: Mapped[date] = mapped_column(Date)
    #: The HR admin who scheduled it, whom its sending is credited to (links mailed to a
    #: changed address count as exports under their name); the name stays if the account goes.
    scheduled_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"))
    scheduled_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: When it started, and the number of the reminder it started (``Round.reminder_batches``).
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminder: Mapped[int | None] = mapped_column()


class MailBatch(Model):
    """A share of one sending (the invitations of a round, or one of its reminders) that one
    worker sends over one SMTP connection: the round's invitations with ids from
    ``first_invitation_id`` to ``last_invitation_id`` that still need this message.

    What each person was sent is recorded on their invitation (``sent_at``,
    ``reminder_batch``), in the commit after each message, so that a batch taken over after
    its worker died sends only what is not recorded yet. The lease (``lease_owner`` until
    ``lease_until``, renewed as the owner goes) lets one worker at a time send a batch; the
    job that runs by the clock queues again a batch whose lease ran out, or whose retry is
    due after the mail server failed (``failures``, ``error``, ``next_try_at``).
    """

    __tablename__ = "mail_batch"
    __table_args__ = (
        CheckConstraint("kind IN ('invitation', 'reminder')", name="kind_known"),
        CheckConstraint("sent >= 0 AND total >= 0", name="counts_not_negative"),
        Index("ix_mail_batch_round", "round_id", "kind", "reminder"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))
    #: The reminder's number (``Round.reminder_batches`` when it started); 0 for invitations.
    reminder: Mapped[int] = mapped_column(default=0)
    first_invitation_id: Mapped[int]
    last_invitation_id: Mapped[int]
    #: Messages the batch had to send when it was made, and those sent so far.
    total: Mapped[int]
    sent: Mapped[int] = mapped_column(default=0)
    #: Whether the page may show this batch's figures: always for invitations; for a reminder
    #: only when HR's page showed how many it would reach (``RoundProgress.to_remind``) when
    #: it started, since how many were reminded tells how many have submitted.
    countable: Mapped[bool] = mapped_column(default=True)
    #: The HR admin who asked (None: the command line), whose name a link mailed to a changed
    #: address or written to the outbox is recorded under (``LinkExport``).
    requested_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"))
    requested_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: When the batch was last put on the queue (None: taken off it by a worker, or its retry
    #: is to be queued by the clock).
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The worker sending the batch, and until when it may (renewed as it sends).
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Failed attempts in a row, the last failure (for HR: a reminder's names no recipient),
    #: when it happened, and when the batch is tried again.
    failures: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(String(1000))
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_try_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When every message was sent, or the round closed and the rest was dropped.
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LinkExport(Model):
    """Survey links taken out of the application: the links CSV, ``flask round links``.

    Whoever holds a link can answer in that person's name, so every export is recorded and
    shown on the round's page and on every report of the round.
    """

    __tablename__ = "link_export"
    __table_args__ = (CheckConstraint("links >= 0", name="links_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id", ondelete="CASCADE"), index=True)
    #: The HR admin who downloaded the links; None for the command line.
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"))
    #: Who exported, as reports show it (kept when the account is deleted).
    exported_by: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: How many links the export held.
    links: Mapped[int] = mapped_column(default=0)


class Response(Model):
    """One employee's submitted answers: with the round, the team and coarse attributes only.

    Deliberately absent: person, invitation, client address and any time finer than the round.
    The key is random so that the order of responses says nothing about who answered when.
    """

    __tablename__ = "response"
    __table_args__ = (Index("ix_response_round_team", "round_id", "team_id"),)

    id: Mapped[int] = mapped_column(RandomKey, primary_key=True, default=random_id)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id", ondelete="CASCADE"))
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id", ondelete="RESTRICT"))
    location: Mapped[str | None] = mapped_column(String(80))
    role_level: Mapped[str | None] = mapped_column(String(80))
    tenure_band: Mapped[str | None] = mapped_column(String(80))

    answers: Mapped[list[Answer]] = relationship(
        back_populates="response", cascade="all, delete-orphan", passive_deletes=True
    )
    comments: Mapped[list[Comment]] = relationship(
        back_populates="response", cascade="all, delete-orphan", passive_deletes=True
    )


class Answer(Model):
    """One rated statement of a response."""

    __tablename__ = "answer"
    __table_args__ = (CheckConstraint("value BETWEEN 1 AND 5", name="value_on_scale"),)

    response_id: Mapped[int] = mapped_column(
        RandomKey, ForeignKey("response.id", ondelete="CASCADE"), primary_key=True
    )
    statement_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(SmallInteger)

    response: Mapped[Response] = relationship(back_populates="answers")


class Comment(Model):
    """One answer to an open question of a response."""

    __tablename__ = "comment"
    __table_args__ = (
        CheckConstraint("length(text) <= 2000", name="text_max_2000"),
        CheckConstraint("length(trim(text)) > 0", name="text_not_blank"),
    )

    id: Mapped[int] = mapped_column(RandomKey, primary_key=True, default=random_id)
    response_id: Mapped[int] = mapped_column(
        RandomKey, ForeignKey("response.id", ondelete="CASCADE"), index=True
    )
    question_key: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)

    response: Mapped[Response] = relationship(back_populates="comments")
