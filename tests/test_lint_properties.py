"""Property tests for core.lint: never crash, always a catalogued Finding or a clear InvalidPayload."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import lint as L
from core.contract import EVENT_FIELDS, PROPERTY_FIELDS, USER_FIELDS
from core.errors import InvalidPayload

NOW = 1_767_225_600
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30))
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=25,
)
# values placed under the keys the linter reads, so the deep checks run on hostile input
keys = st.sampled_from((*EVENT_FIELDS, *USER_FIELDS, *PROPERTY_FIELDS, "event_source", "event_source_id",
                        "data", "test_event_code", "ad_user_data", "contents", "content_id", "quantity",
                        "url", "pixel_code", "batch", "context", "timestamp", "em", "user_data"))
shaped = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(keys, children, max_size=6),
    max_leaves=40,
)


def _check(findings: list[L.Finding]) -> None:
    for f in findings:
        assert isinstance(f, L.Finding)
        doc = L.CATALOGUE[f.code]
        assert f.severity == doc.severity
        assert f.message and f.fix and isinstance(f.path, str)
    assert findings == L.sort_findings(findings)


@SETTINGS
@given(json_values)
def test_lint_never_raises_on_any_json_value(body: Any) -> None:
    """Any JSON value lints to a sorted list of catalogued Findings."""
    _check(L.lint(body, now=NOW))


@SETTINGS
@given(shaped)
def test_lint_never_raises_on_body_shaped_values(body: Any) -> None:
    """Hostile values under every key the linter reads still give only catalogued Findings."""
    _check(L.lint(body, now=NOW))
    _check(L.lint({"event_source": "web", "event_source_id": "C1", "data": [body]}, now=NOW))


@SETTINGS
@given(st.dictionaries(keys, shaped, max_size=8))
def test_every_finding_path_locates_in_the_pretty_body(event: dict[str, Any]) -> None:
    """Every finding's path (or its nearest parent) maps to a real line of the pretty body."""
    body = {"event_source": "web", "event_source_id": "C1", "data": [event]}
    findings = L.lint(body, now=NOW)
    text = L.pretty_json(body)
    located = L.locate_paths(text)
    n_lines = text.count("\n") + 1
    for f in findings:
        assert 1 <= L.line_for(f.path, located) <= n_lines
    annotated, by_line = L.annotate_json(body, findings)
    assert annotated.count("\n") == text.count("\n")
    assert sum(len(v) for v in by_line.values()) == len(findings)


@SETTINGS
@given(json_values)
def test_locate_paths_finds_every_path(value: Any) -> None:
    """locate_paths of pretty JSON finds every key and element path of the value."""
    def paths(v: Any, prefix: str) -> list[str]:
        out = [prefix]
        if isinstance(v, dict):
            for k, child in v.items():
                out += paths(child, L.join_key(prefix, k))
        elif isinstance(v, list):
            for i, child in enumerate(v):
                out += paths(child, L.join_index(prefix, i))
        return out

    located = L.locate_paths(L.pretty_json(value))
    assert set(paths(value, "")) <= set(located)


@SETTINGS
@given(st.text(max_size=80) | json_values.map(json.dumps))
def test_parse_body_returns_value_or_invalid_payload(text: str) -> None:
    """parse_body returns a value or raises InvalidPayload with a message, never anything else."""
    try:
        value = L.parse_body(text)
    except InvalidPayload as exc:
        assert str(exc)
    else:
        _check(L.lint(value, now=NOW))


def _with_each_leaf(value: Any, replacement: Any) -> list[Any]:
    """Copies of `value` with one leaf (scalar) replaced, for every leaf."""
    if isinstance(value, dict):
        return [{**value, k: v2} for k, v in value.items() for v2 in _with_each_leaf(v, replacement)]
    if isinstance(value, list):
        return [[*value[:i], v2, *value[i + 1:]] for i, v in enumerate(value)
                for v2 in _with_each_leaf(v, replacement)]
    return [replacement]


def test_lint_survives_extreme_scalars_at_every_leaf() -> None:
    """Huge ints (beyond str() limits), infinities and deep nesting at any leaf never crash the linter."""
    base = L.SAMPLE_BODIES["broken body"](NOW)
    deep: Any = "x"
    for _ in range(3000):
        deep = [deep]
    for extreme in (10**5000, -(10**5000), float("inf"), float("nan"), deep, "9" * 5000):
        for body in _with_each_leaf(base, extreme):
            _check(L.lint(body, now=NOW))
