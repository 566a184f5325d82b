"""Which period a release covers, and when the scheduler looks for one.

Rules this module enforces:

* Only a period that has ended may be released: a release is immutable and charged,
  so releasing a week that is still receiving reports would either miss reports or
  spend budget twice on the same week.
* The due period at a moment is the last one that ended before it: with the weekly
  schedule, the previous ISO week (Monday to Monday, UTC); with the quarterly one, the
  previous calendar quarter.
* The scheduler fires every day at 00:05 UTC and releases the due period only if this
  ledger has no release of it yet. On the first day of a period (Monday for weeks) that
  is the release; on the other days it is a cheap check that catches a release missed
  while the authority was down. Whether a period is released never depends on its data
  (an empty week is released like any other): the decision itself would leak.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from authority.privacy.aggregates import Period
from nearmiss.errors import ConfigError, PreconditionError

RUN_HOUR = 0
RUN_MINUTE = 5
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")


def parse_period(label: str) -> Period:
    """``2026-W46`` (ISO week) or ``2026-Q4`` (calendar quarter), in UTC."""
    week = _WEEK.match(label)
    if week is not None:
        year, number = int(week[1]), int(week[2])
        try:
            return Period.iso_week(year, number)
        except ValueError:
            raise ConfigError(f"{year} has no ISO week {number}", key="period") from None
    quarter = _QUARTER.match(label)
    if quarter is not None:
        return Period.quarter(int(quarter[1]), int(quarter[2]))
    raise ConfigError(
        f"period must look like 2026-W46 or 2026-Q4, got {label[:20]!r}", key="period"
    )


def _quarter_containing(moment: datetime) -> Period:
    moment = moment.astimezone(UTC)
    return Period.quarter(moment.year, (moment.month - 1) // 3 + 1)


def due_period(schedule: str, now: datetime) -> Period:
    """The last period of ``schedule`` that ended at or before ``now``."""
    if schedule == "weekly":
        current = Period.week_containing(now)
        return Period.week_containing(current.start - timedelta(days=1))
    if schedule == "quarterly":
        current = _quarter_containing(now)
        return _quarter_containing(current.start - timedelta(days=1))
    raise ConfigError(f"unknown schedule {schedule!r}", key="privacy.schedule")


def check_ended(period: Period, now: datetime) -> None:
    """Refuse a period that is still open (see the module rules)."""
    if period.end > now:
        raise PreconditionError(
            f"period {period.label} ends at {period.end.isoformat()}; it can be released "
            "only after it has ended"
        )
