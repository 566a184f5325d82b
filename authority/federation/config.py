"""``[federation]`` in authority.toml: this institute's federation endpoint and its peers.

Example::

    [federation]
    listen = "127.0.0.1:50071"         # FederationService, on its own port
    certificate = "tls.pem"            # default: [tls] certificate (role AUTHORITY)
    private_key = "tls.key"            # default: [tls] private_key
    retry_min_seconds = 0.5            # sender back-off after a failed exchange...
    retry_max_seconds = 30             # ...doubling up to this
    poll_seconds = 5                   # senders re-read the outbox at least this often
    call_timeout_seconds = 10

    [federation.peers.us-caisi]
    address = "127.0.0.1:50072"
    ca_certificate = "peers/us-caisi-ca.pem"     # PINNED: the peer's own CA
    signing_public_key = "peers/us-caisi.pub"    # verifies its tree heads and items
    server_name = "localhost"                    # optional TLS name override

Rules: each peer names exactly one CA certificate, which is pinned — it is the only CA
trusted for that peer, in both directions. Peer ids follow the party id rules and may
not be this authority's own id.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from authority.config import AuthorityConfig
from nearmiss.config import ConfigTable
from nearmiss.errors import ConfigError
from nearmiss.identity import Role, party_uri
from nearmiss.signing import VerifyingKey


@dataclass(frozen=True)
class PeerConfig:
    peer_id: str
    address: str
    ca_certificate_pem: bytes
    ca_certificate: x509.Certificate
    signing_key: VerifyingKey
    server_name: str | None = None


@dataclass(frozen=True)
class FederationConfig:
    authority_id: str
    listen: str
    certificate: Path
    private_key: Path
    peers: dict[str, PeerConfig]
    retry_min_seconds: float = 0.5
    retry_max_seconds: float = 30.0
    poll_seconds: float = 5.0
    call_timeout_seconds: float = 10.0

    @classmethod
    def from_authority(cls, config: AuthorityConfig) -> FederationConfig | None:
        """None when the config has no ``[federation]`` table (federation off)."""
        table = config.extra.get("federation")
        if table is None:
            return None
        peers = {
            peer_id: _peer(peer_id, peer_table, config.authority_id)
            for peer_id, peer_table in table.table("peers", required=False).tables().items()
        }
        return cls(
            authority_id=config.authority_id,
            listen=table.string("listen"),
            certificate=(
                table.path("certificate", must_exist=True)
                if "certificate" in table.values
                else config.tls.certificate
            ),
            private_key=(
                table.path("private_key", must_exist=True)
                if "private_key" in table.values
                else config.tls.private_key
            ),
            peers=peers,
            retry_min_seconds=table.number("retry_min_seconds", 0.5, minimum=0.01),
            retry_max_seconds=table.number("retry_max_seconds", 30.0, minimum=0.01),
            poll_seconds=table.number("poll_seconds", 5.0, minimum=0.01),
            call_timeout_seconds=table.number("call_timeout_seconds", 10.0, minimum=0.1),
        )


def _peer(peer_id: str, table: ConfigTable, own_id: str) -> PeerConfig:
    try:
        party_uri(peer_id, Role.AUTHORITY)
    except ValueError as error:
        raise ConfigError(str(error), source=str(table.source), key=table.prefix) from None
    if peer_id == own_id:
        raise ConfigError(
            "names this authority itself", source=str(table.source), key=table.prefix
        )
    ca_path = table.path("ca_certificate", must_exist=True)
    pem = ca_path.read_bytes()
    try:
        certificate = x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise ConfigError(
            "is not a PEM certificate", source=str(ca_path), key=f"{table.prefix}.ca_certificate"
        ) from None
    return PeerConfig(
        peer_id=peer_id,
        address=table.string("address"),
        ca_certificate_pem=pem,
        ca_certificate=certificate,
        signing_key=VerifyingKey.from_file(table.path("signing_public_key", must_exist=True)),
        server_name=table.optional_string("server_name"),
    )
