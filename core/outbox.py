"""The delivery workflow: record every event, claim it, send it, settle it; resume and retry.

On top of transport (HTTP) and store (SQLite), knowing TikTok's answers (contract §4):
- a send records its input batch by batch, each batch in one transaction before any of its events is
  posted (later batches are recorded on a thread of their own while earlier ones are delivered), and
  marks the session recorded once every batch is in; the same send run again (same input, same
  endpoint) resumes that session: events already accepted are not sent again, events not yet recorded
  are recorded and sent;
- rows are claimed with a lease before they are posted, so a send, an `outbox retry` and the app can
  run at once on one database without sending an event twice; a dead sender's claims are void;
- TikTok refuses a whole request over one bad event and names it (`data.N` in a 40002 message): that
  event is marked rejected and the rest of the request is resent at once without it;
- 20001 (partial success) does not say which events failed, so the whole request is resent with the
  same event_ids (TikTok drops what it already has); token and permission refusals are kept as
  `blocked` and go again once the token is fixed; invalid events are not retried unless asked;
- an event whose raw email/phone the outbox did not keep is never resent changed without being asked.
Only the one request in flight at a crash may reach TikTok twice; the report names its events.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import hashlib
import io
import json
import pickle
import re
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from core.config import Settings
from core.contract import MAX_EVENTS_PER_REQUEST
from core.errors import ConfigError, ConsoleError, InvalidPayload
from core.exchange import EventNote, Exchange, SendReport
from core.lint.findings import Finding
from core.store import OutboxRow, PlannedBatch, SessionInfo, Store, event_texts, new_claim_owner
from core.transport import (
    BACKOFF_CAP_S,
    Sender,
    apply_test_event_code,
    count_events,
    encode_body,
    parse_bodies,
    split_body,
)

Progress = Callable[[int, int], None]

BLOCKED_CODES: Final = frozenset({40001, 40003, 40102, 40103, 40104, 40105, 40130})  # token / permission
INVALID_CODES: Final = frozenset({40000, 40002, 40062})  # named event refused: peel it off and resend the rest
PARTIAL_RESENDS: Final = 2  # 20001: resend the whole request at once this many times, then leave it pending
_NAMED_EVENT_RE: Final = re.compile(r"\bdata[.\[](\d+)")
_EVENT_PATH_RE: Final = re.compile(r"^data\[(\d+)\]")
REASONS: Final = {
    "transient": "no final answer yet (network, timeout, rate limit or server error): retried automatically",
    "partial": "TikTok answered 20001 (partial success) without naming the failed events: resent whole",
    "token": "refused for the access token or its permissions: retried once the token is fixed",
    "invalid": "refused by TikTok as invalid: fix the source, then `outbox retry --rejected`, or `outbox drop`",
    "lint": "held back: the linter found errors TikTok would refuse (send anyway with --send-invalid)",
    "raw_pii": "the raw email/phone it carried was not kept: resend from your source with hashed values",
    "dropped": "dropped by the user",
}


@dataclass(frozen=True, slots=True)
class SendPlan:
    """What a send will do before it does it: the bodies (test event code applied) and the events held back."""

    bodies: list[dict[str, Any]]
    hold: dict[int, str]

    @property
    def events(self) -> int:
        """Events across the bodies."""
        return count_events(self.bodies)


def plan(text: str, *, pixel_code: str = "", test_event_code: str | None = None, live: bool = False,
         send_invalid: bool = False) -> SendPlan:
    """Read a send's input and decide what goes: bodies with the test event code, events the linter holds back.

    Test mode needs a test event code (given, or already in every body); `live` sends without one (the
    events count in reporting). Raises InvalidPayload for input TikTok would refuse and ConfigError when
    test mode has no code.
    """
    bodies = parse_bodies(text, pixel_code=pixel_code)
    if not live:
        bodies = apply_test_event_code(bodies, test_event_code)
        if not all(isinstance(b.get("test_event_code"), str) and b["test_event_code"] for b in bodies):
            raise ConfigError("No test event code: these events would count in reporting.",
                              hint="Pass --test-event-code CODE (Events Manager > Test Events), or --live to send "
                                   "for real.")
    return SendPlan(bodies, {} if send_invalid else invalid_events(bodies))


def invalid_events(bodies: Sequence[dict[str, Any]], findings: Iterable[Finding] | None = None) -> dict[int, str]:
    """Absolute event positions (over every body, in order) that the linter finds errors in, with why.

    TikTok refuses a whole request over one bad event; holding those back lets the others through.
    `findings` are `lint_bodies(bodies)` when the caller has them already. Errors above the events (a
    body's own fields) hold nothing back: TikTok refuses that request whole and the report names it.
    """
    from core.lint import lint_bodies

    held: dict[int, str] = {}
    for f in lint_bodies(bodies) if findings is None else findings:
        if f.severity == "error" and (match := _EVENT_PATH_RE.match(f.path)):
            held.setdefault(int(match.group(1)), f"{f.code} at {f.path}: {f.message}")
    return held


def lease_seconds(settings: Settings) -> float:
    """How long a claim lasts: long enough for every attempt of one request, timeouts and backoff included."""
    per_attempt = settings.timeout_s + max(settings.timeout_s, settings.answer_timeout_s) + BACKOFF_CAP_S
    return max(30.0, settings.max_attempts * per_attempt)


def input_key(bodies: Sequence[dict[str, Any]], url: str) -> str:
    """The key sessions were recorded under before `KEY_PREFIX` keys: the SHA-256 of the endpoint and of the
    input re-encoded as canonical JSON (looked up only when the database still holds such keys)."""
    digest = hashlib.sha256(url.encode("utf-8"))
    for body in bodies:
        digest.update(json.dumps(body, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8", "replace"))
        digest.update(b"\x1e")
    return digest.hexdigest()


Part = tuple[dict[str, Any], list[Any], int]  # a batch: top-level fields, events as given, first input position
KEY_PREFIX: Final = "v2:"


def _send_key(bodies: Sequence[dict[str, Any]], url: str) -> str:
    """A key for "the same send": the SHA-256 of the endpoint and of the input's values, pickled without a
    memo (equal values give equal bytes however the objects were built or shared), a fraction of the cost
    of encoding the input as JSON; a value pickle cannot take falls back to the canonical JSON."""
    out = io.BytesIO()
    pickler = pickle.Pickler(out, protocol=5)
    try:
        pickler.fast = True  # no memo: an object seen twice is written twice, never as a reference
        pickler.dump(list(bodies))
    except (pickle.PicklingError, TypeError, AttributeError, RecursionError):
        return KEY_PREFIX + input_key(bodies, url)
    digest = hashlib.sha256(url.encode("utf-8") + b"\x00")
    digest.update(out.getbuffer())
    return KEY_PREFIX + digest.hexdigest()


def _event_texts(events: list[Any]) -> list[str]:
    try:
        return event_texts(events)
    except ValueError:
        raise InvalidPayload("An event holds NaN or Infinity, which JSON cannot carry.",
                             hint="Send finite numbers only.") from None


def _parts(bodies: Sequence[dict[str, Any]]) -> list[Part]:
    """Bodies split into ≤1,000-event batches (slices: no event is copied), each with its first absolute
    input position."""
    out = []
    index = 0
    for body in bodies:
        for part in split_body(body):
            events = part.get("data") or []
            out.append(({k: v for k, v in part.items() if k != "data"}, events, index))
            index += len(events)
    return out


def _planned(events: list[Any], start: int, hold: Mapping[int, str]) -> PlannedBatch:
    """A batch's events to record: pending, or held with the linter's reason."""
    if not hold:
        return PlannedBatch(events, start)
    return PlannedBatch(events, start, {i: f"lint: {hold[start + i]}" for i in range(len(events)) if start + i in hold})


def _to_send(todo: Sequence[tuple[int, Part]], hold: Mapping[int, str]) -> int:
    """Events of the batches still to record that will be sent (not held)."""
    ranges = [(start, start + len(events)) for _, (_, events, start) in todo]
    held = sum(1 for i in hold if any(lo <= i < hi for lo, hi in ranges)) if hold else 0
    return sum(hi - lo for lo, hi in ranges) - held


def _earlier_session(store: Store, key: str, bodies: Sequence[dict[str, Any]], url: str) -> SessionInfo | None:
    """The latest session of the same input and endpoint; one recorded under the older key is found too."""
    found = store.session_for_input(key)
    if found is None and store.has_unprefixed_input_keys():
        found = store.session_for_input(input_key(bodies, url))
    return found


@dataclass(slots=True)
class _Run:
    """One delivery run's state: who claims, for how long, the originals of this run's input, the outcome."""

    store: Store
    sender: Sender
    report: SendReport
    owner: str = field(default_factory=new_claim_owner)
    lease_s: float = 60.0
    originals: dict[int, Sequence[Any]] = field(default_factory=dict)  # batch id -> events as given
    fresh: set[int] = field(default_factory=set)  # batches recorded by this run: kept text == the given event's
    allow_changed: bool = False
    final: dict[int, OutboxRow] = field(default_factory=dict)
    progress: Progress | None = None
    done: int = 0
    total: int = 0


@dataclass(frozen=True, slots=True)
class _Fresh:
    """A batch this run has just recorded: its session, top-level fields, the events to send as given, their
    row ids (in order) and the request's bytes."""

    session_id: str
    top: dict[str, Any]
    events: list[Any]  # the pending events as given
    ids: list[int]
    content: bytes | None  # the request's bytes, built off the delivering thread


_LOOKAHEAD: Final = 3  # batches recorded ahead of the one being posted (each holds its request bytes)
# While a batch is posted the recording thread runs Python (encoding, the privacy screen). The posting thread
# gives the interpreter up at every socket and SQLite call, and by default waits up to 5 ms to get it back
# each time: about ten times per request. Switching every 0.5 ms while a recording runs keeps the posting
# thread from queueing behind it (measured: a fifth of the wall time of a 20k-event send).
_SWITCH_INTERVAL_S: Final = 0.0005
_switching = {"users": 0, "saved": 0.0}
_switching_lock = threading.Lock()


@contextlib.contextmanager
def _brisk_switching() -> Iterator[None]:
    """Shorten the interpreter's thread switch interval for the block (never lengthen it); sends that overlap
    share it, and the last one out puts the previous value back."""
    with _switching_lock:
        if _switching["users"] == 0:
            _switching["saved"] = sys.getswitchinterval()
            sys.setswitchinterval(min(_switching["saved"], _SWITCH_INTERVAL_S))
        _switching["users"] += 1
    try:
        yield
    finally:
        with _switching_lock:
            _switching["users"] -= 1
            if _switching["users"] == 0:
                sys.setswitchinterval(_switching["saved"])


class _Recording:
    """The batches of a send not in the outbox yet, recorded by a thread of their own while the first ones are
    delivered (the request's wait is spent recording the next batch). The run learns a batch (its events as
    given, its row ids) inside the batch's own transaction, so a claim never sees the batch before the run."""

    def __init__(self, run: _Run, sid: str, todo: list[tuple[int, Part]], hold: Mapping[int, str], *, seqs: bool,
                 mark: bool) -> None:
        self._cond = threading.Condition()
        self._ready: collections.deque[_Fresh] = collections.deque()
        self._done = self._stop = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._record, args=(run, sid, todo, hold, seqs, mark),
                                        name="outbox-recording", daemon=True)
        self._thread.start()

    def _record(self, run: _Run, sid: str, todo: list[tuple[int, Part]], hold: Mapping[int, str], seqs: bool,
                mark: bool) -> None:
        try:
            for seq, (top, events, start) in todo:
                with self._cond:  # a few batches ahead is enough: more only competes with the posting thread
                    while len(self._ready) >= _LOOKAHEAD and not self._stop:
                        self._cond.wait()
                if self._stop:
                    return
                planned = _planned(events, start, hold)
                # each event encoded once, here: the privacy screen, the file and the request all use that text
                texts = _event_texts(events)
                run.store.record_batch(sid, top, planned, seq=seq if seqs else None, texts=texts,
                                       written=functools.partial(self._written, run, sid, top, planned, texts))
            if mark and not self._stop:
                run.store.mark_recorded(sid)
        except BaseException as exc:  # handed to the delivering thread, which raises it
            self._error = exc
        finally:
            with self._cond:
                self._done = True
                self._cond.notify_all()

    def _written(self, run: _Run, sid: str, top: dict[str, Any], planned: PlannedBatch, texts: list[str],
                 batch_id: int, first_id: int) -> None:
        events = planned.events
        run.originals[batch_id] = events  # read by the delivering thread once announced
        run.fresh.add(batch_id)
        if planned.held:
            pending = planned.pending()
            sent, sent_texts = [events[i] for i in pending], [texts[i] for i in pending]
            ids = [first_id + i for i in pending]
        else:
            sent, sent_texts, ids = list(events), texts, list(range(first_id, first_id + len(events)))
        content = _texts_content(top, sent_texts) if sent else None
        with self._cond:
            self._ready.append(_Fresh(sid, top, sent, ids, content))
            self._cond.notify_all()

    def next_batch(self) -> _Fresh | None:
        """The next recorded batch, waiting for it; None once the recording has ended and every batch was
        taken. A recording that failed raises its error here."""
        with self._cond:
            while not self._ready and not self._done:
                self._cond.wait()
            if self._ready:
                self._cond.notify_all()
                return self._ready.popleft()
            if self._error is not None:
                raise self._error
            return None

    def ready_batch(self) -> _Fresh | None:
        """The next recorded batch if it is in already, without waiting."""
        with self._cond:
            self._cond.notify_all()
            return self._ready.popleft() if self._ready else None

    def finish(self) -> None:
        """Stop after the batch being written (an interrupted send) and wait for the thread."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._thread.join()


def send(store: Store, sender: Sender, bodies: Sequence[dict[str, Any]], *, label: str = "",
         hold: Mapping[int, str] | None = None, resend: bool = False, session_id: str | None = None,
         progress: Progress | None = None) -> SendReport:
    """Record `bodies` in the outbox and deliver them; resume the same send if it was interrupted.

    Events the session holds pending from before go first; then each batch is delivered as soon as it is
    recorded, while the next ones are being recorded, and the session is marked recorded once its whole
    input is in. `hold` maps absolute event positions to why they must not be sent (lint errors): they are
    recorded as held and named in the report. Without `resend`, an earlier session of the same input (same
    bodies, same endpoint) is resumed: its accepted events are not sent again. `session_id` records into
    that session instead (the app's session); `resend` always starts a new one.
    """
    hold = hold or {}
    parts = _parts(bodies)
    key = _send_key(bodies, sender.url)
    total = sum(len(events) for _, events, _ in parts)
    earlier = None if resend or session_id else _earlier_session(store, key, bodies, sender.url)
    sid = session_id or (earlier.id if earlier else store.create_session(
        label, target=sender.settings.target, base_url=sender.settings.base_url or "", input_key=key,
        input_events=total))
    report = SendReport(session_id=sid, events=total)
    run = _Run(store, sender, report, lease_s=lease_seconds(sender.settings), progress=progress)
    before = store.session_counts(sid) if earlier or session_id else None
    recorded = store.recorded_batches(sid) if earlier else {}
    todo = []
    for seq, part in enumerate(parts):
        if seq in recorded:
            run.originals[recorded[seq]] = part[1]
        else:
            todo.append((seq, part))
    report.resumed = before["accepted"] if before and earlier else 0
    waiting = before["pending"] if before else 0
    run.total = waiting + _to_send(todo, hold)
    store.release_dead_claims()
    if run.progress:
        run.progress(0, run.total)
    cursor = _claim_and_send(run, ("pending",), sid, 0) if waiting else 0
    with _brisk_switching():
        recording = _Recording(run, sid, todo, hold, seqs=not session_id, mark=not session_id)
        try:
            _deliver_fresh(run, recording, sid, cursor)
        finally:
            recording.finish()
    _settle_report(run, store.outbox_rows(statuses=("pending", "blocked", "rejected", "held"), session_id=sid))
    report.accepted = store.outbox_counts(sid)["accepted"] - report.resumed
    return report


def retry(store: Store, sender: Sender, *, session_id: str | None = None, rejected: bool = False,
          allow_changed: bool = False, progress: Progress | None = None) -> SendReport:
    """Resend what the outbox holds: pending and blocked events, and rejected/held ones with `rejected`.

    Events keep their event_ids and top-level fields. An event whose raw PII was not stored is never
    sent without it unless `allow_changed` (the change is named in the report). Sessions whose recording
    was interrupted are listed in `incomplete_sessions`: their recorded events are sent, and running the
    same send again records and sends the rest.
    """
    report = SendReport(session_id=session_id or "")
    report.incomplete_sessions = [s.id for s in store.incomplete_sessions()
                                  if session_id is None or s.id == session_id]
    if rejected:
        back = store.outbox_rows(statuses=("rejected", "held"), session_id=session_id)
        store.set_status([r.id for r in back], "pending", "retry requested")
    run = _Run(store, sender, report, lease_s=lease_seconds(sender.settings), allow_changed=allow_changed,
               progress=progress)
    waiting = store.outbox_rows(statuses=("pending", "blocked"), session_id=session_id)
    report.events = len(waiting)
    if waiting:
        blocked = [r.id for r in waiting if r.status == "blocked"]
        store.set_status(blocked, "pending", "token")
        store.release_dead_claims()
        run.total = len(waiting)
        if run.progress:
            run.progress(0, run.total)
        _claim_and_send(run, ("pending",), session_id, 0)
    _settle_report(run, run.final.values())
    report.accepted = sum(1 for r in run.final.values() if r.status == "accepted")
    return report


def drop(store: Store, ids: Iterable[int] | None = None, *, statuses: Iterable[str] = ("rejected", "held"),
         session_id: str | None = None) -> int:
    """Take events out of the outbox for good (status dropped): the given ids, or every row of `statuses`."""
    wanted = list(ids) if ids is not None else [r.id for r in store.outbox_rows(statuses=statuses,
                                                                               session_id=session_id)]
    store.set_status(wanted, "dropped", "dropped")
    return len(wanted)


# --- delivery -----------------------------------------------------------------------------------------
def _claim_and_send(run: _Run, statuses: tuple[str, ...], session_id: str | None, cursor: int) -> int:
    """Claim and send batches with ids after `cursor` until nothing claimable is left; returns the last id
    sent. Interrupted, give every claim back. Rows this run settles as pending wait for the next run."""
    while True:
        # claimed and marked in flight in one write: they are posted at once
        rows = run.store.claim(run.owner, run.lease_s, statuses=statuses, session_id=session_id,
                               limit=MAX_EVENTS_PER_REQUEST, after_id=cursor, in_flight=True)
        if not rows:
            return cursor
        cursor = rows[-1].id
        try:
            _send_rows(run, rows)
        except BaseException:
            run.store.release([r.id for r in rows], run.owner)
            raise
        _progress(run, len(rows))


def _progress(run: _Run, sent: int) -> None:
    run.done += sent
    if run.progress:
        run.progress(min(run.done, run.total), run.total)


def _deliver_fresh(run: _Run, recording: _Recording, sid: str, cursor: int) -> None:
    """Deliver each batch as the recording hands it over: claimed whole by its row ids it goes at once (the
    next batch is claimed in the commit that settles this one); if another sender holds some of its rows,
    whatever is claimable goes row by row."""
    fresh, claimed = recording.next_batch(), False
    try:
        while fresh is not None:
            if fresh.ids and fresh.ids[-1] > cursor:
                claimed = claimed or run.store.claim_ids(run.owner, run.lease_s, fresh.ids, in_flight=True)
                if claimed:
                    following, claimed = _send_fresh(run, fresh, recording)
                    cursor = fresh.ids[-1]
                    fresh = following if following is not None else recording.next_batch()
                    continue
                cursor = _claim_and_send(run, ("pending",), sid, cursor)
            fresh, claimed = recording.next_batch(), False
    except BaseException:
        if fresh is not None and claimed and fresh.ids[-1] > cursor:  # claimed with the last commit, never posted
            run.store.release(fresh.ids, run.owner, posted=False)
        raise


def _send_fresh(run: _Run, fresh: _Fresh, recording: _Recording) -> tuple[_Fresh | None, bool]:
    """Post a batch this run just recorded and claimed by its row ids, with the bytes the recording built,
    and settle it; no row is read back unless TikTok refuses some. The next batch, when recorded already,
    is claimed in the same commit: returns it and whether it is claimed."""
    store = run.store
    following: _Fresh | None = None
    claimed = False
    try:
        ex = run.sender.send_one({**fresh.top, "data": fresh.events}, content=fresh.content)
        if ex.outcome == "accepted":
            with store.atomic():
                ex_id = store.add_exchange(fresh.session_id, ex, row_ids=fresh.ids)
                store.settle(fresh.ids, "accepted", code=ex.code, exchange_id=ex_id)
                following = recording.ready_batch()
                if following is not None and following.ids:
                    claimed = store.claim_ids(run.owner, run.lease_s, following.ids, in_flight=True)
            run.report.exchanges.append(ex)
            run.report.exchange_ids.append(ex_id)
        else:  # the rows read back, and the answer handled as for any claimed batch
            rows = store.rows_by_id(fresh.ids)
            _post(run, list(zip(rows, fresh.events, strict=True)), ex)
        _progress(run, len(fresh.ids))
    except BaseException:
        store.release(fresh.ids, run.owner)
        if following is not None and claimed:  # claimed with the settling commit, never posted
            store.release(following.ids, run.owner, posted=False)
        raise
    return following, claimed


def _event_to_send(run: _Run, row: OutboxRow) -> tuple[Any, str | None]:
    """The event as it was given (this run's input), else as stored; a reason when it cannot go unchanged."""
    given = run.originals.get(row.batch_id)
    if given is not None and 0 <= row.idx < len(given):
        return given[row.idx], None
    if row.pii_dropped and not run.allow_changed:
        return row.event, "raw_pii"
    if row.pii_dropped:
        run.report.changed.append(EventNote(row.event_id, row.event_name, "sent_changed",
                                            f"sent without {', '.join(row.pii_dropped)}: the raw values were not "
                                            "kept (asked for with --without-raw-pii)", row.input_index))
    return row.event, None


def _send_rows(run: _Run, rows: list[OutboxRow]) -> None:
    """Send one claimed batch: peel off events TikTok names as invalid, resend 20001 whole, settle each row."""
    sendable: list[tuple[OutboxRow, Any]] = []
    run.report.resent_in_flight += [r.event_id for r in rows if r.in_flight]
    for row in rows:
        event, problem = _event_to_send(run, row)
        if problem:
            _settle(run, [row], "held", problem, error=f"raw values dropped at {', '.join(row.pii_dropped)}")
        else:
            sendable.append((row, event))
    _post(run, sendable)


def _post(run: _Run, sendable: list[tuple[OutboxRow, Any]], answer: Exchange | None = None) -> None:
    """Post claimed rows (marked in flight by their claim) and settle them; a 20001 goes again whole and a
    request refused over named events again without them. `answer`: the first post's answer, already had."""
    store = run.store
    partials = 0
    while sendable:
        ids = [r.id for r, _ in sendable]
        ex = answer
        if ex is None:
            body = {**sendable[0][0].top, "data": [e for _, e in sendable]}
            ex = run.sender.send_one(body, content=_content(run, body, sendable))
        answer = None
        partials += ex.outcome == "partial"
        with store.atomic():  # the exchange and where its rows stand, in one commit
            ex_id = store.add_exchange(sendable[0][0].session_id, ex, row_ids=ids)
            sendable = _settle_answer(run, sendable, ex, ex_id, partials)
        run.report.exchanges.append(ex)
        run.report.exchange_ids.append(ex_id)
        if sendable:  # posted again at once: still in flight, the claim renewed
            store.set_in_flight([r.id for r, _ in sendable], run.owner, run.lease_s)


def _settle_answer(run: _Run, sendable: list[tuple[OutboxRow, Any]], ex: Exchange, ex_id: int,
                   partials: int) -> list[tuple[OutboxRow, Any]]:
    """Settle the rows of one answered request; returns those to post again at once (a 20001 answer, or the
    rest of a request TikTok refused over the events it named)."""
    rows = [r for r, _ in sendable]
    if ex.outcome == "accepted":
        _settle(run, rows, "accepted", None, ex=ex, ex_id=ex_id)
    elif ex.outcome == "partial":
        if partials <= PARTIAL_RESENDS:
            return sendable
        _settle(run, rows, "pending", "partial", ex=ex, ex_id=ex_id)
    elif ex.outcome == "undelivered":
        _settle(run, rows, "pending", "transient", ex=ex, ex_id=ex_id)
    elif ex.code in BLOCKED_CODES or ex.status in (401, 403):
        _settle(run, rows, "blocked", "token", ex=ex, ex_id=ex_id)
    else:
        named = _named_events(ex, len(sendable)) if ex.code in INVALID_CODES else set()
        if not named or len(named) == len(sendable):
            _settle(run, rows, "rejected", "invalid", ex=ex, ex_id=ex_id)
            return []
        _settle(run, [rows[i] for i in sorted(named)], "rejected", "invalid", ex=ex, ex_id=ex_id)
        return [pair for i, pair in enumerate(sendable) if i not in named]
    return []


def _content(run: _Run, body: dict[str, Any], sendable: Sequence[tuple[OutboxRow, Any]]) -> bytes | None:
    """The request bytes of `body` from the texts recorded a moment ago, so no event is encoded twice.

    Only when every event goes as given and was recorded by this run (its kept text is then exactly the
    compact JSON of the given event); otherwise None and the transport encodes the body itself. The
    result is byte for byte `encode_body(body)`: top-level fields first, `data` last.
    """
    if not all(r.batch_id in run.fresh and not r.pii_dropped for r, _ in sendable):
        return None
    return _texts_content({k: v for k, v in body.items() if k != "data"}, [r.event_json for r, _ in sendable])


def _texts_content(top: dict[str, Any], texts: Sequence[str]) -> bytes | None:
    """`encode_body({**top, "data": events})` from the events' texts (`event_text`); None when it fails (the
    transport's own encoding then names the problem)."""
    try:
        head = encode_body(top)[:-1] + (b',"data":[' if top else b'"data":[')
        return head + ",".join(texts).encode("utf-8") + b"]}"
    except (ConsoleError, UnicodeEncodeError):
        return None


def _named_events(ex: Exchange, size: int) -> set[int]:
    """Positions in the request that TikTok's message names (`data.3.event`, `data[3]`), within range."""
    found = {int(m) for m in _NAMED_EVENT_RE.findall(ex.message or "")}
    return {i for i in found if 0 <= i < size}


def _settle(run: _Run, rows: Sequence[OutboxRow], status: str, reason: str | None, *, ex: Exchange | None = None,
            ex_id: int | None = None, error: str | None = None) -> None:
    if not rows:
        return
    message = error if ex is None else (None if status == "accepted" else (ex.message or ex.error))
    run.store.settle([r.id for r in rows], status, reason=reason, code=ex.code if ex else None, error=message,
                     exchange_id=ex_id, attempted=ex is not None)
    for r in rows:
        r.status, r.reason, r.last_error = status, reason, message
        run.final[r.id] = r


def _settle_report(run: _Run, rows: Iterable[OutboxRow]) -> None:
    """Counts and one note per event that did not end accepted."""
    report = run.report
    for row in rows:
        status = row.status
        if status == "accepted" or status == "dropped":
            continue
        if status == "pending" and row.reason == "partial":
            report.partial += 1
        elif status == "pending":
            report.undelivered += 1
        elif status in ("rejected", "blocked", "held"):
            setattr(report, status, getattr(report, status) + 1)
        why = REASONS.get(row.reason or "", row.reason or "")
        if row.last_error:
            why = f"{row.last_error} — {why}" if why else row.last_error
        report.notes.append(EventNote(row.event_id, row.event_name, status, why, row.input_index))


def format_report(report: SendReport) -> str:
    """People's version of a SendReport: one line per request, then where every event ended up and why."""
    marks = {"accepted": "✓", "partial": "◐", "rejected": "✗", "undelivered": "…"}
    lines = []
    for i, ex in enumerate(report.exchanges, 1):
        d = ex.decoded
        what = f"code {ex.code} {d.name}" if ex.code is not None else (ex.error or f"HTTP {ex.status}")
        lines.append(f"{marks[ex.outcome]} request {i}: {ex.event_count} events {ex.outcome} — {what}; "
                     f"request_id {ex.request_id or '-'}; {len(ex.attempts)} attempt(s); {ex.latency_ms:.0f} ms")
        if ex.outcome != "accepted":
            lines.append(f"    {ex.message or d.meaning} Fix: {d.fix}")
    if report.resumed:
        lines.append(f"Resumed session {report.session_id}: {report.resumed} event(s) were already accepted "
                     "and were not sent again (pass --resend to send them again, e.g. to test dedup).")
    if report.resent_in_flight:
        lines.append(f"{len(report.resent_in_flight)} event(s) were in flight when an earlier send stopped and went "
                     "again: they may reach TikTok twice (TikTok drops the copy by event_id): "
                     + ", ".join(report.resent_in_flight[:10]) + (" …" if len(report.resent_in_flight) > 10 else ""))
    lines.append(f"{report.accepted + report.resumed}/{report.events} events accepted, {report.partial} partial, "
                 f"{report.rejected} rejected, {report.blocked} blocked, {report.held} held, "
                 f"{report.undelivered} undelivered.")
    for note in report.notes[:50]:
        where = f"data[{note.index}] " if note.index is not None else ""
        lines.append(f"  {note.status:<8} {where}{note.event or '?'} {note.event_id or '(no event_id)'}: {note.reason}")
    if len(report.notes) > 50:
        lines.append(f"  … and {len(report.notes) - 50} more (`tiktok-events outbox list`).")
    for note in report.changed:
        lines.append(f"  changed  {note.event or '?'} {note.event_id or '(no event_id)'}: {note.reason}")
    for sid in report.incomplete_sessions:
        lines.append(f"Session {sid} was interrupted while recording its input: run the same `tiktok-events send` "
                     "again to record and send the rest.")
    if report.notes:
        lines.append("Events not accepted stay in the outbox: `tiktok-events outbox list`; `outbox retry` resends "
                     "pending and blocked ones, `outbox retry --rejected` the refused ones after a fix, "
                     "`outbox drop` removes them.")
    return "\n".join(lines)


__all__ = ["BLOCKED_CODES", "REASONS", "Progress", "SendPlan", "drop", "format_report", "input_key", "invalid_events",
           "lease_seconds", "plan", "retry", "send"]
