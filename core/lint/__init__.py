"""Lint an Events API v1.3 request body: every problem at once, each at the JSON path of the offending key.

The public face of the linter; the modules behind it are one concept each:

    linter        the body-shape dispatch and the event walk; `lint`, `lint_bodies`, `lint_upload`
    event_checks  name, event_time, event_id, properties, page
    user_checks   hashing, identifiers, IP, user agent, locale, consent, Meta keys
    checker       the finding sink every check adds to, the per-event context, JSON value helpers
    findings      the `Finding` record, the catalogue of every code, ordering, counts, exports
    jsonpath      JSON paths as findings write them, and the line where each sits in a JSON text

`from core.lint import lint, Finding, has_errors` is the import pages, the CLI and tests use;
docs/findings.md is rendered from `CATALOGUE` by `python -m core.lint > docs/findings.md`.
"""

from __future__ import annotations

from core.lint.findings import (
    CATALOGUE,
    SEVERITY_BADGE,
    SEVERITY_RANK,
    CodeDoc,
    Finding,
    Severity,
    annotate_json,
    count_findings,
    error_event_indexes,
    findings_json,
    has_errors,
    render_catalogue_markdown,
    sort_findings,
)
from core.lint.jsonpath import join_index, join_key, line_for, locate_paths, parent_path, pretty_json
from core.lint.linter import (
    SAMPLE_BODIES,
    lint,
    lint_bodies,
    lint_text,
    lint_upload,
    parse_body,
    sample_body_text,
)

__all__ = [
    "CATALOGUE",
    "SAMPLE_BODIES",
    "SEVERITY_BADGE",
    "SEVERITY_RANK",
    "CodeDoc",
    "Finding",
    "Severity",
    "annotate_json",
    "count_findings",
    "error_event_indexes",
    "findings_json",
    "has_errors",
    "join_index",
    "join_key",
    "line_for",
    "lint",
    "lint_bodies",
    "lint_text",
    "lint_upload",
    "locate_paths",
    "parent_path",
    "parse_body",
    "pretty_json",
    "render_catalogue_markdown",
    "sample_body_text",
    "sort_findings",
]
