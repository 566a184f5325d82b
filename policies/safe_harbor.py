"""Safe harbor: what of a report may pass to a destination class, and in what form.

Rules this module enforces:

- Deny by default: only fields the destination lists with an action other than
  ``drop`` appear in the shared view; sections pass only when their scope is listed;
  LAB_ONLY never passes (the schema cannot even name it).
- The antitrust guard runs on every text item for every destination, after the field
  rules and before anything leaves: an item that mentions a guarded term or pattern is
  dropped whole (not masked: a masked sentence about pricing still says there was
  pricing). It has its own rule id in the audit trail.
- A hold (harm domain x destination) turns the outcome into DELAY (until
  ``received_at + delay_hours``) or NEEDS_APPROVAL; the view is empty unless the
  outcome is SHARE, so a caller cannot send what it was told to hold.
- Every decision names the pack hash and the rules used (:class:`Provenance`), and each
  field's fate (:class:`FieldDecision`) for the audit trail.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from nearmiss.model import HarmDomain, IncidentReport, SensitivityScope
from policies.decision import Provenance
from policies.packfile import (
    PackFile,
    check_unique_ids,
    load_pack_file,
    parse_pack,
    raise_problems,
)
from policies.transforms import hash_indicator, iso_week, severity_band

KIND = "safe-harbor"
_TIMESTAMP_FIELDS = ("occurred_at", "detected_at", "reported_at")
_LIST_FIELDS = ("safeguards_involved", "mitigations")


class Destination(StrEnum):
    PEER_INSTITUTE = "peer_institute"
    LAB = "lab"
    PUBLIC = "public"


class ShareOutcome(StrEnum):
    SHARE = "SHARE"
    DELAY = "DELAY"
    NEEDS_APPROVAL = "NEEDS_APPROVAL"


@dataclass(frozen=True)
class FieldDecision:
    field: str
    action: str
    rule_id: str


@dataclass(frozen=True)
class SharingDecision:
    destination: Destination
    outcome: ShareOutcome
    provenance: Provenance
    view: Mapping[str, Any]
    fields: tuple[FieldDecision, ...] = ()
    not_before: datetime | None = None

    @property
    def rule_id(self) -> str:
        return self.provenance.rule_id

    @property
    def pack_hash(self) -> str:
        return self.provenance.pack_hash


@dataclass(frozen=True)
class _Hold:
    rule_id: str
    harm_domains: frozenset[HarmDomain]
    destinations: frozenset[Destination]
    approval: bool
    delay: timedelta


@dataclass(frozen=True)
class _DestinationRules:
    rule_id: str
    scopes: frozenset[SensitivityScope]
    fields: Mapping[str, str]


class AntitrustGuard:
    """Whole-word, case-insensitive terms plus regular expressions, compiled once."""

    def __init__(self, rule_id: str, terms: Sequence[str], patterns: Sequence[str]):
        self.rule_id = rule_id
        words = sorted({term.strip().lower() for term in terms}, key=len, reverse=True)
        alternatives = [r"\s+".join(map(re.escape, w.split())) for w in words]
        self._terms = re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)", re.I)
        self._patterns = [re.compile(pattern, re.I) for pattern in patterns]

    def blocks(self, text: str) -> bool:
        return bool(self._terms.search(text)) or any(p.search(text) for p in self._patterns)


class SafeHarborPolicy:
    """A compiled safe-harbor pack. Build with :func:`compile_safe_harbor`."""

    def __init__(
        self,
        pack: PackFile,
        guard: AntitrustGuard,
        destinations: Mapping[Destination, _DestinationRules],
        holds: Sequence[_Hold],
    ):
        self.pack = pack
        self.guard = guard
        self._destinations = dict(destinations)
        self._holds = tuple(holds)

    @property
    def content_hash(self) -> str:
        return self.pack.content_hash

    def passes_antitrust(self, text: str) -> bool:
        """False when ``text`` mentions commercial terms, pricing, customers or roadmaps."""
        return not self.guard.blocks(text)

    def hold_for(
        self, harm_domains: Sequence[HarmDomain], destination: Destination
    ) -> list[_Hold]:
        domains = set(harm_domains)
        return [
            hold
            for hold in self._holds
            if destination in hold.destinations and hold.harm_domains & domains
        ]

    def share(
        self,
        report: IncidentReport,
        destination: Destination,
        *,
        received_at: datetime | None = None,
        now: datetime | None = None,
        approved: bool = False,
    ) -> SharingDecision:
        """Decide whether ``report`` may go to ``destination`` now, and build its view.

        ``approved`` says a person has approved this report for this destination (the
        caller keeps that record); it satisfies approval holds, never delays.
        """
        now = now or datetime.now(UTC)
        rules = self._destinations[destination]
        holds = self.hold_for(report.harm_domains, destination)
        trail = tuple(hold.rule_id for hold in holds)
        start = received_at or report.reported_at or report.detected_at
        delayed = [hold for hold in holds if hold.delay and start + hold.delay > now]
        if delayed:
            longest = max(delayed, key=lambda hold: hold.delay)
            return SharingDecision(
                destination,
                ShareOutcome.DELAY,
                Provenance.of(self.pack, longest.rule_id, trail),
                view={},
                not_before=start + longest.delay,
            )
        needing = [hold for hold in holds if hold.approval]
        if needing and not approved:
            return SharingDecision(
                destination,
                ShareOutcome.NEEDS_APPROVAL,
                Provenance.of(self.pack, needing[0].rule_id, trail),
                view={},
            )
        view, fields = self._view(report, rules)
        return SharingDecision(
            destination,
            ShareOutcome.SHARE,
            Provenance.of(self.pack, rules.rule_id, (*trail, rules.rule_id, self.guard.rule_id)),
            view=view,
            fields=tuple(fields),
        )

    def _text(self, value: str, name: str, fields: list[FieldDecision]) -> str | None:
        if self.guard.blocks(value):
            fields.append(FieldDecision(name, "drop", self.guard.rule_id))
            return None
        return value

    def _view(
        self, report: IncidentReport, rules: _DestinationRules
    ) -> tuple[dict[str, Any], list[FieldDecision]]:
        view: dict[str, Any] = {}
        fields: list[FieldDecision] = []
        data = report.model_dump(mode="json")
        for name in IncidentReport.model_fields:
            if name in ("sections", "schema_version"):
                continue
            action = rules.fields.get(name, "drop")
            fields.append(FieldDecision(name, action, rules.rule_id))
            if action == "drop" or data.get(name) in (None, "", []):
                continue
            value = data[name]
            if name in _TIMESTAMP_FIELDS and action == "week":
                value = iso_week(getattr(report, name))
            elif name == "severity" and action == "band":
                value = severity_band(report.severity)
            elif name == "indicators" and action == "hash":
                value = [
                    {"type": i.type.value, "value": hash_indicator(i.type.value, i.value)}
                    for i in report.indicators
                ]
            elif name in ("title", "summary"):
                value = self._text(value, name, fields)
            elif name in _LIST_FIELDS:
                value = [
                    item
                    for index, item in enumerate(value)
                    if self._text(item, f"{name}[{index}]", fields) is not None
                ]
            elif name == "system":
                value = {
                    key: text
                    for key, text in value.items()
                    if text and self._text(text, f"system.{key}", fields) is not None
                }
            if value not in (None, [], {}):
                view[name] = value
        sections = []
        for index, section in enumerate(report.sections):
            where = f"sections[{index}]"
            if section.scope not in rules.scopes:
                fields.append(FieldDecision(where, f"drop:{section.scope.value}", rules.rule_id))
                continue
            text = f"{section.heading}\n{section.text}"
            if self._text(text, where, fields) is not None:
                sections.append(
                    {"scope": section.scope.value, "heading": section.heading, "text": section.text}
                )
        if sections:
            view["sections"] = sections
        return view, fields


def compile_safe_harbor(pack: PackFile) -> SafeHarborPolicy:
    """Build the policy from a validated pack; semantic problems raise PackError."""
    document = pack.document
    antitrust = document["antitrust"]
    problems: list[tuple[str, str]] = []
    for index, pattern in enumerate(antitrust.get("patterns", [])):
        try:
            re.compile(pattern)
        except re.error as error:
            problems.append((f"antitrust.patterns[{index}]", f"does not compile: {error}"))
    ids = [antitrust["id"]]
    destinations: dict[Destination, _DestinationRules] = {}
    for destination in Destination:
        table = document["destinations"][destination.value]
        ids.append(table["id"])
        destinations[destination] = _DestinationRules(
            rule_id=table["id"],
            scopes=frozenset(SensitivityScope(scope) for scope in table["scopes"]),
            fields=dict(table["fields"]),
        )
    holds = []
    for hold in document.get("holds", []):
        ids.append(hold["id"])
        holds.append(
            _Hold(
                rule_id=hold["id"],
                harm_domains=frozenset(HarmDomain(d) for d in hold["harm_domains"]),
                destinations=frozenset(Destination(d) for d in hold["destinations"]),
                approval=bool(hold.get("approval", False)),
                delay=timedelta(hours=int(hold.get("delay_hours", 0))),
            )
        )
    if problems:
        raise_problems(problems, source=pack.source)
    check_unique_ids(ids, source=pack.source)
    guard = AntitrustGuard(antitrust["id"], antitrust["terms"], antitrust.get("patterns", []))
    return SafeHarborPolicy(pack, guard, destinations, holds)


def load_safe_harbor(path: str) -> SafeHarborPolicy:
    return compile_safe_harbor(load_pack_file(path, kind=KIND))


def parse_safe_harbor(text: str, *, source: str = "<text>") -> SafeHarborPolicy:
    return compile_safe_harbor(parse_pack(text, source=source, kind=KIND))
