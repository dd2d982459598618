"""The store's live-session parts: exchange sources, a user-given session id, Pixel hits, relay events."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import core.store as store_module
from core.errors import InvalidInput, StoreError
from core.exchange import Attempt, Exchange
from core.store import MIGRATIONS, Store, redact_url

HASH = "848a771458438fc2ec420560d769fb9b9b86851ee338ec56517baabd79d3bb4f"
RAW_EMAIL = "carol.live@example.com"
RAW_PHONE = "+14155550123"


def body(event_id: str = "ord_1", user: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"event_source": "web", "event_source_id": "CPIX",
            "data": [{"event": "Purchase", "event_time": 1735689600, "event_id": event_id,
                      "user": user or {"email": HASH}}]}


def exchange(b: dict[str, Any], *, started_at: float = 1700000000.0, code: int = 0) -> Exchange:
    return Exchange("POST", "http://127.0.0.1:9/open_api/v1.3/event/track/", {"Access-Token": "REDACTED"}, b,
                    status=200, code=code, message="OK", request_id="r1", started_at=started_at,
                    attempts=[Attempt(started_at=started_at, latency_ms=3.0, status=200, code=code)], latency_ms=3.0)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "console.db") as s:
        yield s


def test_v4_file_migrates_and_old_exchanges_read_as_console(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file at schema 4 (rows written as the console wrote them before) migrates; its exchanges are console's."""
    path = tmp_path / "v4.db"
    monkeypatch.setattr(store_module, "MIGRATIONS", MIGRATIONS[:4])
    with Store(path) as old:
        assert old.schema_version == 4
        sid = old.create_session("before")
        record = exchange(body()).to_dict()
        record.pop("source")
        old._db.execute(
            "INSERT INTO exchanges (session_id, created_at, url, status, code, message, request_id, outcome, "
            "attempts, latency_ms, event_count, error, batch_id, record, row_ids) "
            "VALUES (?, 1.0, 'http://x/open_api/v1.3/event/track/', 200, 0, 'OK', 'r0', 'accepted', 1, 3.0, 1, "
            "NULL, NULL, ?, NULL)", (sid, json.dumps(record)))
    monkeypatch.undo()
    with Store(path) as new:
        assert new.schema_version == len(MIGRATIONS) == 6
        [ex] = new.exchanges(sid)
        assert ex.source == "console" and ex.request_id == "r1" and ex.event_count == 1
        assert new.exchanges(sid, source="relay") == []
        assert new.exchange_findings([ex.id or 0]) == {ex.id: None}
        assert new.pixel_hits(sid) == []


def test_add_exchange_keeps_source_and_findings(store: Store) -> None:
    """An exchange keeps who made it and its findings (messages redacted); `source` and `since_id` filter."""
    sid = store.create_session("s")
    first = store.add_exchange(sid, exchange(body("a")))
    finding = {"severity": "error", "code": "raw_email", "path": "data[0].user.email",
               "message": f"{RAW_EMAIL} is not hashed", "fix": "hash it"}
    second = store.add_exchange(sid, exchange(body("b")), source="relay", findings=[finding])
    assert [e.source for e in store.exchanges(sid)] == ["console", "relay"]
    assert [e.id for e in store.exchanges(sid, source="relay")] == [second]
    assert [e.id for e in store.exchanges(sid, since_id=first)] == [second]
    kept = store.exchange_findings([first, second])
    assert kept[first] is None
    assert kept[second] == [{**finding, "message": "[redacted] is not hashed"}]
    with pytest.raises(StoreError, match="source"):
        store.add_exchange(sid, exchange(body()), source="browser")


def test_session_get_or_create(store: Store) -> None:
    """A user-given session id is created once and then reused; a bad one is named with the fix."""
    assert store.create_session("live", session_id="live-1") == "live-1"
    assert store.create_session("again", session_id="live-1") == "live-1"
    assert store.session("live-1") is not None and store.session("live-1").label == "live"  # type: ignore[union-attr]
    assert len([s for s in store.sessions() if s["id"] == "live-1"]) == 1
    for bad in ("", "has space", "x" * 101, "a/b"):
        with pytest.raises(InvalidInput, match="Session id"):
            store.create_session(session_id=bad)


def test_pixel_hits_scrubbed_and_incremental(store: Store) -> None:
    """Pixel hits are kept without raw email/phone, URLs redacted, read back in order and from an id on."""
    rows = [
        {"pixel_code": "CPIX", "event": "ViewContent", "event_id": "v1", "timestamp": 1.7e9,
         "url": "https://shop.test/p?ttclid=abc", "email": HASH, "captured_at": 1700000000123},
        {"pixel_code": "CPIX", "event": "Purchase", "event_id": "o1", "value": float("nan"),
         "url": f"https://shop.test/thanks?email={RAW_EMAIL.replace('@', '%40')}&ok=1",
         "page_url": f"https://shop.test/thanks/{RAW_EMAIL}", "email": RAW_EMAIL, "phone": RAW_PHONE,
         "properties": {"contact": RAW_PHONE, "order": "o1"}},
    ]
    assert store.add_pixel_hits("live-2", rows) == 2
    assert store.session("live-2") is not None
    hits = store.pixel_hits("live-2")
    assert [h["event_id"] for h in hits] == ["v1", "o1"]
    assert hits[0]["captured_at"] == 1700000000123 and hits[0]["email"] == HASH
    assert hits[0]["url"] == "https://shop.test/p?ttclid=abc"
    second = hits[1]
    assert "email" not in second and "phone" not in second and second["value"] is None
    assert second["url"] == "https://shop.test/thanks?email=[redacted]&ok=1"
    assert second["page_url"] == "https://shop.test/thanks/[redacted]"
    assert second["properties"] == {"order": "o1"}
    assert second["captured_at"] > 1.7e12  # stamped on arrival
    assert [h["event_id"] for h in store.pixel_hits("live-2", since_id=hits[0]["id"])] == ["o1"]
    data = store.path.read_bytes() + Path(f"{store.path}-wal").read_bytes()
    assert RAW_EMAIL.encode() not in data and RAW_EMAIL.replace("@", "%40").encode() not in data
    assert RAW_PHONE.encode() not in data


def test_server_events_include_relay_with_received_time(store: Store) -> None:
    """Relay-recorded bodies appear in server_events with their received time; since_exchange_id polls."""
    sid = store.create_session(session_id="live-3")
    rows = store.add_outbox(sid, body("console_1"))
    console_ex = store.add_exchange(sid, exchange(body("console_1")), row_ids=rows)
    store.settle(rows, "accepted", code=0, exchange_id=console_ex)
    legacy = {"pixel_code": "CPIX", "event": "Purchase", "event_id": "relay_2", "timestamp": "2026-01-01T00:00:00Z",
              "context": {"user": {"email": RAW_EMAIL}}}
    r1 = store.add_exchange(sid, exchange(body("relay_1", {"email": RAW_EMAIL}), started_at=1700000001.5),
                            source="relay")
    r2 = store.add_exchange(sid, exchange(legacy, started_at=1700000002.0, code=40002), source="relay")
    bodies = store.server_events(sid)
    assert [b.get("received_at") for b in bodies] == [None, 1700000001.5, 1700000002.0]
    assert bodies[1]["data"][0]["event_id"] == "relay_1" and "email" not in bodies[1]["data"][0]["user"]
    assert bodies[2]["event_id"] == "relay_2" and bodies[2]["exchange_id"] == r2
    assert [b["data"][0]["event_id"] for b in store.server_events(sid, accepted_only=True)] == ["console_1", "relay_1"]
    polled = store.server_events(sid, since_exchange_id=console_ex)
    assert [b["exchange_id"] for b in polled] == [r1, r2]
    assert store.server_events(sid, since_exchange_id=r2) == []
    assert store.server_events(sid, since_exchange_id=console_ex - 1)[0]["data"][0]["event_id"] == "console_1"


@pytest.mark.parametrize(("url", "expected"), [
    ("https://s.test/a?x=1", "https://s.test/a?x=1"),
    ("https://s.test/a?em=bob%40ex.com", "https://s.test/a?em=[redacted]"),
    ("https://s.test/a?phone=4155550123&b=2", "https://s.test/a?phone=[redacted]&b=2"),
    (f"https://s.test/a?email={HASH}", f"https://s.test/a?email={HASH}"),
    ("https://s.test/u/bob@ex.com/x", "https://s.test/u/[redacted]/x"),
    ("https://s.test/u/bob%40ex.com/x", "https://s.test/u/[redacted]/x"),
])
def test_redact_url(url: str, expected: str) -> None:
    """Emails and phones leave a URL wherever they sit; hashes and ordinary parameters stay."""
    assert redact_url(url) == expected


def test_fresh_file_has_live_tables(tmp_path: Path) -> None:
    """A fresh file has the Pixel hits table and the indexes live polling reads through."""
    with Store(tmp_path / "x.db"):
        pass
    db = sqlite3.connect(tmp_path / "x.db")
    names = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
    db.close()
    assert {"pixel_hits", "pixel_hits_session", "exchanges_session_source"} <= names


def test_pixel_hits_take_rows_as_pixels_prints_them(store: Store) -> None:
    """The rows of `pixels --format json` for a real DevTools HAR are kept and read back with the same fields."""
    import io

    from core.cli import write_pixels_json
    from core.sources.pixel import load_pixel_events

    out = io.StringIO()
    write_pixels_json(load_pixel_events(Path(__file__).parent / "fixtures" / "devtools_shop.har"), out)
    rows = json.loads(out.getvalue())["events"]
    assert rows and store.add_pixel_hits("har", rows) == len(rows)
    hits = store.pixel_hits("har")
    assert [(h["event"], h["event_id"], h["pixel_code"]) for h in hits] == \
        [(r["event"], r["event_id"], r["pixel_code"]) for r in rows]
    assert all(set(h) >= set(r) - {"email", "phone"} for h, r in zip(hits, rows, strict=True))
    assert [h["id"] for h in hits] == sorted(h["id"] for h in hits)


def test_an_exchange_with_a_lone_surrogate_is_kept_with_a_replacement_character(tmp_path: Path) -> None:
    """An answer or body holding half a character pair (a `\\ud800` escape) is recorded, never lost."""
    import time

    from core.exchange import Exchange

    with Store(tmp_path / "s.db") as store:
        sid = store.create_session("x")
        ex = Exchange(method="POST", url="http://127.0.0.1:1/open_api/v1.3/event/track/", request_headers={},
                      request_body={"data": [{"event": "Purchase\ud800", "event_id": "a"}]}, status=200, code=0,
                      message="OK\ud800", request_id="r1", response_body={"code": 0, "message": "OK\ud800"},
                      started_at=time.time())
        store.add_exchange(sid, ex)
        [kept] = store.exchanges(sid)
    assert kept.message == "OK\ufffd" and kept.request_id == "r1"
