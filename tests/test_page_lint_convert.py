"""The Lint page's Meta converter panel (AppTest): paste a Meta body, see the TikTok body, notes, losses, findings."""

from __future__ import annotations

import json
from typing import Any

import pytest

PAGE = "pages/2_Lint.py"
PIXEL = "C4A1B2C3D4E5F6G7H8I9"
EMAIL_HASH = "848a771458438fc2ec420560d769fb9b9b86851ee338ec56517baabd79d3bb4f"
META = {"data": [{"event_name": "PageView", "event_time": 1735689600, "action_source": "website",
                  "event_id": "pv_1", "event_source_url": "https://shop.example/",
                  "user_data": {"em": [EMAIL_HASH], "fbp": "fb.1.1558571054389.1098115397",
                                "client_ip_address": "198.51.100.7", "client_user_agent": "Mozilla/5.0"}}]}


def frame(at: Any, key: str) -> Any:
    return at.get_by_key(key).dataframe[0].value


def test_meta_body_converts_on_the_lint_page(app_test: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The panel shows the TikTok body for the sidebar's Pixel, the mapping, fbp as lost, and lints the result."""
    monkeypatch.setenv("TEC_PIXEL_CODE", PIXEL)
    at = app_test(PAGE).run()
    assert not at.exception
    at.text_area(key="convert_meta_text").input(json.dumps(META)).run()
    assert not at.exception, [e.value for e in at.exception]
    body = json.loads(at.json[0].value)
    assert body["event_source_id"] == PIXEL and body["data"][0]["event"] == "Pageview"
    notes = frame(at, "convert_notes").set_index("from")
    assert notes.loc["data[0].event_name", "to"] == "data[0].event"
    lost = frame(at, "convert_lost").set_index("from")
    assert "_ttp cookie" in lost.loc["data[0].user_data.fbp", "instead"]
    assert "event.event_time.too_old" in set(frame(at, "convert_findings_box")["code"])

    at.button(key="convert_to_linter").click().run()
    assert json.loads(at.text_area(key="lint_text").value) == body
    assert not at.exception


def test_bad_meta_body_is_a_clear_error(app_test: Any) -> None:
    """Text that is no Meta body is shown as an error with the fix; the rest of the page still works."""
    at = app_test(PAGE).run()
    at.text_input(key="convert_pixel_code").input(PIXEL).run()
    at.text_area(key="convert_meta_text").input('{"data": []}').run()
    assert not at.exception
    assert any("No events" in e.value for e in at.error)
    assert "Paste a body" in at.info[0].value
