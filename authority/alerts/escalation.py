"""Escalation: an unacknowledged high-severity alert goes to the next contact tier.

Rules:

* Only alerts with severity >= ``escalate_min_severity`` escalate, and only from a
  first-tier (tier 0) recipient that has a contact chain (its own, or ``default``).
* A chain is (alert, first-tier recipient). It is settled as soon as anyone in it — the
  recipient or a contact of a tier already reached — acknowledges the alert.
* An unsettled chain moves one tier per ``escalate_after_seconds``, counted from the
  delivery for tier 1 and from the previous escalation after that, and stops after its
  last tier. Each step is recorded in ``nm_alert_escalation`` (unique per chain and
  tier, so a job that runs twice, or on two replicas, escalates once).
* A contact gets the copy rendered for its own audience (a lab contact never sees the
  analysts' text); a peer's alert escalates only to institutes and analysts.
* ``escalate_due(now)`` is the whole job: the scheduler only calls it (and, on the same
  thread and interval, ``holds.release_due(now)``), so tests call it directly with any
  clock.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from authority.alerts.delivery import deliver
from authority.alerts.holds import facts_of, release_due
from authority.alerts.render import payload_bytes, render_internal, render_shared
from authority.alerts.routing import DESTINATION, Audience
from authority.alerts.service import AlertService
from authority.alerts.snapshot import as_utc
from authority.alerts.tables import AlertDelivery, AlertEscalation, AlertRecord
from authority.database import session_scope
from authority.records import ReportRecord
from nearmiss.canonical import report_from_canonical
from policies.safe_harbor import ShareOutcome

logger = logging.getLogger("nearmiss.alerts")


def escalate_due(service: AlertService, engine: Engine, now: datetime) -> list[AlertEscalation]:
    """Escalate every chain that is due at ``now``; returns the escalations made."""
    config = service.config
    after = timedelta(seconds=config.escalate_after_seconds)
    made: list[AlertEscalation] = []
    with session_scope(engine) as session:
        due = session.exec(
            select(AlertDelivery, AlertRecord)
            .join(AlertRecord, col(AlertRecord.alert_id) == col(AlertDelivery.alert_id))
            .where(
                AlertDelivery.escalation_tier == 0,
                col(AlertDelivery.acknowledged_at).is_(None),
                col(AlertDelivery.created_at) <= now - after,
                AlertRecord.severity >= config.escalate_min_severity,
            )
            .order_by(col(AlertDelivery.id))
        ).all()
        directory = service.directory()
        for delivery, record in due:
            chain = config.chain_for(delivery.recipient)
            steps = list(
                session.exec(
                    select(AlertEscalation)
                    .where(
                        AlertEscalation.alert_id == record.alert_id,
                        AlertEscalation.on_behalf_of == delivery.recipient,
                    )
                    .order_by(col(AlertEscalation.tier))
                )
            )
            tier = steps[-1].tier if steps else 0
            since = as_utc(steps[-1].escalated_at if steps else delivery.created_at)
            if tier >= len(chain) or now - since < after:
                continue
            reached = {delivery.recipient, *(p for contacts in chain[:tier] for p in contacts)}
            if _acknowledged_by_any(session, record.alert_id, reached):
                continue
            contacts = chain[tier]
            for contact in contacts:
                payload = _render_for(session, service, record, directory.audience_of(contact))
                if payload is None:
                    logger.warning(
                        "alert %s: escalation contact %s is not a party that may receive it",
                        record.alert_id, contact,
                    )
                    continue
                deliver(
                    session,
                    recipient=contact,
                    alert_id=record.alert_id,
                    payload=payload,
                    now=now,
                    escalation_tier=tier + 1,
                )
            step = AlertEscalation(
                alert_id=record.alert_id,
                on_behalf_of=delivery.recipient,
                tier=tier + 1,
                contacts=" ".join(contacts),
                escalated_at=now,
            )
            session.add(step)
            made.append(step)
            logger.info(
                "alert %s unacknowledged by %s: escalated to tier %d",
                record.alert_id, delivery.recipient, tier + 1,
            )
        if made:
            service.notifier.notify_after_commit(session)
    return made


def _acknowledged_by_any(session: Session, alert_id: str, parties: set[str]) -> bool:
    found = session.exec(
        select(AlertDelivery.id).where(
            AlertDelivery.alert_id == alert_id,
            col(AlertDelivery.recipient).in_(sorted(parties)),
            col(AlertDelivery.acknowledged_at).is_not(None),
        )
    ).first()
    return found is not None


def _render_for(
    session: Session, service: AlertService, record: AlertRecord, audience: Audience | None
) -> bytes | None:
    """The copy for one contact, or None when that contact may not receive this alert."""
    if audience is None:
        return None
    if record.received_from is not None:
        if audience is Audience.LAB or record.federated_payload is None:
            return None
        return bytes(record.federated_payload)
    report_row = session.get(ReportRecord, record.trigger_report_id)
    if report_row is None:
        return None
    report = report_from_canonical(report_row.canonical_report)
    facts = facts_of(record)
    destination = DESTINATION[audience]
    if destination is None:
        return payload_bytes(render_internal(facts, report))
    decision = service.policies.current().safe_harbor.share(
        report, destination, received_at=as_utc(report_row.received_at), now=service.clock()
    )
    if decision.outcome is not ShareOutcome.SHARE:
        return None
    return payload_bytes(render_shared(facts, decision.view))


class EscalationScheduler:
    """Component: every ``escalation_check_seconds`` (apscheduler), escalates what is due
    (``escalate_due``) and releases held copies whose delay has passed
    (``authority.alerts.holds.release_due``) — one periodic job, one thread."""

    name = "alert-escalation"

    def __init__(self, service: AlertService, engine: Engine):
        self._service = service
        self._engine = engine
        self._scheduler = BackgroundScheduler(timezone="UTC")

    def run_once(self) -> None:
        now = self._service.clock()
        try:
            escalate_due(self._service, self._engine, now)
        except Exception:
            logger.exception("alert escalation job failed; it runs again at the next interval")
        try:
            release_due(self._service, self._engine, now)
        except Exception:
            logger.exception("releasing held alerts failed; it runs again at the next interval")

    def start(self) -> None:
        self._scheduler.add_job(
            self.run_once,
            "interval",
            seconds=self._service.config.escalation_check_seconds,
            id=self.name,
            max_instances=1,
            coalesce=True,
        )
        self._scheduler.start()

    def stop(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)


__all__ = ["EscalationScheduler", "escalate_due"]
