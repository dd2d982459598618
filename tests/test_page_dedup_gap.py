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
