"""Crash safety: SIGKILL the node at random moments while it files 500 reports to a
live authority over mTLS; after a final restart the authority holds exactly 500
reports, each once, and its log has 500 leaves.

The reports come in through the node's local API (the same path a lab's own systems
use), so kills land while reports are being validated, signed and queued, while
batches are streamed to the authority, and between the authority's answer and the
node keeping the receipt. A FileReport cut off by a kill is simply filed again, as a
client would: the outbox recognises it if it had been queued.
"""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import grpc
import pytest

from nearmiss.canonical import report_from_canonical
from nearmiss.signed_report import leaf_hash
from nearmiss.v1 import authority_pb2, node_pb2, node_pb2_grpc
from node.config import NodeConfig
from node.store import NodeStore
from tests.integration.network import make_network, start_authority
from tests.integration.node_process import (
    NodeProcess,
    authority_holding,
    configure_node,
    report_documents,
    spawn_node,
    start_node,
)

pytestmark = pytest.mark.integration

REPORTS = 500
MIN_KILLS = 10
DEADLINE_S = 200.0
RECONNECT = [
    ("grpc.initial_reconnect_backoff_ms", 50),
    ("grpc.min_reconnect_backoff_ms", 50),
    ("grpc.max_reconnect_backoff_ms", 250),
]


class Filer(threading.Thread):
    """A lab system filing every document once, retrying calls a kill cut off."""

    def __init__(self, address: str, documents: list[bytes]):
        super().__init__(name="filer", daemon=True)
        self.address = address
        self.documents = documents
        self.filed: list[str] = []
        self.retries = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        channel = grpc.insecure_channel(self.address, options=RECONNECT)
        stub = node_pb2_grpc.NodeServiceStub(channel)
        try:
            for n, document in enumerate(self.documents):
                request = node_pb2.FileReportRequest(
                    report_document=document, source_name=f"crash-{n}.yaml"
                )
                while True:
                    try:
                        response = stub.FileReport(request, timeout=5, wait_for_ready=True)
                        break
                    except grpc.RpcError as error:
                        if error.code() not in (
                            grpc.StatusCode.UNAVAILABLE,
                            grpc.StatusCode.DEADLINE_EXCEEDED,
                            grpc.StatusCode.CANCELLED,
                        ):
                            raise
                        self.retries += 1
                self.filed.append(response.report_id)
        except BaseException as error:  # reported by the test
            self.error = error
        finally:
            channel.close()


def _node_counts(config: Path) -> tuple[int, int, int]:
    with NodeStore(NodeConfig.load(config).database_path) as store, store.read() as db:
        delivered = int(db.scalar("SELECT COUNT(*) FROM reports WHERE state = 'delivered'"))
        refused = int(db.scalar("SELECT COUNT(*) FROM reports WHERE state = 'refused'"))
        receipts = int(db.scalar("SELECT COUNT(*) FROM receipts"))
    return delivered, refused, receipts


def test_sigkill_at_random_moments_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    rng = random.Random()
    seed = rng.randrange(2**32)
    rng.seed(seed)
    network = make_network(tmp_path / "net", labs=("lab-aurora",))
    socket_file = tmp_path / "sock" / "node.sock"
    config = configure_node(
        network,
        "lab-aurora",
        listen=f"unix:{socket_file}",
        extra="[outbox]\nbatch_size = 20\npoll_s = 0.05\n\n[alerts]\nenabled = false\n",
    )
    documents = report_documents(REPORTS)
    authority = start_authority(network.authority_config_path(), tmp_path / "authority.log")
    log_path = tmp_path / "node.log"
    filer = Filer(f"unix:{socket_file}", documents)
    kills: list[int] = []  # reports the authority held at each kill
    node: NodeProcess | None = None
    started = time.monotonic()
    try:
        filer.start()
        while filer.is_alive() or len(kills) < MIN_KILLS:
            assert time.monotonic() - started < DEADLINE_S, f"seed {seed}: too slow"
            direct = bool(kills)
            if rng.random() < 0.15:
                node = spawn_node(config, log_path, direct=direct)  # maybe during start-up
                time.sleep(rng.uniform(0.0, 2.0))
            else:
                node = start_node(config, log_path, direct=direct)
                time.sleep(rng.uniform(0.1, 1.5))
            node.kill()
            kills.append(authority_holding(network).report_rows)
        assert filer.error is None, f"seed {seed}: {filer.error!r}"
        node = start_node(config, log_path)
        deadline = time.monotonic() + 120
        while _node_counts(config)[2] < REPORTS and time.monotonic() < deadline:
            time.sleep(0.2)
        code = node.stop()
        assert code == 0, node.output()[-2000:]
    finally:
        if node is not None:
            node.stop()
        authority.stop()

    print(  # shown with -s: what this run exercised
        f"seed {seed}: {len(kills)} kills (authority held {kills}), "
        f"{filer.retries} FileReport retries, {time.monotonic() - started:.0f} s"
    )
    assert len(kills) >= MIN_KILLS
    assert any(0 < held < REPORTS for held in kills), f"seed {seed}: kills {kills}"
    assert len(filer.filed) == REPORTS and len(set(filer.filed)) == REPORTS
    holding = authority_holding(network)
    assert holding.report_rows == REPORTS, f"seed {seed}: kills at {kills}"
    assert holding.distinct_report_ids == frozenset(filer.filed)
    assert holding.log_size == REPORTS
    assert _node_counts(config) == (REPORTS, 0, REPORTS)
    _assert_receipts_match_what_was_sent(config)


def _assert_receipts_match_what_was_sent(config: Path) -> None:
    with NodeStore(NodeConfig.load(config).database_path) as store, store.read() as db:
        rows = db.all(
            "SELECT r.signed, c.receipt FROM reports r JOIN receipts c USING (report_id)"
        )
    indexes = set()
    for signed_blob, receipt_blob in rows:
        receipt = authority_pb2.Receipt.FromString(receipt_blob)
        from nearmiss.v1 import report_pb2

        signed = report_pb2.SignedReport.FromString(signed_blob)
        assert receipt.statement.leaf_hash == leaf_hash(signed)
        assert receipt.statement.report_id == report_from_canonical(
            signed.canonical_report
        ).report_id
        indexes.add(receipt.statement.log_index)
    assert indexes == set(range(REPORTS))
