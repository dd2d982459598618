"""core.gap (through core.dedup): days in any datetime unit, links found without flags, segments from events."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.cli import EXIT_OK, main
from core.dedup import simulate
from core.demo import generate_store
from core.gap import infer_template, order_day_numbers
from core.orders import segment_columns

T = 1_777_594_935.0  # 2026-05-01 00:22:15 UTC
DAY = 86400.0
PX = "CPIXEL0000000000001"
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Version/17.5 Mobile/15E148 Safari/604.1")


def events(ids: list[str], offsets: list[float], time_col: str, **extra: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"pixel_code": PX, "event": "Purchase", "event_id": ids,
                         time_col: [T + o for o in offsets], "ttp": "", "order_id": "", **extra})


def orders_frame(ids: list[str], offsets: list[float], unit: str = "ns") -> pd.DataFrame:
    created = pd.to_datetime([T + o for o in offsets], unit="s", utc=True).as_unit(unit)
    return pd.DataFrame({"order_id": ids, "created_at": created})


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_orders_fall_on_their_own_days_in_every_datetime_unit(unit: str) -> None:
    """A created_at column in s, ms, us or ns puts each order on its UTC day, never on 1970-01-21."""
    p = events(["ord_1_purchase", "ord_2_purchase"], [60, DAY + 60], "timestamp")
    s = events(["ord_1_purchase", "ord_3_purchase"], [90, 2 * DAY + 60], "event_time")
    orders = orders_frame(["1", "2", "3"], [0, DAY, 2 * DAY], unit)
    r = simulate(p, s, orders=orders)
    assert list(r.daily["day"]) == ["2026-05-01", "2026-05-02", "2026-05-03"]
    assert list(r.daily["truth"]) == [1, 1, 1]
    assert int(r.daily["truth"].sum()) == r.summary["truth"]
    assert list(r.daily["truth_pixel"]) == [1, 1, 0] and list(r.daily["truth_counted"]) == [1, 1, 1]


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_order_day_numbers_ignore_the_unit(unit: str) -> None:
    """Day numbers are the same whatever the column's unit; a missing time has day -1."""
    created = pd.Series(pd.to_datetime([T, None], unit="s", utc=True).as_unit(unit))
    assert list(order_day_numbers(created)) == [int(T // DAY), -1]


@pytest.mark.parametrize("shape", ["ord_{order_id}_purchase", "{order_id}", "purchase_{order_id}",
                                   "order-{order_id}", "{order_id}_purchase", "ord_{order_id}_{event}"])
def test_orders_link_by_the_event_id_shape_found_in_the_ids(shape: str) -> None:
    """Without order_id on the events, the event_id shape is inferred and gives the explicit link's figures."""
    def eid(o: str) -> str:
        return shape.format(order_id=o, event="purchase")

    p = events([eid("1001"), eid("1002")], [60, 60], "timestamp")
    s = events([eid("1001"), eid("1003"), "unrelated"], [90, 60, 60], "event_time")
    orders = orders_frame(["#1001", "1002", "1003", "1004"], [0, 0, 0, 0])
    auto = simulate(p, s, orders=orders)
    template = shape.replace("{event}", "purchase")
    explicit = simulate(p, s, orders=orders, link="event_id_template", template=shape)
    assert auto.summary.link is not None
    assert auto.summary["link"] == {"mode": "event_id_template", "template": template, "linked_orders": 3,
                                    "message": ""}
    fields = ("truth", "truth_pixel", "truth_counted", "pixel_gap", "recovered_share")
    assert {f: auto.summary[f] for f in fields} == {f: explicit.summary[f] for f in fields}
    assert (auto.summary["truth_pixel"], auto.summary["truth_counted"]) == (2, 3)
    assert auto.summary["pixel_gap"] == pytest.approx(0.5)


def test_infer_template_takes_the_commonest_shape() -> None:
    """The shape most ids with a known order id follow wins; ids with no order id give None."""
    import pyarrow as pa

    ids = pa.array(["ord_1_purchase", "ord_2_purchase", "order-3", "x"], pa.large_string())
    orders = pa.array(["1", "2", "3"], pa.large_string())
    assert infer_template(orders, ids) == "ord_{order_id}_purchase"
    assert infer_template(orders, pa.array(["a", "b"], pa.large_string())) is None


def test_unlinked_orders_give_no_gap_figures_and_say_how_to_link() -> None:
    """When no order links to an event the gap figures are None (never a 100 % gap) with a message."""
    p = events(["a1"], [0], "timestamp")
    s = events(["b2"], [0], "event_time")
    r = simulate(p, s, orders=orders_frame(["1001", "1002"], [0, 0]))
    sm = r.summary
    assert sm["truth"] == 2
    assert sm["pixel_gap"] is None and sm["recovered_share"] is None and sm["truth_pixel"] is None
    assert sm["link"]["mode"] == "none" and sm["link"]["linked_orders"] == 0
    assert "properties.order_id" in sm["link"]["message"] and "template" in sm["link"]["message"]
    assert r.segments is None and "truth_pixel" not in r.daily.columns
    forced = simulate(p, s, orders=orders_frame(["1001"], [0]), link="order_id")
    assert forced.summary["pixel_gap"] is None and forced.summary["link"]["message"]


def test_auto_link_on_the_demo_equals_the_explicit_order_id_link() -> None:
    """The demo's events carry properties.order_id: auto picks it and gives the same figures."""
    store = generate_store(800, seed=5)
    truth = segment_columns(store.orders)
    auto = simulate(store.pixel, store.server, orders=truth)
    explicit = simulate(store.pixel, store.server, orders=truth, link="order_id")
    assert auto.summary == explicit.summary
    assert auto.summary["link"]["mode"] == "order_id" and auto.summary["link"]["linked_orders"] > 0


def test_segments_come_from_linked_events_when_orders_have_none() -> None:
    """Orders without a user agent take their server event's; the source of every dimension is named."""
    p = events(["ord_1_purchase"], [60], "timestamp", user_agent=[IPHONE])
    s = events(["ord_1_purchase", "ord_2_purchase"], [90, 60], "event_time", user_agent=["", IPHONE])
    truth = segment_columns(orders_frame(["1", "2", "3"], [0, 0, 0]))
    r = simulate(p, s, orders=truth)
    seg = r.segments.set_index(["dimension", "value"])
    assert seg.loc[("browser", "Mobile Safari"), "truth"] == 2  # order 1 from its Pixel event, 2 from server
    assert seg.loc[("ios_ltp", "iOS 17+"), "truth"] == 2
    sources = r.summary["segment_sources"]
    assert sources["browser"]["orders"] == 2
    assert "server events' user_agent" in sources["browser"]["source"]
    assert "Pixel events' user agent" in sources["browser"]["source"]
    assert "1 unknown" in sources["browser"]["message"]
    assert sources["cookie_age"]["source"] == "none" and "Pixel" in sources["cookie_age"]["message"]
    assert sources["page_load"]["source"] == "none"


def test_labels_given_by_the_orders_are_kept() -> None:
    """An order's own user agent wins over its events'."""
    p = events(["ord_1_purchase"], [60], "timestamp", user_agent=[IPHONE])
    s = events(["ord_1_purchase"], [90], "event_time", user_agent=[IPHONE])
    own = orders_frame(["1"], [0]).assign(user_agent="Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 "
                                                    "Firefox/125.0")
    r = simulate(p, s, orders=segment_columns(own))
    assert r.orders.loc[0, "browser"] == "Firefox"
    assert r.summary["segment_sources"]["browser"]["source"] == "orders file"


CREATED = {
    "shopify": ["2026-05-01 00:23:55 +0000", "2026-05-02 10:00:00 -0400", "2026-05-03 23:59:59 +0000"],
    "iso": ["2026-05-01T00:23:55Z", "2026-05-02T14:00:00+00:00", "2026-05-03T23:59:59.250Z"],
    "epoch_s": ["1777595035", "1777730400", "1777852799"],
    "epoch_ms": ["1777595035000", "1777730400000", "1777852799250"],
}


@pytest.mark.parametrize("form", list(CREATED))
def test_cli_daily_series_from_every_timestamp_form(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     form: str) -> None:
    """`dedup --orders` JSON carries the daily series, each order on its own day whatever the export's form."""
    ids = ["1001", "1002", "1003"]
    times = [T + 100, T + DAY + 50_000, T + 2 * DAY + 80_000]
    (tmp_path / "p.csv").write_text("pixel_code,event,event_id,timestamp\n"
                                    + "".join(f"{PX},Purchase,ord_{o}_purchase,{t}\n" for o, t in zip(ids, times,
                                                                                                   strict=True)))
    (tmp_path / "s.csv").write_text("event_source_id,event,event_id,event_time\n"
                                    f"{PX},Purchase,ord_1001_purchase,{T + 130}\n")
    (tmp_path / "o.csv").write_text("order_id,created_at,total,currency,utm_source\n"
                                    + "".join(f"{o},{c},10,USD,tiktok\n" for o, c in zip(ids, CREATED[form],
                                                                                         strict=True)))
    code = main(["dedup", "--pixel", str(tmp_path / "p.csv"), "--server", str(tmp_path / "s.csv"),
                 "--orders", str(tmp_path / "o.csv"), "--format", "json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == EXIT_OK
    assert [d["day"] for d in doc["daily"]] == ["2026-05-01", "2026-05-02", "2026-05-03"]
    assert sum(d["truth"] for d in doc["daily"]) == doc["truth"] == 3
    assert set(doc["daily"][0]) >= {"day", "truth", "truth_pixel", "truth_counted", "pixel_events", "counted"}
    assert [d["truth_pixel"] for d in doc["daily"]] == [1, 1, 1]
    assert doc["link"] == {"mode": "event_id_template", "template": "ord_{order_id}_purchase",
                           "linked_orders": 3, "message": ""}
    assert doc["pixel_gap"] == 0.0 and doc["truth_rule"].startswith("utm_source=tiktok")


def test_cli_without_link_flags_equals_the_right_explicit_link(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    """Dedup with orders and no link flags gives the figures of the explicit --link order_id on the demo."""
    main(["demo", "--orders", "600", "--out", str(tmp_path), "--format", "json"])
    files = json.loads(capsys.readouterr().out)["files"]
    base = ["dedup", "--pixel", files["pixel.csv"], "--server", files["server.csv"], "--orders",
            files["orders.csv"], "--format", "json"]
    main(base)
    auto = json.loads(capsys.readouterr().out)
    main([*base, "--link", "order_id"])
    explicit = json.loads(capsys.readouterr().out)
    assert auto == explicit and auto["link"]["mode"] == "order_id"
    assert np.isclose(auto["pixel_gap"], 1 - auto["truth_pixel"] / auto["truth"])
    main([*base[:-2], "--details"])
    text = capsys.readouterr().out
    assert "linked_orders" in text and "segment browser:" in text


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_segment_day_labels_in_every_datetime_unit(unit: str) -> None:
    """The day segment labels each order with its UTC day whatever the column's unit."""
    frame = segment_columns(orders_frame(["1", "2"], [0, DAY], unit))
    assert frame["day"].tolist() == ["2026-05-01", "2026-05-02"]


def test_a_coincidental_order_number_in_random_ids_is_no_link() -> None:
    """One random id among thousands that happens to hold an order number does not make a template."""
    import pyarrow as pa

    ids = pa.array([f"evt-{i:06x}-a" for i in range(5000)] + ["evt-1001-a"], pa.large_string())
    assert infer_template(pa.array(["1001", "1002"], pa.large_string()), ids) is None
