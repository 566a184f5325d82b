"""Who receives an alert: the alert-routing decision resolved against known parties.

Rules:

* The alert-routing pack (``policies.alert_routing``) decides which labs and whether
  institutes hear of a case. "Institutes" are this authority's INSTITUTE parties and
  every federation peer; labs are resolved by the decision (all, reporting, others).
* This authority's analysts (its own staff) receive every alert it raises or accepts.
* Each recipient has an ``Audience``; the audience picks the safe-harbor destination
  its copy is filtered for (``DESTINATION``). Analysts have none: they are inside the
  authority.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from authority.parties import PartyRegistry
from nearmiss.identity import Role
from policies.alert_routing import AlertDecision
from policies.case import CaseView
from policies.safe_harbor import Destination


class Audience(StrEnum):
    LAB = "lab"
    INSTITUTE = "institute"
    ANALYST = "analyst"
    PEER = "peer"


DESTINATION: dict[Audience, Destination | None] = {
    Audience.LAB: Destination.LAB,
    Audience.INSTITUTE: Destination.PEER_INSTITUTE,
    Audience.PEER: Destination.PEER_INSTITUTE,
    Audience.ANALYST: None,
}
ROLE_AUDIENCE: dict[Role, Audience] = {
    Role.LAB: Audience.LAB,
    Role.INSTITUTE: Audience.INSTITUTE,
    Role.ANALYST: Audience.ANALYST,
}


@dataclass(frozen=True)
class Recipient:
    party_id: str
    audience: Audience


@dataclass(frozen=True)
class Directory:
    """The parties an alert can reach, by audience, at one moment."""

    labs: frozenset[str]
    institutes: frozenset[str]
    analysts: frozenset[str]
    peers: frozenset[str]

    @classmethod
    def build(cls, registry: PartyRegistry, peers: Iterable[str]) -> Directory:
        by_role: dict[Role, set[str]] = {role: set() for role in Role}
        for known in registry.parties():
            by_role[known.entry.role].add(known.entry.party_id)
        return cls(
            labs=frozenset(by_role[Role.LAB]),
            institutes=frozenset(by_role[Role.INSTITUTE]),
            analysts=frozenset(by_role[Role.ANALYST]),
            peers=frozenset(peers),
        )

    def audience_of(self, party_id: str) -> Audience | None:
        for audience, members in (
            (Audience.ANALYST, self.analysts),
            (Audience.INSTITUTE, self.institutes),
            (Audience.LAB, self.labs),
        ):
            if party_id in members:
                return audience
        return None


def resolve(decision: AlertDecision, case: CaseView, directory: Directory) -> list[Recipient]:
    """Every recipient of one routing decision, in a stable order."""
    chosen = decision.recipients(case, institutes=directory.institutes, labs=directory.labs)
    recipients = [Recipient(p, Audience.ANALYST) for p in sorted(directory.analysts)]
    recipients += [Recipient(p, Audience.INSTITUTE) for p in sorted(chosen.institutes)]
    recipients += [Recipient(p, Audience.LAB) for p in sorted(chosen.labs)]
    if decision.institutes == "all":
        recipients += [Recipient(p, Audience.PEER) for p in sorted(directory.peers)]
    return recipients


def local_recipients_of_federated(directory: Directory) -> Sequence[Recipient]:
    """A peer's alert reaches this authority's institutes and analysts (it was filtered
    for institutes by its origin; labs get only what this authority's own rules raise)."""
    return [Recipient(p, Audience.ANALYST) for p in sorted(directory.analysts)] + [
        Recipient(p, Audience.INSTITUTE) for p in sorted(directory.institutes)
    ]
