"""An event spec (raw inputs, as a user types them) -> an Events API v1.3 request body.

TikTok (contract §2): one body is `{event_source, event_source_id, test_event_code?, data[1..1000]}`;
each `data[]` event carries `event`, `event_time` (UTC seconds), `event_id` (a string, the dedup key with
the Pixel), `user` (SHA-256 hex for email / phone / external_id / names / zip, raw ttclid / ttp / ip /
user_agent), `page {url, referrer}`, `properties` and `limited_data_use`.

There is no consent field in the body: consent is applied here, by the sender. DENIED `ad_user_data`
removes every personal identifier before anything is hashed; DENIED `ad_personalization` sets
`limited_data_use: true`. Every removal is recorded in the result, so the UI can say what and why.

Raw email / phone values live only in the EventSpec the caller holds and in `identifiers[].input`; the
body, `BuildResult.body_bytes()` and `BuildResult.as_dict(include_inputs=False)` carry hashes only.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Final, Literal, NamedTuple
from urllib.parse import parse_qs, urlsplit

from core.contract import (
    CONSENT_STATES,
    CONSENT_SUPPRESSED_FIELDS,
    CURRENCIES,
    EVENT_SOURCES,
    LEGACY_EVENTS,
    MAX_EVENTS_PER_REQUEST,
    PAGEVIEW_EVENT,
    STANDARD_EVENTS,
)
from core.errors import InvalidInput
from core.identity import HashedIdentifier, hash_identifiers
from core.sources.values import as_text, epoch_seconds, epoch_unit, parse_iso_datetime, parse_number, parse_time

Consent = Literal["GRANTED", "DENIED"]

DEFAULT_EVENT_ID_TEMPLATE: Final = "ord_{order_id}_{event}"
# What the builder offers, in order: the May 2025 standard events, then legacy names (still accepted
# and auto-converted by TikTok), then the Pixel's page view. Anything else is a custom event.
EVENT_CHOICES: Final[tuple[str, ...]] = (*STANDARD_EVENTS, *LEGACY_EVENTS, PAGEVIEW_EVENT)
# user fields built from identity kinds, in body order; the first three travel as arrays (contract §2.3)
_IDENTITY_FIELDS: Final = (
    "email", "phone", "external_id", "first_name", "last_name", "zip_code", "city", "state", "country",
)
_ARRAY_FIELDS: Final = frozenset(("email", "phone", "external_id"))
_RAW_FIELDS: Final = ("ttclid", "ttp", "ip", "user_agent", "locale")  # sent as given (trimmed)

_EMAIL_LIKE = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]+")
# An explicit international number (+ and 8+ digits, separators allowed) or a separated phone layout
# such as 213-373-4253 / (213) 373 4253. A bare digit run is NOT phone-like: shop order numbers are
# often 10-13 digits (Shopify ids), and refusing them would break the most common event_id scheme.
_PHONE_LIKE = re.compile(
    r"\+\s*\(?\d(?:[\s().-]*\d){7,}"
    r"|(?<!\d)\(?\d{3}(?:\)\s?|[\s.-])\d{3}[\s.-]\d{4}(?!\d)"
)
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_TEMPLATE_FIELDS: Final = ("order_id", "event", "event_name")


@dataclass(slots=True)
class ContentItem:
    """One line of `properties.contents[]`: the catalog id plus optional name, category, price, qty, brand.

    TikTok: `content_id` must be a string (the SKU for content_type product, the item group id for
    product_group); `price` is the unit price, `quantity` an integer.
    """

    content_id: str
    content_name: str | None = None
    content_category: str | None = None
    price: float | None = None
    quantity: int | None = None
    brand: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The item as sent: None fields left out, content_id as a trimmed string."""
        out: dict[str, Any] = {"content_id": str(self.content_id).strip()}
        for name in ("content_name", "content_category", "brand"):
            value = getattr(self, name)
            if value is not None and str(value).strip():
                out[name] = str(value).strip()
        if self.price is not None:
            out["price"] = _number(self.price, "contents[].price")
        if self.quantity is not None:
            out["quantity"] = _quantity(self.quantity)
        return out


@dataclass(slots=True)
class EventSpec:
    """Raw inputs for one event, as a user types them; `build_event` turns it into a `data[]` entry.

    Identifiers may be one string or a list (email, phone, external_id are sent as arrays). None and
    blank values are absent, not invalid. `event_time` None means now; `event_id` None means derived
    from `order_id` with `event_id_template`.
    """

    event: str
    event_time: int | float | datetime | str | None = None
    event_id: str | None = None
    order_id: str | None = None
    email: str | list[str] | None = None
    phone: str | list[str] | None = None
    external_id: str | list[str] | None = None
    first_name: str | None = None
    last_name: str | None = None
    zip_code: str | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None
    ttclid: str | None = None
    ttp: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    locale: str | None = None
    page_url: str | None = None
    referrer: str | None = None
    value: float | str | None = None
    currency: str | None = None
    content_type: str | None = None
    contents: list[ContentItem] = field(default_factory=list)
    search_string: str | None = None
    description: str | None = None
    ad_user_data: Consent = "GRANTED"
    ad_personalization: Consent = "GRANTED"
    forward_consent: bool = False
    custom_properties: dict[str, Any] = field(default_factory=dict)
    event_id_template: str = DEFAULT_EVENT_ID_TEMPLATE
    add_content_ids: bool = False  # also send properties.content_ids (catalog / Video Shopping ads)
    add_num_items: bool = False  # also send properties.num_items (sum of quantities)


@dataclass(frozen=True, slots=True)
class Suppression:
    """A field the builder removed before sending, and why (e.g. consent), for event `index`."""

    field: str
    reason: str
    index: int = 0

    def as_dict(self) -> dict[str, Any]:
        """Plain dict for JSON output."""
        return asdict(self)


class BuiltEvent(NamedTuple):
    """One `data[]` entry plus its bookkeeping (a tuple: `event, *_ = build_event(spec)` works)."""

    event: dict[str, Any]
    identifiers: list[HashedIdentifier]
    suppressed: list[Suppression]
    notes: list[str]
    rejected: list[HashedIdentifier]


@dataclass(slots=True)
class BuildResult:
    """A v1.3 body and what happened on the way: identifier rows, suppressions, notes, rejections.

    `identifiers` are the before/after rows of every hashed or normalized identifier that was sent;
    `rejected` the values that could not be normalized (never sent; each has `error` and `hint`);
    `suppressed` the fields removed (consent, or invalid values) with the reason.
    """

    body: dict[str, Any]
    identifiers: list[HashedIdentifier] = field(default_factory=list)
    suppressed: list[Suppression] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rejected: list[HashedIdentifier] = field(default_factory=list)
    identifier_events: list[int] = field(default_factory=list)  # event index of each identifiers[] row
    rejected_events: list[int] = field(default_factory=list)  # event index of each rejected[] row

    @property
    def ok(self) -> bool:
        """True when no identifier was rejected."""
        return not self.rejected

    def body_bytes(self) -> bytes:
        """The body as indented UTF-8 JSON, for a download (hashed values only, never raw PII)."""
        return (json.dumps(self.body, indent=2, ensure_ascii=False) + "\n").encode("utf-8")

    def table(self) -> list[dict[str, Any]]:
        """Before/after rows for every identifier: field, input, normalized, sent, status.

        Includes rejected values (status names the error), consent-removed fields and the raw fields
        TikTok wants unhashed (ip, user_agent, ttclid, ttp, locale), so a user sees every match key.
        """
        rows: list[dict[str, Any]] = []
        for idx, h in zip(self.identifier_events, self.identifiers, strict=True):
            status = "passed through: already hashed" if h.passthrough else (
                "hashed (SHA-256)" if h.kind not in ("city", "state", "country") else "normalized, not hashed"
            )
            rows.append({"event": idx, "field": f"user.{h.kind}", "input": h.input,
                         "normalized": h.normalized, "sent": h.sent, "status": status})
        for idx, h in zip(self.rejected_events, self.rejected, strict=True):
            rows.append({"event": idx, "field": f"user.{h.kind}", "input": h.input, "normalized": None,
                         "sent": None, "status": f"rejected: {h.error}"})
        for s in self.suppressed:
            if s.field.startswith("user.") and "consent" in s.reason:
                rows.append({"event": s.index, "field": s.field, "input": "(withheld)", "normalized": None,
                             "sent": None, "status": "removed: ad_user_data DENIED"})
        for idx, event in enumerate(self.body.get("data", [])):
            user = event.get("user", {})
            for name in _RAW_FIELDS:
                if name in user:
                    rows.append({"event": idx, "field": f"user.{name}", "input": user[name],
                                 "normalized": user[name], "sent": user[name],
                                 "status": "sent as is (TikTok wants it unhashed)"})
        return rows

    def as_dict(self, *, include_inputs: bool = True) -> dict[str, Any]:
        """`{"body", "identifiers", "suppressed", "rejected", "notes"}` for JSON output.

        With include_inputs=False the raw `input` and `normalized` of every identifier are dropped (for anything that is
        stored or exported: only the widget state and the terminal may hold raw PII).
        """

        def row(h: HashedIdentifier) -> dict[str, Any]:
            d = h.as_dict()
            if not include_inputs:  # the normalized form of an email / phone is still PII
                d.pop("input", None)
                d.pop("normalized", None)
            return d

        return {
            "body": self.body,
            "identifiers": [row(h) for h in self.identifiers],
            "suppressed": [s.as_dict() for s in self.suppressed],
            "rejected": [row(h) for h in self.rejected],
            "notes": list(self.notes),
        }


# --- small parsers -------------------------------------------------------------------------------
def snake_case(name: str) -> str:
    """`CompletePayment` -> `complete_payment`, `AddToCart` -> `add_to_cart`, `LaunchAPP` -> `launch_app`.

    Acronym runs stay one word; spaces, dashes and other punctuation become single underscores.
    """
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name.strip())
    text = re.sub(r"([a-z\d])([A-Z])", r"\1_\2", text)
    text = re.sub(r"[^0-9A-Za-z]+", "_", text)
    return text.strip("_").lower()


def looks_like_pii(text: str) -> bool:
    """True when `text` contains an email address or a phone-number layout (e.g. inside an event_id).

    A bare run of digits is not phone-like (order numbers); `+` followed by 8+ digits, or a separated
    3-3-4 layout, is. TikTok: event_id is matched in the clear, so it must never carry PII.
    """
    return bool(_EMAIL_LIKE.search(text) or _PHONE_LIKE.search(text))


def make_event_id(event: str, order_id: str, template: str = DEFAULT_EVENT_ID_TEMPLATE) -> str:
    """The deterministic event_id for an order: `ord_{order_id}_{event}` -> `ord_10492_purchase`.

    Placeholders: `{order_id}` (trimmed), `{event}` (snake case) and `{event_name}` (as given). The
    browser Pixel must fire the same id for TikTok to deduplicate (key: pixel + event + event_id).
    Raises InvalidInput for an unknown placeholder, an empty result, or a result containing an email
    address or a phone number (event_id travels unhashed).
    """
    unknown = [p for p in _PLACEHOLDER.findall(template) if p not in _TEMPLATE_FIELDS]
    if unknown:
        raise InvalidInput(f"event_id template {template!r} has unknown placeholder {{{unknown[0]}}}.",
                           hint="Use {order_id}, {event} (snake case) or {event_name}.")
    order = (order_id or "").strip()
    if "{order_id}" in template and not order:
        raise InvalidInput("An order id is needed to derive the event_id.",
                           hint="Fill in the order id, or type an event_id yourself.")
    result = template.format(order_id=order, event=snake_case(event), event_name=event.strip()).strip()
    if not result:
        raise InvalidInput(f"event_id template {template!r} gives an empty event_id.",
                           hint="Use e.g. ord_{order_id}_{event}.")
    if looks_like_pii(result):
        raise InvalidInput(f"The event_id {result!r} would contain an email address or phone number.",
                           hint="Use an order number or a random id: event_id is sent unhashed.")
    return result


def split_values(text: str | Sequence[str] | None) -> list[str]:
    """Split a text field of identifiers on commas, semicolons and newlines; blanks dropped.

    Lists pass through (blank entries dropped). For email / external_id fields where users paste several
    values at once; TikTok accepts an array for email, phone and external_id.
    """
    if text is None:
        return []
    parts = re.split(r"[,;\n\r]+", text) if isinstance(text, str) else [str(p) for p in text]
    return [p.strip() for p in parts if p and p.strip()]


def parse_event_time(value: int | float | datetime | str | None, *, now: float | None = None
                     ) -> tuple[int, str | None]:
    """`event_time` as integer UTC seconds, plus a note when the input needed reading.

    None -> now. A datetime without a time zone is read as UTC (noted). Numbers above 10^11 are
    milliseconds and are divided by 1000 (noted). Strings: digits, or ISO 8601. TikTok: Unix seconds,
    UTC, an integer. Raises InvalidInput for anything else.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return int(time.time() if now is None else now), None
    if isinstance(value, str):
        text = value.strip()
        if math.isnan(parse_number(text)):
            moment = parse_iso_datetime(text)
            if moment is None:
                raise InvalidInput(f"event_time {text!r} is neither Unix seconds nor an ISO 8601 time.",
                                   hint="Use e.g. 1735689600 or 2025-01-01T00:00:00Z.")
            value = moment
        else:
            value = parse_number(text)
    if isinstance(value, datetime):
        note = "event_time had no time zone; read as UTC." if value.tzinfo is None else None
        return int(parse_time(value)), note
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(parse_number(value)):
        raise InvalidInput(f"event_time {value!r} is not a time.", hint="Use Unix seconds, e.g. 1735689600.")
    if value < 0:
        raise InvalidInput(f"event_time {value!r} is before 1970.", hint="Use Unix seconds, e.g. 1735689600.")
    unit = epoch_unit(float(value))
    if unit != "s":
        names = {"ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds"}
        return int(epoch_seconds(float(value))), (f"event_time was in {names[unit]}; converted to seconds "
                                                  "(TikTok wants seconds).")
    return int(value), None


_NON_FINITE = re.compile(r"[+-]?(nan|inf(inity)?|\d*\.?\d+(e[+-]?\d+)?)", re.IGNORECASE)  # float() reads: too big


def _number(value: object, what: str) -> float:
    """The number reader's value (core.sources.values.parse_number), or InvalidInput saying what to type."""
    number = parse_number(value)
    if not math.isnan(number):
        return number
    if isinstance(value, str) and not _NON_FINITE.fullmatch(value.strip()):
        raise InvalidInput(f"{what} {value.strip()!r} is not a number.",
                           hint="Use digits and a dot only, e.g. 1299.50: no currency symbols or "
                                "thousands separators.")
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        raise InvalidInput(f"{what} {value!r} is not a finite number.", hint="Use e.g. 129.99.")
    raise InvalidInput(f"{what} {value!r} is not a number.", hint="Use e.g. 129.99.")


def _quantity(value: object) -> int:
    number = _number(value, "contents[].quantity")
    if number != int(number) or number < 0:
        raise InvalidInput(f"contents[].quantity {value!r} is not a whole number.", hint="Use e.g. 1 or 2.")
    return int(number)


def ttclid_from_url(url: str | None) -> str | None:
    """The `ttclid` query parameter of a landing-page URL, or None (TikTok appends it to ad clicks)."""
    if not url:
        return None
    try:
        query = urlsplit(url.strip()).query
    except ValueError:
        return None
    values = parse_qs(query).get("ttclid")
    return values[0].strip() if values and values[0].strip() else None


# --- building --------------------------------------------------------------------------------------
def _consent(value: str, name: str) -> Consent:
    state = (value or "GRANTED").strip().upper()
    if state not in CONSENT_STATES:
        raise InvalidInput(f"{name} {value!r} is not a consent state.", hint="Use GRANTED or DENIED.")
    return "DENIED" if state == "DENIED" else "GRANTED"


def _text(value: object) -> str | None:
    return as_text(value) or None


def build_event(spec: EventSpec, *, region: str | None = None, now: float | None = None,
                index: int = 0) -> BuiltEvent:
    """One `data[]` entry from an EventSpec, with identifier rows, suppressions, notes and rejections.

    Identifiers are normalized and SHA-256 hashed (core.identity, TikTok §2.3); rejected values are
    left out and listed. Consent: DENIED ad_user_data removes email, phone, external_id, names and zip
    before hashing; DENIED ad_personalization sets limited_data_use true; forward_consent also copies
    both states into properties. Raises InvalidInput for an empty event name or unusable value, time,
    consent state or event_id.
    """
    notes: list[str] = []
    suppressed: list[Suppression] = []
    event_name = (spec.event or "").strip()
    if not event_name:
        raise InvalidInput("The event name is empty.", hint="Choose a standard event such as Purchase.")
    if event_name in LEGACY_EVENTS:
        notes.append(f"{event_name} is a legacy name: TikTok still accepts it and reports it as "
                     f"{LEGACY_EVENTS[event_name]}; new setups should send {LEGACY_EVENTS[event_name]}.")
    ad_user_data = _consent(spec.ad_user_data, "ad_user_data")
    ad_personalization = _consent(spec.ad_personalization, "ad_personalization")

    event_time, time_note = parse_event_time(spec.event_time, now=now)
    if time_note:
        notes.append(time_note)
    out: dict[str, Any] = {"event": event_name, "event_time": event_time}
    event_id = _event_id(spec, event_name, notes)
    if event_id is not None:
        out["event_id"] = event_id
    user, identifiers, rejected = _hashed_user(spec, ad_user_data, region, index, notes, suppressed)
    user.update(_raw_user(spec, notes))
    if user:
        out["user"] = user
    page = {k: v for k, v in (("url", _text(spec.page_url)), ("referrer", _text(spec.referrer))) if v}
    if page:
        out["page"] = page
    props = _properties(spec, ad_user_data, ad_personalization, notes)
    if props:
        out["properties"] = props
    out["limited_data_use"] = ad_personalization == "DENIED"
    if ad_personalization == "DENIED":
        suppressed.append(Suppression("limited_data_use",
                                      "consent: ad_personalization is DENIED, limited_data_use set to true", index))
    return BuiltEvent(out, identifiers, suppressed, notes, rejected)


def _event_id(spec: EventSpec, event_name: str, notes: list[str]) -> str | None:
    """The event_id given, or derived from the order id by the template; None (with a note) without either."""
    event_id = _text(spec.event_id)
    if event_id is None and _text(spec.order_id):
        event_id = make_event_id(event_name, str(spec.order_id), spec.event_id_template)
        notes.append(f"event_id {event_id} derived from the order id; fire the Pixel with the same id.")
    elif event_id is not None and looks_like_pii(event_id):
        raise InvalidInput(f"The event_id {event_id!r} contains an email address or phone number.",
                           hint="event_id is sent unhashed: use an order number or a random id.")
    if event_id is None:
        notes.append("No event_id: TikTok cannot deduplicate this event against the Pixel. "
                     "Give an order id or an event id.")
    return event_id


def _hashed_user(spec: EventSpec, ad_user_data: str, region: str | None, index: int, notes: list[str],
                 suppressed: list[Suppression]) -> tuple[dict[str, Any], list[HashedIdentifier],
                                                         list[HashedIdentifier]]:
    """user's hashed identifiers (consent gating first), the identifier rows and the rejected values."""
    user: dict[str, Any] = {}
    identifiers: list[HashedIdentifier] = []
    rejected: list[HashedIdentifier] = []
    for kind in _IDENTITY_FIELDS:
        raw = getattr(spec, kind)
        values = split_values(raw) if kind in _ARRAY_FIELDS else split_values(
            [raw] if isinstance(raw, str) else raw)
        if not values:
            continue
        if ad_user_data == "DENIED" and kind in CONSENT_SUPPRESSED_FIELDS:
            # consent gating happens before hashing: a denied identifier is not processed at all
            suppressed.append(Suppression(f"user.{kind}", "consent: ad_user_data is DENIED, removed before "
                                                                 "hashing", index))
            continue
        if kind not in _ARRAY_FIELDS and len(values) > 1:
            notes.append(f"user.{kind} takes one value; sent the first of {len(values)}.")
            values = values[:1]
        rows = hash_identifiers(kind, values, region)
        good = [h for h in rows if h.ok]
        bad = [h for h in rows if not h.ok]
        identifiers.extend(good)
        rejected.extend(bad)
        suppressed.extend(Suppression(f"user.{kind}", f"invalid: {h.error}", index) for h in bad)
        if kind == "phone" and any((h.normalized or "").startswith("+86") for h in good):
            # contract §2.3 UNSURE: TikTok's GTM templates hash Chinese numbers without +86
            notes.append("user.phone: +86 number sent as E.164 (TikTok's API rule). TikTok's own GTM template "
                         "hashes Chinese numbers without the country code (e.g. 13800000000); if match rates "
                         "for CN customers stay low, try that reading: `tiktok-events hash external_id` of the "
                         "national number gives its SHA-256.")
        sent = list(dict.fromkeys(h.sent for h in good if h.sent))  # duplicates add nothing
        if len(sent) < len(good):
            notes.append(f"user.{kind}: {len(good) - len(sent)} duplicate value(s) sent once.")
        if sent:
            user[kind] = sent if kind in _ARRAY_FIELDS else sent[0]
    return user, identifiers, rejected


def _raw_user(spec: EventSpec, notes: list[str]) -> dict[str, Any]:
    """user's unhashed keys: ttclid (the given one, else the page URL's), ttp, ip, user_agent, locale."""
    ttclid = _text(spec.ttclid)
    url_ttclid = ttclid_from_url(spec.page_url)
    if ttclid is None and url_ttclid:
        ttclid = url_ttclid
        notes.append("ttclid taken from the page URL's ?ttclid= parameter.")
    elif ttclid and url_ttclid and url_ttclid != ttclid:
        notes.append("The ttclid given differs from the one in the page URL; the given one was sent.")
    raw_fields = {"ttclid": ttclid, "ttp": _text(spec.ttp), "ip": _text(spec.ip),
                  "user_agent": _text(spec.user_agent), "locale": _text(spec.locale)}
    return {name: raw_fields[name] for name in _RAW_FIELDS if raw_fields[name]}


def _contents(spec: EventSpec, notes: list[str]) -> dict[str, Any]:
    """contents, content_type, content_ids and num_items from the content rows."""
    built: dict[str, Any] = {}
    contents = [c.as_dict() for c in spec.contents if _text(c.content_id)]
    if len(contents) < len(spec.contents):
        notes.append(f"{len(spec.contents) - len(contents)} content row(s) without a content_id were left out.")
    if contents:
        built["contents"] = contents
    content_type = _text(spec.content_type)
    if content_type is None and contents:
        content_type = "product"
        notes.append("content_type set to product (contents carry SKU ids); use product_group for "
                     "item group ids.")
    if content_type:
        built["content_type"] = content_type
    if spec.add_content_ids and contents:
        built["content_ids"] = [c["content_id"] for c in contents]
    if spec.add_num_items and contents:
        built["num_items"] = sum(int(c.get("quantity", 1)) for c in contents)
    return built


def _properties(spec: EventSpec, ad_user_data: str, ad_personalization: str, notes: list[str]) -> dict[str, Any]:
    """properties: the form's fields win over custom properties of the same name (with a note)."""
    built = _contents(spec, notes)
    if spec.value is not None and not (isinstance(spec.value, str) and not spec.value.strip()):
        built["value"] = _number(spec.value, "value")
    currency = _text(spec.currency)
    if currency:
        built["currency"] = currency.upper()
        if built["currency"] not in CURRENCIES:
            notes.append(f"Currency {built['currency']} is not on TikTok's list; the event may be rejected.")
    if "value" in built and "currency" not in built:
        notes.append("value without currency: TikTok cannot count revenue; add the ISO code, e.g. USD.")
    if order_id := _text(spec.order_id):
        built["order_id"] = order_id
    if search := _text(spec.search_string):
        # search_string is the v1.3 name; query is the 1.0 name many tools still read (contract §2.4)
        built["search_string"] = search
        built["query"] = search
    if description := _text(spec.description):
        built["description"] = description
    if spec.forward_consent:
        built["ad_user_data"] = ad_user_data
        built["ad_personalization"] = ad_personalization
    props: dict[str, Any] = {}
    for key, value in (spec.custom_properties or {}).items():
        if key in built:
            notes.append(f"custom property {key!r} ignored: the form's {key} is used.")
            continue
        props[str(key)] = value
    props.update(built)
    return props


def build_body(
    specs: EventSpec | Sequence[EventSpec],
    *,
    pixel_code: str,
    test_event_code: str | None = None,
    event_source: str = "web",
    region: str | None = None,
    now: float | None = None,
) -> BuildResult:
    """A complete v1.3 `/event/track/` body from one or more EventSpecs, with every event's bookkeeping.

    TikTok: `event_source` web|app|offline|crm, `event_source_id` the Pixel code (a string),
    `test_event_code` top-level beside `data`, 1..1,000 events per request (use split_batches above
    that). Raises InvalidInput for a missing Pixel code, an unknown event_source, no events or too many.
    """
    pixel = (pixel_code or "").strip()
    if not pixel:
        raise InvalidInput("The Pixel code (event_source_id) is empty.",
                           hint="Copy it from Events Manager > Data sources > your Pixel.")
    source = (event_source or "web").strip().lower()
    if source not in EVENT_SOURCES:
        raise InvalidInput(f"event_source {event_source!r} is not one of {', '.join(EVENT_SOURCES)}.",
                           hint="Use web for a Pixel code.")
    items = [specs] if isinstance(specs, EventSpec) else list(specs)
    if not items:
        raise InvalidInput("No events to build.", hint="Add at least one event.")
    if len(items) > MAX_EVENTS_PER_REQUEST:
        raise InvalidInput(f"{len(items)} events exceed TikTok's {MAX_EVENTS_PER_REQUEST} per request.",
                           hint="Build in batches (core.payload.split_batches).")
    body: dict[str, Any] = {"event_source": source, "event_source_id": pixel}
    if code := (test_event_code or "").strip():
        body["test_event_code"] = code
    result = BuildResult(body=body)
    data: list[dict[str, Any]] = []
    for i, spec in enumerate(items):
        built = build_event(spec, region=region, now=now, index=i)
        data.append(built.event)
        result.identifiers.extend(built.identifiers)
        result.identifier_events.extend([i] * len(built.identifiers))
        result.rejected.extend(built.rejected)
        result.rejected_events.extend([i] * len(built.rejected))
        result.suppressed.extend(built.suppressed)
        prefix = f"data[{i}]: " if len(items) > 1 else ""
        result.notes.extend(prefix + n for n in built.notes)
    body["data"] = data
    return result


def split_batches(events: list[dict[str, Any]], size: int = MAX_EVENTS_PER_REQUEST) -> list[list[dict[str, Any]]]:
    """Cut `events` into consecutive chunks of at most `size` (order kept; an empty list gives []).

    TikTok: more than 1,000 events in one request rejects the whole request (contract §3).
    Raises InvalidInput for a size below 1 or above 1,000.
    """
    if not 1 <= size <= MAX_EVENTS_PER_REQUEST:
        raise InvalidInput(f"Batch size {size} is outside 1..{MAX_EVENTS_PER_REQUEST}.",
                           hint=f"TikTok takes at most {MAX_EVENTS_PER_REQUEST} events per request.")
    return [events[i:i + size] for i in range(0, len(events), size)]


def _blank(value: object) -> bool:
    """None, NaN / pandas NA, or blank text: an empty table cell."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    try:
        return bool(value != value)  # NaN and pandas.NA are not equal to themselves
    except TypeError:  # pandas.NA raises on bool()
        return True


def contents_from_rows(rows: Sequence[Mapping[str, Any]]) -> list[ContentItem]:
    """ContentItems from table rows (the page's data editor): blank cells are None, blank ids skipped.

    Each row may hold content_id, content_name, content_category, price, quantity, brand; price and
    quantity are read as numbers (InvalidInput when they are not).
    """
    items = []
    for row in rows:
        if _blank(row.get("content_id")):
            continue
        cell = {k: (None if _blank(row.get(k)) else row.get(k)) for k in
                ("content_name", "content_category", "price", "quantity", "brand")}
        items.append(ContentItem(
            str(row["content_id"]).strip(),
            content_name=None if cell["content_name"] is None else str(cell["content_name"]),
            content_category=None if cell["content_category"] is None else str(cell["content_category"]),
            price=None if cell["price"] is None else _number(cell["price"], "contents[].price"),
            quantity=None if cell["quantity"] is None else _quantity(cell["quantity"]),
            brand=None if cell["brand"] is None else str(cell["brand"]),
        ))
    return items


def spec_from_mapping(data: Mapping[str, Any]) -> EventSpec:
    """An EventSpec from a plain mapping (CLI / saved form), contents given as dicts; unknown keys raise."""
    names = set(EventSpec.__dataclass_fields__)
    unknown = sorted(set(data) - names)
    if unknown:
        raise InvalidInput(f"Unknown event spec field(s): {', '.join(unknown)}.",
                           hint=f"Use: {', '.join(sorted(names))}.")
    values = dict(data)
    contents = values.pop("contents", None) or []
    items = [c if isinstance(c, ContentItem) else ContentItem(**c) for c in contents]
    return EventSpec(contents=items, **values)


def event_id_hint(event: str, order_id: str) -> str:
    """What the event_id field shows while empty: the id `make_event_id` would derive, or why it cannot.

    Never raises: an empty order id asks for one, an InvalidInput becomes "cannot derive: <message>".
    TikTok: the Pixel must send this same id for the two events to deduplicate.
    """
    if not order_id.strip():
        return "type an order id or event id"
    try:
        return make_event_id(event, order_id)
    except InvalidInput as exc:
        return f"cannot derive: {exc.message}"


def consent_effects(result: BuildResult) -> list[Suppression]:
    """The suppressions consent caused (reason "consent: ..."), in build order; other removals excluded.

    TikTok: with ad_user_data DENIED the personal identifiers are not sent; ip, user agent, ttclid and
    ttp still are.
    """
    return [s for s in result.suppressed if s.reason.startswith("consent")]
