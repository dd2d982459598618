"""core.consent over every consent state and every mix of identifiers: the server body never carries what the
state suppresses, and the pairing verdict follows the Pixel's state and the event_id alone."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.consent import PIXEL_STATES, ConsentState, preview_consent
from core.errors import InvalidInput
from core.payload import EventSpec

PIXEL = "CPROPERTY0000000001"
RAW = {"email": "Prop.Erty@Example.com", "phone": "+1 213 373 4253", "external_id": "user-77"}
OTHER = {"ttclid": "E.C.P.prop1", "ttp": "ttp-prop-1", "ip": "203.0.113.9", "user_agent": "Mozilla/5.0 (prop)"}
PERSONAL = ("email", "phone", "external_id")

states = st.builds(ConsentState, st.sampled_from(["GRANTED", "DENIED", "granted", " denied "]),
                   st.sampled_from(["GRANTED", "DENIED"]), st.sampled_from(PIXEL_STATES))
present = st.sets(st.sampled_from([*RAW, *OTHER]))
event_ids = st.one_of(st.none(), st.text(alphabet="abcdef0123456789_-", min_size=1, max_size=24))


def _spec(keys: set[str], event_id: str | None, order_id: str | None) -> EventSpec:
    values = {k: v for k, v in {**RAW, **OTHER}.items() if k in keys}
    return EventSpec(event="Purchase", event_id=event_id, order_id=order_id, value=10.0, currency="USD",
                     event_time=1747200000, **values)  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(states, present, event_ids, st.one_of(st.none(), st.just("ord-1")))
def test_server_body_never_carries_a_suppressed_identifier(state: ConsentState, keys: set[str],
                                                           event_id: str | None, order_id: str | None) -> None:
    """ad_user_data DENIED: no email, phone or external_id (raw or hashed) in the server body; never raw PII."""
    preview = preview_consent(_spec(keys, event_id, order_id), state, pixel_code=PIXEL)
    body = preview.body
    user = body["data"][0].get("user") or {}
    text = json.dumps(body)
    for raw in RAW.values():
        assert raw not in text and raw.lower() not in text  # hashed only, whatever the state
    denied = state.ad_user_data.strip().upper() == "DENIED"
    for name in PERSONAL:
        if denied:
            assert name not in user and name not in preview.server.sent
            if name in keys:
                assert name in preview.server.withheld
                assert name in preview.pixel.withheld or not preview.pixel.sends
        elif name in keys:
            assert name in user and name in preview.server.sent
    assert preview.server.limited_data_use == (state.ad_personalization == "DENIED")
    assert bool(body["data"][0].get("limited_data_use")) == preview.server.limited_data_use
    assert set(preview.server.sent) <= set(user)  # what the preview says travels is in the body


@settings(max_examples=300, deadline=None)
@given(states, present, event_ids, st.one_of(st.none(), st.just("ord-1")))
def test_pairing_verdict_depends_on_pixel_state_and_event_id_only(state: ConsentState, keys: set[str],
                                                                  event_id: str | None, order_id: str | None) -> None:
    """Pairs exactly when the Pixel fires and both legs carry the same event and event_id; consent never breaks it."""
    preview = preview_consent(_spec(keys, event_id, order_id), state, pixel_code=PIXEL)
    has_id = bool(preview.server.event_id)
    assert preview.pairs == (state.pixel == "granted" and has_id)
    assert preview.pixel.sends == (state.pixel == "granted")
    if preview.pixel.sends:
        assert (preview.pixel.event, preview.pixel.event_id) == (preview.server.event, preview.server.event_id)
        assert preview.pixel.limited_data_use == preview.server.limited_data_use
        sent_personal = {n for n in PERSONAL if n in preview.pixel.sent}
        assert sent_personal == ({n for n in PERSONAL if n in keys} if state.ad_user_data.strip().upper() ==
                                 "GRANTED" else set())
    else:
        assert preview.pixel.sent == [] and preview.pixel.withheld == {}
    table = {r["what"]: r for r in preview.table()}
    assert table["event_id"]["server"] == (preview.server.event_id or "(none)")
    assert json.dumps(preview.as_dict())  # serialisable, whatever the state
    for raw in RAW.values():
        assert raw not in json.dumps(preview.as_dict()) and raw not in json.dumps(preview.table())


@pytest.mark.parametrize("state", [ConsentState("MAYBE", "GRANTED", "granted"), ConsentState("GRANTED", "", "granted"),
                                   ConsentState("GRANTED", "GRANTED", "paused")])  # type: ignore[arg-type]
def test_a_state_that_is_not_one_is_named(state: ConsentState) -> None:
    """A consent value outside GRANTED/DENIED or granted/held/revoked is InvalidInput naming it, not a KeyError."""
    with pytest.raises(InvalidInput) as err:
        preview_consent(_spec({"email"}, "e1", None), state, pixel_code=PIXEL)
    assert err.value.hint
