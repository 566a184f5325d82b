"""opacus's accountants at sample rate 1, checked against the exact Gaussian composition.

Composing Gaussian mechanisms with multipliers z_i gives exactly a Gaussian mechanism with
multiplier (sum z_i^-2)^(-1/2); its epsilon is computed in closed form by
``gaussian_epsilon``. opacus has no tests at sample rate 1, so these are ours.
"""

from __future__ import annotations

import math
import random

import pytest

from authority.privacy.accounting import (
    GaussianCharge,
    compose,
    prv_epsilon,
    rdp_epsilon,
    rdp_noise_multiplier,
)
from authority.privacy.gaussian import analytic_gaussian_sigma, gaussian_epsilon
from nearmiss.errors import ConfigError


def exact_epsilon(multipliers: list[float], delta: float) -> float:
    combined = sum(z**-2 for z in multipliers) ** -0.5
    return gaussian_epsilon(sigma=combined, delta=delta, sensitivity=1.0)


def random_histories() -> list[tuple[list[float], float]]:
    rng = random.Random(5)
    cases = []
    for _ in range(6):
        releases = rng.choice([1, 2, 5, 12])
        multipliers = [rng.choice([1.2, 4.2, 8.1, 36.3]) for _ in range(releases)]
        cases.append((multipliers, rng.choice([1e-5, 1e-6, 1e-8])))
    return cases


@pytest.mark.parametrize(("multipliers", "delta"), random_histories())
def test_prv_is_a_tight_upper_bound_at_sample_rate_one(
    multipliers: list[float], delta: float
) -> None:
    charges = [GaussianCharge(z) for z in multipliers]
    exact = exact_epsilon(multipliers, delta)
    prv = prv_epsilon(charges, delta=delta, eps_error=0.01)
    assert exact <= prv <= exact + 0.0105


@pytest.mark.parametrize(("multipliers", "delta"), random_histories())
def test_rdp_is_a_valid_but_looser_upper_bound(multipliers: list[float], delta: float) -> None:
    charges = [GaussianCharge(z) for z in multipliers]
    exact = exact_epsilon(multipliers, delta)
    assert exact <= rdp_epsilon(charges, delta=delta) <= 1.2 * exact + 0.05


def test_wide_orders_reach_small_epsilon() -> None:
    z = analytic_gaussian_sigma(epsilon=0.1, delta=1e-6, sensitivity=1.0)
    # opacus's default orders charge 0.164 here; the wide list must do much better.
    assert rdp_epsilon([GaussianCharge(z)], delta=1e-6) < 0.115


def test_compose_takes_the_tighter_bound_and_says_which() -> None:
    charges = [GaussianCharge(4.2)] * 10
    result = compose(charges, delta=1e-6)
    assert result.accountant == "prv"
    assert result.prv_epsilon is not None
    assert result.epsilon == min(result.rdp_epsilon, result.prv_epsilon)
    assert result.releases == 10


def test_discrete_releases_are_charged_by_rdp_only() -> None:
    charges = [GaussianCharge(4.2), GaussianCharge(4.2, continuous=False)]
    result = compose(charges, delta=1e-6)
    assert result.accountant == "rdp"
    assert result.prv_epsilon is None
    with pytest.raises(ConfigError, match="PRV"):
        prv_epsilon(charges, delta=1e-6)


def test_nothing_released_costs_nothing() -> None:
    assert compose([], delta=1e-6).epsilon == 0.0


def test_rdp_calibration_inverts_the_rdp_charge() -> None:
    z = rdp_noise_multiplier(epsilon=1.0, delta=1e-6)
    assert rdp_epsilon([GaussianCharge(z)], delta=1e-6) <= 1.0
    assert rdp_epsilon([GaussianCharge(z * 0.99)], delta=1e-6) > 1.0
    assert math.isfinite(z)
