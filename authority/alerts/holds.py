"""Releasing held alert copies: when a delay has passed, or when a person approves.

When an alert is raised, a recipient whose safe-harbor decision is DELAY or
NEEDS_APPROVAL gets an ``nm_alert_hold`` row instead of a copy. This module delivers
those copies later.

Rules:

* A hold is released at most once. Its release is one ``nm_alert_hold_release`` row
  (unique per hold), written in the transaction that delivers. Releasing locks the hold
  row first (``SELECT … FOR UPDATE`` on PostgreSQL; on SQLite ``BEGIN IMMEDIATE``
  serialises writers) and only then looks for a release, so two replicas, or the job
  and a person, racing on one hold release it once. Deliveries (unique per recipient,
  alert and tier) and outbox rows (unique per peer and item) are idempotent as well.
* The copy is rendered exactly as ``AlertService._fan_out`` renders it, from the
  safe-harbor decision of the pack in force *at release time* for the recipient's
  destination class: a party of this authority gets a delivery under its next cursor, a
  federation peer gets an outbox row (sent with the trigger's log entry as provenance).
* ``release_due(now)`` releases DELAY holds whose ``not_before`` has passed and whose
  decision is now SHARE. If the pack in force now still holds the copy (a longer delay,
  or an approval), nothing changes and nothing is recorded; the job looks again on its
  next run, and an approval hold can then be approved.
* ``approve_hold`` is a person's release of an approval hold: the decision is taken with
  ``approved=True``, which satisfies approval holds but never a delay and never widens
  the destination's field rules, so an approved copy still lacks every field the pack
  withholds from that class. Approving a hold that is still delayed, or one already
  released, is refused with the reason.
* A hold whose recipient is no longer a party here (or a peer no longer configured)
  stays held; the job logs it. Logs and errors name ids and rules, never report text.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from authority.alerts.delivery import deliver
from authority.alerts.render import AlertFacts, payload_bytes, render_shared
from authority.alerts.routing import DESTINATION, Audience, Directory
from authority.alerts.service import AlertService
from authority.alerts.snapshot import as_utc
from authority.alerts.tables import AlertHold, AlertHoldRelease, AlertRecord
from authority.database import session_scope
from authority.records import ReportRecord
from nearmiss.canonical import report_from_canonical
from nearmiss.errors import NotFoundError, PreconditionError
from nearmiss.model import HarmDomain
from policies.safe_harbor import Destination, ShareOutcome, SharingDecision

logger = logging.getLogger("nearmiss.alerts")

PEER_PREFIX = "peer:"
CAUSE_DELAY = "delay elapsed"
CAUSE_APPROVED = "approved"
RELEASE_BATCH = 500
MAX_REASON = 1000
MAX_APPROVER = 200
MAX_TRAIL = 1000


def facts_of(record: AlertRecord) -> AlertFacts:
    """The facts every copy of a stored alert shares, as they were when it was raised."""
    return AlertFacts(
        alert_id=record.alert_id,
        case_id=record.case_id,
        raised_at=as_utc(record.raised_at),
        severity=record.severity,
        harm_domains=tuple(HarmDomain(name) for name in record.harm_domains.split()),
        rule_id=record.rule_id,
        policy_pack_hash=record.policy_pack_hash,
        origin_authority=record.origin_authority,
        reporting_lab_count=record.reporting_lab_count,
    )


@dataclass(frozen=True)
class _Target:
    """Where a held copy goes: a party of this authority, or a federation peer."""

    party_id: str
    audience: Audience
    destination: Destination


def _target(service: AlertService, directory: Directory, recipient: str) -> _Target | None:
    if recipient.startswith(PEER_PREFIX):
        peer_id = recipient.removeprefix(PEER_PREFIX)
        sink = service.peer_sink
        if sink is None or peer_id not in sink.peer_ids():
            return None
        return _Target(peer_id, Audience.PEER, Destination.PEER_INSTITUTE)
    audience = directory.audience_of(recipient)
    destination = DESTINATION[audience] if audience is not None else None
    if audience is None or destination is None:
        return None
    return _Target(recipient, audience, destination)


@dataclass(frozen=True)
class _Held:
    """A locked, unreleased hold with what it takes to decide about it again."""

    hold: AlertHold
    record: AlertRecord
    report_row: ReportRecord
    target: _Target

    def decide(self, service: AlertService, now: datetime, *, approved: bool) -> SharingDecision:
        report = report_from_canonical(self.report_row.canonical_report)
        return service.policies.current().safe_harbor.share(
            report,
            self.target.destination,
            received_at=as_utc(self.report_row.received_at),
            now=now,
            approved=approved,
        )


def _lock(session: Session, hold_id: int) -> AlertHold | None:
    """The hold row, locked to the end of the transaction (PostgreSQL; SQLite ignores
    FOR UPDATE and serialises writers with BEGIN IMMEDIATE instead)."""
    return session.exec(select(AlertHold).where(AlertHold.id == hold_id).with_for_update()).first()


def _release_of(session: Session, hold_id: int) -> AlertHoldRelease | None:
    return session.exec(
        select(AlertHoldRelease).where(AlertHoldRelease.hold_id == hold_id)
    ).first()


def _load(
    session: Session, service: AlertService, directory: Directory, hold: AlertHold
) -> _Held | None:
    """The hold with its alert, trigger report and target; None (logged) when it cannot
    be released here at all."""
    record = session.get(AlertRecord, hold.alert_id)
    report_row = (
        session.get(ReportRecord, record.trigger_report_id)
        if record is not None and record.trigger_report_id is not None
        else None
    )
    if record is None or report_row is None:
        logger.warning(
            "alert %s: the hold for %s cannot be released: its alert or trigger report "
            "is missing", hold.alert_id, hold.recipient,
        )
        return None
    target = _target(service, directory, hold.recipient)
    if target is None:
        logger.warning(
            "alert %s: the hold for %s stays held: it is not a party or peer that may "
            "receive alerts here", hold.alert_id, hold.recipient,
        )
        return None
    return _Held(hold, record, report_row, target)


def _deliver(
    session: Session,
    service: AlertService,
    held: _Held,
    decision: SharingDecision,
    now: datetime,
    *,
    cause: str,
    approved_by: str | None = None,
    reason: str | None = None,
) -> AlertHoldRelease:
    """Render the copy from ``decision`` (SHARE), send it, record the release."""
    if decision.outcome is not ShareOutcome.SHARE:  # a caller's bug, never a policy's
        raise PreconditionError(f"alert {held.hold.alert_id}: the decision is not SHARE")
    payload = payload_bytes(render_shared(facts_of(held.record), decision.view))
    cursor: int | None = None
    if held.target.audience is Audience.PEER:
        assert service.peer_sink is not None  # checked by _target
        assert held.record.trigger_log_index is not None
        assert held.record.trigger_leaf_hash is not None
        service.peer_sink.enqueue_alert(
            session,
            peer_id=held.target.party_id,
            alert_id=held.record.alert_id,
            payload=payload,
            log_index=held.record.trigger_log_index,
            leaf_hash=bytes(held.record.trigger_leaf_hash),
        )
    else:
        cursor = deliver(
            session,
            recipient=held.target.party_id,
            alert_id=held.record.alert_id,
            payload=payload,
            now=now,
        )
        service.notifier.notify_after_commit(session)
    assert held.hold.id is not None
    release = AlertHoldRelease(
        hold_id=held.hold.id,
        alert_id=held.hold.alert_id,
        recipient=held.hold.recipient,
        cause=cause,
        approved_by=approved_by,
        reason=reason,
        released_at=now,
        rule_id=decision.rule_id,
        rule_trail=" ".join(decision.provenance.trail)[:MAX_TRAIL],
        policy_pack_hash=decision.pack_hash,
        delivered_cursor=cursor,
    )
    session.add(release)
    session.flush()
    return release


# -- the job: delays that have passed ---------------------------------------------------


def release_due(
    service: AlertService, engine: Engine, now: datetime, *, limit: int = RELEASE_BATCH
) -> list[AlertHoldRelease]:
    """Release every DELAY hold due at ``now`` that the pack in force now lets pass.

    One transaction per hold, so one bad hold does not keep the others back.
    """
    released_ids = select(AlertHoldRelease.hold_id)
    with Session(engine) as session:
        due = list(
            session.exec(
                select(AlertHold.id)
                .where(
                    AlertHold.outcome == ShareOutcome.DELAY.value,
                    col(AlertHold.not_before) <= now,
                    col(AlertHold.id).not_in(released_ids),
                )
                .order_by(col(AlertHold.not_before), col(AlertHold.id))
                .limit(limit)
            )
        )
    directory = service.directory()
    made: list[AlertHoldRelease] = []
    for hold_id in due:
        if hold_id is None:
            continue
        try:
            with session_scope(engine) as session:
                release = _release_delay(session, service, directory, hold_id, now)
        except IntegrityError:
            logger.info("hold %d was released by another process at the same time", hold_id)
            continue
        if release is not None:
            made.append(release)
            logger.info(
                "alert %s: released the held copy for %s (delay elapsed, rule %s)",
                release.alert_id, release.recipient, release.rule_id,
            )
    return made


def _release_delay(
    session: Session, service: AlertService, directory: Directory, hold_id: int, now: datetime
) -> AlertHoldRelease | None:
    hold = _lock(session, hold_id)
    if hold is None or _release_of(session, hold_id) is not None:
        return None
    held = _load(session, service, directory, hold)
    if held is None:
        return None
    decision = held.decide(service, now, approved=False)
    if decision.outcome is not ShareOutcome.SHARE:
        return None  # still held under the pack in force now; looked at again next run
    return _deliver(session, service, held, decision, now, cause=CAUSE_DELAY)


# -- a person: approvals ----------------------------------------------------------------


def approve_hold(
    service: AlertService,
    engine: Engine,
    *,
    alert_id: str,
    recipient: str,
    approved_by: str,
    reason: str = "",
    now: datetime | None = None,
) -> AlertHoldRelease:
    """Release an approval hold because ``approved_by`` approved it; returns the record.

    ``alert_id`` may be a unique prefix (listings show the first 8 characters);
    ``recipient`` is a party id, or a peer's authority id (``peer:`` optional).
    """
    now = now or service.clock()
    approved_by = approved_by.strip()
    reason = reason.strip()
    if not approved_by:
        raise PreconditionError("an approval must name the person who gives it (--by)")
    if len(approved_by) > MAX_APPROVER:
        raise PreconditionError(f"--by is longer than {MAX_APPROVER} characters")
    if len(reason) > MAX_REASON:
        raise PreconditionError(f"--reason is longer than {MAX_REASON} characters")
    with session_scope(engine) as session:
        record = find_alert(session, alert_id)
        found = _find_hold(session, record.alert_id, recipient)
        assert found.id is not None
        hold = _lock(session, found.id)
        assert hold is not None and hold.id is not None
        where = f"the hold of alert {record.alert_id} for {hold.recipient}"
        previous = _release_of(session, hold.id)
        if previous is not None:
            by = f" by {previous.approved_by}" if previous.approved_by else ""
            raise PreconditionError(
                f"{where} was already released at {_stamp(previous.released_at)} "
                f"({previous.cause}{by}); nothing was sent again"
            )
        held = _load(session, service, service.directory(), hold)
        if held is None:
            raise PreconditionError(
                f"{where} cannot be released: {hold.recipient} is not a party or peer that "
                "may receive alerts here, or the alert's trigger report is missing"
            )
        unapproved = held.decide(service, now, approved=False)
        if unapproved.outcome is ShareOutcome.DELAY:
            assert unapproved.not_before is not None
            raise PreconditionError(
                f"{where} is a DELAY (rule {unapproved.rule_id}) until "
                f"{_stamp(unapproved.not_before)}, not an approval: it is released "
                "automatically when the delay has passed"
            )
        if (
            unapproved.outcome is ShareOutcome.SHARE
            and hold.outcome != ShareOutcome.NEEDS_APPROVAL.value
        ):
            raise PreconditionError(
                f"{where} is a DELAY (rule {hold.rule_id}) whose delay has passed, not an "
                "approval: the release job delivers it on its next run"
            )
        decision = held.decide(service, now, approved=True)
        release = _deliver(
            session,
            service,
            held,
            decision,
            now,
            cause=CAUSE_APPROVED,
            approved_by=approved_by,
            reason=reason or None,
        )
    logger.info(
        "alert %s: the held copy for %s was approved and released (rule %s)",
        release.alert_id, release.recipient, release.rule_id,
    )
    return release


def find_alert(session: Session, alert_id: str) -> AlertRecord:
    """The alert with this id, or the one alert whose id starts with it (8+ characters)."""
    alert_id = alert_id.strip().lower()
    record = session.get(AlertRecord, alert_id)
    if record is not None:
        return record
    if len(alert_id) >= 8:
        matches = list(
            session.exec(
                select(AlertRecord)
                .where(col(AlertRecord.alert_id).startswith(alert_id, autoescape=True))
                .limit(2)
            )
        )
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise NotFoundError(f"alert id prefix {alert_id} is ambiguous: give the full id")
    raise NotFoundError(f"no alert {alert_id} here (see `nearmiss authority alerts holds`)")


def _find_hold(session: Session, alert_id: str, recipient: str) -> AlertHold:
    holds = list(session.exec(select(AlertHold).where(AlertHold.alert_id == alert_id)))
    names = (recipient.strip(), PEER_PREFIX + recipient.strip())
    for name in names:
        for hold in holds:
            if hold.recipient == name:
                return hold
    if not holds:
        raise NotFoundError(f"alert {alert_id} has no held copies")
    listed = ", ".join(sorted(hold.recipient for hold in holds))
    raise NotFoundError(
        f"alert {alert_id} has no held copy for {recipient.strip()!r} (held for: {listed})"
    )


def _stamp(when: datetime) -> str:
    return as_utc(when).strftime("%Y-%m-%d %H:%M:%S UTC")


# -- listing ----------------------------------------------------------------------------


@dataclass(frozen=True)
class HoldRow:
    """One hold as ``nearmiss authority alerts holds`` shows it (ids, rules, times)."""

    alert_id: str
    recipient: str
    outcome: str
    rule_id: str
    policy_pack_hash: str
    not_before: datetime | None
    created_at: datetime
    age_seconds: float
    state: str
    released_at: datetime | None = None
    cause: str | None = None
    approved_by: str | None = None

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        for name in ("not_before", "created_at", "released_at"):
            value = data[name]
            data[name] = value.isoformat() if value is not None else None
        return data


STATE_DELAYED = "delayed"
STATE_DUE = "due"
STATE_NEEDS_APPROVAL = "needs approval"
STATE_RELEASED = "released"


def list_holds(
    session: Session, now: datetime, *, include_released: bool = False, limit: int = 200
) -> list[HoldRow]:
    """Holds, oldest first; only unreleased ones unless ``include_released``.

    ``state``: *delayed* (``not_before`` ahead), *due* (the delay has passed: the job
    releases it on its next run unless the pack in force now still holds it, in which
    case approve it), *needs approval*, or *released*.
    """
    query = (
        select(AlertHold, AlertHoldRelease)
        .join(
            AlertHoldRelease,
            col(AlertHoldRelease.hold_id) == col(AlertHold.id),
            isouter=True,
        )
        .order_by(col(AlertHold.created_at), col(AlertHold.id))
        .limit(limit)
    )
    if not include_released:
        query = query.where(col(AlertHoldRelease.id).is_(None))
    rows: list[HoldRow] = []
    for hold, release in session.exec(query):
        not_before = as_utc(hold.not_before) if hold.not_before is not None else None
        created = as_utc(hold.created_at)
        if release is not None:
            state = STATE_RELEASED
        elif hold.outcome == ShareOutcome.NEEDS_APPROVAL.value:
            state = STATE_NEEDS_APPROVAL
        elif not_before is not None and not_before > now:
            state = STATE_DELAYED
        else:
            state = STATE_DUE
        rows.append(
            HoldRow(
                alert_id=hold.alert_id,
                recipient=hold.recipient,
                outcome=hold.outcome,
                rule_id=hold.rule_id,
                policy_pack_hash=hold.policy_pack_hash,
                not_before=not_before,
                created_at=created,
                age_seconds=max(0.0, (now - created).total_seconds()),
                state=state,
                released_at=as_utc(release.released_at) if release is not None else None,
                cause=release.cause if release is not None else None,
                approved_by=release.approved_by if release is not None else None,
            )
        )
    return rows


def releases_of(session: Session, alert_id: str) -> Sequence[AlertHoldRelease]:
    """Every release of one alert's holds, oldest first (the audit trail)."""
    return list(
        session.exec(
            select(AlertHoldRelease)
            .where(AlertHoldRelease.alert_id == alert_id)
            .order_by(col(AlertHoldRelease.id))
        )
    )


__all__ = [
    "CAUSE_APPROVED",
    "CAUSE_DELAY",
    "HoldRow",
    "approve_hold",
    "facts_of",
    "find_alert",
    "list_holds",
    "release_due",
    "releases_of",
]
