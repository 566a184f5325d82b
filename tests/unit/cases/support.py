"""A real authority app (no gRPC server) with its real ingest and alert service, and a
linking worker over a deterministic bag-of-words embedder, for case unit tests."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session, col, select

from authority.alerts import AlertService, install_alerts
from authority.app import AuthorityApp
from authority.cases.alerting import CaseChangeSink
from authority.cases.config import DedupConfig
from authority.cases.service import CaseDesk
from authority.cases.tables import CaseMemberRow
from authority.cases.worker import LinkingWorker
from authority.config import AuthorityConfig
from dedup.embedder import Vectors
from nearmiss.devnet import DevNetwork, init_network
from nearmiss.identity import Party, Role
from nearmiss.model import IncidentReport
from nearmiss.signed_report import sign_report
from nearmiss.signing import SigningKey
from tests.unit.dedup.helpers import BagOfWordsEmbedder

LABS = ("lab-aurora", "lab-borealis", "lab-cygnus")

PHISHING = (
    "Spear phishing emails impersonating a regional bank fraud team were mass produced "
    "through the API using many keys to stay under rate limits"
)
VOICE = (
    "Cloned voices of relatives were used in scripted emergency money calls against "
    "elderly people after short samples were taken from social media videos"
)


def make_network(directory: Path, database_url: str = "sqlite:///authority.db") -> DevNetwork:
    network = DevNetwork(
        directory=directory,
        authority_id="eu-ai-office",
        labs=list(LABS),
        institutes=["inst-duty"],
        analysts=["analyst"],
        auditors=["auditor"],
        authority_port=0,
        database_url=database_url,
    )
    init_network(network)
    return network


@contextmanager
def authority_app(network: DevNetwork) -> Iterator[tuple[AuthorityApp, AlertService]]:
    app = AuthorityApp.from_config(AuthorityConfig.load(network.authority_config_path()))
    try:
        yield app, install_alerts(app)
    finally:
        app.ingest.close()
        app.engine.dispose()


class CountingEmbedder(BagOfWordsEmbedder):
    """The bag-of-words embedder, with an optional hook run on the next ``embed`` call
    (to make another writer act while a batch is in flight)."""

    def __init__(self) -> None:
        super().__init__()
        self.texts = 0
        self.on_next_embed: Callable[[], object] | None = None

    def embed(self, texts: Sequence[str]) -> Vectors:
        hook, self.on_next_embed = self.on_next_embed, None
        if hook is not None:
            hook()
        self.texts += len(texts)
        return super().embed(texts)


def make_worker(
    app: AuthorityApp,
    embedder: CountingEmbedder,
    *,
    alerts: CaseChangeSink | None = None,
    batch_size: int = 64,
) -> LinkingWorker:
    return LinkingWorker(
        engine=app.engine,
        wake=app.ingest.accepted_event,
        embedder_factory=lambda: embedder,
        snapshot_dir=app.config.data_dir / "dedup-index",
        config=DedupConfig(batch_size=batch_size),
        alerts=alerts,
    )


def make_report(
    lab_id: str,
    summary: str,
    *,
    title: str = "Model misuse observed",
    indicators: Sequence[tuple[str, str]] = (),
    domains: Sequence[str] = ("CYBER",),
    severity: int = 3,
    sections: Sequence[dict[str, str]] = (),
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
            "occurred_at": now - timedelta(days=1),
            "detected_at": now - timedelta(hours=2),
            "reported_at": now,
            "indicators": [{"type": t, "value": v} for t, v in indicators],
            "sections": list(sections),
        }
    )


def file(app: AuthorityApp, network: DevNetwork, report: IncidentReport) -> str:
    """Submit through the authority's real ingest; returns the report id."""
    key = SigningKey.from_file(network.directory / report.lab_id / "signing.key")
    app.ingest.submit(Party(report.lab_id, Role.LAB), sign_report(report, key))
    return report.report_id


def case_of(app: AuthorityApp, report_id: str) -> int:
    with Session(app.engine) as session:
        row = session.get(CaseMemberRow, report_id)
        assert row is not None, f"report {report_id} is in no case"
        return row.case_id


def members(app: AuthorityApp, case_id: int) -> set[str]:
    with Session(app.engine) as session:
        return set(
            session.exec(
                select(CaseMemberRow.report_id).where(col(CaseMemberRow.case_id) == case_id)
            ).all()
        )


def desk(app: AuthorityApp) -> CaseDesk:
    return CaseDesk(engine=app.engine)
