"""Build page (AppTest): the form drives a live hashed body, identifier table, consent effects, findings."""

from __future__ import annotations

import json

from core.identity import sha256_hex
from core.lint import lint

PAGE = "pages/1_Build.py"
PIXEL = "C4A1B2C3D4E5F6G7H8I9"


def test_guard_then_golden_path_example(app_test) -> None:  # type: ignore[no-untyped-def]
    """Without a Pixel code the page asks for one; the example button builds the golden-path body."""
    at = app_test(PAGE).run()
    assert not at.exception
    assert any("Pixel code" in w.value for w in at.warning) and not at.json
    assert at.selectbox(key="build_event").value == "Purchase"
    assert at.number_input(key="build_value").value is None

    at.button(key="build_example").click().run()
    assert not at.exception and not at.error
    assert any("example Pixel code" in i.value for i in at.info)  # filled because none was set
    body = json.loads(at.json[0].value)
    event = body["data"][0]
    assert (event["event"], event["event_id"]) == ("Purchase", "ord_10492_purchase")
    assert event["user"]["email"] == [sha256_hex("alice@example.com")]
    assert event["user"]["phone"] == [sha256_hex("+12133734253")]
    assert (event["properties"]["value"], event["properties"]["currency"]) == (129.99, "USD")
    assert event["properties"]["contents"][0]["content_id"] == "MUG-RED-12"
    assert at.session_state["built_body"] == body  # handed to the Send page, hashed values only
    assert "alice@example.com" not in json.dumps(at.session_state["built_body"])
    table = next(d.value for d in at.dataframe if "status" in d.value.columns and "sent" in d.value.columns)
    assert {"user.email", "user.phone", "user.ip", "user.user_agent"} <= set(table["field"])
    assert table.loc[table["field"] == "user.email", "normalized"].iloc[0] == "alice@example.com"
    assert at.download_button(key="build_download") is not None
    assert any("Consent: both GRANTED" in c.value for c in at.caption)
    assert any("event_id ord_10492_purchase derived" in m.value for m in at.markdown)
    assert not [f.code for f in lint(body) if f.severity != "info"]  # the golden path lints quiet
    assert any("Findings" in h.value for h in at.subheader)


def test_form_rejections_consent_and_custom_event(app_test) -> None:  # type: ignore[no-untyped-def]
    """Typed inputs: bad values shown as errors with the fix, consent effects listed, custom event built."""
    at = app_test(PAGE)
    at.session_state["tec_pixel_code"] = PIXEL
    at.session_state["build_contents"] = {"edited_rows": {}, "deleted_rows": [],
                                          "added_rows": [{"content_id": "SKU-9", "price": 5.0, "quantity": 2}]}
    at.run()
    at.selectbox(key="build_event").set_value("Custom…").run()
    at.text_input(key="build_custom_event").input("WishlistShare")
    at.text_input(key="build_order_id").input("A-77")
    at.text_area(key="build_email").input("ann@example.com, not-an-email")
    at.text_input(key="build_phone").input("2133734253")  # national number, no region in the sidebar
    at.text_input(key="build_url").input("https://shop.example/p?ttclid=E.C.P.xyz")
    at.radio(key="build_ad_personalization").set_value("DENIED")
    at.toggle(key="build_forward_consent").set_value(True)
    at.run()
    assert not at.exception
    event = json.loads(at.json[0].value)["data"][0]
    assert (event["event"], event["event_id"]) == ("WishlistShare", "ord_A-77_wishlist_share")
    assert event["user"]["email"] == [sha256_hex("ann@example.com")] and "phone" not in event["user"]
    assert event["user"]["ttclid"] == "E.C.P.xyz" and event["limited_data_use"] is True
    assert event["properties"]["ad_personalization"] == "DENIED"
    assert event["properties"]["contents"] == [{"content_id": "SKU-9", "price": 5.0, "quantity": 2}]
    errors = [e.value for e in at.error]
    assert any("not-an-email" in e for e in errors) and any("2133734253" in e and "region" in e for e in errors)
    assert any("limited_data_use" in i.value for i in at.info)

    at.radio(key="build_ad_user_data").set_value("DENIED").run()
    event = json.loads(at.json[0].value)["data"][0]
    assert "email" not in event["user"] and not at.error  # denied values are not even validated
    consent = next(i.value for i in at.info if "Consent effects" in i.value)
    assert "user.email" in consent and "user.phone" in consent and "ttclid" in consent


def test_unusable_input_shows_error_not_traceback(app_test) -> None:  # type: ignore[no-untyped-def]
    """An unreadable event time or a PII event id is a clear st.error naming the fix, with no body."""
    at = app_test(PAGE)
    at.session_state["tec_pixel_code"] = PIXEL
    at.run()
    assert "built_body" in at.session_state
    at.text_input(key="build_event_time").input("next tuesday").run()
    assert not at.exception and not at.json and "built_body" not in at.session_state
    assert any("ISO 8601" in e.value for e in at.error)
    at.text_input(key="build_event_time").input("2025-01-01T00:00:00Z")
    at.text_input(key="build_event_id").input("bob@example.com").run()
    assert not at.exception and not at.json
    assert any("email address" in e.value for e in at.error)


def test_more_fields_reach_the_body(app_test) -> None:  # type: ignore[no-untyped-def]
    """Names and zip are normalized and hashed, city/country sent lower-case unhashed, search fills both names."""
    at = app_test(PAGE)
    at.session_state["tec_initialised"] = True
    at.session_state["tec_pixel_code"] = PIXEL
    at.run()
    at.selectbox(key="build_event").set_value("Search")
    for key, value in (("build_first_name", " Mary Ann "), ("build_zip_code", "SW1A 1AA"), ("build_city", "New York"),
                       ("build_country", "US"), ("build_search_string", "red mug")):
        at.text_input(key=key).set_value(value)
    at.run()
    assert not at.exception
    event = json.loads(at.json[0].value)["data"][0]
    assert event["user"]["first_name"] == sha256_hex("maryann")
    assert event["user"]["zip_code"] == sha256_hex("sw1a1aa")
    assert (event["user"]["city"], event["user"]["country"]) == ("newyork", "us")
    assert event["properties"]["search_string"] == "red mug"
