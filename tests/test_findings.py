"""The Finding record and its helpers: order, counts, event positions, JSON form, the catalogue."""

from __future__ import annotations

import json

from core.lint.findings import (
    CATALOGUE,
    Finding,
    count_findings,
    error_event_indexes,
    event_index,
    findings_json,
    has_errors,
    sort_findings,
)

FINDINGS = [Finding("error", "c1", "data[2].x", "m1", "f1"), Finding("warning", "c2", "data[1]", "m2", "f2"),
            Finding("info", "c3", "", "m3", "f3"), Finding("error", "c4", "event_source_id", "m4", "f4")]


def test_errors_first_then_body_order() -> None:
    """Errors come first, then warnings, then info; counts and has_errors agree."""
    assert [f.code for f in sort_findings(FINDINGS)] == ["c1", "c4", "c2", "c3"]
    assert count_findings(FINDINGS) == {"error": 2, "warning": 1, "info": 1}
    assert has_errors(FINDINGS) and not has_errors(FINDINGS[1:3])


def test_event_positions_of_errors() -> None:
    """Only errors inside an event give its absolute position; body-level errors give none."""
    assert [event_index(p) for p in ("data[12].user", "event_source", "data")] == [12, None, None]
    assert error_event_indexes(FINDINGS) == {2}


def test_json_form_keeps_line_and_event_id_only_when_set() -> None:
    """as_dict carries line and event_id when known, and the five fields otherwise (the CLI's JSON)."""
    assert Finding("error", "c", "p", "m", "f", line=3, event_id="e").as_dict() == {
        "severity": "error", "code": "c", "path": "p", "message": "m", "fix": "f", "line": 3, "event_id": "e"}
    assert set(FINDINGS[0].as_dict()) == {"severity", "code", "path", "message", "fix"}
    doc = json.loads(findings_json(FINDINGS))
    assert [f["code"] for f in doc["findings"]] == [f.code for f in FINDINGS]


def test_catalogue_entries_are_complete() -> None:
    """Every catalogued code has a severity, a title, why it matters and a fix."""
    assert len(CATALOGUE) >= 90
    for code, doc in CATALOGUE.items():
        assert doc.severity in ("error", "warning", "info") and doc.title and doc.why and doc.fix, code
