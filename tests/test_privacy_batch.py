"""The batch screen (one pass over a whole recorded batch's text) refuses every event the per-field walk
would scrub: whatever it lets through at once, the walk keeps whole, and a batch it cannot clear is judged
event by event with exactly the walk's result."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from core.privacy import _surely_clean, scrub_event, scrub_events

HASH = "848a771458438fc2ec420560d769fb9b9b86851ee338ec56517baabd79d3bb4f"


def text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def purchase(i: int, **user: Any) -> dict[str, Any]:
    return {"event": "Purchase", "event_time": 1735689600 + i, "event_id": f"ord_{i}_purchase",
            "user": {"email": [HASH], "phone": [HASH], "external_id": [HASH], "ip": "203.0.113.7",
                     "user_agent": "Mozilla/5.0 (Macintosh)", "ttp": "01K0T8BYGJH63785W68YS5NN1R_.tt.1", **user},
            "page": {"url": f"https://shop.example/thanks?order={i}"},
            "properties": {"currency": "USD", "value": 46.0,
                           "contents": [{"content_id": "1077218", "price": 8, "quantity": 2}]}}


_VALUES = st.one_of(
    st.sampled_from(["203.0.113.7", "1077218", "+44 20 7946 0958", "(415) 555-0100", "2026-05-01 10:00:00",
                     "ord_1_purchase", "a@b.co", "12345678901", HASH, HASH.upper(), "", " ", " 0207946095 ",
                     "4155550100", "1.2.3.4 ", " 415.555.0100", "+1234567", "null", "x@y"]),
    st.text(alphabet="0123456789+()-./ @abcE", max_size=18),
    st.integers(min_value=-10**16, max_value=10**16),
    st.sampled_from([4155550100, 94107, 0.5, 4155550100.0, True, False, None]),
)
_KEYS = st.sampled_from(["ip", "phone", "Phone", "tel", "content_id", "email", "EMAIL", "ph", "note", "zip", "Zip",
                         "external_id", "x", "mobile_no", "emails", "whatsapp", "hotel", "cellar", "fn", "em",
                         "first_name", "phone_number", "user", "contents", "smsOptIn", "mSisdn"])
_DOCS = st.recursive(
    _VALUES, lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_KEYS, inner, max_size=4)),
    max_leaves=12)
_EVENTS = st.one_of(st.dictionaries(_KEYS, _DOCS, max_size=5),
                    st.builds(lambda i, k, v: purchase(i, **{k: v}), st.integers(0, 99), _KEYS, _DOCS))


@given(events=st.lists(_EVENTS, min_size=1, max_size=6))
@settings(max_examples=500, deadline=None)
def test_the_batch_screen_gives_exactly_what_the_walk_gives(events: list[dict[str, Any]]) -> None:
    """Property: for any batch, each event comes out as the walk alone makes it, with the same dropped paths."""
    got = scrub_events(events, [text(e) for e in events])
    assert got == [scrub_event(e) for e in events]


@given(events=st.lists(_EVENTS, min_size=1, max_size=6))
@settings(max_examples=500, deadline=None)
def test_a_batch_text_the_screen_passes_holds_nothing_the_walk_would_drop(events: list[dict[str, Any]]) -> None:
    """Property: the whole batch's text cleared at once means no event in it loses anything to the walk."""
    if _surely_clean("[" + ",".join(text(e) for e in events) + "]"):
        assert all(scrub_event(e)[1] == [] for e in events)


def test_a_clean_batch_of_ordinary_purchases_passes_at_once_and_a_planted_phone_is_caught() -> None:
    """The batch screen must clear ordinary hashed events (or every batch pays for the walk), and one raw
    value anywhere in a thousand events sends the batch to the per-event screen, which drops exactly it."""
    events = [purchase(i) for i in range(1000)]
    batch = "[" + ",".join(text(e) for e in events) + "]"
    assert _surely_clean(batch)
    for planted in ({"mobile": "415 555 0100"}, {"customer_tel": 4155550100}, {"ip": "+14155550100"},
                    {"ids": ["+1 (415) 555-0100"]}, {"Email": "Alice@Example.com"}, {"zip": 94107}):
        dirty = [*events[:500], purchase(500, **planted), *events[501:]]
        assert not _surely_clean("[" + ",".join(text(e) for e in dirty) + "]"), planted
        got = scrub_events(dirty, [text(e) for e in dirty])
        assert [i for i, (_, paths) in enumerate(got) if paths] == [500], planted
        assert got[500] == scrub_event(dirty[500]) and got[0][0] is dirty[0]


def test_a_bare_value_as_an_event_is_walked_not_waved_through() -> None:
    """An event that is no object (a bare email text in `data`) has no key around it: the walk judges it."""
    assert not _surely_clean(text("alice@example.com"))
    assert scrub_events(["alice@example.com", {"event": "Purchase"}],
                        [text("alice@example.com"), text({"event": "Purchase"})]) == [
        (None, [""]), ({"event": "Purchase"}, [])]


def test_non_ascii_and_escaped_texts_take_the_careful_path_with_the_same_result() -> None:
    """Keys or values outside ASCII, or any backslash, leave the fast screen: the result is still the walk's."""
    events = [purchase(1, note="café ☕"), purchase(2, mobile="４１５５５５０１００"), purchase(3, memo='say "hi"'),
              purchase(4, ſms="4155550100")]
    assert scrub_events(events, [text(e) for e in events]) == [scrub_event(e) for e in events]
