"""A seeded synthetic store month: orders, browser Pixel events and server events with real loss modes.

The rates in LOSS_MODES are ILLUSTRATIVE (chosen to make every chart show something), not measurements;
docs/demo.md restates the table. Everything is vectorized numpy (plus DuckDB for SHA-256 and file
writing), so a million orders take seconds. The same seed always gives the same store.

Shapes: `orders` has the canonical columns of core.orders (plus customer fields); `pixel` has
core.pixel's row columns (timestamp as float UTC seconds); `server` has core.events.SERVER_COLUMNS
(event_time as float UTC seconds, identifiers SHA-256 hex as sent, order_id from properties.order_id).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Final

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from core.errors import InvalidInput

DEMO_PIXEL_CODE: Final = "CDEMO0STORE1MONTH234"
DEMO_DOMAIN: Final = "demo-store.example"
EVENT_ID_TEMPLATE: Final = "ord_{order_id}_purchase"
MAX_ORDERS: Final = 5_000_000

# (rate, what happens) — one documented table; tests read the rates from here, never hard-code them.
LOSS_MODES: Final[dict[str, tuple[float, str]]] = {
    "tiktok_share": (0.45, "orders whose visit came from TikTok (utm_source=tiktok)"),
    "ttclid_on_tiktok": (0.90, "TikTok visits whose landing URL kept the ttclid"),
    "ltp_strip": (0.50, "iOS 17+ Safari visits where Link Tracking Protection stripped ttclid (utm kept)"),
    "itp_cookie_truncation": (1.00, "Safari visitors with cookies older than 7 days: the Pixel sends a "
                                    "fresh _ttp and no ttclid (ITP caps script-set cookies at 7 days)"),
    "slow_page_loss": (0.45, "thank-you pages loading in over 5 s: the Pixel never fires"),
    "consent_denied": (0.05, "visitors declining the cookie banner: no Pixel event"),
    "pixel_reload": (0.07, "thank-you page reloaded: a second Pixel event, same event_id, within hours"),
    "pixel_revisit": (0.005, "order-status page revisited after 3+ days: a Pixel repeat past 48 h"),
    "pixel_no_event_id": (0.02, "theme snippet firing Purchase without event_id"),
    "webhook_failure": (0.04, "order webhook failed: no server event"),
    "webhook_retry_late": (0.015, "webhook retried more than 48 h later, stamped with the send time"),
    "webhook_duplicate": (0.01, "webhook delivered twice within minutes (same event_id)"),
    "server_clock_skew": (0.03, "server clock 6-12 min off: the pair deduplicates instead of merging"),
    "server_no_event_id": (0.02, "legacy integration sending no event_id"),
    "server_ip_as_ip": (0.04, "server events carrying the shop's own internal address (10.x) as user.ip"),
    "server_library_ua": (0.03, "server events carrying the webhook worker's user agent (python-requests)"),
    "mangled_event_id": (0.06, "server event_id differs: 'order_' prefix, upper case, bare number, "
                               "CompletePayment instead of Purchase, or a trailing space"),
}
# Browser mix: (label, user agent, weight, ad-blocker rate blocking the Pixel, Safari ITP applies)
USER_AGENTS: Final = (
    ("Chrome Windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/124.0.0.0 Safari/537.36", 0.15, 0.27, False),
    ("Chrome Android", "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/124.0.6367.82 Mobile Safari/537.36", 0.13, 0.04, False),
    ("Safari iOS 16", "Mozilla/5.0 (iPhone; CPU iPhone OS 16_7_8 like Mac OS X) AppleWebKit/605.1.15 "
     "(KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1", 0.07, 0.06, True),
    ("Safari iOS 17", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
     "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", 0.14, 0.09, True),
    ("Safari iOS 18", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
     "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", 0.10, 0.09, True),
    ("TikTok in-app iOS", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
     "(KHTML, like Gecko) Mobile/15E148 musical_ly_34.1.0 JsSdk/2.0 NetType/WIFI Channel/App Store "
     "ByteLocale/en Region/US BytedanceWebview/d8a21c6", 0.12, 0.0, False),
    ("TikTok in-app Android", "Mozilla/5.0 (Linux; Android 14; SM-S918B Build/UP1A.231005.007; wv) "
     "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/124.0.6367.82 Mobile Safari/537.36 "
     "trill_340102 JsSdk/1.0 NetType/WIFI Channel/googleplay AppName/trill app_version/34.1.2 ByteLocale/en "
     "BytedanceWebview/d8a21c6", 0.08, 0.0, False),
    ("Safari macOS", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Version/17.4 Safari/605.1.15", 0.06, 0.18, True),
    ("Firefox Windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
     0.06, 0.38, False),
    ("Edge Windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80", 0.04, 0.20, False),
    ("Samsung Internet", "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
     "SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36", 0.05, 0.05, False),
)
_OTHER_SOURCES: Final = ("google", "facebook", "email", "instagram", "")
_PRODUCTS: Final = ("Linen shirt", "Canvas tote", "Ceramic mug", "Wool beanie", "Desk lamp", "Notebook set")


@dataclass(frozen=True)
class DemoStore:
    """One synthetic month: canonical `orders`, Pixel rows `pixel`, server rows `server`."""

    orders: pd.DataFrame
    pixel: pd.DataFrame
    server: pd.DataFrame
    seed: int
    start: date


def rate(name: str) -> float:
    """The illustrative rate of one loss mode in LOSS_MODES."""
    return LOSS_MODES[name][0]


def _sha256(values: np.ndarray) -> np.ndarray:
    """SHA-256 hex of each string, computed by DuckDB (vectorized C, no Python loop over rows)."""
    if len(values) == 0:
        return np.zeros(0, dtype=object)
    frame = pd.DataFrame({"v": values})
    con = duckdb.connect()
    try:
        con.register("v_in", frame)
        out: np.ndarray = con.execute("SELECT sha256(v) FROM v_in").fetchnumpy()["sha256(v)"].astype(object)
    finally:
        con.close()
    return out


def _blank(mask: np.ndarray, values: np.ndarray) -> np.ndarray:
    out: np.ndarray = np.where(mask, values, "").astype(object)
    return out


PUBLIC_FIRST_OCTETS = np.array(["24", "31", "46", "73", "81", "86", "90", "98", "142", "176", "185", "212"])
_ULID_ALPHABET = np.array(list("0123456789ABCDEFGHJKMNPQRSTVWXYZ"))


def _ttp_cookies(rng: np.random.Generator, n: int, prefix: str) -> np.ndarray:
    """`_ttp` values in today's shape: a 26-character ULID plus the `_.tt.1` suffix (contract §6.4)."""
    body = _ULID_ALPHABET[rng.integers(0, 32, (n, 26 - len(prefix)))]
    return np.char.add(np.char.add(prefix, body.view(f"<U{26 - len(prefix)}").ravel()), "_.tt.1").astype(object)


@dataclass
class _Month:
    """The order-level draws every later step reads (one entry per order, in time order)."""

    rng: np.random.Generator
    created: np.ndarray
    oid: np.ndarray
    ua: np.ndarray
    adblock: np.ndarray
    safari: np.ndarray
    ttclid: np.ndarray
    cookie_age: np.ndarray
    page_load: np.ndarray
    total: np.ndarray
    customer: np.ndarray
    frame: pd.DataFrame

    @property
    def event_ids(self) -> np.ndarray:
        out: np.ndarray = "ord_" + self.oid + "_purchase"
        return out


def generate_store(orders: int = 5000, seed: int = 7, start: date = date(2026, 5, 1)) -> DemoStore:
    """A month of orders from `start` with their Pixel and server Purchase events (seeded, vectorized).

    Contract: `orders` rows are canonical orders (order_id "1001"...); every Pixel/server event links to its
    order through `order_id`; event ids follow `ord_{order_id}_purchase` except the mangled share. Loss
    modes and their illustrative rates are LOSS_MODES, each applied by its own step below (in a fixed
    order, so a seed always draws the same store). Raises InvalidInput for a non-positive or huge N.
    TikTok: dedup key = Pixel code + event + event_id, 5 min merge, 48 h windows (contract §8).
    """
    if not 1 <= orders <= MAX_ORDERS:
        raise InvalidInput(f"--orders {orders} is out of range.", hint=f"Use 1 to {MAX_ORDERS:,} orders.")
    month = _orders_month(np.random.default_rng(seed), orders, start)
    fired, truncated = _pixel_fired(month), _itp_truncated(month)
    cookies = _ttp_cookies(month.rng, orders, "01J"), _ttp_cookies(month.rng, orders, "01K")
    hashed = _hashed_identities(month)
    pixel = _pixel_events(month, fired, truncated, cookies, hashed["email"])
    server = _server_events(month, cookies[0], hashed)
    return DemoStore(orders=month.frame, pixel=pixel, server=server, seed=seed, start=start)


def _hashed_identities(m: _Month) -> dict[str, np.ndarray]:
    """SHA-256 of each order's email, phone and external id, as the Events API sends them."""
    return {"email": _sha256(m.frame["email"].to_numpy(dtype=object)),
            "phone": _sha256(m.frame["phone"].to_numpy(dtype=object)),
            "external_id": _sha256("cust-" + m.customer.astype(str).astype(object))}


def _order_times(rng: np.random.Generator, n: int, start: date) -> np.ndarray:
    """Order times over a month with an evening peak (hour weights), sorted so ids rise with time."""
    t0 = datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp()
    day = rng.integers(0, 30, n)
    hour_w = np.array([1, 1, 1, 1, 1, 2, 3, 4, 5, 5, 6, 6, 6, 6, 6, 6, 7, 8, 9, 10, 10, 8, 5, 2], dtype=float)
    hour = rng.choice(24, n, p=hour_w / hour_w.sum())
    created: np.ndarray = np.round(np.sort(t0 + day * 86400.0 + hour * 3600.0 + rng.random(n) * 3600.0), 3)
    return created


def _orders_month(rng: np.random.Generator, n: int, start: date) -> _Month:
    """The orders: times, browsers, TikTok visits with their click ids (LTP strips some), cookies, totals."""
    created = _order_times(rng, n, start)
    oid = (1001 + np.arange(n)).astype(str).astype(object)
    weights = np.array([u[2] for u in USER_AGENTS])
    ua_i = rng.choice(len(USER_AGENTS), n, p=weights / weights.sum())
    ua = np.array([u[1] for u in USER_AGENTS], dtype=object)[ua_i]
    ios17_safari = np.isin(ua_i, [3, 4])  # Safari on iOS 17/18: Link Tracking Protection
    in_app = np.isin(ua_i, [5, 6])
    # in-app visits always come from TikTok; the rest is topped up to the table's share
    top_up = max(0.0, (rate("tiktok_share") - in_app.mean()) / max(1e-9, 1 - in_app.mean()))
    from_tiktok = in_app | (rng.random(n) < top_up)
    utm = np.where(from_tiktok, "tiktok", np.array(_OTHER_SOURCES, dtype=object)[rng.integers(0, 5, n)])
    clid_raw = np.char.add("E.C.P.", rng.integers(10**11, 10**12, n).astype(str)).astype(object)
    has_clid = from_tiktok & (rng.random(n) < rate("ttclid_on_tiktok"))
    has_clid &= ~(ios17_safari & (rng.random(n) < rate("ltp_strip")))
    ttclid = _blank(has_clid, clid_raw)
    cookie_age = np.where(rng.random(n) < 0.4, 0.0, np.round(rng.exponential(9.0, n), 1))
    page_load = np.round(rng.lognormal(np.log(2.2), 0.6, n), 2)
    items = 1 + rng.binomial(2, 0.18, n)
    total = np.round(rng.lognormal(np.log(48.0), 0.5, n) * items, 2)
    customer = rng.integers(0, max(1, int(n * 0.8)), n)
    cust = customer.astype(str).astype(object)
    frame = pd.DataFrame({
        "order_id": oid, "created_at": pd.to_datetime(created, unit="s", utc=True),
        "total": total, "currency": "USD", "utm_source": utm, "ttclid": ttclid, "user_agent": ua,
        "cookie_age_days": cookie_age, "page_load_s": page_load, "items": items,
        "email": "customer" + cust + "@example.com", "phone": "+1555" + np.char.zfill(customer.astype(str), 7)
        .astype(object),
    })
    return _Month(rng=rng, created=created, oid=oid, ua=ua, adblock=np.array([u[3] for u in USER_AGENTS])[ua_i],
                  safari=np.array([u[4] for u in USER_AGENTS])[ua_i], ttclid=ttclid, cookie_age=cookie_age,
                  page_load=page_load, total=total, customer=customer, frame=frame)


# --- Pixel (browser): one step per loss mode -------------------------------------------------------
def _pixel_fired(m: _Month) -> np.ndarray:
    """Orders whose thank-you page fired the Pixel: not blocked, not too slow, consent given."""
    n = len(m.oid)
    fired: np.ndarray = ((m.rng.random(n) >= m.adblock)
                         & ~((m.page_load > 5) & (m.rng.random(n) < rate("slow_page_loss")))
                         & (m.rng.random(n) >= rate("consent_denied")))
    return fired


def _itp_truncated(m: _Month) -> np.ndarray:
    """Safari visitors whose _ttp cookie ITP capped: a fresh _ttp and no ttclid on the Pixel event."""
    out: np.ndarray = m.safari & (m.cookie_age > 7) & (m.rng.random(len(m.oid)) < rate("itp_cookie_truncation"))
    return out


def _pixel_repeats(m: _Month, fired: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(order per Pixel event, its time): the first fire, reloads within hours, revisits after 3+ days."""
    f = np.flatnonzero(fired)
    reload = f[m.rng.random(f.size) < rate("pixel_reload")]
    revisit = f[m.rng.random(f.size) < rate("pixel_revisit")]
    times = np.concatenate([
        m.created[f] + m.page_load[f] + m.rng.random(f.size) * 2,
        m.created[reload] + 10 + m.rng.exponential(3600.0, reload.size),
        m.created[revisit] + 3 * 86400 + m.rng.random(revisit.size) * 86400,
    ])
    return np.concatenate([f, reload, revisit]), times


def _pixel_events(m: _Month, fired: np.ndarray, truncated: np.ndarray, cookies: tuple[np.ndarray, np.ndarray],
                  email_h: np.ndarray) -> pd.DataFrame:
    """The Pixel's Purchase rows (core.pixel's columns), sorted by time."""
    ttp_stored, ttp_fresh = cookies
    n = len(m.oid)
    p_idx, p_t = _pixel_repeats(m, fired)
    p_eid = m.event_ids[p_idx].copy()
    p_eid[m.rng.random(p_idx.size) < rate("pixel_no_event_id")] = ""
    aam = m.rng.random(n) < 0.4  # automatic advanced matching found the email on the checkout form
    oid = m.oid[p_idx]
    value_txt = np.char.mod("%.2f", m.total[p_idx]).astype(object)
    pixel = pd.DataFrame({
        "pixel_code": DEMO_PIXEL_CODE, "event": "Purchase", "event_id": p_eid,
        "timestamp": np.round(p_t, 3), "source": "pixel",
        "url": "https://" + DEMO_DOMAIN + "/checkouts/thank_you?order=" + oid,
        "referrer": "https://" + DEMO_DOMAIN + "/checkout",
        "message_id": "messageId-" + np.round(p_t * 1000).astype(np.int64).astype(str).astype(object) + "-"
                      + m.rng.integers(10**12, 10**13, p_idx.size).astype(str).astype(object),
        "email": _blank(aam[p_idx], email_h[p_idx]), "phone": "", "external_id": "",
        "ttp": np.where(truncated, ttp_fresh, ttp_stored)[p_idx], "ttclid": np.where(truncated, "", m.ttclid)[p_idx],
        "user_agent": m.ua[p_idx], "value": m.total[p_idx], "currency": "USD", "order_id": oid,
        "properties": ('{"content_type":"product","currency":"USD","order_id":"' + oid + '","value":'
                       + value_txt + "}"),
        "signal_diagnostic_labels": "",
    })
    pixel["user_keys"] = (np.where(pixel["email"] != "", "email,", "") + "ttp"
                          + np.where(pixel["ttclid"] != "", ",ttclid", ""))
    return pixel.sort_values("timestamp", kind="stable").reset_index(drop=True)


# --- server (order webhook -> Events API): one step per loss mode -----------------------------------
def _webhook_times(m: _Month) -> tuple[np.ndarray, np.ndarray]:
    """(orders whose webhook was sent, the event time): failures dropped, clock skew, late retries."""
    rng = m.rng
    sent = np.flatnonzero(rng.random(len(m.oid)) >= rate("webhook_failure"))
    k = sent.size
    delay = rng.lognormal(np.log(20.0), 0.8, k)
    skew = rng.random(k) < rate("server_clock_skew")
    delay = np.where(skew, rng.choice([-1.0, 1.0], k) * rng.uniform(360, 720, k), delay)
    late = rng.random(k) < rate("webhook_retry_late")
    delay = np.where(late, rng.uniform(49 * 3600, 80 * 3600, k), delay)
    return sent, m.created[sent] + delay


def _mangled_ids(m: _Month, sent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(event_id, event name) per sent webhook: the mangled share (prefix, case, bare number, legacy name,
    trailing space) and the integrations sending no event_id."""
    rng, eid, oid = m.rng, m.event_ids[sent], m.oid[sent]
    k = sent.size
    s_eid = eid.copy()
    s_event = np.full(k, "Purchase", dtype=object)
    mangle = rng.random(k) < rate("mangled_event_id")
    how = rng.integers(0, 5, k)
    s_eid = np.where(mangle & (how == 0), "order_" + oid + "_purchase", s_eid)
    s_eid = np.where(mangle & (how == 1), np.char.upper(eid.astype(str)).astype(object), s_eid)
    s_eid = np.where(mangle & (how == 2), oid, s_eid)
    s_event = np.where(mangle & (how == 3), "CompletePayment", s_event)
    s_eid = np.where(mangle & (how == 4), eid + " ", s_eid)
    s_eid = np.where(rng.random(k) < rate("server_no_event_id"), "", s_eid)
    return s_eid, s_event


def _customer_ips(m: _Month) -> np.ndarray:
    """Public-looking customer addresses (RIPE/ARIN-allocated blocks), never the documentation ranges,
    which TikTok cannot place and the EMQ proxy rightly scores as not public."""
    c = m.customer
    has_ip6 = m.rng.random(len(m.oid)) < 0.25
    first = PUBLIC_FIRST_OCTETS[c % len(PUBLIC_FIRST_OCTETS)].astype(object)
    out: np.ndarray = np.where(has_ip6, "2a02:810d:" + np.char.mod("%x", c % 65536).astype(object) + "::1",
                               first + "." + ((c // 7) % 256).astype(str).astype(object) + "."
                               + ((c // 256) % 256).astype(str).astype(object) + "."
                               + (1 + c % 254).astype(str).astype(object))
    return out


def _server_events(m: _Month, ttp_stored: np.ndarray, hashed: dict[str, np.ndarray]) -> pd.DataFrame:
    """The server's Purchase rows (core.events.SERVER_COLUMNS), duplicates within minutes included."""
    rng = m.rng
    sent, s_t = _webhook_times(m)
    s_eid, s_event = _mangled_ids(m, sent)
    dup = np.flatnonzero(rng.random(sent.size) < rate("webhook_duplicate"))
    take = np.concatenate([np.arange(sent.size), dup])
    s_time = np.concatenate([s_t, s_t[dup] + rng.uniform(5, 600, dup.size)])
    o = sent[take]
    ip = _customer_ips(m)
    server = pd.DataFrame({
        "pixel_code": DEMO_PIXEL_CODE, "event": s_event[take], "event_id": s_eid[take],
        "event_time": np.round(s_time, 3), "source": "server", "url": "https://" + DEMO_DOMAIN
        + "/checkouts/thank_you?order=" + m.oid[o], "value": m.total[o], "currency": "USD", "order_id": m.oid[o],
        "email": _blank(rng.random(o.size) < 0.92, hashed["email"][o]),
        "phone": _blank(rng.random(o.size) < 0.6, hashed["phone"][o]),
        "external_id": _blank(rng.random(o.size) < 0.7, hashed["external_id"][o]),
        "ttclid": _blank(rng.random(o.size) < 0.8, m.ttclid[o]),
        "ttp": _blank(rng.random(o.size) < 0.75, ttp_stored[o]),
        "ip": _blank(rng.random(o.size) < 0.85, ip[o]),
        "user_agent": _blank(rng.random(o.size) < 0.85, m.ua[o]),
        "first_name": "", "last_name": "", "zip_code": "", "test_event_code": "",
        "limited_data_use": False,
    })
    _integration_bugs(rng, server)
    server = server.sort_values("event_time", kind="stable").reset_index(drop=True)
    server["index"] = np.arange(len(server), dtype=np.int64)
    return server


def _integration_bugs(rng: np.random.Generator, server: pd.DataFrame) -> None:
    """The server's own address and user agent sent as the customer's (the EMQ proxy should catch them)."""
    own_ip = (rng.random(len(server)) < rate("server_ip_as_ip")) & (server["ip"] != "")
    server.loc[own_ip, "ip"] = "10.20.0." + pd.Series(rng.integers(2, 250, int(own_ip.sum()))).astype(str).values
    lib_ua = (rng.random(len(server)) < rate("server_library_ua")) & (server["user_agent"] != "")
    server.loc[lib_ua, "user_agent"] = "python-requests/2.32.3"


# --- files ----------------------------------------------------------------------------------------
def write_store(store: DemoStore, out_dir: str | Path) -> dict[str, Path]:
    """Write orders.csv (Shopify-like line items), pixel.csv/.jsonl (Pixel bodies), server.csv/.jsonl
    (v1.3 bodies) and README.txt into `out_dir`; returns name -> path.

    The files round-trip: `tiktok-events dedup --pixel DIR/pixel.csv --server DIR/server.csv --orders
    DIR/orders.csv` gives the same figures as simulating the frames.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / name for name in ("orders.csv", "pixel.csv", "pixel.jsonl", "server.csv",
                                           "server.jsonl", "README.txt")}
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        # Arrow tables, not pandas frames: DuckDB scans Arrow strings without Python objects
        con.register("orders_v", pa.Table.from_pandas(shopify_export(store.orders), preserve_index=False))
        con.register("pixel_v", pa.Table.from_pandas(store.pixel, preserve_index=False))
        con.register("server_v", pa.Table.from_pandas(
            store.server.rename(columns={"pixel_code": "event_source_id"}), preserve_index=False))
        for view, name in (("orders_v", "orders.csv"), ("pixel_v", "pixel.csv"), ("server_v", "server.csv")):
            con.execute(f"COPY {view} TO '{paths[name]}' (HEADER, DELIMITER ',')")
        con.execute(_PIXEL_BODIES_SQL.format(path=paths["pixel.jsonl"]))
        con.execute(_SERVER_BODIES_SQL.format(path=paths["server.jsonl"]))
    finally:
        con.close()
    readme = {
        "what": "Synthetic store month from `tiktok-events demo`; rates are illustrative, not measured.",
        "seed": store.seed, "start": store.start.isoformat(), "orders": len(store.orders),
        "pixel_events": len(store.pixel), "server_events": len(store.server),
        "loss_modes": {k: {"rate": v[0], "what": v[1]} for k, v in LOSS_MODES.items()},
        "try": "tiktok-events dedup --pixel pixel.csv --server server.csv --orders orders.csv",
    }
    paths["README.txt"].write_text(json.dumps(readme, indent=2) + "\n", encoding="utf-8")
    return paths


def shopify_export(orders: pd.DataFrame) -> pd.DataFrame:
    """Canonical demo orders as Shopify's admin export: one row per line item, order fields on the first."""
    lines = orders.loc[orders.index.repeat(orders["items"].to_numpy())].reset_index(drop=True)
    first = ~lines["order_id"].duplicated().to_numpy()
    product = np.array(_PRODUCTS, dtype=object)[(np.arange(len(lines)) * 7 + lines["order_id"].str.len()) % 6]
    created_txt = lines["created_at"].dt.strftime("%Y-%m-%d %H:%M:%S +0000").to_numpy(dtype=object)
    landing = np.where(lines["utm_source"] != "", "/products/x?utm_source=" + lines["utm_source"]
                       + "&utm_medium=paid", "/products/x")
    landing = np.where(lines["ttclid"] != "", landing + "&ttclid=" + lines["ttclid"], landing)
    landing = np.where((lines["utm_source"] == "") & (lines["ttclid"] != ""),
                       "/products/x?ttclid=" + lines["ttclid"], landing)
    each = np.round(lines["total"].to_numpy() / lines["items"].to_numpy(), 2)
    return pd.DataFrame({
        "Name": "#" + lines["order_id"],
        "Email": _blank(first, lines["email"].to_numpy()),
        "Financial Status": _blank(first, np.full(len(lines), "paid", dtype=object)),
        "Paid at": _blank(first, created_txt),
        "Currency": _blank(first, lines["currency"].to_numpy()),
        "Total": _blank(first, np.char.mod("%.2f", lines["total"].to_numpy()).astype(object)),
        "Created at": _blank(first, created_txt),
        "Lineitem quantity": "1",
        "Lineitem name": product,
        "Lineitem price": np.char.mod("%.2f", each).astype(object),
        "Landing Site": _blank(first, landing),
        "User Agent": _blank(first, lines["user_agent"].to_numpy()),
        "Cookie age (days)": _blank(first, lines["cookie_age_days"].astype(str).to_numpy()),
        "Page load (s)": _blank(first, lines["page_load_s"].astype(str).to_numpy()),
        "Phone": _blank(first, lines["phone"].to_numpy()),
    })


# Pixel wire bodies (contract §6.3), ISO timestamps with ms as the Pixel sends them.
_PIXEL_BODIES_SQL: Final = """COPY (SELECT event, NULLIF(event_id, '') AS event_id, message_id,
    strftime(make_timestamp(CAST(round(timestamp * 1000000) AS BIGINT)), '%Y-%m-%dT%H:%M:%S.%gZ')
      AS timestamp,
    {{'pixel': {{'code': pixel_code}}, 'page': {{'url': url, 'referrer': referrer}},
      'user': {{'email': NULLIF(email, ''), 'anonymous_id': NULLIF(ttp, '')}},
      'ad': {{'callback': NULLIF(ttclid, '')}}, 'userAgent': user_agent,
      'library': {{'name': 'pixel.js', 'version': '2.2.1'}}}} AS context,
    json(properties) AS properties
    FROM pixel_v) TO '{path}' (FORMAT JSON)"""
# Events API v1.3 bodies, one event each (contract §2).
_SERVER_BODIES_SQL: Final = """COPY (SELECT 'web' AS event_source, event_source_id,
    [{{'event': event, 'event_time': CAST(round(event_time) AS BIGINT),
       'event_id': NULLIF(event_id, ''),
       'user': {{'email': NULLIF(email, ''), 'phone': NULLIF(phone, ''),
                 'external_id': NULLIF(external_id, ''), 'ttclid': NULLIF(ttclid, ''),
                 'ttp': NULLIF(ttp, ''), 'ip': NULLIF(ip, ''),
                 'user_agent': NULLIF(user_agent, '')}},
       'properties': {{'currency': currency, 'value': value, 'order_id': order_id,
                       'content_type': 'product'}},
       'page': {{'url': url}}}}] AS data
    FROM server_v) TO '{path}' (FORMAT JSON)"""
