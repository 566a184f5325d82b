"""The ``nearmiss`` command line: composes the node's and the authority's subcommands.

This is the one module in ``nearmiss`` that imports ``node`` and ``authority``. They are
imported only when their subcommand runs (``LazyGroup``), so ``nearmiss node submit``
never pays for loading the authority, and ``--help`` loads neither.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import typer
from typer._click import Command, Context, HelpFormatter  # typer's vendored click

from nearmiss.console import report_error, stdout
from nearmiss.errors import NearmissError

# Subcommand groups loaded on first use: name -> (module, Typer attribute, short help).
LAZY_GROUPS = {
    "node": ("node.cli", "app", "Run a lab node and file reports."),
    "authority": ("authority.cli", "app", "Run and operate an authority hub."),
}


class LazyGroup(typer.core.TyperGroup):
    """A click group whose ``LAZY_GROUPS`` members are imported only when invoked."""

    def list_commands(self, ctx: Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_GROUPS})

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        if cmd_name in LAZY_GROUPS and cmd_name not in self.commands:
            module_name, attribute, _help = LAZY_GROUPS[cmd_name]
            module = importlib.import_module(module_name)
            command = typer.main.get_command(getattr(module, attribute))
            command.name = cmd_name
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: Context, formatter: HelpFormatter) -> None:
        rows = [
            (name, LAZY_GROUPS[name][2] if name in LAZY_GROUPS else self._short_help(ctx, name))
            for name in self.list_commands(ctx)
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def _short_help(self, ctx: Context, name: str) -> str:
        command = super().get_command(ctx, name)
        return command.get_short_help_str(80) if command is not None else ""


app = typer.Typer(
    cls=LazyGroup,
    help="nearmiss: report AI incidents and near-misses across a federated network.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
pki_app = typer.Typer(help="Development PKI.", no_args_is_help=True)
app.add_typer(pki_app, name="pki")


@pki_app.command("init")
def pki_init(
    directory: Path = typer.Argument(..., help="where to write the network's files"),
    authority: str = typer.Option(..., "--authority", help="the authority's id"),
    lab: list[str] = typer.Option(..., "--lab", help="a lab id (repeat for more)"),
    institute: list[str] = typer.Option([], "--institute", help="a peer institute id"),
    analyst: list[str] = typer.Option(["analyst"], "--analyst", help="an analyst id"),
    auditor: list[str] = typer.Option(["auditor"], "--auditor", help="an auditor id"),
    port: int = typer.Option(50051, "--port", help="the authority's gRPC port"),
    database_url: str = typer.Option("sqlite:///authority.db", "--database-url"),
) -> None:
    """Make a dev CA, certificates, signing keys and ready-to-run configs."""
    from nearmiss.devnet import DevNetwork, init_network

    written = init_network(
        DevNetwork(
            directory=directory,
            authority_id=authority,
            labs=lab,
            institutes=institute,
            analysts=analyst,
            auditors=auditor,
            authority_port=port,
            database_url=database_url,
        )
    )
    stdout.print(f"[green]dev network written to {directory}[/]")
    for path in written:
        stdout.print(f"  {path}")


@app.command()
def schema(
    output: Path | None = typer.Option(None, "--output", "-o", help="write to a file"),
) -> None:
    """Print the JSON Schema for report files."""
    from nearmiss.reportfile import report_json_schema

    text = json.dumps(report_json_schema(), indent=2, sort_keys=True) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text)


@app.command()
def demo(
    database_url: str | None = typer.Option(
        None, "--database-url", help="run the authority on this database (e.g. PostgreSQL)"
    ),
    keep: bool = typer.Option(False, "--keep", help="keep the temporary network directory"),
    directory: Path | None = typer.Option(None, "--dir", help="use this directory (kept)"),
) -> None:
    """Run a whole local network on 127.0.0.1 with sample reports, until Ctrl-C."""
    from nearmiss.demo import run_demo

    run_demo(database_url=database_url, keep=keep, directory=directory)


@app.command()
def audit(
    authority: str = typer.Option(..., "--authority", help="the authority's HOST:PORT"),
    authority_key: Path = typer.Option(
        ..., "--authority-key", help="the authority's Ed25519 public key (signing.pub)"
    ),
    identity: Path | None = typer.Option(
        None,
        "--identity",
        help="a party directory from `pki init` (tls.pem, tls.key; CA at ../ca/ca.pem)",
    ),
    node_config: Path | None = typer.Option(
        None,
        "--node-config",
        help="a lab's node.toml: connect as that lab and spot-check the receipts it holds",
    ),
    sample: int = typer.Option(20, "--sample", help="how many held receipts to spot-check"),
    ca_certificate: Path | None = typer.Option(
        None, "--ca", help="the network CA certificate (default: IDENTITY/../ca/ca.pem)"
    ),
    state_dir: Path | None = typer.Option(
        None, "--state-dir", help="where the last seen tree head is kept"
    ),
    server_name: str = typer.Option("localhost", "--server-name"),
) -> None:
    """Check the authority's log is append-only and consistent with what you saw before,
    and that receipts a lab holds are in it."""
    from nearmiss.audit import Auditor
    from nearmiss.config import TlsFiles
    from nearmiss.errors import ConfigError
    from nearmiss.signing import VerifyingKey
    from node.client import secure_channel

    receipts = []
    if node_config is not None:
        from node.config import NodeConfig
        from node.outbox import Outbox
        from node.store import NodeStore

        lab = NodeConfig.load(node_config)
        tls = lab.tls
        with NodeStore.open(lab.data_dir) as store:
            receipts = Outbox(store).receipts()
        default_state = lab.data_dir / "audit"
    elif identity is not None:
        tls = TlsFiles(
            ca_certificate=ca_certificate or identity.parent / "ca" / "ca.pem",
            certificate=identity / "tls.pem",
            private_key=identity / "tls.key",
        )
        default_state = identity / "audit"
    else:
        raise ConfigError("give --identity DIR or --node-config node.toml to connect with")
    channel = secure_channel(authority, tls, server_name=server_name)
    try:
        auditor = Auditor.over_grpc(
            channel,
            state_dir=state_dir or default_state / authority.replace(":", "_"),
            authority_key=VerifyingKey.from_file(authority_key),
        )
        result = auditor.audit(receipts, sample=min(sample, len(receipts)))
    finally:
        channel.close()
    stdout.print(f"[green]audit passed[/]: {result.summary()}", soft_wrap=True)


def main() -> None:
    try:
        app()
    except NearmissError as error:
        sys.exit(report_error(error))


if __name__ == "__main__":
    main()
