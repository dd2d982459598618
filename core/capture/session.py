"""One capture session: start Chromium, drive the journey (or wait for a person), collect, conclude.

`run_capture(options)` checks everything it can before a browser starts (URL, journey, HAR path), then
records through core.capture.recorder and returns a CaptureResult whose `to_json()` is what
`tiktok-events capture --format json` prints.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import urljoin, urlsplit

from core.capture.findings import finding, no_events_finding, page_findings, redact_url
from core.capture.journey import Step, parse_journey
from core.capture.offline import DEAD_PROXY, OfflineRouter
from core.capture.recorder import Recorder
from core.errors import InvalidInput
from core.lint.findings import Finding, has_errors, sort_findings

SETTLE_SECONDS: Final = 0.6  # after a journey: this long without a new request, none in flight
_POLL_MS: Final = 100


@dataclass(slots=True)
class CaptureOptions:
    """What to capture: the store URL, an optional journey, and how (headed, offline, idle, HAR out)."""

    url: str
    journey: list[Any] | None = None
    headed: bool = False
    offline: bool = False
    idle_seconds: float = 5.0
    har_out: Path | None = None
    session_id: str | None = None


@dataclass(slots=True)
class CaptureResult:
    """The capture: Pixel rows (as `pixels` prints them, plus captured_at and page_url), pages, cookies..."""

    url: str
    events: list[dict[str, Any]]
    skipped: list[dict[str, Any]]
    pages: list[dict[str, Any]]
    cookies: dict[str, str | None]
    failed: list[dict[str, str]]
    findings: list[Finding]
    session_id: str | None = None
    network: dict[str, dict[str, int]] = field(default_factory=dict)
    har: dict[str, Any] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        """0 when Pixel events were captured and no finding is an error, else 1."""
        return 0 if self.events and not has_errors(self.findings) else 1

    def to_json(self) -> dict[str, Any]:
        """The JSON document the CLI prints."""
        doc: dict[str, Any] = {"url": self.url, "session_id": self.session_id, "events": self.events,
                               "skipped": self.skipped, "pages": self.pages, "cookies": self.cookies,
                               "failed": self.failed, "findings": [f.as_dict() for f in self.findings]}
        if self.network:
            doc["network"] = self.network
        return doc


def check_options(options: CaptureOptions) -> list[Step] | None:
    """The journey's steps, after everything checkable before a browser starts (InvalidInput names what is
    wrong): a caller that runs the capture in the background checks first, so the error is shown at once."""
    return _check(options)


def _check(options: CaptureOptions) -> list[Step] | None:
    """Everything checkable before a browser starts; InvalidInput names what is wrong."""
    parts = urlsplit(options.url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInput(f"{options.url!r} is not an http(s) URL.", hint="Give the store's address, e.g. "
                                                                           "https://shop.example/?ttclid=test")
    if not options.idle_seconds > 0:
        raise InvalidInput(f"idle seconds must be above 0, not {options.idle_seconds}.", hint="e.g. 5")
    if options.har_out is not None and not Path(options.har_out).parent.is_dir():
        raise InvalidInput(f"--har-out {options.har_out}: the folder does not exist.", hint="Create it first.")
    return parse_journey(options.journey) if options.journey is not None else None


def _pump(page: Any, ms: int = _POLL_MS) -> bool:
    """Let Playwright deliver events for `ms`; False when the page is gone (a person closed the window)."""
    try:
        if page.is_closed():
            return False
        page.wait_for_timeout(ms)
    except Exception:
        return False
    return True


def _wait_quiet(page: Any, rec: Recorder, quiet: float, limit: float, stop: threading.Event | None) -> None:
    """Until no request started for `quiet` seconds with none in flight, `limit` passed, stop, or page closed."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and not (stop is not None and stop.is_set()):
        rec.drain()
        if rec.inflight == 0 and time.monotonic() - rec.last_activity >= quiet:
            return
        if not _pump(page):
            return
    rec.drain()


def _run_step(page: Any, step: Step, base: str) -> None:
    if step.action == "goto":
        page.goto(urljoin(base, step.target), timeout=step.timeout_ms, wait_until="load")
    elif step.action == "click":
        page.click(step.target, timeout=step.timeout_ms)
    elif step.action == "fill":
        page.fill(step.target, step.text, timeout=step.timeout_ms)
    elif step.action == "wait_for":
        page.wait_for_selector(step.target, timeout=step.timeout_ms, state="visible")
    else:
        page.wait_for_timeout(step.ms)


def _journey(page: Any, steps: list[Step], options: CaptureOptions, rec: Recorder,
             stop: threading.Event | None) -> None:
    """Each step in turn; a failing step becomes a finding and ends the journey (what was seen stays)."""
    opening = [] if steps[0].action == "goto" else [Step("goto", options.url, timeout_ms=30_000)]
    for i, step in enumerate([*opening, *steps], start=-len(opening)):
        if stop is not None and stop.is_set():
            return
        try:
            _run_step(page, step, page.url if page.url.startswith("http") else options.url)
        except Exception as exc:
            first = redact_url((str(exc).strip().splitlines() or [type(exc).__name__])[0])
            where, what = (f"journey[{i}]", f"Step [{i}] {json.dumps(step.as_dict())}") if i >= 0 else (
                "url", f"Opening {redact_url(options.url)}")
            rec.findings.append(finding("capture.journey.step_failed", where, f"{what} failed: {first}"))
            return
        rec.drain()
    _wait_quiet(page, rec, min(SETTLE_SECONDS, options.idle_seconds), options.idle_seconds + 10, stop)


def _cookies(context: Any) -> dict[str, str | None]:
    jar = {c["name"]: c["value"] for c in context.cookies()}
    return {"_ttp": jar.get("_ttp"), "ttclid": jar.get("ttclid")}


def _browse(browser: Any, options: CaptureOptions, steps: list[Step] | None, rec: Recorder,
            stop: threading.Event | None) -> tuple[dict[str, str | None], OfflineRouter | None]:
    """One fresh browser context: wired to the recorder, driven, and its cookies read."""
    router = OfflineRouter() if options.offline else None
    context = browser.new_context(proxy=DEAD_PROXY) if router else browser.new_context()
    try:
        if router is not None:
            context.route("**/*", router)
            rec.answered_locally = router.fulfilled
        context.on("request", rec.on_request)
        context.on("response", rec.on_response)
        context.on("requestfinished", rec.on_done)
        context.on("requestfailed", rec.on_done)
        context.on("console", rec.on_console)
        context.on("page", lambda new: new.on("load", rec.on_load))
        page = context.new_page()
        if steps:
            _journey(page, steps, options, rec, stop)
        else:
            try:
                page.goto(options.url, wait_until="load", timeout=30_000)
            except Exception as exc:
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                rec.findings.append(finding("capture.journey.step_failed", "url", f"Opening {options.url} "
                                            f"failed: {first}", "Check the URL and that the store is up."))
            limit = 24 * 3600.0 if options.headed else options.idle_seconds + 60
            _wait_quiet(page, rec, options.idle_seconds, limit, stop)
        try:
            cookies = _cookies(context)
        except Exception:  # a person closed the whole browser: what was seen stays, the cookies are unknown
            cookies = {"_ttp": None, "ttclid": None}
    finally:
        with contextlib.suppress(Exception):
            context.close()
    return cookies, router


def _loop_running() -> bool:
    """Whether this thread runs an asyncio loop (Playwright's sync API cannot start inside one)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _in_worker(options: CaptureOptions, on_event: Callable[[dict[str, Any]], None] | None,
               stop: threading.Event | None) -> CaptureResult:
    """run_capture on a thread of its own (the caller's thread runs an event loop); errors come back here."""
    outcome: list[CaptureResult | BaseException] = []

    def work() -> None:
        try:
            outcome.append(run_capture(options, on_event=on_event, stop=stop))
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=work, name="capture", daemon=True)
    worker.start()
    worker.join()
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


def run_capture(options: CaptureOptions, *, on_event: Callable[[dict[str, Any]], None] | None = None,
                stop: threading.Event | None = None) -> CaptureResult:
    """Capture the Pixel from a real Chromium; see CaptureResult. Raises InvalidInput / BrowserMissing before
    anything starts when the options or the browser are wrong. From a thread that runs an asyncio loop (a
    notebook, another Playwright session) the capture runs on a worker thread; `on_event` is called there."""
    from core.browser import launch_chromium

    steps = _check(options)
    if _loop_running():
        return _in_worker(options, on_event, stop)
    rec = Recorder(on_event)
    with launch_chromium(headed=options.headed) as browser:
        cookies, router = _browse(browser, options, steps, rec, stop)
    rec.drain()
    pages = [p.as_dict() for p in rec.pages]
    findings = [*rec.findings, *page_findings(pages, rec.page_pii)]
    for i, failed in enumerate(rec.failed):
        findings.append(finding("capture.request.failed", f"failed[{i}]",
                                f"The browser's request to {failed['url']} failed: {failed['error']}."))
    if not rec.events:
        findings.append(no_events_finding(len(rec.skipped), len(rec.failed)))
    har = rec.har()
    if options.har_out is not None:
        Path(options.har_out).write_text(json.dumps(har, ensure_ascii=False, indent=1), encoding="utf-8")
    return CaptureResult(url=redact_url(options.url), events=rec.events, skipped=rec.skipped_dicts(), pages=pages,
                         cookies=cookies, failed=rec.failed, findings=sort_findings(findings),
                         session_id=options.session_id, network=router.as_dict() if router else {}, har=har)
