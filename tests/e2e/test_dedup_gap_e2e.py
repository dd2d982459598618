"""The Dedup gap page in headless Chromium: the demo month draws every chart and offers each CSV."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import goto_page, wait_for_run


def test_dedup_gap_demo_month_in_browser(page, app_url: str) -> None:  # type: ignore[no-untyped-def]
    """Dedup gap: guard first, then the demo month: metrics, four plotly charts, CSV downloads, segments."""
    goto_page(page, app_url, "Dedup_gap")
    assert page.get_by_text("Load the demo store month, or upload", exact=False).first.is_visible()
    field = page.locator(".st-key-gap_demo_orders input").first
    field.fill("2000")
    field.press("Enter")
    wait_for_run(page)
    page.locator(".st-key-gap_demo button").click()
    wait_for_run(page)
    charts = page.locator("[data-testid='stPlotlyChart']")
    charts.nth(3).wait_for(state="visible")
    assert charts.count() == 4
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.get_by_text("Truth orders").first.is_visible()
    assert page.get_by_text("Pixel gap").first.is_visible()
    for key in ("gap_dl_waterfall", "gap_dl_verdicts", "gap_dl_segments", "gap_dl_daily"):
        assert page.locator(f".st-key-{key} button").is_visible()
    with page.expect_download() as download:
        page.locator(".st-key-gap_dl_segments button").click()
    path = download.value.path()
    import csv

    rows = list(csv.reader(Path(path).read_text(encoding="utf-8").splitlines()))
    assert rows[0][:5] == ["dimension", "value", "truth", "pixel", "counted"] and len(rows) > 1
    assert not any(cell[:1] in ("=", "+", "@") for row in rows[1:] for cell in row if cell)  # no live formula
    # the segment picker redraws the segment chart in place
    page.locator(".st-key-gap_segment input").first.click()
    page.get_by_role("option", name="page load").click()
    wait_for_run(page)
    assert page.locator(".js-plotly-plot .gtitle", has_text="page load").first.is_visible()
