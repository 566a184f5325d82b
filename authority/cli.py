"""``nearmiss authority …`` commands."""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from authority.config import AuthorityConfig

app = typer.Typer(help="Run and operate an authority hub.", no_args_is_help=True)

ConfigOption = typer.Option(..., "--config", "-c", help="authority.toml", exists=False)


@app.command()
def serve(config: Path = ConfigOption, verbose: bool = typer.Option(False, "--verbose")) -> None:
    """Run the authority until SIGTERM or Ctrl-C."""
    from authority.server import serve as run_server

    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    run_server(AuthorityConfig.load(config))


def _register_disclosure_commands() -> None:
    from authority.disclosure.commands import approve_command, disclosures_command

    app.command("approve")(approve_command)
    app.command("disclosures")(disclosures_command)


_register_disclosure_commands()


def _register_alert_commands() -> None:
    from authority.alerts.commands import alerts_app, peers_command

    app.add_typer(alerts_app, name="alerts")
    app.command("peers")(peers_command)


_register_alert_commands()


def _register_case_commands() -> None:
    from authority.cases.commands import cases_app

    app.add_typer(cases_app, name="cases")


_register_case_commands()


def _register_privacy_commands() -> None:
    from authority.privacy.commands import ledger_command, release_command

    app.command("release")(release_command)
    app.command("ledger")(ledger_command)


_register_privacy_commands()
