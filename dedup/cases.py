"""Incident cases: which report belongs to which case, and what analysts decided.

Rules this module enforces:

- every report belongs to exactly one case; case ids are ints handed out in increasing
  order and never reused (a merged-away or emptied case id stays retired);
- the algorithm can only *add* a report to a case or *merge* cases; it never splits;
- an analyst's split records a cannot-link between the parts, an analyst's merge a
  must-link; :meth:`CaseStore.can_merge` refuses any merge that would put two sides
  of a cannot-link in one case, so the algorithm never undoes a split. A later human
  decision overrides an earlier one (merging two parts that were split apart removes
  that cannot-link; splitting a merged case removes the must-link between the parts);
- when cases merge, the surviving id is the lower (older) one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from nearmiss.errors import ConflictError, NotFoundError, PreconditionError


@dataclass(frozen=True, slots=True)
class HumanDecision:
    """One analyst's merge or split, kept so the algorithm can respect it afterwards."""

    kind: str  # "must_link" | "cannot_link"
    left: frozenset[str]
    right: frozenset[str]
    by: str
    at: datetime
    reason: str = ""

    def separates(self, a: frozenset[str] | set[str], b: frozenset[str] | set[str]) -> bool:
        """True when ``a`` and ``b`` hold the two sides of this decision."""
        return bool(
            (self.left & a and self.right & b) or (self.left & b and self.right & a)
        )


@dataclass(slots=True)
class CaseStore:
    """Case assignments plus the analysts' constraints; in memory, restorable."""

    _case_of: dict[str, int] = field(default_factory=dict)
    _members: dict[int, set[str]] = field(default_factory=dict)
    _decisions: list[HumanDecision] = field(default_factory=list)
    _next_id: int = 1

    # -- reading -----------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._members)

    def case_of(self, item_id: str) -> int:
        try:
            return self._case_of[item_id]
        except KeyError:
            raise NotFoundError(f"report {item_id} is in no case") from None

    def get(self, item_id: str) -> int | None:
        return self._case_of.get(item_id)

    def members(self, case_id: int) -> frozenset[str]:
        try:
            return frozenset(self._members[case_id])
        except KeyError:
            raise NotFoundError(f"no case {case_id}") from None

    def cases(self) -> dict[int, frozenset[str]]:
        return {c: frozenset(m) for c, m in self._members.items()}

    @property
    def decisions(self) -> tuple[HumanDecision, ...]:
        return tuple(self._decisions)

    @property
    def next_id(self) -> int:
        return self._next_id

    # -- algorithmic changes -------------------------------------------------------------

    def new_case(self, item_id: str) -> int:
        self._require_new(item_id)
        case_id = self._next_id
        self._next_id += 1
        self._case_of[item_id] = case_id
        self._members[case_id] = {item_id}
        return case_id

    def join(self, item_id: str, case_id: int) -> None:
        self._require_new(item_id)
        if case_id not in self._members:
            raise NotFoundError(f"no case {case_id}")
        self._case_of[item_id] = case_id
        self._members[case_id].add(item_id)

    def can_join(self, members: Iterable[str], case_id: int) -> bool:
        """Whether reports may join (or whose case may merge into) ``case_id``."""
        incoming = set(members)
        target = self._members.get(case_id, set())
        return not any(
            d.kind == "cannot_link" and d.separates(incoming, target) for d in self._decisions
        )

    def can_merge(self, a: int, b: int) -> bool:
        return a == b or self.can_join(self._members.get(a, set()), b)

    def merge(self, a: int, b: int) -> int:
        """Merge two cases (no constraint check: callers check ``can_merge``)."""
        if a == b:
            return a
        keep, gone = min(a, b), max(a, b)
        for item_id in self._members.pop(gone):
            self._case_of[item_id] = keep
            self._members[keep].add(item_id)
        return keep

    def remove_items(self, item_ids: Iterable[str]) -> None:
        """Forget reports (retention); a case left empty is retired."""
        for item_id in item_ids:
            case_id = self._case_of.pop(item_id, None)
            if case_id is None:
                continue
            self._members[case_id].discard(item_id)
            if not self._members[case_id]:
                del self._members[case_id]

    # -- human decisions ---------------------------------------------------------------

    def merge_by_human(self, a: int, b: int, *, by: str, reason: str = "") -> int:
        left, right = self.members(a), self.members(b)
        self._decisions = [
            d for d in self._decisions if not (d.kind == "cannot_link" and d.separates(left, right))
        ]
        self._decisions.append(HumanDecision("must_link", left, right, by, _now(), reason))
        return self.merge(a, b)

    def split_by_human(
        self, case_id: int, item_ids: Iterable[str], *, by: str, reason: str = ""
    ) -> int:
        """Move ``item_ids`` out of ``case_id`` into a new case; returns the new id."""
        members = self.members(case_id)
        moving = frozenset(item_ids)
        if not moving:
            raise PreconditionError("a split needs at least one report to move")
        if not moving <= members:
            raise NotFoundError(f"some reports to split off are not in case {case_id}")
        staying = members - moving
        if not staying:
            raise PreconditionError(f"a split of case {case_id} must leave a report behind")
        self._decisions = [
            d
            for d in self._decisions
            if not (d.kind == "must_link" and d.separates(moving, staying))
        ]
        self._decisions.append(HumanDecision("cannot_link", staying, moving, by, _now(), reason))
        new_id = self._next_id
        self._next_id += 1
        self._members[case_id] = set(staying)
        self._members[new_id] = set(moving)
        for item_id in moving:
            self._case_of[item_id] = new_id
        return new_id

    # -- persistence ---------------------------------------------------------------------

    @classmethod
    def restore(
        cls,
        assignments: Mapping[str, int],
        decisions: Iterable[HumanDecision] = (),
        *,
        next_id: int | None = None,
    ) -> CaseStore:
        """Rebuild from persisted (report -> case) rows and the analysts' decisions."""
        store = cls()
        for item_id, case_id in assignments.items():
            store._case_of[item_id] = case_id
            store._members.setdefault(case_id, set()).add(item_id)
        store._decisions = list(decisions)
        highest = max(store._members, default=0)
        store._next_id = max(highest + 1, next_id or 1)
        return store

    def _require_new(self, item_id: str) -> None:
        if item_id in self._case_of:
            raise ConflictError(f"report {item_id} is already in case {self._case_of[item_id]}")


def _now() -> datetime:
    return datetime.now(UTC)
