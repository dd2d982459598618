"""Build page views: what the builder did to the inputs (rejections, consent effects, before/after, notes)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.payload import BuildResult, consent_effects
from ui.findings import WRAP_ROW_HEIGHT
from ui.markup import code, plain


def render_build_effects(result: BuildResult, *, ad_user_data: str, key: str) -> None:
    """Rejected identifiers, consent effects, the before/after table (dataframe `key`) and the notes."""
    for h in result.rejected:
        st.error(f"**{plain(h.kind)}** {code(h.input)} was not sent: {plain(h.error)}. {plain(h.hint or '')}")
    removed = consent_effects(result)
    if removed:
        st.info("**Consent effects**\n\n" + "\n".join(f"- {code(s.field)}: {plain(s.reason.removeprefix('consent: '))}"
                                                      for s in removed)
                + ("\n\nip, user agent, ttclid and ttp are still sent." if ad_user_data == "DENIED" else ""))
    else:
        st.caption("Consent: both GRANTED, nothing removed.")
    st.subheader("Before / after")
    hashes = "SHA-256 values are 64 characters: they wrap here; click a cell to copy the whole value"
    st.dataframe(pd.DataFrame(result.table()), key=key, width="stretch", hide_index=True,
                 column_order=("field", "status", "input", "normalized", "sent"), row_height=WRAP_ROW_HEIGHT,
                 column_config={"normalized": st.column_config.TextColumn("normalized", width="medium"),
                                "sent": st.column_config.TextColumn("sent", width="large", help=hashes)})
    if result.notes:
        st.markdown("**Notes**\n\n" + "\n".join(f"- {plain(n)}" for n in result.notes))


MORE_FIELDS = (  # (EventSpec field, label, placeholder): minor match keys and less common properties
    ("first_name", "First name", "hashed after trim + lower-case"),
    ("last_name", "Last name", "hashed after trim + lower-case"),
    ("zip_code", "Zip / postal code", "SW1A 1AA"),
    ("city", "City", "sent unhashed, lower-case"),
    ("state", "State / region", "ca"),
    ("country", "Country", "us"),
    ("locale", "Locale", "en-US"),
    ("referrer", "Referrer", "https://shop.example/cart"),
    ("search_string", "Search string (Search events)", "red mug"),
    ("description", "Description", ""),
)


def more_fields() -> dict[str, str | None]:
    """An expander with the minor match keys and less common properties; returns EventSpec keyword values."""
    values: dict[str, str | None] = {}
    with st.expander("More match keys and properties (names, zip, city, locale, referrer, search)"):
        cols = st.columns(2)
        for i, (name, label, placeholder) in enumerate(MORE_FIELDS):
            values[name] = cols[i % 2].text_input(label, key=f"build_{name}", placeholder=placeholder) or None
    return values
