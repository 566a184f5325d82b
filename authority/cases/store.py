"""Writing cases to SQL: the linker's decisions, and analysts' merges and splits.

Rules this module enforces:

* every write first locks ``nm_case_state`` (``SELECT … FOR UPDATE`` on PostgreSQL; on
  SQLite the transaction already holds the write lock from ``BEGIN IMMEDIATE``) and bumps
  its ``generation``: writers are serialised across replicas, and anyone holding cases
  in memory can tell that they are stale;
* a batch of link decisions is written only if the generation is still the one the
  linker's memory was loaded at (:class:`StaleCasesError` otherwise: the caller reloads
  and links the batch again) — so an analyst's merge or split that landed meanwhile is
  never overwritten;
* analysts' merges and splits are decided by ``dedup.CaseStore`` (the same rules the
  linker obeys: a split records a cannot-link, a merge a must-link, a later decision
  lifts an earlier contrary one) over the rows read here, and the outcome is written
  back: lifted decisions get ``superseded_at``, never deleted;
* a case's row is never deleted: a merged-away case is marked ``merged``.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from authority.cases.tables import (
    MERGED,
    OPEN,
    CaseLinkRow,
    CaseMemberRow,
    CaseRow,
    CaseStateRow,
    CaseVectorRow,
    HumanDecisionRow,
)
from authority.records import ReportRecord
from dedup import CaseStore, HumanDecision, LinkDecision
from nearmiss.errors import ConflictError, NotFoundError, PreconditionError

DEDUP_ACTOR = "dedup"


class StaleCasesError(ConflictError):
    """Cases changed in SQL since the linker loaded them; reload and link again."""


def new_public_id() -> str:
    """A case's public name: random, so it reveals neither report ids nor case counts."""
    return "c-" + secrets.token_hex(8)


# -- the state row -----------------------------------------------------------------------


def read_generation(session: Session) -> int:
    row = session.get(CaseStateRow, 1)
    return 0 if row is None else int(row.generation)


def lock_state(session: Session) -> CaseStateRow:
    """The state row, locked for this transaction (created on first use)."""
    row = session.exec(
        select(CaseStateRow).where(CaseStateRow.state_id == 1).with_for_update()
    ).first()
    if row is None:
        row = CaseStateRow(state_id=1, generation=0)
        session.add(row)
        session.flush()
    return row


# -- reading what the linker needs -------------------------------------------------------


def assignments(session: Session) -> dict[str, int]:
    rows = session.exec(select(CaseMemberRow.report_id, CaseMemberRow.case_id)).all()
    return {report_id: int(case_id) for report_id, case_id in rows}


def next_case_id(session: Session) -> int:
    highest = session.exec(select(func.max(CaseRow.case_id))).one()
    return int(highest or 0) + 1


def active_decisions(session: Session) -> list[tuple[HumanDecisionRow, HumanDecision]]:
    rows = session.exec(
        select(HumanDecisionRow)
        .where(col(HumanDecisionRow.superseded_at).is_(None))
        .order_by(col(HumanDecisionRow.decision_id))
    ).all()
    return [(row, decision_of(row)) for row in rows]


def decision_of(row: HumanDecisionRow) -> HumanDecision:
    return HumanDecision(
        kind=row.kind,
        left=frozenset(json.loads(row.left_reports)),
        right=frozenset(json.loads(row.right_reports)),
        by=row.decided_by,
        at=row.decided_at,
        reason=row.reason,
    )


def load_case_store(session: Session, only: Mapping[str, int] | None = None) -> CaseStore:
    """A ``CaseStore`` as SQL has it (``only``: just these assignments, for one operation)."""
    placed = assignments(session) if only is None else only
    return CaseStore.restore(
        placed, [d for _, d in active_decisions(session)], next_id=next_case_id(session)
    )


# -- the linker's decisions --------------------------------------------------------------


@dataclass(frozen=True)
class BatchOutcome:
    """What one batch changed: the open cases touched, and which report touched each last."""

    generation: int
    changed: dict[int, str]  # case id -> the last report of the batch that joined it
    created: frozenset[int]
    merged_away: frozenset[int]


def write_link_decisions(
    session: Session,
    decisions: Sequence[LinkDecision],
    *,
    vectors: Mapping[str, bytes],
    model_id: str,
    expected_generation: int,
    now: datetime,
) -> BatchOutcome:
    """Store one batch's decisions, memberships, evidence and vectors; mark them linked."""
    state = lock_state(session)
    if state.generation != expected_generation:
        raise StaleCasesError(
            f"cases changed meanwhile (generation {state.generation}, "
            f"linker at {expected_generation}); reloading"
        )
    changed: dict[int, str] = {}
    created: set[int] = set()
    merged_away: set[int] = set()
    for decision in decisions:
        target = decision.case_id
        if decision.new_case:
            session.add(
                CaseRow(case_id=target, public_id=new_public_id(), status=OPEN,
                        created_at=now, updated_at=now, created_by=DEDUP_ACTOR)
            )
            created.add(target)
        for gone in decision.merged_case_ids:
            _merge_rows(session, keep=target, gone=gone, by=DEDUP_ACTOR, now=now)
            merged_away.add(gone)
            changed.pop(gone, None)
        session.add(
            CaseMemberRow(
                report_id=decision.item_id, case_id=target, joined_at=now,
                blocked_case_ids=" ".join(str(c) for c in decision.blocked_case_ids),
            )
        )
        for evidence in decision.evidence:
            session.add(
                CaseLinkRow(
                    report_id=decision.item_id, matched_report_id=evidence.matched_item_id,
                    case_id=target, method=evidence.method, score=float(evidence.score),
                    evidence=json.dumps(evidence.as_dict(), sort_keys=True), linked_at=now,
                )
            )
        session.add(
            CaseVectorRow(
                report_id=decision.item_id, model_id=model_id, vector=vectors[decision.item_id]
            )
        )
        changed[target] = decision.item_id
        session.flush()
    _touch(session, changed, now)
    session.execute(
        update(ReportRecord)
        .where(col(ReportRecord.report_id).in_([d.item_id for d in decisions]))
        .values(linked_at=now)
    )
    state.generation += 1
    session.add(state)
    session.flush()
    return BatchOutcome(state.generation, changed, frozenset(created), frozenset(merged_away))


def _merge_rows(session: Session, *, keep: int, gone: int, by: str, now: datetime) -> None:
    session.execute(
        update(CaseMemberRow).where(col(CaseMemberRow.case_id) == gone).values(case_id=keep)
    )
    row = session.get(CaseRow, gone)
    if row is None:
        raise NotFoundError(f"no case {gone} to merge into case {keep}")
    row.status, row.merged_into, row.merged_at, row.merged_by = MERGED, keep, now, by
    row.updated_at = now
    session.add(row)


def _touch(session: Session, case_ids: Iterable[int], now: datetime) -> None:
    ids = list(case_ids)
    if ids:
        session.execute(
            update(CaseRow).where(col(CaseRow.case_id).in_(ids)).values(updated_at=now)
        )


# -- analysts ----------------------------------------------------------------------------


def open_case(session: Session, case_id: int) -> CaseRow:
    row = session.get(CaseRow, case_id)
    if row is None:
        raise NotFoundError(f"no case {case_id}")
    if row.status != OPEN:
        raise PreconditionError(f"case {case_id} was merged into case {row.merged_into}")
    return row


def members_of(session: Session, case_id: int) -> list[str]:
    return list(
        session.exec(
            select(CaseMemberRow.report_id)
            .where(CaseMemberRow.case_id == case_id)
            .order_by(col(CaseMemberRow.report_id))
        ).all()
    )


def merge_cases(
    session: Session, case_id: int, other_case_id: int, *, by: str, reason: str, now: datetime
) -> tuple[int, int]:
    """An analyst merges two open cases; returns (kept, merged away): the lower id stays."""
    lock_state(session)
    if case_id == other_case_id:
        raise PreconditionError(f"case {case_id} cannot be merged with itself")
    open_case(session, case_id)
    open_case(session, other_case_id)
    placed = {r: case_id for r in members_of(session, case_id)}
    placed.update({r: other_case_id for r in members_of(session, other_case_id)})
    before = active_decisions(session)
    store = CaseStore.restore(placed, [d for _, d in before], next_id=next_case_id(session))
    keep = store.merge_by_human(case_id, other_case_id, by=by, reason=reason)
    gone = other_case_id if keep == case_id else case_id
    _record_decisions(session, before, store, case_id=keep, other_case_id=gone, now=now)
    _merge_rows(session, keep=keep, gone=gone, by=by, now=now)
    _touch(session, [keep], now)
    _bump(session)
    return keep, gone


def split_case(
    session: Session,
    case_id: int,
    report_ids: Iterable[str],
    *,
    by: str,
    reason: str,
    now: datetime,
) -> int:
    """An analyst moves reports out of a case into a new one; returns the new case id."""
    lock_state(session)
    open_case(session, case_id)
    placed = {r: case_id for r in members_of(session, case_id)}
    before = active_decisions(session)
    store = CaseStore.restore(placed, [d for _, d in before], next_id=next_case_id(session))
    moving = sorted(set(report_ids))
    new_id = store.split_by_human(case_id, moving, by=by, reason=reason)
    _record_decisions(session, before, store, case_id=case_id, other_case_id=new_id, now=now)
    session.add(
        CaseRow(case_id=new_id, public_id=new_public_id(), status=OPEN,
                created_at=now, updated_at=now, created_by=by)
    )
    session.flush()
    session.execute(
        update(CaseMemberRow)
        .where(col(CaseMemberRow.report_id).in_(moving))
        .values(case_id=new_id)
    )
    _touch(session, [case_id], now)
    _bump(session)
    return new_id


def _record_decisions(
    session: Session,
    before: list[tuple[HumanDecisionRow, HumanDecision]],
    store: CaseStore,
    *,
    case_id: int,
    other_case_id: int,
    now: datetime,
) -> None:
    """Write what ``store`` decided: lifted decisions superseded, the new one added."""
    after = store.decisions
    for row, decision in before:
        if decision not in after:
            row.superseded_at = now
            session.add(row)
    new = after[-1]
    session.add(
        HumanDecisionRow(
            kind=new.kind,
            left_reports=json.dumps(sorted(new.left)),
            right_reports=json.dumps(sorted(new.right)),
            case_id=case_id,
            other_case_id=other_case_id,
            decided_by=new.by,
            decided_at=now,
            reason=new.reason,
        )
    )


def _bump(session: Session) -> None:
    state = lock_state(session)
    state.generation += 1
    session.add(state)
    session.flush()
