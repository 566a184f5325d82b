"""The alert inbox: alerts from the authority, kept in the node database.

Rules this module enforces:

- An alert is stored once, keyed by ``alert_id``: a repeat (after a reconnect) changes
  nothing, so the inbox holds no duplicates.
- The resume cursor is the highest cursor stored; because an alert is committed before
  the stream is read further, a reconnect from that cursor leaves no gap.
- Each stored alert carries the state of its local hooks (command, file), so a crash
  between storing and running them is finished at the next start (at least once).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nearmiss.errors import NotFoundError
from nearmiss.v1 import authority_pb2
from node.store import NodeStore

MAX_HOOK_ATTEMPTS = 5


@dataclass(frozen=True)
class StoredAlert:
    alert: authority_pb2.Alert
    received_at: float
    acknowledged_at: float | None
    hook_done: bool
    hook_error: str | None


def _alert(blob: Any) -> authority_pb2.Alert:
    alert = authority_pb2.Alert()
    alert.ParseFromString(bytes(blob))
    return alert


def _stored(row: tuple[Any, ...]) -> StoredAlert:
    blob, received_at, acknowledged_at, hook_done, hook_error = row
    return StoredAlert(
        alert=_alert(blob),
        received_at=float(received_at),
        acknowledged_at=None if acknowledged_at is None else float(acknowledged_at),
        hook_done=bool(hook_done),
        hook_error=None if hook_error is None else str(hook_error),
    )


_COLUMNS = "alert, received_at, acknowledged_at, hook_done, hook_error"


class AlertInbox:
    def __init__(self, store: NodeStore):
        self._store = store

    def cursor(self) -> int:
        """Resume the stream after this cursor (0: from the beginning)."""
        with self._store.read() as db:
            value = db.scalar("SELECT MAX(cursor) FROM alerts")
        return 0 if value is None else int(value)

    def store(self, alert: authority_pb2.Alert, *, now: float, hooks: bool) -> bool:
        """Keep an alert; False when it was already here. ``hooks`` says whether local
        hooks are configured (when not, the alert needs none)."""
        with self._store.write() as db:
            inserted = db.execute(
                "INSERT OR IGNORE INTO alerts (alert_id, cursor, alert, received_at, hook_done) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    alert.alert_id,
                    alert.cursor,
                    alert.SerializeToString(deterministic=True),
                    now,
                    0 if hooks else 1,
                ),
            ).rowcount
        return inserted == 1

    def recent(self, *, unacknowledged_only: bool = False, limit: int = 100) -> list[StoredAlert]:
        """Newest first."""
        where = "WHERE acknowledged_at IS NULL" if unacknowledged_only else ""
        with self._store.read() as db:
            rows = db.all(
                f"SELECT {_COLUMNS} FROM alerts {where} ORDER BY cursor DESC LIMIT ?", (limit,)
            )
        return [_stored(row) for row in rows]

    def get(self, alert_id: str) -> StoredAlert:
        with self._store.read() as db:
            row = db.one(f"SELECT {_COLUMNS} FROM alerts WHERE alert_id = ?", (alert_id,))
        if row is None:
            raise NotFoundError(f"no alert {alert_id} in this node's inbox")
        return _stored(row)

    def mark_acknowledged(self, alert_id: str, *, at: float) -> None:
        with self._store.write() as db:
            db.execute(
                "UPDATE alerts SET acknowledged_at = COALESCE(acknowledged_at, ?) "
                "WHERE alert_id = ?",
                (at, alert_id),
            )

    def pending_hooks(self) -> list[authority_pb2.Alert]:
        """Alerts whose hooks have not yet run successfully (and may still be retried)."""
        with self._store.read() as db:
            rows = db.all(
                "SELECT alert FROM alerts WHERE hook_done = 0 AND hook_attempts < ? "
                "ORDER BY cursor",
                (MAX_HOOK_ATTEMPTS,),
            )
        return [_alert(row[0]) for row in rows]

    def hook_finished(self, alert_id: str, error: str | None) -> None:
        with self._store.write() as db:
            db.execute(
                "UPDATE alerts SET hook_attempts = hook_attempts + 1, hook_done = ?, "
                "hook_error = ? WHERE alert_id = ?",
                (int(error is None), error, alert_id),
            )
