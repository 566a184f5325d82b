"""Keeping the alert stream open: subscribe, store, run hooks, reconnect.

Rules this module enforces:

- Each (re)connection asks for alerts after the highest cursor already stored
  (node.inbox), and every alert is committed before the next is read, so a crash or a
  dropped connection leaves no gap; repeats are absorbed by the inbox (no duplicates).
- A failed or ended stream is reopened after a backoff with jitter (node.delivery.Backoff);
  the backoff starts over once a connection delivers an alert. An authority that does
  not serve alerts (UNIMPLEMENTED) is asked again at the backoff's cap, not more often.
- Hooks run after the alert is stored, and those left over from a crash run first.
- ``stop()`` ends a blocking stream from another thread (the call is cancelled).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable

from nearmiss.errors import NearmissError
from nearmiss.v1 import authority_pb2
from node.alert_hooks import AlertHooks
from node.client import AlertApi, AlertStream
from node.delivery import Backoff
from node.inbox import AlertInbox

logger = logging.getLogger("nearmiss.node")


class AlertSubscriber:
    def __init__(
        self,
        *,
        inbox: AlertInbox,
        authority: AlertApi,
        hooks: AlertHooks | None = None,
        backoff: Backoff = Backoff(1.0, 300.0),
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        on_alert: Callable[[authority_pb2.Alert], None] | None = None,
    ):
        self._inbox = inbox
        self._authority = authority
        self._hooks = hooks if hooks is not None and hooks.configured else None
        self._backoff = backoff
        self._clock = clock
        self._rng = rng or random.Random()
        self._on_alert = on_alert
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._stream: AlertStream | None = None

    def run(self) -> None:
        """Until ``stop()``: keep a stream open, reconnecting after failures."""
        self.run_pending_hooks()
        failures = 0
        while not self._stopping.is_set():
            unimplemented = False
            try:
                received = self.run_once()
                reason = "the alert stream ended"
            except NearmissError as error:
                received, reason = 0, str(error)
                unimplemented = reason.startswith("UNIMPLEMENTED:")
            if self._stopping.is_set():
                break
            failures = 0 if received else failures + 1
            if unimplemented:
                delay = self._backoff.max_s
            else:
                delay = self._backoff.delay(max(failures - 1, 0), self._rng)
            logger.info("alert stream: %s; reconnecting in %.1f s", reason, delay)
            self._stopping.wait(delay)

    def run_once(self) -> int:
        """One connection: resume after the stored cursor, store alerts until it ends.
        Returns how many new alerts it stored."""
        stream = self._authority.subscribe_alerts(self._inbox.cursor())
        with self._lock:
            if self._stopping.is_set():
                stream.cancel()
                return 0
            self._stream = stream
        stored = 0
        try:
            for alert in stream:
                if self._receive(alert):
                    stored += 1
        finally:
            with self._lock:
                self._stream = None
        return stored

    def _receive(self, alert: authority_pb2.Alert) -> bool:
        is_new = self._inbox.store(alert, now=self._clock(), hooks=self._hooks is not None)
        if not is_new:
            return False
        logger.info("alert %s (cursor %d, severity %d) stored", alert.alert_id, alert.cursor,
                    alert.severity)
        self._run_hooks(alert)
        if self._on_alert is not None:
            self._on_alert(alert)
        return True

    def run_pending_hooks(self) -> None:
        if self._hooks is None:
            return
        for alert in self._inbox.pending_hooks():
            self._run_hooks(alert)

    def _run_hooks(self, alert: authority_pb2.Alert) -> None:
        if self._hooks is None:
            return
        error = self._hooks.run(alert)
        if error is not None:
            logger.error("alert %s: %s", alert.alert_id, error)
        self._inbox.hook_finished(alert.alert_id, error)

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            if self._stream is not None:
                self._stream.cancel()
