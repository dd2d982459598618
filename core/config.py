"""Settings, resolved in one place: the environment, the secrets and the session's own values.

Nothing else in the project reads `os.environ` (a test greps for it): the CLI calls `resolve_settings`,
the UI calls it and then `session_settings` with the sidebar's values. The access token is held in
memory only: it is never written to disk, logs, exports or cURL copies (those show `$TIKTOK_ACCESS_TOKEN`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, TypeVar

from core.contract import TIKTOK_BASE_URL
from core.errors import ConfigError

Target = Literal["emulator", "tiktok", "custom"]
TokenSource = Literal["environment", "secrets", "session", "emulator"] | None

TOKEN_ENV = "TIKTOK_ACCESS_TOKEN"
EMULATOR_TOKEN = "emulator-token"  # what the local emulator accepts when no token is configured
_T = TypeVar("_T")


def default_db_path() -> Path:
    """The per-user SQLite file: `$XDG_DATA_HOME/tiktok-events-console/console.db` or the OS equivalent."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("tiktok-events-console", appauthor=False)) / "console.db"


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the console needs to build, send and store; `repr` never shows the token."""

    target: Target = "emulator"
    base_url: str | None = None  # None with target=emulator: an in-process emulator picks the URL
    access_token: str | None = field(default=None, repr=False)
    token_source: TokenSource = None
    pixel_code: str = ""
    test_event_code: str = ""
    db_path: Path = field(default_factory=default_db_path)
    timeout_s: float = 10.0  # to connect and send a request
    answer_timeout_s: float = 60.0  # how long an answer is awaited before the request counts as lost
    max_attempts: int = 4
    backoff_base_s: float = 0.5
    default_region: str | None = None
    spark_remote: str | None = None  # Spark Connect URL (sc://host:port) for the analysis engine

    @property
    def target_label(self) -> str:
        """A one-line description of where events go, for banners and CLI output."""
        if self.target == "emulator":
            return "local emulator" + (f" at {self.base_url}" if self.base_url else " (offline)")
        if self.target == "tiktok":
            return f"TikTok Events API at {self.base_url or TIKTOK_BASE_URL}"
        return f"custom endpoint at {self.base_url}"

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with the given fields replaced (None values are ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number.", hint=f"Set {name} to e.g. {default}.") from None
    if not value > 0 or value == float("inf"):
        raise ConfigError(f"{name}={raw!r} must be positive.", hint=f"Set {name} to e.g. {default}.")
    return value


def _attempts(env: Mapping[str, str]) -> int:
    raw = (env.get("TEC_MAX_ATTEMPTS") or "").strip()
    if not raw:
        return 4
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"TEC_MAX_ATTEMPTS={raw!r} must be a whole number >= 1.", hint="Set TEC_MAX_ATTEMPTS=4.")
    return int(raw)


def _base_url(env: Mapping[str, str]) -> str | None:
    base_url = (env.get("TEC_BASE_URL") or "").strip().rstrip("/") or None
    if base_url and not base_url.startswith(("http://", "https://")):
        raise ConfigError(f"TEC_BASE_URL={base_url!r} is not an http(s) URL.",
                          hint="Use e.g. https://business-api.tiktok.com.")
    return base_url


def _target(env: Mapping[str, str], base_url: str | None) -> Target:
    raw = (env.get("TEC_TARGET") or "").strip().lower()
    if raw and raw not in ("emulator", "tiktok", "custom"):
        raise ConfigError(f"TEC_TARGET={raw!r} is not a target.", hint="Use emulator, tiktok or custom.")
    if raw == "custom" and not base_url:
        raise ConfigError("TEC_TARGET=custom needs TEC_BASE_URL.", hint="Set TEC_BASE_URL=http://host:port.")
    return raw or ("custom" if base_url else "emulator")  # type: ignore[return-value]


def _token(env: Mapping[str, str], secrets: Mapping[str, Any] | None) -> tuple[str | None, TokenSource]:
    token = (env.get(TOKEN_ENV) or "").strip() or None
    if token:
        return token, "environment"
    if secrets is not None:
        secret = secrets.get(TOKEN_ENV) or secrets.get("access_token")
        if isinstance(secret, str) and secret.strip():
            return secret.strip(), "secrets"
    return None, None


def resolve_settings(
    env: Mapping[str, str] | None = None,
    secrets: Mapping[str, Any] | None = None,
) -> tuple[Settings, list[ConfigError]]:
    """Settings from the environment (os.environ when `env` is None) and `secrets`, with every problem.

    Each bad value is one ConfigError naming the variable and its fix, and falls back to its default;
    every other value still applies (one typo never silently drops TEC_DB). The UI shows the problems
    through its error helper, the CLI prints them to stderr. Variables: TIKTOK_ACCESS_TOKEN, TEC_TARGET
    (emulator|tiktok|custom), TEC_BASE_URL, TEC_PIXEL_CODE, TEC_TEST_EVENT_CODE, TEC_DB, TEC_TIMEOUT,
    TEC_MAX_ATTEMPTS, TEC_DEFAULT_REGION. A TEC_BASE_URL without TEC_TARGET means a custom endpoint.
    """
    env = os.environ if env is None else env
    problems: list[ConfigError] = []

    def read(reader: Callable[[], _T], default: _T) -> _T:
        try:
            return reader()
        except ConfigError as exc:
            problems.append(exc)
            return default

    base_url = read(lambda: _base_url(env), None)
    fallback: Target = "custom" if base_url else "emulator"
    target = read(lambda: _target(env, base_url), fallback)
    if target == "tiktok" and not base_url:
        base_url = TIKTOK_BASE_URL
    token, source = _token(env, secrets)
    db = (env.get("TEC_DB") or "").strip()
    settings = Settings(
        target=target,
        base_url=base_url,
        access_token=token,
        token_source=source,
        pixel_code=(env.get("TEC_PIXEL_CODE") or "").strip(),
        test_event_code=(env.get("TEC_TEST_EVENT_CODE") or "").strip(),
        db_path=Path(db).expanduser() if db else default_db_path(),
        timeout_s=read(lambda: _float(env, "TEC_TIMEOUT", 10.0), 10.0),
        answer_timeout_s=read(lambda: _float(env, "TEC_ANSWER_TIMEOUT", 60.0), 60.0),
        max_attempts=read(lambda: _attempts(env), 4),
        default_region=(env.get("TEC_DEFAULT_REGION") or "").strip().upper() or None,
        spark_remote=(env.get("SPARK_REMOTE") or "").strip() or None,
    )
    return settings, problems


def load_settings(
    env: Mapping[str, str] | None = None,
    secrets: Mapping[str, Any] | None = None,
) -> Settings:
    """Settings from environment variables (see `resolve_settings`); raises the first ConfigError.

    For scripts and tests that want a bad setting to stop them; the UI and the CLI use
    `resolve_settings`, which keeps the good values and reports every bad one.
    """
    settings, problems = resolve_settings(env, secrets)
    if problems:
        raise problems[0]
    return settings


def session_settings(base: Settings, overrides: Mapping[str, Any]) -> Settings:
    """`base` (environment and secrets) with the values a user set for this session (the sidebar).

    Keys, all optional: `target` (emulator|tiktok|custom), `base_url` (for custom), `pixel_code`,
    `test_event_code`, `region`, `token` (typed for this session; the environment's token wins).
    A target of tiktok always means TikTok's endpoint; custom uses `base_url` (None until one is typed).
    """
    def text(key: str, default: str) -> str:
        value = overrides.get(key)
        return default if value is None else str(value).strip()

    target = text("target", base.target)
    if target not in ("emulator", "tiktok", "custom"):
        target = base.target
    base_url: str | None = None
    if target == "tiktok":
        base_url = TIKTOK_BASE_URL
    elif target == "custom":
        base_url = text("base_url", base.base_url or "").rstrip("/") or None
    token, source = base.access_token, base.token_source
    if not token and text("token", ""):
        token, source = text("token", ""), "session"
    return replace(
        base,
        target=target,  # type: ignore[arg-type]
        base_url=base_url,
        access_token=token,
        token_source=source,
        pixel_code=text("pixel_code", base.pixel_code),
        test_event_code=text("test_event_code", base.test_event_code),
        default_region=text("region", base.default_region or "").upper() or None,
    )


def chromium_path(env: Mapping[str, str] | None = None) -> str | None:
    """`CHROMIUM_PATH` when set (a browser the user chose for capture, reports and the browser tests)."""
    value = (os.environ if env is None else env).get("CHROMIUM_PATH", "").strip()
    return value or None


def display_name(env: Mapping[str, str] | None = None) -> str | None:
    """The X or Wayland display a headed browser would open on (`DISPLAY`, `WAYLAND_DISPLAY`), if any."""
    source = os.environ if env is None else env
    return (source.get("DISPLAY") or source.get("WAYLAND_DISPLAY") or "").strip() or None


# --- Marketing API (what TikTok itself counted: core.readback) ------------------------------------------
MARKETING_TOKEN_ENV = "TIKTOK_MARKETING_TOKEN"
ADVERTISER_ENV = "TEC_ADVERTISER_ID"


@dataclass(frozen=True, slots=True)
class MarketingCredentials:
    """The Marketing API token (held in memory only; `repr` never shows it), where it came from, the advertiser."""

    token: str | None = field(default=None, repr=False)
    token_name: str | None = None  # TIKTOK_MARKETING_TOKEN or TIKTOK_ACCESS_TOKEN
    token_source: TokenSource = None  # environment or secrets
    advertiser_id: str = ""


def marketing_credentials(env: Mapping[str, str] | None = None,
                          secrets: Mapping[str, Any] | None = None) -> MarketingCredentials:
    """The token for TikTok's Marketing API reads and TEC_ADVERTISER_ID, from the environment or `secrets`.

    TIKTOK_MARKETING_TOKEN (environment, then secrets) wins; else TIKTOK_ACCESS_TOKEN the same way. The
    token is never stored: it lives in this record and in the HTTP client's headers only.
    """
    env = os.environ if env is None else env
    token: str | None = None
    name: str | None = None
    source: TokenSource = None
    for var in (MARKETING_TOKEN_ENV, TOKEN_ENV):
        for where, mapping in (("environment", env), ("secrets", secrets or {})):
            value = mapping.get(var)
            if isinstance(value, str) and value.strip():
                token, name, source = value.strip(), var, where  # type: ignore[assignment]
                break
        if token:
            break
    advertiser = (env.get(ADVERTISER_ENV) or "").strip()
    if not advertiser and secrets is not None and isinstance(secrets.get(ADVERTISER_ENV), str | int):
        advertiser = str(secrets.get(ADVERTISER_ENV)).strip()
    return MarketingCredentials(token=token, token_name=name, token_source=source, advertiser_id=advertiser)
