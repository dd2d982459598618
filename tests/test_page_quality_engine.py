"""Match quality page (AppTest): uploads are spooled to a file and reviewed on the engine, Parquet included."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core.quality import KEYS, load_quality_input, score_frame
from core.review import build_review
from tests.samples import GOOD, UA

PAGE = "pages/5_Match_quality.py"


def _events(n: int) -> pd.DataFrame:
    """n server events: keys valid, invalid or absent in a fixed pattern, three event types."""
    return pd.DataFrame({"event_source_id": "C1", "event": [("Purchase", "ViewContent", "AddToCart")[i % 3]
                                                             for i in range(n)],
                         "event_id": [f"e{i}" for i in range(n)], "event_time": [1_700_000_000 + i for i in range(n)],
                         "email": [GOOD["email"] if i % 2 else ("a@b.co" if i % 5 == 0 else "") for i in range(n)],
                         "ip": [("8.8.8.8", "10.0.0.1", "2606:4700::1111", "")[i % 4] for i in range(n)],
                         "user_agent": [UA if i % 7 else "curl/8.5.0" for i in range(n)]})


def test_upload_is_reviewed_on_the_engine(app_test, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A CSV and the same events as Parquet: score_frame's figures, a page of the first 500 events, no error."""
    frame = _events(700)
    frame.to_csv(tmp_path / "month.csv", index=False)
    expected = build_review(score_frame(load_quality_input(tmp_path / "month.csv"))).summary
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), sink)
    at = app_test(PAGE).run()
    at.radio(key="quality_source").set_value("Upload file").run()
    for name, data in (("month.csv", (tmp_path / "month.csv").read_bytes()), ("month.parquet", sink.getvalue())):
        at.file_uploader(key="quality_upload").set_value((name, data, "application/octet-stream")).run()
        assert not at.exception and not at.error
        metrics = {m.label: m.value for m in at.metric}
        assert metrics["Events"] == "700" and metrics["EMQ proxy (mean)"] == f"{expected['mean_score']:.2f} / 10"
        events = next(d.value for d in at.dataframe if "next_key" in d.value.columns)
        assert len(events) == 500 and events["index"].tolist() == list(range(500))
        worst = [d.value for d in at.dataframe if "next_key" in d.value.columns][1]  # the whole upload's lowest
        assert len(worst) == 100 and worst["score"].is_monotonic_increasing
        assert worst["score"].iloc[0] == min(build_review(score_frame(frame.astype(str))).per_event["score"])
        heat = next(json.loads(c.proto.spec)["data"][0] for c in at.get("plotly_chart")
                    if json.loads(c.proto.spec)["data"][0]["type"] == "heatmap")
        assert heat["z"][-1] == pytest.approx([expected["coverage"][k] for k in KEYS])  # "All events" on top
        assert any("No Pixel rows" in c.value for c in at.caption)
