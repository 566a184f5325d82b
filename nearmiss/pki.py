"""A development PKI: one CA, a TLS certificate per party, Ed25519 signing keys.

Production brings its own CA; these files have the same shape, so configs do not change.
Rules: private keys are written 0600 from creation; every party certificate carries its
identity as a URI SAN (nearmiss.identity) plus ``localhost``/``127.0.0.1`` so loopback
networks verify hostnames; certificates are valid for one year (dev only).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from nearmiss.identity import Role, party_uri
from nearmiss.signing import SigningKey, write_private_file

CERT_VALIDITY = timedelta(days=365)


@dataclass(frozen=True)
class CertificateAuthority:
    certificate: x509.Certificate
    private_key: ec.EllipticCurvePrivateKey

    @classmethod
    def create(cls, name: str) -> CertificateAuthority:
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} nearmiss CA")])
        now = datetime.now(UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + CERT_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256())
        )
        return cls(certificate, key)

    @classmethod
    def load(cls, directory: Path) -> CertificateAuthority:
        certificate = x509.load_pem_x509_certificate((directory / "ca.pem").read_bytes())
        key = serialization.load_pem_private_key((directory / "ca.key").read_bytes(), None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return cls(certificate, key)

    def write(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "ca.pem").write_bytes(self.certificate_pem)
        write_private_file(
            directory / "ca.key",
            self.private_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )

    @property
    def certificate_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def issue(
        self, party_id: str, role: Role, *, hostnames: tuple[str, ...] = ("localhost",)
    ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        names: list[x509.GeneralName] = [x509.UniformResourceIdentifier(party_uri(party_id, role))]
        names += [x509.DNSName(host) for host in hostnames]
        names += [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        certificate = (
            x509.CertificateBuilder()
            .subject_name(
                x509.Name(
                    [
                        x509.NameAttribute(NameOID.COMMON_NAME, party_id),
                        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, role.value),
                    ]
                )
            )
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + CERT_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.private_key.public_key()),
                critical=False,
            )
            .sign(self.private_key, hashes.SHA256())
        )
        return certificate, key


@dataclass(frozen=True)
class PartyFiles:
    """Where one party's material lives inside a PKI directory."""

    directory: Path

    @property
    def certificate(self) -> Path:
        return self.directory / "tls.pem"

    @property
    def private_key(self) -> Path:
        return self.directory / "tls.key"

    @property
    def signing_key(self) -> Path:
        return self.directory / "signing.key"

    @property
    def signing_public_key(self) -> Path:
        return self.directory / "signing.pub"


def write_party(
    ca: CertificateAuthority, directory: Path, party_id: str, role: Role, *, signing: bool
) -> PartyFiles:
    """Issue a TLS certificate (and, if ``signing``, an Ed25519 key) into ``directory``."""
    files = PartyFiles(directory)
    directory.mkdir(parents=True, exist_ok=True)
    certificate, key = ca.issue(party_id, role)
    files.certificate.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    write_private_file(
        files.private_key,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    if signing:
        SigningKey.generate().write(files.signing_key)
    return files


def certificate_serial(path: Path) -> int:
    return x509.load_pem_x509_certificate(path.read_bytes()).serial_number
