"""Lint: paste or upload a body or a JSONL batch -> every finding at its JSON path with the fix, the marked body."""

from __future__ import annotations

import json

import streamlit as st

import ui
from core.errors import ConsoleError
from core.lint import SAMPLE_BODIES, findings_json, lint_upload, sample_body_text
from core.sources.jsondoc import parse_json_documents
from ui.convert import render_meta_converter
from ui.errors import show_error
from ui.exchange import read_upload
from ui.findings import render_body_with_markers, render_findings
from ui.report import report_download

settings = ui.page_setup("Lint", "🔎")
st.title("🔎 Lint a request body")
st.caption(
    "Paste what your server sends to `/open_api/v1.3/event/track/`: a full body, one event, a list of "
    "events, a legacy body, or JSONL (one body or event per line: every event is linted, at its position in "
    "the whole upload). Every problem comes back at once, at its JSON path, with the fix."
)

render_meta_converter(settings)

OWN, BUILT = "(paste your own)", "the body built on the Build page"
st.session_state.setdefault("lint_text", "")
st.session_state.setdefault("lint_upload_seen", None)


def _load_sample() -> None:
    # a callback runs before the text area exists, so it may set the text area's value
    name = st.session_state["lint_sample"]
    if name in SAMPLE_BODIES:
        st.session_state["lint_text"] = sample_body_text(name)
    elif name == BUILT:
        st.session_state["lint_text"] = json.dumps(st.session_state.get("built_body"), indent=2)


choices = [OWN, *([BUILT] if st.session_state.get("built_body") else []), *SAMPLE_BODIES]
col_sample, col_upload = st.columns([1, 1])
col_sample.selectbox("Start from a sample", choices, key="lint_sample", on_change=_load_sample,
                     help="A valid purchase, a Meta CAPI body pasted by mistake, and a body with typical bugs.")
upload = col_upload.file_uploader("…or upload a .json or .jsonl file", type=["json", "jsonl", "ndjson"],
                                  key="lint_upload")
if upload is not None and upload.file_id != st.session_state["lint_upload_seen"]:
    st.session_state["lint_upload_seen"] = upload.file_id  # load each new upload once; edits then stick
    try:
        st.session_state["lint_text"] = read_upload(upload.getvalue, upload.name)
        parse_json_documents(upload.getvalue(), upload.name)  # within the limits; names the file when not JSON
    except ConsoleError as exc:
        show_error(exc)

st.text_area("Request body (JSON)", key="lint_text", height=340,
             placeholder='{"event_source": "web", "event_source_id": "C4A1...", "data": [{"event": "Purchase", ...}]}')
st.button("Lint", key="lint_run", type="primary", help="Edits are also linted when you leave the box.")

text = st.session_state["lint_text"]
if not text.strip():
    st.info("Paste a body above, upload a .json file, or pick a sample to see the linter at work.")
    st.stop()

try:
    records, findings = lint_upload(text)
except ConsoleError as exc:
    show_error(exc)
    st.code(text, language="json", line_numbers=True)
    st.stop()

st.subheader("Findings")
render_findings(findings, key="lint_findings")
st.download_button("Download findings (JSON)", findings_json(findings), file_name="findings.json",
                   mime="application/json", key="lint_download", disabled=not findings, on_click="ignore")

if len(records) == 1:
    st.subheader("Body with markers")
    render_body_with_markers(records[0], findings)
report_download("lint_report", "the body on the Lint page", findings=findings, records=records)
