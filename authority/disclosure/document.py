"""The public disclosure document: what it holds, its canonical bytes, its signature.

Rules this module enforces:

- A document is built from a :class:`CaseView` and the policies in force, and holds only:
  harm domains, kinds, a severity band, the ISO week of the first event and of the first
  report, the numbers of labs and reports, the case's log entries (index and leaf hash),
  the public text the disclosure pack selects *that also passes the safe-harbor
  antitrust guard*, and the provenance of the decision (pack hashes and rule ids).
  No lab id, report id, indicator, system field, mitigation or non-PUBLIC section can
  reach it: the builder never reads them.
- The signed bytes are canonical JSON (sorted keys, no insignificant whitespace, UTF-8)
  signed under ``SigningContext.DISCLOSURE``; anyone can re-canonicalize the document
  from the JSON API and verify it with the authority's public key.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nearmiss.signing import SigningContext, SigningKey, VerifyingKey
from policies.case import CaseView, TextSource
from policies.disclosure import DisclosureDecision
from policies.engine import PolicySet
from policies.transforms import BAND_ORDER, iso_week, severity_band

DOCUMENT_TYPE = "nearmiss.disclosure/v1"
_VERSION_FIELDS = ("version", "published_at", "supersedes")


def canonical_json(document: dict[str, Any]) -> bytes:
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


def content_digest(document: dict[str, Any]) -> str:
    """SHA-256 of the document without its version fields: same digest, nothing new."""
    stable = {key: value for key, value in document.items() if key not in _VERSION_FIELDS}
    return hashlib.sha256(canonical_json(stable)).hexdigest()


def _timestamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def build_document(
    case: CaseView,
    decision: DisclosureDecision,
    policies: PolicySet,
    *,
    authority_id: str,
    approved: bool,
) -> dict[str, Any]:
    """The public document for ``case`` (without version fields; see :func:`versioned`)."""
    disclosure = policies.disclosure
    guard = policies.safe_harbor
    document: dict[str, Any] = {
        "type": DOCUMENT_TYPE,
        "authority": authority_id,
        "case_id": case.case_id,
        "withdrawn": False,
        "harm_domains": sorted(domain.value for domain in case.harm_domains),
        "kinds": sorted(kind.value for kind in case.kinds),
        "severity": severity_band(case.max_severity),
        "occurred_week": iso_week(case.first_event),
        "reported_week": iso_week(case.first_received),
        "labs": len(case.lab_ids),
        "reports": len(case.reports),
        "log_entries": [
            {"index": report.log_index, "leaf_hash": report.leaf_hash}
            for report in sorted(case.reports, key=lambda r: r.log_index)
        ],
        "approved_by_person": approved,
    }
    sections = []
    for candidate in disclosure.public_texts(case):
        if not guard.passes_antitrust(f"{candidate.heading}\n{candidate.text}"):
            continue
        if candidate.source is TextSource.SECTION:
            sections.append({"heading": candidate.heading, "text": candidate.text})
        else:
            document.setdefault(candidate.source.value, candidate.text)
    document["sections"] = sections
    document["policy"] = {
        "disclosure_pack": decision.pack_hash,
        "rule_id": decision.rule_id,
        "trail": list(decision.provenance.trail),
        "public_text_rule": disclosure.public_text_rules.rule_id,
        "safe_harbor_pack": guard.content_hash,
        "antitrust_rule": guard.guard.rule_id,
    }
    return document


def withdrawal(case_id: str, authority_id: str, decision: DisclosureDecision) -> dict[str, Any]:
    """A version that takes a case's detail out of public view (the policy changed)."""
    return {
        "type": DOCUMENT_TYPE,
        "authority": authority_id,
        "case_id": case_id,
        "withdrawn": True,
        "policy": {
            "disclosure_pack": decision.pack_hash,
            "rule_id": decision.rule_id,
            "trail": list(decision.provenance.trail),
        },
    }


def versioned(
    document: dict[str, Any], *, version: int, published_at: datetime
) -> dict[str, Any]:
    return {
        **document,
        "version": version,
        "published_at": _timestamp(published_at),
        "supersedes": version - 1 if version > 1 else None,
    }


@dataclass(frozen=True)
class PublishedDisclosure:
    """One signed version, as stored and as served."""

    payload: bytes
    signature: bytes
    signing_key_id: str

    @classmethod
    def sign(cls, document: dict[str, Any], key: SigningKey) -> PublishedDisclosure:
        payload = canonical_json(document)
        return cls(payload, key.sign(SigningContext.DISCLOSURE, payload), key.key_id)

    @property
    def document(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.payload)
        return loaded

    def verify(self, key: VerifyingKey) -> None:
        """Raise SignatureError unless the signature covers exactly ``payload``."""
        key.verify(SigningContext.DISCLOSURE, self.payload, self.signature)

    def as_json(self) -> dict[str, Any]:
        """The API form: the document plus what is needed to verify it."""
        return {
            "document": self.document,
            "signature": base64.b64encode(self.signature).decode(),
            "signing_key_id": self.signing_key_id,
            "signing_context": SigningContext.DISCLOSURE.value.decode(),
        }


def severity_rank(band: str) -> int:
    return BAND_ORDER.index(band) if band in BAND_ORDER else -1
