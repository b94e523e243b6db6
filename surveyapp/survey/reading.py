"""Finding an invitation for its survey pages, and deciding which page its link leads to.

Survey pages are the busiest in the application (every employee, several times), so they read
with one prepared Core query and plain values instead of ORM objects: the invitation with its
round, its person's coarse attributes, its draft (opened with the link's token) and whether the
person has already submitted (``SurveyInvitation``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import current_app
from sqlalchemy import Text, and_, bindparam, case, cast, select

from ..database import reading_connection
from ..extensions import db
from ..models import Draft, Invitation, Participation, Person, Round, RoundStatus
from ..rounds.tokens import hash_token, looks_like_token, token_for
from ..sealing import SealError, draft_context, draft_key, open_sealed
from .answers import Survey, survey_of


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
# Built once, so that SQLAlchemy reuses their compiled form without working out a cache key on
# every request.
_READ = select(
    _invitation.c.id, _invitation.c.round_id, _invitation.c.person_id, _invitation.c.team_id,
    _invitation.c.nonce,
    _round.c.name,
    # A round HR asked to close is closed to its survey from that moment; a job closes it.
    case((_round.c.close_requested_at.is_not(None), RoundStatus.CLOSED),
         else_=_round.c.status).label("status"),
    _round.c.opens_on, _round.c.closes_on,
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
_LOCK = (select(_invitation.c.id, _invitation.c.round_id)
         .where(_invitation.c.token_hash == bindparam("token_hash")).with_for_update())
#: PostgreSQL: the invitation's round, shared (``FOR SHARE``). Closing a round updates its row
#: first, so a write to its survey waits for a close under way to commit and then reads the
#: round closed, and a close waits for the writes under way and then releases what they stored.
#: Without it, a submit that read the round open just before the close took the round, and
#: committed while the close was releasing, stored a response that was never released.
_LOCK_ROUND = (select(_round.c.id).where(_round.c.id == bindparam("round_id"))
               .with_for_update(read=True))


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
    person, after the submit. The round is locked too, shared, so that no write runs while
    the round closes (``_LOCK_ROUND``). SQLite's writers already queue (``BEGIN IMMEDIATE``),
    closing rounds included; there the locks are not needed and not sent.
    """
    if not looks_like_token(token):
        return None
    locked = db.session.execute(_LOCK, {"token_hash": hash_token(token)}).first()
    if locked is None:
        return None
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(_LOCK_ROUND, {"round_id": locked.round_id})
    return read_invitation(locked.id, token)


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
