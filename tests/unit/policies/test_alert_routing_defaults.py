"""Each rule of the default alert-routing pack, shown firing and not firing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from policies.alert_routing import AlertRoutingPolicy, Urgency
from policies.case import CaseView
from policies.engine import PolicyEngine
from tests.unit.policies.cases import case

INSTITUTES = ("ai-institute-uk", "ai-institute-jp")
LABS = ("lab-aurora", "lab-borealis", "lab-cygnus")


@pytest.fixture(scope="module")
def policy() -> AlertRoutingPolicy:
    return PolicyEngine(reload_seconds=0).alert_routing


def fired(policy: AlertRoutingPolicy, view: CaseView) -> set[str]:
    decisions = policy.route(view)
    assert all(d.pack_hash == policy.content_hash for d in decisions)
    return {d.rule_id for d in decisions}


def test_any_child_safety_report_goes_to_every_institute_at_once(
    policy: AlertRoutingPolicy,
) -> None:
    for kind in ("INCIDENT", "NEAR_MISS"):
        view = case(domains=("CHILD_SAFETY",), severity=1, kinds=(kind,))
        (decision,) = [d for d in policy.route(view) if d.rule_id == "child-safety-all-institutes"]
        assert decision.urgency is Urgency.IMMEDIATE
        recipients = decision.recipients(view, institutes=INSTITUTES, labs=LABS)
        assert recipients.institutes == set(INSTITUTES) and recipients.labs == set()
    assert "child-safety-all-institutes" not in fired(policy, case(domains=("YOUTH_WELLBEING",)))


def test_cbrn_from_moderate_severity_goes_to_every_institute(policy: AlertRoutingPolicy) -> None:
    assert "cbrn-severe-all-institutes" in fired(
        policy, case(domains=("RADIO_NUCLEAR",), severity=3)
    )
    assert "cbrn-severe-all-institutes" not in fired(
        policy, case(domains=("BIO_CHEM",), severity=2)
    )


def test_two_labs_within_a_day_alert_everyone(policy: AlertRoutingPolicy) -> None:
    close = case("lab-aurora", "lab-borealis", gap=timedelta(hours=23))
    (decision,) = [d for d in policy.route(close) if d.rule_id == "multi-lab-within-24h"]
    recipients = decision.recipients(close, institutes=INSTITUTES, labs=LABS)
    assert recipients.labs == set(LABS) and recipients.institutes == set(INSTITUTES)
    apart = case("lab-aurora", "lab-borealis", gap=timedelta(hours=25))
    assert "multi-lab-within-24h" not in fired(policy, apart)
    same_lab = case("lab-aurora", "lab-aurora", gap=timedelta(hours=1))
    assert "multi-lab-within-24h" not in fired(policy, same_lab)


def test_severe_cyber_warns_the_other_labs(policy: AlertRoutingPolicy) -> None:
    view = case("lab-aurora", domains=("CYBER",), severity=4)
    (decision,) = [d for d in policy.route(view) if d.rule_id == "severe-cyber-other-labs"]
    recipients = decision.recipients(view, institutes=INSTITUTES, labs=LABS)
    assert recipients.labs == {"lab-borealis", "lab-cygnus"}
    assert "severe-cyber-other-labs" not in fired(policy, case(domains=("CYBER",), severity=3))


def test_critical_severity_in_any_domain_alerts_institutes(policy: AlertRoutingPolicy) -> None:
    assert "critical-any-domain" in fired(policy, case(domains=("OTHER",), severity=5))
    assert fired(policy, case(domains=("OTHER",), severity=4)) == set()
