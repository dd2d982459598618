"""Raw email addresses and phone numbers never reach the database, whatever key or shape hides them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import outbox
from core.config import Settings
from core.emulator import EmulatorServer
from core.privacy import is_raw_email, is_raw_phone, redact_text, scrub_body, scrub_event
from core.store import Store
from core.transport import Sender

HASH = "848a771458438fc2ec420560d769fb9b9b86851ee338ec56517baabd79d3bb4f"
RAW_EMAIL = "alice.raw@example.com"


@pytest.mark.parametrize(("user", "kept", "dropped"), [
    ({"email": [HASH], "ip": "1.2.3.4"}, {"email": [HASH], "ip": "1.2.3.4"}, []),
    ({"email": RAW_EMAIL}, {}, ["user.email"]),
    ({"email": [HASH, RAW_EMAIL]}, {"email": [HASH]}, ["user.email"]),
    ({"phone": ["+12133734253"], "external_id": "user_123"}, {"external_id": "user_123"}, ["user.phone"]),
    ({"first_name": "alice", "zip_code": HASH}, {"zip_code": HASH}, ["user.first_name"]),
    ({"email": "", "phone": []}, {"email": "", "phone": []}, []),
    ({"external_id": "bob@shop.example"}, {}, ["user.external_id"]),
    ({"phone_number": "415 555 0100"}, {}, ["user.phone_number"]),
    ({"emails": ["a@b.io", HASH]}, {"emails": [HASH]}, ["user.emails"]),
    ({"ip": "203.0.113.7", "user_agent": "Mozilla/5.0 (X11; Linux x86_64)"},
     {"ip": "203.0.113.7", "user_agent": "Mozilla/5.0 (X11; Linux x86_64)"}, []),
])
def test_scrub_event(user: dict[str, Any], kept: dict[str, Any], dropped: list[str]) -> None:
    """Raw email / phone / names are dropped with their paths; hashed and non-PII fields stay."""
    ev = {"event": "Purchase", "user": user}
    clean, paths = scrub_event(ev)
    assert clean["user"] == kept and paths == dropped
    assert ev["user"] is user  # input untouched
    if not dropped:
        assert clean is ev


def test_scrub_body_paths_and_legacy_shapes() -> None:
    """scrub_body names each dropped value's path, in 1.0's context.user and in misspelt keys alike."""
    b = {"event_source": "web", "data": [
        {"event": "Purchase", "user": {"email": [HASH]}},
        {"event": "Purchase", "context": {"user": {"email": RAW_EMAIL, "phone_number": "+44 20 7946 0958"}}},
        {"event": "Purchase", "properties": {"customer_emial": RAW_EMAIL, "contact": "(415) 555-0100",
                                             "content_id": "1234567", "order_id": "10492", "value": "129.99"}},
    ]}
    clean, paths = scrub_body(b)
    assert paths == ["data[1].context.user.email", "data[1].context.user.phone_number",
                     "data[2].properties.customer_emial", "data[2].properties.contact"]
    assert clean["data"][2]["properties"] == {"content_id": "1234567", "order_id": "10492", "value": "129.99"}
    assert b["data"][1]["context"]["user"]["email"] == RAW_EMAIL


@pytest.mark.parametrize(("value", "email", "phone"), [
    ("a@b.co", True, False), (HASH, False, False), ("+1 415 555 0100", False, True), ("(415) 555-0100", False, True),
    ("2026-05-01 10:00:00", False, False), ("203.0.113.7", False, False), ("1735689600", False, False),
    ("129.99", False, False), ("ord_10492_purchase", False, False), ("https://shop.example/p?x=1", False, False),
])
def test_raw_value_predicates(value: str, email: bool, phone: bool) -> None:
    """What counts as an email or a phone in clear when the key says nothing: dates, IPs, ids and prices do not."""
    assert (is_raw_email(value), is_raw_phone(value)) == (email, phone)


def test_redact_text() -> None:
    """An error message that echoes a value loses the email and the phone, keeps the rest."""
    assert redact_text("bad a@b.com at data.3, call +44 20 7946 0958") == "bad [redacted] at data.3, call [redacted]"


EMAILS = st.builds(lambda a, b: f"{a}@{b}.example", st.from_regex(r"[a-z][a-z0-9._]{2,12}", fullmatch=True),
                   st.from_regex(r"[a-z]{3,10}", fullmatch=True))
PHONES = st.builds(lambda cc, n: f"+{cc} {n[:3]} {n[3:6]} {n[6:]}", st.sampled_from(["1", "44", "33", "49", "61"]),
                   st.from_regex(r"[2-9][0-9]{8,9}", fullmatch=True))
KEYS = st.sampled_from(["email", "emails", "phone", "phone_number", "external_id", "mail", "contact", "x", "e_mail",
                        "customer", "note", "Email", "PHONE"])
WHERE = st.sampled_from([("user",), ("context", "user"), ("properties",), ("properties", "contents", 0), ()])


def _plant(event: dict[str, Any], where: tuple[Any, ...], key: str, value: Any) -> None:
    node: Any = event
    for step in where:
        node = node[step] if isinstance(step, int) else node.setdefault(step, [{}] if step == "contents" else {})
    node[key] = value


@pytest.fixture(scope="module")
def emu(emu_server: EmulatorServer) -> Iterator[EmulatorServer]:
    yield emu_server


@given(plants=st.lists(st.tuples(WHERE, KEYS, st.one_of(EMAILS, PHONES), st.booleans()), min_size=1, max_size=4))
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_no_raw_value_in_the_database_files(tmp_path: Path, emu: EmulatorServer,
                                            plants: list[tuple[tuple[Any, ...], str, str, bool]]) -> None:
    """Property: bodies sent with raw emails/phones planted under any key, nesting or list leave no byte of them."""
    event: dict[str, Any] = {"event": "Purchase", "event_time": 1735689600, "event_id": "ord_1_purchase",
                             "user": {"email": [HASH], "ip": "203.0.113.7"}}
    for where, key, value, as_list in plants:
        _plant(event, where, key, [HASH, value] if as_list else value)
    body = {"event_source": "web", "event_source_id": "CPIX", "test_event_code": "T1", "data": [event]}
    db = tmp_path / f"p{abs(hash(repr(plants)))}.db"
    with Store(db) as store, Sender(Settings(target="custom", base_url=emu.url, access_token="t",
                                             max_attempts=1)) as sender:
        outbox.send(store, sender, [body], resend=True)
        outbox.retry(store, sender, rejected=True)
        exported = b"".join(store.export_session(s["id"]) for s in store.sessions())
    raw = b"".join(p.read_bytes() for p in tmp_path.glob(db.name + "*")) + exported
    for _, _, value, _ in plants:
        assert value.encode() not in raw, value


@given(plants=st.lists(st.tuples(WHERE, KEYS, st.one_of(EMAILS, PHONES), st.booleans()), min_size=1, max_size=4))
@settings(max_examples=200, deadline=None)
def test_the_fast_screen_never_passes_an_event_the_walk_would_scrub(
        plants: list[tuple[tuple[Any, ...], str, str, bool]]) -> None:
    """Property: the regex screen that lets clean events skip the walk never lets a planted raw value through."""
    import json

    from core.privacy import _surely_clean

    event: dict[str, Any] = {"event": "Purchase", "event_time": 1735689600, "event_id": "ord_1_purchase",
                             "user": {"email": [HASH], "ip": "203.0.113.7"}}
    for where, key, value, as_list in plants:
        _plant(event, where, key, [HASH, value] if as_list else value)
    text = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    assert scrub_event(event)[1] and not _surely_clean(text)


_VALUES = st.one_of(
    st.sampled_from(["203.0.113.7", "1077218", "+44 20 7946 0958", "(415) 555-0100", "2026-05-01 10:00:00",
                     "ord_1_purchase", "a@b.co", "12345678901", HASH, "", " 0207946095 ", "4155550100"]),
    st.text(alphabet="0123456789+()-. @abc", max_size=16),
    st.integers(min_value=-10**16, max_value=10**16), st.sampled_from([4155550100, 94107, 0.5, True, None]),
)
_JSON_KEYS = st.sampled_from(["ip", "phone", "Phone", "tel", "content_id", "email", "EMAIL", "ph", "note", "zip",
                              "external_id", "x", "mobile_no", "emails", "whatsapp"])
_DOCS = st.recursive(
    _VALUES, lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_JSON_KEYS, inner, max_size=4)),
    max_leaves=12)


@given(doc=st.dictionaries(_JSON_KEYS, _DOCS, max_size=5))
@settings(max_examples=400, deadline=None)
def test_the_fast_screen_is_never_looser_than_the_walk_on_any_document(doc: dict[str, Any]) -> None:
    """Property: on arbitrary nesting, keys and values, a document the screen passes is one the walk keeps whole."""
    import json

    from core.privacy import _surely_clean

    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    if _surely_clean(text):
        assert scrub_event(doc)[1] == []


def test_a_phone_or_zip_written_as_a_number_is_dropped_like_text() -> None:
    event = {"user": {"phone": 4155550100, "zip_code": 94107, "mobile_no": [14155550100], "ip": "203.0.113.7"},
             "properties": {"value": 46.0, "quantity": 2}, "event_time": 1735689600}
    clean, dropped = scrub_event(event)
    assert sorted(dropped) == ["user.mobile_no", "user.phone", "user.zip_code"]
    assert clean["user"] == {"ip": "203.0.113.7"} and clean["properties"] == {"value": 46.0, "quantity": 2}


def test_a_clean_event_with_hashed_lists_numbers_and_an_ip_passes_the_screen_unwalked() -> None:
    """The screen must let ordinary hashed events through, or every recorded event pays for the walk."""
    import json

    from core.privacy import _surely_clean

    event = {"event": "Purchase", "event_time": 1735689600, "event_id": "ord_1_purchase",
             "user": {"email": [HASH], "phone": [HASH], "external_id": [HASH], "ip": "203.0.113.7",
                      "ttp": "01K0T8BYGJH63785W68YS5NN1R_.tt.1"},
             "properties": {"currency": "USD", "value": 46.0, "contents": [{"content_id": "1077218", "quantity": 2}]}}
    assert _surely_clean(json.dumps(event, separators=(",", ":")))
    assert not _surely_clean(json.dumps({**event, "user": {"phone": [HASH, 4155550100]}}, separators=(",", ":")))
