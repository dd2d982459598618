"""`stats` against an independent Marketing API stand-in that answers in odd, broken and hostile shapes.

The stand-in here is written apart from core/emulator.py on purpose: a real HTTP server on 127.0.0.1 whose
answers each test scripts (TikTok-shaped envelopes with missing fields, strings for numbers, pagination,
refusals, 429 with Retry-After, HTML pages, cut JSON, huge bodies). No network beyond 127.0.0.1.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from core.cli import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, main
from core.readback import PIXEL_LIST_PATH, STATS_PATH, MarketingClient, TikTokRefused, read_stats

TOKEN = "mkt-HOSTILE-TOKEN-5e8d2c1b"
PIXEL = "CHOSTILE00000000001"
ADVERTISER = "7000000000000000001"
DAY = date(2026, 5, 14)

Answer = tuple[int, dict[str, str], bytes]


def envelope(data: Any, code: Any = 0, message: str = "OK") -> Answer:
    return 200, {"Content-Type": "application/json"}, json.dumps(
        {"code": code, "message": message, "request_id": "rid-1", "data": data}).encode()


def pixels(*codes: str, page: int = 1, total_page: int = 1) -> Answer:
    return envelope({"pixels": [{"pixel_id": f"id-{c}", "pixel_code": c} for c in codes],
                     "page_info": {"page": page, "page_size": 20, "total_page": total_page}})


@dataclass
class MarketingStandIn:
    """Answers GETs with what `script(path, query, n)` returns; keeps each request's path, query and token."""

    script: Callable[[str, dict[str, list[str]], int], Answer] = lambda path, q, n: envelope({})
    seen: list[tuple[str, dict[str, list[str]], str | None]] = field(default_factory=list)
    url: str = ""
    trickle_s: float = 0.0


@pytest.fixture
def standin(monkeypatch: pytest.MonkeyPatch) -> Iterator[MarketingStandIn]:
    state = MarketingStandIn()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            with lock:
                state.seen.append((parts.path, query, self.headers.get("Access-Token")))
                n = sum(1 for p, _, _ in state.seen if p == parts.path)
            status, headers, body = state.script(parts.path, query, n)
            try:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if state.trickle_s:
                    for b in body:
                        self.wfile.write(bytes([b]))
                        self.wfile.flush()
                        time.sleep(state.trickle_s)
                else:
                    self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: Any, client_address: Any) -> None:
            pass  # the client hung up on a huge answer on purpose: not the stand-in's news

    server = Server(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("TIKTOK_MARKETING_TOKEN", TOKEN)
    monkeypatch.setenv("TEC_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("TEC_TIMEOUT", "2")
    monkeypatch.delenv("TEC_ADVERTISER_ID", raising=False)
    yield state
    server.shutdown()
    server.server_close()


def stats_with(standin: MarketingStandIn, statistics: Any, *, sleeps: list[float] | None = None) -> list[Any]:
    standin.script = lambda path, q, n: pixels(PIXEL) if path == PIXEL_LIST_PATH else envelope(
        {"list": [{"pixel_id": f"id-{PIXEL}", "statistics": statistics}]})
    with MarketingClient(standin.url, TOKEN, max_attempts=2, sleep=(sleeps or []).append) as client:
        return read_stats(client, pixel_code=PIXEL, advertiser_id=ADVERTISER, days=[DAY]).rows


ODD_STATISTICS = [
    ([{"pixel_event_type": "SHOPPING", "browser_event_total_count": "12", "server_event_total_count": 3.0}],
     [("Purchase", 12, 3, 15)]),
    ([{"custom_event_type": "Quiz", "total_count": None, "extra": {"x": [1]}}], [("Quiz", 0, 0, 0)]),
    ([{"pixel_event_type": "ViewContent", "browser_event_total_count": -4, "server_event_total_count": True}],
     [("ViewContent", 0, 0, 0)]),
    ([{"pixel_event_type": "AddToCart", "browser_event_total_count": "9" * 5000, "server_event_total_count": "7"}],
     [("AddToCart", 0, 7, 7)]),
    ([{"browser_event_total_count": 1}], [("(unnamed)", 1, 0, 1)]),
    ([{"pixel_event_type": "Lead", "date": "not a day", "server_event_total_count": 2}], [("Lead", 0, 2, 2)]),
    ([None, 5, "x", [], {"pixel_event_type": "Search", "total_count": "4", "browser_event_total_count": 4}],
     [("Search", 4, 0, 4)]),
    (None, []), (7, []), ("statistics", []), ({"pixel_event_type": "Purchase"}, []),
]


@pytest.mark.parametrize(("statistics", "expected"), ODD_STATISTICS)
def test_odd_statistics_shapes_read_leniently(standin: MarketingStandIn, statistics: Any,
                                              expected: list[tuple[str, int, int, int]]) -> None:
    """Strings for numbers, nulls, negatives, bools, 5000-digit strings, junk items: counted or 0, never a crash."""
    rows = stats_with(standin, statistics)
    assert [(r.event, r.browser, r.server, r.total) for r in rows] == expected
    assert all(r.day == DAY.isoformat() for r in rows)


def test_infinite_and_nan_counts_are_zero(standin: MarketingStandIn) -> None:
    """JSON Infinity, NaN and 1e999 (which Python reads as floats) count as 0 instead of raising."""
    raw = (b'{"code":0,"message":"OK","data":{"list":[{"pixel_id":"id-' + PIXEL.encode() + b'","statistics":['
           b'{"pixel_event_type":"Purchase","browser_event_total_count":Infinity,"server_event_total_count":NaN,'
           b'"total_count":1e999,"preview_count":2}]}]}}')
    standin.script = lambda path, q, n: pixels(PIXEL) if path == PIXEL_LIST_PATH else (200, {}, raw)
    with MarketingClient(standin.url, TOKEN, max_attempts=1) as client:
        [row] = read_stats(client, pixel_code=PIXEL, advertiser_id=ADVERTISER, days=[DAY]).rows
    assert (row.browser, row.server, row.total, row.preview) == (0, 0, 0, 2)


def test_pixel_on_a_later_page_is_found(standin: MarketingStandIn) -> None:
    """/pixel/list/ with total_page 3: the pages are followed until the code appears; its id asks the stats."""
    def script(path: str, q: dict[str, list[str]], n: int) -> Answer:
        if path == PIXEL_LIST_PATH:
            page = int(q["page"][0])
            return pixels(*(("COTHER1", "COTHER2") if page == 1 else (PIXEL,)), page=page, total_page=3)
        return envelope({"list": [{"pixel_id": f"id-{PIXEL}", "statistics": [
            {"pixel_event_type": "Purchase", "browser_event_total_count": 5}]}]})
    standin.script = script
    with MarketingClient(standin.url, TOKEN) as client:
        result = read_stats(client, pixel_code=PIXEL, advertiser_id=ADVERTISER, days=[DAY])
    assert result.pixel is not None and result.pixel.pixel_id == f"id-{PIXEL}"
    assert [q["page"][0] for p, q, _ in standin.seen if p == PIXEL_LIST_PATH] == ["1", "2"]
    [stats_query] = [q for p, q, _ in standin.seen if p == STATS_PATH]
    assert json.loads(stats_query["pixel_ids"][0]) == [f"id-{PIXEL}"]
    assert [(r.event, r.browser) for r in result.rows] == [("Purchase", 5)]


def test_endless_pagination_is_capped(standin: MarketingStandIn) -> None:
    """A list claiming a million pages is followed a bounded number of times, then the code itself is asked."""
    standin.script = lambda path, q, n: pixels("COTHER", total_page=10**6) if path == PIXEL_LIST_PATH else \
        envelope({"list": []})
    with MarketingClient(standin.url, TOKEN) as client:
        result = read_stats(client, pixel_code=PIXEL, advertiser_id=ADVERTISER, days=[DAY])
    assert 1 < sum(1 for p, _, _ in standin.seen if p == PIXEL_LIST_PATH) <= 20
    assert result.pixel is None and any("does not list" in n for n in result.notes)


def test_retry_after_is_honoured(standin: MarketingStandIn) -> None:
    """HTTP 429 with Retry-After: 7 (an HTML page): the client waits at least 7 s (capped) and then reads."""
    def script(path: str, q: dict[str, list[str]], n: int) -> Answer:
        if path == PIXEL_LIST_PATH and n == 1:
            return 429, {"Retry-After": "7", "Content-Type": "text/html"}, b"<html>slow down</html>"
        return pixels(PIXEL) if path == PIXEL_LIST_PATH else envelope({"list": []})
    standin.script = script
    sleeps: list[float] = []
    with MarketingClient(standin.url, TOKEN, sleep=sleeps.append) as client:
        read_stats(client, pixel_code=PIXEL, advertiser_id=ADVERTISER, days=[DAY])
    assert len(sleeps) == 1 and sleeps[0] >= 7


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert TOKEN not in out + err, "the token reached the output"
    assert "Traceback" not in err and "\x1b" not in out + err
    return code, out, err


def stats_cli(standin: MarketingStandIn, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str, str]:
    return run(capsys, "stats", "--pixel-code", PIXEL, "--advertiser-id", ADVERTISER, "--since", "2026-05-14",
               "--until", "2026-05-14", "--base-url", standin.url, "--format", "json", *extra)


BROKEN_ANSWERS: list[tuple[str, Answer, int, str]] = [
    ("refused, token echoed", envelope({}, 40105, f"Access token {TOKEN} is invalid"), EXIT_USAGE, "40105"),
    ("advertiser refused", envelope({}, 40001, "No permission to operate advertiser"), EXIT_USAGE, "40001"),
    ("system error", envelope({}, 50000, "System error"), EXIT_FINDINGS, "50000"),
    ("code as a string", envelope({}, "40002", "Invalid value for advertiser_id"), EXIT_USAGE, "40002"),
    ("HTML error page", (502, {"Content-Type": "text/html"},
                         f"<html><body>\x1b[31mBad gateway {TOKEN}</body></html>".encode()), EXIT_FINDINGS,
     "No TikTok answer"),
    ("cut JSON", (200, {}, b'{"code": 0, "message": "OK", "data": {"pixels": [{"pix'), EXIT_FINDINGS,
     "No TikTok answer"),
    ("JSON nested 100k deep", (200, {}, b"[" * 100_000), EXIT_FINDINGS, "No TikTok answer"),
    ("empty answer", (200, {}, b""), EXIT_FINDINGS, "(empty)"),
    ("a list, not an envelope", (200, {}, b"[1, 2]"), EXIT_FINDINGS, "No TikTok answer"),
    ("20 MB answer", (200, {}, b'{"code":0,"data":{"x":"' + b"a" * (20 * 2**20) + b'"}}'), EXIT_FINDINGS,
     "over 16 MB"),
]


@pytest.mark.parametrize(("name", "answer", "exit_code", "said"), BROKEN_ANSWERS, ids=[c[0] for c in BROKEN_ANSWERS])
def test_broken_answers_give_a_clear_message_and_exit_code(standin: MarketingStandIn,
                                                           capsys: pytest.CaptureFixture[str], name: str,
                                                           answer: Answer, exit_code: int, said: str) -> None:
    """Refusals exit 2 when the fix is the caller's, 1 otherwise; the message names it; no token, no traceback."""
    standin.script = lambda path, q, n: answer
    started = time.monotonic()
    code, out, err = stats_cli(standin, capsys)
    assert (code, out) == (exit_code, "")
    assert said in err and err.startswith("tiktok-events stats:")
    assert time.monotonic() - started < 15
    assert all(token == TOKEN for _, _, token in standin.seen)  # the token went in the header, every time


def test_a_trickling_answer_is_cut_at_the_timeout(standin: MarketingStandIn,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """An answer sent one byte every 0.2 s never makes stats wait much past its timeout (TEC_TIMEOUT=2)."""
    standin.script = lambda path, q, n: pixels(PIXEL, "C" * 400)
    standin.trickle_s = 0.2
    started = time.monotonic()
    code, _, err = stats_cli(standin, capsys)
    assert code == EXIT_FINDINGS and "ReadTimeout" in err
    assert time.monotonic() - started < 2 * (2 + 1) + 3  # two attempts of ~2 s each, a backoff, slack


def test_extra_fields_and_odd_pixel_settings_still_print(standin: MarketingStandIn,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """Unknown keys everywhere and advanced_matching as a string: rows print, settings are 'not said'."""
    def script(path: str, q: dict[str, list[str]], n: int) -> Answer:
        if path == PIXEL_LIST_PATH:
            return envelope({"pixels": [{"pixel_id": 99, "pixel_code": PIXEL, "advanced_matching_fields": "on",
                                         "events": "all", "new_field": {"a": 1}}], "page_info": None, "more": 1})
        return envelope({"list": [{"pixel_id": 99, "statistics": [
            {"pixel_event_type": "Purchase", "browser_event_total_count": "480", "server_event_total_count": "610",
             "preview_count": "3", "surprise": [1, 2]}]}], "page_info": {"total_page": "x"}})
    standin.script = script
    code, out, _ = stats_cli(standin, capsys)
    doc = json.loads(out)
    assert code == EXIT_OK
    assert doc["rows"] == [{"day": "2026-05-14", "event": "Purchase", "browser": 480, "server": 610, "total": 1090,
                            "preview": 3}]
    assert doc["pixel"]["pixel_id"] == "99" and doc["pixel"]["advanced_matching"] is None
    code, out, _ = stats_cli(standin, capsys, "--format", "text")
    assert code == EXIT_OK and "browser     480" in out


BAD_ARGS = [
    (("--since", "2026-05-15", "--until", "2026-05-14"), "after --until"),
    (("--since", "2025-01-01", "--until", "2026-02-04"), "TikTok returns at most 30"),
    (("--since", "yesterday"), "is not a day"),
    (("--until", "2026-02-30"), "is not a day"),
    (("--since", "2026-05-14\x1b[2J"), "is not a day"),
    (("--advertiser-id", ""), "--advertiser-id is empty"),
    (("--advertiser-id", "   "), "--advertiser-id is empty"),
    (("--pixel-code", "  "), "--pixel-code is empty"),
    (("--base-url", "ftp://127.0.0.1:1"), "not an http(s) URL"),
]


@pytest.mark.parametrize(("args", "said"), BAD_ARGS)
def test_bad_arguments_exit_2_before_any_request(standin: MarketingStandIn, capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...],
                                                 said: str) -> None:
    """Dates in the wrong order, too long a range, non-dates, an empty advertiser or Pixel: exit 2, named."""
    monkeypatch.setenv("TEC_ADVERTISER_ID", ADVERTISER)  # an empty flag must not fall back to it silently
    base = {"--pixel-code": PIXEL, "--advertiser-id": ADVERTISER, "--base-url": standin.url}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    argv = [x for kv in base.items() for x in kv]
    code, out, err = run(capsys, "stats", *argv, "--format", "json")
    assert (code, out) == (EXIT_USAGE, "") and said in err
    assert standin.seen == []


def test_refusal_message_is_cut_and_single_line(standin: MarketingStandIn) -> None:
    """A 1 MB message with newlines and control characters is folded to one printable line of bounded size."""
    standin.script = lambda path, q, n: envelope({}, 40002, "bad\n\r\x1b[2J" * 100_000)
    with MarketingClient(standin.url, TOKEN, max_attempts=1) as client, pytest.raises(TikTokRefused) as err:
        client.pixel_list(ADVERTISER, PIXEL)
    text = str(err.value)
    assert len(text) < 1000 and "\n" not in text and "\x1b" not in text and err.value.code == 40002


DAY_RANGE = json.dumps({"start_date": "2026-05-14", "end_date": "2026-05-14"})
HOSTILE_QUERIES = [
    {"advertiser_id": "1", "pixel_ids": "[" * 5_000, "date_range": DAY_RANGE},
    {"advertiser_id": "1", "pixel_ids": '["a"]', "date_range": "[" * 5_000},
    {"advertiser_id": "1", "pixel_ids": '["a"]', "date_range": '["2026-05-14"]'},
    {"advertiser_id": "1", "pixel_ids": '["a"]', "date_range": '{"start_date": 20260514, "end_date": null}'},
    {"advertiser_id": "1", "pixel_ids": "[1, 2]", "date_range": DAY_RANGE},
    {"advertiser_id": " ", "pixel_ids": '["a"]'},
]


@pytest.mark.parametrize("query", HOSTILE_QUERIES)
def test_emulator_answers_hostile_stats_queries_with_40002(query: dict[str, str]) -> None:
    """The emulator's /pixel/event/stats/ names the bad field (40002) for deep, mistyped or blank parameters."""
    import httpx

    from core.emulator import start_emulator

    emu = start_emulator()
    try:
        resp = httpx.get(emu.url + STATS_PATH, params=query, headers={"Access-Token": "t"}, timeout=10)
    finally:
        emu.stop()
    assert resp.status_code == 200 and resp.json()["code"] == 40002
    assert resp.json()["message"].split(":")[0] in ("pixel_ids", "date_range", "advertiser_id")
