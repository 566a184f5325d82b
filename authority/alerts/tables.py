"""SQL tables of alerts (prefix ``nm_alert``): alerts, per-recipient deliveries, holds
and their releases, escalations and the per-recipient cursor counters.

Rules:

* ``nm_alert`` holds one row per alert, raised here or received from a peer; its
  ``alert_id`` is globally unique (derived from the origin authority's id), so a peer's
  repeat of an alert is recognised by key.
* ``nm_alert_delivery`` holds what one recipient sees: the Alert message rendered for its
  destination class (safe harbor already applied), under a cursor that is dense and
  strictly increasing per recipient. Cursors come from ``nm_alert_cursor``, whose row for
  the recipient is updated (and so locked until commit) before a delivery is inserted:
  a later cursor can never commit before an earlier one, which is what makes resuming
  after a cursor gap-free. One delivery per (recipient, alert, escalation tier): an
  escalation reaches a contact even if it had the alert already, as a new delivery.
* ``nm_alert_hold`` records a delivery the safe-harbor pack held back (a delay or a
  required approval): nothing is delivered, and the rule that held it is kept. The row
  is never changed: deployed databases keep its columns as they are.
* ``nm_alert_hold_release`` records the release of one hold (unique per hold, so a hold
  is released once): why (the delay elapsed, or a person approved), who approved and
  with what reason, and the safe-harbor rule and pack under which the copy was
  rendered. An audit trail: rows are never updated or deleted.
* ``nm_alert_escalation`` records each escalation of an unacknowledged alert, per
  original recipient, to the next contact tier.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, DateTime, Integer, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

# Autoincrement ids must be INTEGER on SQLite (rowid alias) and may be BIGINT elsewhere.
_BIG_ID = BigInteger().with_variant(Integer(), "sqlite")


def _when(*, nullable: bool = False, index: bool = False) -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=nullable, index=index)


class AlertRecord(SQLModel, table=True):
    __tablename__ = "nm_alert"

    alert_id: str = Field(primary_key=True, max_length=36)
    origin_authority: str = Field(index=True, max_length=63)
    case_id: str = Field(index=True, max_length=64)
    rule_id: str = Field(max_length=100)
    policy_pack_hash: str = Field(max_length=64)
    severity: int
    # Space-separated harm domain names, as in nm_report.
    harm_domains: str = Field(max_length=400)
    urgency: str = Field(max_length=16)
    raised_at: datetime = Field(sa_column=_when(index=True))
    reporting_lab_count: int = 0
    # Raised here: the report whose log entry is the alert's provenance.
    trigger_report_id: str | None = Field(default=None, max_length=36)
    trigger_log_index: int | None = Field(default=None, sa_type=BigInteger)
    trigger_leaf_hash: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    # Received from a peer: which peer, and the verified payload and provenance as sent.
    received_from: str | None = Field(default=None, max_length=63)
    federated_payload: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    federated_provenance: bytes | None = Field(default=None, sa_column=Column(LargeBinary))


class AlertDelivery(SQLModel, table=True):
    __tablename__ = "nm_alert_delivery"
    __table_args__ = (
        UniqueConstraint("recipient", "cursor"),
        UniqueConstraint("recipient", "alert_id", "escalation_tier"),
    )

    id: int | None = Field(default=None, sa_column=Column(_BIG_ID, primary_key=True))
    recipient: str = Field(index=True, max_length=63)
    cursor: int = Field(sa_type=BigInteger)
    alert_id: str = Field(index=True, max_length=36)
    escalation_tier: int = 0
    # nearmiss.v1.Alert for this recipient, cursor left 0 (set when streamed).
    payload: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(sa_column=_when())
    first_sent_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    acknowledged_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))


class AlertCursor(SQLModel, table=True):
    __tablename__ = "nm_alert_cursor"

    recipient: str = Field(primary_key=True, max_length=63)
    last_cursor: int = Field(default=0, sa_type=BigInteger)


class AlertHold(SQLModel, table=True):
    __tablename__ = "nm_alert_hold"
    __table_args__ = (UniqueConstraint("alert_id", "recipient"),)

    id: int | None = Field(default=None, sa_column=Column(_BIG_ID, primary_key=True))
    alert_id: str = Field(index=True, max_length=36)
    # A party id, or "peer:<authority id>" for a federation peer.
    recipient: str = Field(max_length=70)
    outcome: str = Field(max_length=16)
    rule_id: str = Field(max_length=100)
    policy_pack_hash: str = Field(max_length=64)
    not_before: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    created_at: datetime = Field(sa_column=_when())


class AlertHoldRelease(SQLModel, table=True):
    __tablename__ = "nm_alert_hold_release"
    __table_args__ = (UniqueConstraint("hold_id"),)

    id: int | None = Field(default=None, sa_column=Column(_BIG_ID, primary_key=True))
    # nm_alert_hold.id (no foreign key: the hold table predates this one everywhere).
    hold_id: int = Field(sa_type=BigInteger)
    alert_id: str = Field(index=True, max_length=36)
    recipient: str = Field(max_length=70)
    # "delay elapsed" or "approved".
    cause: str = Field(max_length=16)
    # The person who approved, and why (approvals only).
    approved_by: str | None = Field(default=None, max_length=200)
    reason: str | None = Field(default=None, max_length=1000)
    released_at: datetime = Field(sa_column=_when(index=True))
    # The safe-harbor decision the released copy was rendered from.
    rule_id: str = Field(max_length=100)
    rule_trail: str = Field(max_length=1000)
    policy_pack_hash: str = Field(max_length=64)
    # The recipient's cursor of the delivery made (None: a peer's outbox row, or the
    # recipient already had this alert).
    delivered_cursor: int | None = Field(default=None, sa_type=BigInteger)


class AlertEscalation(SQLModel, table=True):
    __tablename__ = "nm_alert_escalation"
    __table_args__ = (UniqueConstraint("alert_id", "on_behalf_of", "tier"),)

    id: int | None = Field(default=None, sa_column=Column(_BIG_ID, primary_key=True))
    alert_id: str = Field(index=True, max_length=36)
    # The first-tier recipient that did not acknowledge.
    on_behalf_of: str = Field(max_length=63)
    tier: int
    # Space-separated party ids the alert went to at this tier.
    contacts: str = Field(max_length=2000)
    escalated_at: datetime = Field(sa_column=_when())
