import pytest

from surveyapp.analysis.confidentiality import (
    ORGANISATION,
    GroupNode,
    decide_visibility,
    mask_contact_details,
    present_comments,
)


def shown(nodes, minimum=5):
    return set(decide_visibility(nodes, minimum).shown) - {ORGANISATION}


def test_groups_below_the_minimum_are_hidden():
    nodes = [GroupNode(1, None, 4), GroupNode(2, None, 5), GroupNode(3, None, 9)]
    # 1 is hidden; the organisation minus 2 and 3 would reveal it, so the smallest (2) goes too
    assert shown(nodes) == {3}


def test_a_lone_hidden_sibling_takes_the_next_smallest_with_it():
    # Parent 10 (no own people) = A 6 + B 4. Showing A and the parent would reveal B.
    nodes = [GroupNode(10, None, 0), GroupNode(11, 10, 6), GroupNode(12, 10, 4)]
    assert shown(nodes) == {10}


def test_hidden_siblings_that_together_reach_the_minimum_are_safe():
    nodes = [GroupNode(10, None, 0), GroupNode(11, 10, 8), GroupNode(12, 10, 3),
             GroupNode(13, 10, 2)]
    # 12 + 13 = 5 responses can be derived together, which is allowed
    assert shown(nodes) == {10, 11}


def test_a_parents_own_people_cannot_be_worked_out_by_subtraction():
    # Customer Care has 2 people of its own and two sub-teams of 10: Care - North - South = 2.
    nodes = [GroupNode(1, None, 2), GroupNode(2, 1, 10), GroupNode(3, 1, 10)]
    result = shown(nodes)
    assert 1 in result
    assert len(result & {2, 3}) == 1


def test_an_empty_hidden_team_is_protected_like_a_small_one():
    # B has people but no responses yet: A alone must not equal the parent.
    nodes = [GroupNode(10, None, 0), GroupNode(11, 10, 7), GroupNode(12, 10, 0, invited=4)]
    assert shown(nodes) == {10}


def test_a_team_with_no_people_needs_no_protection():
    nodes = [GroupNode(10, None, 0), GroupNode(11, 10, 7), GroupNode(12, 10, 0, invited=0)]
    assert shown(nodes) == {10, 11}


def test_suppression_looks_through_hidden_levels():
    # Org: Ops(0) -> Care(0) -> North 3 ; Ops -> Field 12. Care and North are hidden (3);
    # Ops (15) minus Field (12) would reveal them, so Field is hidden as well.
    nodes = [GroupNode(1, None, 0), GroupNode(2, 1, 0), GroupNode(3, 2, 3), GroupNode(4, 1, 12)]
    assert shown(nodes) == {1}


def test_no_shown_group_ever_leaves_a_small_residue():
    # A wider tree; check the invariant directly rather than one answer.
    nodes = [GroupNode(1, None, 1), GroupNode(2, 1, 6), GroupNode(3, 1, 9), GroupNode(4, 3, 2),
             GroupNode(5, 3, 7), GroupNode(6, None, 30), GroupNode(7, 6, 4), GroupNode(8, 6, 5)]
    vis = decide_visibility(nodes, 5)
    children = {}
    for n in nodes:
        children.setdefault(n.parent_id or ORGANISATION, []).append(n.id)
    for group in vis.shown:
        frontier, stack = [], list(children.get(group, []))
        while stack:
            g = stack.pop()
            if g in vis.shown:
                frontier.append(g)
            else:
                stack.extend(children.get(g, []))
        residue = vis.totals[group] - sum(vis.totals[g] for g in frontier)
        assert residue == 0 or residue >= 5, (group, residue)


def test_team_id_zero_is_reserved():
    with pytest.raises(ValueError):
        decide_visibility([GroupNode(0, None, 5)], 5)


@pytest.mark.parametrize("text, expected", [
    ("Mail me at jo.bloggs+x@example.co.uk please", "Mail me at [e-mail removed] please"),
    ("Call 07700 900123 or +44 20 7946 0958.", "Call [phone number removed] or [phone number removed]."),
    ("We had 3 tickets in 2025 and 12 in 2026.", "We had 3 tickets in 2025 and 12 in 2026."),
])
def test_contact_details_are_masked(text, expected):
    assert mask_contact_details(text) == expected


def test_comment_order_is_stable_for_a_seed_and_independent_of_input_order():
    comments = [(30, "c"), (10, "a"), (20, "b"), (40, "d"), (50, "e")]
    first = present_comments(comments, "round-1:team-2")
    assert first == present_comments(list(reversed(comments)), "round-1:team-2")
    assert sorted(first) == ["a", "b", "c", "d", "e"]
