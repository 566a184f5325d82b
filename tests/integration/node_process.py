"""Running ``nearmiss node serve`` as a real process for integration tests, and
reading what the authority holds.

Everything started here is stopped by the test that started it; waits are bounded.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from sqlalchemy import create_engine, text

from authority.config import AuthorityConfig
from nearmiss.devnet import DevNetwork
from tests.conftest import EXAMPLES, REPO
from tests.integration.network import START_TIMEOUT_S, nearmiss_command, subprocess_env

TEST_PACK = REPO / "tests" / "unit" / "node" / "test-redaction.yaml"
EXAMPLE = EXAMPLES / "nm-agent-oversight-tampering.yaml"


def configure_node(
    network: DevNetwork,
    lab: str,
    *,
    listen: str | None = None,
    extra: str = "",
) -> Path:
    """The lab's node.toml with the small test redaction pack (the default pack loads a
    NER model: seconds per start), optionally another local API address ("" turns it
    off, ``unix:PATH`` for a socket), and ``extra`` TOML tables appended."""
    path = network.node_config_path(lab)
    content = path.read_text().replace(
        "packs = []", f'packs = ["{TEST_PACK}"]\ninclude_default = false'
    )
    if listen is not None:
        old = content[content.index('listen = "') :].split("\n", 1)[0]
        content = content.replace(old, f'listen = "{listen}"')
    path.write_text(content + "\n" + extra)
    return path


def report_documents(count: int, *, lab: str = "lab-aurora") -> list[bytes]:
    """``count`` distinct, valid reports (YAML) based on an example, detected yesterday."""
    base = yaml.safe_load(EXAMPLE.read_text())
    detected = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    documents = []
    for n in range(count):
        data = dict(base)
        data["report_id"] = str(uuid.UUID(int=uuid.uuid4().int))
        data["lab_id"] = lab
        data["title"] = f"Crash-test report {n}: reasoning proposed disabling logging"
        data["occurred_at"] = detected - timedelta(hours=1)
        data["detected_at"] = detected
        documents.append(yaml.safe_dump(data).encode())
    return documents


@dataclass
class NodeProcess:
    process: subprocess.Popen[str]
    log_path: Path

    def kill(self) -> None:
        """SIGKILL: no cleanup of any kind runs in the node."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)

    def stop(self, timeout: float = 20.0) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return self.process.returncode

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


def node_command(*args: str, direct: bool = False) -> list[str]:
    """``nearmiss node ARGS``, or with ``direct`` the same commands through
    ``python -m node`` (no authority imports: a restart costs less)."""
    if direct:
        return [sys.executable, "-m", "node", *args]
    return nearmiss_command("node", *args)


def spawn_node(config: Path, log_path: Path, *, direct: bool = False) -> NodeProcess:
    handle = log_path.open("a")
    process = subprocess.Popen(
        node_command("serve", "--config", str(config), direct=direct),
        stdout=handle,
        stderr=subprocess.STDOUT,
        text=True,
        env=subprocess_env(),
        cwd=REPO,
    )
    return NodeProcess(process, log_path)


def start_node(config: Path, log_path: Path, *, direct: bool = False) -> NodeProcess:
    """Start ``node serve`` and wait for its "serving" line."""
    start = log_path.read_text(errors="replace").count(" serving; ") if log_path.exists() else 0
    node = spawn_node(config, log_path, direct=direct)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if node.output().count(" serving; ") > start:
            return node
        if node.process.poll() is not None:
            raise RuntimeError(f"node exited with {node.process.returncode}:\n{node.output()}")
        time.sleep(0.05)
    node.kill()
    raise RuntimeError(f"node did not start in {START_TIMEOUT_S} s:\n{node.output()}")


@dataclass(frozen=True)
class AuthorityHolding:
    report_rows: int
    distinct_report_ids: frozenset[str]
    log_size: int


def authority_holding(network: DevNetwork) -> AuthorityHolding:
    config = AuthorityConfig.load(network.authority_config_path())
    engine = create_engine(config.database_url)
    try:
        with engine.connect() as connection:
            ids = [row[0] for row in connection.execute(text("SELECT report_id FROM nm_report"))]
            leaves = connection.execute(text("SELECT COUNT(*) FROM nm_log_leaf")).scalar_one()
    finally:
        engine.dispose()
    return AuthorityHolding(len(ids), frozenset(ids), int(leaves))
