"""Filing: what gets signed (LAB_ONLY never, AUTHORITY_ONLY redacted), idempotency,
and nothing queued for bad input."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from nearmiss.canonical import report_from_canonical
from nearmiss.errors import ConflictError, ReportInvalidError
from nearmiss.model import IncidentReport, SensitivityScope
from nearmiss.signing import SigningKey
from node.filing import Filer
from node.outbox import Outbox, ReportState
from node.redact_report import ReportRedactor
from node.store import NodeStore
from tests.unit.node.conftest import LAB


def _filer(outbox: Outbox, key: SigningKey, redactor: ReportRedactor | None) -> Filer:
    return Filer(lab_id=LAB, signing_key=key, outbox=outbox, redactor=lambda: redactor)


def _sent(outbox: Outbox, report_id: str) -> IncidentReport:
    return report_from_canonical(outbox.get(report_id).signed.canonical_report)


def test_lab_only_withheld_authority_only_redacted(
    outbox: Outbox, lab_key: SigningKey, redactor: ReportRedactor, report: IncidentReport
) -> None:
    filed = _filer(outbox, lab_key, redactor).file(report, source="r.yaml")
    assert filed.state is ReportState.PENDING and not filed.already_queued
    assert filed.withheld_sections == 1
    assert filed.counts == {"CONFIDENTIAL": 1, "PERSON": 1, "EMAIL": 1}
    sent = _sent(outbox, report.report_id)
    assert [s.scope for s in sent.sections] == [
        SensitivityScope.PUBLIC,
        SensitivityScope.AUTHORITY_ONLY,
    ]
    authority_only = sent.sections[1].text
    assert "<PERSON_1>" in authority_only and "<EMAIL_1>" in authority_only
    signed_bytes = outbox.get(report.report_id).signed.canonical_report
    for secret in (b"Dana Whitfield", b"KESTREL-7", b"aurora-lab.example", b"run-4471"):
        assert secret not in signed_bytes
    assert sent.reported_at is not None


def test_without_redactor_lab_only_is_still_withheld(
    outbox: Outbox, lab_key: SigningKey, report: IncidentReport
) -> None:
    filed = _filer(outbox, lab_key, None).file(report, source="r.yaml")
    assert filed.withheld_sections == 1
    assert b"run-4471" not in outbox.get(report.report_id).signed.canonical_report


def test_refiling_reuses_signed_bytes_and_changed_content_conflicts(
    outbox: Outbox, lab_key: SigningKey, redactor: ReportRedactor, report: IncidentReport
) -> None:
    filer = _filer(outbox, lab_key, redactor)
    filer.file(report, source="r.yaml")
    first = outbox.get(report.report_id).signed
    # The lab's file now carries a reported_at (e.g. copied from the receipt): same report.
    stamped = report.model_copy(update={"reported_at": datetime(2026, 11, 20, tzinfo=UTC)})
    again = filer.file(stamped, source="r.yaml")
    assert again.already_queued and outbox.get(report.report_id).signed == first
    with pytest.raises(ConflictError, match=report.report_id):
        filer.file(report.model_copy(update={"severity": 5}), source="r.yaml")
    assert outbox.get(report.report_id).signed == first


def test_wrong_lab_queues_nothing(
    store: NodeStore, outbox: Outbox, lab_key: SigningKey, report: IncidentReport
) -> None:
    with pytest.raises(ReportInvalidError) as caught:
        _filer(outbox, lab_key, None).file(
            report.model_copy(update={"lab_id": "lab-borealis"}), source="r.yaml"
        )
    assert caught.value.field == "lab_id" and "r.yaml" in str(caught.value)
    with store.read() as db:
        assert db.scalar("SELECT COUNT(*) FROM reports") == 0


def test_placeholder_past_a_size_limit_is_named_as_a_redaction_effect(
    outbox: Outbox, lab_key: SigningKey, redactor: ReportRedactor, report: IncidentReport
) -> None:
    # "KESTREL-7" (9 chars) becomes "<CONFIDENTIAL_1>" (16): a full title overflows.
    title = ("KESTREL-7 " * 30)[:300]
    with pytest.raises(ReportInvalidError) as caught:
        _filer(outbox, lab_key, redactor).file(
            report.model_copy(update={"title": title}), source="r.yaml"
        )
    assert caught.value.field == "title" and "after redaction" in str(caught.value)


def test_mapping_is_not_kept_but_can_be_rebuilt_from_the_lab_file(
    store: NodeStore, outbox: Outbox, lab_key: SigningKey, redactor: ReportRedactor,
    report: IncidentReport,
) -> None:
    filer = _filer(outbox, lab_key, redactor)
    filer.file(report, source="r.yaml")
    on_disk = b"".join(
        path.read_bytes() for path in store.path.parent.iterdir() if path.is_file()
    )
    assert b"<PERSON_1>" in on_disk  # the redacted report is there ...
    for secret in (b"Dana Whitfield", b"KESTREL-7", b"aurora-lab.example", b"run-4471"):
        assert secret not in on_disk  # ... and no original value, nor any mapping
    # Redaction is deterministic: a dry run on the lab's own file shows the same mapping.
    first = filer.preview(report, source="r.yaml")
    second = filer.preview(report, source="r.yaml")
    assert first.rows == second.rows
    assert first.report.sections == _sent(outbox, report.report_id).sections
