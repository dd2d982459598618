"""The console's SQLite file: sessions, exchanges, the outbox of events not yet accepted, column mappings.

One file at `$TEC_DB` (default in the user's data directory), WAL so the Streamlit app, the CLI and
tests can read while one writes; a `schema_version` table and an append-only `MIGRATIONS` list.

The outbox is the send path's safety net (the workflow lives in core/outbox.py):
- recording is crash-consistent: a session is created `recorded = 0` with its input's key and size,
  each ≤1,000-event batch is written in one transaction, and the session is marked recorded only once
  every batch is in. An interrupted recording is visible as such and resumed by the same send;
- every row has a status with a reason: pending (never answered, transient failure, 20001), blocked
  (refused for the token or permissions), rejected (refused as invalid), held (never sent: lint errors
  or raw PII), accepted, dropped (by the user);
- pending rows are taken with a claim (owner + lease expiry) so concurrent senders never send one event
  twice; a claim of a process that died on this machine, or whose lease expired, is void.

Raw PII is never stored: email addresses and phone numbers in clear are dropped by what they are,
wherever they sit (core/privacy.py), and their paths recorded in `pii_dropped`. The access token never
reaches this module: Exchanges carry it redacted.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import re
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from json.encoder import c_make_encoder  # type: ignore[attr-defined]
from pathlib import Path
from typing import Any, Final
from urllib.parse import unquote_plus

import orjson

from core.errors import InvalidInput, StoreError
from core.exchange import Attempt, Exchange
from core.identity import is_sha256
from core.privacy import (
    PII_KEYS,
    REDACTED_PII,
    batch_is_clean,
    is_raw_email,
    is_raw_phone,
    redact_text,
    scrub_body,
    scrub_event,
    scrub_events,
)

OUTBOX_STATUSES: Final = ("pending", "accepted", "blocked", "rejected", "held", "dropped")
WAITING: Final = ("pending", "blocked", "rejected", "held")  # every status that is not settled for good
_HOST: Final = socket.gethostname()

MIGRATIONS: Final[tuple[str, ...]] = (
    # 1: sessions, exchanges, outbox
    """
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        created_at REAL NOT NULL,
        label TEXT NOT NULL DEFAULT '',
        target TEXT NOT NULL DEFAULT '',
        base_url TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE exchanges (
        id INTEGER PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions(id),
        created_at REAL NOT NULL,
        url TEXT NOT NULL,
        status INTEGER,
        code INTEGER,
        message TEXT,
        request_id TEXT,
        outcome TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        latency_ms REAL NOT NULL,
        event_count INTEGER NOT NULL,
        error TEXT,
        batch_id INTEGER,
        record TEXT NOT NULL
    );
    CREATE INDEX exchanges_session ON exchanges(session_id, id);
    CREATE TABLE outbox_batches (
        id INTEGER PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions(id),
        top_json TEXT NOT NULL,
        data_json TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions(id),
        batch_id INTEGER NOT NULL REFERENCES outbox_batches(id),
        idx INTEGER NOT NULL,
        event_name TEXT NOT NULL,
        event_id TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        last_code INTEGER,
        last_error TEXT,
        exchange_id INTEGER,
        pii_dropped TEXT NOT NULL DEFAULT '[]',
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE INDEX outbox_status ON outbox(status, id);
    CREATE INDEX outbox_session ON outbox(session_id, id);
    """,
    # 2: column mappings the user confirmed for a file layout (e.g. an orders export), keyed by its header
    """
    CREATE TABLE column_mappings (
        kind TEXT NOT NULL,
        signature TEXT NOT NULL,
        mapping TEXT NOT NULL,
        updated_at REAL NOT NULL,
        PRIMARY KEY (kind, signature)
    );
    """,
    # 3: find the request that carried an event (Compare page) without reading every exchange
    """
    CREATE INDEX outbox_event_id ON outbox(event_id, id);
    """,
    # 4: crash-consistent recording (a session is marked recorded once its whole input is in), resumable
    # sends (the input's key), claims with a lease on pending rows, one event's JSON per row, a reason per
    # status; 20001 is no longer a final state (the request is resent with the same event_ids)
    """
    ALTER TABLE sessions ADD COLUMN input_key TEXT;
    ALTER TABLE sessions ADD COLUMN input_events INTEGER;
    ALTER TABLE sessions ADD COLUMN recorded INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE outbox_batches ADD COLUMN seq INTEGER;
    ALTER TABLE outbox ADD COLUMN event_json TEXT;
    ALTER TABLE outbox ADD COLUMN input_index INTEGER;
    ALTER TABLE outbox ADD COLUMN reason TEXT;
    ALTER TABLE outbox ADD COLUMN claim_owner TEXT;
    ALTER TABLE outbox ADD COLUMN claim_until REAL;
    ALTER TABLE outbox ADD COLUMN in_flight INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE exchanges ADD COLUMN row_ids TEXT;
    UPDATE outbox SET status = 'pending', reason = 'partial' WHERE status = 'partial';
    UPDATE outbox SET reason = 'invalid' WHERE status = 'rejected';
    CREATE INDEX sessions_input_key ON sessions(input_key, created_at);
    CREATE INDEX outbox_batch ON outbox(batch_id, idx);
    CREATE INDEX outbox_session_status ON outbox(session_id, status, id);
    """,
    # 5: live sessions: who made each exchange (console, relay, capture) and the lint findings kept with it;
    # the Pixel hits a browser capture saw, as `pixels` prints them (raw PII dropped, URLs redacted)
    """
    ALTER TABLE exchanges ADD COLUMN source TEXT NOT NULL DEFAULT 'console';
    ALTER TABLE exchanges ADD COLUMN findings TEXT;
    CREATE INDEX exchanges_session_source ON exchanges(session_id, source, id);
    CREATE TABLE pixel_hits (
        id INTEGER PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions(id),
        source TEXT NOT NULL,
        captured_at REAL NOT NULL,
        event TEXT NOT NULL DEFAULT '',
        event_id TEXT NOT NULL DEFAULT '',
        pixel_code TEXT NOT NULL DEFAULT '',
        page_url TEXT NOT NULL DEFAULT '',
        row_json TEXT NOT NULL
    );
    CREATE INDEX pixel_hits_session ON pixel_hits(session_id, id);
    """,
    # 6: each event's kept JSON in a table of its own, keyed by the outbox row's id: a claim, an in-flight mark
    # or a settle rewrites a row of a few dozen bytes instead of one that carries the whole event
    """
    CREATE TABLE outbox_events (
        id INTEGER PRIMARY KEY,
        event_json TEXT NOT NULL
    );
    INSERT INTO outbox_events (id, event_json) SELECT id, event_json FROM outbox WHERE event_json IS NOT NULL;
    UPDATE outbox SET event_json = NULL WHERE event_json IS NOT NULL;
    """,
)
SOURCES: Final = ("console", "relay", "capture")  # who made an exchange or saw a Pixel hit
_SESSION_ID_MAX: Final = 100


@dataclass(frozen=True, slots=True)
class PlannedBatch:
    """A batch of events to record: the events as given, the input position of the first, and those held.

    Every event is pending (to send) but those in `held` (position in the batch -> why), which are held
    (not to send). One record per batch, not per event: a 1,000-event batch allocates no per-event objects.
    """

    events: Sequence[Any]
    first_index: int = 0
    held: Mapping[int, str] = field(default_factory=dict)

    def pending(self) -> list[int]:
        """Positions in the batch of the events to send, in order."""
        held = self.held
        return [i for i in range(len(self.events)) if i not in held] if held else list(range(len(self.events)))


@dataclass(slots=True)
class OutboxRow:
    """One event in the outbox: its payload (hashed values only) and where it stands."""

    id: int
    session_id: str
    batch_id: int
    top_json: str  # the body's top-level fields without data (Pixel, test event code), canonical JSON
    event_json: str  # the event as kept (raw PII dropped), compact JSON; `event` parses it when asked
    idx: int  # position in its batch
    event_name: str
    event_id: str
    status: str
    reason: str | None
    attempts: int
    last_code: int | None
    last_error: str | None
    exchange_id: int | None
    pii_dropped: list[str] = field(default_factory=list)
    input_index: int | None = None
    in_flight: bool = False
    created_at: float = 0.0
    updated_at: float = 0.0

    _event: Any = field(default=None, repr=False, compare=False)

    @property
    def top(self) -> dict[str, Any]:
        """The top-level fields the event was sent with."""
        parsed: dict[str, Any] = json.loads(self.top_json)
        return parsed

    @property
    def event(self) -> Any:
        """The event as kept, parsed on first use (a send of this run's input never needs it)."""
        if self._event is None:
            self._event = json.loads(self.event_json)
        return self._event


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """A send session: where it sent, its input's key and size, and whether its input is fully recorded."""

    id: str
    created_at: float
    label: str
    target: str
    base_url: str
    input_key: str | None
    input_events: int | None
    recorded: bool


def new_claim_owner() -> str:
    """A claim owner id: this host, this process, and a random part (two senders in one process differ)."""
    return f"{_HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _owner_is_dead(owner: str) -> bool:
    """True when `owner` was a process of this machine that no longer runs (its claims are void)."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != _HOST or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _id_ranges(ids: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted ids as runs of consecutive ids, (first, last) each: a batch's rows update in one statement."""
    runs: list[tuple[int, int]] = []
    for i in sorted(ids):
        if runs and i == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    return runs


def _name_and_id(event: Any) -> tuple[str, str]:
    if not isinstance(event, dict):
        return "", ""
    name, eid = event.get("event"), event.get("event_id")
    return (name if type(name) is str else str(name or "")), (eid if type(eid) is str else "" if eid is None
                                                              else str(eid))


def _storable(value: Any) -> Any:
    """A text SQLite can hold: a lone surrogate (half a character pair, e.g. from a `\\ud800` escape in an
    answer) becomes U+FFFD instead of failing the whole write."""
    if isinstance(value, str) and not value.isascii():  # ASCII (most of it) cannot hold a surrogate
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return value


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


# json.dumps(event, ensure_ascii=False, separators=(",", ":"), allow_nan=False) without building an encoder
# per call (a third of the cost of a small event) and without the circular-reference markers (a JSON value
# read from a file or built from one has no cycle; one that had would fail with RecursionError)
_encode: Final = c_make_encoder(None, json.JSONEncoder().default, json.encoder.encode_basestring, None, ":", ",",
                                False, False, False) if c_make_encoder is not None else None


# orjson writes the same compact JSON ten times faster, but not for every value: a float under 1e-4 is written
# another way (1e-7 for 1e-07, 0.00001 for 1e-05), NaN and Infinity become null, and a subclass, an int over
# 64 bits, a non-text key or a lone surrogate it refuses. A text it writes is kept only when none of those can
# be in it (no null, no "0.0000", no one-digit negative exponent); any other event goes through json's encoder.
_ORJSON_OPTION: Final = (orjson.OPT_PASSTHROUGH_SUBCLASS | orjson.OPT_PASSTHROUGH_DATETIME
                          | orjson.OPT_PASSTHROUGH_DATACLASS)
_ONE_DIGIT_NEGATIVE_EXPONENT: Final = re.compile(r"e-\d(?!\d)")


def _json_text(event: Any) -> str:
    return _dumps(event) if _encode is None else "".join(_encode(event, 0))


def _orjson_text(event: Any) -> str:
    """`_json_text(event)`, by orjson when its text is surely the same."""
    try:
        text: str = orjson.dumps(event, option=_ORJSON_OPTION).decode()
    except TypeError:  # orjson.JSONEncodeError: a value orjson does not write as json does
        return _json_text(event)
    return _json_text(event) if _maybe_not_json(text) else text


def _maybe_not_json(text: str) -> bool:
    """True when orjson's `text` may differ from json's: it holds null, "0.0000" or a one-digit negative exponent."""
    # the cheapest searches first: a one-character needle is a memchr, and "0000" is rarer than "0.0000"
    return ("-" in text and "e-" in text and bool(_ONE_DIGIT_NEGATIVE_EXPONENT.search(text))) or (
        "0000" in text and "0.0000" in text) or "null" in text


def event_text(event: Any) -> str:
    """An event as the outbox keeps it and the request carries it: compact JSON, non-ASCII as is, no NaN
    (ValueError), byte for byte `json.dumps` with those options."""
    return _orjson_text(event)


def event_texts(events: Iterable[Any]) -> list[str]:
    """`event_text` of each event (a batch's worth in one comprehension)."""
    events = events if isinstance(events, list) else list(events)
    dumps, option = orjson.dumps, _ORJSON_OPTION
    try:
        texts = [dumps(e, option=option).decode() for e in events]
    except TypeError:
        return [_orjson_text(e) for e in events]
    if _maybe_not_json("\n".join(texts)):  # rare: only the texts that may differ are written again
        return [_json_text(e) if _maybe_not_json(t) else t for e, t in zip(events, texts, strict=True)]
    return texts


_ROW_SQL: Final = (
    "SELECT o.id, o.session_id, o.batch_id, b.top_json, e.event_json, b.data_json, o.idx, o.event_name, "
    "o.event_id, o.status, o.reason, o.attempts, o.last_code, o.last_error, o.exchange_id, o.pii_dropped, "
    "o.input_index, o.in_flight, o.created_at, o.updated_at FROM outbox o JOIN outbox_batches b ON b.id = o.batch_id "
    "LEFT JOIN outbox_events e ON e.id = o.id ")
_ROW_SQL_BY_SESSION_STATUS: Final = _ROW_SQL.replace("FROM outbox o ",
                                                     "FROM outbox o INDEXED BY outbox_session_status ")



def _outbox_rows(raw: Iterable[Sequence[Any]]) -> list[OutboxRow]:
    """OutboxRows from `_ROW_SQL` rows; events stay text until asked for."""
    legacy: dict[int, list[Any]] = {}
    out = []
    for r in raw:
        # rows recorded before schema 4 keep their events in the batch
        event_json = r[4] if r[4] is not None else _dumps(legacy.setdefault(r[2], json.loads(r[5]))[r[6]])
        dropped = [] if r[15] == "[]" else json.loads(r[15])
        out.append(OutboxRow(r[0], r[1], r[2], r[3], event_json, r[6], r[7], r[8], r[9], r[10], r[11], r[12],
                             r[13], r[14], dropped, r[16], bool(r[17]), r[18], r[19]))
    return out


_SESSION_ID_RE: Final = re.compile(rf"[A-Za-z0-9._:\-]{{1,{_SESSION_ID_MAX}}}\Z")
_URL_PARAM_RE: Final = re.compile(r"([?&;#])([^=&;#]*)=([^&;#]*)")
_URL_EMAIL_RE: Final = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
_PHONE_PARAM_RE: Final = re.compile(r"ph|tel|mobile|cell|msisdn|whatsapp|sms", re.IGNORECASE)


def check_session_id(session_id: str) -> str:
    """`session_id` when it is a usable session id (1-100 of letters, digits, `.`, `_`, `-`, `:`), else InvalidInput."""
    if not isinstance(session_id, str) or _SESSION_ID_RE.match(session_id) is None:
        raise InvalidInput(f"Session id {session_id!r} is not usable.",
                           hint=f"Use 1-{_SESSION_ID_MAX} letters, digits, '.', '_', '-' or ':' (e.g. live-1).")
    return session_id


def redact_url(url: str) -> str:
    """`url` with raw emails and phone numbers replaced, in its query (plain or percent-encoded) and anywhere else.

    A query parameter named like a personal-data key (`email`, `phone`, ...) loses its value unless it is a hash.
    """
    if not url:
        return url

    def param(m: re.Match[str]) -> str:
        key, value = unquote_plus(m.group(2)), unquote_plus(m.group(3))
        raw = (key.lower() in PII_KEYS and bool(value.strip()) and not is_sha256(value)) or is_raw_email(value) \
            or is_raw_phone(value, phone_key=_PHONE_PARAM_RE.search(key) is not None)
        return f"{m.group(1)}{m.group(2)}={REDACTED_PII}" if raw else m.group(0)

    def text(value: str) -> str:
        return redact_text(_URL_EMAIL_RE.sub(REDACTED_PII, value)) or ""

    out = text(_URL_PARAM_RE.sub(param, url))
    if "%" in out:
        decoded = unquote_plus(out)
        if text(decoded) != decoded:
            return text(decoded)
    return out


def _plain(value: Any) -> Any:
    """JSON-safe copy of a row value: NaN/inf (a DataFrame's empty cell) become None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _clean_hit(row: dict[str, Any]) -> dict[str, Any]:
    """A Pixel row as kept: URLs redacted, raw email/phone dropped wherever they sit."""
    plain = _plain(dict(row))
    for key, value in plain.items():
        if isinstance(value, str) and key.lower().endswith(("url", "referrer")):
            plain[key] = redact_url(value)
    clean, _ = scrub_event(plain)
    return clean if isinstance(clean, dict) else {}


def _redacted_finding(finding: dict[str, Any]) -> dict[str, Any]:
    return {k: (redact_text(v) if isinstance(v, str) else v) for k, v in _plain(dict(finding)).items()}



class Store:
    """A connection to the console's SQLite file; safe to share between threads (one lock)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=60)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"Cannot open the database {self.path}: {exc}.",
                             hint="Set TEC_DB to a writable file path.") from None
        self._lock = threading.RLock()
        self._migrate()

    # lifecycle -----------------------------------------------------------------------------------------
    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._db.execute(sql, [_storable(p) for p in params])

    def _transaction(self) -> _Transaction:
        return _Transaction(self)

    def atomic(self) -> _Transaction:
        """`with store.atomic():` the store's writes inside commit together, or not at all (one commit for
        e.g. an exchange and the settling of its rows)."""
        return _Transaction(self)

    def _migrate(self) -> None:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
                row = self._db.execute("SELECT version FROM schema_version").fetchone()
                current = row[0] if row else 0
                if current > len(MIGRATIONS):
                    raise StoreError(f"{self.path} has schema version {current}; this console knows "
                                     f"{len(MIGRATIONS)}.", hint="Upgrade the console or point TEC_DB elsewhere.")
                for sql in MIGRATIONS[current:]:
                    for statement in sql.split(";"):
                        if statement.strip():
                            self._db.execute(statement)
                if row is None:
                    self._db.execute("INSERT INTO schema_version VALUES (?)", (len(MIGRATIONS),))
                else:
                    self._db.execute("UPDATE schema_version SET version = ?", (len(MIGRATIONS),))
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._db.execute("ROLLBACK")
                raise StoreError(f"Cannot migrate {self.path}: {exc}.",
                                 hint="Move the file aside; a new one is created.") from None
            except StoreError:
                self._db.execute("ROLLBACK")
                raise

    @property
    def schema_version(self) -> int:
        """The schema version the file is at."""
        return int(self._db.execute("SELECT version FROM schema_version").fetchone()[0])

    # sessions ------------------------------------------------------------------------------------------
    def create_session(self, label: str = "", *, target: str = "", base_url: str = "",
                       input_key: str | None = None, input_events: int | None = None,
                       session_id: str | None = None) -> str:
        """A new send session; returns its id. With `session_id`: that session, created if it does not exist.

        With `input_key` the session records an input: it stays `recorded = 0` (incomplete) until
        `mark_recorded`, so an interruption while recording is never mistaken for a complete session.
        A user-given `session_id` (a live session: relay, capture and the console's sends in one) is
        1-100 letters, digits, `.`, `_`, `-` or `:`; anything else is InvalidInput.
        """
        if session_id is not None:
            check_session_id(session_id)
            if self.session(session_id) is not None:
                return session_id
        sid = session_id or time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        self._write("INSERT OR IGNORE INTO sessions (id, created_at, label, target, base_url, input_key, "
                    "input_events, recorded) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (sid, time.time(), label, target, base_url, input_key, input_events,
                     0 if input_key is not None else 1))
        return sid

    def mark_recorded(self, session_id: str) -> None:
        """Close the recording marker: every event of the session's input is in the outbox."""
        self._write("UPDATE sessions SET recorded = 1 WHERE id = ?", (session_id,))

    def session(self, session_id: str) -> SessionInfo | None:
        """One session, or None."""
        with self._lock:
            row = self._db.execute("SELECT id, created_at, label, target, base_url, input_key, input_events, "
                                   "recorded FROM sessions WHERE id = ?", (session_id,)).fetchone()
        return SessionInfo(row[0], row[1], row[2], row[3], row[4], row[5], row[6], bool(row[7])) if row else None

    def session_for_input(self, input_key: str) -> SessionInfo | None:
        """The latest session that recorded this input (same file, same target), if any."""
        with self._lock:
            row = self._db.execute("SELECT id FROM sessions WHERE input_key = ? ORDER BY created_at DESC, rowid DESC "
                                   "LIMIT 1", (input_key,)).fetchone()
        return self.session(row[0]) if row else None

    def has_unprefixed_input_keys(self) -> bool:
        """True when a session holds an input key of the first kind (bare hex, before keys had a prefix)."""
        with self._lock:
            return self._db.execute("SELECT 1 FROM sessions WHERE input_key < 'g' LIMIT 1").fetchone() is not None

    def incomplete_sessions(self) -> list[SessionInfo]:
        """Sessions whose recording was interrupted (their input is only partly in the outbox)."""
        with self._lock:
            ids = [r[0] for r in self._db.execute("SELECT id FROM sessions WHERE recorded = 0 ORDER BY created_at")]
        return [s for s in (self.session(i) for i in ids) if s is not None]

    def recorded_batches(self, session_id: str) -> dict[int, int]:
        """{batch seq: batch id} of the batches a session has recorded."""
        with self._lock:
            return dict(self._db.execute("SELECT seq, id FROM outbox_batches WHERE session_id = ? AND seq IS NOT NULL",
                                         (session_id,)).fetchall())

    def sessions(self) -> list[dict[str, Any]]:
        """Every session, newest first, with its exchange count and whether its input is fully recorded."""
        cur = self._db.execute(
            "SELECT s.id, s.created_at, s.label, s.target, s.base_url, s.recorded, "
            "(SELECT COUNT(*) FROM exchanges e WHERE e.session_id = s.id) FROM sessions s ORDER BY s.created_at DESC")
        return [dict(zip(("id", "created_at", "label", "target", "base_url", "recorded", "exchanges"), r, strict=True))
                for r in cur]

    # recording -----------------------------------------------------------------------------------------
    def record_batch(self, session_id: str, top: dict[str, Any], batch: PlannedBatch,
                     seq: int | None = None, *, texts: Sequence[str] | None = None,
                     written: Callable[[int, int], None] | None = None) -> int:
        """Write one batch of events (raw PII dropped) in one transaction; returns the batch id.

        `texts`, when the caller has them, are `event_text(e)` of each event: the batch is screened for raw
        PII on those texts at once (core.privacy.batch_is_clean, else scrub_events) and a clean event's text
        is kept as it is. `written` is called with the batch id and its first row's id (the rows' ids follow
        in order) inside the transaction: whoever claims rows on this store sees the batch only once the
        caller knows it.
        """
        top_clean, _ = scrub_body(top)
        top_json = json.dumps(top_clean, sort_keys=True, ensure_ascii=False)
        given = batch.events
        texts = event_texts(given) if texts is None else texts
        screened = None if batch_is_clean(texts) else scrub_events(given, texts)
        if screened is not None and any(dropped for _, dropped in screened):
            kept = [t if c is e else _dumps(c) for t, (c, _), e in zip(texts, screened, given, strict=True)]
            names = [_name_and_id(c) for c, _ in screened]
            dropped_paths: Iterable[str] = [json.dumps(d) if d else "[]" for _, d in screened]
        else:  # nothing dropped (nearly always): the texts are kept as given, the rows built in C (zip)
            kept, names, dropped_paths = list(texts), [_name_and_id(e) for e in given], itertools.repeat("[]")
        held = batch.held
        if held:
            statuses: Iterable[str] = ["held" if i in held else "pending" for i in range(len(given))]
            reasons: Iterable[str | None] = [redact_text(held[i]) if i in held else None for i in range(len(given))]
        else:
            statuses, reasons = itertools.repeat("pending"), itertools.repeat(None)
        n, now = len(given), time.time()
        with self._transaction() as db:
            cur = db.execute("INSERT INTO outbox_batches (session_id, top_json, data_json, created_at, seq) "
                             "VALUES (?, ?, '[]', ?, ?)", (session_id, top_json, now, seq))
            batch_id = int(cur.lastrowid or 0)
            start = db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM outbox").fetchone()[0]
            ids = range(start, start + n)
            _insert_rows(db, "outbox (id, batch_id, session_id, idx, event_name, event_id, status, reason, "
                         "pii_dropped, input_index, created_at, updated_at)", 12,
                         zip(ids, itertools.repeat(batch_id), itertools.repeat(session_id), range(n),
                             [name for name, _ in names], [eid for _, eid in names], statuses, reasons,
                             dropped_paths, range(batch.first_index, batch.first_index + n), itertools.repeat(now),
                             itertools.repeat(now)))
            _insert_rows(db, "outbox_events (id, event_json)", 2, zip(ids, kept, strict=True))
            if written is not None:
                written(batch_id, start)
        return batch_id

    def add_outbox(self, session_id: str, body: dict[str, Any]) -> list[int]:
        """Write every event of `body` as a pending row (one transaction); returns the row ids in order."""
        data = body.get("data")
        events = data if isinstance(data, list) else []
        top = {k: v for k, v in body.items() if k != "data"}
        batch_id = self.record_batch(session_id, top, PlannedBatch(events))
        with self._lock:
            rows = self._db.execute("SELECT id FROM outbox WHERE batch_id = ? ORDER BY idx", (batch_id,))
            return [r[0] for r in rows]

    # claims --------------------------------------------------------------------------------------------
    def release_dead_claims(self) -> int:
        """Void the claims of processes of this machine that died; returns how many owners were dead."""
        with self._lock:
            owners = [r[0] for r in self._db.execute(
                "SELECT DISTINCT claim_owner FROM outbox WHERE claim_owner IS NOT NULL AND status = 'pending'")]
        dead = [o for o in owners if _owner_is_dead(o)]
        for owner in dead:
            self._write("UPDATE outbox SET claim_owner = NULL, claim_until = NULL WHERE claim_owner = ?", (owner,))
        return len(dead)

    def claim(self, owner: str, lease_s: float, *, statuses: Iterable[str] = ("pending",),
              session_id: str | None = None, limit: int = 1000, after_id: int = 0,
              in_flight: bool = False) -> list[OutboxRow]:
        """Take up to `limit` unclaimed rows of one batch with one of `statuses` and id > `after_id`, oldest first.

        The claim lasts `lease_s` seconds; rows claimed by another live sender are skipped, so two senders
        on one database never send the same event. An empty list: nothing left to take. `in_flight` marks
        the rows as posted in the same write (`set_in_flight`), for a sender that posts them at once.
        """
        wanted = tuple(statuses)
        marks = ",".join("?" * len(wanted))
        scope, params = ("AND session_id = ? ", [session_id]) if session_id is not None else ("", [])
        now = time.time()
        free = "(claim_until IS NULL OR claim_until < ?)"
        with self._transaction() as db:
            first = db.execute(f"SELECT batch_id FROM outbox WHERE id > ? AND status IN ({marks}) {scope}AND {free} "
                               "ORDER BY id LIMIT 1", (after_id, *wanted, *params, now)).fetchone()
            if first is None:
                return []
            # the rows themselves, read in the claim's transaction (no second read by id afterwards)
            raw = db.execute(_ROW_SQL + f"WHERE o.batch_id = ? AND o.id > ? AND o.status IN ({marks}) AND "
                             f"(o.claim_until IS NULL OR o.claim_until < ?) ORDER BY o.id LIMIT ?",
                             (first[0], after_id, *wanted, now, limit)).fetchall()
            rows = _outbox_rows(raw)
            # the rows of [first, last] that meet the same conditions are exactly `rows` (the first n in id order)
            db.execute(f"UPDATE outbox SET claim_owner = ?, claim_until = ?, in_flight = MAX(in_flight, ?) "
                       f"WHERE batch_id = ? AND id BETWEEN ? AND ? AND status IN ({marks}) AND {free}",
                       (owner, now + lease_s, int(in_flight), first[0], rows[0].id, rows[-1].id, *wanted, now))
        return rows

    def claim_ids(self, owner: str, lease_s: float, ids: Sequence[int], *, in_flight: bool = False) -> bool:
        """Claim exactly these pending rows (a batch the caller just recorded, whose rows it knows), all or
        none: False, and nothing claimed, when any of them is not pending or is claimed by a live sender.
        Inside `atomic()` it is part of that transaction (a savepoint undoes a claim that got only some)."""
        now = time.time()
        with self._lock:
            nested = self._db.in_transaction
            self._db.execute("SAVEPOINT claim_ids" if nested else "BEGIN IMMEDIATE")
            try:
                taken = sum(self._db.execute(
                    "UPDATE outbox SET claim_owner = ?, claim_until = ?, in_flight = MAX(in_flight, ?) "
                    "WHERE id BETWEEN ? AND ? AND status = 'pending' AND (claim_until IS NULL OR claim_until < ?)",
                    (owner, now + lease_s, int(in_flight), lo, hi, now)).rowcount for lo, hi in _id_ranges(ids))
            except BaseException:
                self._db.execute("ROLLBACK TO claim_ids" if nested else "ROLLBACK")
                raise
            if nested:
                self._db.execute("RELEASE claim_ids" if taken == len(ids) else "ROLLBACK TO claim_ids")
                if taken != len(ids):
                    self._db.execute("RELEASE claim_ids")
            else:
                self._db.execute("COMMIT" if taken == len(ids) else "ROLLBACK")
        return taken == len(ids)

    def set_in_flight(self, ids: Sequence[int], owner: str, lease_s: float) -> None:
        """Mark rows as posted (their request may reach TikTok) and renew their claim."""
        until = time.time() + lease_s
        with self._transaction() as db:
            db.executemany("UPDATE outbox SET in_flight = 1, claim_until = ? "
                           "WHERE id BETWEEN ? AND ? AND claim_owner = ?",
                           [(until, lo, hi, owner) for lo, hi in _id_ranges(ids)])

    def release(self, ids: Sequence[int], owner: str, *, posted: bool = True) -> None:
        """Give rows back unchanged (an interrupted send): another sender may take them at once.

        Their in-flight mark stays (a request that was posted may have reached TikTok; the next sender
        says so) unless `posted` is False: rows claimed with the mark that were never posted lose it.
        """
        unmark = "" if posted else ", in_flight = 0"
        with self._transaction() as db:
            db.executemany(f"UPDATE outbox SET claim_owner = NULL, claim_until = NULL{unmark} "
                           "WHERE id BETWEEN ? AND ? AND claim_owner = ?",
                           [(lo, hi, owner) for lo, hi in _id_ranges(ids)])

    def settle(self, ids: Sequence[int], status: str, *, reason: str | None = None, code: int | None = None,
               error: str | None = None, exchange_id: int | None = None, attempted: bool = True) -> None:
        """Record where rows stand now (one more attempt when `attempted`), and drop their claim."""
        if status not in OUTBOX_STATUSES:
            raise StoreError(f"Unknown outbox status {status!r}.", hint=f"Use one of {', '.join(OUTBOX_STATUSES)}.")
        now = time.time()
        error = redact_text(error)
        params = [(status, reason, int(attempted), code, error, exchange_id, now, lo, hi) for lo, hi in _id_ranges(ids)]
        with self._transaction() as db:
            db.executemany("UPDATE outbox SET status = ?, reason = ?, attempts = attempts + ?, last_code = ?, "
                           "last_error = ?, exchange_id = COALESCE(?, exchange_id), updated_at = ?, "
                           "claim_owner = NULL, claim_until = NULL, in_flight = 0 WHERE id BETWEEN ? AND ?", params)

    def set_status(self, ids: Sequence[int], status: str, reason: str | None = None) -> None:
        """Move rows to `status` without an attempt (the user's `retry --rejected`, `drop`)."""
        self.settle(ids, status, reason=reason, attempted=False)

    # reading the outbox --------------------------------------------------------------------------------
    def _rows(self, where: str, params: Sequence[Any], limit: int | None = None, *,
              by_session_status: bool = False) -> list[OutboxRow]:
        """Rows matching `where`, in id order; `by_session_status`: a session's rows of some statuses, found by
        that index (the planner, left alone, walks every row of the session to test its status)."""
        head = _ROW_SQL_BY_SESSION_STATUS if by_session_status else _ROW_SQL
        sql = head + where + " ORDER BY o.id" + (f" LIMIT {int(limit)}" if limit is not None else "")
        with self._lock:
            raw = self._db.execute(sql, params).fetchall()
        return _outbox_rows(raw)

    def rows_by_id(self, ids: Sequence[int]) -> list[OutboxRow]:
        """Outbox rows by id, in id order."""
        out: list[OutboxRow] = []
        for i in range(0, len(ids), 500):
            chunk = list(ids[i:i + 500])
            out += self._rows(f"WHERE o.id IN ({','.join('?' * len(chunk))})", chunk)
        return sorted(out, key=lambda r: r.id)

    def outbox_rows(self, *, statuses: Iterable[str] = ("pending",), session_id: str | None = None,
                    reason: str | None = None, limit: int | None = None) -> list[OutboxRow]:
        """Outbox rows with one of `statuses` (and `reason`), oldest first, optionally of one session."""
        wanted = tuple(statuses)
        where = f"WHERE o.status IN ({','.join('?' * len(wanted))})"
        params: list[Any] = list(wanted)
        if session_id is not None:
            where += " AND o.session_id = ?"
            params.append(session_id)
        if reason is not None:
            where += " AND o.reason = ?"
            params.append(reason)
        return self._rows(where, params, limit, by_session_status=session_id is not None and bool(wanted))

    def outbox_counts(self, session_id: str | None = None) -> dict[str, int]:
        """Events per outbox status (every status present, zero when none)."""
        sql = "SELECT status, COUNT(*) FROM outbox"
        params: tuple[Any, ...] = ()
        if session_id is not None:
            sql, params = sql + " WHERE session_id = ?", (session_id,)
        with self._lock:
            found = dict(self._db.execute(sql + " GROUP BY status", params).fetchall())
        return {s: int(found.get(s, 0)) for s in OUTBOX_STATUSES}

    def session_counts(self, session_id: str) -> dict[str, int]:
        """Events per status of one session, with `in_flight` (posted, answer not recorded) and `recorded`."""
        counts = self.outbox_counts(session_id)
        with self._lock:
            # every settle clears the in-flight mark, so an accepted or dropped row never has it: only the
            # session's waiting rows are read, not every row it ever sent
            counts["in_flight"] = int(self._db.execute(
                "SELECT COUNT(*) FROM outbox INDEXED BY outbox_session_status WHERE session_id = ? AND status IN "
                f"({','.join('?' * len(WAITING))}) AND in_flight = 1", (session_id, *WAITING)).fetchone()[0])
        counts["recorded"] = sum(counts[s] for s in OUTBOX_STATUSES)
        return counts

    # exchanges -----------------------------------------------------------------------------------------
    def add_exchange(self, session_id: str, ex: Exchange, *, row_ids: Sequence[int] | None = None,
                     source: str = "console", findings: Sequence[dict[str, Any]] | None = None) -> int:
        """Keep one Exchange (request body scrubbed of raw PII, messages redacted); returns its id.

        With `row_ids` (the request carried exactly those outbox rows, in order) the events are not stored
        twice: `exchanges()` reads them back from the outbox. `source` says who made the request (console,
        relay, capture); `findings` (lint's dicts, computed on the body as it was sent) are kept with it,
        their messages redacted.
        """
        if source not in SOURCES:
            raise StoreError(f"Unknown exchange source {source!r}.", hint=f"Use one of {', '.join(SOURCES)}.")
        ex.source = source
        record = ex.to_dict()
        record.pop("id", None)
        record.pop("session_id", None)
        if row_ids is not None:
            record["request_body"], _ = scrub_body({k: v for k, v in ex.request_body.items() if k != "data"})
        else:
            record["request_body"], _ = scrub_body(ex.request_body)
        if isinstance(record.get("response_body"), dict | list):
            record["response_body"], _ = scrub_event(record["response_body"])
        elif isinstance(record.get("response_body"), str):
            record["response_body"] = redact_text(record["response_body"])
        record["message"] = redact_text(ex.message)
        record["url"] = redact_url(ex.url)
        kept = None if findings is None else _dumps([_redacted_finding(f) for f in findings])
        cur = self._write(
            "INSERT INTO exchanges (session_id, created_at, url, status, code, message, request_id, outcome, "
            "attempts, latency_ms, event_count, error, batch_id, record, row_ids, source, findings) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?)",
            (session_id, ex.started_at or time.time(), redact_url(ex.url), ex.status, ex.code,
             redact_text(ex.message), ex.request_id, ex.outcome, len(ex.attempts), ex.latency_ms, ex.event_count,
             redact_text(ex.error), json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str),
             json.dumps(list(row_ids)) if row_ids is not None else None, source, kept))
        return int(cur.lastrowid or 0)

    def exchanges(self, session_id: str | None = None, *, limit: int | None = None,
                  ids: Sequence[int] | None = None, source: str | None = None, since_id: int = 0) -> list[Exchange]:
        """Stored exchanges, oldest first. `limit` keeps the newest `limit`; `ids` only those exchanges;
        `source` only those made by console, relay or capture; `since_id` only those with a larger id."""
        out = []
        for ex_id, sid, batch_id, record, row_ids, src, _findings in self._exchange_rows(
                session_id, limit=limit, ids=ids, source=source, since_id=since_id):
            rec = json.loads(record)
            if row_ids is not None:
                rec["request_body"]["data"] = [r.event for r in self.rows_by_id(json.loads(row_ids))]
            elif batch_id is not None:  # before schema 4: the request was exactly that batch
                rec["request_body"]["data"] = self._legacy_batch_events(batch_id)
            ex = Exchange.from_dict(rec)
            ex.id, ex.session_id, ex.source = ex_id, sid, src
            out.append(ex)
        return out

    def _exchange_rows(self, session_id: str | None, *, limit: int | None = None, ids: Sequence[int] | None = None,
                       source: str | None = None, since_id: int = 0) -> list[tuple[Any, ...]]:
        sql = "SELECT id, session_id, batch_id, record, row_ids, source, findings FROM exchanges WHERE id > ?"
        params: list[Any] = [since_id]
        if session_id is not None:
            sql += " AND session_id = ?"
            params.append(session_id)
        if source is not None:
            sql += " AND source = ?"
            params.append(source)
        if ids is not None:
            sql += f" AND id IN ({','.join('?' * len(ids))})"
            params.extend(ids)
        sql += " ORDER BY id DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self._lock:
            return self._db.execute(sql, params).fetchall()[::-1]

    def exchange_findings(self, ids: Sequence[int]) -> dict[int, list[dict[str, Any]] | None]:
        """{exchange id: the lint findings kept with it, or None when none were kept (recompute them)}."""
        out: dict[int, list[dict[str, Any]] | None] = {}
        for i in range(0, len(ids), 500):
            chunk = list(ids[i:i + 500])
            with self._lock:
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(f"SELECT id, findings FROM exchanges WHERE id IN ({marks})", chunk).fetchall()
            out.update({int(r[0]): (json.loads(r[1]) if r[1] is not None else None) for r in rows})
        return out

    def _legacy_batch_events(self, batch_id: int) -> list[Any]:
        with self._lock:
            row = self._db.execute("SELECT data_json FROM outbox_batches WHERE id = ?", (batch_id,)).fetchone()
        events = json.loads(row[0]) if row else []
        if events:
            return list(events)
        return [r.event for r in self._rows("WHERE o.batch_id = ?", (batch_id,))]

    def history(self, session_id: str | None = None) -> list[dict[str, Any]]:
        """One row per event: event, event_id, status, reason, attempts, code, request_id, error, time."""
        sql = ("SELECT o.id, o.session_id, o.event_name, o.event_id, o.status, o.reason, o.attempts, o.last_code, "
               "e.request_id, o.last_error, o.updated_at, o.exchange_id FROM outbox o "
               "LEFT JOIN exchanges e ON e.id = o.exchange_id")
        params: tuple[Any, ...] = ()
        if session_id is not None:
            sql, params = sql + " WHERE o.session_id = ?", (session_id,)
        cols = ("outbox_id", "session_id", "event", "event_id", "status", "reason", "attempts", "code",
                "request_id", "error", "updated_at", "exchange_id")
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY o.id", params).fetchall()
        return [dict(zip(cols, r, strict=True)) for r in rows]

    # readers for other pages ------------------------------------------------------------------------------
    def iter_sent_events(self, session_id: str | None = None) -> Iterator[tuple[dict[str, Any], Any, str]]:
        """(top-level fields without data, event, outbox status) for every event ever queued, in order.

        Values are hashed-only (raw PII was dropped). Read in pages of 5,000 rows.
        """
        last = 0
        while True:
            where = "WHERE o.id > ?" + (" AND o.session_id = ?" if session_id is not None else "")
            params: list[Any] = [last] + ([session_id] if session_id is not None else [])
            page = self._rows(where, params, limit=5000)
            if not page:
                return
            for row in page:
                yield row.top, row.event, row.status
            last = page[-1].id

    def server_events(self, session_id: str | None = None, *, accepted_only: bool = False,
                      since_exchange_id: int = 0) -> list[dict[str, Any]]:
        """The sent events as v1.3 bodies (consecutive events with the same top level share one body).

        First the console's own sends (from the outbox), then what a backend sent through the relay, one body
        per exchange as it was sent (a 1.0 body stays 1.0; core.sources.iter_events reads both), each with
        `received_at` (Unix seconds the relay received it) and `exchange_id` at its top level. With
        `since_exchange_id` (a live page polling) only events whose exchange has a larger id: console events
        once their request was answered, relay events as they arrive. `accepted_only`: TikTok took them.
        """
        bodies: list[dict[str, Any]] = []
        last_key: str | None = None
        rows = (self.iter_sent_events(session_id) if not since_exchange_id
                else self._sent_since(session_id, since_exchange_id))
        for top, event, status in rows:
            if accepted_only and status != "accepted":
                continue
            key = json.dumps(top, sort_keys=True)
            if key != last_key:
                bodies.append({**top, "data": []})
                last_key = key
            bodies[-1]["data"].append(event)
        for ex in self.exchanges(session_id, source="relay", since_id=since_exchange_id):
            if (accepted_only and not ex.accepted) or not isinstance(ex.request_body, dict):
                continue
            bodies.append({**ex.request_body, "received_at": ex.started_at, "exchange_id": ex.id})
        return bodies

    def _sent_since(self, session_id: str | None, since_exchange_id: int) -> Iterator[tuple[dict[str, Any], Any, str]]:
        where = "WHERE o.exchange_id > ?" + (" AND o.session_id = ?" if session_id is not None else "")
        params: list[Any] = [since_exchange_id] + ([session_id] if session_id is not None else [])
        for row in self._rows(where, params):
            yield row.top, row.event, row.status

    # Pixel hits ------------------------------------------------------------------------------------------
    def add_pixel_hits(self, session_id: str, rows: Sequence[dict[str, Any]], *, source: str = "capture") -> int:
        """Keep Pixel hits (rows as `tiktok-events pixels --format json` prints them, with optional
        `captured_at` in Unix ms and `page_url`) in one transaction; returns how many were written.

        Raw email/phone values are dropped wherever they sit (core.privacy) and emails/phones in URLs
        (`url`, `referrer`, `page_url`, any `*url` field) are redacted: the Pixel sends page.url to TikTok,
        the console does not keep it raw. The session is created when it does not exist yet.
        """
        if source not in SOURCES:
            raise StoreError(f"Unknown Pixel hit source {source!r}.", hint=f"Use one of {', '.join(SOURCES)}.")
        self.create_session(f"live {session_id}", session_id=session_id)
        now_ms = time.time() * 1000
        values = []
        for row in rows:
            clean = _clean_hit(row)
            captured = clean.pop("captured_at", None)
            captured_ms = float(captured) if isinstance(captured, int | float) and not isinstance(captured, bool) \
                else now_ms
            values.append((session_id, source, captured_ms, str(clean.get("event") or ""),
                           str(clean.get("event_id") or ""), str(clean.get("pixel_code") or ""),
                           str(clean.get("page_url") or clean.get("url") or ""), _dumps(clean)))
        with self._transaction() as db:
            db.executemany("INSERT INTO pixel_hits (session_id, source, captured_at, event, event_id, pixel_code, "
                           "page_url, row_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", values)
        return len(values)

    def pixel_hits(self, session_id: str, *, since_id: int = 0) -> list[dict[str, Any]]:
        """A session's Pixel hits in arrival order: each row as kept plus `id` and `captured_at` (Unix ms);
        `since_id` returns only hits with a larger id (a live page fetching what is new)."""
        with self._lock:
            rows = self._db.execute("SELECT id, captured_at, row_json FROM pixel_hits WHERE session_id = ? AND id > ? "
                                    "ORDER BY id", (session_id, since_id)).fetchall()
        return [{**json.loads(r[2]), "id": int(r[0]), "captured_at": r[1]} for r in rows]

    def exchange_for_event(self, event_id: str) -> Exchange | None:
        """The exchange TikTok kept this event from: the accepted one if any, else the latest that carried it."""
        with self._lock:
            row = self._db.execute(
                "SELECT exchange_id FROM outbox WHERE event_id = ? AND exchange_id IS NOT NULL "
                "ORDER BY status = 'accepted' DESC, id DESC LIMIT 1", (event_id,)).fetchone()
        if row is None:
            return None
        found = self.exchanges(ids=[int(row[0])])
        return found[0] if found else None

    # column mappings ---------------------------------------------------------------------------------
    @staticmethod
    def header_signature(columns: Sequence[str]) -> str:
        """A stable key for a file layout: its column names, trimmed and case-folded, in order."""
        return hashlib.sha256("\x1f".join(c.strip().casefold() for c in columns).encode("utf-8")).hexdigest()

    def save_mapping(self, kind: str, columns: Sequence[str], mapping: dict[str, str]) -> None:
        """Remember `mapping` (canonical name -> file column) for files of `kind` with these columns."""
        self._write("INSERT INTO column_mappings VALUES (?, ?, ?, ?) ON CONFLICT (kind, signature) "
                    "DO UPDATE SET mapping = excluded.mapping, updated_at = excluded.updated_at",
                    (kind, self.header_signature(columns), json.dumps(mapping, sort_keys=True), time.time()))

    def mapping_for(self, kind: str, columns: Sequence[str]) -> dict[str, str] | None:
        """The mapping saved for files of `kind` with exactly these columns, if any."""
        with self._lock:
            row = self._db.execute("SELECT mapping FROM column_mappings WHERE kind = ? AND signature = ?",
                                   (kind, self.header_signature(columns))).fetchone()
        return dict(json.loads(row[0])) if row else None

    def export_session(self, session_id: str) -> bytes:
        """The whole session as pretty JSON bytes: session, exchanges, per-event history (no token, no raw PII)."""
        info = self.session(session_id)
        if info is None:
            raise StoreError(f"No session {session_id!r} in {self.path}.")
        doc = {
            "session": {"id": info.id, "created_at": info.created_at, "label": info.label, "target": info.target,
                        "base_url": info.base_url, "recorded": info.recorded},
            "exchanges": [e.to_dict() for e in self.exchanges(session_id)],
            "events": self.history(session_id),
            "outbox": self.outbox_counts(session_id),
        }
        return json.dumps(doc, indent=2, ensure_ascii=False, default=str).encode("utf-8")


_ROWS_PER_INSERT: Final = 500


def _insert_rows(db: sqlite3.Connection, into: str, width: int, rows: Iterable[tuple[Any, ...]]) -> None:
    """INSERT `rows` (tuples of `width` values) into `into` ("table (columns)"), many rows per statement.

    executemany steps SQLite once per row, and the sqlite3 module gives the interpreter up around every
    step: with another thread running Python (the posting thread, an emulator in the same process) each
    row then waits for the interpreter to come back, and 1,000 rows take ten times as long. One statement
    of many rows is one step, bound and run in C.
    """
    flat = list(itertools.chain.from_iterable(rows))
    per = max(1, min(_ROWS_PER_INSERT, db.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // width))
    marks = "(" + ",".join("?" * width) + ")"
    step = per * width
    for start in range(0, len(flat), step):
        chunk = flat[start:start + step]
        db.execute(f"INSERT INTO {into} VALUES " + ",".join(itertools.repeat(marks, len(chunk) // width)), chunk)


class _Transaction:
    """`with store._transaction() as db:` — BEGIN IMMEDIATE under the store's lock; COMMIT, or ROLLBACK."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def __enter__(self) -> sqlite3.Connection:
        store = self._store
        store._lock.acquire()
        self._outer = not store._db.in_transaction  # inside `atomic()`: part of that transaction
        if self._outer:
            try:
                store._db.execute("BEGIN IMMEDIATE")
            except BaseException:
                store._lock.release()
                raise
        return store._db

    def __exit__(self, exc_type: object, *rest: object) -> None:
        try:
            if self._outer:
                self._store._db.execute("ROLLBACK" if exc_type is not None else "COMMIT")
        finally:
            self._store._lock.release()


__all__ = ["MIGRATIONS", "OUTBOX_STATUSES", "SOURCES", "WAITING", "Attempt", "OutboxRow", "PlannedBatch", "SessionInfo",
           "Store", "check_session_id", "event_text", "event_texts", "new_claim_owner",
           "redact_url"]
