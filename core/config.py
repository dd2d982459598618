"""Settings, loaded in one place from the environment and a mapping the UI passes in.

Nothing else in the project reads `os.environ`. The access token is held in memory only: it is never
written to disk, logs, exports or cURL copies (those show `$TIKTOK_ACCESS_TOKEN`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from core.contract import TIKTOK_BASE_URL
from core.errors import ConfigError

Target = Literal["emulator", "tiktok", "custom"]
TokenSource = Literal["environment", "secrets", "session", "emulator"] | None

TOKEN_ENV = "TIKTOK_ACCESS_TOKEN"
EMULATOR_TOKEN = "emulator-token"  # what the local emulator accepts when no token is configured


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

    @property
    def is_live(self) -> bool:
        """True when events go to TikTok's real endpoint (they count unless a test code is set)."""
        return self.target == "tiktok"

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
    if value <= 0:
        raise ConfigError(f"{name}={raw!r} must be positive.", hint=f"Set {name} to e.g. {default}.")
    return value


def load_settings(
    env: Mapping[str, str] | None = None,
    secrets: Mapping[str, Any] | None = None,
) -> Settings:
    """Settings from environment variables, with `secrets` (e.g. st.secrets) as the token's fallback.

    Variables: TIKTOK_ACCESS_TOKEN, TEC_TARGET (emulator|tiktok|custom), TEC_BASE_URL, TEC_PIXEL_CODE,
    TEC_TEST_EVENT_CODE, TEC_DB, TEC_TIMEOUT, TEC_MAX_ATTEMPTS, TEC_DEFAULT_REGION.
    A TEC_BASE_URL without TEC_TARGET means a custom endpoint.
    """
    env = os.environ if env is None else env
    base_url = (env.get("TEC_BASE_URL") or "").strip().rstrip("/") or None
    raw_target = (env.get("TEC_TARGET") or "").strip().lower()
    if raw_target and raw_target not in ("emulator", "tiktok", "custom"):
        raise ConfigError(f"TEC_TARGET={raw_target!r} is not a target.", hint="Use emulator, tiktok or custom.")
    target: Target = raw_target or ("custom" if base_url else "emulator")  # type: ignore[assignment]
    if target == "custom" and not base_url:
        raise ConfigError("TEC_TARGET=custom needs TEC_BASE_URL.", hint="Set TEC_BASE_URL=http://host:port.")
    if target == "tiktok" and not base_url:
        base_url = TIKTOK_BASE_URL
    if base_url and not base_url.startswith(("http://", "https://")):
        raise ConfigError(f"TEC_BASE_URL={base_url!r} is not an http(s) URL.",
                          hint="Use e.g. https://business-api.tiktok.com.")

    token: str | None = (env.get(TOKEN_ENV) or "").strip() or None
    source: TokenSource = "environment" if token else None
    if token is None and secrets is not None:
        secret = secrets.get(TOKEN_ENV) or secrets.get("access_token")
        if isinstance(secret, str) and secret.strip():
            token, source = secret.strip(), "secrets"

    attempts_raw = env.get("TEC_MAX_ATTEMPTS") or "4"
    if not attempts_raw.isdigit() or int(attempts_raw) < 1:
        raise ConfigError(f"TEC_MAX_ATTEMPTS={attempts_raw!r} must be a whole number >= 1.")
    db = env.get("TEC_DB")
    region = (env.get("TEC_DEFAULT_REGION") or "").strip().upper() or None
    return Settings(
        target=target,
        base_url=base_url,
        access_token=token,
        token_source=source,
        pixel_code=(env.get("TEC_PIXEL_CODE") or "").strip(),
        test_event_code=(env.get("TEC_TEST_EVENT_CODE") or "").strip(),
        db_path=Path(db).expanduser() if db else default_db_path(),
        timeout_s=_float(env, "TEC_TIMEOUT", 10.0),
        answer_timeout_s=_float(env, "TEC_ANSWER_TIMEOUT", 60.0),
        max_attempts=int(attempts_raw),
        default_region=region,
    )
