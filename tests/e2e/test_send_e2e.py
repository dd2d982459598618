"""The Send page in headless Chromium: paste a body, send it to the app's emulator, read the result."""

from __future__ import annotations

import json

from playwright.sync_api import expect

from tests.e2e.conftest import goto_page, wait_for_run

HASH = "848a771458438fc2ec420560d769fb9b9b86851ee338ec56517baabd79d3bb4f"


def _body(event_id: str, **top: str) -> str:
    return json.dumps({"event_source": "web", "event_source_id": "CE2EPIXEL", **top,
                       "data": [{"event": "Purchase", "event_time": 1735689600, "event_id": event_id,
                                 "user": {"email": [HASH], "ip": "203.0.113.7"},
                                 "properties": {"currency": "USD", "value": 46.0}}]})


def _paste(page, text: str) -> None:  # type: ignore[no-untyped-def]
    page.locator(".st-key-send_source").get_by_text("Paste JSON").click()
    wait_for_run(page)
    area = page.locator(".st-key-send_text textarea")
    area.fill(text)
    area.press("Control+Enter")  # commits the text area (a plain fill only commits on blur)
    wait_for_run(page)


def test_send_with_test_code_shows_pair_and_received(page, app_url: str) -> None:
    """A pasted body with a test code is accepted; request/response, cURL and the Test Events panel show it."""
    goto_page(page, app_url, "Send")
    expect(page.get_by_text("local emulator", exact=False).first).to_be_visible()
    _paste(page, _body("e2e_ord_1", test_event_code="TESTE2E"))
    expect(page.get_by_text("test event code TESTE2E", exact=False)).to_be_visible()
    page.locator(".st-key-send_go button").click()
    wait_for_run(page)
    expect(page.get_by_text("1/1 event(s) accepted", exact=False)).to_be_visible()
    expect(page.get_by_text("code 0 OK", exact=False).first).to_be_visible()
    expect(page.get_by_text("Request ·", exact=False).first).to_be_visible()
    expect(page.get_by_text("Response · HTTP 200", exact=False).first).to_be_visible()
    curl = page.locator(".st-key-send_curl")
    expect(curl).to_contain_text("$TIKTOK_ACCESS_TOKEN")
    expect(curl).not_to_contain_text("emulator-token")
    expect(page.locator(".st-key-send_received")).to_be_visible()
    expect(page.get_by_text("1 event(s) received for test event code TESTE2E", exact=False)).to_be_visible()
    expect(page.locator(".st-key-send_download")).to_be_visible()
    assert page.locator("[data-testid='stException']").count() == 0


def test_live_send_needs_the_dialog(page, app_url: str) -> None:
    """Without a test code, Send opens a dialog naming the Pixel; confirming sends the event."""
    goto_page(page, app_url, "Send")
    _paste(page, _body("e2e_live_1"))
    expect(page.get_by_text("no test event code (live)", exact=False)).to_be_visible()
    page.locator(".st-key-send_go button").click()
    wait_for_run(page)
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("CE2EPIXEL")
    expect(dialog).to_contain_text("without a test event code")
    assert page.get_by_text("event(s) accepted", exact=False).count() == 0
    page.locator(".st-key-send_confirm_live button").click()
    wait_for_run(page)
    expect(page.get_by_text("1/1 event(s) accepted", exact=False)).to_be_visible()
    expect(page.get_by_text("live (no test event code)", exact=False)).to_be_visible()
