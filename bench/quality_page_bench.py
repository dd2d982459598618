"""The Match quality page over a large history database: load, score and rerun times, in AppTest.

    TEC_DB=/tmp/quality-bench.db .venv/bin/python bench/quality_page_bench.py [--events 100000]

TEC_DB must name a database file that does not exist yet: the page reads its settings like the app does,
and the bench never writes into a history that holds real sends (the file is removed at the end). It
holds `--events` stored events in earlier sessions plus `--session-events` (default 1,000) in "this
session". Timed: this session's sends (the default), All history (first run: read and score every
stored event), and a rerun that writes nothing (a slider moved: the history is not read again). Prints
figures only; asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.config import load_settings  # noqa: E402 - after the path set-up above
from core.identity import sha256_hex  # noqa: E402
from core.quality import sent_events_frame  # noqa: E402
from core.store import Store  # noqa: E402

UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"


def _body(start: int, n: int) -> dict[str, Any]:
    return {"event_source": "web", "event_source_id": "C4A1B2C3D4E5F6G7H8I9", "data": [
        {"event": ("Purchase", "ViewContent", "AddToCart")[i % 3], "event_time": 1_700_000_000 + i,
         "event_id": f"ord_{i}", "user": {"email": sha256_hex(f"u{i % 5000}@example.com"), "ip": "8.8.8.8",
                                          "user_agent": UA, "ttp": f"ttp{i % 700:024d}"},
         "properties": {"value": 10.0, "currency": "USD"}} for i in range(start, start + n)]}


def _fill(db: Path, events: int, session_events: int) -> str:
    with Store(db) as store:
        for start in range(0, events, 10_000):
            session = store.create_session("earlier")
            for chunk in range(start, min(start + 10_000, events), 1_000):
                store.add_outbox(session, _body(chunk, min(1_000, events - chunk)))
        mine = store.create_session("this one")
        store.add_outbox(mine, _body(events, session_events))
    return mine


def _timed(label: str, fn: Any) -> Any:
    t0 = time.perf_counter()
    out = fn()
    print(f"  {label:<52} {time.perf_counter() - t0:7.2f} s")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--session-events", type=int, default=1_000)
    args = parser.parse_args()
    from streamlit.testing.v1 import AppTest

    db = load_settings().db_path
    if db.exists():
        sys.exit(f"{db} exists: point TEC_DB at a new file, e.g. TEC_DB=/tmp/quality-bench.db")
    try:
        print(f"{args.events:,} stored events + {args.session_events:,} in this session ({db})")
        mine = _timed("fill the history database", lambda: _fill(db, args.events, args.session_events))
        _timed("sent_events_frame, one session", lambda: sent_events_frame(db, mine))
        frame = _timed("sent_events_frame, all history", lambda: sent_events_frame(db))
        print(f"  ({len(frame):,} rows)")
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
        at.switch_page("pages/5_Match_quality.py")
        at.session_state["send_session_id"] = mine
        _timed("page, this session's sends (first run)", at.run)
        print(f"  Events shown: {next(m.value for m in at.metric if m.label == 'Events')}")
        _timed("page, all history (read + score every event)",
               lambda: at.radio(key="quality_sent_scope").set_value("All history").run())
        print(f"  Events shown: {next(m.value for m in at.metric if m.label == 'Events')}")
        _timed("page rerun, nothing new written (slider moved)",
               lambda: at.slider(key="quality_target_email").set_value(90).run())
        assert not at.exception, at.exception
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
