"""core.consent: the Pixel leg beside the server body for each consent state, and whether they still pair."""

from __future__ import annotations

import json

import pytest

from core.consent import ConsentState, preview_consent
from core.errors import InvalidInput
from core.payload import EventSpec, build_body

PIXEL = "CCONSENT00000000001"
EMAIL = "alice@example.com"


def spec(**changes: object) -> EventSpec:
    base = EventSpec(event="Purchase", order_id="10492", email=EMAIL, phone="+1 213 373 4253", external_id="u-1",
                     ip="203.0.113.7", user_agent="Mozilla/5.0", page_url="https://shop.example/t?ttclid=E.C.P.x1",
                     value=129.99, currency="USD", event_time=1747200000)
    for k, v in changes.items():
        setattr(base, k, v)
    return base


def row(preview: object, what: str) -> dict[str, str]:
    return next(r for r in preview.table() if r["what"] == what)  # type: ignore[attr-defined]


@pytest.mark.parametrize(("state", "pairs", "pixel_sends", "server_personal", "ldu"), [
    (ConsentState("GRANTED", "GRANTED", "granted"), True, True, ["email", "phone", "external_id"], False),
    (ConsentState("DENIED", "GRANTED", "granted"), True, True, [], False),
    (ConsentState("GRANTED", "DENIED", "granted"), True, True, ["email", "phone", "external_id"], True),
    (ConsentState("DENIED", "DENIED", "granted"), True, True, [], True),
    (ConsentState("GRANTED", "GRANTED", "held"), False, False, ["email", "phone", "external_id"], False),
    (ConsentState("DENIED", "DENIED", "revoked"), False, False, [], True),
])
def test_each_state_side_by_side(state: ConsentState, pairs: bool, pixel_sends: bool, server_personal: list[str],
                                 ldu: bool) -> None:
    """Suppressed identifiers, limited_data_use and the pairing verdict for every kind of consent state."""
    p = preview_consent(spec(), state, pixel_code=PIXEL)
    assert p.pairs is pairs and p.pixel.sends is pixel_sends and p.server.sends
    assert [n for n in ("email", "phone", "external_id") if n in p.server.sent] == server_personal
    assert p.server.limited_data_use is ldu and p.body["data"][0]["limited_data_use"] is ldu
    if pixel_sends:
        assert p.pixel.limited_data_use is ldu
        personal_on_pixel = [n for n in ("email", "phone", "external_id") if n in p.pixel.sent]
        assert personal_on_pixel == server_personal  # both legs gated on the same signal
        assert p.pixel.event_id == p.server.event_id == "ord_10492_purchase"
    else:
        assert p.pixel.sent == [] and "Server only" in p.verdict


def test_server_leg_is_core_payloads_body() -> None:
    """The server leg is build_body's output for that state, not a second consent implementation."""
    state = ConsentState("DENIED", "DENIED", "granted")
    p = preview_consent(spec(), state, pixel_code=PIXEL, now=1747200000)
    expected = build_body(spec(ad_user_data="DENIED", ad_personalization="DENIED"), pixel_code=PIXEL,
                          now=1747200000).body
    assert p.body == expected
    assert row(p, "email")["server"].startswith("withheld: ad_user_data is DENIED")
    assert row(p, "email")["pixel"].startswith("withheld: ad_user_data DENIED")
    assert row(p, "ip") == {"what": "ip", "pixel": "sent (the browser's connection)", "server": "sent"}


def test_pixel_calls_follow_the_state() -> None:
    """holdConsent / grantConsent / revokeConsent, LDU as a ttq.load option, identify only with ad_user_data."""
    granted = preview_consent(spec(), ConsentState("GRANTED", "DENIED", "granted"), pixel_code=PIXEL)
    assert granted.pixel.calls[0] == "ttq.grantConsent()"
    assert granted.pixel.calls[1] == f'ttq.load("{PIXEL}", {{limited_data_use: true}})'
    assert any(c.startswith("ttq.identify({email: …, phone_number: …, external_id: …})") for c in granted.pixel.calls)
    assert granted.pixel.calls[-1].endswith('{event_id: "ord_10492_purchase"})')
    denied = preview_consent(spec(), ConsentState("DENIED", "GRANTED", "held"), pixel_code=PIXEL)
    assert denied.pixel.calls[0] == "ttq.holdConsent()" and not any("identify" in c for c in denied.pixel.calls)
    assert "within 48 h" in denied.verdict


def test_no_event_id_does_not_pair() -> None:
    """Without an order id or event id both legs count: the verdict says so."""
    p = preview_consent(spec(order_id=None), ConsentState(), pixel_code=PIXEL)
    assert not p.pairs and "without an event_id" in p.verdict and row(p, "event_id")["server"] == "(none)"


def test_revoked_pixel_with_identifying_server_is_flagged() -> None:
    """Pixel revoked but the server still carries email: the one-path-gated warning appears."""
    p = preview_consent(spec(), ConsentState("GRANTED", "GRANTED", "revoked"), pixel_code=PIXEL)
    assert any("one path is gated" in n for n in p.notes)
    assert row(p, "email")["pixel"] == "not sent (Pixel revoked)"


def test_browser_keys_the_server_lacks_are_named() -> None:
    """A server event without ip / user agent / ttp: the note names what the Pixel has and the server not."""
    p = preview_consent(spec(ip=None, user_agent=None), ConsentState(), pixel_code=PIXEL)
    assert any(n.startswith("The Pixel sends ttp, ip, user_agent by itself") for n in p.notes)


def test_no_raw_pii_in_the_preview() -> None:
    """The preview's dict and table carry field names and hashes only, never the typed email."""
    p = preview_consent(spec(), ConsentState(), pixel_code=PIXEL)
    for part in (p.as_dict(), p.table(), p.body):
        assert EMAIL not in json.dumps(part)


@pytest.mark.parametrize("bad", ["maybe", ""])
def test_bad_state_is_invalid_input(bad: str) -> None:
    """A consent value that is not GRANTED/DENIED is InvalidInput with the fix."""
    with pytest.raises(InvalidInput, match="GRANTED or DENIED"):
        preview_consent(spec(), ConsentState(bad, "GRANTED", "granted"), pixel_code=PIXEL)


# --- the panel on the Build page (AppTest) ----------------------------------------------------------------
def _panel_table(at):  # type: ignore[no-untyped-def]
    """The panel's table (AppTest's dataframe carries no key: found by its columns)."""
    (table,) = [d.value for d in at.dataframe if list(d.value.columns) == ["what", "pixel", "server"]]
    return table


def test_build_page_consent_panel(app_test) -> None:  # type: ignore[no-untyped-def]
    """The Build page's panel follows the form's consent and the Pixel state: table, calls, verdict."""
    at = app_test("pages/1_Build.py")
    at.session_state["tec_pixel_code"] = PIXEL
    at.run()
    at.button(key="build_example").click().run()
    assert not at.exception
    table = _panel_table(at)
    email = table.loc[table["what"] == "email"].iloc[0]
    assert (email["pixel"], email["server"]) == ("sent (ttq.identify({email}) (the Pixel hashes it))", "sent")
    assert any(s.value.startswith("Pair: both legs carry Purchase with event_id ord_10492_purchase")
               for s in at.success)
    assert any("ttq.grantConsent()" in c.value and "ttq.identify" in c.value for c in at.code)

    at.radio(key="build_ad_user_data").set_value("DENIED").run()
    at.radio(key="build_ad_personalization").set_value("DENIED").run()
    at.radio(key="consent_pixel").set_value("held").run()
    assert not at.exception
    table = _panel_table(at)
    email = table.loc[table["what"] == "email"].iloc[0]
    assert email["pixel"] == "not sent (Pixel held)"
    assert email["server"].startswith("withheld: ad_user_data is DENIED")
    ldu = table.loc[table["what"] == "limited_data_use"].iloc[0]
    assert ldu["server"] == "true"
    assert any("Server only for now" in w.value for w in at.warning)
    assert any("ttq.holdConsent()" in c.value and "limited_data_use: true" in c.value for c in at.code)
