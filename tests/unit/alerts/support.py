"""A real authority app (no gRPC server) on a fresh dev network, and reports filed
through its real ingest path, for alert and federation unit tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session, select

from authority.alerts import AlertService, CaseSnapshot, install_alerts
from authority.app import AuthorityApp
from authority.config import AuthorityConfig
from authority.records import ReportRecord
from nearmiss.devnet import DevNetwork, init_network
from nearmiss.identity import Party, Role
from nearmiss.model import IncidentReport, ReportSection, SensitivityScope
from nearmiss.signed_report import sign_report
from nearmiss.signing import SigningKey

LABS = ("lab-aurora", "lab-borealis", "lab-cygnus")


def make_network(
    directory: Path,
    authority_id: str = "eu-ai-office",
    *,
    institutes: tuple[str, ...] = ("inst-duty",),
    extra_toml: str = "",
    database_url: str = "sqlite:///authority.db",
) -> DevNetwork:
    network = DevNetwork(
        directory=directory,
        authority_id=authority_id,
        labs=list(LABS),
        institutes=list(institutes),
        analysts=["analyst"],
        auditors=["auditor"],
        authority_port=0,
        database_url=database_url,
    )
    init_network(network)
    if extra_toml:
        path = network.authority_config_path()
        path.write_text(path.read_text() + "\n" + extra_toml)
    return network


def build_app(network: DevNetwork) -> tuple[AuthorityApp, AlertService]:
    app = AuthorityApp.from_config(AuthorityConfig.load(network.authority_config_path()))
    return app, install_alerts(app)


def make_report(
    lab_id: str,
    *,
    domains: tuple[str, ...] = ("MANIPULATION_FRAUD",),
    severity: int = 3,
    title: str = "Voice-clone fraud calls generated with our speech model",
    summary: str = "Cloned voices of relatives were used in scripted emergency-money calls.",
    sections: tuple[ReportSection, ...] = (),
) -> IncidentReport:
    now = datetime.now(UTC)
    return IncidentReport.model_validate(
        {
            "report_id": str(uuid.uuid4()),
            "lab_id": lab_id,
            "kind": "INCIDENT",
            "title": title,
            "summary": summary,
            "detection": "MONITORING",
            "harm_domains": list(domains),
            "severity": severity,
            "detected_at": now - timedelta(hours=2),
            "reported_at": now,
            "indicators": [{"type": "DOMAIN", "value": "urgent-family-help.example"}],
            "sections": [s.model_dump() for s in sections],
        }
    )


def section(scope: SensitivityScope, text: str) -> ReportSection:
    return ReportSection(scope=scope, heading="Detail", text=text)


@dataclass
class Filed:
    report: IncidentReport
    log_index: int


def file_report(app: AuthorityApp, network: DevNetwork, report: IncidentReport) -> Filed:
    """Submit through the authority's real ingest (signature, schema, log append)."""
    key = SigningKey.from_file(network.directory / report.lab_id / "signing.key")
    receipt = app.ingest.submit(Party(report.lab_id, Role.LAB), sign_report(report, key))
    return Filed(report, receipt.statement.log_index)


def snapshot(app: AuthorityApp, case_id: str, reports: list[IncidentReport]) -> CaseSnapshot:
    """The case of these reports, triggered by the last one."""
    ids = [r.report_id for r in reports]
    with Session(app.engine) as session:
        records = list(session.exec(select(ReportRecord).where(ReportRecord.report_id.in_(ids))))
    return CaseSnapshot.from_records(case_id, records, reports[-1].report_id)
