"""Wiring cases into an authority process: the worker, the RPCs, the case source.

Rules: ``install_cases`` reads ``[dedup]``, registers CaseService (always: analysts can
read and correct cases even while linking is switched off) and, unless
``enabled = false``, adds the linking worker with the real MiniLM model, loaded lazily
on the worker's thread, a lease that lets one replica link at a time, and the app's
alert service as the listener for case changes. Call it after ``install_alerts``.
"""

from __future__ import annotations

from authority.alerts.service import AlertService
from authority.app import AuthorityApp
from authority.cases.config import DedupConfig
from authority.cases.lease import lease_for
from authority.cases.service import CaseDesk
from authority.cases.servicer import case_service_installer
from authority.cases.worker import LinkingWorker
from dedup import MiniLMEmbedder, TextEmbedder

SNAPSHOT_DIR = "dedup-index"


def install_cases(app: AuthorityApp) -> LinkingWorker | None:
    config = DedupConfig.from_table(app.config.extra.get("dedup"))
    alerts = app.alerts if isinstance(app.alerts, AlertService) else None
    case_service_installer(app, CaseDesk(engine=app.engine, alerts=alerts))
    if not config.enabled:
        return None

    def load_model() -> TextEmbedder:
        return MiniLMEmbedder(
            model_path=config.model_path, device=config.torch_device, batch_size=32
        )

    worker = LinkingWorker(
        engine=app.engine,
        wake=app.ingest.accepted_event,
        embedder_factory=load_model,
        snapshot_dir=app.config.data_dir / SNAPSHOT_DIR,
        config=config,
        alerts=alerts,
        lease=lease_for(app.engine),
    )
    app.components.append(worker)
    return worker
