"""Each rule of the default disclosure pack, shown firing and not firing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from policies.case import TextCandidate, TextSource
from policies.disclosure import DisclosureOutcome, DisclosurePolicy
from policies.engine import PolicyEngine
from tests.unit.policies.cases import T0, case, section

DAY = timedelta(days=1)
LATER = T0 + 400 * DAY
TWO_LABS = ("lab-aurora", "lab-borealis")


@pytest.fixture(scope="module")
def policy() -> DisclosurePolicy:
    return PolicyEngine(reload_seconds=0).disclosure


def outcome(policy: DisclosurePolicy, view: object, **kwargs: object) -> tuple[str, str]:
    decision = policy.decide(view, **kwargs)  # type: ignore[arg-type]
    assert decision.pack_hash == policy.content_hash
    return decision.outcome.value, decision.rule_id


def test_child_safety_is_aggregates_only(policy: DisclosurePolicy) -> None:
    assert outcome(policy, case(*TWO_LABS, domains=("CHILD_SAFETY", "CYBER")), now=LATER) == (
        "AGGREGATE_ONLY",
        "child-safety-aggregates-only",
    )
    assert outcome(policy, case(*TWO_LABS, domains=("YOUTH_WELLBEING",)), now=LATER)[1] != (
        "child-safety-aggregates-only"
    )
    # Not even a person's approval turns it into a case disclosure.
    assert (
        outcome(policy, case(*TWO_LABS, domains=("CHILD_SAFETY",)), now=LATER, approved=True)[0]
        == "AGGREGATE_ONLY"
    )


def test_cbrn_has_a_long_embargo_and_needs_a_person(policy: DisclosurePolicy) -> None:
    view = case(*TWO_LABS, domains=("BIO_CHEM",), severity=2)
    assert outcome(policy, view, now=T0 + 179 * DAY) == ("EMBARGOED", "cbrn-long-embargo-approval")
    assert outcome(policy, view, now=T0 + 181 * DAY) == (
        "NEEDS_APPROVAL",
        "cbrn-long-embargo-approval",
    )
    assert outcome(policy, view, now=T0 + 181 * DAY, approved=True) == (
        "DISCLOSE",
        "cbrn-long-embargo-approval",
    )
    assert (
        outcome(policy, case(*TWO_LABS, domains=("PRIVACY",), severity=2), now=LATER)[1]
        != "cbrn-long-embargo-approval"
    )


def test_critical_severity_needs_a_person(policy: DisclosurePolicy) -> None:
    view = case(*TWO_LABS, domains=("PRIVACY",), severity=5)
    assert outcome(policy, view, now=T0 + 89 * DAY) == ("EMBARGOED", "critical-severity-approval")
    assert outcome(policy, view, now=T0 + 91 * DAY) == (
        "NEEDS_APPROVAL",
        "critical-severity-approval",
    )
    assert (
        outcome(policy, case(*TWO_LABS, domains=("PRIVACY",), severity=4), now=LATER)[1] == "severe"
    )


def test_severe_security_waits_sixty_days(policy: DisclosurePolicy) -> None:
    view = case(*TWO_LABS, domains=("CRITICAL_INFRASTRUCTURE",), severity=4)
    assert outcome(policy, view, now=T0 + 59 * DAY) == ("EMBARGOED", "severe-security")
    assert outcome(policy, view, now=T0 + 61 * DAY) == ("DISCLOSE", "severe-security")
    assert (
        outcome(policy, case(*TWO_LABS, domains=("CYBER",), severity=3), now=LATER)[1]
        != "severe-security"
    )


def test_severe_waits_forty_five_days(policy: DisclosurePolicy) -> None:
    view = case(*TWO_LABS, domains=("MANIPULATION_FRAUD",), severity=4)
    assert outcome(policy, view, now=T0 + 44 * DAY) == ("EMBARGOED", "severe")
    assert outcome(policy, view, now=T0 + 46 * DAY) == ("DISCLOSE", "severe")
    assert (
        outcome(policy, case(*TWO_LABS, domains=("MANIPULATION_FRAUD",), severity=3), now=LATER)[1]
        != "severe"
    )


def test_near_misses_are_published_soonest(policy: DisclosurePolicy) -> None:
    view = case(*TWO_LABS, kinds=("NEAR_MISS",), severity=3)
    assert outcome(policy, view, now=T0 + 13 * DAY) == ("EMBARGOED", "near-miss")
    assert outcome(policy, view, now=T0 + 15 * DAY) == ("DISCLOSE", "near-miss")
    mixed = case(*TWO_LABS, kinds=("NEAR_MISS", "INCIDENT"), severity=3)
    assert outcome(policy, mixed, now=T0 + 15 * DAY) == ("EMBARGOED", "default-embargo")


def test_default_embargo_is_thirty_days(policy: DisclosurePolicy) -> None:
    view = case(*TWO_LABS, domains=("OTHER",), severity=1)
    assert outcome(policy, view, now=T0 + 29 * DAY) == ("EMBARGOED", "default-embargo")
    decision = policy.decide(view, now=T0 + 31 * DAY)
    assert decision.outcome is DisclosureOutcome.DISCLOSE
    assert decision.not_before is not None and decision.not_before <= T0 + 31 * DAY


def test_embargo_runs_from_the_last_report(policy: DisclosurePolicy) -> None:
    late_joiner = case(*TWO_LABS, domains=("OTHER",), gap=20 * DAY)
    assert outcome(policy, late_joiner, now=T0 + 35 * DAY) == ("EMBARGOED", "default-embargo")
    assert outcome(policy, late_joiner, now=T0 + 51 * DAY)[0] == "DISCLOSE"


def test_a_single_lab_case_needs_a_person(policy: DisclosurePolicy) -> None:
    single = case("lab-aurora", domains=("OTHER",))
    decision = policy.decide(single, now=LATER)
    assert (decision.outcome.value, decision.rule_id) == ("NEEDS_APPROVAL", "minimum-distinct-labs")
    assert decision.provenance.trail == ("default-embargo", "minimum-distinct-labs")
    assert outcome(policy, single, now=LATER, approved=True)[0] == "DISCLOSE"
    assert outcome(policy, case(*TWO_LABS, domains=("OTHER",)), now=LATER)[0] == "DISCLOSE"


def test_public_text_is_public_sections_only(policy: DisclosurePolicy) -> None:
    texts = (
        TextCandidate("r0", TextSource.TITLE, "a title"),
        TextCandidate("r0", TextSource.SUMMARY, "a summary"),
        section("PUBLIC", "public words " * 500, "Public"),
        section("SHAREABLE", "shareable words"),
        section("AUTHORITY_ONLY", "authority words"),
    )
    chosen = policy.public_texts(case(*TWO_LABS, texts=texts))
    assert [c.heading for c in chosen] == ["Public"]
    assert len(chosen[0].text) <= 4002 and chosen[0].text.endswith("…")
    assert policy.public_texts(case(*TWO_LABS, texts=texts[3:])) == []
