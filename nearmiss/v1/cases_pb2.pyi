import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ListCasesRequest(_message.Message):
    __slots__ = ("limit", "before_case_number", "min_reports")
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    BEFORE_CASE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    MIN_REPORTS_FIELD_NUMBER: _ClassVar[int]
    limit: int
    before_case_number: int
    min_reports: int
    def __init__(self, limit: _Optional[int] = ..., before_case_number: _Optional[int] = ..., min_reports: _Optional[int] = ...) -> None: ...

class CaseSummary(_message.Message):
    __slots__ = ("case_number", "case_id", "report_count", "lab_count", "max_severity", "harm_domains", "title", "created_at", "updated_at", "first_received_at", "last_received_at")
    CASE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    REPORT_COUNT_FIELD_NUMBER: _ClassVar[int]
    LAB_COUNT_FIELD_NUMBER: _ClassVar[int]
    MAX_SEVERITY_FIELD_NUMBER: _ClassVar[int]
    HARM_DOMAINS_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    FIRST_RECEIVED_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_RECEIVED_AT_FIELD_NUMBER: _ClassVar[int]
    case_number: int
    case_id: str
    report_count: int
    lab_count: int
    max_severity: int
    harm_domains: _containers.RepeatedScalarFieldContainer[str]
    title: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    first_received_at: _timestamp_pb2.Timestamp
    last_received_at: _timestamp_pb2.Timestamp
    def __init__(self, case_number: _Optional[int] = ..., case_id: _Optional[str] = ..., report_count: _Optional[int] = ..., lab_count: _Optional[int] = ..., max_severity: _Optional[int] = ..., harm_domains: _Optional[_Iterable[str]] = ..., title: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., first_received_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_received_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListCasesResponse(_message.Message):
    __slots__ = ("cases", "total", "unlinked_reports")
    CASES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    UNLINKED_REPORTS_FIELD_NUMBER: _ClassVar[int]
    cases: _containers.RepeatedCompositeFieldContainer[CaseSummary]
    total: int
    unlinked_reports: int
    def __init__(self, cases: _Optional[_Iterable[_Union[CaseSummary, _Mapping]]] = ..., total: _Optional[int] = ..., unlinked_reports: _Optional[int] = ...) -> None: ...

class GetCaseRequest(_message.Message):
    __slots__ = ("case",)
    CASE_FIELD_NUMBER: _ClassVar[int]
    case: str
    def __init__(self, case: _Optional[str] = ...) -> None: ...

class CaseReport(_message.Message):
    __slots__ = ("report_id", "lab_id", "kind", "severity", "harm_domains", "title", "log_index", "received_at", "linked_at", "occurred_at", "blocked_case_numbers")
    REPORT_ID_FIELD_NUMBER: _ClassVar[int]
    LAB_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    HARM_DOMAINS_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    LOG_INDEX_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_AT_FIELD_NUMBER: _ClassVar[int]
    LINKED_AT_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    BLOCKED_CASE_NUMBERS_FIELD_NUMBER: _ClassVar[int]
    report_id: str
    lab_id: str
    kind: str
    severity: int
    harm_domains: _containers.RepeatedScalarFieldContainer[str]
    title: str
    log_index: int
    received_at: _timestamp_pb2.Timestamp
    linked_at: _timestamp_pb2.Timestamp
    occurred_at: _timestamp_pb2.Timestamp
    blocked_case_numbers: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, report_id: _Optional[str] = ..., lab_id: _Optional[str] = ..., kind: _Optional[str] = ..., severity: _Optional[int] = ..., harm_domains: _Optional[_Iterable[str]] = ..., title: _Optional[str] = ..., log_index: _Optional[int] = ..., received_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., linked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., blocked_case_numbers: _Optional[_Iterable[int]] = ...) -> None: ...

class SharedIndicator(_message.Message):
    __slots__ = ("type", "value")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    type: str
    value: str
    def __init__(self, type: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...

class LinkEvidence(_message.Message):
    __slots__ = ("report_id", "matched_report_id", "method", "score", "cosine", "centred_cosine", "lexical", "jaccard", "shared_indicators", "date_gap_days", "case_number_at_link", "linked_at")
    REPORT_ID_FIELD_NUMBER: _ClassVar[int]
    MATCHED_REPORT_ID_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    COSINE_FIELD_NUMBER: _ClassVar[int]
    CENTRED_COSINE_FIELD_NUMBER: _ClassVar[int]
    LEXICAL_FIELD_NUMBER: _ClassVar[int]
    JACCARD_FIELD_NUMBER: _ClassVar[int]
    SHARED_INDICATORS_FIELD_NUMBER: _ClassVar[int]
    DATE_GAP_DAYS_FIELD_NUMBER: _ClassVar[int]
    CASE_NUMBER_AT_LINK_FIELD_NUMBER: _ClassVar[int]
    LINKED_AT_FIELD_NUMBER: _ClassVar[int]
    report_id: str
    matched_report_id: str
    method: str
    score: float
    cosine: float
    centred_cosine: float
    lexical: float
    jaccard: float
    shared_indicators: _containers.RepeatedCompositeFieldContainer[SharedIndicator]
    date_gap_days: int
    case_number_at_link: int
    linked_at: _timestamp_pb2.Timestamp
    def __init__(self, report_id: _Optional[str] = ..., matched_report_id: _Optional[str] = ..., method: _Optional[str] = ..., score: _Optional[float] = ..., cosine: _Optional[float] = ..., centred_cosine: _Optional[float] = ..., lexical: _Optional[float] = ..., jaccard: _Optional[float] = ..., shared_indicators: _Optional[_Iterable[_Union[SharedIndicator, _Mapping]]] = ..., date_gap_days: _Optional[int] = ..., case_number_at_link: _Optional[int] = ..., linked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class HumanDecision(_message.Message):
    __slots__ = ("kind", "left_report_ids", "right_report_ids", "case_number", "other_case_number", "decided_by", "decided_at", "reason", "active")
    KIND_FIELD_NUMBER: _ClassVar[int]
    LEFT_REPORT_IDS_FIELD_NUMBER: _ClassVar[int]
    RIGHT_REPORT_IDS_FIELD_NUMBER: _ClassVar[int]
    CASE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    OTHER_CASE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    DECIDED_BY_FIELD_NUMBER: _ClassVar[int]
    DECIDED_AT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    kind: str
    left_report_ids: _containers.RepeatedScalarFieldContainer[str]
    right_report_ids: _containers.RepeatedScalarFieldContainer[str]
    case_number: int
    other_case_number: int
    decided_by: str
    decided_at: _timestamp_pb2.Timestamp
    reason: str
    active: bool
    def __init__(self, kind: _Optional[str] = ..., left_report_ids: _Optional[_Iterable[str]] = ..., right_report_ids: _Optional[_Iterable[str]] = ..., case_number: _Optional[int] = ..., other_case_number: _Optional[int] = ..., decided_by: _Optional[str] = ..., decided_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reason: _Optional[str] = ..., active: _Optional[bool] = ...) -> None: ...

class MergedCase(_message.Message):
    __slots__ = ("case_number", "case_id", "merged_by", "merged_at")
    CASE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    MERGED_BY_FIELD_NUMBER: _ClassVar[int]
    MERGED_AT_FIELD_NUMBER: _ClassVar[int]
    case_number: int
    case_id: str
    merged_by: str
    merged_at: _timestamp_pb2.Timestamp
    def __init__(self, case_number: _Optional[int] = ..., case_id: _Optional[str] = ..., merged_by: _Optional[str] = ..., merged_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Case(_message.Message):
    __slots__ = ("summary", "reports", "evidence", "decisions", "merged_from")
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    REPORTS_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    DECISIONS_FIELD_NUMBER: _ClassVar[int]
    MERGED_FROM_FIELD_NUMBER: _ClassVar[int]
    summary: CaseSummary
    reports: _containers.RepeatedCompositeFieldContainer[CaseReport]
    evidence: _containers.RepeatedCompositeFieldContainer[LinkEvidence]
    decisions: _containers.RepeatedCompositeFieldContainer[HumanDecision]
    merged_from: _containers.RepeatedCompositeFieldContainer[MergedCase]
    def __init__(self, summary: _Optional[_Union[CaseSummary, _Mapping]] = ..., reports: _Optional[_Iterable[_Union[CaseReport, _Mapping]]] = ..., evidence: _Optional[_Iterable[_Union[LinkEvidence, _Mapping]]] = ..., decisions: _Optional[_Iterable[_Union[HumanDecision, _Mapping]]] = ..., merged_from: _Optional[_Iterable[_Union[MergedCase, _Mapping]]] = ...) -> None: ...

class MergeCasesRequest(_message.Message):
    __slots__ = ("case", "other_case", "reason")
    CASE_FIELD_NUMBER: _ClassVar[int]
    OTHER_CASE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    case: str
    other_case: str
    reason: str
    def __init__(self, case: _Optional[str] = ..., other_case: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class SplitCaseRequest(_message.Message):
    __slots__ = ("case", "report_ids", "reason")
    CASE_FIELD_NUMBER: _ClassVar[int]
    REPORT_IDS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    case: str
    report_ids: _containers.RepeatedScalarFieldContainer[str]
    reason: str
    def __init__(self, case: _Optional[str] = ..., report_ids: _Optional[_Iterable[str]] = ..., reason: _Optional[str] = ...) -> None: ...

class CaseChange(_message.Message):
    __slots__ = ("case", "other")
    CASE_FIELD_NUMBER: _ClassVar[int]
    OTHER_FIELD_NUMBER: _ClassVar[int]
    case: Case
    other: Case
    def __init__(self, case: _Optional[_Union[Case, _Mapping]] = ..., other: _Optional[_Union[Case, _Mapping]] = ...) -> None: ...
