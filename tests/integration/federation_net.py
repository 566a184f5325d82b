"""Separate dev PKIs cross-pinned into a federation, for tests and the alert benchmark.

Each institute gets its own ``nearmiss.devnet`` directory (its own CA); then every
authority.toml gets a ``[federation]`` table listing the others as peers, pinning
their CA certificates and signing keys. No CA is shared.
"""

from __future__ import annotations

from pathlib import Path

from nearmiss.devnet import DevNetwork, FederationMember, init_network
from nearmiss.devnet import federate as federate_members
from tests.integration.network import free_port

LABS = ("lab-aurora", "lab-borealis", "lab-cygnus")

# Short retries and timeouts, so tests and the benchmark see outages end quickly.
TEST_SETTINGS = "\n".join(
    [
        "retry_min_seconds = 0.2",
        "retry_max_seconds = 1.0",
        "poll_seconds = 2.0",
        "call_timeout_seconds = 5.0",
    ]
)

Institute = FederationMember


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


def federate(institutes: list[Institute], *, extra_toml: str = "") -> None:
    """Pin every institute's peers into its authority.toml (full mesh)."""
    federate_members(institutes, settings=TEST_SETTINGS, extra_toml=extra_toml)
