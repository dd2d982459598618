"""Shared Streamlit pieces for sending: the app's one emulator, the request/response view, the Test Events
panel, the live-send confirmation and the session history. Logic stays in core; this only renders."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from core.config import Settings
from core.emulator import EmulatorServer, start_emulator
from core.errors import InvalidFile
from core.exchange import Exchange, SendReport
from core.lint import Finding
from core.store import OUTBOX_STATUSES, Store
from core.transport import CURL_INLINE_MAX, curl_body, to_curl
from ui.findings import WRAP_ROW_HEIGHT
from ui.markup import code as md_code
from ui.markup import plain

OUTCOME_BADGE = {"accepted": "✅ accepted", "partial": "◐ partial", "rejected": "❌ rejected",
                 "undelivered": "⏳ undelivered"}
_BIG_BODY = 20  # events above which the request JSON starts collapsed


@st.cache_resource(show_spinner="Starting the local Events API emulator…", on_release=lambda emu: emu.stop())
def emulator_server() -> EmulatorServer:
    """The one in-process emulator every session of this app talks to (any non-empty token accepted)."""
    return start_emulator()


def send_settings(settings: Settings) -> Settings:
    """Settings with a base URL: for the emulator target, the running emulator's URL."""
    if settings.target == "emulator":
        return settings.with_overrides(base_url=emulator_server().url)
    return settings


def target_banner(settings: Settings) -> None:
    """Say which target is live, loudly when events leave the machine."""
    if settings.target == "emulator":
        st.info(f"Target: **local emulator** at {md_code(settings.base_url)} — nothing leaves this machine.", icon="🧪")
    elif settings.target == "tiktok":
        st.warning(f"Target: **TikTok Events API** ({md_code(settings.base_url)}) — real requests with your token.",
                   icon="📡")
    else:
        st.info(f"Target: **custom endpoint** {md_code(settings.base_url)}.", icon="🔌")


def render_exchange(ex: Exchange, key: str) -> None:
    """One round trip: request and response side by side, the decoded code, and the attempts timeline."""
    decoded = ex.decoded
    head = f"**{OUTCOME_BADGE.get(ex.outcome, ex.outcome)}** · "
    head += f"code {md_code(ex.code)} {plain(decoded.name)}" if ex.code is not None else plain(decoded.name)
    head += f" · request_id {md_code(ex.request_id or '-')} · {ex.latency_ms:.0f} ms · {len(ex.attempts)} attempt(s)"
    with st.container(border=True, key=f"{key}_box"):
        st.markdown(head)
        meaning = plain(f"{decoded.meaning} Fix: {decoded.fix}")
        said = plain(ex.message or ex.error or "")  # the server's words: text, never markdown
        if ex.outcome == "accepted":
            st.caption(meaning)
        elif ex.outcome == "partial":
            st.warning(f"{said} — {meaning}")
        else:
            st.error(f"{said} — {meaning}")
        left, right = st.columns(2)
        n = ex.event_count
        with left:
            st.text(f"Request · {ex.method} {ex.url} · {n} event(s)")
            st.json(ex.request_headers, expanded=True)
            render_body(ex.request_body, key=f"{key}_request")
        with right:
            st.text(f"Response · HTTP {ex.status if ex.status is not None else '—'}")
            st.json(ex.response_headers, expanded=False)
            if isinstance(ex.response_body, dict):
                st.json(ex.response_body, expanded=True)
            elif ex.response_body:
                st.code(str(ex.response_body)[:4000], language="html")
            else:
                st.caption(ex.error or "No response body.")
        if len(ex.attempts) > 1 or ex.error:
            rows = [{"#": i, "status": a.status, "code": a.code, "error": a.error,
                     "latency_ms": round(a.latency_ms or 0, 1), "retry in (s)": a.retry_in_s}
                    for i, a in enumerate(ex.attempts, 1)]
            st.caption("Attempts (transient failures are retried with backoff and the same event_ids)")
            with st.container(key=f"{key}_attempts"):
                st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def render_body(body: dict[str, Any], key: str) -> None:
    """A request body: whole when small, else its first events and a download of the whole body."""
    data = body.get("data")
    if not isinstance(data, list) or len(data) <= _BIG_BODY:
        st.json(body, expanded=True)
        return
    st.json({**body, "data": data[:3]}, expanded=False)
    st.caption(f"Showing 3 of {len(data):,} events.")
    st.download_button("Download the whole body (JSON)", curl_body(body), file_name="body.json",
                       mime="application/json", key=f"{key}_download", on_click="ignore")


def render_curl(ex: Exchange, key: str) -> None:
    """Copy as cURL: the command inline for a small body; for a large one a file and a command that reads it."""
    st.markdown("**Copy as cURL** (the token stays in `$TIKTOK_ACCESS_TOKEN`)")
    body = curl_body(ex.request_body)
    with st.container(key=key):
        if len(body) <= CURL_INLINE_MAX:
            st.code(to_curl(ex), language="bash")
            return
        st.caption(f"The body is {len(body) / 1024:,.0f} KB: too long for a command line. Download it beside "
                   "the command, which reads it from the file.")
        st.code(to_curl(ex, body_file="body.json"), language="bash")
        st.download_button("Download body.json for cURL", body, file_name="body.json", mime="application/json",
                           key=f"{key}_body", on_click="ignore")


def render_received(emu: EmulatorServer, preferred: Sequence[str]) -> None:
    """What the emulator received, like Events Manager's Test Events tab, with deduplication flags.

    One test event code at a time (a selectbox when there are several), the first of `preferred` that
    has events (the codes just sent, then the sidebar's) else the most recent one.
    """
    codes_view = emu.view(limit=500)["test_event_codes"]
    if not codes_view:
        st.caption("Nothing received yet.")
        return
    recent = sorted(codes_view, key=lambda c: codes_view[c]["events"][-1]["received_at"] if codes_view[c]["events"]
                    else 0, reverse=True)
    default = next((c for c in preferred if c in codes_view), recent[0])
    code = default
    if len(recent) > 1:
        code = st.selectbox("Test event code", recent, index=recent.index(default), key="send_received_code",
                            format_func=lambda c: c or "(live: no test event code)")
    view = codes_view[code]
    events = view["events"]
    label = f"test event code {md_code(code)}" if code else "live (no test event code)"
    st.caption(f"{view['received']} event(s) received for {label}; {view['deduplicated']} "
               "deduplicated (same event + event_id within 48 h of the first copy).")
    if not events:
        return
    frame = pd.DataFrame(events)
    frame["received_at"] = pd.to_datetime(frame["received_at"], unit="s", utc=True)
    frame["event_time"] = pd.to_datetime(frame["event_time"], unit="s", utc=True)
    frame["match_keys"] = frame["match_keys"].map(", ".join)
    cols = ["received_at", "event", "event_id", "event_time", "deduplicated", "duplicate_of", "match_keys",
            "value", "currency", "request_id"]
    with st.container(key="send_received"):  # keyed container: st.dataframe's own key is not exposed to tests
        st.dataframe(frame[cols].iloc[::-1], hide_index=True, width="stretch")


@st.dialog("Send without a test event code?")
def confirm_live(pixel_code: str, n_events: int, target_label: str, is_emulator: bool) -> None:
    """The explicit confirmation a live send needs; Yes sets `send_pending`."""
    where = "the local emulator files them as live events" if is_emulator else (
        "they will count in reporting and optimization, like real conversions")
    st.markdown(f"{n_events} event(s) for Pixel **{plain(pixel_code or '(no Pixel code)')}** go to "
                f"{plain(target_label)} "
                f"without a test event code: {where}.")
    st.caption("To test instead, cancel and set the test event code from Events Manager > Test Events in the sidebar.")
    yes, no = st.columns(2)
    if yes.button("Yes, send live", key="send_confirm_live", type="primary"):
        st.session_state["send_pending"] = True
        st.session_state["send_confirm_open"] = False
        st.rerun()
    if no.button("Cancel", key="send_confirm_cancel"):
        st.session_state["send_confirm_open"] = False
        st.rerun()


def render_history(rows: Sequence[dict[str, Any]]) -> None:
    """The session's events (one row each) with filters by event, status and event_id."""
    if not rows:
        st.caption("Nothing sent in this session yet.")
        return
    frame = pd.DataFrame(rows)
    frame["updated_at"] = pd.to_datetime(frame["updated_at"], unit="s", utc=True)
    c1, c2, c3 = st.columns(3)
    events = c1.multiselect("Event", sorted(frame["event"].unique()), key="send_filter_event")
    statuses = c2.multiselect("Status", list(OUTBOX_STATUSES), key="send_filter_status")
    needle = c3.text_input("event_id contains", key="send_filter_event_id")
    if events:
        frame = frame[frame["event"].isin(events)]
    if statuses:
        frame = frame[frame["status"].isin(statuses)]
    if needle:
        frame = frame[frame["event_id"].str.contains(needle, regex=False)]
    st.caption(f"{len(frame)} of {len(rows)} event(s)")
    cols = ["updated_at", "event", "event_id", "status", "reason", "code", "attempts", "request_id", "error"]
    with st.container(key="send_history"):
        st.dataframe(frame[cols], hide_index=True, width="stretch", row_height=WRAP_ROW_HEIGHT,
                     column_config={"reason": st.column_config.TextColumn(width="large"),
                                    "error": st.column_config.TextColumn(width="large")})


def held_events(bodies: Sequence[dict[str, Any]], findings: Sequence[Finding]) -> dict[int, str]:
    """Events the linter finds errors in (absolute positions), held back from a send by default."""
    from core.outbox import invalid_events

    return invalid_events(bodies, findings)


def send_now(settings: Settings, state: Any, bodies: Sequence[dict[str, Any]], hold: dict[int, str],
             progress: Callable[[int, int], None]) -> SendReport:
    """Send through the outbox into the page's session (created on first use); held events are recorded, not sent."""
    from core import outbox
    from core.transport import Sender

    with Store(settings.db_path) as store, Sender(settings) as sender:
        if state["send_session_id"] is None:
            state["send_session_id"] = store.create_session("Send page", target=settings.target,
                                                            base_url=settings.base_url or "")
        return outbox.send(store, sender, bodies, hold=hold, session_id=state["send_session_id"], progress=progress)


def render_send_summary(summary: dict[str, Any], headline: str) -> None:
    """Where every event of the last send ended up, and each one that was not accepted, by name and reason."""
    if summary["all_accepted"]:
        st.success(headline)
        return
    st.warning(f"{headline} — {summary['held']} held back, {summary['rejected']} rejected, {summary['blocked']} "
               f"blocked (token), {summary['partial']} partial, {summary['undelivered']} undelivered. They stay in "
               "the outbox (the Outbox page resends or drops them).")
    notes = summary.get("not_accepted") or []
    if notes:
        with st.container(key="send_not_accepted"):
            st.dataframe(pd.DataFrame(notes)[["index", "event", "event_id", "status", "reason"]], hide_index=True,
                         width="stretch", column_config={"reason": st.column_config.TextColumn(width="large")},
                         row_height=WRAP_ROW_HEIGHT)


def session_export(db_path: Path, session_id: str) -> Callable[[], bytes]:
    """A zero-argument callable for st.download_button: the session JSON is built only when clicked."""

    def build() -> bytes:
        with Store(db_path) as store:  # its own connection: Streamlit runs this on another thread
            return store.export_session(session_id)

    return build


def read_upload(getvalue: Callable[[], bytes], name: str) -> str:
    """Text of an uploaded file (UTF-8, BOM tolerated); InvalidFile naming the file and the fix otherwise."""
    try:
        return getvalue().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidFile("The file is not UTF-8 text.", hint="Export it as UTF-8 JSON or JSONL.",
                          file=name) from None


def pretty(obj: Any) -> str:
    """Indented JSON for st.code."""
    return json.dumps(obj, indent=2, ensure_ascii=False)
