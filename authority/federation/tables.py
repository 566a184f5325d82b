"""SQL tables of federation (prefix ``nm_federation_``).

Rules:

* ``nm_federation_outbox`` is the sending outbox: one row per (peer, kind, item),
  written in the transaction that created the item, removed from the backlog only when
  the peer acknowledged it (``delivered_at``) or refused it (``rejected_at`` with the
  peer's reason). A peer that is down just accumulates rows; nothing is lost.
* ``nm_federation_peer`` holds what the operator sees per peer (last contact, counts,
  last error) and the last tree head seen from it: a second head for the same size with
  another root is proof of a forked log and is refused.
* ``nm_federation_aggregate`` holds peers' aggregate releases as received and verified
  (one row per release id); ``nm_federation_drop`` records every refused incoming item
  (peer, id, reason — never content).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, DateTime, Integer, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

_BIG_ID = BigInteger().with_variant(Integer(), "sqlite")
KIND_ALERT = "alert"
KIND_AGGREGATE = "aggregate"


def _when(*, nullable: bool = True, index: bool = False) -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=nullable, index=index)


class OutboxItem(SQLModel, table=True):
    __tablename__ = "nm_federation_outbox"
    __table_args__ = (UniqueConstraint("peer_id", "kind", "item_id"),)

    id: int | None = Field(default=None, sa_column=Column(_BIG_ID, primary_key=True))
    peer_id: str = Field(index=True, max_length=63)
    kind: str = Field(max_length=16)
    item_id: str = Field(max_length=64)
    payload: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    # Alerts: the log entry that is their provenance (signed when sent).
    log_index: int | None = Field(default=None, sa_type=BigInteger)
    leaf_hash: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    # Aggregates: signed at release time by their origin.
    signature: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    signing_key_id: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(sa_column=_when(nullable=False))
    attempts: int = 0
    delivered_at: datetime | None = Field(default=None, sa_column=_when(index=True))
    rejected_at: datetime | None = Field(default=None, sa_column=_when())
    reason: str = Field(default="", max_length=500)


class PeerState(SQLModel, table=True):
    __tablename__ = "nm_federation_peer"

    peer_id: str = Field(primary_key=True, max_length=63)
    last_contact_at: datetime | None = Field(default=None, sa_column=_when())
    last_sent_at: datetime | None = Field(default=None, sa_column=_when())
    last_received_at: datetime | None = Field(default=None, sa_column=_when())
    last_error: str = Field(default="", max_length=500)
    last_error_at: datetime | None = Field(default=None, sa_column=_when())
    delivered: int = Field(default=0, sa_type=BigInteger)
    rejected: int = Field(default=0, sa_type=BigInteger)
    received: int = Field(default=0, sa_type=BigInteger)
    dropped: int = Field(default=0, sa_type=BigInteger)
    last_head_size: int | None = Field(default=None, sa_type=BigInteger)
    last_head_root: bytes | None = Field(default=None, sa_column=Column(LargeBinary))


class ReceivedAggregate(SQLModel, table=True):
    __tablename__ = "nm_federation_aggregate"

    release_id: str = Field(primary_key=True, max_length=64)
    origin_authority: str = Field(index=True, max_length=63)
    payload: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    signature: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    signing_key_id: str = Field(max_length=64)
    received_at: datetime = Field(sa_column=_when(nullable=False))


class DroppedItem(SQLModel, table=True):
    __tablename__ = "nm_federation_drop"

    id: int | None = Field(default=None, sa_column=Column(_BIG_ID, primary_key=True))
    peer_id: str = Field(index=True, max_length=63)
    kind: str = Field(max_length=16)
    item_id: str = Field(max_length=64)
    reason: str = Field(max_length=500)
    dropped_at: datetime = Field(sa_column=_when(nullable=False))
