"""Per-recipient delivery: dense monotonic cursors, and waking whoever waits for them.

Rules:

* ``deliver`` allocates the recipient's next cursor by incrementing its counter row
  first. On PostgreSQL that row stays locked until the caller commits; on SQLite the
  write lock does the same. So cursors of one recipient commit in order, and a
  subscriber that has seen cursor *n* can never later find a committed *m < n*.
* A recipient gets an alert at most once per escalation tier; delivering it again is a
  no-op that returns None.
* ``Notifier`` is how writers wake subscribers and senders at once instead of letting
  them poll: writers call ``notify_after_commit(session)`` and waiters are woken when
  (and only when) the transaction commits, so a woken reader always finds the rows.
  Polling remains only as the fallback for writers in another process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import event, insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.expression import Executable
from sqlmodel import Session, col, select

from authority.alerts.tables import AlertCursor, AlertDelivery


class Notifier:
    """A version counter under a condition variable: cheap to signal, cheap to wait on."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._version = 0
        self._listeners: list[Callable[[], None]] = []

    @property
    def version(self) -> int:
        with self._condition:
            return self._version

    def add_listener(self, listener: Callable[[], None]) -> None:
        """Also call ``listener`` (e.g. ``Event.set``) on every notification."""
        with self._condition:
            self._listeners.append(listener)

    def notify(self) -> None:
        with self._condition:
            self._version += 1
            listeners = list(self._listeners)
            self._condition.notify_all()
        for listener in listeners:
            listener()

    def wait(self, seen_version: int, timeout: float) -> int:
        """Block until the version moves past ``seen_version`` or ``timeout`` passes."""
        with self._condition:
            self._condition.wait_for(lambda: self._version != seen_version, timeout)
            return self._version

    def notify_after_commit(self, session: Session) -> None:
        def fire(_session: object) -> None:
            self.notify()

        if not event.contains(session, "after_commit", fire):
            event.listen(session, "after_commit", fire, once=True)


def next_cursor(session: Session, recipient: str) -> int:
    """Increment and return the recipient's cursor counter (locks its row to commit)."""
    bind = session.get_bind()
    table = AlertCursor.__table__  # type: ignore[attr-defined]
    bump = {"last_cursor": table.c.last_cursor + 1}
    if bind.dialect.name == "postgresql":
        statement: Executable = (
            postgresql.insert(table)
            .values(recipient=recipient, last_cursor=1)
            .on_conflict_do_update(index_elements=[table.c.recipient], set_=bump)
            .returning(table.c.last_cursor)
        )
    else:  # SQLite, the other supported database
        statement = (
            sqlite.insert(table)
            .values(recipient=recipient, last_cursor=1)
            .on_conflict_do_update(index_elements=[table.c.recipient], set_=bump)
            .returning(table.c.last_cursor)
        )
    cursor = session.execute(statement).scalar_one()
    return int(cursor)


def deliver(
    session: Session,
    *,
    recipient: str,
    alert_id: str,
    payload: bytes,
    now: datetime,
    escalation_tier: int = 0,
) -> int | None:
    """Queue one alert for one recipient; returns its cursor, or None if already queued."""
    exists = session.exec(
        select(AlertDelivery.id).where(
            AlertDelivery.recipient == recipient,
            AlertDelivery.alert_id == alert_id,
            AlertDelivery.escalation_tier == escalation_tier,
        )
    ).first()
    if exists is not None:
        return None
    cursor = next_cursor(session, recipient)
    session.execute(
        insert(AlertDelivery).values(
            recipient=recipient,
            cursor=cursor,
            alert_id=alert_id,
            escalation_tier=escalation_tier,
            payload=payload,
            created_at=now,
        )
    )
    return cursor


def deliveries_after(
    session: Session, recipient: str, after_cursor: int, limit: int
) -> list[AlertDelivery]:
    return list(
        session.exec(
            select(AlertDelivery)
            .where(AlertDelivery.recipient == recipient, col(AlertDelivery.cursor) > after_cursor)
            .order_by(col(AlertDelivery.cursor))
            .limit(limit)
        )
    )


def mark_sent(session: Session, recipient: str, cursors: list[int], now: datetime) -> None:
    if not cursors:
        return
    session.execute(
        update(AlertDelivery)
        .where(
            col(AlertDelivery.recipient) == recipient,
            col(AlertDelivery.cursor).in_(cursors),
            col(AlertDelivery.first_sent_at).is_(None),
        )
        .values(first_sent_at=now)
    )
