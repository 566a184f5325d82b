"""What analysts do with cases: list, look, merge, split — over SQL, on any replica.

Rules: reads and writes go to SQL only; the linking worker (maybe on another replica)
notices the case generation moved and reloads, so an analyst's decision binds the
linker from its next batch on (``authority.cases.store``). Every merge and split needs
a reason and records who (the analyst's certificate identity) and when. After a merge
the alert service hears of the merged case (it may now span more labs); a split raises
nothing (a case that lost reports is no new reason to alert).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from authority.cases.alerting import CaseChangeSink, notify_case_changed
from authority.cases.queries import (
    CaseDetail,
    CaseSummary,
    case_detail,
    list_cases,
    resolve_case,
    unlinked_count,
)
from authority.cases.store import merge_cases, split_case
from authority.database import session_scope
from nearmiss.errors import ReportInvalidError

MAX_REASON_CHARS = 2000
MAX_SPLIT_REPORTS = 1000


def check_reason(reason: str) -> str:
    text = reason.strip()
    if not text:
        raise ReportInvalidError("is required: say why, for the record", field="reason")
    if len(text) > MAX_REASON_CHARS:
        raise ReportInvalidError(
            f"is {len(text)} characters; at most {MAX_REASON_CHARS}", field="reason"
        )
    return text


class CaseDesk:
    """The analysts' operations on cases (the CaseService servicer calls these)."""

    def __init__(
        self,
        *,
        engine: Engine,
        alerts: CaseChangeSink | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self._engine = engine
        self._alerts = alerts
        self._clock = clock

    def _read(self) -> Session:
        return Session(self._engine, expire_on_commit=False)

    def list(
        self, *, limit: int = 50, before: int = 0, min_reports: int = 1
    ) -> tuple[list[CaseSummary], int, int]:
        """(page of open cases, open cases in all, reports waiting to be linked)."""
        with self._read() as session:
            cases, total = list_cases(
                session, limit=limit, before=before, min_reports=min_reports
            )
            return cases, total, unlinked_count(session)

    def get(self, reference: str) -> CaseDetail:
        with self._read() as session:
            return case_detail(session, reference)

    def merge(self, reference: str, other: str, *, by: str, reason: str) -> CaseDetail:
        why = check_reason(reason)
        with session_scope(self._engine) as session:
            first = resolve_case(session, reference).case_id
            second = resolve_case(session, other).case_id
            kept, _ = merge_cases(session, first, second, by=by, reason=why, now=self._clock())
            if self._alerts is not None:
                notify_case_changed(session, self._alerts, kept, None)
        return self.get(str(kept))

    def split(
        self, reference: str, report_ids: Sequence[str], *, by: str, reason: str
    ) -> tuple[CaseDetail, CaseDetail]:
        """Returns (the case the reports left, the new case)."""
        why = check_reason(reason)
        if not report_ids:
            raise ReportInvalidError("name at least one report to move", field="report_ids")
        if len(report_ids) > MAX_SPLIT_REPORTS:
            raise ReportInvalidError(
                f"names {len(report_ids)} reports; at most {MAX_SPLIT_REPORTS}",
                field="report_ids",
            )
        with session_scope(self._engine) as session:
            case_id = resolve_case(session, reference).case_id
            new_id = split_case(
                session, case_id, report_ids, by=by, reason=why, now=self._clock()
            )
        return self.get(str(case_id)), self.get(str(new_id))
