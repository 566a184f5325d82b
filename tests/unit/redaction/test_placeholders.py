"""Placeholders are typed, stable within one report, distinct across values."""

from __future__ import annotations

import pickle

import pytest

from node.redaction import Redactor, ReportRedaction, new_mapping


def test_same_value_same_placeholder_across_fields(redactor: Redactor) -> None:
    mapping = new_mapping()
    first = redactor.redact_text("Mail priya@fabrikam.io or PRIYA@FABRIKAM.IO.", mapping)
    second = redactor.redact_text("Later priya@fabrikam.io wrote again.", mapping)
    assert first.text == "Mail <EMAIL_1> or <EMAIL_1>."
    assert second.text == "Later <EMAIL_1> wrote again."


def test_distinct_values_get_distinct_numbers(redactor: Redactor) -> None:
    text = "From a@fabrikam.io to b@fabrikam.io, then a@fabrikam.io."
    assert redactor.redact_text(text).text == "From <EMAIL_1> to <EMAIL_2>, then <EMAIL_1>."


def test_phone_formats_of_one_number_share_a_placeholder(redactor: Redactor) -> None:
    text = "Call +44 20 7946 0958 or 020 7946 0958."
    assert redactor.redact_text(text).text == "Call <PHONE_1> or <PHONE_1>."


def test_part_of_a_known_name_reuses_its_placeholder(redactor: Redactor) -> None:
    job = ReportRedaction(redactor)
    summary = job.text("The analyst Priya Raman flagged it.")
    section = job.text("Raman escalated it the same day.")
    assert summary == "The analyst <PERSON_1> flagged it."
    assert section == "<PERSON_1> escalated it the same day."
    assert job.counts == {"PERSON": 2}


def test_new_report_restarts_numbering(redactor: Redactor) -> None:
    one = ReportRedaction(redactor)
    one.text("x@fabrikam.io and y@fabrikam.io")
    two = ReportRedaction(redactor)
    assert two.text("y@fabrikam.io") == "<EMAIL_1>"


def test_mapping_never_pickles_and_repr_hides_values(redactor: Redactor) -> None:
    mapping = new_mapping()
    redactor.redact_text("Mail priya@fabrikam.io", mapping)
    assert "priya" not in repr(mapping)
    with pytest.raises(TypeError):
        pickle.dumps(mapping)
