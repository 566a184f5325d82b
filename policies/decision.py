"""Provenance of policy decisions: which pack (by content hash) and which rule decided.

Rule: every decision object a policy returns carries a ``Provenance``; callers store it
with whatever they did (a disclosure, an alert, a refusal to share), so that anyone can
later tell which version of which written rule was in force. ``trail`` lists every rule
that matched on the way, in order; ``rule_id`` is the one that settled the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass

from policies.packfile import PackFile


@dataclass(frozen=True)
class Provenance:
    pack_kind: str
    pack_name: str
    pack_hash: str
    rule_id: str
    trail: tuple[str, ...] = ()

    @classmethod
    def of(cls, pack: PackFile, rule_id: str, trail: tuple[str, ...] = ()) -> Provenance:
        return cls(pack.kind, pack.name, pack.content_hash, rule_id, trail or (rule_id,))

    def as_dict(self) -> dict[str, object]:
        return {
            "pack_kind": self.pack_kind,
            "pack_name": self.pack_name,
            "pack_hash": self.pack_hash,
            "rule_id": self.rule_id,
            "trail": list(self.trail),
        }
