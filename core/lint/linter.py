"""The linter itself: the body-shape dispatch and the event walk over the checks of core.lint.

Parse leniently, validate strictly (packaging's metadata style): `lint` accepts any JSON value and never
raises; it returns `Finding`s with a stable `code` documented in `CATALOGUE` (core.lint.findings;
docs/findings.md is rendered from it by `python -m core.lint`).

Shapes accepted (contract §1, §2):
- a full v1.3 body `{"event_source", "event_source_id", "data": [...]}`: paths `data[0].user.email`;
- a bare event `{"event": ..., "user": ...}`: paths relative to the event (`user.email`) + `body.bare_event`;
- a JSON array of events: paths `[0].user.email` + `body.event_list`;
- a legacy Events API 1.0 body (`pixel_code`, `batch`, `context.user`, ISO `timestamp`): `body.legacy_v1`
  with the migration, and the mappable parts linted (`context.user.email`, `batch[0].context.ip`);
- a body of the older Offline Events API (`event_set_id`, /offline/track/): `body.legacy_offline` with
  its own migration (event_source offline), never mistaken for Events API 1.0.

An upload (`lint_bodies`, `lint_upload`) is linted whole: positions are absolute over the input
(`data[1500]`, however a send splits it), each finding carries the event's `event_id` and, for JSONL, the
input line.

Paths (core.lint.jsonpath): object keys joined with `.`, array elements as `[i]`, keys that are not
identifiers as `["a.b"]`. A missing key is reported at the path where it belongs (`data[0].event_time`).
The body itself is `""`.

Decisions (where TikTok is silent):
- An IP earns a finding exactly where the EMQ proxy (core.quality) gives it no points: private, loopback,
  documentation, shared and reserved ranges alike, so lint and the proxy never disagree.
- A web event without ip, user_agent or page.url warns: TikTok needs them to match web events (§7).
- An event_id with an email address, or a phone number written as one (`+44 20 7946 0958`,
  `(213) 373-4253`), is PII. A bare run of digits is not: order numbers and Unix times look the same.
- event_time older than 7 days is a warning: TikTok documents no maximum age (contract §3, UNSURE).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from core.contract import (
    EVENT_FIELDS,
    EVENT_SOURCES,
    MAX_EVENTS_PER_REQUEST,
    META_TOP_KEYS,
    TOP_LEVEL_FIELDS,
    TRACK_PATH,
    VALUE_EVENTS,
)
from core.errors import InvalidPayload
from core.lint.checker import EventContext, is_present, json_excerpt, json_kind, parse_iso_seconds
from core.lint.event_checks import EventChecks
from core.lint.findings import CATALOGUE, Finding, event_index, sort_findings
from core.lint.jsonpath import join_index, join_key, pretty_json
from core.lint.user_checks import UserChecks

_LEGACY_USER_KEYS: Final = {"email": "email", "phone_number": "phone", "external_id": "external_id",
                             "emails": "email", "phone_numbers": "phone"}  # the last two: Offline API
# Pixel codes seen are 20 upper-case letters and digits starting with a letter (C..., D...; contract §2.1);
# offline and CRM event set ids are 19 digits. Anything else cannot be the id TikTok looks up.
_PIXEL_CODE_RE: Final = re.compile(r"[A-Z][A-Z0-9]{19}")
_EVENT_SET_ID_RE: Final = re.compile(r"\d{19}")
_EVENT_KEY_HINTS: Final = {
    "timestamp": "Events API 1.0 name: send integer Unix seconds as event_time.",
    "context": "Events API 1.0 shape: move context.user to user, context.page to page, context.ip and "
               "context.user_agent to user.ip and user.user_agent.",
    "test_event_code": "It belongs at the top level of the body, beside data.",
    "pixel_code": "It belongs at the top level, as event_source_id.",
    "event_source_id": "It belongs at the top level of the body, beside data.",
    "event_source": "It belongs at the top level of the body, beside data.",
    "event_set_id": "It is the older Offline API's name: send it as event_source_id at the top level.",
}
_TOP_EVENT_KEYS: Final = frozenset(("event", "event_time", "event_id", "user", "properties", "page",
                                    "limited_data_use"))


# --- the linter ----------------------------------------------------------------------------------
class _Linter(EventChecks, UserChecks):
    """The body-shape dispatch and the event walk; the per-area checks come from the mixins.

    `offset` is added to every event index (an upload's later bodies continue its numbering); with
    `split` the sender splits a body into requests of 1,000, so more than 1,000 events is no error;
    `seen_ids` spans every body linted, as TikTok's same-source deduplication does.
    """

    def __init__(self, now: float, *, split: bool = False) -> None:
        super().__init__(now)
        self.offset = 0
        self.split = split
        self.seen_ids: dict[tuple[str, str], str] = {}

    def context(self, source: str | None, denied: str | None = None) -> EventContext:
        return EventContext(source, denied, self.seen_ids)

    # --- body dispatch ---
    def body(self, body: object) -> None:
        if isinstance(body, list):
            self.add("body.event_list", "", f"A list of {len(body)} event(s): read as the data array.")
            self.events(body, "", self.context(None))
            return
        if not isinstance(body, dict):
            kind = "null" if body is None else type(body).__name__
            self.add("body.not_object", "", f"The body is a JSON {kind}, not an object.")
            return
        if "data" not in body and "event_set_id" in body:
            self.legacy_offline(body)
            return
        if "data" not in body and ("pixel_code" in body or "batch" in body):
            self.legacy(body)
            return
        if "data" not in body and ("context" in body and "event_time" not in body):
            self.legacy(body)
            return
        if "data" not in body and any(k in body for k in (*_TOP_EVENT_KEYS, *META_TOP_KEYS)):
            self.add("body.bare_event", "", "A single event without the body around it; checked as data[0].")
            self.event(body, "", self.context(None, _denied_path(body, "")))
            return
        self.full(body)

    def full(self, body: dict[str, Any]) -> None:
        source = self.top_level(body)
        ctx = self.context(source, _denied_path(body, ""))
        if "data" not in body:
            self.add("data.missing", "data", "The body has no data array, so it carries no events.")
            return
        data = body["data"]
        if not isinstance(data, list):
            self.add("data.not_array", "data", f"data is a JSON {json_kind(data)}, not an array of events.")
            if isinstance(data, dict):
                self.event(data, "data", ctx)
            return
        self.events(data, "data", ctx)
        tec = body.get("test_event_code")
        if isinstance(tec, str) and tec.strip() and len(data) > 1:
            self.add("test_event_code.batched", "test_event_code",
                     f"{len(data)} events sent together with a test event code.")

    def events(self, data: list[Any], prefix: str, ctx: EventContext) -> None:
        if not data:
            self.add("data.empty", prefix or "", "The request carries no events.")
        elif len(data) > MAX_EVENTS_PER_REQUEST and not self.split:
            self.add("data.too_many", prefix or "",
                     f"{len(data):,} events in one request; TikTok takes at most {MAX_EVENTS_PER_REQUEST:,}.",
                     f"Split into {math.ceil(len(data) / MAX_EVENTS_PER_REQUEST)} requests of at most 1,000.")
        for i, item in enumerate(data):
            path = join_index(prefix, self.offset + i)
            if not isinstance(item, dict):
                self.add("data.item_not_object", path, f"Event {i} is a JSON {json_kind(item)}, not an object.")
                continue
            own = _denied_path(item, path)
            self.event(item, path, EventContext(ctx.source, own or ctx.denied, ctx.seen_ids))

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
                     f"event_source {json_excerpt(source)} is not one of web, app, offline, crm.", fix)
        else:
            valid_source = source
        sid = body.get("event_source_id")
        if "event_source_id" not in body or sid in (None, "") or (isinstance(sid, str) and not sid.strip()):
            self.add("event_source_id.missing", "event_source_id", "event_source_id (the Pixel code) is missing.")
        elif not isinstance(sid, str):
            self.add("event_source_id.not_string", "event_source_id",
                     f"event_source_id is a JSON {json_kind(sid)}; TikTok rejects it with 40002.",
                     f"Quote it: \"event_source_id\": \"{json_excerpt(sid)}\".")
        elif valid_source:
            self.source_id(valid_source, sid)
        if "test_event_code" in body:
            tec = body["test_event_code"]
            if not isinstance(tec, str):
                self.add("test_event_code.not_string", "test_event_code",
                         f"test_event_code is a JSON {json_kind(tec)}.")
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
            elif key == "event_set_id":
                self.add("body.misplaced_key", path, "event_set_id is the older Offline Events API's name.",
                         "Rename it to event_source_id (with event_source offline).")
            else:
                self.add("body.unknown_key", path, f"Top-level key {key!r} is not part of the v1.3 body.")
        return valid_source

    def source_id(self, source: str, sid: str) -> None:
        """event_source_id against its source: a Pixel code for web, an App ID for app, an event set id."""
        text = sid.strip()
        pixel_like = _PIXEL_CODE_RE.fullmatch(text.upper()) is not None
        if source == "web":
            if text.isdigit():
                self.add("event_source_id.mismatch", "event_source_id",
                         "event_source is web but event_source_id is all digits, like an offline/CRM event "
                         "set id or an App ID.", "Use the Pixel code, or event_source offline/crm/app for that id.")
            elif not pixel_like:
                self.add("event_source_id.not_pixel_code", "event_source_id",
                         f"event_source_id {json_excerpt(sid)} cannot be a Pixel code: they are 20 letters and "
                         "digits, such as C4A1B2C3D4E5F6G7H8I9.")
            elif text != text.upper():
                self.add("event_source_id.not_pixel_code", "event_source_id",
                         f"event_source_id {json_excerpt(sid)} has lower-case letters; Pixel codes are upper-case.",
                         f"Send \"event_source_id\": \"{text.upper()}\".")
        elif source == "offline" and pixel_like:
            self.add("event_source_id.pixel_code_offline", "event_source_id",
                     "event_source is offline but event_source_id is a Pixel code; TikTok answers 40002 "
                     "\"Invalid value for event_source_id\".")
        elif source in ("offline", "crm") and not _EVENT_SET_ID_RE.fullmatch(text):
            what = "a Pixel code" if pixel_like else f"{json_excerpt(sid)}, not 19 digits"
            self.add("event_source_id.mismatch", "event_source_id",
                     f"event_source is {source} but event_source_id is {what}.",
                     f"Use the 19-digit {source} event set id from Events Manager, or event_source web with a "
                     "Pixel code.")
        elif source == "app" and pixel_like:
            self.add("event_source_id.mismatch", "event_source_id",
                     "event_source is app but event_source_id looks like a Pixel code.",
                     "Use the TikTok App ID from Events Manager, or event_source web with the Pixel code.")

    def _meta_key(self, key: str, path: str) -> None:
        target = META_TOP_KEYS[key]
        fix = ("Remove it and set \"event_source\": \"web\" at the top level of the body."
               if key == "action_source" else f"Rename {key} to {target}.")
        self.add("meta.key", path, f"{key} is a Meta Conversions API key; TikTok ignores it.", fix)

    # --- one v2 event ---
    def event(self, ev: dict[str, Any], prefix: str, ctx: EventContext) -> None:
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
            elif key in ("test_event_code", "event_source_id", "event_source", "pixel_code", "event_set_id"):
                if prefix:  # inside data[] it has no effect; on a bare event it is the body's own key
                    self.add("body.misplaced_key", path, f"{key} inside an event has no effect.",
                             _EVENT_KEY_HINTS[key])
            else:
                self.add("event.unknown_key", path, f"{key} is not a v1.3 event field.",
                         _EVENT_KEY_HINTS.get(key))
        for key in ("user", "properties", "page", "lead", "app", "ad", "device"):
            if key in ev and not isinstance(ev[key], dict):
                self.add("event.not_object", join_key(prefix, key),
                         f"{key} is a JSON {json_kind(ev[key])}, not an object.")
        user = ev.get("user")
        if isinstance(user, dict):
            self.user(user, join_key(prefix, "user"), ctx)
        elif "user" not in ev and "user_data" not in ev and ctx.source in (None, "web"):
            self.add("event.user.missing", join_key(prefix, "user"), "The event has no user object.")
        if ctx.source in (None, "web") and "user_data" not in ev:
            self.web_match_keys(ev, prefix)
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
                     f"limited_data_use is {json_excerpt(ldu)}, not true or false.",
                     f"Send {'true' if _truthy(ldu) else 'false'} without quotes.")
        if ctx.source == "crm":
            lead = ev.get("lead")
            if not isinstance(lead, dict) or not lead.get("lead_id"):
                self.add("event.lead.missing", join_key(prefix, "lead"), "A CRM event without lead.lead_id.")

    def web_match_keys(self, ev: Mapping[str, Any], prefix: str) -> None:
        """TikTok matches web events on ip + user_agent and the page (contract §7): warn when one is absent."""
        user, page = ev.get("user"), ev.get("page")
        if "user" not in ev or isinstance(user, dict):
            for key, code in (("ip", "user.ip.missing"), ("user_agent", "user.user_agent.missing")):
                if not isinstance(user, dict) or user.get(key) is None:
                    self.add(code, join_key(join_key(prefix, "user"), key), f"This web event has no user.{key}.")
        if "page" not in ev or (isinstance(page, dict) and page.get("url") is None):
            self.add("page.url.missing", join_key(join_key(prefix, "page"), "url"), "This web event has no page.url.")

    # --- legacy 1.0 ---
    def legacy(self, body: dict[str, Any]) -> None:
        anchor = "pixel_code" if "pixel_code" in body else "batch" if "batch" in body else ""
        self.add("body.legacy_v1", anchor,
                 "This is an Events API 1.0 body (/pixel/track/ or /pixel/batch/).",
                 f"Migrate to POST {TRACK_PATH}: pixel_code -> event_source_id with event_source \"web\"; "
                 "batch[] -> data[]; ISO timestamp -> integer event_time seconds; context.user -> user "
                 "(phone_number -> phone); context.ad.callback -> user.ttclid; context.ip / "
                 "context.user_agent -> user.ip / user.user_agent; context.page -> page.")
        ctx = self.context("web", _denied_path(body, ""))
        if "batch" in body:
            batch = body["batch"]
            if not isinstance(batch, list):
                self.add("legacy.batch.invalid", "batch", f"batch is a JSON {json_kind(batch)}.")
                return
            if len(batch) > 50:
                self.add("legacy.batch.too_many", "batch", f"{len(batch)} events in one 1.0 batch; the limit is 50.")
            for i, item in enumerate(batch):
                path = join_index("batch", i)
                if isinstance(item, dict):
                    self.legacy_event(item, path, ctx)
                else:
                    self.add("legacy.batch.invalid", path, f"batch[{i}] is a JSON {json_kind(item)}.")
        else:
            self.legacy_event(body, "", ctx)

    def legacy_offline(self, body: dict[str, Any]) -> None:
        """A body of the older Offline Events API (/offline/track/, /offline/batch/): migrate to offline."""
        self.add("body.legacy_offline", "event_set_id",
                 "This is a body of the older Offline Events API (/offline/track/ or /offline/batch/).",
                 f"Migrate to POST {TRACK_PATH}: event_set_id -> event_source_id with event_source \"offline\"; "
                 "batch[] -> data[]; ISO timestamp -> integer event_time seconds; context.user.emails / "
                 "phone_numbers -> user.email / user.phone (SHA-256, phone in E.164 with the +); properties "
                 "stay properties.")
        sid = body.get("event_set_id")
        if isinstance(sid, str) and sid.strip():
            self.source_id("offline", sid)
        ctx = self.context("offline", _denied_path(body, ""))
        batch = body.get("batch")
        if isinstance(batch, list):
            for i, item in enumerate(batch):
                if isinstance(item, dict):
                    self.legacy_event(item, join_index("batch", i), ctx)
                else:
                    self.add("legacy.batch.invalid", join_index("batch", i), f"batch[{i}] is a JSON {json_kind(item)}.")
        elif "batch" in body:
            self.add("legacy.batch.invalid", "batch", f"batch is a JSON {json_kind(batch)}.")
        else:
            self.legacy_event(body, "", ctx)

    def legacy_event(self, ev: dict[str, Any], prefix: str, ctx: EventContext) -> None:
        name = self.event_name(ev, prefix, ctx)
        self.event_id(ev, prefix, ctx, name, web=ctx.source == "web")
        ts = ev.get("timestamp")
        if ts is not None:
            secs = parse_iso_seconds(ts) if isinstance(ts, str) else None
            if secs is None:
                self.add("legacy.timestamp.invalid", join_key(prefix, "timestamp"),
                         f"timestamp {json_excerpt(ts)} is not an ISO 8601 date-time.")
            else:
                self.time_range(secs, join_key(prefix, "timestamp"))
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
                        if is_present(user.get(key)):
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
def _truthy(value: object) -> bool:
    """What a sender most likely meant by a non-boolean flag ("true", 1, "yes")."""
    return value in (1, "1") or (isinstance(value, str) and value.strip().lower() in ("true", "yes"))


def _denied_path(obj: Mapping[str, Any], prefix: str) -> str | None:
    """Path of an `ad_user_data: "DENIED"` on this object or its properties (sender-side consent)."""
    for container, cprefix in ((obj, prefix), (obj.get("properties"), join_key(prefix, "properties"))):
        if isinstance(container, dict):
            v = container.get("ad_user_data")
            if isinstance(v, str) and v.strip().upper() == "DENIED":
                return join_key(cprefix, "ad_user_data")
    return None


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


def lint_bodies(bodies: Sequence[object], *, lines: Sequence[int | None] | None = None,
                now: float | None = None, split: bool = True) -> list[Finding]:
    """Every finding over the bodies of one upload, at positions absolute over the whole input.

    Events are numbered across `bodies` in order, as the send path flattens them: the 1,501st event is
    `data[1500]` whichever request carries it. Each finding inside an event carries that event's
    `event_id`; `lines[k]` (the input line of body k, for JSONL) becomes the finding's `line`. With
    `split` (the default) a body over 1,000 events is no error: the sender splits it into requests.
    Duplicate event + event_id pairs are found across bodies (TikTok deduplicates across requests).
    TikTok: one bad event refuses its whole request (40002 names `data.N`), so every event is linted.
    """
    linter = _Linter(time.time() if now is None else float(now), split=split)
    ids: list[str | None] = []
    body_of_event: list[int] = []
    line_of_body: list[int | None] = []
    for k, body in enumerate(bodies):
        linter.offset = len(ids)
        start = len(linter.out)
        with contextlib.suppress(RecursionError):  # pathological nesting: report what was found
            if lines is not None and isinstance(body, dict) and _is_bare_event(body):  # a JSONL event line
                path = join_index("data", linter.offset)
                linter.event(body, path, linter.context(None, _denied_path(body, path)))
            else:
                linter.body(body)
        events = _events_of(body)
        ids.extend(_event_id_text(ev) for ev in events)
        body_of_event.extend([k] * len(events))
        line = lines[k] if lines is not None and k < len(lines) else None
        line_of_body.append(line)
        for j in range(start, len(linter.out)):
            f = linter.out[j]
            i = event_index(f.path)
            where = line_of_body[body_of_event[i]] if i is not None and i < len(ids) else line
            eid = ids[i] if i is not None and i < len(ids) else None
            if where is not None or eid is not None:
                linter.out[j] = dataclasses.replace(f, line=where, event_id=eid)
    return sort_findings(linter.out)


def lint_upload(text: str, *, now: float | None = None) -> tuple[list[object], list[Finding]]:
    """Parse a pasted or uploaded text and lint all of it: (records, findings).

    The text is one JSON document (a body, an event, a list of events) or JSONL: one body or one event
    per line, events numbered across the whole input (`data[1500]`) with each finding's input `line`.
    `records` holds the one document, or one value per JSONL line. Raises InvalidPayload naming the
    line (and column) of the first syntax error, and LimitExceeded / InvalidFile for text past the reading
    limits (nesting, number size) or with a lone surrogate escape, which no request can carry.
    """
    from core.sources.jsondoc import check_json

    check_json(text, "the body")
    records, lines = parse_upload(text)
    if lines is None:
        return records, lint_bodies(records, now=now, split=False)
    findings = lint_bodies(records, lines=lines, now=now, split=False)
    bare = sum(1 for r in records if isinstance(r, dict) and _is_bare_event(r))
    if bare:
        info = Finding(CATALOGUE["body.event_list"].severity, "body.event_list", "",
                       f"{bare} line(s) hold a bare event: read as the data array of one request.",
                       "Nothing to do for the console; TikTok needs them wrapped in a v1.3 body with "
                       "event_source and event_source_id.")
        findings = sort_findings([*findings, info])
    return records, findings


def parse_upload(text: str) -> tuple[list[object], list[int | None] | None]:
    """(records, lines): one JSON document with lines None, or JSONL records with their 1-based lines.

    Raises InvalidPayload for text that is neither: a JSONL line that is not JSON is named by its line.
    """
    try:
        return [parse_body(text)], None
    except InvalidPayload as whole:
        rows = [(n, line) for n, line in enumerate(text.lstrip("\ufeff").splitlines(), 1) if line.strip()]
        if len(rows) < 2:
            raise
        records: list[object] = []
        for n, line in rows:
            try:
                records.append(parse_body(line))
            except InvalidPayload as exc:
                if n == rows[0][0]:
                    raise whole from None  # a multi-line document with a syntax error: where the whole failed
                raise InvalidPayload(exc.message.replace(" at line 1, column ", " at column "), line=n,
                                     hint="Put one JSON body or event on each line (JSONL), or paste one JSON "
                                          "document.") from None
        return records, [n for n, _ in rows]


def _is_bare_event(obj: Mapping[str, Any]) -> bool:
    return "data" not in obj and "event_set_id" not in obj and "pixel_code" not in obj and "batch" not in obj \
        and any(k in obj for k in (*_TOP_EVENT_KEYS, *META_TOP_KEYS))


def _events_of(body: object) -> list[Any]:
    """The events a body carries in `data` order (a list of events, or a bare event, counts as its own)."""
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        data = body.get("data")
        if isinstance(data, list):
            return data
        if _is_bare_event(body):
            return [body]
    return []


def _event_id_text(event: object) -> str | None:
    eid = event.get("event_id") if isinstance(event, dict) else None
    if isinstance(eid, str) and eid.strip():
        return eid
    return str(eid) if isinstance(eid, int | float) and not isinstance(eid, bool) else None


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
                "ttclid": "E.C.P.v3CkPQ2Zs1", "ttp": "01K0T8BYGJH63785W68YS5NN1R_.tt.1", "ip": "203.0.114.7",
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

