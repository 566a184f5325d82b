"""How institutes trust each other: pinned peer CAs, never a shared root.

Rules:

* The federation server trusts exactly the pinned CA certificates of the configured
  peers (``server_credentials``); our own network's CA is not among them, so a lab of
  ours cannot call the federation port.
* TLS only proves that *some* pinned CA issued the client certificate. So every call is
  then checked here (``PeerAuthenticator``): the certificate must name an AUTHORITY
  party that is a configured peer, and must be signed by *that* peer's pinned CA —
  otherwise peer A's CA could mint a certificate claiming to be peer B.
* A sender dials a peer trusting only that peer's pinned CA (``channel_credentials``),
  presenting this institute's own certificate.
"""

from __future__ import annotations

from collections.abc import Mapping

import grpc
from cryptography import x509
from cryptography.exceptions import InvalidSignature

from authority.federation.config import FederationConfig, PeerConfig
from nearmiss.errors import AuthenticationError
from nearmiss.identity import Role, party_from_certificate


def server_credentials(config: FederationConfig) -> grpc.ServerCredentials:
    pinned = b"".join(peer.ca_certificate_pem for peer in config.peers.values())
    return grpc.ssl_server_credentials(
        [(config.private_key.read_bytes(), config.certificate.read_bytes())],
        root_certificates=pinned,
        require_client_auth=True,
    )


def channel_credentials(config: FederationConfig, peer: PeerConfig) -> grpc.ChannelCredentials:
    return grpc.ssl_channel_credentials(
        root_certificates=peer.ca_certificate_pem,
        private_key=config.private_key.read_bytes(),
        certificate_chain=config.certificate.read_bytes(),
    )


def channel_options(peer: PeerConfig) -> list[tuple[str, str | int]]:
    options: list[tuple[str, str | int]] = [
        ("grpc.keepalive_time_ms", 30_000),
        ("grpc.initial_reconnect_backoff_ms", 200),
        ("grpc.max_reconnect_backoff_ms", 5_000),
    ]
    if peer.server_name:
        options.append(("grpc.ssl_target_name_override", peer.server_name))
    return options


class PeerAuthenticator:
    """Maps a TLS-verified client certificate to the one peer that may hold it."""

    def __init__(self, peers: Mapping[str, PeerConfig]):
        self._peers = dict(peers)

    def authenticate(self, certificate_pem: bytes) -> PeerConfig:
        try:
            certificate = x509.load_pem_x509_certificate(certificate_pem)
        except ValueError:
            raise AuthenticationError("the peer certificate cannot be parsed") from None
        party = party_from_certificate(certificate)
        if party.role is not Role.AUTHORITY:
            raise AuthenticationError(f"{party} is not an authority; only peers may federate")
        peer = self._peers.get(party.party_id)
        if peer is None:
            raise AuthenticationError(f"{party} is not a configured federation peer")
        try:
            certificate.verify_directly_issued_by(peer.ca_certificate)
        except (ValueError, TypeError, InvalidSignature):
            raise AuthenticationError(
                f"the certificate claiming to be {party} was not issued by the CA pinned "
                f"for {party.party_id}"
            ) from None
        return peer

    def from_context(self, context: grpc.ServicerContext) -> PeerConfig:
        certificates = context.auth_context().get("x509_pem_cert")
        if not certificates:
            raise AuthenticationError("a peer certificate is required")
        return self.authenticate(certificates[0])
