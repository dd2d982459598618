"""Live session page (AppTest): sessions, pairs and checklist from a real store, the Send page's session, re-open."""

from __future__ import annotations

import json
import os
import time
from typing import Any

from core.exchange import Exchange
from core.live import build_view, export_session
from core.store import Store
from tests.samples import GOOD, PIXEL_CODE

PAGE = "pages/8_Live_session.py"
LANDING = "https://shop.example/p/1?ttclid=E.C.P.abc"


def _hit(event: str, event_id: str, t: float) -> dict[str, Any]:
    return {"pixel_code": PIXEL_CODE, "event": event, "event_id": event_id, "timestamp": t, "url": LANDING,
            "value": 25.0, "currency": "USD", "properties": json.dumps({"value": 25, "currency": "USD"}),
            "captured_at": t * 1000, "user_agent": GOOD["user_agent"]}


def _body(event_id: str, t: float) -> dict[str, Any]:
    return {"event_source": "web", "event_source_id": PIXEL_CODE,
            "data": [{"event": "Purchase", "event_id": event_id, "event_time": int(t),
                      "user": {"email": GOOD["email"], "ip": GOOD["ip"], "user_agent": GOOD["user_agent"]},
                      "properties": {"value": 25, "currency": "USD"}}]}


def _session(sid: str, hits: list[dict[str, Any]], bodies: list[dict[str, Any]]) -> None:
    """Pixel hits and relayed exchanges written through the real store into the test's SQLite file."""
    with Store(os.environ["TEC_DB"]) as store:
        store.create_session("Live session", session_id=sid)
        store.add_pixel_hits(sid, hits)
        for body in bodies:
            ex = Exchange(method="POST", url="http://127.0.0.1:1/open_api/v1.3/event/track/", request_headers={},
                          request_body=body, status=200, code=0, message="OK", request_id="r1",
                          response_body={"code": 0, "message": "OK"}, started_at=time.time())
            store.add_exchange(sid, ex, source="relay")


def _table(at, column: str):  # type: ignore[no-untyped-def]
    """The first dataframe on the page with `column` (AppTest does not expose dataframe keys)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def _check_lines(at) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {m.value.split("**")[1]: m.value for m in at.markdown if m.value.startswith(("✅", "❌", "⚪"))}


def _open(app_test, sid: str):  # type: ignore[no-untyped-def]
    at = app_test(PAGE)
    at.session_state["live_session_id"] = sid
    return at.run()


def test_new_session_is_created_and_becomes_the_send_pages(app_test) -> None:  # type: ignore[no-untyped-def]
    """No session yet: a guard; naming one creates it in the store, and the Send page sends into it."""
    at = app_test(PAGE).run()
    assert not at.exception and any("Name a new session" in i.value for i in at.info)
    at.text_input(key="live_new_name").set_value("checkout-1")
    at.button(key="live_create").click().run()
    assert not at.exception and not at.error
    with Store(os.environ["TEC_DB"]) as store:
        assert store.session("checkout-1") is not None
    assert at.selectbox(key="live_pick_session").value == "checkout-1"
    assert at.session_state["send_session_id"] == "checkout-1"
    assert at.button(key="live_relay_start") is not None


def test_bad_session_name_is_named(app_test) -> None:  # type: ignore[no-untyped-def]
    """A name the store refuses shows an error with the rule, and no session is created."""
    at = app_test(PAGE).run()
    at.text_input(key="live_new_name").set_value("no spaces allowed")
    at.button(key="live_create").click().run()
    assert not at.exception and at.error
    with Store(os.environ["TEC_DB"]) as store:
        assert store.session("no spaces allowed") is None


def test_merged_purchase_pair_and_green_checklist_item(app_test) -> None:  # type: ignore[no-untyped-def]
    """A Pixel Purchase and a relayed server Purchase with one key show as merged, with a green Purchase item."""
    now = time.time()
    _session("shop-1", [_hit("ViewContent", "vc_1", now - 20), _hit("Purchase", "ord_1", now - 10)],
             [_body("ord_1", now - 9)])
    at = _open(app_test, "shop-1")
    assert not at.exception and not at.error
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Merged"] == "1" and metrics["Waiting"] == "1"
    pairs = _table(at, "seconds_left")
    assert list(pairs.loc[pairs["event_id"] == "ord_1", "status"]) == ["🟢 merged"]
    lines = _check_lines(at)
    assert lines["Purchase on both legs with the same event name and event_id"].startswith("✅")
    assert "ord_1 arrived on both legs, merged" in lines["Purchase on both legs with the same event name and "
                                                           "event_id"]
    assert lines["browse events carry event_ids"].startswith("✅")
    assert at.get("plotly_chart")


def test_purchase_without_event_id_is_red(app_test) -> None:  # type: ignore[no-untyped-def]
    """A Pixel Purchase without event_id turns the Purchase item red, saying why."""
    now = time.time()
    _session("broken-1", [_hit("Purchase", "", now - 10)], [_body("ord_2", now - 9)])
    at = _open(app_test, "broken-1")
    assert not at.exception
    line = _check_lines(at)["Purchase on both legs with the same event name and event_id"]
    assert line.startswith("❌") and "carries no event_id" in line


def test_pair_details_and_filter(app_test) -> None:  # type: ignore[no-untyped-def]
    """Picking a pair shows its diff, findings and EMQ; the filter keeps only matching pairs."""
    now = time.time()
    _session("shop-2", [_hit("Purchase", "ord_3", now - 10), _hit("AddToCart", "atc_3", now - 30)],
             [_body("ord_3", now - 9)])
    at = _open(app_test, "shop-2")
    at.selectbox(key="live_pick").set_value(f"{PIXEL_CODE}|Purchase|ord_3|1").run()
    assert at.selectbox(key="live_pick").format_func(at.selectbox(key="live_pick").value) == \
        "Purchase · ord_3 · merged"
    assert _table(at, "note")["field"].tolist()[:3] == ["pixel_code", "event", "event_id"]
    assert any(m.label.startswith("EMQ proxy") and m.value == "4.00 / 10" for m in at.metric)
    at.text_input(key="live_filter").set_value("atc").run()
    assert _table(at, "seconds_left")["event_id"].tolist() == ["atc_3"]


def test_reopen_export_and_bad_file(app_test) -> None:  # type: ignore[no-untyped-def]
    """An exported session re-opens below with its checklist; a file that is not one is named."""
    now = time.time()
    view = build_view("saved-1", [_hit("Purchase", "ord_4", now)], [_body("ord_4", now + 1)], now=now + 2)
    at = app_test(PAGE).run()
    at.file_uploader(key="live_reopen").set_value(("saved.json", export_session(view), "application/json")).run()
    assert not at.exception and not at.error
    assert _table(at, "seconds_left")["status"].tolist() == ["🟢 merged"]
    at.file_uploader(key="live_reopen").set_value(("x.json", b'{"format": "har"}', "application/json")).run()
    assert at.error and "not a live session export" in at.error[0].value


def test_the_consoles_own_send_in_the_session_pairs_with_a_pixel_hit(app_test, emu_server) -> None:  # type: ignore[no-untyped-def]
    """A send from the console (the Send page's path: outbox to the emulator) into the session pairs with the
    session's Pixel hit, beside relayed events."""
    from pathlib import Path

    from core import outbox
    from core.config import Settings
    from core.transport import Sender

    now = time.time()
    _session("mixed-1", [_hit("Purchase", "ord_5", now - 10), _hit("Purchase", "ord_6", now - 5)],
             [_body("ord_6", now - 4)])
    settings = Settings(target="emulator", base_url=emu_server.url, db_path=Path(os.environ["TEC_DB"]))
    with Store(settings.db_path) as store, Sender(settings) as sender:
        report = outbox.send(store, sender, [_body("ord_5", now - 9)], session_id="mixed-1")
    assert report.all_accepted
    at = _open(app_test, "mixed-1")
    assert not at.exception
    pairs = _table(at, "seconds_left")
    assert dict(zip(pairs["event_id"], pairs["status"], strict=True)) == {"ord_5": "🟢 merged", "ord_6": "🟢 merged"}


def test_checklist_urls_are_code_never_links() -> None:
    """URLs in the evidence become code spans; the text around them stays plain (no markdown from users)."""
    from ui.live import text_with_urls

    out = text_with_urls("lost at https://s.example/cart?x=[1]. See *this* (http://a.example/b)")
    assert out == "lost at `https://s.example/cart?x=[1]`. See \\*this\\* (`http://a.example/b`)"


def test_relay_panel_starts_records_and_stops(app_test) -> None:  # type: ignore[no-untyped-def]
    """Start the session's relay (to the emulator): its address and per-backend code show; a backend POST
    through it lands in the session; Stop frees it."""
    import re

    import httpx

    with Store(os.environ["TEC_DB"]) as store:
        store.create_session("Live session", session_id="relay-1")
    at = _open(app_test, "relay-1")
    at.button(key="live_relay_start").click().run()
    assert not at.exception and not at.error
    line = next(m.value for m in at.markdown if m.value.startswith("Relay listening at"))
    url = re.search(r"http://127\.0\.0\.1:\d+", line)
    assert url is not None and "Forwarding to" in line
    assert all(url.group(0) + "/open_api/v1.3/event/track/" in c.value for c in at.code)
    answer = httpx.post(url.group(0) + "/open_api/v1.3/event/track/", json=_body("ord_9", time.time()),
                        headers={"Access-Token": "backend-token"}, timeout=30)
    assert answer.json()["code"] == 0
    from ui.live import relay_registry

    assert relay_registry()["relay-1"].wait_recorded(1, timeout=30)  # recorded after the backend's answer
    at.run()
    assert _table(at, "seconds_left")["event_id"].tolist() == ["ord_9"]
    at.button(key="live_relay_stop").click().run()
    assert at.button(key="live_relay_start") is not None
    try:
        httpx.post(url.group(0) + "/open_api/v1.3/event/track/", json={}, timeout=2)
        stopped = False
    except httpx.TransportError:
        stopped = True
    assert stopped, "the relay still answers after Stop"
