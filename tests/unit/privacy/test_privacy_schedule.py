"""Which period is due when, period labels, and the [privacy] table's checks."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from authority.privacy.aggregates import Period
from authority.privacy.config import PrivacyConfig
from authority.privacy.schedule import check_ended, due_period, parse_period
from nearmiss.config import ConfigTable
from nearmiss.errors import ConfigError, PreconditionError


@pytest.mark.parametrize(
    ("now", "schedule", "due"),
    [
        (datetime(2026, 11, 23, 0, 5, tzinfo=UTC), "weekly", "2026-W47"),  # Monday run
        (datetime(2026, 11, 22, 23, 59, tzinfo=UTC), "weekly", "2026-W46"),  # Sunday night
        (datetime(2027, 1, 4, 0, 5, tzinfo=UTC), "weekly", "2026-W53"),  # 2026 has 53 weeks
        (datetime(2027, 1, 1, 0, 5, tzinfo=UTC), "quarterly", "2026-Q4"),
        (datetime(2026, 12, 31, 23, 0, tzinfo=UTC), "quarterly", "2026-Q3"),
    ],
)
def test_the_due_period_is_the_last_one_that_ended(now: datetime, schedule: str, due: str) -> None:
    period = due_period(schedule, now)
    assert period.label == due and period.end <= now
    check_ended(period, now)


def test_period_labels_round_trip_and_bad_ones_are_refused() -> None:
    assert parse_period("2026-W47") == Period.iso_week(2026, 47)
    assert parse_period("2026-Q4") == Period.quarter(2026, 4)
    for bad in ("2026-W54", "2025-W53", "2026-W00", "2026-Q5", "W47", "2026-w47"):
        with pytest.raises(ConfigError):
            parse_period(bad)
    with pytest.raises(PreconditionError, match="only after it has ended"):
        check_ended(Period.iso_week(2026, 47), datetime(2026, 11, 22, 23, 59, tzinfo=UTC))


def table(values: dict[str, object]) -> ConfigTable:
    return ConfigTable(Path("authority.toml"), "privacy", dict(values))


def test_the_privacy_table_is_checked_at_start() -> None:
    assert PrivacyConfig.from_table(None) == PrivacyConfig()
    quarterly = PrivacyConfig.from_table(table({"schedule": "quarterly", "lifetime_epsilon": 4}))
    assert quarterly.schedule == "quarterly" and quarterly.budget().lifetime_epsilon == 4.0
    for values, key in [
        ({"schedule": "monthly"}, "privacy.schedule"),
        ({"mechanism": "laplace"}, "privacy.mechanism"),
        ({"epsilon_per_release": 0.0}, "privacy.epsilon_per_release"),
        ({"period_epsilon": 20.0, "lifetime_epsilon": 10.0}, "privacy.privacy_budget"),
        ({"delta": 0.0}, "privacy.delta"),
        ({"cell_cap": 5, "lab_cap": 4}, "privacy.contribution_bounds"),
        ({"cell_cap": "3"}, "privacy.cell_cap"),
    ]:
        with pytest.raises(ConfigError) as raised:
            PrivacyConfig.from_table(table(values))
        assert raised.value.key == key and raised.value.source is not None
