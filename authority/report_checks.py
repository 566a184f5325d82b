"""The checks a signed report passes before it is stored (steps 2–4 of ``authority.ingest``).

Kept apart from storing so the same checks run wherever ingest runs: on the RPC thread
(in-process ingest) or in the ingest process (``authority.ingest_process``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from authority.config import LimitsConfig
from authority.parties import PartyRegistry
from nearmiss.errors import PermissionDeniedError, ReportInvalidError
from nearmiss.identity import Party
from nearmiss.model import IncidentReport
from nearmiss.signed_report import verify_signed_report
from nearmiss.v1 import report_pb2


class ReportChecks:
    """Signature with the calling lab's key, lab identity, and the time window."""

    def __init__(self, *, registry: PartyRegistry, limits: LimitsConfig) -> None:
        self._registry = registry
        self._limits = limits

    def verify(self, party: Party, signed: report_pb2.SignedReport) -> IncidentReport:
        """The decoded report, or our error saying which check failed."""
        key = self._registry.lab_signing_key(party.party_id)
        report = verify_signed_report(signed, key)
        if report.lab_id != party.party_id:
            raise PermissionDeniedError(
                f"the report names lab {report.lab_id}, but it was filed by {party}"
            )
        self._check_timeline(report, datetime.now(UTC))
        return report

    def _check_timeline(self, report: IncidentReport, now: datetime) -> None:
        if report.reported_at is None:
            raise ReportInvalidError(
                "is required on the wire (the node sets it when it signs)", field="reported_at"
            )
        skew = timedelta(seconds=self._limits.clock_skew_future_seconds)
        if report.reported_at > now + skew:
            raise ReportInvalidError(
                f"is more than {self._limits.clock_skew_future_seconds} s in the future; "
                "check the node's clock",
                field="reported_at",
            )
        oldest = now - timedelta(days=self._limits.max_report_age_days)
        if report.reported_at < oldest:
            raise ReportInvalidError(
                f"is more than {self._limits.max_report_age_days} days old; "
                "re-sign the report to file it again",
                field="reported_at",
            )
