"""core.browser: the browser is found the way users have one, and a missing one is a clear error."""

from __future__ import annotations

import pytest

from core import browser
from core.errors import BrowserMissing, ConfigError


def test_chromium_path_that_is_no_browser_names_it_and_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHROMIUM_PATH", "/nowhere/chromium-does-not-exist")
    with pytest.raises(BrowserMissing) as info:
        browser.find_chromium()
    assert "/nowhere/chromium-does-not-exist" in str(info.value)
    assert "apt-get install -y chromium" in str(info.value)
    assert isinstance(info.value, ConfigError)


def test_no_browser_anywhere_is_browser_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHROMIUM_PATH", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(browser, "_playwright_own", lambda: None)
    with pytest.raises(BrowserMissing) as info:
        browser.find_chromium()
    assert "playwright install chromium" in (info.value.hint or "")
    assert browser.browser_available() is False


def test_display_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert browser.display_available() is False
    monkeypatch.setenv("DISPLAY", ":0")
    assert browser.display_available() is True


@pytest.mark.skipif(not browser.browser_available(), reason="no Chromium on this machine")
def test_launch_opens_a_page() -> None:
    """In a thread of its own: the browser tests' Playwright session may hold this thread's event loop."""
    from concurrent.futures import ThreadPoolExecutor

    def visit() -> str:
        with browser.launch_chromium() as b:
            page = b.new_page()
            page.set_content("<title>ok</title><p id=x>hello</p>")
            return page.inner_text("#x")

    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(visit).result(timeout=120) == "hello"
