"""The Gaussian mechanism: exact (analytic) calibration and noise sampling.

Rules this module enforces:

* sigma is calibrated on the *exact* privacy profile of the Gaussian mechanism (Balle &
  Wang, "Improving the Gaussian Mechanism for Differential Privacy", ICML 2018, Theorem 8):
  ``delta(eps) = Phi(D/(2s) - eps*s/D) - e^eps * Phi(-D/(2s) - eps*s/D)``. The classic
  ``sqrt(2 ln(1.25/delta)) / eps`` bound is kept only so benchmarks can show how much
  noise it wastes; it is never used to release anything.
* Bisection returns the upper end of its bracket, so the sigma handed out always
  satisfies (eps, delta)-DP; it is never the lower, possibly too small, end.
* Noise is drawn from a ``random.Random`` passed in. Production passes
  :func:`secure_random` (``secrets.SystemRandom``, which reads the operating system's
  CSPRNG, ``os.urandom``), so nobody can predict or replay the noise; tests and
  benchmarks pass ``random.Random(seed)`` to be reproducible. Continuous samples are
  IEEE doubles (the floating-point caveat of Mironov 2012 applies); the discrete
  Gaussian in :mod:`authority.privacy.discrete` is the exact, integer-only alternative.
"""

from __future__ import annotations

import math
import random
import secrets

from scipy.special import log_ndtr, ndtr

from nearmiss.errors import ConfigError

# Bisection runs until the bracket is this tight relative to its upper end.
_RELATIVE_TOLERANCE = 1e-12
_MAX_ITERATIONS = 400


def _check_positive(name: str, value: float) -> None:
    if not (value > 0 and math.isfinite(value)):
        raise ConfigError(f"{name} must be a positive finite number, got {value!r}", key=name)


def _check_delta(delta: float) -> None:
    if not 0 < delta < 1:
        raise ConfigError(f"delta must lie strictly between 0 and 1, got {delta!r}", key="delta")


def gaussian_delta(*, sigma: float, epsilon: float, sensitivity: float) -> float:
    """The smallest delta for which N(0, sigma^2) noise is (epsilon, delta)-DP.

    Written with log-CDFs so that ``e^eps * Phi(...)`` does not overflow at large eps.
    """
    _check_positive("sigma", sigma)
    _check_positive("sensitivity", sensitivity)
    if epsilon < 0:
        raise ConfigError(f"epsilon must be >= 0, got {epsilon!r}", key="epsilon")
    a = sensitivity / (2.0 * sigma)
    b = epsilon * sigma / sensitivity
    first = float(ndtr(a - b))
    second = math.exp(epsilon + float(log_ndtr(-a - b)))
    return max(first - second, 0.0)


def analytic_gaussian_sigma(*, epsilon: float, delta: float, sensitivity: float) -> float:
    """The smallest sigma (to 1e-12 relative) giving (epsilon, delta)-DP for this L2 sensitivity.

    ``gaussian_delta`` decreases in sigma, so bisection on log(sigma) finds the crossing;
    the upper end is returned so the guarantee holds exactly, not approximately.
    """
    _check_positive("epsilon", epsilon)
    _check_positive("sensitivity", sensitivity)
    _check_delta(delta)
    low, high = 1e-6 * sensitivity, sensitivity
    while gaussian_delta(sigma=high, epsilon=epsilon, sensitivity=sensitivity) > delta:
        low, high = high, high * 2.0
    for _ in range(_MAX_ITERATIONS):
        middle = math.sqrt(low * high)
        if gaussian_delta(sigma=middle, epsilon=epsilon, sensitivity=sensitivity) > delta:
            low = middle
        else:
            high = middle
        if high - low <= _RELATIVE_TOLERANCE * high:
            break
    return high


def gaussian_epsilon(*, sigma: float, delta: float, sensitivity: float) -> float:
    """The smallest epsilon (to 1e-12) for which N(0, sigma^2) noise is (epsilon, delta)-DP.

    The exact inverse of :func:`gaussian_delta`; benchmarks use it as ground truth for a
    sequence of Gaussian releases, whose composition is again a Gaussian mechanism with
    ``(sum sigma_i^-2 * D_i^2)^(-1/2)`` as its noise multiplier.
    """
    _check_positive("sigma", sigma)
    _check_positive("sensitivity", sensitivity)
    _check_delta(delta)
    if gaussian_delta(sigma=sigma, epsilon=0.0, sensitivity=sensitivity) <= delta:
        return 0.0
    low, high = 0.0, 1.0
    while gaussian_delta(sigma=sigma, epsilon=high, sensitivity=sensitivity) > delta:
        low, high = high, high * 2.0
    for _ in range(_MAX_ITERATIONS):
        middle = 0.5 * (low + high)
        if gaussian_delta(sigma=sigma, epsilon=middle, sensitivity=sensitivity) > delta:
            low = middle
        else:
            high = middle
        if high - low <= _RELATIVE_TOLERANCE * max(high, 1.0):
            break
    return high


def classic_gaussian_sigma(*, epsilon: float, delta: float, sensitivity: float) -> float:
    """Dwork & Roth (2014, Theorem A.1): valid only for epsilon < 1 and wasteful; for comparison."""
    _check_positive("epsilon", epsilon)
    _check_positive("sensitivity", sensitivity)
    _check_delta(delta)
    return math.sqrt(2.0 * math.log(1.25 / delta)) * sensitivity / epsilon


def secure_random() -> random.Random:
    """The noise source for real releases: the operating system's CSPRNG, never seeded."""
    return secrets.SystemRandom()


def sample_gaussian(*, sigma: float, size: int, rng: random.Random) -> list[float]:
    """``size`` independent N(0, sigma^2) draws from ``rng``."""
    _check_positive("sigma", sigma)
    if size < 0:
        raise ConfigError(f"size must be >= 0, got {size}", key="size")
    return [rng.gauss(0.0, sigma) for _ in range(size)]
