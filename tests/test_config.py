"""Settings: one loader for the environment and st.secrets; the token never shows in repr."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import load_settings
from core.contract import TIKTOK_BASE_URL
from core.errors import ConfigError


@pytest.mark.parametrize(
    ("env", "target", "base_url"),
    [
        ({}, "emulator", None),
        ({"TEC_TARGET": "tiktok"}, "tiktok", TIKTOK_BASE_URL),
        ({"TEC_BASE_URL": "http://127.0.0.1:9000/"}, "custom", "http://127.0.0.1:9000"),
        ({"TEC_TARGET": "EMULATOR"}, "emulator", None),
    ],
)
def test_target_resolution(env: dict[str, str], target: str, base_url: str | None) -> None:
    """The target follows TEC_TARGET / TEC_BASE_URL; the emulator is the default."""
    s = load_settings(env)
    assert (s.target, s.base_url) == (target, base_url)


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"TEC_TARGET": "prod"}, "TEC_TARGET"),
        ({"TEC_TARGET": "custom"}, "TEC_BASE_URL"),
        ({"TEC_BASE_URL": "ftp://x"}, "http(s)"),
        ({"TEC_TIMEOUT": "fast"}, "TEC_TIMEOUT"),
        ({"TEC_TIMEOUT": "-1"}, "positive"),
        ({"TEC_MAX_ATTEMPTS": "0"}, "TEC_MAX_ATTEMPTS"),
    ],
)
def test_bad_settings_raise_config_error(env: dict[str, str], fragment: str) -> None:
    """A wrong setting raises ConfigError naming the variable."""
    with pytest.raises(ConfigError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        load_settings(env)


def test_token_precedence_and_redaction() -> None:
    """Environment beats secrets; the token is never in repr()."""
    s = load_settings({"TIKTOK_ACCESS_TOKEN": " env-token "}, {"TIKTOK_ACCESS_TOKEN": "secret-token"})
    assert (s.access_token, s.token_source) == ("env-token", "environment")
    assert "env-token" not in repr(s)
    s2 = load_settings({}, {"TIKTOK_ACCESS_TOKEN": "secret-token"})
    assert (s2.access_token, s2.token_source) == ("secret-token", "secrets")
    assert load_settings({}, {}).access_token is None


def test_db_path_and_region_from_env(tmp_path: Path) -> None:
    """TEC_DB and TEC_DEFAULT_REGION are read and normalized."""
    s = load_settings({"TEC_DB": str(tmp_path / "x.db"), "TEC_DEFAULT_REGION": " gb "})
    assert s.db_path == tmp_path / "x.db"
    assert s.default_region == "GB"


@pytest.mark.parametrize(("env", "bad", "field", "value"), [
    ({"TEC_TIMEOUT": "fast", "TEC_PIXEL_CODE": "C4A1B2C3D4E5F6G7H8I9"}, "TEC_TIMEOUT", "pixel_code",
     "C4A1B2C3D4E5F6G7H8I9"),
    ({"TEC_MAX_ATTEMPTS": "lots", "TEC_DEFAULT_REGION": "gb"}, "TEC_MAX_ATTEMPTS", "default_region", "GB"),
    ({"TEC_TARGET": "prod", "TEC_TEST_EVENT_CODE": "TEST1"}, "TEC_TARGET", "test_event_code", "TEST1"),
    ({"TEC_BASE_URL": "ftp://x", "TEC_TIMEOUT": "3"}, "TEC_BASE_URL", "timeout_s", 3.0),
])
def test_one_bad_value_is_named_and_the_others_still_apply(
        env: dict[str, str], bad: str, field: str, value: object, tmp_path: Path) -> None:
    """A bad TEC_* value is one problem naming it with a fix; TEC_DB and every other value still apply."""
    from core.config import resolve_settings

    settings, problems = resolve_settings({**env, "TEC_DB": str(tmp_path / "mine.db")})
    assert [p.message.split("=")[0] for p in problems] == [bad] and all(p.hint for p in problems)
    assert settings.db_path == tmp_path / "mine.db"
    assert getattr(settings, field) == value


def test_every_bad_value_is_reported_at_once() -> None:
    """Two bad values give two problems, each falling back to its default."""
    from core.config import resolve_settings

    settings, problems = resolve_settings({"TEC_TIMEOUT": "-1", "TEC_MAX_ATTEMPTS": "0"})
    assert len(problems) == 2 and (settings.timeout_s, settings.max_attempts) == (10.0, 4)


def test_resolve_settings_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a mapping, resolve_settings reads the environment itself (the UI and CLI pass none)."""
    from core.config import resolve_settings

    monkeypatch.setenv("TEC_PIXEL_CODE", "C4A1B2C3D4E5F6G7H8I9")
    assert resolve_settings()[0].pixel_code == "C4A1B2C3D4E5F6G7H8I9"


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"target": "tiktok"}, ("tiktok", TIKTOK_BASE_URL, None)),
    ({"target": "custom", "base_url": " http://127.0.0.1:9000/ "}, ("custom", "http://127.0.0.1:9000", None)),
    ({"target": "custom", "base_url": ""}, ("custom", None, None)),
    ({"target": "emulator", "token": "typed"}, ("emulator", None, "session")),
    ({"target": "nonsense"}, ("emulator", None, None)),
])
def test_session_settings_resolve_the_sidebar(overrides: dict[str, str], expected: tuple[object, ...]) -> None:
    """The sidebar's values resolve in core.config: target, its URL, a session token; the rest is kept."""
    from core.config import session_settings

    base = load_settings({"TEC_TIMEOUT": "3"})
    s = session_settings(base, {**overrides, "pixel_code": " C4A1B2C3D4E5F6G7H8I9 ", "region": "gb"})
    assert (s.target, s.base_url, s.token_source) == expected
    assert (s.pixel_code, s.default_region, s.timeout_s) == ("C4A1B2C3D4E5F6G7H8I9", "GB", 3.0)


def test_environment_token_wins_over_a_session_token() -> None:
    """A token from the environment is not replaced by one typed in the sidebar."""
    from core.config import session_settings

    s = session_settings(load_settings({"TIKTOK_ACCESS_TOKEN": "env"}), {"token": "typed"})
    assert (s.access_token, s.token_source) == ("env", "environment")


def test_sidebar_names_a_bad_setting_and_keeps_the_database(
        app_test, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The app shows a bad TEC_* value with its fix and still uses TEC_DB (not the default database)."""
    monkeypatch.setenv("TEC_TIMEOUT", "fast")
    monkeypatch.setenv("TEC_DB", str(tmp_path / "kept.db"))
    at = app_test().run()
    assert not at.exception
    shown = [e.value for e in at.error]
    assert any("TEC_TIMEOUT" in v and "Fix:" in v for v in shown), shown
    assert (tmp_path / "kept.db").exists()  # home opened the history database TEC_DB names


def test_cli_names_a_bad_setting_on_stderr_and_goes_on(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """The CLI prints the bad value with its fix to stderr and builds with the settings that are good."""
    from core.cli import main

    monkeypatch.setenv("TEC_TIMEOUT", "fast")
    monkeypatch.setenv("TEC_PIXEL_CODE", "C4A1B2C3D4E5F6G7H8I9")
    assert main(["build", "--event", "ViewContent", "--event-id", "v1"]) == 0
    out = capsys.readouterr()
    assert "TEC_TIMEOUT='fast'" in out.err and "setting ignored" in out.err
    assert "C4A1B2C3D4E5F6G7H8I9" in out.out
