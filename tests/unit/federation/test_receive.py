"""Receiving federated items in-process: provenance checks, de-duplication, drops."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from authority.alerts.tables import AlertDelivery, AlertRecord
from authority.database import session_scope
from authority.federation.outbox import pending
from authority.federation.provenance import sign_alert
from authority.federation.tables import DroppedItem, OutboxItem, PeerState, ReceivedAggregate
from authority.privacy.aggregates import Period
from authority.privacy.release import AggregateRelease, SignedRelease
from nearmiss.signing import SigningContext, SigningKey
from nearmiss.v1 import authority_pb2, federation_pb2
from tests.unit.alerts.support import file_report, make_report, snapshot
from tests.unit.federation.support import Node, build, institutes


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[Node, Node]]:
    eu, us = (build(i) for i in institutes(tmp_path, "eu-ai-office", "us-caisi"))
    yield eu, us
    eu.close()
    us.close()


def raise_in(node: Node) -> OutboxItem:
    """A multi-lab case at ``node``: one outbox row for its peer."""
    reports = [make_report(lab) for lab in ("lab-aurora", "lab-borealis")]
    for report in reports:
        file_report(node.app, node.institute.network, report)
    node.alerts.raise_for_case(snapshot(node.app, "case-f", reports))
    with Session(node.app.engine) as session:
        (item,) = pending(session, "us-caisi", 10)
    return item


def message(node: Node, item: OutboxItem, **changes: object) -> federation_pb2.FederatedAlert:
    assert item.log_index is not None and item.leaf_hash is not None
    with session_scope(node.app.engine) as session:
        provenance = sign_alert(
            session,
            log=node.app.log,
            signing_key=node.app.signing_key,
            payload=item.payload,
            log_index=item.log_index,
            leaf_hash=bytes(item.leaf_hash),
        )
    for name, value in changes.items():
        if name == "payload":
            continue
        setattr(provenance, name, value)
    payload = changes.get("payload", item.payload)
    assert isinstance(payload, bytes)
    return federation_pb2.FederatedAlert(alert_payload=payload, provenance=provenance)


def eu_peer(us: Node):
    return us.federation.config.peers["eu-ai-office"]


def drops(node: Node) -> list[str]:
    with Session(node.app.engine) as session:
        return [d.reason for d in session.exec(select(DroppedItem))]


def test_a_verified_alert_is_stored_once_and_reaches_local_staff(pair) -> None:
    eu, us = pair
    item = raise_in(eu)
    federated = message(eu, item)
    first = us.federation.servicer.receive_alert(eu_peer(us), federated)
    again = us.federation.servicer.receive_alert(eu_peer(us), message(eu, item))
    assert first.accepted and again.accepted and first.alert_id == item.item_id
    with Session(us.app.engine) as session:
        (record,) = session.exec(select(AlertRecord)).all()
        assert record.origin_authority == "eu-ai-office" and record.received_from == "eu-ai-office"
        recipients = {d.recipient for d in session.exec(select(AlertDelivery))}
        state = session.get(PeerState, "eu-ai-office")
    assert recipients == {"analyst", "inst-duty"}
    assert state is not None and state.received == 1 and state.last_contact_at is not None
    # What crossed is the peer-institute view: never the reporting labs' ids.
    assert b"lab-aurora" not in federated.alert_payload
    assert b"lab-borealis" not in federated.alert_payload


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"payload": b"tampered"}, "not a valid protobuf|signature does not verify"),
        ({"log_index": 0}, "inclusion proof is for leaf"),
        ({"leaf_hash": bytes(32)}, "inclusion proof for leaf"),
        ({"origin_authority": "uk-aisi"}, "came from eu-ai-office"),
        ({"origin_key_id": "00" * 16}, "signed with key"),
    ],
)
def test_an_item_failing_provenance_is_dropped_and_logged(pair, change, expected) -> None:
    eu, us = pair
    item = raise_in(eu)
    tampered = message(eu, item, **change)
    if "payload" in change:
        alert = authority_pb2.Alert.FromString(item.payload)
        alert.summary = "edited in transit"
        tampered.alert_payload = alert.SerializeToString(deterministic=True)
    ack = us.federation.servicer.receive_alert(eu_peer(us), tampered)
    assert not ack.accepted
    assert ack.reason and __import__("re").search(expected, ack.reason)
    with Session(us.app.engine) as session:
        assert session.exec(select(AlertRecord)).all() == []
    assert drops(us) == [ack.reason]


def test_a_head_signed_by_another_key_is_refused(pair) -> None:
    eu, us = pair
    item = raise_in(eu)
    federated = message(eu, item)
    other = SigningKey.generate()
    head = federated.provenance.tree_head
    head.signature = other.sign(SigningContext.TREE_HEAD, b"x")
    ack = us.federation.servicer.receive_alert(eu_peer(us), federated)
    assert not ack.accepted and "tree-head signature does not verify" in ack.reason


def test_two_heads_of_one_size_with_different_roots_show_a_fork(pair) -> None:
    eu, us = pair
    item = raise_in(eu)
    assert us.federation.servicer.receive_alert(eu_peer(us), message(eu, item)).accepted
    with session_scope(us.app.engine) as session:
        state = session.get(PeerState, "eu-ai-office")
        assert state is not None
        state.last_head_root = bytes(32)
        session.add(state)
    ack = us.federation.servicer.receive_alert(eu_peer(us), message(eu, item))
    assert not ack.accepted and "forked" in ack.reason


def release_from(node: Node) -> SignedRelease:
    now = datetime.now(UTC)
    release = AggregateRelease(
        release_id=f"rel-{random.randrange(10**9)}",
        origin_authority=node.institute.authority_id,
        period=Period("2026-W47", now - timedelta(days=7), now),
        released_at=now,
        cells=(),
        mechanism="gaussian-analytic",
        epsilon=1.0,
        delta=1e-6,
        noise_sigma=3.7,
        contribution_cap=1,
    )
    payload = release.canonical_bytes()
    key = node.app.signing_key
    return SignedRelease(
        release, payload, key.sign(SigningContext.FEDERATED_ITEM, payload), key.key_id, 5, 1.0
    )


def test_aggregate_releases_are_verified_and_stored_once(pair) -> None:
    eu, us = pair
    signed = release_from(eu)
    servicer = us.federation.servicer
    assert servicer.receive_aggregate(eu_peer(us), signed.publish_request()).accepted
    assert servicer.receive_aggregate(eu_peer(us), signed.publish_request()).accepted
    forged = signed.publish_request()
    forged.release_payload = release_from(eu).payload
    refused = servicer.receive_aggregate(eu_peer(us), forged)
    assert not refused.accepted and "signature does not verify" in refused.reason
    with Session(us.app.engine) as session:
        (stored,) = session.exec(select(ReceivedAggregate)).all()
    assert stored.release_id == signed.release.release_id and stored.payload == signed.payload
