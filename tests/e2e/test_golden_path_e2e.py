"""DESIGN.md's golden path in one browser session: Build -> Send -> Compare with a HAR -> merged.

If this breaks, the product is broken: a newcomer's first ten minutes, end to end, on the local emulator.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from playwright.sync_api import expect

from tests.e2e.conftest import fill_key, goto_page, nav, wait_for_run

PIXEL = "CGOLDENPATH000000001"
EVENT_ID = "ord_10492_purchase"


def _har_with_purchase(path: Path) -> Path:
    """A DevTools-style HAR holding the browser Pixel's Purchase for order 10492, fired just now."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + "123Z"
    body = {"event": "Purchase", "event_id": EVENT_ID, "timestamp": now, "message_id": "messageId-1-2",
            "context": {"pixel": {"code": PIXEL}, "page": {"url": "https://shop.example/checkout/thanks"},
                        "user": {}, "library": {"name": "pixel.js", "version": "2.2.1"}},
            "properties": {"value": 129.99, "currency": "USD"}}
    har = {"log": {"version": "1.2", "creator": {"name": "WebInspector", "version": "537.36"}, "entries": [
        {"startedDateTime": now, "time": 42,
         "request": {"method": "POST", "url": "https://analytics.tiktok.com/api/v2/pixel", "headers": [],
                     "postData": {"mimeType": "text/plain;charset=UTF-8", "text": json.dumps(body)}},
         "response": {"status": 200, "content": {"mimeType": "application/json", "text": "{\"code\":0}"}}},
    ]}}
    path.write_text(json.dumps(har))
    return path






def test_golden_path(page, app_url: str, tmp_path: Path) -> None:
    """Build a Purchase for order 10492, send it with a test code, import the Pixel HAR: the pair is merged."""
    goto_page(page, app_url)
    expect(page.get_by_text("local emulator", exact=False).first).to_be_visible()
    fill_key(page, "_tec_pixel_code", PIXEL)
    fill_key(page, "_tec_test_event_code", "TEST10492")

    nav(page, "Build")
    page.get_by_role("button", name="Use the golden-path example").click()
    wait_for_run(page)
    preview = page.locator("[data-testid='stJson']").first
    expect(preview).to_contain_text(EVENT_ID)
    expect(preview).to_contain_text("9f7ec22d72092cd3c0b58726ed9c2d91b92e51a3f29837508fb2948bb22dd2fd")  # phone
    expect(preview).not_to_contain_text("alice@example.com")
    expect(page.get_by_text("No findings", exact=False)).to_be_visible()

    nav(page, "Send")
    expect(page.get_by_text("test event code TEST10492", exact=False)).to_be_visible()
    page.locator(".st-key-send_go button").click()
    wait_for_run(page)
    expect(page.get_by_text("1/1 event(s) accepted", exact=False)).to_be_visible()
    expect(page.locator(".st-key-send_curl")).to_contain_text("$TIKTOK_ACCESS_TOKEN")

    nav(page, "Compare")
    page.locator(".st-key-compare_pixel_upload input[type=file]").set_input_files(
        str(_har_with_purchase(tmp_path / "checkout.har")))
    wait_for_run(page)
    id_filter = page.locator(".st-key-compare_filter_id input")
    id_filter.fill("10492")
    id_filter.press("Enter")
    wait_for_run(page)
    expect(page.get_by_text("merged", exact=False).first).to_be_visible()
    expect(page.get_by_text("Field diff")).to_be_visible()
    assert page.locator("[data-testid='stException']").count() == 0
