"""The ledger refuses over-budget releases and survives a restart (SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from privacy_helpers import sqlite_engine
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, SQLModel, create_engine, select

from authority.privacy.gaussian import analytic_gaussian_sigma
from authority.privacy.ledger import PrivacyBudget, PrivacyBudgetExceededError, PrivacyLedger
from authority.privacy.tables import PrivacyLedgerRow
from nearmiss.errors import ConfigError, PreconditionError

DELTA = 1e-6


def charge(ledger: PrivacyLedger, session: Session, *, period: str, epsilon: float) -> None:
    sigma = analytic_gaussian_sigma(epsilon=epsilon, delta=DELTA, sensitivity=6.0)
    ledger.charge(
        session,
        period=period,
        release_id=str(uuid.uuid4()),
        mechanism="gaussian-analytic",
        epsilon=epsilon,
        delta=DELTA,
        sigma=sigma,
        sensitivity=6.0,
    )
    session.commit()


def test_period_budget_refuses_the_release_that_would_pass_it(engine: Engine) -> None:
    # Two releases at eps = 1 compose to ~1.5 (Gaussian composition is sublinear).
    ledger = PrivacyLedger(budget=PrivacyBudget(period_epsilon=1.2, lifetime_epsilon=10.0))
    with Session(engine) as session:
        charge(ledger, session, period="2026-W47", epsilon=1.0)
        with pytest.raises(PrivacyBudgetExceededError) as refused:
            charge(ledger, session, period="2026-W47", epsilon=1.0)
        session.rollback()
        message = str(refused.value)
        assert "2026-W47" in message and "period spend" in message and "limit 1.2" in message
        assert refused.value.requested_epsilon == 1.0
        assert refused.value.spent == pytest.approx(1.0, abs=0.011)
        assert refused.value.would_be > 1.2
        assert isinstance(refused.value, PreconditionError)
        # The refusal wrote nothing; a smaller release still fits.
        assert ledger.spent(session, period="2026-W47").releases == 1
        charge(ledger, session, period="2026-W47", epsilon=0.3)
        assert ledger.spent(session, period="2026-W47").epsilon <= 1.2


def test_lifetime_budget_binds_across_periods(engine: Engine) -> None:
    ledger = PrivacyLedger(budget=PrivacyBudget(period_epsilon=1.2, lifetime_epsilon=2.0))
    with Session(engine) as session:
        for week in range(40, 52):
            try:
                charge(ledger, session, period=f"2026-W{week}", epsilon=1.0)
            except PrivacyBudgetExceededError as refused:
                session.rollback()
                assert "lifetime spend" in str(refused)
                assert refused.period == f"2026-W{week}"
                break
        else:
            pytest.fail("the lifetime limit never refused a release")
        lifetime = ledger.spent(session)
        assert lifetime.epsilon <= 2.0
        assert lifetime.releases == week - 40


def test_restarting_the_authority_keeps_the_ledger(db_path: Path) -> None:
    budget = PrivacyBudget(period_epsilon=1.2, lifetime_epsilon=10.0)
    first = sqlite_engine(db_path)
    with Session(first) as session:
        charge(PrivacyLedger(budget=budget), session, period="2026-W47", epsilon=1.0)
        before = PrivacyLedger(budget=budget).spent(session, period="2026-W47")
    first.dispose()

    restarted = sqlite_engine(db_path)  # a new process: new engine, new ledger object
    ledger = PrivacyLedger(budget=budget)
    with Session(restarted) as session:
        after = ledger.spent(session, period="2026-W47")
        assert after == before
        with pytest.raises(PrivacyBudgetExceededError):
            charge(ledger, session, period="2026-W47", epsilon=1.0)
    restarted.dispose()


def test_scopes_are_independent(engine: Engine) -> None:
    budget = PrivacyBudget(period_epsilon=1.2, lifetime_epsilon=10.0)
    with Session(engine) as session:
        charge(PrivacyLedger(budget=budget, scope="public"), session, period="P", epsilon=1.0)
        assert PrivacyLedger(budget=budget, scope="peers").spent(session).releases == 0


def test_release_delta_cannot_exceed_the_ledger_delta(engine: Engine) -> None:
    ledger = PrivacyLedger(budget=PrivacyBudget(period_epsilon=1.0, lifetime_epsilon=2.0))
    with Session(engine) as session, pytest.raises(ConfigError, match="delta"):
        ledger.charge(
            session, period="P", release_id="r", mechanism="gaussian-analytic",
            epsilon=0.5, delta=1e-3, sigma=10.0, sensitivity=1.0,
        )  # fmt: skip


@pytest.fixture
def postgres_engine() -> Iterator[Engine]:
    url = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    engine = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(text("select 1"))
    except OperationalError:
        pytest.skip("no PostgreSQL server answers on 127.0.0.1:5432 (database test)")
    SQLModel.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.mark.postgres
def test_ledger_on_postgresql_refuses_and_survives_restart(postgres_engine: Engine) -> None:
    scope = f"test-{uuid.uuid4().hex[:12]}"  # our own rows only; removed afterwards
    budget = PrivacyBudget(period_epsilon=1.2, lifetime_epsilon=10.0)
    try:
        with Session(postgres_engine) as session:
            charge(PrivacyLedger(budget=budget, scope=scope), session, period="W", epsilon=1.0)
        postgres_engine.dispose()
        with Session(postgres_engine) as session:
            ledger = PrivacyLedger(budget=budget, scope=scope)
            assert ledger.spent(session, period="W").releases == 1
            with pytest.raises(PrivacyBudgetExceededError):
                charge(ledger, session, period="W", epsilon=1.0)
    finally:
        with Session(postgres_engine) as session:
            for row in session.exec(
                select(PrivacyLedgerRow).where(PrivacyLedgerRow.scope == scope)
            ):
                session.delete(row)
            session.execute(text("delete from nm_privacy_scope where scope = :s"), {"s": scope})
            session.commit()
