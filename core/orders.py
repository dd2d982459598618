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

from core.sources.orders import Orders

SEGMENT_DIMENSIONS: Final = ("browser", "os", "ios_ltp", "cookie_age", "page_load", "day")
COOKIE_AGE_DAYS: Final = 7  # Safari ITP caps script-set first-party cookies (such as _ttp) at 7 days
SLOW_PAGE_S: Final = 5.0  # the page-load bucket analysts use: the Pixel often never fires after 5 s
LTP_IOS_MAJOR: Final = 17  # iOS 17 Link Tracking Protection strips click ids such as ttclid


def truth_filter(orders: Orders | pd.DataFrame, utm_source: str = "tiktok",
                 require_ttclid_or_utm: bool = True) -> pd.DataFrame:
    """The TikTok-attributable orders: utm_source equal to `utm_source` (case-insensitive) or a ttclid.

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
