"""The Build page in headless Chromium: from home to a hashed Purchase preview, its table and a finding."""

from __future__ import annotations

import os

from playwright.sync_api import expect

from tests.e2e.conftest import fill_key, goto_page, wait_for_run

PIXEL = "C4A1B2C3D4E5F6G7H8I9"


def test_build_golden_purchase_in_browser(page, app_url: str) -> None:  # type: ignore[no-untyped-def]
    """Home -> Build, Pixel code in the sidebar, example Purchase: hashed preview, table, rejected phone."""
    goto_page(page, app_url)
    page.locator("[data-testid='stPageLink'] a", has_text="Build").first.click()
    wait_for_run(page)
    assert "/Build" in page.url
    assert page.get_by_text("Set the Pixel code", exact=False).first.is_visible()

    fill_key(page, "_tec_pixel_code", PIXEL)
    page.locator(".st-key-build_example").get_by_role("button", name="Use the golden-path example").click()
    wait_for_run(page)
    preview = page.locator("[data-testid='stJson']").first
    preview.wait_for(state="visible")
    text = preview.inner_text()
    assert "ord_10492_purchase" in text and PIXEL in text
    assert "ff8d9819fc0e12bf0d24892e45987e249a28dce836a85cad60e28eaaa8c6d976" in text  # sha256(alice@example.com)
    assert "alice@example.com" not in text
    assert page.locator("[data-testid='stDataFrame']").first.is_visible()  # before/after table
    assert page.locator(".st-key-build_download").is_visible()
    assert page.get_by_role("heading", name="Findings").is_visible()

    fill_key(page, "build_phone", "213 373 4253")  # national number, no default region: rejected
    error = page.locator("[data-testid='stAlertContentError']").filter(has_text="no country code").first
    error.wait_for(state="visible")
    assert "region" in error.inner_text()
    assert page.locator("[data-testid='stException']").count() == 0
    if os.environ.get("TEC_E2E_SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["TEC_E2E_SCREENSHOTS"], "build.png"))


def test_hostile_order_id_renders_as_text(page, app_url: str) -> None:  # type: ignore[no-untyped-def]
    """An order id written as markdown and HTML shows as its text: no image fetched, no link, no tag."""
    hostile = "![x](http://127.0.0.1:9/x.png) [y](http://127.0.0.1:9) <img src=x> **b**"
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url) if ":9/" in request.url else None)
    goto_page(page, app_url, "Build")
    fill_key(page, "_tec_pixel_code", PIXEL)
    fill_key(page, "build_order_id", hostile)
    note = page.get_by_text("derived from the order id", exact=False).first
    note.wait_for(state="visible")
    shown = note.inner_text().replace("\u2060", "")  # the invisible joiners that stop bare-URL autolinks
    assert "![x](http://127.0.0.1:9/x.png) [y](http://127.0.0.1:9) <img src=x> **b**" in shown
    main = page.locator("[data-testid='stMain']")
    assert main.locator("img[src*='127.0.0.1:9'], img[src='x']").count() == 0
    assert main.locator("a[href*='127.0.0.1']").count() == 0  # not even GFM's bare-URL autolink
    assert fetched == []
    assert page.locator("[data-testid='stException']").count() == 0


def test_consent_preview_follows_the_pixel_state(page, app_url: str) -> None:  # type: ignore[no-untyped-def]
    """Build's consent preview: the golden Purchase pairs with the Pixel granted; revoked, it is server only."""
    goto_page(page, app_url, "Build")
    fill_key(page, "_tec_pixel_code", PIXEL)
    page.locator(".st-key-build_example").get_by_role("button", name="Use the golden-path example").click()
    wait_for_run(page)
    page.get_by_text("Consent preview", exact=False).first.click()
    verdict = page.locator(".st-key-consent_verdict")
    verdict.wait_for(state="visible")
    expect(verdict).to_contain_text("Pair: both legs carry")
    expect(verdict).to_contain_text("ord_10492_purchase")
    page.locator(".st-key-consent_pixel").get_by_text("revoked", exact=False).click()
    wait_for_run(page)
    expect(verdict).to_contain_text("Server only: the Pixel sends nothing")
    expect(page.locator("[data-testid='stExpander'] [data-testid='stDataFrame']").first).to_be_visible()
    assert page.locator("[data-testid='stException']").count() == 0
