"""Compare views: the Pixel-vs-server field diff, a JSON diff, verdict badges, pair counts, one key, a Pixel import."""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import streamlit as st

from core.compare import KeyInspection
from core.diff import FieldDiff
from core.sources.pixel_body import PixelImport
from ui.findings import WRAP_ROW_HEIGHT
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
        frame, key=key, width="stretch", hide_index=True, row_height=WRAP_ROW_HEIGHT,
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


def render_json_diff(a: Any, b: Any, key: str, labels: tuple[str, str] = ("Pixel", "Server"), *,
                     side_by_side: bool = True) -> None:
    """Two JSON documents side by side (unless `side_by_side` is False), then the table of paths that differ."""
    if side_by_side:
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
    st.dataframe(frame, key=key, width="stretch", hide_index=True, row_height=WRAP_ROW_HEIGHT,
                 column_config={label: st.column_config.TextColumn(width="large") for label in labels})


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


PAIR_COUNTS = (  # (label, verdict counted in the pairs table, help)
    ("Merged", "merged", "Pixel and server copies within 5 min: TikTok merges them into one conversion."),
    ("Deduplicated", "deduplicated", "Copies 5 min to 48 h apart: TikTok keeps the first, drops the other."),
    ("Outside window", "outside window", "Same key more than 48 h apart: both copies count."),
    ("Pixel only", "pixel only", "Keys only the Pixel sent (rows with this verdict in the table below)."),
    ("Server only", "server only", "Keys only the server sent (rows with this verdict in the table below)."),
    ("No event_id", "missing event_id", "Events without event_id: they can never pair, each counts alone."),
)


def render_pair_counts(summary: Mapping[str, Any], keys: pd.DataFrame) -> None:
    """Events per side, then one metric per verdict, counted from the pairs table so the two always agree."""
    counts = keys["verdict"].value_counts()
    cols = st.columns(2 + len(PAIR_COUNTS))
    cols[0].metric("Pixel events", f"{summary['pixel_events']:,}")
    cols[1].metric("Server events", f"{summary['server_events']:,}")
    for col, (label, verdict, help_text) in zip(cols[2:], PAIR_COUNTS, strict=True):
        col.metric(label, f"{int(counts.get(verdict, 0)):,}", help=help_text)
    st.caption(f"TikTok counts {summary['counted']:,} conversion(s): merged and deduplicated pairs once, "
               "every other event on its own.")


def key_labels(keys: pd.DataFrame) -> dict[str, Any]:
    """A label per key row ("event · event_id · verdict", "#n" for a repeated occurrence) -> its index."""
    labels: dict[str, Any] = {}
    for i, r in keys.iterrows():
        label = f"{r.event} · {r.event_id or '(no event_id)'} · {r.verdict}"
        if int(r.occurrence) > 1:
            label += f" · #{int(r.occurrence)}"
        labels[label if label not in labels else f"{label} · row {i}"] = i
    return labels


def render_near_miss(ins: KeyInspection) -> None:
    """The near miss and the legacy twin behind a key, from the same list the page shows."""
    nm = ins.near_miss
    if nm is not None and ins.partner_id is not None:
        other = nm["server_event" if ins.verdict == "pixel only" else "pixel_event"]
        st.warning(f"Near miss: the other side has event_id {code(ins.partner_id)} for {plain(other)} — "
                   f"{plain(nm['detail'])}. TikTok compares ids and names exactly, so the two never "
                   "deduplicate.", icon="🔍")
    elif nm is not None:
        st.warning(f"Near miss ({plain(nm['kind'])}): {plain(nm['detail'])}.", icon="🔍")
    if ins.legacy_note:
        st.info(plain(ins.legacy_note) + ".", icon="🏷️")


def render_key(ins: KeyInspection, prefix: str) -> dict[str, Any] | None:
    """One key of a dedup report (core.compare.inspect_key): verdict, near miss, field diff, both documents.

    Returns the server row that was diffed, or None when only one side has the key (its document is
    shown instead). Widget keys: `{prefix}_field_diff`, `{prefix}_json_diff`.
    """
    st.markdown(f"**{badge(ins.verdict)}** — {plain(ins.reason)}")
    render_near_miss(ins)
    if ins.pixel_row is None or ins.server_row is None:
        st.info("Only one side has this key and the near-miss list names no partner for it, so there is no "
                "field diff.")
        one = ins.pixel_row if ins.pixel_row is not None else ins.server_row
        st.json(row_document(one if one is not None else ins.key_row), expanded=1)
        return None
    st.subheader("Field diff")
    render_field_diff(ins.diffs, key=f"{prefix}_field_diff")
    st.subheader("Pixel event and server event")
    left, right = st.columns(2)
    with left:
        st.markdown("**Pixel** (the row as read)")
        st.json(row_document(ins.pixel_row), expanded=2)
    with right:
        st.markdown("**Server** (the event as sent)" if ins.server_event else "**Server** (the row as read)")
        st.json(ins.server_event if ins.server_event is not None else row_document(ins.server_row), expanded=2)
    st.caption("Both sides under the same field names (hashes, times in UTC):")
    render_json_diff(*ins.comparable(), key=f"{prefix}_json_diff", side_by_side=False)
    return ins.server_row
