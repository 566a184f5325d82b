"""What the node does locally with each new alert: run a command, write a file.

Rules this module enforces:

- The command comes from ``[alerts] command`` and is split with ``shlex.split`` once,
  at start; it runs without a shell (no injection through alert text), with the alert
  as JSON on stdin, a timeout (``COMMAND_TIMEOUT_S``), and ``NEARMISS_ALERT_ID`` /
  ``NEARMISS_ALERT_CURSOR`` in its environment. A non-zero exit is a failed hook.
- Files go to ``[alerts] directory`` as ``<cursor>-<alert_id>.json`` (the id reduced to
  safe characters, so an alert cannot name a path outside the directory), mode 0600,
  written to a temporary name, fsynced and renamed, so a reader never sees half a file.
- Hooks run at least once per alert (node.inbox keeps their state across crashes), so
  a command should tolerate seeing the same alert twice.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from pathlib import Path

from google.protobuf import json_format

from nearmiss.errors import ConfigError
from nearmiss.v1 import authority_pb2

COMMAND_TIMEOUT_S = 60.0
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def alert_json(alert: authority_pb2.Alert) -> str:
    data = json_format.MessageToDict(alert, preserving_proto_field_name=True)
    return json.dumps(data, sort_keys=True, ensure_ascii=False) + "\n"


class AlertHooks:
    def __init__(
        self,
        *,
        command: str | None = None,
        directory: Path | None = None,
        timeout_s: float = COMMAND_TIMEOUT_S,
    ):
        self._args: list[str] | None = None
        if command is not None:
            try:
                self._args = shlex.split(command)
            except ValueError as error:
                raise ConfigError(
                    f"cannot be split into words: {error}", key="alerts.command"
                ) from None
            if not self._args:
                raise ConfigError("is empty", key="alerts.command")
        self._directory = directory
        self._timeout_s = timeout_s

    @property
    def configured(self) -> bool:
        return self._args is not None or self._directory is not None

    def run(self, alert: authority_pb2.Alert) -> str | None:
        """Run every hook; the first failure as a sentence, or None when all succeeded."""
        text = alert_json(alert)
        if self._directory is not None:
            try:
                self._write(alert, text)
            except OSError as error:
                return f"cannot write the alert file in {self._directory}: {error.strerror}"
        if self._args is not None:
            return self._command(alert, text)
        return None

    def _write(self, alert: authority_pb2.Alert, text: str) -> Path:
        assert self._directory is not None
        self._directory.mkdir(parents=True, exist_ok=True)
        name = f"{alert.cursor:020d}-{_UNSAFE.sub('_', alert.alert_id)[:100]}.json"
        final = self._directory / name
        temporary = self._directory / f".{name}.tmp"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(descriptor, text.encode())
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        os.replace(temporary, final)
        return final

    def _command(self, alert: authority_pb2.Alert, text: str) -> str | None:
        assert self._args is not None
        environment = dict(os.environ)
        environment["NEARMISS_ALERT_ID"] = alert.alert_id
        environment["NEARMISS_ALERT_CURSOR"] = str(alert.cursor)
        try:
            finished = subprocess.run(
                self._args,
                input=text.encode(),
                capture_output=True,
                timeout=self._timeout_s,
                env=environment,
                check=False,
                shell=False,
            )
        except FileNotFoundError:
            return f"the alert command {self._args[0]!r} was not found"
        except subprocess.TimeoutExpired:
            return f"the alert command ran longer than {self._timeout_s:g} s and was stopped"
        except OSError as error:
            return f"the alert command could not start: {error.strerror}"
        if finished.returncode != 0:
            return f"the alert command exited with status {finished.returncode}"
        return None
