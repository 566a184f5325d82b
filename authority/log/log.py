"""The authority's transparency log: append leaves, sign tree heads, serve proofs.

Rules:

* Every method takes the caller's ``Session`` (or a Core ``Connection``:
  ``authority.driver_sql.Scope``) and never commits: an append lands in the same
  transaction as the report row it logs, so a report is stored and logged, or
  neither. A caller that raises must roll back.
* An append first updates the one state row (``authority.log.tables``). That update is
  the serialization point across threads, processes and authority replicas: PostgreSQL
  holds the row lock until commit, SQLite's write lock does the same. Leaf indexes are
  therefore dense and unique, and the stored frontier is always the one the new leaves
  extend. Duplicate leaf hashes are refused before anything is written.
* On PostgreSQL an append may instead be *guarded* (``TransparencyLog.guarded``): the
  state is read without a lock, and the one write statement updates the state row only
  if the tree still has the size that was read, writing nothing otherwise. Run on a
  connection in autocommit, read and write are one statement each, with no BEGIN or
  COMMIT of their own: two round trips per append instead of four. Sizes only grow, so
  an unchanged size means nobody appended meanwhile; a moved log raises ``LogMoved``
  and the caller appends again (under the lock). The order and density rules above hold
  either way.
* An append reads one row and writes the leaf, the O(1) amortized nodes it completes and
  the state row. A proof reads the state row and O(log n) nodes by primary key. Nothing
  scans the log.
* A tree head is signed over the committed tree only (``nearmiss.proofs.tree_head_message``),
  with a timestamp never earlier than the last head stored, and added to the session;
  it is kept when the caller commits. A head already stored for the current size and
  root is returned again instead of signing a new one; a new one is signed only under
  the log's lock, so stored heads never go back to an older tree. Never hand a client a head signed
  inside a transaction that then rolls back: that head would describe a tree that does
  not exist.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import LargeBinary, Table, TextClause, insert, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect

from authority.driver_sql import DriverSql, Scope, placeholders, scope_dialect
from authority.log.merkle import (
    Frontier,
    NodeId,
    Range,
    consistency_ranges,
    inclusion_ranges,
    nodes_for,
    perfect_subtrees,
    range_hashes,
)
from authority.log.tables import (
    HEAD_TABLE,
    LEAF_TABLE,
    NODE_TABLE,
    STATE_ROW_ID,
    STATE_TABLE,
)
from nearmiss.errors import ConflictError, NotFoundError, PreconditionError
from nearmiss.proofs import hash_leaf, tree_head_message
from nearmiss.signing import SigningContext, SigningKey
from nearmiss.v1 import log_pb2

# Bound the bind parameters of one statement (SQLite allows 32,766).
_CHUNK = 2_000
# A proof needs at most ~2 log2(n) nodes; larger requests are split.
_NODE_CHUNK = 200


class LogCorruptError(PreconditionError):
    """The stored log contradicts itself; the authority must stop signing heads."""


class LogMoved(Exception):
    """A guarded append found that the log grew after its state was read: nothing was
    written. Not a user-facing error; the caller appends again."""


@dataclass(frozen=True)
class LogEntry:
    index: int
    leaf_hash: bytes


@dataclass(frozen=True)
class _Growth:
    """An append worked out under the lock, before anything is written."""

    entries: list[LogEntry]
    previous: Frontier
    grown: Frontier
    created: list[tuple[NodeId, bytes]]
    newest_head_ms: int | None


_Conversion = tuple[int, Callable[[Any], Any]]
"""A column's position in an INSERT's parameters and the function converting its value."""


@dataclass(frozen=True)
class LoggedRows:
    """Rows of another table that are written with a batch's leaves, one per leaf and in
    leaf order (the report rows the leaves log). The log sets each row's
    ``index_column`` to its leaf's index, in place. On PostgreSQL the rows join the log's
    one write statement instead of costing a round trip of their own."""

    table: Table
    rows: list[dict[str, Any]]
    index_column: str


@dataclass(frozen=True)
class AppendedBatch:
    """What ``append_batch`` did: the new entries, the head over them, and node hashes
    (old frontier and new nodes) valid for proofs against that head once committed."""

    entries: list[LogEntry]
    head: log_pb2.SignedTreeHead
    nodes: dict[NodeId, bytes]


def _wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class TransparencyLog:
    """One authority's append-only Merkle log (RFC 9162 hashing) in its SQL database."""

    def __init__(
        self,
        *,
        signing_key: SigningKey,
        authority_id: str,
        clock_ms: Callable[[], int] = _wall_clock_ms,
    ) -> None:
        self._signing_key = signing_key
        self._authority_id = authority_id
        self._clock_ms = clock_ms

    @property
    def authority_id(self) -> str:
        return self._authority_id

    # -- appending ---------------------------------------------------------------------

    def append(self, session: Scope, leaf_data: bytes) -> LogEntry:
        """Log one leaf; the caller commits (with the report row) or rolls back."""
        return self.append_many(session, [leaf_data])[0]

    def append_many(self, session: Scope, leaves: Sequence[bytes]) -> list[LogEntry]:
        """Log several leaves in order, in one transaction (one lock, one state update)."""
        if not leaves:
            return []
        sql = DriverSql(session)
        frontier, newest_head_ms, _ = self._lock_state(session, sql, None, ())
        growth = self._grow(frontier, newest_head_ms, leaves, sql=sql)
        self._write(session, sql, growth, head=None)
        return growth.entries

    def append_batch(
        self, session: Scope, leaves: Sequence[bytes], *, with_rows: LoggedRows | None = None
    ) -> AppendedBatch:
        """Lock the log, log several leaves and sign a head over the grown tree, in the
        caller's transaction (``lock`` then ``LockedLog.append_batch``)."""
        return self.lock(session).append_batch(leaves, with_rows=with_rows)

    def lock(
        self, session: Scope, *, look_up: str | None = None, params: Sequence[Any] = ()
    ) -> LockedLog:
        """Take the log's lock for an append in the caller's transaction.

        ``look_up`` is a scalar SQL expression (``?`` placeholders, bound from ``params``)
        evaluated in the locking statement itself; its value is ``LockedLog.looked_up``.
        Group commit asks which of a batch's reports are stored already this way, so on
        PostgreSQL the question costs no round trip of its own."""
        sql = DriverSql(session)
        frontier, newest_head_ms, looked_up = self._lock_state(session, sql, look_up, params)
        return LockedLog(self, session, sql, frontier, newest_head_ms, looked_up)

    def guarded(
        self, session: Scope, *, look_up: str | None = None, params: Sequence[Any] = ()
    ) -> LockedLog | None:
        """Read the log's state for a guarded append, without a lock (PostgreSQL only;
        see the module rules); ``look_up`` as in ``lock``. None when the log has no
        state row yet: take ``lock``, which starts the tree."""
        sql = DriverSql(session)
        if sql.dialect != "postgresql":
            raise ValueError("a guarded append needs PostgreSQL; use lock()")
        row = sql.first(
            f"SELECT {_state_columns(look_up)} FROM {STATE_TABLE.name} WHERE id = ?",
            (*params, STATE_ROW_ID),
        )
        if row is None:
            return None
        frontier, newest_head_ms, looked_up = self._parse_state(row, look_up)
        return LockedLog(
            self, session, sql, frontier, newest_head_ms, looked_up, guard_size=frontier.size
        )

    def _grow(
        self, frontier: Frontier, newest_head_ms: int | None, leaves: Sequence[bytes],
        *, sql: DriverSql | None = None,
    ) -> _Growth:
        """What appending ``leaves`` to the locked ``frontier`` writes (nothing written);
        with ``sql``, first refuse leaves already in the log."""
        hashes = [hash_leaf(data) for data in leaves]
        if len(set(hashes)) != len(hashes):
            raise ConflictError(f"the {len(hashes)} leaves to append contain a leaf twice")
        if sql is not None:
            _refuse_logged(sql, hashes)
        grown, created = frontier.append(hashes)
        entries = [LogEntry(frontier.size + i, h) for i, h in enumerate(hashes)]
        return _Growth(entries, frontier, grown, created, newest_head_ms)

    def _write(
        self,
        session: Scope,
        sql: DriverSql,
        growth: _Growth,
        *,
        head: log_pb2.SignedTreeHead | None,
        with_rows: LoggedRows | None = None,
        guard_size: int | None = None,
    ) -> None:
        """Leaves, nodes, the state row, (if given) the head and the rows logged with the
        leaves: on PostgreSQL in one statement, one round trip; elsewhere one statement
        each (the rows' dates converted as Core would, ``_insert_converted``). With
        ``guard_size`` (PostgreSQL), all of it only if the tree still has that size;
        LogMoved if not."""
        leaf_rows = [(e.index, e.leaf_hash) for e in growth.entries]
        node_rows = [(level, index, h) for (level, index), h in growth.created]
        state = (growth.grown.size, growth.grown.encode(), STATE_ROW_ID)
        if sql.dialect == "postgresql":
            params: list[object] = [
                [r[0] for r in leaf_rows], [r[1] for r in leaf_rows],
                [r[0] for r in node_rows], [r[1] for r in node_rows],
                [r[2] for r in node_rows],
            ]
            writes = [_PG_WRITES]
            if head is not None:
                writes.append(_PG_HEAD)
                params.extend(_head_row(head))
            if with_rows is not None:
                insert_rows, columns = _pg_insert_from_arrays(with_rows.table)
                writes.append(insert_rows)
                params.extend([row[name] for row in with_rows.rows] for name in columns)
            only_if = "" if guard_size is None else _ONLY_IF_GUARDED
            ctes = ", ".join(write.format(only_if=only_if) for write in writes)
            if guard_size is None:
                sql.execute(f"WITH {ctes} {_UPDATE_STATE}", [*params, *state])
                return
            row = sql.first(
                f"WITH {_PG_GUARD}, {ctes} SELECT count(*) FROM guard",
                [*state, guard_size, *params],
            )
            if row is None or row[0] != 1:
                raise LogMoved()
            return
        if guard_size is not None:
            raise ValueError("a guarded append needs PostgreSQL")
        sql.execute_many(_INSERT_LEAF, leaf_rows)
        sql.execute_many(_INSERT_NODE, node_rows)
        sql.execute(_UPDATE_STATE, state)
        if head is not None:
            sql.execute(_INSERT_HEAD, _head_row(head))
        if with_rows is not None:
            statement, values_of, converters = _insert_converted(
                with_rows.table, scope_dialect(session)
            )
            rows = [list(values_of(row)) for row in with_rows.rows]
            for position, convert in converters:
                for values in rows:
                    values[position] = convert(values[position])
            sql.execute_many(statement, rows)

    def _lock_state(
        self, session: Scope, sql: DriverSql, look_up: str | None, params: Sequence[Any]
    ) -> tuple[Frontier, int | None, Any]:
        """Lock the state row; the frontier, the newest head's timestamp and the value of
        ``look_up`` under it."""
        # A no-op UPDATE is the portable "lock this row until commit": FOR UPDATE does not
        # exist on SQLite, and a write is what makes SQLite take its write lock. The
        # newest head's timestamp (and the caller's look-up) come back in the same
        # statement: one round trip.
        row = sql.first(
            f"UPDATE {STATE_TABLE.name} SET tree_size = tree_size WHERE id = ? "
            f"RETURNING {_state_columns(look_up)}",
            (STATE_ROW_ID, *params),
        )
        if row is not None:
            return self._parse_state(row, look_up)
        # Tables made without SQLAlchemy's create hooks: start the empty tree, but only
        # if the log really is empty.
        if session.execute(select(LEAF_TABLE.c.leaf_index).limit(1)).first() is not None:
            raise LogCorruptError("the log has leaves but no state row; restore it from backup")
        session.execute(
            insert(STATE_TABLE).values(id=STATE_ROW_ID, tree_size=0, frontier=b"")
        )
        looked_up = None
        if look_up is not None:
            found = sql.first(f"SELECT ({look_up})", tuple(params))
            looked_up = None if found is None else found[0]
        return Frontier.empty(), None, looked_up

    def _parse_state(
        self, row: Sequence[Any], look_up: str | None
    ) -> tuple[Frontier, int | None, Any]:
        """A row of ``_state_columns``: the frontier, the newest head's timestamp and the
        look-up's value."""
        newest = None if row[2] is None else int(row[2])
        return self._decode(row[0], row[1]), newest, row[3] if look_up is not None else None

    def _sign_head(self, tree_size: int, root: bytes, timestamp_ms: int) -> log_pb2.SignedTreeHead:
        key_id = self._signing_key.key_id
        signature = self._signing_key.sign(
            SigningContext.TREE_HEAD, tree_head_message(tree_size, root, timestamp_ms)
        )
        return _head_message(tree_size, root, timestamp_ms, signature, key_id)

    # -- reading -----------------------------------------------------------------------

    def size(self, session: Scope) -> int:
        return self._read_state(session).size

    def index_of(self, session: Scope, leaf_hash: bytes) -> int | None:
        row = session.execute(
            select(LEAF_TABLE.c.leaf_index).where(LEAF_TABLE.c.leaf_hash == leaf_hash)
        ).first()
        return None if row is None else int(row.leaf_index)

    def root_hash(self, session: Scope) -> bytes:
        """The root of the committed tree (HASH() when empty)."""
        return self._read_state(session).root()

    def signed_tree_head(
        self, session: Scope, *, at_least_size: int | None = None, may_sign: bool = True
    ) -> log_pb2.SignedTreeHead:
        """A head for the current tree, signed by the authority (see the module rules).

        The state and the newest stored head are read in one statement, so both describe
        one snapshot (on PostgreSQL, read in two, an append committed between them made
        a reader sign and store a head for an older tree after a newer one). A head for
        that tree, under this key, is returned as stored; a new one is signed only under
        the log's lock, after which no older tree can be signed. With ``may_sign`` False
        (a session in autocommit, which cannot hold the lock) LogMoved is raised instead."""
        sql = DriverSql(session)
        row = sql.first(_STATE_AND_NEWEST_HEAD, (STATE_ROW_ID,))
        if row is None:  # tables made without the state row: the lock below starts it
            row = (None,) * 5 + (0, b"")
        frontier = self._decode(row[5], row[6])
        if at_least_size is not None and frontier.size < at_least_size:
            raise NotFoundError(
                f"the log has {frontier.size} entries, fewer than the {at_least_size} asked for"
            )
        stored = self._stored_head(frontier, row[:5])
        if stored is not None:
            return stored
        if not may_sign:
            raise LogMoved("a new tree head must be signed under the log's lock")
        # Appenders store their heads while holding the lock, so once it is ours the
        # newest head and the state cannot move until the caller commits.
        frontier, _, _ = self._lock_state(session, sql, None, ())
        row = sql.first(_NEWEST_HEAD, ())
        newest = (None,) * 5 if row is None else tuple(row)
        stored = self._stored_head(frontier, newest)
        if stored is not None:
            return stored
        timestamp_ms = max(self._clock_ms(), 0 if newest[2] is None else int(newest[2]))
        head = self._sign_head(frontier.size, frontier.root(), timestamp_ms)
        sql.execute(_INSERT_HEAD, _head_row(head))
        return head

    def _stored_head(
        self, frontier: Frontier, newest: Sequence[Any]
    ) -> log_pb2.SignedTreeHead | None:
        """The newest stored head (size, root, timestamp, signature, key id; all None if
        there is none) when it is this key's head for ``frontier``'s tree."""
        size, root_hash, timestamp_ms, signature, key_id = newest
        if size is None or int(size) != frontier.size:
            return None
        root = frontier.root()
        if bytes(root_hash) != root:
            raise LogCorruptError(
                f"a stored tree head for size {frontier.size} has root "
                f"{bytes(root_hash).hex()[:16]}..., but the stored tree computes "
                f"{root.hex()[:16]}...; refusing to sign a second root for that size"
            )
        if key_id != self._signing_key.key_id:
            return None
        return _head_message(int(size), root, int(timestamp_ms), bytes(signature), key_id)

    def inclusion_proof(
        self, session: Scope, leaf_index: int, tree_size: int | None = None
    ) -> log_pb2.InclusionProof:
        """PATH(leaf_index, D[tree_size]) (RFC 9162 §2.1.3.1); tree_size None = current."""
        size = self.size(session)
        if tree_size is None:
            tree_size = size
        if tree_size > size:
            raise NotFoundError(
                f"the log has {size} entries; there is no tree of size {tree_size} yet"
            )
        if not 0 <= leaf_index < tree_size:
            raise NotFoundError(f"leaf {leaf_index} is not in the tree of size {tree_size}")
        path = self._hashes(session, inclusion_ranges(leaf_index, tree_size))
        return log_pb2.InclusionProof(
            leaf_index=leaf_index, tree_size=tree_size, audit_path=path
        )

    def consistency_proof(
        self, session: Scope, first: int, second: int
    ) -> log_pb2.ConsistencyProof:
        """PROOF(first, D[second]) (RFC 9162 §2.1.4.1); empty when first is 0 or second."""
        if not 0 <= first <= second:
            raise PreconditionError(
                f"no consistency proof exists from size {first} to size {second}: "
                "the first size must be between 0 and the second"
            )
        size = self.size(session)
        if second > size:
            raise NotFoundError(
                f"the log has {size} entries; there is no tree of size {second} yet"
            )
        proof: list[bytes] = []
        if 0 < first < second:
            proof = self._hashes(session, consistency_ranges(first, second))
        return log_pb2.ConsistencyProof(first_size=first, second_size=second, proof_hashes=proof)

    # -- storage helpers ---------------------------------------------------------------

    def _read_state(self, session: Scope) -> Frontier:
        row = session.execute(
            select(STATE_TABLE.c.tree_size, STATE_TABLE.c.frontier).where(
                STATE_TABLE.c.id == STATE_ROW_ID
            )
        ).first()
        return Frontier.empty() if row is None else self._decode(row.tree_size, row.frontier)

    @staticmethod
    def _decode(tree_size: int, frontier: bytes) -> Frontier:
        try:
            return Frontier.decode(int(tree_size), bytes(frontier))
        except ValueError as error:
            raise LogCorruptError(f"the log's state row is damaged: {error}") from None

    def _hashes(self, session: Scope, ranges: list[Range]) -> list[bytes]:
        wanted = nodes_for(ranges)
        stored: dict[NodeId, bytes] = {}
        for start in range(0, len(wanted), _NODE_CHUNK):
            chunk = wanted[start : start + _NODE_CHUNK]
            params: dict[str, int] = {}
            for position, (level, index) in enumerate(chunk):
                params[f"l{position}"] = level
                params[f"i{position}"] = index
            rows = session.execute(_select_nodes(len(chunk)), params)
            stored.update(((r.level, r.node_index), bytes(r.hash)) for r in rows)
        missing = [node for node in wanted if node not in stored]
        if missing:
            raise LogCorruptError(
                f"{len(missing)} stored tree nodes are missing, first (level, index) = "
                f"{missing[0]}"
            )
        return range_hashes(ranges, stored.__getitem__)


def _state_columns(look_up: str | None) -> str:
    """What an append reads with the state row, locked or not: size, frontier, the newest
    head's timestamp and (if given) the caller's look-up, in one statement."""
    extra = f", ({look_up})" if look_up is not None else ""
    return f"tree_size, frontier, ({_NEWEST_HEAD_TIMESTAMP}){extra}"


def _refuse_logged(sql: DriverSql, hashes: list[bytes]) -> None:
    """ConflictError naming the first of ``hashes`` already in the log."""
    for start in range(0, len(hashes), _CHUNK):
        chunk = hashes[start : start + _CHUNK]
        found = sql.first(
            f"SELECT leaf_index, leaf_hash FROM {LEAF_TABLE.name} "
            f"WHERE leaf_hash IN ({placeholders(len(chunk))}) LIMIT 1",
            chunk,
        )
        if found is not None:
            raise ConflictError(
                f"leaf {bytes(found[1]).hex()[:16]}... is already in the log at "
                f"index {found[0]}"
            )


@dataclass
class LockedLog:
    """The log locked for one append in the caller's transaction (``TransparencyLog.lock``),
    or read for one guarded append (``TransparencyLog.guarded``: no lock; the write
    raises LogMoved if the log grew meanwhile).

    The lock is held until the caller commits or rolls back; append once."""

    _log: TransparencyLog
    _session: Scope
    _sql: DriverSql
    _frontier: Frontier
    _newest_head_ms: int | None
    looked_up: Any
    """The value of ``lock``'s ``look_up`` expression (None without one)."""
    guard_size: int | None = None
    """Set by ``TransparencyLog.guarded``: the size the write requires (no lock held)."""
    _appended: bool = False

    def append_batch(
        self, leaves: Sequence[bytes], *, with_rows: LoggedRows | None = None
    ) -> AppendedBatch:
        """Log several leaves and sign a head over the grown tree: what group commit
        needs, without reading back what it just wrote.

        The head is for the tree as it will be once the caller commits; hand it out only
        after the commit succeeded (module rules).

        Unlike ``append_many`` it does not look for the leaves in the log first: its
        caller (``authority.report_store``) has looked the reports up, and a leaf that
        another replica logged meanwhile still fails the leaf table's unique key, which
        the caller treats as a lost race. That saves a statement (on PostgreSQL, a round
        trip) per batch."""
        if not leaves:
            raise ValueError("append_batch needs at least one leaf")
        if self._appended:
            raise ValueError("a locked log appends once; lock it again for the next batch")
        if with_rows is not None and len(with_rows.rows) != len(leaves):
            raise ValueError(
                f"{len(with_rows.rows)} rows to write with {len(leaves)} leaves; "
                "one row per leaf is needed"
            )
        self._appended = True
        log = self._log
        growth = log._grow(self._frontier, self._newest_head_ms, leaves)
        timestamp_ms = max(log._clock_ms(), growth.newest_head_ms or 0)
        head = log._sign_head(growth.grown.size, growth.grown.root(), timestamp_ms)
        if with_rows is not None:
            for row, entry in zip(with_rows.rows, growth.entries, strict=True):
                row[with_rows.index_column] = entry.index
        log._write(self._session, self._sql, growth, head=head, with_rows=with_rows,
                   guard_size=self.guard_size)
        # Nodes the caller may use for proofs against this head without reading them:
        # the old frontier (committed before) and the nodes this append completed.
        previous = growth.previous
        known = dict(zip(perfect_subtrees(0, previous.size), previous.hashes, strict=True))
        known.update(growth.created)
        return AppendedBatch(entries=growth.entries, head=head, nodes=known)


def _select_nodes(count: int) -> TextClause:
    """Nodes by primary key, as an OR of key equalities. Not a row-value IN: SQLite plans
    "(level, node_index) IN (VALUES ...)" as a full scan, while it (and PostgreSQL, with a
    BitmapOr) looks each OR term up in the key. Plain text because building it from
    SQLAlchemy expressions took ~10 ms per proof at 300k leaves (on a loaded 2-core box),
    against ~0.1 ms for SQLite to answer it."""
    terms = " OR ".join(
        f"(level = :l{i} AND node_index = :i{i})" for i in range(count)
    )
    return text(f"SELECT level, node_index, hash FROM {NODE_TABLE.name} WHERE {terms}")


# The newest head's timestamp, by key lookup on max(id) (see signed_tree_head).
_NEWEST_HEAD_TIMESTAMP = (
    f"SELECT timestamp_ms FROM {HEAD_TABLE.name} "
    f"WHERE id = (SELECT max(id) FROM {HEAD_TABLE.name})"
)

# The newest head's columns, and the state's, in one statement: one snapshot (no row
# without a state row; NULL head columns without a head). max(id) by key lookup; "ORDER
# BY id DESC LIMIT 1" reads the same row but SQLite plans it as a scan, which the no-scan
# test would rightly flag.
_HEAD_COLUMNS = "tree_size, root_hash, timestamp_ms, signature, authority_key_id"
_NEWEST_HEAD = (
    f"SELECT {_HEAD_COLUMNS} FROM {HEAD_TABLE.name} "
    f"WHERE id = (SELECT max(id) FROM {HEAD_TABLE.name})"
)
_STATE_AND_NEWEST_HEAD = (
    "SELECT h.tree_size, h.root_hash, h.timestamp_ms, h.signature, h.authority_key_id, "
    f"s.tree_size, s.frontier FROM {STATE_TABLE.name} AS s "
    f"LEFT JOIN {HEAD_TABLE.name} AS h ON h.id = (SELECT max(id) FROM {HEAD_TABLE.name}) "
    "WHERE s.id = ?"
)


_INSERT_LEAF = f"INSERT INTO {LEAF_TABLE.name} (leaf_index, leaf_hash) VALUES (?, ?)"
_INSERT_NODE = f"INSERT INTO {NODE_TABLE.name} (level, node_index, hash) VALUES (?, ?, ?)"
_UPDATE_STATE = f"UPDATE {STATE_TABLE.name} SET tree_size = ?, frontier = ? WHERE id = ?"
_INSERT_HEAD = (
    f"INSERT INTO {HEAD_TABLE.name} "
    "(tree_size, root_hash, timestamp_ms, signature, authority_key_id) VALUES (?, ?, ?, ?, ?)"
)
# PostgreSQL: the same writes as data-modifying CTEs of one UPDATE, from arrays. Each
# ends in ``{only_if}``: empty, or for a guarded append ``_ONLY_IF_GUARDED``.
_PG_WRITES = (
    f"new_leaves AS (INSERT INTO {LEAF_TABLE.name} (leaf_index, leaf_hash) "
    "SELECT * FROM unnest(?::bigint[], ?::bytea[]){only_if}), "
    f"new_nodes AS (INSERT INTO {NODE_TABLE.name} (level, node_index, hash) "
    "SELECT * FROM unnest(?::integer[], ?::bigint[], ?::bytea[]){only_if})"
)
_PG_HEAD = (
    f"new_head AS (INSERT INTO {HEAD_TABLE.name} "
    "(tree_size, root_hash, timestamp_ms, signature, authority_key_id) "
    "SELECT ?, ?, ?, ?, ?{only_if})"
)
# A guarded append: the state row moves only from the size that was read, and every
# other write of the statement happens only if it did.
_PG_GUARD = (
    f"guard AS (UPDATE {STATE_TABLE.name} SET tree_size = ?, frontier = ? "
    "WHERE id = ? AND tree_size = ? RETURNING 1)"
)
_ONLY_IF_GUARDED = " WHERE EXISTS (SELECT 1 FROM guard)"


@lru_cache(maxsize=8)
def _pg_insert_from_arrays(table: Table) -> tuple[str, tuple[str, ...]]:
    """A data-modifying CTE inserting ``table``'s rows from one array per column, and
    the column order its parameters follow. Arrays are cast to the column's type without
    its length (``VARCHAR``, not ``VARCHAR(36)``): an explicit cast to a length would
    silently cut an overlong value, where the insert's own assignment refuses it."""
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    columns = tuple(column.name for column in table.columns)
    casts = ", ".join(
        f"?::{re.sub(r'[(][^)]*[)]', '', column.type.compile(dialect=dialect))}[]"
        for column in table.columns
    )
    return (
        f"new_{table.name} AS (INSERT INTO {table.name} ({', '.join(columns)}) "
        f"SELECT * FROM unnest({casts}){{only_if}})",
        columns,
    )


@lru_cache(maxsize=8)
def _insert_converted(
    table: Table, dialect: Dialect
) -> tuple[str, Callable[[dict[str, Any]], tuple[Any, ...]], tuple[_Conversion, ...]]:
    """An INSERT of every column of ``table``, a function giving a row's values in the
    order its parameters follow, and the conversions Core would apply for ``dialect``
    (SQLite keeps dates as text), as (position, function) for the columns that need one:
    the values Core would bind, without building a Core statement per batch
    (Session.execute and its per-row parameter processing cost more than the insert
    itself; benchmarks/load/RESULTS.md, eighth pass).

    Byte columns are bound as they are: the drivers take ``bytes`` for a BLOB / bytea,
    and SQLAlchemy's own processor only wraps each value again (``sqlite3.Binary``) at a
    function call per value (benchmarks/load/RESULTS.md, twelfth pass)."""
    columns = tuple(column.name for column in table.columns)
    converters = []
    for position, column in enumerate(table.columns):
        if isinstance(column.type, LargeBinary):
            continue
        convert = column.type.dialect_impl(dialect).bind_processor(dialect)
        if convert is not None:
            converters.append((position, convert))
    statement = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({placeholders(len(columns))})"
    )
    return statement, _values_in_order(columns), tuple(converters)


def _values_in_order(columns: tuple[str, ...]) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    if len(columns) == 1:  # itemgetter of one name gives the value, not a 1-tuple
        only = columns[0]
        return lambda row: (row[only],)
    return itemgetter(*columns)


def _head_row(head: log_pb2.SignedTreeHead) -> tuple[int, bytes, int, bytes, str]:
    timestamp_ms = head.timestamp.seconds * 1000 + head.timestamp.nanos // 1_000_000
    return (head.tree_size, head.root_hash, timestamp_ms, head.signature,
            head.authority_key_id)


def _head_message(
    tree_size: int, root_hash: bytes, timestamp_ms: int, signature: bytes, key_id: str
) -> log_pb2.SignedTreeHead:
    timestamp = Timestamp(
        seconds=timestamp_ms // 1000, nanos=(timestamp_ms % 1000) * 1_000_000
    )
    return log_pb2.SignedTreeHead(
        tree_size=tree_size,
        root_hash=root_hash,
        timestamp=timestamp,
        signature=signature,
        authority_key_id=key_id,
    )
