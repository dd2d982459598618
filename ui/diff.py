"""Compare views: the Pixel-vs-server field diff, a JSON diff, verdict badges, pair counts, one key, a Pixel import."""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import streamlit as st

from core.dedup import key_rows
from core.diff import FieldDiff, field_diff
from core.pixel import PixelImport
from ui.markup import code, plain

STATUS_BADGES = {
    "same": "✅ same", "different": "❌ different", "pixel only": "🟦 pixel only",
    "server only": "🟧 server only", "neither": "⚪ neither",
}
VERDICT_BADGES = {
    "merged": "🟢 merged", "deduplicated": "🔵 deduplicated", "outside window": "🟠 outside window",
    "pixel only": "🟦 pixel only", "server only": "🟧 server only", "missing event_id": "🔴 missing event_id",
}


def badge(verdict: str) -> str:
    """The badge text for a dedup verdict or a diff status (unknown values pass through)."""
    return VERDICT_BADGES.get(verdict) or STATUS_BADGES.get(verdict) or verdict


def render_field_diff(diffs: Sequence[FieldDiff], key: str) -> None:
    """A one-line verdict plus the field table: field, status badge, Pixel value, server value, note."""
    if not diffs:
        st.info("Nothing to compare: neither side carries any of the compared fields.")
        return
    bad = [d for d in diffs if d.status == "different" or (d.field == "event_id" and d.status != "same")]
    if bad:
        st.warning("Differs on " + ", ".join(f"**{d.field}**" for d in bad) + ".", icon="⚠️")
    else:
        st.success("Same event name and event_id on both sides; no field disagrees.", icon="✅")
    frame = pd.DataFrame(
        [{"field": d.field, "status": STATUS_BADGES.get(d.status, d.status), "pixel": d.pixel,
          "server": d.server, "note": d.note} for d in diffs]
    )
    st.dataframe(
        frame, key=key, width="stretch", hide_index=True,
        column_config={
            "field": st.column_config.TextColumn("Field", width="small"),
            "status": st.column_config.TextColumn("Status", width="small"),
            "pixel": st.column_config.TextColumn("Pixel", width="medium"),
            "server": st.column_config.TextColumn("Server", width="medium"),
            "note": st.column_config.TextColumn("What TikTok makes of it", width="large"),
        },
    )


def _clean(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item") and not isinstance(value, str | bytes):  # numpy scalars
        return value.item()
    return value


def flatten(doc: Any, prefix: str = "") -> dict[str, Any]:
    """JSON paths (`a.b[0].c`) to leaf values; empty objects/lists are leaves."""
    out: dict[str, Any] = {}
    if isinstance(doc, Mapping) and doc:
        for k, v in doc.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(doc, list) and doc:
        for i, v in enumerate(doc):
            out.update(flatten(v, f"{prefix}[{i}]"))
    else:
        out[prefix or "$"] = _clean(doc)
    return out


def json_diff_rows(a: Any, b: Any) -> list[dict[str, str]]:
    """Rows for every path whose value differs between `a` and `b`: path, left, right, status."""
    fa, fb = flatten(a), flatten(b)
    rows = []
    for path in sorted(set(fa) | set(fb)):
        in_a, in_b = path in fa, path in fb
        va, vb = fa.get(path), fb.get(path)
        if in_a and in_b and va == vb:
            continue
        status = "different" if in_a and in_b else "left only" if in_a else "right only"
        rows.append({"path": path, "left": "" if not in_a else json.dumps(va, ensure_ascii=False),
                     "right": "" if not in_b else json.dumps(vb, ensure_ascii=False), "status": status})
    return rows


def render_json_diff(a: Any, b: Any, key: str, labels: tuple[str, str] = ("Pixel", "Server")) -> None:
    """Two JSON documents side by side, then the table of paths that differ."""
    left, right = st.columns(2)
    with left:
        st.markdown(f"**{labels[0]}**")
        st.json(a, expanded=2)
    with right:
        st.markdown(f"**{labels[1]}**")
        st.json(b, expanded=2)
    rows = json_diff_rows(a, b)
    if not rows:
        st.success("The two documents are identical.")
        return
    frame = pd.DataFrame(rows).rename(columns={"left": labels[0], "right": labels[1]})
    frame["status"] = frame["status"].replace({"left only": f"{labels[0].lower()} only",
                                               "right only": f"{labels[1].lower()} only"})
    st.dataframe(frame, key=key, width="stretch", hide_index=True)


def row_document(row: Mapping[str, Any]) -> dict[str, Any]:
    """A frame row as a JSON document for display: NaN -> null, JSON-text columns parsed, blanks dropped."""
    doc: dict[str, Any] = {}
    for k, v in row.items():
        v = _clean(v)
        if isinstance(v, str) and k in ("properties", "signal_diagnostic_labels", "identity_params") and v:
            with contextlib.suppress(json.JSONDecodeError):
                v = json.loads(v)
        if v in ("", None):
            continue
        doc[str(k)] = v
    return doc


def render_pairs(keys: pd.DataFrame, prefix: str) -> pd.DataFrame:
    """Filters (verdict, event, event_id substring) and the pairs table with verdict badges; returns the rows shown.

    Widget keys: `{prefix}_filter_verdict`, `{prefix}_filter_event`, `{prefix}_filter_id`.
    """
    from core.dedup import VERDICTS

    f1, f2, f3 = st.columns(3)
    verdicts = f1.multiselect("Verdict", list(VERDICTS), key=f"{prefix}_filter_verdict", format_func=badge)
    events = f2.multiselect("Event", sorted(keys["event"].unique()), key=f"{prefix}_filter_event")
    id_part = f3.text_input("event_id contains", key=f"{prefix}_filter_id", placeholder="ord_10492").strip()
    keep = pd.Series(True, index=keys.index)
    if verdicts:
        keep &= keys["verdict"].isin(verdicts)
    if events:
        keep &= keys["event"].isin(events)
    if id_part:
        keep &= keys["event_id"].str.contains(id_part, regex=False)
    shown = keys[keep]
    table = shown.assign(verdict=shown["verdict"].map(badge), **{
        c: pd.to_datetime(shown[c], unit="s", utc=True).dt.strftime("%Y-%m-%d %H:%M:%S")
        for c in ("pixel_time", "server_time")})
    st.dataframe(table[["verdict", "event", "event_id", "pixel_time", "server_time", "delta_s", "reason",
                        "pixel_code"]].head(5000), key=f"{prefix}_pairs", width="stretch", hide_index=True,
                 column_config={"delta_s": st.column_config.NumberColumn("Δt (s)", format="%.1f")})
    more = " (the table holds the first 5,000)" if len(shown) > 5000 else ""
    st.caption(f"{len(shown):,} of {len(keys):,} key(s) shown{more}.")
    return shown


def render_pixel_import(imported: PixelImport, key: str) -> None:
    """What a Pixel import read and skipped: a count caption, its notes, and the skipped items (table `key`)."""
    counts = ", ".join(f"{k} {v}" for k, v in sorted(imported.skipped_counts().items())) or "nothing"
    st.caption(f"Read {len(imported.events)} Pixel event(s) from {imported.entries} {imported.format.upper()} "
               f"item(s); skipped {counts}.")
    for note in imported.notes:
        st.warning(plain(note))
    if imported.skipped:
        with st.expander(f"Skipped ({len(imported.skipped)})"):
            st.dataframe(imported.skipped_frame(), key=key, width="stretch", hide_index=True)


def render_pair_counts(summary: Mapping[str, Any]) -> None:
    """Six metrics from a dedup summary: events per side, merged and deduplicated pairs, one-side counts."""
    s = summary
    cols = st.columns(6)
    for col, (label, value) in zip(cols, [("Pixel events", s["pixel_events"]), ("Server events", s["server_events"]),
                                          ("Merged", s["merged_pairs"]), ("Deduplicated", s["deduplicated_pairs"]),
                                          ("Pixel only", s["pixel_only"]), ("Server only", s["server_only"])],
                                   strict=True):
        col.metric(label, f"{value:,}")


def render_key(row: Any, pixel: pd.DataFrame, server: pd.DataFrame, bodies: Sequence[Any] | None,
               prefix: str) -> dict[str, Any] | None:
    """One key of a dedup report: its verdict, a near-miss warning, the field diff and both documents.

    `row` is a `DedupReport.keys` row; `bodies` the server events as sent (core.events.server_side), or
    None to show server rows. Returns the server row that was diffed, or None when only one side has
    the key (its document is shown instead). Widget keys: `{prefix}_field_diff`, `{prefix}_json_diff`.
    """
    p_rows, s_rows, near_id = key_rows(pixel, server, row)
    st.markdown(f"**{badge(row.verdict)}** — {plain(row.reason)}")
    if near_id is not None:
        st.warning(f"Near miss: the other side has event_id {code(near_id)} for this "
                   f"{plain(row.event)} — TikTok compares ids exactly, so the two never deduplicate.", icon="🔍")
    if p_rows.empty or s_rows.empty:
        st.info("Only one side has this key and no near miss was found, so there is no field diff.")
        st.json(row_document((p_rows if not p_rows.empty else s_rows).iloc[0].to_dict()) if len(p_rows) + len(s_rows)
                else row_document(row.to_dict()), expanded=1)
        return None
    s_row: dict[str, Any] = s_rows.iloc[0].to_dict()
    s_event = bodies[int(s_row["index"])] if bodies and 0 <= int(s_row["index"]) < len(bodies) else s_row
    p_doc = row_document(p_rows.iloc[0].to_dict())
    s_doc = s_event if bodies else row_document(s_row)
    st.subheader("Field diff")
    render_field_diff(field_diff(p_rows.iloc[0].to_dict(), s_event), key=f"{prefix}_field_diff")
    st.subheader("Pixel event and server event")
    render_json_diff(p_doc, s_doc, key=f"{prefix}_json_diff")
    return s_row
