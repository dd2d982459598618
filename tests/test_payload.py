"""core.payload: event specs -> v1.3 bodies, event_id conventions, consent, batching."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from core.contract import CONSENT_SUPPRESSED_FIELDS, LEGACY_EVENTS, STANDARD_EVENTS
from core.errors import InvalidInput
from core.identity import sha256_hex
from core.payload import (
    EVENT_CHOICES,
    BuildResult,
    ContentItem,
    EventSpec,
    build_body,
    build_event,
    consent_effects,
    contents_from_rows,
    event_id_hint,
    looks_like_pii,
    make_event_id,
    parse_event_time,
    snake_case,
    spec_from_mapping,
    split_batches,
    split_values,
    ttclid_from_url,
)

PIXEL = "C4A1B2C3D4E5F6G7H8I9"
NOW = 1_735_689_600
UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"


def golden_spec(**changes: object) -> EventSpec:
    """The DESIGN.md golden path: a Purchase for order 10492 with email, phone, value and currency."""
    spec = EventSpec(
        event="Purchase", order_id="10492", email=" Alice@Example.com ", phone="+1 213 373 4253",
        value=129.99, currency="usd", ip="203.0.114.7", user_agent=UA,
        page_url="https://shop.example/checkout/thanks", event_time=NOW - 60,
        contents=[ContentItem("SKU-1", content_name="Mug", price=129.99, quantity=1)],
    )
    for name, value in changes.items():
        setattr(spec, name, value)
    return spec


def test_golden_path_body() -> None:
    """The golden Purchase builds a hashed v1.3 body with event_id ord_10492_purchase."""
    result = build_body(golden_spec(), pixel_code=PIXEL, test_event_code="TEST12345", now=NOW)
    body = result.body
    assert (body["event_source"], body["event_source_id"], body["test_event_code"]) == ("web", PIXEL, "TEST12345")
    [event] = body["data"]
    assert (event["event"], event["event_id"], event["event_time"]) == ("Purchase", "ord_10492_purchase", NOW - 60)
    assert event["user"]["email"] == [sha256_hex("alice@example.com")]
    assert event["user"]["phone"] == [sha256_hex("+12133734253")]
    assert (event["user"]["ip"], event["user"]["user_agent"]) == ("203.0.114.7", UA)
    props = event["properties"]
    assert (props["value"], props["currency"], props["order_id"], props["content_type"]) == (
        129.99, "USD", "10492", "product")
    assert props["contents"] == [{"content_id": "SKU-1", "content_name": "Mug", "price": 129.99, "quantity": 1}]
    assert event["limited_data_use"] is False and event["page"] == {"url": "https://shop.example/checkout/thanks"}
    assert result.ok and not result.rejected and not result.suppressed
    assert [h.kind for h in result.identifiers] == ["email", "phone"]
    raw_text = json.dumps(body)
    assert "alice" not in raw_text.lower() and "2133734253" not in raw_text  # no raw PII in the body
    assert json.loads(result.body_bytes()) == body


def test_golden_path_lints_clean() -> None:
    """The linter reports no error or warning on the golden-path body."""
    from core.lint import lint

    body = build_body(golden_spec(), pixel_code=PIXEL, test_event_code="TEST12345", now=NOW).body
    findings = lint(body, now=NOW)
    assert [f.as_dict() for f in findings if f.severity in ("error", "warning")] == []


def test_before_after_table_covers_every_identifier() -> None:
    """The table has one row per identifier with input, normalized, sent and status; raw keys included."""
    spec = golden_spec(email=["alice@example.com", "nope"], external_id=sha256_hex("u1").upper(), city="New York",
                       ttclid="E.C.P.x")
    rows = build_body(spec, pixel_code=PIXEL, now=NOW).table()
    by_field: dict[str, list[dict[str, object]]] = {}
    for row in rows:
        by_field.setdefault(str(row["field"]), []).append(row)
    assert {r["status"] for r in by_field["user.email"]} == {"hashed (SHA-256)", "rejected: has 0 '@' signs; an "
                                                                                   "address has exactly one"}
    assert by_field["user.external_id"][0]["status"] == "passed through: already hashed"
    assert by_field["user.external_id"][0]["sent"] == sha256_hex("u1")
    assert by_field["user.city"][0]["sent"] == "newyork"
    assert by_field["user.ttclid"][0]["status"].startswith("sent as is")
    assert set(by_field) >= {"user.phone", "user.ip", "user.user_agent"}


# --- identifiers ------------------------------------------------------------------------------------
def test_rejected_identifiers_are_not_sent_and_are_listed() -> None:
    """Invalid values are left out of the body, listed in rejected with a hint, and flagged in suppressed."""
    spec = golden_spec(email="alice@example.com, not-an-email", phone="2133734253")  # no region
    result = build_body(spec, pixel_code=PIXEL, now=NOW)
    user = result.body["data"][0]["user"]
    assert user["email"] == [sha256_hex("alice@example.com")]
    assert "phone" not in user
    assert not result.ok
    assert [(h.kind, h.input) for h in result.rejected] == [("email", "not-an-email"), ("phone", "2133734253")]
    assert all(h.hint for h in result.rejected)
    assert "region" in (result.rejected[1].hint or "")
    assert {s.field for s in result.suppressed} == {"user.email", "user.phone"}


def test_region_reads_national_phone_numbers() -> None:
    """With a default region, a national phone number is read and hashed in E.164."""
    result = build_body(golden_spec(phone="(213) 373-4253"), pixel_code=PIXEL, region="US", now=NOW)
    assert result.body["data"][0]["user"]["phone"] == [sha256_hex("+12133734253")]


def test_multiple_values_and_duplicates() -> None:
    """Emails may be comma/newline separated; duplicates after normalization are sent once."""
    spec = golden_spec(email="a@example.com\nA@EXAMPLE.com; b@example.com")
    result = build_body(spec, pixel_code=PIXEL, now=NOW)
    assert result.body["data"][0]["user"]["email"] == [sha256_hex("a@example.com"), sha256_hex("b@example.com")]
    assert any("duplicate" in n for n in result.notes)


def test_single_value_fields_take_the_first() -> None:
    """first_name etc. are single values in TikTok's schema: the first is sent, with a note."""
    event, _ids, _sup, notes, _rej = build_event(golden_spec(first_name=["Ann", "Bob"]), now=NOW)
    assert event["user"]["first_name"] == sha256_hex("ann")
    assert any("first_name takes one value" in n for n in notes)


# --- consent ----------------------------------------------------------------------------------------
def test_denied_ad_user_data_removes_personal_identifiers() -> None:
    """DENIED ad_user_data removes email/phone/external_id/names/zip; ip, UA and ttclid stay."""
    spec = golden_spec(ad_user_data="DENIED", external_id="u1", first_name="Ann", last_name="Lee",
                       zip_code="94105", ttclid="E.C.P.x")
    result = build_body(spec, pixel_code=PIXEL, now=NOW)
    user = result.body["data"][0]["user"]
    assert not set(user) & set(CONSENT_SUPPRESSED_FIELDS)
    assert {"ip", "user_agent", "ttclid"} <= set(user)
    assert {s.field for s in result.suppressed} == {f"user.{k}" for k in
                                                    ("email", "phone", "external_id", "first_name", "last_name",
                                                     "zip_code")}
    assert all("ad_user_data" in s.reason for s in result.suppressed)
    assert not result.identifiers  # nothing was even hashed
    withheld = [r for r in result.table() if r["status"] == "removed: ad_user_data DENIED"]
    assert len(withheld) == 6 and all(r["input"] == "(withheld)" for r in withheld)


@pytest.mark.parametrize(("ad_personalization", "ldu"), [("GRANTED", False), ("DENIED", True), ("denied", True)])
def test_ad_personalization_sets_limited_data_use(ad_personalization: str, ldu: bool) -> None:
    """DENIED ad_personalization sets limited_data_use true and records why."""
    result = build_body(golden_spec(ad_personalization=ad_personalization), pixel_code=PIXEL, now=NOW)
    assert result.body["data"][0]["limited_data_use"] is ldu
    assert any(s.field == "limited_data_use" for s in result.suppressed) is ldu


def test_forward_consent_copies_states_into_properties() -> None:
    """forward_consent sends both consent states as properties."""
    spec = golden_spec(forward_consent=True, ad_personalization="DENIED")
    props = build_body(spec, pixel_code=PIXEL, now=NOW).body["data"][0]["properties"]
    assert (props["ad_user_data"], props["ad_personalization"]) == ("GRANTED", "DENIED")
    assert "ad_user_data" not in build_body(golden_spec(), pixel_code=PIXEL, now=NOW).body["data"][0]["properties"]


def test_bad_consent_state_is_rejected() -> None:
    """A consent state other than GRANTED/DENIED is a usage error."""
    with pytest.raises(InvalidInput, match="GRANTED or DENIED"):
        build_event(golden_spec(ad_user_data="MAYBE"))  # type: ignore[arg-type]


# --- event_id -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "expected"), [
    ("CompletePayment", "complete_payment"), ("AddToCart", "add_to_cart"), ("Purchase", "purchase"),
    ("ViewContent", "view_content"), ("LaunchAPP", "launch_app"), ("InAppADClick", "in_app_ad_click"),
    ("Pageview", "pageview"), ("page view", "page_view"), ("add-to-cart", "add_to_cart"), ("  Lead ", "lead"),
])
def test_snake_case(name: str, expected: str) -> None:
    """Event names become snake case; acronym runs stay one word."""
    assert snake_case(name) == expected


@pytest.mark.parametrize(("event", "order", "template", "expected"), [
    ("Purchase", "10492", "ord_{order_id}_{event}", "ord_10492_purchase"),
    ("CompletePayment", " 10492 ", "ord_{order_id}_{event}", "ord_10492_complete_payment"),
    ("AddToCart", "A-77", "{event_name}-{order_id}", "AddToCart-A-77"),
    ("Purchase", "5123456789012", "ord_{order_id}_{event}", "ord_5123456789012_purchase"),  # Shopify-size id
    ("Lead", "", "lead_{event}", "lead_lead"),
])
def test_make_event_id_valid(event: str, order: str, template: str, expected: str) -> None:
    """The event_id follows the template: order id trimmed, event in snake case."""
    assert make_event_id(event, order, template) == expected


@pytest.mark.parametrize(("event", "order", "template", "message"), [
    ("Purchase", "", "ord_{order_id}_{event}", "order id"),
    ("Purchase", "alice@example.com", "ord_{order_id}_{event}", "email address or phone"),
    ("Purchase", "+1 213 373 4253", "ord_{order_id}_{event}", "email address or phone"),
    ("Purchase", "(213) 373-4253", "ord_{order_id}_{event}", "email address or phone"),
    ("Purchase", "1", "ord_{order}_{event}", "unknown placeholder"),
    ("Purchase", "1", "   ", "empty"),
])
def test_make_event_id_invalid(event: str, order: str, template: str, message: str) -> None:
    """Unknown placeholders, empty results and PII-bearing ids raise InvalidInput."""
    with pytest.raises(InvalidInput, match=message):
        make_event_id(event, order, template)


@pytest.mark.parametrize(("text", "pii"), [
    ("ord_10492_purchase", False), ("ord_5123456789012_purchase", False), ("a@b.co", True),
    ("x_+447911123456", True), ("213-373-4253", True), ("id_(213)373-4253", True),
    ("2024-01-15", False), ("100234-5678", False), ("20250101-123-4567", False),
])
def test_looks_like_pii(text: str, pii: bool) -> None:
    """Emails and phone layouts are PII; order numbers and dates are not."""
    assert looks_like_pii(text) is pii


def test_explicit_event_id_wins_and_pii_event_id_is_refused() -> None:
    """A typed event_id is used as given; one carrying an email is refused."""
    event = build_event(golden_spec(event_id="  my-id-1 "), now=NOW).event
    assert event["event_id"] == "my-id-1"
    with pytest.raises(InvalidInput, match="email address"):
        build_event(golden_spec(event_id="alice@example.com"), now=NOW)


def test_missing_event_id_is_noted() -> None:
    """Without order id or event id, no event_id is sent and a note says dedup will not work."""
    built = build_event(golden_spec(order_id=None), now=NOW)
    assert "event_id" not in built.event and "order_id" not in built.event["properties"]
    assert any("deduplicate" in n for n in built.notes)


# --- time, value, properties ---------------------------------------------------------------------------
@pytest.mark.parametrize(("value", "expected", "noted"), [
    (None, NOW, False),
    ("", NOW, False),
    (1_700_000_000, 1_700_000_000, False),
    (1_700_000_000.9, 1_700_000_000, False),
    (1_700_000_000_123, 1_700_000_000, True),  # milliseconds
    ("1700000000", 1_700_000_000, False),
    ("2025-01-01T00:00:00Z", 1_735_689_600, False),
    (datetime(2025, 1, 1, tzinfo=UTC), 1_735_689_600, False),
    (datetime(2025, 1, 1, 1, tzinfo=timezone(timedelta(hours=1))), 1_735_689_600, False),
    (datetime(2025, 1, 1), 1_735_689_600, True),  # naive: read as UTC
])
def test_parse_event_time_valid(value: object, expected: int, noted: bool) -> None:
    """event_time becomes integer UTC seconds; milliseconds and naive datetimes are read with a note."""
    seconds, note = parse_event_time(value, now=NOW)  # type: ignore[arg-type]
    assert seconds == expected and isinstance(seconds, int)
    assert (note is not None) is noted


@pytest.mark.parametrize("value", ["yesterday", -5, float("nan"), True, [1]])
def test_parse_event_time_invalid(value: object) -> None:
    """Text that is not a time, negatives, NaN and booleans raise InvalidInput."""
    with pytest.raises(InvalidInput):
        parse_event_time(value, now=NOW)  # type: ignore[arg-type]


@pytest.mark.parametrize(("value", "expected"), [(129.99, 129.99), ("129.99", 129.99), (" 10 ", 10.0), (0, 0.0)])
def test_value_is_a_float(value: object, expected: float) -> None:
    """value is sent as a JSON number; numeric strings are read."""
    props = build_event(golden_spec(value=value), now=NOW).event["properties"]
    assert props["value"] == expected and isinstance(props["value"], float)


@pytest.mark.parametrize("value", ["$129.99", "1,299.00", "abc", float("inf")])
def test_value_rejects_symbols_and_separators(value: object) -> None:
    """Currency symbols, thousands separators and non-numbers raise InvalidInput with the fix."""
    with pytest.raises(InvalidInput, match="value"):
        build_event(golden_spec(value=value), now=NOW)


def test_currency_and_notes() -> None:
    """currency is upper-cased; an unlisted currency and value without currency get notes."""
    built = build_event(golden_spec(currency="xyz"), now=NOW)
    assert built.event["properties"]["currency"] == "XYZ"
    assert any("not on TikTok's list" in n for n in built.notes)
    built = build_event(golden_spec(currency=None), now=NOW)
    assert any("value without currency" in n for n in built.notes)


def test_properties_options_and_custom() -> None:
    """content_ids / num_items only when asked; search fills both names; custom keys never override."""
    spec = golden_spec(
        contents=[ContentItem("A", quantity=2, price=5), ContentItem("B", quantity=3), ContentItem(" ")],
        add_content_ids=True, add_num_items=True, search_string="red mug", description="desc",
        custom_properties={"value": 1, "campaign": "spring"}, content_type="product_group",
    )
    built = build_event(spec, now=NOW)
    props = built.event["properties"]
    assert props["content_ids"] == ["A", "B"] and props["num_items"] == 5
    assert (props["search_string"], props["query"], props["description"]) == ("red mug", "red mug", "desc")
    assert (props["value"], props["campaign"], props["content_type"]) == (129.99, "spring", "product_group")
    assert any("without a content_id" in n for n in built.notes)
    assert any("custom property 'value' ignored" in n for n in built.notes)


def test_ttclid_from_page_url() -> None:
    """A ttclid in the page URL is used (and noted) when none is given; a given one wins."""
    url = "https://shop.example/p?utm_source=tt&ttclid=E.C.P.abc123&x=1"
    assert ttclid_from_url(url) == "E.C.P.abc123"
    assert ttclid_from_url("https://shop.example/") is None and ttclid_from_url(None) is None
    built = build_event(golden_spec(page_url=url), now=NOW)
    assert built.event["user"]["ttclid"] == "E.C.P.abc123" and any("ttclid taken" in n for n in built.notes)
    built = build_event(golden_spec(page_url=url, ttclid="E.C.P.given"), now=NOW)
    assert built.event["user"]["ttclid"] == "E.C.P.given" and any("differs" in n for n in built.notes)


def test_legacy_event_names_are_accepted_with_a_note() -> None:
    """Legacy names are sent as given and the note names the current event."""
    built = build_event(golden_spec(event="CompletePayment"), now=NOW)
    assert built.event["event"] == "CompletePayment" and built.event["event_id"] == "ord_10492_complete_payment"
    assert any("reports it as Purchase" in n for n in built.notes)


def test_event_choices_standard_first() -> None:
    """The builder offers the May 2025 standard events first, then legacy names."""
    assert EVENT_CHOICES[: len(STANDARD_EVENTS)] == STANDARD_EVENTS
    assert set(LEGACY_EVENTS) <= set(EVENT_CHOICES[len(STANDARD_EVENTS):])


# --- body level ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("kwargs", "message"), [
    ({"pixel_code": "  "}, "Pixel code"),
    ({"pixel_code": PIXEL, "event_source": "email"}, "event_source"),
])
def test_build_body_invalid(kwargs: dict[str, object], message: str) -> None:
    """A missing Pixel code or an unknown event_source is a usage error."""
    with pytest.raises(InvalidInput, match=message):
        build_body(golden_spec(), **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(("count", "message"), [(0, "No events"), (1001, "1000 per request")])
def test_build_body_event_count_limits(count: int, message: str) -> None:
    """Zero events or more than 1,000 in one request raise InvalidInput."""
    with pytest.raises(InvalidInput, match=message):
        build_body([EventSpec(event="Lead")] * count, pixel_code=PIXEL, now=NOW)


def test_build_body_many_events_keeps_per_event_bookkeeping() -> None:
    """Several specs make one body; table rows and notes carry their event index."""
    specs = [golden_spec(), golden_spec(order_id="10493", email="bad", event="AddToCart")]
    result = build_body(specs, pixel_code=PIXEL, now=NOW)
    assert [e["event_id"] for e in result.body["data"]] == ["ord_10492_purchase", "ord_10493_add_to_cart"]
    assert "test_event_code" not in result.body
    assert result.rejected_events == [1]
    assert {r["event"] for r in result.table()} == {0, 1}
    assert any(n.startswith("data[1]: ") for n in result.notes)


def test_as_dict_can_drop_raw_inputs() -> None:
    """as_dict(include_inputs=False) carries no raw email/phone anywhere."""
    result = build_body(golden_spec(email=["alice@example.com", "bad mail"]), pixel_code=PIXEL, now=NOW)
    full = result.as_dict()
    assert set(full) == {"body", "identifiers", "suppressed", "rejected", "notes"}
    assert full["identifiers"][0]["input"] == "alice@example.com"
    safe = json.dumps(result.as_dict(include_inputs=False))
    assert "alice@" not in safe and "bad mail" not in safe and "2133734253" not in safe.replace("+1", "")


@pytest.mark.parametrize(("n", "size", "lengths"), [
    (0, 1000, []), (1, 1000, [1]), (1000, 1000, [1000]), (1001, 1000, [1000, 1]), (2500, 1000, [1000, 1000, 500]),
    (5, 2, [2, 2, 1]),
])
def test_split_batches(n: int, size: int, lengths: list[int]) -> None:
    """Events are cut into consecutive chunks of at most `size`, order kept."""
    events = [{"event": "Lead", "event_id": str(i)} for i in range(n)]
    batches = split_batches(events, size)
    assert [len(b) for b in batches] == lengths
    assert [e for b in batches for e in b] == events


@pytest.mark.parametrize("size", [0, -1, 1001])
def test_split_batches_invalid_size(size: int) -> None:
    """Batch sizes outside 1..1000 raise InvalidInput."""
    with pytest.raises(InvalidInput, match="Batch size"):
        split_batches([{}], size)


@pytest.mark.parametrize(("text", "expected"), [
    (None, []), ("", []), ("a@x.com", ["a@x.com"]), ("a@x.com, b@x.com", ["a@x.com", "b@x.com"]),
    ("a@x.com\n\nb@x.com;c@x.com", ["a@x.com", "b@x.com", "c@x.com"]), (["a", " ", "b "], ["a", "b"]),
])
def test_split_values(text: object, expected: list[str]) -> None:
    """Commas, semicolons and newlines separate values; blanks are dropped."""
    assert split_values(text) == expected  # type: ignore[arg-type]


def test_spec_from_mapping() -> None:
    """A plain mapping becomes an EventSpec (contents as dicts); unknown keys raise with the known ones."""
    spec = spec_from_mapping({"event": "Purchase", "order_id": "1", "contents": [{"content_id": "A", "price": 2}]})
    assert spec.contents == [ContentItem("A", price=2)]
    with pytest.raises(InvalidInput, match="emial"):
        spec_from_mapping({"event": "Purchase", "emial": "a@x.com"})
    assert isinstance(build_body(spec, pixel_code=PIXEL, now=NOW), BuildResult)


@pytest.mark.parametrize(("rows", "expected"), [
    ([], []),
    ([{"content_id": "A", "price": 5, "quantity": 2.0}], [ContentItem("A", price=5.0, quantity=2)]),
    ([{"content_id": " B ", "content_name": float("nan"), "price": None, "quantity": float("nan")}],
     [ContentItem("B")]),
    ([{"content_id": None, "price": 3}, {"content_id": "  "}, {"content_id": "C", "brand": "Acme"}],
     [ContentItem("C", brand="Acme")]),
    ([{"content_id": 1077218, "price": "8.50"}], [ContentItem("1077218", price=8.5)]),
])
def test_contents_from_rows_valid(rows: list[dict[str, object]], expected: list[ContentItem]) -> None:
    """Editor rows become ContentItems: blank cells are None, rows without content_id are skipped."""
    assert contents_from_rows(rows) == expected


@pytest.mark.parametrize("row", [{"content_id": "A", "price": "eight"}, {"content_id": "A", "quantity": 1.5}])
def test_contents_from_rows_invalid(row: dict[str, object]) -> None:
    """A price that is not a number or a fractional quantity raises InvalidInput naming the column."""
    with pytest.raises(InvalidInput, match="contents"):
        contents_from_rows([row])


@pytest.mark.parametrize(("event", "order_id", "expected"), [
    ("Purchase", "10492", "ord_10492_purchase"),
    ("AddToCart", " A-77 ", "ord_A-77_add_to_cart"),
    ("Purchase", "  ", "type an order id or event id"),
    ("Purchase", "alice@example.com", "cannot derive: The event_id 'ord_alice@example.com_purchase' would contain"),
])
def test_event_id_hint(event: str, order_id: str, expected: str) -> None:
    """The event_id placeholder is the derived id, a prompt for an order id, or why it cannot be derived."""
    assert event_id_hint(event, order_id).startswith(expected)


def test_consent_effects_lists_only_consent_removals() -> None:
    """consent_effects keeps the suppressions consent caused, none when both states are GRANTED."""
    assert consent_effects(build_body(golden_spec(), pixel_code=PIXEL)) == []
    result = build_body(golden_spec(ad_user_data="DENIED"), pixel_code=PIXEL)
    effects = consent_effects(result)
    assert effects and all(s.reason.startswith("consent") for s in effects)
    assert {"email", "phone"} <= {s.field.rsplit(".", 1)[-1] for s in effects}


def test_chinese_number_notes_both_readings() -> None:
    """A +86 phone is sent as E.164 and the result names TikTok's other (GTM template) reading."""
    result = build_body(EventSpec(event="Purchase", order_id="1", phone="+86 138 0013 8000"), pixel_code="C1",
                        now=1735689600)
    assert result.body["data"][0]["user"]["phone"] == [sha256_hex("+8613800138000")]
    assert any("+86" in n and "without the country code" in n for n in result.notes)
    other = build_body(EventSpec(event="Purchase", order_id="1", phone="+1 213 373 4253"), pixel_code="C1",
                       now=1735689600)
    assert not any("+86" in n for n in other.notes)
