"""SQL tables of incident cases (prefix ``nm_case``): the truth the linker is rebuilt from.

Rules:

* ``nm_case`` has one row per case id ever handed out. Ids are the linker's integers
  (``dedup.CaseStore``: increasing, never reused); a case merged into another keeps its
  row with ``status = "merged"`` and ``merged_into``, so the next id is always
  ``max(case_id) + 1``. ``public_id`` is random ("c-" and 16 hex digits): it is what
  alerts, disclosures and the dashboard show, so nothing outside the authority learns
  how many cases exist.
* ``nm_case_member`` places every linked report in exactly one open case (primary key
  ``report_id``). A report is linked exactly when its ``nm_report.linked_at`` is set, in
  the same transaction as its member row.
* ``nm_case_link`` keeps the evidence of every algorithmic link (which earlier report
  it matched, how, the scores, the shared indicators) as written at link time; rows
  are never updated, so an analyst sees why a link was made even after a split.
* ``nm_case_human_decision`` keeps every analyst merge (must-link) and split
  (cannot-link) with who, when and why. A later decision that lifts an earlier one
  sets ``superseded_at`` on it instead of deleting it (the trail stays complete);
  only rows without ``superseded_at`` bind the linker.
* ``nm_case_vector`` keeps each linked report's vector (float32 bytes) and the model
  that made it, so the index can be rebuilt from the database without the model.
* ``nm_case_state`` is one row (id 1) whose ``generation`` grows with every change to
  cases; writers lock it first, which serialises the linker and analysts across
  replicas, and a linker whose memory is older than the generation reloads.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Integer, LargeBinary, String, Text
from sqlmodel import Field, SQLModel

# Autoincrement ids must be INTEGER on SQLite (rowid alias) and may be BIGINT elsewhere.
_BIG_ID = BigInteger().with_variant(Integer(), "sqlite")

OPEN = "open"
MERGED = "merged"
MUST_LINK = "must_link"
CANNOT_LINK = "cannot_link"


def _when(*, nullable: bool = False, index: bool = False) -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=nullable, index=index)


class CaseRow(SQLModel, table=True):
    __tablename__ = "nm_case"

    case_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    public_id: str = Field(sa_column=Column(String(32), nullable=False, unique=True))
    status: str = Field(default=OPEN, max_length=16, index=True)
    created_at: datetime = Field(sa_column=_when())
    updated_at: datetime = Field(sa_column=_when(index=True))
    # "dedup" when the linker made the case, else the analyst who split it off.
    created_by: str = Field(max_length=63)
    merged_into: int | None = Field(default=None, sa_type=BigInteger)
    merged_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    merged_by: str | None = Field(default=None, max_length=63)


class CaseMemberRow(SQLModel, table=True):
    __tablename__ = "nm_case_member"

    report_id: str = Field(
        sa_column=Column(
            String(36), ForeignKey("nm_report.report_id", ondelete="CASCADE"), primary_key=True
        )
    )
    case_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    joined_at: datetime = Field(sa_column=_when())
    # Cases this report matched but could not join because an analyst split them apart
    # (space-separated case ids; empty when none).
    blocked_case_ids: str = Field(default="", max_length=400)


class CaseLinkRow(SQLModel, table=True):
    __tablename__ = "nm_case_link"

    link_id: int | None = Field(
        default=None, sa_column=Column(_BIG_ID, primary_key=True, autoincrement=True)
    )
    report_id: str = Field(max_length=36, index=True)
    matched_report_id: str = Field(max_length=36, index=True)
    # The case the report joined when the link was made.
    case_id: int = Field(sa_type=BigInteger)
    method: str = Field(max_length=16)
    score: float
    # LinkEvidence.as_dict() as JSON: scores, shared indicators, date gap.
    evidence: str = Field(sa_column=Column(Text, nullable=False))
    linked_at: datetime = Field(sa_column=_when())


class HumanDecisionRow(SQLModel, table=True):
    __tablename__ = "nm_case_human_decision"

    decision_id: int | None = Field(
        default=None, sa_column=Column(_BIG_ID, primary_key=True, autoincrement=True)
    )
    kind: str = Field(max_length=16)
    # The two sides, as JSON lists of report ids.
    left_reports: str = Field(sa_column=Column(Text, nullable=False))
    right_reports: str = Field(sa_column=Column(Text, nullable=False))
    # The case ids the analyst acted on (merge: kept, merged; split: from, new).
    case_id: int = Field(sa_type=BigInteger, index=True)
    other_case_id: int = Field(sa_type=BigInteger, index=True)
    decided_by: str = Field(max_length=63)
    decided_at: datetime = Field(sa_column=_when())
    reason: str = Field(sa_column=Column(Text, nullable=False))
    superseded_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))


class CaseVectorRow(SQLModel, table=True):
    __tablename__ = "nm_case_vector"

    report_id: str = Field(
        sa_column=Column(
            String(36), ForeignKey("nm_report.report_id", ondelete="CASCADE"), primary_key=True
        )
    )
    model_id: str = Field(max_length=200)
    vector: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class CaseStateRow(SQLModel, table=True):
    __tablename__ = "nm_case_state"

    state_id: int = Field(default=1, sa_column=Column(Integer, primary_key=True))
    generation: int = Field(default=0, sa_type=BigInteger)
