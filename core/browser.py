"""The one way the console starts a browser: capture, PDF reports and the browser tests all come here.

A browser is found the way users have one: `CHROMIUM_PATH` when set, else Playwright's own Chromium when
`playwright install chromium` put it there, else the system's Chromium or Chrome on PATH. None of them is
a `BrowserMissing` error whose hint is the install command, never a Playwright traceback.
"""

from __future__ import annotations

import functools
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from core.config import chromium_path, display_name
from core.errors import BrowserMissing

SYSTEM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
# flags for a machine with a closed network and no GPU: without the background-networking ones Chromium
# opens connections to Google at start, which a closed network refuses many at a time
CHROMIUM_ARGS = (
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
)
INSTALL_HINT = ("Install one: `sudo apt-get install -y chromium` (Debian/Ubuntu), or "
                "`python -m playwright install chromium`, or set CHROMIUM_PATH to a Chromium or Chrome binary.")


@functools.lru_cache(maxsize=1)
def _playwright_own() -> str | None:
    """Playwright's downloaded Chromium when present (never downloads anything); looked up once per process,
    as starting Playwright to ask takes a second or more."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    try:
        with sync_playwright() as pw:
            path = pw.chromium.executable_path
    except Exception:  # a broken Playwright install is the same as none
        return None
    return path if path and Path(path).is_file() else None


def find_chromium(*, prefer_playwright: bool = True) -> str:
    """The path of the browser to start; raises BrowserMissing with the install command when none is found."""
    chosen = chromium_path()
    if chosen:
        if Path(chosen).is_file() or shutil.which(chosen):
            return shutil.which(chosen) or chosen
        raise BrowserMissing(f"CHROMIUM_PATH is {chosen!r}, which is not a browser on this machine.",
                             hint=INSTALL_HINT)
    if prefer_playwright and (own := _playwright_own()):
        return own
    for name in SYSTEM_NAMES:
        if found := shutil.which(name):
            return found
    raise BrowserMissing("No Chromium or Chrome was found on this machine.", hint=INSTALL_HINT)


def browser_available() -> bool:
    """Whether `find_chromium` would find a browser (for skipping browser tests and greying buttons)."""
    try:
        find_chromium(prefer_playwright=False)
    except BrowserMissing:
        return bool(_playwright_own())
    return True


@contextmanager
def launch_chromium(*, headed: bool = False, executable: str | None = None) -> Iterator[Any]:
    """A started Playwright Chromium (`playwright.sync_api.Browser`), closed on exit, with its own profile.

    Headed needs a display; the caller decides (`display_available`). Each context the caller opens has
    a fresh profile, so cookies never outlive the session.
    """
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - playwright is a runtime dependency
        raise BrowserMissing("Playwright is not installed.", hint="pip install playwright") from exc
    exe = executable or find_chromium()
    with sync_playwright() as pw:
        try:
            browser = pw.chromium.launch(executable_path=exe, headless=not headed, args=list(CHROMIUM_ARGS))
        except PlaywrightError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise BrowserMissing(f"The browser at {exe} did not start: {first}", hint=INSTALL_HINT) from exc
        try:
            yield browser
        finally:
            browser.close()


def display_available() -> bool:
    """Whether a headed browser can open a window here (an X or Wayland display)."""
    return bool(display_name())
