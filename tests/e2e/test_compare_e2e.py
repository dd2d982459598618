"""Compare page in headless Chromium: demo data end to end, and a real HAR upload through the browser."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.conftest import goto_page, wait_for_run

HAR = Path(__file__).resolve().parents[1] / "fixtures" / "devtools_shop.har"


def test_demo_pairs_and_field_diff_render(page: Page, app_url: str) -> None:
    """The demo button fills both sides; metrics, the pairs table and the field diff appear, no traceback."""
    goto_page(page, app_url, "Compare")
    demo = page.get_by_role("button", name="Use the demo store month on both sides")
    expect(demo).to_be_visible()
    demo.click()
    wait_for_run(page)
    # generating the demo month can take seconds on a loaded 2-core machine
    expect(page.get_by_test_id("stMetric").filter(has_text="Merged")).to_be_visible(timeout=60_000)
    expect(page.get_by_test_id("stHeading").filter(has_text="Field diff")).to_be_visible()
    expect(page.get_by_test_id("stDataFrame").first).to_be_visible()
    expect(page.locator(".st-key-compare_pick input")).to_have_value("Purchase · ord_1002_purchase · merged")
    expect(page.get_by_test_id("stJson").first).to_be_visible()
    assert page.get_by_test_id("stException").count() == 0


def test_har_upload_through_the_browser(page: Page, app_url: str) -> None:
    """Uploading the DevTools HAR shows the import summary; with no sent events the page says what to do."""
    goto_page(page, app_url, "Compare")
    page.locator(".st-key-compare_pixel_upload input[type='file']").set_input_files(str(HAR))
    wait_for_run(page)
    expect(page.get_by_text("Read 7 Pixel event(s) from 15 HAR item(s)", exact=False)).to_be_visible(timeout=60_000)
    expect(page.get_by_text("No server events yet", exact=False)).to_be_visible()
    assert page.get_by_test_id("stException").count() == 0
