"""The golden path offline in AppTest: send on the Send page, simulate the browser Pixel, see "merged" on Compare."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pytest

HASH = "848a771458438fc2ec420560d769fb9b9b86851ee338ec56517baabd79d3bb4f"


def built_body() -> dict[str, Any]:
    return {"event_source": "web", "event_source_id": "CPIXEL123",
            "data": [{"event": "Purchase", "event_time": 1735689600, "event_id": "ord_10492_purchase",
                      "user": {"email": [HASH], "ip": "203.0.113.7", "user_agent": "Mozilla/5.0"},
                      "page": {"url": "https://shop.example/thanks"},
                      "properties": {"currency": "USD", "value": 129.99}}]}


def test_send_then_simulated_pixel_merges_on_compare(app_test: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """One click after a send makes the Pixel twin; Compare reads it by default, labelled simulated, and merges."""
    monkeypatch.setenv("TEC_TEST_EVENT_CODE", "TEST777")
    at = app_test("pages/3_Send.py")
    at.session_state["built_body"] = built_body()
    at.run()
    at.button(key="send_go").click().run()
    assert not at.exception
    at.button(key="send_simulate_pixel").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Simulated 1 browser Pixel event(s)" in s.value for s in at.success)

    at.switch_page("pages/4_Compare.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("**simulated** browser Pixel event(s)" in c.value for c in at.caption)
    assert {m.label: m.value for m in at.metric}["Merged"] == "1"
    pairs: pd.DataFrame = next(d.value for d in at.dataframe if "reason" in d.value.columns)
    row = pairs.set_index("event_id").loc["ord_10492_purchase"]
    assert row["verdict"] == "🟢 merged" and 0.3 <= row["delta_s"] <= 3.0
    assert at.selectbox(key="compare_pick").options == ["Purchase · ord_10492_purchase · merged"]
    pixel_doc = json.loads(at.json[0].value)
    assert pixel_doc["source"] == "pixel (simulated)" and pixel_doc["partner"] == "simulated"
