"""Real processes on loopback for integration tests: a dev network, an authority, CLIs.

Everything started here is stopped by the fixture that started it; ports are picked free
on 127.0.0.1; waits are bounded.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from nearmiss.devnet import DevNetwork, init_network
from tests.conftest import REPO

POSTGRES_ADMIN_URL = os.environ.get(
    "NEARMISS_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
)
START_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["HF_HUB_OFFLINE"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def nearmiss_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "nearmiss.cli", *args]


def run_cli(*args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        nearmiss_command(*args),
        capture_output=True,
        text=True,
        timeout=timeout,
        env=subprocess_env(),
        cwd=REPO,
    )


@dataclass
class AuthorityProcess:
    process: subprocess.Popen[str]
    address: str
    log_path: Path

    def stop(self, timeout: float = 20.0) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return self.process.returncode

    def is_running(self) -> bool:
        return self.process.poll() is None

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_authority(config: Path, log_path: Path) -> AuthorityProcess:
    handle = log_path.open("w")
    process = subprocess.Popen(
        nearmiss_command("authority", "serve", "--config", str(config)),
        stdout=handle,
        stderr=subprocess.STDOUT,
        text=True,
        env=subprocess_env(),
        cwd=REPO,
    )
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        text = log_path.read_text(errors="replace")
        for line in text.splitlines():
            if line.startswith("listening on "):
                return AuthorityProcess(
                    process, line.removeprefix("listening on ").strip(), log_path
                )
        if process.poll() is not None:
            raise RuntimeError(f"authority exited with {process.returncode}:\n{text}")
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"authority did not start in {START_TIMEOUT_S} s:\n{log_path.read_text()}")


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test; dropped afterwards."""
    try:
        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no PostgreSQL server answers at {POSTGRES_ADMIN_URL}: {error}")
    name = f"nm_test_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace(
                "postgresql://", "postgresql+psycopg://"
            )
            yield f"{base}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def make_network(
    directory: Path,
    *,
    labs: tuple[str, ...] = ("lab-aurora", "lab-borealis", "lab-cygnus"),
    database_url: str = "sqlite:///authority.db",
    institutes: tuple[str, ...] = (),
) -> DevNetwork:
    network = DevNetwork(
        directory=directory,
        authority_id="eu-ai-office",
        labs=list(labs),
        institutes=list(institutes),
        analysts=["analyst"],
        auditors=["auditor"],
        authority_port=free_port(),
        local_api_base_port=free_port(),
        database_url=database_url,
    )
    init_network(network)
    return network
