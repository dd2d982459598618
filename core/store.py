"""The console's SQLite file: sessions, exchanges and the outbox of events not yet accepted.

One file at `$TEC_DB` (default in the user's data directory), WAL so the Streamlit app, the CLI and
tests can read while one writes; a `schema_version` table and an append-only `MIGRATIONS` list.

The outbox is the send path's safety net: every event is written (one transaction per ≤1,000-event
batch) before it is sent, and leaves "pending" only when the API gave a final answer. Raw PII is never
stored: before anything is written, email / phone / first_name / last_name / zip_code values that are
not SHA-256 hex are dropped and their paths recorded in `pii_dropped` (TikTok §2.3 wants them hashed
anyway). The access token never reaches this module: Exchanges carry it redacted.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from core.errors import StoreError
from core.identity import is_sha256

if TYPE_CHECKING:
    from core.transport import Exchange

PII_USER_FIELDS: Final = ("email", "phone", "first_name", "last_name", "zip_code")
OUTBOX_STATUSES: Final = ("pending", "accepted", "partial", "rejected")
DROPPED: Final = "[raw value dropped: not stored unhashed]"

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
)


def scrub_event(event: Any, path: str = "") -> tuple[Any, list[str]]:
    """The event without raw (unhashed) personal data, and the JSON paths of what was dropped.

    Contract: never mutates its input; returns the same object when nothing had to go. Hashed values
    (64 hex) and empty values stay; a list keeps its hashed members.
    """
    if not isinstance(event, dict):
        return event, []
    user = event.get("user")
    if not isinstance(user, dict):
        return event, []
    dropped: list[str] = []
    new_user: dict[str, Any] | None = None
    for key in PII_USER_FIELDS:
        value = user.get(key)
        if not value:
            continue
        if isinstance(value, list):
            kept = [v for v in value if is_sha256(v)]
            if len(kept) == len(value):
                continue
            new_value: Any = kept
        elif is_sha256(value):
            continue
        else:
            new_value = DROPPED
        if new_user is None:
            new_user = dict(user)
        dropped.append(f"{path}user.{key}")
        if new_value == DROPPED or not new_value:
            new_user.pop(key)  # dropped, not replaced: a placeholder would be sent on a retry
        else:
            new_user[key] = new_value
    if new_user is None:
        return event, []
    return {**event, "user": new_user}, dropped


def scrub_body(body: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """`scrub_event` over every event of a v1.3 body; (body or a scrubbed copy, dropped paths)."""
    data = body.get("data")
    if not isinstance(data, list):
        return body, []
    out: list[Any] = []
    dropped: list[str] = []
    changed = False
    for i, ev in enumerate(data):
        clean, d = scrub_event(ev, f"data[{i}].")
        changed = changed or clean is not ev
        out.append(clean)
        dropped.extend(d)
    return ({**body, "data": out} if changed else body), dropped


def _name_and_id(event: Any) -> tuple[str, str]:
    if not isinstance(event, dict):
        return "", ""
    eid = event.get("event_id")
    return str(event.get("event") or ""), "" if eid is None else str(eid)


@dataclass(frozen=True, slots=True)
class QueuedBatch:
    """Events written to the outbox as one batch: its id, the row ids, and the bytes to POST."""

    batch_id: int
    ids: list[int]
    content: bytes


@dataclass(slots=True)
class OutboxRow:
    """One event in the outbox: its payload (hashed values only) and where it stands."""

    id: int
    session_id: str
    top_json: str  # the body's top-level fields without data (Pixel, test event code), canonical JSON
    event: dict[str, Any]
    event_name: str
    event_id: str
    status: str
    attempts: int
    last_code: int | None
    last_error: str | None
    exchange_id: int | None
    pii_dropped: list[str] = field(default_factory=list)
    created_at: float = 0.0
    updated_at: float = 0.0

    @property
    def top(self) -> dict[str, Any]:
        """The top-level fields the event was sent with."""
        parsed: dict[str, Any] = json.loads(self.top_json)
        return parsed


class Store:
    """A connection to the console's SQLite file; safe to share between threads (one lock)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
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
    def create_session(self, label: str = "", *, target: str = "", base_url: str = "") -> str:
        """A new send session; returns its id."""
        sid = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        with self._lock:
            self._db.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, ?)",
                             (sid, time.time(), label, target, base_url))
        return sid

    def sessions(self) -> list[dict[str, Any]]:
        """Every session, newest first, with its exchange count."""
        cur = self._db.execute(
            "SELECT s.id, s.created_at, s.label, s.target, s.base_url, COUNT(e.id) FROM sessions s "
            "LEFT JOIN exchanges e ON e.session_id = s.id GROUP BY s.id ORDER BY s.created_at DESC")
        return [dict(zip(("id", "created_at", "label", "target", "base_url", "exchanges"), r, strict=True))
                for r in cur]

    # outbox --------------------------------------------------------------------------------------------
    def queue_batch(self, session_id: str, body: dict[str, Any]) -> QueuedBatch:
        """Write every event of `body` as pending outbox rows in one transaction, before sending.

        The events (raw PII dropped) are serialized once; when nothing had to be dropped, `content` is
        the exact request bytes to POST, so the store and the wire agree byte for byte.
        """
        data = body.get("data")
        events: list[Any] = data if isinstance(data, list) else []
        top = {k: v for k, v in body.items() if k != "data"}
        top_json = json.dumps(top, sort_keys=True, ensure_ascii=False)
        clean_events: list[Any] = []
        dropped_per_event: list[list[str]] = []
        for ev in events:
            clean, dropped = scrub_event(ev)
            clean_events.append(clean)
            dropped_per_event.append(dropped)
        data_json = json.dumps(clean_events, ensure_ascii=False, separators=(",", ":"))
        if any(dropped_per_event):
            content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        else:
            head = json.dumps(top, ensure_ascii=False, separators=(",", ":"))
            content = ((head[:-1] + "," if top else "{") + '"data":' + data_json + "}").encode("utf-8")
        now = time.time()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                cur = self._db.execute(
                    "INSERT INTO outbox_batches (session_id, top_json, data_json, created_at) VALUES (?, ?, ?, ?)",
                    (session_id, top_json, data_json, now))
                batch_id = int(cur.lastrowid or 0)
                start = self._db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM outbox").fetchone()[0]
                ids = list(range(start, start + len(events)))
                self._db.executemany(
                    "INSERT INTO outbox (id, session_id, batch_id, idx, event_name, event_id, pii_dropped, "
                    "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(row_id, session_id, batch_id, i, *_name_and_id(ev), json.dumps(d) if d else "[]", now, now)
                     for i, (row_id, ev, d) in enumerate(zip(ids, clean_events, dropped_per_event, strict=True))])
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return QueuedBatch(batch_id, ids, content)

    def add_outbox(self, session_id: str, body: dict[str, Any]) -> list[int]:
        """Write every event of `body` as a pending row (one transaction); returns the row ids in order."""
        return self.queue_batch(session_id, body).ids

    def _batch_events(self, batch_ids: Iterable[int]) -> dict[int, list[Any]]:
        wanted = sorted(set(batch_ids))
        out: dict[int, list[Any]] = {}
        for i in range(0, len(wanted), 500):
            chunk = wanted[i:i + 500]
            rows = self._db.execute(
                f"SELECT id, data_json FROM outbox_batches WHERE id IN ({','.join('?' * len(chunk))})", chunk)
            out.update((bid, json.loads(data)) for bid, data in rows)
        return out

    def mark_outbox(self, ids: Sequence[int], status: str, *, code: int | None = None,
                    error: str | None = None, exchange_id: int | None = None) -> None:
        """Record one more attempt for each row and its new status (pending/accepted/partial/rejected)."""
        if status not in OUTBOX_STATUSES:
            raise ValueError(f"unknown outbox status {status!r}")
        now = time.time()
        ids = list(ids)
        # the rows of one batch have consecutive ids: one ranged UPDATE instead of 1,000 single ones
        contiguous = bool(ids) and ids == list(range(ids[0], ids[0] + len(ids)))
        sql = ("UPDATE outbox SET status = ?, attempts = attempts + 1, last_code = ?, last_error = ?, "
               "exchange_id = ?, updated_at = ? WHERE ")
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                if contiguous:
                    self._db.execute(sql + "id BETWEEN ? AND ?",
                                     (status, code, error, exchange_id, now, ids[0], ids[-1]))
                else:
                    self._db.executemany(sql + "id = ?", [(status, code, error, exchange_id, now, i) for i in ids])
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def outbox_rows(self, *, statuses: Iterable[str] = ("pending",), session_id: str | None = None,
                    limit: int | None = None) -> list[OutboxRow]:
        """Outbox rows with one of `statuses`, oldest first (optionally of one session)."""
        wanted = tuple(statuses)
        sql = ("SELECT o.id, o.session_id, b.top_json, o.batch_id, o.idx, o.event_name, o.event_id, o.status, "
               "o.attempts, o.last_code, o.last_error, o.exchange_id, o.pii_dropped, o.created_at, o.updated_at "
               "FROM outbox o JOIN outbox_batches b ON b.id = o.batch_id "
               f"WHERE o.status IN ({','.join('?' * len(wanted))})")
        params: list[Any] = list(wanted)
        if session_id is not None:
            sql += " AND o.session_id = ?"
            params.append(session_id)
        sql += " ORDER BY o.id"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
            events = self._batch_events(r[3] for r in rows)
        return [OutboxRow(r[0], r[1], r[2], events[r[3]][r[4]], r[5], r[6], r[7], r[8], r[9], r[10], r[11],
                          json.loads(r[12]), r[13], r[14]) for r in rows]

    def outbox_counts(self, session_id: str | None = None) -> dict[str, int]:
        """Events per outbox status (every status present, zero when none)."""
        sql = "SELECT status, COUNT(*) FROM outbox"
        params: tuple[Any, ...] = ()
        if session_id is not None:
            sql, params = sql + " WHERE session_id = ?", (session_id,)
        with self._lock:
            found = dict(self._db.execute(sql + " GROUP BY status", params).fetchall())
        return {s: int(found.get(s, 0)) for s in OUTBOX_STATUSES}

    # exchanges -----------------------------------------------------------------------------------------
    def add_exchange(self, session_id: str, ex: Exchange, *, batch_id: int | None = None) -> int:
        """Keep one Exchange (request body scrubbed of raw PII); returns its id.

        With `batch_id` (the request was exactly that outbox batch) the events are not stored twice:
        `exchanges()` reads them back from the batch.
        """
        record = ex.to_dict()
        if batch_id is not None:
            record["request_body"] = {k: v for k, v in ex.request_body.items() if k != "data"}
        else:
            record["request_body"], _ = scrub_body(ex.request_body)
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO exchanges (session_id, created_at, url, status, code, message, request_id, outcome, "
                "attempts, latency_ms, event_count, error, batch_id, record) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (session_id, ex.started_at or time.time(), ex.url, ex.status, ex.code, ex.message, ex.request_id,
                 ex.outcome, len(ex.attempts), ex.latency_ms, ex.event_count, ex.error, batch_id,
                 json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str)))
        return int(cur.lastrowid or 0)

    def exchanges(self, session_id: str | None = None, *, limit: int | None = None,
                  ids: Sequence[int] | None = None) -> list[dict[str, Any]]:
        """Stored exchanges (Exchange.to_dict() form plus `id`, `session_id`), oldest first.

        `limit` keeps the newest `limit` exchanges; `ids` only those exchanges.
        """
        sql = "SELECT id, session_id, batch_id, record FROM exchanges WHERE 1=1"
        params: list[Any] = []
        if session_id is not None:
            sql += " AND session_id = ?"
            params.append(session_id)
        if ids is not None:
            sql += f" AND id IN ({','.join('?' * len(ids))})"
            params.extend(ids)
        sql += " ORDER BY id DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()[::-1]
            batches = self._batch_events(r[2] for r in rows if r[2] is not None)
        out = []
        for ex_id, sid, batch_id, record in rows:
            rec = json.loads(record)
            if batch_id is not None:
                rec["request_body"]["data"] = batches.get(batch_id, [])
            out.append({**rec, "id": ex_id, "session_id": sid})
        return out

    def history(self, session_id: str | None = None) -> list[dict[str, Any]]:
        """One row per event: event, event_id, status, attempts, code, request_id, error, time."""
        sql = ("SELECT o.id, o.session_id, o.event_name, o.event_id, o.status, o.attempts, o.last_code, "
               "e.request_id, o.last_error, o.updated_at, o.exchange_id FROM outbox o "
               "LEFT JOIN exchanges e ON e.id = o.exchange_id")
        params: tuple[Any, ...] = ()
        if session_id is not None:
            sql, params = sql + " WHERE o.session_id = ?", (session_id,)
        cols = ("outbox_id", "session_id", "event", "event_id", "status", "attempts", "code", "request_id",
                "error", "updated_at", "exchange_id")
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY o.id", params).fetchall()
        return [dict(zip(cols, r, strict=True)) for r in rows]

    # readers for other pages ------------------------------------------------------------------------------
    def iter_sent_events(self, session_id: str | None = None) -> Iterator[tuple[dict[str, Any], dict[str, Any], str]]:
        """(top-level fields without data, event, outbox status) for every event ever queued, in order.

        Status is accepted | partial | rejected | pending. Values are hashed-only (raw PII was dropped).
        """
        sql = "SELECT id, top_json FROM outbox_batches"
        params: tuple[Any, ...] = ()
        if session_id is not None:
            sql, params = sql + " WHERE session_id = ?", (session_id,)
        with self._lock:
            batches = self._db.execute(sql + " ORDER BY id", params).fetchall()
        for batch_id, top_json in batches:
            with self._lock:
                data = self._db.execute("SELECT data_json FROM outbox_batches WHERE id = ?", (batch_id,)).fetchone()
                statuses = self._db.execute("SELECT idx, status FROM outbox WHERE batch_id = ? ORDER BY idx",
                                            (batch_id,)).fetchall()
            events = json.loads(data[0])
            top = json.loads(top_json)
            for idx, status in statuses:
                yield dict(top), events[idx], status

    def server_events(self, session_id: str | None = None, *, accepted_only: bool = False) -> list[dict[str, Any]]:
        """The sent events as v1.3 bodies (consecutive events with the same top level share one body)."""
        bodies: list[dict[str, Any]] = []
        last_key: str | None = None
        for top, event, status in self.iter_sent_events(session_id):
            if accepted_only and status not in ("accepted", "partial"):
                continue
            key = json.dumps(top, sort_keys=True)
            if key != last_key:
                bodies.append({**top, "data": []})
                last_key = key
            bodies[-1]["data"].append(event)
        return bodies

    def exchange_for_event(self, event_id: str) -> dict[str, Any] | None:
        """The latest exchange that carried an event with this exact event_id (Exchange.to_dict() form), if any."""
        with self._lock:
            row = self._db.execute("SELECT exchange_id FROM outbox WHERE event_id = ? AND exchange_id IS NOT NULL "
                                   "ORDER BY id DESC LIMIT 1", (event_id,)).fetchone()
        if row is None:
            return None
        found = self.exchanges(ids=[int(row[0])])
        return found[0] if found else None

    # column mappings ---------------------------------------------------------------------------------
    @staticmethod
    def header_signature(columns: Sequence[str]) -> str:
        """A stable key for a file layout: its column names, trimmed and case-folded, in order."""
        import hashlib

        return hashlib.sha256("\x1f".join(c.strip().casefold() for c in columns).encode("utf-8")).hexdigest()

    def save_mapping(self, kind: str, columns: Sequence[str], mapping: dict[str, str]) -> None:
        """Remember `mapping` (canonical name -> file column) for files of `kind` with these columns."""
        with self._lock:
            self._db.execute(
                "INSERT INTO column_mappings VALUES (?, ?, ?, ?) ON CONFLICT (kind, signature) "
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
        with self._lock:
            row = self._db.execute("SELECT id, created_at, label, target, base_url FROM sessions WHERE id = ?",
                                   (session_id,)).fetchone()
        if row is None:
            raise StoreError(f"No session {session_id!r} in {self.path}.")
        doc = {
            "session": dict(zip(("id", "created_at", "label", "target", "base_url"), row, strict=True)),
            "exchanges": self.exchanges(session_id),
            "events": self.history(session_id),
            "outbox": self.outbox_counts(session_id),
        }
        return json.dumps(doc, indent=2, ensure_ascii=False, default=str).encode("utf-8")


__all__ = ["DROPPED", "MIGRATIONS", "OUTBOX_STATUSES", "PII_USER_FIELDS", "OutboxRow", "QueuedBatch", "Store",
           "scrub_body", "scrub_event"]
