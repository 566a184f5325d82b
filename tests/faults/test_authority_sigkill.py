"""SIGKILL the authority mid-burst from three real nodes; after a restart every report is
stored exactly once, and the log is an extension of the tree the authority signed before
the crash (a consistency proof from the pre-crash head verifies).

Each lab's systems file reports through their node's local API; ``node serve`` delivers
them over mTLS. The authority is killed once it holds some of the first half, the
second half is filed while it is down (the outboxes keep them), and it is restarted on
the same database.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from nearmiss.proofs import verify_consistency, verify_tree_head
from nearmiss.v1 import authority_pb2
from tests.faults.workload import (
    FAST_RETRY,
    StoredLog,
    assert_head_matches,
    assert_no_stack_trace,
    authority_key,
    configure_case_linker,
    database_url_of,
    file_through_local_api,
    lab_client,
    outbox_counts,
    wait_until,
)
from tests.integration.network import free_port, make_network, start_authority
from tests.integration.node_process import (
    authority_holding,
    configure_node,
    report_documents,
    start_node,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

LABS = ("lab-aurora", "lab-borealis", "lab-cygnus")
PER_LAB = 16


def test_sigkill_mid_burst_keeps_every_report_once_and_the_log_consistent(
    tmp_path: Path,
) -> None:
    network = make_network(tmp_path / "net", labs=LABS)
    configure_case_linker(network, enabled=False)
    addresses = {lab: f"127.0.0.1:{free_port()}" for lab in LABS}
    configs = {
        lab: configure_node(network, lab, listen=addresses[lab], extra=FAST_RETRY)
        for lab in LABS
    }
    documents = {lab: report_documents(PER_LAB, lab=lab) for lab in LABS}
    half = PER_LAB // 2
    authority = start_authority(network.authority_config_path(), tmp_path / "authority-1.log")
    nodes = [start_node(configs[lab], tmp_path / f"{lab}.log", direct=True) for lab in LABS]
    filed: dict[str, list[str]] = {lab: [] for lab in LABS}
    try:
        first = [
            threading.Thread(
                target=lambda lab=lab: filed[lab].extend(
                    file_through_local_api(addresses[lab], documents[lab][:half])
                )
            )
            for lab in LABS
        ]
        for thread in first:
            thread.start()
        wait_until(lambda: authority_holding(network).log_size >= 6, "the first reports")
        with lab_client(network, "lab-aurora", authority.address) as client:
            before = client.tree_head()
        authority.process.kill()  # SIGKILL: no shutdown code runs
        authority.process.wait(10)
        for thread in first:
            thread.join(60)
        for lab in LABS:  # filed while the authority is down: the outboxes keep them
            filed[lab] += file_through_local_api(addresses[lab], documents[lab][half:])
        held_at_crash = authority_holding(network).report_rows
        assert held_at_crash < len(LABS) * PER_LAB

        authority = start_authority(
            network.authority_config_path(), tmp_path / "authority-2.log"
        )
        wait_until(
            lambda: all(outbox_counts(configs[lab]).delivered == PER_LAB for lab in LABS),
            "every outbox to drain",
        )
        for lab in LABS:
            assert outbox_counts(configs[lab]).pending == 0
            assert outbox_counts(configs[lab]).refused == 0

        stored = StoredLog.read(database_url_of(network))
        ids = [row[0] for row in stored.report_rows]
        assert sorted(ids) == sorted(i for lab in LABS for i in filed[lab])
        assert len(set(ids)) == len(ids) == stored.tree_size == len(LABS) * PER_LAB
        assert [index for index, _ in stored.leaves] == list(range(stored.tree_size))

        key = authority_key(network)
        with lab_client(network, "lab-aurora", authority.address) as client:
            after = client.tree_head()
            proof = client.stub.GetConsistencyProof(
                authority_pb2.GetConsistencyProofRequest(
                    first_size=before.tree_size, second_size=after.tree_size
                ),
                timeout=10,
            )
        verify_tree_head(before, key)
        assert_head_matches(after, stored, key)
        assert before.tree_size <= held_at_crash <= after.tree_size
        verify_consistency(
            before.tree_size, after.tree_size, before.root_hash, after.root_hash,
            list(proof.proof_hashes),
        )
        assert_no_stack_trace(authority.output(), "the restarted authority's log")
    finally:
        for node in nodes:
            node.stop()
        authority.stop()
