"""``[alerts]`` in authority.toml: escalation tiers and timings of the alert service.

Example::

    [alerts]
    escalate_min_severity = 4       # alerts at or above this severity escalate
    escalate_after_seconds = 900    # unacknowledged this long: next tier
    escalation_check_seconds = 30   # how often the scheduler looks
    poll_seconds = 1.0              # subscribers re-read at least this often (fallback)

    [alerts.tiers.default]          # contacts for any first-tier recipient...
    tier_1 = ["analyst"]
    [alerts.tiers.lab-aurora]       # ...unless the recipient has its own chain
    tier_1 = ["lab-aurora-oncall"]
    tier_2 = ["analyst"]

Rules: tiers are numbered from 1 without gaps (tier 0 is the alert's own recipients);
a contact must be a party this authority knows (checked when the service is built).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nearmiss.config import ConfigTable
from nearmiss.errors import ConfigError

DEFAULT_CHAIN = "default"


@dataclass(frozen=True)
class AlertsConfig:
    escalate_min_severity: int = 4
    escalate_after_seconds: float = 900.0
    escalation_check_seconds: float = 30.0
    poll_seconds: float = 1.0
    # Recipient id (or "default") -> contacts for tier 1, 2, ...
    tiers: dict[str, tuple[tuple[str, ...], ...]] = field(default_factory=dict)

    def chain_for(self, recipient: str) -> tuple[tuple[str, ...], ...]:
        return self.tiers.get(recipient, self.tiers.get(DEFAULT_CHAIN, ()))

    @classmethod
    def from_table(cls, table: ConfigTable | None) -> AlertsConfig:
        if table is None:
            return cls()
        defaults = cls()
        tiers: dict[str, tuple[tuple[str, ...], ...]] = {}
        for owner, chain in table.table("tiers", required=False).tables().items():
            numbers = sorted(_tier_number(chain, name) for name in chain.values)
            if numbers != list(range(1, len(numbers) + 1)):
                raise ConfigError(
                    f"tiers must be tier_1, tier_2, ... without gaps, got {numbers}",
                    source=str(chain.source),
                    key=chain.prefix,
                )
            tiers[owner] = tuple(tuple(chain.strings(f"tier_{n}")) for n in numbers)
        return cls(
            escalate_min_severity=table.integer(
                "escalate_min_severity", defaults.escalate_min_severity, minimum=1
            ),
            escalate_after_seconds=table.number(
                "escalate_after_seconds", defaults.escalate_after_seconds, minimum=0.001
            ),
            escalation_check_seconds=table.number(
                "escalation_check_seconds", defaults.escalation_check_seconds, minimum=0.01
            ),
            poll_seconds=table.number("poll_seconds", defaults.poll_seconds, minimum=0.01),
            tiers=tiers,
        )


def _tier_number(chain: ConfigTable, name: str) -> int:
    prefix, _, number = name.partition("_")
    if prefix != "tier" or not number.isdigit():
        raise ConfigError(
            "must be named tier_1, tier_2, ...",
            source=str(chain.source),
            key=f"{chain.prefix}.{name}",
        )
    return int(number)
