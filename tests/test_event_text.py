"""An event's kept and posted text is byte for byte `json.dumps(event, ensure_ascii=False, separators=(",", ":"),
allow_nan=False)`, whichever encoder wrote it (orjson where its text is surely the same, json's own elsewhere),
and NaN/Infinity are refused as json refuses them."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import store as store_module
from core.store import event_text, event_texts


def reference(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


# texts with every kind of character, lone surrogates (half a pair, from a "\ud800" escape) included
TEXT = st.text(st.characters(blacklist_categories=()), max_size=12)
NUMBER = st.one_of(st.floats(), st.floats(min_value=-1e-3, max_value=1e-3), st.integers(),
                   st.integers(min_value=-2**70, max_value=2**70),
                   st.sampled_from([1e-7, 1e-5, 5e-5, 1.5e-9, 1e-10, 1e-100, 1e16, 1e21, 2**63, 2**64 - 1, 2**64,
                                    -2**63, -2**63 - 1, -0.0, 0.0001, 0.00012, 1.234e-5, 5e-324]))
LEAF = st.one_of(st.none(), st.booleans(), NUMBER, TEXT)
VALUE = st.recursive(LEAF, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.lists(inner, max_size=3).map(tuple),
    st.dictionaries(TEXT, inner, max_size=4),
    st.dictionaries(st.one_of(st.integers(), st.booleans(), st.none(), st.floats(allow_nan=False)), inner,
                    max_size=2)), max_leaves=12)


def outcome(fn: Any, value: Any) -> tuple[str, Any]:
    try:
        return "text", fn(value)
    except (ValueError, TypeError, RecursionError) as exc:
        return "refused", type(exc)


@settings(max_examples=600, deadline=None)
@given(VALUE)
def test_every_value_is_written_as_json_writes_it_or_refused_as_json_refuses_it(value: Any) -> None:
    expected = outcome(reference, value)
    assert outcome(event_text, value) == expected
    assert outcome(lambda v: event_texts([v, {"event": "Purchase"}, v]), value) == (
        expected if expected[0] == "refused" else ("text", [expected[1], '{"event":"Purchase"}', expected[1]]))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.dictionaries(TEXT, LEAF, max_size=5), min_size=1, max_size=20))
def test_a_batch_where_some_events_need_the_standard_encoder_keeps_each_events_own_text(batch: list[Any]) -> None:
    expected = [outcome(reference, e) for e in batch]
    if all(kind == "text" for kind, _ in expected):
        assert event_texts(batch) == [text for _, text in expected]


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -math.inf, {"v": [1, {"x": float("nan")}]}])
def test_nan_and_infinity_are_refused_not_written_as_null(value: Any) -> None:
    with pytest.raises(ValueError):
        event_text(value)
    with pytest.raises(ValueError):
        event_texts([{"ok": 1}, value])


def test_orjson_writes_the_common_event_and_a_value_it_writes_differently_goes_through_json(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast path is taken for an ordinary event (else this file would test json against itself), and the
    values orjson writes another way are caught by the check, not by luck."""
    assert store_module.orjson is not None, "orjson is a declared dependency"
    calls: list[Any] = []
    monkeypatch.setattr(store_module, "_json_text", lambda e: calls.append(e) or reference(e))
    plain = {"event": "Purchase", "event_id": "o1", "properties": {"value": 46.0, "contents": [{"quantity": 2}]}}
    assert event_texts([plain]) == [reference(plain)] and calls == []
    for value in (1e-7, 1e-5, 3e-6, None, 2**64, {1: "a"}):
        calls.clear()
        assert event_texts([plain, {"v": value}]) == [reference(plain), reference({"v": value})]
        assert calls == [{"v": value}]
