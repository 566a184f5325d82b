"""The transparency log's tables (prefix ``nm_log_``), identical on SQLite and PostgreSQL.

Rules:

* ``nm_log_state`` has exactly one row (id 1): the tree size and the frontier (hashes of
  the perfect subtrees that make up the tree, see ``authority.log.merkle``). Every append
  starts by updating this row, which is what serializes appenders: PostgreSQL holds the
  row lock until commit, and on SQLite the update takes the database write lock. The row
  is inserted when the table is created, so concurrent first appends never race to make it.
* ``nm_log_leaf`` maps leaf hash to index (unique both ways): the lookup behind receipts
  and ``GetInclusionProof`` by hash, and a last guard against logging one leaf twice.
* ``nm_log_node`` holds every perfect subtree's hash, leaves being level 0. Rows are only
  ever inserted; an append writes O(1) amortized rows and a proof reads O(log n) by key.
* ``nm_log_tree_head`` keeps every tree head the authority signed and committed. Several
  heads may exist for one size (different timestamps); none is ever updated or deleted.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, LargeBinary, event
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Field, SQLModel

# Autoincrement ids must be INTEGER on SQLite (rowid alias) and may be BIGINT elsewhere.
_BIG_ID = BigInteger().with_variant(Integer(), "sqlite")

STATE_ROW_ID = 1


class LogState(SQLModel, table=True):
    __tablename__ = "nm_log_state"

    id: int = Field(primary_key=True)
    tree_size: int = Field(sa_type=BigInteger)
    frontier: bytes = Field(sa_type=LargeBinary)


class LogLeaf(SQLModel, table=True):
    __tablename__ = "nm_log_leaf"

    leaf_index: int = Field(
        primary_key=True, sa_type=BigInteger, sa_column_kwargs={"autoincrement": False}
    )
    leaf_hash: bytes = Field(sa_type=LargeBinary, unique=True)


class LogNode(SQLModel, table=True):
    __tablename__ = "nm_log_node"
    # On SQLite, store rows in the primary-key b-tree itself (no rowid, no second index).
    __table_args__ = {"sqlite_with_rowid": False}

    level: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    node_index: int = Field(
        primary_key=True, sa_type=BigInteger, sa_column_kwargs={"autoincrement": False}
    )
    hash: bytes = Field(sa_type=LargeBinary)


class LogTreeHead(SQLModel, table=True):
    __tablename__ = "nm_log_tree_head"

    id: int | None = Field(default=None, primary_key=True, sa_type=_BIG_ID)
    tree_size: int = Field(sa_type=BigInteger, index=True)
    root_hash: bytes = Field(sa_type=LargeBinary)
    timestamp_ms: int = Field(sa_type=BigInteger)
    signature: bytes = Field(sa_type=LargeBinary)
    authority_key_id: str


STATE_TABLE = LogState.__table__  # type: ignore[attr-defined]
LEAF_TABLE = LogLeaf.__table__  # type: ignore[attr-defined]
NODE_TABLE = LogNode.__table__  # type: ignore[attr-defined]
HEAD_TABLE = LogTreeHead.__table__  # type: ignore[attr-defined]
TABLES = (STATE_TABLE, LEAF_TABLE, NODE_TABLE, HEAD_TABLE)

@event.listens_for(STATE_TABLE, "after_create")
def _insert_empty_tree(_table: object, connection: Connection, **_: object) -> None:
    """The empty tree: size 0, no frontier hashes. Runs once, when the table is created."""
    connection.execute(STATE_TABLE.insert().values(id=STATE_ROW_ID, tree_size=0, frontier=b""))


def create_tables(engine: Engine) -> None:
    """Create the log's tables if missing (``SQLModel.metadata.create_all`` does it too)."""
    SQLModel.metadata.create_all(engine, tables=list(TABLES))
