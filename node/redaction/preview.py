"""What ``nearmiss node submit --dry-run`` shows: what would be sent, beside the original.

Rules this module enforces:

- The preview is for the person at the lab's own terminal: it shows original values
  (struck through, red) next to their placeholders (green), and dropped LAB_ONLY
  sections in full with "not sent". It is printed, never logged or sent.
- The diff is by words (``difflib``), so a placeholder lines up with the words it
  replaced, whatever their length.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

_WORDS = re.compile(r"\s+|[^\s]+")


@dataclass(frozen=True)
class PreviewRow:
    """One field of the report: where it is, what it said, what will be sent (or None)."""

    field: str
    original: str
    sent: str | None


def inline_diff(original: str, sent: str) -> Text:
    """Original words struck out in red, their placeholders in bold green."""
    before = _WORDS.findall(original)
    after = _WORDS.findall(sent)
    out = Text()
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            out.append("".join(before[a1:a2]))
            continue
        if a2 > a1:
            out.append("".join(before[a1:a2]), style="strike red")
        if b2 > b1:
            out.append("".join(after[b1:b2]), style="bold green")
    return out


def preview_table(rows: Iterable[PreviewRow], *, side_by_side: bool = False) -> RenderableType:
    """A table of every field: an inline diff, or original and sent in two columns."""
    table = Table(show_lines=True, expand=True, title="What would be sent")
    table.add_column("field", style="cyan", no_wrap=True)
    if side_by_side:
        table.add_column("original (stays on this node)")
        table.add_column("sent to the authority")
    else:
        table.add_column("sent (red: removed, green: placeholder)")
    unchanged = 0
    for row in rows:
        if row.sent is None:
            dropped = Text(row.original, style="strike red")
            note = Text("  [not sent: LAB_ONLY]", style="bold yellow")
            cells = [Text(row.original), note] if side_by_side else [dropped + note]
        elif side_by_side:
            cells = [Text(row.original), Text(row.sent)]
        else:
            cells = [inline_diff(row.original, row.sent)]
        unchanged += row.sent == row.original
        table.add_row(row.field, *cells)
    footer = Text(f"{unchanged} field(s) unchanged by redaction", style="dim")
    return Group(table, footer)
