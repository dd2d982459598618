"""`tiktok-events app` (what `make run` calls) really serves the console, Streamlit flags passed through."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from core.cli import main

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_app_passes_streamlit_flags_and_serves(tmp_path: Path) -> None:
    """`tiktok-events app --server.address ... --server.port N` answers /_stcore/health with ok, from any folder."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "core.cli", "app", "--server.address", "127.0.0.1", "--server.port", str(port),
         "--server.headless", "true", "--server.fileWatcherType", "none"],
        cwd=tmp_path, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "TEC_DB": str(tmp_path / "c.db"),
                           "HOME": str(tmp_path)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline, answer = time.monotonic() + 90, ""
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).text
            except httpx.TransportError:
                answer = ""
            if answer == "ok":
                break
            time.sleep(0.3)
        assert answer == "ok", f"exit code {proc.poll()}"
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_app_help_is_argparse_help(capsys: pytest.CaptureFixture[str]) -> None:
    """`tiktok-events app --help` prints the subcommand's usage and exits 0 instead of starting Streamlit."""
    with pytest.raises(SystemExit) as exited:
        main(["app", "--help"])
    assert exited.value.code == 0
    assert "usage: tiktok-events app" in capsys.readouterr().out
