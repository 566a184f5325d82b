"""The load generator: N nodes, each a thread with its own mTLS channel and certificate,
sending pre-signed reports one after another and timing every call.

Rules that keep the two targets comparable: both go through the same code path (the
node's ``secure_channel`` and one unary multicallable, request serialized the same way),
the same requests in the same order, the same concurrency. Each node makes one untimed
call first (TLS handshake, channel set-up); the clock starts when every node is ready
and stops when the last one finishes. Reports are signed before the clock starts: the
figure is the authority's ingest, not the lab's signing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc

from nearmiss.config import TlsFiles
from nearmiss.v1 import authority_pb2
from node.client import secure_channel

SUBMIT_METHOD = "/nearmiss.v1.AuthorityService/SubmitReport"
DEADLINE_S = 60.0


@dataclass(frozen=True)
class NodeWork:
    lab_id: str
    tls: TlsFiles
    requests: Sequence[authority_pb2.SubmitReportRequest]


@dataclass
class LoadResult:
    calls: int
    seconds: float
    latencies_ms: list[float]
    errors: list[str] = field(default_factory=list)
    responses: list[Any] = field(default_factory=list)
    server_cpu_s: float = 0.0
    client_cpu_s: float = 0.0
    server_children_cpu_s: float = 0.0
    database_cpu_s: float = 0.0

    @property
    def per_s(self) -> float:
        return self.calls / self.seconds if self.seconds > 0 else 0.0

    def percentile_ms(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return 0.0
        rank = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
        return ordered[rank]


def run_load(
    nodes: Sequence[NodeWork],
    address: str,
    *,
    method: str,
    response_deserializer: Callable[[bytes], Any],
    keep_responses: bool = False,
) -> LoadResult:
    """Drive ``method`` at ``address`` from every node at once; see the module rules."""
    ready = threading.Barrier(len(nodes) + 1)
    done: list[float] = []
    latencies: list[list[float]] = [[] for _ in nodes]
    responses: list[list[Any]] = [[] for _ in nodes]
    errors: list[str] = []
    lock = threading.Lock()

    def node_loop(n: int, work: NodeWork) -> None:
        channel = secure_channel(address, work.tls)
        call = channel.unary_unary(
            method,
            request_serializer=authority_pb2.SubmitReportRequest.SerializeToString,
            response_deserializer=response_deserializer,
        )
        try:
            first, rest = work.requests[0], work.requests[1:]
            try:
                call(first, timeout=DEADLINE_S)
            finally:
                ready.wait()
            mine = latencies[n]
            for request in rest:
                started = time.perf_counter()
                try:
                    response = call(request, timeout=DEADLINE_S)
                except grpc.RpcError as error:
                    with lock:
                        errors.append(f"{work.lab_id}: {error.code().name}: {error.details()}")
                    continue
                mine.append((time.perf_counter() - started) * 1000)
                if keep_responses:
                    responses[n].append(response)
            with lock:
                done.append(time.perf_counter())
        except Exception as error:
            with lock:
                errors.append(f"{work.lab_id}: {type(error).__name__}: {error}")
        finally:
            channel.close()

    threads = [
        threading.Thread(target=node_loop, args=(n, w), name=f"node-{w.lab_id}", daemon=True)
        for n, w in enumerate(nodes)
    ]
    for thread in threads:
        thread.start()
    ready.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    finished = max(done) if done else time.perf_counter()
    all_latencies = [x for per_node in latencies for x in per_node]
    return LoadResult(
        calls=len(all_latencies),
        seconds=finished - started,
        latencies_ms=all_latencies,
        errors=errors,
        responses=[r for per_node in responses for r in per_node],
    )


def combined(results: Sequence[LoadResult]) -> LoadResult:
    """Slices of one target's load as one result: calls, time and CPU add up."""
    return LoadResult(
        calls=sum(r.calls for r in results),
        seconds=sum(r.seconds for r in results),
        latencies_ms=[x for r in results for x in r.latencies_ms],
        errors=[e for r in results for e in r.errors],
        responses=[x for r in results for x in r.responses],
        server_cpu_s=sum(r.server_cpu_s for r in results),
        client_cpu_s=sum(r.client_cpu_s for r in results),
        server_children_cpu_s=sum(r.server_children_cpu_s for r in results),
        database_cpu_s=sum(r.database_cpu_s for r in results),
    )
