"""Shared fixtures: an isolated SQLite file per test and clean Streamlit caches between AppTests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session", autouse=True)
def _isolated_session_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Fixtures wider than one test (a module's capture run) write to a database of the test session's,
    never to the developer's own (`$XDG_DATA_HOME/tiktok-events-console/console.db`)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TEC_DB", str(tmp_path_factory.mktemp("session-db") / "console.db"))
        mp.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg-data")))
        yield


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


@pytest.fixture
def token_emu(emu_server: Any, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Any:
    """The module's emulator, emptied, with the module's `TOKEN` as TIKTOK_ACCESS_TOKEN (no Marketing API
    token or advertiser from the shell) and 2 attempts per request."""
    emu_server.clear()
    for name in ("TIKTOK_MARKETING_TOKEN", "TEC_ADVERTISER_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", request.module.TOKEN)
    monkeypatch.setenv("TEC_MAX_ATTEMPTS", "2")
    return emu_server


@pytest.fixture
def media(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The media storages AppTest creates, kept so a download button's bytes can be read back
    (`download_bytes`)."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
    from streamlit.testing.v1 import app_test as app_test_module

    storages: list[Any] = []

    class Keeping(MemoryMediaFileStorage):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            storages.append(self)

    monkeypatch.setattr(app_test_module, "MemoryMediaFileStorage", Keeping)
    return storages


def download_bytes(at: Any, key: str, storages: list[Any]) -> bytes:
    """The bytes the download button `key` serves, read from the media storage AppTest gave the run."""
    name = at.download_button(key=key).proto.url.rsplit("/", 1)[-1]
    for storage in reversed(storages):
        try:
            return bytes(storage.get_file(name).content)
        except Exception:  # another run's storage
            continue
    raise AssertionError(f"no media file {name}")
