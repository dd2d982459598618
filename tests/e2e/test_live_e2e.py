"""The Live session page in headless Chromium: a server event sent through a real relay shows up on its own."""

from __future__ import annotations

import json
import re
import time

import httpx
from playwright.sync_api import expect

from tests.e2e.conftest import fill_key, goto_page, wait_for_run
from tests.samples import GOOD, PIXEL_CODE


def _body(event_id: str) -> dict[str, object]:
    return {"event_source": "web", "event_source_id": PIXEL_CODE, "test_event_code": "TESTLIVE",
            "data": [{"event": "Purchase", "event_id": event_id, "event_time": int(time.time()),
                      "user": {"email": GOOD["email"], "ip": GOOD["ip"], "user_agent": GOOD["user_agent"]},
                      "properties": {"value": 25, "currency": "USD"}}]}


def _new_session(page, app_url: str, name: str) -> None:  # type: ignore[no-untyped-def]
    """Open the Live page and create the session `name` (it becomes the page's session)."""
    goto_page(page, app_url, "Live_session")
    fill_key(page, "live_new_name", name)
    page.locator(".st-key-live_create button").click()
    wait_for_run(page)


def test_fragment_updates_when_a_relayed_event_lands_and_the_filter_survives(page, app_url: str) -> None:
    """Create a session, start its relay, type a filter; a backend POST through the relay appears without a
    click (the panel reruns on its timer) and the typed filter is still there."""
    _new_session(page, app_url, "e2e-live")
    page.locator(".st-key-live_relay_start button").click()
    wait_for_run(page)
    expect(page.get_by_text("Relay listening at", exact=False)).to_be_visible()
    relay_url = re.search(r"http://127\.0\.0\.1:\d+", page.get_by_text("Relay listening at").inner_text())
    assert relay_url is not None

    checklist_item = page.locator(".st-key-live_check_server_keys")
    expect(checklist_item).to_contain_text("No server event yet")
    box = page.locator(".st-key-live_filter input")
    box.fill("e2e_ord")
    box.press("Enter")
    wait_for_run(page)

    answer = httpx.post(f"{relay_url.group(0)}/open_api/v1.3/event/track/", json=_body("e2e_ord_1"),
                        headers={"Access-Token": "e2e-backend-token"}, timeout=30)
    assert answer.status_code == 200 and answer.json()["code"] == 0  # the emulator's answer, handed back

    # no click, no reload: only the timed fragment can bring the event in
    expect(checklist_item).to_contain_text("✅", timeout=30_000)
    waiting = page.get_by_test_id("stMetric").filter(has_text="Waiting")
    expect(waiting).to_contain_text("1")
    expect(page.locator(".st-key-live_pick input")).to_have_value(re.compile("e2e_ord_1"))
    expect(box).to_have_value("e2e_ord")  # widget state survived the fragment's reruns
    expect(page.locator(".st-key-live_pick_session input")).to_have_value("e2e-live")
    assert page.locator("[data-testid='stException']").count() == 0

    page.locator(".st-key-live_auto label").click()  # pause live updates: the panel holds still for the download
    wait_for_run(page)
    expect(page.locator(".st-key-live_refresh button")).to_be_visible()
    with page.expect_download() as download:  # the export: the relayed exchange in it, its token not
        page.locator(".st-key-live_download button").click()
    data = download.value.path().read_bytes()
    doc = json.loads(data)
    assert [p["event_id"] for p in doc["pairs"]] == ["e2e_ord_1"] and doc["exchanges"][0]["source"] == "relay"
    assert b"e2e-backend-token" not in data

    page.locator(".st-key-live_relay_stop button").click()
    wait_for_run(page)
    expect(page.locator(".st-key-live_relay_start button")).to_be_visible()


def test_demo_shop_session_merges_the_purchase_and_turns_the_checklist_green(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The offline golden path under the Live view: the demo shop captured in Chromium, its backend posting
    through a real relay to the emulator, both legs in one session: the Purchase merges and its item is green."""
    from core.capture import CaptureOptions, run_capture
    from core.demo_shop import DEMO_JOURNEY, start_demo_shop
    from core.emulator import start_emulator
    from core.live import view_from_store
    from core.relay import start_relay
    from core.store import Store
    from tests.e2e.conftest import _require_chromium

    _require_chromium()
    with Store(tmp_path / "live.db") as store, start_emulator() as emu, \
            start_relay(forward_url=emu.url, session_id="demo-live", store=store) as relay, \
            start_demo_shop(events_api_url=relay.url, test_event_code="TESTLIVE") as shop:
        result = run_capture(CaptureOptions(url=shop.url, journey=DEMO_JOURNEY, offline=True, idle_seconds=2))
        store.add_pixel_hits("demo-live", result.events)  # what the page's capture panel does with a capture
        assert relay.wait_recorded(1, timeout=30)
        view = view_from_store(store, "demo-live", capture=result.to_json())
    buys = [p for p in view.pairs if p.event == "Purchase"]
    assert [p.status for p in buys] == ["merged"] and buys[0].pixel_row and buys[0].server_event
    items = {c.id: c for c in view.checklist}
    assert items["purchase"].status == "pass" and buys[0].event_id in items["purchase"].evidence
    assert items["ttclid"].status == "pass" and items["browse_ids"].status == "pass"
    assert items["ttp"].status in ("pass", "fail")  # decided by the capture's cookies, never unknown
    assert all(c.evidence for c in view.checklist)


def test_demo_shop_button_shows_the_merged_purchase_in_the_browser(page, app_url: str) -> None:  # type: ignore[no-untyped-def]
    """The newcomer's path on the Live page itself: one click runs the demo shop offline (its own Chromium, its
    backend through a relay); the page shows the Purchase merged and its checklist item green."""
    _new_session(page, app_url, "e2e-demo")
    page.get_by_role("button", name="Try it on the demo shop").click()
    expect(page.get_by_text("The demo shop fired", exact=False)).to_be_visible(timeout=120_000)
    expect(page.locator(".st-key-live_check_purchase")).to_contain_text("✅", timeout=30_000)
    expect(page.get_by_test_id("stMetric").filter(has_text="Merged")).to_contain_text("1")
    assert page.locator("[data-testid='stException']").count() == 0
