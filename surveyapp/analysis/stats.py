"""Small statistics: mean, variance, Student's t quantiles, confidence intervals, Cronbach's alpha.

Written out here (about a hundred lines) rather than pulling in SciPy for four formulas.
The t quantile inverts the t distribution's CDF, computed through the regularised incomplete
beta function (Lentz's continued fraction, as in Numerical Recipes §6.4).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


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


def t_quantile(p: float, df: float) -> float:
    """The t value with P(T <= t) = p (bisection to 1e-12; p in (0, 1))."""
    if not 0.0 < p < 1.0:
        raise ValueError("p must be strictly between 0 and 1")
    if p == 0.5:
        return 0.0
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
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


@dataclass(frozen=True)
class Estimate:
    """A mean with its standard error and 95% confidence interval (None when n < 2)."""

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


def cronbach_alpha(rows: Sequence[Sequence[float]]) -> float | None:
    """Cronbach's alpha of complete rows (one row per respondent, one column per item).

    Returns None when it is undefined: fewer than two items or respondents, or no variance in
    the respondents' totals.
    """
    if len(rows) < 2:
        return None
    k = len(rows[0])
    if k < 2 or any(len(r) != k for r in rows):
        return None
    item_variances = math.fsum(sample_variance([r[i] for r in rows]) for i in range(k))
    total_variance = sample_variance([math.fsum(r) for r in rows])
    if total_variance == 0:
        return None
    return (k / (k - 1)) * (1.0 - item_variances / total_variance)


@dataclass(frozen=True)
class Change:
    """The change of a mean since an earlier round, and whether it exceeds its uncertainty."""

    delta: float
    #: Half-width of the 95% interval of the difference (None when either side has n < 2).
    margin: float | None

    @property
    def is_real(self) -> bool:
        return self.margin is not None and abs(self.delta) > self.margin


def change(now: Estimate, before: Estimate) -> Change:
    """Difference of two independent means, with a 95% margin (normal approximation).

    A change is "real" when the difference is larger than 1.96 standard errors of the
    difference, i.e. when the 95% interval of the difference excludes zero.
    """
    delta = now.mean - before.mean
    if now.standard_error is None or before.standard_error is None:
        return Change(delta, None)
    return Change(delta, 1.959963984540054 * math.hypot(now.standard_error, before.standard_error))
