"""The employee's side of a round: find the invitation, save answers as they go, submit.

A draft is sealed under a key derived from the link's token (``surveyapp/sealing.py``), which
only the employee's requests carry. Submitting records the participation, stores the response
sealed under the server's key as a ``PendingResponse`` (with the team and coarse attributes),
and deletes the draft, all in one transaction; the round's pending responses become readable
responses, all at once and in a random order, when it closes (``survey/release.py``).

Survey pages are the busiest in the application (every employee, several times), so their path
reads and writes with prepared Core statements and plain values instead of ORM objects: one
query finds the invitation with everything its pages need (``SurveyInvitation``), and a submit
is a handful of inserts. ``save_draft`` and ``submit_response`` keep an ORM interface for the
demo data and the tests.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from flask import current_app
from sqlalchemy import Text, and_, bindparam, cast, delete, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from ..database import reading_connection
from ..extensions import db
from ..instrument import COMMENT_MAX_LENGTH, Instrument
from ..models import (
    Draft,
    Invitation,
    Participation,
    PendingResponse,
    Person,
    Round,
    RoundStatus,
    random_id,
)
from ..rounds.tokens import hash_token, looks_like_token, token_for
from ..sealing import (
    SealError,
    draft_context,
    draft_key,
    open_sealed,
    response_context,
    response_key,
    seal,
    sealed_size,
)
from .steps import Step, steps_of


class SurveyError(Exception):
    """The survey cannot take answers now; ``kind`` names the page to show."""

    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


class AlreadySubmitted(SurveyError):
    def __init__(self):
        super().__init__("submitted")


class BadAnswers(ValueError):
    """Posted answers that no form of ours could send (tampered or broken input)."""


@dataclass(frozen=True)
class SurveyRound:
    """A round as the survey pages show it: plain values, read with the invitation."""

    id: int
    name: str
    status: str
    opens_on: date
    closes_on: date
    min_group_size: int
    min_comment_group_size: int


@dataclass(frozen=True)
class Survey:
    """A round's instrument made ready for its pages: parsed and cut into steps once per worker
    (``survey_of``), with the keys that posted answers are checked against."""

    instrument: Instrument
    steps: tuple[Step, ...]
    #: In survey order.
    statement_keys: tuple[str, ...]
    question_keys: tuple[str, ...]
    scale_values: frozenset[int]
    #: The length of every sealed draft and pending response of the survey.
    sealed_size: int

    @classmethod
    def of(cls, instrument: Instrument) -> Survey:
        return cls(instrument=instrument, steps=tuple(steps_of(instrument)),
                   statement_keys=instrument.statement_keys,
                   question_keys=tuple(q.key for q in instrument.questions),
                   scale_values=frozenset(instrument.scale_values),
                   sealed_size=sealed_size(instrument.statement_keys,
                                           [q.key for q in instrument.questions],
                                           COMMENT_MAX_LENGTH))


@lru_cache(maxsize=32)
def survey_of(instrument_json: str) -> Survey:
    """Return the survey of a round's instrument, given as stored (JSON text).

    Cached by the text itself: a worker parses a launched round's instrument once, and an
    edited one (a draft round's, in HR's preview) is never served stale.

    :raise InstrumentError: when the stored instrument is malformed.
    """
    return Survey.of(Instrument.from_dict(json.loads(instrument_json)))


@dataclass(frozen=True)
class SurveyInvitation:
    """An invitation with everything its survey pages need, read in one query."""

    id: int
    round_id: int
    person_id: int
    #: The person's team when the round was launched: the response is counted there.
    team_id: int
    #: The secret of the link, which opens the draft; held only while a request lasts.
    token: str
    round: SurveyRound
    #: The round's instrument as stored (JSON text), the key of ``survey_of``.
    instrument_json: str
    #: The person's coarse attributes, copied onto the response.
    location: str | None
    role_level: str | None
    tenure_band: str | None
    has_draft: bool
    #: The draft's answers ({statement key: 1..5}) and comments ({question key: text}); empty
    #: without a draft.
    answers: dict
    comments: dict
    #: The last step reached (0 without a draft).
    step: int
    submitted: bool

    @property
    def survey(self) -> Survey:
        return survey_of(self.instrument_json)


_invitation, _round, _person, _draft, _participation = (
    model.__table__ for model in (Invitation, Round, Person, Draft, Participation)
)
# The statements of the survey's path, built once, so that SQLAlchemy reuses their compiled form
# without working out a cache key on every request.
_READ = select(
    _invitation.c.id, _invitation.c.round_id, _invitation.c.person_id, _invitation.c.team_id,
    _invitation.c.nonce,
    _round.c.name, _round.c.status, _round.c.opens_on, _round.c.closes_on,
    _round.c.min_group_size, _round.c.min_comment_group_size,
    # As text: the key of the parsed survey's cache, not parsed again on every request.
    cast(_round.c.instrument, Text).label("instrument_json"),
    _person.c.location, _person.c.role_level, _person.c.tenure_band,
    _draft.c.invitation_id.label("draft_id"), _draft.c.sealed,
    _participation.c.person_id.label("participant"),
).select_from(
    _invitation.join(_round, _round.c.id == _invitation.c.round_id)
    .join(_person, _person.c.id == _invitation.c.person_id)
    .outerjoin(_draft, _draft.c.invitation_id == _invitation.c.id)
    .outerjoin(_participation, and_(_participation.c.round_id == _invitation.c.round_id,
                                    _participation.c.person_id == _invitation.c.person_id))
)
_READ_BY_TOKEN = _READ.where(_invitation.c.token_hash == bindparam("token_hash"))
_READ_BY_ID = _READ.where(_invitation.c.id == bindparam("invitation_id"))
_LOCK = (select(_invitation.c.id).where(_invitation.c.token_hash == bindparam("token_hash"))
         .with_for_update())
_INSERT_PARTICIPATION = insert(_participation)
_INSERT_PENDING = insert(PendingResponse.__table__)
_INSERT_DRAFT = insert(_draft)
_UPDATE_DRAFT = update(_draft).where(_draft.c.invitation_id == bindparam("draft_of"))
_DELETE_DRAFT = delete(_draft).where(_draft.c.invitation_id == bindparam("invitation_id"))


def _survey_invitation(row, token: str) -> SurveyInvitation:
    has_draft = row.draft_id is not None
    draft = (_open_draft(row.id, token, row.sealed) if has_draft else None) or {}
    return SurveyInvitation(
        id=row.id, round_id=row.round_id, person_id=row.person_id, team_id=row.team_id,
        token=token, round=SurveyRound(id=row.round_id, name=row.name, status=row.status,
                          opens_on=row.opens_on, closes_on=row.closes_on,
                          min_group_size=row.min_group_size,
                          min_comment_group_size=row.min_comment_group_size),
        instrument_json=row.instrument_json, location=row.location, role_level=row.role_level,
        tenure_band=row.tenure_band, has_draft=has_draft,
        answers=draft.get("answers") or {}, comments=draft.get("comments") or {},
        step=draft.get("step") or 0, submitted=row.participant is not None,
    )


def _open_draft(invitation_id: int, token: str, sealed: bytes) -> dict | None:
    """The draft's answers, comments and step; None (start again) when it does not open,
    which only a damaged row can cause: the token that found the invitation is its key."""
    try:
        return open_sealed(draft_key(token), sealed, draft_context(invitation_id))
    except SealError:
        current_app.logger.warning("The draft of invitation %s does not open; it is replaced "
                                   "by the next answers saved.", invitation_id)
        return None


def find_invitation(token: str) -> SurveyInvitation | None:
    """Return the invitation with this token, or None (also for a malformed token).

    For pages that only read; see ``find_for_writing`` for the others.
    """
    if not looks_like_token(token):
        return None
    # A connection of its own rather than the session's: pages that only read need none of the
    # session's bookkeeping, which cost a third of the page.
    with reading_connection() as connection:
        row = connection.execute(_READ_BY_TOKEN, {"token_hash": hash_token(token)}).first()
    return None if row is None else _survey_invitation(row, token)


def read_invitation(invitation_id: int, token: str | None = None) -> SurveyInvitation | None:
    """Return the invitation with this id as it stands now, or None.

    ``token``: the link's, when the caller has it; else the server works it out from the
    invitation's nonce (the demo data and the tests).
    """
    row = db.session.execute(_READ_BY_ID, {"invitation_id": invitation_id}).first()
    return None if row is None else _survey_invitation(row, token or token_for(row.nonce))


def find_for_writing(token: str) -> SurveyInvitation | None:
    """Return the invitation with this token, locked until the transaction ends, or None.

    Use it, not ``find_invitation``, for a request that writes (saving a step, submitting).
    The invitation's row is locked first and read after, so that two such requests for one
    invitation (a save still in flight and the submit, or two submits) run one after the other
    on PostgreSQL, the second seeing what the first committed. Without it, a save that read
    "not submitted" just before the submit committed would leave a draft, answers beside the
    person, after the submit. SQLite's writers already queue (``BEGIN IMMEDIATE``); there the
    lock is not needed and not sent.
    """
    if not looks_like_token(token):
        return None
    invitation_id = db.session.scalar(_LOCK, {"token_hash": hash_token(token)})
    return None if invitation_id is None else read_invitation(invitation_id, token)


@dataclass(frozen=True)
class SurveyState:
    """What the invitation's page should show: "open", "not_yet_open", "closed", "submitted"."""

    kind: str
    round: SurveyRound


def survey_state(invitation: SurveyInvitation, today: date) -> SurveyState:
    """Decide which page an invitation's link leads to today."""
    round_ = invitation.round
    if invitation.submitted:
        return SurveyState("submitted", round_)
    if round_.status == RoundStatus.CLOSED or round_.closes_on < today:
        return SurveyState("closed", round_)
    if round_.status != RoundStatus.OPEN or round_.opens_on > today:
        return SurveyState("not_yet_open", round_)
    return SurveyState("open", round_)


def parse_answers(survey: Survey, form: Mapping[str, str]) -> tuple[dict, dict]:
    """Read statement answers and comments from a posted form.

    Fields named ``s:<statement key>`` hold a scale value; ``q:<question key>`` a comment.
    Unknown fields are ignored (the CSRF token, buttons); empty ones mean "not answered".

    :raise BadAnswers: a value off the scale, a comment over the length limit, or a statement
        or question sent twice (a MultiDict's ``items()`` would silently keep the first).
    :return: ({statement key: value}, {question key: text})
    """
    keys = set(survey.statement_keys)
    questions = set(survey.question_keys)
    scale = survey.scale_values
    answers: dict[str, int] = {}
    comments: dict[str, str] = {}
    seen: set[str] = set()
    items = form.items(multi=True) if hasattr(form, "getlist") else form.items()
    for name, raw in items:
        kind, _, key = name.partition(":")
        if (kind == "s" and key in keys) or (kind == "q" and key in questions):
            if name in seen:
                raise BadAnswers("The same statement or question was answered twice.")
            seen.add(name)
        if kind == "s" and key in keys and raw != "":
            try:
                value = int(raw)
            except ValueError:
                raise BadAnswers(f"{raw!r} is not a point on the scale.") from None
            if value not in scale:
                raise BadAnswers(f"{value} is not a point on the scale.")
            answers[key] = value
        elif kind == "q" and key in questions:
            # Control characters other than newlines and tabs: no keyboard types them,
            # PostgreSQL cannot store NUL, and a sealed comment has room for printable text
            # (surveyapp/sealing.py).
            text = _CONTROL.sub("", raw.replace("\r\n", "\n")).strip()
            if len(text) > COMMENT_MAX_LENGTH:
                raise BadAnswers(f"A comment can have at most {COMMENT_MAX_LENGTH} characters.")
            comments[key] = text
    return answers, comments


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def merge_draft(saved_answers: Mapping[str, int], saved_comments: Mapping[str, str],
                answers: Mapping[str, int], comments: Mapping[str, str]) -> tuple[dict, dict]:
    """Return a draft's answers and comments after a post: answers not posted are kept; a
    comment posted empty is cleared."""
    merged = {**saved_comments, **comments}
    return {**saved_answers, **answers}, {k: v for k, v in merged.items() if v}


def save_answers(invitation: SurveyInvitation, answers: Mapping[str, int],
                 comments: Mapping[str, str], step: int | None = None) -> None:
    """Merge answers into the invitation's draft (creating it), and remember the step.

    ``invitation`` must come from ``find_for_writing`` (read under the lock).
    """
    answers, comments = merge_draft(invitation.answers, invitation.comments, answers, comments)
    sealed = seal(draft_key(invitation.token), {
        "answers": answers, "comments": comments,
        "step": invitation.step if step is None else step,
    }, draft_context(invitation.id), invitation.survey.sealed_size)
    if invitation.has_draft:
        db.session.execute(_UPDATE_DRAFT, {"draft_of": invitation.id, "sealed": sealed})
    else:
        db.session.execute(_INSERT_DRAFT, {"invitation_id": invitation.id, "sealed": sealed})


def save_draft(invitation: Invitation, answers: Mapping[str, int],
               comments: Mapping[str, str], step: int | None = None) -> None:
    """``save_answers`` for ORM callers (the demo data, tests), on ``Invitation``: flushes the
    session first, and forgets the draft it had loaded after."""
    loaded = invitation.__dict__.get("draft")
    db.session.flush()
    save_answers(read_invitation(invitation.id), answers, comments, step)
    if loaded is not None:
        db.session.expire(loaded)
    db.session.expire(invitation, ["draft"])


def store_response(invitation: SurveyInvitation) -> None:
    """Seal the invitation's draft as a pending response, record participation, delete draft.

    ``invitation`` must come from ``find_for_writing`` (read under the lock). The response
    holds the team and coarse attributes, never the person; it stays sealed under the
    server's key until the round closes (``PendingResponse``). Prepared statements of plain
    rows: on SQLite every submit holds the write lock until it commits, so the work done
    meanwhile sets how many submits a second it can take; PostgreSQL takes it all in one
    statement.

    :raise AlreadySubmitted: when this person has already submitted in this round (also when
        two submits race: the participation's primary key lets only one through; the session
        is rolled back).
    """
    if invitation.submitted:
        raise AlreadySubmitted()
    survey = invitation.survey
    answers, comments = invitation.answers, invitation.comments
    sealed = seal(response_key(invitation.round_id), {
        "team_id": invitation.team_id, "location": invitation.location,
        "role_level": invitation.role_level, "tenure_band": invitation.tenure_band,
        "answers": {key: int(answers[key]) for key in survey.statement_keys if key in answers},
        "comments": {key: comments[key][:COMMENT_MAX_LENGTH] for key in survey.question_keys
                     if comments.get(key, "").strip()},
    }, response_context(invitation.round_id), survey.sealed_size)
    try:
        if db.session.get_bind().dialect.name == "postgresql":
            db.session.execute(_STORE_POSTGRESQL, {
                "round_id": invitation.round_id, "person_id": invitation.person_id,
                "pending_id": random_id(), "sealed": sealed, "invitation_id": invitation.id,
            })
        else:
            db.session.execute(_INSERT_PARTICIPATION, {"round_id": invitation.round_id,
                                                       "person_id": invitation.person_id})
            db.session.execute(_INSERT_PENDING, {"id": random_id(),
                                                 "round_id": invitation.round_id,
                                                 "sealed": sealed})
            if invitation.has_draft:
                db.session.execute(_DELETE_DRAFT, {"invitation_id": invitation.id})
    except IntegrityError as error:
        if not _is_second_participation(error):
            raise
        db.session.rollback()
        raise AlreadySubmitted() from None


def _is_second_participation(error: IntegrityError) -> bool:
    diagnostics = getattr(error.orig, "diag", None)  # PostgreSQL names the constraint
    if diagnostics is not None:
        return diagnostics.constraint_name == "pk_participation"
    return "participation" in str(error.orig)


#: The whole submit as one PostgreSQL statement, one round trip instead of three: each table's
#: rows in a data-modifying WITH (foreign keys are checked at the end of the statement).
_STORE_POSTGRESQL = text("""
WITH participation_row AS (
    INSERT INTO participation (round_id, person_id) VALUES (:round_id, :person_id)
), pending_row AS (
    INSERT INTO pending_response (id, round_id, sealed) VALUES (:pending_id, :round_id, :sealed)
)
DELETE FROM draft WHERE invitation_id = :invitation_id
""")


def submit_response(invitation: Invitation) -> None:
    """``store_response`` for ORM callers (the demo data, tests), on ``Invitation``: flushes
    the session first, and forgets the deleted draft after.

    :raise AlreadySubmitted: as ``store_response``.
    """
    db.session.flush()
    draft = db.session.get(Draft, invitation.id)
    store_response(read_invitation(invitation.id))
    if draft is not None:
        db.session.expunge(draft)
    db.session.expire(invitation, ["draft"])
