"""Send: a built, pasted or uploaded body to the emulator or TikTok — test mode first, every exchange kept."""

from __future__ import annotations

import json

import streamlit as st

import ui
from core import transport as tx
from core.errors import ConsoleError
from core.lint import has_errors, lint_bodies
from core.store import Store
from ui import exchange as ux
from ui.browser_twin import render_simulate_button
from ui.errors import show_error
from ui.findings import render_findings, summary_line
from ui.markup import code
from ui.report import report_download

settings = ux.send_settings(ui.page_setup("Send", "📤"))
st.title("📤 Send")
ux.target_banner(settings)
ss = st.session_state
for k, v in {"send_session_id": None, "send_last_ids": [], "send_confirm_open": False}.items():
    ss.setdefault(k, v)
SOURCES = ["Built on the Build page", "Paste JSON", "Upload JSON/JSONL"]

source = st.radio("Source", SOURCES, key="send_source", horizontal=True)
text, problem = None, None
if source == SOURCES[0]:
    text = json.dumps(ss["built_body"]) if ss.get("built_body") else None
    problem = None if text else "Nothing built yet: build an event on the Build page, or paste JSON here."
elif source == SOURCES[1]:
    text = st.text_area("v1.3 body, or JSONL of bodies/events", key="send_text", height=220,
                        placeholder='{"event_source": "web", "event_source_id": "C...", "data": [...]}') or None
    problem = None if text else "Paste the body your backend POSTs to /open_api/v1.3/event/track/."
else:
    upload = st.file_uploader("A .json body or .jsonl of bodies/events (large batches are split by 1,000)",
                              type=["json", "jsonl", "ndjson"], key="send_upload")
    try:
        text = ux.read_upload(upload.getvalue, upload.name) if upload else None
    except ConsoleError as exc:
        show_error(exc)
    problem = None if text else "Upload a JSON body or a JSONL file."

bodies = None
if text:
    try:
        parsed = tx.parse_bodies(text, pixel_code=settings.pixel_code)
        bodies = tx.apply_test_event_code(parsed, settings.test_event_code)
    except ConsoleError as exc:
        show_error(exc, source="Cannot send this")
elif problem:
    st.info(problem)

if bodies:
    n = tx.count_events(bodies)
    test_mode = all(isinstance(b.get("test_event_code"), str) and b["test_event_code"] for b in bodies)
    codes = sorted({b.get("test_event_code") or "" for b in bodies})
    st.caption(f"{n} event(s) in {len(bodies)} body(ies), sent in requests of at most 1,000 · "
               + (f"test event code {code(', '.join(codes))}" if test_mode else "**no test event code (live)**"))
    findings = lint_bodies(bodies)  # every event, at its position in the whole upload
    with st.expander(f"Linter before sending — {summary_line(findings)}", expanded=has_errors(findings)):
        render_findings(findings, key="send_findings")
    held = ux.held_events(bodies, findings)
    send_invalid = bool(held) and st.checkbox(f"Also send the {len(held)} event(s) with lint errors (TikTok will "
                                              "refuse them)", key="send_invalid")
    if not test_mode:
        st.warning("No test event code: set one in the sidebar (Events Manager > Test Events) to test safely. "
                   "Sending now needs a confirmation.", icon="⚠️")
    if st.button(f"Send {n} event(s)", key="send_go", type="primary"):
        ss["send_pending" if test_mode else "send_confirm_open"] = True
    if ss["send_confirm_open"] and not test_mode:
        ux.confirm_live(settings.pixel_code or str(bodies[0].get("event_source_id", "")), n, settings.target_label,
                     settings.target == "emulator")
    if ss.pop("send_pending", False):
        bar = st.progress(0.0, text="Queued in the outbox…")
        try:
            report = ux.send_now(settings, ss, bodies, {} if send_invalid else held,
                                 progress=lambda d, t: bar.progress(d / max(t, 1), text=f"{d:,}/{t:,} events"))
            ss["send_last_ids"] = report.exchange_ids
            ss["send_last_codes"] = codes
            ss["send_last_summary"] = {k: v for k, v in report.to_dict().items() if k != "exchanges"}
        except ConsoleError as exc:
            show_error(exc, source="Not sent")

if ss["send_session_id"]:
    with Store(settings.db_path) as store:
        last = store.exchanges(ss["send_session_id"], ids=ss["send_last_ids"][:3])
        history = store.history(ss["send_session_id"])
    if last and (summary := ss.get("send_last_summary")):
        st.subheader("Result")
        n_req = len(ss["send_last_ids"])
        msg = f"{summary['accepted']:,}/{summary['events']:,} event(s) accepted in {n_req} request(s)"
        ux.render_send_summary(summary, msg)
        for i, ex in enumerate(last):
            ux.render_exchange(ex, key=f"send_ex_{i}")
        if n_req > 3:
            st.caption(f"{n_req - 3} more request(s) in the history and the session download.")
        ux.render_curl(last[0], key="send_curl")
        render_simulate_button(settings, ss)
    st.subheader("Session history")
    ux.render_history(history)
    st.download_button("Download the session (JSON)", ux.session_export(settings.db_path, ss["send_session_id"]),
                       file_name=f"send-session-{ss['send_session_id']}.json", mime="application/json",
                       key="send_download", on_click="ignore")

if settings.target == "emulator":
    st.subheader("What TikTok received (emulator's Test Events view)")
    ux.render_received(ux.emulator_server(), [*ss.get("send_last_codes", []), settings.test_event_code])
if ss["send_session_id"]:
    report_download("send_report", db_path=settings.db_path, session_id=ss["send_session_id"],
                    pixel=ss.get("simulated_pixel_events"))
