"""Calibration against known values, and the samplers against their claimed distributions."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from scipy import stats

from authority.privacy.discrete import discrete_gaussian_sigma, sample_discrete_gaussian
from authority.privacy.gaussian import (
    analytic_gaussian_sigma,
    classic_gaussian_sigma,
    gaussian_delta,
    gaussian_epsilon,
    sample_gaussian,
)
from nearmiss.errors import ConfigError


def test_sigma_matches_the_published_value() -> None:
    # Balle & Wang (2018) / FIELD-NOTES: sigma = 3.73 at eps = 1, delta = 1e-5, D = 1.
    sigma = analytic_gaussian_sigma(epsilon=1.0, delta=1e-5, sensitivity=1.0)
    assert sigma == pytest.approx(3.7306, abs=1e-3)


@pytest.mark.parametrize("epsilon", [0.1, 0.5, 1.0, 4.0, 20.0])
def test_sigma_sits_exactly_on_the_privacy_profile(epsilon: float) -> None:
    sigma = analytic_gaussian_sigma(epsilon=epsilon, delta=1e-6, sensitivity=1.0)
    assert gaussian_delta(sigma=sigma, epsilon=epsilon, sensitivity=1.0) <= 1e-6
    assert gaussian_delta(sigma=sigma * 0.999, epsilon=epsilon, sensitivity=1.0) > 1e-6
    assert gaussian_epsilon(sigma=sigma, delta=1e-6, sensitivity=1.0) == pytest.approx(epsilon)


def test_sigma_scales_linearly_with_sensitivity() -> None:
    one = analytic_gaussian_sigma(epsilon=0.5, delta=1e-6, sensitivity=1.0)
    six = analytic_gaussian_sigma(epsilon=0.5, delta=1e-6, sensitivity=6.0)
    assert six == pytest.approx(6.0 * one, rel=1e-9)


@pytest.mark.parametrize("epsilon", [0.1, 0.5, 0.9])
def test_classic_calibration_wastes_noise(epsilon: float) -> None:
    analytic = analytic_gaussian_sigma(epsilon=epsilon, delta=1e-6, sensitivity=1.0)
    classic = classic_gaussian_sigma(epsilon=epsilon, delta=1e-6, sensitivity=1.0)
    assert 1.2 < classic / analytic < 1.7


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ConfigError, match="delta"):
        analytic_gaussian_sigma(epsilon=1.0, delta=0.0, sensitivity=1.0)
    with pytest.raises(ConfigError, match="epsilon"):
        analytic_gaussian_sigma(epsilon=-1.0, delta=1e-6, sensitivity=1.0)


def test_continuous_noise_has_the_claimed_sigma() -> None:
    sigma = analytic_gaussian_sigma(epsilon=1.0, delta=1e-6, sensitivity=6.0)
    draws = sample_gaussian(sigma=sigma, size=20_000, rng=random.Random(20261122))
    result = stats.kstest(draws, "norm", args=(0.0, sigma))
    assert result.pvalue > 0.01
    # The same test rejects a sigma 5% off: it has the power to catch a mis-scaling.
    assert stats.kstest(draws, "norm", args=(0.0, sigma * 1.05)).pvalue < 0.01


def test_discrete_noise_follows_the_discrete_gaussian_pmf() -> None:
    sigma = 2.5
    draws = np.array(sample_discrete_gaussian(sigma=sigma, size=8_000, rng=random.Random(7)))
    support = np.arange(-12, 13)
    weights = np.exp(-(support.astype(float) ** 2) / (2 * sigma**2))
    expected = weights / weights.sum() * len(draws)
    observed = np.array([(draws == value).sum() for value in support])
    # Pool the tails (|y| >= 7) so every bin expects at least ~5 draws.
    inner = np.abs(support) < 7
    observed_bins = [*observed[inner], observed[~inner].sum()]
    expected_bins = [*expected[inner], expected[~inner].sum()]
    assert stats.chisquare(observed_bins, expected_bins).pvalue > 0.01
    assert np.abs(draws).max() < 25


def test_discrete_calibration_is_at_least_the_analytic_one() -> None:
    for epsilon in (0.1, 1.0, 4.0):
        analytic = analytic_gaussian_sigma(epsilon=epsilon, delta=1e-6, sensitivity=3.0)
        discrete = discrete_gaussian_sigma(epsilon=epsilon, delta=1e-6, sensitivity=3.0)
        assert analytic < discrete < 1.15 * analytic
        assert math.isfinite(discrete)
