"""Reading and writing disclosure versions.

Rules: :func:`publish` only ever inserts (the next version of a case), and only when
the content changed since the case's latest version; a concurrent writer that took the
same version number wins and this call reports nothing published. Readers see the
latest version of each case; withdrawn cases drop out of lists but keep their history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, literal
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from authority.disclosure.document import (
    PublishedDisclosure,
    content_digest,
    versioned,
)
from authority.disclosure.tables import DisclosureRow
from nearmiss.signing import SigningKey
from policies.disclosure import DisclosureDecision
from policies.transforms import iso_week

# Period filter values and how many weeks back each reaches.
PERIODS: dict[str, int] = {"4w": 4, "13w": 13, "52w": 52}


@dataclass(frozen=True)
class DisclosureFilters:
    harm_domain: str = ""
    severity: str = ""
    kind: str = ""
    period: str = ""
    limit: int = 100
    offset: int = 0


def _padded(column: Any) -> Any:
    return literal(" ").concat(column).concat(" ")


def latest_version(session: Session, case_id: str) -> DisclosureRow | None:
    return session.exec(
        select(DisclosureRow)
        .where(DisclosureRow.case_id == case_id)
        .order_by(col(DisclosureRow.version).desc())
        .limit(1)
    ).first()


def publish(
    session: Session,
    *,
    case_id: str,
    document: dict[str, Any],
    decision: DisclosureDecision,
    key: SigningKey,
    now: datetime,
) -> DisclosureRow | None:
    """Insert the next version if ``document`` says something new; commit it."""
    digest = content_digest(document)
    latest = latest_version(session, case_id)
    if latest is not None and latest.content_digest == digest:
        return None
    if latest is None and document.get("withdrawn"):
        return None
    version = 1 if latest is None else latest.version + 1
    now = now.replace(microsecond=0)  # whole seconds in public timestamps
    full = versioned(document, version=version, published_at=now)
    signed = PublishedDisclosure.sign(full, key)
    row = DisclosureRow(
        case_id=case_id,
        version=version,
        published_at=now,
        withdrawn=bool(document.get("withdrawn")),
        harm_domains=" ".join(document.get("harm_domains", [])),
        kinds=" ".join(document.get("kinds", [])),
        severity_band=str(document.get("severity", "")),
        occurred_week=str(document.get("occurred_week", "")),
        content_digest=digest,
        payload=signed.payload,
        signature=signed.signature,
        signing_key_id=signed.signing_key_id,
        rule_id=decision.rule_id,
        pack_hash=decision.pack_hash,
    )
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        # Another writer published this version first; its row stands.
        session.rollback()
        return None
    return row


def _latest_ids() -> Any:
    return (
        select(DisclosureRow.case_id, func.max(DisclosureRow.version).label("version"))
        .group_by(col(DisclosureRow.case_id))
        .subquery()
    )


def latest_disclosures(
    session: Session, filters: DisclosureFilters | None = None, *, now: datetime | None = None
) -> list[DisclosureRow]:
    """Latest version of every disclosed (not withdrawn) case, newest first."""
    filters = filters or DisclosureFilters()
    latest = _latest_ids()
    query = (
        select(DisclosureRow)
        .join(
            latest,
            (col(DisclosureRow.case_id) == latest.c.case_id)
            & (col(DisclosureRow.version) == latest.c.version),
        )
        .where(col(DisclosureRow.withdrawn).is_(False))
    )
    if filters.harm_domain:
        query = query.where(
            _padded(col(DisclosureRow.harm_domains)).like(f"% {filters.harm_domain} %")
        )
    if filters.kind:
        query = query.where(_padded(col(DisclosureRow.kinds)).like(f"% {filters.kind} %"))
    if filters.severity:
        query = query.where(DisclosureRow.severity_band == filters.severity)
    if filters.period in PERIODS:
        since = iso_week((now or datetime.now(UTC)) - timedelta(weeks=PERIODS[filters.period]))
        query = query.where(col(DisclosureRow.occurred_week) >= since)
    elif filters.period.isdigit() and len(filters.period) == 4:
        query = query.where(col(DisclosureRow.occurred_week).startswith(f"{filters.period}-W"))
    query = (
        query.order_by(col(DisclosureRow.published_at).desc(), col(DisclosureRow.case_id))
        .offset(max(filters.offset, 0))
        .limit(max(min(filters.limit, 1000), 1))
    )
    return list(session.exec(query).all())


def case_versions(session: Session, case_id: str) -> list[DisclosureRow]:
    """Every version of one case, newest first (empty when never disclosed)."""
    return list(
        session.exec(
            select(DisclosureRow)
            .where(DisclosureRow.case_id == case_id)
            .order_by(col(DisclosureRow.version).desc())
        ).all()
    )


def count_disclosed(session: Session) -> int:
    latest = _latest_ids()
    query = (
        select(func.count())
        .select_from(DisclosureRow)
        .join(
            latest,
            (col(DisclosureRow.case_id) == latest.c.case_id)
            & (col(DisclosureRow.version) == latest.c.version),
        )
        .where(col(DisclosureRow.withdrawn).is_(False))
    )
    return int(session.exec(query).one())


def published(row: DisclosureRow) -> PublishedDisclosure:
    return PublishedDisclosure(bytes(row.payload), bytes(row.signature), row.signing_key_id)
