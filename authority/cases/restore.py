"""Bringing the linker's memory back after a restart, from SQL (and the snapshot).

Rules this module enforces:

* SQL is the truth: the reports restored are exactly those with a ``nm_case_member``
  row, in log order (their link order), with their cases and the analysts' active
  decisions, all read in one short transaction;
* each report's vector comes from ``nm_case_vector`` when the same model made it, else
  it is embedded again (outside any transaction) and stored, so the next restart finds
  it;
* the snapshot under ``data_dir`` (``dedup.save_linker``: the FAISS structure and its
  report order) only saves rebuilding the index; ``dedup.restore_linker`` uses it only
  when its model and report order match SQL's, so a missing, partial, unreadable or
  stale snapshot costs time, never correctness.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlmodel import Session, col, select

from authority.cases.items import items_from_records
from authority.cases.store import active_decisions, assignments, next_case_id, read_generation
from authority.cases.tables import CaseMemberRow, CaseVectorRow
from authority.records import ReportRecord
from dedup import CaseLinker, IndexConfig, LinkPolicy, TextEmbedder, embedding_text
from dedup import restore_linker as rebuild_linker
from dedup.embedder import Vectors


@dataclass(frozen=True)
class RestoreStats:
    reports: int
    from_database: int
    embedded: int


def database_vectors(session: Session, model_id: str) -> dict[str, Vectors]:
    rows = session.exec(
        select(CaseVectorRow.report_id, CaseVectorRow.vector).where(
            CaseVectorRow.model_id == model_id
        )
    ).all()
    return {r: np.frombuffer(bytes(v), dtype=np.float32) for r, v in rows}


def vector_bytes(vector: Vectors) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


def restore_linker(
    session_factory: Callable[[], Session],
    embedder: TextEmbedder,
    snapshot_dir: Path,
    *,
    policy: LinkPolicy | None = None,
    index_config: IndexConfig | None = None,
) -> tuple[CaseLinker, RestoreStats, int]:
    """A linker holding every linked report (see the module rules).

    Returns it, the counts, and the case generation its memory reflects.
    """
    with session_factory() as session:
        generation = read_generation(session)
        records = session.exec(
            select(ReportRecord)
            .join(CaseMemberRow, col(CaseMemberRow.report_id) == col(ReportRecord.report_id))
            .order_by(col(ReportRecord.log_index))
        ).all()
        placed = assignments(session)
        decisions = [d for _, d in active_decisions(session)]
        next_id = next_case_id(session)
        stored = database_vectors(session, embedder.model_id)
    items = items_from_records(records)
    missing = [i for i in items if i.item_id not in stored]
    if missing:
        fresh = embedder.embed([embedding_text(i) for i in missing])
        again = {i.item_id: v for i, v in zip(missing, fresh, strict=True)}
        _store_vectors(session_factory, again, embedder.model_id)
        stored.update(again)
    matrix = (
        np.stack([stored[i.item_id] for i in items]).astype(np.float32)
        if items
        else np.zeros((0, embedder.dim), dtype=np.float32)
    )
    linker = rebuild_linker(
        embedder,
        items,
        placed,
        vectors=matrix,
        decisions=decisions,
        snapshot=snapshot_dir if snapshot_dir.is_dir() else None,
        next_case_id=next_id,
        policy=policy,
        index_config=index_config,
    )
    stats = RestoreStats(len(items), len(items) - len(missing), len(missing))
    return linker, stats, generation


def _store_vectors(
    session_factory: Callable[[], Session], vectors: dict[str, Vectors], model_id: str
) -> None:
    """Keep re-embedded vectors, replacing ones another model made."""
    with session_factory() as session:
        for report_id, vector in vectors.items():
            row = session.get(CaseVectorRow, report_id)
            if row is None:
                row = CaseVectorRow(report_id=report_id, model_id=model_id, vector=b"")
            row.model_id, row.vector = model_id, vector_bytes(vector)
            session.add(row)
        session.commit()
