"""The linking worker over a real authority database and ingest, with a fake embedder:
cases, evidence, merges, analysts' decisions, alerts, restart and races."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from authority.alerts.snapshot import CaseSnapshot
from authority.alerts.tables import AlertRecord
from authority.app import AuthorityApp
from authority.cases.tables import (
    MERGED,
    CaseLinkRow,
    CaseMemberRow,
    CaseRow,
    CaseVectorRow,
)
from authority.records import ReportRecord
from nearmiss.devnet import DevNetwork
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
    members,
)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def network(tmp_path: Path) -> DevNetwork:
    return make_network(tmp_path / "net")


def test_same_campaign_from_two_labs_is_one_case_with_evidence_and_an_alert(
    network: DevNetwork,
) -> None:
    with authority_app(network) as (app, alerts):
        worker = make_worker(app, CountingEmbedder(), alerts=alerts)
        shared = ("DOMAIN", "secure-verify-account.example")
        first = file(app, network, make_report("lab-borealis", PHISHING, indicators=[shared]))
        second = file(app, network, make_report("lab-aurora", PHISHING, indicators=[shared]))
        other = file(app, network, make_report("lab-cygnus", VOICE, domains=["OTHER"]))

        assert worker.link_pending() == 3

        case = case_of(app, first)
        assert case_of(app, second) == case
        assert case_of(app, other) != case
        with Session(app.engine) as session:
            assert all(r.linked_at is not None for r in session.exec(select(ReportRecord)).all())
            (link,) = session.exec(select(CaseLinkRow)).all()
            evidence = json.loads(link.evidence)
            row = session.get(CaseRow, case)
            assert row is not None
            raised = session.exec(
                select(AlertRecord).where(AlertRecord.case_id == row.public_id)
            ).all()
            vectors = session.exec(select(CaseVectorRow)).all()
        assert (link.report_id, link.matched_report_id, link.case_id) == (second, first, case)
        assert link.method == "content_hash"
        assert ["DOMAIN", "secure-verify-account.example"] in evidence["shared_indicators"]
        assert row.public_id.startswith("c-") and len(row.public_id) == 18
        assert [a.rule_id for a in raised] == ["multi-lab-within-24h"]
        assert len(vectors) == 3
        assert worker.link_pending() == 0


def test_a_report_bridging_two_cases_merges_them(network: DevNetwork) -> None:
    with authority_app(network) as (app, _):
        worker = make_worker(app, CountingEmbedder())
        a, b = sha("prompt a"), sha("prompt b")
        left = file(
            app, network, make_report("lab-aurora", PHISHING, indicators=[("PROMPT_SHA256", a)])
        )
        right = file(
            app, network, make_report("lab-borealis", VOICE, indicators=[("PROMPT_SHA256", b)])
        )
        worker.link_pending()
        kept, gone = sorted((case_of(app, left), case_of(app, right)))
        assert kept != gone

        bridge = file(
            app,
            network,
            make_report(
                "lab-cygnus",
                "unrelated words entirely",
                indicators=[("PROMPT_SHA256", a), ("PROMPT_SHA256", b)],
            ),
        )
        worker.link_pending()

        assert members(app, kept) == {left, right, bridge}
        with Session(app.engine) as session:
            merged = session.get(CaseRow, gone)
            methods = {
                link.matched_report_id: link.method
                for link in session.exec(
                    select(CaseLinkRow).where(CaseLinkRow.report_id == bridge)
                ).all()
            }
        assert merged is not None and merged.status == MERGED and merged.merged_into == kept
        assert methods == {left: "indicator", right: "indicator"}


def test_the_linker_never_joins_what_an_analyst_split(network: DevNetwork) -> None:
    with authority_app(network) as (app, _):
        worker = make_worker(app, CountingEmbedder())
        a, b = sha("prompt a"), sha("prompt b")
        left = file(
            app, network, make_report("lab-aurora", PHISHING, indicators=[("PROMPT_SHA256", a)])
        )
        right = file(
            app, network, make_report("lab-borealis", VOICE, indicators=[("PROMPT_SHA256", b)])
        )
        glue = file(
            app,
            network,
            make_report(
                "lab-cygnus", "glue", indicators=[("PROMPT_SHA256", a), ("PROMPT_SHA256", b)]
            ),
        )
        worker.link_pending()
        case = case_of(app, left)
        assert members(app, case) == {left, right, glue}

        _, split_off = desk(app).split(
            str(case), [right], by="analyst", reason="different campaigns"
        )
        second_glue = file(
            app,
            network,
            make_report(
                "lab-cygnus", "more glue", indicators=[("PROMPT_SHA256", b), ("PROMPT_SHA256", a)]
            ),
        )
        worker.link_pending()

        assert case_of(app, right) == split_off.summary.case_id != case_of(app, left)
        assert case_of(app, second_glue) in (case, split_off.summary.case_id)
        with Session(app.engine) as session:
            row = session.get(CaseMemberRow, second_glue)
        assert row is not None and row.blocked_case_ids != ""


def test_an_analyst_merge_binds_the_next_batch(network: DevNetwork) -> None:
    with authority_app(network) as (app, _):
        worker = make_worker(app, CountingEmbedder())
        one = file(app, network, make_report("lab-aurora", PHISHING))
        two = file(app, network, make_report("lab-borealis", VOICE, domains=["OTHER"]))
        worker.link_pending()
        merged = desk(app).merge(
            str(case_of(app, one)), str(case_of(app, two)), by="analyst", reason="same actor"
        )
        three = file(app, network, make_report("lab-cygnus", VOICE, domains=["OTHER"]))
        worker.link_pending()

        assert members(app, merged.summary.case_id) == {one, two, three}
        linker = worker.linker
        assert linker is not None
        assert linker.case_of(three) == merged.summary.case_id
        assert [d.kind for d in linker.decisions] == ["must_link"]


def test_a_change_during_a_batch_makes_the_worker_link_it_again(network: DevNetwork) -> None:
    with authority_app(network) as (app, _):
        embedder = CountingEmbedder()
        worker = make_worker(app, embedder)
        one = file(app, network, make_report("lab-aurora", PHISHING))
        two = file(app, network, make_report("lab-borealis", VOICE, domains=["OTHER"]))
        worker.link_pending()
        three = file(app, network, make_report("lab-cygnus", VOICE + " again", domains=["OTHER"]))
        texts_before = embedder.texts
        # An analyst (maybe on another replica) merges while the batch is being embedded.
        embedder.on_next_embed = lambda: desk(app).merge(
            str(case_of(app, one)), str(case_of(app, two)), by="analyst", reason="same actor"
        )

        assert worker.link_pending() == 1

        assert worker.stats.retries == 1
        assert embedder.texts == texts_before + 1  # the retry reused the batch's vectors
        case = case_of(app, one)
        assert members(app, case) == {one, two, three}
        linker = worker.linker
        assert linker is not None and linker.case_of(three) == case


def test_a_restarted_worker_restores_from_sql_without_the_model(network: DevNetwork) -> None:
    with authority_app(network) as (app, _):
        first = make_worker(app, CountingEmbedder())
        one = file(app, network, make_report("lab-aurora", PHISHING))
        file(app, network, make_report("lab-borealis", VOICE, domains=["OTHER"]))
        first.link_pending()
        first.save_snapshot()
        assert (app.config.data_dir / "dedup-index" / "labels.json").is_file()

        embedder = CountingEmbedder()
        second = make_worker(app, embedder)
        again = file(app, network, make_report("lab-cygnus", PHISHING + " again"))
        assert second.link_pending() == 1

        assert embedder.texts == 1  # only the new report was embedded
        assert case_of(app, again) == case_of(app, one)
        with Session(app.engine) as session:
            highest = max(session.exec(select(CaseRow.case_id)).all())
        assert highest == 2  # ids continue, none reused


def test_a_worker_rebuilds_when_another_replica_linked_meanwhile(network: DevNetwork) -> None:
    with authority_app(network) as (app, _):
        ours, theirs = make_worker(app, CountingEmbedder()), make_worker(app, CountingEmbedder())
        one = file(app, network, make_report("lab-aurora", PHISHING))
        ours.link_pending()
        two = file(app, network, make_report("lab-borealis", PHISHING))
        theirs.link_pending()  # the other replica held the lease for a while
        three = file(app, network, make_report("lab-cygnus", PHISHING))
        ours.link_pending()

        assert ours.stats.reloads == 2
        assert members(app, case_of(app, one)) == {one, two, three}


class _BrokenAlerts:
    """Writes half an alert, then fails: the savepoint must take the half back."""

    def on_case_changed(self, session: Session, case: CaseSnapshot) -> object:
        session.add(
            CaseLinkRow(
                report_id="x",
                matched_report_id="y",
                case_id=0,
                method="?",
                score=0.0,
                evidence="{}",
                linked_at=datetime.now(UTC),
            )
        )
        session.flush()
        raise RuntimeError("alert rule bug")


def test_a_failing_alert_loses_the_alert_not_the_links(network: DevNetwork) -> None:
    with authority_app(network) as (app, _):
        worker = make_worker(app, CountingEmbedder(), alerts=_BrokenAlerts())
        one = file(app, network, make_report("lab-aurora", PHISHING))

        assert worker.link_pending() == 1

        assert worker.stats.alert_failures == 1
        assert members(app, case_of(app, one)) == {one}
        with Session(app.engine) as session:
            assert session.exec(select(CaseLinkRow)).all() == []


def test_the_thread_links_what_ingest_accepts(network: DevNetwork) -> None:
    with authority_app(network) as (app, _):
        worker = make_worker(app, CountingEmbedder())
        worker.start()
        try:
            report_id = file(app, network, make_report("lab-aurora", PHISHING))
            for _ in range(400):  # bounded wait, not a timing assertion
                with Session(app.engine) as session:
                    if session.get(CaseMemberRow, report_id) is not None:
                        break
                app.ingest.accepted_event.wait(0.05)
        finally:
            worker.stop()
        assert members(app, case_of(app, report_id)) == {report_id}
        assert (app.config.data_dir / "dedup-index" / "labels.json").is_file()


def _batches(app: AuthorityApp) -> set[object]:
    with Session(app.engine) as session:
        return set(
            session.exec(
                select(ReportRecord.linked_at).where(col(ReportRecord.linked_at).isnot(None))
            ).all()
        )


def test_batches_are_bounded(network: DevNetwork) -> None:
    with authority_app(network) as (app, _):
        worker = make_worker(app, CountingEmbedder(), batch_size=2)
        for n in range(5):
            file(app, network, make_report("lab-aurora", f"{VOICE} variant {n}", domains=["OTHER"]))

        assert worker.link_pending() == 5
        assert worker.stats.batches == 3
        assert len(_batches(app)) == 3
