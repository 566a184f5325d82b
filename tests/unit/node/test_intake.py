"""Bad input is refused with the source, the field and the reason, whichever way it
comes in (file or local-API document), and before anything is queued."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from nearmiss.canonical import report_to_proto
from nearmiss.errors import ReportInvalidError
from nearmiss.model import LIMITS
from nearmiss.reportfile import MAX_FILE_BYTES
from node.intake import report_from_document, report_from_message
from tests.unit.node.conftest import EXAMPLE


def _data() -> dict[str, object]:
    loaded = yaml.safe_load(EXAMPLE.read_text())
    assert isinstance(loaded, dict)
    return loaded


def _refusal(document: bytes) -> ReportInvalidError:
    with pytest.raises(ReportInvalidError) as caught:
        report_from_document(document, source="ticket-17.yaml")
    assert "ticket-17.yaml" in str(caught.value)
    return caught.value


def test_valid_yaml_and_json_documents_parse_alike() -> None:
    from_yaml = report_from_document(EXAMPLE.read_bytes(), source="a.yaml")
    from_json = report_from_document(
        json.dumps(_data(), default=str).encode(), source="a.json"
    )
    assert from_yaml == from_json


def test_malformed_yaml_names_line() -> None:
    error = _refusal(b"title: [unclosed\nkind: INCIDENT\n")
    assert "not valid YAML" in str(error) and "line" in str(error)


def test_malformed_json_names_line_and_column() -> None:
    error = _refusal(b'{"title": "x",\n "kind": }')
    assert "not valid JSON (line 2" in str(error)


def test_invalid_utf8_names_offset() -> None:
    error = _refusal(b"title: caf\xe9\n")
    assert "not valid UTF-8 (bad byte at offset 10)" in str(error)


def test_unknown_field_and_wrong_type_are_both_reported() -> None:
    data = _data()
    data["severity"] = "high"
    data["sevrity"] = 3
    error = _refusal(yaml.safe_dump(data).encode())
    fields = {field for field, _ in error.problems}
    assert fields == {"severity", "sevrity"}
    assert "not a field of a report" in str(error)


def test_text_over_its_limit_names_the_field_and_limit() -> None:
    data = _data()
    sections = data["sections"]
    assert isinstance(sections, list)
    sections[0]["text"] = "x" * (LIMITS.SECTION_CHARS + 1)
    error = _refusal(yaml.safe_dump(data).encode())
    assert error.field == "sections[0].text"
    assert str(LIMITS.SECTION_CHARS) in str(error)


def test_document_over_the_size_limit_is_refused_unread() -> None:
    error = _refusal(b"#" * (MAX_FILE_BYTES + 1))
    assert str(MAX_FILE_BYTES) in str(error)


def test_not_a_mapping() -> None:
    error = _refusal(b"- just\n- a list\n")
    assert "one mapping" in str(error)


def test_message_input_is_checked_with_the_same_rules(tmp_path: Path) -> None:
    message = report_to_proto(report_from_document(EXAMPLE.read_bytes(), source="x"))
    message.severity = 9
    with pytest.raises(ReportInvalidError) as caught:
        report_from_message(message, source="ticketing system")
    assert caught.value.field == "severity" and "ticketing system" in str(caught.value)
