"""Disclosure tables: published versions, the decision audit trail, approvals.

Rules: ``nm_disclosure`` rows are never updated or deleted — a change is a new row
with the next ``version`` (unique per case, so two writers cannot both publish version
n). ``payload`` is the exact canonical JSON the ``signature`` covers; the other columns
are copies for filtering. ``nm_disclosure_decision`` keeps one row each time a case's
outcome, deciding rule or pack hash changes (the audit trail). ``nm_disclosure_approval``
binds a person's decision to the exact set of reports it was given for
(``reports_digest``); nothing in these tables holds report text that is not public.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel


class DisclosureRow(SQLModel, table=True):
    __tablename__ = "nm_disclosure"
    __table_args__ = (UniqueConstraint("case_id", "version", name="uq_nm_disclosure_version"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(index=True, max_length=80)
    version: int
    published_at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False, index=True)
    )
    withdrawn: bool = False
    # Filter copies of the signed document (space-separated names).
    harm_domains: str = Field(max_length=400)
    kinds: str = Field(max_length=40)
    severity_band: str = Field(max_length=16)
    occurred_week: str = Field(max_length=10, index=True)
    # SHA-256 over the document without its version fields: equal means nothing new.
    content_digest: str = Field(max_length=64)
    payload: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    signature: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    signing_key_id: str = Field(max_length=64)
    rule_id: str = Field(max_length=63)
    pack_hash: str = Field(max_length=64)


class DisclosureDecisionRow(SQLModel, table=True):
    __tablename__ = "nm_disclosure_decision"

    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(index=True, max_length=80)
    decided_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    outcome: str = Field(max_length=20)
    rule_id: str = Field(max_length=63)
    pack_hash: str = Field(max_length=64)
    trail: str = Field(max_length=1000)
    not_before: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    reports_digest: str = Field(max_length=64)


class ApprovalRow(SQLModel, table=True):
    __tablename__ = "nm_disclosure_approval"
    __table_args__ = (
        UniqueConstraint("case_id", "reports_digest", name="uq_nm_disclosure_approval"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(index=True, max_length=80)
    reports_digest: str = Field(max_length=64)
    requested_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    rule_id: str = Field(max_length=63)
    pack_hash: str = Field(max_length=64)
    # PENDING, APPROVED or REJECTED.
    status: str = Field(default="PENDING", max_length=10, index=True)
    decided_by: str = Field(default="", max_length=100)
    decided_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    note: str = Field(default="", max_length=1000)
