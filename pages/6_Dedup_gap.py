"""Dedup gap: what TikTok counts from Pixel + server events, against the store's TikTok orders."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

import ui
from core import charts
from core.dedup import simulate
from core.demo import generate_store
from core.errors import ConsoleError, InvalidFile
from core.events import load_server_events, parse_documents, server_frame
from core.orders import REQUIRED, SEGMENT_DIMENSIONS, load_orders, read_columns, segment_columns, truth_filter
from core.pixel import load_pixel_events

settings = ui.page_setup("Dedup gap", "📉")
st.title("Dedup gap")
st.caption("TikTok's dedup rules on both sides (key = Pixel code + event + event_id; same-side repeats within "
           "48 h dropped; Pixel↔server merged within 5 min, deduplicated within 48 h), against your orders.")
ss = st.session_state
ss.setdefault("gap_data", None)
ss.setdefault("gap_orders_mapping", {})


@st.cache_data(show_spinner=False, max_entries=3)
def _demo(n: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    store = generate_store(orders=n, seed=7)
    return store.pixel, store.server, store.orders


def _saved(upload, suffix: str) -> Path:  # type: ignore[no-untyped-def]
    path = Path(tempfile.mkdtemp()) / f"upload{suffix}"
    path.write_bytes(upload.getvalue())
    return path


with st.expander("Data: the demo store month, or your own files", expanded=ss["gap_data"] is None):
    left, right = st.columns([1, 2])
    n_demo = left.number_input("Demo orders", 100, 1_000_000, 5000, step=1000, key="gap_demo_orders")
    demo_clicked = left.button("Load the demo store month", key="gap_demo", icon="🧪")
    pixel_up = right.file_uploader("Pixel events (HAR, JSON, JSONL, CSV)", key="gap_pixel_upload",
                                   type=["har", "json", "jsonl", "ndjson", "csv", "gz"])
    server_up = right.file_uploader("Server events (v1.3 JSON / JSONL, or CSV)", key="gap_server_upload",
                                    type=["json", "jsonl", "ndjson", "csv"])
    orders_up = right.file_uploader("Orders (Shopify / WooCommerce export, or any CSV)", key="gap_orders_upload",
                                    type=["csv"])

try:
    if demo_clicked:
        with st.status(f"Generating a demo month of {int(n_demo):,} orders…", expanded=False):
            pixel, server, orders = _demo(int(n_demo))
        ss["gap_data"] = {"pixel": pixel, "server": server, "orders": orders, "label": "demo store month"}
    elif pixel_up is not None and server_up is not None:
        token = (pixel_up.file_id, server_up.file_id, orders_up.file_id if orders_up else None,
                 tuple(sorted(ss["gap_orders_mapping"].items())))
        if (ss["gap_data"] or {}).get("token") != token:
            ss.pop("gap_orders_columns", None)
            with st.spinner("Reading the files…"):
                server = (load_server_events(_saved(server_up, ".csv")) if server_up.name.lower().endswith(".csv")
                          else server_frame(parse_documents(server_up.getvalue().decode("utf-8-sig"), server_up.name)))
                loaded = None
                if orders_up is not None:
                    path = _saved(orders_up, ".csv")
                    try:
                        loaded = load_orders(path, ss["gap_orders_mapping"] or None)
                    except InvalidFile as exc:
                        ss["gap_orders_columns"] = read_columns(path)
                        raise exc
                    for warning in loaded.warnings:
                        st.warning(warning)
                ss["gap_data"] = {"pixel": load_pixel_events(pixel_up, pixel_up.name).events, "server": server,
                                  "orders": loaded.frame if loaded else None, "label": "uploaded files",
                                  "token": token}
    elif ss["gap_data"] is None and ss.get("pixel_events") is not None and ss.get("server_events") is not None:
        ss["gap_data"] = {"pixel": ss["pixel_events"], "server": ss["server_events"], "orders": None,
                          "label": "events loaded on the Compare page"}
except ConsoleError as exc:
    st.error(f"Could not read the files: {exc}")
    if ss.get("gap_orders_columns"):
        with st.form("gap_mapping_form"):
            st.write("Map your orders file's columns (remembered for this session):")
            picks = {c: st.selectbox(c, ss["gap_orders_columns"], key=f"gap_map_{c}") for c in REQUIRED}
            if st.form_submit_button("Use this mapping"):
                ss["gap_orders_mapping"] = picks
                st.rerun()

data = ss["gap_data"]
if data is None:
    st.info("Load the demo store month, or upload Pixel and server event files (orders optional) to start.")
    st.stop()

c1, c2, c3, c4 = st.columns(4)
utm = c1.text_input("Truth: utm_source", "tiktok", key="gap_utm_source")
require = c2.toggle("Only TikTok orders (utm_source or ttclid)", True, key="gap_require_click")
link = c3.radio("Link orders by", ["order_id", "event_id_template"], key="gap_link", horizontal=True)
template = c4.text_input("event_id template", "ord_{order_id}_purchase", key="gap_template",
                         disabled=link != "event_id_template")
try:
    with st.spinner("Simulating TikTok's deduplication…"):
        truth = segment_columns(truth_filter(data["orders"], utm, require)) if data["orders"] is not None else None
        report = simulate(data["pixel"], data["server"], orders=truth, link=link, template=template)
except ConsoleError as exc:
    st.error(f"Cannot simulate: {exc}")
    st.stop()

s = report.summary
st.caption(f"Data: {data['label']}. Counts follow TikTok's published rules; this is a simulation, not TikTok's report.")
m = st.columns(6)
for col, (label, key) in zip(m * 2, [("Pixel events", "pixel_events"), ("Server events", "server_events"),
                                     ("Counted by TikTok", "counted"), ("Merged pairs", "merged_pairs"),
                                     ("Deduplicated pairs", "deduplicated_pairs"), ("Outside 48 h", "outside_window"),
                                     ("Pixel only", "pixel_only"), ("Server only", "server_only"),
                                     ("Same-side repeats", "same_source_duplicates"),
                                     ("No event_id", "missing_event_id")], strict=False):
    col.metric(label, f"{s[key]:,}")
if "truth" in s:
    t = st.columns(4)
    t[0].metric("Truth orders", f"{s['truth']:,}")
    t[1].metric("Pixel gap", "n/a" if s["pixel_gap"] is None else f"{s['pixel_gap']:.1%}")
    t[2].metric("Recovered by server", "n/a" if s["recovered_share"] is None else f"{s['recovered_share']:.1%}")
    t[3].metric("Orders counted twice", f"{s['truth_over_counted']:,}")

left, right = st.columns(2)
left.plotly_chart(charts.gap_waterfall(s), width="stretch", key="gap_fig_waterfall")
left.download_button("Waterfall CSV", charts.figure_csv(charts.waterfall_frame(s)), "gap_waterfall.csv",
                     "text/csv", key="gap_dl_waterfall", on_click="ignore")
right.plotly_chart(charts.verdict_mix(report.keys), width="stretch", key="gap_fig_verdicts")
right.download_button("Verdicts CSV (every key with its reason)", lambda: charts.figure_csv(report.keys),
                      "dedup_verdicts.csv", "text/csv", key="gap_dl_verdicts", on_click="ignore")
if report.segments is not None:
    dims = [d for d in SEGMENT_DIMENSIONS if d != "day"]
    by = st.selectbox("Segment", dims, key="gap_segment", format_func=lambda d: d.replace("_", " "))
    st.plotly_chart(charts.gap_by_segment(report.segments, by), width="stretch", key="gap_fig_segments")
    st.download_button("Segments CSV", charts.figure_csv(report.segments), "gap_segments.csv", "text/csv",
                       key="gap_dl_segments", on_click="ignore")
else:
    st.info("Upload an orders export to see the gap by browser, OS, iOS 17+, cookie age and page load.")
st.plotly_chart(charts.daily_series(report.daily), width="stretch", key="gap_fig_daily")
st.download_button("Daily CSV", charts.figure_csv(report.daily), "gap_daily.csv", "text/csv", key="gap_dl_daily",
                   on_click="ignore")

st.subheader(f"Near misses ({len(report.near_misses):,})")
st.caption("Keys that would pair if the ids or names matched exactly, and pairs a clock skew pushed out of a window.")
st.dataframe(report.near_misses.head(2000), width="stretch", hide_index=True, key="gap_near_misses")
st.download_button("Near misses CSV", charts.figure_csv(report.near_misses), "near_misses.csv", "text/csv",
                   key="gap_dl_near_misses", on_click="ignore")
