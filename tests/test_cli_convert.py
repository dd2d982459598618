"""CLI `tiktok-events convert`: the TikTok body on stdout, the JSON contract, exit codes 0, 1 and 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from core.cli import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, main

PIXEL = "C4A1B2C3D4E5F6G7H8I9"
EMAIL_HASH = "848a771458438fc2ec420560d769fb9b9b86851ee338ec56517baabd79d3bb4f"


def meta_body(**event: Any) -> dict[str, Any]:
    return {"data": [{"event_name": "Purchase", "event_time": 1735689600, "action_source": "website",
                      "event_id": "ord_10492_purchase", "event_source_url": "https://shop.example/thanks",
                      "user_data": {"em": [EMAIL_HASH], "client_ip_address": "198.51.100.7",
                                    "client_user_agent": "Mozilla/5.0 (Macintosh)", "fbc": "fb.1.1.abc"},
                      "custom_data": {"currency": "USD", "value": 46.0}, **event}],
            "access_token": "EAAB-meta-secret"}


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def write(tmp_path: Path, doc: Any) -> str:
    path = tmp_path / "meta.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return str(path)


def test_json_output_has_body_notes_lost_findings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--format json` prints body, notes (from, to, note), lost (from, why, instead) and findings; exit 0."""
    code, out, _ = run(["convert", write(tmp_path, meta_body()), "--pixel-code", PIXEL, "--format", "json"], capsys)
    doc = json.loads(out)
    assert code == EXIT_OK
    assert set(doc) == {"body", "notes", "lost", "findings"}
    assert doc["body"]["event_source_id"] == PIXEL and doc["body"]["data"][0]["user"]["email"] == [EMAIL_HASH]
    assert any(n["from"] == "data[0].user_data.em[0]" and n["to"] == "data[0].user.email[0]" for n in doc["notes"])
    lost = {x["from"]: x for x in doc["lost"]}
    assert "ttclid" in lost["data[0].user_data.fbc"]["instead"] and "access_token" in lost
    assert all(f["severity"] != "error" for f in doc["findings"])
    assert "EAAB-meta-secret" not in out


def test_text_output_pipes_the_body_and_explains_on_stderr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """Text: the body alone on stdout; mapped and lost lines on stderr; the Pixel code from TEC_PIXEL_CODE."""
    monkeypatch.setenv("TEC_PIXEL_CODE", PIXEL)
    code, out, err = run(["convert", write(tmp_path, meta_body())], capsys)
    assert code == EXIT_OK
    assert json.loads(out)["event_source_id"] == PIXEL
    assert "mapped data[0].user_data.em[0] -> data[0].user.email[0]" in err
    assert "lost   data[0].user_data.fbc" in err and "EAAB-meta-secret" not in out + err


def test_lint_errors_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A converted body with lint errors (no event_time) exits 1 and names the finding."""
    body = meta_body()
    del body["data"][0]["event_time"]
    code, out, _ = run(["convert", write(tmp_path, body), "--pixel-code", PIXEL, "--format", "json"], capsys)
    assert code == EXIT_FINDINGS
    assert any(f["severity"] == "error" and "event_time" in f["path"] for f in json.loads(out)["findings"])


@pytest.mark.parametrize(("content", "argv_extra", "message"), [
    ("{not json", ["--pixel-code", PIXEL], "Not valid JSON"),
    ('{"data": []}', ["--pixel-code", PIXEL], "No events"),
    (json.dumps(meta_body()), [], "No Pixel code"),
])
def test_bad_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str,
                           argv_extra: list[str], message: str) -> None:
    """Not JSON, no events, or no Pixel code: exit 2 with the reason on stderr and nothing on stdout."""
    path = tmp_path / "meta.json"
    path.write_text(content, encoding="utf-8")
    code, out, err = run(["convert", str(path), *argv_extra], capsys)
    assert code == EXIT_USAGE and out == "" and message in err


def test_missing_file_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """A missing file is bad input."""
    code, _, err = run(["convert", "/nonexistent/meta.json", "--pixel-code", PIXEL], capsys)
    assert code == EXIT_USAGE and "no such file" in err
