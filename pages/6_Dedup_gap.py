"""Dedup gap: what TikTok counts from Pixel + server events, against the store's TikTok orders."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import ui
from core.dedup import simulate
from core.demo import generate_store
from core.errors import ConsoleError, MissingOrderColumns
from core.gap import DEFAULT_TEMPLATE, LINK_MODES
from core.orders import segment_columns, truth_filter
from ui.errors import show_error
from ui.gap import (
    analyse_files,
    mapping_form_info,
    orders_mapping_for,
    orders_mapping_form,
    render_empty_truth,
    render_figures,
    render_summary,
    spool_uploads,
)
from ui.report import report_download

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
            ss.pop("gap_orders_form", None)
            mapping = orders_mapping_for(orders_up, settings.db_path, ss["gap_orders_mapping"]) \
                if orders_up is not None else None
            ss["gap_data"] = {"files": spool_uploads(pixel_up, server_up, orders_up, slot="gap"), "mapping": mapping,
                              "label": "uploaded files (analysed on DuckDB)", "token": token}
    elif ss["gap_data"] is None and ss.get("pixel_events") is not None and ss.get("server_events") is not None:
        ss["gap_data"] = {"pixel": ss["pixel_events"], "server": ss["server_events"], "orders": None,
                          "label": "events loaded on the Compare page"}
except MissingOrderColumns:
    ss["gap_data"] = None
except ConsoleError as exc:
    show_error(exc, source="Could not read the files")
if ss.get("gap_orders_form"):
    picked = orders_mapping_form(ss["gap_orders_form"])
    if picked is not None:
        ss["gap_orders_mapping"] = picked
        ss.pop("gap_orders_form")
        st.rerun()

data = ss["gap_data"]
if data is None:
    st.info("Load the demo store month, or upload Pixel and server event files (orders optional) to start.")
    st.stop()

c1, c2, c3, c4 = st.columns(4)
utm = c1.text_input("Truth: utm_source", "tiktok", key="gap_utm_source")
require = c2.toggle("Only TikTok orders (utm_source or ttclid)", True, key="gap_require_click")
link = c3.radio("Link orders by", LINK_MODES, key="gap_link", horizontal=True,
                format_func={"auto": "auto", "order_id": "order_id",
                             "event_id_template": "event_id template"}.__getitem__)
template = c4.text_input("event_id template", DEFAULT_TEMPLATE, key="gap_template",
                         disabled=link != "event_id_template")
truth = segment_columns(truth_filter(data["orders"], utm, require)) if data.get("orders") is not None else None
empty, verdicts = truth is not None and truth.empty, None
try:
    if "files" in data:
        report, verdicts, empty = analyse_files(data, link=link, template=template, utm_source=utm,
                                                all_orders=not require)
    else:
        with st.spinner("Simulating TikTok's deduplication…"):
            report = simulate(data["pixel"], data["server"], orders=None if empty else truth, link=link,
                              template=template)
except ConsoleError as exc:
    show_error(exc, source="Cannot simulate")
    st.stop()
if empty:
    render_empty_truth(f"utm_source={utm} or a ttclid" if require else "every order")
    if orders_up is not None and st.button("Map the orders columns", key="gap_remap"):
        ss["gap_orders_form"] = mapping_form_info(orders_up, ss["gap_orders_mapping"])
        st.rerun()
st.caption(f"Data: {data['label']}. Counts follow TikTok's published rules; this is a simulation, not TikTok's report.")
render_summary(report.summary)
render_figures(report, verdicts)
report_download("gap_report", f"the {data['label']} on the Dedup gap page", dedup=report)
