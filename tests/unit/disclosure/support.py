"""Test support: an in-process authority on SQLite with a real dev PKI, report factories,
and policy packs derived from the shipped defaults."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from fastapi.testclient import TestClient

from authority.app import AuthorityApp
from authority.config import AuthorityConfig
from authority.dashboard.web import context_for, create_dashboard
from authority.disclosure.cases import CaseSource, ReportCases
from authority.disclosure.job import DisclosureJob
from nearmiss.devnet import DevNetwork
from nearmiss.identity import Party, Role
from nearmiss.model import IncidentReport
from nearmiss.signed_report import sign_report
from nearmiss.signing import SigningKey
from policies.engine import PolicyEngine
from policies.packfile import default_pack_path
from tests.integration.network import make_network

LABS = ("lab-aurora", "lab-borealis", "lab-cygnus")
# Far enough ahead that every default embargo has passed.
LATER = datetime.now(UTC) + timedelta(days=400)


def report(
    lab: str = "lab-aurora",
    *,
    domains: tuple[str, ...] = ("CYBER",),
    severity: int = 3,
    kind: str = "INCIDENT",
    public_text: str = "The model followed an injected instruction; a confirmation stopped it.",
    canary: str = "",
    occurred: datetime | None = None,
) -> IncidentReport:
    """A valid report; with ``canary``, every non-public text field carries a unique mark."""
    mark = (lambda where: f" {canary}-{where}") if canary else (lambda where: "")
    occurred = occurred or datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    data: dict[str, Any] = {
        "report_id": str(uuid.uuid4()),
        "lab_id": lab,
        "kind": kind,
        "title": "Agent tried to forward an inbox" + mark("TITLE"),
        "summary": "A hidden instruction asked the agent to forward mail" + mark("SUMMARY"),
        "detection": "SAFEGUARD",
        "harm_domains": list(domains),
        "severity": severity,
        "occurred_at": occurred,
        "detected_at": occurred + timedelta(minutes=5),
        "system": {
            "model_family": "family" + mark("MODELFAMILY"),
            "model_version": "v1" + mark("MODELVERSION"),
            "deployment_surface": "email assistant" + mark("SURFACE"),
        },
        "safeguards_involved": ["external-recipient confirmation" + mark("SAFEGUARD")],
        "mitigations": ["classifier on document content" + mark("MITIGATION")],
        "indicators": [
            {"type": "DOMAIN", "value": f"collect-{canary.lower() or 'x'}-docs.example"},
            {"type": "ATLAS_TECHNIQUE", "value": "AML.T0051.001"},
        ],
        "sections": [
            {"scope": "PUBLIC", "heading": "What happened", "text": public_text},
            {
                "scope": "SHAREABLE",
                "heading": "Detail" + mark("SHHEAD"),
                "text": "Payload in a spreadsheet cell" + mark("SHAREABLE"),
            },
            {
                "scope": "AUTHORITY_ONLY",
                "heading": "Customer" + mark("AOHEAD"),
                "text": "Affected account details" + mark("AUTHORITYONLY"),
            },
        ],
    }
    return IncidentReport.model_validate(data)


@dataclass
class LocalAuthority:
    app: AuthorityApp
    network: DevNetwork
    keys: dict[str, SigningKey]

    def file(self, filed: IncidentReport) -> None:
        stamped = filed.model_copy(update={"reported_at": datetime.now(UTC)})
        self.app.ingest.submit(
            Party(filed.lab_id, Role.LAB), sign_report(stamped, self.keys[filed.lab_id])
        )

    def job(
        self, policies: PolicyEngine | None = None, cases: CaseSource | None = None
    ) -> DisclosureJob:
        return DisclosureJob(
            engine=self.app.engine,
            policies=policies or PolicyEngine(reload_seconds=0),
            signing_key=self.app.signing_key,
            authority_id=self.app.config.authority_id,
            cases=cases,
        )

    def dashboard(self) -> TestClient:
        return TestClient(
            create_dashboard(
                context_for(
                    engine=self.app.engine,
                    log=self.app.log,
                    authority_id=self.app.config.authority_id,
                    verifying_key=self.app.signing_key.verifying_key,
                    grpc_address=lambda: self.app.config.listen,
                    cases=ReportCases(),
                )
            )
        )


def local_authority(directory: Path) -> LocalAuthority:
    network = make_network(directory, labs=LABS)
    app = AuthorityApp.from_config(AuthorityConfig.load(network.authority_config_path()))
    keys = {lab: SigningKey.from_file(directory / lab / "signing.key") for lab in LABS}
    return LocalAuthority(app, network, keys)


def write_pack(directory: Path, kind: str, change: Callable[[dict[str, Any]], None]) -> Path:
    """The shipped default pack of ``kind``, changed by ``change``, written to a file."""
    document = yaml.safe_load(default_pack_path(kind).read_text())
    change(document)
    path = directory / f"{kind}-{uuid.uuid4().hex[:8]}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def open_disclosure_pack(directory: Path) -> Path:
    """Disclosure pack for tests that need a disclosure now: no embargo, one lab suffices."""

    def change(document: dict[str, Any]) -> None:
        for rule in document["rules"]:
            if "embargo_days" in rule:
                rule["embargo_days"] = 0
            rule.pop("approval", None)
        document["minimum_labs"]["labs"] = 1

    return write_pack(directory, "disclosure", change)
