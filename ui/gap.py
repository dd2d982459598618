"""Dedup gap views: the orders upload and its column mapping, the dedup counts against the orders, and the gap
figures with their CSV downloads."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from core import charts
from core.dedup import DedupReport
from core.errors import MissingOrderColumns
from core.export import csv_bytes
from core.orders import LABELS, MAPPABLE, SEGMENT_DIMENSIONS, guess_mapping, read_sample, sample_values
from core.sources.orders import REQUIRED, read_columns, suggest_mapping
from core.store import Store

COUNTS = [("Pixel events", "pixel_events"), ("Server events", "server_events"), ("Counted by TikTok", "counted"),
          ("Merged pairs", "merged_pairs"), ("Deduplicated pairs", "deduplicated_pairs"),
          ("Outside 48 h", "outside_window"), ("Pixel only", "pixel_only"), ("Server only", "server_only"),
          ("Same-side repeats", "same_source_duplicates"), ("No event_id", "missing_event_id")]


def render_summary(s: Mapping[str, Any]) -> None:
    """Ten dedup counts (two rows of six columns), then truth orders, gap and recovery when orders were given,
    with how the orders linked to events (or how to link them) and where each segment's values came from."""
    m = st.columns(6)
    for col, (label, key) in zip(m * 2, COUNTS, strict=False):
        col.metric(label, f"{s[key]:,}")
    if "truth" not in s:
        return
    t = st.columns(4)
    t[0].metric("Truth orders", f"{s['truth']:,}")
    t[1].metric("Pixel gap", "n/a" if s["pixel_gap"] is None else f"{s['pixel_gap']:.1%}")
    t[2].metric("Recovered by server", "n/a" if s["recovered_share"] is None else f"{s['recovered_share']:.1%}")
    t[3].metric("Orders counted twice", "n/a" if s["truth_over_counted"] is None else f"{s['truth_over_counted']:,}")
    link = s["link"]
    if link["message"]:
        st.warning(link["message"], icon="🔗")
    else:
        how = {"order_id": "the events' properties.order_id",
               "event_id_template": f"event_ids shaped {link['template']}"}.get(link["mode"], link["mode"])
        st.caption(f"Orders linked to events by {how}: {link['linked_orders']:,} of {s['truth']:,} truth orders "
                   "have a Pixel or server event.")
    sources = s.get("segment_sources") or {}
    if sources:
        with st.expander("Where the segments come from"):
            for dim, src in sources.items():
                st.markdown(f"**{dim.replace('_', ' ')}** ({src['source']}): {src['message']}")


def render_empty_truth(rule: str) -> None:
    """Why there is no gap to draw: no order matched the TikTok filter."""
    st.warning(f"No order matched the TikTok filter ({rule}), so there is no truth set to measure the gap "
               "against. Check the utm_source value, map the TikTok-attribution column (utm source, landing "
               "site URL or ttclid), or turn off 'Only TikTok orders' to measure against every order.",
               icon="🔎")


def render_figures(report: DedupReport, verdicts: Mapping[str, int] | None = None) -> None:
    """Waterfall, verdict mix, gap by segment (picker `gap_segment`), daily series and near misses.

    Each figure and table has its CSV download (keys `gap_dl_*`); without orders the segment figure is
    replaced by a hint to upload them. `verdicts` (verdict -> keys) counts every key when `report.keys`
    holds only the first page of them (the engine's report).
    """
    s = report.summary
    left, right = st.columns(2)
    left.plotly_chart(charts.gap_waterfall(s), width="stretch", key="gap_fig_waterfall")
    left.download_button("Waterfall CSV", csv_bytes(charts.waterfall_frame(s)), "gap_waterfall.csv",
                         "text/csv", key="gap_dl_waterfall", on_click="ignore")
    every = report.keys if verdicts is None else pd.DataFrame({"verdict": pd.Categorical.from_codes(
        np.repeat(np.arange(len(verdicts)), list(verdicts.values())), list(verdicts))})
    right.plotly_chart(charts.verdict_mix(every), width="stretch", key="gap_fig_verdicts")
    shown = "every key" if verdicts is None else f"the first {len(report.keys):,} keys"
    right.download_button(f"Verdicts CSV ({shown} with its reason)", lambda: csv_bytes(report.keys),
                          "dedup_verdicts.csv", "text/csv", key="gap_dl_verdicts", on_click="ignore")
    if report.segments is not None:
        dims = [d for d in SEGMENT_DIMENSIONS if d != "day"]
        by = st.selectbox("Segment", dims, key="gap_segment", format_func=lambda d: d.replace("_", " "))
        st.plotly_chart(charts.gap_by_segment(report.segments, by), width="stretch", key="gap_fig_segments")
        st.download_button("Segments CSV", csv_bytes(report.segments), "gap_segments.csv", "text/csv",
                           key="gap_dl_segments", on_click="ignore")
    elif report.orders is not None:
        st.info("The gap by browser, OS, iOS 17+, cookie age and page load needs orders linked to events.")
    else:
        st.info("Upload an orders export to see the gap by browser, OS, iOS 17+, cookie age and page load.")
    st.plotly_chart(charts.daily_series(report.daily), width="stretch", key="gap_fig_daily")
    st.download_button("Daily CSV", csv_bytes(report.daily), "gap_daily.csv", "text/csv", key="gap_dl_daily",
                       on_click="ignore")

    st.subheader(f"Near misses ({len(report.near_misses):,})")
    st.caption("Keys that would pair if the ids or names matched exactly, and pairs a clock skew pushed out of a "
               "window.")
    st.dataframe(report.near_misses.head(2000), width="stretch", hide_index=True, key="gap_near_misses")
    st.download_button("Near misses CSV", csv_bytes(report.near_misses), "near_misses.csv", "text/csv",
                       key="gap_dl_near_misses", on_click="ignore")


# --- the orders upload and its column-mapping step ------------------------------------------------
def mapping_form_info(upload: Any, mapping: Mapping[str, str]) -> dict[str, Any]:
    """What the mapping form shows for an upload: its name and columns, the guesses (the given mapping wins),
    sample values per column, and the required fields no column name gave."""
    raw = upload.getvalue()
    sample = read_sample(raw)
    columns = [str(c) for c in sample.columns] or read_columns(upload, upload.name)
    return {"name": upload.name, "columns": columns, "guess": {**guess_mapping(sample), **mapping},
            "samples": {c: sample_values(sample, c) for c in columns},
            "missing": [c for c in REQUIRED if c not in {**suggest_mapping(columns), **mapping}]}


def orders_mapping_form(form: Mapping[str, Any]) -> dict[str, str] | None:
    """The column-mapping form for an orders upload (keys `gap_map_<column>`); the mapping once submitted.

    Each field is preselected with its guess (names, then values) and every column shows sample values;
    the TikTok attribution (traffic source, click id, landing page URL) can be mapped as well.
    """
    name, columns, samples = form["name"], list(form["columns"]), form["samples"]
    if form["missing"]:
        missing = ", ".join(LABELS[c].lower() for c in form["missing"])
        st.error(f"{name}: no column was recognised by its name for {missing} ({', '.join(form['missing'])}). "
                 f"Check the guesses below; its columns are {', '.join(columns[:30])}.")

    def show(column: str) -> str:
        if not column:
            return "(not in this file)"
        values = samples.get(column) or []
        return f"{column}  —  e.g. {', '.join(values)}" if values else f"{column}  —  (blank in the first rows)"

    with st.form("gap_mapping_form"):
        st.write(f"Which column of **{name}** holds each field? The mapping is remembered for files with the "
                 "same columns. For the TikTok orders, map the traffic source, the click id or the landing "
                 "page URL (or turn off 'Only TikTok orders' to measure against every order).")
        picks: dict[str, str] = {}
        for canon in MAPPABLE:
            options = columns if canon in REQUIRED else ["", *columns]
            guess = form["guess"].get(canon, "")
            picks[canon] = st.selectbox(LABELS[canon], options, key=f"gap_map_{canon}", format_func=show,
                                        index=options.index(guess) if guess in options else 0)
        if st.form_submit_button("Use this mapping", key="gap_map_submit"):
            return {k: v for k, v in picks.items() if v}
    return None


# --- uploads analysed on the engine (files of any size up to the upload cap) --------------------------
class _Spool:
    """One temp folder of spooled uploads; removed when replaced, when its session ends, or at exit."""

    def __init__(self) -> None:
        import shutil
        import tempfile
        import weakref

        self.folder = Path(tempfile.mkdtemp(prefix="tec-upload-"))
        self.remove = weakref.finalize(self, shutil.rmtree, self.folder, True)


def spool_uploads(*uploads: Any, slot: str) -> list[Path | None]:
    """Each upload written to a temp file in 8 MB chunks (never whole in memory); None stays None.

    The files stay while the session keeps using them: one folder per `slot` (a page's name) and session,
    the previous one removed when a slot spools again, all of them when the session ends or the app stops
    (an upload can be 1 GB: /tmp must not keep every one ever made)."""
    import shutil

    key = f"_spooled_{slot}"
    old = st.session_state.get(key)
    if isinstance(old, _Spool):
        old.remove()
    spool = _Spool()
    st.session_state[key] = spool
    paths: list[Path | None] = []
    for i, upload in enumerate(uploads):
        if upload is None:
            paths.append(None)
            continue
        path = spool.folder / f"{i}_{Path(upload.name).name}"
        upload.seek(0)
        with path.open("wb") as out:
            shutil.copyfileobj(upload, out, 8 << 20)
        upload.seek(0)
        paths.append(path)
    return paths


def orders_mapping_for(upload: Any, db_path: Path, mapping: Mapping[str, str]) -> dict[str, str]:
    """The orders columns mapping for an upload (given, or confirmed before for its columns), checked on its
    header only; messages name the uploaded file. Raises MissingOrderColumns with the form's guesses kept in
    `gap_orders_form` for the mapping step."""
    from core.sources.orders import map_columns

    columns = read_columns(upload, upload.name)
    with Store(db_path) as store:
        use = dict(mapping) or store.mapping_for("orders", columns) or {}
        try:
            map_columns(upload.name, columns, use or None)
        except MissingOrderColumns:
            st.session_state["gap_orders_form"] = mapping_form_info(upload, use)
            raise
        if mapping:
            store.save_mapping("orders", columns, dict(mapping))
        elif use:
            st.caption("Orders columns mapped as you confirmed before for this file layout.")
    return use


def analyse_files(data: Mapping[str, Any], **kwargs: Any) -> tuple[DedupReport, dict[str, int], bool]:
    """core.engine.report.file_report over the spooled files, with its stages shown in an st.status;
    (report, verdict counts, whether orders were given but none is in the truth set). With an empty truth
    set the report is the events' alone, as the memory path draws it."""
    from dataclasses import replace

    from core.engine.report import file_report

    pixel, server, orders = data["files"]
    with st.status("Simulating TikTok's deduplication on the engine…", expanded=False) as status:
        report, verdicts = file_report(pixel, server, orders, order_mapping=data.get("mapping") or None,
                                       progress=lambda line: status.update(label=f"Dedup: {line}…"), **kwargs)
        status.update(label="Dedup simulated", state="complete")
    empty = report.summary.truth == 0
    if empty:
        summary = replace(report.summary, truth=None, truth_undated=None, link=None, segment_sources=None)
        daily = None if report.daily is None else report.daily.drop(
            columns=[c for c in ("truth", "truth_pixel", "truth_counted") if c in report.daily.columns])
        report = replace(report, summary=summary, segments=None, daily=daily)
    return report, verdicts, empty
