"""core.quality: key validity, the additive EMQ proxy's properties, review tables, what-if, outputs."""

from __future__ import annotations

import io
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
    ALL_EVENTS,
    DEFAULT_TARGETS,
    KEYS,
    LABEL,
    MINOR_KEYS,
    REASON_CODES,
    WEIGHT,
    WEIGHTS,
    classify_key,
    compare_verdicts,
    is_valid_key,
    key_reason,
    load_quality_input,
    next_best_key,
    pixel_labels_frame,
    reason_text,
    result_csv,
    score_bodies,
    score_frame,
    score_text,
    to_cli_json,
    what_if,
)

UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
      "Version/17.4 Mobile/15E148 Safari/604.1")
GOOD = {
    "email": sha256_hex("alice_abc@gmail.com"),
    "phone": sha256_hex("+12133734253"),
    "external_id": sha256_hex("user_123"),
    "ttclid": "E.C.P.CqgBc2VydmVyLXNpZGUtY2xpY2staWQ",
    "ttp": "01K0T8BYGJH63785W68YS5NN1R_.tt.1",
    "ip": "2a02:c7c:1234:5600::1",
    "user_agent": UA,
}
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


def test_minor_keys_are_shown_but_score_nothing() -> None:
    """first_name/last_name/zip_code are judged and reported, and never change the 0-10 score."""
    df = frame([{}, {}])
    df["first_name"] = [sha256_hex("alice"), "Alice"]
    df["zip_code"] = [sha256_hex("94107"), ""]
    result = score_frame(df)
    pe = result.per_event
    assert pe["score"].tolist() == [0.0, 0.0]
    assert pe["first_name_valid"].tolist() == [True, False]
    assert pe["first_name_reason"].tolist() == ["", "unhashed"]
    assert "first_name_points" not in pe.columns
    assert result.summary["minor_coverage"] == {"first_name": 0.5, "last_name": 0.0, "zip_code": 0.5}
    assert set(MINOR_KEYS).isdisjoint(result.summary["coverage"])


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


# --- review tables ---------------------------------------------------------------------------------
def _mixed_batch() -> pd.DataFrame:
    rows = []
    for i in range(40):  # deterministic mix: key k valid on a known subset
        row = {"event": "Purchase" if i % 4 == 0 else "ViewContent"}
        if i % 2 == 0:
            row["email"] = GOOD["email"]
        elif i % 5 == 0:
            row["email"] = BAD["email"][0]
        if i % 3 == 0:
            row["phone"] = GOOD["phone"]
        if i % 7 == 0:
            row["ip"] = BAD["ip"][0]
        elif i % 2 == 1:
            row["ip"] = GOOD["ip"]
        row["user_agent"] = UA if i % 10 else BAD["user_agent"][0]
        rows.append(row)
    return frame(rows)


def test_coverage_is_exact_per_key_and_event_type() -> None:
    """Coverage = share of events with the key valid, overall and per event type, recomputed here."""
    df = _mixed_batch()
    result = score_frame(df)
    cov = result.coverage.set_index("event")
    for key in KEYS:
        valid = df[key] == GOOD[key]  # the batch holds only GOOD, BAD or ""
        assert result.summary["coverage"][key] == valid.sum() / len(df)
        assert cov.loc[ALL_EVENTS, key] == valid.mean()
        for event, group in valid.groupby(df["event"]):
            assert cov.loc[event, key] == group.mean()
    by = result.by_event_type.set_index("event")
    assert by.loc[ALL_EVENTS, "events"] == len(df)
    assert by.loc["Purchase", "events"] == (df["event"] == "Purchase").sum()
    scores = result.per_event.groupby(result.per_event["event"].astype(str), observed=True)["score"].mean()
    assert by.loc["Purchase", "mean_score"] == pytest.approx(scores["Purchase"])
    # additive model: a group's mean is the coverage-weighted sum of the weights
    assert by.loc[ALL_EVENTS, "mean_score"] == pytest.approx(sum(cov.loc[ALL_EVENTS, k] * WEIGHT[k]
                                                                 for k in KEYS))


def test_invalid_reasons_and_distribution_count_events() -> None:
    """Invalid-key counts by reason match the rows; the histogram holds every event once."""
    df = _mixed_batch()
    result = score_frame(df)
    inv = result.invalid_reasons.set_index(["key", "reason"])
    assert inv.loc[("email", "unhashed"), "events"] == (df["email"] == BAD["email"][0]).sum()
    assert inv.loc[("ip", "private"), "events"] == (df["ip"] == BAD["ip"][0]).sum()
    assert inv.loc[("user_agent", "server_library"), "events"] == (df["user_agent"] == BAD["user_agent"][0]).sum()
    assert result.summary["invalid"]["ip"] == {"private": int((df["ip"] == BAD["ip"][0]).sum())}
    assert sum(b["events"] for b in result.summary["distribution"]) == len(df)
    for entry in result.summary["by_event_type"]:  # each type's bands hold exactly its events
        mine = result.per_event["score"] if entry["event"] == ALL_EVENTS else \
            result.per_event.loc[result.per_event["event"] == entry["event"], "score"]
        assert [b["events"] for b in entry["distribution"]] == [
            int(((mine >= lo) & ((mine < lo + 1) | ((lo == 9) & (mine == 10)))).sum()) for lo in range(10)]
    assert result.summary["label"] == LABEL


def test_recommendations_gain_is_what_rescoring_shows() -> None:
    """Applying the top recommendation to the data raises the mean by exactly its stated gain."""
    df = _mixed_batch()
    result = score_frame(df)
    recs = result.recommendations
    assert recs and all(LABEL in r.message for r in recs)
    assert [r.impact for r in recs] == sorted((r.impact for r in recs), reverse=True)
    rec = next(r for r in recs if r.event == "ViewContent" and r.key == "phone")
    rows = df[df["event"] == "ViewContent"].copy()
    need = round(rec.target * len(rows)) - int((rows["phone"] == GOOD["phone"]).sum())
    idx = rows.index[rows["phone"] == ""][:need]
    rows.loc[idx, "phone"] = GOOD["phone"]
    after = score_frame(rows).summary["mean_score"]
    assert after == pytest.approx(rec.projected_mean)
    fix = next(r for r in recs if r.event == ALL_EVENTS and r.key == "user_agent")
    assert fix.top_reason == "server_library" and fix.target >= fix.present


def test_what_if_matches_rescoring() -> None:
    """The what-if projection equals the mean of the data changed to reach the targets (additive model)."""
    df = _mixed_batch()
    result = score_frame(df)
    projected = what_if(result, {"phone": 0.7, "ttp": 0.5}).set_index("event")
    changed = df.copy()
    for _event, group in df.groupby("event"):
        for key, share in (("phone", 0.7), ("ttp", 0.5)):
            valid = group[key] == GOOD[key]
            need = round(share * len(group)) - int(valid.sum())
            changed.loc[group.index[~valid.to_numpy()][:max(need, 0)], key] = GOOD[key]
    rescored = score_frame(changed).by_event_type.set_index("event")
    for event in ("Purchase", "ViewContent", ALL_EVENTS):
        assert projected.loc[event, "projected_mean"] == pytest.approx(rescored.loc[event, "mean_score"])
    one = what_if(result, {"phone": 0.75}, "Purchase")
    assert one["event"].tolist() == ["Purchase"] and one.loc[0, "change"] > 0


def test_what_if_raise_only_never_lowers() -> None:
    """Targets below current coverage leave the mean alone unless raise_only is off."""
    result = score_frame(_mixed_batch())
    low = {k: 0.0 for k in KEYS}
    assert (what_if(result, low)["change"] == 0).all()
    assert (what_if(result, low, raise_only=False)["projected_mean"] == 0).all()


@pytest.mark.parametrize(("targets", "event_type"), [
    ({"phone": 1.5}, None),
    ({"phone": -0.1}, None),
    ({"favourite_colour": 0.5}, None),
    ({"phone": 0.5}, "NoSuchEvent"),
])
def test_what_if_rejects_bad_targets(targets: dict[str, float], event_type: str | None) -> None:
    """Unknown keys, shares outside 0..1 and unknown event types raise InvalidInput."""
    with pytest.raises(InvalidInput):
        what_if(score_frame(_mixed_batch()), targets, event_type)


# --- inputs and outputs ----------------------------------------------------------------------------
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


def test_cli_json_has_every_key_on_every_event() -> None:
    """to_cli_json lists all seven keys per event with present/valid/points/reason, plus the summary."""
    result = score_frame(_mixed_batch())
    doc = to_cli_json(result)
    assert len(doc["events"]) == 40
    for ev, (_, row) in zip(doc["events"], result.per_event.iterrows(), strict=True):
        assert set(ev["keys"]) == set(KEYS)
        assert sum(k["points"] for k in ev["keys"].values()) == ev["score"] == row["score"]
        for verdict in ev["keys"].values():
            assert set(verdict) == {"present", "valid", "points", "reason"}
            assert (verdict["reason"] is None) == verdict["valid"]
    assert doc["summary"]["mean_score"] == pytest.approx(result.per_event["score"].mean())
    assert set(doc["summary"]["coverage"]) == set(KEYS)
    json.dumps(doc)  # serializable as is


def test_result_csv_round_trips() -> None:
    """The CSV export holds one row per event with its score and reason codes."""
    result = score_frame(_mixed_batch())
    back = pd.read_csv(io.BytesIO(result_csv(result)), keep_default_na=False)
    assert len(back) == 40
    assert back["score"].tolist() == result.per_event["score"].tolist()
    assert back["email_reason"].tolist() == result.per_event["email_reason"].astype(str).tolist()


def test_empty_frame_scores_without_error() -> None:
    """No rows: zero events, zero mean, no recommendations, and the JSON still has every key."""
    result = score_frame(frame([]))
    assert result.summary["events"] == 0 and result.summary["mean_score"] == 0.0
    assert result.recommendations == []
    assert to_cli_json(result)["events"] == []


# --- the Pixel's own verdicts ----------------------------------------------------------------------
def _pixel_rows() -> pd.DataFrame:
    labels_ok = json.dumps({"raw_email": {"label": "valid"}, "hashed_phone": {"label": "missing"}})
    labels_bad = json.dumps({"raw_email": {"label": "invalid", "abnormal_types": ["invalid_format"]},
                             "raw_phone": {"label": "invalid", "abnormal_types": ["invalid_country"]}})
    return pd.DataFrame({
        "event": ["Purchase"] * 4, "source": "pixel",
        "email": [GOOD["email"], GOOD["email"], "", ""],
        "phone": ["", "", "", ""], "user_agent": [UA] * 4,
        "signal_diagnostic_labels": [labels_ok, labels_ok, labels_bad, ""],
    })


def test_pixel_labels_are_counted_per_signal() -> None:
    """Each signal's labels are counted over the rows that carry labels; abnormal types are kept."""
    labels = pixel_labels_frame(_pixel_rows()).set_index(["signal", "label"])
    assert labels.loc[("raw_email", "valid"), "events"] == 2
    assert labels.loc[("raw_email", "invalid"), "events"] == 1
    assert labels.loc[("raw_email", "valid"), "share"] == pytest.approx(2 / 3)
    assert labels.loc[("raw_phone", "invalid"), "abnormal_types"] == "invalid_country"
    assert labels.loc[("hashed_phone", "missing"), "key"] == "phone"
    assert pixel_labels_frame(pd.DataFrame({"event": ["x"]})).empty


def test_compare_verdicts_puts_ours_next_to_tiktoks() -> None:
    """Per key: our valid share and TikTok's valid/invalid/missing shares over labelled rows."""
    cmp = compare_verdicts(_pixel_rows()).set_index("key")
    assert cmp.loc["email", "ours_valid"] == pytest.approx(2 / 3)
    assert cmp.loc["email", "tiktok_valid"] == pytest.approx(2 / 3)
    assert cmp.loc["email", "tiktok_invalid"] == pytest.approx(1 / 3)
    assert cmp.loc["phone", "tiktok_missing"] == pytest.approx(2 / 3)


def test_default_targets_cover_every_key() -> None:
    """Every scored key has a documented default target share in 0..1."""
    assert set(DEFAULT_TARGETS) == set(KEYS)
    assert all(0 < t <= 1 for t in DEFAULT_TARGETS.values())


# --- figures (core.charts, match quality section) --------------------------------------------------
def test_figures_carry_the_review_numbers() -> None:
    """Heat map cells are the coverage shares, the histogram bars count every event, what-if bars project."""
    from core.charts import quality_coverage_heatmap, quality_score_histogram, quality_what_if_bars

    result = score_frame(_mixed_batch())
    heat = quality_coverage_heatmap(result.coverage).data[0]
    assert [list(row) for row in heat.z][::-1] == result.coverage[list(KEYS)].to_numpy().tolist()
    assert heat.x[0] == f"email ({WEIGHT['email']:g} pts)" and heat.y[-1].startswith(ALL_EVENTS)
    hist = quality_score_histogram(result.summary)
    assert sum(hist.data[0].y) == 40 and LABEL in hist.layout.title.text
    projection = what_if(result, {"phone": 1.0})
    bars = quality_what_if_bars(projection)
    assert list(bars.data[1].y) == projection["projected_mean"].tolist()
