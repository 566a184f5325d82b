"""``nearmiss node serve``: the long-running node.

It runs three things over one node database and one mTLS channel to the authority:

- the flusher: delivers the outbox (node.delivery) in batches until it is empty, then
  waits ``[outbox] poll_s`` or until the local API queues a report, whichever is first;
- the alert subscriber (node.alert_stream), when ``[alerts] enabled``;
- the local API (node.local_api), unless ``[local_api] listen = ""``.

Rules: one ``serve`` per data directory (``ServeLock``); nothing here holds state that
a crash could lose: everything durable is in the database before it is acknowledged, so
a SIGKILL at any moment is survived by starting again. SIGTERM/SIGINT stop the local
API (in-flight calls finish), the subscriber and the flusher, then close the database.
The redaction engine is built in the background (loading its models takes seconds), so
delivery starts at once; a FileReport that arrives before it is ready waits for it. On
start the process prints ``node LAB serving; local API on ADDRESS`` for scripts.
"""

from __future__ import annotations

import fcntl
import logging
import signal
import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

from nearmiss.errors import NearmissError, PreconditionError
from nearmiss.signing import SigningKey, VerifyingKey
from node.alert_hooks import AlertHooks
from node.alert_stream import AlertSubscriber
from node.client import GrpcAuthorityClient
from node.config import NodeConfig
from node.delivery import Backoff, Deliverer
from node.filing import Filer
from node.inbox import AlertInbox
from node.local_api import LocalApiServer, NodeApiServicer
from node.outbox import Outbox
from node.redact_report import ReportRedactor
from node.status import read_status
from node.store import NodeStore

logger = logging.getLogger("nearmiss.node")
T = TypeVar("T")


class Lazy(Generic[T]):
    """A value built once, on first use, by whichever thread asks first."""

    def __init__(self, build: Callable[[], T]):
        self._build = build
        self._lock = threading.Lock()
        self._value: T | None = None
        self._built = False

    def __call__(self) -> T:
        with self._lock:
            if not self._built:
                self._value = self._build()
                self._built = True
            return self._value  # type: ignore[return-value]


def redactor_for(config: NodeConfig) -> ReportRedactor:
    return ReportRedactor.from_packs(
        config.redaction_packs, include_default=config.redaction_include_default
    )


class ServeLock:
    """One ``node serve`` per data directory: an advisory lock on ``data_dir/serve.lock``.

    Two servers would fight over the unix socket and double every delivery; the kernel
    drops the lock when the process dies, even by SIGKILL, so a restart never waits."""

    def __init__(self, data_dir: Path):
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._file = (data_dir / "serve.lock").open("a")
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.close()
            raise PreconditionError(
                f"another `nearmiss node serve` is running on {data_dir}"
            ) from None

    def release(self) -> None:
        fcntl.flock(self._file, fcntl.LOCK_UN)
        self._file.close()


class RunningNode:
    def __init__(self, config: NodeConfig):
        self.config = config
        self._lock = ServeLock(config.data_dir)
        self.store = NodeStore(config.database_path)
        self.outbox = Outbox(self.store)
        self.inbox = AlertInbox(self.store)
        self.authority = GrpcAuthorityClient.connect(
            config.authority_address, config.tls, server_name=config.authority_server_name
        )
        settings = config.outbox
        backoff = Backoff(settings.retry_initial_s, settings.retry_max_s)
        self.deliverer = Deliverer(
            outbox=self.outbox,
            authority=self.authority,
            lab_id=config.lab_id,
            authority_key=VerifyingKey.from_file(config.authority_public_key),
            backoff=backoff,
            batch_size=settings.batch_size,
        )
        self.redactor: Lazy[ReportRedactor] = Lazy(lambda: redactor_for(config))
        self.filer = Filer(
            lab_id=config.lab_id,
            signing_key=SigningKey.from_file(config.signing_key_path),
            outbox=self.outbox,
            redactor=self.redactor,
        )
        self.subscriber = (
            AlertSubscriber(
                inbox=self.inbox,
                authority=self.authority,
                hooks=AlertHooks(command=config.alert_command, directory=config.alert_directory),
                backoff=backoff,
            )
            if config.alerts_enabled
            else None
        )
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._stopped = threading.Event()
        self._threads: list[threading.Thread] = []
        self.local_api: LocalApiServer | None = None

    def start(self) -> None:
        self._spawn("flusher", self._flush_forever)
        if self.subscriber is not None:
            self._spawn("alerts", self.subscriber.run)
        if self.config.local_api_listen:
            self._spawn("redactor-warmup", self._warm_up, daemon=True)
            servicer = NodeApiServicer(
                filer=self.filer,
                status=lambda: read_status(self.store),
                on_filed=self._wake.set,
            )
            self.local_api = LocalApiServer(
                servicer,
                self.config.local_api_listen,
                socket_mode=self.config.local_api_socket_mode,
            )

    def _spawn(self, name: str, target: Callable[[], None], *, daemon: bool = False) -> None:
        thread = threading.Thread(target=target, name=name, daemon=daemon)
        thread.start()
        if not daemon:
            self._threads.append(thread)

    def _warm_up(self) -> None:
        try:
            self.redactor()
        except NearmissError as error:
            logger.error("the redaction engine cannot be built: %s", error)

    def _flush_forever(self) -> None:
        poll_s = self.config.outbox.poll_s
        while not self._stopping.is_set():
            try:
                if self.deliverer.deliver_due():
                    continue
                next_due = self.outbox.next_due_at()
            except (NearmissError, sqlite3.Error) as error:
                logger.error("delivery round failed: %s", error)
                next_due = None
            except Exception as error:  # a bug: keep the node alive, log no content
                logger.error("delivery round failed: %s", type(error).__name__)
                next_due = None
            wait = poll_s if next_due is None else min(poll_s, max(0.0, next_due - time.time()))
            self._wake.wait(wait)
            self._wake.clear()

    def stop(self) -> None:
        if self._stopping.is_set():
            return
        self._stopping.set()
        if self.local_api is not None:
            self.local_api.stop()
        if self.subscriber is not None:
            self.subscriber.stop()
        self._wake.set()
        for thread in self._threads:
            thread.join()
        self.authority.close()
        self.store.close()
        self._lock.release()
        self._stopped.set()

    def wait(self) -> None:
        self._stopped.wait()


def serve(config: NodeConfig) -> None:
    """Run until SIGTERM/SIGINT."""
    node = RunningNode(config)
    node.start()
    address = node.local_api.address if node.local_api is not None else "(off)"
    print(f"node {config.lab_id} serving; local API on {address}", flush=True)

    def on_signal(signum: int, _frame: object) -> None:
        logger.info("signal %d: shutting down", signum)
        threading.Thread(target=node.stop, name="shutdown").start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    node.wait()
    print("node stopped", file=sys.stderr, flush=True)
