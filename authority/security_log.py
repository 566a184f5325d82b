"""The security audit trail: one JSON line per refusal.

Rule: a line carries the party (or "unknown"), the RPC, the status code and our own
error message — which by construction (nearmiss.errors) holds ids and reasons, never
report content. Nothing else from the request is logged.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import grpc

from nearmiss.identity import Party

LOGGER_NAME = "nearmiss.security"


class SecurityLog:
    def __init__(self, logger: logging.Logger | None = None):
        self._logger = logger or logging.getLogger(LOGGER_NAME)

    def refusal(
        self, *, party: Party | None, rpc: str, code: grpc.StatusCode, reason: str, peer: str
    ) -> None:
        self._logger.warning(
            json.dumps(
                {
                    "event": "refused",
                    "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
                    "party": party.party_id if party else "unknown",
                    "role": party.role.value if party else "unknown",
                    "rpc": rpc,
                    "code": code.name,
                    "reason": reason,
                    "peer": peer,
                },
                sort_keys=True,
            )
        )
