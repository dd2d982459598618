"""A capture recorded into a live session, and the demo shop's whole session on the Live page (AppTest).

Real parts: Chromium (skipped locally without it, failing under CI=true), the demo shop, the relay, the
emulator and the SQLite store of the test.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from core.browser import browser_available
from core.capture import CaptureOptions
from core.errors import InvalidInput
from core.live import view_from_store
from core.live_capture import capture_into_session, run_demo_session
from core.store import Store
from tests.test_report import downloaded_report

PAGE = "pages/8_Live_session.py"


def _need_browser() -> None:
    if not browser_available():
        if os.environ.get("CI"):
            pytest.fail("Chromium not found: CI installs it (sudo apt-get install -y chromium).")
        pytest.skip("Chromium not found: sudo apt-get install -y chromium")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """One demo session for the module: (database path, DemoSession, the hits seen as they arrived)."""
    _need_browser()
    db = tmp_path_factory.mktemp("live") / "live.db"
    seen: list[str] = []
    with Store(db) as store:
        session = run_demo_session(store, "demo-1", on_event=lambda row: seen.append(row["event"]))
    return db, session, seen


def test_demo_session_records_both_legs_in_one_session_and_the_purchase_merges(demo) -> None:  # type: ignore[no-untyped-def]
    db, session, seen = demo
    assert session.orders and session.server_sends and session.relayed == len(session.server_sends)
    assert seen == [e["event"] for e in session.capture.events]  # every hit seen as the browser fired it
    assert set(session.capture.network.get("passed", {})) <= {"127.0.0.1"}  # nothing left the machine
    with Store(db) as store:
        hits = store.pixel_hits("demo-1")
        assert [h["event"] for h in hits] == seen  # recorded as they arrived, each once
        assert {e.source for e in store.exchanges("demo-1")} == {"relay"}
        view = view_from_store(store, "demo-1", capture=session.capture.to_json())
    buys = [p for p in view.pairs if p.event == "Purchase"]
    assert [p.status for p in buys] == ["merged"]
    assert buys[0].event_id == session.orders[0]["event_id"]
    items = {c.id: c.status for c in view.checklist}
    assert items["purchase"] == "pass" and items["ttclid"] == "pass"


def test_a_bad_capture_records_nothing(tmp_path: Path) -> None:
    with Store(tmp_path / "x.db") as store:
        with pytest.raises(InvalidInput):
            capture_into_session(store, "s1", CaptureOptions(url="ftp://shop.example/"), stop=threading.Event())
        assert store.pixel_hits("s1") == []


def test_live_page_demo_button_shows_the_merged_purchase(app_test) -> None:  # type: ignore[no-untyped-def]
    _need_browser()
    at = app_test(PAGE, timeout=180)
    at.session_state["live_session_id"] = "demo-page"
    with Store(os.environ["TEC_DB"]) as store:
        store.create_session("Live session", session_id="demo-page")
    at.run()
    at.button(key="live_demo").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("The demo shop fired" in s.value for s in at.success)
    assert at.session_state["live_capture"]["session_id"] == "demo-page"
    pairs = next(d.value for d in at.dataframe if "seconds_left" in d.value.columns)
    assert list(pairs.loc[pairs["event"] == "Purchase", "status"]) == ["🟢 merged"]
    lines = {m.value.split("**")[1]: m.value for m in at.markdown if m.value.startswith(("✅", "❌", "⚪"))}
    assert lines["Purchase on both legs with the same event name and event_id"].startswith("✅")


def test_live_page_capture_with_a_bad_url_is_named(app_test) -> None:  # type: ignore[no-untyped-def]
    _need_browser()
    at = app_test(PAGE)
    at.session_state["live_session_id"] = "own-store"
    with Store(os.environ["TEC_DB"]) as store:
        store.create_session("Live session", session_id="own-store")
    at.run()
    at.text_input(key="live_capture_url").input("shop.example/no-scheme").run()
    at.button(key="live_capture_start").click().run()
    assert not at.exception
    assert any("not an http(s) URL" in e.value for e in at.error)
    assert "live_capture_job" not in at.session_state


def test_cli_capture_with_a_session_records_the_hits(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from core.cli import main
    from core.demo_shop import DEMO_JOURNEY, start_demo_shop

    _need_browser()
    journey = tmp_path / "journey.json"
    journey.write_text(json.dumps(DEMO_JOURNEY))
    with start_demo_shop() as shop:
        code = main(["capture", shop.url, "--journey", str(journey), "--offline", "--session", "cli-1",
                     "--format", "json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and doc["session_id"] == "cli-1" and doc["events"]
    with Store(os.environ["TEC_DB"]) as store:
        assert [h["event_id"] for h in store.pixel_hits("cli-1")] == [e["event_id"] for e in doc["events"]]


def test_live_page_report_pairs_the_sessions_pixel_hits_with_its_relayed_events(app_test, media) -> None:  # type: ignore[no-untyped-def]
    """The Live page's audit report holds what the page shows: the recorded Pixel Purchase merged with the
    relayed server Purchase, and the relay's request id."""
    import time

    from tests.test_page_live import _body, _hit, _session

    now = time.time()
    _session("shop-rep", [_hit("Purchase", "ord_7", now - 10)], [_body("ord_7", now - 9)])
    at = app_test(PAGE)
    at.session_state["live_session_id"] = "shop-rep"
    at.run()
    page, figures = downloaded_report(at, "live_report", media)
    assert figures["pairs"]["merged"] == 1 and figures["pairs"]["server only"] == 0
    assert "the Pixel hits recorded in this live session" in figures["report"]["checked"]
    assert "r1" in page  # the relayed exchange's request id


def test_a_capture_of_a_broken_pixel_shows_the_purchase_item_red(app_test, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A shop whose Pixel Purchase has no event_id, captured in Chromium into the session: the checklist's
    Purchase item is red on the Live page, with the reason."""
    import functools
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    _need_browser()
    root = Path(__file__).parent / "fixtures" / "shops" / "broken"
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with Store(os.environ["TEC_DB"]) as store:
            result = capture_into_session(store, "broken-1", CaptureOptions(
                url=f"http://127.0.0.1:{server.server_address[1]}/index.html", offline=True, idle_seconds=2))
    finally:
        server.shutdown()
        server.server_close()
    assert sorted(e["event"] for e in result.events) == ["Pageview", "Purchase"]
    assert "capture.purchase.no_event_id" in {f.code for f in result.findings}
    assert result.exit_code == 1
    at = app_test(PAGE)
    at.session_state["live_session_id"] = "broken-1"
    at.session_state["live_capture"] = result.to_json()
    at.run()
    assert not at.exception
    lines = {m.value.split("**")[1]: m.value for m in at.markdown if m.value.startswith(("✅", "❌", "⚪"))}
    assert lines["Purchase on both legs with the same event name and event_id"].startswith("❌")
