"""The privacy ledger and the releases as people read them: dashboard, JSON API, CLI.

Rules this module enforces:

* Read-only, and no accountant runs here. Every ledger row stores what the accountants
  said when it was charged: the composed epsilon of its period and of the whole scope
  with it added. Rows are only ever appended, so the newest row of a period (or of the
  scope) *is* the current spend. Reading it needs no opacus, so the dashboard never
  loads torch; ``nearmiss authority ledger --recompute`` runs the accountants and
  shows the same figures.
* Each stored spend is at the ledger's delta of the day it was charged; the limits
  shown are those of the current configuration.
* Everything shown is public by construction: epsilon, delta, sigma, periods, release
  ids, signatures and released (noisy) values. No lab is named and no exact count is
  read.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from authority.privacy.aggregates import CellKey
from authority.privacy.ledger import PrivacyBudget
from authority.privacy.release import AggregateRelease, error_bar
from authority.privacy.tables import AggregateReleaseRow, PrivacyLedgerRow

ERROR_LEVEL = 0.95


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class SpendView:
    """Composed epsilon of one period, or of the scope's whole life (``period`` None)."""

    period: str | None
    spent: float
    limit: float
    releases: int

    @property
    def remaining(self) -> float:
        return max(self.limit - self.spent, 0.0)

    def as_json(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "spent_epsilon": round(self.spent, 6),
            "limit_epsilon": self.limit,
            "remaining_epsilon": round(self.remaining, 6),
            "releases": self.releases,
        }


@dataclass(frozen=True)
class ReleaseView:
    """One signed release with its public noise scale and 95% error bar per cell.

    Cells are released unclamped, so sums are unbiased; the front-page trend shows them
    (authority.dashboard.queries.dp_trend).
    """

    row: AggregateReleaseRow
    release: AggregateRelease
    period_epsilon_after: float | None

    @property
    def error_cell(self) -> float:
        return error_bar(self.release.noise_sigma, cells=1, level=ERROR_LEVEL)

    def as_json(self, *, cells: bool = False) -> dict[str, Any]:
        release = self.release
        body: dict[str, Any] = {
            "release_id": release.release_id,
            "origin_authority": release.origin_authority,
            "period": release.period.label,
            "period_start": _iso(release.period.start),
            "period_end": _iso(release.period.end),
            "released_at": _iso(release.released_at),
            "mechanism": release.mechanism,
            "epsilon": release.epsilon,
            "delta": release.delta,
            "noise_sigma": release.noise_sigma,
            "contribution_cap": release.contribution_cap,
            "lab_cap": self.row.lab_cap,
            "l2_sensitivity": self.row.sensitivity,
            "error_bar_95_per_cell": round(self.error_cell, 4),
            "period_epsilon_after": self.period_epsilon_after,
            "signing_key_id": self.row.signing_key_id,
            "signature": base64.b64encode(self.row.signature).decode(),
            "payload": base64.b64encode(self.row.payload).decode(),
        }
        if cells:
            body["cells"] = [_cell_json(key, value) for key, value in release.cells]
        return body


def _cell_json(key: CellKey, value: float) -> dict[str, Any]:
    return {
        "harm_domain": key.harm_domain.value,
        "severity": key.severity,
        "kind": key.kind.value,
        "measure": key.measure,
        "value": value,
    }


@dataclass(frozen=True)
class LedgerView:
    scope: str
    delta: float
    lifetime: SpendView
    periods: tuple[SpendView, ...]  # newest period first
    releases: tuple[ReleaseView, ...]  # newest release first

    def as_json(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "delta": self.delta,
            "lifetime": self.lifetime.as_json(),
            "periods": [spend.as_json() for spend in self.periods],
        }


def _release_view(row: AggregateReleaseRow, after: dict[str, float]) -> ReleaseView:
    release = AggregateRelease.from_bytes(row.payload, period_label=row.period)
    return ReleaseView(row, release, after.get(row.release_id))


def release_views(session: Session, *, scope: str) -> list[ReleaseView]:
    """The scope's releases, newest first."""
    rows = session.exec(
        select(AggregateReleaseRow)
        .where(AggregateReleaseRow.scope == scope)
        .order_by(col(AggregateReleaseRow.released_at).desc())
    ).all()
    after = {
        entry.release_id: entry.period_epsilon_after
        for entry in session.exec(select(PrivacyLedgerRow).where(PrivacyLedgerRow.scope == scope))
    }
    return [_release_view(row, after) for row in rows]


def get_release_view(session: Session, release_id: str, *, scope: str) -> ReleaseView | None:
    row = session.get(AggregateReleaseRow, release_id)
    if row is None or row.scope != scope:
        return None
    entry = session.exec(
        select(PrivacyLedgerRow).where(
            PrivacyLedgerRow.scope == scope, PrivacyLedgerRow.release_id == release_id
        )
    ).first()
    return _release_view(row, {} if entry is None else {release_id: entry.period_epsilon_after})


def ledger_view(session: Session, *, scope: str, budget: PrivacyBudget) -> LedgerView:
    """Spend per period and over the scope's life, from the newest row of each."""
    rows = session.exec(
        select(PrivacyLedgerRow)
        .where(PrivacyLedgerRow.scope == scope)
        .order_by(col(PrivacyLedgerRow.id))
    ).all()
    latest: dict[str, PrivacyLedgerRow] = {}
    counts: dict[str, int] = {}
    for row in rows:
        latest[row.period] = row
        counts[row.period] = counts.get(row.period, 0) + 1
    periods = sorted(latest.values(), key=lambda row: row.id or 0, reverse=True)
    return LedgerView(
        scope=scope,
        delta=budget.delta,
        lifetime=SpendView(
            None, rows[-1].lifetime_epsilon_after if rows else 0.0, budget.lifetime_epsilon,
            len(rows),
        ),
        periods=tuple(
            SpendView(row.period, row.period_epsilon_after, budget.period_epsilon,
                      counts[row.period])
            for row in periods
        ),
        releases=tuple(release_views(session, scope=scope)),
    )  # fmt: skip
