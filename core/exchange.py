"""The send path's records: one HTTP round trip (`Exchange`), its tries (`Attempt`), and what a send did
(`SendReport`). Records only: imported by transport, store and outbox, importing nothing of ours but
contract (httpx keeps `_models.py` under both its client and its transports the same way).

TikTok (contract §4): success is HTTP 2xx *and* code 0; 20001 is a partial success that does not say
which events failed. The token never reaches a record: headers carry `REDACTED`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Final

from core.contract import ReturnCode, describe_code

OUTCOMES: Final = ("accepted", "partial", "rejected", "undelivered")


def is_retryable_status(status: int) -> bool:
    """HTTP statuses worth another try: 429 (rate limited) and every 5xx (a gateway or TikTok itself)."""
    return status == 429 or status >= 500


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
    id: int | None = None  # the store's id, once kept
    session_id: str | None = None
    source: str = "console"  # who made the request: console (our sender), relay (a backend through the relay)

    @property
    def accepted(self) -> bool:
        """HTTP 2xx and code 0 or 20001: TikTok took the request (20001 only in part)."""
        return self.status is not None and 200 <= self.status < 300 and self.code in (0, 20001)

    @property
    def partial(self) -> bool:
        """Code 20001: some events were accepted, some were not (TikTok does not say which)."""
        return self.accepted and self.code == 20001

    @property
    def delivered(self) -> bool:
        """An answer that ends the matter arrived (accepted or rejected for good): no retry would help."""
        if self.accepted:
            return True
        if self.code is not None:
            return not describe_code(self.code).retry
        return self.status is not None and not is_retryable_status(self.status)

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
                              retry=is_retryable_status(self.status))
        return ReturnCode(-1, "NO_RESPONSE", f"No answer: {self.error or 'unknown error'}.",
                          "Check the network and the base URL; the events stay in the outbox for a retry.",
                          retry=True)

    @property
    def event_count(self) -> int:
        """Events in the request body."""
        data = self.request_body.get("data")
        return len(data) if isinstance(data, list) else 0

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
class EventNote:
    """One event a send did not deliver, or delivered with a caveat: its id, where it stands and why."""

    event_id: str
    event: str
    status: str  # held | rejected | blocked | pending | in_flight
    reason: str
    index: int | None = None  # absolute position in the input (data[i] over every body), when known

    def to_dict(self) -> dict[str, Any]:
        """JSON form: event_id, event, status, reason, index."""
        return asdict(self)


@dataclass(slots=True)
class SendReport:
    """What one send (or outbox retry) did: the exchanges and where every event ended up.

    Counts are of events: `accepted` in full, `partial` (last answer 20001, still pending a resend),
    `rejected` (TikTok refused them as invalid), `blocked` (refused for the token or permissions),
    `held` (not sent: lint errors, or raw PII the outbox could not keep), `undelivered` (no final
    answer; pending). `resumed` counts events of an earlier interrupted run that were already accepted
    and not sent again; `notes` names every event that did not end accepted, with its reason.
    """

    session_id: str
    exchanges: list[Exchange] = field(default_factory=list)
    exchange_ids: list[int] = field(default_factory=list)
    events: int = 0
    accepted: int = 0
    partial: int = 0
    rejected: int = 0
    undelivered: int = 0
    blocked: int = 0
    held: int = 0
    resumed: int = 0
    incomplete_sessions: list[str] = field(default_factory=list)
    notes: list[EventNote] = field(default_factory=list)
    resent_in_flight: list[str] = field(default_factory=list)  # event_ids an interrupted run had posted
    changed: list[EventNote] = field(default_factory=list)  # sent differently from the input, on request

    @property
    def all_accepted(self) -> bool:
        """True when every event is accepted in full (already accepted ones of a resumed send count)."""
        return self.accepted + self.resumed == self.events and not self.incomplete_sessions

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary with one short entry per exchange and one note per event not accepted."""
        return {"session_id": self.session_id, "events": self.events, "accepted": self.accepted,
                "partial": self.partial, "rejected": self.rejected, "undelivered": self.undelivered,
                "blocked": self.blocked, "held": self.held, "resumed": self.resumed,
                "all_accepted": self.all_accepted, "incomplete_sessions": list(self.incomplete_sessions),
                "not_accepted": [n.to_dict() for n in self.notes],
                "resent_in_flight": list(self.resent_in_flight),
                "sent_changed": [n.to_dict() for n in self.changed],
                "exchanges": [e.summary() for e in self.exchanges]}


__all__ = ["OUTCOMES", "Attempt", "EventNote", "Exchange", "SendReport", "is_retryable_status"]
