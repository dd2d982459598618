"""The Send page in AppTest: send to the in-process emulator, see the pair, the decoded code and the history."""

from __future__ import annotations

import json
from typing import Any

import pytest

PAGE = "pages/3_Send.py"
HASH = "848a771458438fc2ec420560d769fb9b9b86851ee338ec56517baabd79d3bb4f"


def body(n: int = 2, **top: Any) -> dict[str, Any]:
    return {"event_source": "web", "event_source_id": "CPIXEL123", **top,
            "data": [{"event": "Purchase", "event_time": 1735689600, "event_id": f"ord_{i}",
                      "user": {"email": [HASH], "ip": "203.0.113.7", "user_agent": "Mozilla/5.0"},
                      "properties": {"currency": "USD", "value": 46.0}} for i in range(n)]}


def frame(at: Any, key: str) -> Any:
    """The table inside the keyed container `key`."""
    return at.get_by_key(key).dataframe[0].value


def texts(at: Any) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [e.value for e in at.error]
    parts += [s.value for s in at.success] + [w.value for w in at.warning] + [i.value for i in at.info]
    return "\n".join(str(p) for p in parts)


def test_send_built_body_to_emulator(app_test: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The built body goes to the emulator with the sidebar's test code; the pair, code 0 and history show."""
    monkeypatch.setenv("TEC_TEST_EVENT_CODE", "TEST777")
    at = app_test(PAGE)
    at.session_state["built_body"] = body(2)
    at.run()
    assert not at.exception
    assert "local emulator" in texts(at) and "test event code `TEST777`" in texts(at)
    at.button(key="send_go").click().run()
    assert not at.exception
    shown = texts(at)
    assert "2/2 event(s) accepted" in shown and "code `0` OK" in shown
    request = json.loads(at.json[1].value)
    response = json.loads(at.json[3].value)
    assert request["test_event_code"] == "TEST777" and [e["event_id"] for e in request["data"]] == ["ord_0", "ord_1"]
    assert response["code"] == 0 and response["request_id"] in shown
    assert json.loads(at.json[0].value)["Access-Token"] == "***redacted***"
    curl = at.get_by_key("send_curl")
    assert curl is not None
    assert any("$TIKTOK_ACCESS_TOKEN" in c.value and "emulator-token" not in c.value for c in at.code)
    history = frame(at, "send_history")
    assert list(history["event_id"]) == ["ord_0", "ord_1"] and set(history["status"]) == {"accepted"}
    received = frame(at, "send_received")
    assert sorted(received["event_id"]) == ["ord_0", "ord_1"] and not received["deduplicated"].any()
    assert at.download_button(key="send_download") is not None
    # sending again: the emulator flags both as deduplicated, the history filter narrows to one event_id
    at.button(key="send_go").click().run()
    assert frame(at, "send_received")["deduplicated"].sum() == 2
    at.text_input(key="send_filter_event_id").input("ord_1").run()
    assert list(frame(at, "send_history")["event_id"]) == ["ord_1", "ord_1"]
    at.multiselect(key="send_filter_status").select("rejected").run()
    assert frame(at, "send_history").empty


def test_paste_errors_and_live_confirmation(app_test: Any) -> None:
    """Bad JSON is a clear error; without a test code sending waits for the dialog naming the Pixel."""
    at = app_test(PAGE).run()
    assert "Nothing built yet" in texts(at)
    at.radio(key="send_source").set_value("Paste JSON").run()
    at.text_area(key="send_text").input('{"data": [').run()
    assert not at.exception and "not valid JSON" in texts(at)
    assert len(at.button) == 0 or not any(b.key == "send_go" for b in at.button)
    at.text_area(key="send_text").input(json.dumps(body(1))).run()
    assert "no test event code (live)" in texts(at)
    at.button(key="send_go").click().run()
    assert "CPIXEL123" in texts(at) and "without a test event code" in texts(at)
    assert "Result" not in [s.value for s in at.subheader]
    at.button(key="send_confirm_live").click().run()
    assert not at.exception
    assert "1/1 event(s) accepted" in texts(at)
    assert "live (no test event code)" in texts(at)
    assert list(frame(at, "send_received")["event_id"]) == ["ord_0"]


def test_upload_jsonl_and_rejection_shown(app_test: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """An uploaded JSONL of bare events uses the sidebar Pixel; a 40002 naming one event rejects only that one."""
    monkeypatch.setenv("TEC_TEST_EVENT_CODE", "TESTUP")
    monkeypatch.setenv("TEC_PIXEL_CODE", "CUPLOAD")
    at = app_test(PAGE).run()
    at.radio(key="send_source").set_value("Upload JSON/JSONL").run()
    lines = "\n".join(json.dumps(e) for e in body(3)["data"])
    at.file_uploader(key="send_upload").set_value(("events.jsonl", lines.encode(), "application/json")).run()
    assert "3 event(s) in 1 body(ies)" in texts(at)
    from ui.exchange import emulator_server

    emulator_server().set_fault("code", code=40002, message="Invalid value for data.0.event_id: not a valid string.")
    at.button(key="send_go").click().run()
    assert not at.exception
    shown = texts(at)
    assert "2/3 event(s) accepted" in shown and "PARAM_ERROR" in shown and "data.0.event_id" in shown
    history = frame(at, "send_history")
    assert sorted(history["status"]) == ["accepted", "accepted", "rejected"]
    assert list(frame(at, "send_not_accepted")["event_id"]) == [body(3)["data"][0]["event_id"]]


def test_a_large_request_offers_curl_with_a_body_file(app_test: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 1,000-event request: the page shows a short cURL reading body.json and offers the body as a download;
    it never prints the whole body inline (a command that long cannot run)."""
    monkeypatch.setenv("TEC_TEST_EVENT_CODE", "TESTBIG")
    at = app_test(PAGE)
    at.session_state["built_body"] = body(1000)
    at.run()
    at.button(key="send_go").click().run()
    assert not at.exception
    commands = [c.value for c in at.code if "curl" in c.value]
    assert commands and all(len(c) < 2000 for c in commands)
    assert any("--data @body.json" in c for c in commands)
    assert at.get_by_key("send_curl_body") is not None
    assert all(len(j.value) < 20_000 for j in at.json)  # the request shows a short preview, not 1,000 events
