"""The load benchmark's summary over rounds (benchmarks/load/run.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def _load_benchmark() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "nearmiss_load_benchmark", ROOT / "benchmarks" / "load" / "run.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_one_round_is_reported_as_it_is() -> None:
    bench = _load_benchmark()
    only = {"reports_per_s": 900.0, "ratio": 0.3, "postgres": {"ratio": 0.2}}
    assert bench.median_of_rounds([only]) == only


def test_several_rounds_report_each_figure_median_and_keep_the_rounds() -> None:
    bench = _load_benchmark()
    rounds = [
        {"reports_per_s": 800.0, "ratio": 0.25, "postgres": {"ratio": 0.20, "p99_ms": 40.0}},
        {"reports_per_s": 1200.0, "ratio": 0.35, "postgres": {"ratio": 0.30, "p99_ms": 30.0}},
        {"reports_per_s": 1000.0, "ratio": 0.27, "postgres": {"ratio": 0.22, "p99_ms": 90.0}},
    ]
    summary = bench.median_of_rounds(rounds)
    assert summary["reports_per_s"] == 1000.0
    assert summary["ratio"] == 0.27
    assert summary["postgres"] == {"ratio": 0.22, "p99_ms": 40.0}
    assert summary["rounds"] == rounds


def test_a_phase_missing_from_one_round_is_left_out_of_the_medians() -> None:
    bench = _load_benchmark()
    rounds = [{"ratio": 0.3, "postgres": {"ratio": 0.2}}, {"ratio": 0.4}]
    summary = bench.median_of_rounds(rounds)
    assert "postgres" not in summary
    assert summary["ratio"] == 0.35
