"""Alert routing: which cases raise alerts, to whom and how urgently.

Rules this module enforces:

- Every rule whose ``when`` matches raises one :class:`AlertDecision`; rules are not
  exclusive (a child-safety case seen by two labs in a day raises both alerts).
- Recipients are resolved against the parties the caller knows (:meth:`recipients`):
  ``reporting`` labs are the case's labs, ``others`` every other lab; a lab never gets
  an alert about a case only to learn that it was the reporter.
- Each decision carries the pack hash and rule id; the alert keeps them.
- Routing says who hears of a case; what they hear is the safe-harbor pack's business.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from policies.case import CaseView
from policies.conditions import Condition
from policies.decision import Provenance
from policies.packfile import PackFile, load_pack_file, parse_pack

KIND = "alert-routing"


class Urgency(StrEnum):
    IMMEDIATE = "immediate"
    HIGH = "high"
    ROUTINE = "routine"


@dataclass(frozen=True)
class Recipients:
    institutes: frozenset[str]
    labs: frozenset[str]


@dataclass(frozen=True)
class AlertDecision:
    case_id: str
    urgency: Urgency
    institutes: str
    labs: str
    provenance: Provenance

    @property
    def rule_id(self) -> str:
        return self.provenance.rule_id

    @property
    def pack_hash(self) -> str:
        return self.provenance.pack_hash

    def recipients(
        self, case: CaseView, *, institutes: Iterable[str], labs: Iterable[str]
    ) -> Recipients:
        """Resolve "all / reporting / others" against the known parties."""
        all_labs = frozenset(labs)
        chosen = {
            "all": all_labs,
            "reporting": all_labs & case.lab_ids,
            "others": all_labs - case.lab_ids,
            "none": frozenset(),
        }[self.labs]
        return Recipients(
            institutes=frozenset(institutes) if self.institutes == "all" else frozenset(),
            labs=chosen,
        )


@dataclass(frozen=True)
class _Rule:
    rule_id: str
    when: Condition
    institutes: str
    labs: str
    urgency: Urgency


class AlertRoutingPolicy:
    """A compiled alert-routing pack. Build with :func:`compile_alert_routing`."""

    def __init__(self, pack: PackFile, rules: tuple[_Rule, ...]):
        self.pack = pack
        self._rules = rules

    @property
    def content_hash(self) -> str:
        return self.pack.content_hash

    def route(self, case: CaseView) -> list[AlertDecision]:
        return [
            AlertDecision(
                case_id=case.case_id,
                urgency=rule.urgency,
                institutes=rule.institutes,
                labs=rule.labs,
                provenance=Provenance.of(self.pack, rule.rule_id),
            )
            for rule in self._rules
            if rule.when.matches(case)
        ]


def compile_alert_routing(pack: PackFile) -> AlertRoutingPolicy:
    rules = tuple(
        _Rule(
            rule_id=table["id"],
            when=Condition.parse(table["when"]),
            institutes=table["notify"].get("institutes", "none"),
            labs=table["notify"].get("labs", "none"),
            urgency=Urgency(table["urgency"]),
        )
        for table in pack.document["rules"]
    )
    return AlertRoutingPolicy(pack, rules)


def load_alert_routing(path: str) -> AlertRoutingPolicy:
    return compile_alert_routing(load_pack_file(path, kind=KIND))


def parse_alert_routing(text: str, *, source: str = "<text>") -> AlertRoutingPolicy:
    return compile_alert_routing(parse_pack(text, source=source, kind=KIND))
