"""Page frame: page config, the shared settings sidebar, and the one place secrets are read."""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.config import Settings, resolve_settings, session_settings
from core.contract import TIKTOK_BASE_URL
from ui.errors import show_errors
from ui.markup import code

# Permanent session keys (survive page switches); widgets use "_"-prefixed twins (streamlit-facts §2).
_PERSISTENT = {
    "tec_pixel_code": "",
    "tec_test_event_code": "",
    "tec_target": "emulator",
    "tec_base_url": "",
    "tec_token_session": "",
    "tec_region": "",
}
TARGET_LABELS = {
    "emulator": "Local emulator (offline, default)",
    "tiktok": "TikTok Events API (real)",
    "custom": "Custom URL (proxy, staging)",
}


def secret(name: str) -> Any:
    """st.secrets[name], or None when there is no secrets file or no such key (never raises)."""
    try:
        return st.secrets.get(name)
    except (FileNotFoundError, KeyError):
        return None
    except Exception:  # a malformed secrets.toml must not take the page down
        return None


class _Secrets(dict[str, Any]):
    """The two secret names the console reads, gathered through `secret()`."""


def _env_settings() -> Settings:
    """Environment + secrets through core.config; bad values are kept to show in the sidebar."""
    secrets = _Secrets({k: v for k in ("TIKTOK_ACCESS_TOKEN", "access_token") if (v := secret(k))})
    base, problems = resolve_settings(secrets=secrets)
    st.session_state["tec_config_problems"] = problems
    return base


def _keep(key: str) -> None:
    st.session_state[key] = st.session_state["_" + key]


def _init_state(base: Settings) -> None:
    if "tec_initialised" in st.session_state:
        return
    st.session_state["tec_initialised"] = True
    defaults = dict(_PERSISTENT)
    defaults.update(
        tec_pixel_code=base.pixel_code,
        tec_test_event_code=base.test_event_code,
        tec_target=base.target,
        tec_base_url=base.base_url if base.target == "custom" else "",
        tec_region=base.default_region or "",
    )
    for key, value in defaults.items():
        st.session_state.setdefault(key, value)


def settings() -> Settings:
    """The effective settings: environment/secrets, overridden by what the user set in the sidebar."""
    base = _env_settings()
    _init_state(base)
    ss = st.session_state
    return session_settings(base, {
        "target": ss.get("tec_target"), "base_url": ss.get("tec_base_url"), "pixel_code": ss.get("tec_pixel_code"),
        "test_event_code": ss.get("tec_test_event_code"), "region": ss.get("tec_region"),
        "token": ss.get("tec_token_session"),
    })


MENU = (
    ("app.py", "Home", "🏠"),
    ("pages/1_Build.py", "Build", "🧱"),
    ("pages/2_Lint.py", "Lint", "🔎"),
    ("pages/3_Send.py", "Send", "📤"),
    ("pages/4_Compare.py", "Compare", "🪞"),
    ("pages/5_Match_quality.py", "Match quality", "🧬"),
    ("pages/6_Dedup_gap.py", "Dedup gap", "📉"),
    ("pages/7_Outbox.py", "Outbox", "📮"),
    ("pages/8_Live_session.py", "Live session", "📡"),
    ("pages/9_TikTok_counts.py", "TikTok counts", "🔢"),
)


def _sidebar(current: Settings) -> None:
    ss = st.session_state
    with st.sidebar:
        # our own menu (client.showSidebarNavigation is off): "Home" instead of the entry file's name
        with st.container(key="tec_menu"):
            for path, label, icon in MENU:
                st.page_link(path, label=label, icon=icon)
        st.divider()
        st.subheader("Connection")
        for key in _PERSISTENT:
            ss["_" + key] = ss.get(key, _PERSISTENT[key])
        st.text_input("Pixel code (event_source_id)", key="_tec_pixel_code", on_change=_keep,
                      args=("tec_pixel_code",), placeholder="C4A1B2C3D4E5F6G7H8I9",
                      help="Events Manager > Data sources > your Pixel: the code under its name.")
        st.text_input("Test event code", key="_tec_test_event_code", on_change=_keep,
                      args=("tec_test_event_code",), placeholder="TEST12345",
                      help="Events Manager > your Pixel > Test Events tab. Events sent with it do not count.")
        st.selectbox("Target", list(TARGET_LABELS), format_func=TARGET_LABELS.__getitem__,
                     key="_tec_target", on_change=_keep, args=("tec_target",))
        if ss.get("tec_target") == "custom":
            st.text_input("Base URL", key="_tec_base_url", on_change=_keep, args=("tec_base_url",),
                          placeholder="http://127.0.0.1:9000")
        st.text_input("Default phone region", key="_tec_region", on_change=_keep, args=("tec_region",),
                      placeholder="US", max_chars=2,
                      help="Reads national phone numbers (e.g. 020 7946 0958 with GB).")
        if current.target == "emulator":
            st.caption("Target: **local emulator** — nothing leaves this machine.")
        elif current.target == "tiktok":
            st.warning(f"Target: **TikTok** ({TIKTOK_BASE_URL}). "
                       + ("Test mode." if current.test_event_code else "No test code: events will count."))
        else:
            st.caption(f"Target: custom endpoint {code(current.base_url or '(set a URL)')}")
        sources = {"environment": "from the environment (TIKTOK_ACCESS_TOKEN)",
                   "secrets": "from .streamlit/secrets.toml",
                   "session": "typed in this session (kept in memory only)"}
        if current.access_token:
            st.caption(f"Access token: set, {sources.get(current.token_source or '', 'set')}. Never shown or stored.")
        else:
            msg = ("Access token: not needed for the emulator." if current.target == "emulator"
                   else "Access token: missing. Set TIKTOK_ACCESS_TOKEN or add it to .streamlit/secrets.toml.")
            st.caption(msg)
            if current.target != "emulator":
                st.text_input("Access token (this session only)", type="password", key="_tec_token_session",
                              on_change=_keep, args=("tec_token_session",))
        show_errors(ss.get("tec_config_problems") or [], source="Setting ignored")


def page_setup(title: str, icon: str = "🎯", *, layout: str = "wide") -> Settings:
    """Page config + the shared sidebar; returns the effective settings for this run."""
    st.set_page_config(page_title=f"{title} · TikTok Events Console", page_icon=icon,
                       layout=layout)  # type: ignore[arg-type]
    current = settings()
    _sidebar(current)
    return current
