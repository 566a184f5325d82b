"""Which parts of a text the NER model must read to find every name it could find.

Rules this module enforces:

- spaCy's small English model sees a name through its capitalised tokens and about
  four tokens either side (its CNN has window 1 and depth 4). So NER runs on windows
  of ``context`` tokens around *candidate chunks* instead of on whole texts; names the
  model would tag are inside a chunk by construction.
- A candidate chunk is a run of capitalised tokens (first letter upper case, some lower
  case: acronyms like API are not names) with stop words removed. A chunk is skipped
  only when it is a single token that is a month or weekday, or a single
  *sentence-initial* token that is a common English word (WordNet's lemma lists shipped
  inside the model): sentence-initial capitals say nothing about names.
- Overlapping windows are merged; windows never cross a line break (a label like
  "Reporter:" on the line before does not help the model and costs tokens).
"""

from __future__ import annotations

import re
from collections.abc import Collection

Span = tuple[int, int]

_TOKEN = re.compile(r"[^\s]+")
_CORE = re.compile(r"^[\"'(\[]*(.*?)[\"')\].,;:!?]*$")
_SENTENCE_END = re.compile(r"[.!?:]$|[.!?][\"')\]]$")


def _capitalised(core: str) -> bool:
    return bool(core) and core[0].isupper() and any(c.islower() for c in core)


def name_windows(text: str, *, stop_words: Collection[str], calendar: Collection[str],
                 common_words: Collection[str], context: int = 3) -> list[Span]:
    """Character spans of the text that NER should read (merged, in order)."""
    tokens = [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(text)]
    chunks: list[tuple[int, int]] = []  # token index ranges [first, last]
    run: list[int] = []
    sentence_start = True
    starts: set[int] = set()
    for index, (_, _, raw) in enumerate(tokens):
        core = _CORE.match(raw).group(1)  # type: ignore[union-attr]
        if sentence_start:
            starts.add(index)
        possessive = re.sub(r"(?:'s|’s)$", "", core)
        if _capitalised(possessive) and possessive.casefold() not in stop_words:
            run.append(index)
        else:
            if run:
                chunks.append((run[0], run[-1]))
            run = []
        sentence_start = bool(_SENTENCE_END.search(raw))
        if run and raw != core and raw[-1] in ",;:.!?)":
            chunks.append((run[0], run[-1]))
            run = []
    if run:
        chunks.append((run[0], run[-1]))

    windows: list[Span] = []
    for first, last in chunks:
        if first == last:
            word = re.sub(r"(?:'s|’s)$", "", _CORE.match(tokens[first][2]).group(1))  # type: ignore[union-attr]
            folded = word.casefold()
            if folded in calendar:
                continue
            if first in starts and folded in common_words:
                continue
        lo = max(0, first - context)
        hi = min(len(tokens) - 1, last + context)
        start, end = tokens[lo][0], tokens[hi][1]
        # Do not cross line breaks: keep the window on the chunk's own line(s).
        line_start = text.rfind("\n", start, tokens[first][0]) + 1
        line_end = text.find("\n", tokens[last][1], end)
        start = max(start, line_start)
        end = end if line_end < 0 else line_end
        if windows and start <= windows[-1][1]:
            windows[-1] = (windows[-1][0], max(end, windows[-1][1]))
        else:
            windows.append((start, end))
    return windows
