"""Capitalised chunks of a text, and the windows around them that NER must read.

Rules this module enforces:

- A chunk is a run of capitalised tokens (first letter upper case and some lower case:
  acronyms like API are not names; only letters, apostrophes, hyphens and dots: a token
  with a digit or a symbol, such as a key or "Qwen2.5-72B", is no name), split at stop
  words and at punctuation that ends a clause. Every name the finder could report lies
  inside a chunk.
- spaCy's small English model sees a token through at most four tokens either side (its
  CNN has window 1 and depth 4), so NER reads windows of ``context`` tokens (default 2:
  as good as 3 or 4 on our corpus, and NER time grows with the tokens it reads) around
  the chunks it is given instead of whole texts; overlapping windows merge; a window
  never crosses a line break (a form label on the line above does not help the model).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

Span = tuple[int, int]

_TOKEN = re.compile(r"[^\s]+")
_CORE = re.compile(r"^[\"'(\[]*(.*?)[\"')\].,;:!?]*$", re.DOTALL)
_SENTENCE_END = re.compile(r"[.!?:]$|[.!?][\"')\]]$")
_POSSESSIVE = re.compile(r"(?:'s|’s)$")
# Lower-case name particles stay inside a chunk between capitalised words ("van der Berg").
PARTICLES = frozenset({"van", "von", "de", "der", "den", "da", "di", "del", "la", "le", "bin",
                       "al", "el", "ibn", "ter", "du", "dos", "das", "do"})


@dataclass(frozen=True)
class Chunk:
    start: int  # character offsets of the chunk's words (without outer punctuation)
    end: int
    words: tuple[str, ...]
    first_token: int
    last_token: int
    sentence_initial: bool


@dataclass(frozen=True)
class Tokens:
    spans: tuple[tuple[int, int], ...]


_NAME_SHAPE = re.compile(r"[^\W\d_](?:[^\W\d_]|['’.\-])*")  # letters, ' ’ . -
DEFAULT_CONTEXT = 2


def _capitalised(core: str) -> bool:
    return (bool(core) and core[0].isupper() and any(c.islower() for c in core)
            and _NAME_SHAPE.fullmatch(core) is not None)


def chunks(text: str, stop_words: Collection[str]) -> tuple[Tokens, list[Chunk]]:
    tokens: list[tuple[int, int]] = []
    found: list[Chunk] = []
    run: list[tuple[int, int, int, str]] = []  # (token index, start, end, word)
    sentence_start = True
    run_initial = False

    pending: list[tuple[int, int, int, str]] = []

    def close() -> None:
        pending.clear()
        if run:
            found.append(Chunk(run[0][1], run[-1][2], tuple(w for *_, w in run), run[0][0],
                               run[-1][0], run_initial))
            run.clear()

    for index, match in enumerate(_TOKEN.finditer(text)):
        raw = match.group()
        tokens.append(match.span())
        core_match = _CORE.match(raw)
        core = core_match.group(1) if core_match else raw
        word = _POSSESSIVE.sub("", core)
        if run and raw in PARTICLES:
            pending.append((index, match.start(), match.end(), raw))
            sentence_start = False
            continue
        if _capitalised(word) and word.casefold() not in stop_words:
            if not run:
                run_initial = sentence_start
            begin = match.start() + raw.find(core)
            run.extend(pending)
            pending.clear()
            run.append((index, begin, begin + len(word), word))
            if raw[-1] in ",;:.!?)" or word != core:  # punctuation or a possessive ends it
                close()
        else:
            close()
        sentence_start = bool(_SENTENCE_END.search(raw))
    close()
    return Tokens(tuple(tokens)), found


def windows(text: str, tokens: Tokens, selected: Sequence[Chunk],
            context: int = DEFAULT_CONTEXT) -> list[Span]:
    """Character spans NER should read around the selected chunks (merged, in order)."""
    out: list[Span] = []
    spans = tokens.spans
    for chunk in selected:
        lo = max(0, chunk.first_token - context)
        hi = min(len(spans) - 1, chunk.last_token + context)
        start, end = spans[lo][0], spans[hi][1]
        line_start = text.rfind("\n", start, chunk.start) + 1
        line_end = text.find("\n", chunk.end, end)
        start = max(start, line_start)
        end = end if line_end < 0 else line_end
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(end, out[-1][1]))
        else:
            out.append((start, end))
    return out
