"""How each input file reaches the engine: scanned by the engine itself, or streamed as Arrow batches.

CSV and Parquet are scanned by the engine with only the columns the analysis needs, as text, and typed by
the analysis' own SQL (core.engine.queries) exactly as the console's loaders type them. JSON, JSONL and
HAR go through the console's readers (core.pixel, core.events, core.har), which already type their rows:
JSONL a chunk of lines at a time, so the engine consumes a stream of Arrow record batches and no copy of
the whole file exists in Python. The file's columns are mapped here by the loaders' own rules (aliases,
stripped header names, `event_source_id` for the server's pixel code, core.orders' ALIASES).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

import pyarrow as pa

from core.errors import InvalidFile

Side = Literal["pixel", "server"]
Kind = Literal["csv", "parquet", "arrow"]
EVENT_ROLES: Final = ("pixel_code", "event", "event_id", "t_text", "order_id", "ttp", "user_agent")
ORDER_ROLES: Final = ("order_id", "created_at", "utm_source", "ttclid", "landing_site", "user_agent",
                       "cookie_age_days", "page_load_s")
SEGMENT_ROLES: Final = ("user_agent", "cookie_age_days", "page_load_s")  # the orders' own segment columns
ROW_SCHEMA: Final = pa.schema([("pixel_code", pa.string()), ("event", pa.string()), ("event_id", pa.string()),
                               ("t", pa.float64()), ("order_id", pa.string()), ("ttp", pa.string()),
                               ("user_agent", pa.string())])
_CHUNK_LINES: Final = 50_000
STREAM_ERRORS: list[Exception] = []  # the readers' errors inside an engine's scan (see _kept)
# core.pixel's flat-row aliases (a CSV's stripped header name -> the Pixel column it fills)
_PIXEL_ALIASES: Final = {"event_source_id": "pixel_code", "pixel_id": "pixel_code", "pixel": "pixel_code",
                         "code": "pixel_code", "event_name": "event"}


@dataclass(frozen=True)
class Source:
    """One input as the engine reads it: `kind`, the file, and role -> file column (None when absent).

    For kind "arrow", `batches` opens a stream of ROW_SCHEMA record batches (already typed rows).
    """

    kind: Kind
    path: Path
    columns: dict[str, str | None] = field(default_factory=dict)
    batches: Callable[[], pa.RecordBatchReader] | None = None


def _kind(path: Path) -> Kind:
    if not path.is_file():
        raise InvalidFile(f"{path}: no such file.", hint="Check the path.")
    with path.open("rb") as fh:
        head = fh.read(4096)
    if head[:4] == b"PAR1":
        return "parquet"
    if not head.strip():
        raise InvalidFile(f"{path.name} is empty.", hint="Export the events with a header row.")
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if path.suffix.lower() == ".csv" or (text[:1] not in (b"{", b"[") and head[:2] != b"\x1f\x8b"
                                         and path.suffix.lower() not in (".json", ".jsonl", ".ndjson", ".har")):
        return "csv"
    return "arrow"


def file_columns(path: Path, kind: Kind) -> list[str]:
    """The header names of a CSV (as written) or the column names of a Parquet file."""
    if kind == "parquet":
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as fh:
        return next(csv.reader([fh.readline()]), [])


def _first(header: list[str], names: tuple[str, ...]) -> str | None:
    """The first header column whose stripped name is one of `names`, in `names` order of preference."""
    for name in names:
        for h in header:
            if h.strip() == name:
                return h
    return None


def pixel_source(path: Path) -> Source:
    """The Pixel input: a flat export (CSV / Parquet with core.pixel's column names) or HAR / JSON / JSONL."""
    kind = _kind(path)
    if kind == "arrow":
        return Source("arrow", path, batches=lambda: _pixel_batches(path))
    header = file_columns(path, kind)
    canon: dict[str, str] = {}
    for h in header:  # core.pixel: aliases applied, and the first column of a name wins
        canon.setdefault(_PIXEL_ALIASES.get(h.strip(), h.strip()), h)
    cols: dict[str, str | None] = {
        "pixel_code": canon.get("pixel_code"), "event": canon.get("event"),
        "event_id": next((h for h in header if h == "event_id"), canon.get("event_id")),
        "t_text": canon.get("timestamp") or canon.get("event_time"), "order_id": canon.get("order_id"),
        "ttp": canon.get("ttp"), "user_agent": canon.get("user_agent")}
    missing = [n for n, role in (("pixel_code", "pixel_code"), ("event", "event"), ("timestamp", "t_text"))
               if cols[role] is None]
    if missing:
        raise InvalidFile(f"{path.name} lacks these columns: {', '.join(missing)}.",
                          hint="A Pixel export needs pixel_code, event, event_id and timestamp (UTC ISO-8601 or "
                               "epoch seconds), or upload the DevTools HAR itself.")
    return Source(kind, path, cols)


def server_source(path: Path) -> Source:
    """The server input: CSV / Parquet with event columns, or Events API JSON / JSONL bodies."""
    kind = _kind(path)
    if kind == "arrow":
        return Source("arrow", path, batches=lambda: _server_batches(path))
    header = file_columns(path, kind)
    cols: dict[str, str | None] = {
        "pixel_code": _first(header, ("pixel_code",)) or _first(header, ("event_source_id",)),
        "event": _first(header, ("event",)), "event_id": _first(header, ("event_id",)),
        "t_text": _first(header, ("event_time",)), "order_id": _first(header, ("order_id",)),
        "ttp": _first(header, ("ttp",)), "user_agent": _first(header, ("user_agent",))}
    missing = [n for n, role in (("event", "event"), ("event_id", "event_id"), ("event_time", "t_text"),
                                 ("pixel_code", "pixel_code")) if cols[role] is None]
    if missing:
        raise InvalidFile(f"{path.name} lacks these columns: {', '.join(missing)}.",
                          hint="A server-event CSV needs event_source_id, event, event_id and event_time columns.")
    return Source(kind, path, cols)


def segment_roles(source: Source) -> tuple[str, ...]:
    """The SEGMENT_ROLES an orders source has a column for."""
    return tuple(c for c in SEGMENT_ROLES if source.columns.get(c) is not None)


def orders_source(path: Path, mapping: dict[str, str] | None = None) -> tuple[Source, bool]:
    """The orders export mapped as core.orders maps it; (source, is a Shopify line-item export).

    Raises core.orders.MissingOrderColumns as load_orders does when a required column has no match.
    """
    from core.sources.order_columns import map_columns

    kind = _kind(path)
    if kind == "arrow":
        raise InvalidFile(f"{path.name} is not a CSV export of orders (or a Parquet file of them).",
                          hint="Export the orders as comma-separated UTF-8 CSV with a header row.")
    header = file_columns(path, kind)
    source, found = map_columns(path.name, header, mapping)
    cols: dict[str, str | None] = {role: found.get(role) for role in ORDER_ROLES}
    return Source(kind, path, cols), source == "shopify"


# --- Arrow streams from the console's readers -----------------------------------------------------------
def _is_jsonl(path: Path) -> bool:
    """A file of one JSON object per line (so it can be read a chunk of lines at a time)."""
    with path.open("rb") as fh:
        lines = [line for line in (fh.readline() for _ in range(64)) if line.strip()][:2]
    if len(lines) < 2:
        return False
    try:
        return isinstance(json.loads(lines[0]), dict) and "log" not in json.loads(lines[0])
    except ValueError:
        return False


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as fh:
        buf: list[bytes] = []
        for line in fh:
            if line.strip():
                buf.append(line)
            if len(buf) >= _CHUNK_LINES:
                yield b"".join(buf)
                buf = []
        if buf:
            yield b"".join(buf)


def _batch(frame: object, time_col: str) -> pa.RecordBatch:
    import pandas as pd

    assert isinstance(frame, pd.DataFrame)
    arrays = [pa.array((frame[c] if c in frame.columns else pd.Series("", index=frame.index)).astype("string")
                       .fillna(""), pa.string()) if c != "t"
              else pa.array(frame[time_col].astype("float64"), pa.float64()) for c in ROW_SCHEMA.names]
    return pa.RecordBatch.from_arrays(arrays, schema=ROW_SCHEMA)


def _pixel_batches(path: Path) -> pa.RecordBatchReader:
    from core.sources.pixel import load_pixel_events, parse_pixel_json

    cols = ("pixel_code", "event", "event_id", "timestamp", "order_id", "ttp", "user_agent")

    def gen() -> Iterator[pa.RecordBatch]:
        if _is_jsonl(path):
            for chunk in _chunks(path):
                yield _batch(parse_pixel_json(chunk, name=path.name).events, "timestamp")
        else:
            yield _batch(load_pixel_events(path, columns=cols).events, "timestamp")

    return pa.RecordBatchReader.from_batches(ROW_SCHEMA, _kept(gen()))


def _kept(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """The batches; a reader's ConsoleError is kept in STREAM_ERRORS before it goes on (the engine raises
    it as it is, not wrapped in its own error with a Python traceback)."""
    from core.errors import ConsoleError

    try:
        yield from batches
    except ConsoleError as exc:
        STREAM_ERRORS.append(exc)
        raise


def _server_batches(path: Path) -> pa.RecordBatchReader:
    from core.errors import InvalidFile
    from core.sources.jsondoc import parse_json_documents
    from core.sources.server import load_server_events, server_frame

    cols = ("pixel_code", "event", "event_id", "event_time", "order_id", "ttp", "user_agent")

    def gen() -> Iterator[pa.RecordBatch]:
        if _is_jsonl(path):
            for chunk in _chunks(path):
                yield _batch(server_frame(parse_json_documents(chunk, path.name, error=InvalidFile)), "event_time")
        else:
            yield _batch(load_server_events(path, columns=cols), "event_time")

    return pa.RecordBatchReader.from_batches(ROW_SCHEMA, _kept(gen()))
