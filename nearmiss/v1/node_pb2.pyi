import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from nearmiss.v1 import report_pb2 as _report_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class FileReportRequest(_message.Message):
    __slots__ = ("report", "report_document", "source_name")
    REPORT_FIELD_NUMBER: _ClassVar[int]
    REPORT_DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_NAME_FIELD_NUMBER: _ClassVar[int]
    report: _report_pb2.IncidentReport
    report_document: bytes
    source_name: str
    def __init__(self, report: _Optional[_Union[_report_pb2.IncidentReport, _Mapping]] = ..., report_document: _Optional[bytes] = ..., source_name: _Optional[str] = ...) -> None: ...

class FileReportResponse(_message.Message):
    __slots__ = ("report_id", "already_queued", "redaction_counts", "sections_withheld", "state")
    class RedactionCountsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    REPORT_ID_FIELD_NUMBER: _ClassVar[int]
    ALREADY_QUEUED_FIELD_NUMBER: _ClassVar[int]
    REDACTION_COUNTS_FIELD_NUMBER: _ClassVar[int]
    SECTIONS_WITHHELD_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    report_id: str
    already_queued: bool
    redaction_counts: _containers.ScalarMap[str, int]
    sections_withheld: int
    state: str
    def __init__(self, report_id: _Optional[str] = ..., already_queued: _Optional[bool] = ..., redaction_counts: _Optional[_Mapping[str, int]] = ..., sections_withheld: _Optional[int] = ..., state: _Optional[str] = ...) -> None: ...

class GetNodeStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DeliveryFailure(_message.Message):
    __slots__ = ("report_id", "at", "reason")
    REPORT_ID_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    report_id: str
    at: _timestamp_pb2.Timestamp
    reason: str
    def __init__(self, report_id: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class NodeStatus(_message.Message):
    __slots__ = ("outbox_depth", "oldest_pending_at", "receipts_held", "alerts_held", "last_receipt_at", "reports_refused", "last_receipt_report_id", "last_receipt_log_index", "recent_failures", "alerts_unacknowledged", "alert_cursor")
    OUTBOX_DEPTH_FIELD_NUMBER: _ClassVar[int]
    OLDEST_PENDING_AT_FIELD_NUMBER: _ClassVar[int]
    RECEIPTS_HELD_FIELD_NUMBER: _ClassVar[int]
    ALERTS_HELD_FIELD_NUMBER: _ClassVar[int]
    LAST_RECEIPT_AT_FIELD_NUMBER: _ClassVar[int]
    REPORTS_REFUSED_FIELD_NUMBER: _ClassVar[int]
    LAST_RECEIPT_REPORT_ID_FIELD_NUMBER: _ClassVar[int]
    LAST_RECEIPT_LOG_INDEX_FIELD_NUMBER: _ClassVar[int]
    RECENT_FAILURES_FIELD_NUMBER: _ClassVar[int]
    ALERTS_UNACKNOWLEDGED_FIELD_NUMBER: _ClassVar[int]
    ALERT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    outbox_depth: int
    oldest_pending_at: _timestamp_pb2.Timestamp
    receipts_held: int
    alerts_held: int
    last_receipt_at: _timestamp_pb2.Timestamp
    reports_refused: int
    last_receipt_report_id: str
    last_receipt_log_index: int
    recent_failures: _containers.RepeatedCompositeFieldContainer[DeliveryFailure]
    alerts_unacknowledged: int
    alert_cursor: int
    def __init__(self, outbox_depth: _Optional[int] = ..., oldest_pending_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., receipts_held: _Optional[int] = ..., alerts_held: _Optional[int] = ..., last_receipt_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reports_refused: _Optional[int] = ..., last_receipt_report_id: _Optional[str] = ..., last_receipt_log_index: _Optional[int] = ..., recent_failures: _Optional[_Iterable[_Union[DeliveryFailure, _Mapping]]] = ..., alerts_unacknowledged: _Optional[int] = ..., alert_cursor: _Optional[int] = ...) -> None: ...
