"""Turning a validated report into what leaves the lab: stamped, redacted, signed.

Rules: the report must name this node's lab; ``reported_at`` is set at signing when the
lab left it empty; LAB_ONLY sections never reach the signed bytes; redaction (when
configured) runs before signing, so the signature covers exactly what the authority sees.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from nearmiss.errors import ReportInvalidError
from nearmiss.model import IncidentReport, SensitivityScope
from nearmiss.signed_report import sign_report
from nearmiss.signing import SigningKey
from nearmiss.v1 import report_pb2

Redaction = Callable[[IncidentReport], IncidentReport]


def without_lab_only_sections(report: IncidentReport) -> IncidentReport:
    kept = [s for s in report.sections if s.scope is not SensitivityScope.LAB_ONLY]
    return report.model_copy(update={"sections": kept})


def prepare_for_sending(
    report: IncidentReport,
    *,
    lab_id: str,
    redaction: Redaction | None = None,
    now: datetime | None = None,
    source: str | None = None,
) -> IncidentReport:
    if report.lab_id != lab_id:
        raise ReportInvalidError(
            f"names lab {report.lab_id}, but this node files for {lab_id}",
            field="lab_id",
            source=source,
        )
    prepared = without_lab_only_sections(report)
    if prepared.reported_at is None:
        stamp = (now or datetime.now(UTC)).replace(microsecond=0)
        prepared = prepared.model_copy(update={"reported_at": max(stamp, prepared.detected_at)})
    if redaction is not None:
        prepared = redaction(prepared)
    # Re-validate: redaction must not produce a report the authority would refuse.
    return IncidentReport.model_validate(prepared.model_dump())


def sign_for_sending(report: IncidentReport, key: SigningKey) -> report_pb2.SignedReport:
    return sign_report(report, key)
