"""`tiktok-events report`: exit codes (0 written, 1 written with errors or rejections, 2 bad input), the JSON
document equal to the file's appendix, reports from a session and from files, and clear usage errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.cli import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, main
from core.demo import generate_store, write_store
from core.emulator import EmulatorServer
from tests.test_report import TOKEN, appendix, assert_offline, emu, send_session  # noqa: F401  (fixture)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert TOKEN not in out and TOKEN not in err
    assert "Traceback" not in err
    return code, out, err


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_store(generate_store(orders=200, seed=7), tmp_path_factory.mktemp("demo"))


def test_files_report_json_equals_the_appendix(demo: dict[str, Path], tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """--pixel/--server/--orders: exit 0 (warnings only), {"out", "pdf": null, "figures"} = the file's appendix."""
    out_file = tmp_path / "audit.html"
    code, out, err = run(capsys, "report", "--pixel", str(demo["pixel.csv"]), "--server", str(demo["server.jsonl"]),
                         "--orders", str(demo["orders.csv"]), "--out", str(out_file), "--format", "json")
    doc = json.loads(out)
    assert code == EXIT_OK and err == ""
    assert doc["out"] == str(out_file) and doc["pdf"] is None
    page = out_file.read_text(encoding="utf-8")
    assert doc["figures"] == appendix(page)
    assert doc["figures"]["findings"]["error"] == 0 and doc["figures"]["dedup"]["truth"] > 0
    assert_offline(page)


def test_session_report_exits_1_and_says_why(emu: EmulatorServer, tmp_path: Path,  # noqa: F811
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """A session with a rejected event: the file is written, stderr says why, exit 1; the token is absent."""
    sid = send_session(emu, tmp_path, capsys)
    out_file = tmp_path / "session.html"
    code, out, err = run(capsys, "report", "--session", sid, "--out", str(out_file))
    assert code == EXIT_FINDINGS
    assert "rejected by the Events API (the report is written)" in err and "severity error" in err
    assert out.startswith(f"Wrote {out_file}") and "5 events checked" in out
    page = out_file.read_text(encoding="utf-8")
    assert TOKEN not in page and appendix(page)["delivery"]["rejected"] >= 1
    # no --session: the whole history, the same events here
    code, out, _ = run(capsys, "report", "--out", str(tmp_path / "all.html"), "--format", "json")
    assert code == EXIT_FINDINGS and json.loads(out)["figures"]["report"]["checked"] == "every send in the history"


def test_session_with_a_pixel_file_pairs_them(emu: EmulatorServer, tmp_path: Path,  # noqa: F811
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """--session with --pixel: the Pixel rows pair with what was sent (merged within 5 min)."""
    sid = send_session(emu, tmp_path, capsys)
    pixel = tmp_path / "pixel.jsonl"
    pixel.write_text("\n".join(json.dumps({"event": "Purchase", "event_id": f"ord_{i}", "pixel_code": "CPIXEL123",
                                           "timestamp": 1735689590}) for i in (1, 2)))
    code, out, _ = run(capsys, "report", "--session", sid, "--pixel", str(pixel), "--out",
                       str(tmp_path / "r.html"), "--format", "json")
    figures = json.loads(out)["figures"]
    assert code == EXIT_FINDINGS and figures["pairs"]["merged"] == 2 and figures["dedup"]["pixel_events"] == 2
    assert "pixel.jsonl" in figures["report"]["checked"]


@pytest.mark.parametrize(("argv", "says"), [
    (["--session", "s1", "--pixel", "p.csv", "--server", "s.csv"], "--session and --server"),
    (["--orders", "o.csv"], "needs both --pixel and --server"),
    (["--server", "s.csv"], "needs both --pixel and --server"),
    (["--session", "no-such-session"], "No send session 'no-such-session'"),
])
def test_bad_arguments_exit_2_with_the_fix(argv: list[str], says: str, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """Contradictory or missing inputs: exit 2, a sentence naming the problem, no file written."""
    out_file = tmp_path / "r.html"
    code, _, err = run(capsys, "report", *argv, "--out", str(out_file))
    assert code == EXIT_USAGE and says in err and not out_file.exists()


def test_missing_files_and_folders_exit_2(demo: dict[str, Path], tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """A missing input file or output folder is named; --out is required (argparse's usage error)."""
    code, _, err = run(capsys, "report", "--pixel", str(tmp_path / "nope.csv"), "--server",
                       str(demo["server.csv"]), "--out", str(tmp_path / "r.html"))
    assert code == EXIT_USAGE and "nope.csv" in err
    code, _, err = run(capsys, "report", "--out", str(tmp_path / "no" / "dir" / "r.html"))
    assert code == EXIT_USAGE and "does not exist" in err
    with pytest.raises(SystemExit) as exc:
        main(["report"])
    assert exc.value.code == EXIT_USAGE and "--out" in capsys.readouterr().err


def test_pdf_without_a_browser_is_a_clear_exit_2(demo: dict[str, Path], tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """--pdf with no browser to start: exit 2 with the install command, before anything is written."""
    monkeypatch.setenv("CHROMIUM_PATH", str(tmp_path / "no-chromium"))
    out_file = tmp_path / "r.html"
    code, _, err = run(capsys, "report", "--pixel", str(demo["pixel.csv"]), "--server", str(demo["server.csv"]),
                       "--out", str(out_file), "--pdf", str(tmp_path / "r.pdf"))
    assert code == EXIT_USAGE and "CHROMIUM_PATH" in err and "apt-get install -y chromium" in err
    assert not out_file.exists() and not (tmp_path / "r.pdf").exists()
