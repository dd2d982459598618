"""Live session widgets: session picker, the relay panel, and the panel that reruns as events arrive.

The live panel is an `st.fragment(run_every=...)`: only it reruns on the timer, so widgets outside it (and
its own keyed widgets: the filter, the picked pair) keep their state. It reads the session from the store
each run (Pixel hits from any source: a capture, an import; server events from the relay and the console's
own sends), so whatever lands in the session shows up. A capture panel may leave its result dict
(`{"pages", "cookies", "findings", ...}`) in `st.session_state["live_capture"]` for the checklist.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import pandas as pd
import streamlit as st

from core.config import Settings
from core.contract import TIKTOK_BASE_URL
from core.errors import ConsoleError
from core.live import LiveView, backend_snippets, export_session, refresh_view, timeline_figure
from core.store import Store
from ui.diff import render_field_diff
from ui.errors import show_error
from ui.exchange import emulator_server
from ui.findings import WRAP_ROW_HEIGHT, render_findings
from ui.markup import code, plain

REFRESH_S: Final = 2.0  # how often the live panel reads the store again
NEW: Final = "➕ New session"
CHECK_BADGE: Final = {"pass": "✅", "fail": "❌", "unknown": "⚪"}
STATUS_BADGE: Final = {"waiting": "⏳ waiting", "merged": "🟢 merged", "deduplicated": "🟢 deduplicated",
                       "outside window": "🔴 outside window", "pixel only so far": "🟠 pixel only so far",
                       "server only so far": "🟠 server only so far"}
FORWARD: Final = {"Local emulator (offline)": "emulator", "TikTok Events API (real, with the backend's token)":
                  "tiktok"}


@st.cache_resource
def relay_registry() -> dict[str, Any]:
    """The relays this app runs, by session id (one server each; they outlive reruns and page switches)."""
    return {}


def session_picker(db_path: Path) -> str | None:
    """Choose a session (newest first) or name a new one; returns the chosen id, or None for none yet."""
    ss = st.session_state
    with Store(db_path) as store:
        ids = [s["id"] for s in store.sessions()]
    options = [NEW, *ids]
    if ss.get("live_session_id") in ids and ss.get("live_pick_session") not in options:
        ss["live_pick_session"] = ss["live_session_id"]
    pick = st.selectbox("Session", options, key="live_pick_session",
                        help="Relay, browser capture and the Send page's sends land in the chosen session.")
    if pick != NEW:
        ss["live_session_id"] = pick
        return str(pick)
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    name = left.text_input("New session name", key="live_new_name", placeholder="checkout-test-1",
                           help="Letters, digits, dot, dash, underscore or colon (up to 100).")
    if right.button("Create", key="live_create", icon="➕") and name.strip():
        try:
            with Store(db_path) as store:
                sid = store.create_session("Live session", session_id=name.strip())
        except ConsoleError as exc:
            show_error(exc, source="New session")
            return None
        ss["live_session_id"] = sid
        ss.pop("live_pick_session", None)
        st.rerun()
    return None


def _start_relay(db_path: Path, session_id: str, forward: str) -> None:
    from core.relay import start_relay

    url = emulator_server().url if forward == "emulator" else TIKTOK_BASE_URL
    store = Store(db_path)  # kept open while the relay records; closed by _stop_relay
    try:
        relay_registry()[session_id] = start_relay(forward_url=url, session_id=session_id, store=store)
    except ConsoleError as exc:
        store.close()
        st.session_state["live_relay_error"] = exc


def _stop_relay(session_id: str) -> None:
    server = relay_registry().pop(session_id, None)
    if server is not None:
        server.stop()
        server.store.close()  # the page opened it for this relay


def relay_panel(settings: Settings, session_id: str) -> None:
    """Start/stop the session's relay; while it runs, its address and copy-paste code per backend."""
    server = relay_registry().get(session_id)
    st.subheader("Server leg: your backend through the relay")
    forward = st.radio("Forward to", list(FORWARD), key="live_forward", horizontal=True, disabled=server is not None)
    if server is None:
        st.button("Start the relay", key="live_relay_start", icon="▶️", on_click=_start_relay,
                  args=(settings.db_path, session_id, FORWARD[forward]))
        if (err := st.session_state.pop("live_relay_error", None)) is not None:
            show_error(err, source="Relay")
        st.caption("The relay records every request your backend sends (token never stored) and hands TikTok's "
                   "answer back unchanged. The Send page's sends land in this session too.")
        return
    st.button("Stop the relay", key="live_relay_stop", icon="⏹️", on_click=_stop_relay, args=(session_id,))
    st.markdown(f"Relay listening at {code(server.url)}: point your backend's TikTok base URL at it "
                f"(it stays on 127.0.0.1, so the backend must run on this machine). Forwarding to "
                f"{code(server.forward_url)}.")
    if server.forward_url.startswith(TIKTOK_BASE_URL):
        st.warning("Requests go on to TikTok's real Events API with your backend's own token: add a test "
                   "event code to keep them out of your reporting.", icon="📡")
    if server.record_errors:
        st.warning("Some requests could not be recorded (your backend was answered anyway): "
                   + plain(server.record_errors[-1]), icon="⚠️")
    tabs = st.tabs(list(backend_snippets(server.url)))
    for tab, (language, text) in zip(tabs, backend_snippets(server.url).values(), strict=True):
        tab.code(text, language=language)


_URL = re.compile(r"(?i)\b(?:https?|ftp)://\S+?(?=[).,;]?(?:\s|$))")


def text_with_urls(text: str) -> str:
    """`text` as markdown where every URL is an inline code span: a URL never becomes a link (the markdown
    renderer autolinks `https\\://…` even escaped) and the rest is plain text."""
    parts, last = [], 0
    for m in _URL.finditer(text):
        parts += [plain(text[last:m.start()]), code(m.group(0))]
        last = m.end()
    return "".join([*parts, plain(text[last:])])


def render_checklist(view: LiveView, prefix: str) -> None:
    """The Test Events checklist: one line per item, green / red / unknown, with its evidence."""
    st.subheader("Checklist")
    for item in view.checklist:
        with st.container(key=f"{prefix}_check_{item.id}"):
            st.markdown(f"{CHECK_BADGE[item.status]} **{plain(item.title)}** — {text_with_urls(item.evidence)}")


def _pairs_table(view: LiveView, query: str) -> pd.DataFrame:
    frame = view.pairs_frame()
    if query:
        hit = frame["event"].str.contains(query, case=False, regex=False) | frame["event_id"].str.contains(
            query, case=False, regex=False)
        frame = frame[hit]
    shown = frame.assign(status=frame["status"].map(STATUS_BADGE), seconds_left=frame["seconds_left"].round(0),
                         emq=frame["emq"].round(2), delta_s=frame["delta_s"].round(1))
    return shown.drop(columns=["pixel_time", "server_time"])


def render_pair(view: LiveView, pick_id: str, prefix: str) -> None:
    """One pair's evidence: the field diff, the server event's lint findings and the joint EMQ proxy."""
    pair = next((p for p in view.pairs if p.pick_id == pick_id), None)
    if pair is None:
        return
    st.caption(plain(pair.reason))
    diff_col, lint_col = st.columns(2)
    with diff_col:
        st.markdown("**Field diff**")
        if pair.pixel_row and pair.server_event:
            render_field_diff(pair.diffs, key=f"{prefix}_diff")
        else:
            st.info("One leg so far: the diff shows once its partner arrives.")
    with lint_col:
        st.markdown("**Server event findings**")
        if pair.server_event is None:
            st.info("No server event with this key yet.")
        else:
            render_findings(pair.findings, key=f"{prefix}_findings")
    st.metric("EMQ proxy of the keys the pair carries together", f"{pair.emq or 0:.2f} / 10",
              help="Keys: " + (", ".join(pair.emq_keys) or "none"))


def render_view(view: LiveView, prefix: str) -> None:
    """Counts, the timeline, the pairs table (filterable), one pair's details, the checklist, the download."""
    counts = view.counts()
    for col, status in zip(st.columns(5), ("waiting", "merged", "deduplicated", "pixel only so far",
                                          "server only so far"), strict=True):
        col.metric(status.capitalize(), counts[status])
    if not view.pairs:
        st.info("No event in this session yet: start the relay and send from your backend, use the Send page, "
                "or capture the store in a browser.", icon="⏳")
    else:
        st.plotly_chart(timeline_figure(view), key=f"{prefix}_timeline", width="stretch")
    query = st.text_input("Filter pairs (event or event_id)", key=f"{prefix}_filter")
    st.dataframe(_pairs_table(view, query), key=f"{prefix}_pairs", width="stretch", hide_index=True,
                 row_height=WRAP_ROW_HEIGHT,
                 column_config={"reason": st.column_config.TextColumn("reason", width="large")})
    labels = {p.pick_id: p.label for p in view.pairs}  # the choice survives a status change
    if labels:
        if st.session_state.get(f"{prefix}_pick") not in labels:
            st.session_state.pop(f"{prefix}_pick", None)
        pick = st.selectbox("Pair details", list(labels), key=f"{prefix}_pick", format_func=labels.__getitem__)
        render_pair(view, pick, prefix)
    render_checklist(view, prefix)
    st.download_button("Download the session (JSON)", lambda: export_session(view), key=f"{prefix}_download",
                       file_name=f"live-session-{view.session_id}.json", mime="application/json", icon="⬇️",
                       on_click="ignore")


@st.fragment(run_every=REFRESH_S)
def live_panel(db_path: Path, session_id: str) -> None:
    """The session as it is now, re-read from the store every REFRESH_S seconds (only this panel reruns)."""
    ss = st.session_state
    capture = ss.get("live_capture")
    try:
        with Store(db_path) as store:  # re-read only when a hit or an exchange arrived since the last run
            view = refresh_view(store, session_id, ss.get("live_view"),
                                capture=capture if isinstance(capture, Mapping) else None)
    except ConsoleError as exc:
        show_error(exc, source="Live session")
        return
    ss["live_view"] = view
    render_view(view, "live")
