"""Plotly figures built from the console's frames; pages only hand them to st.plotly_chart.

Each section belongs to one analysis; figures take plain frames/dicts and return go.Figure.
"""

from __future__ import annotations

import plotly.graph_objects as go  # noqa: F401 - used by the sections below

# === dedup / gap figures (core.dedup) ==============================================================

# === match quality figures (core.quality) ==========================================================
