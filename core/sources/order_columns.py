"""How an orders export's columns map to the canonical ones: the aliases, the export kind, the user's mapping.

Plain Python (no pandas): the analysis engine maps an export's header with these rules without loading the
reader; core.sources.orders reads the rows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Final

from core.errors import InvalidInput, MissingOrderColumns

REQUIRED: Final = ("order_id", "created_at", "total", "currency")
OPTIONAL: Final = ("utm_source", "ttclid", "user_agent", "cookie_age_days", "page_load_s", "landing_site")
CANONICAL: Final = REQUIRED + OPTIONAL
ORDERS_HINT = "Export the orders as a CSV with a header row (Shopify or WooCommerce exports work as they are)."

# Known column names per canonical column, compared after _norm() (case, spaces, dashes ignored).
ALIASES: Final[dict[str, tuple[str, ...]]] = {
    "order_id": ("order_id", "name", "order_number", "order", "order_no", "id", "order_name"),
    "created_at": ("created_at", "order_date", "date_created", "date", "created", "processed_at",
                   "paid_at"),
    "total": ("total", "order_total", "total_price", "order_total_amount", "amount", "net_sales"),
    "currency": ("currency", "order_currency", "currency_code"),
    "utm_source": ("utm_source", "wc_order_attribution_utm_source", "meta_wc_order_attribution_utm_source",
                   "source_utm", "first_utm_source"),
    "ttclid": ("ttclid", "tiktok_click_id", "click_id"),
    "user_agent": ("user_agent", "wc_order_attribution_user_agent", "meta_wc_order_attribution_user_agent",
                   "browser_user_agent", "client_details_user_agent"),
    "cookie_age_days": ("cookie_age_days", "cookie_age", "ttp_age_days", "cookie_age_d"),
    "page_load_s": ("page_load_s", "page_load_time", "page_load_seconds", "load_time_s", "page_load"),
    "landing_site": ("landing_site", "landing_page", "landing_page_url", "wc_order_attribution_session_entry",
                     "meta_wc_order_attribution_session_entry", "referring_site", "referrer", "referrer_url"),
}


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9_]+", "_", str(name).strip().lower().replace("#", "number")).strip("_") \
        .replace("meta__", "meta_").replace("order_number_", "order_number")


def sniff_format(columns: Iterable[str]) -> str:
    """'shopify' (line-item export: Name + Lineitem columns), 'woocommerce', or 'generic'."""
    cols = {_norm(c) for c in columns}
    if "name" in cols and any(c.startswith("lineitem") for c in cols):
        return "shopify"
    if any("wc_order_attribution" in c for c in cols) or (
            {"order_number", "order_date"} <= cols or {"order_id", "order_total"} <= cols):
        return "woocommerce"
    return "generic"


def suggest_mapping(columns: Iterable[str]) -> dict[str, str]:
    """canonical column -> the first of the file's columns that is a known alias (only those found)."""
    cols = list(columns)
    by_norm: dict[str, str] = {}
    for c in cols:
        by_norm.setdefault(_norm(c), c)
    out: dict[str, str] = {}
    for canon, names in ALIASES.items():
        for name in names:
            if name in by_norm:
                out[canon] = by_norm[name]
                break
    return out


def map_columns(name: str, header: list[str], mapping: Mapping[str, str] | None) -> tuple[str, dict[str, str]]:
    """(export kind, canonical -> file column) of file `name` from the aliases and `mapping` (which wins).

    Raises InvalidInput for a mapping to an unknown field, MissingOrderColumns (with the file's columns)
    when a mapped column is absent or a required field has no column.
    """
    source = sniff_format(header)
    found = suggest_mapping(header)
    for canon, col in (mapping or {}).items():
        if canon not in CANONICAL:
            raise InvalidInput(f"{canon!r} is not an orders column.", hint=f"Map one of {', '.join(CANONICAL)}.")
        if col:
            if col not in header:
                raise MissingOrderColumns(f"{name} has no column {col!r} (mapped to {canon}).",
                                          hint=f"Its columns are: {', '.join(header)}.", columns=header)
            found[canon] = col
    missing = [c for c in REQUIRED if c not in found]
    if missing:
        raise MissingOrderColumns(
            f"{name}: no column for {', '.join(missing)} (read as a {source} export).",
            hint=f"Map them to one of its columns ({', '.join(header[:30])}) in the Dedup gap page's "
                 "column-mapping step, or rename the columns in the export.",
            columns=header)
    return source, found


__all__ = ["ALIASES", "CANONICAL", "OPTIONAL", "ORDERS_HINT", "REQUIRED", "map_columns", "sniff_format",
           "suggest_mapping"]
