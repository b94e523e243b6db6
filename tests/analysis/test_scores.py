import pytest

from surveyapp.analysis.scores import distribution, respondent_capability_score, score_group
from surveyapp.instrument import Capability, Instrument, ScalePoint, Statement

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
    {"a1": 2, "a2": 3, "b1": 5},              # A: half answered -> counts; B: half -> counts
    {"a1": 1, "b2": 1},                        # A: a quarter -> no A score
]


def test_respondent_capability_score_needs_half_the_statements():
    assert respondent_capability_score(["a1", "a2", "a3", "a4"], {"a1": 2, "a2": 3}) == 2.5
    assert respondent_capability_score(["a1", "a2", "a3", "a4"], {"a1": 1}) is None


def test_distribution_shares_by_hand():
    d = distribution([1, 2, 3, 4, 5, 5, 4, 4])
    assert d.counts == (1, 1, 1, 3, 2)
    assert (d.unfavourable, d.neutral, d.favourable) == (2 / 8, 1 / 8, 5 / 8)


def test_capability_mean_is_the_mean_of_respondent_scores():
    scores = score_group(tiny_instrument(), RESPONSES)
    a = scores.capability("A")
    # respondent A scores: 4.0, 3.0, 2.5 (the fourth has too few answers)
    assert a.respondents == 3
    assert a.mean == pytest.approx((4.0 + 3.0 + 2.5) / 3)


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


def test_alpha_uses_only_complete_respondents():
    # Complete on A: respondents 1 and 2 -> rows [5,4,4,3], [4,4,2,2]
    # item variances: 0.5, 0, 2, 0.5 = 3; totals 16, 12 -> variance 8; alpha = 4/3 * (1 - 3/8)
    a = score_group(tiny_instrument(), RESPONSES).capability("A")
    assert a.alpha == pytest.approx(4 / 3 * (1 - 3 / 8))


def test_index_is_the_mean_of_the_capability_means():
    scores = score_group(tiny_instrument(), RESPONSES)
    # B scores: 3.0, 3.0, 5.0, 1.0 -> mean 3.0; A mean 3.1667
    assert scores.capability("B").mean == pytest.approx(3.0)
    assert scores.index == pytest.approx(((4.0 + 3.0 + 2.5) / 3 + 3.0) / 2)
    assert scores.index_estimate.mean == scores.index


def test_index_interval_comes_from_respondents_own_indexes():
    scores = score_group(tiny_instrument(), RESPONSES)
    # own indexes: (4+3)/2=3.5, (3+3)/2=3.0, (2.5+5)/2=3.75, 1.0 -> sd-based half width
    from surveyapp.analysis.stats import estimate

    own = estimate([3.5, 3.0, 3.75, 1.0])
    half = own.ci_high - own.mean
    assert scores.index_estimate.ci_low == pytest.approx(scores.index - half)
    assert scores.index_estimate.standard_error == pytest.approx(own.standard_error)


def test_a_group_with_no_answers_has_no_means():
    scores = score_group(tiny_instrument(), [{}, {}])
    assert scores.respondents == 2
    assert scores.index is None
    assert scores.capability("A").mean is None
