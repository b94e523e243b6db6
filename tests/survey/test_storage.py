"""Storing a submit: one participation per person and round, all or nothing, and on PostgreSQL
one statement."""

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError

from surveyapp.instrument import load_default
from surveyapp.models import Draft, Participation, PendingResponse
from surveyapp.survey import storage
from surveyapp.survey.reading import find_for_writing
from surveyapp.survey.storage import AlreadySubmitted, save_answers, store_response

from ..sealed import pending_responses

pytestmark = pytest.mark.both_databases

FIRST = load_default().capabilities[0].statements[0].key


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def answered(db, token: str, value: int = 4):
    """The invitation of ``token`` with a saved draft, as a submit reads it."""
    save_answers(find_for_writing(token), {FIRST: value}, {})
    db.session.commit()
    return find_for_writing(token)


def test_a_submit_that_read_not_submitted_before_another_committed_stores_nothing(
        db, open_round):
    # Two submits that both read "not submitted": the participation's key stops the second.
    first = answered(db, open_round.token)
    second = find_for_writing(open_round.token)
    store_response(first)
    db.session.commit()
    with pytest.raises(AlreadySubmitted):
        store_response(second)
    assert count(db, Participation) == count(db, PendingResponse) == 1
    assert pending_responses()[0]["answers"] == {FIRST: 4}
    assert count(db, Draft) == 0


def test_any_other_refusal_is_no_second_submit_and_leaves_nothing_half_stored(
        db, open_round, monkeypatch):
    monkeypatch.setattr(storage, "random_id", lambda: 42)  # every pending response's key
    store_response(answered(db, open_round.tokens[1]))
    db.session.commit()
    invitation = answered(db, open_round.token, value=2)
    with pytest.raises(IntegrityError):  # the pending response's key, not the participation's
        store_response(invitation)
    db.session.rollback()
    assert count(db, Participation) == count(db, PendingResponse) == 1
    assert count(db, Draft) == 1  # still there to submit again


def test_a_submit_is_one_statement_on_postgresql(db, open_round):
    invitation = answered(db, open_round.token)
    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        store_response(invitation)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    db.session.commit()
    # SQLite: the participation, the pending response and the draft's deletion, one by one.
    assert len(statements) == (1 if db.engine.dialect.name == "postgresql" else 3), statements
    assert count(db, Participation) == count(db, PendingResponse) == 1
    assert count(db, Draft) == 0
