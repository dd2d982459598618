"""Inspecting one dedup key (core.compare) and the like-with-like field comparison under it (core.diff)."""

from __future__ import annotations

import pandas as pd
import pytest

from core.compare import inspect_key, near_miss_for, near_miss_list
from core.dedup import simulate
from core.diff import comparable_fields, field_diff, legacy_twin_note
from core.identity import sha256_hex
from core.sources.pixel import normalize_pixel_frame
from core.sources.server import server_frame, server_side

CODE = "C4A1B2C3D4E5F6G7H8I9"


def _pixel(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame([{"pixel_code": CODE, "timestamp": 1_700_000_000, **r} for r in rows])
    return normalize_pixel_frame(frame)[0]


def _body(events: list[dict]) -> dict:
    return {"event_source": "web", "event_source_id": CODE,
            "data": [{"event_time": 1_700_000_020, **e} for e in events]}


@pytest.mark.parametrize(("a", "b", "twin"), [
    ("CompletePayment", "Purchase", True), ("Purchase", "CompletePayment", True), ("PlaceAnOrder", "Purchase", True),
    ("Purchase", "Purchase", False), ("AddToCart", "Purchase", False), ("SubmitForm", "Lead", True),
])
def test_legacy_twin_note(a: str, b: str, twin: bool) -> None:
    """A legacy name and its current twin are named, either way round; other pairs are not."""
    assert bool(legacy_twin_note(a, b)) is twin


def test_flat_row_and_nested_event_compare_like_with_like() -> None:
    """A Pixel row and the v1.3 event as sent give the same field names and values where they agree."""
    email = sha256_hex("a@example.com")
    pixel = _pixel([{"event": "Purchase", "event_id": "ord_1", "email": email, "value": "10", "currency": "USD",
                     "url": "https://shop.example/thanks"}]).iloc[0].to_dict()
    event = _body([{"event": "Purchase", "event_id": "ord_1", "user": {"email": email},
                    "page": {"url": "https://shop.example/thanks"},
                    "properties": {"value": 10, "currency": "USD"}}])
    left, right = comparable_fields(pixel, "pixel"), comparable_fields(event, "server")
    for name in ("pixel_code", "event", "event_id", "email", "value", "currency", "url"):
        assert left[name] == right[name], name
    statuses = {d.field: d.status for d in field_diff(pixel, event)}
    assert statuses["email"] == statuses["event_id"] == statuses["currency"] == "same"


def test_near_miss_list_feeds_the_inspection() -> None:
    """A legacy twin and a mangled id are in the near-miss list, and the inspection of each key uses that row."""
    pixel = _pixel([{"event": "CompletePayment", "event_id": "ord_7"}, {"event": "AddToCart", "event_id": "atc_88_1"}])
    docs = [_body([{"event": "Purchase", "event_id": "ord_7"}, {"event": "AddToCart", "event_id": "88_1"}])]
    server, bodies = server_side(docs)
    report = simulate(pixel, server)
    near = near_miss_list(report)
    assert set(zip(near["pixel_event_id"], near["server_event_id"], strict=True)) == {("ord_7", "ord_7"),
                                                                                      ("atc_88_1", "88_1")}
    for key in report.keys[report.keys["verdict"] == "pixel only"].itertuples(index=False):
        found = near_miss_for(near, key)
        assert found is not None
        ins = inspect_key(report, pixel, server, key, bodies, near)
        assert ins.pixel_row is not None and ins.server_row is not None and ins.diffs
        assert ins.server_event is not None and ins.partner_id == found["server_event_id"]
        assert bool(ins.legacy_note) is (key.event == "CompletePayment")


def test_a_key_without_near_miss_has_no_partner() -> None:
    """A one-sided key the list does not name stays one-sided: no field diff, no partner."""
    pixel = _pixel([{"event": "Purchase", "event_id": "ord_1"}])
    server = server_frame([_body([{"event": "Lead", "event_id": "lead_9"}])])
    report = simulate(pixel, server)
    key = next(report.keys[report.keys["verdict"] == "pixel only"].itertuples(index=False))
    ins = inspect_key(report, pixel, server, key)
    assert ins.server_row is None and ins.near_miss is None and ins.partner_id is None and not ins.diffs


def test_an_event_without_event_id_shows_its_own_row() -> None:
    """An event without event_id has no rows to pair: the inspection still carries the report's row."""
    pixel = _pixel([{"event": "Purchase", "event_id": ""}])
    server = server_frame([_body([{"event": "Purchase", "event_id": "ord_1"}])])
    report = simulate(pixel, server)
    key = report.keys[report.keys["verdict"] == "missing event_id"].iloc[0]
    ins = inspect_key(report, pixel, server, key)
    assert ins.pixel_row is None and ins.key_row["event"] == "Purchase" and ins.key_row["verdict"] == "missing event_id"
