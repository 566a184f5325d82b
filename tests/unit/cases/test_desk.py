"""Analysts' operations over SQL (list, show, merge, split), the decision trail, and the
``LinkedCases`` source the disclosure job reads."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from authority.app import AuthorityApp
from authority.cases.queries import LinkedCases
from authority.cases.tables import CANNOT_LINK, MUST_LINK, HumanDecisionRow
from nearmiss.devnet import DevNetwork
from nearmiss.errors import NotFoundError, PreconditionError, ReportInvalidError
from policies.case import TextSource
from tests.unit.cases.support import (
    PHISHING,
    VOICE,
    CountingEmbedder,
    authority_app,
    case_of,
    desk,
    file,
    make_network,
    make_report,
    make_worker,
)


@pytest.fixture
def linked(tmp_path: Path) -> Iterator[tuple[AuthorityApp, list[str]]]:
    """Three cases: two phishing reports (one case), a voice report, a third report."""
    network: DevNetwork = make_network(tmp_path / "net")
    with authority_app(network) as (app, _):
        ids = [
            file(app, network, make_report("lab-aurora", PHISHING)),
            file(app, network, make_report("lab-borealis", PHISHING)),
            file(app, network, make_report("lab-cygnus", VOICE, domains=["OTHER"])),
            file(app, network, make_report("lab-cygnus", "A third, unrelated story entirely")),
        ]
        make_worker(app, CountingEmbedder()).link_pending()
        yield app, ids


def test_list_shows_open_cases_newest_first_with_paging(
    linked: tuple[AuthorityApp, list[str]],
) -> None:
    app, ids = linked
    cases, total, unlinked = desk(app).list()
    assert (total, unlinked) == (3, 0)
    assert [c.case_id for c in cases] == sorted((c.case_id for c in cases), reverse=True)
    big = [c for c in cases if c.report_count == 2]
    assert len(big) == 1 and big[0].lab_count == 2 and big[0].case_id == case_of(app, ids[0])

    page, _, _ = desk(app).list(limit=1, before=cases[0].case_id)
    assert [c.case_id for c in page] == [cases[1].case_id]
    only_big, big_total, _ = desk(app).list(min_reports=2)
    assert [c.case_id for c in only_big] == [big[0].case_id] and big_total == 1


def test_show_by_number_or_public_id(linked: tuple[AuthorityApp, list[str]]) -> None:
    app, ids = linked
    case = case_of(app, ids[0])
    detail = desk(app).get(f"#{case}")
    assert {m.report_id for m in detail.members} == {ids[0], ids[1]}
    assert [(e.report_id, e.matched_report_id) for e in detail.evidence] == [(ids[1], ids[0])]
    assert desk(app).get(detail.summary.public_id).summary.case_id == case
    with pytest.raises(NotFoundError):
        desk(app).get("99")
    with pytest.raises(ReportInvalidError):
        desk(app).get("seventeen")


def test_merge_then_split_keeps_the_whole_trail(linked: tuple[AuthorityApp, list[str]]) -> None:
    app, ids = linked
    voice, third = case_of(app, ids[2]), case_of(app, ids[3])
    merged = desk(app).merge(str(third), str(voice), by="analyst", reason="same actor")
    assert merged.summary.case_id == min(voice, third)
    assert [m.case_id for m in merged.merged_from] == [max(voice, third)]
    with pytest.raises(NotFoundError, match="merged into"):
        desk(app).get(str(max(voice, third)))

    left, new = desk(app).split(
        str(merged.summary.case_id), [ids[3]], by="analyst-2", reason="not the same after all"
    )
    assert {m.report_id for m in new.members} == {ids[3]}
    assert {m.report_id for m in left.members} == {ids[2]}
    with Session(app.engine) as session:
        rows = session.exec(
            select(HumanDecisionRow).order_by(col(HumanDecisionRow.decision_id))
        ).all()
    assert [(r.kind, r.decided_by, r.superseded_at is None) for r in rows] == [
        (MUST_LINK, "analyst", False),  # lifted by the split
        (CANNOT_LINK, "analyst-2", True),
    ]
    assert [(d.kind, d.active) for d in left.decisions] == [(MUST_LINK, False), (CANNOT_LINK, True)]


def test_refusals(linked: tuple[AuthorityApp, list[str]]) -> None:
    app, ids = linked
    case = str(case_of(app, ids[0]))
    with pytest.raises(ReportInvalidError, match="reason"):
        desk(app).merge(case, str(case_of(app, ids[2])), by="analyst", reason="  ")
    with pytest.raises(PreconditionError, match="itself"):
        desk(app).merge(case, case, by="analyst", reason="oops")
    with pytest.raises(PreconditionError, match="leave a report"):
        desk(app).split(case, [ids[0], ids[1]], by="analyst", reason="all of it")
    with pytest.raises(NotFoundError):
        desk(app).split(case, [ids[2]], by="analyst", reason="not a member")
    with pytest.raises(ReportInvalidError):
        desk(app).split(case, [], by="analyst", reason="nothing")


def test_linked_cases_feed_the_disclosure_job(linked: tuple[AuthorityApp, list[str]]) -> None:
    app, ids = linked
    with Session(app.engine) as session:
        views = LinkedCases().load(session)
        count = LinkedCases().count(session)
    assert count == len(views) == 3
    (pair,) = [v for v in views if len(v.reports) == 2]
    assert set(pair.report_ids) == {ids[0], ids[1]}
    assert pair.case_id == desk(app).get(str(case_of(app, ids[0]))).summary.public_id
    assert {t.source for t in pair.texts} >= {TextSource.TITLE, TextSource.SUMMARY}
    assert pair.lab_ids == frozenset({"lab-aurora", "lab-borealis"})


def test_unlinked_reports_are_counted_not_listed(tmp_path: Path) -> None:
    network = make_network(tmp_path / "net")
    with authority_app(network) as (app, _):
        file(app, network, make_report("lab-aurora", PHISHING))
        cases, total, unlinked = desk(app).list()
        assert (cases, total, unlinked) == ([], 0, 1)
        with Session(app.engine) as session:
            assert LinkedCases().load(session) == []
