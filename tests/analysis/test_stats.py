import pytest

from surveyapp.analysis.stats import (
    Estimate,
    change,
    estimate,
    estimate_from_standard_error,
    sample_variance,
    t_cdf,
    t_quantile,
)


@pytest.mark.parametrize("df, expected", [
    (1, 12.7062), (2, 4.3027), (4, 2.7764), (9, 2.2622), (29, 2.0452), (120, 1.9799),
])
def test_t_quantile_matches_published_tables(df, expected):
    assert t_quantile(0.975, df) == pytest.approx(expected, abs=1e-4)


def test_t_cdf_is_symmetric_and_half_at_zero():
    assert t_cdf(0.0, 7) == pytest.approx(0.5)
    assert t_cdf(-1.3, 7) == pytest.approx(1 - t_cdf(1.3, 7))


def test_sample_variance_by_hand():
    # values 2, 4, 4, 4, 5, 5, 7, 9: mean 5, squared deviations sum to 32, n - 1 = 7
    assert sample_variance([2, 4, 4, 4, 5, 5, 7, 9]) == pytest.approx(32 / 7)


def test_estimate_by_hand():
    # 4, 5, 3, 4, 4: mean 4, variance 0.5, se = sqrt(0.5 / 5) = 0.316228, t(0.975, 4) = 2.776445
    e = estimate([4, 5, 3, 4, 4])
    assert e.mean == 4
    assert e.standard_error == pytest.approx(0.316228, abs=1e-6)
    assert e.ci_low == pytest.approx(4 - 2.776445 * 0.316228, abs=1e-5)
    assert e.ci_high == pytest.approx(4 + 2.776445 * 0.316228, abs=1e-5)


def test_estimate_of_one_value_has_no_interval():
    assert estimate([3]) == Estimate(1, 3.0, None, None, None)


def test_an_estimate_from_a_standard_error_uses_the_t_quantile_of_its_degrees_of_freedom():
    e = estimate_from_standard_error(20, 3.5, 0.2, 4)
    assert (e.n, e.mean, e.standard_error) == (20, 3.5, 0.2)
    assert (e.ci_low, e.ci_high) == pytest.approx((3.5 - 2.776445 * 0.2, 3.5 + 2.776445 * 0.2))
    assert estimate_from_standard_error(1, 3.0, None, 0) == Estimate(1, 3.0, None, None, None)


def test_change_is_real_only_beyond_its_margin():
    now = Estimate(30, 4.0, 0.1, None, None)
    before = Estimate(30, 3.7, 0.1, None, None)
    # margin = 1.959964 * sqrt(0.1^2 + 0.1^2) = 1.959964 * 0.1414214 = 0.277181
    result = change(now, before)
    assert result.delta == pytest.approx(0.3)
    assert result.margin == pytest.approx(0.277181, abs=1e-6)
    assert result.is_real
    assert not change(Estimate(30, 3.9, 0.1, None, None), before).is_real


def test_change_without_uncertainty_is_never_real():
    assert not change(Estimate(1, 5.0, None, None, None), Estimate(1, 1.0, None, None, None)).is_real
