"""The one way pages show an error: what went wrong, where, and what to do next."""

from __future__ import annotations

from collections.abc import Iterable

import streamlit as st

from core.errors import ConsoleError


def show_error(exc: BaseException, *, source: str | None = None) -> None:
    """Render `exc` as one st.error: the message (with its file, line or JSON path) and the fix.

    `source` names what was being read or done ("checkout.har", "Not sent"). Console errors carry their
    own fix; anything else is a bug, shown with its type so it can be reported.
    """
    if isinstance(exc, ConsoleError):
        where = ", ".join(p for p in (source, exc.where) if p)
        text = f"**{where}:** {exc.message}" if where else exc.message
        if exc.hint:
            text += f"  \n**Fix:** {exc.hint}"
    else:
        text = f"**{source}:** " if source else ""
        text += f"Unexpected {type(exc).__name__}: {exc}. Please report it with the steps that led here."
    st.error(text, icon="🚫")


def show_errors(problems: Iterable[BaseException], *, source: str | None = None) -> None:
    """Each problem through `show_error` (settings report every bad value at once)."""
    for exc in problems:
        show_error(exc, source=source)
