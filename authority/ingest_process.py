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
  on an inherited control socket; each calling thread then gets a connection of its
  own to the child (``authority.ingest_wire``). The child opens its own database engine
  and loads the same parties and signing key from the same configuration.
* The child batches by itself: it takes the request waiting on every connection, checks
  them, takes what arrived meanwhile, and stores the valid ones in one transaction
  (``authority.report_store``), so checking a batch is the wait that lets the next
  requests join it. Each answer goes back on its caller's connection: receipt bytes, or
  our own error.
* A caller's answer is exactly what in-process ingest would give. If the child dies,
  every caller waiting on it sees its connection close and gets UnavailableError (the
  node retries; ingest is idempotent) and the parent starts a new child, at most
  ``MAX_RESTARTS`` per minute; past that, submissions are refused as UNAVAILABLE until
  the minute has passed, and the next one starts a child again.
* The child ends when the parent says stop (``close``) or is gone (the control socket
  then reads as closed; on Linux it is also sent SIGTERM), after answering the batch in
  hand. A report it committed but could not answer for is in the log; the node's retry
  gets it as ``already_stored``.
* Nothing from a report reaches the child's log: failures are logged by type and frames.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
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
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from authority.config import LimitsConfig, PartyEntry
from authority.ingest_wire import (
    CONNECT,
    STOP,
    ChildChannels,
    PartyEncoder,
    bound_waits,
    decode_answer,
    exchange,
)
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


@dataclass(frozen=True)
class IngestSettings:
    """What the child needs to rebuild ingest: picklable, no open handles."""

    database_url: str
    authority_id: str
    signing_key_path: Path
    parties: dict[str, PartyEntry]
    limits: LimitsConfig


@dataclass(frozen=True)
class _Held:
    """A calling thread's connection to one child (``generation`` says which)."""

    generation: int
    sock: socket.socket


class IngestProcess:
    """The parent's side: one connection per calling thread, restarts of the child."""

    def __init__(
        self,
        settings: IngestSettings,
        *,
        on_stored: threading.Event,
        max_restarts: int = MAX_RESTARTS,
        restart_window_s: float = RESTART_WINDOW_S,
        wait_s: float = WAIT_S,
    ) -> None:
        self._settings = settings
        self._max_restarts = max_restarts
        self._restart_window_s = restart_window_s
        self._wait_s = wait_s
        self._on_stored = on_stored
        self._encoder = PartyEncoder()
        self._local = threading.local()
        self._lock = threading.Lock()  # guards the child's handles and sends on control
        self._closing = threading.Event()
        self._restarts: deque[float] = deque()
        self._generation = 0  # which child a thread's connection belongs to
        self._control: socket.socket | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._watcher: threading.Thread | None = None

    def start(self) -> None:
        """Start the child and wait until it can store reports, so a server that says
        it is listening can ingest; a child that cannot start says why, here."""
        with self._lock:
            self._start_child(wait_ready=True)

    def _start_child(self, *, wait_ready: bool = False) -> None:
        ours, theirs = socket.socketpair()
        their_fd = theirs.detach()
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
        handshake = Connection(os.dup(ours.fileno()))
        handshake.send((self._settings, os.getpid()))
        if wait_ready:
            try:
                self._wait_ready(handshake, process)
            except UnavailableError:
                ours.close()
                raise
            handshake.close()
            handshake_left: Connection | None = None
        else:
            handshake_left = handshake  # the watcher reads the answer
        self._generation += 1
        self._control, self._process = ours, process
        self._watcher = threading.Thread(
            target=self._watch, args=(ours, process, handshake_left),
            name="ingest-watcher", daemon=True,
        )
        self._watcher.start()

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
        sock = self._connection()
        request = self._encoder.request(party, signed.SerializeToString())
        try:
            answer = decode_answer(exchange(sock, request))
        except TimeoutError:
            self._forget(sock)  # its late answer must not reach this thread's next call
            raise UnavailableError(
                f"storing the report took longer than {self._wait_s:g} s; retry later"
            ) from None
        except (EOFError, OSError):
            self._forget(sock)
            raise UnavailableError(
                "the ingest process stopped before answering; retry"
            ) from None
        if isinstance(answer, NearmissError):
            raise answer
        if answer is None:
            raise RuntimeError("the ingest process failed on this report (see its log)")
        receipt = authority_pb2.Receipt.FromString(answer)
        if not receipt.already_stored:
            self._on_stored.set()
        return receipt

    def _connection(self) -> socket.socket:
        """This thread's connection to the running child, made on first use."""
        held: _Held | None = getattr(self._local, "held", None)
        if held is not None and held.generation == self._generation \
                and not self._closing.is_set():
            return held.sock
        with self._lock:
            if self._closing.is_set():
                raise UnavailableError("the authority is shutting down; retry later")
            if self._control is None and self._may_restart():
                self._restart()  # it stopped restarting earlier; a new minute, a new try
            if self._control is None:
                raise UnavailableError(
                    "the authority's ingest process is not running (its log says why); "
                    "retry later"
                )
            if held is not None:
                held.sock.close()
            ours, theirs = socket.socketpair()
            try:
                socket.send_fds(self._control, [CONNECT], [theirs.fileno()])
            except OSError:
                ours.close()
                raise UnavailableError("the ingest process is restarting; retry") from None
            finally:
                theirs.close()
            bound_waits(ours, self._wait_s)
            held = _Held(self._generation, ours)
        self._local.held = held
        return held.sock

    def _forget(self, sock: socket.socket) -> None:
        self._local.held = None
        sock.close()

    def _watch(
        self,
        control: socket.socket,
        process: subprocess.Popen[bytes],
        handshake: Connection | None,
    ) -> None:
        """Wait for the child to end (its end of the control socket closes); a restarted
        child's start-up answer is read here first and logged if it is not READY."""
        if handshake is not None:
            try:
                message = handshake.recv()
            except (EOFError, OSError):
                message = None
            finally:
                handshake.close()
            if message != READY and isinstance(message, str):
                logger.error("the ingest process cannot start: %s", message)
        while True:
            try:
                if not control.recv(4096):
                    break
            except OSError:
                break
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(STOP_TIMEOUT_S)
        self._child_ended(control, process)

    def _child_ended(self, control: socket.socket, process: subprocess.Popen[bytes]) -> None:
        """Every caller waiting on that child has seen its connection close already."""
        with self._lock:
            if self._control is not control:
                return
            self._control = None
            control.close()
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
            control, process, watcher = self._control, self._process, self._watcher
            if control is not None:
                with contextlib.suppress(OSError):  # already gone: fine
                    control.send(STOP)
        if process is not None:
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                logger.error("the ingest process did not stop in %.0f s; killing it",
                             STOP_TIMEOUT_S)
                process.kill()
                process.wait()
        if watcher is not None:
            watcher.join(STOP_TIMEOUT_S)
        held: _Held | None = getattr(self._local, "held", None)
        if held is not None:
            self._forget(held.sock)

    @property
    def pid(self) -> int | None:
        """The child's pid while it runs (for tests and operators)."""
        process = self._process
        return process.pid if process is not None and process.poll() is None else None


# -- the child -------------------------------------------------------------------------


def child_main(control: socket.socket) -> None:
    """The ingest process: serve batches until the parent says stop or is gone."""
    handshake = Connection(os.dup(control.fileno()))
    settings, parent_pid = handshake.recv()
    _die_with_parent(parent_pid)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s ingest %(name)s %(message)s"
    )
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    from authority.ingest_batches import BatchIngest  # local: heavy imports in the child

    try:
        ingest = BatchIngest.open(settings)
    except NearmissError as error:  # e.g. the database cannot be opened: say why
        handshake.send(str(error))
        return
    gc.freeze()  # as the server does after start-up (authority.server.serve)
    handshake.send(READY)
    handshake.close()
    channels = ChildChannels(control)
    try:
        ingest.serve(channels, max_batch=MAX_BATCH)
    finally:
        ingest.close()
        channels.close()


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
