"""The Lint page's Meta converter panel: paste a Meta Conversions API body, get the TikTok body, what was carried
over, what was lost and the findings; one click puts the result in the linter."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from core.config import Settings
from core.convert import convert_meta, parse_meta_body
from core.errors import ConsoleError
from core.lint import lint
from ui.errors import show_error
from ui.findings import render_findings


def _to_linter() -> None:
    # a callback runs before the Lint page's text area exists, so it may set its value
    st.session_state["lint_text"] = st.session_state.get("convert_result_text", "")


def render_meta_converter(settings: Settings) -> None:
    """An expander with the Meta body text area, the Pixel code, and the converted body with its notes."""
    with st.expander("Convert a Meta Conversions API body", expanded=bool(st.session_state.get("convert_meta_text"))):
        st.caption("Paste what your server POSTs to Meta's `/{pixel_id}/events` (one event or a batch): every field "
                   "is carried over with a note, or listed as lost with why and where TikTok's value comes from.")
        text = st.text_area("Meta Conversions API body (JSON)", key="convert_meta_text", height=200,
                            placeholder='{"data": [{"event_name": "Purchase", "event_time": 1735689600, ...}]}')
        pixel = st.text_input("TikTok Pixel code", value=settings.pixel_code or "", key="convert_pixel_code",
                              placeholder="C4A1B2C3D4E5F6G7H8I9")
        if not text.strip():
            return
        try:
            conversion = convert_meta(parse_meta_body(text), pixel)
        except ConsoleError as exc:
            show_error(exc, source="Cannot convert this")
            return
        findings = lint(conversion.body)
        st.session_state["convert_result_text"] = json.dumps(conversion.body, indent=2, ensure_ascii=False)
        st.markdown(f"**TikTok body** · {len(conversion.notes)} field(s) carried over, {len(conversion.lost)} lost")
        st.json(conversion.body, expanded=4 if len(conversion.body["data"]) <= 3 else 2)
        st.button("Put this body in the linter below", key="convert_to_linter", on_click=_to_linter)
        with st.container(key="convert_notes"):
            st.dataframe(pd.DataFrame(conversion.notes, columns=["from", "to", "note"]), hide_index=True,
                         width="stretch", column_config={"note": st.column_config.TextColumn(width="large")})
        if conversion.lost:
            st.markdown("**Not carried over**")
            with st.container(key="convert_lost"):
                st.dataframe(pd.DataFrame(conversion.lost, columns=["from", "why", "instead"]), hide_index=True,
                             width="stretch", column_config={"why": st.column_config.TextColumn(width="large"),
                                                             "instead": st.column_config.TextColumn(width="large")})
        st.markdown("**Findings on the converted body**")
        with st.container(key="convert_findings_box"):  # st.dataframe's own key is not exposed to tests
            render_findings(findings, key="convert_findings")
