"""Which replica links: at most one linking worker at a time per database.

Rules: on PostgreSQL (several replicas may share it, see docs/CASES.md) the worker holds
a session-level advisory lock (``pg_try_advisory_lock``) on a connection of its own for
as long as it links; a replica that does not get it stays idle and tries again, and a
replica that dies drops the lock with its connection, so another takes over (and
reloads its memory from SQL). On SQLite only one process writes, so the lease is always
held. The lease only decides who *links*; correctness never depends on it: every case
write also checks the case generation (``authority.cases.store``).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

logger = logging.getLogger("nearmiss.authority.cases")

# A fixed 64-bit key for pg_try_advisory_lock: the first 8 bytes of
# SHA-256("nearmiss/case-linker"), as a signed integer (bigint).
LINKER_LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"nearmiss/case-linker").digest()[:8], "big", signed=True
)


class LinkerLease(Protocol):
    def acquire(self) -> bool:
        """True when this process may link now (takes the lease if free; never waits)."""
        ...

    def release(self) -> None: ...


class ProcessLease:
    """SQLite: one process owns the database, so it always links."""

    def acquire(self) -> bool:
        return True

    def release(self) -> None:
        return None


class AdvisoryLockLease:
    """PostgreSQL: a session advisory lock held on a dedicated connection."""

    def __init__(self, engine: Engine, key: int = LINKER_LOCK_KEY):
        self._engine = engine
        self._key = key
        self._connection: Connection | None = None

    def acquire(self) -> bool:
        if self._connection is not None:
            if self._alive(self._connection):
                return True
            logger.warning("lost the case-linker lock with its connection; will retry")
            self._drop()
        try:
            connection = self._engine.connect()
        except DBAPIError:
            return False
        try:
            got = connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": self._key}
            ).scalar()
            connection.commit()
        except DBAPIError:
            connection.close()
            return False
        if not got:
            connection.close()
            return False
        self._connection = connection
        logger.info("this replica now links reports into cases")
        return True

    def release(self) -> None:
        connection = self._connection
        if connection is None:
            return
        try:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self._key})
            connection.commit()
        except DBAPIError:
            pass
        self._drop()

    def _alive(self, connection: Connection) -> bool:
        try:
            connection.execute(text("SELECT 1"))
            connection.commit()
            return True
        except DBAPIError:
            return False

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(DBAPIError):
                connection.close()


def lease_for(engine: Engine) -> LinkerLease:
    if engine.dialect.name == "postgresql":
        return AdvisoryLockLease(engine)
    return ProcessLease()
