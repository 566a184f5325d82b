"""BatchProofs gives the log's own inclusion proofs, before and after caching nodes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine
from sqlmodel import Session

from authority.batch_proofs import BatchProofs
from authority.log import TransparencyLog, create_tables
from nearmiss.proofs import hash_leaf, verify_inclusion
from nearmiss.signing import SigningKey


@pytest.fixture
def engine() -> Iterator[Engine]:
    engine = create_engine("sqlite://")
    create_tables(engine)
    yield engine
    engine.dispose()


def test_batch_proofs_equal_the_logs_proofs_at_every_size(engine: Engine) -> None:
    log = TransparencyLog(signing_key=SigningKey.generate(), authority_id="a")
    batches = BatchProofs()
    appended: list[bytes] = []
    for step, count in enumerate([1, 2, 5, 8, 3, 13, 1]):
        leaves = [f"leaf {step}-{n}".encode() for n in range(count)]
        with Session(engine) as session:
            log.append_many(session, leaves)
            session.commit()
        appended += leaves
        size = len(appended)
        with Session(engine) as session:
            root = log.root_hash(session)
            # Twice: the second call answers from the nodes remembered after the first.
            for _ in range(2):
                proofs, read = batches.proofs(session, range(size), size)
                batches.remember(read)
                for index in range(size):
                    expected = log.inclusion_proof(session, index, size)
                    assert proofs[index] == expected
                    verify_inclusion(
                        hash_leaf(appended[index]), index, size,
                        list(proofs[index].audit_path), root,
                    )
