"""The employee's side of a round: find the invitation, save answers as they go, submit.

Submitting stores the response with the round, the team and coarse attributes only, records the
participation apart from it, and deletes the draft, all in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..instrument import COMMENT_MAX_LENGTH, Instrument
from ..models import (
    Answer,
    Comment,
    Draft,
    Invitation,
    Participation,
    Response,
    Round,
    RoundStatus,
    random_id,
)
from ..rounds.tokens import hash_token, looks_like_token


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
class SurveyState:
    """What the invitation's page should show: "open", "not_yet_open", "closed", "submitted"."""

    kind: str
    round: Round


def find_invitation(token: str) -> Invitation | None:
    """Return the invitation with this token, or None (also for a malformed token)."""
    if not looks_like_token(token):
        return None
    # Every survey page needs the round and the draft: one query instead of three.
    return db.session.scalar(
        select(Invitation).options(joinedload(Invitation.round), joinedload(Invitation.draft))
        .where(Invitation.token_hash == hash_token(token))
    )


def has_submitted(invitation: Invitation) -> bool:
    return db.session.get(Participation, (invitation.round_id, invitation.person_id)) is not None


def survey_state(invitation: Invitation, today: date) -> SurveyState:
    """Decide which page an invitation's link leads to today."""
    round_ = invitation.round
    if has_submitted(invitation):
        return SurveyState("submitted", round_)
    if round_.status == RoundStatus.CLOSED or round_.closes_on < today:
        return SurveyState("closed", round_)
    if round_.status != RoundStatus.OPEN or round_.opens_on > today:
        return SurveyState("not_yet_open", round_)
    return SurveyState("open", round_)


def lock_for_writing(invitation: Invitation) -> None:
    """Hold the invitation's row lock until the transaction ends; forget what was read before.

    Call it before deciding anything for a request that writes (saving a step, submitting).
    Two such requests for one invitation (a save still in flight and the submit, or two
    submits) then run one after the other on PostgreSQL, the second seeing what the first
    committed. Without it, a save that read "not submitted" just before the submit committed
    would leave a draft, answers beside the person, after the submit. SQLite's writers already
    queue (``BEGIN IMMEDIATE``); there the lock is not needed and not sent.
    """
    db.session.execute(
        select(Invitation.id).where(Invitation.id == invitation.id).with_for_update()
    )
    # Whatever was loaded before the lock (the draft, the participation) may be out of date.
    db.session.expire_all()


def instrument_of(invitation: Invitation) -> Instrument:
    return Instrument.from_dict(invitation.round.instrument)


def parse_answers(instrument: Instrument, form: Mapping[str, str]) -> tuple[dict, dict]:
    """Read statement answers and comments from a posted form.

    Fields named ``s:<statement key>`` hold a scale value; ``q:<question key>`` a comment.
    Unknown fields are ignored (the CSRF token, buttons); empty ones mean "not answered".

    :raise BadAnswers: a value off the scale, a comment over the length limit, or a statement
        or question sent twice (a MultiDict's ``items()`` would silently keep the first).
    :return: ({statement key: value}, {question key: text})
    """
    keys = set(instrument.statement_keys)
    scale = set(instrument.scale_values)
    questions = {q.key for q in instrument.questions}
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
            # PostgreSQL cannot store NUL; no keyboard types one.
            text = raw.replace("\x00", "").replace("\r\n", "\n").strip()
            if len(text) > COMMENT_MAX_LENGTH:
                raise BadAnswers(f"A comment can have at most {COMMENT_MAX_LENGTH} characters.")
            comments[key] = text
    return answers, comments


def save_draft(invitation: Invitation, answers: Mapping[str, int],
               comments: Mapping[str, str], step: int | None = None) -> Draft:
    """Merge answers into the invitation's draft (creating it), and remember the step.

    Answers not posted are kept; a comment posted empty is cleared.
    """
    draft = invitation.draft or Draft(invitation=invitation, answers={}, comments={}, step=0)
    if draft not in db.session:
        db.session.add(draft)
    # New dicts, so that SQLAlchemy sees the JSON change.
    draft.answers = {**(draft.answers or {}), **answers}
    merged = {**(draft.comments or {}), **comments}
    draft.comments = {k: v for k, v in merged.items() if v}
    if step is not None:
        draft.step = step
    db.session.flush()
    return draft


def submit_response(invitation: Invitation) -> int:
    """Store the invitation's draft as an anonymous response, record participation, delete draft.

    :raise AlreadySubmitted: when this person has already submitted in this round (also when
        two submits race: the participation's primary key lets only one through; the session
        is rolled back).
    :return: the new response's id.
    """
    if has_submitted(invitation):
        raise AlreadySubmitted()
    draft = invitation.draft
    instrument = instrument_of(invitation)
    answers = dict(draft.answers) if draft else {}
    comments = dict(draft.comments) if draft else {}
    person = invitation.person
    db.session.add(Participation(round_id=invitation.round_id, person_id=invitation.person_id))
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise AlreadySubmitted() from None
    # Plain bulk inserts, not ORM objects: on SQLite every submit holds the write lock until
    # it commits, so the work done meanwhile sets how many submits a second it can take.
    response_id = random_id()
    db.session.execute(insert(Response), [{
        "id": response_id, "round_id": invitation.round_id, "team_id": invitation.team_id,
        "location": person.location, "role_level": person.role_level,
        "tenure_band": person.tenure_band,
    }])
    rows = [{"response_id": response_id, "statement_key": key, "value": int(answers[key])}
            for key in instrument.statement_keys if key in answers]
    if rows:
        db.session.execute(insert(Answer), rows)
    rows = [{"id": random_id(), "response_id": response_id, "question_key": q.key,
             "text": comments[q.key][:COMMENT_MAX_LENGTH]}
            for q in instrument.questions if comments.get(q.key, "").strip()]
    if rows:
        db.session.execute(insert(Comment), rows)
    if draft is not None:
        db.session.delete(draft)
    db.session.flush()
    return response_id
