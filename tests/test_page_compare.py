"""Compare page (AppTest): demo data, uploads (HAR + server JSON), the store as server side, bad input."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from core.dedup import simulate
from core.demo import generate_store
from core.exchange import Exchange
from core.identity import sha256_hex
from core.sources.har import parse_har
from core.sources.server import load_server_events
from core.store import Store

PAGE = "pages/4_Compare.py"
FIX = Path(__file__).parent / "fixtures"
HAR = FIX / "devtools_shop.har"
SERVER = FIX / "server_events.json"


def _table(at, column: str) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """The first dataframe on the page that has `column`."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def _metrics(at) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {m.label: m.value for m in at.metric}


def test_demo_data_pairs_filters_and_field_diff(app_test) -> None:  # type: ignore[no-untyped-def]
    """Guard first; the demo button loads both sides, shares them, and the pairs follow TikTok's dedup."""
    at = app_test(PAGE).run()
    assert not at.exception and not at.metric
    assert any("use the demo store month" in i.value for i in at.info)

    at.button(key="compare_demo").click().run()
    assert not at.exception and not at.error
    demo = generate_store(orders=400, seed=7)
    report = simulate(demo.pixel, demo.server)
    metrics = _metrics(at)
    assert metrics["Pixel events"] == f"{report.summary['pixel_events']:,}"
    assert metrics["Merged"] == f"{report.summary['merged_pairs']:,}"
    assert metrics["Server only"] == f"{(report.keys['verdict'] == 'server only').sum():,}"  # as the table says
    pd.testing.assert_frame_equal(at.session_state["pixel_events"], demo.pixel)  # shared with other pages
    pd.testing.assert_frame_equal(at.session_state["server_events"], demo.server)
    assert len(_table(at, "reason")) == len(report.keys)

    at.multiselect(key="compare_filter_verdict").set_value(["merged"]).run()
    pairs = _table(at, "reason")
    assert len(pairs) == (report.keys["verdict"] == "merged").sum()
    assert set(pairs["verdict"]) == {"🟢 merged"}
    picked = at.selectbox(key="compare_pick").value
    assert picked.endswith("· merged") and picked == at.selectbox(key="compare_pick").options[0]
    diff = _table(at, "note").set_index("field")
    assert diff.loc["event_id", "status"] == "✅ same" and diff.loc["event", "status"] == "✅ same"
    assert "within 5 min" in diff.loc["event_time", "note"]
    assert any("merged" in m.value for m in at.markdown)
    assert not at.exception


def test_har_and_server_uploads_with_near_miss(app_test) -> None:  # type: ignore[no-untyped-def]
    """A DevTools HAR against uploaded v1.3 bodies: import summary, the merged Purchase, the mangled AddToCart."""
    at = app_test(PAGE).run()
    at.file_uploader(key="compare_pixel_upload").set_value(("shop.har", HAR.read_bytes(), "application/json"))
    at.radio(key="compare_server_source").set_value("Upload a file").run()
    at.file_uploader(key="compare_server_upload").set_value(("server.json", SERVER.read_bytes(), "application/json"))
    at.run()
    assert not at.exception and not at.error
    har = parse_har(HAR)
    assert any(f"Read {len(har.events)} Pixel event(s) from {har.entries} HAR item(s)" in c.value for c in at.caption)
    assert len(_table(at, "kind")) == len(har.skipped)  # the skipped list is shown
    report = simulate(har.events, load_server_events(SERVER))
    assert _metrics(at)["Merged"] == str(report.summary["merged_pairs"])

    at.text_input(key="compare_filter_id").input("10492").run()
    assert at.selectbox(key="compare_pick").options == ["Purchase · ord_10492_purchase · merged"]
    diff = _table(at, "note").set_index("field")
    assert set(diff.loc[["event", "event_id", "value", "currency", "content_ids", "email", "phone"], "status"]) \
        == {"✅ same"}
    assert diff.loc["external_id", "status"] == "✅ same" and "same identity" in diff.loc["external_id", "note"]
    assert diff.loc["ip", "status"] == "🟧 server only"
    server_json = json.loads(at.json[1].value)  # the event as sent, beside the Pixel row
    assert server_json["data"][0]["event_id"] == "ord_10492_purchase"

    at.text_input(key="compare_filter_id").input("atc_88213").run()
    assert at.selectbox(key="compare_pick").value is not None
    assert any("88213_1" in w.value and "Near miss" in w.value for w in at.warning)
    diff = _table(at, "note").set_index("field")
    assert diff.loc["event_id", "status"] == "❌ different" and "near miss" in diff.loc["event_id", "note"]
    assert diff.loc["user_agent", "status"] == "❌ different"
    assert not at.exception


def test_store_as_server_side_and_bad_upload(app_test) -> None:  # type: ignore[no-untyped-def]
    """Events sent from this console are the default server side; a non-HAR upload is a clear error."""
    body = json.loads(SERVER.read_text())
    with Store(os.environ["TEC_DB"]) as store:
        session = store.create_session("test")
        ids = store.add_outbox(session, body)
        ex_id = store.add_exchange(session, Exchange("POST", "http://127.0.0.1:1/open_api/v1.3/event/track/", {},
                                                     body, status=200,
                                                     response_body={"code": 0, "message": "OK",
                                                                    "request_id": "req-e2e-1"},
                                                     code=0, message="OK", request_id="req-e2e-1"),
                                   row_ids=ids)
        store.settle(ids, "accepted", code=0, exchange_id=ex_id)  # as the outbox settles it
    at = app_test(PAGE).run()
    at.file_uploader(key="compare_pixel_upload").set_value(("shop.har", HAR.read_bytes(), "application/json")).run()
    assert not at.exception and not at.error
    assert len(at.session_state["server_events"]) == 2
    assert _metrics(at)["Merged"] == "1"
    assert at.selectbox(key="compare_pick").value is not None
    assert any("request that carried it" in h.value for h in at.subheader)
    assert "req-e2e-1" in " ".join(str(e.value) for e in (*at.markdown, *at.caption, *at.json, *at.code))

    at.file_uploader(key="compare_pixel_upload").set_value(
        ("broken.har", (FIX / "not_a_har.har").read_bytes(), "application/json")).run()
    assert not at.exception
    assert any("not a HAR" in e.value and "Export HAR" in e.value for e in at.error)


PIXEL_CODE = "C4A1B2C3D4E5F6G7H8I9"


def _upload_both(at, pixel_rows: list[dict], server_events: list[dict]) -> None:  # type: ignore[no-untyped-def]
    """Upload Pixel rows (JSON) and one v1.3 body of `server_events`, then run."""
    at.file_uploader(key="compare_pixel_upload").set_value(
        ("pixel.json", json.dumps(pixel_rows).encode(), "application/json"))
    at.radio(key="compare_server_source").set_value("Upload a file").run()
    body = {"event_source": "web", "event_source_id": PIXEL_CODE, "data": server_events}
    at.file_uploader(key="compare_server_upload").set_value(
        ("server.json", json.dumps(body).encode(), "application/json"))
    at.run()


def _pixel(event: str, event_id: str, t: int = 1_700_000_000, **more: object) -> dict:
    return {"pixel_code": PIXEL_CODE, "event": event, "event_id": event_id, "timestamp": t, **more}


def _server(event: str, event_id: str, t: int = 1_700_000_030, **user: object) -> dict:
    return {"event": event, "event_id": event_id, "event_time": t, "user": dict(user)}


def test_inspect_choice_resets_when_the_data_changes(app_test) -> None:  # type: ignore[no-untyped-def]
    """A key picked in one data set never lingers as the pick (or its label) once other data is loaded."""
    at = app_test(PAGE).run()
    at.button(key="compare_demo").click().run()
    box = at.selectbox(key="compare_pick")
    box.set_value(box.options[1]).run()
    assert at.selectbox(key="compare_pick").value == box.options[1]
    at.radio(key="compare_pixel_source").set_value("Upload a file").run()
    _upload_both(at, [_pixel("Purchase", "ord_1")], [_server("Purchase", "ord_1")])
    box = at.selectbox(key="compare_pick")
    assert not at.exception
    assert box.options == ["Purchase · ord_1 · merged"] and box.value == box.options[0]
    assert any("merged" in m.value for m in at.markdown)


def test_legacy_twin_near_miss_list_and_panel_agree(app_test) -> None:  # type: ignore[no-untyped-def]
    """CompletePayment on the Pixel and Purchase on the server with one event_id: the near-miss list, the
    panel and the field diff all name the legacy twin."""
    at = app_test(PAGE).run()
    _upload_both(at, [_pixel("CompletePayment", "ord_7")], [_server("Purchase", "ord_7")])
    assert not at.exception
    near = _table(at, "detail")
    assert near[["pixel_event", "server_event"]].values.tolist() == [["CompletePayment", "Purchase"]]
    at.selectbox(key="compare_pick").set_value("CompletePayment · ord_7 · pixel only").run()
    assert any("Near miss" in w.value and "ord_7" in w.value for w in at.warning)
    assert any("legacy name of Purchase" in i.value for i in at.info)
    assert not any("no near miss" in i.value.lower() or "names no partner" in i.value for i in at.info)
    diff = _table(at, "note").set_index("field")
    assert diff.loc["event", "status"] == "❌ different" and "legacy name" in diff.loc["event", "note"]
    assert diff.loc["event_id", "status"] == "✅ same"


def test_json_diff_compares_like_with_like(app_test) -> None:  # type: ignore[no-untyped-def]
    """A flat Pixel row and the nested server event compare under the same field names: fields both carry
    are never "pixel only" / "server only"."""
    email = sha256_hex("a@example.com")
    at = app_test(PAGE).run()
    _upload_both(at, [_pixel("Purchase", "ord_1", email=email, value=10, currency="USD")],
                 [{**_server("Purchase", "ord_1", email=email), "properties": {"value": 10, "currency": "USD"}}])
    assert not at.exception
    table = _table(at, "path")
    one_sided = table[table["status"].isin(["pixel only", "server only"])]
    assert not set(one_sided["path"]) & {"event", "event_id", "email", "value", "currency", "pixel_code"}
    assert "event_time" in set(table["path"])  # 30 s apart: a real difference, shown


def test_pixel_only_count_agrees_with_the_table(app_test) -> None:  # type: ignore[no-untyped-def]
    """Pixel events without event_id are counted under "No event_id", as the table labels them."""
    at = app_test(PAGE).run()
    _upload_both(at, [_pixel("Purchase", "ord_1"), _pixel("Purchase", "ord_2"), _pixel("ViewContent", ""),
                      _pixel("ViewContent", "")], [_server("Purchase", "ord_1")])
    assert not at.exception
    metrics, pairs = _metrics(at), _table(at, "reason")
    assert metrics["Pixel only"] == str(pairs["verdict"].str.contains("pixel only").sum()) == "1"
    assert metrics["No event_id"] == "2"


def test_the_request_shown_is_the_copy_tiktok_kept(app_test) -> None:  # type: ignore[no-untyped-def]
    """An event accepted once and re-sent later: the page shows the accepted request, not the re-send."""
    body = {"event_source": "web", "event_source_id": PIXEL_CODE, "data": [_server("Purchase", "ord_1")]}
    url = "http://127.0.0.1:1/open_api/v1.3/event/track/"
    with Store(os.environ["TEC_DB"]) as store:
        for request_id, status, code in (("req-kept", "accepted", 0), ("req-resent", "rejected", 40002)):
            session = store.create_session("test")
            ids = store.add_outbox(session, body)
            ex_id = store.add_exchange(session, Exchange("POST", url, {}, body, status=200, code=code,
                                                         response_body={"code": code, "request_id": request_id},
                                                         message="m", request_id=request_id), row_ids=ids)
            store.settle(ids, status, code=code, exchange_id=ex_id)
    at = app_test(PAGE).run()
    at.file_uploader(key="compare_pixel_upload").set_value(
        ("pixel.json", json.dumps([_pixel("Purchase", "ord_1")]).encode(), "application/json")).run()
    assert not at.exception
    shown = " ".join(str(e.value) for e in (*at.markdown, *at.json))
    assert "req-kept" in shown and "req-resent" not in shown
