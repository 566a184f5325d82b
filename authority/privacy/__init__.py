"""Differentially private aggregates, the privacy ledger, and the DP triage model.

Public API (everything else is internal)::

    release_period(session, ledger=..., period=..., reports=..., epsilon=..., ...)
    PrivacyLedger(budget=PrivacyBudget(...)).spent(session, period=...)
    CountableReport, Period, ContributionBounds      inputs to a release
    AggregateRelease, SignedRelease                  what is published
    install_privacy(app), ReleaseJob                 the scheduled release (job.py)

Tables live in :mod:`authority.privacy.tables` (``nm_privacy_*``); the triage model in
:mod:`authority.privacy.triage_model` (it imports torch, so it is not imported here).
See docs/adr/0005-differential-privacy.md for the decisions behind the numbers.

Names are imported on first use: opening the database registers ``tables`` through this
package, and the accountants pull in opacus and torch (10-30 s), which an authority
should pay only when it composes a release.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
    from authority.privacy.job import ReleaseJob, install_privacy
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

_WHERE = {
    "Composition": "authority.privacy.accounting",
    "GaussianCharge": "authority.privacy.accounting",
    "compose": "authority.privacy.accounting",
    "CellKey": "authority.privacy.aggregates",
    "ContributionBounds": "authority.privacy.aggregates",
    "CountableReport": "authority.privacy.aggregates",
    "Period": "authority.privacy.aggregates",
    "all_cells": "authority.privacy.aggregates",
    "l2_sensitivity": "authority.privacy.aggregates",
    "total": "authority.privacy.aggregates",
    "analytic_gaussian_sigma": "authority.privacy.gaussian",
    "secure_random": "authority.privacy.gaussian",
    "ReleaseJob": "authority.privacy.job",
    "install_privacy": "authority.privacy.job",
    "LedgerEntry": "authority.privacy.ledger",
    "PrivacyBudget": "authority.privacy.ledger",
    "PrivacyBudgetExceededError": "authority.privacy.ledger",
    "PrivacyLedger": "authority.privacy.ledger",
    "Spend": "authority.privacy.ledger",
    "DISCRETE_GAUSSIAN": "authority.privacy.release",
    "GAUSSIAN": "authority.privacy.release",
    "AggregateRelease": "authority.privacy.release",
    "SignedRelease": "authority.privacy.release",
    "error_bar": "authority.privacy.release",
    "get_release": "authority.privacy.release",
    "list_releases": "authority.privacy.release",
    "release_period": "authority.privacy.release",
    "store_release": "authority.privacy.release",
}

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
    "ReleaseJob",
    "SignedRelease",
    "Spend",
    "all_cells",
    "analytic_gaussian_sigma",
    "compose",
    "error_bar",
    "get_release",
    "install_privacy",
    "l2_sensitivity",
    "list_releases",
    "release_period",
    "secure_random",
    "store_release",
    "total",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)
