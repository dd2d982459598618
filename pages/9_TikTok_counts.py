"""TikTok counts: what TikTok itself counted (Marketing API), beside the console's own counts and your orders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import streamlit as st

import ui
from core.errors import ConsoleError
from core.readback import UTC_NOTE
from core.sources import load_orders
from ui import exchange as ux
from ui import readback as rb
from ui.errors import show_error
from ui.markup import plain

settings = ux.send_settings(ui.page_setup("TikTok counts", "🔢"))
st.title("🔢 What TikTok counted")
st.caption("TikTok's own per-day counts for your Pixel (Marketing API `/pixel/event/stats/` and `/pixel/list/`), "
           "beside the events this console had accepted and, if you add them, your orders.")
st.info(plain(UTC_NOTE), icon="🕒")
ux.target_banner(settings)
creds = rb.credentials()
ss = st.session_state
today = datetime.now(UTC).date()
ss.setdefault("counts_advertiser", creds.advertiser_id)
ss.setdefault("counts_since", today - timedelta(days=6))
ss.setdefault("counts_until", today)

c1, c2, c3 = st.columns([2, 1, 1])
advertiser = c1.text_input("Advertiser id", key="counts_advertiser", placeholder="7000000000000000000",
                           help="TikTok Ads Manager: the number under your account name (or TEC_ADVERTISER_ID).")
since = c2.date_input("From (UTC day)", key="counts_since")
until = c3.date_input("To (UTC day)", key="counts_until")
token = creds.token
if token:
    st.caption(f"Marketing API token: set, from {creds.token_name} ({creds.token_source}). Never shown or stored.")
elif not rb.is_local(settings.base_url or ""):
    token = st.text_input("Marketing API token (this session only)", type="password", key="counts_token") or None
    st.caption("Or set TIKTOK_MARKETING_TOKEN (else TIKTOK_ACCESS_TOKEN) in the environment or secrets.toml.")
orders_file = st.file_uploader("Your orders (optional: a Shopify / WooCommerce / CSV export)", type=["csv", "gz"],
                               key="counts_orders")

if not settings.pixel_code:
    st.warning("Set the **Pixel code** in the sidebar to read TikTok's counts for it.")
    st.stop()
if st.button("Read TikTok's counts", key="counts_read", type="primary"):
    try:
        ss["counts_result"] = rb.read_counts(settings, token, pixel_code=settings.pixel_code,
                                             advertiser_id=advertiser, since=since, until=until)
    except ConsoleError as exc:
        ss.pop("counts_result", None)
        show_error(exc, source="TikTok's counts")
result = ss.get("counts_result")
if result is None:
    st.stop()
orders = None
if orders_file is not None:
    try:
        orders = rb.orders_by_day(load_orders(orders_file))
    except ConsoleError as exc:
        show_error(exc, source=orders_file.name)
rb.render_counts(result, rb.rows_for(settings, result, orders))
