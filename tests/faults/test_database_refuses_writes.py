"""A database that refuses writes (PostgreSQL switched to read-only): the authority says
why with UNAVAILABLE and no stack trace, stays up, and the node keeps every report in
its outbox; once writes are allowed again the outbox drains, each report stored once.

The database is a fresh one per test on the shared server; only its own sessions are
switched (``default_transaction_read_only``) and reset, so no other test is affected.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from nearmiss.errors import UnavailableError
from tests.faults.workload import (
    FAST_RETRY,
    StoredLog,
    assert_each_report_once,
    file_through_local_api,
    lab_client,
    outbox_counts,
    signed_reports,
    wait_until,
)
from tests.integration.network import (
    POSTGRES_ADMIN_URL,
    free_port,
    make_network,
    postgres_database,
    start_authority,
)
from tests.integration.node_process import (
    authority_holding,
    configure_node,
    report_documents,
    start_node,
)

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

REPORTS = 8


def set_read_only(database: str, read_only: bool) -> None:
    """Switch the database and drop its open sessions, so the authority's pooled
    connections reconnect under the new default."""
    value = "on" if read_only else "off"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{database}" SET default_transaction_read_only = {value}')
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        )


def test_read_only_database_keeps_reports_in_the_outbox_until_writable(
    tmp_path: Path,
) -> None:
    with postgres_database() as url:
        database = url.rsplit("/", 1)[1]
        network = make_network(tmp_path / "net", labs=("lab-aurora",), database_url=url)
        listen = f"127.0.0.1:{free_port()}"
        config = configure_node(network, "lab-aurora", listen=listen, extra=FAST_RETRY)
        authority = start_authority(network.authority_config_path(), tmp_path / "authority.log")
        node = start_node(config, tmp_path / "node.log", direct=True)
        try:
            set_read_only(database, True)
            filed = file_through_local_api(listen, report_documents(REPORTS))
            wait_until(
                lambda: any("read-only" in e for e in outbox_counts(config).last_errors),
                "the node to record the authority's refusal",
            )
            # A direct submission shows the status and message a node gets.
            probe = signed_reports(network, "lab-aurora", 1)[0]
            with (
                lab_client(network, "lab-aurora", authority.address) as client,
                pytest.raises(UnavailableError) as refused,
            ):
                client.submit(probe)
            message = str(refused.value)
            assert "read-only" in message and "retry later" in message
            assert "Traceback" not in message and "Fault run" not in message
            held = outbox_counts(config)
            assert held.pending == REPORTS and held.delivered == 0
            assert authority_holding(network).report_rows == 0
            assert authority.is_running()

            set_read_only(database, False)
            wait_until(lambda: outbox_counts(config).delivered == REPORTS, "the outbox to drain")
            stored = StoredLog.read(url)
            assert sorted(row[0] for row in stored.report_rows) == sorted(filed)
            assert stored.tree_size == REPORTS
            assert "Traceback" not in authority.output()
        finally:
            node.stop()
            authority.stop()


def test_repeats_answered_while_read_only_and_new_reports_stored_once_after(tmp_path: Path) -> None:
    """While read-only, repeats are still answered and new reports refused; resent
    afterwards, each is stored once."""
    with postgres_database() as url:
        database = url.rsplit("/", 1)[1]
        network = make_network(tmp_path / "net", labs=("lab-aurora",), database_url=url)
        authority = start_authority(network.authority_config_path(), tmp_path / "authority.log")
        try:
            reports = signed_reports(network, "lab-aurora", 4)
            with lab_client(network, "lab-aurora", authority.address) as client:
                first = client.submit(reports[0])
                set_read_only(database, True)
                # A repeat needs no write: it is answered even now, with the same statement.
                again = client.submit(reports[0])
                assert again.already_stored and again.statement == first.statement
                for signed in reports[1:]:
                    with pytest.raises(UnavailableError, match="read-only"):
                        client.submit(signed)
                set_read_only(database, False)
                receipts = [client.submit(signed) for signed in reports]
            assert [r.already_stored for r in receipts] == [True, False, False, False]
            assert_each_report_once(StoredLog.read(url), reports)
        finally:
            authority.stop()
