"""``nearmiss demo``: a whole federated network on loopback, with sample reports.

It runs the real programs as separate processes — what an operator would run — so the
demo exercises the production code paths: two institutes, each with its own dev PKI
(``eu-ai-office`` with the labs, ``uk-aisi`` as its federation peer, CAs pinned both
ways); an authority per institute (``nearmiss authority serve``, dashboard included); a
node per lab (``nearmiss node serve``). The example reports are filed through each
node's local API; the demo then waits until the labs' reports of one phishing campaign
are linked into one case, and an alert about it has crossed to the peer institute.
It stays up until Ctrl-C, then stops everything and removes its temporary directory
(``--keep`` or ``--dir`` keep it).

Rule: this module talks to the processes only over their public interfaces (gRPC,
files, stdout), so it imports neither ``node`` nor ``authority``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import grpc
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from nearmiss.config import TlsFiles
from nearmiss.console import stderr, stdout
from nearmiss.devnet import DevNetwork, FederationMember, federate, init_network
from nearmiss.errors import UnavailableError
from nearmiss.reportfile import load_report
from nearmiss.v1 import (
    authority_pb2,
    authority_pb2_grpc,
    cases_pb2,
    cases_pb2_grpc,
    node_pb2,
    node_pb2_grpc,
)

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SHIPPED_DISCLOSURE_PACK = (
    Path(__file__).resolve().parent.parent / "policies" / "packs" / "disclosure-default.yaml"
)
START_TIMEOUT_S = 120.0
LINK_TIMEOUT_S = 180.0
AUTHORITY_ID = "eu-ai-office"
PEER_ID = "uk-aisi"
T = TypeVar("T")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "nearmiss.cli", *args]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TRANSFORMERS_OFFLINE", "1")
    env.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _wait_for(what: str, attempt: Callable[[], T | None], timeout_s: float) -> T:
    """Call ``attempt`` until it returns a value; UnavailableError after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = attempt()
        if result is not None:
            return result
        time.sleep(0.5)
    raise UnavailableError(f"the demo gave up waiting for {what} after {timeout_s:.0f} s")


@dataclass
class Processes:
    """The network's processes; each logs to a file in the demo directory."""

    directory: Path
    running: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    def start(self, name: str, *args: str, ready: str) -> None:
        log_path = self.directory / f"{name}.log"
        handle = log_path.open("wb")
        process = subprocess.Popen(
            _command(*args), stdout=handle, stderr=subprocess.STDOUT, env=_env()
        )
        self.running.append((name, process))

        def is_ready() -> bool | None:
            if process.poll() is not None:
                raise UnavailableError(f"{name} exited with {process.returncode}; see {log_path}")
            return True if ready in log_path.read_text(errors="replace") else None

        _wait_for(f"{name} to start", is_ready, START_TIMEOUT_S)

    def dead(self) -> str | None:
        return next((name for name, p in self.running if p.poll() is not None), None)

    def stop(self) -> None:
        for _name, process in reversed(self.running):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for _name, process in self.running:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()


def _mtls_channel(address: str, party_dir: Path) -> grpc.Channel:
    tls = TlsFiles(party_dir.parent / "ca" / "ca.pem", party_dir / "tls.pem", party_dir / "tls.key")
    ca, chain, key = tls.read()
    credentials = grpc.ssl_channel_credentials(
        root_certificates=ca, private_key=key, certificate_chain=chain
    )
    return grpc.secure_channel(
        address, credentials, options=[("grpc.ssl_target_name_override", "localhost")]
    )


def _make_networks(work: Path, database_url: str) -> tuple[DevNetwork, DevNetwork, dict[str, int]]:
    labs = sorted({load_report(path).lab_id for path in EXAMPLES.glob("*.yaml")})
    networks = []
    for authority_id, network_labs, url in (
        (AUTHORITY_ID, labs, database_url),
        (PEER_ID, [], "sqlite:///authority.db"),
    ):
        network = DevNetwork(
            directory=work / authority_id,
            authority_id=authority_id,
            labs=network_labs,
            analysts=["analyst"],
            auditors=["auditor"],
            authority_port=free_port(),
            local_api_base_port=free_port(),
            database_url=url,
        )
        init_network(network)
        networks.append(network)
    members = [FederationMember(network, free_port()) for network in networks]
    federate(members)
    _demo_disclosure_policy(networks[0], work)
    dashboards = {}
    for network in networks:
        dashboards[network.authority_id] = port = free_port()
        path = network.authority_config_path()
        path.write_text(path.read_text() + f'\n[dashboard]\nlisten = "127.0.0.1:{port}"\n')
    for lab in labs:
        # Give each lab distinct local API ports (devnet numbers them from one base).
        config = networks[0].node_config_path(lab)
        text = config.read_text()
        start = text.index('listen = "127.0.0.1:')
        end = text.index('"', start + len('listen = "'))
        config.write_text(text[:start] + f'listen = "127.0.0.1:{free_port()}' + text[end:])
    return networks[0], networks[1], dashboards


def _demo_disclosure_policy(network: DevNetwork, work: Path) -> None:
    """The shipped disclosure pack with every embargo at 0 days, so that the demo's
    dashboard shows a disclosure within seconds. Everything else (public text, the
    two-lab minimum, approvals, child safety in aggregates only) is the shipped policy."""
    text = re.sub(r"embargo_days: \d+", "embargo_days: 0", SHIPPED_DISCLOSURE_PACK.read_text())
    text = text.replace("name: nearmiss-default", "name: nearmiss-demo-no-embargo")
    pack = work / "demo-disclosure.yaml"
    pack.write_text("# The demo's copy of the default pack: no embargo.\n" + text)
    path = network.authority_config_path()
    path.write_text(
        path.read_text()
        + f'\n[policies]\ndisclosure = "{pack}"\n\n[disclosure]\ninterval_seconds = 5\n'
    )


def _disclosures(dashboard_port: int) -> list[dict[str, object]] | None:
    url = f"http://127.0.0.1:{dashboard_port}/api/disclosures"
    with urllib.request.urlopen(url, timeout=10) as response:
        listed = json.load(response).get("disclosures", [])
    return listed or None


def _local_api_address(network: DevNetwork, lab: str) -> str:
    text = network.node_config_path(lab).read_text()
    start = text.index('listen = "') + len('listen = "')
    return text[start : text.index('"', start)]


def _file_examples(network: DevNetwork) -> Table:
    reports = sorted(EXAMPLES.glob("*.yaml"))
    table = Table(title="reports filed through each lab's node (redacted, signed, queued)")
    for column in ("lab", "kind", "harm domains", "title", "redactions"):
        table.add_column(column, overflow="fold")
    with Progress(
        TextColumn("filing example reports"), BarColumn(), MofNCompleteColumn(), console=stdout
    ) as progress:
        task = progress.add_task("file", total=len(reports))
        for path in reports:
            report = load_report(path)
            with grpc.insecure_channel(_local_api_address(network, report.lab_id)) as channel:
                response: node_pb2.FileReportResponse = node_pb2_grpc.NodeServiceStub(
                    channel
                ).FileReport(
                    node_pb2.FileReportRequest(report_document=path.read_bytes()), timeout=120
                )
            replaced = sum(response.redaction_counts.values())
            table.add_row(
                report.lab_id,
                report.kind.value,
                ", ".join(d.value for d in report.harm_domains),
                report.title,
                str(replaced),
            )
            progress.advance(task)
    return table


def _outboxes_empty(network: DevNetwork) -> bool | None:
    for lab in network.labs:
        with grpc.insecure_channel(_local_api_address(network, lab)) as channel:
            status: node_pb2.NodeStatus = node_pb2_grpc.NodeServiceStub(channel).GetNodeStatus(
                node_pb2.GetNodeStatusRequest(), timeout=10
            )
        if status.outbox_depth:
            return None
    return True


def _cross_lab_cases(address: str, analyst: Path) -> list[cases_pb2.CaseSummary] | None:
    with _mtls_channel(address, analyst) as channel:
        response: cases_pb2.ListCasesResponse = cases_pb2_grpc.CaseServiceStub(channel).ListCases(
            cases_pb2.ListCasesRequest(min_reports=2), timeout=10
        )
    linked = [case for case in response.cases if case.lab_count >= 2]
    return linked if linked and response.unlinked_reports == 0 else None


def _peer_alert(address: str, analyst: Path, timeout_s: float) -> authority_pb2.Alert:
    with _mtls_channel(address, analyst) as channel:
        stream = authority_pb2_grpc.AuthorityServiceStub(channel).SubscribeAlerts(
            authority_pb2.SubscribeAlertsRequest(resume_after_cursor=0), timeout=timeout_s
        )
        try:
            for alert in stream:
                if alert.origin_authority == AUTHORITY_ID:
                    stream.cancel()
                    return alert  # type: ignore[no-any-return]
        except grpc.RpcError as error:
            raise UnavailableError(
                f"no alert reached {PEER_ID} within {timeout_s:.0f} s ({error.code().name})"
            ) from None
    raise UnavailableError(f"the alert stream of {PEER_ID} ended without an alert")


def _show_cases(cases: list[cases_pb2.CaseSummary]) -> Table:
    table = Table(title=f"cases at {AUTHORITY_ID} linking reports from several labs")
    for column in ("case", "reports", "labs", "harm domains", "title"):
        table.add_column(column, overflow="fold")
    for case in cases:
        table.add_row(
            f"#{case.case_number}",
            str(case.report_count),
            str(case.lab_count),
            ", ".join(case.harm_domains),
            case.title,
        )
    return table


def run_demo(*, database_url: str | None, keep: bool, directory: Path | None) -> None:
    work = directory or Path(tempfile.mkdtemp(prefix="nearmiss-demo-"))
    work.mkdir(parents=True, exist_ok=True)
    stdout.rule("[bold]nearmiss demo")
    stdout.print(f"two institutes' dev networks in {work} (logs: *.log there)")
    eu, uk, dashboards = _make_networks(work, database_url or "sqlite:///authority.db")
    processes = Processes(work)
    try:
        with stdout.status("starting the authorities (loading models can take a minute)…"):
            for network in (eu, uk):
                processes.start(
                    network.authority_id,
                    "authority",
                    "serve",
                    "--config",
                    str(network.authority_config_path()),
                    ready="listening on",
                )
        stdout.print(
            f"authority [bold]{AUTHORITY_ID}[/] on 127.0.0.1:{eu.authority_port}, "
            f"federated with [bold]{PEER_ID}[/] (separate CA, pinned both ways)"
        )
        with stdout.status("starting one node per lab…"):
            for lab in eu.labs:
                processes.start(
                    lab,
                    "node",
                    "serve",
                    "--config",
                    str(eu.node_config_path(lab)),
                    ready="serving",
                )
        stdout.print(f"lab nodes: {', '.join(eu.labs)}")
        stdout.print(_file_examples(eu))
        with stdout.status("delivering: each node sends its outbox and verifies receipts…"):
            _wait_for("the nodes to deliver", lambda: _outboxes_empty(eu), LINK_TIMEOUT_S)
        with stdout.status("deduplicating: embedding reports and linking cases…"):
            cases = _wait_for(
                "a cross-lab case",
                lambda: _cross_lab_cases(
                    f"127.0.0.1:{eu.authority_port}", eu.directory / "analyst"
                ),
                LINK_TIMEOUT_S,
            )
        stdout.print(_show_cases(cases))
        with stdout.status(f"waiting for an alert to cross to {PEER_ID}…"):
            alert = _peer_alert(
                f"127.0.0.1:{uk.authority_port}", uk.directory / "analyst", LINK_TIMEOUT_S
            )
        stdout.print(
            f"[green]alert received at {PEER_ID}[/] from {alert.origin_authority}: "
            f"{alert.title!r} (rule {alert.rule_id}, {alert.reporting_lab_count} labs, "
            f"severity {alert.severity}; provenance verified against the origin's log)",
            soft_wrap=True,
        )
        with stdout.status("publishing: the disclosure job runs every 5 s…"):
            published = _wait_for(
                "a public disclosure", lambda: _disclosures(dashboards[AUTHORITY_ID]), 60
            )
        stdout.print(
            f"[green]{len(published)} case(s) disclosed[/] on the dashboard (demo policy: no "
            "embargo; public sections only; no lab named; signed)"
        )
        stdout.rule("[bold]the network is up")
        stdout.print(f"dashboard:   http://127.0.0.1:{dashboards[AUTHORITY_ID]}/")
        stdout.print(f"peer's:      http://127.0.0.1:{dashboards[PEER_ID]}/")
        stdout.print(
            f"audit:       nearmiss audit --authority 127.0.0.1:{eu.authority_port} "
            f"--identity {eu.directory / 'auditor'} "
            f"--authority-key {eu.directory / AUTHORITY_ID / 'signing.pub'}",
            soft_wrap=True,
        )
        stdout.print(
            f"a lab:       nearmiss node status --config {eu.node_config_path(eu.labs[0])}",
            soft_wrap=True,
        )
        stdout.print("[bold]Ctrl-C stops the network.[/]")
        while (dead := processes.dead()) is None:
            time.sleep(0.5)
        stderr.print(f"{dead} exited; stopping the network")
    except KeyboardInterrupt:
        stdout.print("\nstopping…")
    finally:
        processes.stop()
        if not keep and directory is None:
            shutil.rmtree(work, ignore_errors=True)
