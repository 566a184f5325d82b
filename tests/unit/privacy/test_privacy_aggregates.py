"""Contribution bounding, the sensitivity it buys, and post-processing invariants."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime, timedelta

import pytest
from privacy_helpers import WEEK_START, report

from authority.privacy.aggregates import (
    CellKey,
    ContributionBounds,
    Period,
    all_cells,
    bounded_counts,
    l2_sensitivity,
    post_process,
    shown,
    total,
)
from nearmiss.errors import ConfigError
from nearmiss.model import HarmDomain, ReportKind

WEEK = Period.iso_week(2026, 47)
CYBER_3 = CellKey(HarmDomain.CYBER, 3, ReportKind.NEAR_MISS, "reports")
CYBER_3_CASES = CellKey(HarmDomain.CYBER, 3, ReportKind.NEAR_MISS, "cases")


def test_a_lab_filing_a_thousand_reports_counts_at_most_the_cell_cap() -> None:
    bounds = ContributionBounds(cell_cap=3, lab_cap=12)
    flood = [report(n, lab="lab-flood") for n in range(1000)]
    other = [report(n, lab="lab-b") for n in range(2)]
    counts = bounded_counts(flood + other, WEEK, bounds)
    assert counts.counts[CYBER_3] == 3 + 2
    assert counts.items_dropped == 997
    assert counts.labs == 2


def test_a_lab_spreading_over_many_cells_is_held_to_the_lab_cap() -> None:
    bounds = ContributionBounds(cell_cap=2, lab_cap=5)
    spread = [
        report(n, domains=(domain,), severity=severity)
        for n, (domain, severity) in enumerate(itertools.product(HarmDomain, (1, 2, 3, 4, 5)))
    ]
    counts = bounded_counts(spread, WEEK, bounds)
    assert sum(counts.counts.values()) == 5
    assert counts.items_kept == 5


def test_every_cell_is_released_even_when_empty() -> None:
    counts = bounded_counts([], WEEK, ContributionBounds())
    assert set(counts.counts) == set(all_cells())
    assert len(all_cells()) == len(HarmDomain) * 5 * 2 * 2
    assert all(value == 0 for value in counts.counts.values())


def test_only_reports_received_in_the_period_count() -> None:
    inside = report(1)
    before = report(2, received_at=WEEK.start - timedelta(seconds=1))
    at_end = report(3, received_at=WEEK.end)
    counts = bounded_counts([inside, before, at_end], WEEK, ContributionBounds())
    assert counts.counts[CYBER_3] == 1
    assert counts.reports_in_period == 1


def test_cases_are_counted_once_across_labs_and_reports() -> None:
    reports = [
        report(1, lab="lab-a", case_id="case-1"),
        report(2, lab="lab-a", case_id="case-1"),
        report(3, lab="lab-b", case_id="case-1"),
        report(4, lab="lab-b", case_id="case-2"),
        report(5, lab="lab-b"),
    ]
    counts = bounded_counts(reports, WEEK, ContributionBounds(cell_cap=5, lab_cap=20))
    assert counts.counts[CYBER_3] == 5
    assert counts.counts[CYBER_3_CASES] == 2


def test_a_report_counts_in_each_of_its_domains() -> None:
    both = report(1, domains=(HarmDomain.CYBER, HarmDomain.BIO_CHEM, HarmDomain.CYBER))
    counts = bounded_counts([both], WEEK, ContributionBounds())
    bio = CellKey(HarmDomain.BIO_CHEM, 3, ReportKind.NEAR_MISS, "reports")
    assert counts.counts[CYBER_3] == 1
    assert counts.counts[bio] == 1
    assert sum(counts.counts.values()) == 2


@pytest.mark.parametrize(("cell_cap", "lab_cap"), [(1, 1), (3, 3), (2, 5), (3, 12), (4, 10)])
def test_sensitivity_is_the_largest_l2_norm_a_lab_can_reach(cell_cap: int, lab_cap: int) -> None:
    # Brute force over how a lab can spread lab_cap items with at most cell_cap per cell;
    # spreading wider than 6 cells only lowers the norm for these caps.
    best = 0.0
    for split in itertools.product(range(cell_cap + 1), repeat=6):
        if sum(split) <= lab_cap:
            best = max(best, math.sqrt(sum(x * x for x in split)))
    assert l2_sensitivity(ContributionBounds(cell_cap=cell_cap, lab_cap=lab_cap)) == pytest.approx(
        best
    )


def test_removing_a_lab_moves_the_counts_by_at_most_the_sensitivity() -> None:
    bounds = ContributionBounds(cell_cap=3, lab_cap=12)
    lab_x = [
        report(n, lab="lab-x", domains=(domain,), case_id=f"case-{n % 4}")
        for n, domain in enumerate([HarmDomain.CYBER] * 40 + [HarmDomain.PRIVACY] * 40)
    ]
    others = [report(n, lab=f"lab-{n % 3}", case_id=f"case-{n % 5}") for n in range(30)]
    with_x = bounded_counts(others + lab_x, WEEK, bounds).counts
    without_x = bounded_counts(others, WEEK, bounds).counts
    distance = math.sqrt(sum((with_x[cell] - without_x[cell]) ** 2 for cell in all_cells()))
    assert 0 < distance <= l2_sensitivity(bounds)


def test_post_processing_keeps_totals_unbiased_and_shows_no_negative_figure() -> None:
    noisy = {
        cell: (-1.5 if index % 3 == 0 else float(index)) for index, cell in enumerate(all_cells())
    }
    released = post_process(noisy)
    # Released unclamped: a sum over cells is the sum of the noisy values (unbiased).
    assert released == noisy
    assert shown(-1.5) == 0.0 and shown(2.5) == 2.5
    grand, cells = total(released, measure="reports")
    by_domain = [total(released, measure="reports", harm_domain=d)[0] for d in HarmDomain]
    assert cells == len(all_cells()) // 2
    assert grand == pytest.approx(sum(by_domain))


def test_bounds_and_periods_are_validated() -> None:
    with pytest.raises(ConfigError):
        ContributionBounds(cell_cap=5, lab_cap=2)
    with pytest.raises(ConfigError):
        Period("naive", datetime(2026, 1, 1), datetime(2026, 2, 1))
    quarter = Period.quarter(2026, 4)
    assert (quarter.start, quarter.end) == (
        datetime(2026, 10, 1, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
    )
    assert Period.week_containing(WEEK_START + timedelta(days=3)) == WEEK
