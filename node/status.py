"""What ``nearmiss node status`` and ``NodeService.GetNodeStatus`` report.

Rules: the figures come from one read snapshot of the node database, so they agree
with each other; failures are shown with their reason (authority messages never carry
report text) and never with report content.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from nearmiss.v1 import node_pb2
from node.store import NodeStore


@dataclass(frozen=True)
class Failure:
    report_id: str | None
    at: float
    reason: str


@dataclass(frozen=True)
class NodeStatusSnapshot:
    outbox_depth: int
    oldest_pending_at: float | None
    oldest_pending_id: str | None
    delivered: int
    refused: int
    receipts_held: int
    last_receipt_at: float | None
    last_receipt_report_id: str | None
    last_receipt_log_index: int | None
    bad_receipts: int
    alerts_held: int
    alerts_unacknowledged: int
    alert_cursor: int
    recent_failures: list[Failure] = field(default_factory=list)


def _int(value: Any) -> int:
    return 0 if value is None else int(value)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def read_status(store: NodeStore, *, failures: int = 5) -> NodeStatusSnapshot:
    with store.read() as db:
        counts = dict(db.all("SELECT state, COUNT(*) FROM reports GROUP BY state"))
        oldest = db.one(
            "SELECT report_id, queued_at FROM reports WHERE state = 'pending' "
            "ORDER BY queued_at LIMIT 1"
        )
        last = db.one(
            "SELECT report_id, verified_at, log_index FROM receipts "
            "ORDER BY verified_at DESC, log_index DESC LIMIT 1"
        )
        recent = db.all(
            "SELECT report_id, at, reason FROM failures ORDER BY id DESC LIMIT ?", (failures,)
        )
        return NodeStatusSnapshot(
            outbox_depth=_int(counts.get("pending")),
            oldest_pending_at=_float(oldest[1]) if oldest else None,
            oldest_pending_id=str(oldest[0]) if oldest else None,
            delivered=_int(counts.get("delivered")),
            refused=_int(counts.get("refused")),
            receipts_held=_int(db.scalar("SELECT COUNT(*) FROM receipts")),
            last_receipt_at=_float(last[1]) if last else None,
            last_receipt_report_id=str(last[0]) if last else None,
            last_receipt_log_index=_int(last[2]) if last else None,
            bad_receipts=_int(db.scalar("SELECT COUNT(*) FROM bad_receipts")),
            alerts_held=_int(db.scalar("SELECT COUNT(*) FROM alerts")),
            alerts_unacknowledged=_int(
                db.scalar("SELECT COUNT(*) FROM alerts WHERE acknowledged_at IS NULL")
            ),
            alert_cursor=_int(db.scalar("SELECT MAX(cursor) FROM alerts")),
            recent_failures=[
                Failure(None if r[0] is None else str(r[0]), float(r[1]), str(r[2]))
                for r in recent
            ],
        )


def _timestamp(seconds: float) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(datetime.fromtimestamp(seconds, UTC))
    return stamp


def to_proto(snapshot: NodeStatusSnapshot) -> node_pb2.NodeStatus:
    message = node_pb2.NodeStatus(
        outbox_depth=snapshot.outbox_depth,
        receipts_held=snapshot.receipts_held,
        alerts_held=snapshot.alerts_held,
        reports_refused=snapshot.refused,
        last_receipt_report_id=snapshot.last_receipt_report_id or "",
        last_receipt_log_index=snapshot.last_receipt_log_index or 0,
        alerts_unacknowledged=snapshot.alerts_unacknowledged,
        alert_cursor=snapshot.alert_cursor,
    )
    if snapshot.oldest_pending_at is not None:
        message.oldest_pending_at.CopyFrom(_timestamp(snapshot.oldest_pending_at))
    if snapshot.last_receipt_at is not None:
        message.last_receipt_at.CopyFrom(_timestamp(snapshot.last_receipt_at))
    for failure in snapshot.recent_failures:
        message.recent_failures.add(
            report_id=failure.report_id or "", at=_timestamp(failure.at), reason=failure.reason
        )
    return message


def _when(seconds: float | None, now: float) -> str:
    if seconds is None:
        return "—"
    stamp = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"{stamp} ({_age(now - seconds)} ago)"


def _age(seconds: float) -> str:
    seconds = max(0.0, seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def render(snapshot: NodeStatusSnapshot, *, lab_id: str, now: float) -> RenderableType:
    outbox = Table(title=f"node {lab_id}", show_header=False, title_justify="left")
    outbox.add_column("what", style="cyan")
    outbox.add_column("value")
    depth_style = "green" if snapshot.outbox_depth == 0 else "yellow"
    outbox.add_row("outbox depth (pending)", Text(str(snapshot.outbox_depth), style=depth_style))
    oldest = _when(snapshot.oldest_pending_at, now)
    if snapshot.oldest_pending_id:
        oldest += f"  {snapshot.oldest_pending_id}"
    outbox.add_row("oldest pending", oldest)
    outbox.add_row("delivered", str(snapshot.delivered))
    outbox.add_row(
        "refused (need a person)",
        Text(str(snapshot.refused), style="bold red" if snapshot.refused else ""),
    )
    outbox.add_row("receipts held (verified)", str(snapshot.receipts_held))
    last = _when(snapshot.last_receipt_at, now)
    if snapshot.last_receipt_report_id:
        last += f"  {snapshot.last_receipt_report_id} @ log index {snapshot.last_receipt_log_index}"
    outbox.add_row("last receipt", last)
    if snapshot.bad_receipts:
        outbox.add_row(
            "receipts that failed verification",
            Text(str(snapshot.bad_receipts), style="bold red"),
        )
    outbox.add_row(
        "alerts held (unacknowledged)",
        f"{snapshot.alerts_held} ({snapshot.alerts_unacknowledged})",
    )
    outbox.add_row("alert stream cursor", str(snapshot.alert_cursor))
    if not snapshot.recent_failures:
        return Group(outbox, Text("no recent delivery failures", style="green"))
    failures = Table(title="recent failures", title_justify="left")
    failures.add_column("when")
    failures.add_column("report")
    failures.add_column("reason", overflow="fold")
    for failure in snapshot.recent_failures:
        failures.add_row(_when(failure.at, now), failure.report_id or "(batch)", failure.reason)
    return Group(outbox, failures)
