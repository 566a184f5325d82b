"""The parties an authority knows, and the certificates it no longer accepts.

Rules: a caller is accepted only if (1) TLS verified its certificate against our CA,
(2) the certificate names a party (nearmiss.identity) that this authority's config
lists with the same role, and (3) the certificate's serial is not revoked. The revoked
serials file is re-read whenever its modification time changes, so revoking a lab
takes effect on its next call without a restart.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass
from pathlib import Path

from authority.config import PartyEntry
from nearmiss.errors import AuthenticationError, ConfigError, PermissionDeniedError
from nearmiss.identity import Party
from nearmiss.signing import VerifyingKey


def parse_serials(text: str, *, source: str) -> frozenset[int]:
    serials: set[int] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip().replace(":", "")
        if not line:
            continue
        try:
            serials.add(int(line, 16) if not line.isdigit() else int(line))
        except ValueError:
            raise ConfigError(
                f"line {number} is not a certificate serial (hex or decimal)", source=source
            ) from None
    return frozenset(serials)


class RevocationList:
    """Revoked certificate serials, reloaded when the file changes."""

    def __init__(self, path: Path | None):
        self._path = path
        self._lock = threading.Lock()
        self._mtime_ns: int | None = None
        self._serials: frozenset[int] = frozenset()
        self._reload_if_changed()

    def _reload_if_changed(self) -> None:
        if self._path is None:
            return
        try:
            mtime_ns = self._path.stat().st_mtime_ns
        except FileNotFoundError:
            mtime_ns = -1
        if mtime_ns == self._mtime_ns:
            return
        with self._lock:
            if mtime_ns == -1:
                serials: frozenset[int] = frozenset()
            else:
                serials = parse_serials(self._path.read_text(), source=str(self._path))
            self._serials, self._mtime_ns = serials, mtime_ns

    def is_revoked(self, serial: int) -> bool:
        # A broken file must not silently un-revoke anyone: keep the previous list.
        with contextlib.suppress(ConfigError):
            self._reload_if_changed()
        return serial in self._serials


@dataclass(frozen=True)
class KnownParty:
    entry: PartyEntry
    signing_key: VerifyingKey | None


class PartyRegistry:
    """Maps an authenticated certificate to a known party and its report-signing key."""

    def __init__(self, entries: dict[str, PartyEntry], revocations: RevocationList):
        self._revocations = revocations
        self._parties = {
            party_id: KnownParty(
                entry,
                VerifyingKey.from_file(entry.signing_public_key)
                if entry.signing_public_key
                else None,
            )
            for party_id, entry in entries.items()
        }

    def admit(self, party: Party) -> KnownParty:
        """The registry entry for ``party``, or AuthenticationError saying why not."""
        if self._revocations.is_revoked(party.certificate_serial):
            raise AuthenticationError(
                f"the certificate of {party} (serial {party.certificate_serial:x}) is revoked"
            )
        known = self._parties.get(party.party_id)
        if known is None:
            raise AuthenticationError(f"{party} is not a party of this authority")
        if known.entry.role is not party.role:
            raise AuthenticationError(
                f"the certificate names {party}, but this authority knows "
                f"{party.party_id} as {known.entry.role.value}"
            )
        return known

    def lab_signing_key(self, lab_id: str) -> VerifyingKey:
        known = self._parties.get(lab_id)
        if known is None or known.signing_key is None:
            raise PermissionDeniedError(f"lab {lab_id} has no registered signing key")
        return known.signing_key

    def parties(self) -> list[KnownParty]:
        return list(self._parties.values())
