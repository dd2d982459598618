"""What TikTok itself counted: the Marketing API's Pixel event statistics and Pixel settings, read back.

TikTok (../shared/field-2026.md 1.12; bububa/tiktok-business model/pixel/event_stats.go and pixel.go):
    GET /open_api/v1.3/pixel/event/stats/?advertiser_id=A&pixel_ids=["ID"]&date_range={"start_date","end_date"}
        -> data.list[{pixel_id, statistics[{pixel_event_type | custom_event_type, total_count,
           browser_event_total_count, server_event_total_count, attributed_count, preview_count}]}]
    GET /open_api/v1.3/pixel/list/?advertiser_id=A&code=C
        -> data.pixels[{pixel_id, pixel_code, pixel_name, advanced_matching_fields{email, phone_number},
           events[...]}], data.page_info
Same envelope and `Access-Token` header as the Events API; errors arrive as HTTP 200 with a non-zero code.
At most 10 Pixel ids and 30 days per request; days are UTC (Events Manager uses the advertiser's time
zone, so it "may differ slightly"); the Pixel's event data refreshes every 2-4 hours.

Readings we could not settle, so both are handled:
- The statistics carry no day: one range gives one total per event type. Per-day rows therefore come
  from one request per UTC day; a statistic that does carry a day (`date` / `stat_time_day`) is
  bucketed by it instead.
- `pixel_ids` may want the numeric Pixel id or the Pixel code: the code is resolved to its id through
  /pixel/list/ first, and the code itself is asked for when the list does not know it.
- `pixel_event_type` is documented as the ad-creation event name (e.g. SHOPPING) in one place and typed
  as the web event name (Purchase) in another: the known ad-creation names map to web names, others pass.
- `preview_count` is described as events from ad previews; the console reports it as "preview" (test
  events, as TikTok reports them). Whether Test Events codes land there is not documented.

The token lives only in the httpx client's headers: never in a result, an error message or a log.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

import httpx

from core.contract import ACCESS_TOKEN_HEADER, REDACTED, describe_code
from core.errors import ConfigError, ConsoleError, InvalidInput

STATS_PATH: Final = "/open_api/v1.3/pixel/event/stats/"
PIXEL_LIST_PATH: Final = "/open_api/v1.3/pixel/list/"
MAX_PIXEL_IDS: Final = 10
MAX_RANGE_DAYS: Final = 30
DEFAULT_DAYS: Final = 7
USER_AGENT: Final = "tiktok-events-console/0.1 (+httpx; readback)"
UTC_NOTE: Final = ("TikTok buckets these counts by UTC day (Events Manager shows your advertiser time zone, so "
                   "its numbers may differ slightly) and refreshes them every few hours (2-4 h): today's and "
                   "the last hours' counts are not final.")
# TikTok codes whose fix is the user's own input (token, advertiser id, Pixel, dates): CLI exit 2
USAGE_CODES: Final = frozenset((40000, 40001, 40002, 40003, 40007, 40011, 40102, 40104, 40105, 40130,
                                40300, 40301))
# ad-creation event names (the "optimization event" column) -> the web event names the body uses
AD_EVENT_NAMES: Final = {
    "SHOPPING": "Purchase", "COMPLETE_PAYMENT": "Purchase", "ON_WEB_ORDER": "PlaceAnOrder",
    "ON_WEB_CART": "AddToCart", "ON_WEB_DETAIL": "ViewContent", "INITIATE_ORDER": "InitiateCheckout",
    "ADD_BILLING": "AddPaymentInfo", "ON_WEB_REGISTER": "CompleteRegistration", "FORM": "Lead",
    "ON_WEB_SUBSCRIBE": "Subscribe", "ON_WEB_SEARCH": "Search", "ON_WEB_ADD_TO_WISHLIST": "AddToWishlist",
    "PAGE_VIEW": "Pageview", "CONTACT": "Contact", "DOWNLOAD_START": "Download",
}
_DAY_KEYS: Final = ("date", "stat_time_day", "day")
MAX_ANSWER_BYTES: Final = 16 * 1024 * 1024  # TikTok's answers are kilobytes; more is not a statistics answer
MAX_PAGES: Final = 20  # /pixel/list/ pages followed to find the Pixel (20 Pixels a page)
RETRY_AFTER_CAP_S: Final = 60.0


class TikTokRefused(ConsoleError):
    """TikTok answered a Marketing API read with a non-zero code (or no envelope); `code`, `request_id`.

    `usage` is True when the fix is the caller's input (token, advertiser id, Pixel, dates): exit 2.
    """

    def __init__(self, message: str, *, code: int | None, request_id: str | None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.code = code
        self.request_id = request_id
        self.usage = code in USAGE_CODES


@dataclass(frozen=True, slots=True)
class StatsRow:
    """TikTok's count of one event type on one UTC day: browser + server = total; preview apart."""

    day: str
    event: str
    browser: int
    server: int
    total: int
    preview: int
    attributed: int = 0

    def as_dict(self) -> dict[str, Any]:
        """Plain dict for JSON output."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class PixelInfo:
    """One Pixel as /pixel/list/ describes it; `advanced_matching` None when TikTok did not say."""

    pixel_id: str
    pixel_code: str
    name: str = ""
    advanced_matching: dict[str, bool] | None = None
    events: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """Plain dict for JSON output."""
        return {"pixel_id": self.pixel_id, "pixel_code": self.pixel_code, "name": self.name,
                "advanced_matching": self.advanced_matching, "events": list(self.events)}


@dataclass(slots=True)
class Readback:
    """What TikTok counted for one Pixel over UTC days `since`..`until`, and its settings."""

    pixel_code: str
    advertiser_id: str
    since: str
    until: str
    rows: list[StatsRow] = field(default_factory=list)
    pixel: PixelInfo | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """`{"rows": [{day, event, browser, server, total, preview}], "attributed", "pixel", ...}` (no token).

        The row keys are the CLI's contract, exactly; TikTok's attributed counts are listed apart.
        """
        keys = ("day", "event", "browser", "server", "total", "preview")
        return {"rows": [{k: getattr(r, k) for k in keys} for r in self.rows],
                "attributed": [{"day": r.day, "event": r.event, "attributed": r.attributed}
                               for r in self.rows if r.attributed],
                "pixel_code": self.pixel_code,
                "advertiser_id": self.advertiser_id, "since": self.since, "until": self.until,
                "pixel": self.pixel.as_dict() if self.pixel else None, "timezone": "UTC", "notes": list(self.notes)}


# --- days ---------------------------------------------------------------------------------------------
def parse_day(text: str, what: str) -> date:
    """A YYYY-MM-DD day; InvalidInput naming `what` (e.g. --since) and the format otherwise."""
    try:
        return date.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        raise InvalidInput(f"{what} {text!r} is not a day.", hint="Use YYYY-MM-DD, e.g. 2026-05-14 (UTC).") from None


def day_range(since: str | None, until: str | None, *, today: date | None = None) -> list[date]:
    """The UTC days asked for: default the last 7 days to today; at most 30 days, since <= until.

    TikTok: /pixel/event/stats/ takes at most a 30-day range, in UTC.
    """
    today = today or datetime.now(UTC).date()
    end = parse_day(until, "--until") if until else today
    start = parse_day(since, "--since") if since else end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise InvalidInput(f"--since {start} is after --until {end}.", hint="Swap them: since is the first day.")
    days = (end - start).days + 1
    if days > MAX_RANGE_DAYS:
        raise InvalidInput(f"{start}..{end} is {days} days; TikTok returns at most {MAX_RANGE_DAYS}.",
                           hint="Ask for 30 days or fewer (run it twice for a longer span).")
    return [start + timedelta(days=i) for i in range(days)]


def utc_day(epoch_seconds: float) -> str:
    """The UTC day (YYYY-MM-DD) of a Unix time: how TikTok buckets its statistics."""
    return datetime.fromtimestamp(epoch_seconds, UTC).date().isoformat()


# --- parsing TikTok's answers ---------------------------------------------------------------------------
def _count(value: object) -> int:
    """A count as TikTok may write it (int, float, digit string); 0 for anything else, negative or absurd."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 18:
        return int(value.strip())
    if isinstance(value, int | float):
        try:
            count = int(value)
        except (OverflowError, ValueError):  # inf / nan (json reads Infinity, NaN and 1e999)
            return 0
        return count if 0 <= count < 10**18 else 0
    return 0


def _items(value: object) -> list[Any]:
    """The dicts of a JSON list; nothing when TikTok sent another shape (null, a number, an object)."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _own_day(stat: Mapping[str, Any], asked: str) -> str:
    """The day a statistic carries itself (`date`, `stat_time_day`, `day`), when it is one; else `asked`."""
    for key in _DAY_KEYS:
        value = stat.get(key)
        if isinstance(value, str) and value.strip():
            try:
                return date.fromisoformat(value.strip()[:10]).isoformat()
            except ValueError:
                continue
    return asked


def event_name(stat: Mapping[str, Any]) -> str:
    """The web event name of one statistic: the custom name, else the standard type (ad names mapped)."""
    custom = stat.get("custom_event_type")
    if isinstance(custom, str) and custom.strip():
        return custom.strip()
    raw = str(stat.get("pixel_event_type") or stat.get("event_type") or stat.get("event") or "").strip()
    return AD_EVENT_NAMES.get(raw, raw)[:200] or "(unnamed)"


def parse_stats(data: Mapping[str, Any], day: str, pixel_ids: Iterable[str] = ()) -> list[StatsRow]:
    """StatsRows from a /pixel/event/stats/ `data` (asked for one UTC `day`), summed per day and event.

    Only the Pixels in `pixel_ids` count (all when empty). A statistic with its own day key is put on
    that day. total is TikTok's total_count, else browser + server.
    """
    wanted = set(pixel_ids)
    sums: dict[tuple[str, str], list[int]] = {}
    for item in _items(data.get("list")):
        if wanted and str(item.get("pixel_id", "")) not in wanted:
            continue
        for stat in _items(item.get("statistics")):
            own_day = _own_day(stat, day)
            browser = _count(stat.get("browser_event_total_count"))
            server = _count(stat.get("server_event_total_count"))
            total = _count(stat.get("total_count")) if "total_count" in stat else browser + server
            acc = sums.setdefault((own_day, event_name(stat)), [0, 0, 0, 0, 0])
            for i, v in enumerate((browser, server, total, _count(stat.get("preview_count")),
                                   _count(stat.get("attributed_count")))):
                acc[i] += v
    return [StatsRow(d, e, *v) for (d, e), v in sorted(sums.items())]


def parse_pixels(data: Mapping[str, Any]) -> list[PixelInfo]:
    """PixelInfos from a /pixel/list/ `data` (`pixels[]`; `list[]` read too)."""
    out = []
    for p in _items(data.get("pixels")) or _items(data.get("list")):
        am = p.get("advanced_matching_fields")
        matching = ({"email": bool(am.get("email")), "phone_number": bool(am.get("phone_number"))}
                    if isinstance(am, dict) else None)
        events = tuple(str(e.get("name") or e.get("event_type") or e.get("custom_event_type") or "")
                       for e in _items(p.get("events")))
        out.append(PixelInfo(str(p.get("pixel_id") or ""), str(p.get("pixel_code") or p.get("code") or ""),
                             str(p.get("pixel_name") or p.get("name") or ""), matching,
                             tuple(e for e in events if e)))
    return out


# --- the client ----------------------------------------------------------------------------------------
def _retry_after(value: str | None) -> float | None:
    """Seconds a Retry-After header asks for (delta-seconds form), capped; None when absent or unreadable."""
    try:
        seconds = float((value or "").strip())
    except ValueError:
        return None
    return min(max(seconds, 0.0), RETRY_AFTER_CAP_S) if seconds == seconds else None

def _refusal(code: int | None, message: str, request_id: str | None, path: str) -> TikTokRefused:
    what = "pixel list" if path == PIXEL_LIST_PATH else "event statistics"
    if code is None:
        return TikTokRefused(f"No TikTok answer for the {what} (no JSON envelope came back): {message}", code=None,
                             request_id=request_id, hint="Check --base-url (it should be TikTok's Business "
                                                         "API or the emulator) and try again later.")
    info = describe_code(code)
    rid = f" (request_id {request_id})" if request_id else ""
    hint = info.fix
    if code in (40104, 40105, 40102, 40130):
        hint = ("Use a Marketing API token with access to this advertiser: set TIKTOK_MARKETING_TOKEN (else "
                "TIKTOK_ACCESS_TOKEN is used). A Pixel's Events API token cannot read statistics.")
    elif code in (40001, 40300, 40301):
        hint = "Check TEC_ADVERTISER_ID / --advertiser-id and that the token's user may see this advertiser."
    return TikTokRefused(f"TikTok refused the {what}: {code} {info.name}: {message}{rid}.", code=code,
                         request_id=request_id, hint=hint)


class MarketingClient:
    """GETs on TikTok's Marketing API with the token in the header, retrying transient failures.

    Retries like core.transport: codes TikTok marks retryable (40100, 50000, ...), HTTP 429/5xx and
    broken connections, with capped exponential backoff. `transport` and `sleep` are injectable.
    """

    def __init__(self, base_url: str, token: str, *, timeout_s: float = 10.0, max_attempts: int = 4,
                 backoff_base_s: float = 0.5, transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if not token.strip():
            raise ConfigError("No Marketing API token: set TIKTOK_MARKETING_TOKEN (or TIKTOK_ACCESS_TOKEN).",
                              hint="An advertiser's access token with the Pixel/Measurement scope; read from the "
                                   "environment or .streamlit/secrets.toml, never stored.")
        self.base_url = base_url.rstrip("/")
        self._token = token.strip()
        self._attempts = max(1, max_attempts)
        self._backoff = backoff_base_s
        self._sleep = sleep
        self._timeout = timeout_s
        self._client = httpx.Client(transport=transport, timeout=timeout_s,
                                    headers={"User-Agent": USER_AGENT, ACCESS_TOKEN_HEADER: self._token})

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def __enter__(self) -> MarketingClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _scrub(self, text: str) -> str:
        return text.replace(self._token, REDACTED) if self._token and self._token in text else text

    def _scrub_shown(self, text: str) -> str:
        """Text from an answer made safe to print: token gone, control characters and runs of space folded."""
        return " ".join("".join(c if c.isprintable() else " " for c in self._scrub(text)).split())

    def _read(self, path: str, params: Mapping[str, str]) -> tuple[httpx.Response, bytes]:
        """The answer and at most MAX_ANSWER_BYTES of its body, read within the client's timeout overall."""
        deadline = time.monotonic() + self._timeout
        with self._client.stream("GET", self.base_url + path, params=dict(params)) as resp:
            chunks: list[bytes] = []
            size = 0
            for chunk in resp.iter_bytes():
                size += len(chunk)
                if size > MAX_ANSWER_BYTES:
                    raise httpx.DecodingError(f"the answer is over {MAX_ANSWER_BYTES // 2**20} MB")
                if time.monotonic() > deadline:  # a trickle: each read is in time, the whole is not
                    raise httpx.ReadTimeout(f"the answer took over {self._timeout:g} s")
                chunks.append(chunk)
            return resp, b"".join(chunks)

    def _once(self, path: str, params: Mapping[str, str]) -> tuple[dict[str, Any] | None, TikTokRefused | None,
                                                                  float | None]:
        """(data, None-or-refusal, seconds to wait before a retry or None when not retryable) for one attempt."""
        try:
            resp, raw = self._read(path, params)
        except httpx.HTTPError as exc:
            return None, _refusal(None, self._scrub_shown(f"{type(exc).__name__}: {exc}"), None, path), 0.0
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):
            body = None
        request_id = resp.headers.get("X-Tt-Logid")
        code = body.get("code") if isinstance(body, dict) else None
        if isinstance(code, str) and code.strip().isdigit() and len(code.strip()) < 10:
            code = int(code.strip())
        wait = _retry_after(resp.headers.get("Retry-After"))
        if not isinstance(code, int) or isinstance(code, bool) or not isinstance(body, dict):
            text = self._scrub_shown(raw[:300].decode("utf-8", "replace"))[:200] or "(empty)"
            retry = resp.status_code == 429 or resp.status_code >= 500
            refusal = _refusal(None, f"HTTP {resp.status_code} {text}", request_id, path)
            return None, refusal, (wait or 0.0) if retry else None
        request_id = self._scrub_shown(str(body.get("request_id") or request_id or ""))[:100] or None
        if code == 0:
            data = body.get("data")
            return (data if isinstance(data, dict) else {}), None, None
        message = self._scrub_shown(str(body.get("message") or ""))[:300]
        retry = describe_code(code).retry or resp.status_code == 429
        return None, _refusal(code, message, request_id, path), (wait or 0.0) if retry else None

    def get(self, path: str, params: Mapping[str, str]) -> dict[str, Any]:
        """`data` of a GET on `path`; raises TikTokRefused with TikTok's code and message when refused.

        Retries transient failures with capped exponential backoff; a Retry-After header wins when longer
        (capped at 60 s).
        """
        for n in range(1, self._attempts + 1):
            data, refusal, wait = self._once(path, params)
            if data is not None:
                return data
            if refusal is not None and (wait is None or n == self._attempts):
                raise refusal
            backoff = min(30.0, self._backoff * (2 ** (n - 1))) * (0.5 + random.random() / 2)
            self._sleep(max(backoff, wait or 0.0))
        raise AssertionError("unreachable")  # pragma: no cover

    def pixel_list(self, advertiser_id: str, pixel_code: str) -> list[PixelInfo]:
        """The advertiser's Pixels with this code (TikTok filters by `code`)."""
        pixels: list[PixelInfo] = []
        for page in range(1, MAX_PAGES + 1):  # TikTok pages the list; the Pixel may be on a later page
            data = self.get(PIXEL_LIST_PATH, {"advertiser_id": advertiser_id, "code": pixel_code,
                                              "page": str(page), "page_size": "20"})
            pixels.extend(parse_pixels(data))
            info = data.get("page_info")
            total = _count(info.get("total_page")) if isinstance(info, dict) else 1
            if page >= total or any(p.pixel_code == pixel_code for p in pixels):
                break
        return pixels

    def event_stats(self, advertiser_id: str, pixel_ids: list[str], start: str, end: str) -> dict[str, Any]:
        """The raw `data` of /pixel/event/stats/ for up to 10 Pixel ids over UTC days start..end."""
        if not 1 <= len(pixel_ids) <= MAX_PIXEL_IDS:
            raise InvalidInput(f"{len(pixel_ids)} Pixel ids: TikTok takes 1 to {MAX_PIXEL_IDS} per request.",
                               hint="Ask for fewer Pixels at once.")
        return self.get(STATS_PATH, {"advertiser_id": advertiser_id, "pixel_ids": json.dumps(pixel_ids),
                                     "date_range": json.dumps({"start_date": start, "end_date": end})})


def read_stats(client: MarketingClient, *, pixel_code: str, advertiser_id: str, days: list[date]) -> Readback:
    """What TikTok counted for `pixel_code` on each UTC day in `days`, with the Pixel's settings.

    One /pixel/list/ call resolves the code to TikTok's Pixel id, then one /pixel/event/stats/ call per
    day (the statistics carry no day of their own). Raises InvalidInput for a missing code or advertiser
    id, TikTokRefused when TikTok refuses.
    """
    code, advertiser = pixel_code.strip(), advertiser_id.strip()
    if not code:
        raise InvalidInput("No Pixel code.", hint="Pass --pixel-code (Events Manager > Data sources) or set "
                                                  "TEC_PIXEL_CODE.")
    if not advertiser:
        raise InvalidInput("No advertiser id.", hint="Pass --advertiser-id or set TEC_ADVERTISER_ID (TikTok Ads "
                                                     "Manager: the number under your account name).")
    out = Readback(code, advertiser, days[0].isoformat(), days[-1].isoformat(), notes=[UTC_NOTE])
    pixels = [p for p in client.pixel_list(advertiser, code) if p.pixel_code in ("", code)]
    out.pixel = pixels[0] if pixels else None
    if out.pixel is None:
        out.notes.append(f"/pixel/list/ does not list {code} for advertiser {advertiser}; asked for the statistics "
                         "by the Pixel code itself.")
    elif out.pixel.advanced_matching is not None and not any(out.pixel.advanced_matching.values()):
        out.notes.append("Advanced matching is off for this Pixel: it sends no hashed email or phone.")
    asked = [out.pixel.pixel_id] if out.pixel and out.pixel.pixel_id else [code]
    for day in days:
        data = client.event_stats(advertiser, asked, day.isoformat(), day.isoformat())
        out.rows.extend(parse_stats(data, day.isoformat(), {*asked, code}))
    return out


# --- beside the console's own counts --------------------------------------------------------------------
def console_counts(sent: Iterable[tuple[Mapping[str, Any], Any, str]], pixel_code: str,
                   days: Iterable[str]) -> dict[tuple[str, str], dict[str, int]]:
    """(UTC day, event) -> {"accepted", "test"}: the server events the console had accepted for this Pixel.

    `sent` is core.store.Store.iter_sent_events(): (top-level fields, event, outbox status). Test events
    (a test_event_code on the body) are counted apart, as TikTok keeps them out of its totals.
    """
    wanted = set(days)
    out: dict[tuple[str, str], dict[str, int]] = {}
    for top, event, status in sent:
        if status != "accepted" or str(top.get("event_source_id", "")) != pixel_code or not isinstance(event, dict):
            continue
        try:
            day = utc_day(float(event.get("event_time")))  # type: ignore[arg-type]
        except (TypeError, ValueError, OverflowError, OSError):
            continue
        if day in wanted:
            slot = out.setdefault((day, str(event.get("event", ""))), {"accepted": 0, "test": 0})
            slot["test" if top.get("test_event_code") else "accepted"] += 1
    return out


def orders_per_day(created_at: Iterable[Any]) -> dict[str, int]:
    """UTC day -> orders, from order times (datetimes, pandas Timestamps or Unix seconds); blanks skipped."""
    out: dict[str, int] = {}
    for value in created_at:
        if value is None or value != value:  # None or NaN / NaT
            continue
        if isinstance(value, datetime):
            moment = value if value.tzinfo else value.replace(tzinfo=UTC)
            day = moment.astimezone(UTC).date().isoformat()
        else:
            try:
                day = utc_day(float(value))
            except (TypeError, ValueError, OverflowError, OSError):
                continue
        out[day] = out.get(day, 0) + 1
    return out


def side_by_side(readback: Readback, console: Mapping[tuple[str, str], Mapping[str, int]],
                 orders: Mapping[str, int] | None = None, *, order_event: str = "Purchase") -> list[dict[str, Any]]:
    """One row per (day, event) either side saw: TikTok's counts beside the console's, and orders for Purchase."""
    keys = sorted({(r.day, r.event) for r in readback.rows} | set(console))
    tiktok = {(r.day, r.event): r for r in readback.rows}
    rows = []
    for day, event in keys:
        t = tiktok.get((day, event))
        c = console.get((day, event), {})
        rows.append({"day": day, "event": event, "tiktok_browser": t.browser if t else 0,
                     "tiktok_server": t.server if t else 0, "tiktok_total": t.total if t else 0,
                     "tiktok_preview": t.preview if t else 0, "tiktok_attributed": t.attributed if t else 0,
                     "console_accepted": c.get("accepted", 0),
                     "console_test": c.get("test", 0),
                     "orders": (orders or {}).get(day) if orders is not None and event == order_event else None})
    return rows


def sentence(row: Mapping[str, Any]) -> str:
    """"TikTok counted 480 browser and 610 server Purchase events on 2026-05-14; your orders say 670"."""
    text = (f"TikTok counted {row['tiktok_browser']} browser and {row['tiktok_server']} server {row['event']} "
            f"events on {row['day']}")
    if row.get("tiktok_preview"):
        text += f" (and {row['tiktok_preview']} test/preview events kept apart)"
    text += f"; the console had {row['console_accepted']} accepted"
    if row.get("console_test"):
        text += f" (+{row['console_test']} test)"
    if row.get("orders") is not None:
        text += f"; your orders say {row['orders']}"
    return text + "."
