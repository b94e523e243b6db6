import pytest

from surveyapp.analysis.confidentiality import (
    ORGANISATION,
    GroupNode,
    decide_figure_visibility,
    decide_visibility,
    hide_figures,
    mask_contact_details,
    present_comments,
)
from surveyapp.analysis.scores import score_group
from surveyapp.instrument import Capability, Instrument, ScalePoint, Statement


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


# --- Rule 3: the figures of each statement and capability --------------------------------------


def test_within_limits_the_groups_that_may_be_shown():
    nodes = [GroupNode(10, None, 0), GroupNode(11, 10, 6), GroupNode(12, 10, 6)]
    assert shown(nodes) == {10, 11, 12}
    assert set(decide_visibility(nodes, 5, within={ORGANISATION, 10, 12}).shown) == {
        ORGANISATION, 10, 12}


def test_within_keeps_the_complementary_rule():
    # Parent 10 = A 6 + B 4: A may be shown by itself, but not beside its parent.
    nodes = [GroupNode(10, None, 0), GroupNode(11, 10, 6), GroupNode(12, 10, 4)]
    assert set(decide_visibility(nodes, 5, within={ORGANISATION, 10, 11}).shown) == {
        ORGANISATION, 10}


def figures(answered, shown_groups=(ORGANISATION, 10, 11, 12), minimum=5):
    """Rule 3 on Parent 10 = A 11 (6 responses) + B 12 (5), one capability of four statements."""
    nodes = [GroupNode(10, None, 0), GroupNode(11, 10, 6), GroupNode(12, 10, 5)]
    capabilities = {"c": ["s1", "s2", "s3", "s4"]}
    return decide_figure_visibility(nodes, capabilities, answered, minimum,
                                    frozenset(shown_groups))


def everyone(team_size: int, **fewer) -> dict[str, int]:
    return {s: fewer.get(s, team_size) for s in ("s1", "s2", "s3", "s4")}


def test_a_statement_that_few_answered_is_hidden_in_a_group_that_is_shown():
    # Everyone in A answered; in B only one person answered s2.
    result = figures({11: everyone(6), 12: everyone(5, s2=1)})
    assert 12 not in result.statements["s2"]
    assert {10, 11, 12} <= result.statements["s1"]


def test_a_statement_cannot_be_recovered_by_subtracting_a_team_from_its_parent():
    # Parent's s2 (7 answers) minus A's s2 (6) would give the one answer in B: A's s2 is hidden.
    result = figures({11: everyone(6), 12: everyone(5, s2=1)})
    assert 10 in result.statements["s2"]
    assert 11 not in result.statements["s2"]
    assert result.hidden_statements(11) == {"s2"}


def test_a_capability_is_hidden_where_any_of_its_statements_is():
    # Its answers are the sum of its statements' answers: shown beside s1, s3 and s4, they
    # would give away s2.
    result = figures({11: everyone(6), 12: everyone(5, s2=1)})
    assert 12 not in result.capabilities["c"] and 11 not in result.capabilities["c"]
    assert 10 in result.capabilities["c"]


def test_a_capability_is_shown_wherever_all_its_statements_are_whoever_answered_them():
    # Five answers to each statement in B, whether from five people or from one who answered
    # s1 and s2 and four others: the capability's figures are its statements' figures pooled.
    result = figures({11: everyone(6), 12: everyone(5)})
    assert result.capabilities["c"] == {ORGANISATION, 10, 11, 12}


def test_figures_are_never_shown_in_a_hidden_group():
    result = figures({11: everyone(6), 12: everyone(5)}, shown_groups=(ORGANISATION, 10, 11))
    assert all(12 not in groups for groups in result.statements.values())
    assert all(12 not in groups for groups in result.capabilities.values())
    assert result.hidden_statements(11) == set() and result.hidden_capabilities(11) == set()


SMALL = Instrument(
    id="t", version=1, title="t", scale=tuple(ScalePoint(v, str(v)) for v in range(1, 6)),
    capabilities=(
        Capability("A", "Alpha", "", (Statement("a1", "A one"), Statement("a2", "A two"))),
        Capability("B", "Beta", "", (Statement("b1", "B one"), Statement("b2", "B two"))),
    ),
    questions=(),
)


def test_hidden_figures_show_nothing_and_take_the_index_with_them():
    # Six responses; only two answered b2, so b2 and Beta are hidden.
    answers = [{"a1": 4, "a2": 4, "b1": 3, **({"b2": 5} if i < 2 else {})} for i in range(6)]
    scores = hide_figures(score_group(SMALL, answers), {"b2"}, {"B"})
    b2 = next(s for s in scores.statements if s.key == "b2")
    assert b2.estimate is None and b2.respondents == 0 and b2.distribution.total == 0
    beta = scores.capability("B")
    assert (beta.estimate, beta.answers, beta.distribution.total) == (None, 0, 0)
    b1 = next(s for s in scores.statements if s.key == "b1")
    assert b1.mean == 3 and b1.respondents == 6  # a shown statement of a hidden capability
    assert scores.capability("A").mean == 4 and scores.respondents == 6
    assert scores.index is None and scores.index_estimate is None


def test_nothing_hidden_leaves_the_scores_as_they_are():
    scores = score_group(SMALL, [{"a1": 4, "a2": 4, "b1": 3, "b2": 2}] * 5)
    assert hide_figures(scores, set(), set()) is scores
