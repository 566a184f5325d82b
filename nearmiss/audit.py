"""Auditing an authority's transparency log from the outside (``nearmiss audit``).

Rules, in the order the audit applies them:

1. The newest tree head must carry the authority's key id and a valid signature.
2. If an earlier head was seen (``STATE_DIR/last_tree_head.json``), the log may not have
   shrunk, and the authority must prove the newest tree extends it (RFC 9162 §2.1.4);
   equal sizes need equal roots. Anything else is a fork and fails the audit.
3. Each spot-checked receipt must be signed by the authority, its own tree head must be
   signed and contain the receipt's leaf, that head must be consistent with the newest
   head, and the authority must prove the leaf is in the newest tree too.
4. The newest head replaces the saved one only after every check passed (written to a
   temporary file and renamed, so a crash never leaves half a state file).

Every mismatch raises ``VerificationError`` naming the sizes and what differed. Failures
to reach the authority surface as the fetchers' own errors (e.g. ``UnavailableError``), so
"the log is inconsistent" and "the authority is down" stay distinguishable.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from nearmiss.errors import ConfigError, NotFoundError, SignatureError, VerificationError
from nearmiss.proofs import (
    head_timestamp_ms,
    verify_consistency,
    verify_inclusion,
    verify_inclusion_proof,
    verify_tree_head,
)
from nearmiss.rpc_errors import error_for
from nearmiss.signing import SigningContext, VerifyingKey
from nearmiss.v1 import authority_pb2, authority_pb2_grpc, log_pb2

__all__ = ["STATE_FILE", "AuditResult", "Auditor"]

STATE_FILE = "last_tree_head.json"

FetchHead = Callable[[], log_pb2.SignedTreeHead]
FetchConsistency = Callable[[int, int], log_pb2.ConsistencyProof]
FetchInclusion = Callable[[int, int], log_pb2.InclusionProof]


@dataclass(frozen=True)
class AuditResult:
    authority_key_id: str
    tree_size: int
    root_hash: bytes
    timestamp_ms: int
    previous_size: int | None
    receipts_checked: int

    def summary(self) -> str:
        """One paragraph for a person: what was proven."""
        if self.previous_size is None:
            history = "first audit: no earlier tree head to compare (trusting this one from now)"
        elif self.previous_size == self.tree_size:
            history = f"unchanged since the last audit (size {self.tree_size}, same root)"
        else:
            history = (
                f"consistent with the last audited head: size {self.previous_size} -> "
                f"{self.tree_size}, append-only"
            )
        return (
            f"log of authority key {self.authority_key_id}: size {self.tree_size}, root "
            f"{self.root_hash.hex()}; {history}; {self.receipts_checked} receipt(s) proven "
            "included"
        )


class Auditor:
    """Checks one authority's log against what this auditor saw before."""

    def __init__(
        self,
        *,
        state_dir: str | Path,
        authority_key: VerifyingKey,
        fetch_head: FetchHead,
        fetch_consistency: FetchConsistency,
        fetch_inclusion: FetchInclusion,
    ) -> None:
        self._state_path = Path(state_dir) / STATE_FILE
        self._key = authority_key
        self._fetch_head = fetch_head
        self._fetch_consistency = fetch_consistency
        self._fetch_inclusion = fetch_inclusion

    @classmethod
    def over_grpc(
        cls,
        channel: grpc.Channel,
        *,
        state_dir: str | Path,
        authority_key: VerifyingKey,
        timeout_s: float = 10.0,
    ) -> Auditor:
        """An auditor fetching from ``AuthorityService`` over a ready channel."""
        stub = authority_pb2_grpc.AuthorityServiceStub(channel)  # type: ignore[no-untyped-call]

        def call(method: Any, request: Any) -> Any:
            try:
                return method(request, timeout=timeout_s)
            except grpc.RpcError as error:
                raise error_for(error.code(), error.details() or "") from None

        return cls(
            state_dir=state_dir,
            authority_key=authority_key,
            fetch_head=lambda: call(stub.GetTreeHead, authority_pb2.GetTreeHeadRequest()),
            fetch_consistency=lambda first, second: call(
                stub.GetConsistencyProof,
                authority_pb2.GetConsistencyProofRequest(first_size=first, second_size=second),
            ),
            fetch_inclusion=lambda index, size: call(
                stub.GetInclusionProof,
                authority_pb2.GetInclusionProofRequest(leaf_index=index, tree_size=size),
            ),
        )

    # -- the audit ---------------------------------------------------------------------

    def audit(
        self,
        receipts: Sequence[authority_pb2.Receipt] = (),
        *,
        sample: int | None = None,
        rng: random.Random | None = None,
    ) -> AuditResult:
        """Run the checks in the module docstring; ``sample`` spot-checks that many of
        ``receipts`` chosen at random (all of them when None)."""
        previous = self.last_seen()
        head = self._fetch_head()
        self._check_signed(head, "the newest tree head")
        if previous is not None:
            self._check_extends(previous, head, "the last audited head")
        chosen = list(receipts)
        if sample is not None and sample < len(chosen):
            chosen = (rng or random.Random()).sample(chosen, sample)
        for receipt in chosen:
            self._check_receipt(receipt, head)
        self._save(head)
        return AuditResult(
            authority_key_id=head.authority_key_id,
            tree_size=head.tree_size,
            root_hash=head.root_hash,
            timestamp_ms=head_timestamp_ms(head),
            previous_size=None if previous is None else previous.tree_size,
            receipts_checked=len(chosen),
        )

    def _check_signed(self, head: log_pb2.SignedTreeHead, what: str) -> None:
        try:
            verify_tree_head(head, self._key)
        except (SignatureError, VerificationError) as error:
            raise VerificationError(
                f"{what} (size {head.tree_size}) is not valid: {error}"
            ) from None

    def _check_extends(
        self, older: log_pb2.SignedTreeHead, newer: log_pb2.SignedTreeHead, what: str
    ) -> None:
        """``newer`` must be the same tree as ``older`` or an append-only extension."""
        if newer.tree_size < older.tree_size:
            raise VerificationError(
                f"the log shrank: {what} has size {older.tree_size}, the newest head "
                f"{newer.tree_size}"
            )
        proof: list[bytes] = []
        if newer.tree_size != older.tree_size:
            fetched = self._fetch_consistency(older.tree_size, newer.tree_size)
            if (fetched.first_size, fetched.second_size) != (older.tree_size, newer.tree_size):
                raise VerificationError(
                    f"asked for a consistency proof from size {older.tree_size} to "
                    f"{newer.tree_size}, got one from {fetched.first_size} to "
                    f"{fetched.second_size}"
                )
            proof = list(fetched.proof_hashes)
        try:
            verify_consistency(
                older.tree_size, newer.tree_size, older.root_hash, newer.root_hash, proof
            )
        except VerificationError as error:
            raise VerificationError(f"the newest head does not extend {what}: {error}") from None

    def _check_receipt(self, receipt: authority_pb2.Receipt, head: log_pb2.SignedTreeHead) -> None:
        statement = receipt.statement
        name = (
            f"receipt for report {statement.report_id or '(no id)'} "
            f"(log index {statement.log_index})"
        )
        if receipt.authority_key_id != self._key.key_id:
            raise VerificationError(
                f"{name} is signed with key {receipt.authority_key_id or '(none)'}, not the "
                f"authority's key {self._key.key_id}"
            )
        try:
            self._key.verify(
                SigningContext.RECEIPT,
                statement.SerializeToString(deterministic=True),
                receipt.statement_signature,
            )
        except SignatureError as error:
            raise VerificationError(f"{name}: {error}") from None
        own_head = receipt.tree_head
        self._check_signed(own_head, f"the tree head in the {name}")
        if receipt.inclusion_proof.leaf_index != statement.log_index:
            raise VerificationError(
                f"{name} carries a proof for leaf {receipt.inclusion_proof.leaf_index}"
            )
        try:
            verify_inclusion_proof(statement.leaf_hash, receipt.inclusion_proof, own_head)
        except VerificationError as error:
            raise VerificationError(f"{name}: its own proof fails: {error}") from None
        if own_head.tree_size <= head.tree_size:
            self._check_extends(own_head, head, f"the tree head in the {name}")
        else:  # Issued after the newest head was fetched: it must extend that head.
            try:
                self._check_extends(head, own_head, "the newest head")
            except NotFoundError as error:
                raise VerificationError(
                    f"the authority signed a tree head of size {own_head.tree_size} in the "
                    f"{name}, but denies that tree exists: {error}"
                ) from None
            return
        fetched = self._fetch_inclusion(statement.log_index, head.tree_size)
        if (fetched.leaf_index, fetched.tree_size) != (statement.log_index, head.tree_size):
            raise VerificationError(
                f"asked for an inclusion proof of leaf {statement.log_index} in size "
                f"{head.tree_size}, got leaf {fetched.leaf_index} in size {fetched.tree_size}"
            )
        try:
            verify_inclusion(
                statement.leaf_hash,
                statement.log_index,
                head.tree_size,
                list(fetched.audit_path),
                head.root_hash,
            )
        except VerificationError as error:
            raise VerificationError(
                f"{name} is not in the newest tree (size {head.tree_size}): {error}"
            ) from None

    # -- saved state -------------------------------------------------------------------

    def last_seen(self) -> log_pb2.SignedTreeHead | None:
        """The head saved by the last successful audit, re-checked; None if none yet."""
        try:
            text = self._state_path.read_text()
        except FileNotFoundError:
            return None
        except OSError as error:
            raise ConfigError(
                f"cannot be read: {error.strerror}", source=str(self._state_path)
            ) from None
        try:
            data = json.loads(text)
            head = log_pb2.SignedTreeHead(
                tree_size=int(data["tree_size"]),
                root_hash=bytes.fromhex(data["root_hash"]),
                signature=bytes.fromhex(data["signature"]),
                authority_key_id=str(data["authority_key_id"]),
            )
            timestamp_ms = int(data["timestamp_ms"])
        except (ValueError, KeyError, TypeError) as error:
            raise ConfigError(
                f"is not a saved tree head ({type(error).__name__}: {error}); move it away to "
                "start over",
                source=str(self._state_path),
            ) from None
        head.timestamp.seconds, head.timestamp.nanos = divmod(timestamp_ms, 1000)
        head.timestamp.nanos *= 1_000_000
        if head.authority_key_id == self._key.key_id:
            self._check_signed(head, f"the saved tree head in {self._state_path}")
        return head

    def _save(self, head: log_pb2.SignedTreeHead) -> None:
        data = {
            "authority_key_id": head.authority_key_id,
            "tree_size": head.tree_size,
            "root_hash": head.root_hash.hex(),
            "timestamp_ms": head_timestamp_ms(head),
            "signature": head.signature.hex(),
        }
        self._state_path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self._state_path.with_name(f".{STATE_FILE}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(data, indent=2) + "\n")
        os.replace(temporary, self._state_path)
