"""Report files (YAML or JSON) <-> the report model, with errors a person can act on.

Rules: a report file is UTF-8 (invalid bytes are refused with their offset), holds one
mapping, and is at most ``MAX_FILE_BYTES``; every problem is reported with the file name,
the field path (``sections[1].scope``) and the reason, all at once.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from nearmiss.errors import ReportInvalidError
from nearmiss.model import IncidentReport

MAX_FILE_BYTES = 2 * 1024 * 1024


def _field_path(location: tuple[int | str, ...]) -> str:
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def validation_problems(error: ValidationError) -> list[tuple[str | None, str]]:
    """Pydantic's errors as (field path, reason) without echoing the offending input."""
    problems: list[tuple[str | None, str]] = []
    for item in error.errors(include_input=False, include_url=False):
        location = tuple(
            part
            for part in item["loc"]
            if not (isinstance(part, str) and part.startswith("function-"))
        )
        reason = str(item["msg"]).removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            reason = "is not a field of a report (check the spelling; see `nearmiss schema`)"
        elif item["type"] == "missing":
            reason = "is required"
        problems.append((_field_path(location) or None, reason))
    return problems


def parse_report(data: Any, *, source: str | None = None) -> IncidentReport:
    if not isinstance(data, dict):
        raise ReportInvalidError("must contain one mapping of report fields", source=source)
    try:
        return IncidentReport.model_validate(data)
    except ValidationError as error:
        raise ReportInvalidError.from_problems(validation_problems(error), source=source) from None


def load_report(path: str | Path) -> IncidentReport:
    """Read and validate a .yaml/.yml/.json report file."""
    path = Path(path)
    source = str(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ReportInvalidError(f"cannot be read: {error.strerror}", source=source) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ReportInvalidError(
            f"is {len(raw)} bytes; report files are limited to {MAX_FILE_BYTES}", source=source
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ReportInvalidError(
            f"is not valid UTF-8 (bad byte at offset {error.start})", source=source
        ) from None
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            data = yaml.safe_load(text)
    except json.JSONDecodeError as error:
        raise ReportInvalidError(
            f"is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})",
            source=source,
        ) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(error, "problem", None) or "syntax error"
        raise ReportInvalidError(f"is not valid YAML{where}: {problem}", source=source) from None
    return parse_report(data, source=source)


def report_to_file_data(report: IncidentReport) -> dict[str, Any]:
    """The report as plain data for writing a YAML/JSON file (timestamps as ISO 8601)."""
    return report.model_dump(mode="json", exclude_defaults=False)


def report_json_schema() -> dict[str, Any]:
    schema = IncidentReport.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://nearmiss.dev/schema/v1/report.schema.json"
    schema["title"] = "nearmiss incident or near-miss report"
    return schema
