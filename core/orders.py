"""The store's orders as the truth set: Shopify / WooCommerce exports or any CSV with a column mapping.

Canonical columns: order_id (str, "#1001" -> "1001"), created_at (datetime64 UTC), total (float64),
currency (str), and when present utm_source, ttclid, user_agent (str, "" when absent), cookie_age_days,
page_load_s (float64, NaN when absent). A `landing_site` URL fills utm_source / ttclid from its query
string where those columns are blank (Shopify's "Landing Site", WooCommerce's attribution entry page).

The truth set is the TikTok-attributable orders: utm_source = tiktok or a ttclid (TikTok appends `ttclid`
to landing URLs, contract §6.4); `truth_filter` keeps the rule visible and adjustable. Segments follow the
methodology analysts use: browser family and OS major (ua-parser, unique user agents only), iOS 17+
(Link Tracking Protection strips click ids), cookie age (7 days: Safari ITP caps script-set cookies),
page load over 5 s, and day.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from core.columns import stripped
from core.errors import InvalidFile, InvalidInput

REQUIRED: Final = ("order_id", "created_at", "total", "currency")
OPTIONAL: Final = ("utm_source", "ttclid", "user_agent", "cookie_age_days", "page_load_s", "landing_site")
CANONICAL: Final = REQUIRED + OPTIONAL
SEGMENT_DIMENSIONS: Final = ("browser", "os", "ios_ltp", "cookie_age", "page_load", "day")
COOKIE_AGE_DAYS: Final = 7  # Safari ITP caps script-set first-party cookies (such as _ttp) at 7 days
SLOW_PAGE_S: Final = 5.0  # the page-load bucket analysts use: the Pixel often never fires after 5 s
# A TikTok host at the start of a URL: www.tiktok.com, vm.tiktok.com, ads.tiktok.com ...
_TIKTOK_SITE: Final = r"^\s*(?:https?://)?(?:[\w-]+\.)*tiktok\.com(?:[/:?#]|$)"
LTP_IOS_MAJOR: Final = 17  # iOS 17 Link Tracking Protection strips click ids such as ttclid

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


@dataclass(frozen=True)
class Orders:
    """Orders read from a file: the canonical `frame`, which export it was, and how columns mapped."""

    frame: pd.DataFrame
    source: str  # "shopify" | "woocommerce" | "generic"
    mapping: dict[str, str]  # canonical column -> the file's column
    rows_read: int
    warnings: list[str] = field(default_factory=list)


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


class MissingOrderColumns(InvalidFile):
    """The orders file lacks (or a mapping names no) column for a required field; `columns` are the file's."""

    def __init__(self, message: str, *, hint: str, columns: list[str]) -> None:
        super().__init__(message, hint=hint)
        self.columns = columns


def load_orders_upload(data: bytes, mapping: Mapping[str, str] | None = None) -> Orders:
    """load_orders for an uploaded CSV (bytes), read from a private temporary folder that is then deleted.

    An export may carry customer emails and phones, which the console never keeps on disk.
    Raises MissingOrderColumns (with the file's columns, for a mapping step) or InvalidFile.
    """
    import tempfile

    with tempfile.TemporaryDirectory(prefix="tec-orders-") as folder:
        path = Path(folder) / "orders.csv"
        path.write_bytes(data)
        return load_orders(path, mapping)


def read_upload_columns(data: bytes) -> list[str]:
    """The header row of an uploaded CSV (bytes) as column names; [] for an empty or headerless upload."""
    import csv
    import io

    first = data.split(b"\n", 1)[0].decode("utf-8-sig", errors="replace")
    return [c.strip() for c in next(csv.reader(io.StringIO(first)), [])]


def read_columns(path: str | Path) -> list[str]:
    """The header of a CSV file (for a column-mapping step); InvalidFile when unreadable."""
    return list(_read(Path(path), nrows=0).columns)


def _read_table(p: Path, columns: list[str], coded: tuple[str, ...] = ()) -> pa.Table:
    """The whole file's `columns` as text (pyarrow's multi-threaded reader); InvalidFile when unreadable.

    `coded` columns are read dictionary-encoded: a few distinct values (user agents) then cost an index
    per row until decoded, instead of a copy of the text at every step.
    """
    if not p.is_file():
        raise InvalidFile(f"{p}: no such file.", hint="Check the path of the orders export.")
    try:
        header = list(pd.read_csv(p, dtype=str, nrows=0, encoding="utf-8-sig").columns)
        # 16 MB blocks: few chunks per column, so the per-order row pick stays fast
        return pacsv.read_csv(p, read_options=pacsv.ReadOptions(block_size=1 << 24),
                              convert_options=pacsv.ConvertOptions(
                                  column_types={c: pa.dictionary(pa.int32(), pa.string()) if c in coded
                                                else pa.string() for c in header}, strings_can_be_null=False,
                                  include_columns=columns or header))
    except UnicodeDecodeError:
        raise InvalidFile(f"{p.name} is not UTF-8 text.", hint="Export the orders as UTF-8 CSV.") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise InvalidFile(f"{p.name} is not a readable CSV: {exc}",
                          hint="Export the orders as comma-separated CSV with a header row.") from None


def _read(p: Path, nrows: int = 0) -> pd.DataFrame:
    if not p.is_file():
        raise InvalidFile(f"{p}: no such file.", hint="Check the path of the orders export.")
    try:
        return pd.read_csv(p, dtype=str, keep_default_na=False, nrows=nrows, encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidFile(f"{p.name} is not UTF-8 text.", hint="Export the orders as UTF-8 CSV.") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise InvalidFile(f"{p.name} is not a readable CSV: {exc}",
                          hint="Export the orders as comma-separated CSV with a header row.") from None


def parse_created_at(values: pd.Series) -> pd.Series:
    """Order times as UTC datetimes: ISO-8601, Shopify's '2026-05-01 10:15:32 -0400', or epoch seconds."""
    text = values.astype("string").fillna("").str.strip()
    if len(text) and pd.to_numeric(text.head(1000), errors="coerce").notna().mean() > 0.5:
        numeric = _float(text)
        secs = numeric.where(numeric < 1e11, numeric / 1000.0)
        return pd.to_datetime(secs, unit="s", utc=True, errors="coerce")
    for fmt in ("ISO8601", "%Y-%m-%d %H:%M:%S %z"):
        parsed = pd.to_datetime(text, utc=True, format=fmt, errors="coerce")
        if parsed.notna().sum() >= (text != "").sum():
            return parsed
    return pd.to_datetime(text, utc=True, format="mixed", errors="coerce")


def _float(values: pd.Series) -> pd.Series:
    """Text to float64 (NaN for blanks and junk) with Arrow's cast, pandas' parser only as a fallback."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pc.utf8_trim_whitespace(pa.array(values.astype("string").fillna(""), from_pandas=True))
    arr = pc.if_else(pc.equal(arr, ""), pa.scalar(None, arr.type), arr)
    try:
        return pd.Series(arr.cast(pa.float64()), index=values.index).astype("float64")
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # junk in some cells: slower, lenient path
        return pd.to_numeric(values, errors="coerce").astype("float64")


def _money(values: pd.Series) -> pd.Series:
    cleaned = values.astype("string").fillna("").str.replace(r"[^0-9.\-]", "", regex=True)
    return _float(cleaned)


def load_orders(path: str | Path, mapping: Mapping[str, str] | None = None) -> Orders:
    """Read an orders export into canonical columns, one row per order.

    Shopify's admin export (one row per line item) is grouped by `Name` ("#1001" -> "1001"), keeping each
    order's first row with a created_at (pick_order_rows); WooCommerce exports and any other CSV map
    through ALIASES, then through `mapping` (canonical -> file column), which wins. Raises InvalidFile
    naming the missing canonical columns and the file's columns, so the caller can offer a mapping step.
    """
    p = Path(path)
    header = [str(c) for c in _read(p, nrows=0).columns]
    source = sniff_format(header)
    found = suggest_mapping(header)
    for canon, col in (mapping or {}).items():
        if canon not in CANONICAL:
            raise InvalidInput(f"{canon!r} is not an orders column.", hint=f"Map one of {', '.join(CANONICAL)}.")
        if col:
            if col not in header:
                raise MissingOrderColumns(f"{p.name} has no column {col!r} (mapped to {canon}).",
                                          hint=f"Its columns are: {', '.join(header)}.", columns=header)
            found[canon] = col
    missing = [c for c in REQUIRED if c not in found]
    if missing:
        raise MissingOrderColumns(
            f"{p.name}: no column for {', '.join(missing)} (read as a {source} export).",
            hint=f"Map them to one of its columns ({', '.join(header[:30])}), e.g. "
                 f"mapping={{'{missing[0]}': '<column>'}} or the column-mapping step in the app.",
            columns=header)
    ua = found.get("user_agent")
    coded = (ua,) if ua and ua not in (found["order_id"], found["created_at"]) else ()
    table = _read_table(p, list(dict.fromkeys(found.values())), coded)
    rows_read = table.num_rows
    oid = _norm_id_array(table.column(found["order_id"]))
    keep = pick_order_rows(oid, table.column(found["created_at"]), line_items=source == "shopify")
    if keep is not None:  # rows are picked in Arrow, before pandas: no take of a wide frame
        mask = pa.array(keep)
        table, oid = table.filter(mask), oid.filter(mask)
    frame = pd.DataFrame({canon: (table.column(col).cast(pa.string()) if col in coded else table.column(col))
                          .to_pandas() for canon, col in found.items()})
    frame["order_id"] = pd.Series(oid.to_pandas(), index=frame.index, dtype="str")
    del table
    return _canonical(frame, source, found, rows_read, p.name)


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
        out[col] = _float(frame[col]) if col in frame else np.nan
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


def truth_filter(orders: Orders | pd.DataFrame, utm_source: str = "tiktok",
                 require_ttclid_or_utm: bool = True) -> pd.DataFrame:
    """The TikTok-attributable orders: utm_source equal to `utm_source` (case-insensitive) or a ttclid,
    or, when `utm_source` names TikTok, a landing/referring URL on tiktok.com (a referring-site column
    mapped as the landing site).

    With require_ttclid_or_utm=False every order is kept (a gap against all orders). An empty
    `utm_source` keeps only orders with a ttclid. TikTok appends ttclid to ad landing URLs (contract §6.4).
    """
    frame = orders.frame if isinstance(orders, Orders) else orders
    if not require_ttclid_or_utm:
        return frame.reset_index(drop=True)
    utm = frame.get("utm_source", pd.Series("", index=frame.index)).astype("string").fillna("")
    clid = frame.get("ttclid", pd.Series("", index=frame.index)).astype("string").fillna("")
    want = utm_source.strip().lower()
    mask = (clid.str.strip() != "")
    if want:
        mask = mask | (utm.str.strip().str.lower() == want)
    if want == "tiktok" and "landing_site" in frame.columns:
        site = frame["landing_site"].astype("string").fillna("")
        mask = mask | site.str.contains(_TIKTOK_SITE, case=False, regex=True).fillna(False).astype(bool)
    return frame[mask.to_numpy(dtype=bool)].reset_index(drop=True)


def _distinct_user_agents(user_agents: pd.Series) -> tuple[np.ndarray, list[str], list[str], list[int]]:
    """(code per row, browser family, OS family, OS major per distinct user agent), each parsed once."""
    from ua_parser import parse

    # hash-factorize (no sort of a million Python strings); "" stays a value of its own
    inv, uniq = pd.factorize(user_agents.astype("string").fillna(""), use_na_sentinel=False)
    fam: list[str] = []
    osf: list[str] = []
    osm: list[int] = []
    for text in list(uniq):  # distinct user agents only: a month has thousands, not a million
        if not text:
            fam.append("unknown")
            osf.append("unknown")
            osm.append(-1)
            continue
        r = parse(text)
        fam.append(r.user_agent.family if r.user_agent else "Other")
        osf.append(r.os.family if r.os else "Other")
        osm.append(int(r.os.major) if r.os and r.os.major and r.os.major.isdigit() else -1)
    return np.asarray(inv, dtype=np.int64), fam, osf, osm


def parse_user_agents(user_agents: pd.Series) -> pd.DataFrame:
    """browser family and OS family/major per user agent, parsing each distinct string once (ua-parser)."""
    inv, fam, osf, osm = _distinct_user_agents(user_agents)
    return pd.DataFrame({"browser": np.array(fam, dtype=object)[inv], "os_family": np.array(osf, dtype=object)[inv],
                         "os_major": np.array(osm, dtype=np.int64)[inv]})


def _labels(labels: list[str], codes: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """labels[codes] as a text column, by Arrow's take rather than a million Python strings."""
    return pd.array(labels, dtype="str").take(np.asarray(codes, dtype=np.int64))


def segment_columns(orders: Orders | pd.DataFrame) -> pd.DataFrame:
    """The orders frame plus SEGMENT_DIMENSIONS columns (labels ready for charts).

    browser ("Mobile Safari"), os ("iOS 17"), ios_ltp ("iOS 17+" / "iOS ≤16" / "not iOS"), cookie_age
    ("≤7 d" / ">7 d" / "unknown"), page_load ("≤5 s" / ">5 s" / "unknown"), day ("YYYY-MM-DD" UTC).
    """
    frame = (orders.frame if isinstance(orders, Orders) else orders).reset_index(drop=True).copy(deep=False)
    ua = frame["user_agent"] if "user_agent" in frame else pd.Series("", index=frame.index)
    # labels are worked out per distinct user agent, then spread to the rows
    inv, fam, osf, osm = _distinct_user_agents(ua)
    frame["browser"] = _labels(fam, inv)
    frame["os"] = _labels([f"{f} {m}" if m >= 0 else f for f, m in zip(osf, osm, strict=True)], inv)
    ltp = [f"iOS {LTP_IOS_MAJOR}+" if f == "iOS" and m >= LTP_IOS_MAJOR else f"iOS ≤{LTP_IOS_MAJOR - 1}"
           if f == "iOS" else "not iOS" for f, m in zip(osf, osm, strict=True)]
    frame["ios_ltp"] = _labels(ltp, inv)
    age = pd.to_numeric(frame.get("cookie_age_days", pd.Series(np.nan, index=frame.index)), errors="coerce")
    frame["cookie_age"] = _labels(["unknown", f">{COOKIE_AGE_DAYS} d", f"≤{COOKIE_AGE_DAYS} d"],
                                  np.where(age.isna(), 0, np.where(age > COOKIE_AGE_DAYS, 1, 2)))
    load = pd.to_numeric(frame.get("page_load_s", pd.Series(np.nan, index=frame.index)), errors="coerce")
    frame["page_load"] = _labels(["unknown", f">{SLOW_PAGE_S:g} s", f"≤{SLOW_PAGE_S:g} s"],
                                 np.where(load.isna(), 0, np.where(load > SLOW_PAGE_S, 1, 2)))
    created = frame["created_at"] if "created_at" in frame else pd.Series(pd.NaT, index=frame.index)
    days = pd.to_datetime(created, utc=True, errors="coerce").dt.floor("D")
    codes, uniq = pd.factorize(days)  # format each distinct day once, not a million times
    labels = [*pd.DatetimeIndex(uniq).strftime("%Y-%m-%d").tolist(), ""]
    frame["day"] = _labels(labels, codes)  # code -1 (no date) takes the trailing ""
    return frame


# --- guessing a mapping (the column-mapping step) -------------------------------------------------
# The columns a person maps: the required ones, then the TikTok attribution (any one is enough).
MAPPABLE: Final = (*REQUIRED, "utm_source", "ttclid", "landing_site")
LABELS: Final = {
    "order_id": "Order number", "created_at": "Order date and time", "total": "Order total",
    "currency": "Currency", "utm_source": "Traffic source (utm_source)", "ttclid": "TikTok click id (ttclid)",
    "landing_site": "Landing or referring page URL (utm_source / ttclid read from it)",
}
_CURRENCY_RE: Final = r"^[A-Z]{3}$"
_MONEY_RE: Final = r"^[^\d\-]{0,4}-?\d[\d,]*(?:\.\d{1,2})?\s*[A-Za-z$€£¥]{0,3}$"


def read_sample(data: bytes, rows: int = 200) -> pd.DataFrame:
    """The first `rows` rows of an uploaded CSV as text ("" for blanks); an empty frame when unreadable."""
    import io

    try:
        return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, nrows=rows, encoding="utf-8-sig")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError, ValueError):
        return pd.DataFrame()


def sample_values(sample: pd.DataFrame, column: str, n: int = 3) -> list[str]:
    """Up to `n` distinct non-blank values of `column` in the sample, shortened for display."""
    if column not in sample.columns:
        return []
    values = sample[column].astype("string").fillna("").str.strip()
    return [v if len(v) <= 40 else v[:39] + "…" for v in values[values != ""].drop_duplicates().head(n)]


def _share(values: pd.Series, test: pd.Series) -> float:
    filled = values != ""
    return float(test[filled].mean()) if filled.any() else 0.0


def _value_scores(values: pd.Series) -> dict[str, float]:
    """How much a column's values look like each mappable column (0..1)."""
    v = values.astype("string").fillna("").str.strip()
    lower = v.str.lower()
    numeric = pd.to_numeric(v.str.lstrip("#"), errors="coerce").notna()
    dated = parse_created_at(v).notna() & ~numeric
    distinct = v[v != ""].nunique() / max(int((v != "").sum()), 1)
    return {
        "created_at": _share(v, dated),
        "currency": _share(v, v.str.fullmatch(_CURRENCY_RE).fillna(False).astype(bool)),
        "total": _share(v, v.str.fullmatch(_MONEY_RE).fillna(False).astype(bool) & v.str.contains(".", regex=False))
        * 0.9,
        "order_id": _share(v, numeric & (v.str.len() <= 20)) * distinct,
        "utm_source": float(lower.isin(["tiktok", "google", "facebook", "instagram", "email"]).any()) * 0.8,
        "ttclid": _share(v, v.str.startswith("E.C.P.") | v.str.fullmatch(r"[A-Za-z0-9._\-]{30,}").fillna(False)
                         .astype(bool)) * 0.9,
        "landing_site": _share(v, v.str.contains(r"^(?:https?://|/)\S*\?", regex=True)),
        "user_agent": _share(v, v.str.startswith("Mozilla/")),
    }


def guess_mapping(sample: pd.DataFrame) -> dict[str, str]:
    """canonical column -> the sample's column that looks like it: known names first, then the values.

    Each file column is used once; a column is guessed from values only when over half its values fit
    (dates that parse, three-letter currency codes, money amounts, distinct order numbers, utm values,
    click ids, URLs with a query string, user agents).
    """
    found = suggest_mapping(sample.columns)
    taken = set(found.values())
    scores = {c: _value_scores(sample[c]) for c in sample.columns if c not in taken}
    for canon in ("created_at", "currency", "total", "order_id", "landing_site", "ttclid", "user_agent",
                  "utm_source"):
        if canon in found:
            continue
        best = max(((s[canon], c) for c, s in scores.items() if c not in taken), default=(0.0, ""))
        if best[0] > 0.5:
            found[canon] = best[1]
            taken.add(best[1])
    return found
