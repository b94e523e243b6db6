"""Coarse attributes on responses: no stored combination is held by fewer than the minimum."""

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from surveyapp.analysis.attributes import shared_attributes

from ..profiles import examples


def classes(rows) -> Counter:
    return Counter(rows)


def test_a_team_below_the_minimum_keeps_no_attribute():
    people = [("Leeds", "Staff", "1-3 years")] * 4
    assert shared_attributes(people, 5) == [(None, None, None)] * 4


def test_values_shared_by_enough_people_are_kept_whole():
    people = [("Leeds", "Staff", "1-3 years")] * 5 + [("York", "Manager", "5+ years")] * 5
    assert shared_attributes(people, 5) == people


def test_the_one_senior_person_in_leeds_is_not_singled_out():
    # Location and role level are each common, but together one combination is unique.
    people = ([("Leeds", "Staff", None)] * 4 + [("Leeds", "Manager", None)]
              + [("York", "Manager", None)] * 4 + [("York", "Staff", None)])
    coarse = shared_attributes(people, 5)
    assert min(classes(coarse).values()) >= 5
    assert coarse == [(p[0], None, None) for p in people]  # role level given up, location kept


def test_a_rare_value_joins_the_unrecorded_ones_and_they_must_be_enough_together():
    people = [("Leeds", None, None)] * 6 + [("Paris", None, None)] + [(None, None, None)]
    coarse = shared_attributes(people, 5)
    # Paris (1) and no value (1) are too few even together: Leeds (the rarest left) joins them.
    assert coarse == [(None, None, None)] * 8


def test_rare_values_merge_into_one_neutral_class_when_that_is_enough():
    people = [("Leeds", None, None)] * 5 + [("Paris", None, None)] * 3 + [("Rome", None, None)] * 2
    coarse = shared_attributes(people, 5)
    assert coarse == [("Leeds", None, None)] * 5 + [(None, None, None)] * 5


attribute = st.sampled_from(["a", "b", "c", None])


@settings(max_examples=examples(300))
@given(people=st.lists(st.tuples(attribute, attribute, attribute), max_size=40),
       minimum=st.integers(3, 8))
def test_every_stored_combination_is_shared_by_at_least_the_minimum(people, minimum):
    coarse = shared_attributes(people, minimum)
    assert len(coarse) == len(people)
    if len(people) >= minimum:
        assert min(classes(coarse).values(), default=minimum) >= minimum
    else:
        assert set(coarse) <= {(None, None, None)}
    # Coarsening only ever replaces a value by None; it never invents or swaps one.
    for before, after in zip(people, coarse, strict=True):
        assert all(a is None or a == b for b, a in zip(before, after, strict=True))
