"""Orders in: a store's export (Shopify, WooCommerce, or any CSV with a column mapping) -> canonical columns.

Canonical columns: order_id (str, "#1001" -> "1001"), created_at (datetime64[ns, UTC]), total (float64),
currency (str), and when present utm_source, ttclid, user_agent (str, "" when absent), cookie_age_days,
page_load_s (float64, NaN when absent). A `landing_site` URL fills utm_source / ttclid from its query
string where those columns are blank (Shopify's "Landing Site", WooCommerce's attribution entry page).
created_at is read by core.sources.values (the one event-time rule): ISO 8601, Shopify's
`2026-05-01 00:23:55 +0000`, epoch seconds, milliseconds, microseconds or nanoseconds.
The truth set and the segments built from these orders live in core.orders.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from core.errors import InvalidFile
from core.sources.columns import stripped
from core.sources.order_columns import ORDERS_HINT
from core.sources.order_columns import REQUIRED as REQUIRED
from core.sources.order_columns import map_columns as map_columns
from core.sources.order_columns import sniff_format as sniff_format
from core.sources.order_columns import suggest_mapping as suggest_mapping
from core.sources.source import Source, SourceInput, open_source
from core.sources.values import datetime_column, number_column, time_column


@dataclass(frozen=True)
class Orders:
    """Orders read from a file: the canonical `frame`, which export it was, and how columns mapped."""

    frame: pd.DataFrame
    source: str  # "shopify" | "woocommerce" | "generic"
    mapping: dict[str, str]  # canonical column -> the file's column
    rows_read: int
    warnings: list[str] = field(default_factory=list)


def _orders_source(source: SourceInput | Source, name: str | None) -> Source:
    src = open_source(source, name)
    if src.format == "empty":
        raise InvalidFile(f"{src.name} is not a readable CSV: it is empty.", hint=ORDERS_HINT)
    src.require("csv", what="a CSV export of orders", hint=ORDERS_HINT)
    return src


def read_columns(source: SourceInput | Source, name: str | None = None) -> list[str]:
    """The header row of an orders CSV (a path, bytes or an upload) as column names, for a mapping step.

    Raises InvalidFile for an empty or non-CSV input, LimitExceeded past the column limit.
    """
    return _orders_source(source, name).header()


def _read_table(src: Source, columns: list[str], coded: tuple[str, ...] = ()) -> pa.Table:
    """The whole file's `columns` as text (pyarrow's multi-threaded reader); InvalidFile when unreadable.

    `coded` columns are read dictionary-encoded: a few distinct values (user agents) then cost an index
    per row until decoded, instead of a copy of the text at every step.
    """
    header = src.header()
    try:
        # 16 MB blocks: few chunks per column, so the per-order row pick stays fast
        return pacsv.read_csv(src.csv_input(), read_options=pacsv.ReadOptions(block_size=1 << 24),
                              convert_options=pacsv.ConvertOptions(
                                  column_types={c: pa.dictionary(pa.int32(), pa.string()) if c in coded
                                                else pa.string() for c in header}, strings_can_be_null=False,
                                  include_columns=columns or header))
    except UnicodeDecodeError:
        raise InvalidFile(f"{src.name} is not UTF-8 text.", hint="Export the orders as UTF-8 CSV.") from None
    except (pa.ArrowInvalid, ValueError) as exc:
        raise InvalidFile(f"{src.name} is not a readable CSV: {exc}",
                          hint="Export the orders as comma-separated CSV with a header row.") from None


def parse_created_at(values: pd.Series) -> pd.Series:
    """Order times as datetime64[ns, UTC] by the one event-time rule (core.sources.values.time_column)."""
    return datetime_column(time_column(values.astype("string")))


def _money(values: pd.Series) -> pd.Series:
    cleaned = values.astype("string").fillna("").str.replace(r"[^0-9.\-]", "", regex=True)
    return number_column(cleaned)


def load_orders(source: SourceInput | Source, mapping: Mapping[str, str] | None = None, *,
                name: str | None = None) -> Orders:
    """Read an orders export (a path, bytes or an upload; gzip or not) into canonical columns, one row per order.

    Shopify's admin export (one row per line item) is grouped by `Name` ("#1001" -> "1001"), keeping each
    order's first row with a created_at (pick_order_rows); WooCommerce exports and any other CSV map
    through ALIASES, then through `mapping` (canonical -> file column), which wins. Uploads are read in
    memory, never written to disk (an export may carry customer emails and phones). Raises
    MissingOrderColumns (an InvalidFile naming the missing canonical columns and carrying the file's
    columns, so the caller can offer a mapping step), InvalidFile for a non-CSV or unreadable input.
    """
    src = _orders_source(source, name)
    header = src.header()
    kind, found = map_columns(src.name, header, mapping)
    ua = found.get("user_agent")
    coded = (ua,) if ua and ua not in (found["order_id"], found["created_at"]) else ()
    table = _read_table(src, list(dict.fromkeys(found.values())), coded)
    rows_read = table.num_rows
    oid = _norm_id_array(table.column(found["order_id"]))
    keep = pick_order_rows(oid, table.column(found["created_at"]), line_items=kind == "shopify")
    if keep is not None:  # rows are picked in Arrow, before pandas: no take of a wide frame
        mask = pa.array(keep)
        table, oid = table.filter(mask), oid.filter(mask)
    frame = pd.DataFrame({canon: (table.column(col).cast(pa.string()) if col in coded else table.column(col))
                          .to_pandas() for canon, col in found.items()})
    frame["order_id"] = pd.Series(oid.to_pandas(), index=frame.index, dtype="str")
    del table
    return _canonical(frame, kind, found, rows_read, src.name)


def pick_order_rows(order_ids: pa.ChunkedArray | pa.Array, created_at: pa.ChunkedArray | pa.Array,
                    line_items: bool) -> np.ndarray | None:
    """Which rows make one row per order (a boolean mask), or None when every row is kept.

    Rows with a blank (normalized) order id are dropped. When `line_items` is set or some order id
    repeats, each order keeps one row: its first row with a non-blank created_at, or its first row when
    none has one (Shopify's line-item rows leave the order-level fields blank after the first).
    """
    has_id = pc.not_equal(order_ids, "").to_numpy(zero_copy_only=False)
    rows = np.flatnonzero(has_id)
    ids = order_ids if len(rows) == len(has_id) else order_ids.filter(pa.array(has_id))
    if isinstance(ids, pa.ChunkedArray):  # one chunk: one dictionary, so one code per distinct id
        ids = ids.combine_chunks()
    encoded = pc.dictionary_encode(ids)
    codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    distinct = len(encoded.dictionary)
    if not line_items and distinct == len(codes):
        return None if len(rows) == len(has_id) else has_id
    dated = pc.not_equal(pc.utf8_trim_whitespace(pc.fill_null(created_at, "")), "").to_numpy(
        zero_copy_only=False)[rows]
    n = len(codes)
    first_row = np.full(distinct, n, dtype=np.int64)
    np.minimum.at(first_row, codes, np.arange(n, dtype=np.int64))
    first_dated = np.full(distinct, n, dtype=np.int64)
    np.minimum.at(first_dated, codes[dated], np.flatnonzero(dated))
    keep = np.zeros(len(has_id), dtype=bool)
    keep[rows[np.where(first_dated < n, first_dated, first_row)]] = True
    return keep


def _norm_ids(values: pd.Series) -> pd.Series:
    """Order ids as text: trimmed, without Shopify's leading '#', '1001.0' read back as '1001'."""
    arr = pa.array(values.astype("string").fillna(""), from_pandas=True)
    return pd.Series(_norm_id_array(arr), index=values.index, dtype="str")


def _norm_id_array(arr: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """_norm_ids on Arrow text without nulls (trimming a value without edge whitespace leaves it as is)."""
    arr = pc.utf8_trim_whitespace(arr)
    if pc.any(pc.starts_with(arr, "#")).as_py():
        arr = pc.utf8_ltrim(arr, characters="#")
    if pc.any(pc.match_substring(arr, ".")).as_py():  # the regex pass only when some id could be "1001.0"
        arr = pc.replace_substring_regex(arr, pattern=r"^(\d+)\.0+$", replacement=r"\1")
    return arr


def _query_param(urls: pd.Series, name: str) -> pd.Series:
    """The value of query parameter `name` in each URL ("" when absent), with Arrow's regex kernel."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(urls.astype("string").fillna(""), from_pandas=True)
    found = pc.struct_field(pc.extract_regex(arr, pattern=rf"[?&]{name}=(?P<v>[^&#]*)"), [0])
    return pd.Series(pc.fill_null(found, ""), index=urls.index, dtype="str")


def _canonical(frame: pd.DataFrame, source: str, found: dict[str, str], rows: int, name: str) -> Orders:
    out = pd.DataFrame({"order_id": frame["order_id"].astype("string").fillna("")})
    out["created_at"] = parse_created_at(frame["created_at"])
    out["total"] = _money(frame["total"])
    out["currency"] = stripped(frame["currency"]).str.upper()
    for col in ("utm_source", "ttclid", "user_agent", "landing_site"):
        out[col] = stripped(frame[col]) if col in frame else ""
    for col in ("cookie_age_days", "page_load_s"):
        out[col] = number_column(frame[col]) if col in frame else np.nan
    if "landing_site" in frame:
        for col in ("utm_source", "ttclid"):  # without the file's own column, every row takes the URL's
            param = _query_param(out["landing_site"], col)
            out[col] = out[col].where(out[col] != "", param) if col in frame else param
    warnings = []
    bad_dates = int(out["created_at"].isna().sum())
    if bad_dates:
        warnings.append(f"{bad_dates} order(s) in {name} have an unreadable created_at; they have no day.")
    bad_totals = int(out["total"].isna().sum())
    if bad_totals:
        warnings.append(f"{bad_totals} order(s) in {name} have no readable total.")
    return Orders(frame=out.reset_index(drop=True), source=source, mapping=found, rows_read=rows,
                  warnings=warnings)


