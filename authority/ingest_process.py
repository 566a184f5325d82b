"""Ingest in its own process: checks, storing, logging and receipts off the gRPC process.

Why: everything an accepted report costs — Ed25519 verification, decoding and validation,
the batch transaction and the log append, the receipt signature — is Python work under
one interpreter lock, shared in the gRPC process with the RPC threads that carry the
calls. Measured on the reference machine (benchmarks/load/RESULTS.md) that process was
saturated at one core while the second idled. Here the gRPC process only authenticates,
forwards the signed bytes and returns the receipt; a child process does the rest.

Rules:

* One child per authority process, started with the server as a fresh interpreter
  (``python -m authority.ingest_child``; never a fork: the parent holds gRPC threads)
  talking over an inherited socket pair. It opens its own database engine and loads the
  same parties and signing key from the same configuration.
* The child batches by itself: it takes every request waiting in the pipe, checks them,
  takes what arrived meanwhile, and stores the valid ones in one transaction
  (``authority.report_store``), so checking a batch is the wait that lets the next
  requests join it. Answers go back per batch: receipt bytes, or our own error.
* A caller's answer is exactly what in-process ingest would give. If the child dies,
  every caller waiting on it gets UnavailableError (the node retries; ingest is
  idempotent) and the parent starts a new child, at most ``MAX_RESTARTS`` per minute;
  past that, submissions are refused as UNAVAILABLE until the minute has passed, and
  the next one starts a child again.
* The child ends when the parent closes the pipe (``close``, or the parent dying: the
  pipe then reads as closed; on Linux it is also sent SIGTERM), after answering the
  batch in hand. A report it committed but could not answer for is in the log; the
  node's retry gets it as ``already_stored``.
* Nothing from a report reaches the child's log: failures are logged by type and frames.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import itertools
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from authority.config import LimitsConfig, PartyEntry
from nearmiss.errors import NearmissError, UnavailableError
from nearmiss.identity import Party
from nearmiss.v1 import authority_pb2, report_pb2

logger = logging.getLogger("nearmiss.authority")

MAX_BATCH = 256
MAX_RESTARTS = 5
RESTART_WINDOW_S = 60.0
WAIT_S = 60.0
START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 15.0
READY = "ready"

_PR_SET_PDEATHSIG = 1

Request = tuple[int, Party, bytes]
"""(request id, calling lab, SignedReport bytes) sent to the child."""

Answer = bytes | NearmissError | None
"""Receipt bytes, our error for the caller, or None: the child failed (see its log)."""


@dataclass(frozen=True)
class IngestSettings:
    """What the child needs to rebuild ingest: picklable, no open handles."""

    database_url: str
    authority_id: str
    signing_key_path: Path
    parties: dict[str, PartyEntry]
    limits: LimitsConfig


class IngestProcess:
    """The parent's side: forwards requests, routes answers, restarts the child."""

    def __init__(
        self,
        settings: IngestSettings,
        *,
        on_stored: threading.Event,
        max_restarts: int = MAX_RESTARTS,
        restart_window_s: float = RESTART_WINDOW_S,
    ) -> None:
        self._settings = settings
        self._max_restarts = max_restarts
        self._restart_window_s = restart_window_s
        self._on_stored = on_stored
        self._ids = itertools.count()
        self._waiting: dict[int, Future[Answer]] = {}
        self._lock = threading.Lock()  # guards _waiting, _connection and sends
        self._closing = threading.Event()
        self._restarts: deque[float] = deque()
        self._connection: Connection | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._receiver: threading.Thread | None = None

    def start(self) -> None:
        """Start the child and wait until it can store reports, so a server that says
        it is listening can ingest; a child that cannot start says why, here."""
        with self._lock:
            self._start_child(wait_ready=True)

    def _start_child(self, *, wait_ready: bool = False) -> None:
        our_socket, their_socket = socket.socketpair()
        ours = Connection(our_socket.detach())
        their_fd = their_socket.detach()
        # The child imports our packages from where this process found them.
        package_root = str(Path(__file__).resolve().parents[1])
        path = os.pathsep.join([package_root, *filter(None, [os.environ.get("PYTHONPATH")])])
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "authority.ingest_child", str(their_fd)],
                pass_fds=(their_fd,), env=dict(os.environ, PYTHONPATH=path),
            )
        finally:
            os.close(their_fd)
        ours.send((self._settings, os.getpid()))
        if wait_ready:
            self._wait_ready(ours, process)
        self._connection, self._process = ours, process
        self._receiver = threading.Thread(
            target=self._receive, args=(ours, process), name="ingest-answers", daemon=True
        )
        self._receiver.start()

    @staticmethod
    def _wait_ready(connection: Connection, process: subprocess.Popen[bytes]) -> None:
        failure: str | None = None
        if not connection.poll(START_TIMEOUT_S):
            failure = f"it did not start within {START_TIMEOUT_S:g} s"
        else:
            try:
                message = connection.recv()
            except (EOFError, OSError):
                message = None
            if message != READY:
                failure = message if isinstance(message, str) else "it exited while starting"
        if failure is not None:
            process.kill()
            process.wait()
            connection.close()
            raise UnavailableError(f"the ingest process cannot start: {failure}")

    def submit(self, party: Party, signed: report_pb2.SignedReport) -> authority_pb2.Receipt:
        future: Future[Answer] = Future()
        with self._lock:
            if self._closing.is_set():
                raise UnavailableError("the authority is shutting down; retry later")
            if self._connection is None and self._may_restart():
                self._restart()  # it stopped restarting earlier; a new minute, a new try
            if self._connection is None:
                raise UnavailableError(
                    "the authority's ingest process is not running (its log says why); "
                    "retry later"
                )
            request_id = next(self._ids)
            self._waiting[request_id] = future
            try:
                self._connection.send((request_id, party, signed.SerializeToString()))
            except (OSError, ValueError):
                del self._waiting[request_id]
                raise UnavailableError("the ingest process is restarting; retry") from None
        try:
            answer = future.result(timeout=WAIT_S)
        except TimeoutError:
            with self._lock:
                self._waiting.pop(request_id, None)
            raise UnavailableError(
                f"storing the report took longer than {WAIT_S:g} s; retry later"
            ) from None
        if isinstance(answer, NearmissError):
            raise answer
        if answer is None:
            raise RuntimeError("the ingest process failed on this report (see its log)")
        receipt = authority_pb2.Receipt.FromString(answer)
        if not receipt.already_stored:
            self._on_stored.set()
        return receipt

    def _receive(self, connection: Connection, process: subprocess.Popen[bytes]) -> None:
        while True:
            try:
                answers: list[tuple[int, Answer]] | str = connection.recv()
            except (EOFError, OSError):
                break
            if isinstance(answers, str):  # a restarted child saying it is ready
                continue
            with self._lock:
                futures = [(self._waiting.pop(i, None), answer) for i, answer in answers]
            for future, answer in futures:
                if future is not None:
                    future.set_result(answer)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(STOP_TIMEOUT_S)
        self._child_ended(connection, process)

    def _child_ended(self, connection: Connection, process: subprocess.Popen[bytes]) -> None:
        with self._lock:
            if self._connection is not connection:
                return
            waiting, self._waiting = self._waiting, {}
            self._connection = None
            restart = not self._closing.is_set() and self._may_restart()
            if not self._closing.is_set():
                logger.error(
                    "the ingest process exited (code %s)%s", process.returncode,
                    "; starting a new one" if restart
                    else f"; {self._max_restarts} restarts in {self._restart_window_s:g} s, "
                    "the next submission after that tries again",
                )
            if restart:
                self._restart()
        failure = UnavailableError("the ingest process stopped before answering; retry")
        for future in waiting.values():
            future.set_result(failure)

    def _restart(self) -> None:
        """Start a new child (lock held); a failure to even start it is logged, and the
        next submission tries again."""
        try:
            self._start_child()
        except OSError as error:
            logger.error("the ingest process cannot be started: %s", error.strerror or error)

    def _may_restart(self) -> bool:
        now = time.monotonic()
        while self._restarts and now - self._restarts[0] > self._restart_window_s:
            self._restarts.popleft()
        if len(self._restarts) >= self._max_restarts:
            return False
        self._restarts.append(now)
        return True

    def close(self) -> None:
        """Let the child answer what it holds, then stop it."""
        with self._lock:
            self._closing.set()
            connection, process, receiver = self._connection, self._process, self._receiver
            if connection is not None:
                with contextlib.suppress(OSError, ValueError):  # already gone: fine
                    connection.send(None)
        if process is not None:
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                logger.error("the ingest process did not stop in %.0f s; killing it",
                             STOP_TIMEOUT_S)
                process.kill()
                process.wait()
        if receiver is not None:
            receiver.join(STOP_TIMEOUT_S)
        if connection is not None:
            connection.close()

    @property
    def pid(self) -> int | None:
        """The child's pid while it runs (for tests and operators)."""
        process = self._process
        return process.pid if process is not None and process.poll() is None else None


# -- the child -------------------------------------------------------------------------


def child_main(connection: Connection) -> None:
    """The ingest process: serve batches until the parent closes the pipe."""
    settings, parent_pid = connection.recv()
    _die_with_parent(parent_pid)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s ingest %(name)s %(message)s"
    )
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    from authority.ingest_batches import BatchIngest  # local: heavy imports in the child

    try:
        ingest = BatchIngest.open(settings)
    except NearmissError as error:  # e.g. the database cannot be opened: say why
        connection.send(str(error))
        return
    gc.freeze()  # as the server does after start-up (authority.server.serve)
    connection.send(READY)
    try:
        ingest.serve(connection, max_batch=MAX_BATCH)
    finally:
        ingest.close()


def _die_with_parent(parent_pid: int) -> None:
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        except (OSError, AttributeError):  # not fatal: the closed pipe also ends the child
            pass
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(0)


def log_failure(error: BaseException) -> None:
    """A bug in the child: type and frames only, never the message (it may quote input)."""
    frames = "".join(traceback.format_tb(error.__traceback__))
    logger.error("ingest failed: %s\n%s", type(error).__name__, frames)
