"""Tallies: sums of parts score exactly like the whole, and like the figures worked out from the
answers themselves (the plain formulas of analysis/stats.py, written out again here)."""

import json
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from surveyapp.analysis.scores import score_tally
from surveyapp.analysis.stats import Estimate, estimate, estimate_from_sums, t_cdf, t_quantile
from surveyapp.analysis.tally import Tally, layout_of, tally, total
from surveyapp.instrument import Capability, Instrument, ScalePoint, Statement

from ..profiles import examples

INSTRUMENT = Instrument(
    id="t", version=1, title="t", scale=tuple(ScalePoint(v, str(v)) for v in range(1, 6)),
    questions=(),
    capabilities=(
        Capability("A", "Alpha", "", tuple(Statement(f"a{i}", f"A {i}") for i in range(1, 5))),
        Capability("B", "Beta", "", (Statement("b1", "B 1"), Statement("b2", "B 2"),
                                     Statement("b3", "B 3"))),
        Capability("C", "Gamma", "", (Statement("c1", "C 1"),)),
    ),
)
KEYS = [s.key for c in INSTRUMENT.capabilities for s in c.statements]

answers = st.dictionaries(st.sampled_from(KEYS), st.integers(1, 5))


def reference(responses):
    """Every figure from the answers, with no tally: the rules of analysis/scores.py."""
    figures = {"respondents": len(responses)}
    means, errors, least = [], [], []
    for capability in INSTRUMENT.capabilities:
        keys = [s.key for s in capability.statements]
        pooled, weighted, fewest = [], 0.0, []
        for key in keys:
            values = [r[key] for r in responses if key in r]
            figures[key] = estimate(values) if values else None
            pooled += values
            if values:
                fewest.append(len(values))
                se = figures[key].standard_error
                weighted = None if se is None or weighted is None else weighted + len(values) * se
        if not pooled:
            figures[capability.key] = None
            means.append(None)
            continue
        mean = math.fsum(pooled) / len(pooled)
        se = None if weighted is None else weighted / len(pooled)
        half = None if se is None else t_quantile(0.975, min(fewest) - 1) * se
        figures[capability.key] = Estimate(len(pooled), mean, se,
                                           None if se is None else mean - half,
                                           None if se is None else mean + half)
        means.append(mean)
        errors.append(se)
        least.append(min(fewest))
    figures["index"] = math.fsum(means) / len(means) if None not in means else None
    figures["index se"] = (math.fsum(errors) / len(errors)
                           if figures["index"] is not None and None not in errors else None)
    figures["index df"] = min(least) - 1 if least else None
    return figures


def close(x, y):
    if x is None or y is None:
        return x is None and y is None
    return y == pytest.approx(x, rel=1e-9, abs=1e-12)


def same(a, b):
    if a is None or b is None:
        return a is None and b is None
    fields = ("n", "mean", "standard_error", "ci_low", "ci_high")
    return all(close(getattr(a, f), getattr(b, f)) for f in fields)


@settings(max_examples=examples(100))
@given(st.lists(answers, max_size=30))
def test_a_heatmap_row_has_the_full_scores_without_statements(responses):
    sums = tally(INSTRUMENT, responses)
    full, row = score_tally(INSTRUMENT, sums), score_tally(INSTRUMENT, sums, statements=False)
    assert row.statements == ()
    assert row.respondents == full.respondents
    assert row.index == full.index and row.index_estimate == full.index_estimate
    for got, want in zip(row.capabilities, full.capabilities, strict=True):
        assert got.statements == ()
        assert (got.key, got.estimate, got.distribution) == (
            want.key, want.estimate, want.distribution)


@settings(max_examples=examples(150))
@given(st.lists(answers, max_size=40), st.integers(0, 2**32))
def test_sums_of_parts_score_like_the_answers_themselves(responses, seed):
    rng = random.Random(seed)
    parts: list[list[dict]] = [[] for _ in range(rng.randint(1, 4))]
    for r in responses:
        rng.choice(parts).append(r)
    merged = total(INSTRUMENT, (tally(INSTRUMENT, part) for part in parts))
    scores = score_tally(INSTRUMENT, merged)
    expected = reference(responses)
    assert scores.respondents == expected["respondents"]
    for capability in scores.capabilities:
        assert same(capability.estimate, expected[capability.key]), capability.key
        for statement in capability.statements:
            assert same(statement.estimate, expected[statement.key]), statement.key
    if expected["index"] is None:
        assert scores.index is None and scores.index_estimate is None
    else:
        assert scores.index == pytest.approx(expected["index"])
        assert close(scores.index_estimate.standard_error, expected["index se"])
        if expected["index se"] is not None:
            half = t_quantile(0.975, expected["index df"]) * expected["index se"]
            assert close(scores.index_estimate.ci_high, expected["index"] + half)


def test_a_tally_is_the_response_count_then_five_counts_per_statement():
    """The places every stored tally has had since the first release (earlier tallies held
    more after them, which stored tallies lose)."""
    layout = layout_of(INSTRUMENT)
    assert layout.statements == {key: 1 + 5 * i for i, key in enumerate(KEYS)}
    assert layout.size == 1 + 5 * len(KEYS)
    t = tally(INSTRUMENT, [{"a1": 5, "b2": 3, "c1": 1}, {"a1": 4, "elsewhere": 2}])
    assert t.values[0] == 2
    assert t.counts("a1") == [0, 0, 0, 1, 1] and t.answered("a1") == 2
    assert t.values[1 + 5 * KEYS.index("b2") + 2] == 1
    assert sum(t.values) == 2 + 4


def test_a_tally_survives_being_stored_as_json():
    t = tally(INSTRUMENT, [{"a1": 5, "a2": 4, "b1": 2, "b2": 3, "c1": 1}, {"a1": 1, "a3": 2}])
    assert Tally(layout_of(INSTRUMENT), json.loads(json.dumps(t.values))) == t


def test_tallies_of_different_instruments_do_not_add():
    other = Instrument(id="o", version=1, title="o", scale=INSTRUMENT.scale, questions=(),
                       capabilities=INSTRUMENT.capabilities[:1])
    with pytest.raises(ValueError):
        tally(INSTRUMENT, []).add(tally(other, []))
    with pytest.raises(ValueError):
        Tally(layout_of(INSTRUMENT), [0, 1, 2])


def test_estimate_from_sums_equals_the_estimate_of_the_values():
    values = [3, 4, 4, 5, 2, 4, 3]
    from_sums = estimate_from_sums(len(values), sum(values), sum(v * v for v in values))
    assert same(from_sums, estimate(values))
    # Values in quarters: 13/4, 9/4, 16/4
    assert same(estimate_from_sums(3, 38, 169 + 81 + 256, 4), estimate([3.25, 2.25, 4.0]))


def bisection(p, df):
    low, high = 0.0, 8.0
    for _ in range(100):
        mid = (low + high) / 2
        low, high = (mid, high) if t_cdf(mid, df) < p else (low, mid)
    return (low + high) / 2


@pytest.mark.parametrize("df", [200, 201, 350, 1000, 79_999])
def test_large_sample_t_quantiles_match_the_inverted_distribution(df):
    assert t_quantile(0.975, df) == pytest.approx(bisection(0.975, df), abs=1e-10)
    assert t_quantile(0.025, df) == pytest.approx(-bisection(0.975, df), abs=1e-10)
