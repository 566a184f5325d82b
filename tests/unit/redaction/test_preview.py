"""The dry-run preview shows removed values, placeholders and dropped sections."""

from __future__ import annotations

from rich.console import Console

from node.redaction import PreviewRow, inline_diff, preview_table


def test_inline_diff_marks_removed_and_added() -> None:
    text = inline_diff("Mail priya@fabrikam.io now", "Mail <EMAIL_1> now")
    styles = {str(span.style) for span in text.spans}
    assert text.plain == "Mail priya@fabrikam.io<EMAIL_1> now"
    assert {"strike red", "bold green"} <= styles


def test_table_lists_dropped_sections() -> None:
    console = Console(record=True, width=120)
    console.print(preview_table([PreviewRow("summary", "a b", "a b"),
                                 PreviewRow("sections[2]", "secret plan", None)]))
    output = console.export_text()
    assert "not sent: LAB_ONLY" in output and "sections[2]" in output
