"""Pinned peer CAs: who may federate, and the impersonation a shared TLS root would allow."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from authority.config import AuthorityConfig
from authority.federation.config import FederationConfig
from authority.federation.trust import PeerAuthenticator
from nearmiss.errors import AuthenticationError, ConfigError
from nearmiss.identity import Role
from nearmiss.pki import CertificateAuthority
from tests.unit.federation.support import institutes


def pem(certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


@pytest.fixture
def mesh(tmp_path: Path):
    eu, us, uk = institutes(tmp_path, "eu-ai-office", "us-caisi", "uk-aisi")
    config = FederationConfig.from_authority(AuthorityConfig.load(eu.config_path))
    assert config is not None
    return eu, us, uk, PeerAuthenticator(config.peers)


def test_a_peer_certificate_from_its_pinned_ca_is_accepted(mesh) -> None:
    _eu, us, _uk, authenticator = mesh
    certificate = (us.network.directory / "us-caisi" / "tls.pem").read_bytes()
    assert authenticator.authenticate(certificate).peer_id == "us-caisi"


def test_a_peer_ca_cannot_mint_another_peers_identity(mesh) -> None:
    _eu, us, _uk, authenticator = mesh
    us_ca = CertificateAuthority.load(us.network.directory / "ca")
    forged, _key = us_ca.issue("uk-aisi", Role.AUTHORITY)
    with pytest.raises(AuthenticationError, match="not issued by the CA pinned for uk-aisi"):
        authenticator.authenticate(pem(forged))


def test_unpinned_ca_other_roles_and_strangers_are_refused(mesh, tmp_path: Path) -> None:
    _eu, us, _uk, authenticator = mesh
    stranger = CertificateAuthority.create("stranger")
    cert, _ = stranger.issue("us-caisi", Role.AUTHORITY)
    with pytest.raises(AuthenticationError, match="not issued by the CA pinned"):
        authenticator.authenticate(pem(cert))
    lab = (us.network.directory / "lab-aurora" / "tls.pem").read_bytes()
    with pytest.raises(AuthenticationError, match="not an authority"):
        authenticator.authenticate(lab)
    us_ca = CertificateAuthority.load(us.network.directory / "ca")
    unknown, _ = us_ca.issue("jp-aisi", Role.AUTHORITY)
    with pytest.raises(AuthenticationError, match="not a configured federation peer"):
        authenticator.authenticate(pem(unknown))


def test_a_peer_may_not_be_this_authority_itself(mesh) -> None:
    eu, *_ = mesh
    path = eu.config_path
    path.write_text(
        path.read_text()
        + '\n[federation.peers.eu-ai-office]\naddress = "127.0.0.1:1"\n'
        + f'ca_certificate = "{eu.ca_certificate}"\n'
        + f'signing_public_key = "{eu.signing_public_key}"\n'
    )
    with pytest.raises(ConfigError, match="names this authority itself"):
        FederationConfig.from_authority(AuthorityConfig.load(path))
