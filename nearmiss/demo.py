"""``nearmiss demo``: a whole local network on loopback, with sample reports.

It runs the real programs as separate processes — exactly what an operator would run —
so the demo exercises the same code paths as production: a fresh dev PKI in a temporary
directory, an authority (``nearmiss authority serve``), and each example report filed by
its lab (``nearmiss node submit``). It stays up until Ctrl-C, then stops everything and
removes the temporary directory (``--keep`` keeps it).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from nearmiss.console import stderr, stdout
from nearmiss.devnet import DevNetwork, init_network
from nearmiss.errors import UnavailableError
from nearmiss.reportfile import load_report

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
START_TIMEOUT_S = 90.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "nearmiss.cli", *args]


@dataclass
class DemoNetwork:
    directory: Path
    database_url: str
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start_process(self, name: str, *args: str, ready_line: str) -> subprocess.Popen[bytes]:
        log_path = self.directory / f"{name}.log"
        handle = log_path.open("wb")
        process = subprocess.Popen(
            _command(*args), stdout=handle, stderr=subprocess.STDOUT, env=_env()
        )
        self.processes.append(process)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if ready_line in log_path.read_text(errors="replace"):
                return process
            if process.poll() is not None:
                raise UnavailableError(
                    f"{name} exited with {process.returncode}; see {log_path}"
                )
            time.sleep(0.2)
        raise UnavailableError(f"{name} did not start within {START_TIMEOUT_S:.0f} s")

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TRANSFORMERS_OFFLINE", "1")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _file_examples(network: DevNetwork) -> Table:
    reports = sorted(EXAMPLES.glob("*.yaml"))
    table = Table(title="reports filed")
    table.add_column("lab")
    table.add_column("kind")
    table.add_column("harm domains")
    table.add_column("title", max_width=60)
    table.add_column("receipt")
    with Progress(
        TextColumn("filing example reports"), BarColumn(), MofNCompleteColumn(), console=stdout
    ) as progress:
        task = progress.add_task("file", total=len(reports))
        for path in reports:
            report = load_report(path)
            if report.lab_id not in network.labs:
                progress.advance(task)
                continue
            result = subprocess.run(
                _command(
                    "node", "submit", str(path), "--config",
                    str(network.node_config_path(report.lab_id)),
                ),
                capture_output=True,
                text=True,
                env=_env(),
                timeout=120,
            )
            status = "[green]verified[/]" if result.returncode == 0 else "[red]failed[/]"
            if result.returncode != 0:
                stderr.print(result.stderr.strip(), markup=False)
            table.add_row(
                report.lab_id,
                report.kind.value,
                ", ".join(d.value for d in report.harm_domains),
                report.title,
                status,
            )
            progress.advance(task)
    return table


def run_demo(*, database_url: str | None, keep: bool, directory: Path | None) -> None:
    work = directory or Path(tempfile.mkdtemp(prefix="nearmiss-demo-"))
    labs = sorted({load_report(p).lab_id for p in EXAMPLES.glob("*.yaml")})
    network = DevNetwork(
        directory=work,
        authority_id="eu-ai-office",
        labs=labs,
        institutes=["uk-aisi"],
        analysts=["analyst"],
        auditors=["auditor"],
        authority_port=free_port(),
        local_api_base_port=free_port(),
        database_url=database_url or "sqlite:///authority.db",
    )
    stdout.rule("[bold]nearmiss demo")
    stdout.print(f"dev network in {work}")
    init_network(network)
    demo = DemoNetwork(work, network.database_url)
    try:
        demo.start_process(
            "authority",
            "authority", "serve", "--config", str(network.authority_config_path()),
            ready_line="listening on",
        )
        stdout.print(f"authority [bold]eu-ai-office[/] on 127.0.0.1:{network.authority_port}")
        stdout.print(_file_examples(network))
        stdout.print(
            f"\naudit the log: nearmiss audit --authority 127.0.0.1:{network.authority_port}"
        )
        stdout.print("[bold]network is up. Ctrl-C stops it.[/]")
        while all(p.poll() is None for p in demo.processes):
            time.sleep(0.5)
        stderr.print("a process of the network exited; stopping")
    except KeyboardInterrupt:
        stdout.print("\nstopping…")
    finally:
        demo.stop()
        if not keep and directory is None:
            shutil.rmtree(work, ignore_errors=True)
