"""A database that refuses writes (PostgreSQL switched to read-only): the authority says
why with UNAVAILABLE and no stack trace, stays up and still answers repeats, and the
node keeps every report in its outbox; once writes are allowed again the outbox drains,
the refused report is stored when resent, and each report is stored once.

One test checks all of it on one authority and one node (each start costs seconds).

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
    assert_no_stack_trace,
    configure_case_linker,
    file_through_local_api,
    lab_client,
    outbox_counts,
    outbox_reports,
    signed_reports,
    unlinked_reports,
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
    NodeProcess,
    authority_holding,
    configure_node,
    report_documents,
    start_node,
)

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.timeout(180)]

REPORTS = 6
LINKER_WAITS = "case linking waits for the database"


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


def test_read_only_database_refuses_new_reports_and_loses_none(tmp_path: Path) -> None:
    with postgres_database() as url:
        database = url.rsplit("/", 1)[1]
        network = make_network(tmp_path / "net", labs=("lab-aurora",), database_url=url)
        configure_case_linker(network, enabled=True)
        listen = f"127.0.0.1:{free_port()}"
        config = configure_node(network, "lab-aurora", listen=listen, extra=FAST_RETRY)
        authority = start_authority(network.authority_config_path(), tmp_path / "authority.log")
        node: NodeProcess | None = None
        try:
            node = start_node(config, tmp_path / "node.log", direct=True)
            stored_first, refused_first = signed_reports(network, "lab-aurora", 2)
            with lab_client(network, "lab-aurora", authority.address) as client:
                first = client.submit(stored_first)
                set_read_only(database, True)
                # A repeat needs no write: it is answered even now, with the same statement.
                again = client.submit(stored_first)
                assert again.already_stored and again.statement == first.statement
                # A new report is refused with the status and message a node gets.
                with pytest.raises(UnavailableError) as refused:
                    client.submit(refused_first)
            message = str(refused.value)
            assert "read-only" in message and "retry later" in message
            assert "Fault run" not in message
            assert_no_stack_trace(message, "the refusal")
            # The case linker (its model loads when the first report arrives) has that
            # report to link, and waits for the database as ingest does.
            linker_has_work = unlinked_reports(url) > 0

            filed = file_through_local_api(listen, report_documents(REPORTS))
            wait_until(
                lambda: sum("read-only" in e for e in outbox_counts(config).last_errors)
                == REPORTS,
                "the node to record the refusal of each report",
            )
            if linker_has_work:
                wait_until(
                    lambda: LINKER_WAITS in authority.output(), "the case linker to wait too"
                )
            held = outbox_counts(config)
            assert (held.pending, held.delivered, held.refused) == (REPORTS, 0, 0)
            assert authority_holding(network).report_rows == 1
            assert authority.is_running()

            set_read_only(database, False)
            wait_until(lambda: outbox_counts(config).delivered == REPORTS, "the outbox to drain")
            with lab_client(network, "lab-aurora", authority.address) as client:
                assert not client.submit(refused_first).already_stored
                assert client.submit(stored_first).already_stored
            wait_until(lambda: unlinked_reports(url) == 0, "every report to be linked to a case")

            stored = StoredLog.read(url)
            assert_each_report_once(stored, [stored_first, refused_first, *outbox_reports(config)])
            assert set(filed) <= {row[0] for row in stored.report_rows}
            assert_no_stack_trace(authority.output(), "the authority's log")
        finally:
            if node is not None:
                node.stop()
            authority.stop()
