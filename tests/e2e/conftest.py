"""Real-browser fixtures: a live `streamlit run app.py` on 127.0.0.1 and Debian's Chromium via Playwright.

Without Chromium these tests skip with the install command, unless CI=true: then they fail loudly, so a
CI run where every browser test skipped never counts as a pass.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

ROOT = Path(__file__).resolve().parents[2]
# a 2-core CI machine running Streamlit, Chromium and the emulator at once needs more than 5 s per check
expect.set_options(timeout=30_000)
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test in tests/e2e as e2e."""
    for item in items:
        if "tests/e2e/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.e2e)


def _require_chromium() -> str:
    if CHROMIUM:
        return CHROMIUM
    msg = "Chromium not found: install it with `sudo apt-get install -y chromium` (or set CHROMIUM_PATH)."
    if os.environ.get("CI"):
        pytest.fail(msg)
    pytest.skip(msg)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(url: str, proc: subprocess.Popen[str], timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited early with code {proc.returncode}")
        try:
            if httpx.get(f"{url}/_stcore/health", timeout=2.0).text == "ok":
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"streamlit not healthy after {timeout}s")


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A live console on a free 127.0.0.1 port for each test module, with its own database and emulator.

    Module scope keeps tests order-independent: one module's sends never show up in another's pages.
    """
    _require_chromium()
    port = _free_port()
    db = tmp_path_factory.mktemp("e2e") / "console.db"
    env = {k: v for k, v in os.environ.items()
           if k not in ("TIKTOK_ACCESS_TOKEN", "TEC_TARGET", "TEC_BASE_URL")}
    env.update(TEC_DB=str(db), STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
    log = tempfile.TemporaryFile("w+")  # noqa: SIM115 - closed in finally after the server stops
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port),
         "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, text=True, env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.seek(0)
        print(log.read())
        log.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's Chromium driven by Playwright (no downloaded browser builds)."""
    exe = _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, app_url: str) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """A fresh browser page (new Streamlit session) with a tall viewport."""
    context = browser.new_context(viewport={"width": 1400, "height": 2200})
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    yield pg
    context.close()


def wait_for_run(page) -> None:  # type: ignore[no-untyped-def]
    """Wait until the app is connected and the script finished its run."""
    page.locator("[data-testid='stApp'][data-test-connection-state='CONNECTED']").wait_for(state="attached")
    page.wait_for_timeout(300)
    page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for(state="attached")
    # elements of the previous run linger, marked stale, until the new run replaces them
    page.wait_for_function(
        "document.querySelectorAll('[data-stale=\"true\"], [data-testid=\"stSkeleton\"]').length === 0",
        timeout=30_000)


def goto_page(page, app_url: str, path: str = "") -> None:  # type: ignore[no-untyped-def]
    """Open `app_url/path` (e.g. "Build") and wait for the run to finish."""
    page.goto(f"{app_url}/{path}")
    wait_for_run(page)


def fill_key(page, key: str, value: str) -> None:  # type: ignore[no-untyped-def]
    """Type into the keyed text input or area (sidebar or page), commit it with Enter, wait for the rerun."""
    box = page.locator(f".st-key-{key} input, .st-key-{key} textarea").first
    box.fill(value)
    box.press("Control+Enter" if box.evaluate("e => e.tagName") == "TEXTAREA" else "Enter")
    wait_for_run(page)


def nav(page, label: str) -> None:  # type: ignore[no-untyped-def]
    """Move through the sidebar menu, which keeps the session (a URL would start a new one)."""
    page.locator(".st-key-tec_menu a", has_text=label).first.click()
    wait_for_run(page)


def send_golden_purchase(page, app_url: str, pixel: str, test_event_code: str) -> None:  # type: ignore[no-untyped-def]
    """Home -> sidebar settings -> Build's golden-path example -> Send to the app's emulator, accepted."""
    from playwright.sync_api import expect

    goto_page(page, app_url)
    fill_key(page, "_tec_pixel_code", pixel)
    fill_key(page, "_tec_test_event_code", test_event_code)
    nav(page, "Build")
    page.get_by_role("button", name="Use the golden-path example").click()
    wait_for_run(page)
    nav(page, "Send")
    page.locator(".st-key-send_go button").click()
    wait_for_run(page)
    expect(page.get_by_text("1/1 event(s) accepted", exact=False)).to_be_visible()
