"""Once differentially private releases exist, the trend comes from them, with error bars."""

from __future__ import annotations

import functools
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session

from authority.privacy import CountableReport, Period, PrivacyBudget, PrivacyLedger, release_period
from nearmiss.model import HarmDomain, ReportKind
from nearmiss.signing import SigningContext
from tests.unit.disclosure.support import local_authority


def test_trend_uses_dp_releases_with_error_bars(tmp_path: Path) -> None:
    authority = local_authority(tmp_path / "net")
    client = authority.dashboard()
    assert client.get("/api/summary").json()["trend"]["source"] == "disclosed"
    key = authority.app.signing_key
    ledger = PrivacyLedger(budget=PrivacyBudget(period_epsilon=2.0, lifetime_epsilon=10.0))
    start = datetime(2026, 11, 2, tzinfo=UTC)
    for week in range(2):
        period = Period.week_containing(start + timedelta(weeks=week))
        reports = [
            CountableReport(
                report_id=f"r{week}-{n}",
                lab_id=f"lab-{n % 3}",
                received_at=period.start + timedelta(hours=n),
                kind=ReportKind.INCIDENT,
                severity=3,
                harm_domains=(HarmDomain.CYBER,),
            )
            for n in range(9)
        ]
        with Session(authority.app.engine) as session:
            release_period(
                session,
                ledger=ledger,
                period=period,
                reports=reports,
                epsilon=1.0,
                delta=1e-6,
                origin_authority=authority.app.config.authority_id,
                sign=functools.partial(key.sign, SigningContext.FEDERATED_ITEM),
                signing_key_id=key.key_id,
                rng=random.Random(week),
            )
    trend = client.get("/api/summary").json()["trend"]
    assert trend["source"] == "dp"
    assert [p["label"] for p in trend["points"]] == ["2026-W45", "2026-W46"]
    assert all(p["error"] > 0 for p in trend["points"])
    page = client.get("/").text
    assert page.count('class="errorbar"') == 2 and "differentially private" in page
    cyber = client.get("/api/summary", params={"harm_domain": "CYBER"}).json()["trend"]
    other = client.get("/api/summary", params={"harm_domain": "OTHER"}).json()["trend"]
    assert cyber["points"][0]["error"] < trend["points"][0]["error"]
    assert other["points"][0]["value"] <= trend["points"][0]["value"]
