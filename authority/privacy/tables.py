"""SQL tables of the privacy ledger and of aggregate releases.

Rules: rows here are only ever inserted, never updated or deleted, by this package — a
ledger entry is spent budget, and a release is public and signed. The ledger's state after
a restart is exactly what these rows say (the accountants are rebuilt from them on every
check). ``nm_privacy_scope`` has one row per ledger scope, locked ``FOR UPDATE`` while a
release is charged so two authority processes cannot both spend the last of a budget
(SQLite serialises writers by itself).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel


class PrivacyScopeRow(SQLModel, table=True):
    __tablename__ = "nm_privacy_scope"

    scope: str = Field(primary_key=True, max_length=63)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class PrivacyLedgerRow(SQLModel, table=True):
    """One charged release. ``noise_multiplier`` = sigma / L2 sensitivity is what composes."""

    __tablename__ = "nm_privacy_ledger"
    __table_args__ = (UniqueConstraint("scope", "release_id"),)

    id: int | None = Field(default=None, primary_key=True)
    scope: str = Field(index=True, max_length=63)
    period: str = Field(index=True, max_length=63)
    release_id: str = Field(max_length=64)
    mechanism: str = Field(max_length=32)
    # What the release was calibrated to, alone.
    epsilon: float
    delta: float
    sigma: float
    sensitivity: float
    noise_multiplier: float
    # What the accountants said after adding it, at the ledger's delta.
    period_epsilon_after: float
    lifetime_epsilon_after: float
    accountant: str = Field(max_length=16)
    charged_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class AggregateReleaseRow(SQLModel, table=True):
    """A signed release. ``payload`` is the deterministic protobuf the signature covers."""

    __tablename__ = "nm_privacy_release"

    release_id: str = Field(primary_key=True, max_length=64)
    scope: str = Field(index=True, max_length=63)
    period: str = Field(index=True, max_length=63)
    period_start: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    period_end: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    released_at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False, index=True)
    )
    origin_authority: str = Field(max_length=255)
    mechanism: str = Field(max_length=32)
    epsilon: float
    delta: float
    noise_sigma: float
    contribution_cap: int
    lab_cap: int
    sensitivity: float
    payload: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    signature: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    signing_key_id: str = Field(max_length=64)
