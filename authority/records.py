"""Stored reports: the signed bytes exactly as received, plus columns for queries.

Rules: a row is written only after the signature and schema checked out, in the same
transaction as its transparency-log leaf; ``canonical_report`` and ``signature`` are never
changed afterwards (anyone can re-verify them). Query columns are derived from the
verified report at ingest and hold no free text beyond the title.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, LargeBinary
from sqlmodel import Field, SQLModel


class ReportRecord(SQLModel, table=True):
    __tablename__ = "nm_report"

    report_id: str = Field(primary_key=True, max_length=36)
    lab_id: str = Field(index=True, max_length=63)
    canonical_report: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    signature: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    signing_key_id: str = Field(max_length=64)
    leaf_hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False, unique=True))
    log_index: int = Field(index=True)
    received_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    kind: str = Field(max_length=16)
    severity: int
    # Space-separated harm domain names, e.g. "CYBER MANIPULATION_FRAUD".
    harm_domains: str = Field(max_length=400)
    occurred_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    detected_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    # Set when the dedup job has embedded and linked it (see authority.cases).
    linked_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True, index=True)
    )
