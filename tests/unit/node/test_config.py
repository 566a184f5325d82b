"""node.toml: the local API may only listen where another machine cannot reach it."""

from __future__ import annotations

from pathlib import Path

import pytest

from nearmiss.devnet import DevNetwork, init_network
from nearmiss.errors import ConfigError
from node.config import NodeConfig, check_local_listen, socket_path


@pytest.mark.parametrize(
    "listen", ["127.0.0.1:50061", "localhost:0", "[::1]:7000", "unix:/run/nm.sock", "unix:n.sock"]
)
def test_local_addresses_are_accepted(listen: str) -> None:
    check_local_listen(listen)


@pytest.mark.parametrize("listen", ["0.0.0.0:50061", "10.1.2.3:50061", "[::]:1", "example.org:1"])
def test_reachable_addresses_are_refused(listen: str) -> None:
    with pytest.raises(ConfigError, match="loopback address or a unix socket"):
        check_local_listen(listen)


def test_socket_paths() -> None:
    assert socket_path("unix:///run/nm.sock") == Path("/run/nm.sock")
    assert socket_path("unix:/run/nm.sock") == Path("/run/nm.sock")
    assert socket_path("unix:rel/nm.sock") == Path("rel/nm.sock")
    assert socket_path("127.0.0.1:1") is None


def test_config_defaults_and_overrides(tmp_path: Path) -> None:
    network = DevNetwork(directory=tmp_path, authority_id="eu-ai-office", labs=["lab-aurora"])
    init_network(network)
    path = network.node_config_path("lab-aurora")
    config = NodeConfig.load(path)
    assert config.outbox.batch_size == 50 and config.alerts_enabled
    assert config.database_path == tmp_path / "lab-aurora" / "data" / "node.db"
    text = path.read_text().replace('listen = "127.0.0.1:50061"', 'listen = "unix:node.sock"')
    text += '\n[outbox]\nbatch_size = 5\n\n[alerts]\ndirectory = "inbox"\n'
    path.write_text(text)
    config = NodeConfig.load(path)
    assert config.local_api_listen == f"unix:{tmp_path / 'lab-aurora' / 'node.sock'}"
    assert config.outbox.batch_size == 5
    assert config.alert_directory == tmp_path / "lab-aurora" / "inbox"
    path.write_text(text.replace("batch_size = 5", "batch_size = 0"))
    with pytest.raises(ConfigError, match=r"outbox\.batch_size"):
        NodeConfig.load(path)


def test_one_serve_per_data_directory(tmp_path: Path) -> None:
    from nearmiss.errors import PreconditionError
    from node.service import ServeLock

    first = ServeLock(tmp_path / "data")
    with pytest.raises(PreconditionError, match="another"):
        ServeLock(tmp_path / "data")
    first.release()
    ServeLock(tmp_path / "data").release()
