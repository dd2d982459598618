"""The Outbox view: every event the outbox holds with its status and the reason in words, the per-session
recording state, the counts Home shows too, and the retry / drop / download actions (each one core call)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import streamlit as st

from core.config import Settings
from core.export import csv_bytes
from core.outbox import REASONS
from core.store import OUTBOX_STATUSES, WAITING, Store

# Home and the Outbox page draw the same metrics from the same counts, so the two always agree.
COUNT_LABELS = (
    ("Events accepted", "accepted", "TikTok took them (code 0)."),
    ("Waiting in outbox", "pending",
     "Queued before sending, or no final answer yet; they leave the outbox only when TikTok accepted them."),
    ("Blocked (token)", "blocked", "Refused for the access token or its permissions: retried once it is fixed."),
    ("Rejected", "rejected", "Refused by TikTok as invalid: fix the source, then retry them, or drop them."),
    ("Held back", "held", "Never sent: lint errors, or a raw email/phone the outbox did not keep."),
)
# the reason in words first; the stored key (for filters and scripts) and the ids after the details
COLUMNS = ["status", "event", "event_id", "why", "attempts", "code", "error", "request_id", "updated_at", "session_id",
           "reason", "outbox_id"]
_NO_REASON = {
    "pending": "recorded, not sent yet (an interrupted send, or one still running): Retry sends it",
    "accepted": "accepted by TikTok",
}
_SHOWN = 5000  # rows the table draws; the download holds every listed row


def render_counts(counts: Mapping[str, int], lead: Mapping[str, int] | None = None) -> None:
    """One metric per outbox status that matters (Home and the Outbox page call this with the same counts).

    `lead` metrics (label -> value, e.g. Home's "Send sessions") come first in the same row.
    """
    first = dict(lead or {})
    cols = st.columns(len(first) + len(COUNT_LABELS))
    for col, (label, value) in zip(cols, first.items(), strict=False):
        col.metric(label, f"{value:,}")
    for col, (label, status, help_) in zip(cols[len(first):], COUNT_LABELS, strict=True):
        col.metric(label, f"{int(counts.get(status, 0)):,}", help=help_)


def reason_kind(reason: object) -> str:
    """The reason's key ("lint: event.name at data[3]..." -> "lint"); "" for none."""
    text = str(reason or "")
    return text.split(":", 1)[0].strip() if text else ""


def reason_words(reason: object) -> str:
    """A stored reason in words (core.outbox.REASONS), with the detail a lint hold carries."""
    text = str(reason or "")
    kind = reason_kind(text)
    words = REASONS.get(kind)
    if words is None:
        return text
    detail = text.split(":", 1)[1].strip() if ":" in text else ""
    return f"{words} ({detail})" if detail else words


def listing(history: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Store.history rows -> the Outbox table: one row per event, the reason key and its words."""
    frame = pd.DataFrame(list(history), columns=[c for c in COLUMNS if c != "why"])
    frame["reason"] = frame["reason"].fillna("").astype(str)
    frame["why"] = frame["reason"].map(reason_words)
    blank = frame["why"].eq("")
    frame.loc[blank, "why"] = frame.loc[blank, "status"].map(_NO_REASON).fillna("")
    frame["updated_at"] = pd.to_datetime(frame["updated_at"], unit="s", utc=True)
    return frame[COLUMNS]


def listing_csv(frame: pd.DataFrame) -> bytes:
    """The listed rows as CSV bytes (UTF-8, a header row)."""
    return csv_bytes(frame)


def session_states(store: Store, frame: pd.DataFrame) -> pd.DataFrame:
    """One row per session that holds events: label, target, whether its recording is complete, counts."""
    rows = []
    counts = frame.groupby(["session_id", "status"]).size().unstack(fill_value=0) if not frame.empty else None
    for s in store.sessions():
        if counts is None or s["id"] not in counts.index:
            continue
        per = counts.loc[s["id"]]
        state = "recorded" if s["recorded"] else "interrupted: run the same send again"
        rows.append({"session_id": s["id"], "label": s["label"], "target": s["target"], "recording": state,
                     **{st_: int(per.get(st_, 0)) for st_ in OUTBOX_STATUSES},
                     "created_at": pd.to_datetime(s["created_at"], unit="s", utc=True)})
    return pd.DataFrame(rows)


def render_sessions(states: pd.DataFrame) -> None:
    """The sessions table, and a warning per session whose recording was interrupted."""
    if states.empty:
        return
    for sid in states.loc[~states["recording"].eq("recorded"), "session_id"]:
        st.warning(f"Session `{sid}` was interrupted while recording its input: only part of it is in the outbox. "
                   "Run the same `tiktok-events send` again to resume it (events already accepted are not sent "
                   "again); Retry here sends the part that was recorded.", icon="⏸️")
    with st.container(key="outbox_sessions"):
        st.dataframe(states, hide_index=True, width="stretch")


def filter_listing(frame: pd.DataFrame, sessions: Sequence[str]) -> pd.DataFrame:
    """Filters by status (waiting ones by default), reason, session and event_id; returns the rows listed."""
    c1, c2, c3, c4 = st.columns(4)
    statuses = c1.multiselect("Status", list(OUTBOX_STATUSES), default=list(WAITING), key="outbox_filter_status")
    kinds = sorted(k for k in frame["reason"].map(reason_kind).unique() if k)
    reasons = c2.multiselect("Reason", kinds, key="outbox_filter_reason",
                             format_func=lambda k: f"{k}: {REASONS[k]}" if k in REASONS else k)
    session = c3.selectbox("Session", ["(all sessions)", *sessions], key="outbox_filter_session")
    needle = c4.text_input("event_id contains", key="outbox_filter_event_id").strip()
    keep = frame["status"].isin(statuses) if statuses else pd.Series(True, index=frame.index)
    if reasons:
        keep &= frame["reason"].map(reason_kind).isin(reasons)
    if session != "(all sessions)":
        keep &= frame["session_id"].eq(session)
    if needle:
        keep &= frame["event_id"].str.contains(needle, regex=False)
    return frame[keep]


def render_listing(listed: pd.DataFrame, total: int) -> None:
    """The listed events (the first 5,000 drawn) and how many of the outbox's events they are."""
    more = f" (the table draws the first {_SHOWN:,})" if len(listed) > _SHOWN else ""
    st.caption(f"{len(listed):,} of {total:,} event(s) listed{more}.")
    with st.container(key="outbox_rows"):
        st.dataframe(listed.head(_SHOWN), hide_index=True, width="stretch",
                     column_config={"why": st.column_config.TextColumn("why it is here", width="large"),
                                    "reason": st.column_config.TextColumn("reason key")})


def selected_session() -> str | None:
    """The session the filter names, or None for every session (the scope of Retry)."""
    value = st.session_state.get("outbox_filter_session")
    return None if value in (None, "(all sessions)") else str(value)


def retry_now(settings: Settings, *, rejected: bool, allow_changed: bool) -> dict[str, Any]:
    """core.outbox.retry against the app's target (the emulator's URL for the emulator); the report as a dict."""
    from core import outbox
    from core.transport import Sender
    from ui.exchange import send_settings

    target = send_settings(settings)
    with Store(target.db_path) as store, Sender(target) as sender:
        report = outbox.retry(store, sender, session_id=selected_session(), rejected=rejected,
                              allow_changed=allow_changed)
    return {**report.to_dict(), "text": outbox.format_report(report)}


def drop_now(settings: Settings, ids: Sequence[int]) -> int:
    """core.outbox.drop of these outbox ids (the refused and held ones listed)."""
    from core import outbox

    with Store(settings.db_path) as store:
        return outbox.drop(store, [int(i) for i in ids])


@st.dialog("Drop these events from the outbox?")
def confirm_drop(settings: Settings, ids: Sequence[int]) -> None:
    """The confirmation a drop needs; Yes drops them and says how many went."""
    st.markdown(f"{len(ids):,} refused or held event(s) leave the outbox for good: they are not sent again, "
                "and a retry no longer sees them. Their history stays (status dropped).")
    yes, no = st.columns(2)
    if yes.button("Yes, drop them", key="outbox_drop_yes", type="primary"):
        st.session_state["outbox_drop_open"] = False
        st.session_state["outbox_flash"] = f"Dropped {drop_now(settings, ids):,} event(s)."
        st.rerun()
    if no.button("Cancel", key="outbox_drop_cancel"):
        st.session_state["outbox_drop_open"] = False
        st.rerun()


def render_retry_result(result: Mapping[str, Any]) -> None:
    """What the last retry did: a headline, and its per-event report."""
    if result["events"] == 0 and not result["incomplete_sessions"]:
        st.info("Nothing to resend: no pending or blocked event in this scope.")
        return
    line = f"Resent {result['events']:,} event(s): {result['accepted']:,} accepted."
    # an interrupted recording is said per session above; here only what this retry sent counts
    (st.success if result["accepted"] == result["events"] else st.warning)(line)
    st.code(result["text"], language="text")
