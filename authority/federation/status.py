"""What ``nearmiss authority peers`` shows: per configured peer, contact and backlog.

Rule: rows carry ids, counts, times and the last transport error — never item content.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from authority.alerts.snapshot import as_utc
from authority.federation.config import FederationConfig
from authority.federation.outbox import backlog
from authority.federation.tables import PeerState


@dataclass(frozen=True)
class PeerRow:
    peer_id: str
    address: str
    last_contact_at: datetime | None
    backlog: int
    delivered: int
    rejected: int
    received: int
    dropped: int
    last_error: str
    last_error_at: datetime | None

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        for name in ("last_contact_at", "last_error_at"):
            value = data[name]
            data[name] = value.isoformat() if value is not None else None
        return data


def peer_rows(session: Session, config: FederationConfig) -> list[PeerRow]:
    owed = backlog(session)
    rows = []
    for peer_id, peer in sorted(config.peers.items()):
        state = session.get(PeerState, peer_id) or PeerState(peer_id=peer_id)
        rows.append(
            PeerRow(
                peer_id=peer_id,
                address=peer.address,
                last_contact_at=_utc(state.last_contact_at),
                backlog=owed.get(peer_id, 0),
                delivered=state.delivered,
                rejected=state.rejected,
                received=state.received,
                dropped=state.dropped,
                last_error=state.last_error,
                last_error_at=_utc(state.last_error_at),
            )
        )
    return rows


def _utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else as_utc(moment)
