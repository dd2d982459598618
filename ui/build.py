"""Build page views: what the builder did to the inputs (rejections, consent effects, before/after, notes)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.payload import BuildResult, consent_effects


def render_build_effects(result: BuildResult, *, ad_user_data: str, key: str) -> None:
    """Rejected identifiers, consent effects, the before/after table (dataframe `key`) and the notes."""
    for h in result.rejected:
        st.error(f"**{h.kind}** `{h.input}` was not sent: {h.error}. {h.hint or ''}")
    removed = consent_effects(result)
    if removed:
        st.info("**Consent effects**\n\n" + "\n".join(f"- `{s.field}`: {s.reason.removeprefix('consent: ')}"
                                                      for s in removed)
                + ("\n\nip, user agent, ttclid and ttp are still sent." if ad_user_data == "DENIED" else ""))
    else:
        st.caption("Consent: both GRANTED, nothing removed.")
    st.subheader("Before / after")
    st.dataframe(pd.DataFrame(result.table()), key=key, width="stretch", hide_index=True,
                 column_order=("field", "status", "input", "normalized", "sent"))
    if result.notes:
        st.markdown("**Notes**\n\n" + "\n".join(f"- {n}" for n in result.notes))
