"""Report model <-> wire messages, and the one canonical encoding that gets signed.

The canonical encoding of a report is the deterministic protobuf serialization of
``nearmiss.v1.IncidentReport`` (docs/adr/0001-canonical-encoding.md). The signature
covers those bytes exactly as sent, and the authority keeps them, so re-verification
never depends on re-encoding. Decoding refuses bytes that do not re-encode to
themselves: one report has exactly one accepted byte form, which keeps idempotency
("same id, same bytes") and signatures free of malleability.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum
from typing import Any

from google.protobuf import message as protobuf_message
from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import ValidationError

from nearmiss.errors import ReportInvalidError
from nearmiss.model import (
    DetectionMethod,
    HarmDomain,
    IncidentReport,
    IndicatorType,
    Limits,
    ReportKind,
    SensitivityScope,
)
from nearmiss.v1 import report_pb2 as pb


def _enum_to_wire(enum_name: str, value: str) -> int:
    return int(getattr(pb, f"{enum_name}_{value}"))


class _WireEnum:
    """A wire enum's numbers mapped to our enum's members, built once at import: decoding
    runs for every report the authority is sent, and a dict lookup is what it costs."""

    def __init__(self, enum_cls: type[Enum], proto_enum: Any, prefix: str) -> None:
        self.unspecified = int(proto_enum.Value(f"{prefix}_UNSPECIFIED"))
        self.members: dict[int, Enum] = {
            number: enum_cls(name.removeprefix(prefix + "_"))
            for name, number in proto_enum.items()
            if number != self.unspecified
        }

    def decode(self, number: int, field: str) -> Enum:
        member = self.members.get(number)
        if member is not None:
            return member
        if number == self.unspecified:
            raise ReportInvalidError("is missing (UNSPECIFIED)", field=field)
        raise ReportInvalidError(f"unknown value {number}", field=field)


_KIND = _WireEnum(ReportKind, pb.ReportKind, "REPORT_KIND")
_DETECTION = _WireEnum(DetectionMethod, pb.DetectionMethod, "DETECTION_METHOD")
_HARM_DOMAIN = _WireEnum(HarmDomain, pb.HarmDomain, "HARM_DOMAIN")
_INDICATOR_TYPE = _WireEnum(IndicatorType, pb.IndicatorType, "INDICATOR_TYPE")
_SCOPE = _WireEnum(SensitivityScope, pb.SensitivityScope, "SENSITIVITY_SCOPE")


def _timestamp(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(value.astimezone(UTC))
    return stamp


def _datetime(message: pb.IncidentReport, name: str) -> datetime | None:
    if not message.HasField(name):
        return None
    stamp: Timestamp = getattr(message, name)
    return stamp.ToDatetime(tzinfo=UTC)


def report_to_proto(report: IncidentReport) -> pb.IncidentReport:
    message = pb.IncidentReport(
        report_id=report.report_id,
        lab_id=report.lab_id,
        kind=_enum_to_wire("REPORT_KIND", report.kind.value),  # type: ignore[arg-type]
        title=report.title,
        summary=report.summary,
        detection=_enum_to_wire("DETECTION_METHOD", report.detection.value),  # type: ignore[arg-type]
        harm_domains=[_enum_to_wire("HARM_DOMAIN", d.value) for d in report.harm_domains],  # type: ignore[misc]
        severity=report.severity,
        system=pb.AffectedSystem(
            model_family=report.system.model_family,
            model_version=report.system.model_version,
            deployment_surface=report.system.deployment_surface,
        ),
        safeguards_involved=report.safeguards_involved,
        mitigations=report.mitigations,
        indicators=[
            pb.Indicator(type=_enum_to_wire("INDICATOR_TYPE", i.type.value), value=i.value)  # type: ignore[arg-type]
            for i in report.indicators
        ],
        sections=[
            pb.ReportSection(
                scope=_enum_to_wire("SENSITIVITY_SCOPE", s.scope.value),  # type: ignore[arg-type]
                heading=s.heading,
                text=s.text,
            )
            for s in report.sections
        ],
        attachments=[
            pb.AttachmentReference(
                sha256=a.sha256,
                media_type=a.media_type,
                size_bytes=a.size_bytes,
                description=a.description,
            )
            for a in report.attachments
        ],
        schema_version=report.schema_version,
    )
    for name in ("occurred_at", "detected_at", "reported_at"):
        stamp = _timestamp(getattr(report, name))
        if stamp is not None:
            getattr(message, name).CopyFrom(stamp)
    return message


def report_from_proto(message: pb.IncidentReport) -> IncidentReport:
    """Validate a wire message with the same rules as a report file.

    The nested parts go in as plain mappings and are validated in one pass with the
    report, so an error names its whole path (``indicators[2].value``), as it does for a
    report file."""
    from nearmiss.reportfile import validation_problems  # local: avoids an import cycle

    data = {
        "report_id": message.report_id,
        "lab_id": message.lab_id,
        "kind": _KIND.decode(message.kind, "kind"),
        "title": message.title,
        "summary": message.summary,
        "detection": _DETECTION.decode(message.detection, "detection"),
        "harm_domains": [
            _HARM_DOMAIN.decode(d, f"harm_domains[{n}]")
            for n, d in enumerate(message.harm_domains)
        ],
        "severity": message.severity,
        "occurred_at": _datetime(message, "occurred_at"),
        "detected_at": _datetime(message, "detected_at"),
        "reported_at": _datetime(message, "reported_at"),
        "system": {
            "model_family": message.system.model_family,
            "model_version": message.system.model_version,
            "deployment_surface": message.system.deployment_surface,
        },
        "safeguards_involved": list(message.safeguards_involved),
        "mitigations": list(message.mitigations),
        "indicators": [
            {"type": _INDICATOR_TYPE.decode(i.type, f"indicators[{n}].type"), "value": i.value}
            for n, i in enumerate(message.indicators)
        ],
        "sections": [
            {
                "scope": _SCOPE.decode(s.scope, f"sections[{n}].scope"),
                "heading": s.heading,
                "text": s.text,
            }
            for n, s in enumerate(message.sections)
        ],
        "attachments": [
            {
                "sha256": a.sha256,
                "media_type": a.media_type,
                "size_bytes": a.size_bytes,
                "description": a.description,
            }
            for a in message.attachments
        ],
        "schema_version": message.schema_version,
    }
    try:
        return IncidentReport.model_validate(data)
    except ValidationError as error:
        raise ReportInvalidError.from_problems(validation_problems(error)) from None


def canonical_bytes(report: IncidentReport) -> bytes:
    encoded = report_to_proto(report).SerializeToString(deterministic=True)
    if len(encoded) > Limits.CANONICAL_BYTES:
        raise ReportInvalidError(
            f"the encoded report is {len(encoded)} bytes; the limit is {Limits.CANONICAL_BYTES}"
        )
    return encoded


def report_from_canonical(data: bytes) -> IncidentReport:
    """Decode and validate canonical bytes; refuse any other byte form of a report."""
    if len(data) > Limits.CANONICAL_BYTES:
        raise ReportInvalidError(
            f"the encoded report is {len(data)} bytes; the limit is {Limits.CANONICAL_BYTES}",
            field="canonical_report",
        )
    message = pb.IncidentReport()
    try:
        message.ParseFromString(data)
    except (protobuf_message.DecodeError, ValueError, RuntimeError):
        raise ReportInvalidError(
            "is not a valid IncidentReport protobuf encoding", field="canonical_report"
        ) from None
    message.DiscardUnknownFields()
    if message.SerializeToString(deterministic=True) != data:
        raise ReportInvalidError(
            "is not in canonical form (deterministic protobuf, no unknown fields)",
            field="canonical_report",
        )
    return report_from_proto(message)
