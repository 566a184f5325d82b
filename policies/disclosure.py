"""Disclosure policy: whether, when and with which text a case may become public.

Rules this module enforces, in this order (each step names the rule that settled it):

1. The first rule whose ``when`` matches the case applies. ``public: aggregates_only``
   means never case detail in public (AGGREGATE_ONLY), whatever else holds.
2. Embargo: nothing before ``embargo_days`` after the case's first or last report
   (``embargo_from``) — EMBARGOED with ``not_before``.
3. Minimum distinct labs: below it, the case is WITHHELD or NEEDS_APPROVAL (by the
   pack's ``below``).
4. A rule with ``approval: true`` needs a person (NEEDS_APPROVAL) unless approved.
5. Otherwise DISCLOSE.

An approval counts only for the exact set of reports it was given for (the caller
passes ``approved`` after checking that); a case that grows needs a new one.
Public text is chosen from the case's tagged candidates only: sections marked PUBLIC,
and title/summary only when the pack says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from nearmiss.model import SensitivityScope
from policies.case import CaseView, TextCandidate, TextSource
from policies.conditions import Condition
from policies.decision import Provenance
from policies.packfile import PackFile, check_unique_ids, load_pack_file, parse_pack

KIND = "disclosure"


class DisclosureOutcome(StrEnum):
    DISCLOSE = "DISCLOSE"
    EMBARGOED = "EMBARGOED"
    NEEDS_APPROVAL = "NEEDS_APPROVAL"
    WITHHELD = "WITHHELD"
    AGGREGATE_ONLY = "AGGREGATE_ONLY"


@dataclass(frozen=True)
class DisclosureDecision:
    case_id: str
    outcome: DisclosureOutcome
    provenance: Provenance
    not_before: datetime | None = None

    @property
    def rule_id(self) -> str:
        return self.provenance.rule_id

    @property
    def pack_hash(self) -> str:
        return self.provenance.pack_hash


@dataclass(frozen=True)
class _Rule:
    rule_id: str
    when: Condition
    aggregates_only: bool
    embargo: timedelta
    approval: bool


@dataclass(frozen=True)
class PublicTextRules:
    rule_id: str
    sections: frozenset[SensitivityScope]
    title: bool
    summary: bool
    max_section_chars: int


class DisclosurePolicy:
    """A compiled disclosure pack. Build with :func:`compile_disclosure`."""

    def __init__(
        self,
        pack: PackFile,
        rules: tuple[_Rule, ...],
        *,
        embargo_from_last: bool,
        minimum_labs: tuple[str, int, bool],
        public_text: PublicTextRules,
    ):
        self.pack = pack
        self._rules = rules
        self._embargo_from_last = embargo_from_last
        self._min_rule, self._min_labs, self._below_needs_approval = minimum_labs
        self.public_text_rules = public_text

    @property
    def content_hash(self) -> str:
        return self.pack.content_hash

    def _rule_for(self, case: CaseView) -> _Rule | None:
        return next((rule for rule in self._rules if rule.when.matches(case)), None)

    def decide(
        self, case: CaseView, *, now: datetime | None = None, approved: bool = False
    ) -> DisclosureDecision:
        now = now or datetime.now(UTC)
        rule = self._rule_for(case)
        if rule is None:
            # The schema cannot force a catch-all rule; no rule means no decision to publish.
            return DisclosureDecision(
                case.case_id,
                DisclosureOutcome.WITHHELD,
                Provenance.of(self.pack, "no-matching-rule"),
            )
        trail: tuple[str, ...] = (rule.rule_id,)
        if rule.aggregates_only:
            return self._decision(case, DisclosureOutcome.AGGREGATE_ONLY, rule.rule_id, trail)
        start = case.last_received if self._embargo_from_last else case.first_received
        not_before = start + rule.embargo
        if now < not_before:
            return self._decision(
                case, DisclosureOutcome.EMBARGOED, rule.rule_id, trail, not_before
            )
        if len(case.lab_ids) < self._min_labs:
            trail = (*trail, self._min_rule)
            if not self._below_needs_approval:
                return self._decision(case, DisclosureOutcome.WITHHELD, self._min_rule, trail)
            if not approved:
                return self._decision(
                    case, DisclosureOutcome.NEEDS_APPROVAL, self._min_rule, trail
                )
        if rule.approval and not approved:
            return self._decision(case, DisclosureOutcome.NEEDS_APPROVAL, rule.rule_id, trail)
        return self._decision(case, DisclosureOutcome.DISCLOSE, rule.rule_id, trail, not_before)

    def _decision(
        self,
        case: CaseView,
        outcome: DisclosureOutcome,
        rule_id: str,
        trail: tuple[str, ...],
        not_before: datetime | None = None,
    ) -> DisclosureDecision:
        return DisclosureDecision(
            case.case_id, outcome, Provenance.of(self.pack, rule_id, trail), not_before
        )

    def public_texts(self, case: CaseView) -> list[TextCandidate]:
        """The candidates the pack makes public, cut to ``max_section_chars``."""
        rules = self.public_text_rules
        chosen: list[TextCandidate] = []
        for candidate in case.texts:
            wanted = {TextSource.TITLE: rules.title, TextSource.SUMMARY: rules.summary}
            if wanted.get(candidate.source, False):
                chosen.append(candidate)
            elif (
                candidate.source is TextSource.SECTION
                and candidate.scope is not None
                and candidate.scope in rules.sections
            ):
                chosen.append(_cut(candidate, rules.max_section_chars))
        return chosen


def _cut(candidate: TextCandidate, limit: int) -> TextCandidate:
    if len(candidate.text) <= limit:
        return candidate
    head = candidate.text[:limit].rsplit(None, 1)[0]
    return TextCandidate(
        candidate.report_id, candidate.source, head + " …", candidate.heading, candidate.scope
    )


def compile_disclosure(pack: PackFile) -> DisclosurePolicy:
    document = pack.document
    rules = tuple(
        _Rule(
            rule_id=table["id"],
            when=Condition.parse(table["when"]),
            aggregates_only=table.get("public") == "aggregates_only",
            embargo=timedelta(days=int(table.get("embargo_days", 0))),
            approval=bool(table.get("approval", False)),
        )
        for table in document["rules"]
    )
    minimum = document["minimum_labs"]
    text = document["public_text"]
    check_unique_ids(
        [rule.rule_id for rule in rules] + [minimum["id"], text["id"]], source=pack.source
    )
    return DisclosurePolicy(
        pack,
        rules,
        embargo_from_last=document.get("embargo_from", "last_report") == "last_report",
        minimum_labs=(minimum["id"], int(minimum["labs"]), minimum["below"] == "approval"),
        public_text=PublicTextRules(
            rule_id=text["id"],
            sections=frozenset(SensitivityScope(s) for s in text["sections"]),
            title=bool(text["title"]),
            summary=bool(text["summary"]),
            max_section_chars=int(text.get("max_section_chars", 4000)),
        ),
    )


def load_disclosure(path: str) -> DisclosurePolicy:
    return compile_disclosure(load_pack_file(path, kind=KIND))


def parse_disclosure(text: str, *, source: str = "<text>") -> DisclosurePolicy:
    return compile_disclosure(parse_pack(text, source=source, kind=KIND))
