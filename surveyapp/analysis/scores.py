"""Scores of one reporting group: per statement, per capability, and the index.

Rules (also stated in every report's methodology page):
- A statement's figures use everyone who answered it.
- A respondent's capability score is the mean of the statements they answered in that
  capability, counted only if they answered at least half of them. The capability mean is
  the mean of those scores, with a t-based 95% confidence interval.
- Favourable / neutral / unfavourable are the shares of all answers to the capability's
  statements that are 4-5 / 3 / 1-2.
- Cronbach's alpha uses the respondents who answered every statement of the capability.
- The Service Capability Index is the mean of the seven capability means. Its interval uses
  each respondent's own index (the mean of their capability scores).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..instrument import Instrument
from .stats import Estimate, cronbach_alpha_from_sums, estimate_from_sums
from .tally import POINTS, Tally, tally

FAVOURABLE = frozenset({4, 5})
NEUTRAL = frozenset({3})
UNFAVOURABLE = frozenset({1, 2})

Answers = Mapping[str, int]


@dataclass(frozen=True)
class Distribution:
    """Answers on a 1..5 scale: counts per value, and the three shares (0..1)."""

    counts: tuple[int, ...]  # counts[0] is the number of 1s

    @property
    def total(self) -> int:
        return sum(self.counts)

    def share(self, values: frozenset[int]) -> float:
        return sum(self.counts[v - 1] for v in values) / self.total if self.total else 0.0

    # The three shares written out: a heatmap of thousands of teams asks for each of them.
    @property
    def favourable(self) -> float:
        c = self.counts
        total = c[0] + c[1] + c[2] + c[3] + c[4]
        return (c[3] + c[4]) / total if total else 0.0

    @property
    def neutral(self) -> float:
        c = self.counts
        total = c[0] + c[1] + c[2] + c[3] + c[4]
        return c[2] / total if total else 0.0

    @property
    def unfavourable(self) -> float:
        c = self.counts
        total = c[0] + c[1] + c[2] + c[3] + c[4]
        return (c[0] + c[1]) / total if total else 0.0


def distribution(values: Sequence[int], points: int = 5) -> Distribution:
    counts = [0] * points
    for v in values:
        counts[v - 1] += 1
    return Distribution(tuple(counts))


@dataclass(frozen=True)
class StatementScore:
    key: str
    text: str
    capability_key: str
    estimate: Estimate | None  # None when no one answered
    distribution: Distribution

    @property
    def respondents(self) -> int:
        return self.distribution.total

    @property
    def mean(self) -> float | None:
        return self.estimate.mean if self.estimate else None


@dataclass(frozen=True)
class CapabilityScore:
    key: str
    name: str
    #: Respondents with a score for this capability (at least half its statements answered).
    respondents: int
    estimate: Estimate | None
    distribution: Distribution
    alpha: float | None
    statements: tuple[StatementScore, ...]

    @property
    def mean(self) -> float | None:
        return self.estimate.mean if self.estimate else None


@dataclass(frozen=True)
class GroupScores:
    respondents: int
    capabilities: tuple[CapabilityScore, ...]
    #: The Service Capability Index: mean of the capability means (None if any is missing).
    index: float | None
    #: The index with the standard error and interval of the respondents' own indexes.
    index_estimate: Estimate | None

    def capability(self, key: str) -> CapabilityScore:
        return next(c for c in self.capabilities if c.key == key)

    @property
    def statements(self) -> tuple[StatementScore, ...]:
        return tuple(s for c in self.capabilities for s in c.statements)


def respondent_capability_score(instrument_keys: Sequence[str], answers: Answers) -> float | None:
    """A respondent's score on one capability, or None below half its statements answered."""
    values = [answers[k] for k in instrument_keys if k in answers]
    if not values or len(values) * 2 < len(instrument_keys):
        return None
    return math.fsum(values) / len(values)


def score_group(instrument: Instrument, responses: Sequence[Answers]) -> GroupScores:
    """Score a reporting group: every figure of the rules in the module docstring."""
    return score_tally(instrument, tally(instrument, responses))


def score_tally(instrument: Instrument, sums: Tally, statements: bool = True) -> GroupScores:
    """``score_group`` of the responses that ``sums`` tallies (analysis/tally.py).

    ``statements=False`` gives a heatmap row's figures only, at a fraction of the cost for a
    tree of thousands of teams: every capability's estimate and answers and the index, but no
    statement figures (``statements`` of each capability is empty) and no alpha.
    """
    layout, values = sums.layout, sums.values
    capability_scores = []
    for capability, places in zip(instrument.capabilities, layout.capabilities, strict=True):
        statement_scores = []
        t1 = t2 = t3 = t4 = t5 = 0
        for statement in capability.statements:
            # Written out for the five points of the scale: this runs for every statement of
            # every group of a tree of thousands of teams.
            at = layout.statements[statement.key]
            c1, c2, c3, c4, c5 = counts = values[at:at + POINTS]
            t1, t2, t3, t4, t5 = t1 + c1, t2 + c2, t3 + c3, t4 + c4, t5 + c5
            if not statements:
                continue
            n = c1 + c2 + c3 + c4 + c5
            statement_scores.append(StatementScore(
                key=statement.key, text=statement.text, capability_key=capability.key,
                estimate=estimate_from_sums(
                    n, c1 + 2 * c2 + 3 * c3 + 4 * c4 + 5 * c5,
                    c1 + 4 * c2 + 9 * c3 + 16 * c4 + 25 * c5,
                ) if n else None,
                distribution=Distribution(tuple(counts)),
            ))
        by_count = sums.scored(places)
        alpha = None
        if statements:
            complete = sums.complete(places)
            alpha = cronbach_alpha_from_sums(complete[0], complete[3::2], complete[4::2],
                                             complete[1], complete[2])
        capability_scores.append(CapabilityScore(
            key=capability.key, name=capability.name,
            respondents=sum(s[0] for s in by_count.values()),
            estimate=_scaled_estimate(by_count) if by_count else None,
            distribution=Distribution((t1, t2, t3, t4, t5)),
            alpha=alpha, statements=tuple(statement_scores),
        ))
    means = [c.mean for c in capability_scores]
    index = math.fsum(means) / len(means) if means and None not in means else None
    index_estimate = None
    own = sums.own_indexes()
    if index is not None and own:
        spread = _scaled_estimate(own, layout.unit)
        if spread.ci_low is None:
            index_estimate = Estimate(spread.n, index, None, None, None)
        else:
            half = spread.ci_high - spread.mean
            index_estimate = Estimate(spread.n, index, spread.standard_error,
                                      index - half, index + half)
    return GroupScores(
        respondents=sums.responses, capabilities=tuple(capability_scores), index=index,
        index_estimate=index_estimate,
    )


def _scaled_estimate(by_divisor: Mapping[int, Sequence[int]], unit: int = 1) -> Estimate:
    """The estimate of values tallied as [count, sum, sum of squares] of value × divisor × unit,
    by divisor (statements answered, or capabilities scored)."""
    common = math.lcm(*by_divisor)
    n = sum(s[0] for s in by_divisor.values())
    total = sum(s[1] * (common // d) for d, s in by_divisor.items())
    squares = sum(s[2] * (common // d) ** 2 for d, s in by_divisor.items())
    return estimate_from_sums(n, total, squares, common * unit)

