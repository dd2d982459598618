"""`tiktok-events quality`: the JSON contract, the text report, and exit codes for bad input."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from core.cli import EXIT_OK, EXIT_USAGE, main
from core.identity import sha256_hex
from core.quality import KEYS, LABEL, WEIGHT

UA = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Safari/605.1.15"
BODY = {"event_source": "web", "event_source_id": "C4A1B2C3D4E5F6G7H8I9", "data": [
    {"event": "Purchase", "event_time": 1700000000, "event_id": "ord_1",
     "user": {"email": sha256_hex("a@example.com"), "phone": "+12133734253", "ip": "8.8.8.8", "user_agent": UA}},
    {"event": "Purchase", "event_time": 1700000100, "event_id": "ord_2",
     "user": {"email": sha256_hex("b@example.com"), "ttp": "2F7h37YkS1j57AYSKTI7IHhJPYH"}},
    {"event": "ViewContent", "event_time": 1700000200, "event_id": "vc_1", "user": {"ip": "10.0.0.8"}},
]}


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_json_lists_every_key_of_every_event(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--format json prints each event with all seven keys and a summary whose coverage is exact."""
    path = tmp_path / "body.json"
    path.write_text(json.dumps(BODY))
    code, out, _ = _run(["quality", str(path), "--format", "json"], capsys)
    doc = json.loads(out)
    assert code == EXIT_OK
    assert [e["index"] for e in doc["events"]] == [0, 1, 2]
    assert [e["event"] for e in doc["events"]] == ["Purchase", "Purchase", "ViewContent"]
    for event in doc["events"]:
        assert set(event["keys"]) == set(KEYS)
        assert sum(v["points"] for v in event["keys"].values()) == event["score"]
    first = doc["events"][0]["keys"]
    assert first["phone"] == {"present": True, "valid": False, "points": 0.0, "reason": "unhashed"}
    assert first["email"] == {"present": True, "valid": True, "points": WEIGHT["email"], "reason": None}
    assert doc["events"][2]["keys"]["ip"]["reason"] == "private"
    assert doc["events"][0]["score"] == WEIGHT["email"] + WEIGHT["ip"] + WEIGHT["user_agent"]
    summary = doc["summary"]
    assert summary["coverage"]["email"] == 2 / 3 and summary["coverage"]["ip"] == 1 / 3
    assert summary["mean_score"] == pytest.approx(sum(e["score"] for e in doc["events"]) / 3)
    assert summary["label"] == LABEL


def test_text_report_and_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """FILE '-' reads standard input; the text report names the proxy, each key and what to do next."""
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(BODY)))
    code, out, _ = _run(["quality", "-"], capsys)
    assert code == EXIT_OK
    assert out.startswith(f"{LABEL} (mean)")
    assert "TikTok does not publish" in out
    assert all(f"\n{key} " in out for key in KEYS)
    phone_line = next(line for line in out.splitlines() if line.startswith("phone "))
    assert phone_line.split()[1:] == [f"{WEIGHT['phone']:.2f}", "0%", "33%", "1", "(unhashed)"]
    assert "what to do next:" in out


def test_csv_file_is_scored(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A server-event CSV export is read with its identifier columns."""
    path = tmp_path / "events.csv"
    path.write_text("event_source_id,event,event_id,event_time,email,user_agent\n"
                    f'C1,Lead,l1,1700000000,{sha256_hex("x@y.com")},"{UA}"\n')
    code, out, _ = _run(["quality", str(path), "--format", "json"], capsys)
    assert code == EXIT_OK
    assert json.loads(out)["events"][0]["score"] == WEIGHT["email"] + WEIGHT["user_agent"]


@pytest.mark.parametrize(("content", "message"), [
    (None, "no such file"),
    ("{broken", "not valid JSON"),
    ('{"event_source": "web", "data": []}', "holds no events"),
    ("event,x\nPurchase,1\n", "lacks the column"),
])
def test_bad_input_exits_2_with_the_reason(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           content: str | None, message: str) -> None:
    """Missing, broken, empty or column-less input exits 2 with a message, never a traceback."""
    path = tmp_path / ("in.csv" if content and content.startswith("event,") else "in.json")
    if content is not None:
        path.write_text(content)
    code, out, err = _run(["quality", str(path)], capsys)
    assert code == EXIT_USAGE
    assert message in err and "Traceback" not in err
    assert out == ""


@pytest.mark.parametrize(("gate", "code"), [("0", 0), ("2.5", 0), ("9.5", 1)])
def test_min_score_gate(tmp_path: Path, capsys: pytest.CaptureFixture[str], gate: str, code: int) -> None:
    """--min-score S exits 1 (and says why) only when the mean EMQ proxy is below S; the report still prints."""
    path = tmp_path / "body.json"
    path.write_text(json.dumps(BODY))
    got, out, err = _run(["quality", str(path), "--format", "json", "--min-score", gate], capsys)
    mean = json.loads(out)["summary"]["mean_score"]
    assert got == code
    assert mean == pytest.approx(2.5)  # the batch above: (4.0 + 3.5 + 0) / 3, so a 2.5 gate passes
    assert ("below --min-score" in err) == (code == 1)


def test_advice_is_said_once_per_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The same advice for "All events" and an event type is one line naming both scopes, not two lines."""
    assert _run(["demo", "--orders", "300", "--out", str(tmp_path)], capsys)[0] == EXIT_OK
    code, out, _ = _run(["quality", str(tmp_path / "server.jsonl")], capsys)
    advice = out.split("what to do next:")[1].strip().splitlines()
    keys = [line.split(", ", 1)[1].split("):")[0] for line in advice]
    assert code == EXIT_OK and advice and len(keys) == len(set(keys))
    assert any("(also for" in line for line in advice)
