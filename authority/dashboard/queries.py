"""What the dashboard reads: public figures only, from the authority's database.

Rules: everything here is either a signed disclosure (served as stored), a count that
the transparency log already makes public (reports = log size), the number of cases,
a differentially private release, or a count of disclosures. Nothing reads a report's
content. Trends come from DP aggregate releases when any exist (with their error bars,
from the released noise scale); until then from disclosed cases per week of occurrence
(exact, and labelled as such).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, select

from authority.disclosure.cases import CaseSource
from authority.disclosure.store import DisclosureFilters, count_disclosed, latest_disclosures
from authority.log import TransparencyLog
from authority.privacy.tables import AggregateReleaseRow
from nearmiss.model import HarmDomain, ReportKind
from policies.transforms import BAND_ORDER, iso_week

TREND_PERIODS = 12


@dataclass(frozen=True)
class Summary:
    reports: int
    cases: int
    disclosures: int
    tree_size: int


@dataclass(frozen=True)
class TrendPoint:
    label: str
    value: float
    error: float = 0.0


@dataclass(frozen=True)
class Trend:
    points: tuple[TrendPoint, ...]
    source: str  # "dp" or "disclosed"
    caption: str


def summary(session: Session, log: TransparencyLog, cases: CaseSource) -> Summary:
    size = log.size(session)
    return Summary(
        reports=size,
        cases=cases.count(session),
        disclosures=count_disclosed(session),
        tree_size=size,
    )


def dp_trend(session: Session, *, harm_domain: str = "", kind: str = "") -> Trend | None:
    """Reports per released period, summed over the matching cells, with 95% error bars."""
    if not session.exec(select(func.count()).select_from(AggregateReleaseRow)).one():
        return None
    # Imported only when releases exist: the privacy package pulls in opacus and torch.
    from authority.privacy import error_bar, list_releases
    from authority.privacy.aggregates import shown

    releases = list_releases(session)
    by_period: dict[str, tuple[datetime, TrendPoint]] = {}
    for signed in releases:  # newest first: keep the newest release of each period
        release = signed.release
        if release.period.label in by_period:
            continue
        cells = [
            value
            for key, value in release.cells
            if key.measure == "reports"
            and (not harm_domain or key.harm_domain.value == harm_domain)
            and (not kind or key.kind.value == kind)
        ]
        point = TrendPoint(
            release.period.label,
            shown(sum(cells)),
            error_bar(release.noise_sigma, cells=max(len(cells), 1)),
        )
        by_period[release.period.label] = (release.period.start, point)
    ordered = sorted(by_period.values(), key=lambda item: item[0])[-TREND_PERIODS:]
    return Trend(
        tuple(point for _, point in ordered),
        "dp",
        "Reports received per period, from differentially private releases "
        "(bars: 95% interval of the added noise).",
    )


def disclosed_trend(
    session: Session, filters: DisclosureFilters, *, now: datetime | None = None
) -> Trend:
    """Disclosed cases per ISO week of occurrence, the last ``TREND_PERIODS`` weeks."""
    now = now or datetime.now(UTC)
    weeks = [iso_week(now - timedelta(weeks=n)) for n in range(TREND_PERIODS - 1, -1, -1)]
    counts = dict.fromkeys(weeks, 0)
    rows = latest_disclosures(
        session,
        DisclosureFilters(filters.harm_domain, filters.severity, filters.kind, "", 1000),
        now=now,
    )
    for row in rows:
        if row.occurred_week in counts:
            counts[row.occurred_week] += 1
    return Trend(
        tuple(TrendPoint(week, float(count)) for week, count in counts.items()),
        "disclosed",
        "Disclosed cases per week of occurrence (exact counts of public disclosures; "
        "aggregates will replace this once differentially private releases exist).",
    )


def trend(session: Session, filters: DisclosureFilters, *, now: datetime | None = None) -> Trend:
    return dp_trend(session, harm_domain=filters.harm_domain, kind=filters.kind) or (
        disclosed_trend(session, filters, now=now)
    )


def label(name: str) -> str:
    """``MISALIGNMENT_LOSS_OF_CONTROL`` -> ``Misalignment / loss of control``."""
    special = {
        "MISALIGNMENT_LOSS_OF_CONTROL": "Misalignment / loss of control",
        "BIO_CHEM": "Biological / chemical",
        "RADIO_NUCLEAR": "Radiological / nuclear",
        "MANIPULATION_FRAUD": "Manipulation / fraud",
        "NEAR_MISS": "Near-miss",
    }
    return special.get(name, name.replace("_", " ").capitalize())


FILTER_CHOICES = {
    "harm_domain": [(d.value, label(d.value)) for d in HarmDomain],
    "severity": [(band, band.capitalize()) for band in BAND_ORDER],
    "kind": [(k.value, label(k.value)) for k in ReportKind],
    "period": [("4w", "Last 4 weeks"), ("13w", "Last 13 weeks"), ("52w", "Last 52 weeks")],
}
