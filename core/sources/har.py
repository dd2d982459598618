"""DevTools HAR files in: the requests a browser recorded -> the Pixel events among them (Pixel rows).

TikTok (contract §6.2): the Pixel POSTs one JSON body per event to `analytics.tiktok.com`
`/api/v2/pixel` (or `/pixel/act`, the Shopify `shopify_pixel` variants, or a first-party proxy path
ending the same way), usually as `text/plain` from `sendBeacon`, or GETs it base64-encoded in
`?analytics_message=`. Loader and telemetry requests are not events. Each event body becomes rows
through core.sources.pixel_body.pixel_event_from_body; this module only finds the bodies.

Decisions where the contract is silent or UNSURE (documented here, tested in tests/test_sources_har.py):
- A hit whose response is missing or status 0 (blocked, cancelled) is kept: the browser did fire it.
  `http_status` says what happened, so the Compare page can point at ad blockers.
- A CORS preflight (OPTIONS / HEAD) carries no event and is ignored; a 307/308 hop is skipped, since the
  browser re-sends the body to `redirectURL` as its own entry.
- A body without a timestamp takes the entry's `startedDateTime` (when the browser sent it).
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

import pandas as pd

from core.errors import InvalidFile, InvalidInput, InvalidPayload
from core.sources.jsondoc import parse_json
from core.sources.limits import GuardedReader, guarded_items
from core.sources.pixel_body import (
    PixelImport,
    Skipped,
    UnusableHit,
    dict_or_empty,
    pixel_event_from_body,
    pixel_frame,
)
from core.sources.source import Source, SourceInput, open_source
from core.sources.values import as_text, parse_time

_CHUNK_ROWS = 10_000

_TIKTOK_HOST = re.compile(r"(^|\.)(analytics(-ipv6)?\.tiktok\.com|tiktokw\.us|analytics\.tiktok\.(us|eu))$")
# Event endpoints, matched as a path suffix on any host (first-party proxies keep the suffix).
_EVENT_PATH = re.compile(r"/api/v\d+/(?P<kind>shopify_pixel|pixel)(?P<act>/act)?/?$")
_V1_TRACK_PATH = re.compile(r"/api/v1/track/?$")  # 2020-era Pixel; only on TikTok hosts (generic path)
_TELEMETRY_PATH = re.compile(
    r"/api/v\d+/(?:(?:shopify_)?pixel/(?:inter|perf|monitor)|monitor|interaction|performance[^/]*|pcm)(?:/|$)"
    r"|/enrich_ipv6"
)
_LOADER_PATH = re.compile(
    r"/i18n/pixel/|/(?:events|sdk|config|identify|main\.[0-9a-f]+)\.js$|/(?:enable|disable)_cookie"
)


def _header(headers: object, name: str) -> str:
    if isinstance(headers, list):
        for h in headers:
            if isinstance(h, dict) and str(h.get("name", "")).lower() == name:
                return as_text(h.get("value"))
    return ""


def decode_analytics_message(value: str) -> Any:
    """Decode the GET form's `analytics_message`: base64 (standard or URL-safe, padding optional) JSON.

    Raises InvalidPayload when it is not base64 of UTF-8 JSON. TikTok: contract §6.2 (single-sourced).
    """
    text = unquote(value).strip().replace(" ", "+")  # a raw '+' in a query string reads as a space
    text = text.replace("-", "+").replace("_", "/")
    text += "=" * (-len(text) % 4)
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidPayload(f"analytics_message is not base64 JSON ({exc.__class__.__name__})") from None
    try:
        return parse_json(raw, "analytics_message")
    except InvalidInput as exc:
        raise InvalidPayload(f"analytics_message is not base64 JSON ({exc.message})") from None


def _classify(url: str) -> tuple[str, str]:
    """("event", endpoint) | ("telemetry"|"loader"|"other_tiktok", "") | ("ignore", "") for one URL."""
    lowered = url.lower()
    if "tiktok" not in lowered and "/api/v" not in lowered and "/pixel/" not in lowered:
        return "ignore", ""  # every rule below needs one of these; most of a HAR is skipped here
    try:
        parts = urlsplit(url)
    except ValueError:
        return "ignore", ""
    host = (parts.hostname or "").lower()
    path = parts.path
    tiktok = bool(_TIKTOK_HOST.search(host))
    if (m := _EVENT_PATH.search(path)) is not None:
        return "event", m.group("kind") + ("/act" if m.group("act") else "")
    if tiktok and _V1_TRACK_PATH.search(path):
        return "event", "v1/track"
    if _TELEMETRY_PATH.search(path) and (tiktok or "/pixel/" in path or "tiktok" in path.lower()):
        return "telemetry", ""
    if _LOADER_PATH.search(path) and (tiktok or "/i18n/pixel/" in path or "tiktok" in path.lower()):
        return "loader", ""
    if tiktok:
        return "other_tiktok", ""
    return "ignore", ""


def _entry_bodies(entry: Mapping[str, Any], url: str) -> list[Any]:
    """The JSON body(ies) of one HAR request: postData.text (any MIME type) or `?analytics_message=`."""
    request = dict_or_empty(entry.get("request"))
    post = dict_or_empty(request.get("postData"))
    text = post.get("text")
    if isinstance(text, str) and text.strip():
        if str(post.get("encoding", "")).lower() == "base64":
            try:
                text = base64.b64decode(text).decode("utf-8")
            except (binascii.Error, ValueError):
                raise InvalidPayload("postData is base64 but not UTF-8 text") from None
        try:
            doc = parse_json(text, "body")
        except InvalidInput as exc:
            raise InvalidPayload(exc.message) from None
        return doc if isinstance(doc, list) else [doc]
    raw_query = urlsplit(url).query
    for part in raw_query.split("&"):
        name, _, value = part.partition("=")
        if name == "analytics_message" and value:
            doc = decode_analytics_message(value)
            return doc if isinstance(doc, list) else [doc]
    raise UnusableHit("no body: neither postData.text nor ?analytics_message=", "no_body")


def har_entry_events(entry: Mapping[str, Any], index: int) -> tuple[list[dict[str, Any]], list[Skipped]]:
    """Pixel rows and skips for one HAR entry; non-TikTok requests give ([], [])."""
    request = dict_or_empty(entry.get("request"))
    url = as_text(request.get("url"))
    kind, endpoint = _classify(url)
    if kind == "ignore":
        return [], []
    if kind == "telemetry":
        return [], [Skipped(index, url, "telemetry (performance / interaction beacon), not an event", kind)]
    if kind == "loader":
        return [], [Skipped(index, url, "Pixel loader / config script, not an event", kind)]
    if kind == "other_tiktok":
        return [], [Skipped(index, url, "TikTok request that is not a Pixel event endpoint", kind)]
    if as_text(request.get("method")).upper() in ("OPTIONS", "HEAD"):  # CORS preflight: no event, no body
        return [], []
    response = dict_or_empty(entry.get("response"))
    status = response.get("status")
    http_status = int(status) if isinstance(status, int | float) and not isinstance(status, bool) else 0
    if http_status in (307, 308) and as_text(response.get("redirectURL")):
        # the browser re-sends the same body to redirectURL, recorded as its own entry: count that one
        return [], [Skipped(index, url, f"redirected ({http_status}) to {response['redirectURL']}; the "
                                        "follow-up request carries the event", "redirect")]
    ua = _header(request.get("headers"), "user-agent")
    try:
        bodies = _entry_bodies(entry, url)
    except UnusableHit as exc:
        return [], [Skipped(index, url, exc.message, exc.kind)]
    except InvalidPayload as exc:
        return [], [Skipped(index, url, f"malformed: {exc.message}", "malformed")]
    rows: list[dict[str, Any]] = []
    skipped: list[Skipped] = []
    fallback_time = parse_time(entry.get("startedDateTime"))
    for body in bodies:
        try:
            found = pixel_event_from_body(body, entry=index, url=url, user_agent=ua, endpoint=endpoint,
                                          http_status=http_status)
        except UnusableHit as exc:
            skipped.append(Skipped(index, url, exc.message, exc.kind))
            continue
        for row in found:
            if math.isnan(row["timestamp"]):  # no body timestamp: when the browser sent the request
                row["timestamp"] = fallback_time
        rows.extend(found)
    return rows, skipped


def _har_entries(reader: GuardedReader) -> Any:
    return guarded_items(reader, "log.entries.item")


def _parser_message(exc: Exception) -> str:
    """The first line of an ijson error, as text (yajl's messages are bytes with a pointer drawn below)."""
    arg = exc.args[0] if exc.args else exc
    text = arg.decode("utf-8", errors="replace") if isinstance(arg, bytes) else str(arg)
    return text.strip().splitlines()[0] if text.strip() else exc.__class__.__name__


def _read_entries(reader: GuardedReader, label: str) -> tuple[list[pd.DataFrame], list[Skipped], int]:
    """Stream the entries into typed chunks of rows; InvalidFile when the JSON breaks off."""
    import ijson

    rows: list[dict[str, Any]] = []
    chunks: list[pd.DataFrame] = []
    skipped: list[Skipped] = []
    count = 0
    try:
        for count, entry in enumerate(_har_entries(reader), start=1):
            if not isinstance(entry, dict):
                skipped.append(Skipped(count - 1, "", "HAR entry is not an object", "malformed"))
                continue
            found, skips = har_entry_events(entry, count - 1)
            rows.extend(found)
            skipped.extend(skips)
            if len(rows) >= _CHUNK_ROWS:  # typed columns hold a Pixel-dense HAR in far less than dicts
                chunks.append(pixel_frame(rows))
                rows = []
    except ijson.JSONError as exc:
        if count == 0:
            raise InvalidFile(f"{label} is not a HAR: it is not valid JSON ({_parser_message(exc)}).",
                              hint="Export it from DevTools > Network > ⤓ 'Export HAR'.") from None
        raise InvalidFile(f"{label} is cut off or corrupt after entry {count} ({_parser_message(exc)}).",
                          hint="Export the HAR again; the file looks truncated.") from None
    except (OSError, EOFError) as exc:
        raise InvalidFile(f"{label} cannot be read ({exc}).", hint="Export the HAR again.") from None
    chunks.append(pixel_frame(rows))
    return chunks, skipped, count


def parse_har(source: SourceInput | Source, *, name: str | None = None) -> PixelImport:
    """Stream a DevTools HAR (path, bytes, binary stream or Source) into Pixel events plus skipped hits.

    Entries are read one at a time with ijson over `log.entries.item`, so a 100 MB HAR is never held
    twice; gzip-compressed HARs are read too. The parser's events pass the limits (guarded_events), so
    nesting, huge numbers or text values stop the read with LimitExceeded before anything is built from
    them. Non-TikTok requests are ignored silently (counted in `entries`); TikTok telemetry, loaders,
    EnrichAM, bodiless and malformed hits are skipped with a reason. Raises InvalidFile when the input is
    not JSON or has no `log.entries`.
    TikTok: contract §6.2 (endpoints, any MIME type, GET analytics_message, proxies by path suffix).
    """
    src = open_source(source, name)
    label = src.name
    stream = src.open()
    reader = GuardedReader(stream, label, src.limits)
    try:
        chunks, skipped, count = _read_entries(reader, label)
    finally:
        if stream is not src.origin:
            stream.close()
    if count == 0 and not re.search(rb'"log"\s*:\s*\{', reader.head):
        raise InvalidFile(f"{label} is not a HAR: there is no log.entries list.",
                          hint="Export it from DevTools > Network > ⤓ 'Export HAR', or upload JSON/CSV "
                               "Pixel events instead.")
    events = pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]
    notes = [] if len(events) else ["No TikTok Pixel event in this HAR: was the page recorded with the "
                                    "Network tab open and 'Preserve log' on?"]
    return PixelImport(events, skipped, "har", count, notes)


# --- one request a browser was seen making (live capture) -----------------------------------------
def request_kind(url: str) -> str:
    """"event" | "telemetry" | "loader" | "other_tiktok" | "ignore": the HAR importer's verdict on one URL."""
    return _classify(url)[0]


def request_entry(url: str, method: str, body: bytes | str | None, *, status: int, started: str = "",
                  user_agent: str = "", redirect_url: str = "") -> dict[str, Any]:
    """One observed request as a HAR entry, the shape `har_entry_events` and DevTools read.

    `status` 0 means the request failed or was blocked; a body that is not UTF-8 is kept base64-encoded.
    """
    request: dict[str, Any] = {"method": method.upper(), "url": url, "httpVersion": "HTTP/1.1",
                               "headers": [{"name": "User-Agent", "value": user_agent}] if user_agent else [],
                               "queryString": [], "cookies": [], "headersSize": -1, "bodySize": 0}
    if body:
        if isinstance(body, bytes):
            try:
                post = {"mimeType": "text/plain;charset=UTF-8", "text": body.decode("utf-8")}
            except UnicodeDecodeError:
                post = {"mimeType": "application/octet-stream", "encoding": "base64",
                        "text": base64.b64encode(body).decode("ascii")}
        else:
            post = {"mimeType": "text/plain;charset=UTF-8", "text": body}
        request["postData"] = post
        request["bodySize"] = len(body)
    response = {"status": int(status), "statusText": "", "httpVersion": "HTTP/1.1", "headers": [],
                "cookies": [], "content": {"size": 0, "mimeType": ""}, "redirectURL": redirect_url,
                "headersSize": -1, "bodySize": 0}
    return {"startedDateTime": started, "time": 0, "request": request, "response": response,
            "cache": {}, "timings": {"send": 0, "wait": 0, "receive": 0}}


def observed_request_events(url: str, method: str, body: bytes | str | None, *, status: int, index: int,
                            started: str = "", user_agent: str = "",
                            redirect_url: str = "") -> tuple[list[dict[str, Any]], list[Skipped]]:
    """Pixel rows and skips for one request a live browser made: the HAR importer's rules and parser.

    The request is written as the HAR entry `request_entry` builds and read by `har_entry_events`, so a
    capture and the HAR it saves give the same rows (`index` is the entry's position in that HAR).
    """
    entry = request_entry(url, method, body, status=status, started=started, user_agent=user_agent,
                          redirect_url=redirect_url)
    return har_entry_events(entry, index)
