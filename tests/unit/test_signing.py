from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from nearmiss.errors import ConfigError, SignatureError
from nearmiss.reportfile import load_report
from nearmiss.signed_report import leaf_hash, sign_report, verify_signed_report
from nearmiss.signing import SigningContext, SigningKey, VerifyingKey
from tests.conftest import EXAMPLES


def test_sign_and_verify_report() -> None:
    key = SigningKey.generate()
    report = load_report(next(EXAMPLES.glob("*.yaml")))
    signed = sign_report(report, key)
    assert verify_signed_report(signed, key.verifying_key) == report


def test_tampered_report_fails() -> None:
    key = SigningKey.generate()
    signed = sign_report(load_report(next(EXAMPLES.glob("*.yaml"))), key)
    tampered = bytearray(signed.canonical_report)
    tampered[-1] ^= 0x01
    signed.canonical_report = bytes(tampered)
    with pytest.raises(SignatureError, match="does not verify"):
        verify_signed_report(signed, key.verifying_key)


def test_other_key_fails_with_key_ids() -> None:
    signed = sign_report(load_report(next(EXAMPLES.glob("*.yaml"))), SigningKey.generate())
    other = SigningKey.generate().verifying_key
    with pytest.raises(SignatureError, match=other.key_id):
        verify_signed_report(signed, other)


def test_contexts_are_separated() -> None:
    key = SigningKey.generate()
    signature = key.sign(SigningContext.RECEIPT, b"message")
    key.verifying_key.verify(SigningContext.RECEIPT, b"message", signature)
    with pytest.raises(SignatureError):
        key.verifying_key.verify(SigningContext.REPORT, b"message", signature)


def test_leaf_hash_is_stable() -> None:
    key = SigningKey.generate()
    report = load_report(next(EXAMPLES.glob("*.yaml")))
    assert leaf_hash(sign_report(report, key)) == leaf_hash(sign_report(report, key))


def test_key_files(tmp_path: Path) -> None:
    key = SigningKey.generate()
    key.write(tmp_path / "signing.key")
    assert stat.S_IMODE(os.stat(tmp_path / "signing.key").st_mode) == 0o600
    assert SigningKey.from_file(tmp_path / "signing.key").key_id == key.key_id
    assert VerifyingKey.from_file(tmp_path / "signing.pub").key_id == key.key_id


def test_world_readable_private_key_is_refused(tmp_path: Path) -> None:
    SigningKey.generate().write(tmp_path / "signing.key")
    os.chmod(tmp_path / "signing.key", 0o644)
    with pytest.raises(ConfigError, match="readable by others"):
        SigningKey.from_file(tmp_path / "signing.key")


def test_libsodium_agrees_with_openssl() -> None:
    """Signing and verification run in libsodium, key files in OpenSSL (nearmiss.signing):
    our signature must be OpenSSL's, byte for byte (Ed25519 is deterministic), verify in
    both, and every flipped bit must fail."""
    key = SigningKey.generate()
    for size in (0, 1, 63, 64, 65, 1500):
        message = os.urandom(size)
        framed = b"nearmiss/v1/report\x00" + message
        signature = key.sign(SigningContext.REPORT, message)
        assert signature == key.private_key.sign(framed)
        key.verifying_key.verify(SigningContext.REPORT, message, signature)
        key.private_key.public_key().verify(signature, framed)
        for position in (0, 31, 32, 63):
            flipped = bytearray(signature)
            flipped[position] ^= 0x40
            with pytest.raises(SignatureError):
                key.verifying_key.verify(SigningContext.REPORT, message, bytes(flipped))


@pytest.mark.parametrize("length", [0, 63, 65, 128])
def test_signature_of_wrong_length_is_refused(length: int) -> None:
    key = SigningKey.generate()
    signature = key.sign(SigningContext.REPORT, b"message")
    wrong = (signature * 3)[:length]
    with pytest.raises(SignatureError, match="does not verify"):
        key.verifying_key.verify(SigningContext.REPORT, b"message", wrong)


def test_rfc8032_test_vector_verifies() -> None:
    """RFC 8032 section 7.1, TEST 2 (one-byte message), verified through our key type."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    public = bytes.fromhex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c")
    signature = bytes.fromhex(
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
        "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"
    )
    key = VerifyingKey(Ed25519PublicKey.from_public_bytes(public))
    key._sodium_key.verify(b"\x72", signature)  # the vector itself, without our framing
    with pytest.raises(Exception, match="forged"):
        key._sodium_key.verify(b"\x73", signature)


def test_rfc8032_test_vector_signs() -> None:
    """RFC 8032 section 7.1, TEST 2: the secret key signs the message to the vector."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    secret = bytes.fromhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
    key = SigningKey(Ed25519PrivateKey.from_private_bytes(secret))
    assert key._sodium_key.sign(b"\x72").signature.hex() == (
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
        "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"
    )
    assert key.verifying_key.raw_bytes().hex() == (
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"
    )
