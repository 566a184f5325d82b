"""One sender thread per peer: drains that peer's outbox over mutual TLS.

Rules:

* The sender sleeps on its wake event (set when an item for its peer commits), with
  ``poll_seconds`` as the fallback, so a new alert leaves within milliseconds.
* Alerts go in batches over one ``ExchangeAlerts`` stream; each is signed and given a
  fresh tree head and inclusion proof just before sending, in a transaction that
  commits before the stream opens (a head is never shown to a peer before it is
  stored). Aggregates go one ``PublishAggregate`` call each, signed by their origin.
* The peer's answer settles each item (delivered, or rejected with its reason). A
  transport failure settles nothing: the sender backs off (doubling from
  ``retry_min_seconds`` to ``retry_max_seconds``, woken early by new items) and tries
  the same items again. Nothing is dropped on the sending side.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import grpc
from sqlalchemy.engine import Engine
from sqlmodel import Session

from authority.database import session_scope
from authority.federation.config import FederationConfig, PeerConfig
from authority.federation.outbox import Outcome, pending, record_error, record_outcomes
from authority.federation.provenance import sign_alert
from authority.federation.tables import KIND_ALERT, OutboxItem
from authority.federation.trust import channel_credentials, channel_options
from authority.log import TransparencyLog
from nearmiss.signing import SigningKey
from nearmiss.v1 import federation_pb2, federation_pb2_grpc

logger = logging.getLogger("nearmiss.federation")
BATCH = 64


class PeerSender:
    def __init__(
        self,
        *,
        config: FederationConfig,
        peer: PeerConfig,
        engine: Engine,
        log: TransparencyLog,
        signing_key: SigningKey,
        wake: threading.Event,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self._config = config
        self.peer = peer
        self._engine = engine
        self._log = log
        self._signing_key = signing_key
        self._wake = wake
        self._clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._channel: grpc.Channel | None = None

    @property
    def name(self) -> str:
        return f"federation-sender-{self.peer.peer_id}"

    def start(self) -> None:
        self._channel = grpc.secure_channel(
            self.peer.address,
            channel_credentials(self._config, self.peer),
            options=channel_options(self.peer),
        )
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=15)
        if self._channel is not None:
            self._channel.close()

    def _run(self) -> None:
        delay = self._config.retry_min_seconds
        while not self._stop.is_set():
            self._wake.clear()
            try:
                sent = self.send_once()
                delay = self._config.retry_min_seconds
                if sent == 0:
                    self._wake.wait(self._config.poll_seconds)
            except grpc.RpcError as error:
                reason = f"{error.code().name}: {error.details()}"
                self._note_error(reason)
                self._wait_backoff(delay)
                delay = min(delay * 2, self._config.retry_max_seconds)
            except Exception as error:  # a bug or the database: keep the thread alive
                logger.exception("sending to %s failed", self.peer.peer_id)
                self._note_error(type(error).__name__)
                self._wait_backoff(delay)
                delay = min(delay * 2, self._config.retry_max_seconds)

    def _wait_backoff(self, delay: float) -> None:
        # Woken early only by stop: new items must not defeat the back-off.
        self._stop.wait(delay)

    def _note_error(self, reason: str) -> None:
        logger.warning("peer %s unreachable or refusing: %s", self.peer.peer_id, reason)
        try:
            with session_scope(self._engine) as session:
                record_error(session, self.peer.peer_id, reason, self._clock())
        except Exception:
            logger.exception("recording the error of peer %s failed", self.peer.peer_id)

    def send_once(self) -> int:
        """Send one batch; returns how many items were settled (0: nothing to send)."""
        with session_scope(self._engine) as session:
            items = pending(session, self.peer.peer_id, BATCH)
            alerts = [item for item in items if item.kind == KIND_ALERT]
            messages = [self._alert_message(session, item) for item in alerts]
        if not items:
            return 0
        assert self._channel is not None
        stub = federation_pb2_grpc.FederationServiceStub(self._channel)
        outcomes: list[Outcome] = []
        if messages:
            outcomes += self._exchange(stub, alerts, messages)
        for item in items:
            if item.kind != KIND_ALERT:
                outcomes.append(self._publish(stub, item))
        with session_scope(self._engine) as session:
            record_outcomes(session, self.peer.peer_id, outcomes, self._clock())
        return len(outcomes)

    def _alert_message(self, session: Session, item: OutboxItem) -> federation_pb2.FederatedAlert:
        assert item.log_index is not None and item.leaf_hash is not None
        provenance = sign_alert(
            session,
            log=self._log,
            signing_key=self._signing_key,
            payload=item.payload,
            log_index=item.log_index,
            leaf_hash=bytes(item.leaf_hash),
        )
        return federation_pb2.FederatedAlert(alert_payload=item.payload, provenance=provenance)

    def _exchange(
        self,
        stub: federation_pb2_grpc.FederationServiceStub,
        items: list[OutboxItem],
        messages: list[federation_pb2.FederatedAlert],
    ) -> list[Outcome]:
        by_alert = {item.item_id: item for item in items}

        def requests() -> Iterator[federation_pb2.FederatedAlert]:
            yield from messages

        outcomes: list[Outcome] = []
        for ack in stub.ExchangeAlerts(requests(), timeout=self._config.call_timeout_seconds):
            item = by_alert.get(ack.alert_id)
            if item is None or item.id is None:
                continue
            if not ack.accepted:
                logger.warning(
                    "peer %s refused alert %s: %s", self.peer.peer_id, ack.alert_id, ack.reason
                )
            outcomes.append(Outcome(item.id, ack.accepted, ack.reason))
        return outcomes

    def _publish(
        self, stub: federation_pb2_grpc.FederationServiceStub, item: OutboxItem
    ) -> Outcome:
        assert item.id is not None and item.signature is not None
        request = federation_pb2.PublishAggregateRequest(
            release_payload=item.payload,
            provenance=federation_pb2.Provenance(
                origin_authority=self._config.authority_id,
                origin_key_id=item.signing_key_id or "",
                signature=bytes(item.signature),
            ),
        )
        response = stub.PublishAggregate(request, timeout=self._config.call_timeout_seconds)
        return Outcome(item.id, response.accepted, response.reason)
