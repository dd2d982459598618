"""The audit report in headless Chromium: the PDF print of a session (no token in it), the HTML opened with
every network request refused (charts drawn, hostile names inert, the appendix readable), and the Dedup gap
page's download in the running console."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from core.cli import EXIT_FINDINGS
from core.emulator import EmulatorServer
from core.report import build_report, report_figures, session_material
from tests.e2e.conftest import ROOT, _require_chromium, goto_page, wait_for_run
from tests.test_report import TOKEN, appendix, emu, send_session  # noqa: F401  (fixture)


def test_pdf_of_a_session_is_a_pdf_without_the_token(emu: EmulatorServer, tmp_path: Path,  # noqa: F811
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """--pdf prints the same report through Chromium: %PDF bytes; neither file holds the token set for the send."""
    _require_chromium()
    sid = send_session(emu, tmp_path, capsys)
    html_file, pdf_file = tmp_path / "audit.html", tmp_path / "audit.pdf"
    # its own process, as users run it (Playwright's sync API allows one instance per thread: the session's
    # `browser` fixture may hold this one)
    done = subprocess.run([sys.executable, "-m", "core.cli", "report", "--session", sid, "--out", str(html_file),
                           "--pdf", str(pdf_file), "--format", "json"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "TIKTOK_ACCESS_TOKEN": TOKEN})
    doc = json.loads(done.stdout)
    assert done.returncode == EXIT_FINDINGS and doc["pdf"] == str(pdf_file), done.stderr
    assert TOKEN not in done.stdout + done.stderr
    data = pdf_file.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 10_000
    assert len(re.findall(rb"/Type\s*/Page\b", data)) >= 2  # the whole report, charts included, not one page
    assert TOKEN.encode() not in data and TOKEN not in html_file.read_text(encoding="utf-8")
    assert os.environ["TIKTOK_ACCESS_TOKEN"] == TOKEN  # the token was really set while sending and reporting


def test_report_opens_offline_draws_its_charts_and_runs_no_hostile_text(
        emu: EmulatorServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], browser: Any) -> None:  # noqa: F811
    """With every request but the file itself refused: no request is even tried, each chart is drawn by the
    inline plotly.js, the hostile event name never runs, and the appendix parses to the figures."""
    sid = send_session(emu, tmp_path, capsys)
    material = session_material(Path(os.environ["TEC_DB"]), sid)
    page_file = tmp_path / "audit.html"
    page_file.write_text(build_report(material), encoding="utf-8")
    context = browser.new_context()
    tried: list[str] = []

    def refuse(route: Any) -> None:
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            tried.append(route.request.url)
            route.abort()

    context.route("**/*", refuse)
    pg = context.new_page()
    dialogs: list[str] = []
    pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    pg.goto(page_file.as_uri())
    pg.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 4", timeout=30_000)
    assert pg.locator(".js-plotly-plot").count() == page_file.read_text().count("Plotly.newPlot(")
    assert pg.evaluate("window.__pwned === undefined") and dialogs == []
    assert tried == []
    figures = pg.evaluate("JSON.parse(document.getElementById('report-data').textContent)")
    assert figures == report_figures(material)
    assert pg.get_by_text("Statistics").first.is_visible()
    context.close()


def test_dedup_gap_download_in_the_browser(page: Any, app_url: str) -> None:
    """The running console: demo month, 'Prepare the audit report', a real download of the report file."""
    goto_page(page, app_url, "Dedup_gap")
    page.locator(".st-key-gap_demo button").click()
    wait_for_run(page)
    truth = page.locator("[data-testid='stMetric']", has_text="Truth orders")
    shown_truth = truth.locator("[data-testid='stMetricValue']").inner_text()
    page.locator(".st-key-gap_report_prepare button").first.click()
    wait_for_run(page)
    with page.expect_download() as info:
        page.locator(".st-key-gap_report button").first.click()
    text = Path(info.value.path()).read_text(encoding="utf-8")
    assert info.value.suggested_filename.endswith(".html")
    figures = appendix(text)
    assert f"{figures['dedup']['truth']:,}" == shown_truth
    assert figures["pairs"] is not None and figures["quality"] is None
