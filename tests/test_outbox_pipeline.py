"""The outbox's send path as it runs fast: batches recorded on a thread of their own while earlier ones go,
claimed by their row ids, posted from the texts recorded; a refused batch falls back to reading its rows;
sessions keyed by the previous version of the console still resume."""

from __future__ import annotations

import copy
import json
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import core.store as store_module
from core import outbox
from core.config import Settings
from core.emulator import EmulatorServer
from core.store import MIGRATIONS, Store, event_text
from core.transport import Sender, encode_body

TOKEN = "outbox-pipeline-token"
HASH = "848a771458438fc2ec420560d769fb9b9b86851ee338ec56517baabd79d3bb4f"
RAW_EMAIL = "carol.raw@example.com"


def events(n: int, prefix: str = "ord") -> list[dict[str, Any]]:
    return [{"event": "Purchase", "event_time": 1735689600 + i, "event_id": f"{prefix}_{i}_purchase",
             "user": {"email": [HASH], "ip": "203.0.113.7", "user_agent": "Mozilla/5.0 (Macintosh)"},
             "page": {"url": f"https://shop.example/thanks?order={i}"},
             "properties": {"currency": "EUR", "value": 12.5, "content_type": "product",
                            "contents": [{"content_id": f"sku-{i % 7}", "content_name": "Crème brûlée ☕",
                                          "quantity": 1}]}} for i in range(n)]


def wrap(data: list[dict[str, Any]]) -> dict[str, Any]:
    return {"event_source": "web", "event_source_id": "CPIPELINE0000000000A", "test_event_code": "TEST7",
            "data": data}


@pytest.fixture
def emu(emu_server: EmulatorServer) -> Iterator[EmulatorServer]:
    emu_server.clear()
    yield emu_server


@pytest.fixture
def sender(emu: EmulatorServer) -> Iterator[Sender]:
    with Sender(Settings(target="custom", base_url=emu.url, access_token=TOKEN, max_attempts=2)) as s:
        yield s


def test_a_multi_batch_send_delivers_every_event_once_as_given(tmp_path: Path, emu: EmulatorServer,
                                                               sender: Sender) -> None:
    """2,500 events in three batches, one held by lint: each other event reaches the endpoint once, as given,
    each request is kept with the rows it carried, progress ends at its total, the session is complete."""
    data = events(2500)
    seen: list[tuple[int, int]] = []
    with Store(tmp_path / "c.db") as store:
        report = outbox.send(store, sender, [wrap(data)], label="pipeline", hold={1200: "E1 at data[1200]: bad"},
                             progress=lambda done, total: seen.append((done, total)))
        assert (report.events, report.accepted, report.held, report.undelivered) == (2500, 2499, 1, 0)
        assert [e["event_id"] for e in emu.received_events("TEST7")] == [
            e["event_id"] for i, e in enumerate(data) if i != 1200]
        assert store.incomplete_sessions() == [] and store.session_counts(report.session_id)["in_flight"] == 0
        kept = store.exchanges(report.session_id)
        assert [len(ex.request_body["data"]) for ex in kept] == [1000, 999, 500]
        assert [e for ex in kept for e in ex.request_body["data"]] == [e for i, e in enumerate(data) if i != 1200]
    assert seen[0] == (0, 2499) and seen[-1] == (2499, 2499)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_a_recorded_batch_with_a_raw_email_is_read_back_peeled_and_resent(tmp_path: Path, emu: EmulatorServer,
                                                                          sender: Sender) -> None:
    """The endpoint refuses a request over one unhashed email (40062 names it): the batch sent without reading
    it back is read back, that event is rejected and the rest go at once; the raw value never reaches the file."""
    data = events(1500)
    data[1100]["user"] = {"email": RAW_EMAIL}
    db = tmp_path / "c.db"
    with Store(db) as store:
        report = outbox.send(store, sender, [wrap(data)])
        assert (report.accepted, report.rejected) == (1499, 1)
        assert [n.event_id for n in report.notes] == ["ord_1100_purchase"]
        assert len({e["event_id"] for e in emu.received_events("TEST7")}) == 1499
        assert [ex.outcome for ex in report.exchanges] == ["accepted", "rejected", "accepted"]
    assert RAW_EMAIL.encode() not in b"".join(p.read_bytes() for p in tmp_path.glob("c.db*"))


def test_the_request_bytes_built_from_recorded_texts_are_the_transports_own() -> None:
    """The bytes posted for a recorded batch are exactly what the transport would encode for the same body."""
    top = {"event_source": "web", "event_source_id": "C1", "test_event_code": "T ☕"}
    data = [*events(3), {"event": "Lead", "properties": {"note": 'quote " and \\ backslash', "v": 1e-7,
                                                          "n": None, "ok": True, "big": 10**20}}]
    assert outbox._texts_content(top, [event_text(e) for e in data]) == encode_body({**top, "data": data})
    assert outbox._texts_content({}, [event_text(e) for e in data]) == encode_body({"data": data})
    for e in data:
        assert event_text(e) == json.dumps(e, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    with pytest.raises(ValueError):
        event_text({"value": float("nan")})


def test_the_send_key_follows_the_inputs_values_and_endpoint_not_its_objects() -> None:
    """Equal input gives the same key however its objects were built or shared; any changed value or another
    endpoint gives another; a value that cannot be pickled still gives a key."""
    bodies = [wrap(events(3))]
    key = outbox._send_key(bodies, "http://a")
    shared = [wrap([bodies[0]["data"][0]] * 2 + [bodies[0]["data"][2]])]
    assert key.startswith(outbox.KEY_PREFIX)
    assert outbox._send_key(copy.deepcopy(bodies), "http://a") == key
    assert outbox._send_key(json.loads(json.dumps(bodies)), "http://a") == key
    assert outbox._send_key(shared, "http://a") == outbox._send_key(copy.deepcopy(shared), "http://a")
    changed = copy.deepcopy(bodies)
    changed[0]["data"][1]["properties"]["value"] = 12.51
    assert outbox._send_key(changed, "http://a") != key and outbox._send_key(bodies, "http://b") != key
    assert outbox._send_key([wrap([{"event": "Lead", "odd": threading.Lock()}])], "http://a").startswith("v2:")


def _schema5_session(path: Path, monkeypatch: pytest.MonkeyPatch, bodies: list[dict[str, Any]], url: str,
                     statuses: list[str]) -> str:
    """A file as the previous version left it: schema 5, the session under the unprefixed key, each event's
    text in its outbox row."""
    monkeypatch.setattr(store_module, "MIGRATIONS", MIGRATIONS[:5])
    with Store(path) as old:
        assert old.schema_version == 5
        sid = old.create_session("cli send", target="custom", base_url=url, input_key=outbox.input_key(bodies, url),
                                 input_events=len(statuses))
        top = {k: v for k, v in bodies[0].items() if k != "data"}
        cur = old._db.execute("INSERT INTO outbox_batches (session_id, top_json, data_json, created_at, seq) "
                              "VALUES (?, ?, '[]', 1.0, 0)", (sid, json.dumps(top, sort_keys=True)))
        for i, (ev, status) in enumerate(zip(bodies[0]["data"], statuses, strict=True)):
            old._db.execute(
                "INSERT INTO outbox (session_id, batch_id, idx, event_name, event_id, status, event_json, "
                "input_index, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1.0, 1.0)",
                (sid, cur.lastrowid, i, ev["event"], ev["event_id"], status,
                 json.dumps(ev, ensure_ascii=False, separators=(",", ":")), i))
        old.mark_recorded(sid)
    monkeypatch.undo()
    return sid


def test_a_session_recorded_by_the_previous_version_resumes_after_the_migration(
        tmp_path: Path, emu: EmulatorServer, sender: Sender, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same send run again on a file written before event texts had a table of their own and keys a prefix:
    the file migrates, the session is found by its old key, only its pending event goes, its texts read back."""
    bodies = [wrap(events(3))]
    db = tmp_path / "old.db"
    sid = _schema5_session(db, monkeypatch, bodies, sender.url, ["accepted", "accepted", "pending"])
    with Store(db) as store:
        assert store.schema_version == len(MIGRATIONS) == 6 and store.has_unprefixed_input_keys()
        report = outbox.send(store, sender, bodies)
        assert (report.session_id, report.resumed, report.accepted) == (sid, 2, 1)
        assert [e["event_id"] for e in emu.received_events("TEST7")] == ["ord_2_purchase"]
        rows = store.outbox_rows(statuses=("accepted",), session_id=sid)
        assert [r.event for r in rows] == bodies[0]["data"]
        assert store._db.execute("SELECT COUNT(*) FROM outbox WHERE event_json IS NOT NULL").fetchone()[0] == 0
        # run again: nothing goes, whichever key finds the session
        again = outbox.send(store, sender, bodies)
        assert again.session_id == sid and again.resumed == 3 and len(emu.received_events("TEST7")) == 1


def test_a_new_session_is_keyed_with_the_prefix_and_found_again(tmp_path: Path, emu: EmulatorServer,
                                                               sender: Sender) -> None:
    """A send keys its session with the prefixed key; the same send again resumes it and sends nothing."""
    bodies = [wrap(events(5))]
    with Store(tmp_path / "c.db") as store:
        first = outbox.send(store, sender, bodies)
        info = store.session(first.session_id)
        assert info is not None and (info.input_key or "").startswith(outbox.KEY_PREFIX)
        assert not store.has_unprefixed_input_keys()
        again = outbox.send(store, sender, copy.deepcopy(bodies))
        assert again.session_id == first.session_id and again.resumed == 5 and again.exchanges == []
    assert len(emu.received_events("TEST7")) == 5


def test_a_send_interrupted_between_requests_leaves_nothing_claimed_or_marked_in_flight(
        tmp_path: Path, emu: EmulatorServer, sender: Sender) -> None:
    """Ctrl-C right after the first request's answer: the next batch, claimed in the commit that settled the
    first, was never posted, so it is given back without an in-flight mark and a retry sends the rest once."""
    def stop_after_first(done: int, total: int) -> None:
        if done == 1000:
            # the other two batches are recorded first (the recording thread runs on meanwhile), so the retry
            # below has all of the rest to send
            deadline = time.monotonic() + 10
            while not store.sessions()[0]["recorded"] and time.monotonic() < deadline:
                time.sleep(0.005)
            raise KeyboardInterrupt

    with Store(tmp_path / "c.db") as store:
        with pytest.raises(KeyboardInterrupt):
            outbox.send(store, sender, [wrap(events(3000))], progress=stop_after_first)
        [sid] = [s["id"] for s in store.sessions()]
        counts = store.session_counts(sid)
        assert counts["accepted"] == 1000 and counts["in_flight"] == 0
        assert len(store.claim("host:1:other", 60)) == 1000  # nothing left claimed by the interrupted send
        store.release([r.id for r in store.outbox_rows(session_id=sid)], "host:1:other")
        retried = outbox.retry(store, sender, session_id=sid)
        accepted = store.session_counts(sid)["accepted"]
        assert retried.resent_in_flight == [] and retried.accepted + 1000 == accepted == 3000
    ids = [e["event_id"] for e in emu.received_events("TEST7")]
    assert sorted(ids) == sorted(e["event_id"] for e in events(3000))


def test_a_send_switches_threads_briskly_while_it_records_and_puts_the_interval_back(
        tmp_path: Path, emu: EmulatorServer, sender: Sender) -> None:
    """While a send's recording thread runs, the interpreter switches threads every 0.5 ms at most (the posting
    thread does not wait 5 ms behind it at each socket or SQLite call); afterwards, and after a failed send,
    the interval is what it was; overlapping sends share the short interval and the last one restores it."""
    seen: list[float] = []
    before = sys.getswitchinterval()
    with Store(tmp_path / "s.db") as store:
        outbox.send(store, sender, [wrap(events(1500))], progress=lambda done, total: seen.append(
            sys.getswitchinterval()))
        assert sys.getswitchinterval() == before
        # progress 0 of N is reported before the recording starts; every batch delivered after it runs briskly
        assert len(seen) == 3 and max(seen[1:]) <= outbox._SWITCH_INTERVAL_S + 1e-9
        with outbox._brisk_switching():
            with outbox._brisk_switching():
                assert sys.getswitchinterval() <= outbox._SWITCH_INTERVAL_S + 1e-9
            assert sys.getswitchinterval() <= outbox._SWITCH_INTERVAL_S + 1e-9  # the outer one still runs
        assert sys.getswitchinterval() == before
        sys.setswitchinterval(0.0001)  # already shorter: never lengthened
        try:
            with outbox._brisk_switching():
                assert sys.getswitchinterval() == pytest.approx(0.0001, rel=0.05)
        finally:
            sys.setswitchinterval(before)
        with pytest.raises(RuntimeError), outbox._brisk_switching():
            raise RuntimeError("a send that fails")
        assert sys.getswitchinterval() == before
