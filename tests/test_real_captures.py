"""Pixel bodies captured on real sites (tests/fixtures/real) keep their verdicts through every reader."""

from __future__ import annotations

import json
from pathlib import Path

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
