"""Match quality views: the EMQ proxy summary, what to fix next, per-event rows and the Pixel's verdicts."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from core import quality as q
from core import review as rv
from ui.markup import plain

PCT = st.column_config.NumberColumn(format="percent")


def review_upload(upload: Any) -> tuple[rv.Review, pd.DataFrame | None]:
    """An upload reviewed on the engine (core.engine.quality): spooled to a temp file in chunks (ui.gap's
    spool_uploads, as the Dedup gap page does), its stages in an st.status; plus its Pixel rows when it is a
    HAR (for TikTok's own verdicts). Raises the engine's ConsoleErrors, naming the uploaded file."""
    from core.engine.quality import quality_file
    from core.sources.source import open_source
    from ui.gap import spool_uploads

    path = spool_uploads(upload, slot="quality")[0]  # kept for the page's CSV download until the next upload
    assert path is not None
    with st.status(f"Scoring {upload.name} on the engine…", expanded=False) as status:
        review = quality_file(path, upload.name, progress=lambda line: status.update(label=f"Match quality: {line}…"))
        status.update(label=f"Scored {review.summary['events']:,} events", state="complete")
    pixel = None
    if open_source(path, upload.name).format == "har":  # a HAR is read whole anyway (within the readers' limits)
        rows = q.load_quality_input(path, upload.name)
        pixel = rows if "signal_diagnostic_labels" in rows.columns else None
    return review, pixel


def render_summary(result: rv.Review) -> None:
    """Four metrics (mean, events, median, share at 7+), how the proxy is scored, and its weights table."""
    s, by = result.summary, result.by_event_type
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("EMQ proxy (mean)", f"{s['mean_score']:.2f} / 10")
    c2.metric("Events", f"{s['events']:,}")
    c3.metric("Median EMQ proxy", f"{s['median_score']:.2f}")
    c4.metric("Events at 7 or more", f"{by['share_7_plus'].iloc[0]:.0%}")
    st.caption("EMQ proxy = the points of the valid keys (weights below, 10 in all); invalid keys score like missing "
               "ones. It is the console's transparent estimate: TikTok's EMQ is not published and may differ.")
    with st.expander("How the EMQ proxy is computed"):
        st.dataframe(rv.weights_frame(), key="quality_weights", hide_index=True, width="stretch")


def render_advice(result: rv.Review, scope: str) -> None:
    """The keys to add or fix next for event type `scope`, then invalid keys by reason (when any)."""
    st.subheader(f"What to add or fix next: {plain(scope)}")
    recs = rv.recommendations_frame(result, scope)
    if recs.empty:
        st.success(f"Every key already meets its target on {plain(scope)}.")
    else:
        st.dataframe(recs, key="quality_recs", hide_index=True, width="stretch",
                     column_config={"gain": st.column_config.NumberColumn(format="+%.2f"), "current": PCT,
                                    "target": PCT})
    if not result.invalid_reasons.empty:
        st.markdown("**Invalid keys by reason** — sent, but they score like missing ones")
        st.dataframe(result.invalid_reasons, key="quality_invalid", hide_index=True, width="stretch",
                     column_config={"share_of_present": PCT})


def render_per_event(result: rv.Review) -> None:
    """The first 500 events with score, next key and per-key reasons, and the full per-event CSV download."""
    st.subheader("Per event")
    shown = result.per_event[["index", "event", "score", "next_key", *[f"{k}_reason" for k in q.KEYS]]].head(500)
    st.caption(f"First {len(shown):,} of {result.summary['events']:,} events; a reason is empty when the key is "
               "valid. The CSV holds every event with present / valid / points / reason per key.")
    st.dataframe(shown, key="quality_events", hide_index=True, width="stretch")
    worst = result.worst_events(100)
    if len(worst) and worst["score"].iloc[0] < q.MAX_SCORE:
        with st.expander(f"The {len(worst):,} lowest-scoring events"):
            st.dataframe(worst[shown.columns], key="quality_worst", hide_index=True, width="stretch")
    st.download_button("Download per-event CSV", data=lambda: rv.result_csv(result), file_name="emq_proxy.csv",
                       mime="text/csv", key="quality_download", on_click="ignore", icon="⬇️")


def render_pixel_verdicts(pixel_rows: pd.DataFrame | None) -> None:
    """TikTok's own per-signal verdicts from Pixel rows beside ours, or a hint when there are none."""
    st.subheader("The Pixel's own verdicts")
    labels = rv.pixel_labels_frame(pixel_rows) if pixel_rows is not None else pd.DataFrame()
    if labels.empty:
        st.caption("No Pixel rows with `signal_diagnostic_labels` loaded. Upload a HAR here (or on Compare) to see "
                   "TikTok's per-signal verdicts next to ours.")
    else:
        st.dataframe(rv.compare_verdicts(pixel_rows), key="quality_verdicts", hide_index=True, width="stretch",
                     column_config={c: PCT for c in ("ours_valid", "tiktok_valid", "tiktok_invalid",
                                                     "tiktok_missing")})
        st.dataframe(labels, key="quality_labels", hide_index=True, width="stretch", column_config={"share": PCT})
