"""Differentially private aggregates, the privacy ledger, and the DP triage model.

Public API (everything else is internal)::

    release_period(session, ledger=..., period=..., reports=..., epsilon=..., ...)
    PrivacyLedger(budget=PrivacyBudget(...)).spent(session, period=...)
    CountableReport, Period, ContributionBounds      inputs to a release
    AggregateRelease, SignedRelease                  what is published

Tables live in :mod:`authority.privacy.tables` (``nm_privacy_*``); the triage model in
:mod:`authority.privacy.triage_model` (it imports torch, so it is not imported here).
See docs/adr/0005-differential-privacy.md for the decisions behind the numbers.
"""

from authority.privacy.accounting import Composition, GaussianCharge, compose
from authority.privacy.aggregates import (
    CellKey,
    ContributionBounds,
    CountableReport,
    Period,
    all_cells,
    l2_sensitivity,
    total,
)
from authority.privacy.gaussian import analytic_gaussian_sigma, secure_random
from authority.privacy.ledger import (
    LedgerEntry,
    PrivacyBudget,
    PrivacyBudgetExceededError,
    PrivacyLedger,
    Spend,
)
from authority.privacy.release import (
    DISCRETE_GAUSSIAN,
    GAUSSIAN,
    AggregateRelease,
    SignedRelease,
    error_bar,
    get_release,
    list_releases,
    release_period,
    store_release,
)

__all__ = [
    "DISCRETE_GAUSSIAN",
    "GAUSSIAN",
    "AggregateRelease",
    "CellKey",
    "Composition",
    "ContributionBounds",
    "CountableReport",
    "GaussianCharge",
    "LedgerEntry",
    "Period",
    "PrivacyBudget",
    "PrivacyBudgetExceededError",
    "PrivacyLedger",
    "SignedRelease",
    "Spend",
    "all_cells",
    "analytic_gaussian_sigma",
    "compose",
    "error_bar",
    "get_release",
    "l2_sensitivity",
    "list_releases",
    "release_period",
    "secure_random",
    "store_release",
    "total",
]
