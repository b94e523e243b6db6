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
from .stats import Estimate, cronbach_alpha, estimate

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

    @property
    def favourable(self) -> float:
        return self.share(FAVOURABLE)

    @property
    def neutral(self) -> float:
        return self.share(NEUTRAL)

    @property
    def unfavourable(self) -> float:
        return self.share(UNFAVOURABLE)


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
    capability_scores = []
    per_respondent: list[list[float]] = [[] for _ in responses]
    for capability in instrument.capabilities:
        keys = [s.key for s in capability.statements]
        statements = []
        all_values: list[int] = []
        for statement in capability.statements:
            values = [r[statement.key] for r in responses if statement.key in r]
            all_values.extend(values)
            statements.append(StatementScore(
                key=statement.key, text=statement.text, capability_key=capability.key,
                estimate=estimate(values) if values else None, distribution=distribution(values),
            ))
        scores = []
        for i, answers in enumerate(responses):
            score = respondent_capability_score(keys, answers)
            if score is not None:
                scores.append(score)
                per_respondent[i].append(score)
        complete = [[r[k] for k in keys] for r in responses if all(k in r for k in keys)]
        capability_scores.append(CapabilityScore(
            key=capability.key, name=capability.name, respondents=len(scores),
            estimate=estimate(scores) if scores else None,
            distribution=distribution(all_values), alpha=cronbach_alpha(complete),
            statements=tuple(statements),
        ))
    means = [c.mean for c in capability_scores]
    index = math.fsum(means) / len(means) if means and None not in means else None
    own_indexes = [math.fsum(s) / len(s) for s in per_respondent if s]
    index_estimate = None
    if index is not None and own_indexes:
        spread = estimate(own_indexes)
        if spread.ci_low is None:
            index_estimate = Estimate(spread.n, index, None, None, None)
        else:
            half = spread.ci_high - spread.mean
            index_estimate = Estimate(spread.n, index, spread.standard_error,
                                      index - half, index + half)
    return GroupScores(
        respondents=len(responses), capabilities=tuple(capability_scores), index=index,
        index_estimate=index_estimate,
    )
