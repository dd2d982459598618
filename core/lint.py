"""Lint an Events API v1.3 request body: every problem at once, each at the JSON path of the offending key.

Parse leniently, validate strictly (packaging's metadata style): `lint` accepts any JSON value and never
raises; it returns `Finding`s with a stable `code` documented in `CATALOGUE` (both in core.findings;
docs/findings.md is rendered from it by `python -m core.lint`).

Shapes accepted (contract §1, §2):
- a full v1.3 body `{"event_source", "event_source_id", "data": [...]}`: paths `data[0].user.email`;
- a bare event `{"event": ..., "user": ...}`: paths relative to the event (`user.email`) + `body.bare_event`;
- a JSON array of events: paths `[0].user.email` + `body.event_list`;
- a legacy Events API 1.0 body (`pixel_code`, `batch`, `context.user`, ISO `timestamp`): `body.legacy_v1`
  with the migration, and the mappable parts linted (`context.user.email`, `batch[0].context.ip`).

Paths (core.jsonpath): object keys joined with `.`, array elements as `[i]`, keys that are not identifiers
as `["a.b"]`. A missing key is reported at the path where it belongs (`data[0].event_time`). The body itself
is `""`.

Decisions (where TikTok is silent):
- IP documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32) are NOT flagged:
  TikTok's own examples use them. Private, loopback, link-local, CGNAT and reserved ranges get a warning.
- An event_id with an email address, or a phone number written as one (`+44 20 7946 0958`,
  `(213) 373-4253`), is PII. A bare run of digits is not: order numbers and Unix times look the same.
- event_time older than 7 days is a warning: TikTok documents no maximum age (contract §3, UNSURE).
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

from core.contract import (
    APP_EVENTS,
    CONSENT_SUPPRESSED_FIELDS,
    CONTENT_TYPES,
    CURRENCIES,
    EMPTY_SHA256,
    EVENT_FIELDS,
    EVENT_SOURCES,
    FUTURE_TOLERANCE_SECONDS,
    KNOWN_EVENTS,
    LEGACY_EVENTS,
    MAX_EVENT_AGE_DAYS,
    MAX_EVENTS_PER_REQUEST,
    META_TOP_KEYS,
    META_USER_KEYS,
    MS_TIMESTAMP_THRESHOLD,
    PAGEVIEW_EVENT,
    PIXEL_DEDUPLICATED_EVENTS,
    STANDARD_EVENTS,
    TOP_LEVEL_FIELDS,
    TRACK_PATH,
    USER_FIELDS,
    VALUE_EVENTS,
)
from core.errors import InvalidPayload
from core.findings import (
    CATALOGUE,
    SEVERITY_BADGE,
    SEVERITY_RANK,
    CodeDoc,
    Finding,
    Severity,
    annotate_json,
    count_findings,
    findings_json,
    has_errors,
    render_catalogue_markdown,
    sort_findings,
)
from core.identity import hash_identifier
from core.jsonpath import join_index, join_key, line_for, locate_paths, parent_path, pretty_json

# The finding model and catalogue (core.findings) and the path helpers (core.jsonpath) are re-exported:
# `from core.lint import Finding, lint, has_errors` is the import pages, the CLI and tests use.
__all__ = [
    "CATALOGUE",
    "SAMPLE_BODIES",
    "SEVERITY_BADGE",
    "SEVERITY_RANK",
    "CodeDoc",
    "Finding",
    "Severity",
    "annotate_json",
    "count_findings",
    "findings_json",
    "has_errors",
    "join_index",
    "join_key",
    "line_for",
    "lint",
    "lint_text",
    "locate_paths",
    "parent_path",
    "parse_body",
    "pretty_json",
    "render_catalogue_markdown",
    "sample_body_text",
    "sort_findings",
]

_HEX_RE: Final = re.compile(r"^[A-Fa-f0-9]+$")
_EMAIL_IN_TEXT_RE: Final = re.compile(r"[^\s@]+@[^\s@]+\.[A-Za-z]{2,}")
# a phone written as one: "+" with 8-15 digits and optional separators, or NANP with separators
_PHONE_IN_TEXT_RE: Final = re.compile(r"\+\d(?:[\s().-]?\d){7,14}|\(?\b\d{3}\)?[\s.-]\d{3}[\s.-]\d{4}\b")
_SERVER_UA_RE: Final = re.compile(
    r"python-requests|python-urllib|python-httpx|\bhttpx/|aiohttp|curl/|Go-http-client|axios|node-fetch|"
    r"undici|okhttp|Java/|Apache-HttpClient|PostmanRuntime|Guzzle|\bRuby\b|Wget|libwww-perl|Dart/|Scrapy",
    re.IGNORECASE,
)
_LOCALE_RE: Final = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_PLACEHOLDERS: Final = frozenset(("undefined", "null", "none", "nan", "n/a", "[object object]", "-", "nil"))
_DOC_NETS: Final = tuple(ipaddress.ip_network(n) for n in
                         ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32"))
_HASH_ALGOS: Final = {32: "MD5", 40: "SHA-1", 128: "SHA-512"}
_LEGACY_USER_KEYS: Final = {"email": "email", "phone_number": "phone", "external_id": "external_id"}
_USER_KEY_ALIASES: Final = {
    "phone_number": "phone", "emails": "email", "phones": "phone", "ip_address": "ip", "userAgent": "user_agent",
    "useragent": "user_agent", "zip": "zip_code", "postal_code": "zip_code", "firstname": "first_name",
    "lastname": "last_name", "externalId": "external_id", "anonymous_id": "ttp",
}
_EVENT_KEY_HINTS: Final = {
    "timestamp": "Events API 1.0 name: send integer Unix seconds as event_time.",
    "context": "Events API 1.0 shape: move context.user to user, context.page to page, context.ip and "
               "context.user_agent to user.ip and user.user_agent.",
    "test_event_code": "It belongs at the top level of the body, beside data.",
    "pixel_code": "It belongs at the top level, as event_source_id.",
    "event_source_id": "It belongs at the top level of the body, beside data.",
    "event_source": "It belongs at the top level of the body, beside data.",
}
_TOP_EVENT_KEYS: Final = frozenset(("event", "event_time", "event_id", "user", "properties", "page",
                                    "limited_data_use"))
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


# --- the linter ----------------------------------------------------------------------------------
@dataclass
class _Ctx:
    """What one event's checks need to know about the body around it."""

    source: str | None = None  # event_source when known and valid
    denied: str | None = None  # path of an ad_user_data DENIED that covers this event
    seen_ids: dict[tuple[str, str], str] = field(default_factory=dict)


class _Linter:
    def __init__(self, now: float) -> None:
        self.now = now
        self.out: list[Finding] = []

    def add(self, code: str, path: str, message: str, fix: str | None = None) -> None:
        doc = CATALOGUE[code]  # a KeyError here is a bug: every emitted code is catalogued
        self.out.append(Finding(doc.severity, code, path, message, fix or doc.fix))

    # --- body dispatch ---
    def body(self, body: object) -> None:
        if isinstance(body, list):
            self.add("body.event_list", "", f"A list of {len(body)} event(s): read as the data array.")
            self.events(body, "", _Ctx(source=None))
            return
        if not isinstance(body, dict):
            kind = "null" if body is None else type(body).__name__
            self.add("body.not_object", "", f"The body is a JSON {kind}, not an object.")
            return
        if "data" not in body and ("pixel_code" in body or "batch" in body):
            self.legacy(body)
            return
        if "data" not in body and ("context" in body and "event_time" not in body):
            self.legacy(body)
            return
        if "data" not in body and any(k in body for k in (*_TOP_EVENT_KEYS, *META_TOP_KEYS)):
            self.add("body.bare_event", "", "A single event without the body around it; checked as data[0].")
            self.event(body, "", _Ctx(source=None, denied=_denied_path(body, "")))
            return
        self.full(body)

    def full(self, body: dict[str, Any]) -> None:
        source = self.top_level(body)
        ctx = _Ctx(source=source, denied=_denied_path(body, ""))
        if "data" not in body:
            self.add("data.missing", "data", "The body has no data array, so it carries no events.")
            return
        data = body["data"]
        if not isinstance(data, list):
            self.add("data.not_array", "data", f"data is a JSON {_kind(data)}, not an array of events.")
            if isinstance(data, dict):
                self.event(data, "data", ctx)
            return
        self.events(data, "data", ctx)
        tec = body.get("test_event_code")
        if isinstance(tec, str) and tec.strip() and len(data) > 1:
            self.add("test_event_code.batched", "test_event_code",
                     f"{len(data)} events sent together with a test event code.")

    def events(self, data: list[Any], prefix: str, ctx: _Ctx) -> None:
        if not data:
            self.add("data.empty", prefix or "", "The request carries no events.")
        elif len(data) > MAX_EVENTS_PER_REQUEST:
            self.add("data.too_many", prefix or "",
                     f"{len(data):,} events in one request; TikTok takes at most {MAX_EVENTS_PER_REQUEST:,}.",
                     f"Split into {math.ceil(len(data) / MAX_EVENTS_PER_REQUEST)} requests of at most 1,000.")
        for i, item in enumerate(data):
            path = join_index(prefix, i)
            if not isinstance(item, dict):
                self.add("data.item_not_object", path, f"Event {i} is a JSON {_kind(item)}, not an object.")
                continue
            own = _denied_path(item, path)
            self.event(item, path, _Ctx(ctx.source, own or ctx.denied, ctx.seen_ids))

    def top_level(self, body: dict[str, Any]) -> str | None:
        source = body.get("event_source")
        valid_source: str | None = None
        if "event_source" not in body or source in (None, ""):
            self.add("event_source.missing", "event_source", "event_source is missing.")
        elif not isinstance(source, str) or source not in EVENT_SOURCES:
            fix = "Use one of web, app, offline, crm."
            if isinstance(source, str):
                low = source.strip().lower()
                guess = "web" if low in ("website", "pixel", "browser") else low if low in EVENT_SOURCES else None
                if guess:
                    fix = f"Send \"event_source\": \"{guess}\"."
            self.add("event_source.invalid", "event_source",
                     f"event_source {_short(source)} is not one of web, app, offline, crm.", fix)
        else:
            valid_source = source
        sid = body.get("event_source_id")
        if "event_source_id" not in body or sid in (None, "") or (isinstance(sid, str) and not sid.strip()):
            self.add("event_source_id.missing", "event_source_id", "event_source_id (the Pixel code) is missing.")
        elif not isinstance(sid, str):
            self.add("event_source_id.not_string", "event_source_id",
                     f"event_source_id is a JSON {_kind(sid)}; TikTok rejects it with 40002.",
                     f"Quote it: \"event_source_id\": \"{_short(sid)}\".")
        elif valid_source:
            digits = sid.strip().isdigit()
            if valid_source == "web" and digits:
                self.add("event_source_id.mismatch", "event_source_id",
                         "event_source is web but event_source_id is all digits, like an offline/CRM event "
                         "set id.", "Use the Pixel code, or event_source offline/crm for an event set.")
            elif valid_source in ("offline", "crm") and not digits:
                self.add("event_source_id.mismatch", "event_source_id",
                         f"event_source is {valid_source} but event_source_id looks like a Pixel code.",
                         "Use event_source web with a Pixel code, or the 19-digit event set id.")
        if "test_event_code" in body:
            tec = body["test_event_code"]
            if not isinstance(tec, str):
                self.add("test_event_code.not_string", "test_event_code",
                         f"test_event_code is a JSON {_kind(tec)}.")
            elif not tec.strip():
                self.add("test_event_code.empty", "test_event_code", "test_event_code is empty.")
        if "partner_name" in body:
            self.add("partner_name.set", "partner_name", "partner_name is set.")
        for key in body:
            path = join_key("", key)
            if key in TOP_LEVEL_FIELDS or key == "ad_user_data":
                continue
            if key == "access_token":
                self.add("body.access_token", path, "The body carries an access token.")
            elif key in META_TOP_KEYS:
                self._meta_key(key, path)
            elif key in _TOP_EVENT_KEYS:
                self.add("body.misplaced_key", path, f"{key} is an event field, not a body field.",
                         f"Move {key} into each event in data.")
            elif key == "pixel_code":
                self.add("body.misplaced_key", path, "pixel_code is the Events API 1.0 name.",
                         "Rename it to event_source_id (with event_source web).")
            else:
                self.add("body.unknown_key", path, f"Top-level key {key!r} is not part of the v1.3 body.")
        return valid_source

    def _meta_key(self, key: str, path: str) -> None:
        target = META_TOP_KEYS[key]
        fix = ("Remove it and set \"event_source\": \"web\" at the top level of the body."
               if key == "action_source" else f"Rename {key} to {target}.")
        self.add("meta.key", path, f"{key} is a Meta Conversions API key; TikTok ignores it.", fix)

    # --- one v2 event ---
    def event(self, ev: dict[str, Any], prefix: str, ctx: _Ctx) -> None:
        name = self.event_name(ev, prefix, ctx, meta_name="event_name" in ev)
        self.event_time(ev, prefix)
        self.event_id(ev, prefix, ctx, name)
        for key in ev:
            if key in EVENT_FIELDS or key == "ad_user_data":
                continue
            path = join_key(prefix, key)
            if key in META_TOP_KEYS:
                self._meta_key(key, path)
                if key == "user_data" and isinstance(ev[key], dict):
                    self.meta_user_keys(ev[key], path)
            elif key == "access_token":
                self.add("body.access_token", path, "The event carries an access token.")
            elif key in ("test_event_code", "event_source_id", "event_source", "pixel_code"):
                if prefix:  # inside data[] it has no effect; on a bare event it is the body's own key
                    self.add("body.misplaced_key", path, f"{key} inside an event has no effect.",
                             _EVENT_KEY_HINTS[key])
            else:
                self.add("event.unknown_key", path, f"{key} is not a v1.3 event field.",
                         _EVENT_KEY_HINTS.get(key))
        for key in ("user", "properties", "page", "lead", "app", "ad", "device"):
            if key in ev and not isinstance(ev[key], dict):
                self.add("event.not_object", join_key(prefix, key),
                         f"{key} is a JSON {_kind(ev[key])}, not an object.")
        user = ev.get("user")
        if isinstance(user, dict):
            self.user(user, join_key(prefix, "user"), ctx)
        elif "user" not in ev and "user_data" not in ev and ctx.source in (None, "web"):
            self.add("event.user.missing", join_key(prefix, "user"), "The event has no user object.")
        props = ev.get("properties")
        if isinstance(props, dict):
            self.properties(props, join_key(prefix, "properties"), name)
        elif name in VALUE_EVENTS and "properties" not in ev and "custom_data" not in ev:
            self.add("properties.value.missing", join_key(prefix, "properties"),
                     f"{name} without value and currency.")
        page = ev.get("page")
        if isinstance(page, dict):
            self.page(page, join_key(prefix, "page"), user if isinstance(user, dict) else None, prefix)
        if "limited_data_use" in ev and not isinstance(ev["limited_data_use"], bool):
            ldu = ev["limited_data_use"]
            self.add("event.limited_data_use.not_boolean", join_key(prefix, "limited_data_use"),
                     f"limited_data_use is {_short(ldu)}, not true or false.",
                     f"Send {'true' if _truthy(ldu) else 'false'} without quotes.")
        if ctx.source == "crm":
            lead = ev.get("lead")
            if not isinstance(lead, dict) or not lead.get("lead_id"):
                self.add("event.lead.missing", join_key(prefix, "lead"), "A CRM event without lead.lead_id.")

    def event_name(self, ev: Mapping[str, Any], prefix: str, ctx: _Ctx, *, meta_name: bool = False,
                   key: str = "event") -> str | None:
        path = join_key(prefix, key)
        if key not in ev or ev[key] is None or ev[key] == "":
            if not meta_name:  # the Meta key finding already says to rename event_name
                self.add("event.name.missing", path, "The event has no name.")
            return None
        name = ev[key]
        if not isinstance(name, str):
            self.add("event.name.not_string", path, f"The event name is a JSON {_kind(name)}.")
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
                secs = _iso_seconds(ev["timestamp"])
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
                secs = _iso_seconds(text)
            fix = (f"Send the integer without quotes: \"event_time\": {secs}." if secs is not None
                   else "Send integer Unix seconds, e.g. 1735689600.")
            self.add("event.event_time.string", path,
                     f"event_time is the text {_short(value)}, not an integer.", fix)
            if secs is not None:
                self._time_range(secs, path)
            return
        # beyond 10**17 it is neither seconds, milliseconds nor microseconds of any real date
        if not _is_number(value) or value <= 0 or value >= 10**17:  # type: ignore[operator]
            self.add("event.event_time.invalid", path, f"event_time is {_short(value)}, not Unix seconds.")
            return
        num: int | float = value  # type: ignore[assignment]
        if num > MS_TIMESTAMP_THRESHOLD:
            micro = num >= 10**14
            secs = int(num // (1_000_000 if micro else 1000))
            self.add("event.event_time.milliseconds", path,
                     f"event_time {_short(num)} is in {'micro' if micro else 'milli'}seconds.",
                     f"Send seconds: \"event_time\": {secs}.")
            return
        if isinstance(num, float) and not num.is_integer():
            self.add("event.event_time.fraction", path, f"event_time {num} has a fraction of a second.",
                     f"Send \"event_time\": {math.floor(num)}.")
        self._time_range(num, path)

    def _time_range(self, secs: float, path: str) -> None:
        if secs > self.now + FUTURE_TOLERANCE_SECONDS:
            ahead = (secs - self.now) / 3600
            self.add("event.event_time.future", path,
                     f"event_time is {_duration(ahead)} in the future ({_utc(secs)}).")
        elif secs < self.now - MAX_EVENT_AGE_DAYS * 86400:
            self.add("event.event_time.too_old", path,
                     f"event_time is {_duration((self.now - secs) / 3600)} old ({_utc(secs)}).")

    def event_id(self, ev: Mapping[str, Any], prefix: str, ctx: _Ctx, name: str | None,
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
                     f"event_id is a JSON {_kind(eid)}; TikTok rejects it with 40002.",
                     f"Quote it: \"event_id\": \"{_short(eid)}\".")
            eid = _short(eid, 200)
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
                     f"{name or 'The event'} with event_id {_short(eid)} already appears at {first}.")

    # --- user ---
    def user(self, user: dict[str, Any], prefix: str, ctx: _Ctx) -> None:
        for key, value in user.items():
            path = join_key(prefix, key)
            if key in META_USER_KEYS and META_USER_KEYS[key] != key:
                target = META_USER_KEYS[key]
                self.add("meta.user_key", path, f"{key} is a Meta Conversions API user key; TikTok ignores it.",
                         f"Rename it to {target}." if target else f"Remove {key}: TikTok has no such key.")
                continue
            if key not in USER_FIELDS:
                alias = _USER_KEY_ALIASES.get(key)
                if alias:  # a known misspelling: the match key it carries is lost
                    self.add("user.misnamed_key", path, f"{key} is not a TikTok user field; TikTok ignores it.",
                             f"Rename it to {alias}" + (" (and hash it)." if alias in CONSENT_SUPPRESSED_FIELDS
                                                        else "."))
                    self.user_value(alias, value, path)  # lint what it carries as if already renamed
                else:
                    self.add("user.unknown_key", path, f"User key {key!r} is not a TikTok user field.")
                continue
            self.user_value(key, value, path)
        if ctx.denied:
            for key in CONSENT_SUPPRESSED_FIELDS:
                if _present(user.get(key)):
                    self.add("consent.denied_with_pii", join_key(prefix, key),
                             f"{key} is sent although ad_user_data is DENIED at {ctx.denied or 'the top level'}.",
                             f"Remove user.{key} for this event (and the other personal identifiers).")

    def user_value(self, kind: str, value: object, path: str) -> None:
        """Check one user field (string or, for email/phone/external_id, an array of strings)."""
        if isinstance(value, list) and kind in ("email", "phone", "external_id"):
            for i, item in enumerate(value):
                self.user_scalar(kind, item, join_index(path, i))
            return
        self.user_scalar(kind, value, path)

    def user_scalar(self, kind: str, value: object, path: str) -> None:
        if value is None:
            return
        if not isinstance(value, str):
            arrays = kind in ("email", "phone", "external_id")
            self.add("user.value.type", path,
                     f"{kind} is a JSON {_kind(value)}; it must be a string"
                     + (" or an array of strings." if arrays else "."))
            return
        if not value.strip():
            self.add("user.value.empty", path, f"{kind} is an empty string.")
            return
        if value.strip().lower() in _PLACEHOLDERS:
            self.add("user.value.placeholder", path, f"{kind} is the placeholder {value.strip()!r}.")
            return
        if kind in ("email", "phone", "external_id", "first_name", "last_name", "zip_code"):
            self.hashed_value(kind, value, path)
        elif kind in ("ttclid", "ttp"):
            if _HEX_RE.match(value.strip()) and len(value.strip()) == 64:
                self.add(f"user.{kind}.hashed", path, f"{kind} looks like a SHA-256 hash; it must be raw.")
        elif kind in ("city", "state", "country"):
            if _HEX_RE.match(value.strip()) and len(value.strip()) == 64:
                self.add("user.location.hashed", path, f"{kind} looks hashed.")
        elif kind == "ip":
            self.ip(value, path)
        elif kind == "user_agent":
            m = _SERVER_UA_RE.search(value)
            if m:
                self.add("user.user_agent.server_library", path,
                         f"user_agent is a server HTTP library ({m.group(0)}), not the customer's browser.")
        elif kind == "locale" and not _LOCALE_RE.match(value):
            fixed = value.replace("_", "-")
            self.add("user.locale.format", path, f"locale {value!r} is not BCP-47.",
                     f"Send {fixed!r}." if _LOCALE_RE.match(fixed) else None)

    def hashed_value(self, kind: str, value: str, path: str) -> None:
        stripped = value.strip()
        if _HEX_RE.match(stripped) and len(stripped) == 64:
            if stripped.lower() == EMPTY_SHA256:
                self.add("user.hash.empty", path, f"{kind} is the SHA-256 of an empty string.")
            elif stripped != value:
                self.add("user.hash.whitespace", path, f"The {kind} hash has spaces around it.",
                         "Trim the value.")
            elif stripped != stripped.lower():
                self.add("user.hash.uppercase", path, f"The {kind} hash is upper-case hex.",
                         "Lower-case it.")
            return
        if _HEX_RE.match(stripped) and len(stripped) in _HASH_ALGOS and kind != "external_id":
            algo = _HASH_ALGOS[len(stripped)]
            self.add("user.hash.wrong_algorithm", path,
                     f"{kind} is {len(stripped)} hex characters, like {algo}, not SHA-256.",
                     f"Hash the normalized {kind} with SHA-256 instead of {algo}.")
            return
        h = hash_identifier(kind, value)
        code = f"user.{kind}.unhashed"
        if h.sha256 is not None:
            self.add(code, path, f"{kind} is sent in plain text, not as a SHA-256 hash.",
                     f"Send the SHA-256 of {h.normalized!r}: {h.sha256}.")
        else:
            self.add(code, path, f"{kind} is plain text and not a usable {kind} ({h.error}).",
                     f"{h.hint or 'Fix the value'} Then normalize and SHA-256 hash it.")

    def meta_user_keys(self, user_data: dict[str, Any], prefix: str) -> None:
        for key in user_data:
            target = META_USER_KEYS.get(key)
            if key in META_USER_KEYS and target != key:
                self.add("meta.user_key", join_key(prefix, key),
                         f"{key} is a Meta Conversions API user key.",
                         f"Rename it to user.{target}." if target else f"Remove {key}: TikTok has no such key.")

    def ip(self, value: str, path: str) -> None:
        text = value.strip()
        try:
            addr = ipaddress.ip_address(text)
        except ValueError:
            if "," in text:
                fix = "Send only the first address of the X-Forwarded-For list (the client)."
            elif len(text) == 64 and _HEX_RE.match(text):
                fix = "Send the IP unhashed: TikTok hashes nothing here."
            elif re.fullmatch(r"[\d.]+:\d+", text) or text.startswith("["):
                fix = "Drop the port: send only the address."
            else:
                fix = None
            self.add("user.ip.invalid", path, f"ip {_short(value)} is not an IPv4 or IPv6 address.", fix)
            return
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped
        if any(addr in net for net in _DOC_NETS):
            return  # documentation ranges: TikTok's own examples use them (module docstring)
        shared = isinstance(addr, ipaddress.IPv4Address) and addr in ipaddress.ip_network("100.64.0.0/10")
        if (addr.is_private or addr.is_loopback or addr.is_link_local or addr.is_reserved
                or addr.is_unspecified or addr.is_multicast or shared):
            self.add("user.ip.private", path,
                     f"ip {text} is a server or internal address; the customer's public IP is needed.")

    # --- properties ---
    def properties(self, props: dict[str, Any], prefix: str, name: str | None) -> None:
        has_value = "value" in props and props["value"] is not None
        if has_value:
            value = props["value"]
            vpath = join_key(prefix, "value")
            if not _is_number(value):
                parsed = _parse_money(value) if isinstance(value, str) else None
                self.add("properties.value.not_number", vpath, f"value is {_short(value)}, not a number.",
                         f"Send \"value\": {parsed} (a number, no quotes)." if parsed is not None else None)
            elif value < 0:
                self.add("properties.value.negative", vpath, f"value {_short(value)} is negative.")
        elif name in VALUE_EVENTS:
            self.add("properties.value.missing", join_key(prefix, "value"), f"{name} has no value.")
        cur = props.get("currency")
        cpath = join_key(prefix, "currency")
        if cur is None or cur == "":
            if has_value:
                self.add("properties.currency.missing", cpath, "value is sent without a currency.")
        elif not isinstance(cur, str):
            self.add("properties.currency.not_string", cpath, f"currency is a JSON {_kind(cur)}.")
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
                self.add("properties.content_ids.invalid", ipath, f"content_ids is a JSON {_kind(ids)}.")
            else:
                for i, item in enumerate(ids):
                    if not isinstance(item, str):
                        self.add("properties.content_ids.invalid", join_index(ipath, i),
                                 f"content_ids[{i}] is a JSON {_kind(item)}, not a string.",
                                 f"Quote it: \"{_short(item)}\".")
        if "num_items" in props and not _is_int(props["num_items"]):
            self.add("properties.num_items.invalid", join_key(prefix, "num_items"),
                     f"num_items is {_short(props['num_items'])}.")

    def content_type(self, value: object, path: str) -> None:
        if value in CONTENT_TYPES:
            return
        guess = None
        if isinstance(value, str):
            low = value.strip().lower().replace("-", "_").replace(" ", "_")
            guess = {"products": "product", "product_groups": "product_group"}.get(low, low)
        fix = f"Send \"{guess}\"." if guess in CONTENT_TYPES else None
        self.add("properties.content_type.invalid", path, f"content_type {_short(value)} is not allowed.", fix)

    def contents(self, items: object, path: str) -> None:
        if not isinstance(items, list):
            self.add("properties.contents.invalid", path, f"contents is a JSON {_kind(items)}, not an array.")
            return
        for i, item in enumerate(items):
            ipath = join_index(path, i)
            if not isinstance(item, dict):
                self.add("properties.contents.invalid", ipath, f"Item {i} is a JSON {_kind(item)}.")
                continue
            cid = item.get("content_id")
            if cid is None or cid == "":
                self.add("properties.contents.content_id_missing", join_key(ipath, "content_id"),
                         f"Item {i} has no content_id.")
            elif not isinstance(cid, str):
                self.add("properties.content_id.not_string", join_key(ipath, "content_id"),
                         f"content_id is a JSON {_kind(cid)}; TikTok says \"Not a valid string\".",
                         f"Quote it: \"content_id\": \"{_short(cid)}\".")
            if "quantity" in item and (not _is_int(item["quantity"]) or item["quantity"] <= 0):
                q = item["quantity"]
                digits = isinstance(q, str) and re.fullmatch(r"\s*\d{1,9}\s*", q) is not None
                fix = f"Send \"quantity\": {int(q)}." if digits else None
                self.add("properties.contents.quantity_invalid", join_key(ipath, "quantity"),
                         f"quantity is {_short(q)}, not a positive integer.", fix)
            if "price" in item and item["price"] is not None and not _is_number(item["price"]):
                parsed = _parse_money(item["price"]) if isinstance(item["price"], str) else None
                self.add("properties.contents.price_invalid", join_key(ipath, "price"),
                         f"price is {_short(item['price'])}, not a number.",
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
                self.add(code, join_key(prefix, key), f"page.{key} {_short(value)} is not an absolute URL.")
        url = page.get("url")
        if isinstance(url, str) and _is_absolute_url(url) and not (user and _present(user.get("ttclid"))):
            try:
                ttclid = parse_qs(urlsplit(url).query).get("ttclid")
            except ValueError:
                ttclid = None
            if ttclid and ttclid[0]:
                self.add("user.ttclid.in_url", join_key(join_key(event_prefix, "user"), "ttclid"),
                         "page.url carries a ttclid that user.ttclid does not.",
                         f"Send \"ttclid\": \"{ttclid[0][:80]}\" in user.")

    # --- legacy 1.0 ---
    def legacy(self, body: dict[str, Any]) -> None:
        anchor = "pixel_code" if "pixel_code" in body else "batch" if "batch" in body else ""
        self.add("body.legacy_v1", anchor,
                 "This is an Events API 1.0 body (/pixel/track/ or /pixel/batch/).",
                 f"Migrate to POST {TRACK_PATH}: pixel_code -> event_source_id with event_source \"web\"; "
                 "batch[] -> data[]; ISO timestamp -> integer event_time seconds; context.user -> user "
                 "(phone_number -> phone); context.ad.callback -> user.ttclid; context.ip / "
                 "context.user_agent -> user.ip / user.user_agent; context.page -> page.")
        ctx = _Ctx(source="web", denied=_denied_path(body, ""))
        if "batch" in body:
            batch = body["batch"]
            if not isinstance(batch, list):
                self.add("legacy.batch.invalid", "batch", f"batch is a JSON {_kind(batch)}.")
                return
            if len(batch) > 50:
                self.add("legacy.batch.too_many", "batch", f"{len(batch)} events in one 1.0 batch; the limit is 50.")
            for i, item in enumerate(batch):
                path = join_index("batch", i)
                if isinstance(item, dict):
                    self.legacy_event(item, path, ctx)
                else:
                    self.add("legacy.batch.invalid", path, f"batch[{i}] is a JSON {_kind(item)}.")
        else:
            self.legacy_event(body, "", ctx)

    def legacy_event(self, ev: dict[str, Any], prefix: str, ctx: _Ctx) -> None:
        name = self.event_name(ev, prefix, ctx)
        self.event_id(ev, prefix, ctx, name, web=True)
        ts = ev.get("timestamp")
        if ts is not None:
            secs = _iso_seconds(ts) if isinstance(ts, str) else None
            if secs is None:
                self.add("legacy.timestamp.invalid", join_key(prefix, "timestamp"),
                         f"timestamp {_short(ts)} is not an ISO 8601 date-time.")
            else:
                self._time_range(secs, join_key(prefix, "timestamp"))
        context = ev.get("context")
        cpath = join_key(prefix, "context")
        if isinstance(context, dict):
            user = context.get("user")
            upath = join_key(cpath, "user")
            if isinstance(user, dict):
                for key, kind in _LEGACY_USER_KEYS.items():
                    if key in user:
                        self.user_value(kind, user[key], join_key(upath, key))
                if "ttp" in user:
                    self.user_scalar("ttp", user["ttp"], join_key(upath, "ttp"))
                if ctx.denied:
                    for key in _LEGACY_USER_KEYS:
                        if _present(user.get(key)):
                            self.add("consent.denied_with_pii", join_key(upath, key),
                                     f"{key} is sent although ad_user_data is DENIED at {ctx.denied}.")
            ad = context.get("ad")
            if isinstance(ad, dict) and "callback" in ad:
                self.user_scalar("ttclid", ad["callback"], join_key(join_key(cpath, "ad"), "callback"))
            for key in ("ip", "user_agent"):
                if key in context:
                    self.user_scalar(key, context[key], join_key(cpath, key))
            page = context.get("page")
            if isinstance(page, dict):
                self.page(page, join_key(cpath, "page"), None, cpath)
        props = ev.get("properties")
        if isinstance(props, dict):
            self.properties(props, join_key(prefix, "properties"), name)


# --- helpers -------------------------------------------------------------------------------------
def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _short(value: object, limit: int = 60) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (ValueError, TypeError, RecursionError):
        text = f"<{_kind(value)}>"  # repr() of a huge int raises too
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _is_number(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return not isinstance(value, float) or math.isfinite(value)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _truthy(value: object) -> bool:
    """What a sender most likely meant by a non-boolean flag ("true", 1, "yes")."""
    return value in (1, "1") or (isinstance(value, str) and value.strip().lower() in ("true", "yes"))


def _present(value: object) -> bool:
    if isinstance(value, list):
        return any(_present(v) for v in value)
    return value is not None and value != "" and not (isinstance(value, str) and not value.strip())


def _denied_path(obj: Mapping[str, Any], prefix: str) -> str | None:
    """Path of an `ad_user_data: "DENIED"` on this object or its properties (sender-side consent)."""
    for container, cprefix in ((obj, prefix), (obj.get("properties"), join_key(prefix, "properties"))):
        if isinstance(container, dict):
            v = container.get("ad_user_data")
            if isinstance(v, str) and v.strip().upper() == "DENIED":
                return join_key(cprefix, "ad_user_data")
    return None


def _iso_seconds(text: str) -> int | None:
    try:
        dt = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)  # TikTok's 1.0 timestamp is UTC when no offset is given
    try:
        return int(dt.timestamp())
    except (OverflowError, OSError, ValueError):
        return None


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


# --- public API ----------------------------------------------------------------------------------
def lint(body: object, *, now: float | None = None) -> list[Finding]:
    """Every finding for `body`, sorted errors first then by path; never raises for any JSON value.

    `body` is a parsed JSON value: a v1.3 body, a bare event, a list of events or a 1.0 body (module
    docstring). `now` (Unix seconds) fixes the clock for the future/too-old checks; default: time.time().
    TikTok: v1.3 `/event/track/` rules of contract §2, §3, §5, §9; findings carry the code TikTok would
    answer with where one is known (40002, 40061, 40062).
    """
    linter = _Linter(time.time() if now is None else float(now))
    with contextlib.suppress(RecursionError):  # pathological nesting: report what was found
        linter.body(body)
    return sort_findings(linter.out)


def lint_text(text: str, *, now: float | None = None) -> tuple[object, list[Finding]]:
    """Parse JSON text and lint it: (body, findings). Raises InvalidPayload (line, column) for bad JSON."""
    body = parse_body(text)
    return body, lint(body, now=now)


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not valid JSON")


def parse_body(text: str) -> object:
    """JSON text -> value; raises InvalidPayload naming the line and column of the first syntax error.

    NaN and Infinity (which Python's json would accept) are rejected: TikTok's parser rejects them too.
    """
    if not text.strip():
        raise InvalidPayload("The body is empty.", hint="Paste the JSON your server sends to /event/track/.")
    try:
        return json.loads(text.lstrip("\ufeff"), parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise InvalidPayload(f"Not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.",
                             hint="Fix the JSON syntax at that spot (a missing comma or quote is typical).") \
            from None
    except ValueError as exc:  # NaN / Infinity
        raise InvalidPayload(f"Not valid JSON: {exc}.", hint="Send a number or null instead.") from None
    except RecursionError:
        raise InvalidPayload("The JSON is nested too deeply to read.", hint="Check the body's structure.") \
            from None


SAMPLE_BODIES: Final[dict[str, Callable[[float], dict[str, Any]]]] = {}


def _sample_valid(now: float) -> dict[str, Any]:
    t = int(now) - 60
    return {
        "event_source": "web", "event_source_id": "C4A1B2C3D4E5F6G7H8I9", "test_event_code": "TEST12345",
        "data": [{
            "event": "Purchase", "event_time": t, "event_id": "ord_10492_purchase",
            "user": {
                "email": ["848a771458438fc2ec420560d769fb9b9b86851ee338ec56517baabd79d3bb4f"],
                "phone": ["9f7ec22d72092cd3c0b58726ed9c2d91b92e51a3f29837508fb2948bb22dd2fd"],
                "external_id": ["80fba0ae1c48e3978e43e4efc365e14e12ea0c830ba8ba5b9a2dafc7e3f2ab8b"],
                "ttclid": "E.C.P.v3CkPQ2Zs1", "ttp": "01K0T8BYGJH63785W68YS5NN1R_.tt.1", "ip": "203.0.113.7",
                "user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15",
            },
            "page": {"url": "https://shop.example/thanks?ttclid=E.C.P.v3CkPQ2Zs1",
                     "referrer": "https://shop.example/cart"},
            "properties": {"currency": "USD", "value": 46.0, "content_type": "product",
                           "contents": [{"content_id": "1077218", "price": 8, "quantity": 2},
                                        {"content_id": "1077219", "price": 30, "quantity": 1}]},
            "limited_data_use": False,
        }],
    }


def _sample_meta(now: float) -> dict[str, Any]:
    return {"data": [{
        "event_name": "Purchase", "event_time": int(now) - 60, "action_source": "website",
        "event_source_url": "https://shop.example/thanks",
        "user_data": {"em": ["848a771458438fc2ec420560d769fb9b9b86851ee338ec56517baabd79d3bb4f"],
                      "client_ip_address": "203.0.113.7", "fbc": "fb.1.1554763741205.AbCdEf"},
        "custom_data": {"currency": "USD", "value": 46.0},
    }], "test_event_code": "TEST12345"}


def _sample_broken(now: float) -> dict[str, Any]:
    return {
        "event_source": "web", "event_source_id": "C4A1B2C3D4E5F6G7H8I9",
        "data": [{
            "event": "purchase", "event_time": int(now * 1000), "event_id": 10492,
            "user": {"email": "Alice@Example.com ", "phone": "+1 213 373 4253", "ip": "10.0.0.12",
                     "user_agent": "python-requests/2.32.3"},
            "page": {"url": "/thanks"},
            "properties": {"value": "46.00", "currency": "usd", "content_type": "products",
                           "contents": [{"content_id": 1077218, "quantity": 2}, {"quantity": 1.5}]},
        }],
    }


SAMPLE_BODIES.update({"valid purchase": _sample_valid, "Meta CAPI body": _sample_meta,
                      "broken body": _sample_broken})


def sample_body_text(name: str, now: float | None = None) -> str:
    """The pretty JSON text of a named sample body ("valid purchase", "Meta CAPI body", "broken body")."""
    return pretty_json(SAMPLE_BODIES[name](time.time() if now is None else now))


if __name__ == "__main__":  # python -m core.lint > docs/findings.md
    print(render_catalogue_markdown())
