"""Composition of Gaussian releases through opacus's accountants (never re-derived here).

Rules this module enforces:

* Every release is one Gaussian mechanism at sample rate 1 (a full count, no
  subsampling), summarised by its noise multiplier ``z = sigma / L2-sensitivity``.
* The RDP accountant always runs, with :data:`WIDE_RDP_ORDERS` (opacus's default orders
  stop at 63 and cannot reach small epsilon: at eps = 0.1 they charge 0.164 instead of
  0.109 for the same noise).
* The PRV accountant runs only when every release is a continuous Gaussian: it
  discretises the exact Gaussian privacy-loss distribution, which the discrete Gaussian
  does not share. Its result is an upper bound within ``eps_error`` of the truth; our
  tests check it against the exact composition at sample rate 1, where opacus itself
  has no tests. Discrete Gaussian releases are charged by RDP alone, which covers them:
  the discrete Gaussian satisfies the same zCDP/RDP bound as the continuous one
  (Canonne, Kamath & Steinke 2020, Theorem 14).
* The charged epsilon is the smaller of the valid upper bounds; both are reported.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from nearmiss.errors import ConfigError

WIDE_RDP_ORDERS: tuple[float, ...] = tuple(
    [1.0 + x / 100.0 for x in range(1, 100)]
    + [2.0 + x / 10.0 for x in range(80)]
    + [float(x) for x in range(10, 256)]
    + [256.0 * 1.1**k for k in range(60)]
)
"""RDP orders from 1.01 to ~78,000: enough for epsilon down to ~0.01 at delta = 1e-6."""

DEFAULT_PRV_EPS_ERROR = 0.01
"""opacus's default: the PRV bound overshoots the exact epsilon by at most this much."""


@dataclass(frozen=True)
class GaussianCharge:
    """One release as the accountants see it."""

    noise_multiplier: float
    # False for the discrete Gaussian: PRV's exact-Gaussian model does not cover it.
    continuous: bool = True


@dataclass(frozen=True)
class Composition:
    """The epsilon charged for a sequence of releases at the ledger's delta."""

    epsilon: float
    delta: float
    accountant: str
    rdp_epsilon: float
    prv_epsilon: float | None
    releases: int


def _check(charges: Sequence[GaussianCharge], delta: float) -> None:
    if not 0 < delta < 1:
        raise ConfigError(f"delta must lie strictly between 0 and 1, got {delta!r}", key="delta")
    for charge in charges:
        if not (charge.noise_multiplier > 0 and math.isfinite(charge.noise_multiplier)):
            raise ConfigError(
                f"noise multiplier must be positive and finite, got {charge.noise_multiplier!r}",
                key="noise_multiplier",
            )


def _grouped(charges: Sequence[GaussianCharge]) -> list[tuple[float, int]]:
    """(multiplier, count) pairs: composition commutes, and opacus merges consecutive repeats
    into one self-composition, which is what keeps PRV fast over a long history."""
    counts = Counter(charge.noise_multiplier for charge in charges)
    return sorted(counts.items())


def rdp_epsilon(charges: Sequence[GaussianCharge], *, delta: float) -> float:
    """opacus ``RDPAccountant`` over the wide orders."""
    _check(charges, delta)
    if not charges:
        return 0.0
    from opacus.accountants import RDPAccountant  # opacus pulls in torch: only when composing

    accountant = RDPAccountant()
    for multiplier, count in _grouped(charges):
        for _ in range(count):
            accountant.step(noise_multiplier=multiplier, sample_rate=1.0)
    with warnings.catch_warnings():
        # "Optimal order is the largest alpha" cannot happen above eps ~ 0.01; below it
        # the bound is still valid, only loose.
        warnings.simplefilter("ignore", UserWarning)
        return float(accountant.get_epsilon(delta=delta, alphas=list(WIDE_RDP_ORDERS)))


def prv_epsilon(
    charges: Sequence[GaussianCharge], *, delta: float, eps_error: float = DEFAULT_PRV_EPS_ERROR
) -> float:
    """opacus ``PRVAccountant`` (an upper bound); continuous Gaussian releases only."""
    _check(charges, delta)
    if any(not charge.continuous for charge in charges):
        raise ConfigError("the PRV accountant models only the continuous Gaussian", key="mechanism")
    if not charges:
        return 0.0
    from opacus.accountants import PRVAccountant

    accountant = PRVAccountant()
    for multiplier, count in _grouped(charges):
        for _ in range(count):
            accountant.step(noise_multiplier=multiplier, sample_rate=1.0)
    # At sample rate 1 opacus takes log(0) on purpose and masks it, and it sizes the PRV
    # domain with a default-orders RDP bound that warns; neither affects the result.
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", UserWarning)
        return float(accountant.get_epsilon(delta=delta, eps_error=eps_error))


def compose(
    charges: Sequence[GaussianCharge],
    *,
    delta: float,
    use_prv: bool = True,
    prv_eps_error: float = DEFAULT_PRV_EPS_ERROR,
) -> Composition:
    """The tightest valid epsilon the accountants give for these releases together."""
    rdp = rdp_epsilon(charges, delta=delta)
    prv: float | None = None
    if use_prv and charges and all(charge.continuous for charge in charges):
        prv = prv_epsilon(charges, delta=delta, eps_error=prv_eps_error)
    if prv is not None and prv < rdp:
        return Composition(prv, delta, "prv", rdp, prv, len(charges))
    return Composition(rdp, delta, "rdp", rdp, prv, len(charges))


def rdp_noise_multiplier(*, epsilon: float, delta: float) -> float:
    """Smallest multiplier whose single release the RDP accountant charges at most epsilon.

    Used to calibrate the discrete Gaussian, whose only (epsilon, delta) guarantee we rely
    on is the RDP one. Bisection on log(z); returns the upper (safe) end.
    """
    if not (epsilon > 0 and math.isfinite(epsilon)):
        raise ConfigError(f"epsilon must be positive and finite, got {epsilon!r}", key="epsilon")
    low, high = 1e-3, 1.0

    def charged(multiplier: float) -> float:
        return rdp_epsilon([GaussianCharge(multiplier, continuous=False)], delta=delta)

    while charged(high) > epsilon:
        low, high = high, high * 2.0
    for _ in range(200):
        middle = math.sqrt(low * high)
        if charged(middle) > epsilon:
            low = middle
        else:
            high = middle
        if high - low <= 1e-9 * high:
            break
    return high
