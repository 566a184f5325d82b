"""The sending outbox and per-peer state: what is owed to each peer, and how it went.

Rules:

* Items are enqueued inside the transaction that creates them (``FederationOutbox``
  is the alert service's ``PeerSink``); enqueuing the same (peer, kind, item) twice is
  a no-op. Senders are woken after that transaction commits.
* The backlog of a peer is its rows with neither ``delivered_at`` nor ``rejected_at``,
  sent oldest first. A row leaves the backlog only on the peer's answer, so a crash or
  an outage between sending and the answer means sending again — at-least-once, with
  the receiver de-duplicating.
* Counters and contact times in ``nm_federation_peer`` are updated with the results.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from authority.alerts.delivery import Notifier
from authority.federation.tables import KIND_AGGREGATE, KIND_ALERT, OutboxItem, PeerState

MAX_REASON = 500


class FederationOutbox:
    """Enqueues items for peers and wakes their senders after commit."""

    def __init__(self, peer_ids: Sequence[str]):
        self._peer_ids = tuple(peer_ids)
        self.notifier = Notifier()
        self._events: dict[str, threading.Event] = {p: threading.Event() for p in peer_ids}
        for event in self._events.values():
            self.notifier.add_listener(event.set)

    def peer_ids(self) -> Sequence[str]:
        return self._peer_ids

    def wake_event(self, peer_id: str) -> threading.Event:
        return self._events[peer_id]

    def enqueue_alert(
        self,
        session: Session,
        *,
        peer_id: str,
        alert_id: str,
        payload: bytes,
        log_index: int,
        leaf_hash: bytes,
        now: datetime | None = None,
    ) -> None:
        self._enqueue(
            session,
            OutboxItem(
                peer_id=peer_id,
                kind=KIND_ALERT,
                item_id=alert_id,
                payload=payload,
                log_index=log_index,
                leaf_hash=leaf_hash,
                created_at=now or _now(),
            ),
        )

    def enqueue_aggregate(
        self,
        session: Session,
        *,
        release_id: str,
        payload: bytes,
        signature: bytes,
        signing_key_id: str,
        now: datetime | None = None,
    ) -> None:
        """Queue a signed aggregate release for every peer (caller commits)."""
        for peer_id in self._peer_ids:
            self._enqueue(
                session,
                OutboxItem(
                    peer_id=peer_id,
                    kind=KIND_AGGREGATE,
                    item_id=release_id,
                    payload=payload,
                    signature=signature,
                    signing_key_id=signing_key_id,
                    created_at=now or _now(),
                ),
            )

    def _enqueue(self, session: Session, item: OutboxItem) -> None:
        if item.peer_id not in self._events:
            raise ValueError(f"{item.peer_id} is not a configured peer")
        exists = session.exec(
            select(OutboxItem.id).where(
                OutboxItem.peer_id == item.peer_id,
                OutboxItem.kind == item.kind,
                OutboxItem.item_id == item.item_id,
            )
        ).first()
        if exists is None:
            session.add(item)
            session.flush()
            self.notifier.notify_after_commit(session)


def pending(session: Session, peer_id: str, limit: int) -> list[OutboxItem]:
    return list(
        session.exec(
            select(OutboxItem)
            .where(
                OutboxItem.peer_id == peer_id,
                col(OutboxItem.delivered_at).is_(None),
                col(OutboxItem.rejected_at).is_(None),
            )
            .order_by(col(OutboxItem.id))
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class Outcome:
    item_row_id: int
    accepted: bool
    reason: str = ""


def record_outcomes(
    session: Session, peer_id: str, outcomes: Sequence[Outcome], now: datetime
) -> None:
    accepted = [o.item_row_id for o in outcomes if o.accepted]
    if accepted:
        session.execute(
            update(OutboxItem)
            .where(col(OutboxItem.id).in_(accepted), col(OutboxItem.delivered_at).is_(None))
            .values(delivered_at=now, attempts=OutboxItem.attempts + 1)
        )
    for outcome in outcomes:
        if not outcome.accepted:
            session.execute(
                update(OutboxItem)
                .where(col(OutboxItem.id) == outcome.item_row_id)
                .values(
                    rejected_at=now,
                    reason=outcome.reason[:MAX_REASON],
                    attempts=OutboxItem.attempts + 1,
                )
            )
    state = peer_state(session, peer_id)
    state.last_contact_at = state.last_sent_at = now
    state.delivered += len(accepted)
    state.rejected += len(outcomes) - len(accepted)
    session.add(state)


def record_error(session: Session, peer_id: str, reason: str, now: datetime) -> None:
    state = peer_state(session, peer_id)
    state.last_error = reason[:MAX_REASON]
    state.last_error_at = now
    session.add(state)


def peer_state(session: Session, peer_id: str) -> PeerState:
    """The peer's row, created on first use."""
    state = session.get(PeerState, peer_id)
    if state is not None:
        return state
    try:
        with session.begin_nested():
            session.add(PeerState(peer_id=peer_id))
    except IntegrityError:
        pass  # made concurrently by the receiver
    state = session.get(PeerState, peer_id)
    assert state is not None
    return state


def backlog(session: Session) -> dict[str, int]:
    rows = session.exec(
        select(OutboxItem.peer_id, func.count())
        .where(col(OutboxItem.delivered_at).is_(None), col(OutboxItem.rejected_at).is_(None))
        .group_by(col(OutboxItem.peer_id))
    ).all()
    return {peer_id: int(count) for peer_id, count in rows}


def _now() -> datetime:
    return datetime.now(UTC)
