"""The policy engine: the packs in force, hot-reloaded atomically, with a clear refusal.

Rules this module enforces:

- At start every pack must load; a broken pack stops the start with its PackError.
- :meth:`PolicyEngine.reload` re-reads every pack file whose bytes changed. All packs
  are compiled first, then swapped in together under a lock: a reader calling
  :meth:`PolicyEngine.current` gets one consistent :class:`PolicySet`, never half of
  an update. A pack that fails is refused with its error (logged, and returned in the
  :class:`ReloadResult`), and the previous version of that pack stays in force.
- Unchanged bytes are not recompiled and a refused file is not re-reported until it
  changes again, so polling is cheap and logs stay quiet.
- The machinery is generic over the kind of pack (:class:`PackKind`): a kind is a name
  (which picks the JSON Schema) and a compile function. The redaction pack can use the
  same slots.

Config (``authority.toml``)::

    [policies]
    safe_harbor = "packs/safe-harbor.yaml"      # default: the shipped pack
    disclosure = "packs/disclosure.yaml"
    alert_routing = "packs/alert-routing.yaml"
    reload_seconds = 5                          # 0 switches hot reload off
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Generic, TypeVar

from nearmiss.config import ConfigTable
from nearmiss.errors import ConfigError
from policies.alert_routing import AlertRoutingPolicy, compile_alert_routing
from policies.disclosure import DisclosurePolicy, compile_disclosure
from policies.packfile import PackFile, default_pack_path, parse_pack
from policies.safe_harbor import SafeHarborPolicy, compile_safe_harbor

logger = logging.getLogger("nearmiss.policies")
T = TypeVar("T")


@dataclass(frozen=True)
class PackKind(Generic[T]):
    name: str
    compile: Callable[[PackFile], T]


SAFE_HARBOR: PackKind[SafeHarborPolicy] = PackKind("safe-harbor", compile_safe_harbor)
DISCLOSURE: PackKind[DisclosurePolicy] = PackKind("disclosure", compile_disclosure)
ALERT_ROUTING: PackKind[AlertRoutingPolicy] = PackKind("alert-routing", compile_alert_routing)


class ReloadStatus(StrEnum):
    UNCHANGED = "unchanged"
    RELOADED = "reloaded"
    REFUSED = "refused"


@dataclass(frozen=True)
class ReloadResult:
    kind: str
    source: str
    status: ReloadStatus
    pack_hash: str
    error: str = ""


class PackSlot(Generic[T]):
    """One pack file and the compiled policy in force for it."""

    def __init__(self, kind: PackKind[T], path: Path):
        self.kind = kind
        self.path = path
        data = self._read()
        self.policy, self.pack = self._compile(data)
        self._seen = hashlib.sha256(data).digest()
        self._pending: tuple[T, PackFile] | None = None

    def _read(self) -> bytes:
        try:
            return self.path.read_bytes()
        except OSError as error:
            raise ConfigError(
                f"cannot be read: {error.strerror or error}", source=str(self.path)
            ) from None

    def _compile(self, data: bytes) -> tuple[T, PackFile]:
        pack = parse_pack(data, source=str(self.path), kind=self.kind.name)
        return self.kind.compile(pack), pack

    def prepare(self) -> ReloadResult:
        """Compile the file if it changed; it is swapped in by :meth:`commit` only."""
        self._pending = None
        try:
            data = self._read()
        except ConfigError as error:
            digest = hashlib.sha256(str(error).encode()).digest()
            return self._refused(digest, error)
        digest = hashlib.sha256(data).digest()
        if digest == self._seen:
            return self._result(ReloadStatus.UNCHANGED)
        try:
            self._pending = self._compile(data)
        except ConfigError as error:
            return self._refused(digest, error)
        self._seen = digest
        return self._result(ReloadStatus.RELOADED, self._pending[1].content_hash)

    def commit(self) -> None:
        if self._pending is not None:
            self.policy, self.pack = self._pending
            self._pending = None

    def _refused(self, digest: bytes, error: ConfigError) -> ReloadResult:
        first_time = digest != self._seen
        self._seen = digest
        status = ReloadStatus.REFUSED if first_time else ReloadStatus.UNCHANGED
        return self._result(status, error=str(error) if first_time else "")

    def _result(self, status: ReloadStatus, new_hash: str = "", error: str = "") -> ReloadResult:
        return ReloadResult(
            self.kind.name, str(self.path), status, new_hash or self.pack.content_hash, error
        )


@dataclass(frozen=True)
class PolicySet:
    """The packs in force at one moment; take one and use it for a whole decision."""

    safe_harbor: SafeHarborPolicy
    disclosure: DisclosurePolicy
    alert_routing: AlertRoutingPolicy

    def hashes(self) -> dict[str, str]:
        return {
            SAFE_HARBOR.name: self.safe_harbor.content_hash,
            DISCLOSURE.name: self.disclosure.content_hash,
            ALERT_ROUTING.name: self.alert_routing.content_hash,
        }


class PolicyEngine:
    def __init__(
        self,
        *,
        safe_harbor: Path | None = None,
        disclosure: Path | None = None,
        alert_routing: Path | None = None,
        reload_seconds: float = 5.0,
    ):
        self._safe_harbor = PackSlot(SAFE_HARBOR, safe_harbor or default_pack_path("safe-harbor"))
        self._disclosure = PackSlot(DISCLOSURE, disclosure or default_pack_path("disclosure"))
        self._alerts = PackSlot(
            ALERT_ROUTING, alert_routing or default_pack_path("alert-routing")
        )
        self.reload_seconds = reload_seconds
        self._lock = threading.Lock()
        self._current = self._snapshot()

    @classmethod
    def from_config(cls, table: ConfigTable | None) -> PolicyEngine:
        """From the ``[policies]`` table (``None``: the shipped default packs)."""
        if table is None:
            return cls()
        return cls(
            safe_harbor=table.optional_path("safe_harbor"),
            disclosure=table.optional_path("disclosure"),
            alert_routing=table.optional_path("alert_routing"),
            reload_seconds=table.number("reload_seconds", 5.0),
        )

    def _snapshot(self) -> PolicySet:
        return PolicySet(self._safe_harbor.policy, self._disclosure.policy, self._alerts.policy)

    def current(self) -> PolicySet:
        with self._lock:
            return self._current

    @property
    def safe_harbor(self) -> SafeHarborPolicy:
        return self.current().safe_harbor

    @property
    def disclosure(self) -> DisclosurePolicy:
        return self.current().disclosure

    @property
    def alert_routing(self) -> AlertRoutingPolicy:
        return self.current().alert_routing

    def reload(self) -> list[ReloadResult]:
        """Re-read changed packs; swap every good one in at once; keep the old on error."""
        with self._lock:
            slots = (self._safe_harbor, self._disclosure, self._alerts)
            results = [slot.prepare() for slot in slots]
            for slot in slots:
                slot.commit()
            self._current = self._snapshot()
        for result in results:
            if result.status is ReloadStatus.REFUSED:
                logger.error(
                    "policy pack %s refused; the previous version %s stays in force: %s",
                    result.source, result.pack_hash[:12], result.error,
                )
            elif result.status is ReloadStatus.RELOADED:
                logger.info("policy pack %s reloaded: %s", result.source, result.pack_hash[:12])
        return results


class PolicyWatcher:
    """Component: polls the pack files every ``reload_seconds`` and reloads changes."""

    name = "policy-watcher"

    def __init__(self, engine: PolicyEngine):
        self.engine = engine
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.engine.reload_seconds <= 0:
            return
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.engine.reload_seconds):
            try:
                self.engine.reload()
            except Exception:
                logger.exception("policy reload failed; the packs in force stay")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
