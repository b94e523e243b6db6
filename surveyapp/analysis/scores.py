"""Scores of one reporting group: per statement, per capability, and the index.

Every figure is a function of the group's answer counts (how many of its responses answered 1,
2, 3, 4 and 5 to each statement) and of its number of responses; nothing is worked out per
person. A group therefore publishes exactly its statement histograms, whichever of its figures
are shown together (docs/SECURITY.md, "The figures and why they are safe together").

Rules (also stated in every report's methodology page):
- A statement's mean, its shares and the 95% interval of its mean use every answer to it.
- A capability's scores pool every answer to its statements: its mean is the mean of all those
  answers, and someone who skipped a statement counts with the answers they gave.
- Favourable / neutral / unfavourable are the shares of a statement's answers, or of all the
  answers to a capability's statements, that are 4-5 / 3 / 1-2.
- A capability's 95% interval comes from its statements' standard errors, averaged with
  weights by their numbers of answers.
- The Service Capability Index is the mean of the seven capability means. Its interval comes
  from the average of the capabilities' standard errors.

The definitions. A statement s has n_s answers with sum S_s and sum of squares Q_s; a capability
c has N_c = Σ n_s answers over its statements (those that anyone answered); the index has K
capabilities.

    statement   mean_s = S_s / n_s       SE_s = √(v_s / n_s), v_s = (Q_s − S_s²/n_s) / (n_s − 1)
                                         df_s = n_s − 1
    capability  mean_c = Σ S_s / N_c     SE_c = Σ (n_s / N_c) · SE_s       df_c = min n_s − 1
    index       I = Σ mean_c / K         SE_I = Σ SE_c / K                 df_I = min df_c

Each interval is the mean ± t(0.975, df) × SE. The bound: mean_c = Σ w_s mean_s with
w_s = n_s / N_c, so Var(mean_c) = Σ_s Σ_t w_s w_t Cov(mean_s, mean_t), and since
|Cov(mean_s, mean_t)| ≤ SE_s SE_t (Cauchy–Schwarz), Var(mean_c) ≤ (Σ w_s SE_s)²: SE_c is never
below the standard error of the pooled mean, whatever the correlation between the statements'
answers, and equals it when they move together perfectly. The same holds for the index over its
capabilities. Degrees of freedom: each SE_s is estimated from n_s answers, one per respondent;
the pooled mean rests on no fewer independent people than answered its least-answered
statement, and when the statements move together perfectly it is exactly that statement's mean
(df = n_s − 1). min n_s − 1 is therefore the conservative choice, the widest t quantile of any
of its statements'. A capability with a statement answered once, and an index with such a
capability, has no interval; a statement no one answered has no weight in its capability.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..instrument import Instrument
from .stats import Estimate, estimate_from_standard_error, estimate_from_sums
from .tally import POINTS, Tally, tally

Answers = Mapping[str, int]


@dataclass(frozen=True)
class Distribution:
    """Answers on a 1..5 scale: counts per value, and the three shares (0..1)."""

    counts: tuple[int, ...]  # counts[0] is the number of 1s

    @property
    def total(self) -> int:
        return sum(self.counts)

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
    #: Of every answer to the capability's statements: mean, standard error (a bound, see the
    #: module docstring) and interval. None when no one answered any of them.
    estimate: Estimate | None
    distribution: Distribution
    statements: tuple[StatementScore, ...]

    @property
    def answers(self) -> int:
        """Answers to the capability's statements (the pooled figures rest on them)."""
        return self.distribution.total

    @property
    def mean(self) -> float | None:
        return self.estimate.mean if self.estimate else None


@dataclass(frozen=True)
class GroupScores:
    respondents: int
    capabilities: tuple[CapabilityScore, ...]
    #: The Service Capability Index: mean of the capability means (None if any is missing).
    index: float | None
    #: The index with its standard error (a bound from the capabilities') and interval.
    index_estimate: Estimate | None

    def capability(self, key: str) -> CapabilityScore:
        return next(c for c in self.capabilities if c.key == key)

    @property
    def statements(self) -> tuple[StatementScore, ...]:
        return tuple(s for c in self.capabilities for s in c.statements)


def score_group(instrument: Instrument, responses: Sequence[Answers]) -> GroupScores:
    """Score a reporting group: every figure of the rules in the module docstring."""
    return score_tally(instrument, tally(instrument, responses))


def score_tally(instrument: Instrument, sums: Tally, statements: bool = True) -> GroupScores:
    """``score_group`` of the responses that ``sums`` tallies (analysis/tally.py).

    ``statements=False`` gives a heatmap row's figures only, at a fraction of the cost for a
    tree of thousands of teams: every capability's figures and the index, but no statement
    figures (``statements`` of each capability is empty).
    """
    places, values = sums.layout.statements, sums.values
    capability_scores = []
    answers = 0
    errors: list[float] | None = []
    fewest = None
    for capability in instrument.capabilities:
        statement_scores = []
        t1 = t2 = t3 = t4 = t5 = 0
        total = 0
        # Σ n_s · SE_s over the statements (SE_c × N_c), and the fewest answers to any of them.
        spread, least = 0.0, 0
        for statement in capability.statements:
            # Written out for the five points of the scale: this runs for every statement of
            # every group of a tree of thousands of teams.
            at = places[statement.key]
            c1, c2, c3, c4, c5 = counts = values[at:at + POINTS]
            n = c1 + c2 + c3 + c4 + c5
            if n:
                t1, t2, t3, t4, t5 = t1 + c1, t2 + c2, t3 + c3, t4 + c4, t5 + c5
                s = c1 + 2 * c2 + 3 * c3 + 4 * c4 + 5 * c5
                q = c1 + 4 * c2 + 9 * c3 + 16 * c4 + 25 * c5
                total += s
                if n > 1:
                    # n_s · SE_s = √(n_s · v_s), with v_s the statement's sample variance
                    spread += math.sqrt((n * q - s * s) / (n - 1))
                least = n if not least else min(least, n)
            if statements:
                statement_scores.append(StatementScore(
                    key=statement.key, text=statement.text, capability_key=capability.key,
                    estimate=estimate_from_sums(n, s, q) if n else None,
                    distribution=Distribution(tuple(counts)),
                ))
        n = t1 + t2 + t3 + t4 + t5
        estimate = None
        if n:
            estimate = estimate_from_standard_error(
                n, total / n, spread / n if least > 1 else None, least - 1)
        capability_scores.append(CapabilityScore(
            key=capability.key, name=capability.name, estimate=estimate,
            distribution=Distribution((t1, t2, t3, t4, t5)), statements=tuple(statement_scores),
        ))
        answers += n
        if estimate is None or estimate.standard_error is None:
            errors = None
        elif errors is not None:
            errors.append(estimate.standard_error)
            fewest = least if fewest is None else min(fewest, least)
    means = [c.mean for c in capability_scores if c.mean is not None]
    index = index_estimate = None
    if means and len(means) == len(capability_scores):
        index = math.fsum(means) / len(means)
        error = math.fsum(errors) / len(errors) if errors else None
        index_estimate = estimate_from_standard_error(answers, index, error,
                                                      (fewest or 1) - 1)
    return GroupScores(
        respondents=sums.responses, capabilities=tuple(capability_scores), index=index,
        index_estimate=index_estimate,
    )
