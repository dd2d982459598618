"""Match quality: the EMQ proxy per event and event type, what to add next, and what-if targets."""

from __future__ import annotations

import hashlib

import pandas as pd
import streamlit as st

import ui
from core import charts
from core import quality as q
from core import review as rv
from core.errors import ConsoleError
from ui.errors import show_error
from ui.quality import render_advice, render_per_event, render_pixel_verdicts, render_summary, review_upload
from ui.report import report_download

settings = ui.page_setup("Match quality", "🧬")
ss = st.session_state
SENT, PASTE, UPLOAD, DEMO, LOADED = ("Events sent from this console", "Paste JSON", "Upload file",
                                     "Demo store month", "Events loaded on Compare")
THIS_SESSION, ALL_HISTORY = "This session's sends", "All history"

st.title("Match quality")
st.caption("Which match keys your events carry, whether TikTok can use them, and which key to add next. Scores "
           "use the console's **EMQ proxy** (0–10): TikTok publishes no weights or scale for its own EMQ.")
sources = [SENT, PASTE, UPLOAD, DEMO]
if any(isinstance(ss.get(k), pd.DataFrame) for k in ("server_events", "pixel_events")):
    sources.append(LOADED)
source = st.radio("Events to review", sources, key="quality_source", horizontal=True)
scope = st.radio("Which sends", [THIS_SESSION, ALL_HISTORY], key="quality_sent_scope", horizontal=True,
                 help="This session: what the Send page sent since you opened the console. All history: every "
                      "event in the history database.") if source == SENT else None
text = st.text_area("v1.3 bodies or events (JSON or JSONL)", key="quality_text", height=160,
                    placeholder='{"event_source": "web", "data": [{"event": "Purchase", "user": {...}}]}'
                    ) if source == PASTE else ""
upload = st.file_uploader("Server events (JSON, JSONL, CSV, Parquet) or a Pixel HAR", key="quality_upload",
                          type=["json", "jsonl", "ndjson", "csv", "parquet", "har"]) if source == UPLOAD else None


@st.cache_data(show_spinner="Generating the demo store month…")
def _demo() -> tuple[pd.DataFrame, pd.DataFrame]:
    from core.demo import generate_store

    demo = generate_store()
    return demo.server, demo.pixel


def _load() -> tuple[str, pd.DataFrame | None, pd.DataFrame | None]:
    """(signature, rows to score, Pixel rows for TikTok's verdicts) for the chosen source."""
    if source == SENT:
        session = ss.get("send_session_id") if scope == THIS_SESSION else None
        if scope == THIS_SESSION and session is None:
            return "sent:none", None, None
        signature = f"sent:{session}:{q.history_stamp(settings.db_path)}"
        if ss.get("quality_sent", (None,))[0] != signature:  # re-read the store only after new writes
            with st.spinner("Reading the sent events from the history…"):
                ss["quality_sent"] = (signature, q.sent_events_frame(settings.db_path, session))
        return signature, ss["quality_sent"][1], None
    if source == PASTE:
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        return f"paste:{digest}", q.text_frame(text) if text.strip() else None, None
    if source == UPLOAD:  # analysed on the engine from a temp file (review_upload), never whole in memory
        return f"upload:{upload.file_id if upload is not None else ''}", None, ss.get("quality_pixel")
    if source == DEMO:
        return "demo", *_demo()
    server, pixel = ss.get("server_events"), ss.get("pixel_events")
    rows = server if isinstance(server, pd.DataFrame) and not server.empty else pixel
    return f"loaded:{id(server)}:{id(pixel)}", rows, pixel


try:
    signature, rows, pixel_rows = _load()
    fresh, has_rows = ss.get("quality_sig") != signature, rows is not None and not rows.empty
    if fresh and upload is not None:
        ss["quality_result"], pixel_rows = review_upload(upload)
        ss["quality_pixel"], ss["quality_sig"] = pixel_rows, signature
    elif fresh and has_rows:
        with st.spinner(f"Scoring {len(rows):,} events…"):
            ss["quality_result"], ss["quality_sig"] = rv.build_review(q.score_frame(rows)), signature
    if fresh and (upload is not None or has_rows):
        for key in q.KEYS:  # new input: the what-if sliders start again at the recommended targets
            ss[f"quality_target_{key}"] = round(rv.DEFAULT_TARGETS[key] * 100)
except ConsoleError as exc:
    show_error(exc)
    st.stop()
if not (ss["quality_result"].summary["events"] if upload is not None else has_rows):
    st.info({SENT: "No events sent in this session yet: send some on the Send page, or choose All history."
             if scope == THIS_SESSION else "No events sent yet in this console. Send some on the Send page.",
             PASTE: "Paste one or more v1.3 bodies (or bare events) above.",
             UPLOAD: "Upload a JSON/JSONL/CSV/Parquet file of server events, or a HAR of Pixel hits.",
             }.get(source, "The chosen source holds no events."), icon="👆")
    st.stop()
result: rv.Review = ss["quality_result"]
s, by = result.summary, result.by_event_type

render_summary(result)
st.plotly_chart(charts.quality_coverage_heatmap(result.coverage), key="quality_heatmap", width="stretch")
scope = st.selectbox("Event type (histogram and advice)", by["event"].tolist(), key="quality_scope")
st.plotly_chart(charts.quality_score_histogram(next(e for e in s["by_event_type"] if e["event"] == scope)),
                key="quality_histogram", width="stretch")

render_advice(result, scope)

st.subheader("What if")
st.caption("Bring each key's valid coverage to at least this share. Exact under the additive model: each "
           "event type's mean moves by (target − coverage) × weight.")
for col, key in zip(st.columns(len(q.KEYS)), q.KEYS, strict=True):
    ss.setdefault(f"quality_target_{key}", round(rv.DEFAULT_TARGETS[key] * 100))
    col.slider(f"{key} %", 0, 100, step=5, key=f"quality_target_{key}")
projection = rv.what_if(result, {k: ss[f"quality_target_{k}"] / 100 for k in q.KEYS})
st.plotly_chart(charts.quality_what_if_bars(projection), key="quality_what_if_chart", width="stretch")
st.dataframe(projection, key="quality_what_if", hide_index=True, width="stretch")

render_per_event(result)
render_pixel_verdicts(pixel_rows)
report_download("quality_report", f"the events on the Match quality page ({source})", quality=result)
