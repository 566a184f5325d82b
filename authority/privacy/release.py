"""Aggregate releases: count, charge the ledger, add noise, sign, store — all or nothing.

Rules this module enforces:

* The order is fixed: bound contributions, calibrate sigma to the bounded sensitivity,
  charge the ledger (which may refuse), and only then draw noise. A refused release
  draws no noise and writes nothing.
* A release is immutable: the stored ``payload`` is the deterministic protobuf
  serialization of ``nearmiss.v1.AggregateRelease`` and the signature covers exactly
  those bytes (``nearmiss/v1/federated-item`` || 0x00 || payload, the framing of
  ``Provenance.signature``), so peers and auditors verify what was published. Nothing in
  this package updates or deletes a release row; storing a different release under an
  existing id is refused.
* The ledger entry and the release row are written in one transaction.
* The noise scale is public: ``noise_sigma`` travels with every release, and the
  dashboard's error bars follow from it (:func:`error_bar`).
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from statistics import NormalDist

from sqlmodel import Session, col, select

from authority.privacy.aggregates import (
    MEASURES,
    BoundedCounts,
    CellKey,
    ContributionBounds,
    CountableReport,
    Period,
    bounded_counts,
    l2_sensitivity,
    post_process,
)
from authority.privacy.discrete import discrete_gaussian_sigma, sample_discrete_gaussian
from authority.privacy.gaussian import analytic_gaussian_sigma, sample_gaussian, secure_random
from authority.privacy.ledger import PrivacyLedger
from authority.privacy.tables import AggregateReleaseRow
from nearmiss.errors import ConfigError, ConflictError, NotFoundError
from nearmiss.model import HarmDomain, ReportKind
from nearmiss.signing import SigningContext, VerifyingKey
from nearmiss.v1 import federation_pb2, report_pb2

GAUSSIAN = "gaussian-analytic"
DISCRETE_GAUSSIAN = "discrete-gaussian"
RELEASE_SIGNING_CONTEXT = SigningContext.FEDERATED_ITEM

Signer = Callable[[bytes], bytes]
"""Returns the Ed25519 signature over RELEASE_SIGNING_CONTEXT || 0x00 || payload, e.g.
``functools.partial(signing_key.sign, SigningContext.FEDERATED_ITEM)``."""


@dataclass(frozen=True)
class AggregateRelease:
    """What is published: released cell values and the mechanism's public parameters."""

    release_id: str
    origin_authority: str
    period: Period
    released_at: datetime
    cells: tuple[tuple[CellKey, float], ...]
    mechanism: str
    epsilon: float
    delta: float
    noise_sigma: float
    contribution_cap: int

    def values(self) -> dict[CellKey, float]:
        return dict(self.cells)

    def to_proto(self) -> federation_pb2.AggregateRelease:
        message = federation_pb2.AggregateRelease(
            release_id=self.release_id,
            origin_authority=self.origin_authority,
            mechanism=self.mechanism,
            epsilon=self.epsilon,
            delta=self.delta,
            noise_sigma=self.noise_sigma,
            contribution_cap=self.contribution_cap,
        )
        message.period_start.FromDatetime(self.period.start)
        message.period_end.FromDatetime(self.period.end)
        message.released_at.FromDatetime(self.released_at)
        for key, value in self.cells:
            message.cells.add(
                harm_domain=report_pb2.HarmDomain.Value(f"HARM_DOMAIN_{key.harm_domain.value}"),
                severity=key.severity,
                kind=report_pb2.ReportKind.Value(f"REPORT_KIND_{key.kind.value}"),
                measure=key.measure,
                noisy_count=value,
            )
        return message

    def canonical_bytes(self) -> bytes:
        """Deterministic protobuf serialization: the bytes that are signed and stored."""
        return self.to_proto().SerializeToString(deterministic=True)

    @classmethod
    def from_bytes(cls, payload: bytes, *, period_label: str) -> AggregateRelease:
        message = federation_pb2.AggregateRelease.FromString(payload)
        cells = []
        for cell in message.cells:
            domain = report_pb2.HarmDomain.Name(cell.harm_domain).removeprefix("HARM_DOMAIN_")
            kind = report_pb2.ReportKind.Name(cell.kind).removeprefix("REPORT_KIND_")
            if cell.measure not in MEASURES:
                raise ConfigError(f"unknown measure {cell.measure!r} in release", key="measure")
            key = CellKey(HarmDomain(domain), cell.severity, ReportKind(kind), cell.measure)
            cells.append((key, cell.noisy_count))
        return cls(
            release_id=message.release_id,
            origin_authority=message.origin_authority,
            period=Period(
                period_label,
                message.period_start.ToDatetime(tzinfo=UTC),
                message.period_end.ToDatetime(tzinfo=UTC),
            ),
            released_at=message.released_at.ToDatetime(tzinfo=UTC),
            cells=tuple(cells),
            mechanism=message.mechanism,
            epsilon=message.epsilon,
            delta=message.delta,
            noise_sigma=message.noise_sigma,
            contribution_cap=message.contribution_cap,
        )


@dataclass(frozen=True)
class SignedRelease:
    release: AggregateRelease
    payload: bytes
    signature: bytes
    signing_key_id: str
    lab_cap: int
    sensitivity: float

    def verify(self, key: VerifyingKey) -> None:
        """Raise SignatureError unless the signature covers ``payload`` under ``key``."""
        key.verify(RELEASE_SIGNING_CONTEXT, self.payload, self.signature)

    def publish_request(self) -> federation_pb2.PublishAggregateRequest:
        """The message for ``FederationService.PublishAggregate`` (no log entry behind it)."""
        return federation_pb2.PublishAggregateRequest(
            release_payload=self.payload,
            provenance=federation_pb2.Provenance(
                origin_authority=self.release.origin_authority,
                origin_key_id=self.signing_key_id,
                signature=self.signature,
            ),
        )


def error_bar(sigma: float, *, cells: int = 1, level: float = 0.95) -> float:
    """Half-width of the two-sided ``level`` interval for a sum of ``cells`` noisy cells."""
    # The standard library's quantile (not scipy.stats, ~1-3 s to import) agrees to 1e-15.
    return NormalDist().inv_cdf(0.5 + level / 2.0) * sigma * math.sqrt(cells)


def calibrate(*, mechanism: str, epsilon: float, delta: float, sensitivity: float) -> float:
    """Sigma for one release of this mechanism at (epsilon, delta) and L2 sensitivity."""
    if mechanism == GAUSSIAN:
        return analytic_gaussian_sigma(epsilon=epsilon, delta=delta, sensitivity=sensitivity)
    if mechanism == DISCRETE_GAUSSIAN:
        return discrete_gaussian_sigma(epsilon=epsilon, delta=delta, sensitivity=sensitivity)
    raise ConfigError(f"unknown mechanism {mechanism!r}", key="mechanism")


def add_noise(
    counts: BoundedCounts, *, mechanism: str, sigma: float, rng: random.Random
) -> dict[CellKey, float]:
    """Noisy counts for every cell, before post-processing."""
    keys = list(counts.counts)
    if mechanism == GAUSSIAN:
        noise: Sequence[float] = sample_gaussian(sigma=sigma, size=len(keys), rng=rng)
    elif mechanism == DISCRETE_GAUSSIAN:
        noise = [float(v) for v in sample_discrete_gaussian(sigma=sigma, size=len(keys), rng=rng)]
    else:
        raise ConfigError(f"unknown mechanism {mechanism!r}", key="mechanism")
    return {key: counts.counts[key] + value for key, value in zip(keys, noise, strict=True)}


def release_period(
    session: Session,
    *,
    ledger: PrivacyLedger,
    period: Period,
    reports: Sequence[CountableReport],
    epsilon: float,
    delta: float,
    origin_authority: str,
    sign: Signer,
    signing_key_id: str,
    bounds: ContributionBounds | None = None,
    mechanism: str = GAUSSIAN,
    rng: random.Random | None = None,
    now: datetime | None = None,
) -> SignedRelease:
    """Release ``period``'s counts at (epsilon, delta), charged to ``ledger``, and commit.

    ``reports`` may include reports outside the period (they are ignored). ``rng`` defaults
    to the OS CSPRNG; pass a seeded ``random.Random`` only in tests and benchmarks.
    Raises PrivacyBudgetExceededError (and writes nothing) when the ledger refuses.
    """
    bounds = bounds or ContributionBounds()
    now = now or datetime.now(UTC)
    sensitivity = l2_sensitivity(bounds)
    sigma = calibrate(mechanism=mechanism, epsilon=epsilon, delta=delta, sensitivity=sensitivity)
    counts = bounded_counts(reports, period, bounds)
    release_id = str(uuid.uuid4())
    try:
        ledger.charge(
            session,
            period=period.label,
            release_id=release_id,
            mechanism=mechanism,
            epsilon=epsilon,
            delta=delta,
            sigma=sigma,
            sensitivity=sensitivity,
            now=now,
        )
        noisy = add_noise(counts, mechanism=mechanism, sigma=sigma, rng=rng or secure_random())
        release = AggregateRelease(
            release_id=release_id,
            origin_authority=origin_authority,
            period=period,
            released_at=now,
            cells=tuple(sorted(post_process(noisy).items())),
            mechanism=mechanism,
            epsilon=epsilon,
            delta=delta,
            noise_sigma=sigma,
            contribution_cap=bounds.cell_cap,
        )
        payload = release.canonical_bytes()
        signed = SignedRelease(
            release, payload, sign(payload), signing_key_id, bounds.lab_cap, sensitivity
        )
        session.add(_to_row(signed, ledger.scope))
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return signed


def _to_row(signed: SignedRelease, scope: str) -> AggregateReleaseRow:
    release = signed.release
    return AggregateReleaseRow(
        release_id=release.release_id,
        scope=scope,
        period=release.period.label,
        period_start=release.period.start,
        period_end=release.period.end,
        released_at=release.released_at,
        origin_authority=release.origin_authority,
        mechanism=release.mechanism,
        epsilon=release.epsilon,
        delta=release.delta,
        noise_sigma=release.noise_sigma,
        contribution_cap=release.contribution_cap,
        lab_cap=signed.lab_cap,
        sensitivity=signed.sensitivity,
        payload=signed.payload,
        signature=signed.signature,
        signing_key_id=signed.signing_key_id,
    )


def _from_row(row: AggregateReleaseRow) -> SignedRelease:
    release = AggregateRelease.from_bytes(row.payload, period_label=row.period)
    return SignedRelease(
        release, row.payload, row.signature, row.signing_key_id, row.lab_cap, row.sensitivity
    )


def store_release(session: Session, signed: SignedRelease, *, scope: str) -> None:
    """Insert a release made elsewhere (e.g. a peer's); storing the same bytes again is a no-op."""
    existing = session.get(AggregateReleaseRow, signed.release.release_id)
    if existing is not None:
        if existing.payload != signed.payload or existing.signature != signed.signature:
            raise ConflictError(
                f"release {signed.release.release_id} is already stored with different content"
            )
        return
    session.add(_to_row(signed, scope))
    session.commit()


def get_release(session: Session, release_id: str) -> SignedRelease:
    row = session.get(AggregateReleaseRow, release_id)
    if row is None:
        raise NotFoundError(f"no aggregate release with id {release_id}")
    return _from_row(row)


def list_releases(
    session: Session, *, scope: str | None = None, period: str | None = None
) -> list[SignedRelease]:
    """Releases newest first, for the dashboard and the JSON feed."""
    query = select(AggregateReleaseRow)
    if scope is not None:
        query = query.where(AggregateReleaseRow.scope == scope)
    if period is not None:
        query = query.where(AggregateReleaseRow.period == period)
    rows = session.exec(query.order_by(col(AggregateReleaseRow.released_at).desc())).all()
    return [_from_row(row) for row in rows]
