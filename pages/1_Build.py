"""Build: a form -> the exact Events API v1.3 body, hashed, with consent effects and lint findings."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import ui
from core.contract import CURRENCIES, LEGACY_EVENTS
from core.errors import InvalidInput
from core.lint import lint
from core.payload import EVENT_CHOICES, EventSpec, build_body, contents_from_rows, event_id_hint
from ui.build import more_fields, render_build_effects
from ui.consent import render_consent_preview
from ui.errors import show_error
from ui.findings import render_findings

settings = ui.page_setup("Build", "🧱")
st.title("Build an event")
st.caption("Raw inputs in, the exact v1.3 body out: identifiers normalized and SHA-256 hashed the way "
           "TikTok specifies, consent applied before anything is sent. Raw values never leave this page.")

CUSTOM, EXAMPLE_PIXEL = "Custom…", "CEXAMPLEPIXEL0000001"
CONTENT_COLUMNS = ["content_id", "content_name", "price", "quantity"]
EXAMPLE = {"build_event": "Purchase", "build_order_id": "10492", "build_email": "alice@example.com",
           "build_phone": "+1 213 373 4253", "build_value": 129.99, "build_currency": "USD",
           "build_ip": "203.0.114.7", "build_url": "https://shop.example/checkout/thanks",
           "build_user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 "
                               "(KHTML, like Gecko) Version/17.5 Safari/605.1.15"}


def _use_example() -> None:
    st.session_state.update(EXAMPLE)
    st.session_state["build_contents_base"] = pd.DataFrame(
        [{"content_id": "MUG-RED-12", "content_name": "Red mug", "price": 129.99, "quantity": 1}])
    st.session_state.pop("build_contents", None)  # drop the editor's edits so it shows the new base
    if not st.session_state.get("tec_pixel_code"):  # one click to a body; the page says to replace it
        st.session_state["tec_pixel_code"] = EXAMPLE_PIXEL


st.session_state.setdefault("build_event", "Purchase")
st.session_state.setdefault("build_value", None)  # empty, not 0.00: no value is different from a zero value
st.session_state.setdefault("build_contents_base", pd.DataFrame(columns=CONTENT_COLUMNS).astype(
    {"content_id": "string", "content_name": "string", "price": "float", "quantity": "Int64"}))
st.button("Use the golden-path example", key="build_example", on_click=_use_example,
          help="A Purchase for order 10492 with test email, phone, 129.99 USD.")

form, out = st.columns([5, 6], gap="large")
with form:
    st.subheader("Event")
    labels = {n: f"{n} (legacy → {LEGACY_EVENTS[n]})" for n in LEGACY_EVENTS}
    choice = st.selectbox("Event", [*EVENT_CHOICES, CUSTOM], key="build_event",
                          format_func=lambda n: labels.get(n, n))
    event = st.text_input("Custom event name", key="build_custom_event") if choice == CUSTOM else choice
    c1, c2 = st.columns(2)
    order_id = c1.text_input("Order id", key="build_order_id", placeholder="10492")
    event_id = c2.text_input("Event id", key="build_event_id", placeholder=event_id_hint(event or "", order_id),
                             help="Leave empty to derive ord_{order id}_{event}; the Pixel must use the same id.")
    event_time = st.text_input("Event time", key="build_event_time", placeholder="now (or Unix seconds / ISO 8601)")
    st.subheader("Customer")
    email = st.text_area("Email(s)", key="build_email", height=68, placeholder="one per line or comma separated")
    c1, c2 = st.columns(2)
    phone = c1.text_input("Phone(s)", key="build_phone", placeholder="+1 213 373 4253")
    external_id = c2.text_input("External id", key="build_external_id", placeholder="your user id")
    st.caption(f"National phone numbers are read with region **{settings.default_region or 'none'}** "
               "(sidebar: Default phone region).")
    st.subheader("Browser and click")
    c1, c2 = st.columns(2)
    ip = c1.text_input("IP address", key="build_ip")
    ttp = c2.text_input("_ttp cookie", key="build_ttp")
    user_agent = st.text_input("User agent", key="build_user_agent")
    url = st.text_input("Page URL", key="build_url", placeholder="https://shop.example/thanks?ttclid=…")
    ttclid = st.text_input("ttclid", key="build_ttclid", placeholder="taken from the page URL when empty")
    st.subheader("Order")
    c1, c2 = st.columns(2)
    value = c1.number_input("Value", key="build_value", min_value=0.0, step=1.0, format="%.2f")
    currency = c2.selectbox("Currency", ["", *sorted(CURRENCIES)], key="build_currency",
                            format_func=lambda c: c or "(none)")
    contents = st.data_editor(st.session_state["build_contents_base"], key="build_contents", num_rows="dynamic",
                              width="stretch", column_config={"price": st.column_config.NumberColumn(format="%.2f")})
    st.subheader("Consent")
    c1, c2 = st.columns(2)
    ad_user_data = c1.radio("ad_user_data", ["GRANTED", "DENIED"], key="build_ad_user_data", horizontal=True)
    ad_personalization = c2.radio("ad_personalization", ["GRANTED", "DENIED"], key="build_ad_personalization",
                                  horizontal=True)
    forward = st.toggle("Forward both consent states as properties", key="build_forward_consent")
    more = more_fields()

with out:
    if settings.pixel_code == EXAMPLE_PIXEL:
        st.info("An example Pixel code was filled in the sidebar: replace it with yours before sending for real.")
    if not settings.pixel_code:
        st.warning("Set the **Pixel code** in the sidebar (Events Manager > Data sources > your Pixel) "
                   "to see the body.")
        st.stop()
    spec = EventSpec(event=event or "", event_time=event_time or None, event_id=event_id or None,
                     order_id=order_id or None, email=email, phone=phone, external_id=external_id, ip=ip,
                     user_agent=user_agent, ttclid=ttclid, ttp=ttp, page_url=url, value=value,
                     currency=currency or None, ad_user_data=ad_user_data,
                     ad_personalization=ad_personalization, forward_consent=forward, **more)
    try:
        spec.contents = contents_from_rows(contents.to_dict("records"))
        result = build_body(spec, pixel_code=settings.pixel_code, test_event_code=settings.test_event_code,
                            region=settings.default_region)
    except InvalidInput as exc:
        st.session_state.pop("built_body", None)  # never leave a stale body for the Send page
        show_error(exc)
        st.stop()
    st.session_state["built_body"] = result.body  # hashed values only: what the Send page sends
    st.subheader("Request body")
    st.json(result.body, expanded=True)
    st.download_button("Download body (JSON)", result.body_bytes(), file_name="tiktok_event.json",
                       mime="application/json", key="build_download", on_click="ignore")
    render_build_effects(result, ad_user_data=ad_user_data, key="build_table")
    render_consent_preview(spec, pixel_code=settings.pixel_code, region=settings.default_region)
    st.subheader("Findings")
    render_findings(lint(result.body), key="build")
