"""The offline golden path and the Outbox in headless Chromium: simulate the browser Pixel of a send and see the
pair merge on Compare; an event held back for lint errors waits in the Outbox, counted alike on Home, and drops."""

from __future__ import annotations

import json

from playwright.sync_api import expect

from tests.e2e.conftest import fill_key, goto_page, nav, send_golden_purchase, wait_for_run

PIXEL = "COUTBOXE2E0000000001"
EVENT_ID = "ord_10492_purchase"






def _metric(page, label: str) -> str:  # type: ignore[no-untyped-def]
    box = page.locator("[data-testid='stMetric']").filter(has_text=label).first
    return str(box.locator("[data-testid='stMetricValue']").inner_text()).strip()


def test_golden_path_offline_merges_with_the_simulated_pixel(page, app_url: str) -> None:  # type: ignore[no-untyped-def]
    """Build, send, one click for the browser half, Compare: the key is merged and the Pixel side says simulated."""
    send_golden_purchase(page, app_url, PIXEL, "TEST10492")
    page.get_by_role("button", name="Simulate the browser Pixel").click()
    wait_for_run(page)
    expect(page.get_by_text("Simulated 1 browser Pixel event(s)", exact=False)).to_be_visible()

    nav(page, "Compare")
    expect(page.get_by_text("simulated browser Pixel event(s)", exact=False).first).to_be_visible()
    expect(page.locator("[data-testid='stMetric']").filter(has_text="Merged").first).to_contain_text("1")
    expect(page.get_by_role("combobox", name="Inspect one key")).to_have_value(f"Purchase · {EVENT_ID} · merged")
    expect(page.locator("[data-testid='stMarkdownContainer']", has_text="🟢 merged").first).to_be_visible()
    assert page.locator("[data-testid='stException']").count() == 0


def test_held_event_waits_in_the_outbox_and_drops(page, app_url: str) -> None:  # type: ignore[no-untyped-def]
    """A pasted event with a lint error is held; the Outbox lists it with the reason; Home agrees; Drop confirms."""
    goto_page(page, app_url)
    fill_key(page, "_tec_test_event_code", "TESTHELD")
    nav(page, "Send")
    page.locator(".st-key-send_source").get_by_text("Paste JSON").click()
    wait_for_run(page)
    body = {"event_source": "web", "event_source_id": PIXEL,
            "data": [{"event": "Purchase", "event_time": 1735689600000, "event_id": "ord_held_purchase"}]}
    fill_key(page, "send_text", json.dumps(body))
    page.locator(".st-key-send_go button").click()
    wait_for_run(page)
    expect(page.get_by_text("1 of 1 event(s)", exact=False)).to_be_visible()  # recorded, held: nothing was posted

    nav(page, "Outbox")
    rows = page.locator(".st-key-outbox_rows")
    expect(rows).to_be_visible()
    expect(page.get_by_text("1 of", exact=False).first).to_be_visible()
    assert _metric(page, "Held back") == "1"
    nav(page, "Home")
    assert _metric(page, "Held back") == "1"
    nav(page, "Outbox")
    page.locator(".st-key-outbox_drop button").first.click()
    wait_for_run(page)
    page.locator(".st-key-outbox_drop_yes button").first.click()
    wait_for_run(page)
    expect(page.get_by_text("Dropped 1 event(s)", exact=False)).to_be_visible()
    assert _metric(page, "Held back") == "0"
    assert page.locator("[data-testid='stException']").count() == 0
