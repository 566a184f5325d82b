"""The ``when`` conditions that disclosure and alert-routing rules test against a case.

Rules: every key present must hold (AND); an empty condition matches every case.
``harm_domains_any`` — the case touches one of them; ``min_severity`` — its highest
severity is at least this; ``kinds_all`` — every report is of one of these kinds;
``kinds_any`` — some report is; ``min_labs`` — at least this many distinct labs
reported it, all within ``within_hours`` of each other when that is given.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from nearmiss.model import HarmDomain, ReportKind
from policies.case import CaseView


@dataclass(frozen=True)
class Condition:
    harm_domains_any: frozenset[HarmDomain] = frozenset()
    min_severity: int = 1
    kinds_all: frozenset[ReportKind] = frozenset()
    kinds_any: frozenset[ReportKind] = frozenset()
    min_labs: int = 1
    within: timedelta | None = None

    @classmethod
    def parse(cls, table: Mapping[str, Any]) -> Condition:
        within = table.get("within_hours")
        return cls(
            harm_domains_any=frozenset(HarmDomain(d) for d in table.get("harm_domains_any", [])),
            min_severity=int(table.get("min_severity", 1)),
            kinds_all=frozenset(ReportKind(k) for k in table.get("kinds_all", [])),
            kinds_any=frozenset(ReportKind(k) for k in table.get("kinds_any", [])),
            min_labs=int(table.get("min_labs", 1)),
            within=None if within is None else timedelta(hours=int(within)),
        )

    def matches(self, case: CaseView) -> bool:
        if self.harm_domains_any and not self.harm_domains_any & case.harm_domains:
            return False
        if case.max_severity < self.min_severity:
            return False
        if self.kinds_all and not case.kinds <= self.kinds_all:
            return False
        if self.kinds_any and not self.kinds_any & case.kinds:
            return False
        if self.within is not None:
            return case.most_labs_within(self.within) >= self.min_labs
        return len(case.lab_ids) >= self.min_labs
