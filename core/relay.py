"""The recording relay: a witness between a store's backend and TikTok's Events API.

A backend points its TikTok base URL at the relay (127.0.0.1 only) for a live session. Each request to an
Events API path (v1.3 `/event/track/`, the 1.0 `/pixel/track/` and `/pixel/batch/` under v1.3 and v1.2)
is forwarded byte for byte: same method, path, query and body bytes, the backend's own headers
(Content-Type, Access-Token, ...) minus hop-by-hop ones. TikTok's answer goes back unchanged: status,
headers, body bytes. Nothing is rewritten.

After the backend has its answer, the exchange is recorded in the session store as source `relay`, like
the console's own sends: the access token never (header redacted, any copy of it in the body or URL
replaced), raw email/phone dropped by the store (core.privacy), and the body's lint findings (core.lint,
computed on the body as sent) kept with it.

When the upstream is unreachable (HTTP 502, code 50000) or slower than the timeout (HTTP 504, code 50002)
the backend is answered at once with a TikTok-like envelope saying the relay could not reach TikTok;
both codes are ones TikTok's clients retry. Those requests are recorded too.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final
from urllib.parse import urlsplit

import httpx

from core.contract import ACCESS_TOKEN_HEADER, LEGACY_TRACK_PATHS, REDACTED, TIKTOK_BASE_URL, TRACK_PATH
from core.errors import InvalidInput, InvalidPayload
from core.exchange import Attempt, Exchange
from core.lint import lint, parse_body
from core.localserver import LocalServer
from core.sources.server import iter_events
from core.store import Store

RELAY_PATHS: Final = (TRACK_PATH, *LEGACY_TRACK_PATHS, "/open_api/v1.2/pixel/track/", "/open_api/v1.2/pixel/batch/")
UNREACHABLE_CODE: Final = 50000  # SYS_ERROR: TikTok's clients retry it
TIMEOUT_CODE: Final = 50002  # SYS_TIMEOUT: likewise
# headers that belong to one connection, not to the request (RFC 9110 §7.6.1), and the ones httpx sets itself
_HOP_BY_HOP: Final = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
                                "trailer", "transfer-encoding", "upgrade", "host", "content-length"})
_KEPT_TEXT: Final = 65_536  # characters of a non-JSON body or answer kept in the record
_MAX_BODY: Final = 64 * 1024 * 1024  # a request larger than this is refused (413), never read into memory
_LINE_LIMIT: Final = 65_537  # the longest chunk-size or trailer line read (http.server's own header line limit)
_MAX_DECODED: Final = 16 * 1024 * 1024  # inflated bytes read for the record: a gzip bomb stops here


@dataclass(slots=True)
class _Answer:
    """What the relay answered the backend: upstream's answer, or its own 502/504 envelope."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    error: str | None = None  # set when the relay answered itself


def resolve_forward(forward: str) -> str:
    """The upstream base URL for `--forward`: `tiktok` (TikTok's API), an http(s) URL; InvalidInput otherwise.

    `emulator` is resolved by start_relay, which starts one in-process.
    """
    if forward == "tiktok":
        return TIKTOK_BASE_URL
    parts = urlsplit(forward)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInput(f"--forward {forward!r} is not tiktok, emulator or an http(s) URL.",
                           hint="Use --forward tiktok, --forward emulator, or --forward http://host:port.")
    return forward.rstrip("/")


def relay_envelope(code: int, reason: str, request_id: str) -> bytes:
    """The relay's own answer when TikTok could not be reached: TikTok's envelope, the reason in the message."""
    return json.dumps({"code": code, "message": f"relay could not reach TikTok: {reason}",
                       "request_id": request_id, "data": {}}).encode()


def _new_request_id() -> str:
    from core.emulator import new_request_id

    return new_request_id()


def _decoded(raw: bytes, encoding: str) -> bytes:
    """Body bytes without their Content-Encoding (gzip, deflate); as they are when unknown or broken.

    At most _MAX_DECODED bytes come out: a gzip bomb is cut there (and then reads as JSON that is cut short).
    """
    wbits = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
    if encoding.strip().lower() not in wbits:
        return raw
    try:
        return zlib.decompressobj(wbits[encoding.strip().lower()]).decompress(raw, _MAX_DECODED)
    except zlib.error:
        return raw


def _without_token(value: Any, token: str | None) -> Any:
    """`value` with every `access_token` key dropped and every copy of `token` replaced by REDACTED."""
    if isinstance(value, dict):
        return {k: _without_token(v, token) for k, v in value.items()
                if str(k).lower().replace("-", "_") != "access_token"}
    if isinstance(value, list):
        return [_without_token(v, token) for v in value]
    if isinstance(value, str) and token and token in value:
        return value.replace(token, REDACTED)
    return value


def _storable(value: Any) -> Any:
    """`value` as UTF-8 can store it: JSON's lone surrogates (`"\\ud800"`) become U+FFFD, not a failed record."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass").decode("utf-8", "replace")
        return json.loads(text)
    except (ValueError, RecursionError):
        return value
    return value


def _text(raw: bytes, token: str | None) -> str:
    text = raw[:_KEPT_TEXT].decode("utf-8", "replace")
    return text.replace(token, REDACTED) if token else text


def read_request_body(raw: bytes, encoding: str, token: str | None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(the body as recorded, its lint findings as dicts) for request bytes as the backend sent them.

    A JSON object is kept as it is (the store drops raw PII); a JSON list as `{"data": [...]}`; anything
    else as `{"unparsed_body": text}` with one `body.not_object` finding saying why. The token goes.
    """
    text = _decoded(raw, encoding).decode("utf-8", "replace")
    try:
        parsed = parse_body(text)
    except InvalidPayload as exc:
        finding = {"severity": "error", "code": "body.not_object", "path": "",
                   "message": f"The body is not JSON: {exc.message}",
                   "fix": "Send one JSON object with event_source, event_source_id and data."}
        return {"unparsed_body": _text(text.encode("utf-8"), token)}, [finding]
    findings = [f.as_dict() for f in lint(parsed)]
    clean = _without_token(parsed, token)
    findings = _without_token(findings, token)
    clean = _storable(clean)
    return (clean if isinstance(clean, dict) else {"data": clean}), _storable(findings)


def _answer_fields(answer: _Answer, token: str | None) -> tuple[Any, int | None, str | None, str | None]:
    """(response body as recorded, code, message, request_id) read from an answer, TikTok's or the relay's."""
    headers = {k.lower(): v for k, v in answer.headers}
    raw = _decoded(answer.body, headers.get("content-encoding", ""))
    try:
        body: Any = json.loads(raw)
    except (ValueError, RecursionError):  # not JSON, or nested past what Python's parser reads
        return _text(raw, token), None, None, headers.get("x-tt-logid")
    if len(raw) > _KEPT_TEXT:  # TikTok's answers are a few hundred bytes: a huge one is kept as its start
        return _text(raw, token), None, None, headers.get("x-tt-logid")
    body = _storable(_without_token(body, token))
    if not isinstance(body, dict):
        return body, None, None, headers.get("x-tt-logid")
    code = body.get("code")
    message = body.get("message")
    request_id = body.get("request_id") or headers.get("x-tt-logid")
    return (body, code if isinstance(code, int) and not isinstance(code, bool) else None,
            message if isinstance(message, str) else None, request_id if isinstance(request_id, str) else None)


class RelayServer(LocalServer):
    """A running relay: `url` (the base URL a backend uses), `track_url`, `session_id`, `recorded`, `stop()`.

    Use as a context manager, or call `stop()`; an emulator started for `--forward emulator` stops with it,
    and a store the relay opened itself is closed.
    """

    def __init__(self, *, forward_url: str, session_id: str, store: Store, port: int, timeout: float,
                 owns_store: bool = False, emulator: Any = None,
                 on_exchange: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.forward_url = forward_url
        self.session_id = session_id
        self.store = store
        self.timeout = timeout
        self.emulator = emulator
        self.on_exchange = on_exchange
        self.recorded = 0
        self.record_errors: list[str] = []  # the last few recording failures (the backend was answered anyway)
        self._owns_store = owns_store
        self._cond = threading.Condition()
        self._client = httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=False, trust_env=False,
                                    limits=httpx.Limits(max_connections=200, max_keepalive_connections=50))
        for name in ("Accept", "Accept-Encoding", "User-Agent"):  # forward the backend's own, add none
            del self._client.headers[name]
        try:
            self._httpd = _Server(("127.0.0.1", port), _Handler)
        except OSError as exc:
            self._client.close()
            raise InvalidInput(f"Cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}.",
                               hint="Pick another --port, or 0 for a free one.") from None
        self._httpd.relay = self
        self.serve(self._httpd, "tiktok-relay")

    def stop(self) -> None:
        """Stop serving, close the upstream connections (idempotent); stop an emulator started for it."""
        super().stop()
        self._client.close()
        if self.emulator is not None:
            self.emulator.stop()
        if self._owns_store:
            self.store.close()

    def wait_recorded(self, count: int, timeout: float) -> bool:
        """Wait until `count` exchanges were recorded (or `timeout` seconds passed); True when they were."""
        with self._cond:
            return self._cond.wait_for(lambda: self.recorded >= count, timeout=timeout)

    # the work of one request ---------------------------------------------------------------------------
    def forward(self, method: str, target: str, headers: list[tuple[str, str]], raw: bytes) -> _Answer:
        """Send the request upstream as it came; upstream's answer as it came, or the relay's 502/504."""
        # http.server decoded the header bytes as Latin-1: encoding them back sends the backend's bytes as they were
        sent = [(k.encode("latin-1", "replace"), v.encode("latin-1", "replace")) for k, v in headers
                if k.lower() not in _HOP_BY_HOP]
        try:
            request = self._client.build_request(method, self.forward_url + target, content=raw, headers=sent)
            deadline = time.monotonic() + self.timeout
            response = self._client.send(request, stream=True)
            try:
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_raw():
                    size += len(chunk)
                    chunks.append(chunk)
                    if size > _MAX_BODY:
                        return self._own_answer(502, UNREACHABLE_CODE, "the answer is over 64 MB")
                    if time.monotonic() > deadline:  # a trickle: each read is in time, the whole is not
                        raise httpx.ReadTimeout("the answer trickled in past the timeout")
                body = b"".join(chunks)
            finally:
                response.close()
        except httpx.TimeoutException as exc:
            reason = f"no answer within {self.timeout:g} s ({type(exc).__name__})"
            return self._own_answer(504, TIMEOUT_CODE, reason)
        except httpx.HTTPError as exc:
            return self._own_answer(502, UNREACHABLE_CODE, f"{type(exc).__name__}: {exc}")
        except (ValueError, UnicodeError) as exc:  # a request httpx will not send (e.g. a header it rejects)
            return self._own_answer(502, UNREACHABLE_CODE, f"the request cannot be forwarded: {exc}")
        kept = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _HOP_BY_HOP]
        return _Answer(response.status_code, kept, body)

    def _own_answer(self, status: int, code: int, reason: str) -> _Answer:
        request_id = _new_request_id()
        return _Answer(status, [("Content-Type", "application/json; charset=utf-8"), ("X-Tt-Logid", request_id)],
                       relay_envelope(code, reason, request_id), error=reason)

    def record(self, method: str, target: str, headers: list[tuple[str, str]], raw: bytes, answer: _Answer,
               started: float, latency_ms: float) -> None:
        """Keep the exchange (source relay) with its findings; a failure is noted, never raised to the backend."""
        try:
            ex, findings = self._exchange(method, target, headers, raw, answer, started, latency_ms)
            ex_id = self.store.add_exchange(self.session_id, ex, source="relay", findings=findings)
        except Exception as exc:  # the backend has its answer; a recording failure must not kill the relay
            self.record_errors = [*self.record_errors[-9:], f"{type(exc).__name__}: {exc}"]
            print(f"tiktok-events relay: could not record an exchange: {exc}", file=sys.stderr)
            return
        with self._cond:
            self.recorded += 1
            self._cond.notify_all()
        if self.on_exchange is not None:
            ex.id, ex.session_id = ex_id, self.session_id
            self.on_exchange(history_row(ex, findings))

    def _exchange(self, method: str, target: str, headers: list[tuple[str, str]], raw: bytes, answer: _Answer,
                  started: float, latency_ms: float) -> tuple[Exchange, list[dict[str, Any]]]:
        lower = {k.lower(): v for k, v in headers}
        token = lower.get(ACCESS_TOKEN_HEADER.lower())
        body, findings = read_request_body(raw, lower.get("content-encoding", ""), token)
        refused = (answer.error or "").removeprefix("refused: ")
        if answer.status == 400 and refused != (answer.error or ""):  # never read, never forwarded
            findings = [{"severity": "error", "code": "body.unreadable", "path": "",
                         "message": f"The relay could not read the request: {refused}",
                         "fix": "Send one Content-Length (or chunked framing) that matches the body, in time."}]
        response_body, code, message, request_id = _answer_fields(answer, token)
        kept_headers = {k: (REDACTED if k.lower() == ACCESS_TOKEN_HEADER.lower() else _text(v.encode(), token))
                        for k, v in headers
                        if k.lower() in ("content-type", "content-encoding", "user-agent", ACCESS_TOKEN_HEADER.lower())}
        url = self.forward_url + target
        if token:
            url = url.replace(token, REDACTED)
        ex = Exchange(method, url, kept_headers, body, status=answer.status,
                      response_headers={k: _text(v.encode("utf-8", "replace"), token) for k, v in answer.headers
                                        if k.lower() != "set-cookie"},  # an upstream may echo the token back
                      response_body=response_body, code=code, message=message, request_id=request_id,
                      attempts=[Attempt(started, latency_ms, answer.status, code, answer.error)],
                      latency_ms=latency_ms, total_ms=latency_ms, error=answer.error, started_at=started)
        return ex, findings


def history_row(ex: Exchange, findings: list[dict[str, Any]]) -> dict[str, Any]:
    """One exchange as `history` prints it; `events` lists (event, event_id) of every event it carried."""
    events = [{"event": e.get("event"), "event_id": e.get("event_id")} for _, e in iter_events(ex.request_body)]
    received = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ex.started_at)) + f".{int(ex.started_at % 1 * 1000):03d}Z"
    return {"id": ex.id, "session_id": ex.session_id, "source": ex.source, "received_at": received, "url": ex.url,
            "status": ex.status, "code": ex.code, "request_id": ex.request_id, "events": events,
            "findings": findings}


def history(store: Store, *, session_id: str | None = None, source: str | None = None) -> list[dict[str, Any]]:
    """Every recorded exchange (of one session, one source), oldest first, as `history` prints it.

    Findings are those kept with the exchange (the relay lints the body as sent); for an exchange recorded
    without them (the console's own sends) they are recomputed from the stored body.
    """
    exchanges = store.exchanges(session_id, source=source)
    kept = store.exchange_findings([ex.id for ex in exchanges if ex.id is not None])
    rows = []
    for ex in exchanges:
        findings = kept.get(ex.id or 0)
        if findings is None:
            findings = [f.as_dict() for f in lint(ex.request_body)]
        rows.append(history_row(ex, findings))
    return rows


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False  # a second relay on the same port must fail, not share it
    request_queue_size = 128
    relay: RelayServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: a backend's pooled connection is reused
    disable_nagle_algorithm = True  # headers and body go out in two writes: Nagle + delayed ACK cost 40 ms
    server_version = "TikTokEventsRelay/1.0"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # request lines carry no token, but the relay stays quiet: the CLI prints its own lines

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Unreadable request line or headers: a TikTok-like JSON answer with a status line, never HTTP/0.9."""
        self.request_version = "HTTP/1.1"  # a garbage request line parses as HTTP/0.9, which has no status line
        self.close_connection = True
        reason = message or self.responses.get(code, ("",))[0]
        body = {"code": 40002, "message": f"relay refused the request: HTTP {code} {reason}",
                "request_id": _new_request_id(), "data": {}}
        self._send(code, [("Content-Type", "application/json; charset=utf-8"), ("Connection", "close")],
                   json.dumps(body).encode())

    def do_POST(self) -> None:
        self._relay("POST")

    def do_GET(self) -> None:
        if urlsplit(self.path).path == "/_relay/health":
            relay = self.server.relay
            self._send(200, [("Content-Type", "application/json")], json.dumps(
                {"ok": True, "forward": relay.forward_url, "session_id": relay.session_id}).encode())
            return
        self._relay("GET")

    def _send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        try:
            self.log_request(status)
            self.send_response_only(status)
            names = {k.lower() for k, _ in headers}
            if "server" not in names:  # upstream's own Server and Date go back as they came, not doubled
                self.send_header("Server", self.version_string())
            if "date" not in names:
                self.send_header("Date", self.date_time_string())
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the backend gave up; the exchange is still recorded

    def setup(self) -> None:
        super().setup()
        # a stalled client (slowloris: half a body, then nothing) frees its thread after this long
        self.connection.settimeout(max(self.server.relay.timeout, 5.0))

    def _read_body(self) -> bytes | str:
        """The request body, or why it cannot be read (bad framing, over 64 MB, stalled): the relay answers that."""
        if self.headers.defects:  # a header line the parser could not read: what follows it would be misread
            return f"a header line is malformed ({type(self.headers.defects[0]).__name__})"
        lengths = {v.strip() for v in self.headers.get_all("Content-Length") or []}
        if len(lengths) > 1:  # RFC 9112 6.3: conflicting lengths are an error (request smuggling otherwise)
            return f"conflicting Content-Length headers {sorted(lengths)}"
        try:
            return self._read_framed()
        except (TimeoutError, OSError) as exc:
            return f"the request body did not arrive ({type(exc).__name__}: {exc})"

    def _read_framed(self) -> bytes | str:
        try:
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                self.close_connection = bool(self.headers.get("Content-Length"))  # RFC 9112 6.1: both: close
                chunks: list[bytes] = []
                total = 0
                while True:
                    line = self.rfile.readline(_LINE_LIMIT)
                    if not line.endswith(b"\n"):  # the stream ended, or a size line longer than any real one
                        return "the chunked request body ended early or has an overlong chunk-size line"
                    size = int(line.split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        for _ in range(100):  # trailers, then the blank line
                            if self.rfile.readline(_LINE_LIMIT) in (b"\r\n", b"\n", b""):
                                return b"".join(chunks)
                        return "the chunked request body has over 100 trailer lines"
                    total += size
                    if size < 0 or total > _MAX_BODY:
                        return "request body over 64 MB or with a bad chunk size"
                    chunk = self.rfile.read(size)
                    if len(chunk) < size:
                        return f"the chunked request body ended after {total - size + len(chunk)} bytes"
                    chunks.append(chunk)
                    self.rfile.readline(_LINE_LIMIT)
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return "request body framing (Content-Length or chunk size) is not a number"
        if length < 0 or length > _MAX_BODY:
            return f"request body of {length} bytes: over 64 MB or negative"
        raw = self.rfile.read(length) if length > 0 else b""
        if len(raw) < length:
            return f"the request body ended after {len(raw)} of {length} bytes"
        return raw

    def _relay(self, method: str) -> None:
        relay = self.server.relay
        path = urlsplit(self.path).path
        if path not in RELAY_PATHS and path + "/" not in RELAY_PATHS:
            self.close_connection = bool(self.headers.get("Content-Length"))  # the body is left unread
            message = f"{method} {path} is not an Events API path; the relay forwards {', '.join(RELAY_PATHS)}"
            body = {"code": 40400, "message": message, "request_id": _new_request_id(), "data": {}}
            self._send(404, [("Content-Type", "application/json; charset=utf-8")], json.dumps(body).encode())
            return
        started = time.time()
        raw = self._read_body()
        if isinstance(raw, str):  # not forwarded: TikTok would refuse it, and the connection cannot be reused
            self.close_connection = True
            request_id = _new_request_id()
            body = {"code": 40002, "message": f"relay refused the request: {raw}", "request_id": request_id,
                    "data": {}}
            answer = _Answer(400, [("Content-Type", "application/json; charset=utf-8"), ("X-Tt-Logid", request_id)],
                             json.dumps(body).encode(), error=f"refused: {raw}")
            self._send(answer.status, answer.headers, answer.body)
            relay.record(method, self.path, list(self.headers.items()), b"", answer, started, 0.0)
            return
        headers = list(self.headers.items())
        clock = time.perf_counter()
        answer = relay.forward(method, self.path, headers, raw)
        latency_ms = (time.perf_counter() - clock) * 1000
        self._send(answer.status, answer.headers, answer.body)
        relay.record(method, self.path, headers, raw, answer, started, latency_ms)


def start_relay(*, forward_url: str, session_id: str | None = None, store: Store | None = None, port: int = 0,
                timeout: float | None = None,
                on_exchange: Callable[[dict[str, Any]], None] | None = None) -> RelayServer:
    """Start a relay on 127.0.0.1:`port` (0 picks a free port) in a daemon thread; returns the running server.

    `forward_url`: `tiktok`, `emulator` (one is started in-process and stopped with the relay) or an http(s)
    base URL. `session_id`: the session exchanges are recorded in, created when new (default: a new one).
    `store`: default the console's database (TEC_DB), opened and closed by the relay. `timeout`: seconds
    to wait for upstream (default TEC_ANSWER_TIMEOUT). `on_exchange` gets each recorded exchange as a
    `history` row, from the request's thread.
    """
    from core.config import resolve_settings

    if timeout is not None and not timeout > 0:
        raise InvalidInput(f"Relay timeout {timeout!r} is not a positive number of seconds.",
                           hint="Use e.g. --timeout 30 (default: TEC_ANSWER_TIMEOUT).")
    settings, _ = resolve_settings()
    emulator = None
    if forward_url == "emulator":
        from core.emulator import start_emulator

        emulator = start_emulator()
        upstream = emulator.url
    else:
        upstream = resolve_forward(forward_url)
    owns = store is None
    try:
        db = store if store is not None else Store(settings.db_path)
        try:
            sid = db.create_session(f"relay to {upstream}", target="relay", base_url=upstream, session_id=session_id)
            return RelayServer(forward_url=upstream, session_id=sid, store=db, port=port,
                               timeout=settings.answer_timeout_s if timeout is None else float(timeout),
                               owns_store=owns, emulator=emulator, on_exchange=on_exchange)
        except BaseException:
            if owns:
                db.close()
            raise
    except BaseException:
        if emulator is not None:
            emulator.stop()
        raise


__all__ = ["RELAY_PATHS", "TIMEOUT_CODE", "UNREACHABLE_CODE", "RelayServer", "history", "history_row",
           "read_request_body", "relay_envelope", "resolve_forward", "start_relay"]
