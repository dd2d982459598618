"""Server events as rows: Events API bodies (JSON, JSONL, CSV) -> one frame that dedup and quality read.

A row is one `data[]` event as it was (or would be) sent: identifiers are the values on the wire
(hashed hex for email/phone/external_id), never raw PII kept by the console.
"""

from __future__ import annotations

import csv
import json
import math
import tempfile
from collections.abc import Collection, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.columns import projection
from core.contract import MS_TIMESTAMP_THRESHOLD
from core.errors import InvalidFile

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


def parse_documents(text: str, name: str = "input") -> list[object]:
    """Parse JSON (one document) or JSONL (one document per line); InvalidFile names the bad line.

    Blank lines in JSONL are skipped; a JSON array stays one document (a list of events or bodies).
    """
    stripped = text.strip()
    if not stripped:
        raise InvalidFile(f"{name} is empty.", hint="Paste or upload a v1.3 body, or JSONL of bodies.")
    try:
        return [json.loads(stripped)]
    except json.JSONDecodeError as first_error:
        docs: list[object] = []
        lines = stripped.splitlines()
        if len(lines) == 1:
            raise InvalidFile(
                f"{name} is not valid JSON: {first_error.msg} at line {first_error.lineno}, "
                f"column {first_error.colno}.",
                hint="Check for a missing comma, quote or bracket near that spot.",
            ) from None
        for lineno, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                docs.append(json.loads(line))
            except json.JSONDecodeError as exc:
                if lineno == 1 or not docs:
                    raise InvalidFile(
                        f"{name} is neither JSON nor JSONL: {first_error.msg} at line "
                        f"{first_error.lineno}, column {first_error.colno}.",
                        hint="Check for a missing comma, quote or bracket near that spot.",
                    ) from None
                raise InvalidFile(
                    f"{name} line {lineno} is not valid JSON: {exc.msg} at column {exc.colno}.",
                    hint="JSONL needs one complete JSON document per line.",
                ) from None
        return docs


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
                return str(item).strip()
        return ""
    if value is None:
        return ""
    return str(value).strip()


def _seconds(value: object) -> float:
    """event_time as float UTC seconds: numbers and digit strings; milliseconds converted; NaN otherwise."""
    if isinstance(value, bool) or value is None:
        return math.nan
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str) and value.strip():
        try:
            number = float(value.strip())
        except ValueError:
            try:
                return float(pd.Timestamp(value.strip()).timestamp())
            except (ValueError, TypeError):
                return math.nan
    else:
        return math.nan
    return number / 1000.0 if number > MS_TIMESTAMP_THRESHOLD else number


def _number(value: object) -> float:
    if isinstance(value, bool) or value is None:
        return math.nan
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


def _event_id(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


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
        "event_id": _event_id(event.get("event_id")),
        "event_time": _seconds(time_value),
        "source": "server",
        "url": _first(page.get("url")),
        "value": _number(props.get("value")),
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
    times = pd.to_numeric(out["event_time"], errors="coerce").astype("float64")
    out["event_time"] = times.where(~(times > MS_TIMESTAMP_THRESHOLD), times / 1000.0)
    out["value"] = pd.to_numeric(out["value"], errors="coerce").astype("float64")
    out["limited_data_use"] = (
        out["limited_data_use"].astype("string").str.strip().str.lower().isin(["true", "1", "yes"])
    ).astype(bool)
    out["index"] = pd.to_numeric(out["index"], errors="coerce").fillna(-1).astype("int64")
    return out.reset_index(drop=True)


def _read_csv(path: Path, columns: Collection[str] | None = None) -> pd.DataFrame:
    """The CSV as text-typed columns; with `columns` only the file's columns whose stripped name is one."""
    import pyarrow as pa

    # every text column typed as text: inference would turn an id like "007" into the number 7
    types: dict[str, Any] = {c: "string" for c in (*_STRING_COLUMNS, "event_source_id")}
    include: list[str] = []
    attempts = [types]
    if columns is not None:
        with path.open(encoding="utf-8-sig", errors="replace", newline="") as fh:
            header = next(csv.reader([fh.readline()]), [])
        include = [h for h in header if h.strip() in columns]
        # Every projected column typed up front: inferring a type keeps the file's parsed blocks alive
        # (four times the memory). event_time as float64 is what inference gives when every value is a
        # number; otherwise the inferring read below runs as before.
        attempts.insert(0, {h: pa.float64() if h.strip() == "event_time" else pa.string() for h in include})
    try:
        import pyarrow.csv as pacsv

        for attempt, column_types in enumerate(attempts, start=1):
            try:
                table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
                    column_types=column_types, strings_can_be_null=False, include_columns=include))
                break
            except pa.ArrowInvalid:
                if attempt == len(attempts):
                    raise
        return table.to_pandas()
    except Exception as exc:  # pyarrow's errors name the row; fall back to pandas for odd dialects
        try:
            return pd.read_csv(path, dtype=str, keep_default_na=False,
                               usecols=include or None)
        except Exception:
            raise InvalidFile(f"{path.name} is not a readable CSV: {exc}",
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


def load_server_events(path: str | Path, *, columns: Iterable[str] | None = None) -> pd.DataFrame:
    """Server events from a file: JSON/JSONL v1.3 bodies or events, or CSV with event columns.

    CSV needs `event`, `event_id`, `event_time` and `event_source_id` (or `pixel_code`); other
    SERVER_COLUMNS are read when present. Raises InvalidFile naming what is missing. With `columns`
    the frame holds only those (see server_projection), with the same values as a full load; a CSV then
    reads only those columns of the file (the dedup command needs six of twenty-two).
    """
    keep = server_projection(columns)
    p = Path(path)
    if not p.is_file():
        raise InvalidFile(f"{p}: no such file.", hint="Check the path.")
    if p.suffix.lower() == ".csv":
        read = None if columns is None else {*keep, *(["event_source_id"] if "pixel_code" in keep else [])}
        df = _read_csv(p, read)
        df.columns = [str(c).strip() for c in df.columns]
        if "event_source_id" in df.columns and "pixel_code" not in df.columns:
            df = df.rename(columns={"event_source_id": "pixel_code"})
        missing = [c for c in (*CSV_REQUIRED, "pixel_code") if c not in df.columns]
        if missing:
            raise InvalidFile(
                f"{p.name} lacks the column(s) {', '.join(missing)}.",
                hint="A server-event CSV needs event_source_id, event, event_id and event_time columns.",
            )
        if columns is None:
            return normalize_server_frame(df)
        return normalize_server_frame(_blank_absent(df, keep))[keep]
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidFile(f"{p.name} is not UTF-8 text.", hint="Export it as UTF-8 JSON or CSV.") from None
    frame = server_frame(parse_documents(text, p.name))
    return frame if columns is None else frame[keep]


# --- uploads, for the Compare and Dedup gap pages --------------------------------------------------
def server_side(docs: Iterable[object]) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Server rows for v1.3 `docs` (server_frame), plus each row's event as sent.

    The second item lines up with the frame's `index` column: entry i is `{**top, "data": [event]}` for
    the i-th event, so a diff can show the exact event TikTok received rather than a flattened row.
    """
    docs = list(docs)
    return server_frame(docs), [{**top, "data": [event]} for doc in docs for top, event in iter_events(doc)]


def load_server_upload(data: bytes, name: str) -> tuple[pd.DataFrame, list[dict[str, Any]] | None]:
    """Server rows from uploaded bytes named `name`: a CSV of events, or v1.3 JSON / JSONL bodies.

    JSON / JSONL returns `server_side`'s pair (undecodable bytes become U+FFFD, so the parser names the
    spot); a CSV returns no bodies. Raises InvalidFile naming what is wrong.
    """
    if not name.lower().endswith(".csv"):
        return server_side(parse_documents(data.decode("utf-8-sig", errors="replace"), name))
    with tempfile.TemporaryDirectory() as tmp:  # load_server_events reads CSV from a path (pyarrow)
        path = Path(tmp) / "server.csv"
        path.write_bytes(data)
        return load_server_events(path), None
