"""Lint page in headless Chromium: paste a broken body, see findings at their paths and the marked body."""

from __future__ import annotations

import json
import re

from playwright.sync_api import expect

from core.lint import sample_body_text
from tests.e2e.conftest import goto_page, wait_for_run


def test_paste_body_shows_findings(page, app_url: str) -> None:  # type: ignore[no-untyped-def]
    """Pasting a body with a plain email shows the error count and the marker on the email line."""
    goto_page(page, app_url, "Lint")
    expect(page.get_by_text("Paste a body above")).to_be_visible()
    body = json.loads(sample_body_text("valid purchase"))
    body["data"][0]["user"]["email"] = "Alice@Example.com"
    area = page.locator(".st-key-lint_text textarea")
    area.fill(json.dumps(body, indent=2))
    page.locator(".st-key-lint_run button").first.click()
    wait_for_run(page)
    expect(page.get_by_test_id("stMarkdown").filter(has_text=re.compile(r"🔴 1 error\b"))).to_be_visible()
    code = page.get_by_test_id("stCode")
    expect(code).to_contain_text("◀ 🔴 user.email.unhashed")
    expect(page.get_by_test_id("stDataFrame")).to_be_visible()
    expect(page.get_by_test_id("stDownloadButton")).to_be_visible()

    area.fill('{"data": [\n  {"event": "Purchase",}\n]}')
    page.locator(".st-key-lint_run button").first.click()
    wait_for_run(page)
    expect(page.get_by_test_id("stAlertContentError")).to_contain_text("line 2")
