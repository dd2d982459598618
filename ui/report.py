"""The audit report's download, one per page with results: prepared on request, then served as one HTML file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from core.errors import ConsoleError
from ui.errors import show_error


def _material(checked: str, parts: dict[str, Any]) -> Any:
    from core import report as rp

    if parts.get("live"):  # a live session: its recorded Pixel hits beside what the relay and the console sent
        from core.sources.pixel_body import pixel_frame
        from core.store import Store

        db, session = Path(parts["db_path"]), parts["session_id"]
        with Store(db) as store:
            hits = pixel_frame(store.pixel_hits(session))
        return rp.session_material(db, session, pixel=hits if len(hits) else None,
                                   pixel_label="the Pixel hits recorded in this live session" if len(hits) else "")
    if "db_path" in parts:  # what the console sent: one session, or the whole history
        db, session, pixel = Path(parts["db_path"]), parts.get("session_id"), _simulated_pixel(parts)
        if pixel is not None:
            from core.store import Store

            with Store(db) as store:  # only the twins of this session's events (they pile up across sends)
                ids = {row["event_id"] for row in store.history(session)}
            pixel = pixel[pixel["event_id"].isin(ids)]
        return rp.session_material(db, session, pixel=pixel if pixel is not None and len(pixel) else None,
                                   pixel_label="the browser Pixel simulated on the Send page (no site involved)"
                                   if pixel is not None and len(pixel) else "")
    return rp.page_material(checked, **parts)


def _simulated_pixel(parts: dict[str, Any]) -> Any:
    """The simulated browser half made on the Send page (ui.browser_twin), when the page passes it."""
    pixel = parts.get("pixel")
    return None if pixel is None or getattr(pixel, "empty", True) else pixel


def report_download(key: str, checked: str = "", **parts: Any) -> None:
    """'Prepare the audit report', then its download (button `key`) in the same run, so it is never stale.

    `parts` are what the page shows: `findings` (+ `records`), `dedup`, `quality` (core.report.page_material),
    or `db_path` (+ `session_id`, + `pixel`: the simulated browser half) for what the console sent
    (core.report.session_material). The report is one self-contained HTML file (core.report.build_report);
    building it only on request keeps reruns cheap.
    """
    from core.report import report_bytes

    st.divider()
    if not st.button("Prepare the audit report (HTML)", key=f"{key}_prepare", icon="🧾",
                     help="One self-contained HTML file with every figure on this page, its charts and a JSON "
                          "appendix: hand it to a client or attach it to a support ticket. Opens offline."):
        return
    try:
        with st.spinner("Writing the report…"):
            data = report_bytes(_material(checked, parts))
    except ConsoleError as exc:
        show_error(exc, source="No report")
        return
    st.download_button("Download the audit report", data, file_name=f"tiktok-audit-{key.split('_')[0]}.html",
                       mime="text/html", key=key, on_click="ignore", type="primary", icon="⬇️")
