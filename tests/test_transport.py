"""Sending over a real socket to the emulator: retries, no-retry codes, batching, outbox recovery, redaction."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import outbox
from core.config import EMULATOR_TOKEN, Settings
from core.contract import REDACTED, TOKEN_PLACEHOLDER, TRACK_PATH
from core.emulator import EmulatorServer, start_emulator
from core.errors import ConfigError, InvalidPayload
from core.exchange import Exchange
from core.store import Store
from core.transport import (
    Sender,
    apply_test_event_code,
    endpoint_url,
    parse_bodies,
    split_body,
    to_curl,
)

TOKEN = "tt-live-secret-0123456789abcdef"
HASH = "848a771458438fc2ec420560d769fb9b9b86851ee338ec56517baabd79d3bb4f"


def body(n: int = 1, code: str = "TEST123", start: int = 0) -> dict[str, Any]:
    return {"event_source": "web", "event_source_id": "CPIXEL123", "test_event_code": code,
            "data": [{"event": "Purchase", "event_time": 1735689600, "event_id": f"ord_{i}",
                      "user": {"email": [HASH], "ip": "203.0.113.7"},
                      "properties": {"currency": "USD", "value": 10.0}} for i in range(start, start + n)]}


def cfg(url: str, **over: Any) -> Settings:
    base = {"target": "custom", "base_url": url, "access_token": TOKEN, "timeout_s": 2.0, "max_attempts": 4,
            "backoff_base_s": 0.01}
    base.update(over)
    return Settings(**base)


@pytest.fixture
def emu(emu_server: EmulatorServer) -> EmulatorServer:
    emu_server.clear()
    return emu_server


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "console.db") as s:
        yield s


def received_ids(emu: EmulatorServer, code: str = "TEST123") -> list[str]:
    return [e["event_id"] for e in emu.received.get(code, [])]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- against the emulator -------------------------------------------------------------------------
def test_success_records_the_round_trip(emu: EmulatorServer) -> None:
    """A good body is accepted first time; the Exchange holds the real request and response, token redacted."""
    with Sender(cfg(emu.url)) as sender:
        (ex,) = sender.send_body(body(2))
    assert ex.accepted and not ex.partial and ex.outcome == "accepted" and ex.code == 0
    assert ex.url == emu.url + TRACK_PATH and ex.method == "POST"
    assert ex.request_headers["Access-Token"] == REDACTED and ex.request_headers["Content-Type"] == "application/json"
    assert ex.request_id == emu.received["TEST123"][0]["request_id"] == ex.response_body["request_id"]
    assert len(ex.attempts) == 1 and ex.attempts[0].status == 200 and ex.attempts[0].retry_in_s is None
    assert ex.latency_ms > 0 and ex.decoded.name == "OK"
    sent = emu.requests[-1]
    assert sent["test_event_code"] == "TEST123" and sent["event_ids"] == ["ord_0", "ord_1"]
    assert TOKEN not in json.dumps(ex.to_dict())


@pytest.mark.parametrize(("kind", "opts", "first_status", "first_code"), [
    ("rate_limit", {}, 200, 40100),
    ("rate_limit", {"http_status": 429}, 429, 40100),
    ("http_502_html", {}, 502, None),
    ("code", {"code": 50002}, 200, 50002),
    ("code", {"code": 51012}, 200, 51012),
])
def test_transient_failure_then_success(emu: EmulatorServer, kind: str, opts: dict[str, Any], first_status: int,
                                        first_code: int | None) -> None:
    """A transient answer is retried with backoff; the retry carries the same event_ids; delivered once."""
    emu.set_fault(kind, **opts)
    with Sender(cfg(emu.url)) as sender:
        (ex,) = sender.send_body(body(3))
    assert ex.accepted and len(ex.attempts) == 2
    first = ex.attempts[0]
    assert (first.status, first.code) == (first_status, first_code) and first.retry_in_s is not None
    assert [r["event_ids"] for r in emu.requests] == [["ord_0", "ord_1", "ord_2"]] * 2
    assert received_ids(emu) == ["ord_0", "ord_1", "ord_2"]


def test_slow_answer_past_the_timeout_is_awaited_not_resent(emu: EmulatorServer) -> None:
    """An answer slower than the (connect/send) timeout is awaited: one request, one copy at TikTok."""
    emu.set_fault("slow", delay_s=0.5)
    with Sender(cfg(emu.url, timeout_s=0.2)) as sender:
        (ex,) = sender.send_body(body(1))
    assert ex.accepted and len(ex.attempts) == 1
    assert [e["event_id"] for e in emu.received["TEST123"]] == ["ord_0"]


def test_answer_past_the_answer_deadline_is_retried_after_the_connection_closed(emu: EmulatorServer) -> None:
    """Past the answer deadline the connection is closed (its answer can no longer arrive), then resent."""
    emu.set_fault("slow", delay_s=0.6)
    with Sender(cfg(emu.url, timeout_s=0.2, answer_timeout_s=0.3)) as sender:
        (ex,) = sender.send_body(body(1))
    assert ex.accepted and len(ex.attempts) == 2
    assert ex.attempts[0].status is None and "timeout" in (ex.attempts[0].error or "")
    import time

    deadline = time.monotonic() + 5  # the first copy lands late; TikTok keeps one of the two by event_id
    while len(emu.received.get("TEST123", [])) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    flags = sorted((e["event_id"], e["deduplicated"]) for e in emu.received["TEST123"])
    assert flags == [("ord_0", False), ("ord_0", True)]


def test_connection_reset_is_retried(emu: EmulatorServer) -> None:
    """A reset connection (no answer) is retried on a fresh connection."""
    emu.set_fault("reset")
    with Sender(cfg(emu.url)) as sender:
        (ex,) = sender.send_body(body(1))
    assert ex.accepted and len(ex.attempts) == 2 and ex.attempts[0].error


@pytest.mark.parametrize(("fault", "token", "code"), [
    ({"kind": "code", "code": 40002, "message": "Invalid value for event_id: not a valid string."}, TOKEN, 40002),
    (None, "wrong-token", 40105),
    ({"kind": "code", "code": 40001}, TOKEN, 40001),
])
def test_parameter_and_token_errors_not_retried(emu: EmulatorServer, fault: dict[str, Any] | None, token: str,
                                                code: int) -> None:
    """40002 / 40105 / 40001 come back after one attempt, decoded with meaning and fix."""
    if fault:
        emu.set_fault(fault.pop("kind"), **fault)
    with Sender(cfg(emu.url, access_token=token)) as sender:
        (ex,) = sender.send_body(body(1))
    assert len(ex.attempts) == 1 and len(emu.requests) == 1
    assert ex.code == code and not ex.accepted and ex.outcome == "rejected"
    assert ex.decoded.code == code and ex.decoded.fix and not ex.decoded.retry


def test_retries_exhausted_is_undelivered(emu: EmulatorServer) -> None:
    """When every attempt is rate limited the exchange is undelivered after max_attempts."""
    emu.set_fault("rate_limit", count=10)
    with Sender(cfg(emu.url, max_attempts=3)) as sender:
        (ex,) = sender.send_body(body(1))
    assert len(ex.attempts) == 3 and ex.outcome == "undelivered" and ex.attempts[-1].retry_in_s is None


def test_2500_events_split_into_requests_of_at_most_1000(emu: EmulatorServer, store: Store) -> None:
    """2,500 events go out as 1,000 + 1,000 + 500, every event delivered exactly once."""
    sid = store.create_session()
    seen: list[tuple[int, int]] = []
    with Sender(cfg(emu.url)) as sender:
        report = outbox.send(store, sender, [body(2500)], session_id=sid, progress=lambda d, t: seen.append((d, t)))
    assert [r["events"] for r in emu.requests] == [1000, 1000, 500]
    ids = received_ids(emu)
    assert len(ids) == 2500 and len(set(ids)) == 2500
    assert report.all_accepted and report.accepted == 2500 and len(report.exchanges) == 3
    assert seen == [(0, 2500), (1000, 2500), (2000, 2500), (2500, 2500)]
    assert store.outbox_counts(sid)["accepted"] == 2500


def test_server_down_then_outbox_retry_delivers_each_once(tmp_path: Path, store: Store) -> None:
    """With the server down nothing is lost: events stay pending; a later retry sends each exactly once."""
    port = free_port()
    sid = store.create_session()
    with Sender(cfg(f"http://127.0.0.1:{port}", max_attempts=2)) as sender:
        report = outbox.send(store, sender, [body(1200)], session_id=sid)
    assert report.undelivered == 1200 and report.accepted == 0
    assert report.exchanges[0].outcome == "undelivered" and "refused" in (report.exchanges[0].error or "")
    assert store.outbox_counts(sid)["pending"] == 1200
    with start_emulator(token=TOKEN, port=port) as emu, Sender(cfg(emu.url)) as sender:
        again = outbox.retry(store, sender)
        ids = received_ids(emu)
        assert outbox.retry(store, sender).events == 0  # nothing left
    assert again.all_accepted and again.events == 1200
    assert ids == [f"ord_{i}" for i in range(1200)]
    assert store.outbox_counts(sid) == {"pending": 0, "accepted": 1200, "blocked": 0, "rejected": 0, "held": 0,
                                        "dropped": 0}


def test_interrupted_batch_resumed_without_duplicates(emu: EmulatorServer, store: Store) -> None:
    """A send interrupted after its first request resumes with only the unsent events, same ids."""
    sid = store.create_session()

    def stop_after_first(done: int, total: int) -> None:
        if done == 1000:
            raise KeyboardInterrupt

    with Sender(cfg(emu.url)) as sender:
        with pytest.raises(KeyboardInterrupt):
            outbox.send(store, sender, [body(2500)], session_id=sid, progress=stop_after_first)
        assert store.outbox_counts(sid)["pending"] == 1500
        resumed = outbox.retry(store, sender, session_id=sid)
    ids = received_ids(emu)
    assert resumed.accepted == 1500 and [r["events"] for r in emu.requests] == [1000, 1000, 500]
    assert sorted(ids) == sorted(f"ord_{i}" for i in range(2500))
    assert not any(e["deduplicated"] for e in emu.received["TEST123"])


def test_rejected_events_stay_and_are_resent_after_fix(emu: EmulatorServer, store: Store) -> None:
    """A 40105 keeps the events (status blocked, message kept); a retry with the right token delivers them."""
    sid = store.create_session()
    with Sender(cfg(emu.url, access_token="wrong")) as sender:
        report = outbox.send(store, sender, [body(2)], session_id=sid)
    assert report.blocked == 2
    (row, _) = store.outbox_rows(statuses=("blocked",))
    assert row.last_code == 40105 and "revoked" in (row.last_error or "") and row.attempts == 1
    with Sender(cfg(emu.url)) as sender:
        assert outbox.retry(store, sender).all_accepted
    assert received_ids(emu) == ["ord_0", "ord_1"]


# --- mocked transport: HTTP-level rules -------------------------------------------------------------
def _mock(answers: list[Any]) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        a = answers[min(len(seen), len(answers)) - 1]
        if isinstance(a, Exception):
            raise a
        status, payload, headers = a
        if isinstance(payload, dict):
            return httpx.Response(status, json=payload, headers=headers)
        return httpx.Response(status, text=payload, headers=headers)

    return httpx.MockTransport(handler), seen


OK = (200, {"code": 0, "message": "OK", "request_id": "r1", "data": {}}, {})


@pytest.mark.parametrize(("answers", "attempts", "outcome"), [
    ([OK], 1, "accepted"),
    ([(200, {"code": 20001, "message": "partial", "request_id": "r"}, {}), OK], 1, "partial"),
    ([(500, "oops", {}), OK], 2, "accepted"),
    ([(503, "<html>down</html>", {}), (504, "", {}), OK], 3, "accepted"),
    ([(429, "", {"Retry-After": "0"}), OK], 2, "accepted"),
    ([httpx.ConnectError("refused"), OK], 2, "accepted"),
    ([httpx.ReadTimeout("slow"), OK], 2, "accepted"),
    ([(200, {"code": 40132, "message": "limited", "request_id": "r"}, {}), OK], 2, "accepted"),
    ([(200, {"code": 40002, "message": "bad", "request_id": "r"}, {}), OK], 1, "rejected"),
    ([(200, {"code": 40104, "message": "no token", "request_id": "r"}, {}), OK], 1, "rejected"),
    ([(400, "bad request", {}), OK], 1, "rejected"),
    ([(404, {"code": 40400, "message": "route", "request_id": "r"}, {}), OK], 1, "rejected"),
    ([(200, "<html>captive portal</html>", {}), OK], 1, "rejected"),
])
def test_retry_policy_table(answers: list[Any], attempts: int, outcome: str) -> None:
    """Transient HTTP / code / network failures retry; parameter, permission and token errors do not."""
    transport, seen = _mock(answers)
    sleeps: list[float] = []
    with Sender(cfg("http://api.test"), transport=transport, sleep=sleeps.append) as sender:
        ex = sender.send_one(body(1))
    assert (len(ex.attempts), ex.outcome) == (attempts, outcome)
    assert len(sleeps) == attempts - 1 and len(seen) == attempts
    assert len({r.content for r in seen}) == 1  # every attempt sends the same bytes


def test_backoff_grows_exponentially_with_jitter() -> None:
    """Waits double per attempt within [50%, 100%] of the step, and honour a larger Retry-After."""
    with Sender(cfg("http://api.test", backoff_base_s=1.0), rng=lambda: 1.0) as high, \
            Sender(cfg("http://api.test", backoff_base_s=1.0), rng=lambda: 0.0) as low:
        assert [high.backoff_s(n) for n in (1, 2, 3)] == [1.0, 2.0, 4.0]
        assert [low.backoff_s(n) for n in (1, 2, 3)] == [0.5, 1.0, 2.0]
        assert high.backoff_s(10) == 30.0
        assert low.backoff_s(1, retry_after=7) == 7 and low.backoff_s(1, retry_after=600) == 60


def test_token_only_on_the_wire() -> None:
    """The token goes in the Access-Token header and nowhere in the Exchange."""
    transport, seen = _mock([OK])
    with Sender(cfg("http://api.test"), transport=transport) as sender:
        ex = sender.send_one(body(1))
    assert seen[0].headers["Access-Token"] == TOKEN and seen[0].url.path == TRACK_PATH
    assert TOKEN not in json.dumps(ex.to_dict()) and TOKEN not in repr(ex)


@given(token=st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.",
                     min_size=20, max_size=64))
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_token_never_in_db_exports_or_curl(tmp_path: Path, token: str) -> None:
    """Property: whatever the token, it appears in no database byte, export, record or cURL copy."""
    transport, _ = _mock([(200, {"code": 40105, "message": "Access token is incorrect.", "request_id": "r"}, {}),
                          OK])
    db = tmp_path / f"{abs(hash(token))}.db"
    with Store(db) as store, Sender(cfg("http://api.test", access_token=token), transport=transport) as sender:
        sid = store.create_session()
        report = outbox.send(store, sender, [body(3)], session_id=sid)
        outbox.retry(store, sender)
        texts = [store.export_session(sid).decode(), json.dumps(report.to_dict()), to_curl(report.exchanges[0]),
                 json.dumps([e.to_dict() for e in report.exchanges]), repr(sender.settings)]
    raw = b"".join(p.read_bytes() for p in tmp_path.glob(f"{db.name}*"))
    assert token.encode() not in raw
    assert all(token not in t for t in texts)


def test_exchange_round_trips_through_dict(emu: EmulatorServer) -> None:
    """Exchange.from_dict(to_dict()) gives back the same record."""
    emu.set_fault("rate_limit")
    with Sender(cfg(emu.url)) as sender:
        (ex,) = sender.send_body(body(1))
    again = Exchange.from_dict(json.loads(json.dumps(ex.to_dict())))
    assert again == ex and again.decoded == ex.decoded


# --- bodies, URLs, cURL -----------------------------------------------------------------------------
def test_curl_uses_the_placeholder_and_replays() -> None:
    """cURL sends Access-Token as $TIKTOK_ACCESS_TOKEN (double quotes so the shell expands it)."""
    b = body(1)
    b["data"][0]["properties"]["description"] = "it's 50% off"
    cmd = to_curl(b, "https://business-api.tiktok.com/open_api/v1.3/event/track/")
    assert f'-H "Access-Token: {TOKEN_PLACEHOLDER}"' in cmd
    assert "'Content-Type: application/json'" in cmd and "curl -sS -X POST" in cmd
    import shlex

    words = shlex.split(cmd.replace("\\\n", " "))
    assert json.loads(words[words.index("--data-raw") + 1]) == b


@pytest.mark.parametrize(("size", "expected"), [(1, [1]), (1000, [1000]), (1001, [1000, 1]), (2500, [1000, 1000, 500])])
def test_split_body(size: int, expected: list[int]) -> None:
    """Bodies split into ≤1,000-event parts, keeping top-level fields and event order."""
    parts = split_body(body(size))
    assert [len(p["data"]) for p in parts] == expected
    assert all(p["test_event_code"] == "TEST123" for p in parts)
    assert [e["event_id"] for p in parts for e in p["data"]] == [f"ord_{i}" for i in range(size)]


@pytest.mark.parametrize(("text", "n_bodies", "n_events"), [
    (json.dumps(body(2)), 1, 2),
    (json.dumps([body(1), body(2)]), 2, 3),
    ("\n".join(json.dumps(e) for e in body(3)["data"]), 1, 3),
    (json.dumps(body(1)) + "\n\n" + json.dumps(body(1)["data"][0]), 2, 2),
    (json.dumps(body(1)["data"][0]), 1, 1),
])
def test_parse_bodies_valid(text: str, n_bodies: int, n_events: int) -> None:
    """A body, a list, JSONL of bodies and/or bare events all read; bare events get the Pixel code."""
    bodies = parse_bodies(text, pixel_code="CPIX")
    assert len(bodies) == n_bodies and sum(len(b["data"]) for b in bodies) == n_events
    assert all(b["event_source_id"] in ("CPIX", "CPIXEL123") for b in bodies)


@pytest.mark.parametrize(("text", "pixel", "words"), [
    ("", "C", "empty"),
    ('{"data": [', "C", "line 1"),
    ('{"a": 1}\n{"b": ', "C", "line 2"),
    ('{"event": "Purchase"}', "", "Pixel code"),
    ("[1, 2]", "C", "item 1"),
    ('{"foo": 1}', "C", "neither"),
])
def test_parse_bodies_invalid(text: str, pixel: str, words: str) -> None:
    """Unreadable input raises InvalidPayload naming where and what."""
    with pytest.raises(InvalidPayload, match=words):
        parse_bodies(text, pixel_code=pixel)


def test_apply_test_event_code_sets_top_level_only() -> None:
    """The test event code goes at the top level, copies only; empty code leaves bodies as they are."""
    original = body(1, code="OLD")
    (changed,) = apply_test_event_code([original], "TEST999")
    assert changed["test_event_code"] == "TEST999" and original["test_event_code"] == "OLD"
    assert "test_event_code" not in changed["data"][0]
    assert apply_test_event_code([original], "") == [original]


@pytest.mark.parametrize(("settings_kw", "url"), [
    ({"target": "tiktok"}, "https://business-api.tiktok.com/open_api/v1.3/event/track/"),
    ({"target": "custom", "base_url": "http://127.0.0.1:9/"}, "http://127.0.0.1:9/open_api/v1.3/event/track/"),
    ({"target": "emulator", "base_url": "http://127.0.0.1:5"}, "http://127.0.0.1:5/open_api/v1.3/event/track/"),
])
def test_endpoint_url(settings_kw: dict[str, Any], url: str) -> None:
    """The track URL is built from the target's base URL, TikTok's by default."""
    assert endpoint_url(Settings(**settings_kw)) == url


def test_config_errors() -> None:
    """No emulator URL, or no token for a real target, is a ConfigError before anything is sent."""
    with pytest.raises(ConfigError, match="base URL"):
        endpoint_url(Settings(target="emulator"))
    with pytest.raises(ConfigError, match="custom target has no base URL"):
        endpoint_url(Settings(target="custom"))
    with pytest.raises(ConfigError, match="TIKTOK_ACCESS_TOKEN"):
        Sender(Settings(target="tiktok"))
    with Sender(Settings(target="emulator", base_url="http://127.0.0.1:1")) as s:
        assert s._token == EMULATOR_TOKEN


class _Capture:
    """A TikTok stand-in on 127.0.0.1 that keeps every request's bytes as they arrived and accepts them."""

    def __init__(self) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        captured: list[bytes] = []

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                captured.append(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                out = json.dumps({"code": 0, "message": "OK", "request_id": "cap", "data": {}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        self.requests = captured
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        import threading

        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def test_outbox_requests_are_byte_for_byte_the_given_bodies(store: Store) -> None:
    """The outbox builds request bytes from the texts it recorded: they equal encoding the given body,
    for plain events, non-ASCII text, nested lists, a body without a test code and an event carrying a raw
    email (sent as given, never stored)."""
    from core.transport import encode_body

    first = body(3)
    first["data"][0]["properties"]["description"] = "café ✓ «quoted» \"x\" \\ tab\t"
    first["data"][1]["properties"]["contents"] = [{"content_id": "a", "quantity": 2, "price": 1.5}, []]
    first["data"][2]["user"] = {"email": "someone@example.com", "ip": "203.0.113.7"}
    second = {"event_source": "web", "event_source_id": "CPIXEL456",
              "data": [{"event": "ViewContent", "event_time": 1735689601, "event_id": f"view_{i}"} for i in range(2)]}
    bodies = [first, second]
    cap = _Capture()
    try:
        with Sender(cfg(cap.url)) as sender:
            report = outbox.send(store, sender, json.loads(json.dumps(bodies)), label="bytes")
    finally:
        cap.stop()
    assert report.accepted == 5
    assert cap.requests == [encode_body(b) for b in bodies]
    assert "someone@example.com" not in (store.path.read_bytes() + Path(f"{store.path}-wal").read_bytes()).decode(
        "utf-8", "replace")
