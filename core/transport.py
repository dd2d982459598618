"""Send Events API v1.3 bodies over httpx, with retries, batching, an outbox and faithful records.

TikTok (contract §1, §3, §4): POST `{base}/open_api/v1.3/event/track/` with `Access-Token` and
`Content-Type: application/json`; at most 1,000 events per request; errors come back as HTTP 200 with a
non-zero `code`, so success is HTTP 2xx *and* code 0 (20001 is a partial success). Transient failures
(40100/40132/50000/50002/51xxx/52xxx, HTTP 429/5xx, timeouts, broken connections) are retried with
exponential backoff and jitter, resending the same bytes (so the same event_ids); parameter,
permission and token errors never are.

Every round trip becomes an `Exchange`, the record the Send page shows and the store keeps. The token
lives only in the httpx client's headers: an Exchange holds `REDACTED`, cURL copies `$TIKTOK_ACCESS_TOKEN`.
"""

from __future__ import annotations

import json
import random
import re
import shlex
import time
from collections.abc import Callable, Iterable
from typing import Any, Final
from urllib.parse import urlsplit

import httpx

from core.config import EMULATOR_TOKEN, TOKEN_ENV, Settings
from core.contract import (
    ACCESS_TOKEN_HEADER,
    MAX_EVENTS_PER_REQUEST,
    REDACTED,
    TIKTOK_BASE_URL,
    TOKEN_PLACEHOLDER,
    TRACK_PATH,
    describe_code,
)
from core.errors import ConfigError, InvalidPayload
from core.exchange import Attempt, Exchange, is_retryable_status

USER_AGENT: Final = "tiktok-events-console/0.1 (+httpx)"
BACKOFF_CAP_S: Final = 30.0  # never wait longer than this between two attempts
RETRY_AFTER_CAP_S: Final = 60.0
_SURROGATE_ESCAPE_RE: Final = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
CURL_INLINE_MAX: Final = 16_000  # bytes of body above which cURL reads the body from a file
_MAX_TEXT: Final = 20_000  # an HTML error page is kept up to this many characters


# --- bodies -----------------------------------------------------------------------------------------
def split_body(body: dict[str, Any], size: int = MAX_EVENTS_PER_REQUEST) -> list[dict[str, Any]]:
    """Split a body into bodies of at most `size` events, each with the same top-level fields.

    TikTok (§3): more than 1,000 events reject the whole request. Events are not copied or changed, so
    each keeps its event_id. A body with no events comes back as is (the API will say why).
    """
    data = body.get("data")
    if not isinstance(data, list) or len(data) <= size:
        return [body]
    top = {k: v for k, v in body.items() if k != "data"}
    return [{**top, "data": data[i:i + size]} for i in range(0, len(data), size)]


def _as_body(obj: Any, where: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(body, None) for a v1.3 body, (None, event) for a bare event; InvalidPayload for anything else.

    TikTok (§3) refuses a body whose `data` is not a list of 1-1,000 events (40002 / 40061), so such a
    body is refused here, before anything is recorded or sent.
    """
    if not isinstance(obj, dict):
        raise InvalidPayload(f"{where}: expected a JSON object, got {type(obj).__name__}.",
                             hint="Each item must be a v1.3 body ({\"data\": [...]}) or one event.")
    if "data" in obj:
        data = obj["data"]
        if not isinstance(data, list):
            kind = "null" if data is None else type(data).__name__
            raise InvalidPayload(f"{where}: \"data\" is {kind}, not a list of events.",
                                 hint='Wrap the event(s) in a list: {"data": [{...}, ...]} (1 to 1,000 per request).')
        if not data:
            raise InvalidPayload(f"{where}: \"data\" is an empty list: nothing to send.",
                                 hint="Put 1 to 1,000 events in data (TikTok refuses an empty batch).")
        return obj, None
    if "event" in obj:
        return None, obj
    raise InvalidPayload(f"{where}: neither a v1.3 body (no \"data\") nor an event (no \"event\").",
                         hint="Paste the body your backend POSTs to /event/track/.")


def _refuse_constant(name: str) -> Any:
    raise InvalidPayload(f"{name} is not a JSON number: JSON cannot carry it and TikTok refuses it.",
                         hint="Send a finite number (or leave the field out).")


def _loads(text: str) -> Any:
    """json.loads that refuses NaN/Infinity and turns nesting and number limits into InvalidPayload."""
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise InvalidPayload("The JSON is nested too deeply to be an Events API body.",
                             hint="An Events API body is a few levels deep: check the file.") from None
    except ValueError as exc:
        if isinstance(exc, json.JSONDecodeError):
            raise
        raise InvalidPayload(f"The JSON holds a number the console cannot read ({exc}).",
                             hint="Numbers in an Events API body are short: check the file.") from None


def _check_text(text: str) -> None:
    """Refuse lone surrogates (`"\\ud800"`): valid JSON escapes that no UTF-8 request can carry."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidPayload("The input holds a character that is not valid Unicode (a lone surrogate).",
                             hint="Re-export the file as UTF-8; replace the broken character.") from None


def _items(stripped: str) -> list[tuple[str, Any]]:
    """The JSON values of a document (a list is its members) or of JSONL lines, each with where it came from."""
    try:
        whole = _loads(stripped)
        return ([(f"item {i + 1}", o) for i, o in enumerate(whole)] if isinstance(whole, list)
                else [("body", whole)])
    except json.JSONDecodeError as first_error:
        items = []
        for n, line in enumerate(stripped.splitlines(), 1):
            if not line.strip():
                continue
            try:
                items.append((f"line {n}", _loads(line)))
            except json.JSONDecodeError as exc:
                # a multi-line body with a syntax error is better reported where the whole parse failed
                whole_failed = n == 1 and stripped[:1] in "{[" and "\n" in stripped
                bad, line_no = (first_error, first_error.lineno) if whole_failed else (exc, n)
                raise InvalidPayload(f"line {line_no} is not valid JSON ({bad.msg} at column {bad.colno}).",
                                     hint="Send one v1.3 body, or one JSON object per line (JSONL).") from None
        return items


def parse_bodies(text: str, *, pixel_code: str = "", event_source: str = "web") -> list[dict[str, Any]]:
    """Read a v1.3 body, a JSON list, or JSONL of bodies and/or events into a list of bodies.

    Bare events are gathered (in order) into one body with `event_source` and `event_source_id`
    = `pixel_code`; without a Pixel code that is an InvalidPayload naming the fix. Bodies are returned
    unchanged and unsplit. Raises InvalidPayload with the line number for text that is not JSON, for
    NaN/Infinity, lone surrogates, and a `data` that is not a list of events.
    """
    stripped = text.strip()
    if not stripped:
        raise InvalidPayload("Nothing to send: the input is empty.", hint="Paste a v1.3 body or JSONL events.")
    _check_text(stripped)
    bodies: list[dict[str, Any]] = []
    loose: list[dict[str, Any]] = []
    for where, obj in _items(stripped):
        body, event = _as_body(obj, where)
        if body is not None:
            bodies.append(body)
        elif event is not None:
            loose.append(event)
    if _SURROGATE_ESCAPE_RE.search(stripped):  # "\ud800" is valid JSON text but no UTF-8 request can carry it
        for body in [*bodies, {"data": loose}]:
            encode_body(body)
    if loose:
        if not pixel_code:
            raise InvalidPayload(f"{len(loose)} bare event(s) have no Pixel code to go with them.",
                                 hint="Pass --pixel-code (or set TEC_PIXEL_CODE), or wrap them in a v1.3 "
                                      "body with event_source and event_source_id.")
        bodies.append({"event_source": event_source, "event_source_id": pixel_code, "data": loose})
    return bodies


def encode_body(body: dict[str, Any]) -> bytes:
    """The request bytes for a body: compact UTF-8 JSON; InvalidPayload for NaN/Infinity (not JSON)."""
    try:
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
    except ValueError:
        raise InvalidPayload("The body holds NaN or Infinity, which JSON cannot carry.",
                             hint="Send finite numbers only.") from None
    except UnicodeEncodeError:
        raise InvalidPayload("The body holds a character that is not valid Unicode (a lone surrogate).",
                             hint="Replace the broken character.") from None


def apply_test_event_code(bodies: Iterable[dict[str, Any]], code: str | None) -> list[dict[str, Any]]:
    """Copies of `bodies` with top-level `test_event_code` = `code` (unchanged when code is empty).

    TikTok (§8): the test event code is a top-level sibling of `data`, never per event.
    """
    if not code:
        return list(bodies)
    return [{**b, "test_event_code": code} for b in bodies]


def count_events(bodies: Iterable[dict[str, Any]]) -> int:
    """Number of events across bodies."""
    return sum(len(b["data"]) if isinstance(b.get("data"), list) else 0 for b in bodies)


# --- endpoint, token, cURL -----------------------------------------------------------------------------
def endpoint_url(settings: Settings) -> str:
    """`{base}/open_api/v1.3/event/track/` for the settings' target.

    Raises ConfigError for the emulator target without a URL (the caller starts one and passes its url).
    """
    base = settings.base_url or (TIKTOK_BASE_URL if settings.target == "tiktok" else None)
    if not base and settings.target == "custom":
        raise ConfigError("The custom target has no base URL.",
                          hint="Give its base URL, e.g. http://127.0.0.1:9000 (--base-url or TEC_BASE_URL; "
                               "the Target setting in the app).")
    if not base:
        raise ConfigError("No base URL for the emulator target.",
                          hint="Start the emulator (`tiktok-events emulator`) and pass its URL with --base-url.")
    return base.rstrip("/") + TRACK_PATH


def resolve_token(settings: Settings) -> str:
    """The access token to send: the user's, else the emulator's stand-in for the emulator target.

    Raises ConfigError when sending anywhere else without one (TikTok would answer 40104).
    """
    if settings.access_token:
        return settings.access_token
    if settings.target == "emulator":
        return EMULATOR_TOKEN
    raise ConfigError(f"No access token: set {TOKEN_ENV}.",
                      hint="Events Manager > your Pixel > Settings > Events API > Generate Access Token.")


def to_curl(exchange_or_body: Exchange | dict[str, Any], url: str | None = None, *,
            body_file: str | None = None) -> str:
    """A shell command that replays the request, with the token as `$TIKTOK_ACCESS_TOKEN`.

    Contract: never contains a token. The body is pretty JSON in single quotes (shell-safe), or, with
    `body_file`, read from that file (`--data @body.json`): a 1,000-event body inline is longer than a
    shell accepts, so large bodies go as a download beside a short command.
    """
    if isinstance(exchange_or_body, Exchange):
        body, url = exchange_or_body.request_body, url or exchange_or_body.url
    else:
        body = exchange_or_body
    if not url:
        raise InvalidPayload("A cURL command needs the endpoint URL.", hint="Pass the URL the body goes to.")
    head = (f"curl -sS -X POST {shlex.quote(url)} \\\n"
            f"  -H \"{ACCESS_TOKEN_HEADER}: {TOKEN_PLACEHOLDER}\" \\\n"
            f"  -H 'Content-Type: application/json' \\\n")
    if body_file is not None:
        return head + f"  --data @{shlex.quote(body_file)}"
    return head + f"  --data-raw {shlex.quote(curl_body(body).decode('utf-8'))}"


def curl_body(body: dict[str, Any]) -> bytes:
    """The body as the pretty JSON file a cURL command reads (`--data @body.json`)."""
    return json.dumps(body, indent=2, ensure_ascii=False).encode("utf-8")


# --- sending ------------------------------------------------------------------------------------------
def _parse_response(resp: httpx.Response) -> tuple[dict[str, Any] | str | None, int | None, str | None,
                                                    str | None]:
    """(body, code, message, request_id) — code is None when the answer is not a TikTok envelope."""
    text = resp.text
    body: dict[str, Any] | str | None = text[:_MAX_TEXT] if text else None
    code = message = None
    request_id = resp.headers.get("X-Tt-Logid")
    if text[:1] == "{":
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            body = parsed
            raw_code = parsed.get("code")
            if isinstance(raw_code, int) and not isinstance(raw_code, bool):
                code = raw_code
            message = parsed.get("message") if isinstance(parsed.get("message"), str) else None
            request_id = parsed.get("request_id") or request_id
    return body, code, message, request_id


def _error_text(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"timeout ({type(exc).__name__})"
    if isinstance(exc, httpx.ConnectError):
        return f"connection refused or unreachable ({exc})"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class Sender:
    """Posts bodies to one endpoint over one keep-alive httpx client, retrying transient failures.

    `transport` is injectable (httpx.MockTransport in unit tests); `sleep` and `rng` too, so retry
    timing is testable. Use as a context manager, or call `close()`.
    """

    def __init__(self, settings: Settings, *, transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep, rng: Callable[[], float] = random.random) -> None:
        self.settings = settings
        self.url = endpoint_url(settings)
        self._token = resolve_token(settings)
        self._sleep = sleep
        self._rng = rng
        self._client = httpx.Client(
            # connect/write within the timeout; the answer is awaited up to the answer deadline, so a slow
            # answer is not resent while it may still arrive (a retry follows only once that connection is
            # closed, and the answer can no longer come back on it)
            transport=transport,
            timeout=httpx.Timeout(settings.timeout_s, read=max(settings.timeout_s, settings.answer_timeout_s)),
            headers={"User-Agent": USER_AGENT, "Content-Type": "application/json",
                     ACCESS_TOKEN_HEADER: self._token},
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def __enter__(self) -> Sender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _scrub(self, text: str | None) -> str | None:
        # Belt and braces: an echoing proxy or an exception text must not carry the token into a record.
        if text and self._token and self._token in text:
            return text.replace(self._token, REDACTED)
        return text

    def backoff_s(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt `attempt` (1-based): exponential, equal jitter, capped.

        A server's Retry-After wins when larger (capped at 60 s).
        """
        base = min(BACKOFF_CAP_S, self.settings.backoff_base_s * (2 ** (attempt - 1)))
        delay = float(base * (0.5 + self._rng() / 2))
        if retry_after is not None:
            delay = max(delay, min(retry_after, RETRY_AFTER_CAP_S))
        return delay

    def send_one(self, body: dict[str, Any], *, content: bytes | None = None) -> Exchange:
        """POST one body (≤1,000 events) with retries; the same bytes go out on every attempt.

        `content` is the body already serialized (the outbox's bytes), to avoid encoding it twice.
        """
        if content is None:
            content = encode_body(body)
        ex = Exchange("POST", self.url,
                      {"Content-Type": "application/json", ACCESS_TOKEN_HEADER: REDACTED, "User-Agent": USER_AGENT},
                      body, started_at=time.time())
        t_first = time.perf_counter()
        max_attempts = max(1, self.settings.max_attempts)
        for n in range(1, max_attempts + 1):
            started, t0 = time.time(), time.perf_counter()
            attempt = Attempt(started_at=started, latency_ms=0.0)
            retry, retry_after = False, None
            try:
                resp = self._client.post(self.url, content=content)
            except httpx.HTTPError as exc:
                attempt.latency_ms = (time.perf_counter() - t0) * 1000
                attempt.error = self._scrub(_error_text(exc))
                ex.status, ex.code, ex.message, ex.request_id = None, None, None, None
                ex.response_body, ex.response_headers, ex.error = None, {}, attempt.error
                retry = True
            else:
                attempt.latency_ms = (time.perf_counter() - t0) * 1000
                body_out, code, message, request_id = _parse_response(resp)
                attempt.status, attempt.code = resp.status_code, code
                ex.status, ex.code, ex.message, ex.request_id = resp.status_code, code, self._scrub(message), request_id
                ex.response_body = body_out if not isinstance(body_out, str) else self._scrub(body_out)
                ex.response_headers = dict(resp.headers)
                ex.error = None
                if code is not None and 200 <= resp.status_code < 300:
                    retry = describe_code(code).retry
                else:
                    retry = is_retryable_status(resp.status_code) or (code is not None and describe_code(code).retry)
                    if code is None:
                        ex.error = f"HTTP {resp.status_code} without a TikTok envelope"
                    if resp.status_code == 429:
                        try:
                            retry_after = float(resp.headers.get("Retry-After", ""))
                        except ValueError:
                            retry_after = None
            ex.attempts.append(attempt)
            ex.latency_ms = attempt.latency_ms
            if not retry or n == max_attempts:
                break
            attempt.retry_in_s = round(self.backoff_s(n, retry_after), 3)
            self._sleep(attempt.retry_in_s)
        ex.total_ms = (time.perf_counter() - t_first) * 1000
        return ex

    def send_body(self, body: dict[str, Any]) -> list[Exchange]:
        """Send a body, split into requests of at most 1,000 events; one Exchange per request."""
        return [self.send_one(part) for part in split_body(body)]


# --- command-line helpers ------------------------------------------------------------------------------
def settings_for_cli(settings: Settings, *, base_url: str | None = None, timeout: float | None = None,
                     need_token: bool = False) -> Settings:
    """Settings for `tiktok-events send` / `outbox retry`: --base-url wins, then TEC_BASE_URL, then TikTok.

    The CLI has no in-process emulator, so the "emulator" target without a URL means TikTok's endpoint
    (point --base-url at `tiktok-events emulator` to stay local). A local endpoint (127.0.0.1, localhost:
    the emulator) needs no token, as in the app. With `need_token`, anywhere else without one is a
    ConfigError naming where to get it. Raises ConfigError for a bad URL or timeout.
    """
    if base_url:
        url = base_url.strip().rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"--base-url {base_url!r} is not an http(s) URL.",
                              hint="Use e.g. http://127.0.0.1:8787 or https://business-api.tiktok.com.")
        target = "tiktok" if url == TIKTOK_BASE_URL else "custom"
        settings = settings.with_overrides(target=target, base_url=url)
    elif not settings.base_url:
        settings = settings.with_overrides(target="tiktok", base_url=TIKTOK_BASE_URL)
    if timeout is not None:
        if timeout <= 0:
            raise ConfigError(f"--timeout {timeout} must be positive.", hint="Use e.g. --timeout 10.")
        settings = settings.with_overrides(timeout_s=timeout)
    if need_token and not settings.access_token:
        host = (urlsplit(settings.base_url or "").hostname or "").lower()
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ConfigError(f"No access token: set {TOKEN_ENV}.",
                              hint="Events Manager > your Pixel > Settings > Events API > Generate Access Token.")
        settings = settings.with_overrides(access_token=EMULATOR_TOKEN)
    return settings


__all__ = ["CURL_INLINE_MAX", "Sender", "apply_test_event_code", "count_events", "curl_body", "encode_body",
           "endpoint_url", "parse_bodies", "resolve_token", "settings_for_cli", "split_body", "to_curl"]
