"""Builders shared by the privacy tests (imported by name: tests have no packages)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import SQLModel, create_engine

import authority.privacy.tables  # noqa: F401  (registers the nm_privacy_* tables)
from authority.privacy.aggregates import CountableReport
from nearmiss.model import HarmDomain, ReportKind

WEEK_START = datetime(2026, 11, 16, tzinfo=UTC)  # Monday of ISO week 2026-W47


def sqlite_engine(path: Path) -> Engine:
    engine = create_engine(f"sqlite:///{path}")
    SQLModel.metadata.create_all(engine)
    return engine


def report(
    number: int,
    *,
    lab: str = "lab-a",
    domains: tuple[HarmDomain, ...] = (HarmDomain.CYBER,),
    severity: int = 3,
    kind: ReportKind = ReportKind.NEAR_MISS,
    case_id: str | None = None,
    received_at: datetime | None = None,
) -> CountableReport:
    return CountableReport(
        report_id=f"{lab}-{number:05d}",
        lab_id=lab,
        received_at=received_at or WEEK_START + timedelta(minutes=number),
        kind=kind,
        severity=severity,
        harm_domains=domains,
        case_id=case_id,
    )
