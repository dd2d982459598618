"""core.demo: a seeded synthetic store month whose files round-trip through the loaders."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.demo import DEMO_PIXEL_CODE, LOSS_MODES, generate_store, rate, shopify_export, write_store
from core.errors import InvalidInput
from core.sources.orders import load_orders
from core.sources.server import SERVER_COLUMNS, load_server_events


@pytest.fixture(scope="module")
def store():
    """One 4,000-order store shared by the tests of this module."""
    return generate_store(4000, seed=11)


def test_same_seed_same_store(store) -> None:
    """The same seed gives the same store; another seed another one."""
    again = generate_store(4000, seed=11)
    assert again.server.equals(store.server) and again.pixel.equals(store.pixel)
    assert not generate_store(4000, seed=12).orders["total"].equals(store.orders["total"])


def test_shapes_and_links(store) -> None:
    """Orders are canonical; server rows have SERVER_COLUMNS; every event links to an order."""
    o, p, s = store.orders, store.pixel, store.server
    assert len(o) == 4000 and o["order_id"].is_unique
    assert list(s.columns) == SERVER_COLUMNS
    assert set(p["pixel_code"]) == set(s["pixel_code"]) == {DEMO_PIXEL_CODE}
    assert set(p["order_id"]) <= set(o["order_id"]) and set(s["order_id"]) <= set(o["order_id"])
    assert (s["email"].str.len().isin([0, 64])).all()  # hashed as sent
    assert {"timestamp", "event_id", "ttp", "user_agent", "properties"} <= set(p.columns)


@pytest.mark.parametrize(("mode", "measure"), [
    ("webhook_failure", lambda st: 1 - st.server["order_id"].nunique() / len(st.orders)),
    ("tiktok_share", lambda st: (st.orders["utm_source"] == "tiktok").mean()),
    ("server_no_event_id", lambda st: (st.server["event_id"] == "").mean()),
    ("pixel_no_event_id", lambda st: (st.pixel["event_id"] == "").mean()),
])
def test_loss_rates_follow_the_table(store, mode: str, measure) -> None:
    """Observed loss shares are near the documented illustrative rates."""
    assert measure(store) == pytest.approx(rate(mode), abs=0.03)
    assert LOSS_MODES[mode][1]


def test_event_ids_follow_the_template_except_the_mangled_share(store) -> None:
    """Pixel ids are ord_{order_id}_purchase; a share of server ids is mangled as documented."""
    p = store.pixel[store.pixel["event_id"] != ""]
    assert (p["event_id"] == "ord_" + p["order_id"] + "_purchase").all()
    s = store.server[store.server["event_id"] != ""]
    off = (s["event_id"] != "ord_" + s["order_id"] + "_purchase") | (s["event"] != "Purchase")
    assert off.mean() == pytest.approx(rate("mangled_event_id"), abs=0.02)


@pytest.mark.parametrize("orders", [0, -5, 10**9])
def test_out_of_range_sizes(orders: int) -> None:
    """Non-positive or huge sizes raise InvalidInput."""
    with pytest.raises(InvalidInput):
        generate_store(orders)


def test_files_round_trip(store, tmp_path: Path) -> None:
    """write_store's CSV and JSONL files load back with the same rows and the same ids."""
    paths = write_store(store, tmp_path)
    assert all(p.is_file() for p in paths.values())
    orders = load_orders(paths["orders.csv"])
    assert orders.source == "shopify" and len(orders.frame) == len(store.orders)
    assert orders.frame["ttclid"].tolist() == store.orders["ttclid"].tolist()
    for name in ("server.csv", "server.jsonl"):
        loaded = load_server_events(paths[name])
        assert len(loaded) == len(store.server)
        assert sorted(loaded["event_id"].str.strip()) == sorted(store.server["event_id"].str.strip())


def test_shopify_export_has_one_row_per_line_item() -> None:
    """The Shopify-like export repeats each order per item and fills order fields on its first row only."""
    orders = generate_store(300, seed=2).orders
    export = shopify_export(orders)
    assert len(export) == int(orders["items"].sum())
    firsts = export[export["Total"] != ""]
    assert firsts["Name"].tolist() == ("#" + orders["order_id"]).tolist()
    assert (firsts["Created at"].str.endswith("+0000")).all()
