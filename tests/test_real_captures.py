"""Pixel bodies captured on real sites (tests/fixtures/real) keep their verdicts through every reader."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from core.sources import parse_har
from core.sources.pixel_body import UnusableHit, pixel_event_from_body

REAL = Path(__file__).parent / "fixtures" / "real"


def _har(url: str, text: str) -> bytes:
    entry = {"startedDateTime": "2023-08-29T10:41:55.560Z", "time": 31.0,
             "request": {"method": "POST", "url": url, "headers": [],
                         "postData": {"mimeType": "text/plain;charset=UTF-8", "text": text}},
             "response": {"status": 200, "content": {"mimeType": "application/json", "text": '{"code":0}'}}}
    return json.dumps({"log": {"version": "1.2", "creator": {"name": "WebInspector", "version": "537.36"},
                               "entries": [entry]}}).encode()


def test_real_auto_click_on_act_is_skipped_as_an_action_not_an_event() -> None:
    text = (REAL / "pixel_act_autoclick_2023.json").read_text(encoding="utf-8")
    result = parse_har(_har("https://analytics.tiktok.com/api/v2/pixel/act", text), name="pizza.har")
    assert len(result.events) == 0
    [skip] = result.skipped
    assert skip.kind == "action_only"
    assert "'Click'" in skip.reason and "never deduplicates" in skip.reason
    assert result.entries == 1


def test_real_auto_click_through_a_first_party_proxy_gets_the_same_verdict() -> None:
    text = (REAL / "pixel_act_autoclick_2023.json").read_text(encoding="utf-8")
    result = parse_har(_har("https://shop.example/tt/api/v2/pixel/act", text), name="proxy.har")
    assert len(result.events) == 0 and [s.kind for s in result.skipped] == ["action_only"]


def test_real_auto_click_body_read_alone_names_why_it_is_no_event() -> None:
    body = json.loads((REAL / "pixel_act_autoclick_2023.json").read_text(encoding="utf-8"))
    with pytest.raises(UnusableHit) as info:
        pixel_event_from_body(body, entry=0, url="https://analytics.tiktok.com/api/v2/pixel/act")
    assert info.value.kind == "action_only"


def _hits() -> dict[str, Any]:
    return json.loads((REAL / "tracking_auditor_hits_2026.json").read_text(encoding="utf-8"))


def _har_of(entries: list[tuple[str, str | None]]) -> bytes:
    har = []
    for url, text in entries:
        request: dict[str, Any] = {"method": "POST" if text is not None else "GET", "url": url, "headers": []}
        if text is not None:
            request["postData"] = {"mimeType": "text/plain;charset=UTF-8", "text": text}
        har.append({"startedDateTime": "2026-06-29T17:47:07.800Z", "time": 20.0, "request": request,
                    "response": {"status": 200, "content": {"text": '{"code":0}'}}})
    return json.dumps({"log": {"version": "1.2", "creator": {"name": "x", "version": "1"}, "entries": har}}).encode()


def test_real_hits_of_a_shop_keep_their_events_keys_and_cart() -> None:
    hits = _hits()
    b64 = base64.b64encode(json.dumps(hits["add_to_cart"], ensure_ascii=False).encode()).decode()
    har = _har_of([
        ("https://analytics.tiktok.com/i18n/pixel/sdk.js?sdkid=C1234567890", None),
        ("https://analytics.tiktok.com/api/v2/pixel", json.dumps(hits["pageview"], ensure_ascii=False)),
        ("https://analytics.tiktok.com/api/v2/pixel/perf", '{"event":"x","context":{"pixel":{"code":"C1"}}}'),
        ("https://analytics.tiktok.com/api/v2/pixel", json.dumps(hits["complete_registration"], ensure_ascii=False)),
        ("https://analytics.tiktok.com/api/v2/pixel", json.dumps(hits["add_to_cart"], ensure_ascii=False)),
        (f"https://analytics.tiktok.com/api/v2/pixel/act?analytics_message={quote(b64)}", None),
        ("https://analytics.tiktok.com/api/v2/pixel", '{"event":"EnrichAM","context":{"pixel":{"code":"C1"}}}'),
    ])
    result = parse_har(har, name="atomkraftwerke24.har")
    rows = result.events.to_dict(orient="records")
    assert [r["event"] for r in rows] == ["Pageview", "CompleteRegistration", "AddToCart", "AddToCart"]
    assert {r["pixel_code"] for r in rows} == {"C1234567890"}
    pageview, registration, cart, cart_get = rows
    assert pageview["event_id"] == "" and pageview["user_keys"] == ""
    assert pageview["timestamp"] == pytest.approx(1782755227.730)
    assert registration["event_id"] == "ID1"
    assert registration["hashed_keys"] == "email,phone"  # external_id "123456" is sent, but not as a hash
    assert set(registration["user_keys"].split(",")) == {"email", "phone", "external_id"}
    assert registration["currency"] == "USD" and registration["value"] == 0
    assert "invalid_country" in registration["signal_diagnostic_labels"]
    assert cart["value"] == pytest.approx(99.95) and cart["currency"] == "EUR"
    assert cart["content_ids"].split(",") == ["119", "33", "37", "38"]
    assert cart["content_type"] == "product"  # only the items carry it
    assert {k: cart_get[k] for k in ("event", "event_id", "value", "content_ids")} == {
        k: cart[k] for k in ("event", "event_id", "value", "content_ids")}
    assert sorted(s.kind for s in result.skipped) == ["internal", "loader", "telemetry"]
