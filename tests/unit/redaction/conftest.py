"""Shared fixtures: one Redactor per session (loading spaCy costs seconds), no network."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from node.redaction import Redactor


@pytest.fixture(scope="session")
def redactor() -> Redactor:
    return Redactor.from_packs()


@pytest.fixture()
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Cut networking off; yields the list of attempted connections."""
    attempts: list[Any] = []

    def refuse(self: socket.socket, address: Any) -> None:
        attempts.append(address)
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    yield attempts
