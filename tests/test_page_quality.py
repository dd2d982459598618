"""Match quality page (AppTest): sources, the headline proxy, tables, what-if sliders, Pixel verdicts."""

from __future__ import annotations

import json
import os

import pytest

from core.identity import sha256_hex
from core.quality import KEYS, LABEL, score_text
from core.review import build_review, what_if

PAGE = "pages/5_Match_quality.py"
UA = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 "
      "Safari/537.36")
BODY = {"event_source": "web", "event_source_id": "C4A1B2C3D4E5F6G7H8I9", "data": [
    {"event": "Purchase", "event_time": 1700000000, "event_id": "ord_1",
     "user": {"email": sha256_hex("a@example.com"), "phone": sha256_hex("+12133734253"),
              "ip": "8.8.8.8", "user_agent": UA}},
    {"event": "Purchase", "event_time": 1700000060, "event_id": "ord_2",
     "user": {"email": "b@example.com", "ip": "10.0.0.1", "user_agent": "python-requests/2.32"}},
    {"event": "ViewContent", "event_time": 1700000120, "event_id": "vc_1",
     "user": {"ttp": "2F7h37YkS1j57AYSKTI7IHhJPYH", "user_agent": UA}},
]}


def _frame(at, column: str):  # type: ignore[no-untyped-def]
    """The first st.dataframe whose value has `column`."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def test_paste_review_what_if_and_errors(app_test) -> None:  # type: ignore[no-untyped-def]
    """Pasted bodies are scored: headline proxy, heat map, reasons, recommendations, what-if, CSV button."""
    at = app_test(PAGE).run()
    assert not at.exception
    assert at.title[0].value == "Match quality"
    assert any("No events sent in this session" in i.value for i in at.info)  # a guard, not a traceback

    text = json.dumps(BODY)
    expected = build_review(score_text(text))
    at.radio(key="quality_source").set_value("Paste JSON").run()
    at.text_area(key="quality_text").set_value(text).run()
    assert not at.exception and not at.error
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["EMQ proxy (mean)"] == f"{expected.summary['mean_score']:.2f} / 10"
    assert metrics["Events"] == "3"
    assert any("TikTok's EMQ is not published" in c.value for c in at.caption)
    assert all("EMQ proxy" in m.label or "EMQ" not in m.label for m in at.metric)

    charts = {json.loads(c.proto.spec)["data"][0]["type"]: json.loads(c.proto.spec) for c in at.get("plotly_chart")}
    assert {"heatmap", "bar"} <= set(charts)
    heat = charts["heatmap"]["data"][0]
    assert heat["z"][-1] == pytest.approx([expected.summary["coverage"][k] for k in KEYS])  # "All events" on top

    events = _frame(at, "next_key")
    assert events["score"].tolist() == expected.per_event["score"].tolist()
    assert events["email_reason"].tolist() == ["", "unhashed", "missing"]
    invalid = _frame(at, "points_lost")
    assert set(zip(invalid["key"], invalid["reason"], strict=True)) >= {("email", "unhashed"), ("ip", "private"),
                                                                         ("user_agent", "server_library")}
    recs = _frame(at, "advice")
    assert recs["gain"].tolist() == sorted(recs["gain"], reverse=True) and len(recs) > 0
    assert all(LABEL in a for a in recs["advice"])
    at.selectbox(key="quality_scope").set_value("ViewContent").run()
    assert set(_frame(at, "advice")["key"]) <= set(KEYS)
    hist = next(json.loads(c.proto.spec) for c in at.get("plotly_chart")
                if "distribution" in json.loads(c.proto.spec)["layout"]["title"]["text"])
    assert "ViewContent (1 events)" in hist["layout"]["title"]["text"] and sum(hist["data"][0]["y"]) == 1

    at.slider(key="quality_target_phone").set_value(100).run()
    at.slider(key="quality_target_email").set_value(0).run()
    projection = _frame(at, "projected_mean").set_index("event")
    targets = {k: at.slider(key=f"quality_target_{k}").value / 100 for k in KEYS}
    want = what_if(expected, targets).set_index("event")
    assert targets["phone"] == 1.0
    assert projection["projected_mean"].tolist() == pytest.approx(want["projected_mean"].tolist())
    assert at.download_button(key="quality_download") is not None

    at.text_area(key="quality_text").set_value('{"event_source": "web", "data": [').run()
    assert not at.exception
    assert "not valid JSON" in at.error[0].value and "Check for a missing comma" in at.error[0].value


def test_sent_events_and_pixel_verdicts_from_a_har(app_test) -> None:  # type: ignore[no-untyped-def]
    """This session's sends are reviewed by default; an uploaded HAR shows TikTok's verdicts beside ours."""
    from core.store import Store

    with Store(os.environ["TEC_DB"]) as store:
        session = store.create_session("test")
        store.add_outbox(session, BODY)
    at = app_test(PAGE)
    at.session_state["send_session_id"] = session
    at.run()
    assert not at.exception and not at.info
    assert {m.label: m.value for m in at.metric}["Events"] == "3"
    assert any("No Pixel rows" in c.value for c in at.caption)

    labels = {"hashed_email": {"label": "valid"}, "raw_phone": {"label": "invalid",
                                                                 "abnormal_types": ["invalid_country"]}}
    hits = [{"event": "Purchase", "event_id": f"ord_{i}", "timestamp": "2026-06-29T17:47:07.730Z",
             "context": {"pixel": {"code": "C4A1B2C3D4E5F6G7H8I9"}, "page": {"url": "https://shop.example/ok"},
                         "user": {"email": sha256_hex(f"u{i}@example.com")}, "userAgent": UA},
             "signal_diagnostic_labels": labels} for i in range(4)]
    har = {"log": {"version": "1.2", "entries": [
        {"request": {"method": "POST", "url": "https://analytics.tiktok.com/api/v2/pixel", "headers": [],
                     "postData": {"mimeType": "text/plain", "text": json.dumps(h)}},
         "response": {"status": 200}} for h in hits]}}
    at.radio(key="quality_source").set_value("Upload file").run()
    at.file_uploader(key="quality_upload").set_value(("hits.har", json.dumps(har).encode(), "application/json"))
    at.run()
    assert not at.exception and not at.error
    assert {m.label: m.value for m in at.metric}["Events"] == "4"
    verdicts = _frame(at, "tiktok_valid").set_index("key")
    assert verdicts.loc["email", "ours_valid"] == 1.0 and verdicts.loc["email", "tiktok_valid"] == 1.0
    assert verdicts.loc["phone", "tiktok_invalid"] == 1.0 and verdicts.loc["phone", "ours_valid"] == 0.0
    per_signal = _frame(at, "abnormal_types")
    assert per_signal.set_index("signal").loc["raw_phone", "abnormal_types"] == "invalid_country"

    at.file_uploader(key="quality_upload").set_value(("orders.csv", b"order,total\n1,9.5\n", "text/csv")).run()
    assert not at.exception
    assert "orders.csv lacks the column(s)" in at.error[0].value and "event_source_id" in at.error[0].value


def test_sent_events_are_scoped_to_this_session(app_test) -> None:  # type: ignore[no-untyped-def]
    """Earlier sessions' events are not "this session's": they count only under the explicit All history."""
    from core.store import Store

    with Store(os.environ["TEC_DB"]) as store:
        for _ in range(3):
            store.add_outbox(store.create_session("earlier"), BODY)
        session = store.create_session("this one")
        store.add_outbox(session, {**BODY, "data": BODY["data"][:1]})
    at = app_test(PAGE).run()  # a fresh console: nothing sent in this session
    assert not at.exception and not at.metric
    assert any("No events sent in this session" in i.value and "All history" in i.value for i in at.info)
    at.radio(key="quality_sent_scope").set_value("All history").run()
    assert {m.label: m.value for m in at.metric}["Events"] == "10"

    at = app_test(PAGE)
    at.session_state["send_session_id"] = session
    at.run()
    assert at.radio(key="quality_sent_scope").value == "This session's sends"
    assert {m.label: m.value for m in at.metric}["Events"] == "1"
    with Store(os.environ["TEC_DB"]) as store:  # a send later in the session is picked up on the next run
        store.add_outbox(session, {**BODY, "data": BODY["data"][1:]})
    at.run()
    assert {m.label: m.value for m in at.metric}["Events"] == "3"
    at.radio(key="quality_sent_scope").set_value("All history").run()
    assert {m.label: m.value for m in at.metric}["Events"] == "12"


def test_per_event_csv_download_carries_no_live_formula(app_test, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Event names planted as formulas reach the per-event CSV download quoted, never live."""
    import csv
    import io

    import streamlit as st

    from core.export import is_formula_like

    downloads: dict[str, object] = {}
    real = st.download_button

    def spy(label: str, data: object = None, *args: object, **kwargs: object) -> object:
        downloads[str(kwargs.get("key"))] = data
        return real(label, data, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(st, "download_button", spy)
    planted = ['=HYPERLINK("http://x")', "=1+1", "@SUM(A1)", "+1", "-2+3"]
    body = {**BODY, "data": [{**BODY["data"][0], "event": name, "event_id": f"e{i}"} for i, name in enumerate(planted)]}
    at = app_test(PAGE).run()
    at.radio(key="quality_source").set_value("Paste JSON").run()
    at.text_area(key="quality_text").input(json.dumps(body)).run()
    assert not at.exception
    data = downloads["quality_download"]
    raw = data() if callable(data) else data
    cells = [c for row in csv.reader(io.StringIO(raw.decode("utf-8"), newline="")) for c in row]
    assert {f"'{name}" for name in planted} <= set(cells)
    assert not [c for c in cells if is_formula_like(c) and not c.lstrip("+-").replace(".", "", 1).isdigit()]


def test_history_is_read_again_only_after_new_sends(app_test, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Moving a slider does not re-read the history database; a new send does."""
    from core import quality
    from core.store import Store

    with Store(os.environ["TEC_DB"]) as store:
        session = store.create_session("this one")
        store.add_outbox(session, BODY)
    reads: list[str | None] = []
    real = quality.sent_events_frame
    monkeypatch.setattr(quality, "sent_events_frame", lambda db, sid=None: reads.append(sid) or real(db, sid))
    at = app_test(PAGE)
    at.session_state["send_session_id"] = session
    at.run()
    at.slider(key="quality_target_email").set_value(90).run()
    at.slider(key="quality_target_phone").set_value(90).run()
    assert reads == [session] and not at.exception
    with Store(os.environ["TEC_DB"]) as store:
        store.add_outbox(session, BODY)
    at.run()
    assert reads == [session, session]
    assert {m.label: m.value for m in at.metric}["Events"] == "6"
