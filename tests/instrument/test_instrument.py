import re

import pytest

from surveyapp.instrument import (
    MAX_ADDED_PER_CAPABILITY,
    Instrument,
    InstrumentError,
    load_default,
)

CAPABILITY_NAMES = [
    "Broaden awareness",
    "Cultivate curiosity",
    "Allow for empathy",
    "Encourage initiative",
    "Stretch flexibility",
    "Bounce back",
    "Take personal responsibility",
]


def test_default_instrument_has_the_seven_capabilities_in_order():
    assert [c.name for c in load_default().capabilities] == CAPABILITY_NAMES


def test_every_capability_has_four_statements():
    assert [len(c.statements) for c in load_default().capabilities] == [4] * 7


def test_statements_follow_the_writing_rules():
    for statement in load_default().statements:
        words = statement.text.rstrip(".").split()
        assert 8 <= len(words) <= 15, statement.text
        assert words[0] == "I", statement.text
        assert " and " not in statement.text, statement.text
        assert statement.text.endswith("."), statement.text


def test_scale_is_five_labelled_points():
    scale = load_default().scale
    assert [p.value for p in scale] == [1, 2, 3, 4, 5]
    assert scale[0].label == "Strongly disagree"
    assert scale[-1].label == "Strongly agree"


def test_open_questions_include_the_improvement_question_first():
    questions = load_default().questions
    assert questions[0].text == "What would you do to make our service better?"
    assert questions[1].text == "What gets in the way of giving great service?"


def test_round_trip_through_dict_is_lossless():
    instrument = load_default().with_added_statement("empathy", "I thank customers for their patience.")
    assert Instrument.from_dict(instrument.to_dict()) == instrument


def test_rewording_changes_only_that_statement():
    before = load_default()
    after = before.with_statement_text("curiosity.why", "  I ask why a process works   as it does. ")
    assert after.capability("curiosity").statements[2].text == "I ask why a process works as it does."
    changed = [k for k in before.statement_keys
               if before.capability_of(k).statements != after.capability_of(k).statements]
    assert set(changed) == {s.key for s in before.capability("curiosity").statements}


def test_at_most_three_statements_can_be_added_per_capability():
    instrument = load_default()
    for n in range(MAX_ADDED_PER_CAPABILITY):
        instrument = instrument.with_added_statement("initiative", f"I suggest improvement number {n}.")
    assert len(instrument.capability("initiative").statements) == 7
    with pytest.raises(InstrumentError, match="already has 3 added statements"):
        instrument.with_added_statement("initiative", "One statement too many for this one.")


def test_added_statements_get_fresh_keys_after_removal():
    instrument = load_default().with_added_statement("empathy", "First added statement here.")
    instrument = instrument.with_added_statement("empathy", "Second added statement here.")
    instrument = instrument.without_statement("empathy.added1")
    instrument = instrument.with_added_statement("empathy", "Third added statement here.")
    keys = [s.key for s in instrument.capability("empathy").statements if s.added]
    assert keys == ["empathy.added2", "empathy.added1"]


def test_published_statements_cannot_be_removed():
    with pytest.raises(InstrumentError, match="Only statements added"):
        load_default().without_statement("empathy.listen")


@pytest.mark.parametrize("text", ["", "too short", "x" * 201])
def test_statement_text_length_is_checked(text):
    with pytest.raises(InstrumentError, match="characters"):
        load_default().with_statement_text("empathy.listen", text)


def test_duplicate_keys_are_refused():
    data = load_default().to_dict()
    data["capabilities"][1]["statements"][0]["key"] = "awareness.impact"
    with pytest.raises(InstrumentError, match=re.escape("awareness.impact")):
        Instrument.from_dict(data)


def test_malformed_instrument_is_refused_with_instrument_error():
    with pytest.raises(InstrumentError, match="malformed"):
        Instrument.from_dict({"id": "x"})
