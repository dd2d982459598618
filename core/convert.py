"""Meta Conversions API -> TikTok Events API v1.3: the body, a note per field carried over, and what is lost.

Every field of the Meta input is accounted for: carried over (a note saying from where to where and how)
or lost (saying why, and where the TikTok value comes from instead). TikTok's own "Payload Converter"
shows neither; here nothing disappears silently.

Mapping decisions (Meta's and TikTok's rules, contract §2, §5, §6.4):
- `em`, `external_id`, `fn`, `ln`, `zp` hashed by Meta are SHA-256 of normalized values TikTok also
  hashes: carried as is. Raw values are normalized and hashed the TikTok way.
- `ph`: Meta hashes the digits without the `+`, TikTok the E.164 number with it. A raw number is re-hashed
  in E.164; a Meta hash cannot be turned into TikTok's, so it is lost (send the raw number instead).
- `ct`, `st`, `country`: TikTok takes them unhashed (lower-case letters); a Meta hash is lost, raw values
  are normalized.
- `fbc`, `fbp` carry Meta's ids: lost. TikTok's come from the `ttclid` URL parameter and the `_ttp` cookie.
- `db`, `ge` and Meta's own ids (page, lead, login, Instagram ...) have no TikTok field: lost.
- `action_source` website -> `event_source` web under the Pixel code; app, offline and CRM events need
  their own ids (App ID, event set id). `event_source` is per body: events of another source are lost
  from this body with the advice to convert them separately.
- `data_processing_options` ["LDU"] -> `limited_data_use: true` (both are the US state privacy flag).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from core.contract import (
    CURRENCIES,
    MS_TIMESTAMP_THRESHOLD,
    PAGEVIEW_EVENT,
    PROPERTY_FIELDS,
    STANDARD_EVENTS,
    USER_FIELDS,
)
from core.errors import ConfigError, InvalidPayload
from core.identity import hash_identifier, is_sha256

ACTION_SOURCES: Final = {
    "website": "web", "app": "app", "physical_store": "offline", "phone_call": "offline", "email": "crm",
    "chat": "crm", "system_generated": "crm", "business_messaging": "crm", "other": "crm",
}
_SOURCE_IDS: Final = {
    "web": "the Pixel code",
    "app": "the TikTok App ID (Events Manager > App), not a Pixel code",
    "offline": "the offline event set id (19 digits), not a Pixel code: TikTok refuses offline events "
               "sent with a Pixel code (40002)",
    "crm": "the CRM event set id, not a Pixel code",
}
# Meta names that differ from TikTok's (everything in STANDARD_EVENTS keeps its name)
EVENT_NAMES: Final = {"PageView": PAGEVIEW_EVENT}
_LOST_USER: Final = {
    "fbc": ("fbc is Meta's click id (the _fbc cookie): TikTok cannot match it.",
            "user.ttclid: the ttclid URL parameter of the landing page, or the ttclid cookie kept from it"),
    "fbp": ("fbp is Meta's browser id (the _fbp cookie): TikTok cannot match it.",
            "user.ttp: the value of the _ttp cookie the TikTok Pixel sets"),
    "db": ("TikTok's Events API has no date of birth field.", None),
    "ge": ("TikTok's Events API has no gender field.", None),
    "madid": ("A mobile advertiser id only matches in an app body.",
              "user.idfa (iOS) or user.gaid (Android) in a body with event_source app"),
}
_META_IDS: Final = ("subscription_id", "fb_login_id", "lead_id", "anon_id", "page_id", "page_scoped_user_id",
                    "ctwa_clid", "ig_account_id", "ig_sid")
# hashed by Meta and by TikTok alike: (TikTok field, identity kind, keeps a list)
_HASHED_USER: Final = {"em": ("email", "email", True), "external_id": ("external_id", "external_id", True),
                       "fn": ("first_name", "first_name", False), "ln": ("last_name", "last_name", False),
                       "zp": ("zip_code", "zip_code", False)}
_PLAIN_USER: Final = {"ct": "city", "st": "state", "country": "country"}
_RAW_USER: Final = {"client_ip_address": "ip", "client_user_agent": "user_agent"}
_SAME_PROPERTIES: Final = ("content_type", "num_items", "search_string", "order_id", "predicted_ltv",
                           "delivery_category")
_CONTENT_KEYS: Final = {"id": "content_id", "quantity": "quantity", "item_price": "price", "title": "content_name",
                        "category": "content_category", "brand": "brand"}
_LOST_TOP: Final = {
    "test_event_code": ("Meta's test code means nothing to TikTok.",
                        "test_event_code from TikTok Events Manager > Test Events (the sidebar, or send "
                        "--test-event-code)"),
    "access_token": ("Meta's access token is never carried over (and never printed).",
                     "TikTok's token, sent in the Access-Token header (TIKTOK_ACCESS_TOKEN)"),
    "partner_agent": ("Meta's partner tag has no TikTok counterpart for advertisers.", None),
}
_UPLOAD_KEYS: Final = ("namespace_id", "upload_id", "upload_tag", "upload_source")
_CUSTOM_DATA_KEYS: Final = ("value", "currency", "contents", "content_ids", "content_type", "content_name",
                             "content_category", "num_items", "order_id", "search_string", "status",
                             "predicted_ltv", "delivery_category")
_LOST_EVENT: Final = {
    "app_data": ("Meta's app fields do not translate one to one.",
                 "an app body: event_source app, the App ID, and TikTok's app fields"),
    "opt_out": ("TikTok has no per-event opt-out from ad optimization.",
                "leave the event out when the person opted out of sharing"),
    "data_processing_options_country": ("TikTok decides where limited data use applies; only the flag travels.",
                                        None),
    "data_processing_options_state": ("TikTok decides where limited data use applies; only the flag travels.",
                                      None),
}


@dataclass(slots=True)
class Conversion:
    """A converted body, a note per field carried over, and every field lost with why.

    notes: {"from": Meta JSON path, "to": TikTok JSON path, "note"}; lost: {"from", "why", "instead"}
    (`instead`: the TikTok field and where its value comes from, or None).
    """

    body: dict[str, Any]
    notes: list[dict[str, str]] = field(default_factory=list)
    lost: list[dict[str, str | None]] = field(default_factory=list)

    def note(self, src: str, dst: str, text: str) -> None:
        """Record a field carried over."""
        self.notes.append({"from": src, "to": dst, "note": text})

    def lose(self, src: str, why: str, instead: str | None = None) -> None:
        """Record a field that cannot be carried over."""
        self.lost.append({"from": src, "why": why, "instead": instead})

    def as_dict(self) -> dict[str, Any]:
        """`{"body", "notes", "lost"}`, JSON-ready."""
        return {"body": self.body, "notes": list(self.notes), "lost": list(self.lost)}


def parse_meta_body(text: str) -> dict[str, Any]:
    """JSON text of a Meta Conversions API request -> a dict with `data` (a single event or a list is wrapped).

    Raises InvalidPayload for text that is not JSON, not Meta-shaped, already a TikTok body, or has no event.
    """
    from core.lint import parse_body

    return meta_request(parse_body(text))


def meta_request(doc: object) -> dict[str, Any]:
    """A parsed document as a Meta request body `{"data": [...], ...}`; InvalidPayload when it cannot be one."""
    if isinstance(doc, list):
        doc = {"data": doc}
    elif isinstance(doc, dict) and "data" not in doc and "event_name" in doc:
        doc = {"data": [doc]}
    if not isinstance(doc, dict):
        raise InvalidPayload(f"Expected a JSON object with data[], got a JSON {type(doc).__name__}.",
                             hint="Paste the body your server POSTs to Meta's /{pixel_id}/events.")
    data = doc.get("data")
    events = [e for e in data if isinstance(e, dict)] if isinstance(data, list) else []
    if "event_source_id" in doc or (events and all("event" in e and "event_name" not in e for e in events)):
        raise InvalidPayload("This is already a TikTok Events API body, not a Meta one.",
                             hint="Lint it as it is (tiktok-events validate, or the Lint page).")
    if not isinstance(data, list) or not data:
        raise InvalidPayload("No events: a Meta Conversions API body carries them in data[].",
                             hint='Paste {"data": [{"event_name": ..., "event_time": ..., "user_data": ...}]}.')
    return doc


def convert_meta(body: Mapping[str, Any], pixel_code: str) -> Conversion:
    """Convert a Meta Conversions API request body to a TikTok Events API v1.3 body, accounting for every field.

    Contract: `body` is what `meta_request` returns (or any Meta body with `data[]`); `pixel_code` is the
    TikTok Pixel code (ConfigError when empty). The result's body holds the events whose action_source maps
    to the first event's TikTok event_source; the others, and every field with no TikTok counterpart, are
    in `lost` with why. TikTok: email/phone/external_id SHA-256 of normalized values, phone in E.164 with
    the `+`; ttclid and ttp come from TikTok's URL parameter and cookie, never from Meta's fbc/fbp.
    """
    if not pixel_code.strip():
        raise ConfigError("No Pixel code to convert for.",
                          hint="Pass --pixel-code (Events Manager > Data sources) or set TEC_PIXEL_CODE.")
    doc = meta_request(dict(body))
    sources = [_event_source(e) for e in doc["data"] if isinstance(e, dict)]
    source = sources[0] if sources else "web"
    out: dict[str, Any] = {"event_source": source, "event_source_id": pixel_code.strip(), "data": []}
    conv = Conversion(out)
    for key in doc:
        if key != "data":
            _top_field(conv, key)
    for i, event in enumerate(doc["data"]):
        src = f"data[{i}]"
        if not isinstance(event, dict):
            conv.lose(src, f"a JSON {type(event).__name__}, not an event object.")
        elif _event_source(event) != source:
            conv.lose(src, f"action_source {event.get('action_source')!r} is a TikTok {_event_source(event)} event; "
                           f"this body is {source}.", f"a separate body with event_source {_event_source(event)} "
                                                      f"and {_SOURCE_IDS[_event_source(event)]}")
        else:
            out["data"].append(_event(conv, event, src, f"data[{len(out['data'])}]"))
    if source != "web":
        conv.note("data[*].action_source", "event_source_id",
                  f"event_source {source} needs {_SOURCE_IDS[source]}: replace event_source_id.")
    return conv


def _event_source(event: Mapping[str, Any]) -> str:
    return ACTION_SOURCES.get(str(event.get("action_source") or "website").strip().lower(), "crm")


def _top_field(conv: Conversion, key: str) -> None:
    if key in _LOST_TOP:
        conv.lose(key, *_LOST_TOP[key])
    elif key in _UPLOAD_KEYS:
        conv.lose(key, "a field of Meta's offline event uploads; TikTok has none.",
                  "TikTok's offline events: event_source offline with the event set id")
    else:
        conv.lose(key, "not a field of a Meta Conversions API body the converter knows: left out.")


def _event(conv: Conversion, ev: Mapping[str, Any], src: str, dst: str) -> dict[str, Any]:
    """One Meta event -> one TikTok event (fields in TikTok's order), noting or losing every Meta field."""
    out: dict[str, Any] = {}
    for key, value in ev.items():
        path = f"{src}.{key}"
        if key == "event_name":
            _event_name(conv, value, path, dst, out)
        elif key == "event_time":
            _event_time(conv, value, path, dst, out)
        elif key == "event_id":
            if value is None or isinstance(value, dict | list | bool):
                conv.lose(path, f"event_id {json.dumps(value)} is not an id.")
            else:
                out["event_id"] = str(value)
                conv.note(path, f"{dst}.event_id", "the same id: the Pixel's ttq.track(..., {event_id}) must carry "
                          "it too for TikTok to deduplicate" + ("" if isinstance(value, str) else
                                                                 " (a number in Meta, a string for TikTok)") + ".")
        elif key == "action_source":
            conv.note(path, "event_source", f"{value!r} -> {_event_source(ev)} (set once per TikTok body).")
        elif key in ("event_source_url", "referrer_url"):
            _page(conv, key, value, path, dst, out)
        elif key == "user_data":
            _user(conv, value, path, dst, out)
        elif key == "custom_data":
            _properties(conv, value, path, dst, out)
        elif key == "data_processing_options":
            _ldu(conv, value, path, dst, out)
        elif key == "opt_out" and value is False:
            conv.note(path, "", "opt_out false is the default: nothing to carry over.")
        elif key in _LOST_EVENT:
            conv.lose(path, *_LOST_EVENT[key])
        elif key in _CUSTOM_DATA_KEYS:
            conv.lose(path, f"{key} sits beside custom_data, not in it: Meta reads it only inside custom_data, so "
                            "it did not reach Meta either.", f"move it into custom_data and convert again "
                                                              f"({dst}.properties)")
        else:
            conv.lose(path, "not a Meta server event field the converter knows: left out.")
    if "user" in out:  # TikTok's field order, whatever order the Meta keys came in
        out["user"] = {k: out["user"][k] for k in USER_FIELDS if k in out["user"]}
    order = ("event", "event_time", "event_id", "user", "page", "properties", "limited_data_use")
    return {k: out[k] for k in order if k in out}


def _event_name(conv: Conversion, value: object, path: str, dst: str, out: dict[str, Any]) -> None:
    name = str(value or "").strip()
    if not name:
        conv.lose(path, "an empty event name.")
        return
    tiktok = EVENT_NAMES.get(name, name)
    out["event"] = tiktok
    if name in EVENT_NAMES:
        why = f"Meta's {name} is TikTok's {tiktok} (what ttq.page() sends)."
    elif name in STANDARD_EVENTS:
        why = "the same standard event in TikTok."
    else:
        why = "not a TikTok standard event: sent as a custom event (reporting and audiences, no optimization)."
    conv.note(path, f"{dst}.event", why)


def _event_time(conv: Conversion, value: object, path: str, dst: str, out: dict[str, Any]) -> None:
    number = _number(value)
    if number is None:
        conv.lose(path, f"event_time {json.dumps(value)} is not Unix seconds.")
        return
    ms = number > MS_TIMESTAMP_THRESHOLD
    out["event_time"] = int(number // 1000 if ms else number)
    conv.note(path, f"{dst}.event_time", "milliseconds -> Unix seconds." if ms else "Unix seconds in both APIs.")


def _page(conv: Conversion, key: str, value: object, path: str, dst: str, out: dict[str, Any]) -> None:
    from core.payload import ttclid_from_url

    if not isinstance(value, str) or not value.strip():
        conv.lose(path, "not a URL.")
        return
    field_name = "url" if key == "event_source_url" else "referrer"
    out.setdefault("page", {})[field_name] = value.strip()
    conv.note(path, f"{dst}.page.{field_name}", "the same URL.")
    ttclid = ttclid_from_url(value) if field_name == "url" else None
    if ttclid:
        out.setdefault("user", {}).setdefault("ttclid", ttclid)
        conv.note(path, f"{dst}.user.ttclid", "the ttclid URL parameter of the page: TikTok's click id.")


def _ldu(conv: Conversion, value: object, path: str, dst: str, out: dict[str, Any]) -> None:
    options = [str(v).strip().upper() for v in value] if isinstance(value, list) else None
    if options is None or any(o != "LDU" for o in options):
        conv.lose(path, f"data_processing_options {json.dumps(value)}: only [\"LDU\"] or [] have a TikTok "
                        "counterpart.")
        return
    out["limited_data_use"] = bool(options)
    conv.note(path, f"{dst}.limited_data_use", "Meta's LDU option is TikTok's limited_data_use flag (US state "
              "privacy laws)." if options else "no LDU option: limited_data_use false.")


def _values(value: object) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [str(v) for v in items if v not in (None, "") and not isinstance(v, dict | list)]


def _user(conv: Conversion, value: object, path: str, dst: str, out: dict[str, Any]) -> None:
    """user_data -> user: hashed keys carried, raw ones hashed the TikTok way, Meta's ids lost."""
    if not isinstance(value, dict):
        conv.lose(path, "user_data is not an object.")
        return
    user: dict[str, Any] = out.setdefault("user", {})
    for key, raw in value.items():
        src = f"{path}.{key}"
        if key in _HASHED_USER:
            _hashed_user(conv, key, raw, src, dst, user)
        elif key == "ph":
            _phone(conv, raw, src, dst, user)
        elif key in _PLAIN_USER:
            _plain_user(conv, key, raw, src, dst, user)
        elif key in _RAW_USER:
            vals = _values(raw)
            if vals:
                user[_RAW_USER[key]] = vals[0].strip()
                conv.note(src, f"{dst}.user.{_RAW_USER[key]}", "the same value, sent unhashed.")
            else:
                conv.lose(src, "empty.")
        elif key in _LOST_USER:
            conv.lose(src, *_LOST_USER[key])
        elif key in _META_IDS:
            conv.lose(src, f"{key} is one of Meta's own ids: TikTok has no field for it.")
        else:
            conv.lose(src, "not a Meta user_data key the converter knows: left out.")
    if not user:
        del out["user"]


def _hashed_user(conv: Conversion, key: str, raw: object, src: str, dst: str, user: dict[str, Any]) -> None:
    field_name, kind, many = _HASHED_USER[key]
    sent: list[str] = []
    for n, v in enumerate(_values(raw)):
        at = f"{src}[{n}]" if isinstance(raw, list) else src
        if not many and sent:
            conv.lose(at, f"TikTok takes one {field_name}; the first value is sent.")
            continue
        h = hash_identifier(kind, v)
        if h.sha256 is None:
            conv.lose(at, f"{field_name} rejected: {h.error}.")
            continue
        sent.append(h.sha256)
        to = f"{dst}.user.{field_name}" + (f"[{len(sent) - 1}]" if many and isinstance(raw, list) else "")
        if h.passthrough:
            how = "Meta's SHA-256 carried as is: both hash the same normalized value"
            if kind in ("first_name", "last_name"):
                how += " for plain names (Meta drops punctuation, TikTok spaces: such names hash differently)"
            conv.note(at, to, how + ".")
        else:
            conv.note(at, to, f"raw value normalized ({h.normalized}) and SHA-256 hashed the TikTok way.")
    if sent:
        user[field_name] = sent if many and isinstance(raw, list) else sent[0]


def _phone(conv: Conversion, raw: object, src: str, dst: str, user: dict[str, Any]) -> None:
    sent: list[str] = []
    for n, v in enumerate(_values(raw)):
        at = f"{src}[{n}]" if isinstance(raw, list) else src
        if is_sha256(v):
            conv.lose(at, "Meta hashes the phone digits without the +, TikTok the E.164 number with it: a hash "
                          "cannot be re-hashed, so this one would match nobody.",
                      "user.phone: SHA-256 of the number in E.164 with the + (+12133734253), from the raw number")
            continue
        text = v.strip()
        digits = "".join(ch for ch in text if ch.isdigit())
        h = hash_identifier("phone", text if text.startswith(("+", "00")) else "+" + digits)
        if h.sha256 is None:
            conv.lose(at, f"phone rejected: {h.error}.", "user.phone from a number with its country code")
            continue
        sent.append(h.sha256)
        conv.note(at, f"{dst}.user.phone" + (f"[{len(sent) - 1}]" if isinstance(raw, list) else ""),
                  f"raw number read as {h.normalized} (E.164 with the +) and SHA-256 hashed the TikTok way.")
    if sent:
        user["phone"] = sent if isinstance(raw, list) else sent[0]


def _plain_user(conv: Conversion, key: str, raw: object, src: str, dst: str, user: dict[str, Any]) -> None:
    field_name = _PLAIN_USER[key]
    for n, v in enumerate(_values(raw)):
        at = f"{src}[{n}]" if isinstance(raw, list) else src
        if is_sha256(v):
            conv.lose(at, f"TikTok takes {field_name} unhashed; Meta's hash cannot be undone.",
                      f"user.{field_name}: the raw value, lower-case letters only")
        elif field_name in user:
            conv.lose(at, f"TikTok takes one {field_name}; the first value is sent.")
        elif (h := hash_identifier(field_name, v)).sent is None:
            conv.lose(at, f"{field_name} rejected: {h.error}.")
        else:
            user[field_name] = h.sent
            conv.note(at, f"{dst}.user.{field_name}", "normalized and sent unhashed, as TikTok takes it.")


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _properties(conv: Conversion, value: object, path: str, dst: str, out: dict[str, Any]) -> None:
    """custom_data -> properties: value, currency, contents (id/quantity/item_price), content_ids and the rest."""
    if not isinstance(value, dict):
        conv.lose(path, "custom_data is not an object.")
        return
    props: dict[str, Any] = out.setdefault("properties", {})
    to = f"{dst}.properties"
    for key in sorted(value, key=lambda k: k != "contents"):  # items first: content_category lands on them
        raw, src = value[key], f"{path}.{key}"
        if key == "value":
            number = _number(raw)
            if number is None:
                conv.lose(src, f"value {json.dumps(raw)} is not a number.")
            else:
                props["value"] = number
                conv.note(src, f"{to}.value", "the same amount" + ("" if isinstance(raw, int | float) else
                                                                     " (a string in Meta, a number for TikTok)") + ".")
        elif key == "currency" and isinstance(raw, str) and raw.strip():
            props["currency"] = raw.strip().upper()
            known = "" if props["currency"] in CURRENCIES else " (not in TikTok's currency list: see the findings)"
            conv.note(src, f"{to}.currency", f"ISO 4217, upper case{known}.")
        elif key == "contents":
            _contents(conv, raw, src, to, props)
        elif key == "content_ids" and isinstance(raw, list):
            props["content_ids"] = [str(v) for v in raw if v not in (None, "")]
            conv.note(src, f"{to}.content_ids", "the same ids, as strings.")
        elif key == "content_name" and isinstance(raw, str):
            props["description"] = raw
            conv.note(src, f"{to}.description", "TikTok describes the page or item in description.")
        elif key == "content_category" and isinstance(raw, str) and isinstance(props.get("contents"), list):
            for item in props["contents"]:
                item.setdefault("content_category", raw)
            conv.note(src, f"{to}.contents[*].content_category", "TikTok keeps the category per item.")
        elif key in _SAME_PROPERTIES and key in PROPERTY_FIELDS and raw not in (None, ""):
            props[key] = str(raw) if key == "order_id" else raw
            conv.note(src, f"{to}.{key}", "the same property in TikTok.")
        else:
            conv.lose(src, "no TikTok property carries it (TikTok ignores properties it does not document)."
                      if key not in ("value", "currency", "content_ids", "content_name", "content_category")
                      else f"{key} {json.dumps(raw)} cannot be carried over as given.")
    if not props:
        del out["properties"]


def _contents(conv: Conversion, raw: object, src: str, to: str, props: dict[str, Any]) -> None:
    if not isinstance(raw, list):
        conv.lose(src, "contents is not a list.")
        return
    items: list[dict[str, Any]] = []
    for n, item in enumerate(raw):
        at = f"{src}[{n}]"
        if not isinstance(item, dict):
            conv.lose(at, "not an item object.")
            continue
        converted: dict[str, Any] = {}
        for key, v in item.items():
            target = _CONTENT_KEYS.get(key)
            if target is None or v in (None, ""):
                conv.lose(f"{at}.{key}", "no TikTok item field carries it." if target is None else "empty.")
                continue
            converted[target] = str(v) if target == "content_id" else v
            conv.note(f"{at}.{key}", f"{to}.contents[{len(items)}].{target}",
                      "Meta's id is TikTok's content_id (a string)." if key == "id" else
                      f"Meta's {key} is TikTok's {target}." if key != target else "the same field.")
        items.append(converted)
    if items:
        props["contents"] = items


__all__ = ["ACTION_SOURCES", "EVENT_NAMES", "Conversion", "convert_meta", "meta_request", "parse_meta_body"]
