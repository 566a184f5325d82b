"""The load benchmark's summary over rounds (benchmarks/load/run.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

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


def test_slices_cover_every_request_once_in_order() -> None:
    bench = _load_benchmark()
    tls = object()
    work = [bench.NodeWork(f"lab-{n}", tls, [f"{n}-{i}" for i in range(10)]) for n in range(3)]
    slices = bench.sliced(work, 3)
    assert [len(part[0].requests) for part in slices] == [3, 4, 3]
    for n in range(3):
        assert [r for part in slices for r in part[n].requests] == list(work[n].requests)
        assert all(part[n].lab_id == f"lab-{n}" and part[n].tls is tls for part in slices)


def test_a_slice_too_small_for_its_untimed_call_is_refused() -> None:
    bench = _load_benchmark()
    work = [bench.NodeWork("lab-0", object(), ["a", "b", "c"])]
    with pytest.raises(SystemExit, match="at least 2 reports a node"):
        bench.sliced(work, 2)


def test_slices_of_one_target_add_up() -> None:
    bench = _load_benchmark()
    parts = [
        bench.LoadResult(calls=100, seconds=0.5, latencies_ms=[1.0] * 100, server_cpu_s=0.2),
        bench.LoadResult(calls=300, seconds=1.5, latencies_ms=[3.0] * 300, server_cpu_s=0.4,
                         errors=["lab-0: UNAVAILABLE"]),
    ]
    whole = bench.combined(parts)
    assert (whole.calls, whole.seconds, whole.per_s) == (400, 2.0, 200.0)
    assert whole.server_cpu_s == pytest.approx(0.6)
    assert whole.percentile_ms(50) == 3.0 and whole.errors == ["lab-0: UNAVAILABLE"]


def test_cpu_per_call_is_each_side_in_ms_per_call() -> None:
    bench = _load_benchmark()
    result = bench.LoadResult(calls=400, seconds=1.0, latencies_ms=[], server_cpu_s=0.2,
                              client_cpu_s=0.1, database_cpu_s=0.04)
    assert bench.cpu_per_call(result) == {"server": 0.5, "client": 0.25, "database": 0.1}


def test_the_gap_splits_into_answering_late_and_ingest_work() -> None:
    bench = _load_benchmark()
    cpu = {
        "echo": {"server": 0.3, "client": 0.25, "database": 0.0},
        "echo_delayed": {"server": 0.45, "client": 0.33, "database": 0.0},
        "postgres": {"server": 1.3, "client": 0.35, "database": 0.2},
    }
    gap = bench.gap_per_call(cpu, "postgres")
    assert gap == {"answering_late": 0.23, "ingest_work": 1.07}
    # The two parts are the whole gap: the target less the echo.
    assert sum(gap.values()) == pytest.approx(1.85 - 0.55)


def _load_echo_server() -> ModuleType:
    sys.path.insert(0, str(ROOT))
    spec = importlib.util.spec_from_file_location(
        "nearmiss_echo_server", ROOT / "benchmarks" / "load" / "echo_server.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_echo_answers_the_request_bytes_at_once_without_a_delay() -> None:
    slept: list[float] = []
    handler = _load_echo_server().echo_handler(0.0, sleep=slept.append)
    assert handler(b"signed report", None) == b"signed report"
    assert slept == []


def test_the_delayed_echo_sleeps_its_delay_in_every_call_then_answers_the_bytes() -> None:
    slept: list[float] = []
    handler = _load_echo_server().echo_handler(0.0045, sleep=slept.append)
    assert [handler(b"one", None), handler(b"two", None)] == [b"one", b"two"]
    assert slept == [0.0045, 0.0045]
