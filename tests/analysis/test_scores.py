import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from surveyapp.analysis.scores import distribution, score_group
from surveyapp.analysis.stats import estimate, t_quantile
from surveyapp.instrument import Capability, Instrument, ScalePoint, Statement

from ..profiles import examples

SCALE = tuple(ScalePoint(v, str(v)) for v in range(1, 6))


def tiny_instrument() -> Instrument:
    """Two capabilities: A with statements a1..a4, B with b1..b2."""
    return Instrument(
        id="t", version=1, title="t", scale=SCALE, questions=(),
        capabilities=(
            Capability("A", "Alpha", "", tuple(Statement(f"a{i}", f"A {i}") for i in range(1, 5))),
            Capability("B", "Beta", "", (Statement("b1", "B 1"), Statement("b2", "B 2"))),
        ),
    )


RESPONSES = [
    {"a1": 5, "a2": 4, "a3": 4, "a4": 3, "b1": 2, "b2": 4},
    {"a1": 4, "a2": 4, "a3": 2, "a4": 2, "b1": 3, "b2": 3},
    {"a1": 2, "a2": 3, "b1": 5},
    {"a1": 1, "b2": 1},
]
# A: a1 5,4,2,1 | a2 4,4,3 | a3 4,2 | a4 3,2 -> 11 answers, sum 34
# Standard errors of the statements' means: a1 √(10/3 / 4), a2 √(1/3 / 3), a3 √(2 / 2),
# a4 √(1/2 / 2); weighted by answers: (4·0.9129 + 3·0.3333 + 2·1 + 2·0.5) / 11.
A_SE = (4 * math.sqrt(10 / 12) + 3 * (1 / 3) + 2 * 1 + 2 * 0.5) / 11
# B: b1 2,3,5 | b2 4,3,1 -> 6 answers, mean 3; both statements have variance 7/3.
B_SE = math.sqrt(7 / 9)


def test_distribution_shares_by_hand():
    d = distribution([1, 2, 3, 4, 5, 5, 4, 4])
    assert d.counts == (1, 1, 1, 3, 2)
    assert (d.unfavourable, d.neutral, d.favourable) == (2 / 8, 1 / 8, 5 / 8)


def test_capability_mean_pools_every_answer_to_its_statements():
    a = score_group(tiny_instrument(), RESPONSES).capability("A")
    # The fourth respondent's single answer counts like any other.
    assert a.answers == a.estimate.n == 11
    assert a.mean == pytest.approx(34 / 11)


def test_capability_shares_count_every_answer():
    a = score_group(tiny_instrument(), RESPONSES).capability("A")
    # answers to a1..a4: 5,4,4,3, 4,4,2,2, 2,3, 1 -> 11 answers: fav 5, neutral 2, unfav 4
    assert a.distribution.total == 11
    assert a.distribution.favourable == pytest.approx(5 / 11)
    assert a.distribution.neutral == pytest.approx(2 / 11)
    assert a.distribution.unfavourable == pytest.approx(4 / 11)


def test_statement_scores_use_everyone_who_answered():
    a1 = score_group(tiny_instrument(), RESPONSES).capability("A").statements[0]
    assert a1.respondents == 4
    assert a1.mean == pytest.approx((5 + 4 + 2 + 1) / 4)


def test_capability_interval_weights_its_statements_standard_errors_by_their_answers():
    a = score_group(tiny_instrument(), RESPONSES).capability("A")
    weighted = sum(s.respondents / a.answers * s.estimate.standard_error for s in a.statements)
    assert a.estimate.standard_error == pytest.approx(weighted)
    assert a.estimate.standard_error == pytest.approx(A_SE)
    # Degrees of freedom: the fewest answers to a statement (a3 and a4: two), less one.
    half = t_quantile(0.975, 1) * A_SE
    assert (a.estimate.ci_low, a.estimate.ci_high) == pytest.approx((34 / 11 - half,
                                                                     34 / 11 + half))


def test_index_is_the_mean_of_the_capability_means():
    scores = score_group(tiny_instrument(), RESPONSES)
    assert scores.capability("B").mean == pytest.approx(3.0)
    assert scores.index == pytest.approx((34 / 11 + 3.0) / 2)
    assert scores.index_estimate.mean == scores.index


def test_index_interval_averages_the_capabilities_standard_errors():
    scores = score_group(tiny_instrument(), RESPONSES)
    assert scores.capability("B").estimate.standard_error == pytest.approx(B_SE)
    se = (A_SE + B_SE) / 2
    assert scores.index_estimate.standard_error == pytest.approx(se)
    # The fewest degrees of freedom of the capabilities: A's one.
    assert scores.index_estimate.ci_low == pytest.approx(scores.index - t_quantile(0.975, 1) * se)


def test_a_statement_answered_once_leaves_its_capability_and_the_index_without_interval():
    responses = [{"a1": 4, "a2": 3, "a3": 5, "b1": 4, "b2": 2}, {"a1": 2, "a2": 3, "a3": 4,
                                                                "a4": 1, "b1": 3, "b2": 3}]
    scores = score_group(tiny_instrument(), responses)
    a = scores.capability("A")
    assert a.mean == pytest.approx(22 / 7) and a.estimate.standard_error is None
    assert scores.capability("B").estimate.standard_error is not None
    assert scores.index is not None and scores.index_estimate.ci_low is None


def test_a_group_with_no_answers_has_no_means():
    scores = score_group(tiny_instrument(), [{}, {}])
    assert scores.respondents == 2
    assert scores.index is None and scores.index_estimate is None
    assert scores.capability("A").mean is None


complete = st.lists(st.tuples(*[st.integers(1, 5)] * 4), min_size=2, max_size=30)


@settings(max_examples=examples(200))
@given(complete)
def test_with_every_statement_answered_the_bound_is_never_below_the_per_person_standard_error(
        rows):
    """Everyone answered all four statements: the pooled mean is the mean of each person's mean,
    whose own standard error the bound may meet but never undercut (Cauchy–Schwarz holds for the
    sample covariances too)."""
    responses = [{f"a{i + 1}": v for i, v in enumerate(row)} for row in rows]
    a = score_group(tiny_instrument(), responses).capability("A")
    per_person = estimate([sum(row) / 4 for row in rows])
    assert a.mean == pytest.approx(per_person.mean)
    assert a.estimate.standard_error >= per_person.standard_error - 1e-12
