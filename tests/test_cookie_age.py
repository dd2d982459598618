"""Cookie age from what real Pixel hits carry: a ULID `_ttp` says when the cookie was set (contract §6.4)."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from core.dedup import simulate
from core.orders import segment_columns
from core.sources import load_pixel_events
from core.sources.pixel_body import ttp_age_days, ttp_created_at

TTP = "01K0T8BYGJH63785W68YS5NN1R_.tt.1"  # a 2025 ULID _ttp: set 2025-07-22 23:44:12.306 UTC
SET_AT = 1753227852.306


def test_ulid_ttp_gives_its_creation_time_and_legacy_values_none() -> None:
    assert ttp_created_at(TTP) == pytest.approx(SET_AT)
    assert ttp_created_at("2F7h37YkS1j57AYSKTI7IHhJPYH") is None  # legacy 27 characters: no time inside
    assert ttp_created_at("") is None and ttp_created_at("ZZZZZZZZZZZZZZZZZZZZZZZZZZ") is None  # past 2099
    assert ttp_age_days(TTP, SET_AT + 3.5 * 86400) == pytest.approx(3.5)
    assert math.isnan(ttp_age_days(TTP, SET_AT - 5 * 86400))  # "set" days after the event: no age
    assert math.isnan(ttp_age_days("2F7h37YkS1j57AYSKTI7IHhJPYH", SET_AT))


def _body(order: int, days_after: float) -> dict[str, object]:
    ms = int((SET_AT + days_after * 86400) * 1000)
    ts = pd.Timestamp(ms, unit="ms", tz="UTC").strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return {"event": "Purchase", "event_id": f"ord_{order}_purchase", "timestamp": ts,
            "context": {"pixel": {"code": "CPIXEL0000000000001"}, "user": {"anonymous_id": TTP},
                        "page": {"url": "https://shop.example/thanks"}},
            "properties": {"order_id": str(order), "value": 10, "currency": "USD"}}


def test_pixel_bodies_and_flat_rows_carry_cookie_age_from_the_ttp() -> None:
    bodies = json.dumps([_body(1, 3.5), _body(2, 40)]).encode()
    events = load_pixel_events(bodies, name="hits.json").events
    assert events["cookie_age_days"].round(2).tolist() == [3.5, 40.0]
    flat = pd.DataFrame({"pixel_code": ["CPIXEL0000000000001"], "event": ["Purchase"], "event_id": ["ord_3_purchase"],
                         "timestamp": [SET_AT + 86400], "ttp": [TTP]}).to_csv(index=False).encode()
    assert load_pixel_events(flat, name="rows.csv").events["cookie_age_days"].round(2).tolist() == [1.0]


def test_orders_without_cookie_age_take_it_from_their_linked_pixel_events() -> None:
    pixel = load_pixel_events(json.dumps([_body(1, 3.5), _body(2, 40)]).encode(), name="hits.json").events
    server = pd.DataFrame({"pixel_code": "CPIXEL0000000000001", "event": "Purchase",
                           "event_id": ["ord_1_purchase", "ord_2_purchase"],
                           "event_time": [SET_AT + 3.5 * 86400 + 30, SET_AT + 40 * 86400 + 30], "ttp": "",
                           "order_id": ""})
    created = pd.to_datetime([SET_AT + 3.5 * 86400, SET_AT + 40 * 86400, SET_AT], unit="s", utc=True)
    orders = segment_columns(pd.DataFrame({"order_id": ["1", "2", "3"], "created_at": created}))
    report = simulate(pixel, server, orders=orders)
    source = report.summary["segment_sources"]["cookie_age"]
    assert source["orders"] == 2 and "Pixel events' cookie age" in source["source"]
    seg = report.segments[report.segments["dimension"] == "cookie_age"].set_index("value")["truth"]
    assert seg.sum() == 3 and len(seg[seg > 0]) >= 2  # two orders on their own age buckets, one unknown
