"""The simulated browser half of a send: the button on the Send result, and the Pixel side Compare picks up.

The twins live in `st.session_state["simulated_pixel_events"]` (Pixel rows, core.sources.pixel_body's
columns); the logic is core.browser_twin's."""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.browser_twin import MAX_LEAD_S, MIN_LEAD_S, SIMULATED_SOURCE, add_twins, pixel_twins
from core.config import Settings
from core.store import Store

STATE_KEY = "simulated_pixel_events"
ORIGIN = "simulated"


def render_simulate_button(settings: Settings, state: Any) -> None:
    """"Simulate the browser Pixel" for the events of the last send; the twins are kept for Compare."""
    held = state.get(STATE_KEY)
    if st.button("Simulate the browser Pixel for these events", key="send_simulate_pixel", icon="🧪",
                 help="No site needed: makes the Pixel hit each sent web event would have come with (same Pixel "
                      "code, event and event_id, fired a moment before), labelled simulated, for Compare."):
        with Store(settings.db_path) as store:
            bodies = [ex.request_body for ex in store.exchanges(ids=state.get("send_last_ids") or [])]
        twins, notes = pixel_twins(bodies)
        state[STATE_KEY] = held = add_twins(held, twins)
        st.success(f"Simulated {len(twins):,} browser Pixel event(s), each fired {MIN_LEAD_S:g}-{MAX_LEAD_S:g} s "
                   f"before its server event and labelled `{SIMULATED_SOURCE}`. Compare pairs them with what was "
                   "sent: within 5 minutes TikTok merges the two.", icon="🧪")
        for note in notes[:20]:
            st.caption(note)
    if held is not None and not held.empty:
        st.page_link("pages/4_Compare.py", label=f"Compare the {len(held):,} simulated Pixel event(s) with the "
                                                 "server events", icon="🪞")


def use_simulated_pixels(state: Any) -> None:
    """Compare's Pixel side, when no file is uploaded: the simulated twins, if any, said to be simulated."""
    twins = state.get(STATE_KEY)
    if twins is None or twins.empty:
        return
    state["pixel_events"], state["compare_pixel_import"], state["compare_pixel_origin"] = twins, None, ORIGIN
    st.caption(f"Pixel side: {len(twins):,} **simulated** browser Pixel event(s) made on the Send page (source "
               f"`{SIMULATED_SOURCE}`, no site involved). Upload a HAR to compare what a real browser sent.")
