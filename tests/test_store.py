"""The SQLite store: schema and migrations, the outbox life cycle, exchanges, readers, and no raw PII."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.errors import StoreError
from core.exchange import Attempt, Exchange
from core.store import MIGRATIONS, PlannedBatch, Store

HASH = "848a771458438fc2ec420560d769fb9b9b86851ee338ec56517baabd79d3bb4f"
RAW_EMAIL = "alice.raw@example.com"


def body(n: int = 2, code: str = "TEST1", user: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"event_source": "web", "event_source_id": "CPIX", "test_event_code": code,
            "data": [{"event": "Purchase", "event_time": 1735689600, "event_id": f"ord_{i}",
                      "user": dict(user or {"email": [HASH]})} for i in range(n)]}


def exchange(b: dict[str, Any], code: int = 0) -> Exchange:
    return Exchange("POST", "http://x/open_api/v1.3/event/track/", {"Access-Token": "***redacted***"}, b,
                    status=200, code=code, message="OK", request_id="r1",
                    attempts=[Attempt(started_at=1.0, latency_ms=5.0, status=200, code=code)], latency_ms=5.0)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "db" / "console.db") as s:
        yield s


def test_schema_version_and_wal(store: Store) -> None:
    """A new file is at the latest schema version, in WAL mode."""
    assert store.schema_version == len(MIGRATIONS)
    assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_reopen_keeps_data_and_version(tmp_path: Path) -> None:
    """Reopening applies no migration twice and keeps what was written."""
    path = tmp_path / "c.db"
    with Store(path) as s:
        sid = s.create_session("first")
        s.add_outbox(sid, body(3))
    with Store(path) as s:
        assert s.schema_version == len(MIGRATIONS)
        assert s.outbox_counts()["pending"] == 3 and s.sessions()[0]["label"] == "first"


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    """A file from a newer console is a StoreError with the fix, not silently used."""
    path = tmp_path / "c.db"
    Store(path).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE schema_version SET version = 99")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="schema version 99"):
        Store(path)


def test_unwritable_path_is_a_store_error(tmp_path: Path) -> None:
    """A path that cannot be a database gives StoreError naming TEC_DB."""
    (tmp_path / "dir.db").mkdir()
    with pytest.raises(StoreError, match="TEC_DB"):
        Store(tmp_path / "dir.db")


def test_record_batch_keeps_each_event_in_order(store: Store) -> None:
    """A recorded batch's rows are pending, in order, with name, event_id, input position and top level."""
    sid = store.create_session()
    b = body(3)
    ids = store.add_outbox(sid, b)
    rows = store.outbox_rows()
    assert [(r.id, r.event_id, r.event_name, r.status, r.input_index) for r in rows] == [
        (ids[i], f"ord_{i}", "Purchase", "pending", i) for i in range(3)]
    assert rows[0].top == {"event_source": "web", "event_source_id": "CPIX", "test_event_code": "TEST1"}
    assert [r.event for r in rows] == b["data"]


def test_raw_pii_never_reaches_the_file(tmp_path: Path) -> None:
    """A body with a raw email is stored without it, in outbox and exchange alike."""
    path = tmp_path / "c.db"
    with Store(path) as s:
        sid = s.create_session()
        b = body(1, user={"email": RAW_EMAIL, "ip": "203.0.113.7"})
        ids = s.add_outbox(sid, b)
        ex_id = s.add_exchange(sid, exchange(b, code=40062), row_ids=ids)
        s.add_exchange(sid, exchange(b, code=40062))
        (row,) = s.outbox_rows()
        assert row.pii_dropped == ["user.email"] and row.event["user"] == {"ip": "203.0.113.7"}
        assert RAW_EMAIL not in s.export_session(sid).decode()
        assert s.exchanges(ids=[ex_id])[0].request_body["data"][0]["user"] == {"ip": "203.0.113.7"}
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("c.db*"))
    assert RAW_EMAIL.encode() not in raw


def test_outbox_life_cycle(store: Store) -> None:
    """Rows move pending -> blocked/accepted with attempts, reason, code and error; counts follow."""
    sid = store.create_session()
    ids = store.add_outbox(sid, body(4))
    store.settle(ids[:2], "blocked", reason="token", code=40105, error="Access token is incorrect")
    store.settle(ids[2:], "accepted", code=0)
    assert store.outbox_counts(sid) == {"pending": 0, "accepted": 2, "blocked": 2, "rejected": 0, "held": 0,
                                        "dropped": 0}
    blocked = store.outbox_rows(statuses=("blocked",))
    assert [(r.attempts, r.last_code, r.last_error, r.reason) for r in blocked] == [
        (1, 40105, "Access token is incorrect", "token")] * 2
    store.settle(ids[:2], "accepted", code=0)
    assert store.outbox_rows(statuses=("blocked",)) == []
    assert store.outbox_rows(statuses=("accepted",))[0].attempts == 2
    with pytest.raises(StoreError, match="status"):
        store.settle(ids, "lost")


def test_claims_keep_two_senders_apart(store: Store) -> None:
    """A claimed batch is invisible to a second sender until released or its lease expires."""
    sid = store.create_session()
    ids = store.add_outbox(sid, body(3))
    first = store.claim("host:1:a", 60)
    assert [r.id for r in first] == ids and store.claim("host:1:b", 60) == []
    store.release(ids, "host:1:a")
    assert [r.id for r in store.claim("host:1:b", -1)] == ids  # a negative lease expires at once
    assert [r.id for r in store.claim("host:1:c", 60)] == ids


def test_a_claim_returns_its_rows_whole_and_stops_at_its_batch(store: Store) -> None:
    """Claimed rows carry what a send needs (event text as kept, top-level fields, in-flight mark) and equal
    the same rows read by id; one claim never spans two batches, and `after_id` skips what was taken."""
    sid = store.create_session()
    first = store.add_outbox(sid, body(3))
    second = store.add_outbox(sid, body(2, code="TEST2", user={"email": [RAW_EMAIL]}))
    rows = store.claim("host:1:a", 60, limit=2)
    assert [r.id for r in rows] == first[:2]
    assert rows == store.rows_by_id(first[:2])
    assert [r.event["event_id"] for r in rows] == ["ord_0", "ord_1"] and rows[0].top["test_event_code"] == "TEST1"
    assert [r.id for r in store.claim("host:1:a", 60, after_id=rows[-1].id)] == first[2:]
    later = store.claim("host:1:a", 60)
    assert [r.id for r in later] == second and all(r.pii_dropped for r in later)
    assert RAW_EMAIL not in later[0].event_json and not later[0].in_flight


def test_claims_of_a_dead_process_are_void(store: Store) -> None:
    """Rows claimed by a process of this machine that no longer runs are taken again at once, marked in flight."""
    import socket
    import subprocess
    import sys

    sid = store.create_session()
    ids = store.add_outbox(sid, body(2))
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    owner = f"{socket.gethostname()}:{proc.pid}:x"
    store.claim(owner, 3600)
    store.set_in_flight(ids, owner, 3600)
    assert store.claim("other:1:y", 60) == []
    assert store.release_dead_claims() == 1
    rows = store.claim("other:1:y", 60)
    assert [r.id for r in rows] == ids and all(r.in_flight for r in rows)


def test_recording_marker(store: Store) -> None:
    """A session that records an input is incomplete until marked recorded; its batches are known by seq."""
    sid = store.create_session("cli", input_key="k1", input_events=2)
    assert [s.id for s in store.incomplete_sessions()] == [sid]
    batch = store.record_batch(sid, {"event_source": "web"}, PlannedBatch([{"event": "Purchase"}]), seq=0)
    assert store.recorded_batches(sid) == {0: batch}
    store.mark_recorded(sid)
    assert store.incomplete_sessions() == [] and store.session_for_input("k1").id == sid  # type: ignore[union-attr]


def test_outbox_rows_filters_by_session_and_limit(store: Store) -> None:
    """outbox_rows keeps to one session when asked and honours limit."""
    a, b = store.create_session(), store.create_session()
    store.add_outbox(a, body(2))
    store.add_outbox(b, body(3, code="T2"))
    assert len(store.outbox_rows(session_id=b)) == 3 and len(store.outbox_rows(limit=4)) == 4
    assert {r.session_id for r in store.outbox_rows(session_id=a)} == {a}


def test_exchanges_round_trip_with_row_reference(store: Store) -> None:
    """An exchange stored against its outbox rows reads back as an Exchange with the events, stored once."""
    sid = store.create_session()
    b = body(2)
    ids = store.add_outbox(sid, b)
    ex_id = store.add_exchange(sid, exchange(b), row_ids=ids)
    other = store.add_exchange(sid, exchange(body(1, code="T9"), code=40002))
    got = store.exchanges(sid)
    assert [g.id for g in got] == [ex_id, other] and {g.session_id for g in got} == {sid}
    assert got[0].request_body == b and got[0].accepted is True and got[0].decoded.name == "OK"
    assert got[1].request_body["test_event_code"] == "T9" and got[1].outcome == "rejected"
    assert [g.id for g in store.exchanges(sid, limit=1)] == [other]
    assert [g.id for g in store.exchanges(sid, ids=[ex_id])] == [ex_id]
    assert got[0].request_id == "r1"


def test_history_joins_request_ids(store: Store) -> None:
    """history() gives one row per event with status, attempts and the request_id that settled it."""
    sid = store.create_session()
    b = body(2)
    ids = store.add_outbox(sid, b)
    ex_id = store.add_exchange(sid, exchange(b), row_ids=ids)
    store.settle(ids, "accepted", code=0, exchange_id=ex_id)
    rows = store.history(sid)
    assert [(r["event"], r["event_id"], r["status"], r["request_id"], r["attempts"]) for r in rows] == [
        ("Purchase", "ord_0", "accepted", "r1", 1), ("Purchase", "ord_1", "accepted", "r1", 1)]


def test_readers_for_compare_pages(store: Store) -> None:
    """iter_sent_events / server_events give the sent events with top level and status, in order."""
    sid = store.create_session()
    ids = store.add_outbox(sid, body(2))
    store.add_outbox(sid, body(1, code="T2"))
    store.settle(ids, "accepted", code=0)
    got = list(store.iter_sent_events(sid))
    assert [(t["test_event_code"], e["event_id"], s) for t, e, s in got] == [
        ("TEST1", "ord_0", "accepted"), ("TEST1", "ord_1", "accepted"), ("T2", "ord_0", "pending")]
    assert all("data" not in t for t, _, _ in got)
    bodies = store.server_events(sid)
    assert [len(b["data"]) for b in bodies] == [2, 1]
    assert [len(b["data"]) for b in store.server_events(sid, accepted_only=True)] == [2]


def test_export_session(store: Store) -> None:
    """The session export is JSON with the session, its exchanges, per-event rows and counts."""
    sid = store.create_session("demo", target="emulator", base_url="http://127.0.0.1:1")
    b = body(1)
    ids = store.add_outbox(sid, b)
    store.add_exchange(sid, exchange(b), row_ids=ids)
    doc = json.loads(store.export_session(sid))
    assert doc["session"]["label"] == "demo" and doc["session"]["target"] == "emulator"
    assert len(doc["exchanges"]) == 1 and doc["exchanges"][0]["request_body"] == b
    assert doc["events"][0]["event_id"] == "ord_0" and doc["outbox"]["pending"] == 1
    with pytest.raises(StoreError, match="No session"):
        store.export_session("nope")


def test_column_mapping_is_remembered_per_layout(tmp_path: Path) -> None:
    """A confirmed mapping comes back for the same header (any case/spacing), across reopenings, not for others."""
    path = tmp_path / "m.db"
    with Store(path) as s:
        assert s.mapping_for("orders", ["No.", "Date", "Amount"]) is None
        first = {"order_id": "No.", "created_at": "Date", "total": "Amount"}
        s.save_mapping("orders", ["No.", "Date", "Amount"], first)
        s.save_mapping("orders", ["No.", "Date", "Amount"], {**first, "currency": "Amount"})
    with Store(path) as s:
        assert s.mapping_for("orders", [" no. ", "DATE", "amount"]) == {
            "order_id": "No.", "created_at": "Date", "total": "Amount", "currency": "Amount"}
        assert s.mapping_for("orders", ["Date", "No.", "Amount"]) is None
        assert s.mapping_for("pixel", ["No.", "Date", "Amount"]) is None


def test_a_version_1_file_is_migrated(tmp_path: Path) -> None:
    """A database written by the first schema gains the later tables and keeps its rows."""
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[0])
    db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    db.execute("INSERT INTO schema_version VALUES (1)")
    db.execute("INSERT INTO sessions VALUES ('s1', 1.0, 'old', 'emulator', '')")
    db.commit()
    db.close()
    with Store(path) as s:
        assert s.schema_version == len(MIGRATIONS)
        assert [x["id"] for x in s.sessions()] == ["s1"]
        s.save_mapping("orders", ["a"], {"order_id": "a"})
        assert s.mapping_for("orders", ["a"]) == {"order_id": "a"}


def test_exchange_for_event_finds_the_carrying_request(tmp_path: Path) -> None:
    """The exchange TikTok kept an exact event_id from is found through the outbox; others are None."""
    with Store(tmp_path / "e.db") as s:
        sid = s.create_session("t")
        for attempt, status in ((1, "accepted"), (2, "rejected")):
            body = {"event_source": "web", "event_source_id": "C1",
                    "data": [{"event": "Purchase", "event_id": "ord_1", "event_time": 1735689600}]}
            ids = s.add_outbox(sid, body)
            ex = Exchange("POST", "http://127.0.0.1:1/open_api/v1.3/event/track/", {}, body, status=200,
                          code=0 if status == "accepted" else 40002, message=f"OK {attempt}", request_id=f"r{attempt}")
            ex_id = s.add_exchange(sid, ex, row_ids=ids)
            s.settle(ids, status, code=ex.code, exchange_id=ex_id)
        found = s.exchange_for_event("ord_1")
        assert found is not None and found.request_id == "r1"  # the accepted copy, not the latest re-send
        assert found.request_body["data"][0]["event_id"] == "ord_1"
        assert s.exchange_for_event("ORD_1") is None and s.exchange_for_event("ord_2") is None


def test_a_version_3_outbox_reads_back_after_migration(tmp_path: Path) -> None:
    """Rows and exchanges written before schema 4 (events kept per batch) read back; 20001 rows become pending."""
    path = tmp_path / "v3.db"
    db = sqlite3.connect(path)
    for sql in MIGRATIONS[:3]:
        db.executescript(sql)
    db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    db.execute("INSERT INTO schema_version VALUES (3)")
    db.execute("INSERT INTO sessions VALUES ('s1', 1.0, 'old', 'emulator', '')")
    events = [{"event": "Purchase", "event_id": f"ord_{i}", "event_time": 1735689600} for i in range(2)]
    db.execute("INSERT INTO outbox_batches VALUES (1, 's1', '{}', ?, 1.0)", (json.dumps(events),))
    db.execute("INSERT INTO outbox (id, session_id, batch_id, idx, event_name, event_id, status, created_at, "
               "updated_at) VALUES (1, 's1', 1, 0, 'Purchase', 'ord_0', 'partial', 1, 1), "
               "(2, 's1', 1, 1, 'Purchase', 'ord_1', 'accepted', 1, 1)")
    db.execute("INSERT INTO exchanges (session_id, created_at, url, outcome, attempts, latency_ms, event_count, "
               "batch_id, record) VALUES ('s1', 1, 'u', 'partial', 1, 1, 2, 1, ?)",
               (json.dumps({"method": "POST", "url": "u", "request_headers": {}, "request_body": {}}),))
    db.commit()
    db.close()
    with Store(path) as s:
        assert [(r.event_id, r.status, r.reason) for r in s.outbox_rows(statuses=("pending", "accepted"))] == [
            ("ord_0", "pending", "partial"), ("ord_1", "accepted", None)]
        assert s.exchanges()[0].request_body["data"] == events


@pytest.mark.parametrize("limit", [999, 50, 12])  # SQLite's bound-parameter limit: 999 in older builds
@pytest.mark.parametrize("n", [1, 4, 37, 1000])
def test_record_batch_writes_every_row_whatever_the_parameter_limit(tmp_path: Path, limit: int, n: int) -> None:
    """A batch goes in as few multi-row INSERTs as SQLite's parameter limit allows: every event, in order, with
    its held reason and input position, and its kept text, whatever the batch size and the limit."""
    with Store(tmp_path / "db" / "console.db") as store:
        store._db.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, limit)
        sid = store.create_session("cli")
        events = [{"event": "Purchase", "event_id": f"ord_{i}", "user": {"email": [HASH]}} for i in range(n)]
        held = {i: "lint: E001 at data[0]" for i in range(0, n, 3)}
        store.record_batch(sid, {"event_source": "web"}, PlannedBatch(events, 500, held), seq=0)
        rows = store.outbox_rows(statuses=("pending", "held"), session_id=sid)
        assert [r.event_id for r in rows] == [f"ord_{i}" for i in range(n)]
        assert [r.input_index for r in rows] == list(range(500, 500 + n))
        assert [r.status for r in rows] == ["held" if i in held else "pending" for i in range(n)]
        assert all((r.reason == held[i]) if i in held else r.reason is None for i, r in enumerate(rows))
        assert [r.event for r in rows] == events
