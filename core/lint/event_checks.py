"""Event-level checks of the Events API linter: name, event_time, event_id, properties and page.

Mixed into the linter (core.lint.linter); the decisions (an event_id with an email or a written phone number is PII,
event_time older than 7 days warns) are in core.lint.linter's docstring. TikTok: event names are case-sensitive,
event_time is integer Unix seconds, event_id is a string, value is a number with an ISO currency
(contract §2, §3, §9).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

from core.contract import (
    APP_EVENTS,
    CONTENT_TYPES,
    CURRENCIES,
    FUTURE_TOLERANCE_SECONDS,
    KNOWN_EVENTS,
    LEGACY_EVENTS,
    MAX_EVENT_AGE_DAYS,
    MS_TIMESTAMP_THRESHOLD,
    PAGEVIEW_EVENT,
    PIXEL_DEDUPLICATED_EVENTS,
    STANDARD_EVENTS,
    VALUE_EVENTS,
)
from core.lint.checker import Checker, EventContext, is_number, is_present, json_excerpt, json_kind, parse_iso_seconds
from core.lint.jsonpath import join_index, join_key

_EMAIL_IN_TEXT_RE: Final = re.compile(r"[^\s@]+@[^\s@]+\.[A-Za-z]{2,}")
# a phone written as one: "+" with 8-15 digits and optional separators, or NANP with separators
_PHONE_IN_TEXT_RE: Final = re.compile(r"\+\d(?:[\s().-]?\d){7,14}|\(?\b\d{3}\)?[\s.-]\d{3}[\s.-]\d{4}\b")
# GA4 / Meta spellings TikTok users paste; the key is lower-case without _ - or spaces
_NAME_ALIASES: Final = {
    "begincheckout": "InitiateCheckout", "viewitem": "ViewContent", "signup": "CompleteRegistration",
    "generatelead": "Lead", "pageview": PAGEVIEW_EVENT, "page": PAGEVIEW_EVENT, "checkout": "InitiateCheckout",
    "completepurchase": "Purchase", "order": "Purchase", "addtobasket": "AddToCart",
}


def _name_key(name: str) -> str:
    return re.sub(r"[\s_\-.]", "", name).lower()


_NAME_LOOKUP: Final[dict[str, str]] = {
    **_NAME_ALIASES, **{_name_key(n): n for n in (*APP_EVENTS, *LEGACY_EVENTS, *STANDARD_EVENTS)},
    _name_key(PAGEVIEW_EVENT): PAGEVIEW_EVENT,
}


class EventChecks(Checker):
    """Checks of one event's name, time and id, and of its `properties` and `page` objects."""

    def event_name(self, ev: Mapping[str, Any], prefix: str, ctx: EventContext, *, meta_name: bool = False,
                   key: str = "event") -> str | None:
        path = join_key(prefix, key)
        if key not in ev or ev[key] is None or ev[key] == "":
            if not meta_name:  # the Meta key finding already says to rename event_name
                self.add("event.name.missing", path, "The event has no name.")
            return None
        name = ev[key]
        if not isinstance(name, str):
            self.add("event.name.not_string", path, f"The event name is a JSON {json_kind(name)}.")
            return None
        canonical = _NAME_LOOKUP.get(_name_key(name))
        if name in LEGACY_EVENTS:
            self.add("event.name.legacy", path, f"{name} is a legacy event name (still accepted).",
                     f"Use \"{LEGACY_EVENTS[name]}\" when you can.")
        elif name in KNOWN_EVENTS:
            if ctx.source == "web" and name in APP_EVENTS and name not in STANDARD_EVENTS:
                self.add("event.name.app_event", path, f"{name} is an app event; on web it is custom.")
        elif canonical is not None:
            current = LEGACY_EVENTS.get(canonical)
            self.add("event.name.near_miss", path,
                     f"\"{name}\" is not a TikTok event name; names are case-sensitive.",
                     f"Use \"{current}\" (\"{canonical}\" is its legacy name)." if current
                     else f"Use \"{canonical}\".")
            return canonical
        elif ctx.source == "offline":
            self.add("event.name.offline_custom", path, f"\"{name}\" is not a standard event.")
        else:
            self.add("event.name.custom", path, f"\"{name}\" is a custom event.")
        return name

    def event_time(self, ev: Mapping[str, Any], prefix: str) -> None:
        path = join_key(prefix, "event_time")
        if "event_time" not in ev:
            hint = None
            if isinstance(ev.get("timestamp"), str):
                secs = parse_iso_seconds(ev["timestamp"])
                if secs is not None:
                    hint = f"Replace timestamp with \"event_time\": {secs}."
            self.add("event.event_time.missing", path, "The event has no event_time.", hint)
            return
        self.time_value(ev["event_time"], path)

    def time_value(self, value: object, path: str) -> None:
        if isinstance(value, str):
            text = value.strip()
            secs: int | None = None
            if re.fullmatch(r"\d{1,20}(\.\d+)?", text):
                secs = int(text.split(".")[0])
                if secs > MS_TIMESTAMP_THRESHOLD:
                    secs //= 1000 if secs < 10**14 else 1_000_000
            else:
                secs = parse_iso_seconds(text)
            fix = (f"Send the integer without quotes: \"event_time\": {secs}." if secs is not None
                   else "Send integer Unix seconds, e.g. 1735689600.")
            self.add("event.event_time.string", path,
                     f"event_time is the text {json_excerpt(value)}, not an integer.", fix)
            if secs is not None:
                self.time_range(secs, path)
            return
        # beyond 10**17 it is neither seconds, milliseconds nor microseconds of any real date
        if not is_number(value) or value <= 0 or value >= 10**17:  # type: ignore[operator]
            self.add("event.event_time.invalid", path, f"event_time is {json_excerpt(value)}, not Unix seconds.")
            return
        num: int | float = value  # type: ignore[assignment]
        if num > MS_TIMESTAMP_THRESHOLD:
            micro = num >= 10**14
            secs = int(num // (1_000_000 if micro else 1000))
            self.add("event.event_time.milliseconds", path,
                     f"event_time {json_excerpt(num)} is in {'micro' if micro else 'milli'}seconds.",
                     f"Send seconds: \"event_time\": {secs}.")
            return
        if isinstance(num, float) and not num.is_integer():
            self.add("event.event_time.fraction", path, f"event_time {num} has a fraction of a second.",
                     f"Send \"event_time\": {math.floor(num)}.")
        self.time_range(num, path)

    def time_range(self, secs: float, path: str) -> None:
        if secs > self.now + FUTURE_TOLERANCE_SECONDS:
            ahead = (secs - self.now) / 3600
            self.add("event.event_time.future", path,
                     f"event_time is {_duration(ahead)} in the future ({_utc(secs)}).")
        elif secs < self.now - MAX_EVENT_AGE_DAYS * 86400:
            self.add("event.event_time.too_old", path,
                     f"event_time is {_duration((self.now - secs) / 3600)} old ({_utc(secs)}).")

    def event_id(self, ev: Mapping[str, Any], prefix: str, ctx: EventContext, name: str | None,
                 *, web: bool | None = None) -> None:
        path = join_key(prefix, "event_id")
        eid = ev.get("event_id")
        is_web = web if web is not None else ctx.source in (None, "web")
        if eid is None or (isinstance(eid, str) and not eid.strip()):
            if is_web and name in PIXEL_DEDUPLICATED_EVENTS:
                self.add("event.event_id.missing", path,
                         f"{name} has no event_id, so it cannot be deduplicated against the Pixel.")
            return
        if not isinstance(eid, str):
            self.add("event.event_id.not_string", path,
                     f"event_id is a JSON {json_kind(eid)}; TikTok rejects it with 40002.",
                     f"Quote it: \"event_id\": \"{json_excerpt(eid)}\".")
            eid = json_excerpt(eid, 200)
        if _EMAIL_IN_TEXT_RE.search(eid):
            self.add("event.event_id.pii", path, "event_id contains an email address.")
        elif _PHONE_IN_TEXT_RE.search(eid):
            self.add("event.event_id.pii", path, "event_id contains a phone number.")
        key = (name or "", eid)
        first = ctx.seen_ids.get(key)
        if first is None:
            ctx.seen_ids[key] = path
        else:
            self.add("event.event_id.duplicate", path,
                     f"{name or 'The event'} with event_id {json_excerpt(eid)} already appears at {first}.")

    # --- properties ---
    def properties(self, props: dict[str, Any], prefix: str, name: str | None) -> None:
        has_value = "value" in props and props["value"] is not None
        if has_value:
            value = props["value"]
            vpath = join_key(prefix, "value")
            if not is_number(value):
                parsed = _parse_money(value) if isinstance(value, str) else None
                self.add("properties.value.not_number", vpath, f"value is {json_excerpt(value)}, not a number.",
                         f"Send \"value\": {parsed} (a number, no quotes)." if parsed is not None else None)
            elif value < 0:
                self.add("properties.value.negative", vpath, f"value {json_excerpt(value)} is negative.")
        elif name in VALUE_EVENTS:
            self.add("properties.value.missing", join_key(prefix, "value"), f"{name} has no value.")
        cur = props.get("currency")
        cpath = join_key(prefix, "currency")
        if cur is None or cur == "":
            if has_value:
                self.add("properties.currency.missing", cpath, "value is sent without a currency.")
        elif not isinstance(cur, str):
            self.add("properties.currency.not_string", cpath, f"currency is a JSON {json_kind(cur)}.")
        elif cur not in CURRENCIES:
            if cur.strip().upper() in CURRENCIES:
                self.add("properties.currency.lowercase", cpath, f"currency {cur!r} is not upper-case.",
                         f"Send \"{cur.strip().upper()}\".")
            else:
                self.add("properties.currency.unsupported", cpath,
                         f"currency {cur!r} is not on TikTok's list of supported currencies.")
        if "content_type" in props:
            self.content_type(props["content_type"], join_key(prefix, "content_type"))
        if "contents" in props:
            self.contents(props["contents"], join_key(prefix, "contents"))
        if "content_ids" in props:
            ids = props["content_ids"]
            ipath = join_key(prefix, "content_ids")
            if not isinstance(ids, list):
                self.add("properties.content_ids.invalid", ipath, f"content_ids is a JSON {json_kind(ids)}.")
            else:
                for i, item in enumerate(ids):
                    if not isinstance(item, str):
                        self.add("properties.content_ids.invalid", join_index(ipath, i),
                                 f"content_ids[{i}] is a JSON {json_kind(item)}, not a string.",
                                 f"Quote it: \"{json_excerpt(item)}\".")
        if "num_items" in props and not _is_int(props["num_items"]):
            self.add("properties.num_items.invalid", join_key(prefix, "num_items"),
                     f"num_items is {json_excerpt(props['num_items'])}.")

    def content_type(self, value: object, path: str) -> None:
        if value in CONTENT_TYPES:
            return
        guess = None
        if isinstance(value, str):
            low = value.strip().lower().replace("-", "_").replace(" ", "_")
            guess = {"products": "product", "product_groups": "product_group"}.get(low, low)
        fix = f"Send \"{guess}\"." if guess in CONTENT_TYPES else None
        self.add("properties.content_type.invalid", path, f"content_type {json_excerpt(value)} is not allowed.", fix)

    def contents(self, items: object, path: str) -> None:
        if not isinstance(items, list):
            self.add("properties.contents.invalid", path, f"contents is a JSON {json_kind(items)}, not an array.")
            return
        for i, item in enumerate(items):
            ipath = join_index(path, i)
            if not isinstance(item, dict):
                self.add("properties.contents.invalid", ipath, f"Item {i} is a JSON {json_kind(item)}.")
                continue
            cid = item.get("content_id")
            if cid is None or cid == "":
                self.add("properties.contents.content_id_missing", join_key(ipath, "content_id"),
                         f"Item {i} has no content_id.")
            elif not isinstance(cid, str):
                self.add("properties.content_id.not_string", join_key(ipath, "content_id"),
                         f"content_id is a JSON {json_kind(cid)}; TikTok says \"Not a valid string\".",
                         f"Quote it: \"content_id\": \"{json_excerpt(cid)}\".")
            if "quantity" in item and (not _is_int(item["quantity"]) or item["quantity"] <= 0):
                q = item["quantity"]
                digits = isinstance(q, str) and re.fullmatch(r"\s*\d{1,9}\s*", q) is not None
                fix = f"Send \"quantity\": {int(q)}." if digits else None
                self.add("properties.contents.quantity_invalid", join_key(ipath, "quantity"),
                         f"quantity is {json_excerpt(q)}, not a positive integer.", fix)
            if "price" in item and item["price"] is not None and not is_number(item["price"]):
                parsed = _parse_money(item["price"]) if isinstance(item["price"], str) else None
                self.add("properties.contents.price_invalid", join_key(ipath, "price"),
                         f"price is {json_excerpt(item['price'])}, not a number.",
                         f"Send \"price\": {parsed}." if parsed is not None else None)
            if "content_type" in item:
                self.content_type(item["content_type"], join_key(ipath, "content_type"))

    # --- page ---
    def page(self, page: dict[str, Any], prefix: str, user: dict[str, Any] | None, event_prefix: str) -> None:
        for key, code in (("url", "page.url.not_absolute"), ("referrer", "page.referrer.not_absolute")):
            if key not in page or page[key] in (None, ""):
                continue
            value = page[key]
            if not isinstance(value, str) or not _is_absolute_url(value):
                self.add(code, join_key(prefix, key), f"page.{key} {json_excerpt(value)} is not an absolute URL.")
        url = page.get("url")
        if isinstance(url, str) and _is_absolute_url(url) and not (user and is_present(user.get("ttclid"))):
            try:
                ttclid = parse_qs(urlsplit(url).query).get("ttclid")
            except ValueError:
                ttclid = None
            if ttclid and ttclid[0]:
                self.add("user.ttclid.in_url", join_key(join_key(event_prefix, "user"), "ttclid"),
                         "page.url carries a ttclid that user.ttclid does not.",
                         f"Send \"ttclid\": \"{ttclid[0][:80]}\" in user.")


# --- helpers -------------------------------------------------------------------------------------
def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _parse_money(text: str) -> float | int | None:
    cleaned = re.sub(r"[^\d.,-]", "", text)
    if re.fullmatch(r"-?\d+,\d{1,2}", cleaned):  # decimal comma: "10,50"
        cleaned = cleaned.replace(",", ".")
    cleaned = cleaned.replace(",", "")
    try:
        number = float(cleaned)
    except ValueError:
        return None
    if not math.isfinite(number):
        return None
    return int(number) if number.is_integer() and "." not in cleaned else number


def _is_absolute_url(text: str) -> bool:
    try:
        parts = urlsplit(text.strip())
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _utc(secs: float) -> str:
    try:
        return datetime.fromtimestamp(secs, UTC).strftime("%Y-%m-%d %H:%M UTC")
    except (OverflowError, OSError, ValueError):
        return "out of range"


def _duration(hours: float) -> str:
    return f"{hours:.1f} hours" if hours < 48 else f"{hours / 24:.0f} days"
