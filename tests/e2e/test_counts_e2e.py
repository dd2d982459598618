"""What TikTok counted, in headless Chromium: build and send a test Purchase to the in-process emulator, then the
TikTok counts page reads the emulator's Marketing API and says it beside the console's own count."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect

from tests.e2e.conftest import goto_page, wait_for_run

PIXEL = "CCOUNTSE2E000000001"


def _fill(page, key: str, value: str) -> None:  # type: ignore[no-untyped-def]
    box = page.locator(f".st-key-{key} input").first
    box.fill(value)
    box.press("Enter")
    wait_for_run(page)


def _nav(page, label: str) -> None:  # type: ignore[no-untyped-def]
    """Move through the sidebar menu, which keeps the session (a URL would start a new one)."""
    page.locator(".st-key-tec_menu a", has_text=label).first.click()
    wait_for_run(page)


def test_counts_page_reads_what_the_emulator_counted(page, app_url: str) -> None:  # type: ignore[no-untyped-def]
    """A test Purchase sent from the console shows as TikTok's preview count for today (UTC), beside ours."""
    goto_page(page, app_url)
    _fill(page, "_tec_pixel_code", PIXEL)
    _fill(page, "_tec_test_event_code", "TEST4711")
    _nav(page, "Build")
    page.get_by_role("button", name="Use the golden-path example").click()
    wait_for_run(page)
    _nav(page, "Send")
    page.locator(".st-key-send_go button").click()
    wait_for_run(page)
    expect(page.get_by_text("1/1 event(s) accepted", exact=False)).to_be_visible()

    _nav(page, "TikTok counts")
    expect(page.get_by_text("TikTok buckets these counts by UTC day", exact=False)).to_be_visible()
    _fill(page, "counts_advertiser", "7000000000000000007")
    page.locator(".st-key-counts_read button").click()
    wait_for_run(page)
    today = datetime.now(UTC).date()
    days = "|".join(d.isoformat() for d in (today, today - timedelta(days=1)))  # a run across UTC midnight
    sentences = page.locator(".st-key-counts_sentences")
    expect(sentences).to_contain_text(re.compile(f"TikTok counted 0 browser and 0 server Purchase events on ({days})"))
    expect(sentences).to_contain_text("1 test/preview events kept apart")
    expect(sentences).to_contain_text("the console had 0 accepted (+1 test)")
    expect(page.get_by_text("advanced matching: email on, phone on", exact=False)).to_be_visible()
    assert page.locator("[data-testid='stException']").count() == 0
