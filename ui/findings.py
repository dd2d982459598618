"""The findings table and the body-with-markers view, shared by the Lint and Build pages."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from core.lint import SEVERITY_BADGE, Finding, annotate_json, count_findings

# Streamlit wraps a cell's text only when rows are taller than 64 px: at 96 px a 1440-px screen shows a long
# message or fix over four lines instead of cutting it off.
WRAP_ROW_HEIGHT = 96
_COLUMNS = {
    "severity": st.column_config.TextColumn("Severity", width="small"),
    "path": st.column_config.TextColumn("Path", width="medium", help="JSON path of the offending key"),
    "code": st.column_config.TextColumn("Code", help="Stable code, documented in docs/findings.md"),
    "message": st.column_config.TextColumn("What is wrong", width="large",
                                           help="Long text wraps; click a cell to see all of it"),
    "fix": st.column_config.TextColumn("Fix", width="large", help="Long text wraps; click a cell to see all of it"),
}
_UPLOAD_COLUMNS = {  # shown when the findings come from an upload: where in the input, which event
    "line": st.column_config.NumberColumn("Line", help="Line of the input (JSONL)", format="%d"),
    "event_id": st.column_config.TextColumn("event_id"),
}


def summary_line(findings: Sequence[Finding]) -> str:
    """One line of counts, e.g. "🔴 2 errors · 🟠 1 warning · 🔵 0 info"."""
    c = count_findings(findings)
    plural = "" if c["error"] == 1 else "s"
    wplural = "" if c["warning"] == 1 else "s"
    return f"🔴 **{c['error']}** error{plural} · 🟠 **{c['warning']}** warning{wplural} · 🔵 **{c['info']}** info"


def render_findings(findings: Sequence[Finding], *, key: str) -> None:
    """Count summary and a table (severity badge, path, code, message, fix, and line / event_id when an
    upload set them); st.success when empty."""
    if not findings:
        st.success("No findings: the body follows every rule the linter knows.", icon="✅")
        return
    st.markdown(summary_line(findings))
    columns = dict(_COLUMNS)
    columns.update({k: v for k, v in _UPLOAD_COLUMNS.items() if any(getattr(f, k) is not None for f in findings)})
    frame = pd.DataFrame(
        [{**f.as_dict(), "severity": SEVERITY_BADGE[f.severity]} for f in findings],
        columns=list(columns),
    )
    st.dataframe(frame, key=key, width="stretch", hide_index=True, column_config=columns, row_height=WRAP_ROW_HEIGHT)


def render_body_with_markers(body: object, findings: Sequence[Finding]) -> None:
    """The pretty JSON with `◀ 🔴 code` at the end of every line that holds a finding."""
    text, by_line = annotate_json(body, findings)
    if by_line:
        lines = ", ".join(str(n) for n in sorted(by_line))
        st.caption(f"Lines with a finding: {lines}. A missing key is marked on the line of its object.")
    st.code(text, language="json", line_numbers=True)
