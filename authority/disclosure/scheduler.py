"""The disclosure job on a schedule (APScheduler), as an authority component.

Rules: one run at a time (``max_instances=1``); missed runs collapse into one
(``coalesce``); the first run starts right after the authority does. A failing run is
logged and the next one tries again: the job is idempotent, so retries are safe.

Config (``authority.toml``)::

    [disclosure]
    interval_seconds = 300     # how often embargoes are re-checked
    enabled = true
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler

from authority.disclosure.job import DisclosureJob

logger = logging.getLogger("nearmiss.authority.disclosure")
DEFAULT_INTERVAL_S = 300.0


class DisclosureScheduler:
    name = "disclosure-scheduler"

    def __init__(self, job: DisclosureJob, *, interval_seconds: float = DEFAULT_INTERVAL_S):
        self.job = job
        self.interval_seconds = interval_seconds
        self._scheduler = BackgroundScheduler(timezone=UTC)

    def _run(self) -> None:
        try:
            self.job.run_once()
        except Exception:
            logger.exception("the disclosure run failed; the next run retries")

    def start(self) -> None:
        self._scheduler.add_job(
            self._run,
            "interval",
            seconds=self.interval_seconds,
            id="disclosure",
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(UTC),
        )
        self._scheduler.start()

    def stop(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)
