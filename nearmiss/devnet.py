"""``nearmiss pki init``: a development network directory, ready to run.

Layout written under DIR (every party in a folder named by its id)::

    DIR/ca/ca.pem, ca.key                      the network's dev CA
    DIR/<authority>/tls.*, signing.*, authority.toml, revoked-serials.txt
    DIR/<lab>/tls.*, signing.*, node.toml      one per --lab
    DIR/<institute>/tls.*                      one per --institute (role INSTITUTE)
    DIR/<analyst>/tls.*                        one per --analyst (role ANALYST)
    DIR/<auditor>/tls.*                        one per --auditor (role AUDITOR)

Rules: refuses to overwrite an existing CA (so a mistyped command cannot replace a
network's keys); party ids must be unique across roles.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from nearmiss.errors import ConfigError
from nearmiss.identity import Role, party_uri
from nearmiss.pki import CertificateAuthority, write_party


@dataclass(frozen=True)
class DevNetwork:
    directory: Path
    authority_id: str
    labs: list[str]
    institutes: list[str] = field(default_factory=list)
    analysts: list[str] = field(default_factory=list)
    auditors: list[str] = field(default_factory=list)
    authority_port: int = 50051
    local_api_base_port: int = 50061
    database_url: str = "sqlite:///authority.db"

    def authority_config_path(self) -> Path:
        return self.directory / self.authority_id / "authority.toml"

    def node_config_path(self, lab_id: str) -> Path:
        return self.directory / lab_id / "node.toml"


def _check_ids(network: DevNetwork) -> None:
    seen: set[str] = set()
    everyone = [(network.authority_id, Role.AUTHORITY)]
    everyone += [(lab, Role.LAB) for lab in network.labs]
    everyone += [(i, Role.INSTITUTE) for i in network.institutes]
    everyone += [(a, Role.ANALYST) for a in network.analysts]
    everyone += [(a, Role.AUDITOR) for a in network.auditors]
    for party_id, role in everyone:
        try:
            party_uri(party_id, role)
        except ValueError as error:
            raise ConfigError(str(error), key=f"--{role.value.lower()}") from None
        if party_id in seen or party_id == "ca":
            raise ConfigError(f"party id {party_id!r} is used twice (or reserved)")
        seen.add(party_id)


def _authority_toml(network: DevNetwork) -> str:
    lines = [
        "# Written by `nearmiss pki init`; paths are relative to this file.",
        "[authority]",
        f'id = "{network.authority_id}"',
        f'listen = "127.0.0.1:{network.authority_port}"',
        f'database_url = "{network.database_url}"',
        'data_dir = "data"',
        "",
        "[tls]",
        'ca_certificate = "../ca/ca.pem"',
        'certificate = "tls.pem"',
        'private_key = "tls.key"',
        "",
        "[signing]",
        'private_key = "signing.key"',
        "",
        "[revocation]",
        'revoked_serials_file = "revoked-serials.txt"',
        "",
    ]
    for lab in network.labs:
        lines += [
            f"[parties.{lab}]",
            'role = "LAB"',
            f'signing_public_key = "../{lab}/signing.pub"',
            "",
        ]
    for role, ids in (
        (Role.INSTITUTE, network.institutes),
        (Role.ANALYST, network.analysts),
        (Role.AUDITOR, network.auditors),
    ):
        for party_id in ids:
            lines += [f"[parties.{party_id}]", f'role = "{role.value}"', ""]
    return "\n".join(lines)


def _node_toml(network: DevNetwork, lab_id: str, local_api_port: int) -> str:
    return "\n".join(
        [
            "# Written by `nearmiss pki init`; paths are relative to this file.",
            "[node]",
            f'lab_id = "{lab_id}"',
            'data_dir = "data"',
            "",
            "[authority]",
            f'address = "127.0.0.1:{network.authority_port}"',
            'server_name = "localhost"',
            f'signing_public_key = "../{network.authority_id}/signing.pub"',
            "",
            "[tls]",
            'ca_certificate = "../ca/ca.pem"',
            'certificate = "tls.pem"',
            'private_key = "tls.key"',
            "",
            "[signing]",
            'private_key = "signing.key"',
            "",
            "[redaction]",
            "packs = []",
            "",
            "[local_api]",
            f'listen = "127.0.0.1:{local_api_port}"',
            "",
        ]
    )


def init_network(network: DevNetwork) -> list[Path]:
    """Create the directory; returns the config files written."""
    _check_ids(network)
    ca_dir = network.directory / "ca"
    if (ca_dir / "ca.key").exists():
        raise ConfigError(
            "already holds a CA; choose an empty directory", source=str(network.directory)
        )
    ca = CertificateAuthority.create(network.authority_id)
    ca.write(ca_dir)
    authority_dir = network.directory / network.authority_id
    write_party(ca, authority_dir, network.authority_id, Role.AUTHORITY, signing=True)
    (authority_dir / "revoked-serials.txt").write_text(
        "# Revoked certificate serials (hex), one a line; re-read on change.\n"
    )
    network.authority_config_path().write_text(_authority_toml(network))
    written = [network.authority_config_path()]
    for offset, lab in enumerate(network.labs):
        write_party(ca, network.directory / lab, lab, Role.LAB, signing=True)
        path = network.node_config_path(lab)
        path.write_text(_node_toml(network, lab, network.local_api_base_port + offset))
        written.append(path)
    for role, ids in (
        (Role.INSTITUTE, network.institutes),
        (Role.ANALYST, network.analysts),
        (Role.AUDITOR, network.auditors),
    ):
        for party_id in ids:
            write_party(ca, network.directory / party_id, party_id, role, signing=False)
    return written


@dataclass(frozen=True)
class FederationMember:
    """One institute's dev network and the port its FederationService listens on."""

    network: DevNetwork
    federation_port: int

    @property
    def authority_id(self) -> str:
        return self.network.authority_id

    @property
    def ca_certificate(self) -> Path:
        return self.network.directory / "ca" / "ca.pem"

    @property
    def signing_public_key(self) -> Path:
        return self.network.directory / self.authority_id / "signing.pub"

    @property
    def config_path(self) -> Path:
        return self.network.authority_config_path()

    @property
    def federation_address(self) -> str:
        return f"127.0.0.1:{self.federation_port}"


def federation_toml(
    member: FederationMember, peers: list[FederationMember], *, settings: str = ""
) -> str:
    """The ``[federation]`` table for ``member``, pinning each peer's CA and signing key;
    ``settings`` holds extra ``key = value`` lines for the table (e.g. retry timings)."""
    lines = ["", "[federation]", f'listen = "{member.federation_address}"', settings, ""]
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


def federate(members: list[FederationMember], *, settings: str = "", extra_toml: str = "") -> None:
    """Pin every member's peers into its authority.toml (a full mesh of separate PKIs).
    ``extra_toml`` is appended before the federation table (other tables)."""
    for member in members:
        peers = [peer for peer in members if peer is not member]
        path = member.config_path
        path.write_text(
            path.read_text() + extra_toml + federation_toml(member, peers, settings=settings)
        )
