"""nearmiss.audit against a real transparency log (SQLite) standing in for the authority,
and once over real gRPC on loopback."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool
from sqlmodel import Session

from authority.log import TransparencyLog, create_tables
from nearmiss.audit import STATE_FILE, Auditor
from nearmiss.errors import ConfigError, NearmissError, VerificationError
from nearmiss.proofs import hash_leaf
from nearmiss.rpc_errors import status_for
from nearmiss.signing import SigningContext, SigningKey
from nearmiss.v1 import authority_pb2, authority_pb2_grpc, log_pb2


class FakeAuthority:
    """A real log in its own database, exposing what the authority's RPCs return."""

    def __init__(self, key: SigningKey) -> None:
        self.key = key
        # One shared in-memory database, also for the gRPC server's threads.
        self.engine: Engine = create_engine(
            "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
        create_tables(self.engine)
        self.log = TransparencyLog(signing_key=key, authority_id="authority-test")

    def add(self, *items: bytes) -> list[authority_pb2.Receipt]:
        with Session(self.engine) as session:
            entries = self.log.append_many(session, list(items))
            session.commit()
            receipts = []
            for entry in entries:
                statement = authority_pb2.ReceiptStatement(
                    report_id=f"r-{entry.index}", lab_id="lab-a",
                    log_index=entry.index, leaf_hash=entry.leaf_hash,
                )
                receipts.append(authority_pb2.Receipt(
                    statement=statement,
                    statement_signature=self.key.sign(
                        SigningContext.RECEIPT, statement.SerializeToString(deterministic=True)
                    ),
                    authority_key_id=self.key.key_id,
                    tree_head=self.log.signed_tree_head(session),
                    inclusion_proof=self.log.inclusion_proof(session, entry.index),
                ))
            session.commit()
        return receipts

    def head(self) -> log_pb2.SignedTreeHead:
        with Session(self.engine) as session:
            head = self.log.signed_tree_head(session)
            session.commit()
            return head

    def consistency(self, first: int, second: int) -> log_pb2.ConsistencyProof:
        with Session(self.engine) as session:
            return self.log.consistency_proof(session, first, second)

    def inclusion(self, index: int, size: int) -> log_pb2.InclusionProof:
        with Session(self.engine) as session:
            return self.log.inclusion_proof(session, index, size)

    def auditor(
        self,
        state_dir: Path,
        *,
        fetch_head: Callable[[], log_pb2.SignedTreeHead] | None = None,
        fetch_inclusion: Callable[[int, int], log_pb2.InclusionProof] | None = None,
    ) -> Auditor:
        return Auditor(
            state_dir=state_dir,
            authority_key=self.key.verifying_key,
            fetch_head=fetch_head or self.head,
            fetch_consistency=self.consistency,
            fetch_inclusion=fetch_inclusion or self.inclusion,
        )


@pytest.fixture
def key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture
def authority(key: SigningKey) -> FakeAuthority:
    return FakeAuthority(key)


def leaves(start: int, count: int) -> list[bytes]:
    return [f"report {i}".encode() for i in range(start, start + count)]


def saved(state_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((state_dir / STATE_FILE).read_text())
    return data


def test_first_audit_then_consistent_growth(authority: FakeAuthority, tmp_path: Path) -> None:
    receipts = authority.add(*leaves(0, 5))
    first = authority.auditor(tmp_path).audit(receipts)
    assert (first.previous_size, first.tree_size, first.receipts_checked) == (None, 5, 5)
    assert "first audit" in first.summary()
    assert saved(tmp_path)["tree_size"] == 5

    receipts += authority.add(*leaves(5, 12))
    second = authority.auditor(tmp_path).audit(receipts, sample=4, rng=random.Random(3))
    assert (second.previous_size, second.tree_size, second.receipts_checked) == (5, 17, 4)
    assert "size 5 -> 17, append-only" in second.summary()

    third = authority.auditor(tmp_path).audit()
    assert (third.previous_size, third.tree_size) == (17, 17)
    assert saved(tmp_path)["root_hash"] == third.root_hash.hex()


def test_a_forked_log_fails_and_keeps_the_old_state(key: SigningKey, tmp_path: Path) -> None:
    honest = FakeAuthority(key)
    honest.add(*leaves(0, 6))
    honest.auditor(tmp_path).audit()
    before = saved(tmp_path)
    # Same key, same first five leaves, a different sixth, then more: a fork at size 6.
    forked = FakeAuthority(key)
    forked.add(*leaves(0, 5), b"rewritten report 5", *leaves(6, 4))
    with pytest.raises(VerificationError, match="does not extend the last audited head"):
        forked.auditor(tmp_path).audit()
    assert saved(tmp_path) == before

    same_size = FakeAuthority(key)
    same_size.add(*leaves(0, 5), b"another report 5")
    with pytest.raises(VerificationError, match="the log forked"):
        same_size.auditor(tmp_path).audit()


def test_a_shrunken_log_fails(authority: FakeAuthority, tmp_path: Path) -> None:
    authority.add(*leaves(0, 3))
    old_head = authority.head()
    authority.add(*leaves(3, 3))
    authority.auditor(tmp_path).audit()
    with pytest.raises(VerificationError, match=r"the log shrank: .* size 6, the newest head 3"):
        authority.auditor(tmp_path, fetch_head=lambda: old_head).audit()


def test_a_head_signed_by_another_key_fails(authority: FakeAuthority, tmp_path: Path) -> None:
    authority.add(*leaves(0, 3))
    impostor = FakeAuthority(SigningKey.generate())
    impostor.add(*leaves(0, 3))
    with pytest.raises(VerificationError, match=r"newest tree head .* is not valid"):
        authority.auditor(tmp_path, fetch_head=impostor.head).audit()

    def bad_signature() -> log_pb2.SignedTreeHead:
        head = authority.head()
        head.tree_size += 1
        return head

    with pytest.raises(VerificationError, match="signature does not verify"):
        authority.auditor(tmp_path, fetch_head=bad_signature).audit()
    assert not (tmp_path / STATE_FILE).exists()


def test_receipt_for_a_leaf_not_in_the_log_fails(
    authority: FakeAuthority, key: SigningKey, tmp_path: Path
) -> None:
    receipt = authority.add(*leaves(0, 4))[2]
    # The authority signs a receipt promising a leaf that is not at that index.
    receipt.statement.leaf_hash = hash_leaf(b"never logged")
    receipt.statement_signature = key.sign(
        SigningContext.RECEIPT, receipt.statement.SerializeToString(deterministic=True)
    )
    with pytest.raises(VerificationError, match=r"log index 2.*its own proof fails"):
        authority.auditor(tmp_path).audit([receipt])


def test_forged_receipt_and_bad_served_proof_fail(
    authority: FakeAuthority, tmp_path: Path
) -> None:
    receipts = authority.add(*leaves(0, 9))
    forged = authority_pb2.Receipt()
    forged.CopyFrom(receipts[4])
    forged.statement.report_id = "someone-else"
    with pytest.raises(VerificationError, match="receipt signature does not verify"):
        authority.auditor(tmp_path).audit([forged])

    def tampered(index: int, size: int) -> log_pb2.InclusionProof:
        proof = authority.inclusion(index, size)
        proof.audit_path[0] = bytes(32)
        return proof

    authority.add(*leaves(9, 3))  # the receipts' heads are now older than the newest
    with pytest.raises(VerificationError, match="is not in the newest tree \\(size 12\\)"):
        authority.auditor(tmp_path, fetch_inclusion=tampered).audit(receipts[:1])


def test_damaged_state_file_is_a_config_error(authority: FakeAuthority, tmp_path: Path) -> None:
    (tmp_path / STATE_FILE).write_text('{"tree_size": "many"}')
    with pytest.raises(ConfigError, match="is not a saved tree head"):
        authority.auditor(tmp_path).audit()


class LogService(authority_pb2_grpc.AuthorityServiceServicer):  # type: ignore[misc]
    """The three log RPCs, with errors mapped as the real servicer maps them."""

    def __init__(self, authority: FakeAuthority) -> None:
        self.authority = authority

    def _answer(self, context: Any, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except NearmissError as error:
            context.abort(*status_for(error))

    def GetTreeHead(self, request: Any, context: Any) -> Any:
        return self._answer(context, self.authority.head)

    def GetConsistencyProof(self, request: Any, context: Any) -> Any:
        return self._answer(
            context,
            lambda: self.authority.consistency(request.first_size, request.second_size),
        )

    def GetInclusionProof(self, request: Any, context: Any) -> Any:
        return self._answer(
            context, lambda: self.authority.inclusion(request.leaf_index, request.tree_size)
        )


@pytest.fixture
def served(key: SigningKey) -> Iterator[tuple[FakeAuthority, grpc.Channel]]:
    authority = FakeAuthority(key)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    service = LogService(authority)  # type: ignore[abstract]
    authority_pb2_grpc.add_AuthorityServiceServicer_to_server(service, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield authority, channel
    server.stop(None)


def test_audit_over_grpc(
    served: tuple[FakeAuthority, grpc.Channel], key: SigningKey, tmp_path: Path
) -> None:
    authority, channel = served
    receipts = authority.add(*leaves(0, 7))
    auditor = Auditor.over_grpc(channel, state_dir=tmp_path, authority_key=key.verifying_key)
    assert auditor.audit(receipts).tree_size == 7
    authority.add(*leaves(7, 2))
    assert auditor.audit(receipts[:2]).previous_size == 7

    # A receipt whose signed head is larger than any tree the authority now admits to:
    # the authority's NOT_FOUND comes back over gRPC and becomes a verification failure.
    elsewhere = FakeAuthority(key)
    newer = elsewhere.add(*leaves(0, 12))
    denied = (
        r"size 12 .* denies that tree exists: "
        r"the log has 9 entries; there is no tree of size 12 yet"
    )
    with pytest.raises(VerificationError, match=denied):
        auditor.audit(newer[:1])
