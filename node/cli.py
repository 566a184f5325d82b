"""``nearmiss node …`` commands: submit, serve, status, alerts, ack, retry.

Rules: every command reads node.toml; a bad report or config exits 2 with the file,
field and reason (nearmiss.console); ``submit`` queues the signed report durably before
any network call and exits 0 once it is safe, delivered or not; ``--dry-run`` contacts
nothing and writes nothing.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.table import Table
from rich.text import Text

from nearmiss.console import stdout
from nearmiss.errors import PreconditionError
from nearmiss.reportfile import load_report
from nearmiss.signing import SigningKey, VerifyingKey
from nearmiss.v1 import authority_pb2, report_pb2
from node.config import NodeConfig
from node.store import NodeStore

app = typer.Typer(help="Run a lab node and file reports.", no_args_is_help=True)

ConfigOption = typer.Option(..., "--config", "-c", help="node.toml")
SUBMIT_DEADLINE_S = 10.0


@app.command()
def submit(
    report_file: Path = typer.Argument(..., help="REPORT.yaml or REPORT.json"),
    config: Path = ConfigOption,
    dry_run: bool = typer.Option(
        False, "--dry-run", help="show exactly what would be sent; queue and send nothing"
    ),
    side_by_side: bool = typer.Option(
        False,
        "--side-by-side",
        help="with --dry-run: original and sent in two columns (always, without colour)",
    ),
    queue_only: bool = typer.Option(
        False, "--queue-only", help="queue the report; let `node serve` deliver it"
    ),
) -> None:
    """Validate, redact, sign and queue a report; then try to deliver it once."""
    from node.filing import Filer
    from node.outbox import Outbox
    from node.service import Lazy, redactor_for
    from node.signer import check_lab, prepare

    # The delivery log lines would repeat what this command prints for the person.
    logging.getLogger("nearmiss.node").addHandler(logging.NullHandler())
    node_config = NodeConfig.load(config)
    report = load_report(report_file)
    source = str(report_file)
    check_lab(report, node_config.lab_id, source)
    if dry_run:
        from node.redaction import preview_table

        prepared = prepare(
            report, lab_id=node_config.lab_id, redactor=redactor_for(node_config), source=source
        )
        # Without colour an inline diff cannot show what was removed: use two columns.
        two_columns = side_by_side or not stdout.is_terminal or stdout.no_color
        stdout.print(preview_table(prepared.rows, side_by_side=two_columns))
        _print_redaction_summary(prepared.counts, prepared.withheld_sections)
        stdout.print("[bold]dry run:[/] nothing was queued or sent.")
        return
    with NodeStore(node_config.database_path) as store:
        filer = Filer(
            lab_id=node_config.lab_id,
            signing_key=SigningKey.from_file(node_config.signing_key_path),
            outbox=Outbox(store),
            redactor=Lazy(lambda: redactor_for(node_config)),
        )
        filed = filer.file(report, source=source)
        if filed.already_queued:
            stdout.print(f"report {filed.report_id} was already filed here ({filed.state.value})")
        else:
            _print_redaction_summary(filed.counts, filed.withheld_sections)
            stdout.print(f"[green]queued[/] report {filed.report_id} (signed, stored on disk)")
        if queue_only:
            stdout.print("`nearmiss node serve` will deliver it.")
            return
        _deliver_now(node_config, store, filed.report_id)


def _deliver_now(config: NodeConfig, store: NodeStore, report_id: str) -> None:
    from node.client import GrpcAuthorityClient
    from node.delivery import Backoff, Deliverer, Outcome
    from node.outbox import Outbox

    with GrpcAuthorityClient.connect(
        config.authority_address,
        config.tls,
        server_name=config.authority_server_name,
        deadline_s=SUBMIT_DEADLINE_S,
    ) as client:
        attempt = Deliverer(
            outbox=Outbox(store),
            authority=client,
            lab_id=config.lab_id,
            authority_key=VerifyingKey.from_file(config.authority_public_key),
            backoff=Backoff(config.outbox.retry_initial_s, config.outbox.retry_max_s),
        ).deliver(report_id)
    if attempt.outcome is Outcome.DELIVERED and attempt.receipt is not None:
        stdout.print(receipt_table(attempt.receipt))
    elif attempt.outcome is Outcome.RETRY:
        stdout.print(
            f"[yellow]not delivered yet[/] ({attempt.reason}); the report is safe in the "
            "outbox and `nearmiss node serve` will deliver it."
        )
    elif attempt.outcome is Outcome.BAD_RECEIPT:
        raise PreconditionError(
            f"report {report_id}: {attempt.reason}. The receipt is kept for inspection and "
            "the report stays queued; check [authority] signing_public_key in node.toml"
        )
    else:
        raise PreconditionError(
            f"the authority refused report {report_id} for good: {attempt.reason}"
        )


def _print_redaction_summary(counts: dict[str, int], withheld: int) -> None:
    replaced = ", ".join(f"{entity} {n}" for entity, n in sorted(counts.items())) or "nothing"
    stdout.print(f"redaction replaced: {replaced}; LAB_ONLY sections kept here: {withheld}")


def receipt_table(receipt: authority_pb2.Receipt) -> Table:
    table = Table(title="receipt (verified)", show_header=False, title_justify="left")
    table.add_row("report", receipt.statement.report_id)
    table.add_row("log index", str(receipt.statement.log_index))
    table.add_row("leaf hash", receipt.statement.leaf_hash.hex())
    table.add_row("tree size", str(receipt.tree_head.tree_size))
    table.add_row("received at", _stamp(receipt.statement.received_at.ToDatetime(tzinfo=UTC)))
    table.add_row("already stored", "yes" if receipt.already_stored else "no")
    return table


def _stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%S UTC")


@app.command()
def serve(
    config: Path = ConfigOption,
    verbose: bool = typer.Option(False, "--verbose", "-v", help="log every delivery"),
) -> None:
    """Deliver the outbox, keep the alert stream open and serve the local API."""
    from node.service import serve as run

    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    run(NodeConfig.load(config))


@app.command()
def status(config: Path = ConfigOption) -> None:
    """Outbox depth, oldest pending report, last receipt, recent failures, alerts."""
    from node.status import read_status, render

    node_config = NodeConfig.load(config)
    with NodeStore(node_config.database_path) as store:
        snapshot = read_status(store)
    stdout.print(render(snapshot, lab_id=node_config.lab_id, now=time.time()))


@app.command()
def alerts(
    config: Path = ConfigOption,
    unacknowledged: bool = typer.Option(
        False, "--unacknowledged", "-u", help="only alerts not yet acknowledged"
    ),
    limit: int = typer.Option(50, "--limit", help="show at most this many, newest first"),
) -> None:
    """List the alerts this node received."""
    from node.inbox import AlertInbox

    node_config = NodeConfig.load(config)
    with NodeStore(node_config.database_path) as store:
        held = AlertInbox(store).recent(unacknowledged_only=unacknowledged, limit=limit)
    if not held:
        stdout.print("no alerts")
        return
    table = Table(title="alerts (newest first)", title_justify="left")
    for column in ("cursor", "alert", "raised", "sev", "domains", "title", "acknowledged"):
        table.add_column(column, overflow="fold")
    for item in held:
        alert = item.alert
        domains = ", ".join(
            report_pb2.HarmDomain.Name(d).removeprefix("HARM_DOMAIN_") for d in alert.harm_domains
        )
        acked = (
            _stamp(datetime.fromtimestamp(item.acknowledged_at, UTC))
            if item.acknowledged_at is not None
            else Text("no", style="bold yellow")
        )
        table.add_row(
            str(alert.cursor),
            alert.alert_id,
            _stamp(alert.raised_at.ToDatetime(tzinfo=UTC)),
            str(alert.severity),
            domains,
            alert.title,
            acked,
        )
    stdout.print(table)


@app.command()
def ack(
    alert_id: str = typer.Argument(..., help="the alert to acknowledge"),
    config: Path = ConfigOption,
) -> None:
    """Acknowledge an alert at the authority (stops its escalation) and here."""
    from node.client import GrpcAuthorityClient
    from node.inbox import AlertInbox

    node_config = NodeConfig.load(config)
    with GrpcAuthorityClient.connect(
        node_config.authority_address,
        node_config.tls,
        server_name=node_config.authority_server_name,
    ) as client:
        response = client.ack_alert(alert_id)
    at = response.acknowledged_at.ToDatetime(tzinfo=UTC)
    with NodeStore(node_config.database_path) as store:
        AlertInbox(store).mark_acknowledged(alert_id, at=at.timestamp())
    stdout.print(f"alert {alert_id} acknowledged at {_stamp(at)}")


@app.command()
def retry(
    report_id: str = typer.Argument(..., help="a refused report"),
    config: Path = ConfigOption,
) -> None:
    """Put a refused report back in the outbox (after fixing what the authority said)."""
    from node.outbox import Outbox

    node_config = NodeConfig.load(config)
    with NodeStore(node_config.database_path) as store:
        Outbox(store).requeue(report_id, now=time.time())
    stdout.print(f"report {report_id} is pending again; `nearmiss node serve` will send it")

