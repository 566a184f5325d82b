"""What the replica and fault tests share: signed reports, persistent submitters, and the
checks that a stored log is complete and consistent.

Rules the checks enforce (the invariants every fault must leave intact):

* every report sent is stored exactly once (``nm_report`` has one row per report id);
* the log has exactly one leaf per stored report, at dense indexes ``0..n-1``, and each
  report row points at the leaf holding the hash of its signed bytes;
* a signed tree head verifies with the authority's key and its root equals the Merkle
  root recomputed from the stored leaves (RFC 9162, ``authority.log.reference``).

A submitter retries a report until it gets a receipt, as a node's outbox does: an
UNAVAILABLE answer or a dropped connection is "try again", anything else is a failure.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import grpc
from sqlalchemy import create_engine, text

from authority.config import AuthorityConfig
from authority.log.reference import mth
from nearmiss.canonical import report_from_canonical
from nearmiss.devnet import DevNetwork
from nearmiss.errors import NearmissError, UnavailableError
from nearmiss.model import IncidentReport
from nearmiss.proofs import verify_tree_head
from nearmiss.receipt_check import verify_receipt
from nearmiss.reportfile import load_report
from nearmiss.signed_report import leaf_hash, sign_report
from nearmiss.signing import SigningKey, VerifyingKey
from nearmiss.v1 import authority_pb2, log_pb2, node_pb2, node_pb2_grpc, report_pb2
from node.client import GrpcAuthorityClient, secure_channel
from node.config import NodeConfig
from node.signer import prepare_for_sending
from node.store import NodeStore
from tests.conftest import EXAMPLES

TEMPLATE = EXAMPLES / "nm-agent-oversight-tampering.yaml"


def signed_reports(network: DevNetwork, lab: str, count: int) -> list[report_pb2.SignedReport]:
    """``count`` distinct reports filed by ``lab``, signed with its key, ready to send."""
    key = SigningKey.from_file(NodeConfig.load(network.node_config_path(lab)).signing_key_path)
    template = load_report(TEMPLATE)
    now = datetime.now(UTC).replace(microsecond=0)
    out = []
    for n in range(count):
        report = template.model_copy(
            update={"lab_id": lab, "report_id": str(uuid.uuid4()), "title": f"Fault run {n}"}
        )
        prepared = prepare_for_sending(IncidentReport.model_validate(report), lab_id=lab, now=now)
        out.append(sign_report(prepared, key))
    return out


def report_id_of(signed: report_pb2.SignedReport) -> str:
    return report_from_canonical(signed.canonical_report).report_id


def lab_client(network: DevNetwork, lab: str, address: str) -> GrpcAuthorityClient:
    config = NodeConfig.load(network.node_config_path(lab))
    return GrpcAuthorityClient(secure_channel(address, config.tls), deadline_s=10.0)


def authority_key(network: DevNetwork) -> VerifyingKey:
    return VerifyingKey.from_file(network.directory / network.authority_id / "signing.pub")


@dataclass
class Submitter:
    """One lab sending its reports in order, retrying each until it has a receipt.

    ``addresses`` are tried in turn (one per authority replica); ``pause`` lets a test
    throttle so that a fault lands mid-burst.
    """

    network: DevNetwork
    lab: str
    addresses: Callable[[], Sequence[str]]
    reports: Sequence[report_pb2.SignedReport]
    give_up_after_s: float = 90.0
    pause_s: float = 0.0
    receipts: dict[str, authority_pb2.Receipt] = field(default_factory=dict)
    retries: int = 0
    failures: list[str] = field(default_factory=list)
    thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, name=f"submit-{self.lab}", daemon=True)
        self.thread.start()

    def join(self, timeout: float) -> None:
        assert self.thread is not None
        self.thread.join(timeout)
        assert not self.thread.is_alive(), f"{self.lab} still submitting after {timeout} s"

    def _run(self) -> None:
        key = authority_key(self.network)
        clients: dict[str, GrpcAuthorityClient] = {}
        try:
            for n, signed in enumerate(self.reports):
                receipt = self._until_receipt(clients, signed, n)
                if receipt is None:
                    return
                report_id = receipt.statement.report_id
                verify_receipt(
                    receipt, sent=signed, report_id=report_id, lab_id=self.lab, authority_key=key
                )
                self.receipts[report_id] = receipt
                if self.pause_s:
                    time.sleep(self.pause_s)
        except Exception as error:  # reported to the test thread, which fails on it
            self.failures.append(f"{type(error).__name__}: {error}")
        finally:
            for client in clients.values():
                client.close()

    def _until_receipt(
        self,
        clients: dict[str, GrpcAuthorityClient],
        signed: report_pb2.SignedReport,
        n: int,
    ) -> authority_pb2.Receipt | None:
        deadline = time.monotonic() + self.give_up_after_s
        attempt = 0
        while time.monotonic() < deadline:
            addresses = list(self.addresses())
            address = addresses[(n + attempt) % len(addresses)]
            attempt += 1
            client = clients.get(address)
            if client is None:
                client = clients[address] = lab_client(self.network, self.lab, address)
            try:
                return client.submit(signed)
            except UnavailableError:
                self.retries += 1
                time.sleep(0.05)
            except NearmissError as error:
                self.failures.append(f"{type(error).__name__}: {error}")
                return None
        self.failures.append(f"no receipt within {self.give_up_after_s} s")
        return None


@dataclass(frozen=True)
class StoredLog:
    """What the database holds after a run, read straight from the tables."""

    report_rows: list[tuple[str, int, bytes]]  # (report_id, log_index, leaf_hash)
    leaves: list[tuple[int, bytes]]  # (leaf_index, leaf_hash) by index
    tree_size: int

    @classmethod
    def read(cls, database_url: str) -> StoredLog:
        engine = create_engine(database_url)
        try:
            with engine.connect() as connection:
                reports = connection.execute(
                    text("SELECT report_id, log_index, leaf_hash FROM nm_report ORDER BY log_index")
                ).all()
                leaves = connection.execute(
                    text("SELECT leaf_index, leaf_hash FROM nm_log_leaf ORDER BY leaf_index")
                ).all()
                size = connection.execute(text("SELECT tree_size FROM nm_log_state")).scalar_one()
        finally:
            engine.dispose()
        return cls(
            report_rows=[(r[0], int(r[1]), bytes(r[2])) for r in reports],
            leaves=[(int(r[0]), bytes(r[1])) for r in leaves],
            tree_size=int(size),
        )

    def root(self, size: int | None = None) -> bytes:
        hashes = [h for _, h in self.leaves]
        return mth(hashes if size is None else hashes[:size])


def assert_each_report_once(
    stored: StoredLog, sent: Sequence[report_pb2.SignedReport]
) -> None:
    """The invariants in the module docstring, with the numbers that failed."""
    expected = {report_id_of(s): leaf_hash(s) for s in sent}
    ids = [row[0] for row in stored.report_rows]
    assert len(ids) == len(set(ids)), "a report id is stored twice"
    assert set(ids) == set(expected), (
        f"stored {len(ids)} reports, sent {len(expected)} distinct; "
        f"missing {len(set(expected) - set(ids))}, unexpected {len(set(ids) - set(expected))}"
    )
    n = len(expected)
    assert stored.tree_size == n, f"log size {stored.tree_size}, expected {n}"
    assert [index for index, _ in stored.leaves] == list(range(n)), "leaf indexes not 0..n-1"
    by_index = dict(stored.leaves)
    for report_id, log_index, row_leaf in stored.report_rows:
        assert row_leaf == expected[report_id], f"report {report_id} holds other bytes"
        assert by_index[log_index] == row_leaf, f"leaf {log_index} is not report {report_id}"


def assert_head_matches(
    head: log_pb2.SignedTreeHead, stored: StoredLog, key: VerifyingKey
) -> None:
    verify_tree_head(head, key)
    assert head.tree_size <= stored.tree_size
    assert head.root_hash == stored.root(head.tree_size), (
        f"head root for size {head.tree_size} differs from the root of the stored leaves"
    )


def assert_no_stack_trace(output: str, where: str) -> None:
    """Refusals and logged failures are one readable line: no traceback and no stack
    frames (``traceback.format_tb`` lines start with '  File "')."""
    assert "Traceback" not in output, f"a traceback in {where}"
    assert '  File "' not in output, f"stack frames in {where}"


def unlinked_reports(database_url: str) -> int:
    """Stored reports the case linker has not linked into a case yet."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            query = text("SELECT COUNT(*) FROM nm_report WHERE linked_at IS NULL")
            return int(connection.execute(query).scalar_one())
    finally:
        engine.dispose()


def database_url_of(network: DevNetwork) -> str:
    return AuthorityConfig.load(network.authority_config_path()).database_url


def configure_case_linker(network: DevNetwork, *, enabled: bool) -> None:
    """Turn the authority's case linker off, or on with a short retry interval.

    Off, for fault tests about storage and the log: its model takes seconds of CPU to
    load when the first report arrives, so there it would only start after the fault,
    check nothing, and hold up the authority's shutdown until loaded. On, for the
    database-fault tests, which make it meet the fault; it then retries every 0.4 s
    (4 polls) instead of 2 s, so it catches up soon after the fault is gone.
    """
    path = network.authority_config_path()
    table = f"\n[dedup]\nenabled = {str(enabled).lower()}\npoll_seconds = 0.1\n"
    path.write_text(path.read_text() + table)


def write_replica_config(network: DevNetwork, name: str, port: int) -> Path:
    """A second authority config beside the first: same database, keys and parties, its
    own listen port and data directory."""
    source = network.authority_config_path()
    lines = []
    for line in source.read_text().splitlines():
        if line.startswith("listen = "):
            line = f'listen = "127.0.0.1:{port}"'
        elif line.startswith("data_dir = "):
            line = f'data_dir = "data-{name}"'
        lines.append(line)
    target = source.with_name(f"authority-{name}.toml")
    target.write_text("\n".join(lines) + "\n")
    return target


# -- real nodes ------------------------------------------------------------------------

FAST_RETRY = "[outbox]\nretry_initial_s = 0.2\nretry_max_s = 1.0\npoll_s = 0.2\n"


@dataclass(frozen=True)
class OutboxCounts:
    pending: int
    delivered: int
    refused: int
    last_errors: list[str]


def outbox_counts(config: Path) -> OutboxCounts:
    """What a node's outbox holds, read from its database (the node may be running)."""
    with NodeStore(NodeConfig.load(config).database_path) as store, store.read() as db:
        counts = dict(db.all("SELECT state, COUNT(*) FROM reports GROUP BY state"))
        errors = [
            str(row[0])
            for row in db.all("SELECT last_error FROM reports WHERE last_error IS NOT NULL")
        ]
    return OutboxCounts(
        int(counts.get("pending", 0)),
        int(counts.get("delivered", 0)),
        int(counts.get("refused", 0)),
        errors,
    )


def outbox_reports(config: Path) -> list[report_pb2.SignedReport]:
    """The signed reports a node's outbox holds, whatever their state: exactly the bytes
    it sends, so ``assert_each_report_once`` can check what the authority stored."""
    with NodeStore(NodeConfig.load(config).database_path) as store, store.read() as db:
        rows = db.all("SELECT signed FROM reports ORDER BY queued_at")
    return [report_pb2.SignedReport.FromString(bytes(row[0])) for row in rows]


def file_through_local_api(address: str, documents: Sequence[bytes]) -> list[str]:
    """File each document with the node's FileReport, as a lab system would; returns the
    report ids the node accepted into its outbox."""
    filed = []
    with grpc.insecure_channel(address) as channel:
        stub = node_pb2_grpc.NodeServiceStub(channel)
        for n, document in enumerate(documents):
            response = stub.FileReport(
                node_pb2.FileReportRequest(report_document=document, source_name=f"f{n}.yaml"),
                timeout=30,
                wait_for_ready=True,
            )
            filed.append(response.report_id)
    return filed


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = 90.0) -> None:
    """Poll ``condition``; fail with ``what`` if it does not hold within the bound."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout_s:g} s waiting for {what}"
        time.sleep(0.1)
