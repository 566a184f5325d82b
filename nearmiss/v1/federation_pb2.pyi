import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from nearmiss.v1 import log_pb2 as _log_pb2
from nearmiss.v1 import report_pb2 as _report_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Provenance(_message.Message):
    __slots__ = ("origin_authority", "origin_key_id", "signature", "log_index", "leaf_hash", "tree_head", "inclusion_proof")
    ORIGIN_AUTHORITY_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    LOG_INDEX_FIELD_NUMBER: _ClassVar[int]
    LEAF_HASH_FIELD_NUMBER: _ClassVar[int]
    TREE_HEAD_FIELD_NUMBER: _ClassVar[int]
    INCLUSION_PROOF_FIELD_NUMBER: _ClassVar[int]
    origin_authority: str
    origin_key_id: str
    signature: bytes
    log_index: int
    leaf_hash: bytes
    tree_head: _log_pb2.SignedTreeHead
    inclusion_proof: _log_pb2.InclusionProof
    def __init__(self, origin_authority: _Optional[str] = ..., origin_key_id: _Optional[str] = ..., signature: _Optional[bytes] = ..., log_index: _Optional[int] = ..., leaf_hash: _Optional[bytes] = ..., tree_head: _Optional[_Union[_log_pb2.SignedTreeHead, _Mapping]] = ..., inclusion_proof: _Optional[_Union[_log_pb2.InclusionProof, _Mapping]] = ...) -> None: ...

class FederatedAlert(_message.Message):
    __slots__ = ("alert_payload", "provenance")
    ALERT_PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    PROVENANCE_FIELD_NUMBER: _ClassVar[int]
    alert_payload: bytes
    provenance: Provenance
    def __init__(self, alert_payload: _Optional[bytes] = ..., provenance: _Optional[_Union[Provenance, _Mapping]] = ...) -> None: ...

class FederatedAlertAck(_message.Message):
    __slots__ = ("alert_id", "accepted", "reason")
    ALERT_ID_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    alert_id: str
    accepted: bool
    reason: str
    def __init__(self, alert_id: _Optional[str] = ..., accepted: _Optional[bool] = ..., reason: _Optional[str] = ...) -> None: ...

class AggregateCell(_message.Message):
    __slots__ = ("harm_domain", "severity", "kind", "measure", "noisy_count")
    HARM_DOMAIN_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    MEASURE_FIELD_NUMBER: _ClassVar[int]
    NOISY_COUNT_FIELD_NUMBER: _ClassVar[int]
    harm_domain: _report_pb2.HarmDomain
    severity: int
    kind: _report_pb2.ReportKind
    measure: str
    noisy_count: float
    def __init__(self, harm_domain: _Optional[_Union[_report_pb2.HarmDomain, str]] = ..., severity: _Optional[int] = ..., kind: _Optional[_Union[_report_pb2.ReportKind, str]] = ..., measure: _Optional[str] = ..., noisy_count: _Optional[float] = ...) -> None: ...

class AggregateRelease(_message.Message):
    __slots__ = ("release_id", "origin_authority", "period_start", "period_end", "released_at", "cells", "mechanism", "epsilon", "delta", "noise_sigma", "contribution_cap")
    RELEASE_ID_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_AUTHORITY_FIELD_NUMBER: _ClassVar[int]
    PERIOD_START_FIELD_NUMBER: _ClassVar[int]
    PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    RELEASED_AT_FIELD_NUMBER: _ClassVar[int]
    CELLS_FIELD_NUMBER: _ClassVar[int]
    MECHANISM_FIELD_NUMBER: _ClassVar[int]
    EPSILON_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    NOISE_SIGMA_FIELD_NUMBER: _ClassVar[int]
    CONTRIBUTION_CAP_FIELD_NUMBER: _ClassVar[int]
    release_id: str
    origin_authority: str
    period_start: _timestamp_pb2.Timestamp
    period_end: _timestamp_pb2.Timestamp
    released_at: _timestamp_pb2.Timestamp
    cells: _containers.RepeatedCompositeFieldContainer[AggregateCell]
    mechanism: str
    epsilon: float
    delta: float
    noise_sigma: float
    contribution_cap: int
    def __init__(self, release_id: _Optional[str] = ..., origin_authority: _Optional[str] = ..., period_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., period_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., released_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., cells: _Optional[_Iterable[_Union[AggregateCell, _Mapping]]] = ..., mechanism: _Optional[str] = ..., epsilon: _Optional[float] = ..., delta: _Optional[float] = ..., noise_sigma: _Optional[float] = ..., contribution_cap: _Optional[int] = ...) -> None: ...

class PublishAggregateRequest(_message.Message):
    __slots__ = ("release_payload", "provenance")
    RELEASE_PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    PROVENANCE_FIELD_NUMBER: _ClassVar[int]
    release_payload: bytes
    provenance: Provenance
    def __init__(self, release_payload: _Optional[bytes] = ..., provenance: _Optional[_Union[Provenance, _Mapping]] = ...) -> None: ...

class PublishAggregateResponse(_message.Message):
    __slots__ = ("accepted", "reason")
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    accepted: bool
    reason: str
    def __init__(self, accepted: _Optional[bool] = ..., reason: _Optional[str] = ...) -> None: ...
