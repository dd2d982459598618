"""The demo shop without a browser: its pages, and the backend's server half of each order."""

from __future__ import annotations

import json
import socket

import httpx

from core.demo_shop import DEMO_JOURNEY, DEMO_PIXEL_CODE, DEMO_TTCLID, start_demo_shop, track_url
from core.emulator import start_emulator
from core.identity import normalize_email, sha256_hex

ORDER = {"email": "  New.Comer@Example.com ", "value": 25, "currency": "USD", "ttclid": "E.C.P.t1", "ttp": "demoTTP",
         "url": "http://127.0.0.1/checkout.html?ttclid=E.C.P.t1",
         "contents": [{"content_id": "TEE-01", "quantity": 1, "price": 25}]}


def test_pages_carry_the_pixel_code_and_say_the_script_is_a_stand_in() -> None:
    with start_demo_shop(pixel_code="CTESTCODE0000000000X") as shop:
        home = httpx.get(shop.url + "/")
        script = httpx.get(shop.url + "/standin-pixel.js")
        assert home.status_code == 200 and 'data-pixel-code="CTESTCODE0000000000X"' in home.text
        assert "NOT TikTok's code" in script.text and "https://analytics.tiktok.com/api/v2/pixel" in script.text
        assert httpx.get(shop.url + "/../server.py").status_code == 404
        assert httpx.get(shop.url + "/nothing.html").status_code == 404
        assert httpx.post(shop.url + "/order", content=b"[1, 2]").status_code == 400


def test_an_order_sends_the_purchase_server_half_with_the_same_event_id() -> None:
    with start_emulator() as emu, start_demo_shop(events_api_url=emu.url, access_token="tok-1",
                                                  test_event_code="TEST42") as shop:
        first = httpx.post(shop.url + "/order", json=ORDER, headers={"User-Agent": "DemoUA/1.0"}).json()
        second = httpx.post(shop.url + "/order", json={**ORDER, "email": ""}).json()
        assert first == {"order_id": "1001", "event_id": "ord_1001_purchase"}
        assert second["order_id"] == "1002"
        received = emu.received_events("TEST42")
        assert [e["event_id"] for e in received] == ["ord_1001_purchase", "ord_1002_purchase"]
        assert set(received[0]["match_keys"]) >= {"email", "ip", "user_agent", "ttclid", "ttp"}
        assert "email" not in received[1]["match_keys"]
        assert [(s["status"], s["code"]) for s in shop.server_sends] == [(200, 0), (200, 0)]
        assert shop.server_sends[0]["url"] == track_url(emu.url)
        # what the shop keeps holds neither the raw email nor the token
        kept = json.dumps([shop.orders, shop.server_sends])
        assert "Example.com" not in kept and "example.com" not in kept and "tok-1" not in kept


def test_the_server_body_is_v13_with_hashed_email_ip_and_user_agent() -> None:
    from core.demo_shop.server import ShopState, server_body

    state = ShopState(events_api_url=None, pixel_code=DEMO_PIXEL_CODE, access_token=None, test_event_code=None)
    order = {"order_id": "7", "event_id": "ord_7_purchase", "contents": ORDER["contents"], "value": 25.0}
    body = server_body(state, order, ORDER, "127.0.0.1", "DemoUA/1.0")
    event = body["data"][0]
    assert body["event_source"] == "web" and body["event_source_id"] == DEMO_PIXEL_CODE
    assert event["event"] == "Purchase" and event["event_id"] == "ord_7_purchase"
    assert event["user"]["email"] == sha256_hex(normalize_email("new.comer@example.com"))
    assert (event["user"]["ip"], event["user"]["user_agent"]) == ("127.0.0.1", "DemoUA/1.0")
    assert event["properties"]["value"] == 25.0 and event["properties"]["currency"] == "USD"


def test_no_events_api_means_no_server_half_and_a_dead_one_is_recorded() -> None:
    with start_demo_shop() as shop:
        assert httpx.post(shop.url + "/order", json=ORDER).status_code == 200
        assert shop.server_sends == [] and len(shop.orders) == 1
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    with start_demo_shop(events_api_url=dead) as shop:
        answer = httpx.post(shop.url + "/order", json=ORDER)
        assert answer.status_code == 200 and answer.json()["event_id"] == "ord_1001_purchase"
        assert shop.server_sends[0]["status"] == 0 and "ConnectError" in shop.server_sends[0]["error"]


def test_the_demo_journey_lands_with_ttclid_and_ends_on_the_thank_you_page() -> None:
    assert DEMO_JOURNEY[0] == {"goto": f"/?ttclid={DEMO_TTCLID}"}
    actions = [next(iter(step)) for step in DEMO_JOURNEY]
    assert actions.count("click") == 3 and actions[-1] == "wait_for" and "fill" in actions
