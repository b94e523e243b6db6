"""Tallies: sums of parts score exactly like the whole, and like the figures worked out from the
answers themselves (the plain formulas of analysis/stats.py, written out again here)."""

import json
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from surveyapp.analysis.scores import score_tally
from surveyapp.analysis.stats import (
    cronbach_alpha,
    cronbach_alpha_from_sums,
    estimate,
    estimate_from_sums,
    t_cdf,
    t_quantile,
)
from surveyapp.analysis.tally import Tally, layout_of, tally, total
from surveyapp.instrument import Capability, Instrument, ScalePoint, Statement

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
    own: list[list[float]] = [[] for _ in responses]
    means = []
    for capability in INSTRUMENT.capabilities:
        keys = [s.key for s in capability.statements]
        for key in keys:
            values = [r[key] for r in responses if key in r]
            figures[key] = estimate(values) if values else None
        scores = []
        for i, r in enumerate(responses):
            values = [r[k] for k in keys if k in r]
            if values and len(values) * 2 >= len(keys):
                scores.append(math.fsum(values) / len(values))
                own[i].append(scores[-1])
        figures[capability.key] = estimate(scores) if scores else None
        means.append(figures[capability.key].mean if scores else None)
        complete = [[r[k] for k in keys] for r in responses if all(k in r for k in keys)]
        figures[capability.key + " alpha"] = cronbach_alpha(complete)
    own_indexes = [math.fsum(s) / len(s) for s in own if s]
    figures["own"] = estimate(own_indexes) if own_indexes else None
    figures["index"] = math.fsum(means) / len(means) if None not in means else None
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


@settings(max_examples=100, deadline=None)
@given(st.lists(answers, max_size=30))
def test_a_heatmap_row_has_the_full_scores_without_statements_and_alpha(responses):
    sums = tally(INSTRUMENT, responses)
    full, row = score_tally(INSTRUMENT, sums), score_tally(INSTRUMENT, sums, statements=False)
    assert row.statements == ()
    assert row.respondents == full.respondents
    assert row.index == full.index and row.index_estimate == full.index_estimate
    for got, want in zip(row.capabilities, full.capabilities, strict=True):
        assert got.alpha is None and got.statements == ()
        assert (got.key, got.respondents, got.estimate, got.distribution) == (
            want.key, want.respondents, want.estimate, want.distribution)


@settings(max_examples=150, deadline=None)
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
        alpha = expected[capability.key + " alpha"]
        assert close(capability.alpha, alpha)
        for statement in capability.statements:
            assert same(statement.estimate, expected[statement.key]), statement.key
    if expected["index"] is None:
        assert scores.index is None and scores.index_estimate is None
    else:
        assert scores.index == pytest.approx(expected["index"])
        assert close(scores.index_estimate.standard_error, expected["own"].standard_error)


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


def test_alpha_from_sums_equals_alpha_of_the_rows():
    rows = [[5, 4, 4], [4, 4, 2], [2, 3, 3], [1, 2, 1]]
    items = list(zip(*rows, strict=True))
    totals = [sum(r) for r in rows]
    assert cronbach_alpha_from_sums(
        len(rows), [sum(i) for i in items], [sum(v * v for v in i) for i in items],
        sum(totals), sum(t * t for t in totals),
    ) == pytest.approx(cronbach_alpha(rows))


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
