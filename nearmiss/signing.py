"""Ed25519 signing with domain separation, and the key files that hold the keys.

Rules: every signature covers ``CONTEXT || 0x00 || message`` where the context names
what is signed (a report, a receipt, a tree head, a federated item). A signature made
for one purpose therefore never verifies for another. Key ids are the first 16 bytes of
SHA-256 over the raw public key, hex encoded. Private key files are PEM (PKCS#8) with
mode 0600; a readable-by-others private key file is refused.

Signing and verification run in libsodium (PyNaCl), key files in OpenSSL
(``cryptography``): both implement RFC 8032 Ed25519, whose signatures are deterministic,
so either makes the same bytes and verifies the other's, but libsodium verifies in about
half the time here and signs in three quarters, and the authority verifies every report
and signs every receipt (benchmarks/load/RESULTS.md). libsodium is also the stricter
verifier: it refuses small-order public keys and non-canonical encodings, which no
honest signer produces.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from enum import Enum
from functools import cached_property
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey as SodiumSigningKey
from nacl.signing import VerifyKey

from nearmiss.errors import ConfigError, SignatureError

SIGNATURE_BYTES = 64


class SigningContext(Enum):
    REPORT = b"nearmiss/v1/report"
    RECEIPT = b"nearmiss/v1/receipt"
    TREE_HEAD = b"nearmiss/v1/tree-head"
    FEDERATED_ITEM = b"nearmiss/v1/federated-item"
    AGGREGATE_RELEASE = b"nearmiss/v1/aggregate-release"
    DISCLOSURE = b"nearmiss/v1/disclosure"


def _framed(context: SigningContext, message: bytes) -> bytes:
    return context.value + b"\x00" + message


def key_id_for(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:32]


@dataclass(frozen=True)
class VerifyingKey:
    public_key: Ed25519PublicKey

    # Cached: asked for on every receipt and tree head, and the key never changes.
    @cached_property
    def key_id(self) -> str:
        return key_id_for(self.public_key)

    @cached_property
    def _sodium_key(self) -> VerifyKey:
        return VerifyKey(self.raw_bytes())

    def verify(self, context: SigningContext, message: bytes, signature: bytes) -> None:
        """Raise SignatureError unless ``signature`` is valid for ``message`` in ``context``."""
        try:
            if not isinstance(signature, bytes) or len(signature) != SIGNATURE_BYTES:
                raise BadSignatureError()
            self._sodium_key.verify(_framed(context, message), signature)
        except BadSignatureError:
            raise SignatureError(
                f"the {context.value.decode()} signature does not verify with key {self.key_id}"
            ) from None

    def to_pem(self) -> bytes:
        return self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def raw_bytes(self) -> bytes:
        return self.public_key.public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @classmethod
    def from_pem(cls, data: bytes, *, source: str = "public key") -> VerifyingKey:
        try:
            key = serialization.load_pem_public_key(data)
        except ValueError:
            raise ConfigError("is not a PEM public key", source=source) from None
        if not isinstance(key, Ed25519PublicKey):
            raise ConfigError("is not an Ed25519 public key", source=source)
        return cls(key)

    @classmethod
    def from_file(cls, path: str | Path) -> VerifyingKey:
        path = Path(path)
        try:
            return cls.from_pem(path.read_bytes(), source=str(path))
        except OSError as error:
            raise ConfigError(f"cannot be read: {error.strerror}", source=str(path)) from None


@dataclass(frozen=True)
class SigningKey:
    private_key: Ed25519PrivateKey

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    @cached_property
    def verifying_key(self) -> VerifyingKey:
        return VerifyingKey(self.private_key.public_key())

    @cached_property
    def key_id(self) -> str:
        return self.verifying_key.key_id

    @cached_property
    def _sodium_key(self) -> SodiumSigningKey:
        seed = self.private_key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        return SodiumSigningKey(seed)

    def sign(self, context: SigningContext, message: bytes) -> bytes:
        return self._sodium_key.sign(_framed(context, message)).signature

    def to_pem(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def write(self, path: str | Path) -> None:
        """Write the private key (mode 0600) and its public key beside it (``.pub``)."""
        path = Path(path)
        write_private_file(path, self.to_pem())
        path.with_suffix(".pub").write_bytes(self.verifying_key.to_pem())

    @classmethod
    def from_file(cls, path: str | Path) -> SigningKey:
        path = Path(path)
        source = str(path)
        try:
            mode = path.stat().st_mode
            data = path.read_bytes()
        except OSError as error:
            raise ConfigError(f"cannot be read: {error.strerror}", source=source) from None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError(
                f"is readable by others (mode {stat.S_IMODE(mode):o}); run chmod 600", source=source
            )
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError):
            raise ConfigError("is not an unencrypted PEM private key", source=source) from None
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigError("is not an Ed25519 private key", source=source)
        return cls(key)


def write_private_file(path: Path, data: bytes) -> None:
    """Create ``path`` with mode 0600 from the start (no window where others can read)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(descriptor, data)
    finally:
        os.close(descriptor)
    os.chmod(path, 0o600)
