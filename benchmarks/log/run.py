"""Transparency-log benchmark: append speed and proof time as the log grows.

Fills the log to each checkpoint (1k, 10k, 100k, 1M leaves) with batched appends, and at
each checkpoint measures:

* single-leaf-transaction appends/s (one commit per leaf, as ingest does);
* median time to build an inclusion proof and a consistency proof (random leaves and
  sizes, ``--proofs`` of each), and how many stored nodes each one reads;
* the same inclusion proof computed by scanning every leaf hash (the O(n) baseline the
  node table avoids), at checkpoints up to ``--scan-max``.

Runs on SQLite (the authority's real engine settings: WAL, synchronous=FULL) and on
PostgreSQL (a throw-away schema). Leaves are synthetic 200-byte blobs: the log hashes a
leaf once, so its content does not change any figure here. The last line printed is a
JSON object; ``appends_per_s`` and ``proof_ms`` are SQLite's at each leaf count.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from authority.database import make_engine
from authority.log import TransparencyLog, create_tables
from authority.log.merkle import Frontier, consistency_ranges, inclusion_ranges, nodes_for
from authority.log.reference import path as reference_path
from authority.log.tables import LEAF_TABLE
from nearmiss.proofs import verify_consistency, verify_inclusion
from nearmiss.signing import SigningKey

FULL_SIZES = (1_000, 10_000, 100_000, 1_000_000)
QUICK_LIMIT = {"sqlite": 100_000, "postgresql": 10_000}
FILL_BATCH = 10_000
BASELINE_SIZE = 1_000
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def leaf(i: int) -> bytes:
    return i.to_bytes(8, "big") * 25


@contextmanager
def sqlite_engine() -> Iterator[Engine]:
    with tempfile.TemporaryDirectory(prefix="nm-log-bench-") as directory:
        engine = make_engine(f"sqlite:///{Path(directory) / 'authority.db'}")
        create_tables(engine)
        try:
            yield engine
        finally:
            engine.dispose()


@contextmanager
def postgres_engine(url: str) -> Iterator[Engine]:
    admin = create_engine(url)
    schema = f"nm_bench_log_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        create_tables(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 3)


def timed(call: Callable[[], Any]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def fill(engine: Engine, log: TransparencyLog, start: int, end: int) -> float:
    """Append leaves [start, end) in batches; returns the seconds it took."""
    began = time.perf_counter()
    for low in range(start, end, FILL_BATCH):
        with Session(engine) as session:
            log.append_many(session, [leaf(i) for i in range(low, min(end, low + FILL_BATCH))])
            session.commit()
    return time.perf_counter() - began


def single_appends(engine: Engine, log: TransparencyLog, start: int, count: int) -> float:
    """Appends/s with one transaction (and commit) per leaf."""
    began = time.perf_counter()
    for i in range(start, start + count):
        with Session(engine) as session:
            log.append(session, leaf(i))
            session.commit()
    return count / (time.perf_counter() - began)


def measure_proofs(
    engine: Engine, log: TransparencyLog, size: int, count: int, rng: random.Random
) -> dict[str, float]:
    inclusion: list[float] = []
    baseline: list[float] = []
    consistency: list[float] = []
    inclusion_nodes: list[int] = []
    consistency_nodes: list[int] = []
    with Session(engine) as session:
        head = log.signed_tree_head(session)
        session.commit()
        root = head.root_hash
        for _ in range(count):
            # Baseline in the same moment: a proof in the log's first 1,000 leaves, so a
            # burst of load on the shared machine hits both and cancels in the ratio.
            small = rng.randrange(BASELINE_SIZE)
            began = time.perf_counter()
            log.inclusion_proof(session, small, BASELINE_SIZE)
            baseline.append(time.perf_counter() - began)
            index = rng.randrange(size)
            began = time.perf_counter()
            proof = log.inclusion_proof(session, index, size)
            inclusion.append(time.perf_counter() - began)
            inclusion_nodes.append(len(nodes_for(inclusion_ranges(index, size))))
            leaf_hash = session.execute(
                select(LEAF_TABLE.c.leaf_hash).where(LEAF_TABLE.c.leaf_index == index)
            ).scalar_one()
            verify_inclusion(bytes(leaf_hash), index, size, list(proof.audit_path), root)
        firsts = [rng.randrange(1, size) for _ in range(count)]
        for first in firsts:
            began = time.perf_counter()
            log.consistency_proof(session, first, size)
            consistency.append(time.perf_counter() - began)
            consistency_nodes.append(len(nodes_for(consistency_ranges(first, size))))
        sign = timed(lambda: log.signed_tree_head(session))
        session.rollback()
    check_consistency_once(engine, log, firsts[0], size)
    return {
        "inclusion_ms": median_ms(inclusion),
        "inclusion_p95_ms": round(sorted(inclusion)[int(0.95 * count)] * 1000, 3),
        "inclusion_1k_tree_ms": median_ms(baseline),
        "inclusion_vs_1k_tree": round(
            statistics.median(inclusion) / statistics.median(baseline), 2
        ),
        "consistency_ms": median_ms(consistency),
        "nodes_read_inclusion": round(statistics.mean(inclusion_nodes), 1),
        "nodes_read_consistency": round(statistics.mean(consistency_nodes), 1),
        "tree_head_ms": round(sign * 1000, 3),
    }


def check_consistency_once(engine: Engine, log: TransparencyLog, first: int, size: int) -> None:
    """The benchmark's proofs must verify, or its numbers mean nothing."""
    with Session(engine) as session:
        rows = session.execute(
            select(LEAF_TABLE.c.leaf_hash)
            .where(LEAF_TABLE.c.leaf_index < first)
            .order_by(LEAF_TABLE.c.leaf_index)
        ).scalars()
        first_root = Frontier.empty().append([bytes(r) for r in rows])[0].root()
        proof = log.consistency_proof(session, first, size)
        second_root = log.root_hash(session) if log.size(session) == size else None
        if second_root is not None:
            verify_consistency(first, size, first_root, second_root, list(proof.proof_hashes))


def scan_baseline(engine: Engine, size: int, rng: random.Random, repeats: int = 3) -> float:
    """An inclusion proof the naive way: read every leaf hash, compute RFC 9162 PATH."""
    samples = []
    for _ in range(repeats):
        index = rng.randrange(size)
        began = time.perf_counter()
        with Session(engine) as session:
            hashes = [
                bytes(h)
                for h in session.execute(
                    select(LEAF_TABLE.c.leaf_hash)
                    .where(LEAF_TABLE.c.leaf_index < size)
                    .order_by(LEAF_TABLE.c.leaf_index)
                ).scalars()
            ]
        reference_path(index, hashes)
        samples.append(time.perf_counter() - began)
    return median_ms(samples)


def run_backend(
    name: str, engine: Engine, sizes: list[int], args: argparse.Namespace
) -> dict[str, Any]:
    log = TransparencyLog(signing_key=SigningKey.generate(), authority_id="bench")
    rng = random.Random(20261122)
    results: dict[str, Any] = {}
    filled = 0
    fill_seconds = 0.0
    for size in sizes:
        fill_seconds += fill(engine, log, filled, size)
        filled = size
        row: dict[str, Any] = {"leaves": size}
        row.update(measure_proofs(engine, log, size, args.proofs, rng))
        if size <= args.scan_max:
            row["scan_baseline_ms"] = scan_baseline(engine, size, rng)
            row["scan_over_proof"] = round(row["scan_baseline_ms"] / row["inclusion_ms"], 1)
        row["appends_per_s"] = round(single_appends(engine, log, filled, args.singles), 1)
        filled += args.singles
        results[str(size)] = row
        print(f"{name:10s} {json.dumps(row)}", flush=True)
    return {
        "checkpoints": results,
        "fill_leaves_per_s": round(filled / fill_seconds, 1) if fill_seconds else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="SQLite to 100k, PostgreSQL 10k")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--postgres-url", default=os.environ.get("NEARMISS_BENCH_PG", DEFAULT_PG))
    parser.add_argument("--proofs", type=int, default=200, help="proofs timed per checkpoint")
    parser.add_argument("--singles", type=int, default=300, help="single-leaf appends timed")
    parser.add_argument("--scan-max", type=int, default=100_000)
    args = parser.parse_args()

    report: dict[str, Any] = {"quick": args.quick, "backends": {}}
    for backend in args.backends.split(","):
        limit = QUICK_LIMIT[backend] if args.quick else FULL_SIZES[-1]
        sizes = [s for s in FULL_SIZES if s <= limit]
        opener = sqlite_engine() if backend == "sqlite" else postgres_engine(args.postgres_url)
        with opener as engine:
            report["backends"][backend] = run_backend(backend, engine, sizes, args)

    headline = report["backends"].get("sqlite") or next(iter(report["backends"].values()))
    points = headline["checkpoints"]
    largest = points[max(points, key=int)]
    report["appends_per_s"] = largest["appends_per_s"]
    report["proof_ms"] = {k: v["inclusion_ms"] for k, v in points.items()}
    report["consistency_ms"] = {k: v["consistency_ms"] for k, v in points.items()}
    first = points[min(points, key=int)]
    report["proof_growth"] = round(largest["inclusion_ms"] / first["inclusion_ms"], 2)
    report["proof_vs_1k_tree"] = {k: v["inclusion_vs_1k_tree"] for k, v in points.items()}
    print(json.dumps(report, separators=(",", ":")))


if __name__ == "__main__":
    main()
