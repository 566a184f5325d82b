"""Separate dev PKIs cross-pinned into a federation, for tests and the alert benchmark.

Each institute gets its own ``nearmiss.devnet`` directory (its own CA); then every
authority.toml gets a ``[federation]`` table listing the others as peers, pinning
their CA certificates and signing keys. No CA is shared.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

from nearmiss.devnet import DevNetwork, init_network

LABS = ("lab-aurora", "lab-borealis", "lab-cygnus")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Institute:
    network: DevNetwork
    federation_port: int

    @property
    def authority_id(self) -> str:
        return self.network.authority_id

    @property
    def config_path(self) -> Path:
        return self.network.authority_config_path()

    @property
    def ca_certificate(self) -> Path:
        return self.network.directory / "ca" / "ca.pem"

    @property
    def signing_public_key(self) -> Path:
        return self.network.directory / self.authority_id / "signing.pub"

    @property
    def federation_address(self) -> str:
        return f"127.0.0.1:{self.federation_port}"


def make_institute(
    root: Path,
    authority_id: str,
    *,
    labs: tuple[str, ...] = LABS,
    institutes: tuple[str, ...] = ("inst-duty",),
    database_url: str = "sqlite:///authority.db",
) -> Institute:
    """A dev network of its own (its own CA) for one institute."""
    network = DevNetwork(
        directory=root / authority_id,
        authority_id=authority_id,
        labs=list(labs),
        institutes=list(institutes),
        analysts=["analyst"],
        auditors=["auditor"],
        authority_port=free_port(),
        local_api_base_port=free_port(),
        database_url=database_url,
    )
    init_network(network)
    return Institute(network, free_port())


def federation_toml(me: Institute, peers: list[Institute], *, extra: str = "") -> str:
    lines = [
        "",
        "[federation]",
        f'listen = "{me.federation_address}"',
        "retry_min_seconds = 0.2",
        "retry_max_seconds = 1.0",
        "poll_seconds = 2.0",
        "call_timeout_seconds = 5.0",
        extra,
        "",
    ]
    for peer in peers:
        lines += [
            f"[federation.peers.{peer.authority_id}]",
            f'address = "{peer.federation_address}"',
            f'ca_certificate = "{peer.ca_certificate}"',
            f'signing_public_key = "{peer.signing_public_key}"',
            'server_name = "localhost"',
            "",
        ]
    return "\n".join(lines)


def federate(institutes: list[Institute], *, extra_toml: str = "") -> None:
    """Pin every institute's peers into its authority.toml (full mesh)."""
    for me in institutes:
        others = [peer for peer in institutes if peer is not me]
        text = me.config_path.read_text()
        me.config_path.write_text(text + extra_toml + federation_toml(me, others))
