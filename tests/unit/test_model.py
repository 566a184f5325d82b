from __future__ import annotations

from pathlib import Path

import pytest

from nearmiss.errors import ReportInvalidError
from nearmiss.model import HarmDomain, IncidentReport, SensitivityScope
from nearmiss.reportfile import load_report, parse_report
from tests.conftest import EXAMPLES


def minimal(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "report_id": "5b0f6f8e-2c1a-4c7e-9d3b-7a1e0c9b4f21",
        "lab_id": "lab-aurora",
        "kind": "NEAR_MISS",
        "title": "A title",
        "summary": "A summary.",
        "detection": "RED_TEAM",
        "harm_domains": ["CYBER"],
        "severity": 2,
        "detected_at": "2026-11-11T10:30:00Z",
    }
    data.update(overrides)
    return data


def test_examples_cover_both_kinds_and_many_domains() -> None:
    reports = [load_report(path) for path in sorted(EXAMPLES.glob("*.yaml"))]
    assert len(reports) >= 6
    assert {r.kind.value for r in reports} == {"INCIDENT", "NEAR_MISS"}
    domains = {d for r in reports for d in r.harm_domains}
    assert len(domains) >= 6
    assert HarmDomain.CHILD_SAFETY in domains


def test_minimal_report_is_valid() -> None:
    report = parse_report(minimal())
    assert report.severity == 2
    assert report.sections == []


@pytest.mark.parametrize(
    ("overrides", "field", "reason_part"),
    [
        ({"severity": 6}, "severity", "less than or equal to 5"),
        ({"report_id": "not-a-uuid"}, "report_id", "UUID"),
        ({"harm_domains": []}, "harm_domains", "at least 1"),
        ({"harm_domains": ["CYBER", "CYBER"]}, "harm_domains", "twice"),
        ({"kind": "ACCIDENT"}, "kind", "INCIDENT"),
        ({"colour": "red"}, "colour", "not a field"),
        ({"title": "x" * 301}, "title", "at most 300"),
        ({"title": "bell\x07"}, "title", "control characters"),
        ({"detected_at": "2026-11-11T10:30:00"}, "detected_at", "timezone"),
        (
            {"sections": [{"scope": "SECRET", "text": "t"}]},
            "sections[0].scope",
            "LAB_ONLY",
        ),
        (
            {"indicators": [{"type": "PROMPT_SHA256", "value": "abc"}]},
            "indicators[0]",
            "64 lowercase hex",
        ),
        (
            {"indicators": [{"type": "ATLAS_TECHNIQUE", "value": "T1059"}]},
            "indicators[0]",
            "AML.T0054",
        ),
    ],
)
def test_invalid_reports_name_field_and_reason(
    overrides: dict[str, object], field: str, reason_part: str
) -> None:
    with pytest.raises(ReportInvalidError) as caught:
        parse_report(minimal(**overrides), source="r.yaml")
    problems = caught.value.problems
    assert any(f == field and reason_part in r for f, r in problems), problems
    assert "file r.yaml" in str(caught.value)


def test_detected_before_occurred_is_refused() -> None:
    with pytest.raises(ReportInvalidError, match="detected_at is before occurred_at"):
        parse_report(minimal(occurred_at="2026-11-12T00:00:00Z"))


def test_all_problems_reported_at_once() -> None:
    with pytest.raises(ReportInvalidError) as caught:
        parse_report(minimal(severity=0, kind="X", extra=1))
    assert len(caught.value.problems) == 3


def test_sha256_prefix_is_normalised() -> None:
    report = parse_report(
        minimal(indicators=[{"type": "PROMPT_SHA256", "value": "sha256:" + "AB" * 32}])
    )
    assert report.indicators[0].value == "ab" * 32


def test_sections_in_scope() -> None:
    report = IncidentReport.model_validate(
        minimal(
            sections=[
                {"scope": "PUBLIC", "text": "p"},
                {"scope": "LAB_ONLY", "text": "l"},
            ]
        )
    )
    assert [s.text for s in report.sections_in(SensitivityScope.PUBLIC)] == ["p"]


def test_invalid_utf8_file_names_offset(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_bytes(b"title: caf\xe9\n")
    with pytest.raises(ReportInvalidError, match=r"bad.yaml.*not valid UTF-8.*offset 10"):
        load_report(path)


def test_malformed_yaml_names_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("title: [unclosed\nsummary: x\n")
    with pytest.raises(ReportInvalidError, match=r"bad.yaml: is not valid YAML \(line"):
        load_report(path)


def test_json_report_file(tmp_path: Path) -> None:
    import json

    path = tmp_path / "r.json"
    path.write_text(json.dumps(minimal()))
    assert load_report(path).lab_id == "lab-aurora"


def test_wrong_type_names_field(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("severity: high\n")
    with pytest.raises(ReportInvalidError) as caught:
        load_report(path)
    assert (
        "severity",
        "Input should be a valid integer, unable to parse string as an integer",
    ) in caught.value.problems
