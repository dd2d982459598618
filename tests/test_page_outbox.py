"""The Outbox page in AppTest: every status listed with its reason in words, retry to the app's emulator,
drop with a confirmation, the CSV download, interrupted recordings, and Home's counts agreeing with the page."""

from __future__ import annotations

import os
from io import StringIO
from pathlib import Path
from typing import Any

import pandas as pd

from core.outbox import REASONS
from core.store import Store
from tests.conftest import download_bytes

PAGE = "pages/7_Outbox.py"
HASH = "848a771458438fc2ec420560d769fb9b9b86851ee338ec56517baabd79d3bb4f"
# event_id -> (status, stored reason)
STATES = {
    "ord_1_purchase": ("pending", "transient"),
    "ord_2_purchase": ("blocked", "token"),
    "ord_3_purchase": ("rejected", "invalid"),
    "ord_4_purchase": ("held", "lint: event.currency.unknown at data[3].properties.currency: XXX is no currency"),
    "ord_5_purchase": ("accepted", None),
}


def _event(event_id: str) -> dict[str, Any]:
    return {"event": "Purchase", "event_time": 1735689600, "event_id": event_id,
            "user": {"email": [HASH], "ip": "203.0.113.7", "user_agent": "Mozilla/5.0"},
            "properties": {"currency": "USD", "value": 46.0}}


def seed_outbox() -> dict[str, Any]:
    """A session with one event in each status, and a second session whose recording was interrupted."""
    with Store(Path(os.environ["TEC_DB"])) as store:
        sid = store.create_session("seeded", target="emulator")
        ids = store.add_outbox(sid, {"event_source": "web", "event_source_id": "CPIXEL123",
                                     "data": [_event(e) for e in STATES]})
        for row_id, (status, reason) in zip(ids, STATES.values(), strict=True):
            store.settle([row_id], status, reason=reason, code=40002 if status == "rejected" else None,
                         error="Invalid value for data.0.properties" if status == "rejected" else None)
        broken = store.create_session("cli send big.jsonl", target="custom", input_key="k" * 64, input_events=10)
        store.add_outbox(broken, {"event_source": "web", "event_source_id": "CPIXEL123",
                                  "data": [_event("ord_9_purchase")]})
    return {"session": sid, "interrupted": broken}


def rows(at: Any) -> pd.DataFrame:
    return at.get_by_key("outbox_rows").dataframe[0].value


def metrics(at: Any) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_every_status_listed_with_its_reason_in_words(app_test: Any) -> None:
    """Waiting events are listed by default with the reason in words; accepted ones on request; filters narrow."""
    seeded = seed_outbox()
    at = app_test(PAGE).run()
    assert not at.exception
    listed = rows(at).set_index("event_id")
    assert set(listed.index) == {"ord_1_purchase", "ord_2_purchase", "ord_3_purchase", "ord_4_purchase",
                                 "ord_9_purchase"}
    for event_id in ("ord_1_purchase", "ord_2_purchase", "ord_3_purchase"):
        status, reason = STATES[event_id]
        assert listed.loc[event_id, "status"] == status
        assert listed.loc[event_id, "why"] == REASONS[str(reason)]
    assert listed.loc["ord_4_purchase", "why"].startswith(REASONS["lint"])
    assert "event.currency.unknown" in listed.loc["ord_4_purchase", "why"]
    at.multiselect(key="outbox_filter_status").set_value(["accepted"]).run()
    assert list(rows(at)["event_id"]) == ["ord_5_purchase"]
    at.multiselect(key="outbox_filter_status").set_value(["pending", "blocked", "rejected", "held"]).run()
    at.multiselect(key="outbox_filter_reason").set_value(["token"]).run()
    assert list(rows(at)["event_id"]) == ["ord_2_purchase"]
    at.multiselect(key="outbox_filter_reason").set_value([]).run()
    at.selectbox(key="outbox_filter_session").set_value(seeded["interrupted"]).run()
    assert list(rows(at)["event_id"]) == ["ord_9_purchase"]
    at.selectbox(key="outbox_filter_session").set_value("(all sessions)").run()
    at.text_input(key="outbox_filter_event_id").input("ord_3").run()
    assert list(rows(at)["event_id"]) == ["ord_3_purchase"]
    assert not at.exception


def test_interrupted_recording_says_the_same_send_resumes_it(app_test: Any) -> None:
    """A session whose recording was interrupted is named, with the CLI send that resumes it."""
    seeded = seed_outbox()
    at = app_test(PAGE).run()
    warning = " ".join(w.value for w in at.warning)
    assert seeded["interrupted"] in warning and "same `tiktok-events send` again" in warning
    sessions = at.get_by_key("outbox_sessions").dataframe[0].value.set_index("session_id")
    assert sessions.loc[seeded["session"], "recording"] == "recorded"
    assert sessions.loc[seeded["interrupted"], "recording"] == "interrupted: run the same send again"
    assert rows(at).set_index("event_id").loc["ord_9_purchase", "why"].startswith("recorded, not sent yet")
    assert sessions.loc[seeded["session"], "rejected"] == 1


def test_retry_delivers_to_the_apps_emulator(app_test: Any) -> None:
    """Retry sends pending and blocked events to the app's emulator; the checkbox adds refused and held ones."""
    from ui.exchange import emulator_server

    seed_outbox()
    at = app_test(PAGE).run()
    emulator_server().clear()
    at.button(key="outbox_retry").click().run()
    assert not at.exception, [e.value for e in at.exception]
    received = sorted(e["event_id"] for e in emulator_server().received_events())
    assert received == ["ord_1_purchase", "ord_2_purchase", "ord_9_purchase"]
    assert any("Resent 3 event(s): 3 accepted" in s.value for s in at.success)
    assert metrics(at)["Events accepted"] == "4" and metrics(at)["Blocked (token)"] == "0"

    at.checkbox(key="outbox_retry_rejected").check().run()
    at.button(key="outbox_retry").click().run()
    received = sorted(e["event_id"] for e in emulator_server().received_events())
    assert received == ["ord_1_purchase", "ord_2_purchase", "ord_3_purchase", "ord_4_purchase", "ord_9_purchase"]
    assert metrics(at)["Rejected"] == "0" and metrics(at)["Held back"] == "0"
    assert metrics(at)["Events accepted"] == "6"


def test_drop_needs_a_confirmation_and_removes_refused_and_held(app_test: Any) -> None:
    """Drop opens a confirmation; Cancel keeps the events, Yes drops the refused and held ones listed."""
    seed_outbox()
    at = app_test(PAGE).run()
    at.button(key="outbox_drop").click().run()
    assert any("leave the outbox for good" in m.value for m in at.markdown)
    at.button(key="outbox_drop_cancel").click().run()
    assert metrics(at)["Rejected"] == "1"
    at.button(key="outbox_drop").click().run()
    at.button(key="outbox_drop_yes").click().run()
    assert not at.exception
    assert any("Dropped 2 event(s)" in s.value for s in at.success)
    assert metrics(at)["Rejected"] == "0" and metrics(at)["Held back"] == "0"
    assert {"ord_3_purchase", "ord_4_purchase"}.isdisjoint(rows(at)["event_id"])
    with Store(Path(os.environ["TEC_DB"])) as store:
        assert store.outbox_counts()["dropped"] == 2


def test_download_holds_the_listed_rows(app_test: Any, media: list[Any]) -> None:
    """The CSV download is of the rows listed: every listed event_id with its status and reason."""
    seed_outbox()
    at = app_test(PAGE).run()
    at.multiselect(key="outbox_filter_status").set_value(["rejected", "held", "accepted"]).run()
    text = download_bytes(at, "outbox_download", media).decode("utf-8")
    back = pd.read_csv(StringIO(text))
    assert list(back["event_id"]) == ["ord_3_purchase", "ord_4_purchase", "ord_5_purchase"]
    assert list(back["event_id"]) == list(rows(at)["event_id"])
    assert back.set_index("event_id").loc["ord_3_purchase", "reason"] == "invalid"
    assert back.set_index("event_id").loc["ord_3_purchase", "why"] == REASONS["invalid"]
    assert "ord_1_purchase" not in text


def test_home_counts_equal_the_outbox_page(app_test: Any) -> None:
    """Home's metrics (pending, blocked, rejected, held, accepted) are the Outbox page's."""
    seed_outbox()
    home = app_test().run()
    page = app_test(PAGE).run()
    labels = ["Events accepted", "Waiting in outbox", "Blocked (token)", "Rejected", "Held back"]
    assert {k: metrics(home)[k] for k in labels} == {k: metrics(page)[k] for k in labels}
    assert metrics(page)["Waiting in outbox"] == "2" and metrics(page)["Events accepted"] == "1"
