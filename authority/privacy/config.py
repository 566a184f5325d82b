"""The ``[privacy]`` table of authority.toml: when aggregates are released, at what cost.

Example (every key optional; these are the defaults)::

    [privacy]
    enabled = true
    schedule = "weekly"           # or "quarterly": which periods are released
    epsilon_per_release = 1.0     # each release is calibrated to this epsilon...
    delta = 1e-6                  # ...and delta, which is also the ledger's delta
    period_epsilon = 1.1          # composed limit for one period (one release, with margin)
    lifetime_epsilon = 10.0       # composed limit over every release ever made
    cell_cap = 3                  # per lab per period: items in one cell
    lab_cap = 12                  # per lab per period: items in all cells
    mechanism = "gaussian-analytic"   # or "discrete-gaussian"
    scope = "default"             # the ledger's name; changing it starts a new ledger

Rules:

* Values are checked when the authority starts, not when the job first runs: a
  release that could never pass the period limit (``epsilon_per_release`` above
  ``period_epsilon``) is a configuration error.
* The PRV accountant charges a single release up to 0.01 above its nominal epsilon
  (ADR 0005), so ``period_epsilon`` must leave that margin; 1.1 allows exactly one
  release of each period at epsilon 1 and refuses a second.
* ``scope`` is not derived from the authority id: renaming the authority must not reset
  its privacy ledger.
"""

from __future__ import annotations

from dataclasses import dataclass

from authority.config import AuthorityConfig
from authority.privacy.aggregates import ContributionBounds
from authority.privacy.ledger import KNOWN_MECHANISMS, PrivacyBudget, PrivacyLedger
from nearmiss.config import ConfigTable
from nearmiss.errors import ConfigError

SCHEDULES = ("weekly", "quarterly")
PRV_MARGIN = 0.01


@dataclass(frozen=True)
class PrivacyConfig:
    enabled: bool = True
    schedule: str = "weekly"
    epsilon_per_release: float = 1.0
    delta: float = 1e-6
    period_epsilon: float = 1.1
    lifetime_epsilon: float = 10.0
    cell_cap: int = 3
    lab_cap: int = 12
    mechanism: str = "gaussian-analytic"
    scope: str = "default"

    def __post_init__(self) -> None:
        if self.schedule not in SCHEDULES:
            raise ConfigError(
                f"must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}",
                key="privacy.schedule",
            )
        if self.mechanism not in KNOWN_MECHANISMS:
            raise ConfigError(
                f"must be one of {', '.join(sorted(KNOWN_MECHANISMS))}, got {self.mechanism!r}",
                key="privacy.mechanism",
            )
        if not self.epsilon_per_release > 0:
            raise ConfigError(
                f"must be positive, got {self.epsilon_per_release}",
                key="privacy.epsilon_per_release",
            )
        if self.epsilon_per_release + PRV_MARGIN > self.period_epsilon:
            raise ConfigError(
                f"a release at epsilon {self.epsilon_per_release} can never fit a period "
                f"limit of {self.period_epsilon} (the accountant may charge up to "
                f"{PRV_MARGIN} more): raise period_epsilon or lower epsilon_per_release",
                key="privacy.period_epsilon",
            )
        if not 1 <= len(self.scope) <= 63:
            raise ConfigError("must be 1-63 characters", key="privacy.scope")
        self.budget()
        self.bounds()

    def budget(self) -> PrivacyBudget:
        return PrivacyBudget(
            period_epsilon=self.period_epsilon,
            lifetime_epsilon=self.lifetime_epsilon,
            delta=self.delta,
        )

    def bounds(self) -> ContributionBounds:
        return ContributionBounds(cell_cap=self.cell_cap, lab_cap=self.lab_cap)

    def ledger(self) -> PrivacyLedger:
        return PrivacyLedger(budget=self.budget(), scope=self.scope)

    @classmethod
    def from_table(cls, table: ConfigTable | None) -> PrivacyConfig:
        if table is None:
            return cls()
        defaults = cls()
        try:
            return cls(
                enabled=table.boolean("enabled", defaults.enabled),
                schedule=table.string("schedule", defaults.schedule),
                epsilon_per_release=table.number(
                    "epsilon_per_release", defaults.epsilon_per_release
                ),
                delta=table.number("delta", defaults.delta),
                period_epsilon=table.number("period_epsilon", defaults.period_epsilon),
                lifetime_epsilon=table.number("lifetime_epsilon", defaults.lifetime_epsilon),
                cell_cap=table.integer("cell_cap", defaults.cell_cap, minimum=1),
                lab_cap=table.integer("lab_cap", defaults.lab_cap, minimum=1),
                mechanism=table.string("mechanism", defaults.mechanism),
                scope=table.string("scope", defaults.scope),
            )
        except ConfigError as error:
            if error.source is not None:
                raise
            key = error.key or "privacy"
            if key != "privacy" and not key.startswith("privacy."):
                key = f"privacy.{key}"
            raise ConfigError(error.reason, source=str(table.source), key=key) from None

    @classmethod
    def from_authority(cls, config: AuthorityConfig) -> PrivacyConfig:
        return cls.from_table(config.extra.get("privacy"))
