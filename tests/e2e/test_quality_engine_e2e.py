"""Match quality page in headless Chromium: an upload reviewed on the engine; its CSV download has every event."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.conftest import goto_page, wait_for_run
from tests.test_page_quality_engine import _events


def test_upload_on_the_engine_downloads_every_event(page: Page, app_url: str, tmp_path: Path) -> None:
    """A 700-event CSV upload: the metrics count all 700, the table shows a page, the CSV lists all 700."""
    path = tmp_path / "month.csv"
    _events(700).to_csv(path, index=False)
    goto_page(page, app_url, "Match_quality")
    page.locator(".st-key-quality_source").get_by_text("Upload file").click()
    wait_for_run(page)
    page.locator(".st-key-quality_upload input[type='file']").set_input_files(str(path))
    wait_for_run(page)
    events = page.get_by_test_id("stMetric").filter(has_text="Events").filter(has_not_text="7 or more")
    expect(events).to_contain_text("700", timeout=60_000)
    expect(page.get_by_text("First 500 of 700 events", exact=False)).to_be_visible()
    with page.expect_download(timeout=60_000) as info:
        page.locator(".st-key-quality_download button").click()
    rows = list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text(encoding="utf-8"))))
    assert [int(r["index"]) for r in rows] == list(range(700))
    assert page.get_by_test_id("stException").count() == 0
