"""The recording relay: a backend (httpx) posting through it to a real upstream on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.contract import TRACK_PATH
from core.errors import InvalidInput
from core.lint import lint
from core.relay import RELAY_PATHS, TIMEOUT_CODE, UNREACHABLE_CODE, history, start_relay
from core.store import Store

TOKEN = "tok-RELAY-7f3c9a1e5b2d-SECRET"
RAW_EMAIL = "dora.relay@example.com"
HASH = "848a771458438fc2ec420560d769fb9b9b86851ee338ec56517baabd79d3bb4f"


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Upstream:
    """A small recording server: keeps every request as received and answers what the test sets."""

    status: int = 200
    body: bytes = b'{"code": 0, "message": "OK", "request_id": "up-1", "data": {}}'
    content_type: str = "application/json"
    delay_s: float = 0.0
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    state = Upstream()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _any(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with state.lock:
                state.seen.append(Seen(self.command, self.path, dict(self.headers.items()), raw))
            if state.delay_s:
                time.sleep(state.delay_s)
            try:
                self.send_response(state.status)
                self.send_header("Content-Type", state.content_type)
                self.send_header("Content-Length", str(len(state.body)))
                self.send_header("X-Upstream", "yes")
                self.end_headers()
                self.wfile.write(state.body)
            except (BrokenPipeError, ConnectionResetError):
                pass

        do_POST = do_GET = _any

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 64  # 20 backends connect at once: the default backlog of 5 would drop some

    server = Server(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "console.db") as s:
        yield s


def purchase(event_id: str, user: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"event_source": "web", "event_source_id": "C4A1B2C3D4E5F6G7H8I9",
            "data": [{"event": "Purchase", "event_time": int(time.time()), "event_id": event_id,
                      "user": user or {"email": HASH, "ip": "203.0.113.9", "user_agent": "Mozilla/5.0"},
                      "page": {"url": "https://shop.test/thanks"},
                      "properties": {"value": 12.5, "currency": "USD"}}]}


def wait_until(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met before the deadline")
        time.sleep(0.01)


ANSWERS = [
    (200, b'{"code": 0, "message": "OK", "request_id": "up-1", "data": {}}', "application/json"),
    (200, b'{"code":40002,"message":"Invalid value for data.0.event_id","request_id":"up-2","data":{}}',
     "application/json"),
    (400, b"<html><body>bad request</body></html>", "text/html"),
    (503, b"not json \x00\xff\xfe odd bytes", "application/octet-stream"),
    (429, b'{"code":40100,"message":"Too many requests."}  \n', "application/json; charset=utf-8"),
]


@pytest.mark.parametrize(("status", "answer", "content_type"), ANSWERS)
def test_bodies_arrive_byte_identical_and_answers_come_back_unchanged(
        upstream: Upstream, store: Store, status: int, answer: bytes, content_type: str) -> None:
    """Path, query, body bytes, Content-Type and the token reach upstream as sent; its answer returns as is."""
    upstream.status, upstream.body, upstream.content_type = status, answer, content_type
    raw = b'{ "event_source":"web",\n  "event_source_id":"C4A1B2C3D4E5F6G7H8I9", "data":[{"event":"Purchase",' \
          b'"event_id":"o-\\u00e9","event_time":1735689600, "x": 1.50}] }'
    with start_relay(forward_url=upstream.url, store=store, session_id="s1", timeout=5) as relay:
        resp = httpx.post(f"{relay.url}{TRACK_PATH}?trace=1&a=%20b", content=raw,
                          headers={"Access-Token": TOKEN, "Content-Type": "application/json; charset=utf-8"})
        assert relay.wait_recorded(1, 10)
    assert (resp.status_code, resp.content) == (status, answer)
    assert resp.headers["content-type"] == content_type and resp.headers["x-upstream"] == "yes"
    [seen] = upstream.seen
    assert seen.method == "POST" and seen.path == f"{TRACK_PATH}?trace=1&a=%20b" and seen.body == raw
    assert seen.headers["Access-Token"] == TOKEN
    assert seen.headers["Content-Type"] == "application/json; charset=utf-8"
    [row] = history(store, session_id="s1")
    assert row["source"] == "relay" and row["status"] == status
    assert row["url"] == f"{upstream.url}{TRACK_PATH}?trace=1&a=%20b"
    assert row["events"] == [{"event": "Purchase", "event_id": "o-é"}]


def test_emulator_upstream_and_history_with_findings(store: Store) -> None:
    """`forward_url="emulator"`: the emulator gets the event; history lists it with lint's findings of the body."""
    good, bad = purchase("ord_1"), purchase("ord_2", {"email": RAW_EMAIL})
    with start_relay(forward_url="emulator", store=store, session_id="emu", timeout=5) as relay:
        assert relay.emulator is not None
        with httpx.Client(headers={"Access-Token": TOKEN}) as backend:
            first = backend.post(relay.track_url, json=good).json()
            second = backend.post(relay.track_url, json=bad).json()
        assert relay.wait_recorded(2, 10)
        received = json.dumps(relay.emulator.received)
        assert "ord_1" in received and "ord_2" not in received  # 40062: the emulator kept nothing of it
    assert first["code"] == 0 and second["code"] == 40062
    rows = history(store, session_id="emu")
    assert [(r["code"], r["request_id"]) for r in rows] == [(0, first["request_id"]), (40062, second["request_id"])]
    for row, sent in zip(rows, (good, bad), strict=True):
        expected = [f.as_dict() for f in lint(sent)]
        assert [(f["severity"], f["code"], f["path"]) for f in row["findings"]] == \
            [(f["severity"], f["code"], f["path"]) for f in expected]
        assert all(set(f) >= {"severity", "code", "path", "message", "fix"} for f in row["findings"])
    assert "user.email.unhashed" in {f["code"] for f in rows[1]["findings"]}


@pytest.mark.parametrize("path", [p for p in RELAY_PATHS if "pixel" in p])
def test_legacy_paths_are_forwarded_and_read(upstream: Upstream, store: Store, path: str) -> None:
    """Events API 1.0 paths (track and batch, v1.2 and v1.3) go through; history reads their events."""
    if path.endswith("batch/"):
        sent: dict[str, Any] = {"pixel_code": "CPIX", "batch": [
            {"type": "track", "event": "ViewContent", "event_id": "v1"},
            {"type": "track", "event": "Purchase", "event_id": "o1"}]}
        expected = [{"event": "ViewContent", "event_id": "v1"}, {"event": "Purchase", "event_id": "o1"}]
    else:
        sent = {"pixel_code": "CPIX", "event": "Purchase", "event_id": "o1", "timestamp": "2026-01-01T00:00:00Z",
                "context": {"user": {"email": RAW_EMAIL}}}
        expected = [{"event": "Purchase", "event_id": "o1"}]
    with start_relay(forward_url=upstream.url, store=store, session_id="legacy", timeout=5) as relay:
        resp = httpx.post(relay.url + path, json=sent, headers={"Access-Token": TOKEN})
        assert relay.wait_recorded(1, 10)
    assert resp.status_code == 200 and upstream.seen[0].path == path
    assert json.loads(upstream.seen[0].body) == sent
    [row] = history(store, session_id="legacy")
    assert row["events"] == expected
    assert "body.legacy_v1" in {f["code"] for f in row["findings"]}


def test_other_paths_are_refused_not_forwarded(upstream: Upstream, store: Store) -> None:
    """A path that is not an Events API path gets a 404 envelope naming the paths; nothing goes upstream."""
    with start_relay(forward_url=upstream.url, store=store, timeout=5) as relay:
        resp = httpx.post(relay.url + "/open_api/v1.3/pixel/list/", json={}, headers={"Access-Token": TOKEN})
    assert resp.status_code == 404 and resp.json()["code"] == 40400
    assert TRACK_PATH in resp.json()["message"] and upstream.seen == []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_upstream_down_is_answered_502_at_once_and_recorded(store: Store) -> None:
    """Nothing listening upstream: the backend gets 502 with a TikTok-like envelope at once; it is recorded."""
    with start_relay(forward_url=f"http://127.0.0.1:{free_port()}", store=store, session_id="down",
                     timeout=5) as relay:
        clock = time.monotonic()
        resp = httpx.post(relay.track_url, json=purchase("o_down"), headers={"Access-Token": TOKEN}, timeout=10)
        took = time.monotonic() - clock
        assert relay.wait_recorded(1, 10)
    body = resp.json()
    assert resp.status_code == 502 and took < 2.0
    assert body["code"] == UNREACHABLE_CODE and body["message"].startswith("relay could not reach TikTok: ")
    assert body["data"] == {} and body["request_id"]
    [row] = history(store, session_id="down")
    assert (row["status"], row["code"], row["request_id"]) == (502, UNREACHABLE_CODE, body["request_id"])
    assert row["events"] == [{"event": "Purchase", "event_id": "o_down"}]


def test_slow_upstream_is_answered_504_within_the_timeout_and_recorded(upstream: Upstream, store: Store) -> None:
    """An upstream slower than the timeout: 504 with the envelope, within the timeout, and recorded."""
    upstream.delay_s = 3.0
    with start_relay(forward_url=upstream.url, store=store, session_id="slow", timeout=0.5) as relay:
        clock = time.monotonic()
        resp = httpx.post(relay.track_url, json=purchase("o_slow"), headers={"Access-Token": TOKEN}, timeout=10)
        took = time.monotonic() - clock
        assert relay.wait_recorded(1, 10)
    assert resp.status_code == 504 and took < 2.0
    assert resp.json()["code"] == TIMEOUT_CODE and "within 0.5 s" in resp.json()["message"]
    [row] = history(store, session_id="slow")
    assert row["status"] == 504 and row["code"] == TIMEOUT_CODE


def test_no_token_or_raw_pii_in_the_database_files(upstream: Upstream, tmp_path: Path) -> None:
    """The token (header, body, query, answer echo) and a raw email never reach the SQLite file or its WAL."""
    upstream.body = json.dumps({"code": 40062, "message": f"PII not hashed: {RAW_EMAIL} token {TOKEN}",
                                "request_id": "up-9", "data": {}}).encode()
    path = tmp_path / "secret.db"
    body = purchase("o_pii", {"email": RAW_EMAIL, "phone": "+14155550123"})
    body["access_token"] = TOKEN
    body["data"][0]["properties"]["note"] = f"call {RAW_EMAIL}"
    with Store(path) as db, start_relay(forward_url=upstream.url, store=db, session_id="pii", timeout=5) as relay:
        resp = httpx.post(f"{relay.track_url}?access_token={TOKEN}", json=body, headers={"Access-Token": TOKEN})
        httpx.post(relay.track_url, content=f"not json {TOKEN} {RAW_EMAIL}".encode(),
                   headers={"Access-Token": TOKEN})
        assert relay.wait_recorded(2, 10)
        rows = history(db, session_id="pii")
        assert TOKEN.encode() in upstream.seen[0].body  # forwarded unchanged: the relay is a witness
        live = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("secret.db")}
    assert resp.status_code == 200 and len(rows) == 2
    assert rows[1]["findings"][0]["code"] == "body.not_object"
    assert "secret.db-wal" in live and len(live["secret.db-wal"]) > 0
    closed = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("secret.db")}
    for data in (*live.values(), *closed.values()):
        for secret in (TOKEN, RAW_EMAIL, "+14155550123", "4155550123"):
            assert secret.encode() not in data, secret


def test_twenty_parallel_posts_each_forwarded_and_recorded_once(upstream: Upstream, store: Store) -> None:
    """20 backends posting at once: every event reaches upstream once and is recorded once."""
    ids = [f"par_{i}" for i in range(20)]
    with start_relay(forward_url=upstream.url, store=store, session_id="par", timeout=5) as relay, \
            httpx.Client(headers={"Access-Token": TOKEN}) as backend, ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(lambda eid: backend.post(relay.track_url, json=purchase(eid)).status_code, ids))
        assert relay.wait_recorded(20, 15)
    assert statuses == [200] * 20, [e.error for e in store.exchanges("par") if e.error]
    at_upstream = Counter(json.loads(s.body)["data"][0]["event_id"] for s in upstream.seen)
    assert at_upstream == Counter(ids)
    recorded = Counter(e["event_id"] for r in history(store, session_id="par") for e in r["events"])
    assert recorded == Counter(ids)
    assert len(store.exchanges("par", source="relay")) == 20


def test_relay_events_reach_server_events_for_the_live_page(upstream: Upstream, store: Store) -> None:
    """What came through the relay shows in server_events with its received time, polled by exchange id."""
    with start_relay(forward_url=upstream.url, store=store, session_id="live", timeout=5) as relay:
        clock = time.time()
        httpx.post(relay.track_url, json=purchase("o_live"), headers={"Access-Token": TOKEN})
        assert relay.wait_recorded(1, 10)
    [body] = store.server_events("live")
    assert body["data"][0]["event_id"] == "o_live" and abs(body["received_at"] - clock) < 5
    assert store.server_events("live", since_exchange_id=body["exchange_id"]) == []


def test_bad_forward_port_and_timeout_are_named(upstream: Upstream, store: Store) -> None:
    """A bad --forward, a port in use and a non-positive timeout are InvalidInput with the fix."""
    with pytest.raises(InvalidInput, match="--forward"):
        start_relay(forward_url="ftp://x", store=store)
    with pytest.raises(InvalidInput, match="timeout"):
        start_relay(forward_url=upstream.url, store=store, timeout=0)
    with start_relay(forward_url=upstream.url, store=store) as relay, \
            pytest.raises(InvalidInput, match="another --port"):
        start_relay(forward_url=upstream.url, store=store, port=relay.port)


def test_gzip_body_is_forwarded_compressed_and_recorded_readable(upstream: Upstream, store: Store) -> None:
    """A gzip-encoded body goes upstream as the same compressed bytes; the record reads its events."""
    import gzip

    raw = gzip.compress(json.dumps(purchase("o_gz")).encode())
    with start_relay(forward_url=upstream.url, store=store, session_id="gz", timeout=5) as relay:
        httpx.post(relay.track_url, content=raw, headers={"Access-Token": TOKEN, "Content-Encoding": "gzip",
                                                         "Content-Type": "application/json"})
        assert relay.wait_recorded(1, 10)
    assert upstream.seen[0].body == raw and upstream.seen[0].headers["Content-Encoding"] == "gzip"
    assert history(store, session_id="gz")[0]["events"] == [{"event": "Purchase", "event_id": "o_gz"}]


def test_on_exchange_reports_each_recorded_exchange(upstream: Upstream, store: Store) -> None:
    """`on_exchange` gets each exchange as a history row once it is recorded (the live view's hook)."""
    got: list[dict[str, Any]] = []
    with start_relay(forward_url=upstream.url, store=store, timeout=5, on_exchange=got.append) as relay:
        httpx.post(relay.track_url, json=purchase("o_cb"), headers={"Access-Token": TOKEN})
        wait_until(lambda: len(got) == 1)
    assert got[0]["events"] == [{"event": "Purchase", "event_id": "o_cb"}] and got[0]["session_id"] == relay.session_id


def test_upstream_faults_pass_through_or_become_502(store: Store) -> None:
    """The emulator's own 502 HTML page comes back unchanged; a connection it resets becomes the relay's 502."""
    from core.emulator import NGINX_502

    with start_relay(forward_url="emulator", store=store, session_id="faults", timeout=5) as relay:
        assert relay.emulator is not None
        relay.emulator.set_fault("http_502_html")
        relay.emulator.set_fault("reset")
        with httpx.Client(headers={"Access-Token": TOKEN}) as backend:
            html = backend.post(relay.track_url, json=purchase("o_html"))
            reset = backend.post(relay.track_url, json=purchase("o_reset"))
        assert relay.wait_recorded(2, 10)
    assert (html.status_code, html.text) == (502, NGINX_502)
    assert reset.status_code == 502 and reset.json()["code"] == UNREACHABLE_CODE
    rows = history(store, session_id="faults")
    assert [(r["status"], r["code"]) for r in rows] == [(502, None), (502, UNREACHABLE_CODE)]


def test_chunked_body_is_forwarded_and_bad_framing_refused(upstream: Upstream, store: Store) -> None:
    """A chunked body reaches upstream as the same bytes; a request with unreadable framing is refused, not sent."""
    raw = json.dumps(purchase("o_chunk")).encode()
    with start_relay(forward_url=upstream.url, store=store, session_id="chunk", timeout=5) as relay:
        resp = httpx.post(relay.track_url, content=iter([raw[:50], raw[50:]]), headers={"Access-Token": TOKEN})
        assert relay.wait_recorded(1, 10)
        with socket.create_connection(("127.0.0.1", relay.port), timeout=5) as sock:
            sock.sendall(f"POST {TRACK_PATH} HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n".encode())
            answer = b""
            while chunk := sock.recv(4096):
                answer += chunk
    assert resp.status_code == 200 and upstream.seen[0].body == raw
    assert answer.startswith(b"HTTP/1.1 400") and b"relay refused the request" in answer
    assert len(upstream.seen) == 1
