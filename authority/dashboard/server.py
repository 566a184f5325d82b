"""The dashboard served by the authority: uvicorn in a thread, as a component.

Rules: it listens where ``[dashboard] listen`` says (default 127.0.0.1:8080; port 0
picks a free one), writes the real port to ``data_dir/dashboard.port`` and prints
``dashboard on http://HOST:PORT``; stopping it lets in-flight requests finish. A port
that cannot be bound is logged as an error and the authority runs on without the
dashboard: ingest never depends on it.
Access logs are off: request lines carry nothing the public pages do not, but there
is no reason to keep them.

Config (``authority.toml``)::

    [dashboard]
    listen = "127.0.0.1:8080"
    enabled = true
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import uvicorn
from fastapi import FastAPI

logger = logging.getLogger("nearmiss.authority.dashboard")
DEFAULT_LISTEN = "127.0.0.1:8080"
START_TIMEOUT_S = 30.0


def split_listen(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)


class DashboardServer:
    name = "dashboard"

    def __init__(self, app: FastAPI, *, listen: str = DEFAULT_LISTEN, port_file: Path | None):
        host, port = split_listen(listen)
        self._config = uvicorn.Config(
            app, host=host, port=port, log_level="warning", access_log=False, lifespan="off"
        )
        self._server = uvicorn.Server(self._config)
        self._thread: threading.Thread | None = None
        self._port_file = port_file
        self.url = ""

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.run, name=self.name, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                # The dashboard is not worth refusing reports over: say so, run without it.
                self._server.should_exit = True
                logger.error(
                    "the dashboard could not listen on %s:%d (is the port taken? set "
                    "[dashboard] listen); the authority runs without it",
                    self._config.host, self._config.port,
                )
                return
            time.sleep(0.02)
        sockets = [s for server in self._server.servers for s in server.sockets]
        port = sockets[0].getsockname()[1] if sockets else self._config.port
        self.url = f"http://{self._config.host}:{port}/"
        if self._port_file is not None:
            self._port_file.write_text(f"{port}\n")
        logger.info("dashboard on %s", self.url)
        print(f"dashboard on {self.url}", flush=True)

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
