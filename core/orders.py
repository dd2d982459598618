"""The store's orders as the truth set, and the segments analysts cut the dedup gap by.

Orders are read by core.sources.orders (canonical columns). The truth set is the TikTok-attributable
orders: utm_source = tiktok or a ttclid (TikTok appends `ttclid` to landing URLs, contract §6.4);
`truth_filter` keeps the rule visible and adjustable. Segments follow the methodology analysts use:
browser family and OS major (ua-parser, unique user agents only), iOS 17+ (Link Tracking Protection strips
click ids), cookie age (7 days: Safari ITP caps script-set cookies), page load over 5 s, and day.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from core.links import TIKTOK_SITE
from core.sources.orders import REQUIRED, Orders, parse_created_at, suggest_mapping

SEGMENT_DIMENSIONS: Final = ("browser", "os", "ios_ltp", "cookie_age", "page_load", "day")
COOKIE_AGE_DAYS: Final = 7  # Safari ITP caps script-set first-party cookies (such as _ttp) at 7 days
SLOW_PAGE_S: Final = 5.0  # the page-load bucket analysts use: the Pixel often never fires after 5 s
LTP_IOS_MAJOR: Final = 17  # iOS 17 Link Tracking Protection strips click ids such as ttclid


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
        mask = mask | site.str.contains(TIKTOK_SITE, case=False, regex=True).fillna(False).astype(bool)
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
