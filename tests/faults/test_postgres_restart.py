"""PostgreSQL restarted under load: the authority reconnects by itself and loses nothing.

Three labs submit while the database server is stopped and started again (a private
server, so no other test sees it). While it is down the authority answers UNAVAILABLE
with the reason and keeps serving; afterwards every report is stored exactly once, the
log is whole, and the authority's signed head is the root of the stored leaves.
"""

from __future__ import annotations

import time
from pathlib import Path

import psycopg
import pytest

from tests.faults.private_postgres import private_postgres
from tests.faults.workload import (
    StoredLog,
    Submitter,
    assert_each_report_once,
    assert_head_matches,
    assert_no_stack_trace,
    authority_key,
    configure_case_linker,
    lab_client,
    signed_reports,
)
from tests.integration.network import make_network, start_authority

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.timeout(180)]

LABS = ("lab-aurora", "lab-borealis", "lab-cygnus")
REPORTS_PER_LAB = 25
WAIT_S = 60.0


def wait_for(condition: object, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_postgres_restart_under_load_loses_nothing(tmp_path: Path) -> None:
    with private_postgres() as server:
        with psycopg.connect(server.admin_url, autocommit=True) as admin:
            admin.execute("CREATE DATABASE nearmiss")
        url = server.url("nearmiss")
        network = make_network(tmp_path / "net", labs=LABS, database_url=url)
        configure_case_linker(network, enabled=False)
        authority = start_authority(network.authority_config_path(), tmp_path / "authority.log")
        try:
            submitters = [
                Submitter(
                    network, lab, lambda: [authority.address],
                    signed_reports(network, lab, REPORTS_PER_LAB), pause_s=0.05,
                )
                for lab in LABS
            ]
            for submitter in submitters:
                submitter.start()
            wait_for(lambda: sum(len(s.receipts) for s in submitters) >= 10, "first receipts")
            server.stop("fast")
            wait_for(lambda: sum(s.retries for s in submitters) >= 3, "refusals while down")
            server.start()
            for submitter in submitters:
                submitter.join(120)
                assert submitter.failures == []

            sent = [r for s in submitters for r in s.reports]
            stored = StoredLog.read(url)
            assert_each_report_once(stored, sent)
            with lab_client(network, "lab-aurora", authority.address) as client:
                head = client.tree_head()
            assert head.tree_size == len(sent)
            assert_head_matches(head, stored, authority_key(network))
            assert authority.is_running()
            output = authority.output()
            assert_no_stack_trace(output, "the authority's log")
            assert "retry later" in output  # the refusals said why, in the security log
        finally:
            authority.stop()
