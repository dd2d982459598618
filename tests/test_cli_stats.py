"""`tiktok-events stats` against the emulator after a test session: TikTok's counts, exit codes, no token."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.cli import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, main
from core.emulator import EmulatorServer

TOKEN = "stats-cli-secret-token-1a2b3c4d"
PIXEL = "CSTATSCLI0000000001"
ADVERTISER = "7100000000000000042"
T1 = int(datetime(2026, 5, 14, 9, 30, tzinfo=UTC).timestamp())
T2 = int(datetime(2026, 5, 15, 23, 59, 59, tzinfo=UTC).timestamp())


@pytest.fixture
def emu(token_emu: EmulatorServer) -> EmulatorServer:
    return token_emu


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert TOKEN not in out and TOKEN not in err  # the token is never printed
    return code, out, err


def _jsonl(tmp_path: Path, name: str, events: list[dict[str, Any]]) -> str:
    path = tmp_path / name
    path.write_text("\n".join(json.dumps(e) for e in events) + "\n")
    return str(path)


def _session(emu: EmulatorServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A test session through `send` (outbox, real HTTP): live and test-coded events on two UTC days."""
    live = ([{"event": "Purchase", "event_time": T1, "event_id": f"ord_{i}_purchase"} for i in range(4)]
            + [{"event": "AddToCart", "event_time": T1, "event_id": "cart_1"}]
            + [{"event": "Purchase", "event_time": T2, "event_id": f"ord_{i}_purchase"} for i in range(10, 12)])
    code, _, _ = run(capsys, "send", _jsonl(tmp_path, "live.jsonl", live), "--live", "--pixel-code", PIXEL,
                     "--base-url", emu.url, "--format", "json")
    assert code == EXIT_OK
    test = [{"event": "Purchase", "event_time": T1, "event_id": f"test_{i}"} for i in range(3)]
    code, _, _ = run(capsys, "send", _jsonl(tmp_path, "test.jsonl", test), "--test-event-code", "TEST4242",
                     "--pixel-code", PIXEL, "--base-url", emu.url, "--format", "json")
    assert code == EXIT_OK
    hit = {"event": "Purchase", "event_id": "ord_0_purchase", "timestamp": "2026-05-14T09:29:58.000Z",
           "context": {"pixel": {"code": PIXEL}, "page": {"url": "https://shop.example/thanks"}}}
    assert httpx.post(emu.url + "/api/v2/pixel", json=hit, timeout=5).status_code == 200


def test_stats_reports_exactly_what_the_emulator_received(emu: EmulatorServer, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """After a session, `stats --format json` has one row per UTC day and event with the emulator's counts."""
    _session(emu, tmp_path, capsys)
    code, out, err = run(capsys, "stats", "--pixel-code", PIXEL, "--advertiser-id", ADVERTISER,
                         "--since", "2026-05-14", "--until", "2026-05-15", "--base-url", emu.url, "--format", "json")
    assert code == EXIT_OK, err
    doc = json.loads(out)
    rows = doc["rows"]  # exactly the contract's keys
    assert rows == [
        {"day": "2026-05-14", "event": "AddToCart", "browser": 0, "server": 1, "total": 1, "preview": 0},
        {"day": "2026-05-14", "event": "Purchase", "browser": 1, "server": 4, "total": 5, "preview": 3},
        {"day": "2026-05-15", "event": "Purchase", "browser": 0, "server": 2, "total": 2, "preview": 0}]
    received = emu.received_events()
    assert sum(r["server"] + r["preview"] for r in doc["rows"]) == len(received) == 10
    assert doc["pixel"]["pixel_code"] == PIXEL and doc["timezone"] == "UTC"
    assert (doc["since"], doc["until"], doc["advertiser_id"]) == ("2026-05-14", "2026-05-15", ADVERTISER)
    asked = [r for r in emu.requests if "/pixel/" in r["path"]]
    assert len(asked) == 3  # one pixel list, then one stats request per UTC day
    assert all(r["headers"].get("Access-Token") == "***redacted***" for r in asked)


def test_stats_text_output(emu: EmulatorServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Text output: a line per day and event, advanced matching, and the UTC / refresh note."""
    _session(emu, tmp_path, capsys)
    code, out, _ = run(capsys, "stats", "--pixel-code", PIXEL, "--advertiser-id", ADVERTISER, "--since",
                       "2026-05-15", "--until", "2026-05-15", "--base-url", emu.url)
    assert code == EXIT_OK
    assert "2026-05-15  Purchase" in out and "server       2" in out
    assert "UTC" in out and "every few hours" in out and "Advanced matching: email off" in out


def test_marketing_token_env_is_used(emu_server: EmulatorServer, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """TIKTOK_MARKETING_TOKEN is sent before TIKTOK_ACCESS_TOKEN (the emulator accepts only TOKEN)."""
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", "events-api-token-not-for-stats")
    monkeypatch.setenv("TIKTOK_MARKETING_TOKEN", TOKEN)
    monkeypatch.setenv("TEC_ADVERTISER_ID", ADVERTISER)
    code, out, err = run(capsys, "stats", "--pixel-code", PIXEL, "--base-url", emu_server.url, "--format", "json")
    assert code == EXIT_OK, err
    assert json.loads(out)["advertiser_id"] == ADVERTISER


def test_bad_token_exits_2_with_tiktoks_message(emu: EmulatorServer, capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A refused token: exit 2, TikTok's code and message and the fix on stderr, nothing on stdout."""
    monkeypatch.setenv("TIKTOK_MARKETING_TOKEN", "revoked-token-123456")
    code, out, err = run(capsys, "stats", "--pixel-code", PIXEL, "--advertiser-id", ADVERTISER,
                         "--base-url", emu.url, "--format", "json")
    assert code == EXIT_USAGE and out == ""
    assert "40105" in err and "Access token is incorrect or has been revoked" in err and "TIKTOK_MARKETING_TOKEN" in err
    assert "revoked-token-123456" not in err and "Traceback" not in err


def test_missing_token_exits_2_before_any_request(capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """No token for TikTok's real endpoint: exit 2 naming both variables; nothing is sent anywhere."""
    for name in ("TIKTOK_MARKETING_TOKEN", "TIKTOK_ACCESS_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    code, out, err = run(capsys, "stats", "--pixel-code", PIXEL, "--advertiser-id", ADVERTISER,
                         "--base-url", "https://business-api.tiktok.com")
    assert code == EXIT_USAGE and out == ""
    assert "TIKTOK_MARKETING_TOKEN" in err and "TIKTOK_ACCESS_TOKEN" in err


def test_tiktok_failure_that_is_not_the_users_exits_1(emu: EmulatorServer, capsys: pytest.CaptureFixture[str]) -> None:
    """A system error that outlasts the retries exits 1 with TikTok's code."""
    emu.set_fault("code", count=4, code=50000)
    code, out, err = run(capsys, "stats", "--pixel-code", PIXEL, "--advertiser-id", ADVERTISER,
                         "--base-url", emu.url)
    assert code == EXIT_FINDINGS and out == "" and "50000" in err


@pytest.mark.parametrize(("args", "fragment"), [
    (("--since", "2026-05-20", "--until", "2026-05-14"), "after"),
    (("--since", "2026-01-01", "--until", "2026-05-14"), "at most 30"),
    (("--until", "yesterday"), "not a day")])
def test_bad_dates_exit_2(emu: EmulatorServer, capsys: pytest.CaptureFixture[str], args: tuple[str, ...],
                          fragment: str) -> None:
    """Bad --since/--until: exit 2 with the fix, before any request."""
    code, _, err = run(capsys, "stats", "--pixel-code", PIXEL, "--advertiser-id", ADVERTISER,
                       "--base-url", emu.url, *args)
    assert code == EXIT_USAGE and fragment in err and emu.requests == []


def test_missing_advertiser_exits_2(emu: EmulatorServer, capsys: pytest.CaptureFixture[str]) -> None:
    """No --advertiser-id and no TEC_ADVERTISER_ID: exit 2 naming both."""
    code, _, err = run(capsys, "stats", "--pixel-code", PIXEL, "--base-url", emu.url)
    assert code == EXIT_USAGE and "--advertiser-id" in err and "TEC_ADVERTISER_ID" in err
