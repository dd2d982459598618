"""`tiktok-events relay` and `tiktok-events history`: what a backend sent through the relay, listed with findings."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

from core.cli import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, main
from core.exchange import Attempt, Exchange
from core.relay import start_relay
from core.store import Store

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "hist-secret-token-0a1b2c3d4e5f"
HASH = "848a771458438fc2ec420560d769fb9b9b86851ee338ec56517baabd79d3bb4f"


def purchase(event_id: str, email: str = HASH) -> dict[str, Any]:
    return {"event_source": "web", "event_source_id": "C4A1B2C3D4E5F6G7H8I9",
            "data": [{"event": "Purchase", "event_time": int(time.time()), "event_id": event_id,
                      "user": {"email": email, "ip": "203.0.113.9", "user_agent": "Mozilla/5.0"},
                      "page": {"url": "https://shop.test/thanks"}, "properties": {"value": 3, "currency": "USD"}}]}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert TOKEN not in out + err
    return code, out, err


def record_through_relay(session: str, *bodies: dict[str, Any]) -> None:
    with Store(os.environ["TEC_DB"]) as store, \
            start_relay(forward_url="emulator", store=store, session_id=session, timeout=5) as relay:
        for b in bodies:
            httpx.post(relay.track_url, json=b, headers={"Access-Token": TOKEN})
        assert relay.wait_recorded(len(bodies), 10)


def test_history_json_lists_every_relay_exchange_with_findings(capsys: pytest.CaptureFixture[str]) -> None:
    """history --format json: one row per exchange with the documented keys, events and lint findings."""
    record_through_relay("shop-1", purchase("ord_1"), purchase("ord_2", "raw.person@example.com"))
    code, out, _ = run(capsys, "history", "--session", "shop-1", "--format", "json")
    rows = json.loads(out)["exchanges"]
    assert code == EXIT_OK and len(rows) == 2
    assert set(rows[0]) >= {"session_id", "source", "received_at", "url", "status", "code", "request_id", "events",
                            "findings"}
    assert [(r["source"], r["session_id"], r["status"], r["code"]) for r in rows] == \
        [("relay", "shop-1", 200, 0), ("relay", "shop-1", 200, 40062)]
    assert rows[1]["events"] == [{"event": "Purchase", "event_id": "ord_2"}]
    unhashed = [f for f in rows[1]["findings"] if f["code"] == "user.email.unhashed"]
    assert unhashed and set(unhashed[0]) >= {"severity", "code", "path", "message", "fix"}
    assert unhashed[0]["severity"] == "error" and unhashed[0]["path"] == "data[0].user.email"
    assert "raw.person@example.com" not in out
    assert rows[0]["received_at"].endswith("Z") and rows[0]["request_id"]


def test_history_filters_by_source_and_recomputes_console_findings(capsys: pytest.CaptureFixture[str]) -> None:
    """--source picks console sends or relay exchanges; a console send's findings are computed from its body."""
    record_through_relay("mixed", purchase("relay_1"))
    console_body = purchase("console_1")
    del console_body["data"][0]["event_id"]
    with Store(os.environ["TEC_DB"]) as store:
        store.add_exchange("mixed", Exchange("POST", "http://127.0.0.1:9/open_api/v1.3/event/track/", {},
                                             console_body, status=200, code=0, request_id="c1",
                                             attempts=[Attempt(1.0, 2.0, 200, 0)], started_at=time.time()))
    code, out, _ = run(capsys, "history", "--session", "mixed", "--source", "console", "--format", "json")
    [row] = json.loads(out)["exchanges"]
    assert code == EXIT_OK and row["source"] == "console" and row["request_id"] == "c1"
    assert ("event.event_id.missing", "data[0].event_id") in {(f["code"], f["path"]) for f in row["findings"]}
    _, out, _ = run(capsys, "history", "--session", "mixed", "--source", "relay", "--format", "json")
    assert [r["events"][0]["event_id"] for r in json.loads(out)["exchanges"]] == ["relay_1"]
    code, out, _ = run(capsys, "history", "--session", "mixed")
    assert code == EXIT_OK and "relay" in out and "console" in out and "2 exchange(s)" in out


def test_history_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    """No exchanges: exit 1; an unknown or malformed session and a bad --source: exit 2 with the fix."""
    with Store(os.environ["TEC_DB"]) as store:
        store.create_session(session_id="empty")
    code, out, _ = run(capsys, "history", "--session", "empty", "--format", "json")
    assert code == EXIT_FINDINGS and json.loads(out) == {"exchanges": []}
    code, _, err = run(capsys, "history", "--session", "nope")
    assert code == EXIT_USAGE and "No session 'nope'" in err and "without --session" in err
    code, _, err = run(capsys, "history", "--session", "bad id")
    assert code == EXIT_USAGE and "Session id" in err and "Traceback" not in err
    with pytest.raises(SystemExit) as exc:
        main(["history", "--source", "browser"])
    assert exc.value.code == EXIT_USAGE


def read_line(stream: IO[str], timeout: float) -> str:
    sel = selectors.DefaultSelector()
    sel.register(stream, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sel.select(timeout=max(0.0, deadline - time.monotonic())):
            return stream.readline()
    raise AssertionError("no line before the deadline")


def test_relay_command_prints_each_exchange_and_stops_on_sigint(tmp_path: Path) -> None:
    """`relay --forward emulator --session ID --format json`: its address, a line per exchange, exit 0 on Ctrl-C."""
    proc = subprocess.Popen([sys.executable, "-m", "core.cli", "relay", "--forward", "emulator", "--session",
                             "cli-live", "--format", "json"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout is not None
        info = json.loads(read_line(proc.stdout, 60))
        assert info["session_id"] == "cli-live" and info["relay"].startswith("http://127.0.0.1:")
        answer = httpx.post(info["track_url"], json=purchase("ord_cli"), headers={"Access-Token": TOKEN}).json()
        row = json.loads(read_line(proc.stdout, 30))
        assert answer["code"] == 0 and row["request_id"] == answer["request_id"]
        assert row["events"] == [{"event": "Purchase", "event_id": "ord_cli"}]
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == EXIT_OK and TOKEN not in out + err and "1 recorded exchange" in err
    with Store(os.environ["TEC_DB"]) as store:
        assert [e.source for e in store.exchanges("cli-live")] == ["relay"]


def test_relay_command_bad_forward_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """A --forward that is not tiktok, emulator or a URL: exit 2 naming the choices."""
    code, _, err = run(capsys, "relay", "--forward", "somewhere")
    assert code == EXIT_USAGE and "--forward tiktok" in err
