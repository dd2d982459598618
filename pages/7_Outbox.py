"""Outbox: every event not yet settled, why it is there, and what to do — retry, drop, download."""

from __future__ import annotations

import streamlit as st

import ui
from core.errors import ConsoleError
from core.store import Store
from ui import outbox as uo
from ui.errors import show_error
from ui.report import report_download

settings = ui.page_setup("Outbox", "📮")
st.title("📮 Outbox")
st.caption("Every event is recorded here before it is sent and leaves only when TikTok accepted it. Pending and "
           "blocked events go again with Retry (same event_ids: TikTok drops what it already has); refused and "
           "held ones only when you ask, after a fix.")
ss = st.session_state
ss.setdefault("outbox_drop_open", False)
ss.setdefault("outbox_retry_result", None)

try:
    with Store(settings.db_path) as store:
        counts = store.outbox_counts()
        frame = uo.listing(store.history())
        states = uo.session_states(store, frame)
except ConsoleError as exc:
    show_error(exc, source="History database")
    st.stop()

uo.render_counts(counts)
if frame.empty:
    st.info("The outbox is empty: send events on the Send page (or `tiktok-events send`), and any that TikTok "
            "does not accept wait here.", icon="📭")
    st.stop()

st.subheader("Sessions")
uo.render_sessions(states)

st.subheader("Events")
listed = uo.filter_listing(frame, list(states["session_id"]) if not states.empty else [])
uo.render_listing(listed, len(frame))
st.download_button("Download the listed events (CSV)", uo.listing_csv(listed), file_name="outbox.csv",
                   mime="text/csv", key="outbox_download", on_click="ignore", disabled=listed.empty)

st.subheader("Actions")
scope = uo.selected_session()
st.caption(f"Retry sends to {settings.target_label}, for "
           + (f"session `{scope}` only." if scope else "every session."))
also_refused = st.checkbox("Also retry the refused and held events (after you fixed their cause)",
                           key="outbox_retry_rejected")
without_pii = st.checkbox("Send events whose raw email/phone was not kept without those values",
                          key="outbox_retry_without_pii",
                          help="The outbox never stores raw email or phone numbers; such events are held unless "
                               "you accept sending them without those values.")
col_retry, col_drop = st.columns(2)
if col_retry.button("Retry pending and blocked" + (", refused and held" if also_refused else ""),
                    key="outbox_retry", type="primary"):
    try:
        ss["outbox_retry_result"] = uo.retry_now(settings, rejected=also_refused, allow_changed=without_pii)
    except ConsoleError as exc:
        show_error(exc, source="Not resent")
    else:
        st.rerun()
droppable = listed.loc[listed["status"].isin(("rejected", "held")), "outbox_id"].tolist()
if col_drop.button(f"Drop the {len(droppable):,} refused/held event(s) listed", key="outbox_drop",
                   disabled=not droppable):
    ss["outbox_drop_open"] = True
if ss["outbox_drop_open"] and droppable:
    uo.confirm_drop(settings, droppable)
if flash := ss.pop("outbox_flash", None):
    st.success(flash)
if ss["outbox_retry_result"] is not None:
    uo.render_retry_result(ss["outbox_retry_result"])
report_download("outbox_report", db_path=settings.db_path)
