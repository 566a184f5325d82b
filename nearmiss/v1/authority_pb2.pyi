import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from nearmiss.v1 import report_pb2 as _report_pb2
from nearmiss.v1 import log_pb2 as _log_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SubmitReportRequest(_message.Message):
    __slots__ = ("signed_report",)
    SIGNED_REPORT_FIELD_NUMBER: _ClassVar[int]
    signed_report: _report_pb2.SignedReport
    def __init__(self, signed_report: _Optional[_Union[_report_pb2.SignedReport, _Mapping]] = ...) -> None: ...

class ReceiptStatement(_message.Message):
    __slots__ = ("report_id", "lab_id", "log_index", "leaf_hash", "received_at")
    REPORT_ID_FIELD_NUMBER: _ClassVar[int]
    LAB_ID_FIELD_NUMBER: _ClassVar[int]
    LOG_INDEX_FIELD_NUMBER: _ClassVar[int]
    LEAF_HASH_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_AT_FIELD_NUMBER: _ClassVar[int]
    report_id: str
    lab_id: str
    log_index: int
    leaf_hash: bytes
    received_at: _timestamp_pb2.Timestamp
    def __init__(self, report_id: _Optional[str] = ..., lab_id: _Optional[str] = ..., log_index: _Optional[int] = ..., leaf_hash: _Optional[bytes] = ..., received_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Receipt(_message.Message):
    __slots__ = ("statement", "statement_signature", "authority_key_id", "tree_head", "inclusion_proof", "already_stored")
    STATEMENT_FIELD_NUMBER: _ClassVar[int]
    STATEMENT_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    AUTHORITY_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    TREE_HEAD_FIELD_NUMBER: _ClassVar[int]
    INCLUSION_PROOF_FIELD_NUMBER: _ClassVar[int]
    ALREADY_STORED_FIELD_NUMBER: _ClassVar[int]
    statement: ReceiptStatement
    statement_signature: bytes
    authority_key_id: str
    tree_head: _log_pb2.SignedTreeHead
    inclusion_proof: _log_pb2.InclusionProof
    already_stored: bool
    def __init__(self, statement: _Optional[_Union[ReceiptStatement, _Mapping]] = ..., statement_signature: _Optional[bytes] = ..., authority_key_id: _Optional[str] = ..., tree_head: _Optional[_Union[_log_pb2.SignedTreeHead, _Mapping]] = ..., inclusion_proof: _Optional[_Union[_log_pb2.InclusionProof, _Mapping]] = ..., already_stored: _Optional[bool] = ...) -> None: ...

class SubmitResult(_message.Message):
    __slots__ = ("report_id", "receipt", "error")
    REPORT_ID_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    report_id: str
    receipt: Receipt
    error: SubmitError
    def __init__(self, report_id: _Optional[str] = ..., receipt: _Optional[_Union[Receipt, _Mapping]] = ..., error: _Optional[_Union[SubmitError, _Mapping]] = ...) -> None: ...

class SubmitError(_message.Message):
    __slots__ = ("code", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ...) -> None: ...

class SubmitReportsResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[SubmitResult]
    def __init__(self, results: _Optional[_Iterable[_Union[SubmitResult, _Mapping]]] = ...) -> None: ...

class GetReceiptRequest(_message.Message):
    __slots__ = ("report_id",)
    REPORT_ID_FIELD_NUMBER: _ClassVar[int]
    report_id: str
    def __init__(self, report_id: _Optional[str] = ...) -> None: ...

class Alert(_message.Message):
    __slots__ = ("alert_id", "cursor", "case_id", "raised_at", "severity", "harm_domains", "title", "summary", "rule_id", "policy_pack_hash", "origin_authority", "escalation_tier", "indicators", "reporting_lab_count")
    ALERT_ID_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    RAISED_AT_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    HARM_DOMAINS_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    POLICY_PACK_HASH_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_AUTHORITY_FIELD_NUMBER: _ClassVar[int]
    ESCALATION_TIER_FIELD_NUMBER: _ClassVar[int]
    INDICATORS_FIELD_NUMBER: _ClassVar[int]
    REPORTING_LAB_COUNT_FIELD_NUMBER: _ClassVar[int]
    alert_id: str
    cursor: int
    case_id: str
    raised_at: _timestamp_pb2.Timestamp
    severity: int
    harm_domains: _containers.RepeatedScalarFieldContainer[_report_pb2.HarmDomain]
    title: str
    summary: str
    rule_id: str
    policy_pack_hash: str
    origin_authority: str
    escalation_tier: int
    indicators: _containers.RepeatedCompositeFieldContainer[_report_pb2.Indicator]
    reporting_lab_count: int
    def __init__(self, alert_id: _Optional[str] = ..., cursor: _Optional[int] = ..., case_id: _Optional[str] = ..., raised_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., severity: _Optional[int] = ..., harm_domains: _Optional[_Iterable[_Union[_report_pb2.HarmDomain, str]]] = ..., title: _Optional[str] = ..., summary: _Optional[str] = ..., rule_id: _Optional[str] = ..., policy_pack_hash: _Optional[str] = ..., origin_authority: _Optional[str] = ..., escalation_tier: _Optional[int] = ..., indicators: _Optional[_Iterable[_Union[_report_pb2.Indicator, _Mapping]]] = ..., reporting_lab_count: _Optional[int] = ...) -> None: ...

class SubscribeAlertsRequest(_message.Message):
    __slots__ = ("resume_after_cursor",)
    RESUME_AFTER_CURSOR_FIELD_NUMBER: _ClassVar[int]
    resume_after_cursor: int
    def __init__(self, resume_after_cursor: _Optional[int] = ...) -> None: ...

class AckAlertRequest(_message.Message):
    __slots__ = ("alert_id",)
    ALERT_ID_FIELD_NUMBER: _ClassVar[int]
    alert_id: str
    def __init__(self, alert_id: _Optional[str] = ...) -> None: ...

class AckAlertResponse(_message.Message):
    __slots__ = ("acknowledged_at",)
    ACKNOWLEDGED_AT_FIELD_NUMBER: _ClassVar[int]
    acknowledged_at: _timestamp_pb2.Timestamp
    def __init__(self, acknowledged_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetTreeHeadRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetInclusionProofRequest(_message.Message):
    __slots__ = ("leaf_index", "leaf_hash", "tree_size")
    LEAF_INDEX_FIELD_NUMBER: _ClassVar[int]
    LEAF_HASH_FIELD_NUMBER: _ClassVar[int]
    TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    leaf_index: int
    leaf_hash: bytes
    tree_size: int
    def __init__(self, leaf_index: _Optional[int] = ..., leaf_hash: _Optional[bytes] = ..., tree_size: _Optional[int] = ...) -> None: ...

class GetConsistencyProofRequest(_message.Message):
    __slots__ = ("first_size", "second_size")
    FIRST_SIZE_FIELD_NUMBER: _ClassVar[int]
    SECOND_SIZE_FIELD_NUMBER: _ClassVar[int]
    first_size: int
    second_size: int
    def __init__(self, first_size: _Optional[int] = ..., second_size: _Optional[int] = ...) -> None: ...
