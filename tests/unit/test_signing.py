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
