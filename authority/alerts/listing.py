"""What ``nearmiss authority alerts`` shows: each alert's state, from its deliveries.

Rules: an alert is *acknowledged* when every first-tier recipient acknowledged it,
*escalated* when at least one chain was escalated and some recipient has not
acknowledged, and *open* otherwise. Rows name ids, rules, counts and times — never
alert text.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from authority.alerts.snapshot import as_utc
from authority.alerts.tables import AlertDelivery, AlertEscalation, AlertHold, AlertRecord


class AlertState(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    ESCALATED = "escalated"


@dataclass(frozen=True)
class AlertRow:
    alert_id: str
    state: AlertState
    origin_authority: str
    received_from: str | None
    case_id: str
    rule_id: str
    severity: int
    harm_domains: str
    raised_at: datetime
    recipients: int
    acknowledged: int
    held: int
    escalation_tier: int

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["state"] = self.state.value
        data["raised_at"] = self.raised_at.isoformat()
        return data


def list_alerts(
    session: Session, *, state: AlertState | None = None, limit: int = 200
) -> list[AlertRow]:
    """Newest first."""
    records = session.exec(
        select(AlertRecord).order_by(col(AlertRecord.raised_at).desc()).limit(limit)
    ).all()
    ids = [record.alert_id for record in records]
    recipients = _counts(session, ids, acknowledged=False)
    acknowledged = _counts(session, ids, acknowledged=True)
    held = dict(
        session.exec(
            select(AlertHold.alert_id, func.count())
            .where(col(AlertHold.alert_id).in_(ids))
            .group_by(col(AlertHold.alert_id))
        ).all()
    )
    tiers = dict(
        session.exec(
            select(AlertEscalation.alert_id, func.max(AlertEscalation.tier))
            .where(col(AlertEscalation.alert_id).in_(ids))
            .group_by(col(AlertEscalation.alert_id))
        ).all()
    )
    rows = []
    for record in records:
        total = recipients.get(record.alert_id, 0)
        acked = acknowledged.get(record.alert_id, 0)
        tier = int(tiers.get(record.alert_id) or 0)
        if total and acked >= total:
            current = AlertState.ACKNOWLEDGED
        elif tier > 0:
            current = AlertState.ESCALATED
        else:
            current = AlertState.OPEN
        if state is not None and current is not state:
            continue
        rows.append(
            AlertRow(
                alert_id=record.alert_id,
                state=current,
                origin_authority=record.origin_authority,
                received_from=record.received_from,
                case_id=record.case_id,
                rule_id=record.rule_id,
                severity=record.severity,
                harm_domains=record.harm_domains,
                raised_at=as_utc(record.raised_at),
                recipients=total,
                acknowledged=acked,
                held=int(held.get(record.alert_id, 0)),
                escalation_tier=tier,
            )
        )
    return rows


def _counts(session: Session, ids: list[str], *, acknowledged: bool) -> dict[str, int]:
    """Distinct first-tier recipients per alert (that acknowledged, if asked)."""
    query = select(
        AlertDelivery.alert_id, func.count(func.distinct(AlertDelivery.recipient))
    ).where(col(AlertDelivery.alert_id).in_(ids), AlertDelivery.escalation_tier == 0)
    if acknowledged:
        query = query.where(col(AlertDelivery.acknowledged_at).is_not(None))
    return {
        alert_id: int(n)
        for alert_id, n in session.exec(query.group_by(col(AlertDelivery.alert_id)))
    }
