"""`tiktok-events`: the command-line twin of the console's pages.

Exit codes (a promise to users' scripts): 0 ok; 1 findings of severity error, rejected or undelivered
events, rejected identifiers; 2 bad input or usage (missing file, not JSON, no token, no test code).
Every subcommand takes `--format json` for machines; text is for people.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from core.errors import ConfigError, ConsoleError

if TYPE_CHECKING:
    from core.config import Settings

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
APP = Path(__file__).resolve().parents[1] / "app.py"


class _Parser(argparse.ArgumentParser):
    """argparse that exits with 2 and a one-line hint instead of a traceback (argparse's own code is 2)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def emit(obj: Any, fmt: str, text: Callable[[Any], str] | None = None, out: TextIO | None = None) -> None:
    """Print `obj` as JSON (`--format json`) or as text made by `text` (JSON when no renderer)."""
    out = out or sys.stdout
    if fmt == "json" or text is None:
        out.write(json.dumps(obj, indent=2 if fmt != "json" else None, ensure_ascii=False, default=str))
        out.write("\n")
    else:
        out.write(text(obj).rstrip("\n") + "\n")


def _note(text: str) -> None:
    """A progress line for people, on standard error (never in `--format json` output)."""
    print(text, file=sys.stderr)


def load_settings() -> Settings:
    """Settings from the environment (core.config); each bad TEC_* value is named on stderr, the rest apply."""
    from core.config import resolve_settings

    settings, problems = resolve_settings()
    for problem in problems:
        print(f"tiktok-events: setting ignored: {problem}", file=sys.stderr)
    return settings


def read_text_arg(path: str) -> str:
    """Text of FILE, or of standard input for '-'; InvalidFile with the fix when unreadable."""
    from core.errors import InvalidFile

    if path == "-":
        stream = getattr(sys.stdin, "buffer", None)  # a test's StringIO has no bytes underneath
        data = stream.read() if stream is not None else sys.stdin.read().encode("utf-8", "surrogateescape")
        where = "standard input"
    else:
        p = Path(path)
        if not p.exists():
            raise InvalidFile(f"{path}: no such file.", hint="Check the path, or pass - to read standard input.")
        if p.is_dir():
            raise InvalidFile(f"{path} is a folder, not a file.", hint="Pass a JSON file.")
        try:
            data, where = p.read_bytes(), path
        except OSError as exc:
            raise InvalidFile(f"{path}: cannot read ({exc.strerror}).") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidFile(f"{where} is not UTF-8 text (byte {exc.start} is not valid UTF-8).",
                          hint="Export it as UTF-8 JSON.") from None


# --- identifiers and bodies: hash / build / validate ---------------------------------------------
def cmd_hash(args: argparse.Namespace) -> int:
    """Normalize + SHA-256 each VALUE; exit 1 when any is rejected."""
    from core.identity import hash_identifier

    rows = []
    for value in args.values:
        h = hash_identifier(args.kind, value, args.region)
        rows.append({"input": value, "normalized": h.normalized, "sha256": h.sha256, "error": h.error})

    def text(rs: list[dict[str, Any]]) -> str:
        return "\n".join(
            f"{r['input']!r} -> {r['normalized']} -> {r['sha256']}" if r["error"] is None
            else f"{r['input']!r}: rejected: {r['error']}" for r in rs
        )

    emit(rows, args.format, text)
    return EXIT_FINDINGS if any(r["error"] for r in rows) else EXIT_OK


def cmd_build(args: argparse.Namespace) -> int:
    """Build a v1.3 body from flags; prints the body (stdout) and notes/rejections (stderr); exit 1 if rejected.

    `--format json` prints {"body", "identifiers", "suppressed", "rejected", "notes"} instead. The Pixel
    code, test event code and region fall back to TEC_PIXEL_CODE / TEC_TEST_EVENT_CODE / TEC_DEFAULT_REGION.
    """
    from core.payload import ContentItem, EventSpec, build_body

    settings = load_settings()
    pixel = args.pixel_code or settings.pixel_code
    if not pixel:
        raise ConfigError("No Pixel code.", hint="Pass --pixel-code (Events Manager > Data sources) "
                                                 "or set TEC_PIXEL_CODE.")
    spec = EventSpec(
        event=args.event, event_time=args.event_time, event_id=args.event_id, order_id=args.order_id,
        email=args.email, phone=args.phone, external_id=args.external_id, first_name=args.first_name,
        last_name=args.last_name, zip_code=args.zip_code, city=args.city, state=args.state,
        country=args.country, ttclid=args.ttclid, ttp=args.ttp, ip=args.ip, user_agent=args.user_agent,
        locale=args.locale, page_url=args.url, referrer=args.referrer, value=args.value,
        currency=args.currency, content_type=args.content_type,
        contents=[ContentItem(cid) for cid in args.content_id or []], search_string=args.search_string,
        description=args.description, ad_user_data=args.ad_user_data,
        ad_personalization=args.ad_personalization, forward_consent=args.forward_consent,
        event_id_template=args.event_id_template,
    )
    result = build_body(spec, pixel_code=pixel, test_event_code=args.test_event_code or settings.test_event_code,
                        region=args.region or settings.default_region)
    if args.format == "json":
        emit(result.as_dict(), "json")
    else:
        emit(result.body, "text")  # JSON on stdout, so `build ... | tiktok-events validate -` works
        for h in result.rejected:
            print(f"rejected {h.kind} {h.input!r}: {h.error}. {h.hint or ''}".rstrip(), file=sys.stderr)
        for s in result.suppressed:
            if not s.reason.startswith("invalid"):
                print(f"{s.field}: {s.reason}", file=sys.stderr)
        for note in result.notes:
            print(f"note: {note}", file=sys.stderr)
    return EXIT_FINDINGS if result.rejected else EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    """Lint FILE|-; exit 1 when any finding is an error, 2 when FILE is missing or not JSON."""
    from core.errors import InvalidPayload
    from core.lint import count_findings, has_errors, lint, parse_body
    from core.sources.jsondoc import check_json

    text = read_text_arg(args.file)
    where = "standard input" if args.file == "-" else args.file
    check_json(text, where)  # the reading limits, before lint's own parser
    try:
        body = parse_body(text)
    except InvalidPayload as exc:  # name the file: "-" reads as standard input
        raise InvalidPayload(f"{where}: {exc.message}", hint=exc.hint) from None
    findings = lint(body)
    doc = {"findings": [f.as_dict() for f in findings], "counts": count_findings(findings)}

    def text_report(d: dict[str, Any]) -> str:
        lines = [f"{f['severity'].upper():<8}{f['path'] or '(body)'}  [{f['code']}]\n"
                 f"        {f['message']}\n        fix: {f['fix']}" for f in d["findings"]]
        c = d["counts"]
        lines.append(f"{c['error']} error(s), {c['warning']} warning(s), {c['info']} info"
                     if d["findings"] else "No findings: the body follows every rule the linter knows.")
        return "\n".join(lines)

    emit(doc, args.format, text_report)
    return EXIT_FINDINGS if has_errors(findings) else EXIT_OK


# --- delivery: send / outbox / emulator -----------------------------------------------------------
def cmd_send(args: argparse.Namespace) -> int:
    """Send FILE (a v1.3 body, or JSONL of bodies/events) through the outbox; exit 1 unless all accepted.

    Everything that can be wrong before sending is checked first (file, token, test code) and exits 2
    with nothing sent. Test mode needs a test event code (flag, TEC_TEST_EVENT_CODE or in the body);
    `--live` sends without one and the events count in reporting. Events with lint errors are held back
    (named in the output) unless `--send-invalid`. The same send run again resumes an interrupted one;
    `--resend` sends everything again (a deliberate dedup test).
    """
    from core import outbox
    from core.store import Store
    from core.transport import Sender, settings_for_cli

    settings = settings_for_cli(load_settings(), base_url=args.base_url, timeout=args.timeout, need_token=True)
    todo = outbox.plan(read_text_arg(args.file), pixel_code=args.pixel_code or settings.pixel_code,
                       test_event_code=args.test_event_code or settings.test_event_code, live=args.live,
                       send_invalid=args.send_invalid)
    mode = "LIVE: events count in reporting" if args.live else "test mode"
    held = f"; {len(todo.hold)} held back for lint errors" if todo.hold else ""
    _note(f"Sending {todo.events} events to {settings.target_label} ({mode}){held}.")
    with Store(settings.db_path) as store, Sender(settings) as sender:
        report = outbox.send(store, sender, todo.bodies, label=f"cli send {Path(args.file).name}", hold=todo.hold,
                             resend=args.resend)
    out = {"target": settings.target_label, "live": bool(args.live), **report.to_dict()}
    emit(out, args.format, lambda _: outbox.format_report(report))
    return EXIT_OK if report.all_accepted else EXIT_FINDINGS


def _outbox_items(rows: Sequence[Any]) -> list[dict[str, Any]]:
    from core.outbox import REASONS

    return [{"id": r.id, "session_id": r.session_id, "event": r.event_name, "event_id": r.event_id,
             "status": r.status, "reason": r.reason, "why": REASONS.get(r.reason or "", r.reason),
             "attempts": r.attempts, "last_code": r.last_code, "last_error": r.last_error,
             "index": r.input_index, "in_flight": r.in_flight, "test_event_code": r.top.get("test_event_code"),
             "event_source_id": r.top.get("event_source_id")} for r in rows]


def format_outbox(items: list[dict[str, Any]]) -> str:
    """`outbox list` for people: one line per event waiting, and what to run next."""
    if not items:
        return "Outbox empty: every recorded event was accepted (or dropped)."
    lines = [f"{r['id']:>6}  {r['status']:<8} {r['event']:<18} {r['event_id'] or '(no event_id)':<24} "
             f"attempts {r['attempts']}  {r['last_code'] if r['last_code'] is not None else ''} "
             f"{(r['last_error'] or r['why'] or '')[:70]}" for r in items]
    counts: dict[str, int] = {}
    for r in items:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    lines.append(f"{len(items)} event(s) waiting ({', '.join(f'{v} {k}' for k, v in counts.items())}). "
                 "`tiktok-events outbox retry` resends pending and blocked ones; `--rejected` also the refused and "
                 "held ones; `outbox drop` removes refused and held ones.")
    return "\n".join(lines)


def _incomplete_note(store: Any) -> list[str]:
    """Sessions whose recording was interrupted, said on standard error with how to resume them."""
    ids = [s.id for s in store.incomplete_sessions()]
    for sid in ids:
        _note(f"Session {sid} was interrupted while recording its input: only part of it is in the outbox. "
              "Run the same `tiktok-events send` again to resume it (events already accepted are not resent).")
    return ids


def cmd_outbox(args: argparse.Namespace) -> int:
    """`outbox list|retry|drop`: what waits, resend it (same event_ids), or take refused events out.

    list exits 0 (1 when a session's recording was interrupted); retry exits 0 when everything it sent
    was accepted (or nothing was left), 1 otherwise, 2 without a token; drop exits 0.
    """
    from core import outbox
    from core.store import WAITING, Store
    from core.transport import Sender, settings_for_cli

    settings = load_settings()
    if args.action in ("list", "drop"):
        with Store(settings.db_path) as store:
            if args.action == "drop":
                n = outbox.drop(store, args.ids or None, session_id=args.session)
                emit({"dropped": n}, args.format, lambda d: f"Dropped {d['dropped']} refused or held event(s).")
                return EXIT_OK
            statuses = (args.status,) if args.status else WAITING
            items = _outbox_items(store.outbox_rows(statuses=statuses, session_id=args.session))
            incomplete = _incomplete_note(store)
        for item in items:
            item["session_incomplete"] = item["session_id"] in incomplete
        if incomplete and not items and args.format != "json":
            print("No recorded event waiting, but a recording was interrupted (above).")
            return EXIT_OK
        emit(items, args.format, format_outbox)
        return EXIT_OK
    settings = settings_for_cli(settings, base_url=args.base_url, timeout=args.timeout, need_token=True)
    with Store(settings.db_path) as store, Sender(settings) as sender:
        _incomplete_note(store)
        report = outbox.retry(store, sender, session_id=args.session, rejected=args.rejected,
                              allow_changed=args.without_raw_pii)
    if report.events == 0 and not report.incomplete_sessions:
        emit(report.to_dict(), args.format, lambda _: "Outbox empty: nothing to resend.")
        return EXIT_OK
    _note(f"Resent {report.events} events to {settings.target_label}.")
    emit({"target": settings.target_label, **report.to_dict()}, args.format, lambda _: outbox.format_report(report))
    return EXIT_OK if report.all_accepted else EXIT_FINDINGS


def cmd_emulator(args: argparse.Namespace) -> int:
    """Run the local Events API emulator in the foreground until Ctrl-C (the token is never printed)."""
    import time

    from core.emulator import start_emulator

    try:
        emu = start_emulator(token=args.token, port=args.port)
    except OSError as exc:
        raise ConfigError(f"Cannot listen on 127.0.0.1:{args.port} ({exc.strerror}).",
                          hint="Pick another --port, or 0 for a free one.") from None
    info = {"url": emu.url, "track_url": emu.track_url, "events_view": emu.url + "/_emulator/events",
            "token": "only the --token value" if args.token else "any non-empty Access-Token"}
    emit(info, args.format, lambda i: (f"TikTok Events API emulator on {i['url']}\n"
                                       f"  POST {i['track_url']}\n  Test Events view: {i['events_view']}\n"
                                       f"  Accepts: {i['token']}. Ctrl-C to stop."))
    sys.stdout.flush()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return EXIT_OK
    finally:
        emu.stop()


# --- Live sessions: relay / history -----------------------------------------------------------------
def _fixed_mmap_threshold() -> None:
    """Keep glibc's mmap threshold at its 128 KB default for this long-running process (no effect elsewhere).

    glibc raises the threshold after each large free, so later multi-MB bodies (gzip bombs, junk uploads) land
    in per-thread arenas that are never given back: measured +315 MB RSS over 210 hostile requests, against
    +19 MB with the threshold fixed (bench/relay_hostile_bench.py).
    """
    import ctypes
    import ctypes.util

    with contextlib.suppress(OSError, AttributeError, TypeError):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(-3, 128 * 1024)  # M_MMAP_THRESHOLD


def cmd_relay(args: argparse.Namespace) -> int:
    """Run the recording relay in the foreground until Ctrl-C / SIGTERM; one line per recorded exchange.

    Text: a banner, then `HH:MM:SS status code events findings` per exchange. JSON: one JSON object per line,
    first `{"relay", "track_url", "forward", "session_id", "timeout_s"}`, then one `history` row per exchange.
    """
    import signal
    import threading

    from core.relay import start_relay

    settings = load_settings()
    lock = threading.Lock()

    def show(row: dict[str, Any]) -> None:
        with lock:
            if args.format == "json":
                print(json.dumps(row, ensure_ascii=False, default=str), flush=True)
            else:
                print(_history_line(row), flush=True)

    _fixed_mmap_threshold()
    relay = start_relay(forward_url=args.forward, session_id=args.session, port=args.port,
                        timeout=args.timeout if args.timeout is not None else settings.answer_timeout_s,
                        on_exchange=show)
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        info = {"relay": relay.url, "track_url": relay.track_url, "forward": relay.forward_url,
                "session_id": relay.session_id, "timeout_s": relay.timeout}
        with lock:
            if args.format == "json":
                print(json.dumps(info), flush=True)
            else:
                print(f"Recording relay on {info['relay']} -> {info['forward']} (session {info['session_id']})\n"
                      f"  Point your backend's TikTok base URL at {info['relay']} (it posts to {info['track_url']}).\n"
                      f"  Ctrl-C to stop; `tiktok-events history --session {info['session_id']}` lists what came "
                      "through.", flush=True)
        stop.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        relay.stop()
    _note(f"relay stopped after {relay.recorded} recorded exchange(s)")
    return EXIT_OK


def cmd_history(args: argparse.Namespace) -> int:
    """List recorded exchanges (console sends, relay, capture) with their findings; exit 1 when none match."""
    from core.errors import InvalidInput
    from core.relay import history
    from core.store import Store, check_session_id

    settings = load_settings()
    with Store(settings.db_path) as store:
        if args.session is not None:
            check_session_id(args.session)
            if store.session(args.session) is None:
                raise InvalidInput(f"No session {args.session!r} in {settings.db_path}.",
                                   hint="Use the id the relay printed, or run `tiktok-events history` without "
                                        "--session to list every exchange.")
        rows = history(store, session_id=args.session, source=args.source)
    emit({"exchanges": rows}, args.format, _format_history)
    return EXIT_OK if rows else EXIT_FINDINGS


def _shown(value: Any, limit: int = 80) -> str:
    """`value` safe for a terminal: control and format characters (ESC, bidi overrides) escaped, cut at `limit`."""
    import unicodedata

    text = str(value)
    text = text if len(text) <= limit else text[:limit] + "…"
    return "".join(repr(c)[1:-1] if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c for c in text)


def _history_line(row: dict[str, Any]) -> str:
    errors = sum(1 for f in row["findings"] if isinstance(f, dict) and f.get("severity") == "error")
    names = ", ".join(f"{_shown(e['event'])}/{_shown(e['event_id'])}" for e in row["events"][:3])
    more = f" +{len(row['events']) - 3}" if len(row["events"]) > 3 else ""
    return (f"{row['received_at']} {_shown(row['source']):<7} HTTP {row['status']} code {_shown(row['code'])} "
            f"{len(row['events'])} event(s) [{names}{more}] {len(row['findings'])} finding(s), {errors} error(s) "
            f"request_id {_shown(row['request_id'])}")


def _format_history(doc: dict[str, Any]) -> str:
    rows = doc["exchanges"]
    if not rows:
        return "No recorded exchanges match."
    return "\n".join(_history_line(r) for r in rows) + f"\n{len(rows)} exchange(s)"


# --- Pixel and dedup analysis: pixels / dedup / demo ---------------------------------------------
def cmd_pixels(args: argparse.Namespace) -> int:
    """Print the Pixel events found in a HAR / JSON / JSONL / CSV file (core.sources); `-` reads stdin.

    Exit 1 when a TikTok hit or row was broken (malformed body, no pixel code, unreadable row) — noise
    such as telemetry, loaders and EnrichAM is skipped without failing; exit 2 for an unreadable file.
    """
    from core.sources.pixel import load_pixel_events

    source: Any = sys.stdin.buffer.read() if args.file == "-" else args.file
    result = load_pixel_events(source, name="stdin" if args.file == "-" else None)
    broken = [s for s in result.skipped if s.kind in _BROKEN_KINDS]

    if args.format == "json":
        write_pixels_json(result, sys.stdout)
    else:  # rendered from the typed frame: no list of a million dicts for a text listing
        emit(result, "text", format_pixels)
    return EXIT_FINDINGS if broken else EXIT_OK


_BROKEN_KINDS = ("malformed", "no_pixel_code", "no_event", "bad_row")
_JSON_ROWS = 50_000


def write_pixels_json(result: Any, out: TextIO) -> None:
    """`pixels --format json`: PixelImport.as_dict written in slices of rows, never the whole list at once."""
    from dataclasses import asdict

    events = result.events
    out.write(f'{{"format": {json.dumps(result.format)}, "entries": {int(result.entries)}, "events": [')
    for start in range(0, len(events), _JSON_ROWS):
        if start:
            out.write(", ")
        out.write(events.iloc[start:start + _JSON_ROWS].to_json(orient="records", force_ascii=False)[1:-1])
    skipped = json.dumps([asdict(s) for s in result.skipped], ensure_ascii=False)
    out.write(f'], "skipped": {skipped}, "notes": {json.dumps(list(result.notes), ensure_ascii=False)}}}\n')


def format_pixels(result: Any) -> str:
    """The `pixels` text report of a PixelImport: one line per event, the counts, broken hits, notes."""
    import math
    from datetime import UTC, datetime

    lines = []
    columns = ["timestamp", "pixel_code", "event", "event_id", "user_keys", "value", "currency"]
    for ts, code, event, event_id, keys, value, currency in result.events[columns].itertuples(index=False):
        known = isinstance(ts, int | float) and math.isfinite(ts)
        when = datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z" if known \
            else "(no time)"
        amount = f" {value:g} {currency}".rstrip() if isinstance(value, int | float) and math.isfinite(value) else ""
        lines.append(f"{when}  {code}  {event}  event_id={event_id or '(none)'}  keys={keys or '-'}{amount}")
    counts = result.skipped_counts()
    summary = f"{len(result.events)} Pixel event(s) from {result.entries} {result.format.upper()} item(s)"
    if counts:
        summary += "; skipped " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    lines.append(summary)
    lines.extend(f"  entry {s.entry}: {s.reason}  {s.url}".rstrip() for s in result.skipped if s.kind in _BROKEN_KINDS)
    lines.extend(f"note: {n}" for n in result.notes)
    return "\n".join(lines)


def cmd_capture(args: argparse.Namespace) -> int:
    """Capture the Pixel from URL in Chromium (core.capture); exit 0 with events and no error finding, 1 when
    none were captured or a finding is an error, 2 for a bad journey, URL or missing browser."""
    from pathlib import Path

    from core.capture import CaptureOptions, parse_journey, run_capture

    journey = list(parse_journey(Path(args.journey))) if args.journey else None  # checked before a browser starts
    options = CaptureOptions(url=args.url, journey=journey,
                             headed=args.headed, offline=args.offline, idle_seconds=args.idle_seconds,
                             har_out=Path(args.har_out) if args.har_out else None, session_id=args.session)
    if args.session:  # each hit goes into the session as the browser fires it (the Live page shows it)
        from core.live_capture import capture_into_session
        from core.store import Store

        with Store(load_settings().db_path) as store:
            result = capture_into_session(store, args.session, options)
    else:
        result = run_capture(options)
    emit(result.to_json(), args.format, format_capture)
    return result.exit_code


def format_capture(doc: dict[str, Any]) -> str:
    """The `capture` text report: pages in visit order, Pixel hits, cookies, failed requests, findings."""
    lines = [f"{len(doc['events'])} Pixel event(s) on {len(doc['pages'])} page(s) from {doc['url']}"]
    for i, page in enumerate(doc["pages"], start=1):
        load = f"load {page['load_ms']} ms" if page.get("load_ms") is not None else "not loaded"
        lines.append(f"  page {i}: {page['url']}  ttclid {'yes' if page['ttclid_in_url'] else 'no'}  {load}")
        lines.extend(f"    redirect {r['status']} from {r['url']}" for r in page["redirects"])
        lines.extend(f"    +{h['ms_after_navigation']} ms  {h['pixel_code']}  {h['event']}" for h in page["pixel_hits"])
    lines.extend(f"  event {e['event']} pixel {e['pixel_code']} event_id={e['event_id'] or '(none)'} "
                 f"keys={e['user_keys'] or '-'}" for e in doc["events"])
    cookies = doc["cookies"]
    lines.append(f"cookies: _ttp={cookies.get('_ttp') or '(not set)'}  ttclid={cookies.get('ttclid') or '(not set)'}")
    lines.extend(f"failed: {f['url']}: {f['error']}" for f in doc["failed"])
    if doc["skipped"]:
        lines.append("skipped: " + ", ".join(f"{s['kind']} {s['url']}" for s in doc["skipped"]))
    lines.extend(f"{f['severity']}: {f['code']} at {f['path']}: {f['message']} Fix: {f['fix']}"
                 for f in doc["findings"])
    return "\n".join(lines)


def cmd_dedup(args: argparse.Namespace) -> int:
    """Simulate TikTok's deduplication over Pixel + server events; exit 0, or 2 on bad input.

    JSON: the summary figures at the top level (pixel_events, server_events, counted, ...), plus
    `near_misses` (count per kind), `daily` (one object per UTC day), with orders `link`, `segment_sources`
    and `truth_rule`, and with --details `keys` (one object per key verdict), and `engine`. The default
    engine is DuckDB (core.engine, memory bounded, progress on stderr); --engine memory is core.dedup.
    """
    if args.engine != "memory":
        return _dedup_on_engine(args)
    from core.dedup import dedup_files

    run = dedup_files(args.pixel, args.server, args.orders, link=args.link, template=args.template,
                      utm_source=args.utm_source, all_orders=args.all_orders)
    for warning in run.warnings:
        print(f"tiktok-events dedup: {warning}", file=sys.stderr)
    emit({"engine": "memory", **run.to_dict(details=args.details)}, args.format, format_dedup)
    return EXIT_OK


def _dedup_on_engine(args: argparse.Namespace) -> int:
    """`dedup --engine duckdb|spark`: the same rules as set-based SQL over the files, memory bounded.

    The memory engine's document (same names and values); --details lists the first --details-limit key
    verdicts. Progress goes to stderr, a line per stage, never into the --format json output.
    """
    from core.engine import dedup_files as engine_dedup_files

    doc = engine_dedup_files(args.pixel, args.server, args.orders, link=args.link, template=args.template,
                             utm_source=args.utm_source, all_orders=args.all_orders,
                             keys_offset=0 if args.details else None, keys_limit=args.details_limit,
                             engine=args.engine, memory_limit=args.memory_limit,
                             spark_remote=args.spark_remote or load_settings().spark_remote,
                             progress=_progress(f"dedup ({args.engine})"))
    emit({"engine": args.engine, **doc}, args.format, format_dedup)
    return EXIT_OK


PROGRESS_AFTER_S = 2.0  # a run shorter than this shows no progress (a quick error stays one line)


def _progress(what: str) -> Callable[[str], None]:
    """Progress lines on stderr with the seconds since the start (never on stdout), once a run is long."""
    import time

    start = time.monotonic()

    def say(step: str) -> None:
        elapsed = time.monotonic() - start
        if elapsed >= PROGRESS_AFTER_S:
            _note(f"{what}: {step} ({elapsed:.1f} s)")

    return say


_DEDUP_COUNTS = ("pixel_events", "server_events", "counted", "merged_pairs", "deduplicated_pairs", "pixel_only",
                 "server_only", "same_source_duplicates", "outside_window", "missing_event_id")


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.1%}"


def _num(v: int | None) -> str:
    return "n/a" if v is None else f"{v:,}"


def format_dedup(summary: Mapping[str, Any]) -> str:
    """The dedup command's text form of its JSON document (core.dedup.DedupRun.to_dict)."""
    o = summary
    lines = [f"{name:<24}{o[name]:>12,}" for name in _DEDUP_COUNTS]
    if o.get("missing_time"):
        lines.append(f"{'missing_time':<24}{o['missing_time']:>12,}  (no usable time: counted alone)")
    if o.get("ttp_fallback_candidates"):
        lines.append(f"{'ttp_fallback_candidates':<24}{o['ttp_fallback_candidates']:>12,}  "
                     "(hint only: TikTok's _ttp fallback, not counted)")
    if "truth" in o:
        link = o.get("link") or {"mode": "", "template": None, "linked_orders": None, "message": ""}
        how = f"by {link['mode']}" + (f" {link['template']}" if link["template"] else "")
        lines += [f"{'truth':<24}{o['truth']:>12,}  ({o.get('truth_rule', 'TikTok orders')})",
                  *([f"{'linked_orders':<24}{link['linked_orders']:>12,}  ({how})"]
                    if link["linked_orders"] is not None else []),
                  *(f"{name:<24}{_num(o[name]):>12}" for name in ("truth_pixel", "truth_counted",
                                                                    "truth_over_counted")),
                  f"{'pixel_gap':<24}{_pct(o['pixel_gap']):>12}",
                  f"{'recovered_share':<24}{_pct(o['recovered_share']):>12}"]
        if link["message"]:
            lines.append(f"note: {link['message']}")
        for dim, source in (o.get("segment_sources") or {}).items():
            lines.append(f"segment {dim}: {source['message']}")
    for kind, n in (o.get("near_misses") or {}).items():
        lines.append(f"near miss: {kind:<22}{n:>8,}")
    for k in o.get("keys", []):
        lines.append(f"{k['verdict']:<17} {k['pixel_code']} {k['event']} {k['event_id']!r}: {k['reason']}")
    return "\n".join(lines)


def cmd_demo(args: argparse.Namespace) -> int:
    """Write a synthetic store month (core.demo): orders.csv, pixel.csv/.jsonl, server.csv/.jsonl."""
    from core.demo import generate_store, write_store

    store = generate_store(args.orders, seed=args.seed)
    paths = write_store(store, args.out)
    out = {"orders": len(store.orders), "pixel_events": len(store.pixel), "server_events": len(store.server),
           "seed": args.seed, "files": {name: str(path) for name, path in paths.items()}}

    def text(o: dict[str, Any]) -> str:
        files = "\n".join(f"  {path}" for path in o["files"].values())
        return (f"Wrote a synthetic month: {o['orders']:,} orders, {o['pixel_events']:,} Pixel events, "
                f"{o['server_events']:,} server events (seed {o['seed']}; rates are illustrative).\n{files}\n"
                f"Try: tiktok-events dedup --pixel {o['files']['pixel.csv']} --server {o['files']['server.csv']} "
                f"--orders {o['files']['orders.csv']}")

    emit(out, args.format, text)
    return EXIT_OK


# --- match quality: quality -----------------------------------------------------------------------
def cmd_quality(args: argparse.Namespace) -> int:
    """Score every event's match keys with the EMQ proxy (core.quality, core.review); FILE is JSON/JSONL/CSV,
    Parquet, a HAR, or - (standard input).

    Exit 0 when scored (a low score is a finding to read, not a failure), 2 for unreadable input; with
    `--min-score S`, exit 1 when the mean EMQ proxy is below S (a gate for CI pipelines). The default engine
    is DuckDB (core.engine.quality: the file read once, memory bounded, progress on stderr unless --format
    json, every event streamed into the JSON); --engine memory is core.quality's pandas path (and standard
    input always is); --engine spark is refused for quality (exit 2, with the reason).
    """
    from core.quality import score_frame, score_text
    from core.review import build_review

    if args.file == "-" or not Path(args.file).is_file() or args.engine == "memory":
        from core.quality import load_quality_input

        scores = (score_text(read_text_arg(args.file), "standard input" if args.file == "-" else args.file)
                  if args.file == "-" or not Path(args.file).is_file() else score_frame(load_quality_input(args.file)))
        return _quality_out(args, build_review(scores), None)
    from core.engine.quality import open_run

    say = _progress(f"quality ({args.engine})") if args.format != "json" else None
    with open_run(args.file, engine=args.engine, memory_limit=args.memory_limit, progress=say) as run:
        return _quality_out(args, run.review(), run)


def _quality_out(args: argparse.Namespace, result: Any, run: Any) -> int:
    """Print the review (JSON with every event, streamed from `run` when given, or text); the exit code."""
    from core.quality import LABEL
    from core.review import cli_events, to_cli_json

    below = args.min_score is not None and result.summary["mean_score"] < args.min_score
    if below:
        print(f"tiktok-events quality: mean {LABEL} {result.summary['mean_score']:.2f} is below --min-score "
              f"{args.min_score:g}.", file=sys.stderr)
    if args.format == "json" and run is not None:  # the document emit() would print, written a chunk at a time
        sys.stdout.write('{"events": [')
        sep = ""
        for frame in run.chunks():
            for event in cli_events(frame):
                sys.stdout.write(sep + json.dumps(event, ensure_ascii=False, default=str))
                sep = ", "
        sys.stdout.write('], "summary": ' + json.dumps(result.summary, ensure_ascii=False, default=str) + "}\n")
    else:
        emit(to_cli_json(result) if args.format == "json" else result, args.format, format_quality)
    return EXIT_FINDINGS if below else EXIT_OK


def format_quality(result: Any) -> str:
    """`quality` for people: the mean, each key's points and coverage, event types, and what to do next.

    One line of advice per key: the same advice for "All events" and for an event type is said once,
    with the scopes it applies to.
    """
    from core.quality import KEY_LABELS, KEYS, LABEL

    s = result.summary
    lines = [f"{LABEL} (mean) {s['mean_score']:.2f} / 10 over {s['events']} event(s); median "
             f"{s['median_score']:.2f}. A transparent estimate: TikTok does not publish EMQ's weights.",
             "", f"{'key':<12}{'points':>7}{'valid':>8}{'sent':>8}  invalid (top reason)"]
    for key in KEYS:
        bad = s["invalid"].get(key) or {}
        top = max(bad, key=bad.__getitem__) if bad else ""
        lines.append(f"{key:<12}{s['weights'][key]:>7.2f}{s['coverage'][key]:>8.0%}"
                     f"{s['presence'][key]:>8.0%}  " + (f"{sum(bad.values())} ({top})" if bad else "-"))
    lines += ["", "by event type:"]
    lines += [f"  {r['event']:<24}{r['events']:>8} events  mean {r['mean_score']:.2f}" for r in s["by_event_type"]]
    best: dict[str, Any] = {}
    scopes: dict[str, list[str]] = {}
    for r in result.recommendations:
        best.setdefault(r.key, r)
        scopes.setdefault(r.key, []).append(r.event)
    if best:
        lines += ["", "what to do next:"]
        for r in sorted(best.values(), key=lambda r: -r.impact)[:5]:
            others = [e for e in scopes[r.key] if e != r.event]
            also = f" (also for {', '.join(others)})" if others else ""
            lines.append(f"  +{r.impact:.2f} overall ({r.event}, {KEY_LABELS[r.key]}): {r.message}{also}")
    return "\n".join(lines)


# --- app -------------------------------------------------------------------------------------------
def cmd_convert(args: argparse.Namespace) -> int:
    """Convert a Meta Conversions API body (FILE or -) to a TikTok v1.3 body, linted; exit 1 on lint errors.

    Text: the body on stdout (so `convert meta.json | tiktok-events send -` works), what was carried over,
    what was lost and the findings on stderr. `--format json` prints {"body", "notes", "lost", "findings"}.
    The Pixel code falls back to TEC_PIXEL_CODE; exit 2 without one, or for input that is no Meta body.
    """
    from core.convert import convert_meta, parse_meta_body
    from core.errors import InvalidPayload
    from core.lint import has_errors, lint

    pixel = args.pixel_code or load_settings().pixel_code
    if not pixel:
        raise ConfigError("No Pixel code.", hint="Pass --pixel-code (Events Manager > Data sources) or set "
                                                 "TEC_PIXEL_CODE.")
    text = read_text_arg(args.file)
    try:
        request = parse_meta_body(text)
    except InvalidPayload as exc:  # name the file: "-" reads as standard input
        where = "standard input" if args.file == "-" else args.file
        raise InvalidPayload(f"{where}: {exc.message}", hint=exc.hint) from None
    conversion = convert_meta(request, pixel)
    findings = lint(conversion.body)
    doc = {**conversion.as_dict(), "findings": [f.as_dict() for f in findings]}
    if args.format == "json":
        emit(doc, "json")
    else:
        emit(conversion.body, "text")
        for n in conversion.notes:
            print(f"mapped {n['from']} -> {n['to']}: {n['note']}", file=sys.stderr)
        for lost in conversion.lost:
            instead = f" Instead: {lost['instead']}." if lost["instead"] else ""
            print(f"lost   {lost['from']}: {lost['why']}{instead}", file=sys.stderr)
        for f in findings:
            print(f"{f.severity:<7} {f.path or '(body)'} [{f.code}] {f.message}", file=sys.stderr)
    return EXIT_FINDINGS if has_errors(findings) else EXIT_OK


# --- the audit report ------------------------------------------------------------------------------
def cmd_report(args: argparse.Namespace) -> int:
    """Write the audit report (core.report): one self-contained HTML file, and with --pdf its print.

    From a send session (`--session ID`; without it the whole history, optionally beside `--pixel F`), or
    from files (`--pixel F --server F [--orders F]`). Exit 0 written; 1 written, but the checked material
    has error findings or rejected events (said on stderr); 2 bad input, or --pdf without a browser.
    JSON: {"out", "pdf", "figures"} (figures = the report's JSON appendix).
    """
    from core.errors import InvalidFile, InvalidInput
    from core.report import build_report, files_material, print_pdf, problems, report_figures, session_material

    if args.server and args.session:
        raise InvalidInput("--session and --server are two kinds of report.",
                           hint="Use --session ID (what the console sent) or --pixel F --server F [--orders F].")
    if (args.server or args.orders) and not (args.pixel and args.server):
        raise InvalidInput("A report from files needs both --pixel and --server (--orders is optional).",
                           hint="Add the missing file, e.g. --pixel pixel.csv --server server.jsonl.")
    for target in (args.out, args.pdf):
        if target and not Path(target).resolve().parent.is_dir():
            raise InvalidFile(f"The folder of {target} does not exist.", hint="Create it, or write elsewhere.")
    if args.pdf:
        from core.browser import find_chromium

        find_chromium()  # no browser: say so before any work (BrowserMissing, exit 2)
    if args.server:
        material = files_material(args.pixel, args.server, args.orders)
    else:
        pixel = None
        if args.pixel:
            from core.sources import load_pixel_events

            pixel = load_pixel_events(args.pixel).events
        material = session_material(load_settings().db_path, args.session, pixel=pixel,
                                    pixel_label=Path(args.pixel).name if args.pixel else "")
    page = build_report(material)
    try:
        Path(args.out).write_text(page, encoding="utf-8")
    except OSError as exc:
        raise InvalidFile(f"Cannot write {args.out}: {exc.strerror or exc}.", hint="Choose a writable path.") from None
    pdf = str(print_pdf(page, args.pdf)) if args.pdf else None
    figures = report_figures(material)
    found = problems(figures)
    for problem in found:
        print(f"tiktok-events report: the checked material has {problem} (the report is written).", file=sys.stderr)
    emit({"out": str(args.out), "pdf": pdf, "figures": figures}, args.format,
         lambda o: f"Wrote {o['out']}" + (f" and {o['pdf']}" if o["pdf"] else "") +
                   f" ({o['figures']['events_checked']:,} events checked: {o['figures']['report']['checked']}).")
    return EXIT_FINDINGS if found else EXIT_OK
def cmd_stats(args: argparse.Namespace) -> int:
    """What TikTok itself counted for a Pixel, per UTC day and event (Marketing API /pixel/event/stats/).

    The token is TIKTOK_MARKETING_TOKEN, else TIKTOK_ACCESS_TOKEN (never printed); a local --base-url (the
    emulator) needs none. Exit 0 with the rows; 2 for bad input, no token, or a refusal whose fix is the
    caller's (token, advertiser, Pixel); 1 when TikTok failed otherwise (rate limit, system error).
    """
    from urllib.parse import urlsplit

    from core.config import EMULATOR_TOKEN, marketing_credentials
    from core.contract import TIKTOK_BASE_URL
    from core.errors import InvalidInput
    from core.readback import MarketingClient, TikTokRefused, day_range, read_stats

    for flag, value in (("--advertiser-id", args.advertiser_id), ("--pixel-code", args.pixel_code)):
        if value is not None and not value.strip():  # an empty flag is a mistake, not "use the environment's"
            raise InvalidInput(f"{flag} is empty.", hint=f"Pass {flag} with a value, or leave it out to use the "
                                                         "configured one (TEC_ADVERTISER_ID / TEC_PIXEL_CODE).")
    settings = load_settings()
    creds = marketing_credentials()
    days = day_range(args.since, args.until)
    base = (args.base_url or settings.base_url or TIKTOK_BASE_URL).strip().rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise ConfigError(f"--base-url {base!r} is not an http(s) URL.", hint="Use e.g. http://127.0.0.1:9000.")
    token = creds.token
    if not token and (urlsplit(base).hostname or "") in ("127.0.0.1", "localhost", "::1"):
        token = EMULATOR_TOKEN
    if not token:
        raise ConfigError("No Marketing API token: set TIKTOK_MARKETING_TOKEN (or TIKTOK_ACCESS_TOKEN).",
                          hint="TikTok for Business developers > your app > an advertiser's access token with "
                               "the Pixel/Measurement scope. It is read from the environment only, never stored.")
    try:
        with MarketingClient(base, token, timeout_s=settings.timeout_s, max_attempts=settings.max_attempts) as client:
            result = read_stats(client, pixel_code=args.pixel_code or settings.pixel_code,
                                advertiser_id=args.advertiser_id or creds.advertiser_id, days=days)
    except TikTokRefused as exc:
        print(f"tiktok-events stats: {exc}", file=sys.stderr)
        return EXIT_USAGE if exc.usage else EXIT_FINDINGS
    emit(result.as_dict(), args.format, format_stats)
    return EXIT_OK


def format_stats(doc: Mapping[str, Any]) -> str:
    """`stats` for people: one line per UTC day and event, then the Pixel's settings and the notes."""
    lines = [f"TikTok's counts for Pixel {doc['pixel_code']}, {doc['since']}..{doc['until']} (UTC days):"]
    lines += [f"  {r['day']}  {r['event']:<22} browser {r['browser']:>7}  server {r['server']:>7}  "
              f"total {r['total']:>7}  preview {r['preview']:>5}" for r in doc["rows"]]
    if not doc["rows"]:
        lines.append("  no events counted on these days")
    pixel = doc.get("pixel")
    if pixel and pixel.get("advanced_matching") is not None:
        am = pixel["advanced_matching"]
        lines.append(f"Advanced matching: email {'on' if am['email'] else 'off'}, phone "
                     f"{'on' if am['phone_number'] else 'off'}.")
    return "\n".join(lines + list(doc.get("notes") or []))


def cmd_app(args: argparse.Namespace) -> int:
    """Start the Streamlit UI: `tiktok-events app [--server.port N ...]` becomes `streamlit run app.py`."""
    if not APP.is_file():
        raise ConsoleError(f"app.py not found next to core/ ({APP}).", hint="Install with `pip install -e .`.")
    # the same defaults as .streamlit/config.toml, so the app looks the same started from any folder
    defaults = ["--client.showSidebarNavigation", "false", "--browser.gatherUsageStats", "false",
                "--server.maxUploadSize", "1024"]
    argv = [sys.executable, "-m", "streamlit", "run", str(APP), *defaults, *args.streamlit_args]
    os.execv(sys.executable, argv)
    return EXIT_OK  # pragma: no cover - execv does not return


def build_parser() -> argparse.ArgumentParser:
    """The argparse tree for every subcommand; names and flags are a public contract."""
    parser = _Parser(prog="tiktok-events", description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def add(name: str, func: Callable[[argparse.Namespace], int], help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        p.set_defaults(func=func)
        p.add_argument("--format", choices=("text", "json"), default="text", help="output format")
        return p

    p = add("hash", cmd_hash, "normalize and SHA-256 hash identifiers")
    p.add_argument("kind", choices=("email", "phone", "external_id"))
    p.add_argument("values", nargs="+", metavar="VALUE")
    p.add_argument("--region", help="default region for national phone numbers, e.g. US, GB")

    p = add("build", cmd_build, "build an Events API v1.3 request body")
    _BUILD_ARGS(p)

    p = add("validate", cmd_validate, "lint an Events API body (FILE or - for stdin)")
    p.add_argument("file", metavar="FILE")

    p = add("send", cmd_send, "send events to the Events API (test mode by default)")
    _SEND_ARGS(p)

    _OUTBOX_ARGS(add("outbox", cmd_outbox, "events waiting to be accepted by the Events API"))

    p = add("emulator", cmd_emulator, "run the local Events API emulator")
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 picks a free one)")
    p.add_argument("--token", help="the access token the emulator accepts")

    _RELAY_ARGS(add("relay", cmd_relay, "record a backend's Events API requests on their way to TikTok (127.0.0.1)"))
    _HISTORY_ARGS(add("history", cmd_history, "list recorded exchanges (console sends, relay) with their findings"))

    p = add("pixels", cmd_pixels, "list the Pixel events in a HAR / JSON / JSONL / CSV file")
    p.add_argument("file", metavar="FILE")

    _CAPTURE_ARGS(add("capture", cmd_capture, "capture the Pixel from a store in Chromium (pages, cookies, findings)"))

    p = add("dedup", cmd_dedup, "simulate TikTok deduplication of Pixel and server events")
    p.add_argument("--pixel", required=True, metavar="FILE")
    p.add_argument("--server", required=True, metavar="FILE")
    p.add_argument("--orders", metavar="FILE")
    p.add_argument("--details", action="store_true", help="add per-key verdicts")
    _DEDUP_ARGS(p)

    p = add("quality", cmd_quality, "score match keys with the EMQ proxy")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--min-score", type=float, metavar="S", help="exit 1 when the mean EMQ proxy is below S (0-10)")
    p.add_argument("--engine", choices=("duckdb", "memory", "spark"), default="duckdb",
                   help="duckdb (default): the key rules as SQL over the file with bounded memory, files of any "
                        "size; memory: the same figures in pandas (small files); spark: refused for quality")
    p.add_argument("--memory-limit", metavar="SIZE",
                   help="the engine's memory limit, e.g. 4GB (default an eighth of the RAM); it spills beyond")

    p = add("demo", cmd_demo, "write a synthetic store month (orders, Pixel, server events)")
    p.add_argument("--orders", type=int, default=5000)
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--seed", type=int, default=7)

    p = add("convert", cmd_convert, "convert a Meta Conversions API body to a TikTok Events API body")
    p.add_argument("file", metavar="FILE", help="the Meta request body (JSON), or - for stdin")
    p.add_argument("--pixel-code", metavar="CODE", help="event_source_id (default: TEC_PIXEL_CODE)")

    _REPORT_ARGS(add("report", cmd_report, "write the audit report: one self-contained HTML file (and a PDF)"))
    _STATS_ARGS(add("stats", cmd_stats, "what TikTok itself counted per UTC day and event (Marketing API)"))

    p = sub.add_parser("app", help="start the Streamlit console", add_help=True)
    p.add_argument("streamlit_args", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_app)
    return parser


# Extra flags per subcommand, kept beside their handlers' owners.
def _OUTBOX_ARGS(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=("list", "retry", "drop"))
    p.add_argument("--base-url")
    p.add_argument("--timeout", type=float)
    p.add_argument("--session", metavar="ID", help="only this send session")
    p.add_argument("--status", choices=("pending", "blocked", "rejected", "held"), help="list: only this status")
    p.add_argument("--rejected", action="store_true",
                   help="retry: also resend events TikTok refused as invalid or the linter held back")
    p.add_argument("--without-raw-pii", action="store_true",
                   help="retry: send events whose raw email/phone was not kept without those values (reported)")
    p.add_argument("--ids", type=int, nargs="+", metavar="ID", help="drop: these outbox ids (default: every "
                                                                    "refused and held event)")


def _CAPTURE_ARGS(p: argparse.ArgumentParser) -> None:
    p.add_argument("url", metavar="URL")
    p.add_argument("--journey", metavar="FILE", help="JSON list of steps: goto, click, fill (+text), wait_for, wait_ms")
    p.add_argument("--headed", action="store_true", help="open a window to click through; ends when it closes")
    p.add_argument("--offline", action="store_true", help="answer every non-127.0.0.1 request locally")
    p.add_argument("--idle-seconds", type=float, default=5.0, metavar="N",
                   help="end after N seconds without a request (without a journey; default 5)")
    p.add_argument("--har-out", metavar="FILE", help="write the session as a HAR (the Compare page imports it)")
    p.add_argument("--session", metavar="ID", help="record the Pixel hits in this session (created if new): the "
                                                   "Live page shows them")


def _REPORT_ARGS(p: argparse.ArgumentParser) -> None:
    p.add_argument("--session", metavar="ID", help="the send session to report (default: the whole history)")
    p.add_argument("--pixel", metavar="FILE", help="Pixel events (HAR, JSON, JSONL, CSV)")
    p.add_argument("--server", metavar="FILE", help="server events (v1.3 JSON / JSONL, or CSV): a report from files")
    p.add_argument("--orders", metavar="FILE", help="the store's orders (CSV), with --pixel and --server")
    p.add_argument("--out", required=True, metavar="FILE.html", help="where to write the HTML report")
    p.add_argument("--pdf", metavar="FILE.pdf", help="also print it to PDF with Chromium")


def _STATS_ARGS(p: argparse.ArgumentParser) -> None:
    p.add_argument("--pixel-code", metavar="CODE", help="the Pixel (default: TEC_PIXEL_CODE)")
    p.add_argument("--advertiser-id", metavar="ID", help="the advertiser (default: TEC_ADVERTISER_ID)")
    p.add_argument("--since", metavar="YYYY-MM-DD", help="first UTC day (default: 6 days before --until)")
    p.add_argument("--until", metavar="YYYY-MM-DD", help="last UTC day (default: today, UTC)")
    p.add_argument("--base-url", help="TikTok's Business API (default) or the emulator, e.g. http://127.0.0.1:9000")


def _BUILD_ARGS(p: argparse.ArgumentParser) -> None:
    def consent(value: str) -> str:
        state = value.strip().upper()
        if state not in ("GRANTED", "DENIED"):
            raise argparse.ArgumentTypeError(f"{value!r} is not GRANTED or DENIED")
        return state

    add = p.add_argument
    add("--pixel-code", help="event_source_id (default: TEC_PIXEL_CODE)")
    add("--event", default="Purchase", help="event name, exact case (default: Purchase)")
    add("--event-id", help="explicit event_id (default: derived from --order-id)")
    add("--event-id-template", default="ord_{order_id}_{event}",
        help="how the event_id is derived: {order_id}, {event} (snake case), {event_name}")
    add("--order-id", help="order id: sent as properties.order_id and used for the event_id")
    add("--event-time", help="Unix seconds or ISO 8601 (default: now)")
    add("--email", action="append", help="raw or hashed; repeat for several")
    add("--phone", action="append", help="raw (with --region for national numbers) or hashed; repeatable")
    add("--external-id", action="append", help="your user id; repeatable")
    add("--first-name")
    add("--last-name")
    add("--zip", dest="zip_code")
    add("--city")
    add("--state")
    add("--country")
    add("--ip", help="the shopper's public IP (sent unhashed)")
    add("--user-agent", help="the shopper's browser user agent (sent unhashed)")
    add("--locale", help="BCP-47, e.g. en-US")
    add("--ttclid", help="TikTok click id (default: taken from --url's ?ttclid=)")
    add("--ttp", help="the _ttp cookie value")
    add("--url", help="page URL (page.url)")
    add("--referrer", help="page referrer (page.referrer)")
    add("--value", help="order total, a plain number such as 129.99")
    add("--currency", help="ISO 4217 code, e.g. USD")
    add("--content-id", action="append", help="a SKU in properties.contents; repeatable")
    add("--content-type", choices=("product", "product_group"))
    add("--search-string")
    add("--description")
    add("--test-event-code", help="Events Manager > Test Events code (default: TEC_TEST_EVENT_CODE)")
    add("--region", help="default region for national phone numbers, e.g. US, GB (default: TEC_DEFAULT_REGION)")
    add("--ad-user-data", type=consent, default="GRANTED", metavar="GRANTED|DENIED",
        help="DENIED removes email, phone, external_id, names and zip")
    add("--ad-personalization", type=consent, default="GRANTED", metavar="GRANTED|DENIED",
        help="DENIED sets limited_data_use: true")
    add("--forward-consent", action="store_true", help="also send both consent states as properties")


def _SEND_ARGS(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--test-event-code", metavar="CODE")
    mode.add_argument("--live", action="store_true", help="send without a test code: events count")
    p.add_argument("--base-url")
    p.add_argument("--timeout", type=float)
    p.add_argument("--pixel-code", metavar="CODE", help="event_source_id for bare events (default: TEC_PIXEL_CODE)")
    p.add_argument("--send-invalid", action="store_true", help="also send events the linter finds errors in")
    p.add_argument("--resend", action="store_true",
                   help="send again even what an earlier run of the same send delivered (a dedup test)")


def _RELAY_ARGS(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 picks a free one)")
    p.add_argument("--forward", default="tiktok", metavar="tiktok|emulator|URL",
                   help="where requests go on: TikTok's API (default), a local emulator, or a base URL")
    p.add_argument("--session", metavar="ID", help="record into this session (created when new)")
    p.add_argument("--timeout", type=float, metavar="S",
                   help="seconds to wait for the upstream before answering 504 (default: TEC_ANSWER_TIMEOUT)")


def _HISTORY_ARGS(p: argparse.ArgumentParser) -> None:
    p.add_argument("--session", metavar="ID", help="only this session")
    p.add_argument("--source", choices=("relay", "console", "capture"), help="only exchanges made by this source")


def _DEDUP_ARGS(p: argparse.ArgumentParser) -> None:
    p.add_argument("--link", choices=("auto", "order_id", "event_id_template"), default="auto",
                   help="how orders link to events: auto (properties.order_id where events carry it, else "
                        "the event_id shape found in the ids), properties.order_id, or an event_id template")
    p.add_argument("--template", default="ord_{order_id}_purchase",
                   help="event_id template with one {order_id}, and {event} for the snake-case event name "
                        "if the ids carry it (with --link event_id_template)")
    p.add_argument("--utm-source", default="tiktok",
                   help="truth set: orders with this utm_source or a ttclid (default tiktok)")
    p.add_argument("--all-orders", action="store_true", help="truth set: every order (no TikTok filter)")
    p.add_argument("--engine", choices=("duckdb", "memory", "spark"), default="duckdb",
                   help="duckdb (default): SQL over the files with bounded memory, months of any size; "
                        "memory: the same figures in pandas (small files); spark: the same SQL on Apache Spark "
                        "(pip install -e '.[spark]')")
    p.add_argument("--memory-limit", metavar="SIZE", help="--engine duckdb: memory cap, e.g. 4GB (default: "
                                                          "an eighth of the machine)")
    p.add_argument("--spark-remote", metavar="URL", help="--engine spark: a Spark Connect URL, e.g. sc://host:15002 "
                                                         "(default: SPARK_REMOTE, else a local session)")
    p.add_argument("--details-limit", type=int, default=1000, metavar="N",
                   help="--engine duckdb|spark with --details: how many key verdicts to list")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `tiktok-events` console script."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["app"] and argv[1:2] not in (["-h"], ["--help"]):
        # everything after `app` belongs to `streamlit run` (argparse would reject --server.port as unknown)
        args = argparse.Namespace(command="app", func=cmd_app, streamlit_args=argv[1:])
    else:
        args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except ConsoleError as exc:
        print(f"tiktok-events {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `tiktok-events ... | head` closed the pipe: end quietly
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except (RecursionError, MemoryError, UnicodeError) as exc:
        print(f"tiktok-events {args.command}: the input cannot be read ({type(exc).__name__}). Check that the "
              "file is what the command expects (see --help).", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # a last resort: a person sees a sentence, never a traceback
        print(f"tiktok-events {args.command}: unexpected {type(exc).__name__}: {exc}. Nothing was changed by this "
              "error; if the input is right, report it with the command you ran.", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
