"""Releases end to end: charged, noised, signed, stored, immutable and federatable."""

from __future__ import annotations

import functools
import random
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from privacy_helpers import report
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from authority.privacy.aggregates import CellKey, ContributionBounds, Period, all_cells
from authority.privacy.ledger import PrivacyBudget, PrivacyBudgetExceededError, PrivacyLedger
from authority.privacy.release import (
    DISCRETE_GAUSSIAN,
    AggregateRelease,
    SignedRelease,
    error_bar,
    get_release,
    list_releases,
    release_period,
    store_release,
)
from authority.privacy.tables import AggregateReleaseRow, PrivacyLedgerRow
from nearmiss.errors import ConflictError, SignatureError
from nearmiss.model import HarmDomain, ReportKind
from nearmiss.signing import SigningContext, SigningKey
from nearmiss.v1 import federation_pb2

WEEK = Period.iso_week(2026, 47)
NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
KEY = SigningKey.generate()


def release(
    session: Session,
    ledger: PrivacyLedger,
    *,
    seed: int = 1,
    epsilon: float = 1.0,
    mechanism: str = "gaussian-analytic",
) -> SignedRelease:
    reports = [report(n, lab=f"lab-{n % 4}", case_id=f"case-{n % 7}") for n in range(60)]
    return release_period(
        session,
        ledger=ledger,
        period=WEEK,
        reports=reports,
        epsilon=epsilon,
        delta=1e-6,
        origin_authority="aisi.example",
        sign=functools.partial(KEY.sign, SigningContext.FEDERATED_ITEM),
        signing_key_id=KEY.key_id,
        bounds=ContributionBounds(cell_cap=3, lab_cap=12),
        mechanism=mechanism,
        rng=random.Random(seed),
        now=NOW,
    )


@pytest.fixture
def ledger() -> PrivacyLedger:
    return PrivacyLedger(budget=PrivacyBudget(period_epsilon=1.2, lifetime_epsilon=5.0))


def test_a_release_is_signed_stored_and_charged(engine: Engine, ledger: PrivacyLedger) -> None:
    with Session(engine) as session:
        signed = release(session, ledger)
        signed.verify(KEY.verifying_key)
        stored = get_release(session, signed.release.release_id)
        assert stored == signed
        assert [e.release_id for e in ledger.entries(session)] == [signed.release.release_id]
    published = signed.release
    assert {key for key, _ in published.cells} == set(all_cells())
    # Cells are released unclamped (unbiased sums); the mean of 240 noisy empty-ish
    # cells stays near the true mean instead of drifting up by ~0.4 sigma per cell.
    values = [value for _, value in published.cells]
    assert any(value < 0 for value in values)
    assert published.noise_sigma == pytest.approx(4.2247 * 6.0, rel=1e-3)  # D = sqrt(3 * 12)
    cyber = published.values()[CellKey(HarmDomain.CYBER, 3, ReportKind.NEAR_MISS, "reports")]
    assert abs(cyber - 12) < 6 * published.noise_sigma  # 4 labs x cell cap 3


def test_a_refused_release_writes_nothing(engine: Engine, ledger: PrivacyLedger) -> None:
    with Session(engine) as session:
        release(session, ledger)
        with pytest.raises(PrivacyBudgetExceededError):
            release(session, ledger, seed=2)
        assert len(session.exec(select(AggregateReleaseRow)).all()) == 1
        assert len(session.exec(select(PrivacyLedgerRow)).all()) == 1


def test_canonical_bytes_are_deterministic_and_round_trip(
    engine: Engine, ledger: PrivacyLedger
) -> None:
    with Session(engine) as session:
        signed = release(session, ledger)
    again = replace(signed.release, cells=tuple(signed.release.cells))
    assert again.canonical_bytes() == signed.payload
    decoded = AggregateRelease.from_bytes(signed.payload, period_label=WEEK.label)
    assert decoded == signed.release
    changed = replace(signed.release, epsilon=0.5)
    assert changed.canonical_bytes() != signed.payload


def test_a_tampered_payload_fails_verification(engine: Engine, ledger: PrivacyLedger) -> None:
    with Session(engine) as session:
        signed = release(session, ledger)
    forged = replace(signed, payload=signed.payload.replace(b"aisi", b"aisj"))
    with pytest.raises(SignatureError):
        forged.verify(KEY.verifying_key)


def test_releases_are_immutable(engine: Engine, ledger: PrivacyLedger) -> None:
    with Session(engine) as session:
        signed = release(session, ledger)
        store_release(session, signed, scope="default")  # identical: a no-op
        other = replace(signed, signature=bytes(64))
        with pytest.raises(ConflictError):
            store_release(session, other, scope="default")
        assert list_releases(session, period=WEEK.label) == [signed]


def test_publish_request_carries_the_signed_payload(engine: Engine, ledger: PrivacyLedger) -> None:
    with Session(engine) as session:
        signed = release(session, ledger)
    request = signed.publish_request()
    parsed = federation_pb2.PublishAggregateRequest.FromString(request.SerializeToString())
    assert parsed.release_payload == signed.payload
    assert parsed.provenance.origin_key_id == KEY.key_id
    KEY.verifying_key.verify(
        SigningContext.FEDERATED_ITEM, parsed.release_payload, parsed.provenance.signature
    )
    message = federation_pb2.AggregateRelease.FromString(parsed.release_payload)
    assert message.contribution_cap == 3 and len(message.cells) == len(all_cells())


def test_discrete_gaussian_releases_integers(engine: Engine, ledger: PrivacyLedger) -> None:
    with Session(engine) as session:
        signed = release(session, ledger, mechanism=DISCRETE_GAUSSIAN)
        assert ledger.spent(session).accountant == "rdp"
    assert all(value == int(value) for _, value in signed.release.cells)


def test_error_bars_follow_from_the_public_sigma() -> None:
    assert error_bar(10.0) == pytest.approx(19.6, abs=0.01)
    assert error_bar(10.0, cells=4) == pytest.approx(39.2, abs=0.02)
