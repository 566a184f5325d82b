"""The authority's transparency log (RFC 9162 hashing) in the authority's SQL database.

``TransparencyLog`` appends leaves inside the caller's transaction, signs tree heads and
serves inclusion and consistency proofs; ``authority.log.tables`` holds its tables and
``authority.log.merkle`` the tree arithmetic. Verification lives in ``nearmiss.proofs``.
"""

from authority.log.log import (
    AppendedBatch,
    LogCorruptError,
    LogEntry,
    LoggedRows,
    LogMoved,
    TransparencyLog,
)
from authority.log.tables import create_tables

__all__ = [
    "AppendedBatch",
    "LogCorruptError",
    "LogEntry",
    "LogMoved",
    "LoggedRows",
    "TransparencyLog",
    "create_tables",
]
