"""TikTok counts page views: credentials from the environment or secrets, the read, and TikTok's counts beside ours."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlsplit

import pandas as pd
import streamlit as st

from core.config import (
    ADVERTISER_ENV,
    EMULATOR_TOKEN,
    MARKETING_TOKEN_ENV,
    TOKEN_ENV,
    MarketingCredentials,
    Settings,
    marketing_credentials,
)
from core.contract import TIKTOK_BASE_URL
from core.errors import ConfigError
from core.export import csv_bytes
from core.readback import MarketingClient, Readback, day_range, read_stats, sentence, side_by_side
from core.store import Store
from ui.markup import code, plain
from ui.sidebar import secret

COLUMNS = {"day": "UTC day", "event": "event", "tiktok_browser": "TikTok browser", "tiktok_server": "TikTok server",
           "tiktok_total": "TikTok total", "tiktok_preview": "TikTok preview (test)",
           "tiktok_attributed": "TikTok attributed to ads",
           "console_accepted": "console: accepted", "console_test": "console: test", "orders": "your orders"}


def credentials() -> MarketingCredentials:
    """The Marketing API token and advertiser id from the environment or .streamlit/secrets.toml (never stored)."""
    secrets = {k: v for k in (MARKETING_TOKEN_ENV, TOKEN_ENV, ADVERTISER_ENV) if (v := secret(k)) is not None}
    return marketing_credentials(secrets=secrets)


def is_local(base_url: str) -> bool:
    """True for the emulator on this machine (127.0.0.1 / localhost), which needs no real token."""
    return (urlsplit(base_url).hostname or "").lower() in ("127.0.0.1", "localhost", "::1")


def read_counts(settings: Settings, token: str | None, *, pixel_code: str, advertiser_id: str, since: date,
                until: date) -> Readback:
    """TikTok's counts for the settings' target (the emulator's URL, TikTok's or the custom one).

    Raises InvalidInput for bad days or ids, ConfigError without a token for a remote target,
    TikTokRefused when TikTok refuses.
    """
    base = settings.base_url or TIKTOK_BASE_URL
    if not token and is_local(base):
        token = EMULATOR_TOKEN
    if not token:
        raise ConfigError(f"No Marketing API token: set {MARKETING_TOKEN_ENV} (or {TOKEN_ENV}).",
                          hint="In the environment or .streamlit/secrets.toml, or type it below for this session "
                               "(kept in memory only).")
    days = day_range(since.isoformat(), until.isoformat())
    with MarketingClient(base, token, timeout_s=settings.timeout_s, max_attempts=settings.max_attempts) as client:
        return read_stats(client, pixel_code=pixel_code, advertiser_id=advertiser_id, days=days)


def console_side(settings: Settings, readback: Readback) -> dict[tuple[str, str], dict[str, int]]:
    """The console's own accepted events for the same Pixel and UTC days, from its database."""
    from core.readback import console_counts

    days = [d.isoformat() for d in day_range(readback.since, readback.until)]
    with Store(settings.db_path) as store:
        return console_counts(store.iter_sent_events(), readback.pixel_code, days)


def render_counts(readback: Readback, rows: list[dict[str, Any]]) -> None:
    """The plain sentences (container `counts_sentences`), the table, the Pixel's settings and the notes."""
    pixel = readback.pixel
    if pixel is not None:
        am = pixel.advanced_matching
        matching = ("not reported" if am is None else
                    f"email {'on' if am['email'] else 'off'}, phone {'on' if am['phone_number'] else 'off'}")
        st.caption(f"Pixel {code(pixel.pixel_code)} (id {code(pixel.pixel_id)}) {plain(pixel.name)} · advanced "
                   f"matching: {matching}")
    if not rows:
        st.info(f"TikTok counted no events for {code(readback.pixel_code)} from {readback.since} to "
                f"{readback.until} (UTC), and the console sent none.")
    else:
        with st.container(key="counts_sentences"):
            for row in rows:
                st.markdown(f"- {plain(sentence(row))}")
        table = pd.DataFrame(rows, columns=list(COLUMNS)).rename(columns=COLUMNS)
        st.dataframe(table, key="counts_table", hide_index=True, width="stretch")
        st.download_button("Download these counts (CSV)", csv_bytes(pd.DataFrame(rows, columns=list(COLUMNS))),
                           key="counts_download",
                           file_name=f"tiktok-counts-{readback.pixel_code}-{readback.since}-{readback.until}.csv",
                           mime="text/csv", on_click="ignore", icon="⬇️",
                           help="TikTok's counts beside the console's and your orders, per UTC day and event: "
                                "attach it to a support ticket.")
    for note in readback.notes[1:]:
        st.caption(plain(note))


def rows_for(settings: Settings, readback: Readback, orders: dict[str, int] | None) -> list[dict[str, Any]]:
    """TikTok's rows beside the console's own counts and the orders, one per (day, event)."""
    return side_by_side(readback, console_side(settings, readback), orders)


def orders_by_day(orders: Any) -> dict[str, int]:
    """UTC day -> orders from a loaded orders export (core.sources.load_orders)."""
    from core.readback import orders_per_day

    frame = orders.frame
    return orders_per_day(frame["created_at"].tolist()) if "created_at" in frame else {}
