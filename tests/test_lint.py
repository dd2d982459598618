"""core.lint: one failing and one passing case per check, paths, catalogue, locate_paths, parse_body."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from core import lint as L
from core.contract import EMPTY_SHA256, MAX_EVENTS_PER_REQUEST
from core.errors import InvalidPayload
from core.identity import normalize_email, normalize_phone, sha256_hex

ROOT = Path(__file__).resolve().parents[1]
NOW = 1_767_225_600  # 2026-01-01T00:00:00Z: every time check is relative to this
H_EMAIL = "848a771458438fc2ec420560d769fb9b9b86851ee338ec56517baabd79d3bb4f"
Mutation = Callable[[Any], Any]


def valid() -> dict[str, Any]:
    """A fresh copy of the valid sample purchase at NOW."""
    return copy.deepcopy(L.SAMPLE_BODIES["valid purchase"](NOW))


def _segments(path: str) -> list[str | int]:
    out: list[str | int] = []
    for m in re.finditer(r'\.?([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]', path):
        out.append(m.group(1) if m.group(1) else int(m.group(2)) if m.group(2) else json.loads(m.group(3)))
    return out


def put(path: str, value: object) -> Mutation:
    """A mutation setting `path` (lint path syntax) of the body to `value`."""
    def apply(body: Any) -> Any:
        *head, last = _segments(path)
        node = body
        for seg in head:
            node = node[seg]
        node[last] = value
        return body
    return apply


def drop(path: str) -> Mutation:
    """A mutation deleting `path` from the body."""
    def apply(body: Any) -> Any:
        *head, last = _segments(path)
        node = body
        for seg in head:
            node = node[seg]
        del node[last]
        return body
    return apply


def both(*muts: Mutation) -> Mutation:
    """Several mutations in order."""
    def apply(body: Any) -> Any:
        for m in muts:
            body = m(body)
        return body
    return apply


def codes_at(findings: list[L.Finding]) -> set[tuple[str, str]]:
    """(code, path) pairs of the findings."""
    return {(f.code, f.path) for f in findings}


# --- failing cases: (mutation, code, exact path) -----------------------------------------------------
E0 = "data[0]"
INVALID: list[tuple[str, Mutation, str, str]] = [
    ("source-missing", drop("event_source"), "event_source.missing", "event_source"),
    ("source-website", put("event_source", "website"), "event_source.invalid", "event_source"),
    ("source-id-missing", drop("event_source_id"), "event_source_id.missing", "event_source_id"),
    ("source-id-number", put("event_source_id", 7123456789012345678), "event_source_id.not_string",
     "event_source_id"),
    ("source-id-offline-pixel", put("event_source", "offline"), "event_source_id.pixel_code_offline",
     "event_source_id"),
    ("source-id-crm-pixel", put("event_source", "crm"), "event_source_id.mismatch", "event_source_id"),
    ("source-id-app-pixel", put("event_source", "app"), "event_source_id.mismatch", "event_source_id"),
    ("source-id-not-pixel-code", put("event_source_id", "pixel-123"), "event_source_id.not_pixel_code",
     "event_source_id"),
    ("source-id-lower-case", put("event_source_id", "c4a1b2c3d4e5f6g7h8i9"), "event_source_id.not_pixel_code",
     "event_source_id"),
    ("web-no-ip", drop("data[0].user.ip"), "user.ip.missing", "data[0].user.ip"),
    ("web-no-user-agent", drop("data[0].user.user_agent"), "user.user_agent.missing", "data[0].user.user_agent"),
    ("web-no-page-url", drop("data[0].page.url"), "page.url.missing", "data[0].page.url"),
    ("web-no-page", drop("data[0].page"), "page.url.missing", "data[0].page.url"),
    ("web-no-user", drop("data[0].user"), "user.ip.missing", "data[0].user.ip"),
    ("data-missing", drop("data"), "data.missing", "data"),
    ("data-object", put("data", {"event": "Purchase"}), "data.not_array", "data"),
    ("data-empty", put("data", []), "data.empty", "data"),
    ("data-too-many", lambda b: put("data", b["data"] * (MAX_EVENTS_PER_REQUEST + 1))(b), "data.too_many", "data"),
    ("data-item-string", put("data[0]", "Purchase"), "data.item_not_object", E0),
    ("tec-number", put("test_event_code", 12345), "test_event_code.not_string", "test_event_code"),
    ("tec-empty", put("test_event_code", ""), "test_event_code.empty", "test_event_code"),
    ("tec-batched", lambda b: put("data", [b["data"][0], {**b["data"][0], "event_id": "x2"}])(b),
     "test_event_code.batched", "test_event_code"),
    ("partner", put("partner_name", "Me"), "partner_name.set", "partner_name"),
    ("unknown-top", put("pixel_id", "C1"), "body.unknown_key", "pixel_id"),
    ("misplaced-ldu", put("limited_data_use", False), "body.misplaced_key", "limited_data_use"),
    ("misplaced-tec", put("data[0].test_event_code", "TEST1"), "body.misplaced_key", "data[0].test_event_code"),
    ("token-in-body", put("access_token", "abc"), "body.access_token", "access_token"),
    ("meta-user-data", put("data[0].user_data", {}), "meta.key", "data[0].user_data"),
    ("meta-custom-data", put("data[0].custom_data", {}), "meta.key", "data[0].custom_data"),
    ("meta-event-name", put("data[0].event_name", "Purchase"), "meta.key", "data[0].event_name"),
    ("meta-action-source", put("data[0].action_source", "website"), "meta.key", "data[0].action_source"),
    ("meta-em", put("data[0].user.em", [H_EMAIL]), "meta.user_key", "data[0].user.em"),
    ("meta-ph", put("data[0].user.ph", [H_EMAIL]), "meta.user_key", "data[0].user.ph"),
    ("meta-ph-hash", put("data[0].user.ph", [H_EMAIL]), "meta.phone_hash", "data[0].user.ph"),
    ("meta-ph-hash-user-data", put("data[0].user_data", {"ph": H_EMAIL}), "meta.phone_hash",
     "data[0].user_data.ph"),
    ("meta-fbc", put("data[0].user.fbc", "fb.1.2.x"), "meta.user_key", "data[0].user.fbc"),
    ("meta-em-in-user-data", put("data[0].user_data", {"em": H_EMAIL}), "meta.user_key",
     "data[0].user_data.em"),
    ("name-missing", drop("data[0].event"), "event.name.missing", "data[0].event"),
    ("name-number", put("data[0].event", 3), "event.name.not_string", "data[0].event"),
    ("name-lower", put("data[0].event", "purchase"), "event.name.near_miss", "data[0].event"),
    ("name-Addtocart", put("data[0].event", "Addtocart"), "event.name.near_miss", "data[0].event"),
    ("name-PageView", put("data[0].event", "PageView"), "event.name.near_miss", "data[0].event"),
    ("name-ga4", put("data[0].event", "begin_checkout"), "event.name.near_miss", "data[0].event"),
    ("name-legacy", put("data[0].event", "CompletePayment"), "event.name.legacy", "data[0].event"),
    ("name-custom", put("data[0].event", "QuizFinished"), "event.name.custom", "data[0].event"),
    ("name-app-on-web", put("data[0].event", "LaunchAPP"), "event.name.app_event", "data[0].event"),
    ("name-offline-custom", both(put("event_source", "offline"), put("data[0].event", "QuizFinished")),
     "event.name.offline_custom", "data[0].event"),
    ("time-missing", drop("data[0].event_time"), "event.event_time.missing", "data[0].event_time"),
    ("time-ms", put("data[0].event_time", NOW * 1000), "event.event_time.milliseconds", "data[0].event_time"),
    ("time-us", put("data[0].event_time", NOW * 1_000_000), "event.event_time.milliseconds",
     "data[0].event_time"),
    ("time-string", put("data[0].event_time", str(NOW)), "event.event_time.string", "data[0].event_time"),
    ("time-iso", put("data[0].event_time", "2025-12-31T23:00:00Z"), "event.event_time.string",
     "data[0].event_time"),
    ("time-bool", put("data[0].event_time", True), "event.event_time.invalid", "data[0].event_time"),
    ("time-negative", put("data[0].event_time", -5), "event.event_time.invalid", "data[0].event_time"),
    ("time-fraction", put("data[0].event_time", NOW - 0.5), "event.event_time.fraction", "data[0].event_time"),
    ("time-future", put("data[0].event_time", NOW + 3600), "event.event_time.future", "data[0].event_time"),
    ("time-old", put("data[0].event_time", NOW - 8 * 86400), "event.event_time.too_old", "data[0].event_time"),
    ("id-missing", drop("data[0].event_id"), "event.event_id.missing", "data[0].event_id"),
    ("id-empty", put("data[0].event_id", " "), "event.event_id.missing", "data[0].event_id"),
    ("id-number", put("data[0].event_id", 10492), "event.event_id.not_string", "data[0].event_id"),
    ("id-email", put("data[0].event_id", "alice@example.com-10492"), "event.event_id.pii", "data[0].event_id"),
    ("id-phone", put("data[0].event_id", "lead_+44 20 7946 0958"), "event.event_id.pii", "data[0].event_id"),
    ("id-nanp", put("data[0].event_id", "(213) 373-4253"), "event.event_id.pii", "data[0].event_id"),
    ("id-duplicate", lambda b: put("data", [b["data"][0], copy.deepcopy(b["data"][0])])(b),
     "event.event_id.duplicate", "data[1].event_id"),
    ("unknown-event-key", put("data[0].foo", 1), "event.unknown_key", "data[0].foo"),
    ("legacy-timestamp-key", put("data[0].timestamp", "2025-12-31T23:00:00Z"), "event.unknown_key",
     "data[0].timestamp"),
    ("user-missing", drop("data[0].user"), "event.user.missing", "data[0].user"),
    ("user-string", put("data[0].user", "alice"), "event.not_object", "data[0].user"),
    ("properties-list", put("data[0].properties", []), "event.not_object", "data[0].properties"),
    ("ldu-string", put("data[0].limited_data_use", "false"), "event.limited_data_use.not_boolean",
     "data[0].limited_data_use"),
    ("ldu-int", put("data[0].limited_data_use", 1), "event.limited_data_use.not_boolean",
     "data[0].limited_data_use"),
    ("crm-no-lead", both(put("event_source", "crm"), put("event_source_id", "7123456789012345678")),
     "event.lead.missing", "data[0].lead"),
    ("email-raw", put("data[0].user.email", "Alice@Example.com"), "user.email.unhashed", "data[0].user.email"),
    ("email-raw-in-array", put("data[0].user.email", [H_EMAIL, "bob@example.com"]), "user.email.unhashed",
     "data[0].user.email[1]"),
    ("phone-raw", put("data[0].user.phone", "+1 213 373 4253"), "user.phone.unhashed", "data[0].user.phone"),
    ("phone-national", put("data[0].user.phone", ["2133734253"]), "user.phone.unhashed",
     "data[0].user.phone[0]"),
    ("external-id-raw", put("data[0].user.external_id", "user_123"), "user.external_id.unhashed",
     "data[0].user.external_id"),
    ("first-name-raw", put("data[0].user.first_name", "Alice"), "user.first_name.unhashed",
     "data[0].user.first_name"),
    ("last-name-raw", put("data[0].user.last_name", "Smith"), "user.last_name.unhashed",
     "data[0].user.last_name"),
    ("zip-raw", put("data[0].user.zip_code", "SW1A 1AA"), "user.zip_code.unhashed", "data[0].user.zip_code"),
    ("empty-hash", put("data[0].user.email", [EMPTY_SHA256]), "user.hash.empty", "data[0].user.email[0]"),
    ("md5", put("data[0].user.email", "b58996c504c5638798eb6b511e6f49af"), "user.hash.wrong_algorithm",
     "data[0].user.email"),
    ("sha1", put("data[0].user.phone", "a" * 40), "user.hash.wrong_algorithm", "data[0].user.phone"),
    ("sha512", put("data[0].user.email", ["c" * 128]), "user.hash.wrong_algorithm", "data[0].user.email[0]"),
    ("hash-upper", put("data[0].user.email", H_EMAIL.upper()), "user.hash.uppercase", "data[0].user.email"),
    ("hash-space", put("data[0].user.email", [H_EMAIL + " "]), "user.hash.whitespace", "data[0].user.email[0]"),
    ("ttclid-hashed", put("data[0].user.ttclid", H_EMAIL), "user.ttclid.hashed", "data[0].user.ttclid"),
    ("ttp-hashed", put("data[0].user.ttp", H_EMAIL), "user.ttp.hashed", "data[0].user.ttp"),
    ("ttclid-only-in-url", drop("data[0].user.ttclid"), "user.ttclid.in_url", "data[0].user.ttclid"),
    ("city-hashed", put("data[0].user.city", H_EMAIL), "user.location.hashed", "data[0].user.city"),
    ("ip-garbage", put("data[0].user.ip", "not-an-ip"), "user.ip.invalid", "data[0].user.ip"),
    ("ip-xff-list", put("data[0].user.ip", "198.51.100.4, 10.0.0.1"), "user.ip.invalid", "data[0].user.ip"),
    ("ip-with-port", put("data[0].user.ip", "198.51.100.4:443"), "user.ip.invalid", "data[0].user.ip"),
    ("ip-private", put("data[0].user.ip", "10.1.2.3"), "user.ip.private", "data[0].user.ip"),
    ("ip-loopback", put("data[0].user.ip", "127.0.0.1"), "user.ip.private", "data[0].user.ip"),
    ("ip-v6-loopback", put("data[0].user.ip", "::1"), "user.ip.private", "data[0].user.ip"),
    ("ip-link-local", put("data[0].user.ip", "169.254.1.1"), "user.ip.private", "data[0].user.ip"),
    ("ip-cgnat", put("data[0].user.ip", "100.64.0.9"), "user.ip.private", "data[0].user.ip"),
    ("ip-doc-range", put("data[0].user.ip", "203.0.113.7"), "user.ip.private", "data[0].user.ip"),
    ("ip-v6-doc-range", put("data[0].user.ip", "2001:db8::1"), "user.ip.private", "data[0].user.ip"),
    ("ua-requests", put("data[0].user.user_agent", "python-requests/2.32.3"), "user.user_agent.server_library",
     "data[0].user.user_agent"),
    ("ua-curl", put("data[0].user.user_agent", "curl/8.5.0"), "user.user_agent.server_library",
     "data[0].user.user_agent"),
    ("ua-go", put("data[0].user.user_agent", "Go-http-client/2.0"), "user.user_agent.server_library",
     "data[0].user.user_agent"),
    ("ua-okhttp", put("data[0].user.user_agent", "okhttp/4.12.0"), "user.user_agent.server_library",
     "data[0].user.user_agent"),
    ("locale-underscore", put("data[0].user.locale", "en_US"), "user.locale.format", "data[0].user.locale"),
    ("user-value-number", put("data[0].user.phone", 12133734253), "user.value.type", "data[0].user.phone"),
    ("user-array-not-allowed", put("data[0].user.ip", ["203.0.113.7"]), "user.value.type", "data[0].user.ip"),
    ("user-empty", put("data[0].user.ttp", ""), "user.value.empty", "data[0].user.ttp"),
    ("user-undefined", put("data[0].user.ttclid", "undefined"), "user.value.placeholder", "data[0].user.ttclid"),
    ("user-unknown", put("data[0].user.favourite_colour", "x"), "user.unknown_key",
     "data[0].user.favourite_colour"),
    ("user-misnamed", put("data[0].user.phone_number", "x"), "user.misnamed_key", "data[0].user.phone_number"),
    ("consent-denied", put("data[0].properties.ad_user_data", "DENIED"), "consent.denied_with_pii",
     "data[0].user.email"),
    ("consent-denied-top", put("ad_user_data", "denied"), "consent.denied_with_pii", "data[0].user.phone"),
    ("value-string", put("data[0].properties.value", "46.00"), "properties.value.not_number",
     "data[0].properties.value"),
    ("value-symbol", put("data[0].properties.value", "$1,299.00"), "properties.value.not_number",
     "data[0].properties.value"),
    ("value-bool", put("data[0].properties.value", True), "properties.value.not_number",
     "data[0].properties.value"),
    ("value-negative", put("data[0].properties.value", -5), "properties.value.negative",
     "data[0].properties.value"),
    ("value-missing", drop("data[0].properties.value"), "properties.value.missing", "data[0].properties.value"),
    ("currency-missing", drop("data[0].properties.currency"), "properties.currency.missing",
     "data[0].properties.currency"),
    ("currency-number", put("data[0].properties.currency", 840), "properties.currency.not_string",
     "data[0].properties.currency"),
    ("currency-lower", put("data[0].properties.currency", "usd"), "properties.currency.lowercase",
     "data[0].properties.currency"),
    ("currency-unlisted", put("data[0].properties.currency", "XBT"), "properties.currency.unsupported",
     "data[0].properties.currency"),
    ("content-type", put("data[0].properties.content_type", "products"), "properties.content_type.invalid",
     "data[0].properties.content_type"),
    ("content-type-item", put("data[0].properties.contents[1].content_type", "sku"),
     "properties.content_type.invalid", "data[0].properties.contents[1].content_type"),
    ("contents-object", put("data[0].properties.contents", {"content_id": "1"}), "properties.contents.invalid",
     "data[0].properties.contents"),
    ("contents-item-string", put("data[0].properties.contents[0]", "1077218"), "properties.contents.invalid",
     "data[0].properties.contents[0]"),
    ("content-id-missing", drop("data[0].properties.contents[1].content_id"),
     "properties.contents.content_id_missing", "data[0].properties.contents[1].content_id"),
    ("content-id-number", put("data[0].properties.contents[1].content_id", 1077219),
     "properties.content_id.not_string", "data[0].properties.contents[1].content_id"),
    ("quantity-float", put("data[0].properties.contents[0].quantity", 1.5),
     "properties.contents.quantity_invalid", "data[0].properties.contents[0].quantity"),
    ("quantity-string", put("data[0].properties.contents[0].quantity", "2"),
     "properties.contents.quantity_invalid", "data[0].properties.contents[0].quantity"),
    ("quantity-zero", put("data[0].properties.contents[0].quantity", 0),
     "properties.contents.quantity_invalid", "data[0].properties.contents[0].quantity"),
    ("price-string", put("data[0].properties.contents[0].price", "8.00"), "properties.contents.price_invalid",
     "data[0].properties.contents[0].price"),
    ("content-ids-string", put("data[0].properties.content_ids", "1077218"), "properties.content_ids.invalid",
     "data[0].properties.content_ids"),
    ("content-ids-number", put("data[0].properties.content_ids", ["1", 2]), "properties.content_ids.invalid",
     "data[0].properties.content_ids[1]"),
    ("num-items", put("data[0].properties.num_items", "3"), "properties.num_items.invalid",
     "data[0].properties.num_items"),
    ("url-relative", put("data[0].page.url", "/thanks"), "page.url.not_absolute", "data[0].page.url"),
    ("url-no-scheme", put("data[0].page.url", "shop.example/thanks"), "page.url.not_absolute",
     "data[0].page.url"),
    ("referrer-relative", put("data[0].page.referrer", "cart"), "page.referrer.not_absolute",
     "data[0].page.referrer"),
]

# --- passing cases: (mutation, code that must NOT appear) --------------------------------------------
PASSING: list[tuple[str, Mutation, str]] = [
    ("source-crm", both(put("event_source", "crm"), put("event_source_id", "7123456789012345678"),
                        put("data[0].lead", {"lead_id": "L1"})), "event_source.invalid"),
    ("source-id-offline-digits", both(put("event_source", "offline"), put("event_source_id", "7" * 19)),
     "event_source_id.mismatch"),
    ("one-event", lambda b: b, "data.empty"),
    ("thousand-events", lambda b: put("data", [{**b["data"][0], "event_id": f"o{i}"} for i in range(1000)])(b),
     "data.too_many"),
    ("single-test-event", lambda b: b, "test_event_code.batched"),
    ("standard-name", put("data[0].event", "AddToCart"), "event.name.near_miss"),
    ("pageview-exact", put("data[0].event", "Pageview"), "event.name.near_miss"),
    ("custom-name-no-error", put("data[0].event", "QuizFinished"), "event.name.near_miss"),
    ("time-exact-now", put("data[0].event_time", NOW), "event.event_time.future"),
    ("time-4-minutes-ahead", put("data[0].event_time", NOW + 240), "event.event_time.future"),
    ("time-6-days", put("data[0].event_time", NOW - 6 * 86400), "event.event_time.too_old"),
    ("time-float-integral", put("data[0].event_time", float(NOW)), "event.event_time.fraction"),
    ("id-not-needed-custom", both(put("data[0].event", "QuizFinished"), drop("data[0].event_id")),
     "event.event_id.missing"),
    ("id-not-needed-offline", both(put("event_source", "offline"), put("event_source_id", "7" * 19),
                                   drop("data[0].event_id")), "event.event_id.missing"),
    ("offline-no-web-keys", both(put("event_source", "offline"), put("event_source_id", "7" * 19),
                                 drop("data[0].user.ip"), drop("data[0].page")), "user.ip.missing"),
    ("app-no-page", both(put("event_source", "app"), put("event_source_id", "7" * 19), drop("data[0].page")),
     "page.url.missing"),
    ("pixel-code-d", put("event_source_id", "D17TA5JC77UDOT6CA5FG"), "event_source_id.not_pixel_code"),
    ("id-with-digits", put("data[0].event_id", "purchase_1767225600_10492"), "event.event_id.pii"),
    ("id-distinct", lambda b: put("data", [b["data"][0], {**b["data"][0], "event_id": "ord_2"}])(b),
     "event.event_id.duplicate"),
    ("id-same-other-event", lambda b: put("data", [b["data"][0], {**b["data"][0], "event": "AddToCart"}])(b),
     "event.event_id.duplicate"),
    ("documented-optional-keys", both(put("data[0].device", {"platform": "pc"}), put("data[0].ad", {}),
                                      put("data[0].app", {}), put("data[0].lead", {})), "event.unknown_key"),
    ("ldu-true", put("data[0].limited_data_use", True), "event.limited_data_use.not_boolean"),
    ("hash-string-not-array", put("data[0].user.email", H_EMAIL), "user.email.unhashed"),
    ("external-id-hashed", put("data[0].user.external_id", sha256_hex("user_123")), "user.external_id.unhashed"),
    ("uuid-external-id", put("data[0].user.external_id", "550e8400e29b41d4a716446655440000"),
     "user.hash.wrong_algorithm"),
    ("hash-lower", lambda b: b, "user.hash.uppercase"),
    ("ttclid-raw", lambda b: b, "user.ttclid.hashed"),
    ("ip-public-v4", put("data[0].user.ip", "81.2.69.142"), "user.ip.private"),
    ("ip-public-v6", put("data[0].user.ip", "2a03:2880:f12f:83:face:b00c:0:25de"), "user.ip.private"),
    ("ip-v6-compressed", put("data[0].user.ip", "2001:db8::1"), "user.ip.invalid"),
    ("ua-browser", put("data[0].user.user_agent",
                       "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"),
     "user.user_agent.server_library"),
    ("locale-ok", put("data[0].user.locale", "en-US"), "user.locale.format"),
    ("city-plain", put("data[0].user.city", "london"), "user.location.hashed"),
    ("consent-granted", put("data[0].properties.ad_user_data", "GRANTED"), "consent.denied_with_pii"),
    ("consent-denied-no-pii", both(put("ad_user_data", "DENIED"), put("data[0].user", {"ip": "203.0.113.7"})),
     "consent.denied_with_pii"),
    ("value-int", put("data[0].properties.value", 46), "properties.value.not_number"),
    ("value-zero", put("data[0].properties.value", 0), "properties.value.negative"),
    ("no-value-no-currency", both(drop("data[0].properties.value"), drop("data[0].properties.currency")),
     "properties.currency.missing"),
    ("currency-eur", put("data[0].properties.currency", "EUR"), "properties.currency.unsupported"),
    ("content-type-group", put("data[0].properties.content_type", "product_group"),
     "properties.content_type.invalid"),
    ("content-ids-strings", put("data[0].properties.content_ids", ["1077218"]), "properties.content_ids.invalid"),
    ("num-items-int", put("data[0].properties.num_items", 3), "properties.num_items.invalid"),
    ("url-absolute", lambda b: b, "page.url.not_absolute"),
]


@pytest.mark.parametrize(("mutation", "code", "path"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_broken_body_flagged_at_exact_path(mutation: Mutation, code: str, path: str) -> None:
    """Each broken variant of the valid purchase is flagged with its code at the offending key."""
    findings = L.lint(mutation(valid()), now=NOW)
    assert (code, path) in codes_at(findings), [f.as_dict() for f in findings]
    hit = next(f for f in findings if (f.code, f.path) == (code, path))
    assert hit.severity == L.CATALOGUE[code].severity
    assert hit.message and hit.fix


@pytest.mark.parametrize(("mutation", "code"), [c[1:] for c in PASSING], ids=[c[0] for c in PASSING])
def test_passing_variant_is_not_flagged(mutation: Mutation, code: str) -> None:
    """Each valid variant stays free of the code its failing twin triggers, and of any error."""
    findings = L.lint(mutation(valid()), now=NOW)
    assert code not in {f.code for f in findings}
    assert not L.has_errors(findings), [f.as_dict() for f in findings if f.severity == "error"]


VALID_BODIES: list[tuple[str, Mutation]] = [
    ("sample", lambda b: b),
    ("custom-name", put("data[0].event", "QuizFinished")),
    ("legacy-name", put("data[0].event", "CompletePayment")),
    ("legacy-place-an-order", put("data[0].event", "PlaceAnOrder")),
    ("hash-arrays", put("data[0].user.email", [H_EMAIL, sha256_hex("bob@example.com")])),
    ("ldu-true", put("data[0].limited_data_use", True)),
    ("minimal", lambda b: {"event_source": "web", "event_source_id": "C4A1", "data": [
        {"event": "ViewContent", "event_time": NOW, "event_id": "v1"}]}),
    ("no-test-code", drop("test_event_code")),
    ("vertical-extras", put("data[0].properties.checkin_date", "2026-02-01")),
]


@pytest.mark.parametrize("mutation", [v[1] for v in VALID_BODIES], ids=[v[0] for v in VALID_BODIES])
def test_valid_bodies_have_no_error(mutation: Mutation) -> None:
    """Valid bodies (custom and legacy names, hash arrays, limited_data_use) get no error."""
    assert not L.has_errors(L.lint(mutation(valid()), now=NOW))


def test_valid_sample_is_quiet() -> None:
    """The valid sample purchase has no finding at all."""
    assert L.lint(valid(), now=NOW) == []


def test_unhashed_email_fix_carries_the_hash() -> None:
    """The fix for a raw email names its normalized SHA-256, computed the TikTok way."""
    body = put("data[0].user.email", " ALICE_abc@gmail.com ")(valid())
    f = next(f for f in L.lint(body, now=NOW) if f.code == "user.email.unhashed")
    assert sha256_hex(normalize_email(" ALICE_abc@gmail.com ")) in f.fix
    assert "ALICE" not in f.message  # the raw address is not echoed into messages


def test_unhashed_phone_fix_carries_e164_hash() -> None:
    """The fix for a raw phone hashes its E.164 form."""
    body = put("data[0].user.phone", "(+1)2133734253")(valid())
    f = next(f for f in L.lint(body, now=NOW) if f.code == "user.phone.unhashed")
    assert sha256_hex(normalize_phone("(+1)2133734253")) in f.fix


def test_milliseconds_fix_names_the_seconds() -> None:
    """The milliseconds finding says which integer of seconds to send."""
    body = put("data[0].event_time", NOW * 1000 + 123)(valid())
    f = next(f for f in L.lint(body, now=NOW) if f.code == "event.event_time.milliseconds")
    assert str(NOW) in f.fix


def test_string_time_fix_names_the_integer() -> None:
    """A quoted or ISO event_time gets the integer to send in the fix."""
    for value in (str(NOW), "2026-01-01T00:00:00Z", "2026-01-01T00:00:00+00:00"):
        f = next(f for f in L.lint(put("data[0].event_time", value)(valid()), now=NOW)
                 if f.code == "event.event_time.string")
        assert str(NOW) in f.fix


def test_near_miss_fix_names_exact_event() -> None:
    """Near-miss names get the exact TikTok spelling in the fix."""
    for given, expected in (("purchase", "Purchase"), ("PageView", "Pageview"), ("add_to_cart", "AddToCart")):
        f = next(f for f in L.lint(put("data[0].event", given)(valid()), now=NOW)
                 if f.code == "event.name.near_miss")
        assert f'"{expected}"' in f.fix


def test_duplicate_names_the_first_occurrence() -> None:
    """The duplicate event_id finding points at the second and names the first."""
    body = valid()
    body["data"] = [body["data"][0], copy.deepcopy(body["data"][0]), copy.deepcopy(body["data"][0])]
    dups = [f for f in L.lint(body, now=NOW) if f.code == "event.event_id.duplicate"]
    assert [f.path for f in dups] == ["data[1].event_id", "data[2].event_id"]
    assert all("data[0].event_id" in f.message for f in dups)


# --- shapes ----------------------------------------------------------------------------------------
def test_bare_event_uses_event_relative_paths() -> None:
    """A bare event is linted with paths relative to the event and one body.bare_event info."""
    event = valid()["data"][0]
    event["user"]["email"] = "alice@example.com"
    found = codes_at(L.lint(event, now=NOW))
    assert ("body.bare_event", "") in found
    assert ("user.email.unhashed", "user.email") in found
    assert not any(code.startswith("event_source") for code, _ in found)


def test_top_level_array_is_a_list_of_events() -> None:
    """A top-level array lints each event with [i] paths."""
    event = valid()["data"][0]
    other = {**copy.deepcopy(event), "event_id": "x", "user": {"email": ["bob@example.com"]}}
    found = codes_at(L.lint([event, other], now=NOW))
    assert ("body.event_list", "") in found
    assert ("user.email.unhashed", "[1].user.email[0]") in found


def test_legacy_v1_single_body() -> None:
    """A 1.0 /pixel/track/ body gets the migration warning and its mappable parts linted."""
    body = {"pixel_code": "C4A1", "event": "CompletePayment", "event_id": "o1",
            "timestamp": "2025-12-31T23:00:00Z",
            "context": {"user": {"email": "alice@example.com", "phone_number": "+12133734253"},
                        "ip": "10.0.0.1", "user_agent": "curl/8.0", "ad": {"callback": H_EMAIL},
                        "page": {"url": "/x"}},
            "properties": {"value": "9", "currency": "USD"}}
    findings = L.lint(body, now=NOW)
    found = codes_at(findings)
    legacy = next(f for f in findings if f.code == "body.legacy_v1")
    assert legacy.path == "pixel_code" and "/open_api/v1.3/event/track/" in legacy.fix
    for pair in [("user.email.unhashed", "context.user.email"), ("user.phone.unhashed", "context.user.phone_number"),
                 ("user.ip.private", "context.ip"), ("user.user_agent.server_library", "context.user_agent"),
                 ("user.ttclid.hashed", "context.ad.callback"), ("page.url.not_absolute", "context.page.url"),
                 ("properties.value.not_number", "properties.value"), ("event.name.legacy", "event")]:
        assert pair in found
    assert not any(code.startswith(("event_source", "data.")) for code, _ in found)


def test_legacy_v1_batch() -> None:
    """A 1.0 batch body lints batch[i] and flags more than 50 events."""
    item = {"type": "track", "event": "ViewContent", "event_id": "v", "timestamp": "yesterday",
            "context": {"user": {"email": "a@b.co"}}}
    found = codes_at(L.lint({"pixel_code": "C1", "batch": [dict(item, event_id=f"v{i}") for i in range(51)]},
                            now=NOW))
    assert ("legacy.batch.too_many", "batch") in found
    assert ("user.email.unhashed", "batch[3].context.user.email") in found
    assert ("legacy.timestamp.invalid", "batch[50].timestamp") in found
    assert ("legacy.batch.invalid", "batch") in codes_at(L.lint({"pixel_code": "C1", "batch": {}}, now=NOW))


def test_legacy_offline_body_is_not_called_events_api_1() -> None:
    """An Offline Events API body (event_set_id) gets its own migration, never the 1.0 (pixel_code) one."""
    item = {"event": "CompletePayment", "event_id": "o1", "timestamp": "2025-12-31T23:00:00Z",
            "context": {"user": {"emails": ["alice@example.com"], "phone_numbers": [H_EMAIL]}}}
    for body, anchor in [({"event_set_id": "7" * 19, **item}, ""), ({"event_set_id": "7" * 19, "batch": [item]},
                                                                      "batch[0]")]:
        findings = L.lint(body, now=NOW)
        codes = {f.code for f in findings}
        legacy = next(f for f in findings if f.code == "body.legacy_offline")
        assert "body.legacy_v1" not in codes and "1.0" not in legacy.message
        assert "event_source" in legacy.fix and "offline" in legacy.fix
        prefix = f"{anchor}." if anchor else ""
        assert ("user.email.unhashed", f"{prefix}context.user.emails[0]") in codes_at(findings)
    pixel = L.lint({"event_set_id": "C4A1B2C3D4E5F6G7H8I9", **item}, now=NOW)
    assert "event_source_id.pixel_code_offline" in {f.code for f in pixel}


def test_event_set_id_in_a_v13_body_is_renamed() -> None:
    """event_set_id beside data is the older name of event_source_id."""
    found = L.lint(put("event_set_id", "7" * 19)(valid()), now=NOW)
    hit = next(f for f in found if f.path == "event_set_id")
    assert hit.code == "body.misplaced_key" and "event_source_id" in hit.fix


@pytest.mark.parametrize(("key", "value", "must", "must_not"), [
    ("fbc", "fb.1.1554763741205.AbCdEf", "ttclid URL parameter", "Rename it to ttclid"),
    ("fbp", "fb.1.1596403881668.1116446470", "_ttp cookie", "Rename it to ttp"),
    ("ph", H_EMAIL, "E.164 with the leading +", "Rename it to phone."),
])
def test_meta_click_ids_and_phone_say_where_the_tiktok_value_comes_from(
        key: str, value: str, must: str, must_not: str) -> None:
    """fbc/fbp are not renamed to ttclid/ttp (they carry Meta's ids); ph says to re-hash in E.164 with +."""
    for where in ("data[0].user", "data[0].user_data"):
        body = put(f"{where}.{key}", value)(valid()) if where.endswith("user") else \
            put(where, {key: value})(valid())
        hit = next(f for f in L.lint(body, now=NOW) if f.path == f"{where}.{key}" and f.code == "meta.user_key")
        assert must in hit.fix and must_not not in hit.fix


def test_ip_verdict_agrees_with_the_emq_proxy() -> None:
    """Lint flags an IP exactly when the EMQ proxy gives it no points."""
    from core.quality import key_reason

    for ip in ("203.0.113.7", "198.51.100.4", "10.0.0.1", "127.0.0.1", "100.64.0.9", "169.254.1.1", "::1",
               "2001:db8::1", "fe80::1", "81.2.69.142", "203.0.114.7", "2a03:2880:f12f:83:face:b00c:0:25de",
               "::ffff:10.0.0.1", "224.0.0.1"):
        flagged = "user.ip.private" in {f.code for f in L.lint(put("data[0].user.ip", ip)(valid()), now=NOW)}
        assert flagged == (key_reason("ip", ip) != ""), ip


@pytest.mark.parametrize("body", [None, 3, "text", True, 1.5], ids=repr)
def test_scalar_body_is_not_object(body: object) -> None:
    """A scalar body is one error at the body itself."""
    assert codes_at(L.lint(body, now=NOW)) == {("body.not_object", "")}


def test_meta_capi_sample_flags_each_key() -> None:
    """The Meta CAPI sample is flagged at each Meta key with the TikTok name in the fix."""
    findings = L.lint(L.SAMPLE_BODIES["Meta CAPI body"](NOW), now=NOW)
    by_path = {f.path: f for f in findings}
    assert "properties" in by_path["data[0].custom_data"].fix
    assert "email" in by_path["data[0].user_data.em"].fix
    assert "event.name.missing" not in {f.code for f in findings}  # event_name already says it


def test_non_identifier_keys_are_quoted_in_paths() -> None:
    """Keys that are not identifiers appear as ["key"] in paths."""
    found = codes_at(L.lint(put('data[0].user["e-mail"]', "x")(valid()), now=NOW))
    assert ("user.unknown_key", 'data[0].user["e-mail"]') in found


# --- catalogue -------------------------------------------------------------------------------------
def _emitted_codes() -> set[str]:
    # core.lint and the check modules it composes
    src = "".join((ROOT / "core" / "lint" / f"{name}.py").read_text(encoding="utf-8")
                  for name in ("linter", "event_checks", "user_checks"))
    literal = set(re.findall(r'self\.add\(\s*"([a-z0-9_]+(?:\.[a-z0-9_]+)+)"', src))
    # codes chosen from a tuple or built with an f-string in those modules
    templated = {"page.url.not_absolute", "page.referrer.not_absolute"}
    templated |= {f"user.{k}.hashed" for k in ("ttclid", "ttp")}
    templated |= {"user.ip.missing", "user.user_agent.missing", "body.event_list"}
    templated |= {f"user.{k}.unhashed" for k in ("email", "phone", "external_id", "first_name", "last_name",
                                                 "zip_code")}
    return literal | templated


def test_every_emitted_code_is_catalogued() -> None:
    """Every code the module emits (literal or templated) has a catalogue entry, and vice versa."""
    emitted = _emitted_codes()
    assert emitted - set(L.CATALOGUE) == set()
    assert set(L.CATALOGUE) - emitted == set(), "catalogue entries nothing emits"


def test_every_catalogued_code_has_a_failing_case() -> None:
    """The INVALID table exercises every catalogue code (legacy ones in their own tests)."""
    covered = {c[2] for c in INVALID} | {"body.not_object", "body.bare_event", "body.event_list",
                                         "body.legacy_v1", "body.legacy_offline", "legacy.batch.invalid",
                                         "legacy.batch.too_many",
                                         "legacy.timestamp.invalid"}
    assert set(L.CATALOGUE) - covered == set()


def test_docs_findings_md_in_sync() -> None:
    """docs/findings.md equals render_catalogue_markdown() (regenerate: python -m core.lint > docs/findings.md)."""
    doc = (ROOT / "docs" / "findings.md").read_text(encoding="utf-8")
    assert doc.strip() == L.render_catalogue_markdown().strip()
    assert all(f"`{code}`" in doc for code in L.CATALOGUE)


# --- parse_body, ordering, export -------------------------------------------------------------------
@pytest.mark.parametrize(("text", "line", "col"), [
    ('{"a": 1,}', 1, 9),
    ('{\n  "data": [\n    {"event": "Purchase"\n  ]\n}', 4, 3),
    ("{'a': 1}", 1, 2),
])
def test_parse_body_reports_line_and_column(text: str, line: int, col: int) -> None:
    """Bad JSON raises InvalidPayload naming line and column."""
    with pytest.raises(InvalidPayload, match=f"line {line}, column {col}"):
        L.parse_body(text)


@pytest.mark.parametrize("text", ["", "   ", '{"value": NaN}', '[Infinity]'])
def test_parse_body_rejects_empty_and_non_json_numbers(text: str) -> None:
    """Empty text and NaN/Infinity are InvalidPayload, not values."""
    with pytest.raises(InvalidPayload):
        L.parse_body(text)


def test_parse_body_accepts_bom_and_returns_value() -> None:
    """A UTF-8 BOM is tolerated and the value comes back as parsed."""
    assert L.parse_body('\ufeff{"a": [1]}') == {"a": [1]}


def test_sort_findings_errors_first_then_numeric_path() -> None:
    """Errors come first; data[2] sorts before data[10]."""
    fs = [L.Finding("info", "x", "a", "m", "f"), L.Finding("error", "y", "data[10].event", "m", "f"),
          L.Finding("warning", "z", "b", "m", "f"), L.Finding("error", "y", "data[2].event", "m", "f")]
    assert [f.path for f in L.sort_findings(fs)] == ["data[2].event", "data[10].event", "b", "a"]
    assert L.has_errors(fs) and not L.has_errors(fs[:1])


def test_findings_json_round_trips() -> None:
    """The export holds every finding's five fields and the counts."""
    findings = L.lint(L.SAMPLE_BODIES["broken body"](NOW), now=NOW)
    doc = json.loads(L.findings_json(findings))
    assert doc["findings"] == [f.as_dict() for f in findings]
    assert doc["counts"] == L.count_findings(findings)
    assert set(doc["findings"][0]) == {"severity", "code", "path", "message", "fix"}


# --- locate_paths / annotate ------------------------------------------------------------------------
def test_locate_paths_points_at_each_key_line() -> None:
    """Every path of the pretty sample maps to the line holding that key or element."""
    text = L.pretty_json(valid())
    located = L.locate_paths(text)
    lines = text.split("\n")
    assert located[""] == 1
    assert '"email"' in lines[located["data[0].user.email"] - 1]
    assert H_EMAIL in lines[located["data[0].user.email[0]"] - 1]
    assert '"content_id": "1077219"' in lines[located["data[0].properties.contents[1].content_id"] - 1]
    assert '"event_source_id"' in lines[located["event_source_id"] - 1]


@pytest.mark.parametrize(("text", "path", "line"), [
    ('{"a": {"b": [1,\n 2]}}', "a.b[1]", 2),
    ('{"a.b": 1,\n"c": {}}', '["a.b"]', 1),
    ('[\n{"x": 1},\n{"x": 2}\n]', "[1].x", 3),
    ('{"s": "a\\"b\\nc",\n "t": 1}', "t", 2),
])
def test_locate_paths_table(text: str, path: str, line: int) -> None:
    """locate_paths handles compact text, quoted keys, top-level arrays and escaped strings."""
    assert L.locate_paths(text)[path] == line


def test_locate_paths_never_raises_on_bad_text() -> None:
    """Broken text gives the paths found before the error."""
    assert L.locate_paths('{"a": 1,\n "b": [') == {"": 1, "a": 1, "b": 2}
    assert L.locate_paths("") == {}


def test_annotate_marks_offending_lines_and_missing_keys_at_parent() -> None:
    """Markers land on the offending key's line; a missing key marks its object's line."""
    body = L.SAMPLE_BODIES["broken body"](NOW)
    findings = L.lint(body, now=NOW)
    text, by_line = L.annotate_json(body, findings)
    lines = text.split("\n")
    email_line = next(i for i, s in enumerate(lines, 1) if '"email"' in s)
    assert "user.email.unhashed" in lines[email_line - 1]
    missing = next(f for f in findings if f.code == "properties.contents.content_id_missing")
    assert missing in by_line[L.line_for(missing.path, L.locate_paths(L.pretty_json(body)))]
    assert sum(len(v) for v in by_line.values()) == len(findings)


@pytest.mark.parametrize(("path", "parent"), [
    ("data[0].user.email[1]", "data[0].user.email"), ("data[0]", "data"), ("event_source_id", ""),
    ('a["x.y"]', "a"), ("", ""),
])
def test_parent_path(path: str, parent: str) -> None:
    """parent_path strips exactly one segment."""
    assert L.parent_path(path) == parent


# --- CLI: tiktok-events validate -------------------------------------------------------------------
@pytest.mark.parametrize(("sample", "exit_code"), [("broken body", 1), ("valid purchase", 0), ("Meta CAPI body", 1)])
def test_cli_validate_json_output_and_exit_code(
    sample: str, exit_code: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """validate FILE --format json prints {"findings": [...]} and exits 1 only when an error is found."""
    from core.cli import main

    path = tmp_path / "body.json"
    path.write_text(L.sample_body_text(sample), encoding="utf-8")
    assert main(["validate", str(path), "--format", "json"]) == exit_code
    doc = json.loads(capsys.readouterr().out)
    expected = L.lint(L.parse_body(path.read_text(encoding="utf-8")))
    assert doc["findings"] == [f.as_dict() for f in expected]
    assert all(set(f) == {"severity", "code", "path", "message", "fix"} for f in doc["findings"])


def test_cli_validate_reads_stdin_and_prints_text(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """validate - reads standard input; text output names path, code and fix."""
    import io

    from core.cli import main

    monkeypatch.setattr("sys.stdin", io.StringIO(L.sample_body_text("broken body")))
    assert main(["validate", "-"]) == 1
    out = capsys.readouterr().out
    assert "data[0].user.email" in out and "[user.email.unhashed]" in out and "fix:" in out


@pytest.mark.parametrize(("content", "needle"), [
    (None, "no such file"), ('{"a": 1,\n}', "line 2, column 1"), ("", "empty"),
])
def test_cli_validate_bad_input_exits_2(
    content: str | None, needle: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A missing file or bad JSON exits 2 with a clear one-line message and no traceback."""
    from core.cli import main

    path = tmp_path / "body.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert needle in err and str(path) in err and "Traceback" not in err


# --- an upload: absolute positions, lines, event_ids ------------------------------------------------
def _batch(n: int, bad: set[int]) -> dict[str, Any]:
    body = valid()
    event = body["data"][0]
    body["data"] = [{**copy.deepcopy(event), "event_id": f"ord_{i}_purchase",
                     **({"event_time": "yesterday"} if i in bad else {})} for i in range(n)]
    body.pop("test_event_code")
    return body


def test_lint_bodies_positions_are_absolute_over_the_upload() -> None:
    """Events in a 2,500-event upload are numbered across it: data[1500], with their event_id; no cap."""
    bodies = [_batch(1200, {3}), _batch(1300, {300, 1299})]
    findings = L.lint_bodies(bodies, now=NOW)
    errors = [f for f in findings if f.severity == "error"]
    assert {f.path for f in errors} == {"data[3].event_time", "data[1500].event_time", "data[2499].event_time"}
    assert {f.event_id for f in errors} == {"ord_3_purchase", "ord_300_purchase", "ord_1299_purchase"}
    assert L.error_event_indexes(findings) == {3, 1500, 2499}
    assert "data.too_many" not in {f.code for f in findings}  # the sender splits: no error for that
    assert all(f.line is None for f in findings)


def test_lint_bodies_finds_duplicates_across_bodies() -> None:
    """The same event and event_id in two bodies is a duplicate at its absolute position."""
    findings = L.lint_bodies([_batch(2, set()), _batch(2, set())], now=NOW)
    dup = [f for f in findings if f.code == "event.event_id.duplicate"]
    assert [f.path for f in dup] == ["data[2].event_id", "data[3].event_id"]
    assert "data[0].event_id" in dup[0].message


def test_lint_upload_jsonl_names_lines_and_event_ids() -> None:
    """JSONL of events and bodies: each finding names its input line, event_id and absolute position."""
    event = valid()["data"][0]
    lines = [json.dumps({**event, "event_id": "e0"}), "", json.dumps({**event, "event_id": "e1", "event_time": "x"}),
             json.dumps({**_batch(2, {1}), "event_source_id": "C4A1B2C3D4E5F6G7H8I9"})]
    records, findings = L.lint_upload("\n".join(lines), now=NOW)
    assert len(records) == 3
    bad = {(f.path, f.line, f.event_id) for f in findings if f.code == "event.event_time.string"}
    assert bad == {("data[1].event_time", 3, "e1"), ("data[3].event_time", 4, "ord_1_purchase")}
    assert L.error_event_indexes(findings) == {1, 3}
    listing = next(f for f in findings if f.code == "body.event_list")
    assert "2 line(s)" in listing.message


def test_lint_upload_single_document_matches_lint() -> None:
    """One JSON document lints exactly as lint() does, plus each finding's event_id."""
    text = L.sample_body_text("broken body", NOW)
    records, findings = L.lint_upload(text, now=NOW)
    plain = L.lint(L.parse_body(text), now=NOW)
    assert records == [L.parse_body(text)]
    assert [(f.code, f.path) for f in findings] == [(f.code, f.path) for f in plain]
    assert {f.event_id for f in findings if f.path.startswith("data[0]")} == {"10492"}


@pytest.mark.parametrize(("text", "needle"), [
    ('{"a": 1}\n{"b": 2,}', "line 2: Not valid JSON: .* at column 9"),
    ('{\n  "data": [\n    {"event": "Purchase"\n  ]\n}', "line 4, column 3"),
])
def test_lint_upload_bad_jsonl_names_the_line(text: str, needle: str) -> None:
    """A JSONL line that is not JSON is named by its line; a broken document where the whole parse failed."""
    with pytest.raises(InvalidPayload, match=needle):
        L.lint_upload(text, now=NOW)


def test_finding_json_keeps_its_five_fields_unless_line_or_event_id_is_set() -> None:
    """as_dict adds line and event_id only when set, so existing JSON stays the same."""
    f = L.Finding("error", "data.empty", "data", "m", "x")
    assert list(f.as_dict()) == ["severity", "code", "path", "message", "fix"]
    g = L.Finding("error", "data.empty", "data[2]", "m", "x", line=7, event_id="e2")
    assert g.as_dict()["line"] == 7 and g.as_dict()["event_id"] == "e2"


def test_lint_upload_jsonl_event_keeps_its_consent() -> None:
    """A JSONL event line with ad_user_data DENIED is checked for personal data at its absolute path."""
    event = valid()["data"][0]
    text = "\n".join([json.dumps(event), json.dumps({**event, "event_id": "e1", "ad_user_data": "DENIED"})])
    _, findings = L.lint_upload(text, now=NOW)
    hit = next(f for f in findings if f.code == "consent.denied_with_pii" and f.path.startswith("data[1].user.email"))
    assert (hit.line, hit.event_id) == (2, "e1")
    assert not any(f.code == "consent.denied_with_pii" and f.path.startswith("data[0]") for f in findings)
