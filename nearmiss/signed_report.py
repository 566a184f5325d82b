"""Signing a report as a lab, and verifying one as anyone.

The lab signs the canonical bytes (nearmiss.canonical) under SigningContext.REPORT.
The transparency log's leaf is the deterministic serialization of the whole
SignedReport, so a receipt's leaf hash can be recomputed by the lab from what it sent.
"""

from __future__ import annotations

import hashlib

from nearmiss.canonical import canonical_bytes, report_from_canonical
from nearmiss.errors import SignatureError
from nearmiss.model import IncidentReport
from nearmiss.signing import SigningContext, SigningKey, VerifyingKey
from nearmiss.v1 import report_pb2


def sign_report(report: IncidentReport, key: SigningKey) -> report_pb2.SignedReport:
    data = canonical_bytes(report)
    return report_pb2.SignedReport(
        canonical_report=data,
        signature=key.sign(SigningContext.REPORT, data),
        signing_key_id=key.key_id,
    )


def verify_signed_report(signed: report_pb2.SignedReport, key: VerifyingKey) -> IncidentReport:
    """Check the signature, then decode and validate. Raises SignatureError or
    ReportInvalidError; never returns an unverified report."""
    if signed.signing_key_id != key.key_id:
        raise SignatureError(
            f"the report is signed with key {signed.signing_key_id or '(none)'}, "
            f"but the lab's registered key is {key.key_id}"
        )
    key.verify(SigningContext.REPORT, signed.canonical_report, signed.signature)
    return report_from_canonical(signed.canonical_report)


def leaf_data(signed: report_pb2.SignedReport) -> bytes:
    """The bytes the transparency log commits to for this report."""
    return signed.SerializeToString(deterministic=True)


def leaf_hash(signed: report_pb2.SignedReport) -> bytes:
    """RFC 9162 leaf hash: SHA-256(0x00 || leaf data)."""
    return hashlib.sha256(b"\x00" + leaf_data(signed)).digest()
