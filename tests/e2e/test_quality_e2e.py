"""Match quality page in headless Chromium: demo review with charts and sliders, paste + real CSV download."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from playwright.sync_api import Page, expect

from core.identity import sha256_hex
from tests.e2e.conftest import goto_page, wait_for_run

UA = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 "
      "Safari/537.36")
BODY = {"event_source": "web", "event_source_id": "C4A1B2C3D4E5F6G7H8I9", "data": [
    {"event": "Purchase", "event_time": 1700000000, "event_id": "ord_1",
     "user": {"email": sha256_hex("a@example.com"), "ip": "8.8.8.8", "user_agent": UA}},
    {"event": "Purchase", "event_time": 1700000060, "event_id": "ord_2", "user": {"email": "b@example.com"}},
]}


def test_demo_month_charts_and_what_if_slider(page: Page, app_url: str) -> None:
    """The demo month renders the headline, heat map, histogram and what-if; a slider moves the projection."""
    goto_page(page, app_url, "Match_quality")
    expect(page.get_by_text("No events sent in this session yet", exact=False)).to_be_visible()
    page.locator(".st-key-quality_source").get_by_text("Demo store month").click()
    wait_for_run(page)
    expect(page.get_by_test_id("stMetric").filter(has_text="EMQ proxy (mean)")).to_be_visible()
    expect(page.get_by_text("TikTok's EMQ is not published", exact=False)).to_be_visible()
    heatmap = page.locator(".st-key-quality_heatmap")
    heatmap.scroll_into_view_if_needed()
    expect(heatmap.locator(".js-plotly-plot")).to_be_visible(timeout=30_000)  # plotly mounts lazily
    expect(heatmap).to_contain_text("email2.5 pts")
    expect(page.locator(".st-key-quality_histogram .js-plotly-plot")).to_be_visible(timeout=30_000)
    expect(page.locator(".st-key-quality_download button")).to_be_visible()
    chart = page.locator(".st-key-quality_what_if_chart")
    chart.scroll_into_view_if_needed()
    expect(chart.locator(".js-plotly-plot")).to_be_visible(timeout=30_000)
    before = chart.locator("g.barlayer").text_content()
    box = page.locator(".st-key-quality_target_phone")
    box.scroll_into_view_if_needed()  # widgets below the fold render lazily (a skeleton until seen)
    slider = box.locator("input[type='range']")  # 1.67 renders a react-aria range input
    slider.focus()
    slider.press("End")
    wait_for_run(page)
    expect(box.get_by_test_id("stSliderThumbValue")).to_have_text("100")
    expect(chart.locator("g.barlayer")).not_to_have_text(before or "")  # the projected bars moved
    assert page.get_by_test_id("stException").count() == 0


def test_paste_then_download_the_csv(page: Page, app_url: str) -> None:
    """Pasted bodies are scored and the download button delivers a CSV with one row per event."""
    goto_page(page, app_url, "Match_quality")
    page.locator(".st-key-quality_source").get_by_text("Paste JSON").click()
    wait_for_run(page)
    area = page.locator(".st-key-quality_text textarea")
    area.fill(json.dumps(BODY))
    area.press("Control+Enter")
    wait_for_run(page)
    metric = page.get_by_test_id("stMetric").filter(has_text="EMQ proxy (mean)")
    expect(metric).to_contain_text("2.00 / 10")  # (email 2.5 + ip 0.75 + UA 0.75 + 0) / 2
    with page.expect_download() as info:
        page.locator(".st-key-quality_download button").click()
    download = info.value
    assert download.suggested_filename == "emq_proxy.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert [r["score"] for r in rows] == ["4", "0"]
    assert [r["email_reason"] for r in rows] == ["", "unhashed"]
    area.fill('{"event_source": "web", "data": [')
    area.press("Control+Enter")
    wait_for_run(page)
    expect(page.get_by_test_id("stAlertContentError")).to_contain_text("not valid JSON")
    assert page.get_by_test_id("stException").count() == 0
