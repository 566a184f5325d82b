"""Time to alert, end to end, over real processes on loopback.

Two institutes with separate dev PKIs, federated (pinned CAs): A (eu-ai-office, with
case linking on: the real sentence-transformers model) and B (us-caisi). Two labs of
A file over mutual TLS. Per trial: lab-aurora files report 1 of an incident; then
lab-borealis files report 2, another source's account of the same incident (pairs from
the labelled OSV advisories in shared/data/dedup), once report 1 is linked into its
case (so the case exists, as the issue's scenario says). The clock runs from just before
lab-borealis's SubmitReport until the multi-lab alert arrives (a) at lab-aurora over
SubscribeAlerts from A and (b) at the peer institute B, read by B's analyst over
SubscribeAlerts from B — i.e. ingest, log append, embedding, linking, routing, safe
harbor, outbox, signing with tree head and inclusion proof, mTLS to B, verification,
storage and delivery at B. The last line printed is a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
from sqlmodel import Session, col, select

from authority.cases.tables import CaseMemberRow
from authority.config import AuthorityConfig
from authority.database import open_database
from authority.records import ReportRecord
from nearmiss.model import IncidentReport
from nearmiss.signed_report import sign_report
from nearmiss.signing import SigningKey
from nearmiss.v1 import authority_pb2, authority_pb2_grpc
from tests.integration.federation_net import Institute, federate, make_institute
from tests.integration.network import start_authority

REPO = Path(__file__).resolve().parents[2]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "dedup"
ARRIVAL_TIMEOUT_S = 20.0
A_EXTRA = "\n[dashboard]\nenabled = false\n\n[disclosure]\nenabled = false\n"
B_EXTRA = A_EXTRA + "\n[dedup]\nenabled = false\n"


def incident_pairs(data: Path, count: int, seed: int = 7) -> list[tuple[str, str]]:
    """Two texts of one event per pair, from distinct multi-item OSV groups."""
    groups: dict[str, list[str]] = {}
    with (data / "osv.jsonl").open() as handle:
        for line in handle:
            item = json.loads(line)
            text = " ".join(item["text"].split())
            if 120 <= len(text) <= 3000:
                groups.setdefault(item["group"], []).append(text)
    pairs = [(texts[0], texts[1]) for texts in groups.values() if len(texts) >= 2]
    pairs = [(a, b) for a, b in pairs if a != b] or pairs
    random.Random(seed).shuffle(pairs)
    if len(pairs) < count:
        raise SystemExit(f"only {len(pairs)} incident pairs in {data}, need {count}")
    return pairs[:count]


def report(lab_id: str, text: str, marker: str) -> IncidentReport:
    now = datetime.now(UTC)
    title = f"{text[:120].rstrip()} [{marker}]"
    return IncidentReport.model_validate(
        {
            "report_id": str(uuid.uuid4()),
            "lab_id": lab_id,
            "kind": "INCIDENT",
            "title": title,
            "summary": text,
            "detection": "EXTERNAL",
            # OTHER, not CYBER: the default safe-harbor pack holds cyber detail from labs
            # for 72 h, and this benchmark times what labs receive.
            "harm_domains": ["OTHER"],
            "severity": 3,
            "detected_at": now - timedelta(hours=1),
            "reported_at": now,
        }
    )


def channel(institute: Institute, party: str, address: str) -> grpc.Channel:
    root = institute.network.directory
    return grpc.secure_channel(
        address,
        grpc.ssl_channel_credentials(
            root_certificates=(root / "ca" / "ca.pem").read_bytes(),
            private_key=(root / party / "tls.key").read_bytes(),
            certificate_chain=(root / party / "tls.pem").read_bytes(),
        ),
    )


@dataclass
class Watcher:
    """Records when each marked alert arrives on one subscription."""

    name: str
    arrivals: dict[str, float] = field(default_factory=dict)
    # Wall-clock arrival and alert id, to split the time at the moment the alert was raised.
    wall: dict[str, float] = field(default_factory=dict)
    alert_ids: dict[str, str] = field(default_factory=dict)
    events: dict[str, threading.Event] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def event(self, marker: str) -> threading.Event:
        with self.lock:
            return self.events.setdefault(marker, threading.Event())

    def run(self, stub: authority_pb2_grpc.AuthorityServiceStub, stop: threading.Event) -> None:
        stream = stub.SubscribeAlerts(authority_pb2.SubscribeAlertsRequest())
        stop_watch = threading.Thread(target=lambda: (stop.wait(), stream.cancel()), daemon=True)
        stop_watch.start()
        try:
            for alert in stream:
                now, wall = time.monotonic(), time.time()
                if "[" in alert.title and alert.title.endswith("]"):
                    marker = alert.title.rsplit("[", 1)[1][:-1]
                    with self.lock:
                        self.arrivals.setdefault(marker, now)
                        self.wall.setdefault(marker, wall)
                        self.alert_ids.setdefault(marker, alert.alert_id)
                    self.event(marker).set()
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.CANCELLED:
                print(f"{self.name}: subscription ended: {error.code().name}", file=sys.stderr)


def raised_times(institute: Institute, alert_ids: list[str]) -> dict[str, float]:
    """When the origin raised each alert (its wall clock, same host)."""
    from authority.alerts.snapshot import as_utc
    from authority.alerts.tables import AlertRecord

    engine = open_database(AuthorityConfig.load(institute.config_path).database_url)
    try:
        with Session(engine) as session:
            rows = session.exec(
                select(AlertRecord).where(col(AlertRecord.alert_id).in_(alert_ids))
            ).all()
            return {row.alert_id: as_utc(row.raised_at).timestamp() for row in rows}
    finally:
        engine.dispose()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    return {
        "p50_s": round(statistics.median(values), 4),
        "p99_s": round(percentile(values, 99), 4),
        "max_s": round(max(values), 4),
        "mean_s": round(statistics.fmean(values), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="30 trials instead of 200")
    parser.add_argument("--trials", type=int, default=None)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    trials = args.trials or (30 if args.quick else 200)
    warm_pair, *pairs = incident_pairs(args.data, trials + 1)

    with tempfile.TemporaryDirectory(prefix="nearmiss-alert-bench-") as tmp:
        root = Path(tmp)
        a = make_institute(root, "eu-ai-office", labs=("lab-aurora", "lab-borealis"))
        b = make_institute(root, "us-caisi", labs=("lab-cygnus",))
        a.config_path.write_text(a.config_path.read_text() + A_EXTRA)
        b.config_path.write_text(b.config_path.read_text() + B_EXTRA)
        federate([a, b])
        started = time.monotonic()
        proc_a = start_authority(a.config_path, root / "a.log")
        proc_b = start_authority(b.config_path, root / "b.log")
        print(f"authorities up in {time.monotonic() - started:.1f} s", file=sys.stderr)
        stop = threading.Event()
        lab_watch, peer_watch = Watcher("lab-aurora@A"), Watcher("analyst@B")
        channels = {
            "aurora": channel(a, "lab-aurora", proc_a.address),
            "borealis": channel(a, "lab-borealis", proc_a.address),
            "analyst-b": channel(b, "analyst", proc_b.address),
        }
        stubs = {name: authority_pb2_grpc.AuthorityServiceStub(c) for name, c in channels.items()}
        keys = {
            lab: SigningKey.from_file(a.network.directory / lab / "signing.key")
            for lab in ("lab-aurora", "lab-borealis")
        }
        threads = [
            threading.Thread(target=lab_watch.run, args=(stubs["aurora"], stop), daemon=True),
            threading.Thread(target=peer_watch.run, args=(stubs["analyst-b"], stop), daemon=True),
        ]
        for thread in threads:
            thread.start()

        def submit(stub_name: str, lab: str, item: IncidentReport) -> None:
            signed = sign_report(item, keys[lab])
            stubs[stub_name].SubmitReport(
                authority_pb2.SubmitReportRequest(signed_report=signed), timeout=30
            )

        engine_a = open_database(AuthorityConfig.load(a.config_path).database_url)

        def linked(report_id: str, timeout: float) -> bool:
            """Wait until A's case linker has placed the report in a case."""
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                with Session(engine_a) as session:
                    row = session.get(ReportRecord, report_id)
                    if row is not None and row.linked_at is not None:
                        return True
                time.sleep(0.02)
            return False

        # Warm-up trial (not timed): the first embeddings load the model.
        warm_first, warm_second = warm_pair
        first = report("lab-aurora", warm_first, "warm-a")
        submit("aurora", "lab-aurora", first)
        linked(first.report_id, 300.0)
        submit("borealis", "lab-borealis", report("lab-borealis", warm_second, "warm"))
        lab_watch.event("warm").wait(120.0)

        def separate_cases(one: str, two: str) -> bool:
            """Both reports linked, into different cases: dedup kept them apart."""
            with Session(engine_a) as session:
                rows = {
                    r.report_id: r.case_id
                    for r in session.exec(
                        select(CaseMemberRow).where(col(CaseMemberRow.report_id).in_([one, two]))
                    )
                }
            return len(rows) == 2 and rows[one] != rows[two]

        def wait_outcome(
            events: tuple[threading.Event, ...],
            deadline: float,
            first: IncidentReport,
            second: IncidentReport,
        ) -> str:
            while time.monotonic() < deadline:
                if all(e.wait(0.25) for e in events):
                    return "arrived"
                if separate_cases(first.report_id, second.report_id):
                    return "not-linked"
            return "timeout"

        not_linked = 0
        lab_s: list[float] = []
        peer_s: list[float] = []
        both_s: list[float] = []
        submitted_wall: dict[str, float] = {}
        missed = 0
        for index, (first_text, second_text) in enumerate(pairs):
            marker = f"t{index}"
            first = report("lab-aurora", first_text, f"{marker}a")
            submit("aurora", "lab-aurora", first)
            if not linked(first.report_id, 60.0):
                print(f"trial {index}: report 1 not linked in 60 s", file=sys.stderr)
            events = (lab_watch.event(marker), peer_watch.event(marker))
            t0 = time.monotonic()
            submitted_wall[marker] = time.time()
            second = report("lab-borealis", second_text, marker)
            submit("borealis", "lab-borealis", second)
            outcome = wait_outcome(events, t0 + ARRIVAL_TIMEOUT_S, first, second)
            if outcome == "not-linked":
                not_linked += 1
                continue
            if outcome != "arrived":
                missed += 1
                print(f"trial {index}: no alert in {ARRIVAL_TIMEOUT_S} s", file=sys.stderr)
                continue
            lab_at, peer_at = lab_watch.arrivals[marker], peer_watch.arrivals[marker]
            lab_s.append(lab_at - t0)
            peer_s.append(peer_at - t0)
            both_s.append(max(lab_at, peer_at) - t0)
            if (index + 1) % 20 == 0:
                print(f"{index + 1}/{trials} trials", file=sys.stderr)
        stop.set()
        for c in channels.values():
            c.close()
        proc_a.stop()
        proc_b.stop()
        engine_a.dispose()
        raised = raised_times(a, [lab_watch.alert_ids[m] for m in lab_watch.alert_ids])
    linking_s, alert_path_s = [], []
    for marker, alert_id in lab_watch.alert_ids.items():
        if marker in submitted_wall and alert_id in raised and marker in peer_watch.wall:
            arrived_wall = max(lab_watch.wall[marker], peer_watch.wall[marker])
            linking_s.append(raised[alert_id] - submitted_wall[marker])
            alert_path_s.append(arrived_wall - raised[alert_id])

    result = {
        "benchmark": "alerts",
        "measured": "lab-borealis SubmitReport -> alert at lab-aurora (A) and at peer B",
        "trials": trials,
        "arrived": len(both_s),
        "missed": missed,
        "not_linked_by_dedup": not_linked,
        **summary(both_s),
        "lab": summary(lab_s),
        "peer": summary(peer_s),
        "submit_to_alert_raised": summary(linking_s),
        "alert_raised_to_both_arrived": summary(alert_path_s),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
