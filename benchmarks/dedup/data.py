"""Loading the labelled benchmark files into ``DedupItem``s.

Rules: a file is JSON lines with ``id``, ``group``, ``title``, ``text``, ``source`` and
an optional ``date``; ``title`` maps to the item's title, ``text`` to its summary, and a
parseable ``date`` to ``occurred_at`` (with its precision: "1988-01" is a month, "September
20, 2016" a day). Labels stay outside the items, so the method cannot read them.
Quick mode subsamples a big file reproducibly: a seeded sample of groups, keeping every
member of each sampled group, so multi-item groups stay whole.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from dedup import DatePrecision, DedupItem

_DATE_FORMATS: tuple[tuple[str, DatePrecision], ...] = (
    ("%Y-%m-%d", "day"),
    ("%B %d, %Y", "day"),
    ("%b %d, %Y", "day"),
    ("%d %B %Y", "day"),
    ("%Y-%m", "month"),
    ("%B, %Y", "month"),
    ("%B %Y", "month"),
    ("%b %Y", "month"),
    ("%Y", "year"),
)
_ORDINAL = re.compile(r"(?<=\d)(st|nd|rd|th)\b")


@dataclass(frozen=True, slots=True)
class LabelledFile:
    name: str
    items: list[DedupItem]
    groups: list[str]


def parse_date(raw: str | None) -> tuple[datetime | None, DatePrecision]:
    """A benchmark date and how precise it is; unknown formats count as no date."""
    if not raw:
        return None, "day"
    cleaned = _ORDINAL.sub("", raw.strip())
    for fmt, precision in _DATE_FORMATS:
        try:
            return datetime.strptime(cleaned, fmt).replace(tzinfo=UTC), precision
        except ValueError:
            continue
    return None, "day"


def load_file(path: Path) -> LabelledFile:
    items: list[DedupItem] = []
    groups: list[str] = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            row = json.loads(line)
            when, precision = parse_date(row.get("date"))
            items.append(
                DedupItem.create(
                    str(row["id"]),
                    title=row.get("title") or "",
                    summary=row.get("text") or "",
                    occurred_at=when,
                    date_precision=precision,
                )
            )
            groups.append(str(row["group"]))
    return LabelledFile(path.stem, items, groups)


def subsample(data: LabelledFile, max_items: int, seed: int = 0) -> LabelledFile:
    """At most about ``max_items`` items: whole groups, drawn in a seeded order."""
    if len(data.items) <= max_items:
        return data
    members: dict[str, list[int]] = {}
    for i, g in enumerate(data.groups):
        members.setdefault(g, []).append(i)
    order = sorted(members)
    random.Random(seed).shuffle(order)
    keep: list[int] = []
    for g in order:
        if len(keep) + len(members[g]) > max_items:
            continue
        keep.extend(members[g])
    keep.sort()
    return LabelledFile(data.name, [data.items[i] for i in keep], [data.groups[i] for i in keep])


def load_dir(directory: Path) -> list[LabelledFile]:
    return [load_file(p) for p in sorted(directory.glob("*.jsonl"))]
