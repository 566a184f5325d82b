"""A full disk under the authority's database: clear refusals, nothing lost, nothing twice.

The authority's SQLite database (with its WAL and shared-memory index) lives on a 4 MiB
tmpfs. Two real nodes deliver a first few reports; then a ballast file takes every block
left, and the labs file more, one of them carrying a canary string. While the disk is
full:

* each submission is answered UNAVAILABLE with the database's own reason ("database or
  disk is full") and "retry later": no stack trace, no report content — the canary is in
  no answer and no line the authority (or a node) logs, though it reaches the database
  afterwards;
* the authority stays up and keeps serving what needs no write (health, tree head, the
  receipt of a stored report), and its case linker, which also writes, waits too;
* each node keeps every new report pending in its outbox, with the reason.

Deleting the ballast frees the space: the outboxes drain by themselves, every report is
stored exactly once with the bytes the node signed, the log is dense and its signed head
is the root of the stored leaves, and every report is linked into a case.

Before the fill the test checkpoints the WAL down to zero bytes, so the very next write
must allocate a block. Without that, the next writes would reuse the room a checkpointed
WAL keeps (SQLite rewrites it from the start), and how many reports fit there would
depend on the history of the file, not on the fault.
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from pathlib import Path

import pytest
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc

from nearmiss.devnet import DevNetwork
from nearmiss.errors import UnavailableError
from node.client import secure_channel
from node.config import NodeConfig
from tests.faults.small_filesystem import small_filesystem
from tests.faults.workload import (
    FAST_RETRY,
    StoredLog,
    assert_each_report_once,
    assert_head_matches,
    assert_no_stack_trace,
    authority_key,
    configure_case_linker,
    file_through_local_api,
    lab_client,
    outbox_counts,
    outbox_reports,
    signed_reports,
    unlinked_reports,
    wait_until,
)
from tests.integration.network import free_port, make_network, start_authority
from tests.integration.node_process import (
    NodeProcess,
    authority_holding,
    configure_node,
    report_documents,
    start_node,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

LABS = ("lab-aurora", "lab-borealis")
BEFORE = 2  # per lab, delivered while there is space
WHILE_FULL = 4  # per lab, filed once the disk is full
SIZE_KIB = 4096  # the authority's schema and a few reports take about 600 KiB
CANARY = "canary-8d41c5e07b2f"
FULL = "database or disk is full"
LINKER_WAITS = f"case linking waits for the database (OperationalError: {FULL})"


def with_canary(document: bytes) -> bytes:
    """The report with the canary in its title and summary (the test redaction pack
    leaves both alone, so the canary does reach the authority)."""
    data = yaml.safe_load(document)
    data["title"] = f"Report {CANARY}: reasoning proposed disabling logging"
    data["summary"] = f"{data['summary']} Marker {CANARY}."
    return yaml.safe_dump(data).encode()


def empty_the_wal(database: Path) -> None:
    """Checkpoint every WAL frame into the database and truncate the WAL to zero bytes
    (see the module docstring); retried while the authority holds a transaction."""
    deadline = time.monotonic() + 30
    wal = database.with_name(database.name + "-wal")
    with closing(sqlite3.connect(database, timeout=30)) as connection:
        while True:
            busy, _, _ = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if busy == 0 and wal.stat().st_size == 0:
                return
            assert time.monotonic() < deadline, "the WAL could not be checkpointed in 30 s"
            time.sleep(0.1)


def assert_serving_reads(network: DevNetwork, address: str, stored_id: str, size: int) -> None:
    """Up and useful: health says SERVING, and reads still answer from the database."""
    config = NodeConfig.load(network.node_config_path("lab-aurora"))
    with secure_channel(address, config.tls) as channel:
        check = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service="nearmiss.v1.AuthorityService"), timeout=10
        )
    assert check.status == health_pb2.HealthCheckResponse.SERVING
    with lab_client(network, "lab-aurora", address) as client:
        assert client.tree_head().tree_size == size
        assert client.get_receipt(stored_id).statement.report_id == stored_id


def assert_no_trace_or_content(output: str, where: str) -> None:
    assert_no_stack_trace(output, where)
    assert CANARY not in output, f"report content (the canary) in {where}"


def test_full_disk_keeps_reports_in_the_outboxes_until_space_is_freed(tmp_path: Path) -> None:
    with small_filesystem(tmp_path, SIZE_KIB) as disk:
        database = disk.path / "authority.db"
        url = f"sqlite:///{database}"
        network = make_network(tmp_path / "net", labs=LABS, database_url=url)
        configure_case_linker(network, enabled=True)
        listen = {lab: f"127.0.0.1:{free_port()}" for lab in LABS}
        configs = {
            lab: configure_node(network, lab, listen=listen[lab], extra=FAST_RETRY)
            for lab in LABS
        }
        documents = {lab: report_documents(BEFORE + WHILE_FULL, lab=lab) for lab in LABS}
        documents["lab-borealis"][-1] = with_canary(documents["lab-borealis"][-1])
        authority = start_authority(network.authority_config_path(), tmp_path / "authority.log")
        nodes: list[NodeProcess] = []
        try:
            for lab in LABS:
                nodes.append(start_node(configs[lab], tmp_path / f"{lab}.log", direct=True))
            first = {
                lab: file_through_local_api(listen[lab], documents[lab][:BEFORE]) for lab in LABS
            }
            wait_until(
                lambda: all(outbox_counts(configs[lab]).delivered == BEFORE for lab in LABS),
                "the first reports to be delivered",
            )
            stored_before = len(LABS) * BEFORE

            empty_the_wal(database)
            disk.fill()
            assert disk.available_bytes() == 0
            # The case linker loads its model (seconds) when the first report arrives, so
            # it links these reports only now, while the disk is full. (Were it to have
            # linked them already, it would have nothing to write and nothing to wait for.)
            linker_has_work = unlinked_reports(url) > 0

            for lab in LABS:
                file_through_local_api(listen[lab], documents[lab][BEFORE:])
            wait_until(
                lambda: all(
                    sum(FULL in e for e in outbox_counts(configs[lab]).last_errors) == WHILE_FULL
                    for lab in LABS
                ),
                "each node to record the refusal of each new report",
            )
            # What a node is told, seen directly.
            probe = signed_reports(network, "lab-aurora", 1)[0]
            with (
                lab_client(network, "lab-aurora", authority.address) as client,
                pytest.raises(UnavailableError) as refused,
            ):
                client.submit(probe)
            message = str(refused.value)
            assert FULL in message and "retry later" in message
            assert_no_trace_or_content(message, "the refusal")
            assert "Fault run" not in message
            for lab in LABS:
                held = outbox_counts(configs[lab])
                assert (held.pending, held.delivered, held.refused) == (WHILE_FULL, BEFORE, 0)
                assert all(CANARY not in e for e in held.last_errors)
            assert authority_holding(network).report_rows == stored_before
            if linker_has_work:
                wait_until(
                    lambda: LINKER_WAITS in authority.output(), "the case linker to wait for space"
                )
            assert authority.is_running()
            assert_serving_reads(network, authority.address, first["lab-aurora"][0], stored_before)

            disk.free()
            wait_until(
                lambda: all(
                    outbox_counts(configs[lab]).delivered == BEFORE + WHILE_FULL for lab in LABS
                ),
                "the outboxes to drain once there is space",
            )
            with lab_client(network, "lab-aurora", authority.address) as client:
                client.submit(probe)  # refused earlier, stored now
                head = client.tree_head()
            wait_until(lambda: unlinked_reports(url) == 0, "every report to be linked to a case")

            sent = [signed for lab in LABS for signed in outbox_reports(configs[lab])] + [probe]
            stored = StoredLog.read(url)
            assert_each_report_once(stored, sent)
            assert_head_matches(head, stored, authority_key(network))
            assert head.tree_size == len(sent)
            assert any(CANARY.encode() in signed.canonical_report for signed in sent)
            for lab in LABS:
                assert outbox_counts(configs[lab]).pending == 0
            assert authority.is_running()
            output = authority.output()
            assert FULL in output  # the refusals said why, in the security log
            assert_no_trace_or_content(output, "the authority's log")
            for node in nodes:
                assert CANARY not in node.output(), "report content in a node's log"
        finally:
            for node in nodes:
                node.stop()
            authority.stop()
