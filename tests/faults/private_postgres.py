"""A private PostgreSQL server for one test: its own data directory and port, so a test
can stop and start it without touching the machine's shared server.

Rules: the server runs as the ``postgres`` system user when the test runs as root
(``initdb`` refuses root), listens on 127.0.0.1 only with trust authentication, and is
stopped and its directory removed when the context exits. Without the binaries, or
without a way to run them, the test is skipped with the reason (in CI too: the shared
server still covers PostgreSQL; this one only adds the restart).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.network import free_port

TIMEOUT_S = 60


def _binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path else None


@dataclass
class PrivatePostgres:
    bin_dir: Path
    data_dir: Path
    port: int
    run_as: str | None

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if self.run_as is not None:
            command = ["runuser", "-u", self.run_as, "--", *command]
        return subprocess.run(
            command, capture_output=True, text=True, timeout=TIMEOUT_S, cwd=self.data_dir.parent
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data_dir} "
            "-c fsync=off -c max_connections=60"
        )
        result = self._run(
            "pg_ctl", "-D", str(self.data_dir), "-o", options, "-l",
            str(self.data_dir / "server.log"), "-w", "-t", str(TIMEOUT_S), "start",
        )
        if result.returncode != 0:
            raise RuntimeError(f"private PostgreSQL did not start: {result.stderr}")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", mode, "-w", "stop")


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    bin_dir = _binaries()
    if bin_dir is None:
        pytest.skip("no PostgreSQL server binaries (pg_ctl, initdb) on this machine")
    run_as: str | None = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and no 'postgres' user to run initdb as")
        if shutil.which("runuser") is None:
            pytest.skip("running as root and no runuser to drop to the 'postgres' user")
        run_as = "postgres"
    root = Path(tempfile.mkdtemp(prefix="nearmiss-pg-"))
    data_dir = root / "data"
    if run_as is not None:
        os.chmod(root, 0o755)
        shutil.chown(root, user=run_as)
    server = PrivatePostgres(bin_dir, data_dir, free_port(), run_as)
    try:
        result = server._run(
            "initdb", "-D", str(data_dir), "-U", "postgres", "--auth=trust", "--no-sync",
            "-E", "UTF8",
        )
        if result.returncode != 0:
            pytest.skip(f"initdb failed here: {result.stderr.strip()[:300]}")
        server.start()
        try:
            yield server
        finally:
            server.stop("immediate")
    finally:
        shutil.rmtree(root, ignore_errors=True)
