"""Editing a draft's statements: every edit made, or none and every refusal named."""

import pytest

from surveyapp.instrument import load_default
from surveyapp.rounds.instrument_edits import (
    EditsRefused,
    StatementEdits,
    changes_from_published,
    edited,
)

PUBLISHED = load_default()
WORDINGS = {s.key: s.text for s in PUBLISHED.statements}
KIND = "I thank customers for their patience."


def wordings(instrument, **changes) -> dict:
    """Every statement's wording as the page sends it, ``changes`` on top (``a__b``: "a.b")."""
    return {s.key: s.text for s in instrument.statements} | {
        key.replace("__", "."): text for key, text in changes.items()}


def test_rewordings_additions_and_a_removal_are_made_together():
    added = edited(PUBLISHED, StatementEdits(WORDINGS, {"empathy": KIND}))
    result = edited(added, StatementEdits(
        wordings(added, empathy__listen="  I let upset customers\nfinish speaking. "),
        {"curiosity": "I ask colleagues what they are working on."}, remove="empathy.added1"))
    texts = {s.key: s.text for s in result.statements}
    assert texts["empathy.listen"] == "I let upset customers finish speaking."
    assert texts["curiosity.added1"] == "I ask colleagues what they are working on."
    assert "empathy.added1" not in texts
    assert changes_from_published(result) == (1, 1)


def test_wordings_that_only_differ_in_spaces_change_nothing():
    spaced = {key: f" {text}  " for key, text in WORDINGS.items()}
    assert edited(PUBLISHED, StatementEdits(spaced, {"empathy": "  "})) == PUBLISHED


def test_every_refusal_is_named_by_its_key_and_nothing_is_made():
    with pytest.raises(EditsRefused) as refused:
        edited(PUBLISHED, StatementEdits(wordings(PUBLISHED, empathy__listen="Short"),
                                         {"curiosity": "Tiny", "empathy": KIND},
                                         remove="awareness.impact"))
    assert [(e.field, str(e)) for e in refused.value.refusals] == [
        ("empathy.listen", "A statement needs at least 10 characters."),
        ("curiosity", "A statement needs at least 10 characters."),
        ("awareness.impact", "Only statements added to this round can be removed."),
    ]
    assert str(refused.value) == "A statement needs at least 10 characters."


def test_removing_a_statement_that_does_not_exist_belongs_to_no_field():
    with pytest.raises(EditsRefused) as refused:
        edited(PUBLISHED, StatementEdits(WORDINGS, remove="empathy"))
    [refusal] = refused.value.refusals
    assert refusal.field is None and "no statement 'empathy'" in str(refusal)
