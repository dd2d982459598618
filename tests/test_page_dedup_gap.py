"""Dedup gap page (AppTest): the demo month renders every figure; uploads and a column mapping work."""

from __future__ import annotations

import json

from core.demo import generate_store

PAGE = "pages/6_Dedup_gap.py"
DOWNLOADS = ("gap_dl_waterfall", "gap_dl_verdicts", "gap_dl_segments", "gap_dl_daily", "gap_dl_near_misses")


def _figures(at) -> list[dict]:  # type: ignore[no-untyped-def]
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def test_demo_month_renders_every_figure(app_test) -> None:  # type: ignore[no-untyped-def]
    """Before data a guard explains what to do; the demo month gives metrics, 4 figures, 5 downloads."""
    at = app_test(PAGE).run()
    assert not at.exception
    assert any("Load the demo store month" in i.value for i in at.info)
    at.number_input(key="gap_demo_orders").set_value(1500)
    at.button(key="gap_demo").click().run()
    assert not at.exception and not at.error
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics["Truth orders"].replace(",", "")) > 0
    assert metrics["Pixel gap"].endswith("%")
    figs = _figures(at)
    assert [f["data"][0]["type"] for f in figs] == ["waterfall", "bar", "bar", "scatter"]
    waterfall = figs[0]["data"][0]
    assert waterfall["y"][0] == int(metrics["Truth orders"].replace(",", ""))
    for key in DOWNLOADS:
        assert at.download_button(key=key) is not None
    # the segment picker redraws the segment figure; the truth toggle changes the truth set
    at.selectbox(key="gap_segment").set_value("page_load").run()
    assert "page load" in _figures(at)[2]["layout"]["title"]["text"]
    at.toggle(key="gap_require_click").set_value(False).run()
    assert int(at.metric[10].value.replace(",", "")) == 1500  # every order is truth now
    at.radio(key="gap_link").set_value("event_id_template").run()
    assert not at.exception and not at.error


def test_uploads_and_column_mapping(app_test, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Uploaded files are read; an orders CSV with unknown columns asks for a mapping, then works."""
    store = generate_store(300, seed=3)
    pixel_csv = store.pixel.to_csv(index=False).encode()
    server_csv = store.server.rename(columns={"pixel_code": "event_source_id"}).to_csv(index=False).encode()
    orders = store.orders.rename(columns={"order_id": "ref", "created_at": "when", "total": "amount",
                                          "currency": "cur"})[["ref", "when", "amount", "cur", "utm_source"]]
    at = app_test(PAGE).run()
    at.file_uploader(key="gap_pixel_upload").set_value(("pixel.csv", pixel_csv, "text/csv"))
    at.file_uploader(key="gap_server_upload").set_value(("server.csv", server_csv, "text/csv"))
    at.file_uploader(key="gap_orders_upload").set_value(("orders.csv", orders.to_csv(index=False).encode(),
                                                        "text/csv")).run()
    assert not at.exception
    assert "order_id" in at.error[0].value and "ref" in at.error[0].value
    for canon, col in (("order_id", "ref"), ("created_at", "when"), ("total", "amount"), ("currency", "cur")):
        at.selectbox(key=f"gap_map_{canon}").set_value(col)
    at.button[-1].click().run()
    assert not at.exception and not at.error
    labels = {m.label: m.value for m in at.metric}
    assert labels["Pixel events"] == f"{len(store.pixel):,}" and "Truth orders" in labels
    # a new session with the same orders layout uses the mapping confirmed above, without asking again
    again = app_test(PAGE).run()
    again.file_uploader(key="gap_pixel_upload").set_value(("pixel.csv", pixel_csv, "text/csv"))
    again.file_uploader(key="gap_server_upload").set_value(("server.csv", server_csv, "text/csv"))
    again.file_uploader(key="gap_orders_upload").set_value(("orders2.csv", orders.to_csv(index=False).encode(),
                                                           "text/csv")).run()
    assert not again.exception and not again.error
    assert any("confirmed before" in c.value for c in again.caption)
    assert "Truth orders" in {m.label for m in again.metric}


def _upload(at, store, orders_csv: bytes, name: str):  # type: ignore[no-untyped-def]
    at.file_uploader(key="gap_pixel_upload").set_value(("pixel.csv", store.pixel.to_csv(index=False).encode(),
                                                        "text/csv"))
    server = store.server.rename(columns={"pixel_code": "event_source_id"})
    at.file_uploader(key="gap_server_upload").set_value(("server.csv", server.to_csv(index=False).encode(),
                                                         "text/csv"))
    return at.file_uploader(key="gap_orders_upload").set_value((name, orders_csv, "text/csv")).run()


def test_mapping_form_guesses_columns_and_maps_the_tiktok_source(app_test) -> None:  # type: ignore[no-untyped-def]
    """Unknown headers: each field is guessed from its values, samples are shown, the attribution column
    can be mapped, messages name the uploaded file in plain words; the guesses work as they stand."""
    store = generate_store(300, seed=3)
    orders = store.orders.rename(columns={"order_id": "ref", "created_at": "when", "total": "paid",
                                          "currency": "cur", "utm_source": "came_from"})
    orders["when"] = orders["when"].dt.strftime("%Y-%m-%d %H:%M:%S +0000")  # Shopify's form
    csv = orders[["ref", "when", "paid", "cur", "came_from"]].to_csv(index=False).encode()
    at = _upload(app_test(PAGE).run(), store, csv, "shop-export-may.csv")
    assert not at.exception
    message = at.error[0].value
    assert "shop-export-may.csv" in message and "orders.csv" not in message and "mapping=" not in message
    guessed = {c: at.selectbox(key=f"gap_map_{c}").value for c in
               ("order_id", "created_at", "total", "currency", "utm_source", "ttclid", "landing_site")}
    assert guessed == {"order_id": "ref", "created_at": "when", "total": "paid", "currency": "cur",
                       "utm_source": "came_from", "ttclid": "", "landing_site": ""}
    options = at.selectbox(key="gap_map_currency").options
    assert any("cur" in o and "e.g. USD" in o for o in options)
    at.button(key="gap_map_submit").click().run()
    assert not at.exception and not at.error
    metrics = {m.label: m.value for m in at.metric}
    tiktok = int((store.orders["utm_source"] == "tiktok").sum())
    assert metrics["Truth orders"] == f"{tiktok:,}" and metrics["Pixel gap"].endswith("%")
    daily = _figures(at)[-1]["data"][0]  # uploaded orders fall on their own days, not on 1970-01-21
    assert daily["name"] == "truth orders" and sum(daily["y"]) == tiktok
    assert all(day.startswith("2026-05") for day in daily["x"])
    sources = " ".join(m.value for m in at.markdown)
    assert "Where the segments come from" in " ".join(e.label for e in at.expander)
    assert "orders file" in sources and "cookie age" in sources


def test_empty_truth_set_says_why(app_test) -> None:  # type: ignore[no-untyped-def]
    """When no order matches the TikTok filter the page says so instead of drawing an empty gap."""
    store = generate_store(200, seed=4)
    orders = store.orders.assign(utm_source="google", ttclid="")
    at = _upload(app_test(PAGE).run(), store, orders.to_csv(index=False).encode(), "orders-may.csv")
    assert not at.exception and not at.error
    assert any("No order matched the TikTok filter" in w.value for w in at.warning)
    assert "Truth orders" not in {m.label for m in at.metric}


def test_unlinked_orders_say_how_to_link(app_test) -> None:  # type: ignore[no-untyped-def]
    """Orders no event links to show n/a gap figures and how to link them, never a 100 % gap."""
    store = generate_store(200, seed=4)
    orders = store.orders.assign(order_id=[f"X{i}" for i in range(len(store.orders))])
    at = _upload(app_test(PAGE).run(), store, orders.to_csv(index=False).encode(), "orders-may.csv")
    assert not at.exception and not at.error
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Pixel gap"] == "n/a" and metrics["Recovered by server"] == "n/a"
    assert any("properties.order_id" in w.value for w in at.warning)


def test_segments_name_where_their_values_came_from(app_test) -> None:  # type: ignore[no-untyped-def]
    """Orders without a user agent are segmented by their server events' user_agent, and the page says so."""
    store = generate_store(300, seed=6)
    orders = store.orders.drop(columns=["user_agent", "cookie_age_days", "page_load_s"])
    at = _upload(app_test(PAGE).run(), store, orders.to_csv(index=False).encode(), "orders-may.csv")
    assert not at.exception and not at.error
    sources = " ".join(m.value for m in at.markdown)
    assert "server events' user_agent" in sources
    assert "Empty: the orders file has no page-load time" in sources
    segments = _figures(at)[2]["data"][0]["x"]
    assert not any(label.startswith("unknown") for label in segments[:1])


def test_empty_truth_offers_to_map_the_attribution_column(app_test) -> None:  # type: ignore[no-untyped-def]
    """A readable export without a recognised TikTok column: the page offers the mapping form, where the
    traffic-source column can be picked; the truth set then fills."""
    store = generate_store(300, seed=8)
    orders = store.orders.rename(columns={"utm_source": "Traffic"}).drop(columns=["ttclid"])
    at = _upload(app_test(PAGE).run(), store, orders.to_csv(index=False).encode(), "export.csv")
    assert not at.exception and any("No order matched the TikTok filter" in w.value for w in at.warning)
    at.button(key="gap_remap").click().run()
    assert not at.error  # every required column was found: the form asks only to confirm
    assert at.selectbox(key="gap_map_utm_source").value == "Traffic"  # guessed from its values
    at.button(key="gap_map_submit").click().run()
    assert not at.exception and not at.error
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Truth orders"] == f"{int((store.orders['utm_source'] == 'tiktok').sum()):,}"


def test_spooled_uploads_go_when_replaced_and_when_the_session_ends(app_test) -> None:  # type: ignore[no-untyped-def]
    """Uploads are analysed from temp files; a new upload replaces the previous files and a session that
    ends takes its files with it, so a day of 1 GB uploads does not fill the disk."""
    import gc

    store = generate_store(200, seed=5)
    orders_csv = store.orders.to_csv(index=False).encode()
    at = _upload(app_test(PAGE).run(), store, orders_csv, "orders.csv")
    assert not at.exception and not at.error
    first = at.session_state["_spooled_gap"].folder
    assert sorted(p.name for p in first.iterdir()) == ["0_pixel.csv", "1_server.csv", "2_orders.csv"]
    at.radio(key="gap_link").set_value("event_id_template").run()  # a rerun reads the same files again
    assert not at.exception and first.is_dir()
    at = _upload(at, store, orders_csv.replace(b"\n", b"\r\n"), "orders_b.csv")
    second = at.session_state["_spooled_gap"].folder
    assert not at.exception and second != first and second.is_dir() and not first.exists()
    del at
    gc.collect()
    assert not second.exists()
