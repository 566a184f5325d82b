from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nearmiss.canonical import canonical_bytes, report_from_canonical, report_to_proto
from nearmiss.errors import ReportInvalidError
from nearmiss.model import (
    DetectionMethod,
    HarmDomain,
    IncidentReport,
    Indicator,
    IndicatorType,
    ReportKind,
    ReportSection,
    SensitivityScope,
)
from nearmiss.reportfile import load_report
from tests.conftest import EXAMPLES

printable = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=60
)
moments = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
)


@st.composite
def reports(draw: st.DrawFn) -> IncidentReport:
    detected = draw(moments)
    occurred = detected - timedelta(seconds=draw(st.integers(0, 10**6)))
    return IncidentReport(
        report_id=str(draw(st.uuids())),
        lab_id=draw(st.from_regex(r"[a-z0-9][a-z0-9-]{1,20}", fullmatch=True)),
        kind=draw(st.sampled_from(ReportKind)),
        title=draw(printable),
        summary=draw(printable),
        detection=draw(st.sampled_from(DetectionMethod)),
        harm_domains=draw(
            st.lists(st.sampled_from(HarmDomain), min_size=1, max_size=4, unique=True)
        ),
        severity=draw(st.integers(1, 5)),
        occurred_at=draw(st.none() | st.just(occurred)),
        detected_at=detected,
        reported_at=draw(st.none() | st.just(detected + timedelta(hours=1))),
        mitigations=draw(st.lists(printable, max_size=3)),
        indicators=[
            Indicator(type=IndicatorType.PROMPT_SHA256, value=h)
            for h in draw(st.lists(st.from_regex(r"[0-9a-f]{64}", fullmatch=True), max_size=2))
        ],
        sections=[
            ReportSection(scope=scope, text=text)
            for scope, text in draw(
                st.lists(st.tuples(st.sampled_from(SensitivityScope), printable), max_size=3)
            )
        ],
    )


@settings(max_examples=150, deadline=None)
@given(reports())
def test_canonical_round_trip(report: IncidentReport) -> None:
    data = canonical_bytes(report)
    assert report_from_canonical(data) == report
    assert canonical_bytes(report_from_canonical(data)) == data


def test_examples_round_trip() -> None:
    for path in EXAMPLES.glob("*.yaml"):
        report = load_report(path)
        assert report_from_canonical(canonical_bytes(report)) == report


def test_non_canonical_bytes_are_refused() -> None:
    report = load_report(next(EXAMPLES.glob("*.yaml")))
    data = canonical_bytes(report)
    # An unknown field appended: valid protobuf, but not the canonical form.
    with pytest.raises(ReportInvalidError, match="canonical form"):
        report_from_canonical(data + b"\xf8\x07\x01")
    # The same fields in another order: valid protobuf, same report, other bytes.
    message = report_to_proto(report)
    title = message.title
    message.ClearField("title")
    reordered = (
        message.SerializeToString(deterministic=True)
        + b"\x22"
        + bytes([len(title.encode())])
        + title.encode()
    )
    with pytest.raises(ReportInvalidError, match="canonical form"):
        report_from_canonical(reordered)


def test_garbage_bytes_are_refused() -> None:
    with pytest.raises(ReportInvalidError, match="canonical_report"):
        report_from_canonical(b"\xff\xff\xff\xff")


def test_unspecified_enum_on_wire_names_field() -> None:
    report = load_report(next(EXAMPLES.glob("*.yaml")))
    message = report_to_proto(report)
    message.kind = 0
    with pytest.raises(ReportInvalidError) as caught:
        report_from_canonical(message.SerializeToString(deterministic=True))
    assert caught.value.field == "kind"


def test_invalid_values_on_wire_are_validated_like_files() -> None:
    report = load_report(next(EXAMPLES.glob("*.yaml")))
    message = report_to_proto(report)
    message.severity = 9
    with pytest.raises(ReportInvalidError) as caught:
        report_from_canonical(message.SerializeToString(deterministic=True))
    assert caught.value.field == "severity"


def test_invalid_nested_value_on_wire_names_its_whole_path() -> None:
    """A nested part is validated with the report, so the error says where it is."""
    report = load_report(next(EXAMPLES.glob("*.yaml")))
    message = report_to_proto(report)
    message.indicators.add(type=message.indicators[0].type if message.indicators else 1)
    position = len(message.indicators) - 1
    with pytest.raises(ReportInvalidError) as caught:
        report_from_canonical(message.SerializeToString(deterministic=True))
    assert caught.value.field == f"indicators[{position}].value"


def test_unknown_enum_number_on_wire_names_field() -> None:
    report = load_report(next(EXAMPLES.glob("*.yaml")))
    message = report_to_proto(report)
    message.sections[0].scope = 99  # type: ignore[assignment]
    with pytest.raises(ReportInvalidError, match="unknown value 99") as caught:
        report_from_canonical(message.SerializeToString(deterministic=True))
    assert caught.value.field == "sections[0].scope"
