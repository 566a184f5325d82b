import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ReportKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REPORT_KIND_UNSPECIFIED: _ClassVar[ReportKind]
    REPORT_KIND_INCIDENT: _ClassVar[ReportKind]
    REPORT_KIND_NEAR_MISS: _ClassVar[ReportKind]

class DetectionMethod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DETECTION_METHOD_UNSPECIFIED: _ClassVar[DetectionMethod]
    DETECTION_METHOD_SAFEGUARD: _ClassVar[DetectionMethod]
    DETECTION_METHOD_RED_TEAM: _ClassVar[DetectionMethod]
    DETECTION_METHOD_MONITORING: _ClassVar[DetectionMethod]
    DETECTION_METHOD_USER_REPORT: _ClassVar[DetectionMethod]
    DETECTION_METHOD_EXTERNAL: _ClassVar[DetectionMethod]
    DETECTION_METHOD_OTHER: _ClassVar[DetectionMethod]

class HarmDomain(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    HARM_DOMAIN_UNSPECIFIED: _ClassVar[HarmDomain]
    HARM_DOMAIN_CHILD_SAFETY: _ClassVar[HarmDomain]
    HARM_DOMAIN_CYBER: _ClassVar[HarmDomain]
    HARM_DOMAIN_BIO_CHEM: _ClassVar[HarmDomain]
    HARM_DOMAIN_RADIO_NUCLEAR: _ClassVar[HarmDomain]
    HARM_DOMAIN_MANIPULATION_FRAUD: _ClassVar[HarmDomain]
    HARM_DOMAIN_PRIVACY: _ClassVar[HarmDomain]
    HARM_DOMAIN_MISALIGNMENT_LOSS_OF_CONTROL: _ClassVar[HarmDomain]
    HARM_DOMAIN_CONCERNING_REASONING: _ClassVar[HarmDomain]
    HARM_DOMAIN_UNEXPECTED_CAPABILITY: _ClassVar[HarmDomain]
    HARM_DOMAIN_CRITICAL_INFRASTRUCTURE: _ClassVar[HarmDomain]
    HARM_DOMAIN_YOUTH_WELLBEING: _ClassVar[HarmDomain]
    HARM_DOMAIN_OTHER: _ClassVar[HarmDomain]

class SensitivityScope(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SENSITIVITY_SCOPE_UNSPECIFIED: _ClassVar[SensitivityScope]
    SENSITIVITY_SCOPE_PUBLIC: _ClassVar[SensitivityScope]
    SENSITIVITY_SCOPE_SHAREABLE: _ClassVar[SensitivityScope]
    SENSITIVITY_SCOPE_AUTHORITY_ONLY: _ClassVar[SensitivityScope]
    SENSITIVITY_SCOPE_LAB_ONLY: _ClassVar[SensitivityScope]

class IndicatorType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INDICATOR_TYPE_UNSPECIFIED: _ClassVar[IndicatorType]
    INDICATOR_TYPE_PROMPT_SHA256: _ClassVar[IndicatorType]
    INDICATOR_TYPE_ARTEFACT_SHA256: _ClassVar[IndicatorType]
    INDICATOR_TYPE_ACCOUNT_ID_HASH: _ClassVar[IndicatorType]
    INDICATOR_TYPE_DOMAIN: _ClassVar[IndicatorType]
    INDICATOR_TYPE_IP_ADDRESS: _ClassVar[IndicatorType]
    INDICATOR_TYPE_ATLAS_TECHNIQUE: _ClassVar[IndicatorType]
REPORT_KIND_UNSPECIFIED: ReportKind
REPORT_KIND_INCIDENT: ReportKind
REPORT_KIND_NEAR_MISS: ReportKind
DETECTION_METHOD_UNSPECIFIED: DetectionMethod
DETECTION_METHOD_SAFEGUARD: DetectionMethod
DETECTION_METHOD_RED_TEAM: DetectionMethod
DETECTION_METHOD_MONITORING: DetectionMethod
DETECTION_METHOD_USER_REPORT: DetectionMethod
DETECTION_METHOD_EXTERNAL: DetectionMethod
DETECTION_METHOD_OTHER: DetectionMethod
HARM_DOMAIN_UNSPECIFIED: HarmDomain
HARM_DOMAIN_CHILD_SAFETY: HarmDomain
HARM_DOMAIN_CYBER: HarmDomain
HARM_DOMAIN_BIO_CHEM: HarmDomain
HARM_DOMAIN_RADIO_NUCLEAR: HarmDomain
HARM_DOMAIN_MANIPULATION_FRAUD: HarmDomain
HARM_DOMAIN_PRIVACY: HarmDomain
HARM_DOMAIN_MISALIGNMENT_LOSS_OF_CONTROL: HarmDomain
HARM_DOMAIN_CONCERNING_REASONING: HarmDomain
HARM_DOMAIN_UNEXPECTED_CAPABILITY: HarmDomain
HARM_DOMAIN_CRITICAL_INFRASTRUCTURE: HarmDomain
HARM_DOMAIN_YOUTH_WELLBEING: HarmDomain
HARM_DOMAIN_OTHER: HarmDomain
SENSITIVITY_SCOPE_UNSPECIFIED: SensitivityScope
SENSITIVITY_SCOPE_PUBLIC: SensitivityScope
SENSITIVITY_SCOPE_SHAREABLE: SensitivityScope
SENSITIVITY_SCOPE_AUTHORITY_ONLY: SensitivityScope
SENSITIVITY_SCOPE_LAB_ONLY: SensitivityScope
INDICATOR_TYPE_UNSPECIFIED: IndicatorType
INDICATOR_TYPE_PROMPT_SHA256: IndicatorType
INDICATOR_TYPE_ARTEFACT_SHA256: IndicatorType
INDICATOR_TYPE_ACCOUNT_ID_HASH: IndicatorType
INDICATOR_TYPE_DOMAIN: IndicatorType
INDICATOR_TYPE_IP_ADDRESS: IndicatorType
INDICATOR_TYPE_ATLAS_TECHNIQUE: IndicatorType

class AffectedSystem(_message.Message):
    __slots__ = ("model_family", "model_version", "deployment_surface")
    MODEL_FAMILY_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENT_SURFACE_FIELD_NUMBER: _ClassVar[int]
    model_family: str
    model_version: str
    deployment_surface: str
    def __init__(self, model_family: _Optional[str] = ..., model_version: _Optional[str] = ..., deployment_surface: _Optional[str] = ...) -> None: ...

class Indicator(_message.Message):
    __slots__ = ("type", "value")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    type: IndicatorType
    value: str
    def __init__(self, type: _Optional[_Union[IndicatorType, str]] = ..., value: _Optional[str] = ...) -> None: ...

class ReportSection(_message.Message):
    __slots__ = ("scope", "heading", "text")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    HEADING_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    scope: SensitivityScope
    heading: str
    text: str
    def __init__(self, scope: _Optional[_Union[SensitivityScope, str]] = ..., heading: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class AttachmentReference(_message.Message):
    __slots__ = ("sha256", "media_type", "size_bytes", "description")
    SHA256_FIELD_NUMBER: _ClassVar[int]
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    sha256: str
    media_type: str
    size_bytes: int
    description: str
    def __init__(self, sha256: _Optional[str] = ..., media_type: _Optional[str] = ..., size_bytes: _Optional[int] = ..., description: _Optional[str] = ...) -> None: ...

class IncidentReport(_message.Message):
    __slots__ = ("report_id", "lab_id", "kind", "title", "summary", "detection", "harm_domains", "severity", "occurred_at", "detected_at", "reported_at", "system", "safeguards_involved", "mitigations", "indicators", "sections", "attachments", "schema_version")
    REPORT_ID_FIELD_NUMBER: _ClassVar[int]
    LAB_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    DETECTION_FIELD_NUMBER: _ClassVar[int]
    HARM_DOMAINS_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    DETECTED_AT_FIELD_NUMBER: _ClassVar[int]
    REPORTED_AT_FIELD_NUMBER: _ClassVar[int]
    SYSTEM_FIELD_NUMBER: _ClassVar[int]
    SAFEGUARDS_INVOLVED_FIELD_NUMBER: _ClassVar[int]
    MITIGATIONS_FIELD_NUMBER: _ClassVar[int]
    INDICATORS_FIELD_NUMBER: _ClassVar[int]
    SECTIONS_FIELD_NUMBER: _ClassVar[int]
    ATTACHMENTS_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_VERSION_FIELD_NUMBER: _ClassVar[int]
    report_id: str
    lab_id: str
    kind: ReportKind
    title: str
    summary: str
    detection: DetectionMethod
    harm_domains: _containers.RepeatedScalarFieldContainer[HarmDomain]
    severity: int
    occurred_at: _timestamp_pb2.Timestamp
    detected_at: _timestamp_pb2.Timestamp
    reported_at: _timestamp_pb2.Timestamp
    system: AffectedSystem
    safeguards_involved: _containers.RepeatedScalarFieldContainer[str]
    mitigations: _containers.RepeatedScalarFieldContainer[str]
    indicators: _containers.RepeatedCompositeFieldContainer[Indicator]
    sections: _containers.RepeatedCompositeFieldContainer[ReportSection]
    attachments: _containers.RepeatedCompositeFieldContainer[AttachmentReference]
    schema_version: int
    def __init__(self, report_id: _Optional[str] = ..., lab_id: _Optional[str] = ..., kind: _Optional[_Union[ReportKind, str]] = ..., title: _Optional[str] = ..., summary: _Optional[str] = ..., detection: _Optional[_Union[DetectionMethod, str]] = ..., harm_domains: _Optional[_Iterable[_Union[HarmDomain, str]]] = ..., severity: _Optional[int] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., detected_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reported_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., system: _Optional[_Union[AffectedSystem, _Mapping]] = ..., safeguards_involved: _Optional[_Iterable[str]] = ..., mitigations: _Optional[_Iterable[str]] = ..., indicators: _Optional[_Iterable[_Union[Indicator, _Mapping]]] = ..., sections: _Optional[_Iterable[_Union[ReportSection, _Mapping]]] = ..., attachments: _Optional[_Iterable[_Union[AttachmentReference, _Mapping]]] = ..., schema_version: _Optional[int] = ...) -> None: ...

class SignedReport(_message.Message):
    __slots__ = ("canonical_report", "signature", "signing_key_id")
    CANONICAL_REPORT_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    SIGNING_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    canonical_report: bytes
    signature: bytes
    signing_key_id: str
    def __init__(self, canonical_report: _Optional[bytes] = ..., signature: _Optional[bytes] = ..., signing_key_id: _Optional[str] = ...) -> None: ...
