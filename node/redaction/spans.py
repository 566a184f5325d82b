"""Findings (what a detector saw where) and how overlapping findings are settled.

Rules this module enforces:

- A finding is a half-open character span ``[start, end)`` of the text it came from,
  the entity label its rule gives it, and a priority. It never leaves the node.
- Overlaps are settled greedily: higher priority first, then the longer span, then the
  earlier one. A finding that overlaps an accepted one is dropped, except that a
  lower-priority finding that sticks out of an accepted one is *merged into it* (the
  accepted span grows to cover both) — so a value two detectors see differently is
  never half-redacted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# Why these priorities: a key block or token swallows anything inside it; a structured,
# checksummed value (card, IBAN) beats a looser one (phone) over the same digits; a
# lab's own terms outrank the guesses of NER and address patterns.
PRIORITY: dict[str, int] = {
    "private_key": 100,
    "jwt": 95,
    "secret_keys": 90,
    "url_credentials": 85,
    "email": 80,
    "credit_card": 75,
    "iban": 75,
    "terms": 70,
    "regex": 70,
    "government_id": 60,
    "ip_address": 60,
    "phone": 61,  # above government_id: NHS numbers share the 3-3-4 phone shape
    "high_entropy": 40,
    "street_address": 30,
    "person": 20,
}


@dataclass(frozen=True, slots=True)
class Finding:
    start: int
    end: int
    entity: str
    detector: str
    priority: int

    @property
    def length(self) -> int:
        return self.end - self.start

    def overlaps(self, other: Finding) -> bool:
        return self.start < other.end and other.start < self.end


def finding(start: int, end: int, entity: str, detector: str) -> Finding:
    return Finding(start, end, entity, detector, PRIORITY.get(detector, 0))


def resolve(findings: Iterable[Finding]) -> list[Finding]:
    """Non-overlapping findings in text order (see the module rules)."""
    ordered = sorted(findings, key=lambda f: (-f.priority, -f.length, f.start))
    accepted: list[Finding] = []
    for candidate in ordered:
        if candidate.length <= 0:
            continue
        clashes = [index for index, kept in enumerate(accepted) if kept.overlaps(candidate)]
        if not clashes:
            accepted.append(candidate)
            continue
        # Grow the first (highest-priority) clashing span so nothing is half-redacted.
        first = accepted[clashes[0]]
        start = min(first.start, candidate.start)
        end = max(first.end, candidate.end)
        for index in clashes[1:]:
            start = min(start, accepted[index].start)
            end = max(end, accepted[index].end)
        grown = Finding(start, end, first.entity, first.detector, first.priority)
        accepted = [kept for index, kept in enumerate(accepted) if index not in clashes]
        accepted.append(grown)
    return sorted(accepted, key=lambda f: f.start)
