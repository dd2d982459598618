"""Live session: the Pixel and the server legs of a Test Events session, paired as they arrive."""

from __future__ import annotations

import streamlit as st

import ui
from core.errors import ConsoleError
from core.live import open_session_export
from ui import exchange as ux
from ui import live as lv
from ui import live_capture as lc
from ui.errors import show_error
from ui.markup import plain
from ui.report import report_download

settings = ux.send_settings(ui.page_setup("Live session", "📡"))
st.title("📡 Live session")
st.caption("Your store's Pixel hits and your backend's server events land in one session and pair up as they "
           "arrive, by TikTok's dedup key (Pixel code + event + event_id): waiting while the 5-minute merge window "
           "is open, then merged, deduplicated, or still one leg only. The checklist follows TikTok's Test Events "
           "advice and names the broken link.")
ss = st.session_state

session_id = lv.session_picker(settings.db_path)
if session_id is None:
    st.info("Name a new session (or pick one) to start: the relay, a browser capture and the Send page all record "
            "into it.", icon="👆")
else:
    ss["send_session_id"] = session_id  # the Send page's sends land in this session too
    lv.relay_panel(settings, session_id)
    lc.capture_panel(settings.db_path, session_id)
    st.subheader(f"Session {plain(session_id)}", anchor=False)
    lv.live_panel(settings.db_path, session_id)
    report_download("live_report", f"live session {session_id}", db_path=settings.db_path, session_id=session_id,
                    live=True)

with st.expander("Re-open an exported session"):
    upload = st.file_uploader("A file saved with “Download the session”", type=["json"], key="live_reopen")
    if upload is not None:
        try:
            saved = open_session_export(upload.getvalue(), upload.name)
        except ConsoleError as exc:
            show_error(exc, source=upload.name)
        else:
            st.caption(f"Session {saved.session_id} as it was when exported.")
            lv.render_view(saved, "live_file")
