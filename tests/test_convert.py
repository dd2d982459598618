"""Meta Conversions API -> TikTok v1.3: every Meta field carried over with a note or lost with why."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from core.convert import convert_meta, meta_request, parse_meta_body
from core.errors import ConfigError, InvalidPayload
from core.identity import sha256_hex
from core.lint import has_errors, lint

PIXEL = "C4A1B2C3D4E5F6G7H8I9"
EMAIL_HASH = "848a771458438fc2ec420560d769fb9b9b86851ee338ec56517baabd79d3bb4f"  # alice_abc@gmail.com
PHONE_E164_HASH = "9f7ec22d72092cd3c0b58726ed9c2d91b92e51a3f29837508fb2948bb22dd2fd"  # +12133734253
META_PHONE_HASH = sha256_hex("12133734253")  # Meta's: digits without the +


def meta_event(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"event_name": "Purchase", "event_time": 1735689600, "action_source": "website",
                            "event_id": "ord_10492_purchase"}
    return {**base, **fields}


def convert_one(**fields: Any) -> tuple[dict[str, Any], dict[str, dict[str, str]], dict[str, dict[str, Any]]]:
    """The converted event, notes by Meta path, lost by Meta path."""
    conv = convert_meta({"data": [meta_event(**fields)]}, PIXEL)
    [event] = conv.body["data"]
    return event, {n["from"]: n for n in conv.notes}, {x["from"]: x for x in conv.lost}


# --- carried over: Meta path -> TikTok value ----------------------------------------------------------
@pytest.mark.parametrize(("fields", "meta_path", "tiktok_path", "expected"), [
    ({"event_name": "Purchase"}, "event_name", "event", "Purchase"),
    ({"event_name": "AddToCart"}, "event_name", "event", "AddToCart"),
    ({"event_name": "InitiateCheckout"}, "event_name", "event", "InitiateCheckout"),
    ({"event_name": "CompleteRegistration"}, "event_name", "event", "CompleteRegistration"),
    ({"event_name": "PageView"}, "event_name", "event", "Pageview"),
    ({"event_name": "Donate"}, "event_name", "event", "Donate"),
    ({"event_time": "1735689600"}, "event_time", "event_time", 1735689600),
    ({"event_time": 1735689600123}, "event_time", "event_time", 1735689600),
    ({"event_id": 10492}, "event_id", "event_id", "10492"),
    ({"event_source_url": "https://shop.example/thanks"}, "event_source_url", "page.url", "https://shop.example/thanks"),
    ({"referrer_url": "https://shop.example/cart"}, "referrer_url", "page.referrer", "https://shop.example/cart"),
    ({"event_source_url": "https://shop.example/?ttclid=E.C.P.x1"}, "event_source_url", "user.ttclid", "E.C.P.x1"),
    ({"user_data": {"em": [EMAIL_HASH]}}, "user_data.em[0]", "user.email", [EMAIL_HASH]),
    ({"user_data": {"em": " ALICE_abc@gmail.com "}}, "user_data.em", "user.email", EMAIL_HASH),
    ({"user_data": {"ph": "12133734253"}}, "user_data.ph", "user.phone", PHONE_E164_HASH),
    ({"user_data": {"ph": ["+1 213 373 4253"]}}, "user_data.ph[0]", "user.phone", [PHONE_E164_HASH]),
    ({"user_data": {"external_id": "user_123"}}, "user_data.external_id", "user.external_id",
     sha256_hex("user_123")),
    ({"user_data": {"external_id": [EMAIL_HASH]}}, "user_data.external_id[0]", "user.external_id", [EMAIL_HASH]),
    ({"user_data": {"fn": "Mary"}}, "user_data.fn", "user.first_name", sha256_hex("mary")),
    ({"user_data": {"ln": [sha256_hex("smith")]}}, "user_data.ln[0]", "user.last_name", sha256_hex("smith")),
    ({"user_data": {"zp": "94025"}}, "user_data.zp", "user.zip_code", sha256_hex("94025")),
    ({"user_data": {"ct": "Menlo Park"}}, "user_data.ct", "user.city", "menlopark"),
    ({"user_data": {"st": "CA"}}, "user_data.st", "user.state", "ca"),
    ({"user_data": {"country": "US"}}, "user_data.country", "user.country", "us"),
    ({"user_data": {"client_ip_address": "198.51.100.7"}}, "user_data.client_ip_address", "user.ip", "198.51.100.7"),
    ({"user_data": {"client_user_agent": "Mozilla/5.0"}}, "user_data.client_user_agent", "user.user_agent",
     "Mozilla/5.0"),
    ({"custom_data": {"value": 129.99}}, "custom_data.value", "properties.value", 129.99),
    ({"custom_data": {"value": "129.99"}}, "custom_data.value", "properties.value", 129.99),
    ({"custom_data": {"currency": "usd"}}, "custom_data.currency", "properties.currency", "USD"),
    ({"custom_data": {"content_ids": ["1077218", 1077219]}}, "custom_data.content_ids", "properties.content_ids",
     ["1077218", "1077219"]),
    ({"custom_data": {"content_type": "product"}}, "custom_data.content_type", "properties.content_type", "product"),
    ({"custom_data": {"order_id": 10492}}, "custom_data.order_id", "properties.order_id", "10492"),
    ({"custom_data": {"num_items": 3}}, "custom_data.num_items", "properties.num_items", 3),
    ({"custom_data": {"search_string": "red shoes"}}, "custom_data.search_string", "properties.search_string",
     "red shoes"),
    ({"custom_data": {"content_name": "Red shoes"}}, "custom_data.content_name", "properties.description",
     "Red shoes"),
    ({"custom_data": {"contents": [{"id": 1077218, "quantity": 2, "item_price": 8.5}]}},
     "custom_data.contents[0].item_price", "properties.contents",
     [{"content_id": "1077218", "quantity": 2, "price": 8.5}]),
    ({"custom_data": {"content_category": "shoes", "contents": [{"id": "1"}]}}, "custom_data.content_category",
     "properties.contents", [{"content_id": "1", "content_category": "shoes"}]),
    ({"data_processing_options": ["LDU"]}, "data_processing_options", "limited_data_use", True),
    ({"data_processing_options": []}, "data_processing_options", "limited_data_use", False),
])
def test_mapped_fields(fields: dict[str, Any], meta_path: str, tiktok_path: str, expected: Any) -> None:
    """Each Meta field lands on its TikTok field with the TikTok normalization, and carries a note."""
    event, notes, lost = convert_one(**fields)
    value: Any = event
    for part in tiktok_path.split("."):
        value = value[part]
    assert value == expected
    assert f"data[0].{meta_path}" in notes and not lost


# --- lost: Meta path -> why (and where TikTok's value comes from) -------------------------------------
@pytest.mark.parametrize(("fields", "meta_path", "why", "instead"), [
    ({"user_data": {"fbc": "fb.1.1554763741205.AbCdEf"}}, "user_data.fbc", "Meta's click id", "ttclid URL parameter"),
    ({"user_data": {"fbp": "fb.1.1558571054389.1098115397"}}, "user_data.fbp", "Meta's browser id", "_ttp cookie"),
    ({"user_data": {"ph": META_PHONE_HASH}}, "user_data.ph", "without the +", "E.164 with the +"),
    ({"user_data": {"ph": "12"}}, "user_data.ph", "phone rejected", "country code"),
    ({"user_data": {"ct": sha256_hex("menlopark")}}, "user_data.ct", "unhashed", "raw value"),
    ({"user_data": {"country": sha256_hex("us")}}, "user_data.country", "unhashed", "raw value"),
    ({"user_data": {"db": sha256_hex("19970216")}}, "user_data.db", "no date of birth", None),
    ({"user_data": {"ge": sha256_hex("f")}}, "user_data.ge", "no gender", None),
    ({"user_data": {"madid": "38400000-8cf0-11bd-b23e-10b96e40000d"}}, "user_data.madid", "app body", "user.idfa"),
    ({"user_data": {"lead_id": "525645896321548"}}, "user_data.lead_id", "Meta's own ids", None),
    ({"user_data": {"fn": ["mary", "maria"]}}, "user_data.fn[1]", "one first_name", None),
    ({"user_data": {"wat": "x"}}, "user_data.wat", "not a Meta user_data key", None),
    ({"custom_data": {"status": "paid"}}, "custom_data.status", "no TikTok property", None),
    ({"custom_data": {"value": "free"}}, "custom_data.value", "not a number", None),
    ({"custom_data": {"contents": [{"id": "1", "delivery_category": "home_delivery"}]}},
     "custom_data.contents[0].delivery_category", "no TikTok item field", None),
    ({"opt_out": True}, "opt_out", "no per-event opt-out", "leave the event out"),
    ({"data_processing_options": ["LDU", "X"]}, "data_processing_options", "only", None),
    ({"data_processing_options_country": 1}, "data_processing_options_country", "only the flag", None),
    ({"app_data": {"advertiser_tracking_enabled": 1}}, "app_data", "app fields", "event_source app"),
    ({"event_time": "yesterday"}, "event_time", "not Unix seconds", None),
    ({"event_id": None}, "event_id", "not an id", None),
    ({"original_event_data": {}}, "original_event_data", "not a Meta server event field", None),
])
def test_lost_fields(fields: dict[str, Any], meta_path: str, why: str, instead: str | None) -> None:
    """What cannot be carried over is listed with why, and where the TikTok value comes from instead."""
    _, _, lost = convert_one(**fields)
    entry = lost[f"data[0].{meta_path}"]
    assert why in entry["why"]
    assert (entry["instead"] is None) if instead is None else (instead in entry["instead"])


FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize(("fixture", "phones_lost", "extra_lost"), [
    ("meta_capi_docs_purchase.json", 2, []),  # Meta's documented request body
    ("meta_capi_gateway_purchase.json", 1, ["data[0].contents"]),  # Meta's gateway example: contents misplaced
])
def test_published_meta_bodies(fixture: str, phones_lost: int, extra_lost: list[str]) -> None:
    """Meta's own example bodies: email carried, Meta-hashed phones and fbc/fbp lost with their TikTok sources,
    and the converted body lints without errors."""
    conv = convert_meta(parse_meta_body((FIXTURES / fixture).read_text(encoding="utf-8")), PIXEL)
    [event] = conv.body["data"]
    assert event["event"] == "Purchase" and len(event["user"]["email"]) == 1 and "phone" not in event["user"]
    lost = {x["from"]: x for x in conv.lost}
    assert sum(k.startswith("data[0].user_data.ph") for k in lost) == phones_lost
    assert "ttclid" in str(lost["data[0].user_data.fbc"]["instead"])
    assert "_ttp" in str(lost["data[0].user_data.fbp"]["instead"])
    assert all("E.164" in str(x["instead"]) for k, x in lost.items() if ".ph" in k)
    assert [k for k in extra_lost if k not in lost] == []
    assert "custom_data" in lost.get("data[0].contents", {"why": "custom_data"})["why"]
    assert not has_errors(lint(conv.body))


def test_every_field_is_accounted_for() -> None:
    """Each leaf of a full Meta body is a note's `from` or a lost entry's `from` (or under one)."""
    body = {"data": [meta_event(
        event_source_url="https://shop.example/thanks", opt_out=False, data_processing_options=["LDU"],
        user_data={"em": [EMAIL_HASH], "ph": [META_PHONE_HASH], "fbc": "fb.1.1.a", "fbp": "fb.1.1.b", "ge": "f",
                   "client_ip_address": "198.51.100.7", "client_user_agent": "Mozilla/5.0", "external_id": "u1"},
        custom_data={"currency": "USD", "value": 46.0, "content_type": "product",
                     "contents": [{"id": "1", "quantity": 2, "item_price": 23.0}], "custom_prop": 1})],
        "test_event_code": "TEST1", "access_token": "EAAB-not-printed"}
    conv = convert_meta(body, PIXEL)
    seen = [n["from"] for n in conv.notes] + [x["from"] for x in conv.lost]
    leaves = ["test_event_code", "access_token", *(f"data[0].{k}" for k in body["data"][0]
                                                   if k not in ("user_data", "custom_data")),
              *(f"data[0].user_data.{k}" for k in body["data"][0]["user_data"]),
              *(f"data[0].custom_data.{k}" for k in body["data"][0]["custom_data"])]
    assert [leaf for leaf in leaves if not any(s == leaf or s.startswith((leaf + "[", leaf + "."))
                                               for s in seen)] == []
    assert "EAAB-not-printed" not in json.dumps(conv.as_dict())


def test_complete_input_lints_without_errors() -> None:
    """A complete website Purchase converts to a body the linter finds no error in."""
    conv = convert_meta({"data": [meta_event(
        event_source_url="https://shop.example/thanks",
        user_data={"em": [EMAIL_HASH], "ph": ["12133734253"], "client_ip_address": "198.51.100.7",
                   "client_user_agent": "Mozilla/5.0 (Macintosh)"},
        custom_data={"currency": "USD", "value": 46.0, "content_type": "product",
                     "contents": [{"id": "1077218", "quantity": 2, "item_price": 23.0}]})]}, PIXEL)
    assert conv.body["event_source"] == "web" and conv.body["event_source_id"] == PIXEL
    assert not has_errors(lint(conv.body)), [f.as_dict() for f in lint(conv.body) if f.severity == "error"]


@pytest.mark.parametrize(("action_source", "event_source"), [
    ("website", "web"), ("app", "app"), ("physical_store", "offline"), ("phone_call", "offline"),
    ("system_generated", "crm"), ("email", "crm"),
])
def test_action_source_sets_the_body_source(action_source: str, event_source: str) -> None:
    """action_source maps to TikTok's event_source; non-web sources are told to use their own ids."""
    conv = convert_meta({"data": [meta_event(action_source=action_source)]}, PIXEL)
    assert conv.body["event_source"] == event_source
    assert any(n["to"] == "event_source_id" for n in conv.notes) is (event_source != "web")


def test_events_of_another_source_are_kept_out_of_the_body() -> None:
    """A batch mixing web and store events keeps the first source's events; the others are lost with advice."""
    conv = convert_meta({"data": [meta_event(), meta_event(action_source="physical_store", event_id="s1"), 7]}, PIXEL)
    assert [e["event_id"] for e in conv.body["data"]] == ["ord_10492_purchase"]
    lost = {x["from"]: x for x in conv.lost}
    assert "offline event set id" in str(lost["data[1]"]["instead"]) and "not an event" in lost["data[2]"]["why"]


@pytest.mark.parametrize(("text", "events"), [
    (json.dumps({"data": [meta_event(), meta_event()]}), 2),
    (json.dumps(meta_event()), 1),
    (json.dumps([meta_event()]), 1),
])
def test_single_event_list_and_batch_are_read(text: str, events: int) -> None:
    """A batch, one bare event and a list of events all read as a Meta body."""
    assert len(parse_meta_body(text)["data"]) == events


@pytest.mark.parametrize(("text", "message"), [
    ("{", "Not valid JSON"),
    ("42", "Expected a JSON object"),
    ('{"data": []}', "No events"),
    ('{"foo": 1}', "No events"),
    (json.dumps({"event_source": "web", "event_source_id": PIXEL, "data": [{"event": "Purchase"}]}),
     "already a TikTok"),
])
def test_bad_input(text: str, message: str) -> None:
    """Input that is no Meta body is an InvalidPayload naming what is wrong."""
    with pytest.raises(InvalidPayload, match=message):
        parse_meta_body(text)


def test_no_pixel_code_is_a_config_error() -> None:
    """Without a Pixel code there is no TikTok body to make."""
    with pytest.raises(ConfigError, match="No Pixel code"):
        convert_meta(meta_request({"data": [meta_event()]}), " ")
