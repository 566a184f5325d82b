"""The ingest process's own work, without gRPC: what one report costs to check and store.

`benchmarks/load/store_only.py [--engine sqlite|postgres] [--reports N] [--batch B]`

Runs the ingest process's code (``authority.ingest_batches.BatchIngest``) in this
process on the load benchmark's pre-signed reports, in batches of exactly B, and reports
per report: wall time, this process's CPU, and the CPU of this machine's PostgreSQL
server processes (which the end-to-end benchmark's server figure leaves out). Batches
of a fixed size make before/after comparisons of the store itself far steadier than the
end-to-end ratio on a shared machine (benchmarks/load/RESULTS.md, seventh pass). The
last line is a JSON object.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import (
    DEFAULT_POSTGRES,
    database_cpu_seconds,
    make_network,
    node_work,
    postgres_database,
)

from authority.app import ingest_settings
from authority.config import AuthorityConfig
from authority.ingest_batches import BatchIngest
from authority.ingest_wire import Request
from nearmiss.identity import Party, Role

LABS = 4
WARM_UP_BATCHES = 4


def requests_for(directory: Path, database_url: str, reports: int) -> tuple[Path, list[Request]]:
    network = make_network(directory, LABS, database_url)
    requests: list[Request] = []
    for work in node_work(network, max(1, reports // LABS)):
        party = Party(work.lab_id, Role.LAB)
        for request in work.requests:
            requests.append((len(requests), party, request.signed_report.SerializeToString()))
    return network.authority_config_path(), requests


def measure(database_url: str, reports: int, batch: int, scratch: Path) -> dict[str, float]:
    config_path, requests = requests_for(scratch / "network", database_url, reports)
    ingest = BatchIngest.open(ingest_settings(AuthorityConfig.load(config_path)))
    try:
        warm_up, measured = requests[: batch * WARM_UP_BATCHES], requests[batch * WARM_UP_BATCHES :]
        for start in range(0, len(warm_up), batch):
            ingest.answer_group(warm_up[start : start + batch])
        wall, cpu, database = time.perf_counter(), time.process_time(), database_cpu_seconds()
        for start in range(0, len(measured), batch):
            answers = ingest.answer_group(measured[start : start + batch])
            refused = [answer for _, answer in answers if not isinstance(answer, bytes)]
            if refused:
                raise RuntimeError(f"a report was not stored: {refused[0]!r}")
        wall = time.perf_counter() - wall
        cpu = time.process_time() - cpu
        database = database_cpu_seconds() - database
    finally:
        ingest.close()
    count = max(1, len(measured))
    return {
        "reports": len(measured),
        "wall_us_per_report": round(wall * 1e6 / count, 1),
        "cpu_us_per_report": round(cpu * 1e6 / count, 1),
        "database_cpu_us_per_report": round(database * 1e6 / count, 1),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--reports", type=int, default=2_400)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="admin URL")
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="nearmiss-store-only-"))
    try:
        if args.engine == "sqlite":
            figures = measure(f"sqlite:///{scratch / 'authority.db'}", args.reports,
                              args.batch, scratch)
        else:
            with postgres_database(args.postgres) as url:
                if url is None:
                    raise SystemExit(f"no PostgreSQL server answers at {args.postgres}")
                figures = measure(url, args.reports, args.batch, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(json.dumps({"engine": args.engine, "batch": args.batch, **figures}))


if __name__ == "__main__":
    main()
