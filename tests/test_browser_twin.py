"""The simulated browser half of a sent event: same key, fired a moment before, labelled simulated."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from core.browser_twin import (
    MAX_LEAD_S,
    MIN_LEAD_S,
    SIMULATED_SOURCE,
    add_twins,
    is_twinnable,
    lead_seconds,
    pixel_twin,
    pixel_twins,
    twin_frame,
)
from core.dedup import simulate
from core.sources.server import server_side

HASH = "848a771458438fc2ec420560d769fb9b9b86851ee338ec56517baabd79d3bb4f"


def body(*events: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"event_source": "web", "event_source_id": "CPIXEL123", **top, "data": list(events)}


def purchase(event_id: str = "ord_10492_purchase", **extra: Any) -> dict[str, Any]:
    return {"event": "Purchase", "event_time": 1735689600, "event_id": event_id,
            "user": {"email": [HASH], "ttp": "01K0T8BYGJH63785W68YS5NN1R_.tt.1", "ttclid": "E.C.P.abc",
                     "ip": "203.0.113.7", "user_agent": "Mozilla/5.0"},
            "page": {"url": "https://shop.example/thanks"},
            "properties": {"currency": "USD", "value": 46.0}, **extra}


@pytest.mark.parametrize(("event_id", "event"), [("ord_1_purchase", "Purchase"), ("atc_9", "AddToCart"), ("", "Lead")])
def test_lead_is_realistic_and_stable(event_id: str, event: str) -> None:
    """The Pixel fires 0.3-3 s before the server event, the same lead for the same event every time."""
    lead = lead_seconds(event_id, event)
    assert MIN_LEAD_S <= lead <= MAX_LEAD_S
    assert lead == lead_seconds(event_id, event)


def test_twin_has_the_same_key_fires_before_and_says_simulated() -> None:
    """Same Pixel code, event and event_id; timestamp before event_time; hashed keys carried; simulated."""
    twin = pixel_twin(body(purchase()), purchase())
    assert (twin["context"]["pixel"]["code"], twin["event"], twin["event_id"]) == (
        "CPIXEL123", "Purchase", "ord_10492_purchase")
    fired = datetime.fromisoformat(twin["timestamp"].replace("Z", "+00:00")).timestamp()
    assert 1735689600 - MAX_LEAD_S <= fired <= 1735689600 - MIN_LEAD_S
    assert twin["simulated"] is True and twin["partner"] == "simulated"
    assert twin["context"]["user"] == {"sha256_email": HASH, "anonymous_id": "01K0T8BYGJH63785W68YS5NN1R_.tt.1"}
    assert twin["context"]["ad"] == {"callback": "E.C.P.abc"}
    assert twin["context"]["page"]["url"] == "https://shop.example/thanks"
    assert twin["properties"] == {"currency": "USD", "value": 46.0}
    assert twin["message_id"].startswith("messageId-") and twin["message_id"].endswith("-CPIXEL123")


@pytest.mark.parametrize(("top", "event", "expected"), [
    ({}, purchase(), True),
    ({"event_source": "app"}, purchase(), False),
    ({"event_source_id": ""}, purchase(), False),
    ({}, {"event": "", "event_time": 1}, False),
    ({}, {"event": "Purchase"}, False),
    ({}, {"event": "Purchase", "event_time": True}, False),
    ({}, "not an event", False),
])
def test_only_web_events_with_a_pixel_name_and_time_get_a_twin(top: dict[str, Any], event: Any,
                                                                expected: bool) -> None:
    """A browser Pixel fires only for web events of a Pixel; the rest are named in the notes."""
    assert is_twinnable(body(**top), event) is expected


def test_twins_and_notes_over_bodies() -> None:
    """Every twinnable event gets a twin; an app event and an event without event_id are noted."""
    twins, notes = pixel_twins([body(purchase(), purchase(event_id=None)), body(purchase(), event_source="app")])
    assert len(twins) == 2
    assert any("no event_id" in n for n in notes) and any("no browser twin" in n for n in notes)


def test_twin_rows_merge_with_the_server_events_they_copy() -> None:
    """As Pixel rows, the twins pair with the sent events and TikTok's rules call every pair merged."""
    sent = [body(purchase("ord_1_purchase"), purchase("ord_2_purchase"))]
    twins, _ = pixel_twins(sent)
    rows = twin_frame(twins)
    assert set(rows["source"]) == {SIMULATED_SOURCE} and set(rows["library"]) == {"console-simulated-pixel 1.0"}
    assert set(rows["email"]) == {HASH}
    server, _ = server_side(sent)
    report = simulate(rows, server)
    assert set(report.keys["verdict"]) == {"merged"} and report.summary["merged_pairs"] == 2
    assert (report.keys["delta_s"] > 0).all()  # the server event comes after its Pixel


def test_simulating_again_replaces_a_keys_twin() -> None:
    """Twins of the same key do not pile up; twins without event_id all stay."""
    first = add_twins(None, pixel_twins([body(purchase(), purchase(event_id=None))])[0])
    again = add_twins(first, pixel_twins([body(purchase(), purchase(event_id=None))])[0])
    assert len(first) == 2 and len(again) == 3
    assert (again["event_id"] == "ord_10492_purchase").sum() == 1
