"""Browser Pixel events as rows: Pixel wire bodies and JSON / JSONL / CSV exports -> PIXEL_COLUMNS frames.

TikTok (contract §6.3): the Pixel sends one JSON body per event. An `/act` hit may carry several pixel
codes (`context.pixel.codes = "C1|C2"`): it is one event per code. The internal `EnrichAM` probe is not
an event. DevTools HARs are read by core.har, which finds the bodies and builds rows here;
`load_pixel_events` sniffs the format and hands HARs to it.

Decisions where the contract is silent or UNSURE (documented here, tested in tests/test_pixel.py):
- `/act` hits without `event` but with `action` ("Click" with a trigger element, "Pf" with
  `page_trigger: "PageView"`) are auto-collected interactions, not `ttq.track`/`ttq.page` events: they
  carry no event_id, never deduplicate against a server event, and a "Pf"/PageView one would double-count
  the Pageview the Pixel already sent to `/api/v2/pixel`. They are skipped with kind `action_only`.
- ttp comes only from the body (`context.user.anonymous_id` / `ttp`); cookies of a request to
  analytics.tiktok.com are TikTok's third-party ones, not the site's first-party `_ttp`.
- ttclid comes from `context.ad.callback` (1.0-era builds), else the page URL's `ttclid` query parameter.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Literal
from urllib.parse import parse_qs, unquote, urlsplit

import pandas as pd

from core.columns import projection, stripped
from core.contract import MS_TIMESTAMP_THRESHOLD
from core.errors import InvalidFile, InvalidPayload
from core.identity import is_sha256

PIXEL_COLUMNS = [
    "pixel_code", "event", "event_id", "timestamp", "source", "url", "referrer", "message_id",
    "user_keys", "hashed_keys", "email", "phone", "external_id", "ttp", "ttclid", "user_agent",
    "value", "currency", "order_id", "content_ids", "content_type", "properties",
    "signal_diagnostic_labels", "identity_params", "action", "endpoint", "library", "partner",
    "http_status", "entry",
]
_FLOAT_COLUMNS = ("timestamp", "value")
_INT_COLUMNS = ("http_status", "entry")
_STRING_COLUMNS = [c for c in PIXEL_COLUMNS if c not in (*_FLOAT_COLUMNS, *_INT_COLUMNS)]
# Match keys a Pixel row can carry, in the server frame's names (core.events.SERVER_COLUMNS).
PIXEL_KEY_COLUMNS = ("email", "phone", "external_id", "ttp", "ttclid")
HASHABLE_KEYS = ("email", "phone", "external_id")
# context.user key -> our column; sha256_* are ttq.identify's pre-hashed spellings (contract §6.1).
_USER_KEY_MAP = {
    "email": "email", "sha256_email": "email", "phone_number": "phone", "sha256_phone_number": "phone",
    "phone": "phone", "external_id": "external_id", "anonymous_id": "ttp", "ttp": "ttp", "ttclid": "ttclid",
}
# Flat-row column aliases seen in exports (ours, Segment/RudderStack-like, server-style names).
_ALIASES = {
    "event_source_id": "pixel_code", "pixel_id": "pixel_code", "pixel": "pixel_code", "code": "pixel_code",
    "event_name": "event", "page_url": "url", "userAgent": "user_agent", "phone_number": "phone",
    "messageId": "message_id", "message id": "message_id",
}
FLAT_REQUIRED = ("pixel_code", "event", "timestamp")
_INTERNAL_EVENTS = {"EnrichAM": "EnrichAM is the Pixel's internal advanced-matching probe, not an event"}

SkipKind = Literal[
    "telemetry", "loader", "internal", "malformed", "no_body", "no_pixel_code", "no_event", "action_only",
    "bad_row", "other_tiktok", "redirect",
]


@dataclass(slots=True)
class Skipped:
    """One request (HAR entry) or row that was not turned into a Pixel event, and why.

    `entry` is the 0-based HAR entry or input row; `kind` a stable code for tests and counts.
    """

    entry: int
    url: str
    reason: str
    kind: str = "malformed"


@dataclass(slots=True)
class PixelImport:
    """The Pixel events found in one input plus everything skipped, with the format that was read.

    `events` has PIXEL_COLUMNS; `entries` counts HAR entries (or input items/rows) scanned; `notes`
    holds file-level remarks (e.g. "no event_id column") the page and CLI show.
    """

    events: pd.DataFrame
    skipped: list[Skipped]
    format: str
    entries: int = 0
    notes: list[str] = field(default_factory=list)

    def skipped_frame(self) -> pd.DataFrame:
        """The skipped list as a frame (entry, kind, url, reason) for display."""
        return pd.DataFrame([asdict(s) for s in self.skipped], columns=["entry", "kind", "url", "reason"])

    def skipped_counts(self) -> dict[str, int]:
        """How many were skipped per kind."""
        counts: dict[str, int] = {}
        for s in self.skipped:
            counts[s.kind] = counts.get(s.kind, 0) + 1
        return counts

    def as_dict(self) -> dict[str, Any]:
        """`{"format", "entries", "events": [...], "skipped": [...], "notes"}`, JSON-ready (NaN -> null)."""
        return {
            "format": self.format,
            "entries": self.entries,
            "events": frame_records(self.events),
            "skipped": [asdict(s) for s in self.skipped],
            "notes": list(self.notes),
        }


class UnusableHit(InvalidPayload):
    """A Pixel body that yields no event; `kind` is the Skipped kind (EnrichAM, no pixel code, ...)."""

    def __init__(self, message: str, kind: SkipKind) -> None:
        super().__init__(message)
        self.kind: SkipKind = kind


# --- small value readers -------------------------------------------------------------------------
def as_text(value: object, *, strip: bool = True) -> str:
    """A scalar as text ("" for None); integral floats without ".0" (ids arrive as numbers)."""
    if value is None or isinstance(value, dict | list):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value).strip() if strip else str(value)


def parse_timestamp(value: object) -> float:
    """A Pixel timestamp as float UTC epoch seconds; NaN when absent or unreadable.

    TikTok: the Pixel sends ISO-8601 with milliseconds and `Z` ("2026-06-29T17:47:07.730Z"); exports
    may hold epoch seconds or milliseconds (values above 10^11 are milliseconds).
    """
    if value is None or isinstance(value, bool):
        return math.nan
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = str(value).strip()
        if not text:
            return math.nan
        try:
            number = float(text)
        except ValueError:
            try:
                parsed = datetime.fromisoformat(text.replace("z", "Z"))
            except ValueError:
                return math.nan
            if parsed.tzinfo is None:  # a naive stamp is taken as UTC, the Pixel's own zone
                parsed = parsed.replace(tzinfo=UTC)
            return parsed.timestamp()
    if not math.isfinite(number):
        return math.nan
    return number / 1000.0 if number > MS_TIMESTAMP_THRESHOLD else number


def parse_number(value: object) -> float:
    """properties.value as float; TikTok's Pixel may send it as a string ("99.95")."""
    if value is None or isinstance(value, bool):
        return math.nan
    try:
        number = float(str(value).strip()) if isinstance(value, str) else float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
    return number if math.isfinite(number) else math.nan


def _compact(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=str)


def content_ids_of(props: Mapping[str, Any]) -> list[str]:
    """Content ids from `contents[].content_id`, else `content_ids`, else a flat `content_id`."""
    contents = props.get("contents")
    if isinstance(contents, list):
        ids = [as_text(c.get("content_id")) for c in contents if isinstance(c, dict)]
        ids = [i for i in ids if i]
        if ids:
            return ids
    raw = props.get("content_ids")
    if isinstance(raw, list):
        return [t for t in (as_text(v) for v in raw) if t]
    if raw not in (None, ""):
        return [as_text(raw)]
    single = as_text(props.get("content_id"))
    return [single] if single else []


def _decode_url(url: str) -> str:
    """Older Pixel builds URL-encode page.url ("https%3A%2F%2F..."); decode those only."""
    return unquote(url) if re.match(r"^https?%3A", url, re.IGNORECASE) else url


def _query_param(url: str, name: str) -> str:
    try:
        values = parse_qs(urlsplit(url).query).get(name)
    except ValueError:
        return ""
    return values[0] if values else ""


def dict_or_empty(value: object) -> dict[str, Any]:
    """`value` when it is a JSON object, else an empty dict (a missing or malformed section reads as empty)."""
    return value if isinstance(value, dict) else {}


# --- one body -> rows ----------------------------------------------------------------------------
def pixel_event_from_body(
    body: dict[str, Any], *, entry: int, url: str, user_agent: str = "", endpoint: str = "",
    http_status: int = 0,
) -> list[dict[str, Any]]:
    """Turn one Pixel wire body into Pixel rows: one per pixel code (the `/act` fan-out).

    Contract: rows have every PIXEL_COLUMNS key; event names are kept exactly (case matters to TikTok);
    `event_id` is "" when unset; `timestamp` is float UTC epoch seconds. Raises UnusableHit (an
    InvalidPayload) with a kind for bodies that are no event: EnrichAM, no pixel code, no event name.
    TikTok: `context.pixel.codes = "C1|C2"` means the same event for each pixel (contract §6.3).
    """
    if not isinstance(body, dict):
        raise UnusableHit(f"body is a JSON {type(body).__name__}, not an object", "malformed")
    context = dict_or_empty(body.get("context"))
    event = body.get("event")
    event_name = event if isinstance(event, str) else as_text(event)
    if event_name in _INTERNAL_EVENTS:
        raise UnusableHit(_INTERNAL_EVENTS[event_name], "internal")
    pixel = dict_or_empty(context.get("pixel"))
    codes: list[str] = []
    for raw in (pixel.get("code"), *str(pixel.get("codes") or "").split("|"),
                body.get("pixel_code"), body.get("sdkid")):
        code = as_text(raw)
        if code and code not in codes:
            codes.append(code)
    if not codes:
        raise UnusableHit("no pixel code (context.pixel.code / codes): TikTok treats the hit as invalid",
                          "no_pixel_code")
    if not event_name.strip():
        action = as_text(body.get("action"))
        if action:
            trigger = as_text(body.get("page_trigger") or dict_or_empty(body.get("auto_collected_properties")).get(
                "page_trigger"))
            detail = f", page_trigger {trigger!r}" if trigger else ""
            raise UnusableHit(
                f"auto-collected action {action!r}{detail} without an event name: no event_id, "
                "never deduplicates against a server event", "action_only")
        raise UnusableHit("no event name", "no_event")

    page = dict_or_empty(context.get("page"))
    user = dict_or_empty(context.get("user"))
    ad = dict_or_empty(context.get("ad"))
    props = dict_or_empty(body.get("properties"))
    library = dict_or_empty(context.get("library"))
    page_url = _decode_url(as_text(page.get("url")))
    keys: dict[str, str] = {}
    for raw_key, column in _USER_KEY_MAP.items():
        value = user.get(raw_key)
        if isinstance(value, list):  # identify() accepts arrays; the first value is what matches first
            value = next((v for v in value if v not in (None, "")), None)
        text = as_text(value)
        if text and column not in keys:
            keys[column] = text
    if "ttclid" not in keys:
        ttclid = as_text(ad.get("callback")) or _query_param(page_url, "ttclid")
        if ttclid:
            keys["ttclid"] = ttclid
    hashed = [k for k in HASHABLE_KEYS if k in keys and is_sha256(keys[k])]
    labels = body.get("signal_diagnostic_labels")
    inspection = dict_or_empty(body.get("_inspection")).get("identity_params")
    ids = content_ids_of(props)
    base: dict[str, Any] = {
        "event": event_name,
        "event_id": as_text(body.get("event_id"), strip=False),
        "timestamp": parse_timestamp(body.get("timestamp")),
        "source": "pixel",
        "url": page_url,
        "referrer": _decode_url(as_text(page.get("referrer"))),
        "message_id": as_text(body.get("message_id")),
        "user_keys": ",".join(k for k in PIXEL_KEY_COLUMNS if k in keys),
        "hashed_keys": ",".join(hashed),
        **{k: keys.get(k, "") for k in PIXEL_KEY_COLUMNS},
        "user_agent": as_text(context.get("userAgent") or context.get("user_agent")) or user_agent,
        "value": parse_number(props.get("value")),
        "currency": as_text(props.get("currency")),
        "order_id": as_text(props.get("order_id")),
        "content_ids": ",".join(ids),
        "content_type": as_text(props.get("content_type")),
        "properties": _compact(props),
        "signal_diagnostic_labels": _compact(labels) if isinstance(labels, dict) else "",
        "identity_params": _compact(inspection) if isinstance(inspection, dict) else "",
        "action": as_text(body.get("action")),
        "endpoint": endpoint,
        "library": " ".join(t for t in (as_text(library.get("name")), as_text(library.get("version"))) if t),
        "partner": as_text(body.get("partner") or context.get("partner")),
        "http_status": int(http_status),
        "entry": int(entry),
    }
    return [{"pixel_code": code, **base} for code in codes]


def pixel_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Rows (dicts with PIXEL_COLUMNS keys) -> a typed frame; an empty input gives an empty typed frame."""
    df = pd.DataFrame(list(rows), columns=PIXEL_COLUMNS)
    for col in _STRING_COLUMNS:
        df[col] = df[col].astype("string").fillna("")
    for col in _FLOAT_COLUMNS:
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
    for col in _INT_COLUMNS:
        df[col] = pd.to_numeric(df[col], errors="coerce").fillna(0).astype("int64")
    return df


def frame_records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame as JSON-ready records: NaN/NA -> None, numpy scalars -> Python."""
    out: list[dict[str, Any]] = json.loads(df.to_json(orient="records", force_ascii=False))
    return out


def iter_rows(df: pd.DataFrame) -> Iterator[dict[str, Any]]:
    """Rows of a frame as dicts (for small frames: a picked pair, a page of the table)."""
    for record in df.to_dict(orient="records"):
        yield {str(k): v for k, v in record.items()}


# --- JSON / JSONL / CSV exports ------------------------------------------------------------------
def _is_wire_body(item: Mapping[str, Any]) -> bool:
    return isinstance(item.get("context"), dict) or ("message_id" in item and "pixel_code" not in item)


def _flat_user(row: dict[str, Any]) -> dict[str, Any]:
    """A flat export row whose `user` is a dict of keys, or a list/str of key names, spread into columns."""
    user = row.pop("user", None)
    if isinstance(user, str) and user.strip().startswith("{"):
        with contextlib.suppress(json.JSONDecodeError):
            user = json.loads(user)
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
    return needed


def normalize_pixel_frame(df: pd.DataFrame, *, name: str = "input",
                          columns: Iterable[str] | None = None) -> tuple[pd.DataFrame, list[Skipped]]:
    """Coerce an export frame (flat Pixel rows) to PIXEL_COLUMNS, vectorized; bad rows are skipped.

    Needs `pixel_code` (or `event_source_id`), `event` and `timestamp` (or `event_time`) columns, else
    InvalidFile naming the missing ones. Timestamps may be ISO-8601 or epoch seconds/milliseconds.
    Rows without a pixel code, an event name or a readable timestamp are skipped with the reason.
    With `columns` only those (see pixel_projection) are built and returned: the same rows and values as
    a full load, less work and memory; a skipped row's url is "" unless `url` is among them.
    """
    keep = pixel_projection(columns)
    needed = _needed_columns(keep)
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
    n = len(df)
    out = pd.DataFrame(index=pd.RangeIndex(n))
    src = df.reset_index(drop=True)
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
    raw_time = src["timestamp"]
    numeric = pd.to_numeric(raw_time, errors="coerce").astype("float64")
    numeric = numeric.where(~(numeric > MS_TIMESTAMP_THRESHOLD), numeric / 1000.0)
    needs_parse = numeric.isna() & raw_time.notna() & (raw_time.astype("string").str.strip() != "")
    if needs_parse.any():
        parsed = pd.to_datetime(raw_time[needs_parse].astype("string"), utc=True, errors="coerce",
                                format="ISO8601")
        seconds = (parsed - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)
        numeric.loc[needs_parse] = seconds.astype("float64").round(6)  # timedelta division drifts by 1 ulp
    out["timestamp"] = numeric
    if "value" in needed:
        out["value"] = (pd.to_numeric(src["value"].astype("string").str.strip(), errors="coerce")
                        .astype("float64") if "value" in src.columns else math.nan)
    for col in _INT_COLUMNS:
        if col in needed:
            out[col] = (pd.to_numeric(src[col], errors="coerce").fillna(0).astype("int64") if col in src.columns
                        else (pd.Series(range(n), dtype="int64") if col == "entry" else 0))
    # user_keys / hashed_keys: what the export says, else derived from the identifier columns present
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
    bad = (out["pixel_code"] == "") | (out["event"] == "") | out["timestamp"].isna()
    skipped: list[Skipped] = []
    if bad.any():
        for i in bad[bad].index[:100_000]:  # only the bad rows are visited
            row = out.loc[i]
            why = ("no pixel code" if row["pixel_code"] == "" else "no event name" if row["event"] == ""
                   else f"timestamp {str(raw_time.iloc[i])!r} is not ISO-8601 or epoch seconds")
            url = str(row["url"]) if "url" in out.columns else ""
            skipped.append(Skipped(int(row["entry"]), url, f"row {i + 1}: {why}", "bad_row"))
    if not bad.any():  # nothing to drop: no copy of a million rows
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


def parse_pixel_json(text_or_path: str | Path | bytes, *, name: str | None = None) -> PixelImport:
    """Pixel events from JSON (array, `{"events": [...]}`, one body) or JSONL text, or such a file.

    Items may be Pixel wire bodies (contract §6.3, fanned out per pixel code) or already-flat rows
    (PIXEL_COLUMNS names; `user` may be a dict of keys). A JSON document that is a HAR is read as one.
    A str is a path when it does not start with `{`/`[` and names an existing file.
    Raises InvalidFile for unreadable text and InvalidFile naming missing columns of flat rows.
    """
    from core.events import parse_documents
    from core.har import parse_har  # at call time: core.har builds its rows with this module

    label = name or "input"
    if isinstance(text_or_path, Path) or (
        isinstance(text_or_path, str) and not text_or_path.lstrip("\ufeff \t\r\n").startswith(("{", "["))
        and len(text_or_path) < 4096 and Path(text_or_path).is_file()
    ):
        path = Path(text_or_path)
        label = name or path.name
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidFile(f"{label} cannot be read as UTF-8 text ({exc.__class__.__name__}).",
                              hint="Export the events as UTF-8 JSON.") from None
    elif isinstance(text_or_path, bytes):
        try:
            text = text_or_path.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidFile(f"{label} is not UTF-8 text.", hint="Export the events as UTF-8 JSON.") from None
    else:
        text = text_or_path
    docs = parse_documents(text, label)
    if len(docs) == 1 and isinstance(docs[0], dict) and isinstance(docs[0].get("log"), dict):
        return parse_har(text.encode("utf-8"), name=label)
    items: list[Any] = []
    carried: list[Skipped] = []
    for doc in docs:
        found, skips = _items(doc)
        items.extend(found)
        carried.extend(skips)
    result = _rows_from_items(items, label, "jsonl" if len(docs) > 1 else "json")
    result.skipped[:0] = carried
    return result


def _csv_bytes(path_or_buffer: str | Path | IO[bytes] | bytes) -> tuple[bytes, str]:
    if isinstance(path_or_buffer, bytes):
        return path_or_buffer, "input.csv"
    if isinstance(path_or_buffer, str | Path):
        path = Path(path_or_buffer)
        if not path.is_file():
            raise InvalidFile(f"{path}: no such file.", hint="Check the path of the CSV export.")
        return path.read_bytes(), path.name
    if hasattr(path_or_buffer, "seek"):
        path_or_buffer.seek(0)
    return path_or_buffer.read(), str(getattr(path_or_buffer, "name", "input.csv"))


def _csv_head(path_or_buffer: str | Path | IO[bytes] | bytes) -> tuple[bytes | Path, bytes, str]:
    """(what pyarrow reads, the first line without BOM, the name) of a CSV input; InvalidFile if blank.

    A path is handed to pyarrow as is (it streams the file and skips a BOM) instead of being read into
    memory first; bytes and uploads are read once.
    """
    bom = b"\xef\xbb\xbf"
    if isinstance(path_or_buffer, str | Path):
        path = Path(path_or_buffer)
        if not path.is_file():
            raise InvalidFile(f"{path}: no such file.", hint="Check the path of the CSV export.")
        with path.open("rb") as fh:
            first = fh.readline().removeprefix(bom)
            blank = first.isspace() or not first
            if blank:  # a blank first line: the rest decides (rare, so reading it all is fine)
                rest = fh.read()
                blank = not rest or rest.isspace()
        source: bytes | Path = path
        label = path.name
    else:
        data, label = _csv_bytes(path_or_buffer)
        data = data.removeprefix(bom)
        blank = not data or data.isspace()  # no stripped copy of a large upload
        cut = data.find(b"\n")
        first = data if cut < 0 else data[:cut]
        source = data
    if blank:
        raise InvalidFile(f"{label} is empty.", hint="Export the Pixel events with a header row.")
    return source, first.split(b"\n", 1)[0], label


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


def parse_pixel_csv(path_or_buffer: str | Path | IO[bytes] | bytes, *, name: str | None = None,
                    columns: Iterable[str] | None = None) -> PixelImport:
    """Pixel events from a CSV export with PIXEL_COLUMNS names, read and coerced vectorized (pyarrow).

    Every column is read as text first (ids and phone numbers keep leading zeros), then typed.
    Needs pixel_code (or event_source_id), event and timestamp columns; InvalidFile names missing ones.
    With `columns` (see pixel_projection) only the file's columns those need are read: same rows and
    values for them, far less memory (the dedup command reads six of thirty columns this way).
    """
    keep = pixel_projection(columns)
    source, first_line_bytes, default_name = _csv_head(path_or_buffer)
    label = name or default_name
    first_line = first_line_bytes.decode("utf-8", errors="replace")
    header = next(csv.reader([first_line]), [])
    include = _csv_read_columns(header, keep) if columns is not None else None
    try:
        import pyarrow as pa
        import pyarrow.csv as pacsv

        table = pacsv.read_csv(io.BytesIO(source) if isinstance(source, bytes) else source,
                               convert_options=pacsv.ConvertOptions(
                                   column_types={c: pa.string() for c in header}, strings_can_be_null=False,
                                   include_columns=include or []))
        df = table.to_pandas()
        del table
    except Exception as exc:  # pyarrow is strict about ragged rows; pandas' python engine names them
        try:
            df = pd.read_csv(io.BytesIO(source) if isinstance(source, bytes) else source, dtype=str,
                             keep_default_na=False, encoding="utf-8-sig")
        except Exception:
            raise InvalidFile(f"{label} is not a readable CSV: {exc}",
                              hint="Export comma-separated UTF-8 with one header row.") from None
    if "user" in df.columns and "user_keys" not in df.columns:
        df = df.rename(columns={"user": "user_keys"})
    if "event_id" not in df.columns:
        notes = ["No event_id column: every Pixel event counts as sent without an event_id, so none "
                 "can deduplicate against a server event."]
    else:
        notes = []
    rows = len(df)
    events, skipped = normalize_pixel_frame(df, name=label, columns=columns)
    return PixelImport(events, skipped, "csv", rows, notes)


def _sniff(head: bytes, name: str) -> str:
    suffix = name.lower().rsplit(".", 2)
    ext = suffix[-1] if len(suffix) > 1 else ""
    if ext == "gz" or head[:2] == b"\x1f\x8b":
        return "har"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if re.match(rb'\{\s*"log"\s*:', text):
        return "har"
    if ext == "har":
        return "har"
    if text[:1] in (b"{", b"["):
        return "json"
    if ext in ("json", "jsonl", "ndjson"):
        return "json"
    first = text.split(b"\n", 1)[0]
    if ext == "csv" or (b"," in first and b"event" in first.lower()):
        return "csv"
    return "unknown"


def load_pixel_events(path_or_upload: str | Path | IO[bytes] | bytes, name: str | None = None, *,
                      columns: Iterable[str] | None = None) -> PixelImport:
    """Read Pixel events from a HAR, JSON, JSONL or CSV file or upload, sniffing the format.

    `path_or_upload` is a path, bytes, or a binary file object (e.g. Streamlit's UploadedFile, whose
    `.name` is used). HARs are streamed; others are read once. Raises InvalidFile for a missing,
    empty or unrecognised file, with the formats the console reads. With `columns` the events frame
    holds only those (see pixel_projection); a CSV then reads only the file's columns they need.
    """
    from core.har import parse_har  # at call time: core.har builds its rows with this module

    keep = pixel_projection(columns)
    if isinstance(path_or_upload, str | Path):
        path = Path(path_or_upload)
        if not path.is_file():
            raise InvalidFile(f"{path}: no such file.", hint="Check the path.")
        label = name or path.name
        with path.open("rb") as fh:
            head = fh.read(4096)
    elif isinstance(path_or_upload, bytes):
        label = name or "upload"
        head = path_or_upload[:4096]
    else:
        label = name or str(getattr(path_or_upload, "name", "upload"))
        if hasattr(path_or_upload, "seek"):
            path_or_upload.seek(0)
        head = path_or_upload.read(4096)
        path_or_upload.seek(0)
    if not head.strip():
        raise InvalidFile(f"{label} is empty.", hint="Upload a DevTools HAR or a JSON/JSONL/CSV Pixel export.")
    kind = _sniff(head, label)
    if kind == "csv":
        return parse_pixel_csv(path_or_upload, name=label, columns=columns)
    if kind == "har":
        result = parse_har(path_or_upload, name=label)
    elif kind == "json":
        if isinstance(path_or_upload, str | Path):
            result = parse_pixel_json(Path(path_or_upload), name=label)
        else:
            data = path_or_upload if isinstance(path_or_upload, bytes) else path_or_upload.read()
            result = parse_pixel_json(data, name=label)
    else:
        raise InvalidFile(f"{label} is not a HAR, JSON, JSONL or CSV file.",
                          hint="Export DevTools > Network as HAR, or Pixel events as JSON/JSONL/CSV.")
    if columns is not None:
        result.events = result.events[keep]
    return result

