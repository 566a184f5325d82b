"""Each rule of the default safe-harbor pack, shown firing and not firing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from nearmiss.model import IncidentReport
from policies.engine import PolicyEngine
from policies.safe_harbor import Destination, SafeHarborPolicy, ShareOutcome
from policies.transforms import hash_indicator
from tests.unit.disclosure.support import report

PEER, LAB, PUBLIC = Destination.PEER_INSTITUTE, Destination.LAB, Destination.PUBLIC
NOW = datetime.now(UTC)


@pytest.fixture(scope="module")
def policy() -> SafeHarborPolicy:
    return PolicyEngine(reload_seconds=0).safe_harbor


def with_sections(base: IncidentReport, *sections: tuple[str, str]) -> IncidentReport:
    data = base.model_dump()
    data["sections"] = [{"scope": s, "heading": "", "text": t} for s, t in sections]
    return IncidentReport.model_validate(data)


def share(policy: SafeHarborPolicy, filed: IncidentReport, to: Destination, **kw: Any) -> Any:
    decision = policy.share(filed, to, received_at=NOW - timedelta(days=10), now=NOW, **kw)
    assert decision.pack_hash == policy.content_hash
    return decision


def test_antitrust_guard_drops_commercial_text_for_every_destination(
    policy: SafeHarborPolicy,
) -> None:
    filed = with_sections(
        report(domains=("PRIVACY",)),
        ("PUBLIC", "Our enterprise customer list was in the prompt."),
        ("PUBLIC", "The pricing for Q3 2027 launch was discussed."),
        ("PUBLIC", "The model repeated a safety margin warning."),
    )
    for destination in Destination:
        decision = share(policy, filed, destination)
        texts = [s["text"] for s in decision.view.get("sections", [])]
        assert texts == ["The model repeated a safety margin warning."], destination
        dropped = [f for f in decision.fields if f.rule_id == "antitrust-guard"]
        assert [f.field for f in dropped] == ["sections[0]", "sections[1]"]
    assert policy.passes_antitrust("The agent tried to exfiltrate a mailbox.")
    assert not policy.passes_antitrust("USD 20 per seat, per month")
    assert not policy.passes_antitrust("see our ROADMAP for h2 2027 release plans")


def test_peer_institutes_get_detail_but_no_names(policy: SafeHarborPolicy) -> None:
    decision = share(policy, report(domains=("PRIVACY",)), PEER)
    assert decision.outcome is ShareOutcome.SHARE and decision.rule_id == "peer-institute-fields"
    view = decision.view
    assert "lab_id" not in view and "report_id" not in view and "attachments" not in view
    assert view["title"] and view["summary"] and view["severity"] == 3
    assert view["occurred_at"].startswith("20") and "-W" in view["occurred_at"]
    assert {s["scope"] for s in view["sections"]} == {"PUBLIC", "SHAREABLE"}
    assert view["indicators"][0]["value"].startswith("collect-")


def test_labs_get_defensive_facts_only(policy: SafeHarborPolicy) -> None:
    decision = share(policy, report(domains=("PRIVACY",), severity=4), LAB)
    assert decision.rule_id == "lab-fields"
    view = decision.view
    assert "summary" not in view and "system" not in view and "lab_id" not in view
    assert view["severity"] == "high"
    domain = next(i for i in view["indicators"] if i["type"] == "DOMAIN")
    assert domain["value"] == hash_indicator("DOMAIN", "collect-x-docs.example")
    assert {s["scope"] for s in view["sections"]} == {"PUBLIC", "SHAREABLE"}


def test_the_public_gets_coarse_facts_and_public_sections(policy: SafeHarborPolicy) -> None:
    decision = share(policy, report(domains=("PRIVACY",), severity=2), PUBLIC)
    assert decision.rule_id == "public-fields"
    assert set(decision.view) == {"kind", "harm_domains", "severity", "occurred_at", "sections"}
    assert decision.view["severity"] == "low"
    assert [s["scope"] for s in decision.view["sections"]] == ["PUBLIC"]


def test_cbrn_needs_a_person_for_every_destination(policy: SafeHarborPolicy) -> None:
    filed = report(domains=("BIO_CHEM",))
    for destination in Destination:
        held = share(policy, filed, destination)
        assert (held.outcome, held.rule_id) == (ShareOutcome.NEEDS_APPROVAL, "cbrn-human-approval")
        assert held.view == {}
        assert share(policy, filed, destination, approved=True).outcome is ShareOutcome.SHARE
    assert share(policy, report(domains=("PRIVACY",)), PEER).outcome is ShareOutcome.SHARE


def test_child_safety_goes_to_institutes_only_without_approval(policy: SafeHarborPolicy) -> None:
    filed = report(domains=("CHILD_SAFETY",))
    assert share(policy, filed, PEER).outcome is ShareOutcome.SHARE
    for destination in (LAB, PUBLIC):
        held = share(policy, filed, destination)
        assert (held.outcome, held.rule_id) == (
            ShareOutcome.NEEDS_APPROVAL,
            "child-safety-institutes-only",
        )


def test_cyber_detail_reaches_labs_after_three_days(policy: SafeHarborPolicy) -> None:
    filed = report(domains=("CYBER",))
    received = NOW - timedelta(hours=10)
    early = policy.share(filed, LAB, received_at=received, now=NOW)
    assert (early.outcome, early.rule_id) == (ShareOutcome.DELAY, "cyber-delay-for-labs")
    assert early.not_before == received + timedelta(hours=72) and early.view == {}
    later = policy.share(filed, LAB, received_at=received, now=NOW + timedelta(hours=63))
    assert later.outcome is ShareOutcome.SHARE
    assert policy.share(filed, PEER, received_at=received, now=NOW).outcome is ShareOutcome.SHARE
    # Approval does not shorten a delay.
    assert policy.share(filed, LAB, received_at=received, now=NOW, approved=True).outcome is (
        ShareOutcome.DELAY
    )
