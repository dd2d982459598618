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
