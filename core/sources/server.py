"""Server events as rows: Events API bodies (JSON, JSONL, CSV) -> one frame that dedup and quality read.

`load_server_events` is the one loader for server input (a path, bytes or an upload, gzip or not): it
sniffs once (core.sources.source), reads JSON / JSONL bodies or events within the limits, or a CSV with
pyarrow. Times and numbers are read by core.sources.values, the rule every reader shares.

A row is one `data[]` event as it was (or would be) sent: identifiers are the values on the wire
(hashed hex for email/phone/external_id), never raw PII kept by the console.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd

from core.errors import InvalidFile, InvalidInput
from core.sources.columns import projection
from core.sources.jsondoc import parse_json_documents
from core.sources.source import Source, SourceInput, open_source
from core.sources.values import as_text, number_column, parse_number, parse_time, time_column

SERVER_COLUMNS = [
    "pixel_code", "event", "event_id", "event_time", "source", "url", "value", "currency", "order_id",
    "email", "phone", "external_id", "ttclid", "ttp", "ip", "user_agent", "first_name", "last_name",
    "zip_code", "test_event_code", "limited_data_use", "index",
]
IDENTIFIER_COLUMNS = (
    "email", "phone", "external_id", "ttclid", "ttp", "ip", "user_agent", "first_name", "last_name", "zip_code",
)
_STRING_COLUMNS = [c for c in SERVER_COLUMNS if c not in ("event_time", "value", "limited_data_use", "index")]
CSV_REQUIRED = ("event", "event_id", "event_time")


def iter_events(doc: object) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """Yield (top-level fields without `data`, event) for a v1.3 body, a bare event, or a list of either.

    Legacy 1.0 bodies (`pixel_code` + `batch` or a single event) are read too: pixel_code becomes
    event_source_id. Anything that is not an object is skipped (the linter reports it).
    """
    if isinstance(doc, list):
        for item in doc:
            yield from iter_events(item)
        return
    if not isinstance(doc, dict):
        return
    if isinstance(doc.get("data"), list):
        top = {k: v for k, v in doc.items() if k != "data"}
        for event in doc["data"]:
            if isinstance(event, dict):
                yield top, event
        return
    if isinstance(doc.get("batch"), list):  # Events API 1.0 batch
        top = {"event_source_id": doc.get("pixel_code"), **{k: v for k, v in doc.items() if k != "batch"}}
        for event in doc["batch"]:
            if isinstance(event, dict):
                yield top, event
        return
    if "event" in doc:
        top = {"event_source_id": doc["pixel_code"]} if "pixel_code" in doc else {}
        yield top, doc


def _obj(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _first(value: object) -> str:
    """The value as sent: for arrays the first non-empty element, as text; "" when absent."""
    if isinstance(value, list):
        for item in value:
            if item not in (None, ""):
                return as_text(item)
        return ""
    return as_text(value)


def event_row(top: Mapping[str, Any], event: Mapping[str, Any], index: int) -> dict[str, Any]:
    """One SERVER_COLUMNS row from a body's top-level fields and one of its events."""
    user = _obj(event.get("user"))
    context = _obj(event.get("context"))
    if not user and isinstance(context.get("user"), dict):  # Events API 1.0 shape
        user = {**context["user"], "phone": context["user"].get("phone_number")}
        if isinstance(context.get("ad"), dict):
            user["ttclid"] = context["ad"].get("callback")
        user["ip"], user["user_agent"] = context.get("ip"), context.get("user_agent")
    props = _obj(event.get("properties"))
    page = _obj(event.get("page")) or _obj(context.get("page"))
    time_value = event.get("event_time", event.get("timestamp"))
    row: dict[str, Any] = {
        "pixel_code": _first(top.get("event_source_id") or top.get("pixel_code")),
        "event": _first(event.get("event")),
        "event_id": as_text(event.get("event_id"), strip=False),
        "event_time": parse_time(time_value),
        "source": "server",
        "url": _first(page.get("url")),
        "value": parse_number(props.get("value")),
        "currency": _first(props.get("currency")),
        "order_id": _first(props.get("order_id")),
        "test_event_code": _first(top.get("test_event_code")),
        "limited_data_use": bool(event.get("limited_data_use") is True),
        "index": index,
    }
    for key in IDENTIFIER_COLUMNS:
        row[key] = _first(user.get(key))
    return row


def server_frame(docs: Iterable[object]) -> pd.DataFrame:
    """A frame with SERVER_COLUMNS, one row per event across `docs` (bodies, bare events or lists)."""
    rows = [event_row(top, event, i) for i, (top, event) in
            enumerate(pair for doc in docs for pair in iter_events(doc))]
    return normalize_server_frame(pd.DataFrame(rows, columns=SERVER_COLUMNS))


def normalize_server_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Coerce a frame to SERVER_COLUMNS with their types, filling absent columns (vectorized)."""
    out = pd.DataFrame(index=df.index)
    for col in SERVER_COLUMNS:
        if col in df.columns:
            out[col] = df[col]
        elif col == "index":
            out[col] = range(len(df))
        else:
            out[col] = pd.NA
    for col in _STRING_COLUMNS:
        text = out[col].astype("string").fillna("")
        # event_id is compared exactly by TikTok: a stray space must stay visible to dedup's near-miss report
        out[col] = text if col == "event_id" else text.str.strip()
    out["source"] = "server"
    out["event_time"] = time_column(out["event_time"])
    out["value"] = (out["value"].astype("float64") if pd.api.types.is_float_dtype(out["value"].dtype)
                    else number_column(out["value"]))
    out["limited_data_use"] = (
        out["limited_data_use"].astype("string").str.strip().str.lower().isin(["true", "1", "yes"])
    ).astype(bool)
    out["index"] = pd.to_numeric(out["index"], errors="coerce").fillna(-1).astype("int64")
    return out.reset_index(drop=True)


def _read_csv(src: Source, columns: Collection[str] | None = None) -> pd.DataFrame:
    """The CSV as text-typed columns; with `columns` only the file's columns whose stripped name is one."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    header = src.header()
    # every text column typed as text: inference would turn an id like "007" into the number 7
    types: dict[str, Any] = {c: "string" for c in (*_STRING_COLUMNS, "event_source_id")}
    include: list[str] = []
    attempts = [types]
    if columns is not None:
        include = [h for h in header if h.strip() in columns]
        # Every projected column typed up front: inferring a type keeps the file's parsed blocks alive
        # (four times the memory). event_time as float64 is what inference gives when every value is a
        # number; otherwise the inferring read below runs as before.
        attempts.insert(0, {h: pa.float64() if h.strip() == "event_time" else pa.string() for h in include})
    try:
        for attempt, column_types in enumerate(attempts, start=1):
            try:
                table = pacsv.read_csv(src.csv_input(), convert_options=pacsv.ConvertOptions(
                    column_types=column_types, strings_can_be_null=False, include_columns=include))
                break
            except pa.ArrowInvalid:
                if attempt == len(attempts):
                    raise
        return table.to_pandas()
    except InvalidInput:
        raise
    except Exception as exc:  # pyarrow's errors name the row; fall back to pandas for odd dialects
        try:
            return pd.read_csv(src.csv_input(), dtype=str, keep_default_na=False, usecols=include or None)
        except Exception:
            raise InvalidFile(f"{src.name} is not a readable CSV: {exc}",
                              hint="Export as comma-separated UTF-8 with a header row.") from None


def _blank_absent(df: pd.DataFrame, keep: list[str]) -> pd.DataFrame:
    """Fill the SERVER_COLUMNS a projected load drops with what normalize_server_frame makes of an absent
    column ("", NaN, False), as cheap Arrow blanks instead of a million pd.NA objects each."""
    import pyarrow as pa

    n = len(df)
    blank = pd.array(pa.repeat(pa.scalar("", pa.large_string()), n), dtype=pd.StringDtype("pyarrow"))
    fill: dict[str, Any] = {}
    for col in SERVER_COLUMNS:
        if col in df.columns or col in keep or col == "index":
            continue
        fill[col] = np.full(n, np.nan) if col == "value" else blank
    return df.assign(**fill) if fill else df


def server_projection(columns: Iterable[str] | None) -> list[str]:
    """The SERVER_COLUMNS a loader returns for `columns` (None: all), in SERVER_COLUMNS order.

    The CSV's required columns (pixel_code, event, event_id, event_time) are always included; unknown
    names raise InvalidInput.
    """
    return projection(columns, SERVER_COLUMNS, (*CSV_REQUIRED, "pixel_code"), "server")


SHAPES_HINT = ('Expected v1.3 bodies ({"event_source": "web", "event_source_id": ..., "data": [events]}), '
               "bare events with an `event` field, Events API 1.0 bodies (pixel_code + batch), lists of "
               "these or JSONL, or a CSV with event_source_id, event, event_id and event_time columns.")


def _csv_frame(src: Source, keep: list[str], columns: Iterable[str] | None) -> pd.DataFrame:
    read = None if columns is None else {*keep, *(["event_source_id"] if "pixel_code" in keep else [])}
    df = _read_csv(src, read)
    df.columns = [str(c).strip() for c in df.columns]
    if "event_source_id" in df.columns and "pixel_code" not in df.columns:
        df = df.rename(columns={"event_source_id": "pixel_code"})
    missing = [c for c in (*CSV_REQUIRED, "pixel_code") if c not in df.columns]
    if missing:
        raise InvalidFile(
            f"{src.name} lacks the column(s) {', '.join(missing)}.",
            hint="A server-event CSV needs event_source_id, event, event_id and event_time columns.",
        )
    if columns is None:
        return normalize_server_frame(df)
    return normalize_server_frame(_blank_absent(df, keep))[keep]


def _read_server(source: SourceInput | Source, name: str | None, columns: Iterable[str] | None,
                 ) -> tuple[pd.DataFrame, list[dict[str, Any]] | None]:
    keep = server_projection(columns)
    src = open_source(source, name)
    src.require("json", "csv", what="JSON / JSONL bodies or a CSV of server events",
                hint=SHAPES_HINT)
    if src.format == "csv":
        frame, bodies = _csv_frame(src, keep, columns), None
    else:
        frame, bodies = server_side(parse_json_documents(src.read_bytes(), src.name, error=InvalidFile))
        frame = frame if columns is None else frame[keep]
    if frame.empty:
        raise InvalidFile(f"{src.name} holds no events in any shape the console reads for server events.",
                          hint=SHAPES_HINT)
    return frame, bodies


def load_server_events(source: SourceInput | Source, name: str | None = None, *,
                       columns: Iterable[str] | None = None) -> pd.DataFrame:
    """Server events from a path, bytes or an upload: JSON/JSONL v1.3 bodies or events, or a CSV of events.

    The input is sniffed once (gzip undone within the limits). CSV needs `event`, `event_id`, `event_time`
    and `event_source_id` (or `pixel_code`); other SERVER_COLUMNS are read when present. Raises
    InvalidFile naming what is missing, and when the input holds no event in any shape the console reads.
    With `columns` the frame holds only those (see server_projection), with the same values as a full
    load; a CSV then reads only those columns of the file (the dedup command needs six of twenty-two).
    """
    return _read_server(source, name, columns)[0]


def load_server_side(source: SourceInput | Source, name: str | None = None,
                     ) -> tuple[pd.DataFrame, list[dict[str, Any]] | None]:
    """load_server_events plus each event as sent (`server_side`'s bodies) for JSON input; None for a CSV."""
    return _read_server(source, name, None)


def server_side(docs: Iterable[object]) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Server rows for v1.3 `docs` (server_frame), plus each row's event as sent.

    The second item lines up with the frame's `index` column: entry i is `{**top, "data": [event]}` for
    the i-th event, so a diff can show the exact event TikTok received rather than a flattened row.
    """
    docs = list(docs)
    return server_frame(docs), [{**top, "data": [event]} for doc in docs for top, event in iter_events(doc)]
