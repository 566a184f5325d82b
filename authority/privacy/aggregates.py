"""What is counted for a release, with every lab's contribution bounded.

Rules this module enforces:

* The unit of privacy is one lab in one period: neighbouring datasets differ by adding or
  removing *all* of one lab's reports received in that period. (Across periods the
  ledger's lifetime budget composes the releases, so a lab's whole history is covered.)
* A report belongs to the period that contains its ``received_at`` (when the authority got
  it, which a lab cannot back-date, and which does not move an already released period).
* Cells are harm domain x severity (1-5) x kind x measure ("reports" or "cases"), 12 x 5 x
  2 x 2 = 240 of them, and *every* cell is released, zero or not: which cells are
  non-empty is itself information.
* A report with several harm domains counts once in each of its domains' cells, so the
  sum over domains exceeds the number of reports; that is documented on the dashboard.
* Contribution bounding: each report yields, per harm domain, one "reports" item and,
  when linked to a case, one "cases" item (a lab's repeated reports of one case in one
  cell give one item). A lab's items are taken in the order the authority received the
  reports (a function of that lab's data only); an item is dropped once its cell already
  holds ``cell_cap`` of the lab's items or the lab already has ``lab_cap`` items in the
  period. A lab filing 1,000 reports of one thing therefore adds at most ``cell_cap`` to
  that cell.
* Sensitivity: "reports" cells sum the kept items; "cases" cells count distinct cases
  among all labs' kept items, and removing one lab lowers a distinct count by at most
  that lab's items in the cell. So a lab moves the 240-vector by a vector x with
  0 <= x_i <= cell_cap and sum x_i <= lab_cap, whose L2 norm is at most
  sqrt(floor(T/k) k^2 + (T mod k)^2) for k = cell_cap, T = lab_cap (k = T gives exactly
  k). :func:`l2_sensitivity` computes it and the mechanism is calibrated to it.
* Post-processing (free under DP): released cells are the noisy values themselves,
  unclamped — unbiased, and possibly negative. Totals are never noised separately: any
  total is the sum of released cells, so totals are consistent with cells by
  construction and stay unbiased (clamping each of 240 cells at 0 before summing would
  add about +0.4 sigma per empty cell: +1,200 at the default sigma). Non-negativity is
  applied where a figure is shown (``shown``: max(0, value) after summing), and the
  public sigma describes the noise of every released value.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from nearmiss.errors import ConfigError
from nearmiss.model import HarmDomain, ReportKind

MEASURES: tuple[str, ...] = ("reports", "cases")
SEVERITIES: tuple[int, ...] = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class CountableReport:
    """The fields of a stored report that aggregates may count: no text, no report content."""

    report_id: str
    lab_id: str
    received_at: datetime
    kind: ReportKind
    severity: int
    harm_domains: tuple[HarmDomain, ...]
    case_id: str | None = None
    occurred_at: datetime | None = None


@dataclass(frozen=True)
class Period:
    """A half-open interval [start, end) of receipt times, with a stable label."""

    label: str
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ConfigError(f"period {self.label} needs timezone-aware bounds", key="period")
        if self.end <= self.start:
            raise ConfigError(f"period {self.label} ends before it starts", key="period")

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    @classmethod
    def iso_week(cls, year: int, week: int) -> Period:
        start = datetime.combine(date.fromisocalendar(year, week, 1), datetime.min.time(), UTC)
        return cls(f"{year}-W{week:02d}", start, start + timedelta(days=7))

    @classmethod
    def quarter(cls, year: int, quarter: int) -> Period:
        if quarter not in (1, 2, 3, 4):
            raise ConfigError(f"quarter must be 1-4, got {quarter}", key="quarter")
        start = datetime(year, 3 * quarter - 2, 1, tzinfo=UTC)
        end = datetime(year + quarter // 4, (3 * quarter) % 12 + 1, 1, tzinfo=UTC)
        return cls(f"{year}-Q{quarter}", start, end)

    @classmethod
    def week_containing(cls, moment: datetime) -> Period:
        year, week, _ = moment.astimezone(UTC).isocalendar()
        return cls.iso_week(year, week)


@dataclass(frozen=True, order=True)
class CellKey:
    harm_domain: HarmDomain
    severity: int
    kind: ReportKind
    measure: str


@dataclass(frozen=True)
class ContributionBounds:
    """Per lab per period: at most ``cell_cap`` items in one cell, ``lab_cap`` in all."""

    cell_cap: int = 3
    lab_cap: int = 12

    def __post_init__(self) -> None:
        if self.cell_cap < 1 or self.lab_cap < self.cell_cap:
            raise ConfigError(
                f"need 1 <= cell_cap <= lab_cap, got cell_cap={self.cell_cap}, "
                f"lab_cap={self.lab_cap}",
                key="contribution_bounds",
            )


def all_cells() -> tuple[CellKey, ...]:
    """The fixed grid, in a fixed order (the order of release and of canonical bytes)."""
    return tuple(
        CellKey(domain, severity, kind, measure)
        for domain in HarmDomain
        for severity in SEVERITIES
        for kind in ReportKind
        for measure in MEASURES
    )


def l2_sensitivity(bounds: ContributionBounds) -> float:
    """Largest L2 norm of one lab's bounded contribution vector (see module docstring)."""
    full, rest = divmod(bounds.lab_cap, bounds.cell_cap)
    return math.sqrt(full * bounds.cell_cap**2 + rest**2)


@dataclass(frozen=True)
class BoundedCounts:
    """True (un-noised) counts after bounding, and what the bounding dropped."""

    counts: dict[CellKey, int]
    labs: int
    reports_in_period: int
    items_kept: int
    items_dropped: int


def _items(report: CountableReport) -> Iterable[tuple[CellKey, str | None]]:
    if not 1 <= report.severity <= 5:
        raise ConfigError(
            f"report {report.report_id} has severity {report.severity}", key="severity"
        )
    for domain in dict.fromkeys(report.harm_domains):
        yield CellKey(domain, report.severity, report.kind, "reports"), None
        if report.case_id is not None:
            yield CellKey(domain, report.severity, report.kind, "cases"), report.case_id


def bounded_counts(
    reports: Sequence[CountableReport], period: Period, bounds: ContributionBounds
) -> BoundedCounts:
    """Count the period's reports per cell, keeping each lab within ``bounds``."""
    in_period = [report for report in reports if period.contains(report.received_at)]
    by_lab: dict[str, list[CountableReport]] = defaultdict(list)
    for report in in_period:
        by_lab[report.lab_id].append(report)
    report_counts: dict[CellKey, int] = defaultdict(int)
    case_sets: dict[CellKey, set[str]] = defaultdict(set)
    kept = dropped = 0
    for lab_reports in by_lab.values():
        lab_reports.sort(key=lambda report: (report.received_at, report.report_id))
        per_cell: dict[CellKey, int] = defaultdict(int)
        lab_cases: set[tuple[CellKey, str]] = set()
        total = 0
        for report in lab_reports:
            for cell, case_id in _items(report):
                if case_id is not None and (cell, case_id) in lab_cases:
                    continue
                if per_cell[cell] >= bounds.cell_cap or total >= bounds.lab_cap:
                    dropped += 1
                    continue
                per_cell[cell] += 1
                total += 1
                kept += 1
                if case_id is None:
                    report_counts[cell] += 1
                else:
                    lab_cases.add((cell, case_id))
                    case_sets[cell].add(case_id)
    counts = {
        cell: report_counts.get(cell, 0) if cell.measure == "reports" else len(case_sets[cell])
        for cell in all_cells()
    }
    return BoundedCounts(counts, len(by_lab), len(in_period), kept, dropped)


def post_process(noisy: dict[CellKey, float]) -> dict[CellKey, float]:
    """The values to release: the noisy cells unclamped, so that sums stay unbiased
    (see the module docstring); ``shown`` applies non-negativity for display."""
    return dict(noisy)


def shown(value: float) -> float:
    """A released figure (a cell or a sum of cells) as displayed: never below zero."""
    return max(0.0, value)


def total(
    values: dict[CellKey, float],
    *,
    measure: str,
    harm_domain: HarmDomain | None = None,
    severity: int | None = None,
    kind: ReportKind | None = None,
) -> tuple[float, int]:
    """Sum of released cells matching the filter, and how many cells were summed.

    Before clamping the sum's noise has standard deviation sigma * sqrt(cells); the
    dashboard quotes that as the total's error bar.
    """
    selected = [
        value
        for cell, value in values.items()
        if cell.measure == measure
        and (harm_domain is None or cell.harm_domain == harm_domain)
        and (severity is None or cell.severity == severity)
        and (kind is None or cell.kind == kind)
    ]
    return sum(selected), len(selected)
