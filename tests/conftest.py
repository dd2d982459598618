"""Shared fixtures: an isolated SQLite file per test and clean Streamlit caches between AppTests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test gets its own database file and no token or target from the developer's shell."""
    monkeypatch.setenv("TEC_DB", str(tmp_path / "console.db"))
    for name in ("TIKTOK_ACCESS_TOKEN", "TEC_TARGET", "TEC_BASE_URL", "TEC_PIXEL_CODE",
                 "TEC_TEST_EVENT_CODE", "TEC_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    yield


@pytest.fixture(autouse=True)
def _clear_streamlit_caches() -> Iterator[None]:
    """Streamlit caches outlive AppTest instances in one process (streamlit-facts §3)."""
    try:
        import streamlit as st
    except ImportError:  # pragma: no cover
        yield
        return
    st.cache_data.clear()
    st.cache_resource.clear()
    yield


@pytest.fixture(scope="module")
def emu_server(request: pytest.FixtureRequest) -> Iterator[object]:
    """A real Events API emulator on 127.0.0.1 for the test module, accepting the module's `TOKEN`."""
    from core.emulator import start_emulator

    server = start_emulator(token=getattr(request.module, "TOKEN", None))
    yield server
    server.stop()


@pytest.fixture
def app_test():
    """Factory: an AppTest of app.py switched to `page` (e.g. "pages/1_Build.py"), not yet run."""
    from streamlit.testing.v1 import AppTest

    def make(page: str | None = None, timeout: float = 90):
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
        if page:
            at.switch_page(page)
        return at

    return make
