"""A local stand-in for TikTok's Events API v1.3 `/event/track/`: a real HTTP server on 127.0.0.1.

It answers like TikTok (contract §4): HTTP 200 with the envelope `{code, message, request_id, data}`,
40104 without an Access-Token header, 40105 with a wrong one, 40002 naming the field that failed
validation (a batch of more than 1,000 events is rejected as a whole), 40062 for unhashed email/phone.
What it accepted is kept like Events Manager's Test Events tab: per test event code, every event, and
whether it was deduplicated against an earlier one (same Pixel + event + event_id within 48 h, §8).

Faults on demand (`set_fault`) make it misbehave the way the real endpoint and its gateways do:
"rate_limit" (code 40100), "http_502_html" (an nginx HTML page), "slow" (answer after a delay),
"reset" (TCP reset, no answer) and "code" (any TikTok return code).

Side doors for other processes (the CLI, the Streamlit page, browser tests):
    GET  /_emulator/events[?test_event_code=X]   the Test Events view as JSON
    GET  /_emulator/requests                     what arrived (headers redacted), newest last
    POST /_emulator/faults   {"kind": ..., "count": 1, ...opts}
    POST /_emulator/clear
    GET  /_emulator/health

Marketing API read-back, answered from what it received (core.readback reads them; same token rule):
    GET  /open_api/v1.3/pixel/list/?advertiser_id=A[&code=C]       every Pixel code that sent events
    GET  /open_api/v1.3/pixel/event/stats/?advertiser_id=A&pixel_ids=[..]&date_range={start_date,end_date}
         per event type over the UTC days of event_time: server = live /event/track/ events, browser =
         Pixel hits POSTed to /api/v2/pixel, preview = events sent with a test_event_code; events
         deduplicated as same-source duplicates are not counted (TikTok drops them)
    POST /api/v2/pixel                                            a Pixel hit (the browser leg), no token
"""

from __future__ import annotations

import hashlib
import json
import secrets
import socket
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

import orjson

from core.config import EMULATOR_TOKEN
from core.contract import (
    ACCESS_TOKEN_HEADER,
    CONTENT_TYPES,
    CURRENCIES,
    DEDUP_WINDOW_SECONDS,
    EVENT_SOURCES,
    KNOWN_EVENTS,
    MAX_EVENTS_PER_REQUEST,
    MS_TIMESTAMP_THRESHOLD,
    REDACTED,
    SHA256_HEX_RE,
    TRACK_PATH,
    describe_code,
)
from core.localserver import LocalServer
from core.readback import MAX_PIXEL_IDS, MAX_RANGE_DAYS, PIXEL_LIST_PATH, STATS_PATH

FAULT_KINDS: Final = ("rate_limit", "http_502_html", "slow", "reset", "code")
PIXEL_HIT_PATH: Final = "/api/v2/pixel"  # where the browser Pixel posts its events (contract §6.2)
PII_FIELDS: Final = ("email", "phone")  # the emulator refuses these unhashed, like TikTok's 40062
MATCH_KEYS: Final = ("email", "phone", "external_id", "ttclid", "ttp", "ip", "user_agent")
_MAX_MESSAGES: Final = 5  # field errors listed in one 40002 message before "(and N more)"

NGINX_502: Final = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)


def new_request_id() -> str:
    """A TikTok-shaped log id: `YYYYMMDDhhmmss` (UTC) + 20 upper-case hex characters."""
    return time.strftime("%Y%m%d%H%M%S", time.gmtime()) + secrets.token_hex(10).upper()


# --- validation -------------------------------------------------------------------------------------
_HEX_MATCH = SHA256_HEX_RE.match


def _is_hashed(value: object) -> bool:
    if isinstance(value, list):
        for v in value:  # noqa: SIM110 - a loop is twice as fast as all(<generator>), run for every email and phone
            if not isinstance(v, str) or _HEX_MATCH(v) is None:
                return False
        return True
    return isinstance(value, str) and (value == "" or _HEX_MATCH(value) is not None)


_INT64: Final = 2**63


def load_body(raw: bytes) -> Any:
    """A request body as `json.loads(raw)` reads it (ValueError when it is no JSON), at orjson's speed.

    orjson refuses what json reads another way (NaN and Infinity, 1e400, lone surrogates, UTF-16, nesting
    deeper than 1,024): json reads those. orjson also reads an integer beyond 64 bits as a float, where json
    keeps an int: wherever the emulator judges, keeps or logs a value (event_source_id, test_event_code,
    event_time, event_id, properties.value) a float that may have been such an integer has the body read
    again by json. Elsewhere in an event (a value the emulator never looks at) it stays orjson's float.
    """
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        try:
            return json.loads(raw)
        except RecursionError:  # nested deeper than json's reader goes: no body TikTok would take
            raise ValueError("JSON nested too deeply") from None
    if isinstance(body, dict) and _may_hold_big_ints(body):
        return json.loads(raw)
    return body


def _may_hold_big_ints(body: dict[str, Any]) -> bool:
    """True when a value the emulator looks at is a float that orjson may have made of a >64-bit integer."""
    if isinstance(body.get("event_source_id"), float) or isinstance(body.get("test_event_code"), float):
        return True
    data = body.get("data")
    if not isinstance(data, list):
        return False
    for ev in data:
        if isinstance(ev, dict):
            if isinstance(ev.get("event_time"), float) or isinstance(ev.get("event_id"), float):
                return True
            props = ev.get("properties")
            value = props.get("value") if isinstance(props, dict) else None
            if isinstance(value, float) and abs(value) >= _INT64:
                return True
    return False


def _check_event(i: int, ev: object, errors: list[str], pii: list[str]) -> None:
    p = f"data.{i}"
    if not isinstance(ev, dict):
        errors.append(f"Invalid value for {p}: not a valid mapping type.")
        return
    name = ev.get("event")
    if name is None:
        errors.append(f"Invalid value for {p}.event: missing data for required field.")
    elif not isinstance(name, str) or not name.strip():
        errors.append(f"Invalid value for {p}.event: not a valid string.")
    t = ev.get("event_time")
    if t is None:
        errors.append(f"Invalid value for {p}.event_time: missing data for required field.")
    elif isinstance(t, bool) or not (isinstance(t, int) or (isinstance(t, str) and t.isascii() and t.isdigit())):
        errors.append(f"Invalid value for {p}.event_time: not a valid integer.")
    elif int(t) > MS_TIMESTAMP_THRESHOLD:
        errors.append(f"Invalid value for {p}.event_time: must be Unix seconds, got milliseconds.")
    if "event_id" in ev and not isinstance(ev["event_id"], str):
        errors.append(f"Invalid value for {p}.event_id: not a valid string.")
    user = ev.get("user")
    if user is not None:
        if not isinstance(user, dict):
            errors.append(f"Invalid value for {p}.user: not a valid mapping type.")
        else:
            for key in PII_FIELDS:
                if key in user and not _is_hashed(user[key]):
                    pii.append(f"{p}.user.{key}")
    props = ev.get("properties")
    if props is None:
        return
    if not isinstance(props, dict):
        errors.append(f"Invalid value for {p}.properties: not a valid mapping type.")
        return
    value = props.get("value")
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        try:
            float(value)
        except (TypeError, ValueError):
            errors.append(f"Invalid value for {p}.properties.value: not a valid number.")
    cur = props.get("currency")
    if cur is not None and cur not in CURRENCIES:
        errors.append(f"Invalid value for {p}.properties.currency: must be one of the supported ISO 4217 "
                      f"codes (e.g. USD, EUR, GBP), got {cur!r}.")
    ctype = props.get("content_type")
    if ctype is not None and ctype not in CONTENT_TYPES:
        errors.append(f"Invalid value for {p}.properties.content_type: must be one of: product, product_group.")
    contents = props.get("contents")
    if contents is not None:
        if not isinstance(contents, list):
            errors.append(f"Invalid value for {p}.properties.contents: not a valid list.")
        else:
            for j, item in enumerate(contents):
                if isinstance(item, dict) and "content_id" in item and not isinstance(item["content_id"], str):
                    errors.append(f"Invalid value for {p}.properties.contents.{j}.content_id: "
                                  "not a valid string.")


def validate_body(body: object) -> tuple[int, str]:
    """Check a request body the way TikTok does; (0, "OK") or (code, message naming the fields).

    Contract: every field error is gathered; 40002 lists up to five (then "and N more"); with no field
    error, unhashed email/phone give 40062. TikTok: more than 1,000 events reject the whole request.
    """
    if not isinstance(body, dict):
        return 40002, "Invalid value for body: not a valid mapping type."
    errors: list[str] = []
    pii: list[str] = []
    source = body.get("event_source")
    if source is None:
        errors.append("Invalid value for event_source: missing data for required field.")
    elif source not in EVENT_SOURCES:
        errors.append("Invalid value for event_source: must be one of: web, app, offline, crm.")
    sid = body.get("event_source_id")
    if sid is None:
        errors.append("Invalid value for event_source_id: missing data for required field.")
    elif not isinstance(sid, str) or not sid.strip():
        errors.append("Invalid value for event_source_id: not a valid string.")
    if "test_event_code" in body and not isinstance(body["test_event_code"], str):
        errors.append("Invalid value for test_event_code: not a valid string.")
    data = body.get("data")
    if data is None:
        errors.append("Invalid value for data: missing data for required field.")
    elif not isinstance(data, list):
        errors.append("Invalid value for data: not a valid list.")
    elif not 1 <= len(data) <= MAX_EVENTS_PER_REQUEST:
        errors.append(f"Invalid value for data: length must be between 1 and {MAX_EVENTS_PER_REQUEST}, "
                      f"got {len(data)}.")
    else:
        for i, ev in enumerate(data):
            _check_event(i, ev, errors, pii)
    if errors:
        more = f" (and {len(errors) - _MAX_MESSAGES} more)" if len(errors) > _MAX_MESSAGES else ""
        return 40002, "; ".join(errors[:_MAX_MESSAGES]) + more
    if pii:
        more = f" (and {len(pii) - _MAX_MESSAGES} more)" if len(pii) > _MAX_MESSAGES else ""
        return 40062, ("PII must be SHA-256 hashed: " + ", ".join(pii[:_MAX_MESSAGES]) + more
                       + ". Normalize and hash email and phone before sending.")
    return 0, "OK"


_KEY_SETS: dict[tuple[str, ...], tuple[str, ...]] = {}  # the match keys an event carried, one tuple per set
_ROW_FIELDS: Final = ("event", "event_id", "event_time", "event_source_id", "received_at", "request_id",
                      "match_keys", "value", "currency", "deduplicated", "duplicate_of")


def _row_dict(row: tuple[Any, ...]) -> dict[str, Any]:
    d = dict(zip(_ROW_FIELDS, row, strict=True))
    d["match_keys"] = list(d["match_keys"])
    return d


# --- state --------------------------------------------------------------------------------------------
@dataclass(slots=True)
class _Fault:
    kind: str
    remaining: int
    opts: dict[str, Any] = field(default_factory=dict)


class EmulatorServer(LocalServer):
    """A running emulator: `url`, `received` (Test Events view), `set_fault`, `clear`, `stop`."""

    def __init__(self, *, token: str | None = None, port: int = 0, max_kept: int = 500_000) -> None:
        self.token = token
        self.max_kept = max_kept
        self._lock = threading.Lock()
        self._faults: deque[_Fault] = deque()
        self._events: dict[str, list[tuple[Any, ...]]] = {}  # rows in _ROW_FIELDS order
        self._kept = 0
        # (code, Pixel, event, event_id) -> the first copy's row
        self._first_seen: dict[tuple[str, str, str, str], tuple[Any, ...]] = {}
        self._requests: deque[dict[str, Any]] = deque(maxlen=2000)
        self._pixel_hits: list[tuple[str, str, float, bool]] = []  # (pixel code, event, time, hashed email/phone)
        self.request_count = 0
        httpd = _Server(("127.0.0.1", port), _Handler)
        httpd.emulator = self
        self.serve(httpd, "tiktok-emulator")

    # public API -----------------------------------------------------------------------------------

    def set_fault(self, kind: str, count: int = 1, **opts: Any) -> None:
        """Make the next `count` track requests misbehave; faults queue up in the order they were set.

        kinds: rate_limit (code 40100; `http_status=429` for a real 429), http_502_html, slow
        (`delay_s`, default 2.0; the events are still processed, like a gateway that answered late),
        reset (TCP reset before any answer), code (`code=` any TikTok code, `message=` optional).
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; use one of {', '.join(FAULT_KINDS)}")
        if kind == "code" and not isinstance(opts.get("code"), int):
            raise ValueError("fault 'code' needs code=<int>, e.g. code=50000")
        if count < 1:
            raise ValueError("count must be >= 1")
        with self._lock:
            self._faults.append(_Fault(kind, count, dict(opts)))

    def clear(self) -> None:
        """Forget received events, dedup history, request log and pending faults."""
        with self._lock:
            self._faults.clear()
            self._events.clear()
            self._first_seen.clear()
            self._requests.clear()
            self._pixel_hits.clear()
            self._kept = 0
            self.request_count = 0

    @property
    def received(self) -> dict[str, list[dict[str, Any]]]:
        """The Test Events view: test event code ("" for live events) -> events in arrival order.

        Each event: event, event_id, event_time, event_source_id, received_at, request_id, match_keys,
        value, currency, deduplicated (bool) and duplicate_of (request_id of the first copy).
        """
        with self._lock:
            return {code: [_row_dict(e) for e in evs] for code, evs in self._events.items()}

    def received_events(self, test_event_code: str | None = None) -> list[dict[str, Any]]:
        """Every received event (of one test event code when given), in arrival order."""
        with self._lock:
            if test_event_code is not None:
                return [_row_dict(e) for e in self._events.get(test_event_code, [])]
            return [_row_dict(e) for evs in self._events.values() for e in evs]

    @property
    def requests(self) -> list[dict[str, Any]]:
        """What arrived at the track endpoint (headers with the token redacted), oldest first."""
        with self._lock:
            return [dict(r) for r in self._requests]

    def view(self, test_event_code: str | None = None, *, limit: int | None = None) -> dict[str, Any]:
        """The JSON served at GET /_emulator/events: per code, counts and the events (the last `limit`)."""
        with self._lock:
            codes = [test_event_code] if test_event_code is not None else list(self._events)
            out = {}
            for code in codes:
                evs = self._events.get(code, [])
                dups = sum(1 for e in evs if e[9])
                shown = evs[-limit:] if limit else evs
                out[code] = {"received": len(evs), "deduplicated": dups, "events": [_row_dict(e) for e in shown]}
            return {"url": self.url, "requests": self.request_count, "test_event_codes": out}

    # Marketing API read-back ------------------------------------------------------------------------
    def record_pixel_hit(self, body: object) -> int:
        """Keep a Pixel wire body as browser events (one per Pixel code it names); how many were kept.

        Read by the console's one Pixel reader (core.sources.pixel_body); a body that is no event is
        refused with the reader's InvalidPayload.
        """
        from core.sources.pixel_body import pixel_event_from_body

        rows = pixel_event_from_body(body if isinstance(body, dict) else {}, entry=0, url="")
        hits = [(str(r["pixel_code"]), str(r["event"]), float(r["timestamp"] or time.time()),
                 bool(r.get("email") or r.get("phone"))) for r in rows]
        with self._lock:
            self._pixel_hits.extend(hits)
        return len(hits)

    def pixel_list(self, code: str | None = None) -> list[dict[str, Any]]:
        """/pixel/list/'s `pixels`: every Pixel code seen (server events or Pixel hits), filtered by `code`.

        advanced_matching_fields says whether the received hits carried hashed email / phone (the closest
        thing the emulator can observe to TikTok's setting); events are the event names received.
        """
        with self._lock:
            seen: dict[str, dict[str, Any]] = {}
            for evs in self._events.values():
                for e in evs:
                    p = seen.setdefault(e[3], {"events": set(), "email": False, "phone": False})
                    p["events"].add(e[0])
                    p["email"] = p["email"] or "email" in e[6]
                    p["phone"] = p["phone"] or "phone" in e[6]
            for pc, event, _, matched in self._pixel_hits:
                p = seen.setdefault(pc, {"events": set(), "email": False, "phone": False})
                p["events"].add(event)
                p["email"] = p["email"] or matched
        return [{"pixel_id": emulated_pixel_id(pc), "pixel_code": pc, "pixel_name": f"Emulated Pixel {pc}",
                 "pixel_setup_mode": "DEVELOPER",
                 "advanced_matching_fields": {"email": p["email"], "phone_number": p["phone"]},
                 "events": [{"name": n, "event_type": n} for n in sorted(p["events"])]}
                for pc, p in sorted(seen.items()) if code in (None, "", pc)]

    def event_stats(self, pixel_ids: list[str], start: date, end: date) -> list[dict[str, Any]]:
        """/pixel/event/stats/'s `list`: per asked Pixel (id or code), per event type over UTC days start..end."""
        lo = datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp()
        hi = datetime(end.year, end.month, end.day, tzinfo=UTC).timestamp() + 86_400
        with self._lock:
            server = [(e[3], e[0], code != "") for code, evs in self._events.items() for e in evs
                      if not e[9] and lo <= e[2] < hi]
            browser = [(pc, event) for pc, event, t, _ in self._pixel_hits if lo <= t < hi]
        codes = {pc for pc, *_ in server} | {pc for pc, _ in browser}
        out = []
        for asked in pixel_ids:
            mine = {pc for pc in codes if asked in (pc, emulated_pixel_id(pc))}
            counts: dict[str, list[int]] = {}  # event -> [browser, server, preview]
            for pc, event, test in server:
                if pc in mine:
                    counts.setdefault(event, [0, 0, 0])[2 if test else 1] += 1
            for pc, event in browser:
                if pc in mine:
                    counts.setdefault(event, [0, 0, 0])[0] += 1
            out.append({"pixel_id": asked, "statistics": [
                {"custom_event_type" if event not in KNOWN_EVENTS else "pixel_event_type": event,
                 "browser_event_total_count": b, "server_event_total_count": sv, "total_count": b + sv,
                 "attributed_count": 0, "preview_count": pv}
                for event, (b, sv, pv) in sorted(counts.items())]})
        return out

    # internals ------------------------------------------------------------------------------------
    def _next_fault(self) -> _Fault | None:
        with self._lock:
            if not self._faults:
                return None
            fault = self._faults[0]
            fault.remaining -= 1
            if fault.remaining <= 0:
                self._faults.popleft()
            return fault

    def _check_token(self, value: str | None) -> tuple[int, str] | None:
        if value is None or not value.strip():
            return 40104, "Access token is null, please check your Access-Token header."
        accepted = self.token is None or secrets.compare_digest(value.encode(), self.token.encode())
        if not accepted:
            return 40105, "Access token is incorrect or has been revoked."
        return None

    def _record(self, body: dict[str, Any], request_id: str) -> None:
        code = body.get("test_event_code") or ""
        sid = str(body.get("event_source_id"))
        now = time.time()
        rows: list[tuple[Any, ...]] = []
        append = rows.append
        # one new object per event, the kept row: a tuple of plain values, which the garbage collector stops
        # tracking at its first pass (the emulator may hold 500,000 events in the process of a bulk send)
        with self._lock:
            first_seen = self._first_seen
            for ev in body["data"]:
                user = ev.get("user")
                props = ev.get("properties")
                if isinstance(user, dict):
                    found = tuple([k for k in MATCH_KEYS if user.get(k)])
                    keys = _KEY_SETS.setdefault(found, found)  # one tuple per set of keys, shared
                else:
                    keys = ()
                value = currency = None
                if isinstance(props, dict):
                    value, currency = props.get("value"), props.get("currency")
                name, event_id, event_time = ev["event"], ev.get("event_id") or "", int(ev["event_time"])
                first = key = None
                if event_id:
                    # TikTok (§8): same Pixel + event + event_id within 48 h of the first copy is dropped.
                    key = (code, sid, name, event_id)  # a tuple of texts: untracked by the collector too
                    first = first_seen.get(key)
                duplicate_of = first[5] if first is not None and abs(event_time - first[2]) <= DEDUP_WINDOW_SECONDS \
                    else None
                row = (name, event_id, event_time, sid, now, request_id, keys, value, currency,
                       duplicate_of is not None, duplicate_of)
                if key is not None and first is None:
                    first_seen[key] = row
                append(row)
            room = max(0, self.max_kept - self._kept)
            self._events.setdefault(code, []).extend(rows if len(rows) <= room else rows[:room])
            self._kept += min(len(rows), room)

    def _log_request(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self.request_count += 1
            self._requests.append(entry)


def emulated_pixel_id(pixel_code: str) -> str:
    """A stable 19-digit Pixel id for a Pixel code (TikTok's ids are numeric; the code is what events carry)."""
    digest = int.from_bytes(hashlib.sha256(pixel_code.encode()).digest()[:8], "big")
    return str(7 * 10**18 + digest % 10**18)


def parse_stats_query(query: dict[str, list[str]]) -> tuple[list[str], date, date] | str:
    """(pixel_ids, start, end) from a /pixel/event/stats/ query, or TikTok-style 40002 text naming the field."""
    if not (query.get("advertiser_id", [""])[0]).strip():
        return "advertiser_id: Missing data for required field."
    try:
        ids = json.loads(query.get("pixel_ids", [""])[0])
    except (ValueError, RecursionError):
        return "pixel_ids: Not a valid list."
    if not isinstance(ids, list) or not 1 <= len(ids) <= MAX_PIXEL_IDS or not all(isinstance(i, str) for i in ids):
        return f"pixel_ids: must be a list of 1 to {MAX_PIXEL_IDS} strings."
    try:
        rng = json.loads(query.get("date_range", [""])[0])
        start, end = date.fromisoformat(rng["start_date"]), date.fromisoformat(rng["end_date"])
    except (ValueError, KeyError, TypeError, RecursionError):
        return "date_range: must be {\"start_date\": \"YYYY-MM-DD\", \"end_date\": \"YYYY-MM-DD\"}."
    if start > end or (end - start).days + 1 > MAX_RANGE_DAYS:
        return f"date_range: start_date must not be after end_date, and the range at most {MAX_RANGE_DAYS} days."
    return ids, start, end


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64
    emulator: EmulatorServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: one connection carries a whole bulk send
    disable_nagle_algorithm = True  # headers and body go out in two writes: Nagle + delayed ACK cost 40 ms
    server_version = "TikTokEventsEmulator/1.0"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet by design: request lines would flood the console, and headers must never be logged

    # plumbing ------------------------------------------------------------------------------------
    def _send(self, status: int, payload: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (e.g. its timeout); nothing to answer

    def _envelope(self, code: int, message: str, request_id: str, status: int = 200) -> None:
        body = {"code": code, "message": message, "request_id": request_id, "data": {}}
        self._send(status, json.dumps(body).encode(), "application/json; charset=utf-8",
                   {"X-Tt-Logid": request_id})

    def _json(self, obj: Any, status: int = 200) -> None:
        self._send(status, json.dumps(obj, default=str).encode(), "application/json; charset=utf-8")

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _reset(self) -> None:
        # SO_LINGER 0 makes close() send a TCP RST: the client sees "connection reset", not an answer.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    # routes -----------------------------------------------------------------------------------------
    def do_GET(self) -> None:
        emu = self.server.emulator
        parts = urlsplit(self.path)
        if parts.path == "/_emulator/events":
            query = parse_qs(parts.query)
            code = query.get("test_event_code", [None])[0]
            limit = query.get("limit", [""])[0]
            self._json(emu.view(code, limit=int(limit) if limit.isascii() and limit.isdigit() else None))
        elif parts.path == "/_emulator/requests":
            self._json(emu.requests)
        elif parts.path == "/_emulator/health":
            self._json({"ok": True, "url": emu.url})
        elif parts.path.rstrip("/") in (STATS_PATH.rstrip("/"), PIXEL_LIST_PATH.rstrip("/")):
            self._marketing(emu, parts.path, parse_qs(parts.query))
        else:
            self._envelope(40400, f"Route not found: GET {parts.path}", new_request_id(), status=404)

    def do_POST(self) -> None:
        emu = self.server.emulator
        path = urlsplit(self.path).path
        raw = self._read_body()
        if path == "/_emulator/faults":
            try:
                spec = json.loads(raw or b"{}")
                emu.set_fault(spec.pop("kind"), int(spec.pop("count", 1)), **spec)
            except (ValueError, KeyError, TypeError) as exc:
                self._json({"ok": False, "error": str(exc)}, status=400)
                return
            self._json({"ok": True})
            return
        if path == "/_emulator/clear":
            emu.clear()
            self._json({"ok": True})
            return
        if path.rstrip("/") == PIXEL_HIT_PATH:
            self._pixel_hit(emu, raw)
            return
        request_id = new_request_id()
        if path.rstrip("/") != TRACK_PATH.rstrip("/"):
            self._envelope(40400, f"Route not found: POST {path}. Use {TRACK_PATH}.", request_id, status=404)
            return
        self._track(emu, raw, request_id)

    def _marketing(self, emu: EmulatorServer, path: str, query: dict[str, list[str]]) -> None:
        request_id = new_request_id()
        emu._log_request({"request_id": request_id, "path": path, "received_at": time.time(), "fault": None,
                          "headers": {k: (REDACTED if k.lower() == ACCESS_TOKEN_HEADER.lower() else v)
                                      for k, v in self.headers.items()}})
        fault = emu._next_fault()
        if fault is not None and fault.kind == "reset":
            self._reset()
            return
        if fault is not None and fault.kind == "http_502_html":
            self._send(502, NGINX_502.encode(), "text/html")
            return
        if fault is not None and fault.kind in ("code", "rate_limit"):
            code = int(fault.opts.get("code", 40100))
            self._envelope(code, str(fault.opts.get("message") or describe_code(code).meaning), request_id)
            return
        if fault is not None and fault.kind == "slow":
            time.sleep(float(fault.opts.get("delay_s", 2.0)))
        denied = emu._check_token(self.headers.get(ACCESS_TOKEN_HEADER))
        if denied is not None:
            self._envelope(denied[0], denied[1], request_id)
            return
        code, message, data = _marketing_answer(emu, path, query)
        body = {"code": code, "message": message, "request_id": request_id, "data": data}
        self._send(200, json.dumps(body).encode(), "application/json; charset=utf-8", {"X-Tt-Logid": request_id})

    def _pixel_hit(self, emu: EmulatorServer, raw: bytes) -> None:
        from core.errors import InvalidPayload

        try:
            kept = emu.record_pixel_hit(json.loads(raw or b"null"))
        except (ValueError, InvalidPayload) as exc:
            self._json({"code": 40002, "message": f"Not a Pixel event: {exc}"}, status=400)
            return
        self._json({"code": 0, "message": "OK", "data": {"kept": kept}})

    def _track(self, emu: EmulatorServer, raw: bytes, request_id: str) -> None:
        headers = {k: (REDACTED if k.lower() == ACCESS_TOKEN_HEADER.lower() else v)
                   for k, v in self.headers.items()}
        entry: dict[str, Any] = {"request_id": request_id, "path": self.path, "headers": headers,
                                 "received_at": time.time(), "fault": None}
        fault = emu._next_fault()
        if fault is not None:
            entry["fault"] = fault.kind
        try:
            body: Any = load_body(raw)
        except ValueError:
            body = None
        if isinstance(body, dict):
            raw_data = body.get("data")
            data: list[Any] = raw_data if isinstance(raw_data, list) else []
            entry.update(test_event_code=body.get("test_event_code"), event_source_id=body.get("event_source_id"),
                         events=len(data),
                         event_ids=[e.get("event_id") for e in data if isinstance(e, dict)])
        if fault is not None and fault.kind == "reset":
            emu._log_request(entry)
            self._reset()
            return
        if fault is not None and fault.kind == "http_502_html":
            emu._log_request({**entry, "status": 502})
            self._send(502, NGINX_502.encode(), "text/html")
            return
        if fault is not None and fault.kind == "rate_limit":
            emu._log_request({**entry, "code": 40100})
            if fault.opts.get("http_status") == 429:
                self._send(429, b'{"code":40100,"message":"Too many requests."}', "application/json",
                           {"Retry-After": str(fault.opts.get("retry_after", 0))})
            else:
                self._envelope(40100, "Too many requests. Please retry in some time.", request_id)
            return
        if fault is not None and fault.kind == "code":
            code = int(fault.opts["code"])
            emu._log_request({**entry, "code": code})
            msg = str(fault.opts.get("message") or describe_code(code).meaning)
            self._envelope(code, msg, request_id, status=int(fault.opts.get("http_status", 200)))
            return
        if fault is not None and fault.kind == "slow":
            time.sleep(float(fault.opts.get("delay_s", 2.0)))
        denied = emu._check_token(self.headers.get(ACCESS_TOKEN_HEADER))
        if denied is not None:
            emu._log_request({**entry, "code": denied[0]})
            self._envelope(denied[0], denied[1], request_id)
            return
        if body is None:
            emu._log_request({**entry, "code": 40002})
            self._envelope(40002, "Invalid value for body: not valid JSON.", request_id)
            return
        code, message = validate_body(body)
        if code == 0:
            emu._record(body, request_id)
        emu._log_request({**entry, "code": code})
        self._envelope(code, message, request_id)


def _marketing_answer(emu: EmulatorServer, path: str, query: dict[str, list[str]]) -> tuple[int, str, dict[str, Any]]:
    if path.rstrip("/") == PIXEL_LIST_PATH.rstrip("/"):
        if not query.get("advertiser_id", [""])[0].strip():
            return 40002, "advertiser_id: Missing data for required field.", {}
        pixels = emu.pixel_list(query.get("code", [None])[0])
        return 0, "OK", {"pixels": pixels, "page_info": {"page": 1, "page_size": 20, "total_number": len(pixels),
                                                         "total_page": 1}}
    parsed = parse_stats_query(query)
    if isinstance(parsed, str):
        return 40002, parsed, {}
    return 0, "OK", {"list": emu.event_stats(*parsed)}


def start_emulator(*, token: str | None = None, port: int = 0) -> EmulatorServer:
    """Start the emulator in a daemon thread on 127.0.0.1 (`port=0` picks a free port).

    With `token=None` any non-empty Access-Token is accepted (the console sends `EMULATOR_TOKEN` when the
    user has none); with a token, only that one (40105 otherwise). A missing header is always 40104.
    """
    return EmulatorServer(token=token, port=port)


__all__ = ["EMULATOR_TOKEN", "FAULT_KINDS", "PIXEL_HIT_PATH", "EmulatorServer", "emulated_pixel_id",
           "new_request_id", "parse_stats_query", "start_emulator", "validate_body"]
