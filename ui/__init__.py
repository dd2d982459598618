"""Shared Streamlit pieces every page uses; Streamlit lives only in app.py, pages/ and ui/."""

from ui.errors import show_error, show_errors
from ui.sidebar import page_setup, secret, settings

__all__ = ["page_setup", "secret", "settings", "show_error", "show_errors"]
