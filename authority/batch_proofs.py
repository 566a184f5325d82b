"""Inclusion proofs for a whole batch of leaves against one tree size, in one query.

Why: ``TransparencyLog.inclusion_proof`` reads the tree size and then the proof's nodes,
two statements per leaf; a group-committed batch needs a proof for every leaf against
the same head, and most of those proofs share their nodes (the old frontier on the left,
the batch's own subtrees on the right).

Rules:

* The proof is PATH(m, D[n]) of RFC 9162 §2.1.3.1, computed by the same tree arithmetic
  as the log (``authority.log.merkle``), so it is identical to the log's own proof.
* Stored nodes never change once committed (``authority.log.tables``), so node hashes
  are cached per process — but only once the caller's transaction committed
  (``remember``): a node read inside a transaction that rolls back may never exist.
* Nodes the caller just wrote or already holds (``TransparencyLog.append_batch``: the old
  frontier and the batch's new subtrees) are passed in rather than read back; after a
  group commit most proofs need no query at all.
* Nodes are fetched by primary key, grouped by level (``level = ? AND node_index IN
  (...)``), which SQLite and PostgreSQL both answer from the key without a scan.
"""

from __future__ import annotations

from collections.abc import Iterable

from authority.driver_sql import DriverSql, Scope, placeholders
from authority.log import LogCorruptError
from authority.log.merkle import NodeId, inclusion_ranges, nodes_for, range_hashes
from authority.log.tables import NODE_TABLE
from nearmiss.v1 import log_pb2

# A tree of 2**40 leaves has a path of 40 nodes: the cache holds the hot frontier and
# the newest subtrees many times over; it is dropped whole when full (cheap, rare).
CACHE_LIMIT = 50_000
_LEVELS_PER_QUERY = 64


class BatchProofs:
    """Per-process node cache plus batch proof computation (see the module rules)."""

    def __init__(self) -> None:
        self._committed: dict[NodeId, bytes] = {}

    def proofs(
        self,
        session: Scope,
        leaf_indexes: Iterable[int],
        tree_size: int,
        in_transaction: dict[NodeId, bytes] | None = None,
    ) -> tuple[dict[int, log_pb2.InclusionProof], dict[NodeId, bytes]]:
        """Proofs by leaf index, and the nodes used that were not cached yet (pass them
        to ``remember`` after the transaction commits). ``in_transaction``: nodes the
        caller knows hold in this transaction (``AppendedBatch.nodes``), not read again."""
        ranges = {i: inclusion_ranges(i, tree_size) for i in set(leaf_indexes)}
        wanted = nodes_for(r for per_leaf in ranges.values() for r in per_leaf)
        given = in_transaction or {}
        known = {n: self._committed[n] for n in wanted if n in self._committed}
        new_here = {n: given[n] for n in wanted if n not in known and n in given}
        known.update(new_here)
        missing = [n for n in wanted if n not in known]
        fetched = self._fetch(session, missing)
        known.update(fetched)
        fetched.update(new_here)
        lost = [n for n in missing if n not in fetched]
        if lost:
            raise LogCorruptError(
                f"{len(lost)} stored tree nodes are missing, first (level, index) = {lost[0]}"
            )
        proofs = {
            i: log_pb2.InclusionProof(
                leaf_index=i,
                tree_size=tree_size,
                audit_path=range_hashes(per_leaf, known.__getitem__),
            )
            for i, per_leaf in ranges.items()
        }
        return proofs, fetched

    def remember(self, nodes: dict[NodeId, bytes]) -> None:
        """Cache nodes read in a transaction that has committed."""
        if len(self._committed) + len(nodes) > CACHE_LIMIT:
            self._committed.clear()
        self._committed.update(nodes)

    @staticmethod
    def _fetch(session: Scope, nodes: list[NodeId]) -> dict[NodeId, bytes]:
        found: dict[NodeId, bytes] = {}
        if not nodes:
            return found
        by_level: dict[int, list[int]] = {}
        for level, index in nodes:
            by_level.setdefault(level, []).append(index)
        levels = sorted(by_level)
        sql = DriverSql(session)
        for start in range(0, len(levels), _LEVELS_PER_QUERY):
            chosen = levels[start : start + _LEVELS_PER_QUERY]
            terms = " OR ".join(
                f"(level = ? AND node_index IN ({placeholders(len(by_level[level]))}))"
                for level in chosen
            )
            params = [value for level in chosen for value in (level, *by_level[level])]
            rows = sql.rows(
                f"SELECT level, node_index, hash FROM {NODE_TABLE.name} WHERE {terms}", params
            )
            found.update(((int(r[0]), int(r[1])), bytes(r[2])) for r in rows)
        return found
