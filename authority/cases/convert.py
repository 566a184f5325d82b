"""Case read models to CaseService messages (the only place that builds them).

Rule: evidence goes out as it was stored at link time; fields the evidence lacks stay
unset rather than zero (``jaccard`` and ``date_gap_days`` are optional in the proto).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from authority.cases.queries import CaseDetail, CaseSummary, EvidenceInfo
from nearmiss.v1 import cases_pb2


def _stamp(target: Timestamp, moment: datetime | None) -> None:
    if moment is not None:
        target.FromDatetime(moment.astimezone(UTC))


def summary_message(summary: CaseSummary) -> cases_pb2.CaseSummary:
    message = cases_pb2.CaseSummary(
        case_number=summary.case_id,
        case_id=summary.public_id,
        report_count=summary.report_count,
        lab_count=summary.lab_count,
        max_severity=summary.max_severity,
        harm_domains=list(summary.harm_domains),
        title=summary.title,
    )
    _stamp(message.created_at, summary.created_at)
    _stamp(message.updated_at, summary.updated_at)
    _stamp(message.first_received_at, summary.first_received_at)
    _stamp(message.last_received_at, summary.last_received_at)
    return message


def list_message(
    summaries: Sequence[CaseSummary], total: int, unlinked: int
) -> cases_pb2.ListCasesResponse:
    return cases_pb2.ListCasesResponse(
        cases=[summary_message(s) for s in summaries], total=total, unlinked_reports=unlinked
    )


def _evidence_message(evidence: EvidenceInfo) -> cases_pb2.LinkEvidence:
    details = evidence.details
    message = cases_pb2.LinkEvidence(
        report_id=evidence.report_id,
        matched_report_id=evidence.matched_report_id,
        method=evidence.method,
        score=evidence.score,
        cosine=float(_number(details.get("cosine"))),
        centred_cosine=float(_number(details.get("centred_cosine"))),
        lexical=float(_number(details.get("lexical"))),
        case_number_at_link=evidence.case_id_at_link,
    )
    if isinstance(details.get("jaccard"), int | float):
        message.jaccard = float(_number(details["jaccard"]))
    if isinstance(details.get("date_gap_days"), int):
        message.date_gap_days = int(_number(details["date_gap_days"]))
    shared = details.get("shared_indicators")
    for pair in shared if isinstance(shared, list) else []:
        if isinstance(pair, list) and len(pair) == 2:
            message.shared_indicators.add(type=str(pair[0]), value=str(pair[1]))
    _stamp(message.linked_at, evidence.linked_at)
    return message


def _number(value: object) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


def case_message(detail: CaseDetail) -> cases_pb2.Case:
    message = cases_pb2.Case(summary=summary_message(detail.summary))
    for member in detail.members:
        report = message.reports.add(
            report_id=member.report_id,
            lab_id=member.lab_id,
            kind=member.kind,
            severity=member.severity,
            harm_domains=list(member.harm_domains),
            title=member.title,
            log_index=member.log_index,
            blocked_case_numbers=list(member.blocked_case_ids),
        )
        _stamp(report.received_at, member.received_at)
        _stamp(report.linked_at, member.linked_at)
        _stamp(report.occurred_at, member.occurred_at)
    message.evidence.extend(_evidence_message(e) for e in detail.evidence)
    for decision in detail.decisions:
        entry = message.decisions.add(
            kind=decision.kind,
            left_report_ids=list(decision.left),
            right_report_ids=list(decision.right),
            case_number=decision.case_id,
            other_case_number=decision.other_case_id,
            decided_by=decision.by,
            reason=decision.reason,
            active=decision.active,
        )
        _stamp(entry.decided_at, decision.at)
    for merged in detail.merged_from:
        entry_merged = message.merged_from.add(
            case_number=merged.case_id, case_id=merged.public_id, merged_by=merged.by
        )
        _stamp(entry_merged.merged_at, merged.at)
    return message
