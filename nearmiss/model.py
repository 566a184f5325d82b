"""The report model: what a lab files, as Python types, with every rule a report must meet.

Rules enforced here (the authority applies the same ones to what arrives on the wire):

- unknown fields are refused; enum values use their short names ("NEAR_MISS");
- ``report_id`` is a UUID (the idempotency key); ``lab_id`` is a lowercase slug;
- ``severity`` is 1–5 (meanings in proto/nearmiss/v1/report.proto);
- at least one harm domain, none repeated;
- timestamps carry a timezone; ``detected_at`` is not before ``occurred_at``;
- indicator values match their type (hex SHA-256, DNS name, IP address, ATLAS id);
- free text has size limits (``LIMITS``) and no control characters but newline and tab.

The JSON Schema published for report files (``nearmiss schema``) is generated from this
model, so the schema and the checks cannot drift apart.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

SCHEMA_VERSION = 1


class Limits:
    """Size limits, chosen so one report stays well under the 4 MiB gRPC message cap."""

    TITLE_CHARS = 300
    SUMMARY_CHARS = 5_000
    SECTION_CHARS = 20_000
    SECTIONS = 50
    LIST_ITEMS = 100
    LIST_ITEM_CHARS = 500
    INDICATORS = 200
    ATTACHMENTS = 50
    SHORT_TEXT_CHARS = 200
    CANONICAL_BYTES = 512 * 1024


LIMITS = Limits


class ReportKind(StrEnum):
    INCIDENT = "INCIDENT"
    NEAR_MISS = "NEAR_MISS"


class DetectionMethod(StrEnum):
    SAFEGUARD = "SAFEGUARD"
    RED_TEAM = "RED_TEAM"
    MONITORING = "MONITORING"
    USER_REPORT = "USER_REPORT"
    EXTERNAL = "EXTERNAL"
    OTHER = "OTHER"


class HarmDomain(StrEnum):
    CHILD_SAFETY = "CHILD_SAFETY"
    CYBER = "CYBER"
    BIO_CHEM = "BIO_CHEM"
    RADIO_NUCLEAR = "RADIO_NUCLEAR"
    MANIPULATION_FRAUD = "MANIPULATION_FRAUD"
    PRIVACY = "PRIVACY"
    MISALIGNMENT_LOSS_OF_CONTROL = "MISALIGNMENT_LOSS_OF_CONTROL"
    CONCERNING_REASONING = "CONCERNING_REASONING"
    UNEXPECTED_CAPABILITY = "UNEXPECTED_CAPABILITY"
    CRITICAL_INFRASTRUCTURE = "CRITICAL_INFRASTRUCTURE"
    YOUTH_WELLBEING = "YOUTH_WELLBEING"
    OTHER = "OTHER"


class SensitivityScope(StrEnum):
    """Who may read a section, widest audience first."""

    PUBLIC = "PUBLIC"
    SHAREABLE = "SHAREABLE"
    AUTHORITY_ONLY = "AUTHORITY_ONLY"
    LAB_ONLY = "LAB_ONLY"


class IndicatorType(StrEnum):
    PROMPT_SHA256 = "PROMPT_SHA256"
    ARTEFACT_SHA256 = "ARTEFACT_SHA256"
    ACCOUNT_ID_HASH = "ACCOUNT_ID_HASH"
    DOMAIN = "DOMAIN"
    IP_ADDRESS = "IP_ADDRESS"
    ATLAS_TECHNIQUE = "ATLAS_TECHNIQUE"


_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_HEX_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_DNS_NAME = re.compile(r"^(?=.{1,253}$)(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))+$")
# MITRE ATLAS technique ids: AML.T0054, AML.T0051.000
_ATLAS_ID = re.compile(r"^AML\.T\d{4}(\.\d{3})?$")
LAB_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{1,62}$"


def _printable(text: str) -> str:
    if _CONTROL_CHARS.search(text):
        raise ValueError("contains control characters (only newline and tab are allowed)")
    return text


def _uuid(text: str) -> str:
    try:
        parsed = uuid.UUID(text)
    except ValueError:
        raise ValueError("must be a UUID such as 0193a7c2-7d30-7e5f-9b32-4c6d8e0f2a33") from None
    if str(parsed) != text:
        raise ValueError(f"must be a lowercase, hyphenated UUID (did you mean {parsed}?)")
    return text


ShortText = Annotated[str, Field(max_length=Limits.SHORT_TEXT_CHARS), AfterValidator(_printable)]
ListItem = Annotated[
    str, Field(min_length=1, max_length=Limits.LIST_ITEM_CHARS), AfterValidator(_printable)
]
DescriptionText = Annotated[
    str, Field(max_length=Limits.LIST_ITEM_CHARS), AfterValidator(_printable)
]
TitleText = Annotated[
    str, Field(min_length=1, max_length=Limits.TITLE_CHARS), AfterValidator(_printable)
]
SummaryText = Annotated[
    str, Field(min_length=1, max_length=Limits.SUMMARY_CHARS), AfterValidator(_printable)
]
SectionText = Annotated[
    str, Field(min_length=1, max_length=Limits.SECTION_CHARS), AfterValidator(_printable)
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)


class AffectedSystem(_Strict):
    model_family: ShortText = ""
    model_version: ShortText = ""
    deployment_surface: ShortText = Field(
        default="", description='Where it ran: "consumer chat", "API", "internal evaluation"'
    )


class Indicator(_Strict):
    type: IndicatorType
    value: str = Field(min_length=1, max_length=253)

    @model_validator(mode="before")
    @classmethod
    def _normalise(cls, data: Any) -> Any:
        """Accept ``sha256:<hex>`` and upper-case hex; store the bare lowercase form."""
        if isinstance(data, dict) and isinstance(data.get("value"), str):
            value = data["value"].strip()
            if str(data.get("type", "")).endswith(("SHA256", "HASH")):
                value = value.removeprefix("sha256:").lower()
            elif data.get("type") == "DOMAIN":
                value = value.lower().rstrip(".")
            data = {**data, "value": value}
        return data

    @model_validator(mode="after")
    def _value_matches_type(self) -> Indicator:
        value = self.value
        if self.type in (
            IndicatorType.PROMPT_SHA256,
            IndicatorType.ARTEFACT_SHA256,
            IndicatorType.ACCOUNT_ID_HASH,
        ):
            if not _HEX_SHA256.match(value):
                raise ValueError(f"a {self.type.value} indicator must be 64 lowercase hex digits")
        elif self.type is IndicatorType.DOMAIN:
            if not _DNS_NAME.match(value):
                raise ValueError("a DOMAIN indicator must be a lowercase DNS name like example.com")
        elif self.type is IndicatorType.IP_ADDRESS:
            try:
                ipaddress.ip_address(value)
            except ValueError:
                raise ValueError(
                    "an IP_ADDRESS indicator must be an IPv4 or IPv6 address"
                ) from None
        elif self.type is IndicatorType.ATLAS_TECHNIQUE and not _ATLAS_ID.match(value):
            raise ValueError(
                "an ATLAS_TECHNIQUE indicator must look like AML.T0054 or AML.T0051.000"
            )
        return self


class ReportSection(_Strict):
    scope: SensitivityScope
    heading: ShortText = ""
    text: SectionText


class AttachmentReference(_Strict):
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    media_type: ShortText = ""
    size_bytes: int = Field(default=0, ge=0)
    description: DescriptionText = ""


class IncidentReport(_Strict):
    """One incident or near-miss as a lab files it (see proto IncidentReport)."""

    report_id: Annotated[str, AfterValidator(_uuid)] = Field(
        description="UUID chosen by the lab; the idempotency key across retries"
    )
    lab_id: str = Field(pattern=LAB_ID_PATTERN, description="the filing lab's id")
    kind: ReportKind
    title: TitleText
    summary: SummaryText
    detection: DetectionMethod
    harm_domains: list[HarmDomain] = Field(min_length=1, max_length=len(HarmDomain))
    severity: int = Field(
        ge=1,
        le=5,
        description="1 negligible, 2 minor, 3 moderate, 4 severe, 5 critical",
    )
    occurred_at: AwareDatetime | None = None
    detected_at: AwareDatetime
    reported_at: AwareDatetime | None = Field(
        default=None, description="set by the node when it signs, if absent"
    )
    system: AffectedSystem = AffectedSystem()
    safeguards_involved: list[ListItem] = Field(default=[], max_length=Limits.LIST_ITEMS)
    mitigations: list[ListItem] = Field(default=[], max_length=Limits.LIST_ITEMS)
    indicators: list[Indicator] = Field(default=[], max_length=Limits.INDICATORS)
    sections: list[ReportSection] = Field(default=[], max_length=Limits.SECTIONS)
    attachments: list[AttachmentReference] = Field(default=[], max_length=Limits.ATTACHMENTS)
    schema_version: int = Field(default=SCHEMA_VERSION, ge=1, le=SCHEMA_VERSION)

    @field_validator("harm_domains")
    @classmethod
    def _no_repeated_domains(cls, domains: list[HarmDomain]) -> list[HarmDomain]:
        if len(set(domains)) != len(domains):
            raise ValueError("a harm domain is listed twice")
        return domains

    @model_validator(mode="after")
    def _timeline_in_order(self) -> IncidentReport:
        if self.occurred_at is not None and self.detected_at < self.occurred_at:
            raise ValueError("detected_at is before occurred_at")
        if self.reported_at is not None and self.reported_at < self.detected_at:
            raise ValueError("reported_at is before detected_at")
        return self

    def sections_in(self, *scopes: SensitivityScope) -> list[ReportSection]:
        return [section for section in self.sections if section.scope in scopes]

    @property
    def event_time(self) -> datetime:
        """When it happened as best the lab knows: occurred_at, else detected_at."""
        return self.occurred_at or self.detected_at
