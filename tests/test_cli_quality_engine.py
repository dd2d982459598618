"""`tiktok-events quality` on the engine: the memory path's exact output, streamed, with progress and refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core import cli
from core.cli import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, main
from tests.test_cli_quality import BODY


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A demo store month (server.jsonl and server.csv: more events than a review page holds) and a body."""
    from core.demo import generate_store, write_store

    folder = tmp_path_factory.mktemp("month")
    files = write_store(generate_store(800, seed=3), folder)
    (folder / "body.json").write_text(json.dumps(BODY))
    return {"jsonl": files["server.jsonl"], "csv": files["server.csv"], "body": folder / "body.json"}


@pytest.mark.parametrize("which", ["body", "jsonl", "csv"])
@pytest.mark.parametrize("fmt", ["json", "text"])
def test_engine_prints_exactly_what_the_memory_path_prints(month: dict[str, Path], capsys: pytest.CaptureFixture[str],
                                                           which: str, fmt: str) -> None:
    """The default engine's stdout is byte for byte --engine memory's: every event, the summary, the advice."""
    code, out, _ = _run(["quality", str(month[which]), "--format", fmt], capsys)
    memory_code, memory_out, _ = _run(["quality", str(month[which]), "--format", fmt, "--engine", "memory"], capsys)
    assert (code, out) == (memory_code, memory_out) and code == EXIT_OK
    if fmt == "json":
        doc = json.loads(out)
        assert len(doc["events"]) == doc["summary"]["events"] >= (3 if which == "body" else 501)
        assert [e["index"] for e in doc["events"]] == list(range(len(doc["events"])))


def test_progress_goes_to_stderr_only_for_people(month: dict[str, Path], capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Progress lines (stderr) for the text report; none with --format json, whose stdout stays one document."""
    monkeypatch.setattr(cli, "PROGRESS_AFTER_S", 0.0)
    code, out, err = _run(["quality", str(month["jsonl"])], capsys)
    assert code == EXIT_OK and "quality (duckdb): reading and classifying server.jsonl" in err
    assert "quality (duckdb)" not in out
    code, out, err = _run(["quality", str(month["jsonl"]), "--format", "json"], capsys)
    assert code == EXIT_OK and err == "" and json.loads(out)["summary"]["label"] == "EMQ proxy"


def test_min_score_gate_on_the_engine(month: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    """--min-score exits 1 below the mean and says so on stderr; the JSON is still printed."""
    code, out, err = _run(["quality", str(month["body"]), "--format", "json", "--min-score", "9.5"], capsys)
    assert code == EXIT_FINDINGS and "below --min-score 9.5" in err and json.loads(out)["summary"]["events"] == 3


@pytest.mark.parametrize(("extra", "message"), [
    (["--engine", "spark"], "Match quality does not run on Spark"),
    (["--memory-limit", "lots"], "The engine refused a setting"),
])
def test_refusals_exit_2_without_a_traceback(month: dict[str, Path], capsys: pytest.CaptureFixture[str],
                                             extra: list[str], message: str) -> None:
    """Spark (not offered for quality) and a bad memory limit exit 2 with the reason, nothing on stdout."""
    code, out, err = _run(["quality", str(month["body"]), *extra], capsys)
    assert code == EXIT_USAGE and message in err and "Traceback" not in err and out == ""
