"""Ingest in a child process (authority.ingest_process) on a real SQLite database: the
answers are those of in-process ingest, concurrent callers share batches, a child that
dies is replaced and its callers told to retry, a child that cannot start says why, and
no child outlives its parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from authority.app import ingest_settings
from authority.config import AuthorityConfig
from authority.ingest_process import IngestProcess, IngestSettings
from nearmiss.canonical import report_from_canonical
from nearmiss.devnet import DevNetwork, init_network
from nearmiss.errors import (
    ConflictError,
    PermissionDeniedError,
    SignatureError,
    UnavailableError,
)
from nearmiss.identity import Party, Role
from nearmiss.receipt_check import verify_receipt
from nearmiss.reportfile import load_report
from nearmiss.signed_report import leaf_hash, sign_report
from nearmiss.signing import SigningKey, VerifyingKey
from nearmiss.v1 import authority_pb2, report_pb2
from node.signer import prepare_for_sending
from tests.conftest import EXAMPLES

LABS = ("lab-aurora", "lab-borealis")


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> DevNetwork:
    network = DevNetwork(
        directory=tmp_path_factory.mktemp("net"),
        authority_id="eu-ai-office",
        labs=list(LABS),
        authority_port=0,
    )
    init_network(network)
    return network


@pytest.fixture
def settings(network: DevNetwork, tmp_path: Path) -> IngestSettings:
    config = AuthorityConfig.load(network.authority_config_path())
    return replace(ingest_settings(config), database_url=f"sqlite:///{tmp_path / 'a.db'}")


@pytest.fixture
def ingest(settings: IngestSettings) -> Iterator[IngestProcess]:
    process = IngestProcess(settings, on_stored=threading.Event())
    process.start()
    try:
        yield process
    finally:
        process.close()


def signed(network: DevNetwork, lab: str, title: str = "A title") -> report_pb2.SignedReport:
    template = load_report(EXAMPLES / "nm-agent-oversight-tampering.yaml")
    report = template.model_copy(
        update={"lab_id": lab, "report_id": str(uuid.uuid4()), "title": title}
    )
    key = SigningKey.from_file(network.directory / lab / "signing.key")
    return sign_report(prepare_for_sending(report, lab_id=lab, now=datetime.now(UTC)), key)


def lab(lab_id: str) -> Party:
    return Party(lab_id, Role.LAB)


def stored_count(settings: IngestSettings) -> tuple[int, int]:
    engine = create_engine(settings.database_url)
    with engine.connect() as connection:
        reports = connection.execute(text("SELECT count(*) FROM nm_report")).scalar_one()
        size = connection.execute(text("SELECT tree_size FROM nm_log_state")).scalar_one()
    engine.dispose()
    return int(reports), int(size)


def test_concurrent_callers_get_verified_receipts_and_each_report_is_stored_once(
    network: DevNetwork, settings: IngestSettings, ingest: IngestProcess
) -> None:
    reports = {n: signed(network, LABS[n % 2], f"Report {n}") for n in range(24)}
    receipts = {}

    def file(n: int) -> None:
        receipts[n] = ingest.submit(lab(LABS[n % 2]), reports[n])

    threads = [threading.Thread(target=file, args=(n,)) for n in reports]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    authority_key = VerifyingKey.from_file(network.directory / "eu-ai-office" / "signing.pub")
    for n, receipt in receipts.items():
        assert not receipt.already_stored
        assert receipt.statement.leaf_hash == leaf_hash(reports[n])
        verify_receipt(receipt, sent=reports[n], report_id=receipt.statement.report_id,
                       lab_id=LABS[n % 2], authority_key=authority_key)
    assert sorted(r.statement.log_index for r in receipts.values()) == list(range(24))
    again = ingest.submit(lab(LABS[0]), reports[0])
    assert again.already_stored and again.statement == receipts[0].statement
    assert stored_count(settings) == (24, 24)


def test_refusals_are_our_errors_and_store_nothing(
    network: DevNetwork, settings: IngestSettings, ingest: IngestProcess
) -> None:
    report = signed(network, LABS[0])
    tampered = report_pb2.SignedReport()
    tampered.CopyFrom(report)
    tampered.signature = bytes(64)
    with pytest.raises(SignatureError):
        ingest.submit(lab(LABS[0]), tampered)
    with pytest.raises(PermissionDeniedError, match="names lab lab-aurora"):
        ingest.submit(lab(LABS[1]), resigned(network, report, LABS[1]))
    assert stored_count(settings) == (0, 0)
    ingest.submit(lab(LABS[0]), report)
    with pytest.raises(ConflictError, match="different content"):
        ingest.submit(lab(LABS[0]), resigned(network, report, LABS[0], " (edited)"))
    assert stored_count(settings) == (1, 1)


def resigned(
    network: DevNetwork, original: report_pb2.SignedReport, signer: str, suffix: str = ""
) -> report_pb2.SignedReport:
    """The same report (same id, same lab named), optionally edited, signed by ``signer``."""
    report = report_from_canonical(original.canonical_report)
    edited = report.model_copy(update={"title": report.title + suffix})
    return sign_report(edited, SigningKey.from_file(network.directory / signer / "signing.key"))


def test_a_killed_child_is_replaced_and_ingest_goes_on(
    network: DevNetwork, settings: IngestSettings, ingest: IngestProcess
) -> None:
    ingest.submit(lab(LABS[0]), signed(network, LABS[0]))
    first = ingest.pid
    assert first is not None
    os.kill(first, signal.SIGKILL)
    deadline = time.monotonic() + 60
    receipt = None
    while receipt is None:
        try:
            receipt = ingest.submit(lab(LABS[0]), signed(network, LABS[0]))
        except UnavailableError:  # the restart is under way: the node's answer is retry
            assert time.monotonic() < deadline, "the ingest process was not replaced"
            time.sleep(0.2)
    assert ingest.pid not in (None, first)
    assert stored_count(settings) == (2, 2)


def test_a_caller_that_stopped_waiting_never_gets_a_late_answer(
    network: DevNetwork, settings: IngestSettings
) -> None:
    ingest = IngestProcess(settings, on_stored=threading.Event(), wait_s=1.0)
    ingest.start()
    try:
        ingest.submit(lab(LABS[0]), signed(network, LABS[0]))  # this thread's connection
        pid = ingest.pid
        assert pid is not None
        late = signed(network, LABS[0], "Answered late")
        os.kill(pid, signal.SIGSTOP)  # a child too slow to answer in time
        try:
            with pytest.raises(UnavailableError, match="longer than 1 s"):
                ingest.submit(lab(LABS[0]), late)
        finally:
            os.kill(pid, signal.SIGCONT)
        following = signed(network, LABS[0], "The next one")
        receipt = ingest.submit(lab(LABS[0]), following)
        assert receipt.statement.leaf_hash == leaf_hash(following)  # its own, not the late one
        again = ingest.submit(lab(LABS[0]), late)  # the node's retry: it was stored meanwhile
        assert again.already_stored and again.statement.leaf_hash == leaf_hash(late)
        assert ingest.pid == pid
    finally:
        ingest.close()
    assert stored_count(settings) == (3, 3)


def test_after_too_many_restarts_submissions_wait_for_the_window_then_restart(
    network: DevNetwork, settings: IngestSettings
) -> None:
    ingest = IngestProcess(
        settings, on_stored=threading.Event(), max_restarts=1, restart_window_s=2.0
    )
    ingest.start()
    try:
        for _ in range(2):  # the first death is restarted, the second is not (1 per 2 s)
            pid = ingest.pid
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 30
            while ingest.pid == pid:
                assert time.monotonic() < deadline
                time.sleep(0.05)
            time.sleep(0.3)  # let the answer thread see the death and decide
        with pytest.raises(UnavailableError, match="not running"):
            ingest.submit(lab(LABS[0]), signed(network, LABS[0]))
        time.sleep(2.1)  # the window has passed: the next submission starts a child
        receipt = ingest.submit(lab(LABS[0]), signed(network, LABS[0]))
        assert not receipt.already_stored
    finally:
        ingest.close()


def test_a_child_that_cannot_open_the_database_says_why(settings: IngestSettings) -> None:
    broken = replace(settings, database_url="sqlite:////nonexistent-dir/x/authority.db")
    process = IngestProcess(broken, on_stored=threading.Event())
    with pytest.raises(UnavailableError, match="ingest process cannot start"):
        process.start()
    process.close()


PARENT = """
import os, sys, threading
from authority.ingest_process import IngestProcess
from authority.app import ingest_settings
from authority.config import AuthorityConfig
from dataclasses import replace
settings = replace(ingest_settings(AuthorityConfig.load(sys.argv[1])), database_url=sys.argv[2])
process = IngestProcess(settings, on_stored=threading.Event())
process.start()
print(process.pid, flush=True)
os._exit(0)  # dies without closing anything, like a SIGKILLed authority
"""


def test_the_child_does_not_outlive_its_parent(network: DevNetwork, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PARENT, str(network.authority_config_path()),
         f"sqlite:///{tmp_path / 'orphan.db'}"],
        capture_output=True, text=True, timeout=120, check=True,
        env=dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[3])),
    )
    child = int(result.stdout.split()[0])
    deadline = time.monotonic() + 30
    while _alive(child):
        assert time.monotonic() < deadline, "the ingest process outlived its parent"
        time.sleep(0.1)


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_one_group_checked_and_stored_in_this_process_answers_like_the_child(
    network: DevNetwork, settings: IngestSettings
) -> None:
    # The ingest process's own loop body, without its sockets: what
    # benchmarks/load/store_only.py measures.
    from authority.ingest_batches import BatchIngest  # local: the child's module

    good = [signed(network, LABS[0], f"Report {n}") for n in range(3)]
    forged = signed(network, LABS[1])  # filed over LABS[0]'s connection: not its key
    ingest = BatchIngest.open(settings)
    try:
        requests = [(n, lab(LABS[0]), s.SerializeToString()) for n, s in enumerate(good)]
        forged_request = (9, lab(LABS[0]), forged.SerializeToString())
        answers = dict(ingest.answer_group([*requests, forged_request]))
        repeat = dict(ingest.answer_group(requests[:1]))
    finally:
        ingest.close()
    def receipt(answer: object) -> authority_pb2.Receipt:
        assert isinstance(answer, bytes), answer
        return authority_pb2.Receipt.FromString(answer)

    receipts = {n: receipt(answers[n]) for n in range(3)}
    assert [r.statement.log_index for r in receipts.values()] == [0, 1, 2]
    assert isinstance(answers[9], SignatureError)
    again = receipt(repeat[0])
    assert again.already_stored and again.statement == receipts[0].statement
    assert stored_count(settings) == (3, 3)
