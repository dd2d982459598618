"""Compare: Pixel events (HAR / JSON / CSV) beside server events, paired by TikTok's dedup key."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

import ui
from core.dedup import simulate
from core.demo import generate_store
from core.diff import field_diff, near_partners
from core.errors import ConsoleError
from core.events import iter_events, load_server_events, parse_documents, server_frame
from core.pixel import load_pixel_events
from core.store import Store
from ui.diff import badge, render_field_diff, render_json_diff, render_pairs, row_document, rows_for_key
from ui.exchange import render_exchange

settings = ui.page_setup("Compare", "🪞")
st.title("Compare Pixel and server events")
st.caption("Pairs every Pixel event with its server twin by TikTok's dedup key (Pixel code + event + "
           "event_id) and says what TikTok does with each pair: merged within 5 min, deduplicated within 48 h.")
ss = st.session_state
DEMO, STORE, UPLOAD = "Demo store month", "Sent from this console", "Upload a file"
ss.setdefault("compare_pixel_source", UPLOAD)
ss.setdefault("compare_server_source", STORE)


def _use_demo() -> None:
    ss["compare_pixel_source"] = ss["compare_server_source"] = DEMO


@st.cache_data(show_spinner="Generating the demo store month…")
def _demo() -> tuple[pd.DataFrame, pd.DataFrame]:
    store = generate_store(orders=400, seed=7)
    return store.pixel, store.server


def _server_side(docs: list[object]) -> None:
    """Server rows plus each row's event as sent (same order as the frame's `index`), for the diff."""
    ss["server_events"] = server_frame(docs)
    ss["compare_server_bodies"] = [{**top, "data": [event]} for doc in docs for top, event in iter_events(doc)]


def _server_upload(upload) -> None:  # type: ignore[no-untyped-def]
    if not upload.name.lower().endswith(".csv"):
        return _server_side(parse_documents(upload.getvalue().decode("utf-8-sig", errors="replace"), upload.name))
    with tempfile.TemporaryDirectory() as tmp:  # load_server_events reads CSV from a path (pyarrow)
        path = Path(tmp) / "server.csv"
        path.write_bytes(upload.getvalue())
        ss["server_events"], ss["compare_server_bodies"] = load_server_events(path), None


left, right = st.columns(2)
with left:
    st.subheader("Pixel side")
    pixel_source = st.radio("Pixel events", [UPLOAD, DEMO], key="compare_pixel_source", horizontal=True)
    pixel_file = st.file_uploader("DevTools HAR, or Pixel events as JSON / JSONL / CSV", key="compare_pixel_upload",
                                  type=["har", "json", "jsonl", "ndjson", "csv", "gz"],
                                  disabled=pixel_source != UPLOAD)
with right:
    st.subheader("Server side")
    server_source = st.radio("Server events", [STORE, UPLOAD, DEMO], key="compare_server_source", horizontal=True)
    server_file = st.file_uploader("v1.3 bodies as JSON / JSONL, or a CSV of events", key="compare_server_upload",
                                   type=["json", "jsonl", "ndjson", "csv"], disabled=server_source != UPLOAD)
st.button("Use the demo store month on both sides", key="compare_demo", on_click=_use_demo, icon="🧪")

try:  # each side reloads only when its source changed; `compare_*_origin` says what is loaded
    if pixel_source == DEMO:
        ss["pixel_events"], ss["compare_pixel_import"], ss["compare_pixel_origin"] = _demo()[0], None, DEMO
    elif pixel_file is not None and ss.get("compare_pixel_origin") != pixel_file.file_id:
        imported = load_pixel_events(pixel_file, pixel_file.name)
        ss["pixel_events"], ss["compare_pixel_import"] = imported.events, imported
        ss["compare_pixel_origin"] = pixel_file.file_id
    if server_source == DEMO:
        ss["server_events"], ss["compare_server_bodies"], ss["compare_server_origin"] = _demo()[1], None, DEMO
    elif server_source == STORE:
        with Store(settings.db_path) as store:
            _server_side(list(store.server_events()))
        ss["compare_server_origin"] = STORE
    elif server_file is not None and ss.get("compare_server_origin") != server_file.file_id:
        _server_upload(server_file)
        ss["compare_server_origin"] = server_file.file_id
except ConsoleError as exc:
    st.error(f"{exc.message}  \n{exc.hint or ''}", icon="🚫")
    st.stop()
if ss.get("pixel_events") is not None and ss.get("compare_pixel_origin") in (None, DEMO) and pixel_source == UPLOAD:
    st.caption("Pixel side: the events loaded earlier in this session; upload a file to replace them.")

imported = ss.get("compare_pixel_import")
if imported is not None and pixel_source == UPLOAD:
    counts = ", ".join(f"{k} {v}" for k, v in sorted(imported.skipped_counts().items())) or "nothing"
    st.caption(f"Read {len(imported.events)} Pixel event(s) from {imported.entries} {imported.format.upper()} "
               f"item(s); skipped {counts}.")
    for note in imported.notes:
        st.warning(note)
    if imported.skipped:
        with st.expander(f"Skipped ({len(imported.skipped)})"):
            st.dataframe(imported.skipped_frame(), key="compare_skipped", width="stretch", hide_index=True)
pixel, server = ss.get("pixel_events"), ss.get("server_events")
if pixel is None or server is None or pixel.empty or server.empty:
    missing = [name for name, df in (("Pixel", pixel), ("server", server)) if df is None or df.empty]
    hint = ("send events on the Send page, upload a file" if server is None or server.empty else "upload a HAR")
    st.info(f"No {' and no '.join(missing)} events yet: {hint}, or use the demo store month.", icon="👆")
    st.stop()

report = simulate(pixel, server)
s = report.summary
cols = st.columns(6)
for col, (label, value) in zip(cols, [("Pixel events", s["pixel_events"]), ("Server events", s["server_events"]),
                                      ("Merged", s["merged_pairs"]), ("Deduplicated", s["deduplicated_pairs"]),
                                      ("Pixel only", s["pixel_only"]), ("Server only", s["server_only"])],
                               strict=True):
    col.metric(label, f"{value:,}")

keys = report.keys
shown = render_pairs(keys, "compare")
if not report.near_misses.empty:
    with st.expander(f"Near misses ({len(report.near_misses)}): ids or names that almost match"):
        st.dataframe(report.near_misses, key="compare_near_misses", width="stretch", hide_index=True)

if shown.empty:
    st.info("No key matches these filters.")
    st.stop()
labels = {i: f"{r.event} · {r.event_id or '(no event_id)'} · {r.verdict}" for i, r in shown.head(5000).iterrows()}
pick = st.selectbox("Inspect one key", list(labels), format_func=labels.__getitem__, key="compare_pick")
row = keys.loc[pick]
p_rows = rows_for_key(pixel, row.pixel_code, row.event, row.event_id, "timestamp", row.pixel_time)
s_rows = rows_for_key(server, row.pixel_code, row.event, row.event_id, "event_time", row.server_time)
st.markdown(f"**{badge(row.verdict)}** — {row.reason}")
if p_rows.empty != s_rows.empty:  # one side only: diff against the id it was probably meant to match
    other = near_partners(server if s_rows.empty else pixel, row.event, row.event_id)
    if not other.empty:
        s_rows, p_rows = (other.head(1), p_rows) if s_rows.empty else (s_rows, other.head(1))
        st.warning(f"Near miss: the other side has event_id **{other.iloc[0]['event_id']}** for this "
                   f"{row.event} — TikTok compares ids exactly, so the two never deduplicate.", icon="🔍")
if p_rows.empty or s_rows.empty:
    st.info("Only one side has this key and no near miss was found, so there is no field diff.")
    st.json(row_document((p_rows if not p_rows.empty else s_rows).iloc[0].to_dict()) if len(p_rows) + len(s_rows)
            else row_document(row.to_dict()), expanded=1)
    st.stop()
bodies = ss.get("compare_server_bodies")
s_row = s_rows.iloc[0].to_dict()
s_event = bodies[int(s_row["index"])] if bodies and 0 <= int(s_row["index"]) < len(bodies) else s_row
p_doc = row_document(p_rows.iloc[0].to_dict())
s_doc = s_event if bodies else row_document(s_row)
st.subheader("Field diff")
render_field_diff(field_diff(p_rows.iloc[0].to_dict(), s_event), key="compare_field_diff")
st.subheader("Pixel event and server event")
render_json_diff(p_doc, s_doc, key="compare_json_diff")
if server_source == STORE:  # the real round trip that carried this server event, if it was sent
    with Store(settings.db_path) as store:
        carried = [e for e in store.exchanges() if any(isinstance(d, dict) and d.get("event_id") == s_row["event_id"]
                                                       for d in (e.get("request_body") or {}).get("data") or [])]
    if carried:
        st.subheader("The request that carried it, and TikTok's answer")
        render_exchange(carried[-1], key="compare_exchange")
