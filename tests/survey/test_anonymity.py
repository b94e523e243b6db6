"""Anonymity lives in the schema: what an employee answered cannot be linked to who they are.

These tests read the schema of the real database (SQLite and PostgreSQL), not the models, so a
migration that added a linking column would fail them too.
"""

import pytest
from sqlalchemy import inspect, select, types

from surveyapp.instrument import load_default
from surveyapp.models import (
    Answer,
    Comment,
    Draft,
    Participation,
    PendingResponse,
    Response,
    Round,
)
from surveyapp.rounds.operations import close_round

pytestmark = pytest.mark.both_databases


#: The only columns each table of answers may have.
ANSWER_TABLES = {
    "response": {"id", "round_id", "team_id", "location", "role_level", "tenure_band"},
    "answer": {"response_id", "statement_key", "value"},
    "comment": {"id", "response_id", "question_key", "text"},
}
#: The tables they may point to: never person, invitation, participation, draft or user.
ALLOWED_TARGETS = {"round", "team", "response"}


def test_answer_tables_have_only_the_anonymous_columns(db):
    schema = inspect(db.engine)
    for table, allowed in ANSWER_TABLES.items():
        assert {c["name"] for c in schema.get_columns(table)} == allowed, table


def test_answer_tables_point_only_to_round_team_and_response(db):
    schema = inspect(db.engine)
    for table in ANSWER_TABLES:
        targets = {fk["referred_table"] for fk in schema.get_foreign_keys(table)}
        assert targets <= ALLOWED_TARGETS, (table, targets)


def test_answer_tables_hold_no_time(db):
    schema = inspect(db.engine)
    for table in ANSWER_TABLES:
        for column in schema.get_columns(table):
            assert not isinstance(column["type"], types.Date | types.DateTime | types.Time), \
                (table, column["name"])
            assert column.get("default") is None or "now" not in str(column["default"]).lower(), \
                (table, column["name"])


def test_only_answers_and_comments_point_to_a_response(db):
    schema = inspect(db.engine)
    pointing = {
        table for table in schema.get_table_names()
        for fk in schema.get_foreign_keys(table) if fk["referred_table"] == "response"
    }
    assert pointing == {"answer", "comment"}


def test_participation_records_who_took_part_and_nothing_else(db):
    schema = inspect(db.engine)
    assert {c["name"] for c in schema.get_columns("participation")} == {"round_id", "person_id"}
    assert {fk["referred_table"] for fk in schema.get_foreign_keys("participation")} == \
        {"round", "person"}


def test_drafts_and_pending_responses_hold_nothing_readable(db):
    schema = inspect(db.engine)
    assert {c["name"] for c in schema.get_columns("draft")} == {"invitation_id", "sealed"}
    assert {c["name"] for c in schema.get_columns("pending_response")} == \
        {"id", "round_id", "sealed"}


def test_a_response_is_readable_only_after_the_round_closes_with_a_random_key(client, db,
                                                                              open_round):
    statement = load_default().capabilities[0].statements[0].key
    for token in open_round.tokens[:3]:
        client.post(f"/s/{token}/step/1", data={f"s:{statement}": "4", "action": "next"})
        client.post(f"/s/{token}/step/8", data={"q:improve": f"Idea from {token}"})
        assert client.post(f"/s/{token}/submit").status_code == 302

    assert db.session.scalars(select(Response)).all() == []
    sealed = db.session.scalars(select(PendingResponse.sealed)).all()
    assert len(sealed) == 3
    assert not any(b"Idea from" in blob for blob in sealed)
    assert db.session.scalar(select(Participation).limit(1)) is not None

    close_round(db.session.get(Round, open_round.round_id))
    db.session.commit()
    responses = db.session.scalars(select(Response)).all()
    assert len(responses) == 3
    assert db.session.scalar(select(PendingResponse).limit(1)) is None
    # Random 62-bit keys: not 1, 2, 3, so the order of responses says nothing of who came first.
    assert all(r.id > 2**32 for r in responses)
    for response in responses:
        values = {response.round_id, response.team_id, response.location, response.role_level,
                  response.tenure_band}
        assert not any(token in str(values) for token in open_round.tokens)
    assert {a.value for a in db.session.scalars(select(Answer))} == {4}
    assert len(db.session.scalars(select(Comment)).all()) == 3


def test_every_sealed_draft_and_response_of_a_round_has_the_same_length(client, db, open_round):
    """A sealed value's length must not say how much was written: a comment's length, shown in
    the reports once the round closes, would tie the response back to its person."""
    keys = load_default().statement_keys
    longest = "\U0001F600" * 1999 + '"'  # 2,000 characters of the most bytes each
    typed = [
        {},
        {f"s:{keys[0]}": "3"},
        {**{f"s:{k}": "5" for k in keys}, "q:improve": longest, "q:obstacles": "\\\t\n" * 666},
        {"q:improve": "A short idea."},
    ]
    for token, fields in zip(open_round.tokens, typed, strict=False):
        for number in (1, 8):
            client.post(f"/s/{token}/step/{number}", data={**fields, "action": "next"})
    drafts = db.session.scalars(select(Draft.sealed)).all()
    assert len(drafts) == 4 and len({len(blob) for blob in drafts}) == 1
    for token in open_round.tokens[:4]:
        assert client.post(f"/s/{token}/submit").status_code == 302
    pending = db.session.scalars(select(PendingResponse.sealed)).all()
    assert len(pending) == 4 and {len(blob) for blob in pending} == {len(drafts[0])}
