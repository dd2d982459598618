"""Pixel events from exports: JSON / JSONL (wire bodies or flat rows) and CSV -> PIXEL_COLUMNS frames.

`load_pixel_events` is the one loader for Pixel input: it sniffs a path, bytes or an upload once
(core.sources.source) and hands HARs to core.sources.har, JSON and JSONL to `parse_pixel_json`, CSV to
`parse_pixel_csv`. Flat rows use PIXEL_COLUMNS names (or the aliases below); timestamps and numbers are
read by core.sources.values, the same rule as every other reader.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from core.errors import InvalidFile, InvalidInput
from core.sources.columns import projection, stripped
from core.sources.har import parse_har
from core.sources.jsondoc import parse_json, parse_json_documents
from core.sources.pixel_body import (
    _INT_COLUMNS,
    _STRING_COLUMNS,
    _USER_KEY_MAP,
    HASHABLE_KEYS,
    PIXEL_COLUMNS,
    PIXEL_KEY_COLUMNS,
    PixelImport,
    Skipped,
    UnusableHit,
    _compact,
    content_ids_of,
    content_type_of,
    dict_or_empty,
    pixel_event_from_body,
    pixel_frame,
    ttp_age_days,
)
from core.sources.source import Source, SourceInput, open_source
from core.sources.values import as_text, number_column, time_column

# Flat-row column aliases seen in exports (ours, Segment/RudderStack-like, server-style names).
_ALIASES = {
    "event_source_id": "pixel_code", "pixel_id": "pixel_code", "pixel": "pixel_code", "code": "pixel_code",
    "event_name": "event", "page_url": "url", "userAgent": "user_agent", "phone_number": "phone",
    "messageId": "message_id", "message id": "message_id",
}
FLAT_REQUIRED = ("pixel_code", "event", "timestamp")
FLAT_REQUIRED = ("pixel_code", "event", "timestamp")
FORMATS_HINT = "Upload a DevTools HAR, or Pixel events as JSON / JSONL / CSV."


def _is_wire_body(item: Mapping[str, Any]) -> bool:
    return isinstance(item.get("context"), dict) or ("message_id" in item and "pixel_code" not in item)


def _flat_user(row: dict[str, Any]) -> dict[str, Any]:
    """A flat export row whose `user` is a dict of keys, or a list/str of key names, spread into columns."""
    user = row.pop("user", None)
    if isinstance(user, str) and user.strip().startswith("{"):
        with contextlib.suppress(InvalidInput):
            user = parse_json(user, "the user column")
    if isinstance(user, dict):
        for raw_key, column in _USER_KEY_MAP.items():
            text = as_text(user.get(raw_key))
            if text and not row.get(column):
                row[column] = text
        for column in (*PIXEL_KEY_COLUMNS, "user_agent"):
            text = as_text(user.get(column))
            if text and not row.get(column):
                row[column] = text
    elif isinstance(user, list | str) and "user_keys" not in row:
        names = user if isinstance(user, list) else re.split(r"[,;| ]+", user)
        row["user_keys"] = ",".join(str(n).strip() for n in names if str(n).strip())
    props = row.get("properties")
    if isinstance(props, dict):  # flat exports often keep value/currency only inside properties
        for col in ("value", "currency", "order_id", "content_type"):
            if row.get(col) in (None, "") and props.get(col) not in (None, ""):
                row[col] = props[col]
        if row.get("content_type") in (None, ""):
            row["content_type"] = content_type_of(props)
        if not row.get("content_ids"):
            row["content_ids"] = ",".join(content_ids_of(props))
    for col in ("properties", "signal_diagnostic_labels", "identity_params"):
        if isinstance(row.get(col), dict | list):
            row[col] = _compact(row[col])
    return row


def pixel_projection(columns: Iterable[str] | None) -> list[str]:
    """The PIXEL_COLUMNS a loader returns for `columns` (None: all), in PIXEL_COLUMNS order.

    The columns that decide whether a row is kept (pixel_code, event, timestamp) and `entry` are always
    included, so a projected load keeps and skips exactly the rows a full load does. Raises
    InvalidInput naming unknown columns.
    """
    return projection(columns, PIXEL_COLUMNS, (*FLAT_REQUIRED, "entry"), "Pixel")


def _needed_columns(keep: list[str]) -> set[str]:
    """`keep` plus the columns its derived columns are computed from (user_keys, hashed_keys)."""
    needed = set(keep)
    if "user_keys" in needed:
        needed |= set(PIXEL_KEY_COLUMNS)
    if "hashed_keys" in needed:
        needed |= set(HASHABLE_KEYS)
    if "cookie_age_days" in needed:
        needed.add("ttp")  # a ULID `_ttp` says when the cookie was set
    return needed


def _canonical_columns(df: pd.DataFrame, name: str) -> pd.DataFrame:
    """Export columns renamed to PIXEL_COLUMNS names (aliases, event_time); InvalidFile names missing ones."""
    df = df.rename(columns={c: _ALIASES.get(str(c).strip(), str(c).strip()) for c in df.columns})
    if "timestamp" not in df.columns and "event_time" in df.columns:
        df = df.rename(columns={"event_time": "timestamp"})
    df = df.loc[:, ~df.columns.duplicated()]
    missing = [c for c in FLAT_REQUIRED if c not in df.columns]
    if missing:
        raise InvalidFile(
            f"{name} lacks the column(s) {', '.join(missing)}.",
            hint="A Pixel export needs pixel_code, event, event_id and timestamp (UTC ISO-8601 or epoch "
                 "seconds), or upload the DevTools HAR itself.",
        )
    return df.reset_index(drop=True)


def _text_columns(src: pd.DataFrame, needed: set[str], n: int) -> pd.DataFrame:
    out = pd.DataFrame(index=pd.RangeIndex(n))
    for col in _STRING_COLUMNS:
        if col not in needed:
            continue
        if col not in src.columns:
            out[col] = pd.Series([""] * n, dtype="string")
        elif col == "event_id":  # TikTok compares event_id exactly: a stray space is a real mismatch
            out[col] = src[col].astype("string").fillna("")
        else:
            out[col] = stripped(src[col])
    if "event_id" in needed:
        out["event_id"] = out["event_id"].str.replace(r"^(-?\d+)\.0$", r"\1", regex=True)
    if "source" in needed:
        out["source"] = pd.Series(["pixel"] * n, dtype="string")
    return out


def _derived_keys(out: pd.DataFrame, needed: set[str], n: int) -> None:
    """user_keys / hashed_keys: what the export says, else derived from the identifier columns present."""
    if "user_keys" in needed:
        derived = pd.Series([""] * n, dtype="string")
        for k in PIXEL_KEY_COLUMNS:
            derived = derived.where(out[k] == "", derived + "," + k)
        given = out["user_keys"].str.replace(r"[;| ]+", ",", regex=True).str.strip(",")
        out["user_keys"] = given.where(given != "", derived.str.lstrip(","))
    if "hashed_keys" in needed:
        hashed = pd.Series([""] * n, dtype="string")
        for k in HASHABLE_KEYS:
            is_hex = out[k].str.fullmatch(r"[A-Fa-f0-9]{64}").fillna(False).astype(bool)
            hashed = hashed.where(~is_hex, hashed + "," + k)
        out["hashed_keys"] = out["hashed_keys"].where(out["hashed_keys"] != "", hashed.str.lstrip(","))


def _ttp_ages(ttp: pd.Series, timestamp: pd.Series) -> pd.Series:
    """Cookie age in days from ULID-shaped `_ttp` values (core.sources.pixel_body.ttp_age_days), per row."""
    ages = [ttp_age_days(str(t), float(ts)) if t else float("nan")
            for t, ts in zip(ttp.tolist(), timestamp.tolist(), strict=True)]
    return pd.Series(ages, index=ttp.index, dtype="float64")


def _bad_rows(out: pd.DataFrame, raw_time: pd.Series) -> tuple[pd.Series, list[Skipped]]:
    """Rows without a pixel code, an event name or a readable timestamp, and a Skipped for each."""
    bad = (out["pixel_code"] == "") | (out["event"] == "") | out["timestamp"].isna()
    skipped: list[Skipped] = []
    for i in bad[bad].index[:100_000]:  # only the bad rows are visited
        row = out.loc[i]
        why = ("no pixel code" if row["pixel_code"] == "" else "no event name" if row["event"] == ""
               else f"timestamp {str(raw_time.iloc[i])!r} is not ISO-8601 or epoch seconds")
        url = str(row["url"]) if "url" in out.columns else ""
        skipped.append(Skipped(int(row["entry"]), url, f"row {i + 1}: {why}", "bad_row"))
    return bad, skipped


def normalize_pixel_frame(df: pd.DataFrame, *, name: str = "input",
                          columns: Iterable[str] | None = None) -> tuple[pd.DataFrame, list[Skipped]]:
    """Coerce an export frame (flat Pixel rows) to PIXEL_COLUMNS, vectorized; bad rows are skipped.

    Needs `pixel_code` (or `event_source_id`), `event` and `timestamp` (or `event_time`) columns, else
    InvalidFile naming the missing ones. Timestamps are read by core.sources.values.time_column (ISO 8601,
    epoch seconds / ms / us / ns). Rows without a pixel code, an event name or a readable timestamp are
    skipped with the reason. With `columns` only those (see pixel_projection) are built and returned: the
    same rows and values as a full load, less work and memory; a skipped row's url is "" unless `url` is
    among them.
    """
    keep = pixel_projection(columns)
    needed = _needed_columns(keep)
    src = _canonical_columns(df, name)
    n = len(src)
    out = _text_columns(src, needed, n)
    raw_time = src["timestamp"]
    out["timestamp"] = time_column(raw_time)
    for col in ("value", "cookie_age_days", "page_load_s"):
        if col in needed:
            out[col] = number_column(src[col]) if col in src.columns else float("nan")
    if "cookie_age_days" in needed and "ttp" in out.columns and out["cookie_age_days"].isna().any():
        from_ttp = _ttp_ages(out["ttp"], out["timestamp"])
        out["cookie_age_days"] = out["cookie_age_days"].fillna(from_ttp)
    for col in _INT_COLUMNS:
        if col in needed:
            out[col] = (pd.to_numeric(src[col], errors="coerce").fillna(0).astype("int64") if col in src.columns
                        else (pd.Series(range(n), dtype="int64") if col == "entry" else 0))
    _derived_keys(out, needed, n)
    bad, skipped = _bad_rows(out, raw_time)
    if not skipped and not bad.any():  # nothing to drop: no copy of a million rows
        return out[keep], skipped
    return out.loc[~bad, keep].reset_index(drop=True), skipped


def _items(doc: object) -> tuple[list[Any], list[Skipped]]:
    """The event items of one parsed JSON document and any skipped list it carries (our own export)."""
    if isinstance(doc, list):
        return doc, []
    if isinstance(doc, dict) and isinstance(doc.get("events"), list):
        carried = [Skipped(int(s.get("entry", -1)), str(s.get("url", "")), str(s.get("reason", "")),
                           str(s.get("kind", "malformed")))
                   for s in doc.get("skipped") or [] if isinstance(s, dict)]
        return doc["events"], carried
    return [doc], []


def _rows_from_items(items: list[Any], name: str, fmt: str) -> PixelImport:
    wire_rows: list[dict[str, Any]] = []
    flat: list[dict[str, Any]] = []
    skipped: list[Skipped] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            skipped.append(Skipped(index, "", f"item {index + 1} is a JSON {type(item).__name__}, "
                                              "not an object", "malformed"))
            continue
        if _is_wire_body(item):
            try:
                wire_rows.extend(pixel_event_from_body(item, entry=index, url=""))
            except UnusableHit as exc:
                url = as_text(dict_or_empty(dict_or_empty(item.get("context")).get("page")).get("url"))
                skipped.append(Skipped(index, url, exc.message, exc.kind))
        else:
            flat.append({"entry": index, **_flat_user(dict(item))})
    frames = [pixel_frame(wire_rows)] if wire_rows else []
    if flat:
        frame, bad = normalize_pixel_frame(pd.DataFrame(flat), name=name)
        frames.append(frame)
        skipped.extend(bad)
    events = (pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]) if frames \
        else pixel_frame([])
    events = events.sort_values("entry", kind="stable").reset_index(drop=True)  # input order, fan-out kept
    return PixelImport(events, skipped, fmt, len(items))


def _text_bytes(text: str, name: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidFile(f"{name} holds text that is not valid Unicode at character {exc.start + 1}.",
                          hint="Save the text as UTF-8 and give it again.") from None


def parse_pixel_json(source: SourceInput | Source, *, name: str | None = None) -> PixelImport:
    """Pixel events from JSON (array, `{"events": [...]}`, one body) or JSONL: a path, bytes, an upload or text.

    Items may be Pixel wire bodies (contract §6.3, fanned out per pixel code) or already-flat rows
    (PIXEL_COLUMNS names; `user` may be a dict of keys). A str starting with `{`/`[` is JSON text,
    otherwise a path. Raises InvalidFile for unreadable text (limits: LimitExceeded) and naming missing
    columns of flat rows.
    """
    if isinstance(source, str) and source.lstrip("\ufeff \t\r\n").startswith(("{", "[")):
        source = _text_bytes(source, name or "input")
    src = open_source(source, name or ("input" if isinstance(source, bytes) else None))
    if src.format == "har":
        return parse_har(src)
    label = src.name
    docs = parse_json_documents(src.read_bytes(), label, error=InvalidFile)
    items: list[Any] = []
    carried: list[Skipped] = []
    for doc in docs:
        found, skips = _items(doc)
        items.extend(found)
        carried.extend(skips)
    result = _rows_from_items(items, label, "jsonl" if len(docs) > 1 else "json")
    result.skipped[:0] = carried
    return result


def _csv_read_columns(header: list[str], keep: list[str]) -> list[str] | None:
    """The header's columns a projected load needs (aliases and `user`/`event_time` included)."""
    needed = _needed_columns(keep)
    has_timestamp = any(_ALIASES.get(h.strip(), h.strip()) == "timestamp" for h in header)
    picked = []
    for h in header:
        canon = _ALIASES.get(h.strip(), h.strip())
        if canon == "user" and "user_keys" not in header:
            canon = "user_keys"
        if canon == "event_time" and not has_timestamp:
            canon = "timestamp"
        if canon in needed or h == "event_id":
            picked.append(h)
    return list(dict.fromkeys(picked))


def _read_csv_frame(src: Source, header: list[str], include: list[str] | None) -> pd.DataFrame:
    """The CSV as text columns (pyarrow; pandas' python engine for ragged rows); InvalidFile when unreadable."""
    try:
        import pyarrow as pa
        import pyarrow.csv as pacsv

        table = pacsv.read_csv(src.csv_input(), convert_options=pacsv.ConvertOptions(
            column_types={c: pa.string() for c in header}, strings_can_be_null=False,
            include_columns=include or []))
        df = table.to_pandas()
        del table
        return df
    except InvalidInput:
        raise
    except Exception as exc:  # pyarrow is strict about ragged rows; pandas' python engine names them
        try:
            return pd.read_csv(src.csv_input(), dtype=str, keep_default_na=False, encoding="utf-8-sig")
        except Exception:
            raise InvalidFile(f"{src.name} is not a readable CSV: {exc}",
                              hint="Export comma-separated UTF-8 with one header row.") from None


def parse_pixel_csv(source: SourceInput | Source, *, name: str | None = None,
                    columns: Iterable[str] | None = None) -> PixelImport:
    """Pixel events from a CSV export with PIXEL_COLUMNS names, read and coerced vectorized (pyarrow).

    Every column is read as text first (ids and phone numbers keep leading zeros), then typed.
    Needs pixel_code (or event_source_id), event and timestamp columns; InvalidFile names missing ones.
    With `columns` (see pixel_projection) only the file's columns those need are read: same rows and
    values for them, far less memory (the dedup command reads six of thirty columns this way).
    """
    keep = pixel_projection(columns)
    src = open_source(source, name)
    if src.format == "empty":
        raise InvalidFile(f"{src.name} is empty.", hint="Export the Pixel events with a header row.")
    header = src.header()
    include = _csv_read_columns(header, keep) if columns is not None else None
    df = _read_csv_frame(src, header, include)
    if "user" in df.columns and "user_keys" not in df.columns:
        df = df.rename(columns={"user": "user_keys"})
    notes = [] if "event_id" in df.columns else [
        "No event_id column: every Pixel event counts as sent without an event_id, so none can deduplicate "
        "against a server event."]
    rows = len(df)
    events, skipped = normalize_pixel_frame(df, name=src.name, columns=columns)
    return PixelImport(events, skipped, "csv", rows, notes)


def load_pixel_events(source: SourceInput | Source, name: str | None = None, *,
                      columns: Iterable[str] | None = None) -> PixelImport:
    """Read Pixel events from a HAR, JSON, JSONL or CSV input (gzip-compressed or not), sniffing it once.

    `source` is a path, bytes, or a binary file object (e.g. Streamlit's UploadedFile, whose `.name` is
    used). HARs are streamed; others are read once; every reader applies the limits. Raises InvalidFile
    for a missing, empty or unrecognised input (naming the formats the console reads), and when the input
    holds no Pixel event in any of those shapes. With `columns` the events frame holds only those (see
    pixel_projection); a CSV then reads only the file's columns they need.
    """
    keep = pixel_projection(columns)
    src = open_source(source, name)
    src.require("har", "json", "csv", what="a HAR, JSON, JSONL or CSV file",
                hint=FORMATS_HINT)
    if src.format == "csv":
        return parse_pixel_csv(src, columns=columns)
    result = parse_har(src) if src.format == "har" else parse_pixel_json(src)
    if result.format != "har" and result.events.empty and all(s.kind == "malformed" for s in result.skipped):
        raise InvalidFile(f"{src.name} holds no events in any shape the console reads for Pixel events.",
                          hint="Expected a DevTools HAR, Pixel wire bodies ({\"event\", \"context\": "
                               "{\"pixel\": ...}}) or flat rows with pixel_code, event and timestamp, as "
                               "a JSON array, {\"events\": [...]} or JSONL.")
    if columns is not None:
        result.events = result.events[keep]
    return result
