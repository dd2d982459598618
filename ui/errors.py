"""The one way pages show an error: what went wrong, where, and what to do next."""

from __future__ import annotations

from collections.abc import Iterable

import streamlit as st

from core.errors import ConsoleError
from ui.markup import plain


def show_error(exc: BaseException, *, source: str | None = None) -> None:
    """Render `exc` as one st.error: the message (with its file, line or JSON path) and the fix.

    `source` names what was being read or done ("checkout.har", "Not sent"). Console errors carry their
    own fix; anything else is a bug, shown with its type so it can be reported. File names, values and
    messages are shown as text, never as markdown (a file name cannot become a link or an image).
    """
    if isinstance(exc, ConsoleError):
        where = ", ".join(p for p in (source, exc.where) if p)
        text = f"**{plain(where)}:** {plain(exc.message)}" if where else plain(exc.message)
        if exc.hint:
            text += f"  \n**Fix:** {plain(exc.hint)}"
    else:
        text = f"**{plain(source)}:** " if source else ""
        text += f"Unexpected {type(exc).__name__}: {plain(exc)}. Please report it with the steps that led here."
    st.error(text, icon="🚫")


def show_errors(problems: Iterable[BaseException], *, source: str | None = None) -> None:
    """Each problem through `show_error` (settings report every bad value at once)."""
    for exc in problems:
        show_error(exc, source=source)
