"""Long text in tables wraps instead of being cut off: findings (Lint, Build, Send), hashes, reasons."""

from __future__ import annotations

import json

from core.lint import sample_body_text

WRAPS_ABOVE = 64  # px: Streamlit wraps a cell's text only in rows taller than this


def _findings_config(at, column: str = "fix") -> dict:  # type: ignore[no-untyped-def]
    """The column config and row height of the first table that has `column`."""
    for frame in at.dataframe:
        if column in frame.value.columns:
            return {"row_height": frame.proto.row_height, "columns": json.loads(frame.proto.columns or "{}")}
    raise AssertionError(f"no table with {column}")


def _assert_wraps(config: dict, *columns: str) -> None:
    assert config["row_height"] > WRAPS_ABOVE
    for col in columns:
        assert config["columns"][col]["width"] == "large", col


def test_lint_findings_fix_column_wraps(app_test) -> None:  # type: ignore[no-untyped-def]
    """The Lint page's Fix and message columns are wide and rows tall enough to wrap."""
    at = app_test("pages/2_Lint.py").run()
    at.selectbox(key="lint_sample").set_value("broken body").run()
    _assert_wraps(_findings_config(at), "fix", "message")


def test_build_findings_and_hashes_wrap(app_test) -> None:  # type: ignore[no-untyped-def]
    """The Build page's findings wrap, and the sent hashes get a wide, wrapping column with help."""
    at = app_test("pages/1_Build.py").run()
    at.button(key="build_example").click().run()
    at.text_input(key="build_ip").input("10.0.0.1").run()  # a warning: the findings table appears
    _assert_wraps(_findings_config(at), "fix")
    sent = _findings_config(at, "sent")
    _assert_wraps(sent, "sent")
    assert "64 characters" in sent["columns"]["sent"]["help"]


def test_send_findings_wrap(app_test) -> None:  # type: ignore[no-untyped-def]
    """The Send page's linter table wraps too."""
    at = app_test("pages/3_Send.py").run()
    at.radio(key="send_source").set_value("Paste JSON").run()
    at.text_area(key="send_text").input(sample_body_text("broken body")).run()
    _assert_wraps(_findings_config(at), "fix")


def test_compare_diff_tables_wrap(app_test) -> None:  # type: ignore[no-untyped-def]
    """The Compare page's field diff, JSON diff and near-miss tables wrap their long values and notes."""
    at = app_test("pages/4_Compare.py").run()
    at.button(key="compare_demo").click().run()
    _assert_wraps(_findings_config(at, "note"), "note")
    _assert_wraps(_findings_config(at, "detail"), "detail")
    _assert_wraps(_findings_config(at, "path"), "Pixel", "Server")
