"""Pixel events as rows: the PIXEL_COLUMNS record, and one Pixel wire body -> its rows.

TikTok (contract §6.3): the Pixel sends one JSON body per event. An `/act` hit may carry several pixel
codes (`context.pixel.codes = "C1|C2"`): it is one event per code. The internal `EnrichAM` probe is not
an event. The HAR reader (core.sources.har) and the export reader (core.sources.pixel) find the bodies and
build their rows here.

Decisions where the contract is silent or UNSURE (documented here, tested in tests/test_sources_pixel.py):
- `/act` hits without `event` but with `action` ("Click" with a trigger element, "Pf" with
  `page_trigger: "PageView"`) are auto-collected interactions, not `ttq.track`/`ttq.page` events: they
  carry no event_id, never deduplicate against a server event, and a "Pf"/PageView one would double-count
  the Pageview the Pixel already sent to `/api/v2/pixel`. They are skipped with kind `action_only`.
- ttp comes only from the body (`context.user.anonymous_id` / `ttp`); cookies of a request to
  analytics.tiktok.com are TikTok's third-party ones, not the site's first-party `_ttp`.
- ttclid comes from `context.ad.callback` (1.0-era builds), else the page URL's `ttclid` query parameter.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qs, unquote, urlsplit

from core.errors import InvalidPayload
from core.identity import is_sha256
from core.sources.values import as_text, parse_number, parse_time

if TYPE_CHECKING:  # pandas is loaded by the frame functions only: a Pixel body is read without it (the emulator)
    import pandas as pd

PIXEL_COLUMNS = [
    "pixel_code", "event", "event_id", "timestamp", "source", "url", "referrer", "message_id",
    "user_keys", "hashed_keys", "email", "phone", "external_id", "ttp", "ttclid", "user_agent",
    "value", "currency", "order_id", "content_ids", "content_type", "properties",
    "signal_diagnostic_labels", "identity_params", "action", "endpoint", "library", "partner",
    "http_status", "entry", "cookie_age_days", "page_load_s",
]
_FLOAT_COLUMNS = ("timestamp", "value", "cookie_age_days", "page_load_s")
_INT_COLUMNS = ("http_status", "entry")
_STRING_COLUMNS = [c for c in PIXEL_COLUMNS if c not in (*_FLOAT_COLUMNS, *_INT_COLUMNS)]
# Match keys a Pixel row can carry, in the server frame's names (core.sources.server.SERVER_COLUMNS).
PIXEL_KEY_COLUMNS = ("email", "phone", "external_id", "ttp", "ttclid")
HASHABLE_KEYS = ("email", "phone", "external_id")
# context.user key -> our column; sha256_* are ttq.identify's pre-hashed spellings (contract §6.1).
_USER_KEY_MAP = {
    "email": "email", "sha256_email": "email", "phone_number": "phone", "sha256_phone_number": "phone",
    "phone": "phone", "external_id": "external_id", "anonymous_id": "ttp", "ttp": "ttp", "ttclid": "ttclid",
}
_INTERNAL_EVENTS = {"EnrichAM": "EnrichAM is the Pixel's internal advanced-matching probe, not an event"}

SkipKind = Literal[
    "telemetry", "loader", "internal", "malformed", "no_body", "no_pixel_code", "no_event", "action_only",
    "bad_row", "other_tiktok", "redirect",
]


@dataclass(slots=True)
class Skipped:
    """One request (HAR entry) or row that was not turned into a Pixel event, and why.

    `entry` is the 0-based HAR entry or input row; `kind` a stable code for tests and counts.
    """

    entry: int
    url: str
    reason: str
    kind: str = "malformed"


@dataclass(slots=True)
class PixelImport:
    """The Pixel events found in one input plus everything skipped, with the format that was read.

    `events` has PIXEL_COLUMNS; `entries` counts HAR entries (or input items/rows) scanned; `notes`
    holds file-level remarks (e.g. "no event_id column") the page and CLI show.
    """

    events: pd.DataFrame
    skipped: list[Skipped]
    format: str
    entries: int = 0
    notes: list[str] = field(default_factory=list)

    def skipped_frame(self) -> pd.DataFrame:
        """The skipped list as a frame (entry, kind, url, reason) for display."""
        import pandas as pd

        return pd.DataFrame([asdict(s) for s in self.skipped], columns=["entry", "kind", "url", "reason"])

    def skipped_counts(self) -> dict[str, int]:
        """How many were skipped per kind."""
        counts: dict[str, int] = {}
        for s in self.skipped:
            counts[s.kind] = counts.get(s.kind, 0) + 1
        return counts

    def as_dict(self) -> dict[str, Any]:
        """`{"format", "entries", "events": [...], "skipped": [...], "notes"}`, JSON-ready (NaN -> null)."""
        return {
            "format": self.format,
            "entries": self.entries,
            "events": frame_records(self.events),
            "skipped": [asdict(s) for s in self.skipped],
            "notes": list(self.notes),
        }


class UnusableHit(InvalidPayload):
    """A Pixel body that yields no event; `kind` is the Skipped kind (EnrichAM, no pixel code, ...)."""

    def __init__(self, message: str, kind: SkipKind) -> None:
        super().__init__(message)
        self.kind: SkipKind = kind


# --- helpers -------------------------------------------------------------------------------------
def _compact(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=str)


def content_ids_of(props: Mapping[str, Any]) -> list[str]:
    """Content ids from `contents[].content_id`, else `content_ids`, else a flat `content_id`."""
    contents = props.get("contents")
    if isinstance(contents, list):
        ids = [as_text(c.get("content_id")) for c in contents if isinstance(c, dict)]
        ids = [i for i in ids if i]
        if ids:
            return ids
    raw = props.get("content_ids")
    if isinstance(raw, list):
        return [t for t in (as_text(v) for v in raw) if t]
    if raw not in (None, ""):
        return [as_text(raw)]
    single = as_text(props.get("content_id"))
    return [single] if single else []


def _decode_url(url: str) -> str:
    """Older Pixel builds URL-encode page.url ("https%3A%2F%2F..."); decode those only."""
    return unquote(url) if re.match(r"^https?%3A", url, re.IGNORECASE) else url


def _query_param(url: str, name: str) -> str:
    try:
        values = parse_qs(urlsplit(url).query).get(name)
    except ValueError:
        return ""
    return values[0] if values else ""


def dict_or_empty(value: object) -> dict[str, Any]:
    """`value` when it is a JSON object, else an empty dict (a missing or malformed section reads as empty)."""
    return value if isinstance(value, dict) else {}


# --- one body -> rows ----------------------------------------------------------------------------
def _pixel_codes(body: Mapping[str, Any], context: Mapping[str, Any]) -> list[str]:
    """Every pixel code a body names, in order, without repeats; UnusableHit when there is none."""
    pixel = dict_or_empty(context.get("pixel"))
    codes: list[str] = []
    for raw in (pixel.get("code"), *str(pixel.get("codes") or "").split("|"),
                body.get("pixel_code"), body.get("sdkid")):
        code = as_text(raw)
        if code and code not in codes:
            codes.append(code)
    if not codes:
        raise UnusableHit("no pixel code (context.pixel.code / codes): TikTok treats the hit as invalid",
                          "no_pixel_code")
    return codes


def _event_name(body: Mapping[str, Any]) -> str:
    """The body's event name, exactly as sent; UnusableHit for EnrichAM, auto-collected actions, no name."""
    event = body.get("event")
    event_name = event if isinstance(event, str) else as_text(event)
    if event_name in _INTERNAL_EVENTS:
        raise UnusableHit(_INTERNAL_EVENTS[event_name], "internal")
    return event_name


def _require_event(body: Mapping[str, Any], event_name: str) -> None:
    if event_name.strip():
        return
    action = as_text(body.get("action"))
    if action:
        trigger = as_text(body.get("page_trigger") or dict_or_empty(body.get("auto_collected_properties")).get(
            "page_trigger"))
        detail = f", page_trigger {trigger!r}" if trigger else ""
        raise UnusableHit(
            f"auto-collected action {action!r}{detail} without an event name: no event_id, "
            "never deduplicates against a server event", "action_only")
    raise UnusableHit("no event name", "no_event")


def _match_keys(user: Mapping[str, Any], ad: Mapping[str, Any], page_url: str) -> dict[str, str]:
    """Match key column -> value from context.user (first of a list), ttclid from the ad or the page URL."""
    keys: dict[str, str] = {}
    for raw_key, column in _USER_KEY_MAP.items():
        value = user.get(raw_key)
        if isinstance(value, list):  # identify() accepts arrays; the first value is what matches first
            value = next((v for v in value if v not in (None, "")), None)
        text = as_text(value)
        if text and column not in keys:
            keys[column] = text
    if "ttclid" not in keys:
        ttclid = as_text(ad.get("callback")) or _query_param(page_url, "ttclid")
        if ttclid:
            keys["ttclid"] = ttclid
    return keys


def content_type_of(props: Mapping[str, Any]) -> str:
    """`properties.content_type`, else the first `contents[].content_type` (items may carry it alone)."""
    direct = as_text(props.get("content_type"))
    if direct:
        return direct
    contents = props.get("contents")
    if isinstance(contents, list):
        for item in contents:
            text = as_text(item.get("content_type")) if isinstance(item, dict) else ""
            if text:
                return text
    return ""


def _property_fields(props: dict[str, Any]) -> dict[str, Any]:
    return {
        "value": parse_number(props.get("value")),
        "currency": as_text(props.get("currency")),
        "order_id": as_text(props.get("order_id")),
        "content_ids": ",".join(content_ids_of(props)),
        "content_type": content_type_of(props),
        "properties": _compact(props),
    }


def pixel_event_from_body(
    body: dict[str, Any], *, entry: int, url: str, user_agent: str = "", endpoint: str = "",
    http_status: int = 0,
) -> list[dict[str, Any]]:
    """Turn one Pixel wire body into Pixel rows: one per pixel code (the `/act` fan-out).

    Contract: rows have every PIXEL_COLUMNS key; event names are kept exactly (case matters to TikTok);
    `event_id` is "" when unset; `timestamp` is float UTC epoch seconds. Raises UnusableHit (an
    InvalidPayload) with a kind for bodies that are no event: EnrichAM, no pixel code, no event name.
    TikTok: `context.pixel.codes = "C1|C2"` means the same event for each pixel (contract §6.3).
    """
    if not isinstance(body, dict):
        raise UnusableHit(f"body is a JSON {type(body).__name__}, not an object", "malformed")
    context = dict_or_empty(body.get("context"))
    event_name = _event_name(body)
    codes = _pixel_codes(body, context)
    _require_event(body, event_name)
    page = dict_or_empty(context.get("page"))
    library = dict_or_empty(context.get("library"))
    page_url = _decode_url(as_text(page.get("url")))
    keys = _match_keys(dict_or_empty(context.get("user")), dict_or_empty(context.get("ad")), page_url)
    labels = body.get("signal_diagnostic_labels")
    inspection = dict_or_empty(body.get("_inspection")).get("identity_params")
    base: dict[str, Any] = {
        "event": event_name,
        "event_id": as_text(body.get("event_id"), strip=False),
        "timestamp": parse_time(body.get("timestamp")),
        "source": "pixel",
        "url": page_url,
        "referrer": _decode_url(as_text(page.get("referrer"))),
        "message_id": as_text(body.get("message_id")),
        "user_keys": ",".join(k for k in PIXEL_KEY_COLUMNS if k in keys),
        "hashed_keys": ",".join(k for k in HASHABLE_KEYS if k in keys and is_sha256(keys[k])),
        **{k: keys.get(k, "") for k in PIXEL_KEY_COLUMNS},
        "user_agent": as_text(context.get("userAgent") or context.get("user_agent")) or user_agent,
        **_property_fields(dict_or_empty(body.get("properties"))),
        "signal_diagnostic_labels": _compact(labels) if isinstance(labels, dict) else "",
        "identity_params": _compact(inspection) if isinstance(inspection, dict) else "",
        "action": as_text(body.get("action")),
        "endpoint": endpoint,
        "library": " ".join(t for t in (as_text(library.get("name")), as_text(library.get("version"))) if t),
        "partner": as_text(body.get("partner") or context.get("partner")),
        "http_status": int(http_status),
        "entry": int(entry),
        "page_load_s": math.nan,  # Pixel event bodies carry no load timing; a capture measures it
    }
    base["cookie_age_days"] = ttp_age_days(base["ttp"], base["timestamp"])
    return [{"pixel_code": code, **base} for code in codes]


_CROCKFORD = {c: i for i, c in enumerate("0123456789ABCDEFGHJKMNPQRSTVWXYZ")}
_ULID_TTP = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}(?![0-9A-Za-z])")


def ttp_created_at(ttp: str) -> float | None:
    """When a `_ttp` cookie was set (epoch seconds), from the ULID that current values start with.

    Current `_ttp` values are a 26-character ULID plus a suffix (`01K0T8BYGJH63785W68YS5NN1R_.tt.1`): its
    first ten characters are the creation time in milliseconds (Crockford base32). The legacy 27-character
    values carry no time: None. TikTok: contract §6.4.
    """
    if not ttp or _ULID_TTP.match(ttp) is None:
        return None
    ms = 0
    for ch in ttp[:10]:
        ms = ms * 32 + _CROCKFORD[ch]
    seconds = ms / 1000
    return seconds if 1_400_000_000 < seconds < 4_100_000_000 else None  # 2014..2099: a real cookie time


def ttp_age_days(ttp: str, event_time: float) -> float:
    """The `_ttp` cookie's age in days when the event fired; NaN when the cookie or the event has no time."""
    created = ttp_created_at(ttp)
    if created is None or event_time != event_time:  # NaN event time
        return math.nan
    age = (event_time - created) / 86_400
    return max(age, 0.0) if age > -1 else math.nan  # a cookie set "after" the event by a day is no age


def pixel_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Rows (dicts with PIXEL_COLUMNS keys) -> a typed frame; an empty input gives an empty typed frame."""
    import pandas as pd

    df = pd.DataFrame(list(rows), columns=PIXEL_COLUMNS)
    for col in _STRING_COLUMNS:
        df[col] = df[col].astype("string").fillna("")
    for col in _FLOAT_COLUMNS:
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
    for col in _INT_COLUMNS:
        df[col] = pd.to_numeric(df[col], errors="coerce").fillna(0).astype("int64")
    return df


def frame_records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame as JSON-ready records: NaN/NA -> None, numpy scalars -> Python."""
    out: list[dict[str, Any]] = json.loads(df.to_json(orient="records", force_ascii=False))
    return out


def iter_rows(df: pd.DataFrame) -> Iterator[dict[str, Any]]:
    """Rows of a frame as dicts (for small frames: a picked pair, a page of the table)."""
    for record in df.to_dict(orient="records"):
        yield {str(k): v for k, v in record.items()}


