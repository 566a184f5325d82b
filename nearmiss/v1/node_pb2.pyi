import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from nearmiss.v1 import report_pb2 as _report_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class FileReportRequest(_message.Message):
    __slots__ = ("report",)
    REPORT_FIELD_NUMBER: _ClassVar[int]
    report: _report_pb2.IncidentReport
    def __init__(self, report: _Optional[_Union[_report_pb2.IncidentReport, _Mapping]] = ...) -> None: ...

class FileReportResponse(_message.Message):
    __slots__ = ("report_id", "already_queued", "redaction_counts")
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
    report_id: str
    already_queued: bool
    redaction_counts: _containers.ScalarMap[str, int]
    def __init__(self, report_id: _Optional[str] = ..., already_queued: _Optional[bool] = ..., redaction_counts: _Optional[_Mapping[str, int]] = ...) -> None: ...

class GetNodeStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class NodeStatus(_message.Message):
    __slots__ = ("outbox_depth", "oldest_pending_at", "receipts_held", "alerts_held", "last_receipt_at")
    OUTBOX_DEPTH_FIELD_NUMBER: _ClassVar[int]
    OLDEST_PENDING_AT_FIELD_NUMBER: _ClassVar[int]
    RECEIPTS_HELD_FIELD_NUMBER: _ClassVar[int]
    ALERTS_HELD_FIELD_NUMBER: _ClassVar[int]
    LAST_RECEIPT_AT_FIELD_NUMBER: _ClassVar[int]
    outbox_depth: int
    oldest_pending_at: _timestamp_pb2.Timestamp
    receipts_held: int
    alerts_held: int
    last_receipt_at: _timestamp_pb2.Timestamp
    def __init__(self, outbox_depth: _Optional[int] = ..., oldest_pending_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., receipts_held: _Optional[int] = ..., alerts_held: _Optional[int] = ..., last_receipt_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
