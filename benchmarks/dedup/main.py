"""Entry point of ``benchmarks/dedup/run``: the last line printed is one JSON object.

Rules: data is read from ``<repo>/../shared/data/dedup`` unless ``--data`` says
otherwise, and never copied into the repo; chunk vectors are cached under
``benchmarks/dedup/.cache/`` (git-ignored) keyed by model and chunk text; ``--quick``
subsamples big files, runs ablations on the smallest file and the speed benchmark at
10k and 100k vectors only (full: 10k, 100k, 1M).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "dedup")
    parser.add_argument("--no-speed", action="store_true", help="quality only")
    parser.add_argument("--speed-only", action="store_true")
    parser.add_argument("--tune-baselines", action="store_true")
    args = parser.parse_args(argv)

    import quality
    import speed

    if args.tune_baselines:
        print(json.dumps(quality.tune_baselines(args.data)))
        return 0
    embedder, truncating = quality.make_embedders(HERE / ".cache" / "chunks")
    started = time.perf_counter()
    result: dict[str, Any] = {"quick": args.quick, "device": embedder.device}
    if not args.speed_only:
        result.update(
            quality.evaluate(args.data, embedder, quick=args.quick, truncating=truncating, log=log)
        )
    if not args.no_speed:
        sizes = [10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000]
        result["speed"] = speed.run(sizes, log)
        from data import load_dir

        from dedup import MiniLMEmbedder

        items = [i for f in load_dir(args.data) for i in f.items][: 200 if args.quick else 1000]
        uncached = MiniLMEmbedder()  # no cache: the model really runs
        result["end_to_end"] = speed.bench_end_to_end(uncached, items, log)
    result["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
