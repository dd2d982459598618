"""core.capture without a browser: journeys checked before anything starts, PII found and redacted, the
capture findings, one parser shared with the HAR importer, and the CLI's usage errors (exit 2)."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from core.capture import CaptureOptions, parse_journey, run_capture
from core.capture.findings import event_findings, page_findings, redact_body, redact_url, url_pii
from core.capture.recorder import Page, has_ttclid
from core.cli import main
from core.errors import InvalidFile, InvalidInput
from core.lint.findings import CAPTURE_CATALOGUE
from core.sources.har import har_entry_events, observed_request_events, request_entry, request_kind

JOURNEY = Path(__file__).parent / "fixtures" / "shops" / "harbor" / "journey.json"


# --- journeys ----------------------------------------------------------------------------------
def test_a_good_journey_reads_every_step() -> None:
    steps = parse_journey(JOURNEY)
    assert [s.action for s in steps][:4] == ["goto", "wait_for", "click", "wait_for"]
    assert steps[8].action == "fill" and steps[8].text == "jane.doe@example.com"
    assert parse_journey([{"wait_ms": 250}])[0].ms == 250
    assert [s.as_dict() for s in steps] == json.loads(JOURNEY.read_text())


@pytest.mark.parametrize(("journey", "words"), [
    ([{"goto": "/"}, {"click": 5}], ["step [1]", "click", "CSS selector", "5"]),
    ([{"goto": "/"}, {"fill": "#email"}, {"wait_ms": 1}], ["step [1]", "fill", "text"]),
    ([{"goto": "/"}, {"wait_ms": -3}], ["step [1]", "wait_ms", "-3", "0 to 600000"]),
    ([{"goto": "/"}, {"wait_ms": "soon"}], ["step [1]", "wait_ms", "'soon'"]),
    ([{"goto": "/"}, {"click": "#a", "goto": "/b"}], ["step [1]", "exactly one action", "goto, click"]),
    ([{"goto": "/"}, {"press": "Enter"}], ["step [1]", "exactly one action", "none"]),
    ([{"click": "#a", "timeout": 5}], ["step [0]", "unknown key", "timeout"]),
    ([{"goto": "ftp://shop"}], ["step [0]", "goto", "ftp://shop", "http(s) URL"]),
    (["click #buy"], ["step [0]", "JSON str", "not an object"]),
    ({"goto": "/"}, ["JSON list of steps", "dict"]),
    ([], ["no steps"]),
])
def test_a_bad_step_is_named_by_index_with_what_is_wrong(journey: object, words: list[str]) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_journey(journey)
    text = str(info.value)
    for word in words:
        assert word in text, (word, text)
    assert "A journey is a JSON list" in text  # the hint shows the shape


def test_journey_files_that_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(InvalidFile, match="does not exist"):
        parse_journey(tmp_path / "nope.json")
    broken = tmp_path / "broken.json"
    broken.write_text('[{"goto": "/"},', encoding="utf-8")
    with pytest.raises(InvalidFile, match="not JSON"):
        parse_journey(broken)


# --- PII in URLs and bodies --------------------------------------------------------------------
def test_raw_email_and_phone_in_a_url_are_found_and_redacted() -> None:
    url = "http://127.0.0.1:8000/thanks.html?order=77&email=jane.doe%40example.com&tel=%2B14155550100"
    assert url_pii(url) == ["query email (email)", "query tel (phone)"]
    clean = redact_url(url)
    assert "jane" not in clean and "4155550100" not in clean and "order=77" in clean
    assert url_pii(clean) == []
    assert redact_url("https://shop.example/u/jane%40example.com/orders") == "https://shop.example/u/%5Bredacted%5D/orders"
    plain = "https://shop.example/p?sku=TEE-01&ttclid=E.C.P.x"
    assert redact_url(plain) == plain and url_pii(plain) == []


def test_raw_pii_in_a_pixel_body_is_redacted_with_its_paths() -> None:
    body = {"event": "Lead", "context": {"page": {"url": "https://s.example/?email=a%40b.com"},
                                         "user": {"email": "a@b.com", "phone_number": "+14155550100",
                                                  "external_id": "42", "sha256_email": "a" * 64}}}
    clean, paths = redact_body(body)
    assert paths == ["context.page.url", "context.user.email", "context.user.phone_number"]
    assert "a@b.com" not in json.dumps(clean) and "4155550100" not in json.dumps(clean)
    assert clean["context"]["user"]["sha256_email"] == "a" * 64 and clean["context"]["user"]["external_id"] == "42"
    assert redact_body({"event": "Pageview"}) == ({"event": "Pageview"}, [])


# --- findings ------------------------------------------------------------------------------------
def test_purchase_without_event_id_and_legacy_twins() -> None:
    no_id = event_findings(3, {"event": "Purchase", "event_id": "", "pixel_code": "C1", "url": "https://s/x"})
    assert [(f.code, f.severity, f.path) for f in no_id] == [("capture.purchase.no_event_id", "error",
                                                              "events[3].event_id")]
    twin = event_findings(0, {"event": "PlaceAnOrder", "event_id": "", "pixel_code": "C1"})
    assert {f.code for f in twin} == {"capture.purchase.no_event_id", "capture.event.legacy"}
    assert "Purchase" in next(f for f in twin if f.code == "capture.event.legacy").message
    assert event_findings(0, {"event": "Purchase", "event_id": "ord_1_purchase", "pixel_code": "C1"}) == []
    assert event_findings(0, {"event": "ViewContent", "event_id": "", "pixel_code": "C1"}) == []


def test_ttclid_lost_on_a_redirect_names_the_hop() -> None:
    landing = "http://127.0.0.1/go?ttclid=E.C.P.1"
    page = Page(url="http://127.0.0.1/sale", started=0.0, status=200, redirects=[
        {"url": landing, "status": 302, "to": "http://127.0.0.1/sale", "ttclid_in_url": True,
         "raw_to": "http://127.0.0.1/sale"}])
    doc = page.as_dict()
    assert doc["ttclid_lost_at"] == {"from": landing, "to": "http://127.0.0.1/sale", "status": 302}
    assert "raw_to" not in doc["redirects"][0] and doc["ttclid_in_url"] is False
    found = page_findings([doc], {})
    assert [(f.code, f.path) for f in found] == [("capture.ttclid.lost", "pages[0].redirects")]
    assert "302" in found[0].message and landing in found[0].message
    kept = Page(url="http://127.0.0.1/sale?ttclid=E.C.P.1", started=0.0, redirects=[
        {"url": landing, "status": 302, "to": "x", "ttclid_in_url": True, "raw_to": "http://127.0.0.1/sale?ttclid=E"}])
    assert kept.as_dict()["ttclid_lost_at"] is None and has_ttclid(kept.url)


def test_every_capture_code_is_catalogued_and_documented() -> None:
    codes = list(CAPTURE_CATALOGUE)
    assert len(codes) >= 9
    doc = (Path(__file__).parents[1] / "docs" / "findings.md").read_text(encoding="utf-8")
    assert all(f"`{c}`" in doc for c in codes)


# --- one parser: an observed request reads exactly as its HAR entry ---------------------------------
def test_observed_request_is_read_by_the_har_importer_rules() -> None:
    act = {"event": "ViewContent", "event_id": "vc1", "timestamp": "2026-06-29T17:47:07.730Z",
           "context": {"pixel": {"codes": "C1|C2"}, "page": {"url": "https://s.example/p?ttclid=T1"}}}
    rows, skipped = observed_request_events("https://analytics.tiktok.com/api/v2/pixel/act", "POST",
                                            json.dumps(act).encode(), status=200, index=4)
    assert [(r["pixel_code"], r["event"], r["endpoint"], r["ttclid"], r["entry"]) for r in rows] == [
        ("C1", "ViewContent", "pixel/act", "T1", 4), ("C2", "ViewContent", "pixel/act", "T1", 4)]
    entry = request_entry("https://analytics.tiktok.com/api/v2/pixel/act", "POST", json.dumps(act), status=200)
    assert har_entry_events(entry, 4) == (rows, skipped)
    message = base64.b64encode(json.dumps({**act, "context": {"pixel": {"code": "C9"}}}).encode()).decode()
    get_rows, _ = observed_request_events(f"https://shop.example/tt/api/v2/pixel?analytics_message={message}",
                                          "GET", None, status=0, index=0, started="2026-01-01T00:00:00.000Z")
    assert [(r["pixel_code"], r["http_status"]) for r in get_rows] == [("C9", 0)]
    assert request_kind("https://analytics.tiktok.com/i18n/pixel/events.js") == "loader"
    assert request_kind("https://analytics.tiktok.com/api/v2/monitor") == "telemetry"
    assert request_kind("http://127.0.0.1:5000/tt/api/v2/pixel") == "event"
    assert request_kind("http://127.0.0.1:5000/checkout") == "ignore"
    _, skips = observed_request_events("https://analytics.tiktok.com/api/v2/pixel", "POST",
                                       b'{"event": "Pageview", "context": {}}', status=200, index=1)
    assert [s.kind for s in skips] == ["no_pixel_code"]


# --- before a browser starts: options and the CLI's usage errors ----------------------------------
@pytest.fixture
def browser_spy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """CHROMIUM_PATH points at a script that leaves a mark when anything starts it."""
    mark = tmp_path / "started"
    script = tmp_path / "chromium"
    script.write_text(f"#!/bin/sh\ntouch {mark}\nexit 1\n", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("CHROMIUM_PATH", str(script))
    return mark


@pytest.mark.parametrize("options", [
    CaptureOptions(url="shop.example/no-scheme"),
    CaptureOptions(url="http://127.0.0.1:1/", journey=[{"click": ""}]),
    CaptureOptions(url="http://127.0.0.1:1/", idle_seconds=0),
    CaptureOptions(url="http://127.0.0.1:1/", har_out=Path("/nonexistent-dir/x.har")),
])
def test_bad_options_fail_before_a_browser_starts(options: CaptureOptions, browser_spy: Path) -> None:
    with pytest.raises(InvalidInput):
        run_capture(options)
    assert not browser_spy.exists()


def test_cli_bad_journey_exits_2_naming_the_step_without_a_browser(
        tmp_path: Path, browser_spy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    journey = tmp_path / "journey.json"
    journey.write_text('[{"goto": "/"}, {"fill": "#email", "text": 42}]', encoding="utf-8")
    code = main(["capture", "http://127.0.0.1:1/", "--journey", str(journey), "--offline", "--format", "json"])
    err = capsys.readouterr().err
    assert code == 2 and "step [1]" in err and "(fill)" in err and "42" in err and "Traceback" not in err
    assert not browser_spy.exists()
    assert main(["capture", "http://127.0.0.1:1/", "--journey", str(tmp_path / "none.json")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_cli_missing_browser_exits_2_with_the_install_command(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CHROMIUM_PATH", "/nowhere/chromium")
    code = main(["capture", "http://127.0.0.1:1/", "--offline", "--format", "json"])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert "/nowhere/chromium" in captured.err and "apt-get install -y chromium" in captured.err
    assert "playwright install chromium" in captured.err and "Traceback" not in captured.err


def test_cli_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["capture", "http://127.0.0.1:1/", "--idle-seconds", "soon"])
    assert info.value.code == 2
    assert main(["capture", "not a url"]) == 2
    assert "not an http(s) URL" in capsys.readouterr().err
    assert os.environ.get("CHROMIUM_PATH", "") != "/nowhere/chromium"  # monkeypatch restored


def test_every_code_capture_emits_is_catalogued() -> None:
    import re

    src = "".join(p.read_text(encoding="utf-8") for p in (Path(__file__).parents[1] / "core" / "capture").glob("*.py"))
    emitted = set(re.findall(r'"(capture\.[a-z_]+(?:\.[a-z_]+)*)"', src))
    assert emitted and emitted <= set(CAPTURE_CATALOGUE)
    assert set(CAPTURE_CATALOGUE) - emitted == set(), "catalogue entries nothing emits"


def test_text_report_lists_pages_hits_cookies_and_findings() -> None:
    from core.cli import format_capture

    doc = {"url": "http://127.0.0.1:1/", "events": [{"event": "Purchase", "pixel_code": "C1", "event_id": "",
                                                      "user_keys": "ttp"}],
           "pages": [{"url": "http://127.0.0.1:1/?ttclid=T", "ttclid_in_url": True, "load_ms": 12,
                      "redirects": [{"status": 302, "url": "http://127.0.0.1:1/go"}],
                      "pixel_hits": [{"ms_after_navigation": 40, "pixel_code": "C1", "event": "Purchase"}]}],
           "cookies": {"_ttp": "abc", "ttclid": None}, "failed": [{"url": "https://analytics.tiktok.com/x",
                                                                "error": "net::ERR_BLOCKED_BY_CLIENT"}],
           "skipped": [{"kind": "loader", "url": "https://analytics.tiktok.com/i18n/pixel/events.js"}],
           "findings": [event_findings(0, {"event": "Purchase", "event_id": "", "pixel_code": "C1"})[0].as_dict()]}
    text = format_capture(doc)
    for piece in ("1 Pixel event(s) on 1 page(s)", "ttclid yes", "load 12 ms", "redirect 302 from",
                  "+40 ms  C1  Purchase", "event_id=(none)", "_ttp=abc", "ttclid=(not set)",
                  "ERR_BLOCKED_BY_CLIENT", "loader",
                  "error: capture.purchase.no_event_id at events[0].event_id"):
        assert piece in text, piece
