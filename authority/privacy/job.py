"""The scheduled release of differentially private aggregates, as an authority component.

Rules this module enforces:

* One release is: read the period's countable reports from SQL, then
  :func:`~authority.privacy.release.release_period` (bound, calibrate, charge the
  ledger, draw noise, sign, store — one transaction), then queue the signed release to
  every federation peer. A release is queued only after it committed.
* Queueing is idempotent, and every scheduled run queues every release of the ledger's
  scope again, so a crash between commit and queueing only delays it (and a peer added
  later receives the history).
* The scheduler releases a period at most once and never one that has not ended
  (:mod:`authority.privacy.schedule`); a person may release a period again by hand
  (``nearmiss authority release``), and the ledger decides whether that still fits.
* A refusal (over budget) is logged as a warning with the ledger's own message: period,
  limit, spend and requested epsilon. Nothing was written and no noise was drawn.
* Logs carry only public figures (period, release id, epsilon, delta, sigma, spend):
  exact report counts are not under the DP guarantee, so they are shown only to the
  operator who asks (``--dry-run``), never logged.
* opacus (and with it torch, 10-30 s to import) loads on the first composition, not when
  the authority starts; the release code itself is imported on first use.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from authority.app import AuthorityApp
from authority.database import session_scope
from authority.privacy.aggregates import CountableReport, Period, bounded_counts
from authority.privacy.config import PrivacyConfig
from authority.privacy.ledger import LedgerEntry, PrivacyBudgetExceededError
from authority.privacy.schedule import RUN_HOUR, RUN_MINUTE, check_ended, due_period
from authority.privacy.source import countable_reports
from authority.privacy.tables import AggregateReleaseRow
from nearmiss.signing import SigningContext, SigningKey

if TYPE_CHECKING:
    from authority.privacy.release import SignedRelease

logger = logging.getLogger("nearmiss.authority.privacy")

RELEASED = "released"
REFUSED = "refused"
ALREADY_RELEASED = "already-released"
DRY_RUN = "dry-run"


class AggregatePublisher(Protocol):
    """Queues a signed release for every peer (``FederationComponent`` is one)."""

    def publish_aggregate(self, signed: SignedRelease, session: Session | None = None) -> None: ...


@dataclass(frozen=True)
class ReleaseOutcome:
    period: Period
    status: str
    epsilon: float
    delta: float
    sigma: float
    release: SignedRelease | None = None
    refusal: str = ""
    queued_to_peers: bool = False
    # The ledger's composed spend with this release added (None when refused).
    period_spent: float | None = None
    lifetime_spent: float | None = None
    # Operator-only figures (dry runs): exact, so never logged or published.
    reports: int = 0
    labs: int = 0
    items_kept: int = 0
    items_dropped: int = 0


def releases_of(session: Session, *, scope: str, period: str) -> int:
    query = (
        select(func.count())
        .select_from(AggregateReleaseRow)
        .where(AggregateReleaseRow.scope == scope, AggregateReleaseRow.period == period)
    )
    return int(session.exec(query).one())


class ReleaseJob:
    """Releases periods for one authority; used by the scheduler and by the CLI."""

    def __init__(
        self,
        *,
        engine: Engine,
        config: PrivacyConfig,
        authority_id: str,
        signing_key: SigningKey,
        publisher: AggregatePublisher | None = None,
    ):
        self.engine = engine
        self.config = config
        self._authority_id = authority_id
        self._key = signing_key
        self._publisher = publisher

    def _sigma(self) -> float:
        from authority.privacy.aggregates import l2_sensitivity
        from authority.privacy.release import calibrate

        return calibrate(
            mechanism=self.config.mechanism,
            epsilon=self.config.epsilon_per_release,
            delta=self.config.delta,
            sensitivity=l2_sensitivity(self.config.bounds()),
        )

    def _outcome(self, period: Period, status: str) -> ReleaseOutcome:
        return ReleaseOutcome(
            period, status, self.config.epsilon_per_release, self.config.delta, self._sigma()
        )

    def run_due(self, *, now: datetime | None = None) -> ReleaseOutcome:
        """The scheduler's run: release the due period unless this ledger already has."""
        now = now or datetime.now(UTC)
        period = due_period(self.config.schedule, now)
        self.requeue()
        with Session(self.engine) as session:
            if releases_of(session, scope=self.config.scope, period=period.label):
                return self._outcome(period, ALREADY_RELEASED)
        outcome = self.release(period, now=now)
        if outcome.status == REFUSED:
            with Session(self.engine) as session:
                if releases_of(session, scope=self.config.scope, period=period.label):
                    logger.info("period %s was released by another replica", period.label)
                    return self._outcome(period, ALREADY_RELEASED)
        return outcome

    def release(
        self, period: Period, *, now: datetime | None = None, dry_run: bool = False
    ) -> ReleaseOutcome:
        """Release ``period`` now (or only show what would happen, with ``dry_run``)."""
        from authority.privacy.release import release_period

        now = now or datetime.now(UTC)
        check_ended(period, now)
        with Session(self.engine, expire_on_commit=False) as session:
            reports = countable_reports(session, period)
        if dry_run:
            return self._dry_run(period, reports, now)
        ledger = self.config.ledger()
        try:
            with Session(self.engine, expire_on_commit=False) as session:
                signed = release_period(
                    session,
                    ledger=ledger,
                    period=period,
                    reports=reports,
                    epsilon=self.config.epsilon_per_release,
                    delta=self.config.delta,
                    origin_authority=self._authority_id,
                    sign=functools.partial(self._key.sign, SigningContext.FEDERATED_ITEM),
                    signing_key_id=self._key.key_id,
                    bounds=self.config.bounds(),
                    mechanism=self.config.mechanism,
                    now=now,
                )
        except PrivacyBudgetExceededError as refusal:
            logger.warning("DP release of %s refused: %s", period.label, refusal)
            return replace(self._outcome(period, REFUSED), refusal=str(refusal))
        with Session(self.engine) as session:
            entry = ledger.entries(session, period=period.label)[-1]
        logger.info(
            "released DP aggregates for %s: release %s, epsilon %.4g, delta %.3g, sigma %.4g; "
            "period spend %.4g of %.4g, lifetime %.4g of %.4g (scope %s)",
            period.label, signed.release.release_id, signed.release.epsilon,
            signed.release.delta, signed.release.noise_sigma, entry.period_epsilon_after,
            self.config.period_epsilon, entry.lifetime_epsilon_after,
            self.config.lifetime_epsilon, self.config.scope,
        )  # fmt: skip
        queued = self._queue(signed)
        return replace(
            self._outcome(period, RELEASED), release=signed, queued_to_peers=queued,
            period_spent=entry.period_epsilon_after, lifetime_spent=entry.lifetime_epsilon_after,
        )  # fmt: skip

    def _dry_run(
        self, period: Period, reports: Sequence[CountableReport], now: datetime
    ) -> ReleaseOutcome:
        """Ask the ledger exactly as a release would, then roll the charge back."""
        from authority.privacy.aggregates import l2_sensitivity

        counts = bounded_counts(reports, period, self.config.bounds())
        refusal = ""
        entry: LedgerEntry | None = None
        with Session(self.engine) as session:
            try:
                entry = self.config.ledger().charge(
                    session,
                    period=period.label,
                    release_id=f"dry-run-{period.label}",
                    mechanism=self.config.mechanism,
                    epsilon=self.config.epsilon_per_release,
                    delta=self.config.delta,
                    sigma=self._sigma(),
                    sensitivity=l2_sensitivity(self.config.bounds()),
                    now=now,
                )
            except PrivacyBudgetExceededError as error:
                refusal = str(error)
            finally:
                session.rollback()
        return replace(
            self._outcome(period, DRY_RUN), refusal=refusal, reports=counts.reports_in_period,
            labs=counts.labs, items_kept=counts.items_kept, items_dropped=counts.items_dropped,
            period_spent=None if entry is None else entry.period_epsilon_after,
            lifetime_spent=None if entry is None else entry.lifetime_epsilon_after,
        )  # fmt: skip

    def _queue(self, signed: SignedRelease) -> bool:
        if self._publisher is None:
            return False
        try:
            self._publisher.publish_aggregate(signed)
        except Exception:
            logger.exception(
                "queueing release %s to peers failed; the next scheduled run queues it again",
                signed.release.release_id,
            )
            return False
        return True

    def requeue(self) -> int:
        """Queue every release of this scope to the peers again (a no-op for queued ones)."""
        if self._publisher is None:
            return 0
        from authority.privacy.release import list_releases

        with session_scope(self.engine) as session:
            releases = list_releases(session, scope=self.config.scope)
            for signed in releases:
                self._publisher.publish_aggregate(signed, session)
        return len(releases)


class ReleaseScheduler:
    """Fires the job every day at 00:05 UTC (see :mod:`authority.privacy.schedule`).

    One run at a time; a run missed by under an hour still runs; a failing run is logged
    and the next day's run tries again (the job is idempotent).
    """

    name = "privacy-release"

    def __init__(self, job: ReleaseJob):
        self.job = job
        self._scheduler = BackgroundScheduler(timezone=UTC)

    def _run(self) -> None:
        try:
            self.job.run_due()
        except Exception:
            logger.exception("the DP release run failed; the next daily run retries")

    def next_run_time(self) -> datetime | None:
        job = self._scheduler.get_job("privacy-release")
        return None if job is None else job.next_run_time  # type: ignore[no-any-return]

    def start(self) -> None:
        self._scheduler.add_job(
            self._run,
            CronTrigger(hour=RUN_HOUR, minute=RUN_MINUTE, timezone=UTC),
            id="privacy-release",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=3600,
        )
        self._scheduler.start()

    def stop(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)


def install_privacy(app: AuthorityApp) -> ReleaseScheduler | None:
    """The release scheduler, queueing to federation peers when federation is on."""
    config = PrivacyConfig.from_authority(app.config)
    if not config.enabled:
        return None
    from authority.federation import federation_of

    job = ReleaseJob(
        engine=app.engine,
        config=config,
        authority_id=app.config.authority_id,
        signing_key=app.signing_key,
        publisher=federation_of(app),
    )
    component = ReleaseScheduler(job)
    app.components.append(component)
    return component
