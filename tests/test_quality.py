"""core.quality: the weights, key validity, the additive EMQ proxy's properties, and its inputs."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.contract import EMPTY_SHA256
from core.errors import InvalidFile, InvalidInput, InvalidPayload
from core.identity import sha256_hex
from core.quality import (
    KEYS,
    REASON_CODES,
    WEIGHT,
    WEIGHTS,
    classify_key,
    is_valid_key,
    key_reason,
    load_quality_input,
    next_best_key,
    reason_text,
    score_bodies,
    score_frame,
    score_text,
)
from tests.samples import GOOD, UA

# one invalid value per key, and the reason it must get
BAD = {
    "email": ("alice@example.com", "unhashed"),
    "phone": (EMPTY_SHA256, "empty_hash"),
    "external_id": (sha256_hex("user_123").upper(), "uppercase_hash"),
    "ttclid": ("undefined", "placeholder"),
    "ttp": (sha256_hex("2F7h37YkS1j57AYSKTI7IHhJPYH"), "hashed"),
    "ip": ("192.168.1.20", "private"),
    "user_agent": ("python-requests/2.32.3", "server_library"),
}


def frame(rows: list[dict[str, str]], event: str = "Purchase") -> pd.DataFrame:
    """A frame with the identifier columns; absent keys are ""."""
    return pd.DataFrame([{"event": r.get("event", event), **{k: r.get(k, "") for k in KEYS}} for r in rows])


# --- the weights table -----------------------------------------------------------------------------
def test_weights_sum_to_ten_and_rank_identity_first() -> None:
    """Weights add to 10, are positive, documented, and follow TikTok's priority order."""
    assert sum(w.points for w in WEIGHTS) == 10.0
    assert [w.key for w in WEIGHTS] == list(KEYS)
    assert all(w.points > 0 and len(w.why) > 40 and w.tier for w in WEIGHTS)
    assert [w.points for w in WEIGHTS] == sorted((w.points for w in WEIGHTS), reverse=True)
    assert WEIGHT["email"] > WEIGHT["ip"] and WEIGHT["phone"] > WEIGHT["user_agent"]
    assert min(WEIGHT[k] for k in ("email", "phone", "external_id")) >= max(WEIGHT["ttp"], WEIGHT["ip"])


# --- validity: valid values ------------------------------------------------------------------------
@pytest.mark.parametrize(("key", "value"), [
    *GOOD.items(),
    ("ttp", "2F7h37YkS1j57AYSKTI7IHhJPYH"),                   # legacy 27-char cookie
    ("ttp", "01K0T8BYGJH63785W68YS5NN1R"),                    # ULID without suffix
    ("ttclid", "CjwKCAjw-abc_DEF.123"),                       # no E.C.P. prefix: still plausible
    ("ip", "8.8.8.8"),
    ("ip", "::ffff:8.8.4.4"),                                  # IPv4-mapped public
    ("ip", "2606:4700::1111"),
    ("user_agent", "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/124.0 Mobile"),
    ("first_name", sha256_hex("alice")),
    ("zip_code", sha256_hex("94107")),
])
def test_valid_values_count(key: str, value: str) -> None:
    """A well-formed value of each key is valid, with the empty reason."""
    assert key_reason(key, value) == ""
    assert is_valid_key(key, value)


# --- validity: invalid values with their reason ----------------------------------------------------
@pytest.mark.parametrize(("key", "value", "reason"), [
    *((k, v, r) for k, (v, r) in BAD.items()),
    ("email", "", "missing"),
    ("email", None, "missing"),
    ("email", sha256_hex("undefined"), "hashed_placeholder"),
    ("email", sha256_hex("null"), "hashed_placeholder"),
    ("email", "d41d8cd98f00b204e9800998ecf8427e", "wrong_hash"),          # MD5
    ("email", " " + sha256_hex("a@b.co") + " ", "whitespace"),
    ("email", "null", "placeholder"),
    ("phone", "+1 213 373 4253", "unhashed"),
    ("external_id", "123456", "unhashed"),
    ("ttclid", "{{ttclid}}", "placeholder"),
    ("ttclid", "abc", "too_short"),
    ("ttclid", "E.C.P." + "x" * 250, "too_long"),
    ("ttclid", "E.C.P. abc def ghi", "whitespace"),
    ("ttclid", "https://shop.example/?ttclid=E.C.P.abcdef", "bad_shape"),
    ("ttclid", "E.C.P.ábcdéfghijk", "bad_characters"),
    ("ttclid", sha256_hex("E.C.P.abc"), "hashed"),
    ("ttp", "_ttp=2F7h37YkS1j57AYSKTI7IHhJPYH", "bad_shape"),
    ("ttp", "abc123", "bad_shape"),
    ("ip", "127.0.0.1", "loopback"),
    ("ip", "::1", "loopback"),
    ("ip", "10.1.2.3", "private"),
    ("ip", "172.20.0.5", "private"),
    ("ip", "fd12:3456::1", "private"),
    ("ip", "::ffff:10.0.0.1", "private"),
    ("ip", "100.64.1.1", "not_public"),                     # carrier-grade NAT
    ("ip", "203.0.113.9", "not_public"),                    # documentation range
    ("ip", "224.0.0.1", "not_public"),                      # multicast
    ("ip", "fe80::1", "not_public"),                        # link-local
    ("ip", "256.1.1.1", "unparseable"),
    ("ip", "010.1.1.1", "unparseable"),                     # leading zero: ambiguous octal
    ("ip", "not-an-ip", "unparseable"),
    ("ip", "8.8.8.8:443", "has_port"),
    ("ip", "[2606:4700::1111]:443", "has_port"),
    ("ip", "8.8.8.8, 10.0.0.1", "ip_list"),
    ("ip", sha256_hex("8.8.8.8"), "hashed"),
    ("user_agent", "curl/8.5.0", "server_library"),
    ("user_agent", "okhttp/4.12.0", "server_library"),
    ("user_agent", "axios/1.6.8", "server_library"),
    ("user_agent", "Go-http-client/2.0", "server_library"),
    ("user_agent", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "bot"),
    ("user_agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 HeadlessChrome/124.0 Safari", "bot"),
    ("user_agent", "MyShopApp/3.2 (iPhone; iOS 17.4)", "not_browser"),
    ("user_agent", "Mozilla/5.0", "too_short"),
    ("user_agent", "undefined", "placeholder"),
])
def test_invalid_values_get_their_reason(key: str, value: str | None, reason: str) -> None:
    """Each defect is reported with its stable reason code and a readable message."""
    assert key_reason(key, value) == reason
    assert not is_valid_key(key, value)
    text = reason_text(key, reason)
    assert text != reason and len(text) > 20


def test_every_reason_code_has_text() -> None:
    """Every non-empty reason code has a message and a fix in the catalogue."""
    for code in REASON_CODES[1:]:
        assert reason_text("email", code).startswith("hashed email ")
    with pytest.raises(InvalidInput):
        classify_key("favourite_colour", ["x"])


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=2**32 - 1), min_size=40, max_size=40))
def test_ipv4_fast_path_agrees_with_ipaddress(numbers: list[int]) -> None:
    """The numpy IPv4 path calls an address public exactly when Python's ipaddress says global unicast."""
    addrs = [ipaddress.IPv4Address(n) for n in numbers]
    public = [a.is_global and not a.is_multicast for a in addrs]
    assert [c == 0 for c in classify_key("ip", [str(a) for a in addrs])] == public
    # the same addresses written as IPv4-mapped IPv6 take the scalar path and must agree
    assert [c == 0 for c in classify_key("ip", [f"::ffff:{a}" for a in addrs])] == public


def test_classification_is_per_row_with_repeats() -> None:
    """Repeated and mixed values keep row order (values are judged once per distinct value)."""
    values = ["8.8.8.8", "10.0.0.1", "", "8.8.8.8", None, "10.0.0.1"]
    codes = [REASON_CODES[c] for c in classify_key("ip", values)]
    assert codes == ["", "private", "missing", "", "missing", "private"]


# --- the score's properties ------------------------------------------------------------------------
key_state = st.sampled_from(["good", "bad", "missing"])


def _row(states: dict[str, str]) -> dict[str, str]:
    return {k: GOOD[k] if s == "good" else BAD[k][0] if s == "bad" else "" for k, s in states.items()}


@settings(max_examples=30, deadline=None)
@given(st.fixed_dictionaries({k: key_state for k in KEYS}))
def test_score_properties_hold_on_any_event(states: dict[str, str]) -> None:
    """Bounds, points add up, invalid = absent, and adding any valid key never lowers the score."""
    base = _row(states)
    variants = [base, {k: ("" if states[k] == "bad" else v) for k, v in base.items()}]  # invalid -> absent
    variants += [{**base, k: GOOD[k]} for k in KEYS if states[k] != "good"]             # one key fixed
    pe = score_frame(frame(variants)).per_event
    score = pe["score"].tolist()
    assert all(0.0 <= s <= 10.0 for s in score)
    points = pe[[f"{k}_points" for k in KEYS]].sum(axis=1)
    assert (points == pe["score"]).all()
    assert score[1] == score[0]
    assert all(s >= score[0] for s in score[2:])
    expected = sum(WEIGHT[k] for k in KEYS if states[k] == "good")
    assert score[0] == expected
    for k in KEYS:
        assert bool(pe.loc[0, f"{k}_present"]) == (states[k] != "missing")
        assert bool(pe.loc[0, f"{k}_valid"]) == (states[k] == "good")
        if states[k] == "bad":
            assert pe.loc[0, f"{k}_points"] == 0.0 and pe.loc[0, f"{k}_reason"] == BAD[k][1]


@pytest.mark.parametrize(("states", "score"), [
    ({k: "good" for k in KEYS}, 10.0),
    ({k: "missing" for k in KEYS}, 0.0),
    ({k: "bad" for k in KEYS}, 0.0),
])
def test_all_valid_is_ten_and_none_is_zero(states: dict[str, str], score: float) -> None:
    """Seven valid keys score 10; no key, or only invalid keys, score 0."""
    pe = score_frame(frame([_row(states)])).per_event
    assert pe.loc[0, "score"] == score


@pytest.mark.parametrize(("heavy", "light"), [("email", "ip"), ("phone", "user_agent")])
def test_identity_outweighs_network_keys(heavy: str, light: str) -> None:
    """An event with only a valid email (phone) outscores one with only a valid ip (user agent)."""
    pe = score_frame(frame([{heavy: GOOD[heavy]}, {light: GOOD[light]}])).per_event
    assert pe.loc[0, "score"] > pe.loc[1, "score"] > 0


@pytest.mark.parametrize(("row", "expected"), [
    ({}, "email"),
    ({"email": GOOD["email"]}, "phone"),
    ({"email": GOOD["email"], "phone": BAD["phone"][0]}, "phone"),
    ({k: GOOD[k] for k in KEYS if k != "user_agent"}, "user_agent"),
    (dict(GOOD), None),
])
def test_next_best_key_is_the_heaviest_not_valid(row: dict[str, str], expected: str | None) -> None:
    """The next key is the heaviest one that is missing or invalid; none when the event scores 10."""
    assert next_best_key(row) == expected
    pe = score_frame(frame([row])).per_event
    assert next_best_key(pe.iloc[0].to_dict()) == expected
    assert (pe.loc[0, "next_key"] or None) == expected
    assert pe.loc[0, "next_gain"] == (WEIGHT[expected] if expected else 0.0)


# --- inputs ----------------------------------------------------------------------------------------
def test_bodies_and_text_are_scored_via_events() -> None:
    """A v1.3 body (arrays for email) and pasted JSONL score the same events."""
    body = {"event_source": "web", "event_source_id": "C1", "data": [
        {"event": "Purchase", "event_time": 1700000000, "event_id": "o1",
         "user": {"email": [GOOD["email"]], "ip": "8.8.8.8", "user_agent": UA}},
        {"event": "ViewContent", "event_time": 1700000000, "user": {"email": "bob@example.com"}},
    ]}
    result = score_bodies([body])
    assert result.per_event["score"].tolist() == [WEIGHT["email"] + WEIGHT["ip"] + WEIGHT["user_agent"], 0.0]
    assert result.per_event.loc[1, "email_reason"] == "unhashed"
    again = score_text("\n".join(json.dumps(body) for _ in range(2)))
    assert len(again.per_event) == 4


@pytest.mark.parametrize(("text", "error"), [
    ("", InvalidFile),
    ("{not json", InvalidFile),
    ('{"event_source": "web", "data": []}', InvalidPayload),
])
def test_bad_text_raises_a_console_error(text: str, error: type[Exception]) -> None:
    """Empty, broken or event-less text raises the console error that names the problem."""
    with pytest.raises(error):
        score_text(text)


def test_load_quality_input_reads_csv_and_jsonl(tmp_path: Path) -> None:
    """Server-event CSV and JSONL files load into scorable rows; a CSV lacking columns is refused."""
    csv = tmp_path / "events.csv"
    csv.write_text("event_source_id,event,event_id,event_time,email,ip\n"
                   f"C1,Purchase,o1,1700000000,{GOOD['email']},8.8.8.8\nC1,Purchase,o2,1700000001,,\n")
    result = score_frame(load_quality_input(csv))
    assert result.per_event["score"].tolist() == [WEIGHT["email"] + WEIGHT["ip"], 0.0]
    jsonl = tmp_path / "events.jsonl"
    jsonl.write_text(json.dumps({"event": "Lead", "user": {"phone": GOOD["phone"]}}) + "\n")
    assert score_frame(load_quality_input(jsonl)).per_event.loc[0, "score"] == WEIGHT["phone"]
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(InvalidFile):
        load_quality_input(bad)
