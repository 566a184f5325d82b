"""The alert service: raising alerts when a case changes, accepting peers' alerts,
streaming them to subscribers and recording acknowledgements.

Rules:

* ``on_case_changed`` writes in the caller's session and never commits: the alert, its
  deliveries, its holds and the federation outbox rows land in the caller's transaction,
  all or nothing (the outbox pattern: a peer outage loses nothing, a rollback sends
  nothing). Subscribers and federation senders are woken after that commit.
* Every copy that leaves the authority's staff is rendered from the safe-harbor
  decision for its destination; a DELAY or NEEDS_APPROVAL outcome stores a hold and
  delivers nothing (``authority.alerts.render``).
* Raising is idempotent per case state (see the alert id rule in ``render``).
* A subscriber receives its deliveries in cursor order from just after the cursor it
  names, then live; the stream wakes on commit, and re-reads at least every
  ``poll_seconds`` for writers in other processes.
* Only the recipient of a delivery can acknowledge it; an unknown alert id is
  NOT_FOUND whether or not it exists for someone else (no probing).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import func, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from authority.alerts.config import AlertsConfig
from authority.alerts.delivery import Notifier, deliver, deliveries_after, mark_sent
from authority.alerts.render import (
    AlertFacts,
    alert_id_for,
    harm_domain_name,
    payload_bytes,
    render_internal,
    render_shared,
)
from authority.alerts.routing import (
    DESTINATION,
    Audience,
    Directory,
    Recipient,
    local_recipients_of_federated,
    resolve,
)
from authority.alerts.snapshot import CaseSnapshot, as_utc
from authority.alerts.tables import AlertDelivery, AlertHold, AlertRecord
from authority.database import session_scope
from authority.parties import PartyRegistry
from nearmiss.errors import ConflictError, NotFoundError
from nearmiss.identity import Party
from nearmiss.model import HarmDomain, IncidentReport
from nearmiss.v1 import authority_pb2
from policies.engine import PolicyEngine
from policies.safe_harbor import Destination, ShareOutcome, SharingDecision

logger = logging.getLogger("nearmiss.alerts")
STREAM_BATCH = 100


class PeerSink(Protocol):
    """Where alerts for federation peers go (``authority.federation`` provides it)."""

    def peer_ids(self) -> Sequence[str]: ...

    def enqueue_alert(
        self,
        session: Session,
        *,
        peer_id: str,
        alert_id: str,
        payload: bytes,
        log_index: int,
        leaf_hash: bytes,
    ) -> None: ...


@dataclass(frozen=True)
class RaisedAlert:
    alert_id: str
    rule_id: str
    recipients: tuple[str, ...]
    held: tuple[str, ...]
    peers: tuple[str, ...]


class AlertService:
    """Implements ``authority.servicer.AlertFeed`` plus the entry points of other parts."""

    def __init__(
        self,
        *,
        engine: Engine,
        authority_id: str,
        registry: PartyRegistry,
        policies: PolicyEngine,
        config: AlertsConfig | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self._engine = engine
        self.authority_id = authority_id
        self._registry = registry
        self.policies = policies
        self.config = config or AlertsConfig()
        self.clock = clock
        self.notifier = Notifier()
        self.peer_sink: PeerSink | None = None
        self._closed = threading.Event()

    # -- raising -----------------------------------------------------------------------

    def directory(self) -> Directory:
        peers = self.peer_sink.peer_ids() if self.peer_sink is not None else ()
        return Directory.build(self._registry, peers)

    def on_case_changed(
        self, session: Session, case: CaseSnapshot, *, now: datetime | None = None
    ) -> list[RaisedAlert]:
        """Raise what the routing rules say for this case state, in the caller's session."""
        now = now or self.clock()
        policies = self.policies.current()
        view = case.to_case_view()
        directory = self.directory()
        trigger = case.trigger_member
        sharing: dict[Destination, SharingDecision] = {}
        raised: list[RaisedAlert] = []
        for decision in policies.alert_routing.route(view):
            alert_id = alert_id_for(
                self.authority_id,
                case.case_id,
                decision.rule_id,
                len(view.lab_ids),
                view.max_severity,
            )
            if session.get(AlertRecord, alert_id) is not None:
                continue
            facts = AlertFacts(
                alert_id=alert_id,
                case_id=case.case_id,
                raised_at=now,
                severity=view.max_severity,
                harm_domains=tuple(sorted(view.harm_domains)),
                rule_id=decision.rule_id,
                policy_pack_hash=decision.pack_hash,
                origin_authority=self.authority_id,
                reporting_lab_count=len(view.lab_ids),
            )
            session.add(
                AlertRecord(
                    alert_id=alert_id,
                    origin_authority=self.authority_id,
                    case_id=case.case_id,
                    rule_id=decision.rule_id,
                    policy_pack_hash=decision.pack_hash,
                    severity=facts.severity,
                    harm_domains=" ".join(d.value for d in facts.harm_domains),
                    urgency=decision.urgency.value,
                    raised_at=now,
                    reporting_lab_count=facts.reporting_lab_count,
                    trigger_report_id=trigger.report_id,
                    trigger_log_index=trigger.log_index,
                    trigger_leaf_hash=trigger.leaf_hash,
                )
            )
            session.flush()

            def share(destination: Destination) -> SharingDecision:
                if destination not in sharing:
                    sharing[destination] = policies.safe_harbor.share(
                        case.trigger, destination, received_at=trigger.received_at, now=now
                    )
                return sharing[destination]

            delivered, held, peers = self._fan_out(
                session, facts, case.trigger, resolve(decision, view, directory), share, now
            )
            for peer_id in peers:
                assert self.peer_sink is not None
                self.peer_sink.enqueue_alert(
                    session,
                    peer_id=peer_id,
                    alert_id=alert_id,
                    payload=payload_bytes(render_shared(facts, share(DESTINATION_PEER).view)),
                    log_index=trigger.log_index,
                    leaf_hash=trigger.leaf_hash,
                )
            raised.append(RaisedAlert(alert_id, decision.rule_id, delivered, held, peers))
        if raised:
            self.notifier.notify_after_commit(session)
        return raised

    def _fan_out(
        self,
        session: Session,
        facts: AlertFacts,
        report: IncidentReport,
        recipients: Sequence[Recipient],
        share: Callable[[Destination], SharingDecision],
        now: datetime,
    ) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
        delivered: list[str] = []
        held: list[str] = []
        peers: list[str] = []
        for recipient in recipients:
            destination = DESTINATION[recipient.audience]
            if destination is None:
                payload = payload_bytes(render_internal(facts, report))
            else:
                decision = share(destination)
                if decision.outcome is not ShareOutcome.SHARE:
                    name = _hold_name(recipient)
                    session.add(
                        AlertHold(
                            alert_id=facts.alert_id,
                            recipient=name,
                            outcome=decision.outcome.value,
                            rule_id=decision.rule_id,
                            policy_pack_hash=decision.pack_hash,
                            not_before=decision.not_before,
                            created_at=now,
                        )
                    )
                    held.append(name)
                    continue
                if recipient.audience is Audience.PEER:
                    peers.append(recipient.party_id)
                    continue
                payload = payload_bytes(render_shared(facts, decision.view))
            if deliver(
                session,
                recipient=recipient.party_id,
                alert_id=facts.alert_id,
                payload=payload,
                now=now,
            ):
                delivered.append(recipient.party_id)
        return tuple(delivered), tuple(held), tuple(peers)

    def raise_for_case(self, case: CaseSnapshot) -> list[RaisedAlert]:
        """``on_case_changed`` in a transaction of its own, committed."""
        with session_scope(self._engine) as session:
            return self.on_case_changed(session, case)

    # -- alerts from peers -------------------------------------------------------------

    def accept_federated(
        self,
        session: Session,
        alert: authority_pb2.Alert,
        *,
        from_peer: str,
        payload: bytes,
        provenance: bytes,
        now: datetime | None = None,
    ) -> bool:
        """Store a verified peer alert and deliver it locally; False if already held."""
        now = now or self.clock()
        existing = session.get(AlertRecord, alert.alert_id)
        if existing is not None:
            if existing.origin_authority != alert.origin_authority:
                raise ConflictError(
                    f"alert id {alert.alert_id} is already used by {existing.origin_authority}"
                )
            return False
        session.add(
            AlertRecord(
                alert_id=alert.alert_id,
                origin_authority=alert.origin_authority,
                case_id=alert.case_id,
                rule_id=alert.rule_id,
                policy_pack_hash=alert.policy_pack_hash,
                severity=alert.severity,
                harm_domains=" ".join(
                    HarmDomain(harm_domain_name(d)).value for d in alert.harm_domains
                ),
                urgency="",
                raised_at=alert.raised_at.ToDatetime(tzinfo=UTC),
                reporting_lab_count=alert.reporting_lab_count,
                received_from=from_peer,
                federated_payload=payload,
                federated_provenance=provenance,
            )
        )
        session.flush()
        for recipient in local_recipients_of_federated(self.directory()):
            deliver(
                session,
                recipient=recipient.party_id,
                alert_id=alert.alert_id,
                payload=payload,
                now=now,
            )
        self.notifier.notify_after_commit(session)
        return True

    # -- AlertFeed ---------------------------------------------------------------------

    def subscribe(
        self, party: Party, resume_after_cursor: int, is_active: Callable[[], bool]
    ) -> Iterator[authority_pb2.Alert]:
        if self._closed.is_set():
            raise NotFoundError("the alert service is shutting down")
        return self._stream(party.party_id, resume_after_cursor, is_active)

    def _stream(
        self, recipient: str, after: int, is_active: Callable[[], bool]
    ) -> Iterator[authority_pb2.Alert]:
        while is_active() and not self._closed.is_set():
            version = self.notifier.version
            with session_scope(self._engine) as session:
                rows = deliveries_after(session, recipient, after, STREAM_BATCH)
                mark_sent(session, recipient, [row.cursor for row in rows], self.clock())
            for row in rows:
                alert = authority_pb2.Alert.FromString(row.payload)
                alert.cursor = row.cursor
                alert.escalation_tier = row.escalation_tier
                yield alert
                after = row.cursor
            if len(rows) < STREAM_BATCH:
                self.notifier.wait(version, self.config.poll_seconds)

    def acknowledge(self, party: Party, alert_id: str) -> authority_pb2.AckAlertResponse:
        now = self.clock()
        with session_scope(self._engine) as session:
            session.execute(
                update(AlertDelivery)
                .where(
                    col(AlertDelivery.recipient) == party.party_id,
                    col(AlertDelivery.alert_id) == alert_id,
                    col(AlertDelivery.acknowledged_at).is_(None),
                )
                .values(acknowledged_at=now)
            )
            when = session.exec(
                select(func.min(AlertDelivery.acknowledged_at)).where(
                    AlertDelivery.recipient == party.party_id, AlertDelivery.alert_id == alert_id
                )
            ).first()
        if when is None:
            raise NotFoundError(f"no alert {alert_id} was delivered to {party}")
        response = authority_pb2.AckAlertResponse()
        response.acknowledged_at.FromDatetime(as_utc(when))
        return response

    def close(self) -> None:
        """End every open stream (at shutdown)."""
        self._closed.set()
        self.notifier.notify()


DESTINATION_PEER = Destination.PEER_INSTITUTE


def _hold_name(recipient: Recipient) -> str:
    if recipient.audience is Audience.PEER:
        return f"peer:{recipient.party_id}"
    return recipient.party_id
