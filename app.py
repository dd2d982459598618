"""Home: what the console does, where events go, and the way through the pages."""

from __future__ import annotations

import streamlit as st

import ui
from core.errors import StoreError
from core.store import Store
from ui.errors import show_error
from ui.markup import plain
from ui.outbox import render_counts

settings = ui.page_setup("Home", "🎯")

st.title("TikTok Events Console")
st.markdown(
    "Prove a TikTok conversion setup right: build and lint Events API v1.3 payloads, send them with a "
    "test event code, compare them with the browser Pixel, check deduplication and match quality."
)
if settings.target == "emulator":
    st.info("Target: **local emulator** — events stay on this machine. Choose TikTok in the sidebar to send "
            "for real.", icon="🧪")
elif settings.target == "tiktok":
    st.warning(f"Target: **{plain(settings.target_label)}**.", icon="📡")
else:
    st.info(f"Target: **{plain(settings.target_label)}**.", icon="🔌")

c1, c2, c3 = st.columns(3)
c1.metric("Pixel code", settings.pixel_code or "not set")
c2.metric("Test event code", settings.test_event_code or "not set")
c3.metric("Access token", {"environment": "from environment", "secrets": "from secrets.toml",
                           "session": "this session"}.get(settings.token_source or "", "not set"))

st.subheader("Session status")
try:
    with Store(settings.db_path) as store:
        counts, sessions = store.outbox_counts(), store.sessions()
except StoreError as exc:
    show_error(exc, source="History database")
else:
    # the Outbox page draws the same metrics from the same counts
    render_counts(counts, lead={"Send sessions": len(sessions)})
    st.page_link("pages/7_Outbox.py", label="Open the Outbox: retry, drop or download what waits", icon="📮")
    if sessions:
        last = sessions[0]
        st.caption(f"Last session `{last['id']}` to {last['target'] or 'unknown target'}: "
                   f"{last['exchanges']} request(s). History file: `{settings.db_path}`.")
loaded = [f"{len(st.session_state[key]):,} {name}" for name, key in
          (("Pixel events", "pixel_events"), ("server events", "server_events")) if key in st.session_state]
if loaded:
    st.caption("Loaded in this session: " + ", ".join(loaded) + ".")

st.subheader("The golden path")
steps = [
    ("pages/1_Build.py", "1. Build", "🧱", "a Purchase with hashed email and phone; see the exact body."),
    ("pages/2_Lint.py", "2. Lint", "🔎", "paste what your backend sends; every problem with its path and fix."),
    ("pages/3_Send.py", "3. Send", "📤", "to the emulator or TikTok with a test event code; copy as cURL."),
    ("pages/4_Compare.py", "4. Compare", "🪞", "Pixel events from a HAR beside the server events."),
    ("pages/5_Match_quality.py", "5. Match quality", "🧬", "the EMQ proxy per key and what to add next."),
    ("pages/6_Dedup_gap.py", "6. Dedup gap", "📉", "Pixel vs server vs your orders, by segment."),
]
for path, label, icon, what in steps:
    col_link, col_text = st.columns([1, 3])
    with col_link:
        st.page_link(path, label=label, icon=icon)
    col_text.write(what)
st.page_link("pages/8_Live_session.py", label="Live session: your store's Pixel and your backend pair up as they "
             "arrive (or try the demo shop)", icon="📡")
st.page_link("pages/9_TikTok_counts.py", label="What TikTok counted: its per-day counts beside yours", icon="🔢")
