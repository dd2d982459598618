"""What TikTok counted, in headless Chromium: build and send a test Purchase to the in-process emulator, then the
TikTok counts page reads the emulator's Marketing API and says it beside the console's own count."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect

from tests.e2e.conftest import fill_key, nav, send_golden_purchase, wait_for_run

PIXEL = "CCOUNTSE2E000000001"






def test_counts_page_reads_what_the_emulator_counted(page, app_url: str) -> None:  # type: ignore[no-untyped-def]
    """A test Purchase sent from the console shows as TikTok's preview count for today (UTC), beside ours."""
    send_golden_purchase(page, app_url, PIXEL, "TEST4711")

    nav(page, "TikTok counts")
    expect(page.get_by_text("TikTok buckets these counts by UTC day", exact=False)).to_be_visible()
    fill_key(page, "counts_advertiser", "7000000000000000007")
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
