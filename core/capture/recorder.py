"""What the browser did, as it happens: every request, the pages in visit order, the Pixel hits.

Playwright calls the `on_*` handlers while the session waits; they only note facts (no round trips to the
browser). `drain` turns finished requests into Pixel rows with the HAR importer's own rules and parser
(core.sources.har.observed_request_events), checks and redacts raw PII first, and hands each row on.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from core.capture.findings import event_findings, finding, redact_body, redact_url, url_pii
from core.lint.findings import Finding
from core.sources.har import observed_request_events, request_entry, request_kind
from core.sources.pixel_body import Skipped, frame_records, pixel_frame
from core.sources.values import as_text

_TIKTOK_KINDS = ("event", "telemetry", "loader", "other_tiktok")
_CSP_URL = re.compile(r"'(https?://[^']+)'")
_CSP_DIRECTIVE = re.compile(r'directive:? "([^"]+)"')


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def has_ttclid(url: str) -> bool:
    """Whether a URL's query carries a non-empty ttclid."""
    from urllib.parse import parse_qs, urlsplit

    try:
        return bool(parse_qs(urlsplit(url).query).get("ttclid"))
    except ValueError:
        return False


@dataclass(slots=True)
class Seen:
    """One request the browser made: when, from which page, and how it ended."""

    request: Any
    index: int
    started: float
    page: int
    frame_url: str
    status: int = 0
    location: str = ""
    failure: str = ""
    done: bool = False


@dataclass(slots=True)
class Page:
    """One main-frame navigation: its redirect chain, load time and the Pixel hits fired on it."""

    url: str
    started: float
    status: int = 0
    loaded: float | None = None
    redirects: list[dict[str, Any]] = field(default_factory=list)
    hits: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The `pages[]` item of the capture JSON."""
        lost = next(({"from": r["url"], "to": r["to"], "status": r["status"]} for r in self.redirects
                     if r["ttclid_in_url"] and not has_ttclid(r["raw_to"])), None)
        return {"url": self.url, "ttclid_in_url": has_ttclid(self.url), "status": self.status,
                "redirects": [{k: v for k, v in r.items() if k != "raw_to"} for r in self.redirects],
                "ttclid_lost_at": lost, "started_at": int(self.started * 1000),
                "load_ms": None if self.loaded is None else round((self.loaded - self.started) * 1000),
                "pixel_hits": self.hits, **({"error": self.error} if self.error else {})}


class Recorder:
    """Collects a capture from Playwright's events; `drain` makes rows, `har` the session as a HAR."""

    def __init__(self, on_event: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.on_event = on_event
        self.seen: list[Seen] = []
        self._by_request: dict[int, Seen] = {}
        self.pages: list[Page] = []
        self.page_pii: dict[int, list[str]] = {}
        self.events: list[dict[str, Any]] = []
        self.skipped: list[Skipped] = []
        self.failed: list[dict[str, str]] = []
        self.findings: list[Finding] = []
        self._pending: list[Seen] = []
        self._bodies: dict[int, bytes | None] = {}
        self.last_activity = time.monotonic()
        self.inflight = 0
        self.answered_locally: set[int] = set()  # the offline router's answered requests (id of each)

    # --- Playwright handlers (facts only) ---
    def on_request(self, request: Any) -> None:
        """A request started: note the time, the page it belongs to; a new page for a fresh navigation."""
        now = time.time()
        self.last_activity = time.monotonic()
        self.inflight += 1
        try:
            frame = request.frame
            frame_url, main = str(frame.url), frame.parent_frame is None
        except Exception:  # a service worker's request has no frame
            frame_url, main = "", False
        if main and request.is_navigation_request() and request.redirected_from is None:
            self.pages.append(Page(url=redact_url(str(request.url)), started=now))
        seen = Seen(request, len(self.seen), now, len(self.pages) - 1, frame_url)
        self.seen.append(seen)
        self._by_request[id(request)] = seen

    def on_response(self, response: Any) -> None:
        """A response arrived: keep its status and, for a redirect, where it points."""
        seen = self._by_request.get(id(response.request))
        if seen is not None:
            seen.status = int(response.status)
            seen.location = str(response.headers.get("location", ""))

    def on_done(self, request: Any) -> None:
        """A request finished or failed: queue it for `drain`."""
        self.last_activity = time.monotonic()
        seen = self._by_request.get(id(request))
        if seen is None or seen.done:
            return
        self.inflight = max(0, self.inflight - 1)
        seen.done = True
        failure = request.failure
        seen.failure = str(failure) if failure else ""
        self._pending.append(seen)

    def on_console(self, message: Any) -> None:
        """A Content-Security-Policy block never becomes a request; Chromium only says so on the console."""
        text = str(message.text)
        if "Content Security Policy" not in text or (m := _CSP_URL.search(text)) is None:
            return
        url = m.group(1)
        kind = request_kind(url)
        if kind in _TIKTOK_KINDS:
            directive = _CSP_DIRECTIVE.search(text)
            why = f" ({directive.group(1)})" if directive else ""
            self.failed.append({"url": redact_url(url), "kind": kind,
                                "error": f"blocked by the page's Content-Security-Policy{why}"})

    def on_load(self, page: Any) -> None:
        """The current page fired `load`."""
        if self.pages and self.pages[-1].loaded is None:
            self.pages[-1].loaded = time.time()

    # --- turning facts into the capture ---
    def drain(self) -> None:
        """Every finished request since the last call: pages completed, Pixel rows made and handed on."""
        pending, self._pending = self._pending, []
        for seen in sorted(pending, key=lambda s: s.index):
            self._navigation(seen)
            if request_kind(str(seen.request.url)) in _TIKTOK_KINDS:
                self._tiktok(seen)

    def _navigation(self, seen: Seen) -> None:
        req = seen.request
        if seen.page < 0 or not _is_main_navigation(req) or 300 <= seen.status < 400:
            return
        chain = []
        hop = req.redirected_from
        while hop is not None:
            chain.append(hop)
            hop = hop.redirected_from
        chain.reverse()
        page = self.pages[seen.page]
        raw_url = str(req.url)
        page.url, page.status, page.error = redact_url(raw_url), seen.status, seen.failure
        hops = [*chain, req]
        page.redirects = [self._hop(h, hops[i + 1]) for i, h in enumerate(chain)]
        found = url_pii(raw_url) + [w for h in chain for w in url_pii(str(h.url))]
        if found:
            self.page_pii[seen.page] = found

    def _hop(self, hop: Any, nxt: Any) -> dict[str, Any]:
        first = self._by_request.get(id(hop))
        return {"url": redact_url(str(hop.url)), "status": first.status if first else 0,
                "to": redact_url(str(nxt.url)), "ttclid_in_url": has_ttclid(str(hop.url)), "raw_to": str(nxt.url)}

    def _clean_body(self, seen: Seen) -> bytes | None:
        """The request body with raw PII replaced (a finding per path); the same bytes when clean."""
        try:
            raw = seen.request.post_data_buffer
        except Exception:  # a body Playwright cannot hand over reads as none
            raw = None
        if not raw:
            return None
        try:
            doc = json.loads(raw)
        except ValueError:
            return bytes(raw)
        clean, paths = redact_body(doc)
        for path in paths:
            if path.startswith("context.page."):
                continue  # the page URL itself: reported once per page (capture.pii.url)
            self.findings.append(finding("capture.pii.body", f"requests[{seen.index}].body.{path}",
                                         f"The Pixel hit to {redact_url(str(seen.request.url))} carries raw "
                                         f"personal data at {path} (redacted here)."))
        return json.dumps(clean, ensure_ascii=False).encode("utf-8") if paths else bytes(raw)

    def _settle_abort(self, seen: Seen) -> None:
        """A hit cut off by the next page's navigation is "net::ERR_ABORTED" to the page. A beacon or keepalive
        POST is still delivered by the browser (DevTools shows it "canceled"), and one the offline router
        answered did arrive: neither is a failure. Any other aborted request stays failed."""
        if seen.failure != "net::ERR_ABORTED":
            return
        if id(seen.request) in self.answered_locally:
            seen.failure, seen.status = "", seen.status or 200
        elif str(seen.request.method).upper() == "POST":
            seen.failure = ""

    def _tiktok(self, seen: Seen) -> None:
        req = seen.request
        url = redact_url(str(req.url))
        body = self._clean_body(seen) if request_kind(str(req.url)) == "event" else None
        self._bodies[seen.index] = body
        self._settle_abort(seen)
        status = 0 if seen.failure else seen.status
        if seen.failure:
            self.failed.append({"url": url, "error": seen.failure, "kind": request_kind(url)})
        rows, skipped = observed_request_events(url, str(req.method), body, status=status, index=seen.index,
                                                started=_iso(seen.started), user_agent=_user_agent(req),
                                                redirect_url=seen.location if 300 <= status < 400 else "")
        self.skipped.extend(skipped)
        for s in skipped:
            if s.kind == "no_pixel_code":
                self.findings.append(finding("capture.pixel_code.missing", f"skipped[{len(self.skipped) - 1}]",
                                             f"A Pixel hit to {url} names no pixel code: TikTok drops it."))
        records = frame_records(pixel_frame(rows)) if rows else []
        page_url = redact_url(seen.frame_url) or (self.pages[seen.page].url if seen.page >= 0 else "")
        for record in records:
            record["captured_at"] = int(seen.started * 1000)
            record["page_url"] = page_url
            self.findings.extend(event_findings(len(self.events), record))
            self.events.append(record)
            if seen.page >= 0:
                page = self.pages[seen.page]
                page.hits.append({"event": record["event"], "pixel_code": record["pixel_code"],
                                  "ms_after_navigation": round((seen.started - page.started) * 1000)})
            if self.on_event is not None:
                self.on_event(record)

    def har(self) -> dict[str, Any]:
        """The session as a HAR 1.2 document: every request (TikTok bodies redacted, others without body)."""
        entries = []
        for seen in self.seen:
            req = seen.request
            status = 0 if seen.failure else seen.status
            entries.append(request_entry(redact_url(str(req.url)), str(req.method), self._bodies.get(seen.index),
                                         status=status, started=_iso(seen.started), user_agent=_user_agent(req),
                                         redirect_url=seen.location if 300 <= status < 400 else ""))
        return {"log": {"version": "1.2", "creator": {"name": "tiktok-events capture", "version": "1"},
                        "pages": [], "entries": entries}}

    def skipped_dicts(self) -> list[dict[str, Any]]:
        """The skipped hits as JSON-ready dicts (entry, url, reason, kind)."""
        return [asdict(s) for s in self.skipped]


def _is_main_navigation(request: Any) -> bool:
    try:
        return bool(request.is_navigation_request()) and request.frame.parent_frame is None
    except Exception:
        return False


def _user_agent(request: Any) -> str:
    try:
        return as_text(request.headers.get("user-agent"))
    except Exception:
        return ""
