"""Rendering an alert for one destination class: the only way text enters an Alert.

Rules:

* Analysts of this authority (its own staff) get the triggering report's title, summary
  and indicators as filed. Every other audience gets only what the safe-harbor
  decision's ``view`` holds for its destination: a field the view lacks stays empty,
  so a pack that drops a field can never be overridden here.
* A view that bands severity (``low``/``moderate``/``high``) is carried in the Alert's
  numeric field as the lowest severity of the band, so the number never claims more
  precision than the pack let pass.
* Alert ids are UUIDv5 over (origin authority, case, rule, number of labs, highest
  severity): the same case state raises the same alert once, and a new lab or a higher
  severity raises a new one. The origin's id in the name keeps ids unique across the
  federation.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from nearmiss.model import HarmDomain, IncidentReport
from nearmiss.v1 import authority_pb2, report_pb2
from policies.transforms import SEVERITY_BANDS

ALERT_NAMESPACE = uuid.UUID("6f1c7a52-3b0e-5d1a-9a55-1f0e4c2b7d10")
LOWEST_IN_BAND: dict[str, int] = {
    band: min(s for s, b in SEVERITY_BANDS.items() if b == band) for band in SEVERITY_BANDS.values()
}


def alert_id_for(
    origin_authority: str, case_id: str, rule_id: str, lab_count: int, max_severity: int
) -> str:
    name = f"{origin_authority}\x00{case_id}\x00{rule_id}\x00{lab_count}\x00{max_severity}"
    return str(uuid.uuid5(ALERT_NAMESPACE, name))


@dataclass(frozen=True)
class AlertFacts:
    """What every rendering of one alert shares (no report text)."""

    alert_id: str
    case_id: str
    raised_at: datetime
    severity: int
    harm_domains: tuple[HarmDomain, ...]
    rule_id: str
    policy_pack_hash: str
    origin_authority: str
    reporting_lab_count: int

    def base(self) -> authority_pb2.Alert:
        alert = authority_pb2.Alert(
            alert_id=self.alert_id,
            case_id=self.case_id,
            rule_id=self.rule_id,
            policy_pack_hash=self.policy_pack_hash,
            origin_authority=self.origin_authority,
            reporting_lab_count=self.reporting_lab_count,
        )
        alert.raised_at.FromDatetime(self.raised_at)
        return alert


def harm_domain_value(domain: HarmDomain | str) -> report_pb2.HarmDomain:
    number = report_pb2.HarmDomain.Value(f"HARM_DOMAIN_{HarmDomain(domain).value}")
    return cast(report_pb2.HarmDomain, number)


def harm_domain_name(value: int) -> str:
    return report_pb2.HarmDomain.Name(value).removeprefix("HARM_DOMAIN_")


def _indicator_type(name: str) -> report_pb2.IndicatorType:
    return cast(report_pb2.IndicatorType, report_pb2.IndicatorType.Value(f"INDICATOR_TYPE_{name}"))


def render_internal(facts: AlertFacts, report: IncidentReport) -> authority_pb2.Alert:
    """The analysts' rendering: the authority's own staff see the report as filed."""
    alert = facts.base()
    alert.severity = facts.severity
    alert.harm_domains.extend(harm_domain_value(d) for d in facts.harm_domains)
    alert.title = report.title
    alert.summary = report.summary
    for indicator in report.indicators:
        alert.indicators.add(type=_indicator_type(indicator.type.value), value=indicator.value)
    return alert


def render_shared(facts: AlertFacts, view: Mapping[str, Any]) -> authority_pb2.Alert:
    """A rendering from a safe-harbor view: only the fields the view holds."""
    alert = facts.base()
    severity = view.get("severity")
    if isinstance(severity, int):
        alert.severity = severity
    elif isinstance(severity, str):
        alert.severity = LOWEST_IN_BAND[severity]
    alert.harm_domains.extend(harm_domain_value(d) for d in view.get("harm_domains", []))
    alert.title = str(view.get("title", ""))
    alert.summary = str(view.get("summary", ""))
    for indicator in view.get("indicators", []):
        alert.indicators.add(type=_indicator_type(indicator["type"]), value=indicator["value"])
    return alert


def payload_bytes(alert: authority_pb2.Alert) -> bytes:
    """Deterministic serialization: what is stored, signed for peers and streamed."""
    return alert.SerializeToString(deterministic=True)
