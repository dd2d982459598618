"""The findings table and the body-with-markers view (stub: being built)."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from core.lint import Finding


def render_findings(findings: Sequence[Finding], *, key: str) -> None:
    """Count summary plus a table of findings; st.success when there are none."""
    if not findings:
        st.success("No findings: the body follows every rule the linter knows.")
        return
    st.dataframe([f.as_dict() for f in findings], key=key, width="stretch")


def render_body_with_markers(body: object, findings: Sequence[Finding]) -> None:
    """The pretty JSON with the offending lines pointed out."""
    import json

    st.code(json.dumps(body, indent=2, ensure_ascii=False), language="json")
