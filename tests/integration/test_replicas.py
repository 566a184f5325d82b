"""Two authority replicas on one PostgreSQL database stay one authority.

Each lab sends every one of its reports twice at the same time — the same signed bytes,
once to each replica, in opposite orders — so the replicas race on every report id.
Afterwards each report is stored once, accepted once (one receipt says "new", the other
"already stored", both with the same signed statement), the log holds exactly one leaf
per report at indexes 0..n-1, and both replicas sign heads for the same tree, whose root
is the root of the stored leaves.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from nearmiss.devnet import DevNetwork
from tests.faults.workload import (
    StoredLog,
    Submitter,
    assert_each_report_once,
    assert_head_matches,
    authority_key,
    lab_client,
    signed_reports,
    write_replica_config,
)
from tests.integration.network import (
    AuthorityProcess,
    free_port,
    make_network,
    postgres_database,
    start_authority,
)

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

LABS = ("lab-aurora", "lab-borealis", "lab-cygnus")
REPORTS_PER_LAB = 15


@pytest.fixture
def replicas(tmp_path: Path) -> Iterator[tuple[DevNetwork, str, list[AuthorityProcess]]]:
    with postgres_database() as url:
        network = make_network(tmp_path / "net", labs=LABS, database_url=url)
        second = write_replica_config(network, "b", free_port())
        started = [start_authority(network.authority_config_path(), tmp_path / "a.log")]
        try:
            started.append(start_authority(second, tmp_path / "b.log"))
            yield network, url, started
        finally:
            for process in started:
                process.stop()


def test_two_replicas_store_each_report_once_in_one_log(
    replicas: tuple[DevNetwork, str, list[AuthorityProcess]],
) -> None:
    network, url, (a, b) = replicas
    submitters: list[tuple[Submitter, Submitter]] = []
    sent = []
    for lab in LABS:
        reports = signed_reports(network, lab, REPORTS_PER_LAB)
        sent += reports
        forward = Submitter(network, lab, lambda: [a.address, b.address], reports)
        backward = Submitter(network, lab, lambda: [b.address, a.address], reports[::-1])
        submitters.append((forward, backward))
    for pair in submitters:
        for submitter in pair:
            submitter.start()
    for pair in submitters:
        for submitter in pair:
            submitter.join(120)
            assert submitter.failures == []

    for forward, backward in submitters:
        assert forward.receipts.keys() == backward.receipts.keys()
        for report_id, first in forward.receipts.items():
            second = backward.receipts[report_id]
            assert first.statement == second.statement
            assert sorted([first.already_stored, second.already_stored]) == [False, True]

    stored = StoredLog.read(url)
    assert_each_report_once(stored, sent)
    key = authority_key(network)
    heads = []
    for process in (a, b):
        with lab_client(network, "lab-aurora", process.address) as client:
            heads.append(client.tree_head())
    assert heads[0].tree_size == heads[1].tree_size == len(sent)
    assert heads[0].root_hash == heads[1].root_hash
    for head in heads:
        assert_head_matches(head, stored, key)
    assert a.is_running() and b.is_running()
