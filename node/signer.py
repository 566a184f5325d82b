"""Turning a validated report into what leaves the lab: stamped, redacted, signed.

Rules: the report must name this node's lab; ``reported_at`` is set at signing when the
lab left it empty; LAB_ONLY sections never reach the signed bytes; redaction (when
configured) runs before signing, so the signature covers exactly what the authority
sees; the redacted report is validated again (a placeholder can push a field past its
size limit), and such an error says it arose from redaction.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from pydantic import ValidationError

from nearmiss.errors import ReportInvalidError
from nearmiss.model import IncidentReport, SensitivityScope
from nearmiss.reportfile import validation_problems
from nearmiss.signed_report import sign_report
from nearmiss.signing import SigningKey
from nearmiss.v1 import report_pb2
from node.redact_report import Redacted, ReportRedactor, without_redaction

Redaction = Callable[[IncidentReport], IncidentReport]


def without_lab_only_sections(report: IncidentReport) -> IncidentReport:
    kept = [s for s in report.sections if s.scope is not SensitivityScope.LAB_ONLY]
    return report.model_copy(update={"sections": kept})


def stamped(report: IncidentReport, now: datetime | None = None) -> IncidentReport:
    """The report with ``reported_at`` set to now (whole seconds) when the lab left it out."""
    if report.reported_at is not None:
        return report
    stamp = (now or datetime.now(UTC)).replace(microsecond=0)
    return report.model_copy(update={"reported_at": max(stamp, report.detected_at)})


def check_lab(report: IncidentReport, lab_id: str, source: str | None) -> None:
    if report.lab_id != lab_id:
        raise ReportInvalidError(
            f"names lab {report.lab_id}, but this node files for {lab_id}",
            field="lab_id",
            source=source,
        )


def revalidated(report: IncidentReport, *, source: str | None) -> IncidentReport:
    try:
        return IncidentReport.model_validate(report.model_dump())
    except ValidationError as error:
        problems = [
            (field, f"{reason} (after redaction replaced values with placeholders)")
            for field, reason in validation_problems(error)
        ]
        raise ReportInvalidError.from_problems(problems, source=source) from None


def prepare(
    report: IncidentReport,
    *,
    lab_id: str,
    redactor: ReportRedactor | None,
    now: datetime | None = None,
    source: str | None = None,
) -> Redacted:
    """Check, stamp and redact a report; the result is ready to sign."""
    check_lab(report, lab_id, source)
    report = stamped(report, now)
    redacted = redactor.apply(report) if redactor is not None else without_redaction(report)
    # LAB_ONLY never leaves, whatever a pack says about scopes.
    sendable = without_lab_only_sections(redacted.report)
    final = revalidated(sendable, source=source)
    return Redacted(
        report=final,
        counts=redacted.counts,
        withheld_sections=redacted.withheld_sections,
        rows=redacted.rows,
        policy_hash=redacted.policy_hash,
    )


def prepare_for_sending(
    report: IncidentReport,
    *,
    lab_id: str,
    redaction: Redaction | None = None,
    now: datetime | None = None,
    source: str | None = None,
) -> IncidentReport:
    """The older one-call form: a plain ``Redaction`` callable, the report alone back."""
    check_lab(report, lab_id, source)
    prepared = stamped(without_lab_only_sections(report), now)
    if redaction is not None:
        prepared = redaction(prepared)
    return revalidated(without_lab_only_sections(prepared), source=source)


def sign_for_sending(report: IncidentReport, key: SigningKey) -> report_pb2.SignedReport:
    return sign_report(report, key)
