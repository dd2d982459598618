"""`tiktok-events send / outbox / emulator` against the emulator: exit codes, JSON output, guards, recovery."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.cli import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, main
from core.emulator import EmulatorServer, start_emulator

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "cli-secret-token-9f8e7d6c5b4a"
HASH = "848a771458438fc2ec420560d769fb9b9b86851ee338ec56517baabd79d3bb4f"


def events(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [{"event": "Purchase", "event_time": 1735689600, "event_id": f"ord_{i}", "user": {"email": [HASH]},
             "properties": {"currency": "USD", "value": 12.5}} for i in range(start, start + n)]


def body(n: int = 2, **top: Any) -> dict[str, Any]:
    return {"event_source": "web", "event_source_id": "CPIXEL123", **top, "data": events(n)}


@pytest.fixture
def emu(token_emu: EmulatorServer) -> EmulatorServer:
    return token_emu


def write(tmp_path: Path, obj: Any, name: str = "body.json") -> str:
    path = tmp_path / name
    path.write_text(obj if isinstance(obj, str) else json.dumps(obj))
    return str(path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert TOKEN not in out and TOKEN not in err  # the token never appears in CLI output
    return code, out, err


def test_send_test_mode_json(emu: EmulatorServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """send puts the test code at the top level, exits 0, and lists each exchange in JSON."""
    code, out, err = run(capsys, "send", write(tmp_path, body(3)), "--test-event-code", "TEST42",
                         "--base-url", emu.url, "--format", "json")
    doc = json.loads(out)
    assert code == EXIT_OK and doc["all_accepted"] and doc["accepted"] == 3 and doc["live"] is False
    (ex,) = doc["exchanges"]
    assert {"status", "code", "message", "request_id", "attempts", "latency_ms"} <= set(ex)
    assert (ex["status"], ex["code"], ex["message"], ex["attempts"]) == (200, 0, "OK", 1)
    assert ex["request_id"] == emu.received["TEST42"][0]["request_id"]
    assert emu.requests[0]["test_event_code"] == "TEST42" and "test mode" in err


def test_send_text_output_and_2500_split(emu: EmulatorServer, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """Text output has one line per request; 2,500 events go as 1,000 + 1,000 + 500, each once."""
    code, out, _ = run(capsys, "send", write(tmp_path, body(2500, test_event_code="T1")), "--base-url", emu.url)
    assert code == EXIT_OK and out.count("✓ request") == 3 and "2500/2500 events accepted" in out
    assert [r["events"] for r in emu.requests] == [1000, 1000, 500]
    assert len({e["event_id"] for e in emu.received["T1"]}) == 2500


@pytest.mark.parametrize(("env", "argv", "words"), [
    ({"TIKTOK_ACCESS_TOKEN": ""}, ["--test-event-code", "T", "--base-url", "https://business-api.tiktok.com"],
     "No access token"),
    ({}, [], "No test event code"),
    ({}, ["--test-event-code", "T", "--timeout", "-1"], "--timeout"),
    ({}, ["--test-event-code", "T", "--base-url", "ftp://x"], "--base-url"),
])
def test_usage_errors_exit_2_and_send_nothing(emu: EmulatorServer, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch, env: dict[str, str], argv: list[str],
                                              words: str) -> None:
    """No token, no test code without --live, a bad timeout or URL: exit 2 before anything is sent."""
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    argv = argv if "--base-url" in argv else [*argv, "--base-url", emu.url]
    code, _, err = run(capsys, "send", write(tmp_path, body(1)), *argv)
    assert code == EXIT_USAGE and words in err and emu.request_count == 0


@pytest.mark.parametrize(("content", "words"), [(None, "no such file"), ("{not json", "not valid JSON"),
                                                ('{"event": "Purchase"}', "Pixel code")])
def test_unreadable_file_exits_2(emu: EmulatorServer, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                 content: str | None, words: str) -> None:
    """A missing file, non-JSON, or bare events without a Pixel code exit 2 with the reason."""
    path = str(tmp_path / "missing.json") if content is None else write(tmp_path, content)
    code, _, err = run(capsys, "send", path, "--test-event-code", "T", "--base-url", emu.url)
    assert code == EXIT_USAGE and words in err and emu.request_count == 0


def test_live_and_body_test_code(emu: EmulatorServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--live sends without a test code; a body that carries its own test code needs no flag."""
    assert run(capsys, "send", write(tmp_path, body(1)), "--live", "--base-url", emu.url)[0] == EXIT_OK
    assert run(capsys, "send", write(tmp_path, body(1, test_event_code="INBODY")), "--base-url", emu.url)[0] == EXIT_OK
    assert set(emu.received) == {"", "INBODY"}


def test_jsonl_events_use_the_pixel_from_env(emu: EmulatorServer, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """JSONL of bare events is wrapped with TEC_PIXEL_CODE and the test code from TEC_TEST_EVENT_CODE."""
    monkeypatch.setenv("TEC_PIXEL_CODE", "CENVPIXEL")
    monkeypatch.setenv("TEC_TEST_EVENT_CODE", "TENV")
    path = write(tmp_path, "\n".join(json.dumps(e) for e in events(3)), "events.jsonl")
    assert run(capsys, "send", path, "--base-url", emu.url)[0] == EXIT_OK
    assert emu.requests[0]["event_source_id"] == "CENVPIXEL" and len(emu.received["TENV"]) == 3


def test_rejected_exit_1_then_outbox(emu: EmulatorServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A 40002 is not retried, exits 1, and the events wait in the outbox with TikTok's message."""
    emu.set_fault("code", code=40002, message="Invalid value for event_id: not a valid string.")
    code, out, _ = run(capsys, "send", write(tmp_path, body(2)), "--test-event-code", "T", "--base-url", emu.url)
    assert code == EXIT_FINDINGS and "✗ request 1" in out and "outbox" in out and emu.request_count == 1
    code, out, _ = run(capsys, "outbox", "list", "--format", "json")
    rows = json.loads(out)
    assert code == EXIT_OK and [(r["event_id"], r["status"], r["last_code"]) for r in rows] == [
        ("ord_0", "rejected", 40002), ("ord_1", "rejected", 40002)]
    assert rows[0]["test_event_code"] == "T"
    assert run(capsys, "outbox", "retry", "--base-url", emu.url)[0] == EXIT_OK  # refused events wait for a fix
    assert emu.request_count == 1 and len(json.loads(run(capsys, "outbox", "list", "--format", "json")[1])) == 2
    assert run(capsys, "outbox", "retry", "--rejected", "--base-url", emu.url)[0] == EXIT_OK
    code, out, _ = run(capsys, "outbox", "list")
    assert "Outbox empty" in out


def test_server_down_then_outbox_retry(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """With the server down send exits 1 and keeps the events; retry after it is back delivers each once."""
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("TEC_MAX_ATTEMPTS", "2")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    code, out, _ = run(capsys, "send", write(tmp_path, body(3)), "--test-event-code", "T", "--base-url", url,
                       "--format", "json")
    assert code == EXIT_FINDINGS and json.loads(out)["undelivered"] == 3
    with start_emulator(token=TOKEN, port=port) as emu:
        code, out, _ = run(capsys, "outbox", "retry", "--base-url", url, "--format", "json")
        assert code == EXIT_OK and json.loads(out)["accepted"] == 3
        assert [e["event_id"] for e in emu.received["T"]] == ["ord_0", "ord_1", "ord_2"]
        assert run(capsys, "outbox", "retry", "--base-url", url)[0] == EXIT_OK  # empty: nothing resent
        assert emu.request_count == 1


def test_outbox_retry_without_token_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """outbox retry needs the token like send does (anywhere but a local emulator)."""
    code, _, err = run(capsys, "outbox", "retry", "--base-url", "https://business-api.tiktok.com")
    assert code == EXIT_USAGE and "No access token" in err


def test_token_not_in_database(emu: EmulatorServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """After send, outbox list and retry, the token is in no byte of the database files."""
    emu.set_fault("rate_limit")
    run(capsys, "send", write(tmp_path, body(2)), "--test-event-code", "T", "--base-url", emu.url)
    run(capsys, "outbox", "list")
    db = Path(os.environ["TEC_DB"])
    raw = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))
    assert raw and TOKEN.encode() not in raw


def test_emulator_command_serves_until_interrupted(tmp_path: Path) -> None:
    """`tiktok-events emulator --token T` prints its URL, answers like TikTok, and stops cleanly on Ctrl-C."""
    proc = subprocess.Popen([sys.executable, "-m", "core.cli", "emulator", "--token", TOKEN, "--format", "json"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        assert TOKEN not in json.dumps(info)
        ok = httpx.post(info["track_url"], json=body(1), headers={"Access-Token": TOKEN}).json()
        bad = httpx.post(info["track_url"], json=body(1), headers={"Access-Token": "nope"}).json()
        view = httpx.get(info["events_view"]).json()
        assert (ok["code"], bad["code"]) == (0, 40105) and view["test_event_codes"][""]["received"] == 1
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == EXIT_OK and TOKEN not in out + err


def test_bare_events_take_the_pixel_code_flag(emu: EmulatorServer, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """JSONL of bare events goes out with `--pixel-code` as event_source_id (no TEC_PIXEL_CODE needed)."""
    lines = "\n".join(json.dumps(e) for e in events(2))
    code, _, _ = run(capsys, "send", write(tmp_path, lines, "events.jsonl"), "--pixel-code", "CFLAGPIXEL",
                     "--test-event-code", "T", "--base-url", emu.url)
    assert code == EXIT_OK and emu.requests[0]["event_source_id"] == "CFLAGPIXEL"
