"""Capture in a real headless Chromium, offline: a shop nobody on the team wrote, and the demo shop.

Each shop is captured once per module (a 2-core machine) and the capture is asserted from several sides.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from core.capture import CaptureOptions, run_capture
from core.cli import main
from core.demo_shop import DEMO_EMAIL, DEMO_JOURNEY, DEMO_PIXEL_CODE, DEMO_TTCLID, start_demo_shop
from core.emulator import start_emulator
from core.sources.har import parse_har
from core.sources.pixel_body import frame_records
from tests.e2e.conftest import _require_chromium

HARBOR = Path(__file__).resolve().parents[1] / "fixtures" / "shops" / "harbor"
CODE_1, CODE_2 = "CHARBOR0000000000001", "CHARBOR0000000000002"
EMAIL = "jane.doe@example.com"


def _harbor_module() -> Any:
    spec = importlib.util.spec_from_file_location("harbor_shop", HARBOR / "server.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def harbor(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Harbor Goods captured through the CLI: --offline, its journey, --har-out, --format json."""
    _require_chromium()
    har_out = tmp_path_factory.mktemp("capture") / "harbor.har"
    out = io.StringIO()
    with _harbor_module().HarborShop() as shop, contextlib.redirect_stdout(out):
        code = main(["capture", shop.url, "--journey", str(HARBOR / "journey.json"), "--offline",
                     "--har-out", str(har_out), "--idle-seconds", "2", "--session", "s-harbor", "--format", "json"])
        proxy_hits = shop.proxy_hits
    return {"code": code, "doc": json.loads(out.getvalue()), "har": har_out, "url": shop.url,
            "proxy_hits": proxy_hits, "stdout": out.getvalue()}


def test_harbor_exactly_its_pixel_events(harbor: dict[str, Any]) -> None:
    events = [(e["pixel_code"], e["event"], e["event_id"], e["endpoint"]) for e in harbor["doc"]["events"]]
    assert events == [
        (CODE_1, "Pageview", "hb-pv-1", "pixel"),                      # fetch()
        (CODE_1, "ViewContent", "hb-vc-lantern", "pixel/act"),         # one /act hit, two pixels
        (CODE_2, "ViewContent", "hb-vc-lantern", "pixel/act"),
        (CODE_1, "AddToCart", "hb-atc-lantern", "pixel"),              # sendBeacon through /tt/ proxy
        (CODE_1, "InitiateCheckout", "hb-ic-77", "pixel"),             # GET analytics_message
        (CODE_1, "CompletePayment", "hb-order-77", "pixel"),           # sendBeacon on the thank-you page
    ]
    assert all(e["http_status"] == 200 for e in harbor["doc"]["events"])
    assert harbor["doc"]["events"][3]["url"] == harbor["url"] + "/sale.html"
    assert harbor["doc"]["events"][0]["ttclid"] == "E.C.P.harbor-click-1"
    assert all(isinstance(e["captured_at"], int) and e["page_url"].startswith(harbor["url"])
               for e in harbor["doc"]["events"])
    assert len(harbor["proxy_hits"]) == 1 and b"AddToCart" in harbor["proxy_hits"][0]
    assert sorted(s["kind"] for s in harbor["doc"]["skipped"]) == ["loader", "no_pixel_code", "telemetry"]
    assert harbor["doc"]["session_id"] == "s-harbor" and harbor["doc"]["failed"] == []


def test_harbor_cookies_pages_and_the_ttclid_loss(harbor: dict[str, Any]) -> None:
    doc, url = harbor["doc"], harbor["url"]
    assert doc["cookies"] == {"_ttp": "2F7h37YkS1j57AYSKTI7IHhJPYH", "ttclid": "E.C.P.harbor-click-1"}
    pages = doc["pages"]
    assert [p["url"].split("?")[0] for p in pages] == [url + "/", url + "/sale.html", url + "/checkout.html",
                                                      url + "/thanks.html"]
    assert [p["ttclid_in_url"] for p in pages] == [True, False, False, False]
    assert pages[1]["ttclid_lost_at"] == {"from": url + "/go/sale?ttclid=E.C.P.harbor-click-1",
                                          "to": url + "/sale.html", "status": 302}
    assert all(p["load_ms"] is not None and p["load_ms"] >= 0 for p in pages)
    assert [h["event"] for h in pages[1]["pixel_hits"]] == ["ViewContent", "ViewContent", "AddToCart"]
    assert all(h["ms_after_navigation"] >= 0 for p in pages for h in p["pixel_hits"])
    lost = [f for f in doc["findings"] if f["code"] == "capture.ttclid.lost"]
    assert [f["path"] for f in lost] == ["pages[1].redirects"] and "/go/sale" in lost[0]["message"]


def test_harbor_email_in_the_thank_you_url_is_a_finding_and_never_kept(harbor: dict[str, Any]) -> None:
    doc = harbor["doc"]
    pii = [f for f in doc["findings"] if f["code"] == "capture.pii.url"]
    assert [(f["severity"], f["path"]) for f in pii] == [("error", "pages[3].url")]
    assert "query email" in pii[0]["message"]
    assert {f["code"] for f in doc["findings"]} == {"capture.ttclid.lost", "capture.pii.url", "capture.event.legacy",
                                                    "capture.pixel_code.missing"}
    assert harbor["code"] == 1  # error findings
    for text in (harbor["stdout"], harbor["har"].read_text(encoding="utf-8")):
        assert EMAIL not in text and "jane.doe%40example.com" not in text and "jane.doe" not in text
    assert doc["pages"][3]["url"].endswith("email=[redacted]")


def test_harbor_nothing_left_127_0_0_1(harbor: dict[str, Any]) -> None:
    network = harbor["doc"]["network"]
    assert list(network["passed"]) == ["127.0.0.1"]
    assert network["passed"]["127.0.0.1"] >= 5  # 4 pages and the redirect hop, the proxy hit
    assert network["answered_locally"] == {"analytics.tiktok.com": 7}  # loader, telemetry, 5 event hits


def test_harbor_hit_without_a_pixel_code_is_a_finding(harbor: dict[str, Any]) -> None:
    doc = harbor["doc"]
    missing = [f for f in doc["findings"] if f["code"] == "capture.pixel_code.missing"]
    assert len(missing) == 1 and missing[0]["severity"] == "error"
    index = int(missing[0]["path"].removeprefix("skipped[").rstrip("]"))
    assert doc["skipped"][index]["kind"] == "no_pixel_code"
    assert doc["skipped"][index]["url"] == "https://analytics.tiktok.com/api/v2/pixel"


def test_harbor_har_out_reimports_to_the_same_events(harbor: dict[str, Any]) -> None:
    imported = frame_records(parse_har(harbor["har"]).events)
    captured = [{k: v for k, v in e.items() if k not in ("captured_at", "page_url")} for e in harbor["doc"]["events"]]
    assert imported == captured


@pytest.fixture(scope="module")
def demo() -> Any:
    """The demo shop captured with its journey, its backend posting to the emulator, from a worker thread
    (as the Live page runs it)."""
    _require_chromium()
    live: list[dict[str, Any]] = []
    results: list[Any] = []
    with start_emulator() as emu, start_demo_shop(events_api_url=emu.url, test_event_code="TESTDEMO") as shop:
        options = CaptureOptions(url=shop.url, journey=DEMO_JOURNEY, offline=True, idle_seconds=2)
        worker = threading.Thread(target=lambda: results.append(run_capture(options, on_event=live.append)))
        worker.start()
        worker.join(timeout=120)
        assert results, "the capture did not finish in its thread"
        return {"result": results[0], "live": live, "server": emu.received_events("TESTDEMO"),
                "sends": shop.server_sends, "url": shop.url}


def test_demo_shop_purchase_on_both_legs_with_one_event_id(demo: dict[str, Any]) -> None:
    result = demo["result"]
    assert result.exit_code == 0 and result.findings == []
    names = [e["event"] for e in result.events]
    assert names == ["Pageview", "Pageview", "ViewContent", "AddToCart", "Pageview", "InitiateCheckout",
                     "Purchase", "Pageview"]
    purchase = result.events[names.index("Purchase")]
    assert purchase["event_id"] == "ord_1001_purchase" and purchase["value"] == 25.0
    assert [(e["event"], e["event_id"]) for e in demo["server"]] == [("Purchase", "ord_1001_purchase")]
    assert demo["sends"][0]["status"] == 200
    assert all(e["event_id"] for e in result.events) and {e["pixel_code"] for e in result.events} == {DEMO_PIXEL_CODE}
    assert purchase["email"] and purchase["email"] != DEMO_EMAIL and purchase["hashed_keys"] == "email"


def test_demo_shop_keeps_ttclid_to_checkout_and_sets_cookies(demo: dict[str, Any]) -> None:
    result = demo["result"]
    assert all(p["ttclid_in_url"] for p in result.pages) and len(result.pages) == 4
    assert result.cookies["ttclid"] == DEMO_TTCLID and result.cookies["_ttp"]
    assert all(e["ttclid"] == DEMO_TTCLID and e["ttp"] == result.cookies["_ttp"] for e in result.events)
    assert list(result.network["passed"]) == ["127.0.0.1"]


def test_on_event_saw_every_row_as_it_was_captured(demo: dict[str, Any]) -> None:
    assert demo["live"] == demo["result"].events
    stamps = [e["captured_at"] for e in demo["live"]]
    assert stamps == sorted(stamps)


def test_headless_without_a_journey_ends_after_idle_seconds() -> None:
    """Just the URL; meanwhile another Playwright session (an event loop in this thread, as the browser tests
    have) is open, which must not stop a capture."""
    exe = _require_chromium()
    import asyncio

    from playwright.sync_api import sync_playwright

    with contextlib.ExitStack() as stack:
        try:
            asyncio.get_running_loop()  # the session's browser fixture already runs one here
        except RuntimeError:
            pw = stack.enter_context(sync_playwright())
            other = pw.chromium.launch(executable_path=exe, headless=True, args=["--no-sandbox"])
            stack.callback(other.close)
        assert asyncio.get_running_loop().is_running()
        shop = stack.enter_context(start_demo_shop())
        started = time.monotonic()
        result = run_capture(CaptureOptions(url=shop.url + "/?ttclid=E.C.P.idle", offline=True, idle_seconds=1.0))
        took = time.monotonic() - started
    assert [e["event"] for e in result.events] == ["Pageview"] and result.exit_code == 0
    assert result.pages[0]["ttclid_in_url"] is True and result.cookies["ttclid"] == "E.C.P.idle"
    assert 1.0 <= took < 30


def test_stop_ends_a_capture_early() -> None:
    _require_chromium()
    stop = threading.Event()
    with start_demo_shop() as shop:
        started = time.monotonic()
        result = run_capture(CaptureOptions(url=shop.url, offline=True, idle_seconds=120),
                             on_event=lambda row: stop.set(), stop=stop)
    assert time.monotonic() - started < 60 and len(result.events) >= 1


def test_a_blocked_pixel_and_a_failing_step_are_named_and_nothing_captured_is_exit_1(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A page whose CSP blocks the Pixel, and a journey (without a goto: URL opens first) whose step fails."""
    _require_chromium()
    journey = tmp_path / "journey.json"
    journey.write_text('[{"wait_for": "#hero"}, {"click": "#no-such-button", "timeout_ms": 300}, '
                       '{"wait_ms": 1}]', encoding="utf-8")
    with _harbor_module().HarborShop() as shop:
        code = main(["capture", shop.url + "/blocked.html", "--journey", str(journey), "--offline",
                     "--idle-seconds", "0.5", "--format", "json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 1 and doc["events"] == [] and len(doc["pages"]) == 1
    blocked = {"url": "https://analytics.tiktok.com/api/v2/pixel", "kind": "event",
               "error": "blocked by the page's Content-Security-Policy (connect-src 'self')"}
    assert blocked in doc["failed"] and len(doc["failed"]) == 2
    down = next(f for f in doc["failed"] if f != blocked)
    assert down["url"] == "http://127.0.0.1:9/tt/i18n/pixel/events.js" and down["kind"] == "loader"
    assert down["error"].startswith("net::ERR_")  # the browser's own reason
    by_code = {f["code"]: f for f in doc["findings"]}
    assert set(by_code) == {"capture.no_events", "capture.journey.step_failed", "capture.request.failed"}
    message = by_code["capture.no_events"]["message"]
    assert "ad blocker" in message and "consent banner" in message and "pixel code" in message
    step = by_code["capture.journey.step_failed"]
    assert step["path"] == "journey[1]" and "#no-such-button" in step["message"]
