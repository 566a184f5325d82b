"""``nearmiss node …`` commands."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from nearmiss.console import stdout
from nearmiss.reportfile import load_report
from nearmiss.signing import SigningKey, VerifyingKey
from node.config import NodeConfig
from node.signer import prepare_for_sending, sign_for_sending

app = typer.Typer(help="Run a lab node and file reports.", no_args_is_help=True)

ConfigOption = typer.Option(..., "--config", "-c", help="node.toml")


@app.command()
def submit(
    report_file: Path = typer.Argument(..., help="REPORT.yaml or REPORT.json"),
    config: Path = ConfigOption,
    dry_run: bool = typer.Option(
        False, "--dry-run", help="show exactly what would be sent; send nothing"
    ),
) -> None:
    """Validate, redact, sign and send a report; print the verified receipt."""
    from nearmiss.receipt_check import verify_receipt
    from node.client import GrpcAuthorityClient

    node_config = NodeConfig.load(config)
    report = load_report(report_file)
    prepared = prepare_for_sending(report, lab_id=node_config.lab_id, source=str(report_file))
    if dry_run:
        stdout.print_json(prepared.model_dump_json())
        return
    signed = sign_for_sending(prepared, SigningKey.from_file(node_config.signing_key_path))
    with GrpcAuthorityClient.connect(
        node_config.authority_address,
        node_config.tls,
        server_name=node_config.authority_server_name,
    ) as client:
        receipt = client.submit(signed)
    verify_receipt(
        receipt,
        sent=signed,
        report_id=prepared.report_id,
        lab_id=prepared.lab_id,
        authority_key=VerifyingKey.from_file(node_config.authority_public_key),
    )
    table = Table(title="receipt (verified)", show_header=False)
    table.add_row("report", receipt.statement.report_id)
    table.add_row("log index", str(receipt.statement.log_index))
    table.add_row("leaf hash", receipt.statement.leaf_hash.hex())
    table.add_row("tree size", str(receipt.tree_head.tree_size))
    table.add_row("already stored", "yes" if receipt.already_stored else "no")
    stdout.print(table)
