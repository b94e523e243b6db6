"""Small statistics: mean, variance, Student's t quantiles, confidence intervals.

Written out here (about a hundred lines) rather than pulling in SciPy for four formulas.
The t quantile inverts the t distribution's CDF, computed through the regularised incomplete
beta function (Lentz's continued fraction, as in Numerical Recipes §6.4); from 200 degrees of
freedom on, where that inversion is slow, the Cornish-Fisher expansion (Abramowitz and Stegun
26.7.5) gives the same value to within 1e-11.

Estimates can also be computed from sums (``estimate_from_sums``): integer sums add up exactly
across groups, which is how a group's figures come from its teams' tallies (analysis/tally.py);
or from a standard error worked out elsewhere (``estimate_from_standard_error``: the bounds of
analysis/scores.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist

#: From this many degrees of freedom on, t quantiles come from the Cornish-Fisher expansion.
EXPANSION_FROM_DF = 200


def mean(values: Sequence[float]) -> float:
    """:raise ValueError: for no values."""
    if not values:
        raise ValueError("mean of no values")
    return math.fsum(values) / len(values)


def sample_variance(values: Sequence[float]) -> float:
    """Unbiased (n - 1) variance. :raise ValueError: for fewer than two values."""
    n = len(values)
    if n < 2:
        raise ValueError("variance needs at least two values")
    m = mean(values)
    return math.fsum((v - m) ** 2 for v in values) / (n - 1)


def _betacf(a: float, b: float, x: float) -> float:
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


def regularized_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b), the regularised incomplete beta function."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                 + a * math.log(x) + b * math.log1p(-x))
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with ``df`` degrees of freedom."""
    x = df / (df + t * t)
    tail = 0.5 * regularized_beta(df / 2.0, 0.5, x)
    return 1.0 - tail if t > 0 else tail


@lru_cache(maxsize=4096)
def t_quantile(p: float, df: float) -> float:
    """The t value with P(T <= t) = p (p in (0, 1)): bisection of the CDF to 1e-12, or the
    Cornish-Fisher expansion from ``EXPANSION_FROM_DF`` degrees of freedom (within 1e-11)."""
    if not 0.0 < p < 1.0:
        raise ValueError("p must be strictly between 0 and 1")
    if p == 0.5:
        return 0.0
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    if df >= EXPANSION_FROM_DF:
        return _cornish_fisher(p, df)
    low, high = 0.0, 1.0
    while t_cdf(high, df) < p:
        high *= 2.0
    for _ in range(200):
        mid = (low + high) / 2.0
        if t_cdf(mid, df) < p:
            low = mid
        else:
            high = mid
        if high - low < 1e-12:
            break
    return (low + high) / 2.0


def _cornish_fisher(p: float, df: float) -> float:
    """Abramowitz and Stegun 26.7.5, four terms: the error falls as df ** -5."""
    x = NormalDist().inv_cdf(p)
    g1 = (x ** 3 + x) / 4
    g2 = (5 * x ** 5 + 16 * x ** 3 + 3 * x) / 96
    g3 = (3 * x ** 7 + 19 * x ** 5 + 17 * x ** 3 - 15 * x) / 384
    g4 = (79 * x ** 9 + 776 * x ** 7 + 1482 * x ** 5 - 1920 * x ** 3 - 945 * x) / 92160
    return x + g1 / df + g2 / df ** 2 + g3 / df ** 3 + g4 / df ** 4


@dataclass(frozen=True)
class Estimate:
    """A mean with its standard error and 95% confidence interval (None when they cannot be
    worked out, e.g. from a single value)."""

    #: The number of values (answers) behind the mean.
    n: int
    mean: float
    standard_error: float | None
    ci_low: float | None
    ci_high: float | None


def estimate(values: Sequence[float], confidence: float = 0.95) -> Estimate:
    """Mean with a t-based confidence interval. :raise ValueError: for no values."""
    n = len(values)
    m = mean(values)
    if n < 2:
        return Estimate(n, m, None, None, None)
    se = math.sqrt(sample_variance(values) / n)
    half = t_quantile(0.5 + confidence / 2.0, n - 1) * se
    return Estimate(n, m, se, m - half, m + half)


def estimate_from_sums(n: int, total: int, squares: int, scale: int = 1,
                       confidence: float = 0.95) -> Estimate:
    """``estimate`` of ``n`` values whose sum is ``total / scale`` and whose sum of squares is
    ``squares / scale**2`` (integers, so that sums of groups add up exactly).

    :raise ValueError: for no values.
    """
    if n < 1:
        raise ValueError("mean of no values")
    m = total / (scale * n)
    if n < 2:
        return Estimate(n, m, None, None, None)
    variance = (n * squares - total * total) / (scale * scale * n * (n - 1))
    se = math.sqrt(variance / n)
    half = t_quantile(0.5 + confidence / 2.0, n - 1) * se
    return Estimate(n, m, se, m - half, m + half)


def estimate_from_standard_error(n: int, mean: float, standard_error: float | None, df: int,
                                 confidence: float = 0.95) -> Estimate:
    """An estimate whose standard error was worked out elsewhere, with a t-based interval of
    ``df`` degrees of freedom (no interval when ``standard_error`` is None).

    :raise ValueError: for fewer than one degree of freedom with a standard error.
    """
    if standard_error is None:
        return Estimate(n, mean, None, None, None)
    if df < 1:
        raise ValueError("an interval needs at least one degree of freedom")
    half = t_quantile(0.5 + confidence / 2.0, df) * standard_error
    return Estimate(n, mean, standard_error, mean - half, mean + half)


@dataclass(frozen=True)
class Change:
    """The change of a mean since an earlier round, and whether it exceeds its uncertainty."""

    delta: float
    #: Half-width of the 95% interval of the difference (None when either side has no
    #: standard error).
    margin: float | None

    @property
    def is_real(self) -> bool:
        return self.margin is not None and abs(self.delta) > self.margin


def change(now: Estimate, before: Estimate) -> Change:
    """Difference of two independent means, with a 95% margin (normal approximation).

    A change is "real" when the difference is larger than 1.96 standard errors of the
    difference, i.e. when the 95% interval of the difference excludes zero. Only the two
    standard errors count, not ``n``: a capability's ``n`` is its number of answers, several
    per person. The standard errors of a capability and of the index are upper bounds
    (analysis/scores.py), so for them the margin errs on the wide side: a change called real is
    at least as certain as a statement's.
    """
    delta = now.mean - before.mean
    if now.standard_error is None or before.standard_error is None:
        return Change(delta, None)
    return Change(delta, 1.959963984540054 * math.hypot(now.standard_error, before.standard_error))
