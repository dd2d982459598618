"""Plotly figures built from the console's frames; pages only hand them to st.plotly_chart.

Each section belongs to one analysis; figures take the frames and records they draw and return go.Figure.
pandas and the analysis modules are imported for types only: importing charts stays cheap.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import plotly.graph_objects as go

if TYPE_CHECKING:
    import pandas as pd

    from core.dedup import DedupSummary

# === dedup / gap figures (core.dedup) ==============================================================
GAP_COLORS = {"merged": "#1a9850", "deduplicated": "#66bd63", "outside window": "#d73027",
              "pixel only": "#fdae61", "server only": "#74add1", "missing event_id": "#9e9e9e"}
# The daily lines, in drawing order: (column, legend, colour); a frame draws the ones it has.
DAILY_LINES = (("truth", "truth orders", "#4d4d4d"), ("truth_pixel", "Pixel counted (orders)", "#fdae61"),
               ("truth_counted", "counted (orders)", "#4575b4"))
DAILY_EVENT_LINES = (("pixel_alone", "Pixel counted alone (events)", "#fdae61"),
                     ("counted", "counted by TikTok (events)", "#4575b4"))


def _waterfall_steps(s: DedupSummary) -> tuple[list[str], list[int], str]:
    """(labels, values, title): orders when they linked to events, else events."""
    if s.truth is not None and s.truth_pixel is not None and s.truth_counted is not None:
        truth, pix, cnt = s.truth, s.truth_pixel, s.truth_counted
        return (["Truth (TikTok orders)", "Missed by Pixel", "Recovered by server", "Counted orders"],
                [truth, pix - truth, cnt - pix, cnt], "Truth → Pixel → + server → counted (orders)")
    pix, cnt = s.pixel_counted_alone, s.counted
    return (["Pixel counted alone", "+ server events", "Counted by TikTok"], [pix, cnt - pix, cnt],
            "Pixel → + server → counted (events)")


def gap_waterfall(summary: DedupSummary) -> go.Figure:
    """Waterfall from what should count to what TikTok counts, from DedupReport.summary.

    With orders linked to events: truth orders -> missed by the Pixel -> recovered by server events ->
    counted orders. Otherwise: Pixel counted alone -> + server-only events -> counted events (TikTok's total).
    """
    x, y, title = _waterfall_steps(summary)
    measure = ["absolute", *(["relative"] * (len(x) - 2)), "total"]
    fig = go.Figure(go.Waterfall(
        x=x, y=y, measure=measure, text=[f"{v:+,}" if m == "relative" else f"{v:,}" for v, m in zip(y, measure,
                                                                                                   strict=True)],
        textposition="outside", connector={"line": {"color": "#9e9e9e"}},
        decreasing={"marker": {"color": "#d73027"}}, increasing={"marker": {"color": "#1a9850"}},
        totals={"marker": {"color": "#4575b4"}},
    ))
    fig.update_layout(title=title, height=380, showlegend=False, margin={"l": 10, "r": 10, "t": 50, "b": 10})
    return fig


def verdict_mix(keys: pd.DataFrame) -> go.Figure:
    """Horizontal bars: how many keys (occurrence pairs / events without id) got each verdict."""
    from core.dedup import VERDICTS

    counts = keys["verdict"].value_counts().reindex(list(VERDICTS), fill_value=0)
    fig = go.Figure(go.Bar(
        x=counts.to_numpy().tolist(), y=list(counts.index), orientation="h", text=counts.to_numpy().tolist(),
        texttemplate="%{text:,}", marker_color=[GAP_COLORS[v] for v in counts.index],
        hovertemplate="%{y}: %{x:,}<extra></extra>",
    ))
    fig.update_layout(title="Verdict per key", height=320, yaxis={"autorange": "reversed"},
                      xaxis_title="keys", margin={"l": 10, "r": 10, "t": 50, "b": 10})
    return fig


def gap_by_segment(segments: pd.DataFrame, by: str) -> go.Figure:
    """Grouped bars per value of dimension `by`: the Pixel's gap and the gap left after server events."""
    rows = segments[segments["dimension"] == by].sort_values("truth", ascending=False)
    labels = [f"{v} ({n:,})" for v, n in zip(rows["value"], rows["truth"], strict=True)]
    fig = go.Figure([
        go.Bar(name="Pixel gap", x=labels, y=rows["pixel_gap"].tolist(), marker_color="#fdae61",
               texttemplate="%{y:.0%}"),
        go.Bar(name="gap after server events", x=labels, y=rows["counted_gap"].tolist(),
               marker_color="#4575b4", texttemplate="%{y:.0%}"),
    ])
    fig.update_layout(barmode="group", title=f"Gap against truth by {by.replace('_', ' ')}",
                      yaxis={"tickformat": ".0%", "title": "share of truth orders not counted"},
                      height=380, margin={"l": 10, "r": 10, "t": 50, "b": 10})
    return fig


def daily_series(daily: pd.DataFrame) -> go.Figure:
    """Lines per UTC day: truth orders, Pixel-counted and counted (orders), or Pixel alone and counted.

    With orders the order lines it has are drawn (truth alone when the orders did not link to events).
    """
    lines = [line for line in DAILY_LINES if line[0] in daily.columns] or list(DAILY_EVENT_LINES)
    fig = go.Figure([go.Scatter(x=daily["day"].tolist(), y=daily[col].tolist(), name=label, mode="lines+markers",
                                line={"color": color}) for col, label, color in lines])
    fig.update_layout(title="Daily series (UTC)", height=360, hovermode="x unified",
                      margin={"l": 10, "r": 10, "t": 50, "b": 10})
    return fig


def waterfall_frame(summary: DedupSummary) -> pd.DataFrame:
    """The waterfall's steps as a frame (step, value, measure), for its CSV download."""
    import pandas as pd

    x, y, _ = _waterfall_steps(summary)
    return pd.DataFrame({"step": x, "value": y, "measure": ["absolute", *(["relative"] * (len(x) - 2)), "total"]})


# === match quality figures (core.quality) ==========================================================
# Frames and dicts come from core.review.Review and core.quality.what_if.


def quality_coverage_heatmap(coverage: pd.DataFrame) -> go.Figure:
    """Event type x key heat map of valid coverage (share 0..1), from Review.coverage.

    Rows are event types ("All events" first, then by volume), columns the seven scored keys in weight
    order labelled with their points; each cell prints its percentage.
    """
    from core.quality import KEYS, WEIGHT

    # plotly draws the first row at the bottom: reverse so "All events" sits on top
    rows = coverage.iloc[::-1]
    z = rows[list(KEYS)].to_numpy(dtype=float)
    fig = go.Figure(go.Heatmap(
        z=z.tolist(), x=[f"{k}<br>{WEIGHT[k]:g} pts" for k in KEYS],
        y=[f"{e} ({n:,})" for e, n in zip(rows["event"], rows["events"], strict=True)],
        zmin=0.0, zmax=1.0, colorscale="RdYlGn", text=[[f"{v:.0%}" for v in r] for r in z],
        texttemplate="%{text}", hovertemplate="%{y}<br>%{x}: %{text} valid<extra></extra>",
        colorbar={"title": "valid", "tickformat": ".0%"},
    ))
    fig.update_layout(title="Valid coverage by event type and key", height=170 + 34 * len(rows),
                      margin={"l": 10, "r": 10, "t": 50, "b": 10}, xaxis={"tickangle": 0})
    return fig


def quality_score_histogram(summary: Mapping[str, Any]) -> go.Figure:
    """Bar chart of how many events fall in each 1-point band of the EMQ proxy, with the mean marked.

    `summary` is Review.summary, or one of its "by_event_type" entries (both carry
    "distribution", "mean_score" and "events"; an entry also names its "event").
    """
    from core.quality import LABEL

    info = summary
    bands = info["distribution"]
    fig = go.Figure(go.Bar(
        x=[f"{b['from']:g}–{b['to']:g}" for b in bands], y=[b["events"] for b in bands],
        marker_color=["#d73027" if b["to"] <= 4 else "#fdae61" if b["to"] <= 7 else "#1a9850" for b in bands],
        hovertemplate=f"{LABEL} %{{x}}: %{{y:,}} events<extra></extra>",
    ))
    mean = float(info["mean_score"])
    fig.add_vline(x=min(mean, 9.999) - 0.5, line_dash="dash",
                  annotation_text=f"mean {mean:.2f}", annotation_position="top")
    scope = info.get("event", "All events")
    fig.update_layout(title=f"{LABEL} distribution: {scope} ({info['events']:,} events)", bargap=0.05,
                      xaxis_title=f"{LABEL} band", yaxis_title="events", height=360,
                      margin={"l": 10, "r": 10, "t": 50, "b": 10})
    return fig


def quality_what_if_bars(projection: pd.DataFrame) -> go.Figure:
    """Grouped bars of the current and projected mean EMQ proxy per event type (from quality.what_if)."""
    from core.quality import LABEL

    frame = projection
    fig = go.Figure([
        go.Bar(name="now", x=frame["event"], y=frame["current_mean"], marker_color="#9e9e9e",
               texttemplate="%{y:.2f}"),
        go.Bar(name="projected", x=frame["event"], y=frame["projected_mean"],
               marker_color="#1a9850", texttemplate="%{y:.2f}"),
    ])
    fig.update_layout(barmode="group", title=f"Mean {LABEL}: now and with the targets",
                      yaxis={"range": [0, 10], "title": f"mean {LABEL}"}, height=360,
                      margin={"l": 10, "r": 10, "t": 50, "b": 10})
    return fig
