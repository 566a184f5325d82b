"""``nearmiss authority disclosures`` and ``nearmiss authority approve`` on a real database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlmodel import Session
from typer.testing import CliRunner

from authority.disclosure import case_versions, pending_approvals
from nearmiss.cli import app
from tests.unit.disclosure.support import local_authority, report, write_pack


def test_a_person_approves_and_the_case_is_published(tmp_path: Path) -> None:
    authority = local_authority(tmp_path / "net")
    authority.file(report("lab-aurora", domains=("PRIVACY",)))

    def no_embargo(document: dict[str, Any]) -> None:
        for rule in document["rules"]:
            if "embargo_days" in rule:
                rule["embargo_days"] = 0

    pack = write_pack(tmp_path, "disclosure", no_embargo)
    config = authority.network.authority_config_path()
    # No linking worker runs here, so each report is its own case (``ReportCases``).
    config.write_text(
        config.read_text() + f'\n[policies]\ndisclosure = "{pack}"\n\n[dedup]\nenabled = false\n'
    )
    runner = CliRunner(env={"COLUMNS": "200"})

    listed = runner.invoke(app, ["authority", "disclosures", "--config", str(config), "--run"])
    assert listed.exit_code == 0, listed.output
    assert "1 waiting for approval" in listed.output and "minimum-distinct-labs" in listed.output
    with Session(authority.app.engine) as session:
        (request,) = pending_approvals(session)

    missing_name = runner.invoke(app, ["authority", "approve", request.case_id, "-c", str(config)])
    assert missing_name.exit_code != 0
    approved = runner.invoke(
        app, ["authority", "approve", request.case_id, "-c", str(config), "--by", "ana"]
    )
    assert approved.exit_code == 0, approved.output
    assert f"case {request.case_id}: published as version 1" in approved.output
    with Session(authority.app.engine) as session:
        assert [v.version for v in case_versions(session, request.case_id)] == [1]
        assert pending_approvals(session) == []
    again = runner.invoke(
        app, ["authority", "approve", request.case_id, "-c", str(config), "--by", "ana"]
    )
    assert again.exit_code != 0
