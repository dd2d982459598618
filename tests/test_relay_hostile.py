"""The recording relay under hostile traffic from both sides: broken backends and broken upstreams.

Real sockets on 127.0.0.1 only: raw bytes from a misbehaving client, a raw-socket upstream that misbehaves
on purpose, and the independent stand-in (tests/standin.py) counting every event_id that arrives.
"""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.cli import EXIT_OK, main
from core.contract import TRACK_PATH
from core.relay import RelayServer, history, start_relay
from core.store import Store
from tests.standin import StandIn

TOKEN = "tok-HOSTILE-91c2e7-SECRET"
RAW_EMAIL = "hostile.person@example.com"
HASH = "848a771458438fc2ec420560d769fb9b9b86851ee338ec56517baabd79d3bb4f"
P = TRACK_PATH.encode()


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met before the deadline")
        time.sleep(0.02)


def exchange(port: int, data: bytes, *, close_write: bool = True, timeout: float = 15.0) -> tuple[float, bytes]:
    """Send raw bytes, read until the relay closes or `timeout`; (seconds taken, answer bytes)."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(data)
            if close_write:
                s.shutdown(socket.SHUT_WR)
            out = b""
            while chunk := s.recv(65536):
                out += chunk
        except (ConnectionResetError, BrokenPipeError):
            out = b"<reset>"
    return time.monotonic() - started, out


def body(event_id: str, email: str = HASH) -> bytes:
    return json.dumps({"event_source": "web", "event_source_id": "C4A1B2C3D4E5F6G7H8I9", "data": [
        {"event": "Purchase", "event_time": int(time.time()), "event_id": event_id,
         "user": {"email": email, "ip": "203.0.113.9", "user_agent": "Mozilla/5.0"},
         "properties": {"value": 1, "currency": "USD"}}]}).encode()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "console.db") as s:
        yield s


@pytest.fixture
def standin() -> Iterator[StandIn]:
    with StandIn(token=TOKEN) as s:
        yield s


@pytest.fixture
def relay(standin: StandIn, store: Store) -> Iterator[RelayServer]:
    with start_relay(forward_url=standin.url, store=store, session_id="hostile", timeout=2) as r:
        yield r


def _post(data: bytes, *extra: bytes) -> bytes:
    return b"POST " + P + b" HTTP/1.1\r\nHost: x\r\nAccess-Token: " + TOKEN.encode() + b"\r\n" + b"".join(extra) + \
        b"\r\n" + data


BOMB = gzip.compress(b'{"data":[' + b" " * (200 * 1024 * 1024) + b"]}")
HOSTILE_REQUESTS = {
    "garbage request line": (b"\x00\xff\xfe garbage\r\n\r\n", b"HTTP/1.1 400"),
    "non-ASCII header value": (_post(b"{}", b"X-A: \xc3\xa9\xff\xfe\r\nContent-Length: 2\r\n"), b"HTTP/1.1 200"),
    "non-ASCII header name": (_post(b"{}", b"X-\xc3\xa9: 1\r\nContent-Length: 2\r\n"), b"HTTP/1.1 400"),
    "conflicting Content-Length": (_post(b"{}", b"Content-Length: 2\r\nContent-Length: 5\r\n"), b"HTTP/1.1 400"),
    "Transfer-Encoding and Content-Length": (
        _post(b"2\r\n{}\r\n0\r\n\r\n", b"Content-Length: 100\r\nTransfer-Encoding: chunked\r\n"), b"HTTP/1.1 200"),
    "bad chunk size": (_post(b"zz\r\n{}\r\n0\r\n\r\n", b"Transfer-Encoding: chunked\r\n"), b"HTTP/1.1 400"),
    "negative chunk size": (_post(b"-5\r\n{}\r\n0\r\n\r\n", b"Transfer-Encoding: chunked\r\n"), b"HTTP/1.1 400"),
    "200k one-byte chunks": (_post(b"1\r\n \r\n" * 200_000 + b"0\r\n\r\n", b"Transfer-Encoding: chunked\r\n"),
                             b"HTTP/1.1 "),
    "chunk-size line of 1 MB": (_post(b"1" * 2**20, b"Transfer-Encoding: chunked\r\n"), b"HTTP/1.1 400"),
    "chunked body ends early": (_post(b"ff\r\n{}", b"Transfer-Encoding: chunked\r\n"), b"HTTP/1.1 400"),
    "huge header": (_post(b"{}", b"X-A: " + b"a" * 200_000 + b"\r\nContent-Length: 2\r\n"), b"HTTP/1.1 431"),
    "many headers": (_post(b"{}", b"".join(b"X-%d: 1\r\n" % i for i in range(500)) + b"Content-Length: 2\r\n"),
                     b"HTTP/1.1 431"),
    "body over 64 MB announced": (_post(b"{}", b"Content-Length: 99999999999\r\n"), b"HTTP/1.1 400"),
    # forwarded as it came: the answer is the upstream's (the stand-in itself cannot parse it and hangs up: 502)
    "JSON nested 200k deep": (_post(b"[" * 200_000, b"Content-Length: 200000\r\n"), b"HTTP/1.1 "),
    "a 100k-digit number": (_post(b'{"a":' + b"9" * 100_000 + b"}", b"Content-Length: 100006\r\n"), b"HTTP/1.1 200"),
    "body ends early": (_post(b'{"a":', b"Content-Length: 1000\r\n"), b"HTTP/1.1 400"),
    "gzip bomb (200 MB inflated)": (_post(BOMB, b"Content-Encoding: gzip\r\nContent-Length: %d\r\n" % len(BOMB)),
                                    b"HTTP/1.1 200"),
}


@pytest.mark.parametrize("name", list(HOSTILE_REQUESTS))
def test_every_hostile_request_is_answered_in_bounded_time(relay: RelayServer, standin: StandIn, name: str) -> None:
    """Each broken request gets an HTTP answer within seconds; the relay keeps serving and records it."""
    data, status_line = HOSTILE_REQUESTS[name]
    took, answer = exchange(relay.port, data)
    assert answer.startswith(status_line), answer[:200]
    assert took < 5.0
    assert answer.count(b"\r\nServer:") + answer.count(b"\r\nserver:") <= 1  # upstream's headers, not doubled
    # still healthy afterwards: a real event goes through once
    resp = httpx.post(relay.track_url, content=body("after-" + name), headers={"Access-Token": TOKEN}, timeout=10)
    assert resp.json()["code"] == 0 and standin.counts["after-" + name] == 1


def test_refused_requests_are_recorded_with_why(relay: RelayServer, store: Store) -> None:
    """A request the relay could not read is still recorded: HTTP 400, code 40002, a body.unreadable finding."""
    exchange(relay.port, HOSTILE_REQUESTS["conflicting Content-Length"][0])
    assert relay.wait_recorded(1, 10)
    [row] = history(store, session_id="hostile")
    assert (row["status"], row["code"]) == (400, 40002)
    assert [f["code"] for f in row["findings"]] == ["body.unreadable"]
    assert "Content-Length" in row["findings"][0]["message"]


def test_a_stalled_client_is_answered_and_frees_its_thread(relay: RelayServer) -> None:
    """Slowloris: half a body, then silence. The relay answers 400 after its timeout and the thread ends."""
    before = threading.active_count()
    took, answer = exchange(relay.port, _post(b'{"data": [', b"Content-Length: 5000\r\n"), close_write=False)
    assert answer.startswith(b"HTTP/1.1 400") and b"did not arrive" in answer
    assert took < 5.0 + 3.0  # the relay's floor for a stalled read (5 s) plus slack for a busy machine
    wait_until(lambda: threading.active_count() <= before, 10)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=2000))
def test_random_bytes_never_hang_or_kill_the_relay(relay: RelayServer, junk: bytes) -> None:
    """Any bytes at all: the relay answers or closes within seconds and then serves a good request."""
    took, _ = exchange(relay.port, junk, timeout=10)
    assert took < 8.0
    assert httpx.get(relay.url + "/_relay/health", timeout=5).json()["ok"] is True


# --- a hostile upstream -----------------------------------------------------------------------------------
class RawUpstream:
    """A raw-socket upstream: reads one request, then misbehaves the way `mode` says; counts requests."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.requests = 0
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._stop = True
        self._sock.close()

    def _accept(self) -> None:
        while not self._stop:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(10)
            buf = b""
            while b"\r\n\r\n" not in buf:
                buf += conn.recv(65536)
            head, rest = buf.split(b"\r\n\r\n", 1)
            length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length"))
            while len(rest) < length:
                rest += conn.recv(65536)
            self.requests += 1
            self._misbehave(conn)
        except OSError:
            pass
        finally:
            conn.close()

    def _misbehave(self, conn: socket.socket) -> None:
        ok = b'{"code":0,"message":"OK","request_id":"up-ok","data":{}}'
        if self.mode == "garbage":
            conn.sendall(b"\x00\x01 this is not HTTP\r\n\r\n")
        elif self.mode == "mid-body close":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{\"code\":0,")
        elif self.mode == "byte by byte":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(ok))
            for b in ok:
                conn.sendall(bytes([b]))
                time.sleep(0.25)
        elif self.mode == "100 MB":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (100 * 2**20))
            for _ in range(100):
                conn.sendall(b"a" * 2**20)
        elif self.mode == "redirect":
            conn.sendall(b"HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:9/x\r\nContent-Length: 0"
                         b"\r\n\r\n")
        elif self.mode == "deep JSON":
            deep = b"[" * 100_000
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(deep) + deep)
        elif self.mode == "echo":
            echo = b'{"code":40105,"message":"token ' + TOKEN.encode() + b' is invalid","request_id":"r"}'
            conn.sendall(b"HTTP/1.1 200 OK\r\nX-Echo: " + TOKEN.encode() + b"\r\nContent-Length: %d\r\n\r\n" % len(echo)
                         + echo)
        elif self.mode == "silence":
            time.sleep(4)


@pytest.fixture
def raw_upstream() -> Iterator[RawUpstream]:
    up = RawUpstream()
    yield up
    up.close()


UPSTREAM_CASES = [("garbage", 502, 50000), ("mid-body close", 502, 50000), ("byte by byte", 504, 50002),
                  ("100 MB", 502, 50000), ("redirect", 307, None), ("deep JSON", 200, None),
                  ("silence", 504, 50002)]


@pytest.mark.parametrize(("mode", "status", "code"), UPSTREAM_CASES)
def test_a_hostile_upstream_never_hangs_the_backend_and_is_recorded(raw_upstream: RawUpstream, store: Store,
                                                                     mode: str, status: int, code: int | None) -> None:
    """Garbage, a cut body, a trickle, 100 MB, a redirect, deep JSON, silence: answered within the timeout."""
    raw_upstream.mode = mode
    with start_relay(forward_url=raw_upstream.url, store=store, session_id="up", timeout=1.5) as relay:
        started = time.monotonic()
        resp = httpx.post(relay.track_url, content=body("e-" + mode), headers={"Access-Token": TOKEN}, timeout=30)
        took = time.monotonic() - started
        assert relay.wait_recorded(1, 10), relay.record_errors
    assert resp.status_code == status and took < 1.5 + 2.5
    if code is not None:
        assert resp.json()["code"] == code
    [row] = history(store, session_id="up")
    assert row["status"] == status and row["events"] == [{"event": "Purchase", "event_id": "e-" + mode}]
    assert raw_upstream.requests == 1  # forwarded once: the relay never retries on the backend's behalf


def test_nothing_lost_nothing_twice_under_a_mixed_flood(standin: StandIn, store: Store, tmp_path: Path) -> None:
    """Good and hostile requests at once: every good event_id reaches upstream once and is recorded once."""
    good = [f"ok-{i}" for i in range(120)]
    bad = [HOSTILE_REQUESTS[k][0] for k in ("conflicting Content-Length", "bad chunk size", "garbage request line",
                                            "JSON nested 200k deep")] * 5
    with start_relay(forward_url=standin.url, store=store, session_id="flood", timeout=5) as relay, \
            httpx.Client(timeout=20) as client, ThreadPoolExecutor(16) as pool:
        posts = [pool.submit(client.post, relay.track_url, content=body(eid, RAW_EMAIL if i % 7 == 0 else HASH),
                             headers={"Access-Token": TOKEN}) for i, eid in enumerate(good)]
        raws = [pool.submit(exchange, relay.port, b) for b in bad]
        assert all(f.result().status_code == 200 for f in posts)
        assert all(f.result()[1].startswith(b"HTTP/1.1") for f in raws)
        expected = len(good) + len(bad) - 5  # garbage request lines are not Events API requests
        assert relay.wait_recorded(expected, 20), relay.record_errors
    assert standin.twice() == {} and {e for e in good} <= standin.delivered()
    recorded = [e["event_id"] for row in history(store, session_id="flood") for e in row["events"]]
    assert sorted(e for e in recorded if str(e).startswith("ok-")) == sorted(good)
    on_disk = b"".join(p.read_bytes() for p in tmp_path.glob("console.db*"))
    assert TOKEN.encode() not in on_disk and RAW_EMAIL.encode() not in on_disk


def test_history_text_escapes_terminal_control_characters(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          standin: StandIn, capsys: pytest.CaptureFixture[str]) -> None:
    """Event names and ids with ESC sequences and bidi overrides print escaped: the terminal stays intact."""
    monkeypatch.setenv("TEC_DB", str(tmp_path / "h.db"))
    evil = {"event_source": "web", "event_source_id": "C4A1B2C3D4E5F6G7H8I9", "data": [
        {"event": "\x1b[2J\x1b]0;pwned\x07Purchase", "event_id": "id\u202e\r\n\x00" + "x" * 5000,
         "event_time": int(time.time())}, {"event": {"nested": ["\x1b[31m"]}, "event_id": 7}]}
    with Store(tmp_path / "h.db") as s, start_relay(forward_url=standin.url, store=s, session_id="evil",
                                                    timeout=5) as relay:
        httpx.post(relay.track_url, json=evil, headers={"Access-Token": TOKEN}, timeout=10)
        assert relay.wait_recorded(1, 10)
    assert main(["history", "--session", "evil"]) == EXIT_OK
    out, err = capsys.readouterr()
    assert "\x1b" not in out and "\u202e" not in out and "\x00" not in out and "\r" not in out
    assert "Traceback" not in err and out.count("\n") == 2  # one exchange line and the total
    assert main(["history", "--session", "evil", "--format", "json"]) == EXIT_OK
    doc: Any = json.loads(capsys.readouterr().out)
    assert doc["exchanges"][0]["events"][0]["event"].startswith("\x1b[2J")  # JSON keeps the data as it was


def test_a_token_echoed_by_the_upstream_never_reaches_disk(raw_upstream: RawUpstream, tmp_path: Path) -> None:
    """The upstream echoes the token in a header and the message: the backend sees it, the database does not."""
    raw_upstream.mode = "echo"
    with Store(tmp_path / "echo.db") as s, start_relay(forward_url=raw_upstream.url, store=s, session_id="echo",
                                                       timeout=3) as relay:
        resp = httpx.post(relay.track_url + f"?access_token={TOKEN}", content=body("e1"),
                          headers={"Access-Token": TOKEN, "User-Agent": f"shop/{TOKEN}"}, timeout=10)
        assert relay.wait_recorded(1, 10)
        [row] = history(s, session_id="echo")
    assert resp.headers["x-echo"] == TOKEN and row["code"] == 40105  # answered unchanged
    on_disk = b"".join(p.read_bytes() for p in tmp_path.glob("echo.db*"))
    assert TOKEN.encode() not in on_disk and TOKEN not in json.dumps(row)


ODD_BODIES = [b'{"data":"str"}', b'{"data":[1,"x",null]}', b'{"data":[{"event":{"a":1},"event_id":[1]}]}', b"[]",
              b'[{"event":"Purchase"}]', b"null", b'"\\u0000\\u001b"', b'{"\\ud800":"lone surrogate","data":[]}',
              b'{"data":[{"event":"P\\udfff","event_id":"x","event_time":1e999}]}',
              b'{"data":[{"event":"P","user":{"email":12345678901,"phone":{"a":"+12133734253"}}}]}']


def test_odd_json_bodies_are_all_recorded_and_listed(standin: StandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """Non-object bodies, junk events, lone surrogates, 1e999: every one recorded, history prints them all."""
    monkeypatch.setenv("TEC_DB", str(tmp_path / "odd.db"))
    with Store(tmp_path / "odd.db") as s, start_relay(forward_url=standin.url, store=s, session_id="odd",
                                                      timeout=5) as relay:
        for raw in ODD_BODIES:
            resp = httpx.post(relay.track_url, content=raw, headers={"Access-Token": TOKEN}, timeout=10)
            assert resp.status_code == 200
        assert relay.wait_recorded(len(ODD_BODIES), 10), relay.record_errors
    assert main(["history", "--session", "odd"]) == EXIT_OK
    out, err = capsys.readouterr()
    assert out.strip().endswith(f"{len(ODD_BODIES)} exchange(s)") and "Traceback" not in err
    assert main(["history", "--session", "odd", "--format", "json"]) == EXIT_OK
    assert len(json.loads(capsys.readouterr().out)["exchanges"]) == len(ODD_BODIES)
