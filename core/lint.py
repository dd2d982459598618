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
import json
import math
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

from core.checker import EventContext, is_present, json_excerpt, json_kind, parse_iso_seconds
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
from core.event_checks import EventChecks
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
from core.jsonpath import join_index, join_key, line_for, locate_paths, parent_path, pretty_json
from core.user_checks import UserChecks

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

_LEGACY_USER_KEYS: Final = {"email": "email", "phone_number": "phone", "external_id": "external_id"}
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


# --- the linter ----------------------------------------------------------------------------------
class _Linter(EventChecks, UserChecks):
    """The body-shape dispatch and the event walk; the per-area checks come from the mixins."""

    # --- body dispatch ---
    def body(self, body: object) -> None:
        if isinstance(body, list):
            self.add("body.event_list", "", f"A list of {len(body)} event(s): read as the data array.")
            self.events(body, "", EventContext(source=None))
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
            self.event(body, "", EventContext(source=None, denied=_denied_path(body, "")))
            return
        self.full(body)

    def full(self, body: dict[str, Any]) -> None:
        source = self.top_level(body)
        ctx = EventContext(source=source, denied=_denied_path(body, ""))
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
        elif len(data) > MAX_EVENTS_PER_REQUEST:
            self.add("data.too_many", prefix or "",
                     f"{len(data):,} events in one request; TikTok takes at most {MAX_EVENTS_PER_REQUEST:,}.",
                     f"Split into {math.ceil(len(data) / MAX_EVENTS_PER_REQUEST)} requests of at most 1,000.")
        for i, item in enumerate(data):
            path = join_index(prefix, i)
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
            else:
                self.add("body.unknown_key", path, f"Top-level key {key!r} is not part of the v1.3 body.")
        return valid_source

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
                         f"{key} is a JSON {json_kind(ev[key])}, not an object.")
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
                     f"limited_data_use is {json_excerpt(ldu)}, not true or false.",
                     f"Send {'true' if _truthy(ldu) else 'false'} without quotes.")
        if ctx.source == "crm":
            lead = ev.get("lead")
            if not isinstance(lead, dict) or not lead.get("lead_id"):
                self.add("event.lead.missing", join_key(prefix, "lead"), "A CRM event without lead.lead_id.")

    # --- legacy 1.0 ---
    def legacy(self, body: dict[str, Any]) -> None:
        anchor = "pixel_code" if "pixel_code" in body else "batch" if "batch" in body else ""
        self.add("body.legacy_v1", anchor,
                 "This is an Events API 1.0 body (/pixel/track/ or /pixel/batch/).",
                 f"Migrate to POST {TRACK_PATH}: pixel_code -> event_source_id with event_source \"web\"; "
                 "batch[] -> data[]; ISO timestamp -> integer event_time seconds; context.user -> user "
                 "(phone_number -> phone); context.ad.callback -> user.ttclid; context.ip / "
                 "context.user_agent -> user.ip / user.user_agent; context.page -> page.")
        ctx = EventContext(source="web", denied=_denied_path(body, ""))
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

    def legacy_event(self, ev: dict[str, Any], prefix: str, ctx: EventContext) -> None:
        name = self.event_name(ev, prefix, ctx)
        self.event_id(ev, prefix, ctx, name, web=True)
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
