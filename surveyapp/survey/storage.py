"""Storing the employee's answers: the draft as they go, and the response once submitted.

A draft is sealed under a key derived from the link's token (``surveyapp/sealing.py``), which
only the employee's requests carry. Submitting records the participation, stores the response
sealed under the server's key as a ``PendingResponse`` (with the team and coarse attributes),
and deletes the draft, all in one transaction; the round's pending responses become readable
responses, all at once and in a random order, when it closes (``survey/release.py``).

The writes are prepared Core statements of plain values, for the survey's busy path;
``save_draft`` and ``submit_response`` keep an ORM interface for the demo data and the tests.
Nothing here commits: the caller does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import BindParameter, CursorResult, bindparam, delete, insert, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..instrument import COMMENT_MAX_LENGTH
from ..models import Draft, Invitation, Participation, PendingResponse, random_id
from ..sealing import draft_context, draft_key, response_context, response_key, seal
from .answers import merge_draft
from .reading import SurveyInvitation, read_invitation


class SurveyError(Exception):
    """The survey cannot take answers now; ``kind`` names the page to show."""

    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


class AlreadySubmitted(SurveyError):
    def __init__(self):
        super().__init__("submitted")


_participation, _pending, _draft = (
    model.__table__ for model in (Participation, PendingResponse, Draft)
)
#: One participation per person and round: the key that refuses a second submit.
_PARTICIPATION_KEY = _participation.primary_key

_INSERT_DRAFT = insert(_draft)
_UPDATE_DRAFT = update(_draft).where(_draft.c.invitation_id == bindparam("draft_of"))

# A submit's three writes, each taking what it needs from one set of parameters: round_id,
# person_id, pending_id, sealed and invitation_id.
_NEW_PARTICIPATION: dict[str, BindParameter[Any]] = {
    "round_id": bindparam("round_id"), "person_id": bindparam("person_id")}
_INSERT_PARTICIPATION = insert(_participation).values(_NEW_PARTICIPATION)
_INSERT_PENDING = insert(_pending).values(
    id=bindparam("pending_id"), round_id=bindparam("round_id"), sealed=bindparam("sealed"))
_DELETE_DRAFT = delete(_draft).where(_draft.c.invitation_id == bindparam("invitation_id"))
#: PostgreSQL: the three as one statement, one round trip instead of three: the inserts in
#: data-modifying WITH clauses (foreign keys are checked at the end of the statement). A
#: second participation makes the whole statement fail, and so writes nothing.
_STORE_AT_ONCE = _DELETE_DRAFT.add_cte(_INSERT_PARTICIPATION.cte("participation_row"),
                                       _INSERT_PENDING.cte("pending_row"))
#: SQLite: the participation first, skipped (no row changed) when the key already holds one.
_INSERT_FIRST_PARTICIPATION = sqlite_insert(_participation).values(
    _NEW_PARTICIPATION).on_conflict_do_nothing(index_elements=list(_PARTICIPATION_KEY.columns))


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
    save_answers(_read_flushed(invitation), answers, comments, step)
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
    values = {"round_id": invitation.round_id, "person_id": invitation.person_id,
              "pending_id": random_id(), "sealed": _sealed_response(invitation),
              "invitation_id": invitation.id}
    if db.session.get_bind().dialect.name == "postgresql":
        stored = _store_at_once(values)
    else:
        stored = _store_one_by_one(values, invitation.has_draft)
    if not stored:
        db.session.rollback()
        raise AlreadySubmitted()


def _sealed_response(invitation: SurveyInvitation) -> bytes:
    """The draft's answers and comments, with the team and attributes, sealed for the round."""
    survey = invitation.survey
    answers, comments = invitation.answers, invitation.comments
    return seal(response_key(invitation.round_id), {
        "team_id": invitation.team_id, "location": invitation.location,
        "role_level": invitation.role_level, "tenure_band": invitation.tenure_band,
        "answers": {key: int(answers[key]) for key in survey.statement_keys if key in answers},
        "comments": {key: comments[key][:COMMENT_MAX_LENGTH] for key in survey.question_keys
                     if comments.get(key, "").strip()},
    }, response_context(invitation.round_id), survey.sealed_size)


def _store_at_once(values: dict) -> bool:
    """PostgreSQL: a submit's writes in one statement; False when the participation's key
    refused it (the statement then wrote nothing, and the transaction must be rolled back).

    :raise IntegrityError: when any other constraint refused it.
    """
    try:
        db.session.execute(_STORE_AT_ONCE, values)
    except IntegrityError as error:
        # PostgreSQL names the constraint that refused the row.
        diagnostics = getattr(error.orig, "diag", None)
        if diagnostics is None or diagnostics.constraint_name != _PARTICIPATION_KEY.name:
            raise
        return False
    return True


def _store_one_by_one(values: dict, has_draft: bool) -> bool:
    """SQLite: a submit's writes one after the other; False, having written nothing, when the
    person already has a participation in the round.

    SQLite's error names the columns, not the constraint, so the insert is told to skip a row
    that the participation's own key refuses instead: any other refusal still raises.
    """
    inserted = db.session.execute(_INSERT_FIRST_PARTICIPATION, values)
    # An INSERT's result is a CursorResult, though Session.execute's annotation says Result.
    if not isinstance(inserted, CursorResult):
        raise AssertionError(f"an INSERT returned a {type(inserted).__name__}")
    if inserted.rowcount == 0:
        return False
    db.session.execute(_INSERT_PENDING, values)
    if has_draft:
        db.session.execute(_DELETE_DRAFT, values)
    return True


def submit_response(invitation: Invitation) -> None:
    """``store_response`` for ORM callers (the demo data, tests), on ``Invitation``: flushes
    the session first, and forgets the deleted draft after.

    :raise AlreadySubmitted: as ``store_response``.
    """
    db.session.flush()
    draft = db.session.get(Draft, invitation.id)
    store_response(_read_flushed(invitation))
    if draft is not None:
        db.session.expunge(draft)
    db.session.expire(invitation, ["draft"])


def _read_flushed(invitation: Invitation) -> SurveyInvitation:
    """The ORM ``invitation``, just flushed, as the survey reads it."""
    survey_invitation = read_invitation(invitation.id)
    if survey_invitation is None:
        raise AssertionError(f"invitation {invitation.id} was flushed yet cannot be read")
    return survey_invitation
