"""FederationService, the receiving side: authenticate the peer, verify, de-duplicate.

Rules:

* Every call first authenticates the peer (``authority.federation.trust``); a refusal
  is UNAUTHENTICATED and goes to the security audit trail.
* Each item is judged alone: one that fails the provenance check
  (``authority.federation.provenance``), names another origin, cannot be decoded, or
  shows a forked log is dropped — answered ``accepted = false`` with the reason,
  recorded in ``nm_federation_drop`` and logged — and the stream goes on.
* An accepted alert is stored once per alert id: a repeat (the sender did not see our
  ack) is answered ``accepted = true`` and stores nothing. It then reaches this
  authority's analysts and institutes like its own alerts (``AlertService``).
* Aggregate releases are verified the same way (without a log entry) and stored once
  per release id; the same id with other bytes is dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import grpc
from google.protobuf.message import DecodeError
from sqlalchemy.engine import Engine
from sqlmodel import Session

from authority.alerts.service import AlertService
from authority.database import session_scope
from authority.federation.config import PeerConfig
from authority.federation.outbox import peer_state
from authority.federation.provenance import verify
from authority.federation.tables import KIND_AGGREGATE, KIND_ALERT, DroppedItem, ReceivedAggregate
from authority.federation.trust import PeerAuthenticator
from authority.security_log import SecurityLog
from nearmiss.errors import ConflictError, NearmissError, VerificationError
from nearmiss.identity import Party, Role
from nearmiss.rpc_errors import status_for
from nearmiss.v1 import authority_pb2, federation_pb2, federation_pb2_grpc

logger = logging.getLogger("nearmiss.federation")


class FederationServicer(federation_pb2_grpc.FederationServiceServicer):
    def __init__(
        self,
        *,
        authenticator: PeerAuthenticator,
        engine: Engine,
        alerts: AlertService,
        security_log: SecurityLog | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self._authenticator = authenticator
        self._engine = engine
        self._alerts = alerts
        self._security_log = security_log or SecurityLog()
        self._clock = clock

    def _peer(self, context: grpc.ServicerContext, rpc: str) -> PeerConfig:
        try:
            return self._authenticator.from_context(context)
        except NearmissError as error:
            code, message = status_for(error)
            self._security_log.refusal(
                party=None, rpc=f"Federation.{rpc}", code=code, reason=message, peer=context.peer()
            )
            context.abort(code, message)
            raise AssertionError("unreachable: abort raises") from None

    # -- alerts ------------------------------------------------------------------------

    def ExchangeAlerts(
        self,
        request_iterator: Iterator[federation_pb2.FederatedAlert],
        context: grpc.ServicerContext,
    ) -> Iterator[federation_pb2.FederatedAlertAck]:
        peer = self._peer(context, "ExchangeAlerts")
        for item in request_iterator:
            yield self.receive_alert(peer, item)

    def receive_alert(
        self, peer: PeerConfig, item: federation_pb2.FederatedAlert
    ) -> federation_pb2.FederatedAlertAck:
        alert_id = ""
        try:
            alert = authority_pb2.Alert.FromString(item.alert_payload)
            alert_id = alert.alert_id
            if alert.origin_authority != peer.peer_id:
                raise VerificationError(
                    f"alert names origin {alert.origin_authority or '(none)'} but came from "
                    f"{peer.peer_id}; items are not relayed"
                )
            verify(item.provenance, item.alert_payload, peer, needs_log_entry=True)
            with session_scope(self._engine) as session:
                self._check_fork(session, peer, item.provenance)
                new = self._alerts.accept_federated(
                    session,
                    alert,
                    from_peer=peer.peer_id,
                    payload=item.alert_payload,
                    provenance=item.provenance.SerializeToString(deterministic=True),
                )
                self._note_received(session, peer, new=new)
        except (DecodeError, NearmissError) as error:
            reason = _reason(error)
            self._drop(peer, KIND_ALERT, alert_id, reason)
            return federation_pb2.FederatedAlertAck(
                alert_id=alert_id, accepted=False, reason=reason
            )
        return federation_pb2.FederatedAlertAck(alert_id=alert_id, accepted=True)

    def _note_received(self, session: Session, peer: PeerConfig, *, new: bool) -> None:
        """Record contact with ``peer``, counting the item only the first time it arrives."""
        state = peer_state(session, peer.peer_id)
        state.last_contact_at = state.last_received_at = self._clock()
        state.received += int(new)
        session.add(state)

    def _check_fork(
        self, session: Session, peer: PeerConfig, provenance: federation_pb2.Provenance
    ) -> None:
        head = provenance.tree_head
        state = peer_state(session, peer.peer_id)
        known_root = state.last_head_root if state.last_head_size == head.tree_size else None
        if known_root is not None and bytes(known_root) != head.root_hash:
            raise VerificationError(
                f"{peer.peer_id} signed two tree heads of size {head.tree_size} with "
                "different roots: its log forked"
            )
        if state.last_head_size is None or head.tree_size >= state.last_head_size:
            state.last_head_size = head.tree_size
            state.last_head_root = head.root_hash
            session.add(state)

    # -- aggregates --------------------------------------------------------------------

    def PublishAggregate(
        self, request: federation_pb2.PublishAggregateRequest, context: grpc.ServicerContext
    ) -> federation_pb2.PublishAggregateResponse:
        peer = self._peer(context, "PublishAggregate")
        return self.receive_aggregate(peer, request)

    def receive_aggregate(
        self, peer: PeerConfig, request: federation_pb2.PublishAggregateRequest
    ) -> federation_pb2.PublishAggregateResponse:
        release_id = ""
        try:
            release = federation_pb2.AggregateRelease.FromString(request.release_payload)
            release_id = release.release_id
            if release.origin_authority != peer.peer_id:
                raise VerificationError(
                    f"release names origin {release.origin_authority or '(none)'} but came "
                    f"from {peer.peer_id}"
                )
            verify(request.provenance, request.release_payload, peer, needs_log_entry=False)
            with session_scope(self._engine) as session:
                existing = session.get(ReceivedAggregate, release_id)
                if existing is not None and existing.payload != request.release_payload:
                    raise ConflictError(
                        f"release {release_id} is already stored with different content"
                    )
                if existing is None:
                    session.add(
                        ReceivedAggregate(
                            release_id=release_id,
                            origin_authority=peer.peer_id,
                            payload=request.release_payload,
                            signature=request.provenance.signature,
                            signing_key_id=request.provenance.origin_key_id,
                            received_at=self._clock(),
                        )
                    )
                self._note_received(session, peer, new=existing is None)
        except (DecodeError, NearmissError) as error:
            reason = _reason(error)
            self._drop(peer, KIND_AGGREGATE, release_id, reason)
            return federation_pb2.PublishAggregateResponse(accepted=False, reason=reason)
        return federation_pb2.PublishAggregateResponse(accepted=True)

    # -- drops -------------------------------------------------------------------------

    def _drop(self, peer: PeerConfig, kind: str, item_id: str, reason: str) -> None:
        logger.warning(
            "dropped %s %s from peer %s: %s", kind, item_id or "(undecodable)", peer.peer_id, reason
        )
        self._security_log.refusal(
            party=Party(peer.peer_id, Role.AUTHORITY),
            rpc=f"Federation.{kind}",
            code=grpc.StatusCode.INVALID_ARGUMENT,
            reason=reason,
            peer=peer.address,
        )
        try:
            with session_scope(self._engine) as session:
                session.add(
                    DroppedItem(
                        peer_id=peer.peer_id,
                        kind=kind,
                        item_id=item_id[:64],
                        reason=reason[:500],
                        dropped_at=self._clock(),
                    )
                )
                state = peer_state(session, peer.peer_id)
                state.dropped += 1
                session.add(state)
        except Exception:
            logger.exception("recording a dropped item from %s failed", peer.peer_id)


def _reason(error: Exception) -> str:
    if isinstance(error, DecodeError):
        return "the payload is not a valid protobuf message"
    return str(error)
