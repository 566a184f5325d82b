"""National id numbers: Presidio's checksummed recognizers, compiled and prefiltered.

Rules this module enforces:

- The recognizers are Presidio's own, named in the pack's ``government-id`` rule
  (``options.recognizers``; each one costs time on every text, so a lab may list only
  the countries it deals with). They run through ``recognizers.CompiledRecognizer``:
  Presidio's scores, checksums and context words, without its per-call overhead, and
  skipped on texts that cannot hold a match.
- A finding glued to letters or digits (inside a longer token such as a hash) is
  dropped, and a bare run of digits is taken only with an id word ("id", "number",
  "ssn"...) in the 30 characters before it: bare digit runs are more often counts,
  seeds and timestamps.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from nearmiss.errors import ConfigError
from node.redaction.prefilter import Runs, text_runs
from node.redaction.recognizers import CompiledRecognizer, predefined

Span = tuple[int, int]

# Presidio's predefined recognizers for national ids with a checksum or a strict shape.
DEFAULT_RECOGNIZERS = (
    "UsSsnRecognizer", "UsItinRecognizer", "UsPassportRecognizer", "UkNinoRecognizer",
    "NhsRecognizer", "EsNifRecognizer", "EsNieRecognizer", "ItFiscalCodeRecognizer",
    "InAadhaarRecognizer", "InPanRecognizer", "SgFinRecognizer", "AuTfnRecognizer",
    "PlPeselRecognizer", "FiPersonalIdentityCodeRecognizer", "CaSinRecognizer",
    "KrRrnRecognizer", "SePersonnummerRecognizer", "DeTaxIdRecognizer",
    "TrNationalIdRecognizer", "ZaIdNumberRecognizer", "NgNinRecognizer",
)
# Substrings, as before the compiled path: "ID", "id no.", "passport number", "SSN"...
_ID_WORDS = re.compile(
    r"id|no\.|number|ssn|passport|national|tax|insurance|nino|aadhaar|pesel|sin|nhs|dni|nif|"
    r"nie|personnummer|fiscal"
)


@dataclass(frozen=True)
class GovIdMatcher:
    """The pack's id recognizers, built once per Redactor."""

    recognizers: tuple[CompiledRecognizer, ...]

    @classmethod
    def build(cls, names: Sequence[str] = DEFAULT_RECOGNIZERS, *, source: str = "",
              rule_id: str = "government-id") -> GovIdMatcher:
        presidio = predefined()
        built = []
        for name in names:
            factory = getattr(presidio, str(name), None)
            if factory is None:
                raise ConfigError(f"rule {rule_id!r}: Presidio has no recognizer named {name!r}",
                                  source=source or None, key="options.recognizers")
            built.append(CompiledRecognizer.of(factory()))
        return cls(tuple(built))

    def find(self, text: str, runs: Runs | None = None) -> Iterator[Span]:
        runs = runs if runs is not None else text_runs(text)
        for recognizer in self.recognizers:
            for start, end in recognizer.find(text, runs):
                if (start > 0 and text[start - 1].isalnum()) or (
                        end < len(text) and text[end].isalnum()):
                    continue  # inside a longer token (a hash, an id)
                if text[start:end].isdigit() and not _ID_WORDS.search(
                        text[max(0, start - 30):start].lower()):
                    continue
                yield start, end
