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
import shlex
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Final

import httpx

from core.config import EMULATOR_TOKEN, TOKEN_ENV, Settings
from core.contract import (
    ACCESS_TOKEN_HEADER,
    MAX_EVENTS_PER_REQUEST,
    REDACTED,
    TIKTOK_BASE_URL,
    TOKEN_PLACEHOLDER,
    TRACK_PATH,
    ReturnCode,
    describe_code,
)
from core.errors import ConfigError, InvalidPayload

if TYPE_CHECKING:
    from core.store import QueuedBatch, Store

USER_AGENT: Final = "tiktok-events-console/0.1 (+httpx)"
BACKOFF_CAP_S: Final = 30.0  # never wait longer than this between two attempts
RETRY_AFTER_CAP_S: Final = 60.0
_MAX_TEXT: Final = 20_000  # an HTML error page is kept up to this many characters
Progress = Callable[[int, int], None]


# --- records ------------------------------------------------------------------------------------------
@dataclass(slots=True)
class Attempt:
    """One try of one request: when, how long, what came back (or the network error), the wait after."""

    started_at: float  # Unix seconds
    latency_ms: float
    status: int | None = None
    code: int | None = None
    error: str | None = None
    retry_in_s: float | None = None  # None: no further attempt followed


@dataclass(slots=True)
class Exchange:
    """One request as it really happened (after retries); the token is redacted everywhere in it."""

    method: str
    url: str
    request_headers: dict[str, str]
    request_body: dict[str, Any]
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: dict[str, Any] | str | None = None
    code: int | None = None
    message: str | None = None
    request_id: str | None = None
    attempts: list[Attempt] = field(default_factory=list)
    latency_ms: float = 0.0  # of the final attempt: what the API took to answer
    total_ms: float = 0.0  # first attempt start to final answer, backoff included
    error: str | None = None  # set when no usable answer arrived
    started_at: float = 0.0

    @property
    def accepted(self) -> bool:
        """HTTP 2xx and code 0 or 20001: TikTok took the request (20001 only in part)."""
        return self.status is not None and 200 <= self.status < 300 and self.code in (0, 20001)

    @property
    def partial(self) -> bool:
        """Code 20001: some events were accepted, some were not (the message says which)."""
        return self.accepted and self.code == 20001

    @property
    def delivered(self) -> bool:
        """An answer that ends the matter arrived (accepted or rejected for good): no retry would help."""
        if self.accepted:
            return True
        if self.code is not None:
            return not describe_code(self.code).retry
        return self.status is not None and not _retryable_status(self.status)

    @property
    def outcome(self) -> str:
        """accepted | partial | rejected (TikTok said no) | undelivered (no answer, or only transient ones)."""
        if self.partial:
            return "partial"
        if self.accepted:
            return "accepted"
        return "rejected" if self.delivered else "undelivered"

    @property
    def decoded(self) -> ReturnCode:
        """The TikTok return code with meaning and fix; for answers without one, an HTTP/network entry."""
        if self.code is not None:
            return describe_code(self.code)
        if self.status is not None:
            kind = "gateway error (HTML page, no TikTok envelope)" if self.status >= 500 else "HTTP error"
            return ReturnCode(-self.status, f"HTTP_{self.status}", f"HTTP {self.status}: {kind}.",
                              "Retry later; if it persists, check the base URL and TikTok's status.",
                              retry=_retryable_status(self.status))
        return ReturnCode(-1, "NO_RESPONSE", f"No answer: {self.error or 'unknown error'}.",
                          "Check the network and the base URL; the events stay in the outbox for a retry.",
                          retry=True)

    @property
    def event_count(self) -> int:
        """Events in the request body."""
        data = self.request_body.get("data")
        return len(data) if isinstance(data, list) else 0

    @property
    def event_ids(self) -> list[str]:
        """event_id of each event in the body ("" where missing)."""
        data = self.request_body.get("data") or []
        return [str(e.get("event_id") or "") if isinstance(e, dict) else "" for e in data]

    def summary(self) -> dict[str, Any]:
        """The short form the CLI prints: status, code, message, request_id, attempts, latency, outcome."""
        d = self.decoded
        return {
            "status": self.status, "code": self.code, "message": self.message, "request_id": self.request_id,
            "attempts": len(self.attempts), "latency_ms": round(self.latency_ms, 1),
            "total_ms": round(self.total_ms, 1), "events": self.event_count, "outcome": self.outcome,
            "accepted": self.accepted, "partial": self.partial, "error": self.error,
            "code_name": d.name, "meaning": d.meaning, "fix": d.fix,
        }

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict with the derived fields too (accepted, partial, outcome, decoded)."""
        # not asdict(): it deep-copies the request body (1,000 events) for nothing
        d = {name: getattr(self, name) for name in self.__dataclass_fields__}
        d["attempts"] = [asdict(a) for a in self.attempts]
        d["request_headers"] = dict(self.request_headers)
        d["response_headers"] = dict(self.response_headers)
        d.update(accepted=self.accepted, partial=self.partial, outcome=self.outcome,
                 decoded=asdict(self.decoded), event_count=self.event_count)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Exchange:
        """Rebuild an Exchange from `to_dict()` output (derived keys are ignored)."""
        names = set(cls.__dataclass_fields__)
        kwargs = {k: v for k, v in d.items() if k in names}
        kwargs["attempts"] = [Attempt(**a) for a in d.get("attempts") or []]
        return cls(**kwargs)


@dataclass(slots=True)
class SendReport:
    """What one send (or outbox retry) did: the exchanges and where every event ended up."""

    session_id: str
    exchanges: list[Exchange] = field(default_factory=list)
    exchange_ids: list[int] = field(default_factory=list)
    events: int = 0
    accepted: int = 0
    partial: int = 0
    rejected: int = 0
    undelivered: int = 0

    @property
    def all_accepted(self) -> bool:
        """True when every event was accepted in full (partial successes do not count)."""
        return self.accepted == self.events

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary with one short entry per exchange."""
        return {"session_id": self.session_id, "events": self.events, "accepted": self.accepted,
                "partial": self.partial, "rejected": self.rejected, "undelivered": self.undelivered,
                "all_accepted": self.all_accepted, "exchanges": [e.summary() for e in self.exchanges]}


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


def _as_body(obj: Any, where: str, pixel_code: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(body, None) for a v1.3 body, (None, event) for a bare event."""
    if not isinstance(obj, dict):
        raise InvalidPayload(f"{where}: expected a JSON object, got {type(obj).__name__}.",
                             hint="Each item must be a v1.3 body ({\"data\": [...]}) or one event.")
    if "data" in obj:
        return obj, None
    if "event" in obj:
        return None, obj
    raise InvalidPayload(f"{where}: neither a v1.3 body (no \"data\") nor an event (no \"event\").",
                         hint="Paste the body your backend POSTs to /event/track/.")


def parse_bodies(text: str, *, pixel_code: str = "", event_source: str = "web") -> list[dict[str, Any]]:
    """Read a v1.3 body, a JSON list, or JSONL of bodies and/or events into a list of bodies.

    Bare events are gathered (in order) into one body with `event_source` and `event_source_id`
    = `pixel_code`; without a Pixel code that is an InvalidPayload naming the fix. Bodies are returned
    unchanged and unsplit. Raises InvalidPayload with the line number for text that is not JSON.
    """
    stripped = text.strip()
    if not stripped:
        raise InvalidPayload("Nothing to send: the input is empty.", hint="Paste a v1.3 body or JSONL events.")
    items: list[tuple[str, Any]]
    try:
        whole = json.loads(stripped)
        items = ([(f"item {i + 1}", o) for i, o in enumerate(whole)] if isinstance(whole, list)
                 else [("body", whole)])
    except json.JSONDecodeError as first_error:
        items = []
        for n, line in enumerate(stripped.splitlines(), 1):
            if not line.strip():
                continue
            try:
                items.append((f"line {n}", json.loads(line)))
            except json.JSONDecodeError as exc:
                # a multi-line body with a syntax error is better reported where the whole parse failed
                whole_failed = n == 1 and stripped[:1] in "{[" and "\n" in stripped
                bad, line_no = (first_error, first_error.lineno) if whole_failed else (exc, n)
                raise InvalidPayload(f"line {line_no} is not valid JSON ({bad.msg} at column {bad.colno}).",
                                     hint="Send one v1.3 body, or one JSON object per line (JSONL).") from None
    bodies: list[dict[str, Any]] = []
    loose: list[dict[str, Any]] = []
    for where, obj in items:
        body, event = _as_body(obj, where, pixel_code)
        if body is not None:
            bodies.append(body)
        elif event is not None:
            loose.append(event)
    if loose:
        if not pixel_code:
            raise InvalidPayload(f"{len(loose)} bare event(s) have no Pixel code to go with them.",
                                 hint="Set the Pixel code (sidebar or TEC_PIXEL_CODE), or wrap them in a v1.3 "
                                      "body with event_source and event_source_id.")
        bodies.append({"event_source": event_source, "event_source_id": pixel_code, "data": loose})
    return bodies


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
                          hint="Type it in the sidebar (e.g. http://127.0.0.1:9000), or set TEC_BASE_URL.")
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


def to_curl(exchange_or_body: Exchange | dict[str, Any], url: str | None = None) -> str:
    """A shell command that replays the request, with the token as `$TIKTOK_ACCESS_TOKEN`.

    Contract: never contains a token; the body is pretty JSON in single quotes (shell-safe).
    """
    if isinstance(exchange_or_body, Exchange):
        body, url = exchange_or_body.request_body, url or exchange_or_body.url
    else:
        body = exchange_or_body
    if not url:
        raise ValueError("to_curl needs a URL for a bare body")
    data = json.dumps(body, indent=2, ensure_ascii=False)
    return (f"curl -sS -X POST {shlex.quote(url)} \\\n"
            f"  -H \"{ACCESS_TOKEN_HEADER}: {TOKEN_PLACEHOLDER}\" \\\n"
            f"  -H 'Content-Type: application/json' \\\n"
            f"  --data-raw {shlex.quote(data)}")


# --- sending ------------------------------------------------------------------------------------------
def _retryable_status(status: int) -> bool:
    return status == 429 or status >= 500


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
            transport=transport, timeout=httpx.Timeout(settings.timeout_s),
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
            content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
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
                    retry = _retryable_status(resp.status_code) or (code is not None and describe_code(code).retry)
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


# --- outbox-backed sending -----------------------------------------------------------------------------
def _settle(store: Store, session_id: str, ids: Sequence[int], ex: Exchange, report: SendReport,
            batch_id: int | None = None) -> None:
    ex_id = store.add_exchange(session_id, ex, batch_id=batch_id)
    outcome = ex.outcome
    error = None if ex.accepted and not ex.partial else (ex.message or ex.error)
    store.mark_outbox(ids, outcome if outcome != "undelivered" else "pending", code=ex.code, error=error,
                      exchange_id=ex_id)
    report.exchanges.append(ex)
    report.exchange_ids.append(ex_id)
    n = len(ids)
    if outcome == "accepted":
        report.accepted += n
    elif outcome == "partial":
        report.partial += n
    elif outcome == "rejected":
        report.rejected += n
    else:
        report.undelivered += n


def send_with_outbox(store: Store, session_id: str, bodies: Iterable[dict[str, Any]], sender: Sender,
                     progress: Progress | None = None) -> SendReport:
    """Write every event to the outbox, then send in ≤1,000-event requests and settle each row.

    Contract: rows leave "pending" only for an answer that ends the matter: accepted, partial (20001,
    not resent) or rejected (kept with TikTok's message, resent by `retry_outbox`). A crash or
    interrupt mid-way leaves the unsent rows pending; `retry_outbox` sends exactly those, same event_ids.
    """
    planned: list[tuple[dict[str, Any], QueuedBatch]] = []
    for body in bodies:
        for part in split_body(body):
            planned.append((part, store.queue_batch(session_id, part)))
    report = SendReport(session_id=session_id, events=sum(len(q.ids) for _, q in planned))
    done = 0
    if progress:
        progress(0, report.events)
    for part, queued in planned:
        ex = sender.send_one(part, content=queued.content)
        _settle(store, session_id, queued.ids, ex, report, batch_id=queued.batch_id)
        done += len(queued.ids)
        if progress:
            progress(done, report.events)
    return report


def _outbox_batches(rows: Sequence[Any]) -> Iterator[tuple[str, dict[str, Any], list[int]]]:
    """Group outbox rows by (session, top-level fields) in order, in chunks of ≤1,000."""
    groups: dict[tuple[str, str], list[Any]] = {}
    for row in rows:
        groups.setdefault((row.session_id, row.top_json), []).append(row)
    for (session_id, top_json), members in groups.items():
        top = json.loads(top_json)
        for i in range(0, len(members), MAX_EVENTS_PER_REQUEST):
            chunk = members[i:i + MAX_EVENTS_PER_REQUEST]
            yield session_id, {**top, "data": [r.event for r in chunk]}, [r.id for r in chunk]


def retry_outbox(store: Store, sender: Sender, *, session_id: str | None = None,
                 include_rejected: bool = True, progress: Progress | None = None) -> SendReport:
    """Resend what the outbox still holds (pending, and rejected unless told not to), same event_ids.

    Rows are regrouped by their original top-level fields (Pixel, test event code) in the original
    order. Exchanges are recorded under each row's own session.
    """
    statuses = ("pending", "rejected") if include_rejected else ("pending",)
    rows = store.outbox_rows(statuses=statuses, session_id=session_id)
    report = SendReport(session_id=session_id or "", events=len(rows))
    done = 0
    if progress:
        progress(0, report.events)
    for sid, body, ids in _outbox_batches(rows):
        _settle(store, sid, ids, sender.send_one(body), report)
        done += len(ids)
        if progress:
            progress(done, report.events)
    return report




# --- command-line helpers ------------------------------------------------------------------------------
def settings_for_cli(settings: Settings, *, base_url: str | None = None, timeout: float | None = None) -> Settings:
    """Settings for `tiktok-events send` / `outbox retry`: --base-url wins, then TEC_BASE_URL, then TikTok.

    The CLI has no in-process emulator, so the "emulator" target without a URL means TikTok's endpoint
    (point --base-url at `tiktok-events emulator` to stay local). Raises ConfigError for a bad URL or
    timeout.
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
    return settings


def report_text(report: SendReport) -> str:
    """People's version of a SendReport: one line per request, then where every event ended up."""
    marks = {"accepted": "✓", "partial": "◐", "rejected": "✗", "undelivered": "…"}
    lines = []
    for i, ex in enumerate(report.exchanges, 1):
        d = ex.decoded
        what = f"code {ex.code} {d.name}" if ex.code is not None else (ex.error or f"HTTP {ex.status}")
        lines.append(f"{marks[ex.outcome]} request {i}: {ex.event_count} events {ex.outcome} — {what}; "
                     f"request_id {ex.request_id or '-'}; {len(ex.attempts)} attempt(s); {ex.latency_ms:.0f} ms")
        if ex.outcome != "accepted":
            lines.append(f"    {ex.message or d.meaning} Fix: {d.fix}")
    lines.append(f"{report.accepted}/{report.events} events accepted, {report.partial} partial, "
                 f"{report.rejected} rejected, {report.undelivered} undelivered.")
    if report.rejected or report.undelivered:
        lines.append("Events not accepted stay in the outbox: `tiktok-events outbox list`, then "
                     "`tiktok-events outbox retry`.")
    return "\n".join(lines)


__all__ = ["Attempt", "Exchange", "SendReport", "Sender", "apply_test_event_code", "count_events",
           "endpoint_url", "parse_bodies", "report_text", "resolve_token", "retry_outbox", "send_with_outbox",
           "settings_for_cli", "split_body", "to_curl"]
