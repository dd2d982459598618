"""The local Events API emulator: envelope, token checks, validation, Test Events view, dedup, faults."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.contract import DEDUP_WINDOW_SECONDS, TRACK_PATH
from core.emulator import EmulatorServer, load_body, new_request_id, start_emulator, validate_body

HASH = "848a771458438fc2ec420560d769fb9b9b86851ee338ec56517baabd79d3bb4f"
TOKEN = "emu-secret-token-123"


def event(i: int = 0, **over: Any) -> dict[str, Any]:
    ev: dict[str, Any] = {
        "event": "Purchase", "event_time": 1735689600 + i, "event_id": f"ord_{i}",
        "user": {"email": [HASH], "phone": [HASH], "ip": "203.0.113.7", "user_agent": "Mozilla/5.0"},
        "properties": {"currency": "USD", "value": 46.0, "content_type": "product",
                       "contents": [{"content_id": "1077218", "price": 8, "quantity": 2}]},
    }
    ev.update(over)
    return ev


def body(n: int = 1, code: str | None = "TEST123", **over: Any) -> dict[str, Any]:
    b: dict[str, Any] = {"event_source": "web", "event_source_id": "CPIXEL123", "data": [event(i) for i in range(n)]}
    if code is not None:
        b["test_event_code"] = code
    b.update(over)
    return b


@pytest.fixture
def emu(emu_server: EmulatorServer) -> EmulatorServer:
    return emu_server


@pytest.fixture
def client(emu: EmulatorServer) -> Iterator[httpx.Client]:
    emu.clear()
    with httpx.Client(base_url=emu.url, headers={"Access-Token": TOKEN}, timeout=5) as c:
        yield c


def post(c: httpx.Client, b: Any, headers: dict[str, str] | None = None, **kw: Any) -> httpx.Response:
    return c.post(TRACK_PATH, content=json.dumps(b), headers={"Content-Type": "application/json", **(headers or {})},
                  **kw)


# --- validation (pure) ----------------------------------------------------------------------------
def _mutate(path: str, value: Any) -> dict[str, Any]:
    b = body(1)
    target: Any = b
    keys = path.split(".")
    for k in keys[:-1]:
        target = target[int(k)] if k.isdigit() else target[k]
    if value is _DELETE:
        del target[keys[-1]]
    else:
        target[keys[-1]] = value
    return b


_DELETE = object()


@pytest.mark.parametrize(("path", "value", "field"), [
    ("event_source_id", _DELETE, "event_source_id"),
    ("event_source_id", 123, "event_source_id"),
    ("event_source", "website", "event_source"),
    ("data.0.event_id", 10492, "data.0.event_id"),
    ("data.0.event", _DELETE, "data.0.event"),
    ("data.0.event_time", 1735689600000, "data.0.event_time"),
    ("data.0.event_time", "yesterday", "data.0.event_time"),
    ("data.0.properties.currency", "usd", "data.0.properties.currency"),
    ("data.0.properties.value", "46,00 €", "data.0.properties.value"),
    ("data.0.properties.content_type", "sku", "data.0.properties.content_type"),
    ("data.0.properties.contents.0.content_id", 1077218, "data.0.properties.contents.0.content_id"),
    ("data", [], "data"),
    ("test_event_code", 12345, "test_event_code"),
])
def test_invalid_field_gives_40002_naming_it(path: str, value: Any, field: str) -> None:
    """A field failing validation gives 40002 with a message naming that field."""
    code, message = validate_body(_mutate(path, value))
    assert code == 40002
    assert f"Invalid value for {field}:" in message


@pytest.mark.parametrize("b", [body(1), body(1000), body(3, code=None), body(1, event_source="app")])
def test_valid_bodies_pass(b: dict[str, Any]) -> None:
    """Well-formed bodies of 1 to 1,000 events validate as OK."""
    assert validate_body(b) == (0, "OK")


def test_more_than_1000_events_rejected_whole() -> None:
    """TikTok rejects a request of 1,001 events as a whole, naming `data` and the limit."""
    code, message = validate_body(body(1001))
    assert code == 40002
    assert "data" in message and "1000" in message and "1001" in message


@pytest.mark.parametrize("user", [{"email": "alice@example.com"}, {"phone": ["+12133734253"]},
                                  {"email": [HASH, "Bob@Example.com"]}])
def test_unhashed_pii_gives_40062(user: dict[str, Any]) -> None:
    """Unhashed email or phone is refused with PII_NOT_HASHED, naming the path."""
    code, message = validate_body(_mutate("data.0.user", user))
    assert code == 40062
    assert "data.0.user." in message


def test_many_errors_are_listed_with_a_count() -> None:
    """Every field error is gathered; past five the message says how many more."""
    b = body(8)
    for ev in b["data"]:
        ev["event_id"] = 1
    code, message = validate_body(b)
    assert code == 40002
    assert message.count("Invalid value for") == 5 and "(and 3 more)" in message


def test_request_id_shape() -> None:
    """request_id looks like TikTok's: 14 timestamp digits then 20 upper-case hex."""
    rid = new_request_id()
    assert len(rid) == 34 and rid[:14].isdigit() and rid[14:] == rid[14:].upper()
    assert rid[:8] == time.strftime("%Y%m%d", time.gmtime())


# --- over HTTP ------------------------------------------------------------------------------------
def test_accepts_and_keeps_events_per_test_code(emu: EmulatorServer, client: httpx.Client) -> None:
    """A valid body gets the TikTok envelope and shows up under its test event code."""
    r = post(client, body(3))
    payload = r.json()
    assert r.status_code == 200 and set(payload) == {"code", "message", "request_id", "data"}
    assert (payload["code"], payload["message"]) == (0, "OK")
    assert r.headers["X-Tt-Logid"] == payload["request_id"]
    got = emu.received["TEST123"]
    assert [e["event_id"] for e in got] == ["ord_0", "ord_1", "ord_2"]
    assert all(e["request_id"] == payload["request_id"] and not e["deduplicated"] for e in got)
    assert got[0]["match_keys"] == ["email", "phone", "ip", "user_agent"]
    assert emu.requests[-1]["headers"]["Access-Token"] != TOKEN


@pytest.mark.parametrize(("headers", "code"), [({"Access-Token": ""}, 40104), ({"Access-Token": "nope"}, 40105)])
def test_token_checks(client: httpx.Client, headers: dict[str, str], code: int) -> None:
    """Missing token gives 40104, a wrong one 40105, both with HTTP 200 like TikTok."""
    r = post(client, body(1), headers=headers)
    assert r.status_code == 200 and r.json()["code"] == code


def test_any_token_when_none_configured() -> None:
    """An emulator started without a token accepts any non-empty one but still wants the header."""
    with start_emulator() as emu, httpx.Client(base_url=emu.url) as c:
        ok = c.post(TRACK_PATH, json=body(1), headers={"Access-Token": "whatever"}).json()
        missing = c.post(TRACK_PATH, json=body(1)).json()
    assert ok["code"] == 0 and missing["code"] == 40104


def test_invalid_body_over_http_keeps_nothing(emu: EmulatorServer, client: httpx.Client) -> None:
    """A rejected request keeps no event, and non-JSON is a 40002 too."""
    assert post(client, body(1001)).json()["code"] == 40002
    assert client.post(TRACK_PATH, content=b"not json").json()["code"] == 40002
    assert emu.received == {}


def test_unknown_route_is_40400(client: httpx.Client) -> None:
    """A wrong path answers 404 with code 40400 and the right path in the message."""
    r = client.post("/open_api/v1.3/pixel/track/", json=body(1))
    assert r.status_code == 404 and r.json()["code"] == 40400 and TRACK_PATH in r.json()["message"]


def test_dedup_same_event_id_within_48h(emu: EmulatorServer, client: httpx.Client) -> None:
    """Same Pixel + event + event_id within 48 h is flagged deduplicated against the first copy."""
    first = post(client, body(2)).json()["request_id"]
    post(client, body(2))
    late = body(1)
    late["data"][0]["event_time"] += DEDUP_WINDOW_SECONDS + 1
    post(client, late)
    post(client, body(1, code="OTHER"))
    flags = [(e["event_id"], e["deduplicated"], e["duplicate_of"]) for e in emu.received["TEST123"]]
    assert flags == [("ord_0", False, None), ("ord_1", False, None), ("ord_0", True, first), ("ord_1", True, first),
                     ("ord_0", False, None)]
    assert emu.received["OTHER"][0]["deduplicated"] is False
    view = client.get("/_emulator/events", params={"test_event_code": "TEST123"}).json()
    assert view["test_event_codes"]["TEST123"]["received"] == 5
    assert view["test_event_codes"]["TEST123"]["deduplicated"] == 2


def test_dedup_keys_do_not_run_together(emu: EmulatorServer, client: httpx.Client) -> None:
    """Event name and event_id are kept apart in the dedup key: ("A\\x00B", "C") is not ("A", "B\\x00C")."""
    post(client, body(1) | {"data": [event(0, event="Custom\x00Lead", event_id="x")]})
    post(client, body(1) | {"data": [event(1, event="Custom", event_id="Lead\x00x")]})
    assert [e["deduplicated"] for e in emu.received["TEST123"]] == [False, False]


@pytest.mark.parametrize(("kind", "opts", "status", "code"), [
    ("rate_limit", {}, 200, 40100),
    ("rate_limit", {"http_status": 429}, 429, 40100),
    ("http_502_html", {}, 502, None),
    ("code", {"code": 50002}, 200, 50002),
    ("code", {"code": 40001, "message": "No permission to operate pixel code"}, 200, 40001),
])
def test_faults_answer_then_recover(emu: EmulatorServer, client: httpx.Client, kind: str, opts: dict[str, Any],
                                    status: int, code: int | None) -> None:
    """A fault answers the next request its way, keeps nothing, and the one after is served normally."""
    emu.set_fault(kind, **opts)
    r = post(client, body(1))
    assert r.status_code == status
    if code is None:
        assert "502 Bad Gateway" in r.text and r.headers["content-type"].startswith("text/html")
    else:
        assert r.json()["code"] == code
    assert emu.received == {}
    assert post(client, body(1)).json()["code"] == 0


def test_reset_fault_gives_no_answer(emu: EmulatorServer, client: httpx.Client) -> None:
    """'reset' drops the connection without an answer, `count` times, then serves again."""
    emu.set_fault("reset", count=2)
    for _ in range(2):
        with pytest.raises(httpx.TransportError):
            post(client, body(1))
    assert post(client, body(1)).json()["code"] == 0


def test_slow_fault_delays_but_processes(emu: EmulatorServer, client: httpx.Client) -> None:
    """'slow' answers late (past a short client timeout) yet keeps the events, like a slow gateway."""
    emu.set_fault("slow", delay_s=0.6)
    with pytest.raises(httpx.ReadTimeout):
        post(client, body(1), timeout=0.2)
    deadline = time.monotonic() + 5
    while not emu.received.get("TEST123") and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [e["event_id"] for e in emu.received["TEST123"]] == ["ord_0"]


def test_faults_over_http_and_clear(emu: EmulatorServer, client: httpx.Client) -> None:
    """Another process can set faults and clear state through the /_emulator side door."""
    assert client.post("/_emulator/faults", json={"kind": "code", "code": 50000}).json() == {"ok": True}
    assert post(client, body(1)).json()["code"] == 50000
    assert client.post("/_emulator/faults", json={"kind": "bogus"}).status_code == 400
    post(client, body(1))
    assert emu.request_count == 2
    client.post("/_emulator/clear")
    assert emu.received == {} and emu.request_count == 0


@pytest.mark.parametrize(("kind", "opts", "words"), [("bogus", {}, "unknown fault"), ("code", {}, "code=<int>"),
                                                   ("rate_limit", {"count": 0}, "count")])
def test_set_fault_rejects_bad_specs(emu: EmulatorServer, kind: str, opts: dict[str, Any], words: str) -> None:
    """Unknown kinds, a code fault without a code, and count < 1 are refused."""
    with pytest.raises(ValueError, match=words):
        emu.set_fault(kind, **opts)


def test_received_is_a_copy(emu: EmulatorServer, client: httpx.Client) -> None:
    """Mutating the returned view does not change what the emulator keeps."""
    post(client, body(1))
    view = emu.received
    copy.deepcopy(view)["TEST123"].clear()
    view["TEST123"][0]["event_id"] = "changed"
    assert emu.received["TEST123"][0]["event_id"] == "ord_0"


# --- reading a request body: orjson's speed, json's reading ----------------------------------------------
def _json_values(low: int, high: int) -> st.SearchStrategy[Any]:
    return st.recursive(
        st.none() | st.booleans() | st.integers(min_value=low, max_value=high) | st.floats(allow_nan=False) | st.text(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
        max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(_json_values(-(2**63), 2**64 - 1))  # orjson's integers: signed and unsigned 64-bit
def test_load_body_reads_any_json_as_json_loads_does(value: Any) -> None:
    raw = json.dumps(value).encode()
    got, want = load_body(raw), json.loads(raw)
    assert got == want and json.dumps(got) == json.dumps(want)  # the same types too (1 is not 1.0)


_BIG = st.integers(min_value=-(2**80), max_value=2**80) | st.floats(allow_nan=False) | st.text(max_size=4)


@settings(max_examples=300, deadline=None)
@given(event_time=_BIG, event_id=_BIG, amount=_BIG, source_id=_BIG, code=_BIG, other=_json_values(-(2**80), 2**80))
def test_load_body_keeps_every_value_the_emulator_looks_at_as_json_reads_it(
        event_time: Any, event_id: Any, amount: Any, source_id: Any, code: Any, other: Any) -> None:
    """An integer beyond 64 bits (orjson reads a float) stays an int wherever the emulator judges, keeps or logs it."""
    b = {**body(), "event_source_id": source_id, "test_event_code": code,
         "data": [event(0, event_time=event_time, event_id=event_id, properties={"value": amount, "other": other})]}
    raw = json.dumps(b).encode()
    got, want = load_body(raw), json.loads(raw)
    for top in ("event_source_id", "test_event_code"):
        assert json.dumps(got[top]) == json.dumps(want[top])
    g, w = got["data"][0], want["data"][0]
    for key in ("event_time", "event_id"):
        assert json.dumps(g[key]) == json.dumps(w[key])
    assert json.dumps(g["properties"]["value"]) == json.dumps(w["properties"]["value"])
    assert validate_body(got) == validate_body(want)


@pytest.mark.parametrize(("raw", "expected"), [
    (b'{"a": NaN, "b": -Infinity}', "nan-inf"),  # json reads these; orjson does not
    (b'"\\ud800"', "\ud800"),  # a lone surrogate
    (b"[1e400]", [float("inf")]),
    ('{"é": 1}'.encode("utf-16"), {"é": 1}),  # json reads UTF-16 by its BOM-less sniffing
])
def test_load_body_falls_back_to_json_for_what_orjson_refuses(raw: bytes, expected: Any) -> None:
    got = load_body(raw)
    if expected == "nan-inf":
        assert got["a"] != got["a"] and got["b"] == float("-inf")
    else:
        assert got == expected


def test_load_body_refuses_deep_nesting_with_a_value_error() -> None:
    with pytest.raises(ValueError, match="nested too deeply"):
        load_body(b"[" * 200_000 + b"]" * 200_000)


def test_deeply_nested_request_is_answered_40002(client: httpx.Client) -> None:
    r = client.post(TRACK_PATH, content=b"[" * 200_000 + b"]" * 200_000)
    assert r.json()["code"] == 40002


@pytest.mark.parametrize("event_time", ["¹", "١٢٣", "²⁰²⁵"])
def test_event_time_of_non_ascii_digits_is_40002_not_a_crash(event_time: str) -> None:
    code, message = validate_body(body(1) | {"data": [event(0, event_time=event_time)]})
    assert code == 40002 and "data.0.event_time: not a valid integer" in message


def test_events_view_with_a_non_ascii_limit_answers(emu: EmulatorServer, client: httpx.Client) -> None:
    post(client, body(3))
    r = client.get("/_emulator/events", params={"limit": "¹"})
    assert r.status_code == 200 and r.json()["test_event_codes"]["TEST123"]["received"] == 3
