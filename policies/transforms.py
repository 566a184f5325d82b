"""The field transformations policies may ask for, defined once for every pack kind.

Rules: every transformation loses information and never adds any; each is a pure
function of its input, so the same report shared twice yields the same view (and a
peer can match hashed indicators across reports without seeing their values).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

# Severity 1-5 (proto/nearmiss/v1/report.proto) in three public bands: fine-grained
# severity from a single lab can point to the incident and the lab; bands cannot.
SEVERITY_BANDS: dict[int, str] = {1: "low", 2: "low", 3: "moderate", 4: "high", 5: "high"}
BAND_ORDER: tuple[str, ...] = ("low", "moderate", "high")
INDICATOR_HASH_PREFIX = "nearmiss/v1/indicator"


def iso_week(moment: datetime) -> str:
    """``2026-W47``: the ISO week (UTC) holding ``moment``."""
    year, week, _ = moment.astimezone(UTC).isocalendar()
    return f"{year}-W{week:02d}"


def severity_band(severity: int) -> str:
    if severity not in SEVERITY_BANDS:
        raise ValueError(f"severity must be 1-5, got {severity}")
    return SEVERITY_BANDS[severity]


def hash_indicator(indicator_type: str, value: str) -> str:
    """SHA-256 over a domain-separated ``type:value``; already-hashed types pass as is.

    The hash lets a recipient match indicators it already holds; it is not secrecy for
    small spaces such as IPv4 addresses, which is why the public gets no indicators.
    """
    if indicator_type.endswith(("SHA256", "HASH")):
        return value
    material = f"{INDICATOR_HASH_PREFIX}\x00{indicator_type}\x00{value}".encode()
    return hashlib.sha256(material).hexdigest()
