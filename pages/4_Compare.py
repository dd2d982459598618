"""Compare: Pixel events (HAR / JSON / CSV) beside server events, paired by TikTok's dedup key."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import ui
from core.compare import inspect_key, near_miss_list
from core.dedup import simulate
from core.demo import generate_store
from core.errors import ConsoleError
from core.sources.pixel import load_pixel_events
from core.sources.server import load_server_side, server_side
from core.store import Store
from ui.browser_twin import use_simulated_pixels
from ui.diff import key_labels, render_key, render_pair_counts, render_pairs, render_pixel_import
from ui.errors import show_error
from ui.exchange import render_exchange
from ui.findings import WRAP_ROW_HEIGHT
from ui.report import report_download

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
if pixel_source == UPLOAD and pixel_file is None:  # no file: the browser half simulated on the Send page, if any
    use_simulated_pixels(ss)

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
            ss["server_events"], ss["compare_server_bodies"] = server_side(store.server_events())
        ss["compare_server_origin"] = STORE
    elif server_file is not None and ss.get("compare_server_origin") != server_file.file_id:
        ss["server_events"], ss["compare_server_bodies"] = load_server_side(server_file, server_file.name)
        ss["compare_server_origin"] = server_file.file_id
except ConsoleError as exc:
    show_error(exc)
    st.stop()
if ss.get("pixel_events") is not None and ss.get("compare_pixel_origin") in (None, DEMO) and pixel_source == UPLOAD:
    st.caption("Pixel side: the events loaded earlier in this session; upload a file to replace them.")

imported = ss.get("compare_pixel_import")
if imported is not None and pixel_source == UPLOAD:
    render_pixel_import(imported, key="compare_skipped")
pixel, server = ss.get("pixel_events"), ss.get("server_events")
if pixel is None or server is None or pixel.empty or server.empty:
    missing = [name for name, df in (("Pixel", pixel), ("server", server)) if df is None or df.empty]
    hint = ("send events on the Send page, upload a file" if server is None or server.empty else "upload a HAR")
    st.info(f"No {' and no '.join(missing)} events yet: {hint}, or use the demo store month.", icon="👆")
    st.stop()

report = simulate(pixel, server)
render_pair_counts(report.summary, report.keys)

keys = report.keys
shown = render_pairs(keys, "compare")
near = near_miss_list(report)  # one list for the expander and the inspect panel
if not near.empty:
    with st.expander(f"Near misses ({len(near)}): ids or names that almost match"):
        st.dataframe(near, key="compare_near_misses", width="stretch", hide_index=True, row_height=WRAP_ROW_HEIGHT,
                     column_config={"detail": st.column_config.TextColumn("detail", width="large")})

if shown.empty:
    st.info("No key matches these filters.")
    st.stop()
labels = key_labels(shown.head(5000))
if ss.get("compare_pick") not in labels:  # new data or filters: never keep a label from the old list
    ss.pop("compare_pick", None)
pick = st.selectbox("Inspect one key", list(labels), key="compare_pick")
inspection = inspect_key(report, pixel, server, keys.loc[labels[pick]], ss.get("compare_server_bodies"), near)
s_row = render_key(inspection, "compare")
if s_row is None:
    st.stop()
if server_source == STORE:  # the real round trip that carried this server event, if it was sent
    with Store(settings.db_path) as store:
        carried = store.exchange_for_event(s_row["event_id"])
    if carried:
        st.subheader("The request that carried it, and TikTok's answer")
        render_exchange(carried, key="compare_exchange")
report_download("compare_report", "the Pixel and server events on the Compare page", dedup=report)
