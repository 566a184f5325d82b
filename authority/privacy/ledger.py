"""The privacy ledger: every release is charged here first, or it does not happen.

Rules this module enforces:

* Two limits, both at the ledger's delta: the composed epsilon of all releases of one
  period (``period_epsilon``) and of all releases ever made in this scope
  (``lifetime_epsilon``). The lifetime limit is the one that protects a lab across
  periods, since a lab reports in every period.
* Composition is done by opacus's accountants (:mod:`authority.privacy.accounting`) over
  the persisted entries, rebuilt on every check: there is no in-memory state to lose, so
  restarting the authority cannot reset the ledger.
* A release that would push either composed epsilon past its limit is refused with
  :class:`PrivacyBudgetExceededError` before any noise is drawn, and nothing is written.
* :meth:`PrivacyLedger.charge` locks the scope's row (``SELECT ... FOR UPDATE`` on
  PostgreSQL), checks, and inserts in the caller's transaction; the caller commits it
  together with the release, so a charge without a release (or the reverse) cannot be
  committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import Session, col, select

from authority.privacy.accounting import (
    DEFAULT_PRV_EPS_ERROR,
    Composition,
    GaussianCharge,
    compose,
)
from authority.privacy.tables import PrivacyLedgerRow, PrivacyScopeRow
from nearmiss.errors import ConfigError, PreconditionError

CONTINUOUS_MECHANISMS = frozenset({"gaussian-analytic"})
KNOWN_MECHANISMS = CONTINUOUS_MECHANISMS | {"discrete-gaussian"}


class PrivacyBudgetExceededError(PreconditionError):
    """A release would spend more privacy than the period's or the lifetime limit allows."""

    def __init__(
        self,
        *,
        scope: str,
        period: str,
        limit_name: str,
        requested_epsilon: float,
        spent: float,
        would_be: float,
        limit: float,
        delta: float,
        accountant: str,
    ) -> None:
        self.scope = scope
        self.period = period
        self.limit_name = limit_name
        self.requested_epsilon = requested_epsilon
        self.spent = spent
        self.would_be = would_be
        self.limit = limit
        super().__init__(
            f"privacy budget exceeded: a release for period {period} at epsilon "
            f"{requested_epsilon:.4g} would bring the {limit_name} spend of ledger {scope!r} "
            f"from {spent:.4g} to {would_be:.4g}, over its limit {limit:.4g} "
            f"(delta {delta:.3g}, {accountant} accountant); the release was refused"
        )


@dataclass(frozen=True)
class PrivacyBudget:
    """Limits, at ``delta``, on the composed epsilon per period and over the ledger's life."""

    period_epsilon: float
    lifetime_epsilon: float
    delta: float = 1e-6

    def __post_init__(self) -> None:
        if not 0 < self.delta < 1:
            raise ConfigError(f"ledger delta must be in (0, 1), got {self.delta}", key="delta")
        if not 0 < self.period_epsilon <= self.lifetime_epsilon:
            raise ConfigError(
                f"need 0 < period_epsilon <= lifetime_epsilon, got {self.period_epsilon} and "
                f"{self.lifetime_epsilon}",
                key="privacy_budget",
            )


@dataclass(frozen=True)
class Spend:
    """Composed epsilon so far, for the dashboard: of one period, or lifetime (period None)."""

    period: str | None
    epsilon: float
    limit: float
    delta: float
    accountant: str
    releases: int


@dataclass(frozen=True)
class LedgerEntry:
    scope: str
    period: str
    release_id: str
    mechanism: str
    epsilon: float
    delta: float
    sigma: float
    sensitivity: float
    noise_multiplier: float
    period_epsilon_after: float
    lifetime_epsilon_after: float
    accountant: str
    charged_at: datetime

    @classmethod
    def from_row(cls, row: PrivacyLedgerRow) -> LedgerEntry:
        return cls(
            row.scope, row.period, row.release_id, row.mechanism, row.epsilon, row.delta,
            row.sigma, row.sensitivity, row.noise_multiplier, row.period_epsilon_after,
            row.lifetime_epsilon_after, row.accountant, row.charged_at,
        )  # fmt: skip


def _as_charge(mechanism: str, noise_multiplier: float) -> GaussianCharge:
    return GaussianCharge(noise_multiplier, continuous=mechanism in CONTINUOUS_MECHANISMS)


class PrivacyLedger:
    """Budget checks and charges for one scope (one authority's public releases)."""

    def __init__(
        self,
        *,
        budget: PrivacyBudget,
        scope: str = "default",
        use_prv: bool = True,
        prv_eps_error: float = DEFAULT_PRV_EPS_ERROR,
    ) -> None:
        self.budget = budget
        self.scope = scope
        self._use_prv = use_prv
        self._prv_eps_error = prv_eps_error

    def _rows(self, session: Session, period: str | None = None) -> Sequence[PrivacyLedgerRow]:
        query = select(PrivacyLedgerRow).where(PrivacyLedgerRow.scope == self.scope)
        if period is not None:
            query = query.where(PrivacyLedgerRow.period == period)
        return session.exec(query.order_by(col(PrivacyLedgerRow.id))).all()

    def _compose(self, charges: Sequence[GaussianCharge]) -> Composition:
        return compose(
            charges,
            delta=self.budget.delta,
            use_prv=self._use_prv,
            prv_eps_error=self._prv_eps_error,
        )

    def entries(self, session: Session, *, period: str | None = None) -> list[LedgerEntry]:
        return [LedgerEntry.from_row(row) for row in self._rows(session, period)]

    def spent(self, session: Session, *, period: str | None = None) -> Spend:
        """Composed epsilon of the period's releases, or of all releases when period is None."""
        rows = self._rows(session, period)
        composition = self._compose([_as_charge(r.mechanism, r.noise_multiplier) for r in rows])
        limit = self.budget.lifetime_epsilon if period is None else self.budget.period_epsilon
        return Spend(
            period, composition.epsilon, limit, self.budget.delta, composition.accountant, len(rows)
        )

    def _lock(self, session: Session, now: datetime) -> None:
        query = select(PrivacyScopeRow).where(PrivacyScopeRow.scope == self.scope)
        if session.exec(query.with_for_update()).first() is None:
            session.add(PrivacyScopeRow(scope=self.scope, created_at=now))
            session.flush()

    def charge(
        self,
        session: Session,
        *,
        period: str,
        release_id: str,
        mechanism: str,
        epsilon: float,
        delta: float,
        sigma: float,
        sensitivity: float,
        now: datetime | None = None,
    ) -> LedgerEntry:
        """Check both limits with this release added, then record it (caller commits).

        Raises PrivacyBudgetExceededError, naming the limit, when either would be passed.
        """
        if mechanism not in KNOWN_MECHANISMS:
            raise ConfigError(f"unknown mechanism {mechanism!r}", key="mechanism")
        if delta > self.budget.delta:
            raise ConfigError(
                f"release delta {delta:.3g} exceeds the ledger's delta {self.budget.delta:.3g}",
                key="delta",
            )
        now = now or datetime.now(UTC)
        self._lock(session, now)
        new = _as_charge(mechanism, sigma / sensitivity)
        lifetime_rows = self._rows(session)
        lifetime_before = [_as_charge(r.mechanism, r.noise_multiplier) for r in lifetime_rows]
        period_before = [
            _as_charge(r.mechanism, r.noise_multiplier) for r in lifetime_rows if r.period == period
        ]
        checks = (
            ("period", period_before, self.budget.period_epsilon),
            ("lifetime", lifetime_before, self.budget.lifetime_epsilon),
        )
        after: dict[str, Composition] = {}
        for name, before, limit in checks:
            composed = self._compose([*before, new])
            if composed.epsilon > limit:
                raise PrivacyBudgetExceededError(
                    scope=self.scope,
                    period=period,
                    limit_name=name,
                    requested_epsilon=epsilon,
                    spent=self._compose(before).epsilon,
                    would_be=composed.epsilon,
                    limit=limit,
                    delta=self.budget.delta,
                    accountant=composed.accountant,
                )
            after[name] = composed
        row = PrivacyLedgerRow(
            scope=self.scope,
            period=period,
            release_id=release_id,
            mechanism=mechanism,
            epsilon=epsilon,
            delta=delta,
            sigma=sigma,
            sensitivity=sensitivity,
            noise_multiplier=new.noise_multiplier,
            period_epsilon_after=after["period"].epsilon,
            lifetime_epsilon_after=after["lifetime"].epsilon,
            accountant=after["lifetime"].accountant,
            charged_at=now,
        )
        session.add(row)
        session.flush()
        return LedgerEntry.from_row(row)
