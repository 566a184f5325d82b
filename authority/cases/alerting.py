"""Telling the alert service that a case was created or changed.

Rules: the call happens inside the caller's transaction (the alert service writes its
alert, deliveries and outbox rows there: all or nothing with the case change), in a
savepoint of its own, so a failing alert rule loses that alert — logged by type, never
with report text — and never the case change. The snapshot names the case by its public
id and carries the report that changed it as the trigger.
"""

from __future__ import annotations

import logging
from typing import Protocol

from sqlmodel import Session

from authority.alerts.snapshot import CaseSnapshot
from authority.cases.queries import snapshot_records
from authority.cases.tables import CaseRow

logger = logging.getLogger("nearmiss.authority.cases")


class CaseChangeSink(Protocol):
    """Who hears that a case changed (``authority.alerts.AlertService`` is one)."""

    def on_case_changed(self, session: Session, case: CaseSnapshot) -> object: ...


def notify_case_changed(
    session: Session, sink: CaseChangeSink, case_id: int, trigger_report_id: str | None
) -> bool:
    """Hand the case's current state to ``sink``; False when that failed (and was logged).

    ``trigger_report_id`` None: the most recently received report of the case.
    """
    row = session.get(CaseRow, case_id)
    records = snapshot_records(session, case_id)
    if row is None or not records:
        return True
    latest = max(records, key=lambda r: (r.received_at, r.log_index))
    snapshot = CaseSnapshot.from_records(
        row.public_id, records, trigger_report_id or latest.report_id
    )
    try:
        with session.begin_nested():
            sink.on_case_changed(session, snapshot)
    except Exception as error:
        logger.error(
            "alerting on case %d failed (%s); the case change is kept",
            case_id, type(error).__name__,
        )
        return False
    return True
