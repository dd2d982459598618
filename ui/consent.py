"""The consent preview panel: for the event being built, the Pixel's calls beside the server body."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.consent import PIXEL_STATES, ConsentState, preview_consent
from core.errors import InvalidInput
from core.payload import EventSpec
from ui.errors import show_error
from ui.markup import code, plain

PIXEL_LABELS = {"granted": "granted (ttq.grantConsent)", "held": "held (ttq.holdConsent)",
                "revoked": "revoked (ttq.revokeConsent)"}


def render_consent_preview(spec: EventSpec, *, pixel_code: str, region: str | None, key: str = "consent") -> None:
    """An expander: the Pixel's consent state (radio `{key}_pixel`), both legs, the table `{key}_table`, the verdict."""
    with st.expander("Consent preview: what the Pixel sends beside what the server body carries",
                     expanded=False):
        st.caption("ad_user_data and ad_personalization come from the form; pick the Pixel's own consent state. "
                   "TikTok reads no consent field: each path is gated by the site and the sender.")
        pixel = st.radio("The Pixel's consent", PIXEL_STATES, key=f"{key}_pixel", horizontal=True,
                         format_func=PIXEL_LABELS.__getitem__)
        state = ConsentState(spec.ad_user_data, spec.ad_personalization, pixel)
        try:
            preview = preview_consent(spec, state, pixel_code=pixel_code, region=region)
        except InvalidInput as exc:
            show_error(exc, source="Consent preview")
            return
        with st.container(key=f"{key}_verdict"):
            (st.success if preview.pairs else st.warning)(plain(preview.verdict))
        left, right = st.columns(2)
        with left:
            st.markdown("**Pixel (browser)** " + ("sends" if preview.pixel.sends else "sends nothing now"))
            st.code("\n".join(preview.pixel.calls), language="javascript")
        with right:
            st.markdown("**Events API (server)** sends, limited_data_use "
                        + code(str(preview.server.limited_data_use).lower()))
            st.json(preview.body, expanded=False)
        st.dataframe(pd.DataFrame(preview.table()), key=f"{key}_table", hide_index=True, width="stretch",
                     column_config={"what": "identifier / field", "pixel": "Pixel", "server": "server body"})
        if preview.notes:
            st.markdown("\n".join(f"- {plain(n)}" for n in preview.notes))
