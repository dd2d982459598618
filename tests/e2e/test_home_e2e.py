"""The running console in headless Chromium: home, sidebar, and navigation to every page."""

from __future__ import annotations

from tests.e2e.conftest import goto_page, wait_for_run


def test_home_loads_and_links_pages(page, app_url: str) -> None:
    """Home shows the title, the emulator target and a link to each page; a link opens its page."""
    goto_page(page, app_url)
    assert page.get_by_role("heading", name="TikTok Events Console").is_visible()
    assert page.get_by_text("local emulator", exact=False).first.is_visible()
    menu = page.locator(".st-key-tec_menu")
    assert menu.get_by_text("Home").is_visible()
    assert page.locator("[data-testid='stSidebarNav']").count() == 0  # our menu replaces the "app" one
    assert page.locator("[data-testid='stException']").count() == 0
    page.locator("[data-testid='stPageLink'] a", has_text="Lint").first.click()
    wait_for_run(page)
    assert "/Lint" in page.url
    assert page.locator("[data-testid='stException']").count() == 0


def test_every_page_deep_link_renders(page, app_url: str) -> None:
    """Each page opened by URL (a fresh session) renders with the shared sidebar and no traceback."""
    for path in ("Build", "Lint", "Send", "Compare", "Match_quality", "Dedup_gap"):
        goto_page(page, app_url, path)
        assert page.locator("[data-testid='stSidebar']").get_by_text("Connection").is_visible(), path
        assert page.locator("[data-testid='stException']").count() == 0, path
