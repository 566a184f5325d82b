"""Reports arriving as documents (the local API's ``report_document``) or wire messages.

Rules this module enforces, the same as for report files (nearmiss.reportfile):

- a document is UTF-8 (an invalid byte is refused with its offset), at most
  ``MAX_FILE_BYTES`` (2 MiB), and holds one YAML or JSON mapping; a document whose first
  non-blank character is ``{`` is read as JSON (for JSON's clearer syntax errors),
  anything else as YAML (a superset of JSON);
- every problem names the source, the field path and the reason, all at once;
- a report given as a protobuf message is checked with the same model rules.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from nearmiss.canonical import report_from_proto
from nearmiss.errors import ReportInvalidError
from nearmiss.model import IncidentReport
from nearmiss.reportfile import MAX_FILE_BYTES, parse_report
from nearmiss.v1 import report_pb2


def report_from_document(data: bytes, *, source: str) -> IncidentReport:
    if len(data) > MAX_FILE_BYTES:
        raise ReportInvalidError(
            f"is {len(data)} bytes; report documents are limited to {MAX_FILE_BYTES}",
            source=source,
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ReportInvalidError(
            f"is not valid UTF-8 (bad byte at offset {error.start})", source=source
        ) from None
    return parse_report(_parse(text, source), source=source)


def _parse(text: str, source: str) -> Any:
    if text.lstrip().startswith("{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise ReportInvalidError(
                f"is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})",
                source=source,
            ) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(error, "problem", None) or "syntax error"
        raise ReportInvalidError(f"is not valid YAML{where}: {problem}", source=source) from None


def report_from_message(message: report_pb2.IncidentReport, *, source: str) -> IncidentReport:
    try:
        return report_from_proto(message)
    except ReportInvalidError as error:
        raise error.with_source(source) from None
