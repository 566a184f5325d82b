"""The disclosure job against a real in-process authority (SQLite, dev PKI, signed reports)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from authority.disclosure import approve, case_versions, pending_approvals, reject
from authority.disclosure.cases import ReportCases
from authority.disclosure.store import published
from authority.disclosure.tables import DisclosureDecisionRow, DisclosureRow
from nearmiss.errors import NotFoundError, SignatureError
from policies.case import CaseView
from policies.engine import PolicyEngine
from tests.unit.disclosure.support import (
    LATER,
    LocalAuthority,
    local_authority,
    open_disclosure_pack,
    report,
)


@pytest.fixture
def authority(tmp_path: Path) -> LocalAuthority:
    return local_authority(tmp_path / "net")


class MergedCases:
    """A case source that links every report into one case (what case linking will do)."""

    def load(self, session: Session) -> Sequence[CaseView]:
        views = ReportCases().load(session)
        if not views:
            return []
        return [
            CaseView(
                case_id="c-merged",
                reports=tuple(r for v in views for r in v.reports),
                texts=tuple(t for v in views for t in v.texts),
            )
        ]

    def count(self, session: Session) -> int:
        return 1


def rows(authority: LocalAuthority) -> list[DisclosureRow]:
    with Session(authority.app.engine, expire_on_commit=False) as session:
        return list(session.exec(select(DisclosureRow)).all())


def test_nothing_is_published_before_the_embargo_then_it_is(authority: LocalAuthority) -> None:
    authority.file(report("lab-aurora", severity=2))
    authority.file(report("lab-borealis", severity=2))
    job = authority.job(cases=MergedCases())
    early = job.run_once(now=datetime.now(UTC) + timedelta(days=29))
    assert early.outcomes == {"EMBARGOED": 1} and not rows(authority)
    late = job.run_once(now=datetime.now(UTC) + timedelta(days=31))
    assert late.published == [("c-merged", 1)]
    document = published(rows(authority)[0]).document
    assert document["labs"] == 2 and document["reports"] == 2
    assert document["policy"]["rule_id"] == "default-embargo"
    assert [e["index"] for e in document["log_entries"]] == [0, 1]


def test_a_single_lab_case_waits_for_a_person(authority: LocalAuthority) -> None:
    authority.file(report("lab-aurora"))
    job = authority.job()
    first = job.run_once(now=LATER)
    assert first.outcomes == {"NEEDS_APPROVAL": 1} and not rows(authority)
    with Session(authority.app.engine, expire_on_commit=False) as session:
        (request,) = pending_approvals(session)
        assert request.rule_id == "minimum-distinct-labs"
        approve(session, request.case_id, by="analyst ana", note="public interest")
    second = job.run_once(now=LATER)
    assert second.published == [(request.case_id, 1)]
    assert published(rows(authority)[0]).document["approved_by_person"] is True


def test_a_rejected_case_is_never_published(authority: LocalAuthority) -> None:
    authority.file(report("lab-aurora"))
    job = authority.job()
    job.run_once(now=LATER)
    with Session(authority.app.engine, expire_on_commit=False) as session:
        (request,) = pending_approvals(session)
        reject(session, request.case_id, by="analyst ana")
        with pytest.raises(NotFoundError, match="no pending approval"):
            approve(session, request.case_id, by="analyst ana")
    assert job.run_once(now=LATER).outcomes == {"REJECTED": 1}
    assert not rows(authority)


def test_versions_are_new_rows_and_old_ones_never_change(
    authority: LocalAuthority, tmp_path: Path
) -> None:
    authority.file(report("lab-aurora", domains=("MANIPULATION_FRAUD",)))
    policies = PolicyEngine(disclosure=open_disclosure_pack(tmp_path), reload_seconds=0)
    job = authority.job(policies)
    assert len(job.run_once().published) == 1
    assert job.run_once().published == []  # nothing changed: no new version
    (first,) = rows(authority)
    first_payload = bytes(first.payload)

    pack = policies.current().disclosure.pack.source
    Path(pack).write_text(Path(pack).read_text().replace("title: false", "title: true"))
    policies.reload()
    result = job.run_once()
    assert [version for _, version in result.published] == [2]
    versions = case_versions(Session(authority.app.engine), first.case_id)
    assert [v.version for v in versions] == [2, 1]
    assert bytes(versions[1].payload) == first_payload
    newest = published(versions[0]).document
    assert newest["supersedes"] == 1 and "title" in newest
    assert newest["policy"]["disclosure_pack"] == policies.disclosure.content_hash


def test_disclosures_are_signed_by_the_authority(authority: LocalAuthority, tmp_path: Path) -> None:
    authority.file(report("lab-cygnus", domains=("PRIVACY",)))
    policies = PolicyEngine(disclosure=open_disclosure_pack(tmp_path), reload_seconds=0)
    authority.job(policies).run_once()
    disclosure = published(rows(authority)[0])
    key = authority.app.signing_key.verifying_key
    disclosure.verify(key)
    tampered = type(disclosure)(
        disclosure.payload.replace(b'"labs":1', b'"labs":9'),
        disclosure.signature,
        disclosure.signing_key_id,
    )
    with pytest.raises(SignatureError):
        tampered.verify(key)


def test_a_case_that_becomes_aggregate_only_is_withdrawn_by_a_new_version(
    authority: LocalAuthority, tmp_path: Path
) -> None:
    authority.file(report("lab-aurora", domains=("YOUTH_WELLBEING",)))
    pack = open_disclosure_pack(tmp_path)
    policies = PolicyEngine(disclosure=pack, reload_seconds=0)
    job = authority.job(policies)
    job.run_once()
    pack.write_text(pack.read_text().replace("CHILD_SAFETY", "YOUTH_WELLBEING"))
    policies.reload()
    result = job.run_once()
    assert [v for _, v in result.published] == [2]
    versions = [published(r).document for r in rows(authority)]
    withdrawn = next(d for d in versions if d["version"] == 2)
    assert withdrawn["withdrawn"] is True and "sections" not in withdrawn
    assert withdrawn["policy"]["rule_id"] == "child-safety-aggregates-only"
    assert authority.dashboard().get("/api/disclosures").json()["count"] == 0


def test_every_change_of_decision_is_kept_with_rule_and_pack(authority: LocalAuthority) -> None:
    authority.file(report("lab-aurora", severity=4, domains=("CYBER",)))
    job = authority.job()
    job.run_once()
    job.run_once()  # same decision: no second row
    job.run_once(now=LATER)
    with Session(authority.app.engine, expire_on_commit=False) as session:
        trail = session.exec(select(DisclosureDecisionRow)).all()
    assert [(d.outcome, d.rule_id) for d in trail] == [
        ("EMBARGOED", "severe-security"),
        ("NEEDS_APPROVAL", "minimum-distinct-labs"),
    ]
    assert all(d.pack_hash == PolicyEngine().disclosure.content_hash for d in trail)
