"""The dashboard's privacy page and JSON: ledger spend and releases with sigma and error bars."""

from __future__ import annotations

import base64
from pathlib import Path

from fastapi.testclient import TestClient
from privacy_authority import file_last_week, privacy_authority
from sqlmodel import Session

from authority.dashboard.web import context_for, create_dashboard
from authority.disclosure.cases import ReportCases
from authority.privacy.config import PrivacyConfig
from authority.privacy.job import RELEASED, install_privacy
from nearmiss.signing import SigningContext
from tests.unit.disclosure.support import LocalAuthority


def dashboard(authority: LocalAuthority) -> TestClient:
    app = authority.app
    return TestClient(
        create_dashboard(
            context_for(
                engine=app.engine,
                log=app.log,
                authority_id=app.config.authority_id,
                verifying_key=app.signing_key.verifying_key,
                grpc_address=lambda: app.config.listen,
                cases=ReportCases(),
                privacy=PrivacyConfig.from_authority(app.config),
            )
        )
    )


def test_privacy_page_and_api_show_the_ledger_and_releases(tmp_path: Path) -> None:
    authority = privacy_authority(tmp_path / "net", 'lifetime_epsilon = 5.0\nscope = "eu"\n')
    client = dashboard(authority)
    empty = client.get("/api/ledger").json()
    assert empty["scope"] == "eu" and empty["periods"] == []
    assert empty["lifetime"] == {
        "period": None, "spent_epsilon": 0.0, "limit_epsilon": 5.0,
        "remaining_epsilon": 5.0, "releases": 0,
    }  # fmt: skip
    assert "No release yet" in client.get("/privacy").text

    file_last_week(authority)
    component = install_privacy(authority.app)
    assert component is not None
    outcome = component.job.run_due()
    assert outcome.status == RELEASED and outcome.release is not None
    signed = outcome.release

    ledger = client.get("/api/ledger").json()
    with Session(authority.app.engine) as session:
        recomputed = component.job.config.ledger().spent(session)
    assert ledger["lifetime"]["spent_epsilon"] == round(recomputed.epsilon, 6)
    assert ledger["lifetime"]["releases"] == 1
    (period,) = ledger["periods"]
    assert period["period"] == signed.release.period.label and period["limit_epsilon"] == 1.1
    assert 0 < period["remaining_epsilon"] < 0.1

    listing = client.get("/api/releases").json()
    assert listing["count"] == 1 and listing["scope"] == "eu"
    (item,) = listing["releases"]
    sigma = signed.release.noise_sigma
    assert item["release_id"] == signed.release.release_id and item["noise_sigma"] == sigma
    assert item["error_bar_95_per_cell"] == round(1.959964 * sigma, 4)
    assert "cells" not in item

    detail = client.get(f"/api/releases/{item['release_id']}").json()
    assert len(detail["cells"]) == 240 and detail["period"] == signed.release.period.label
    # What the API serves is what was signed: anyone can verify it with the public key.
    authority.app.signing_key.verifying_key.verify(
        SigningContext.FEDERATED_ITEM,
        base64.b64decode(detail["payload"]),
        base64.b64decode(detail["signature"]),
    )
    assert client.get("/api/releases/not-a-release").status_code == 404

    page = client.get("/privacy").text
    assert signed.release.period.label in page and f"{sigma:.2f}" in page
    assert f"± {1.959964 * sigma:.1f}" in page
    assert 'href="/privacy" aria-current="page"' in page
    assert 'href="/privacy"' in client.get("/").text  # linked from the nav everywhere
