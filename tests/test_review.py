"""core.review: tables by event type, recommendations, what-if, outputs and the Pixel's own verdicts."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from core.errors import InvalidInput
from core.identity import sha256_hex
from core.quality import KEYS, LABEL, MINOR_KEYS, WEIGHT, score_frame
from core.review import (
    ALL_EVENTS,
    DEFAULT_TARGETS,
    Review,
    build_review,
    compare_verdicts,
    pixel_labels_frame,
    result_csv,
    to_cli_json,
    what_if,
)
from tests.samples import GOOD, UA

# one invalid value per key the batches below use
BAD = {"email": ("alice@example.com", "unhashed"), "ip": ("192.168.1.20", "private"),
       "user_agent": ("python-requests/2.32.3", "server_library")}


def frame(rows: list[dict[str, str]], event: str = "Purchase") -> pd.DataFrame:
    """A frame with the identifier columns; absent keys are ""."""
    return pd.DataFrame([{"event": r.get("event", event), **{k: r.get(k, "") for k in KEYS}} for r in rows])


def review(df: pd.DataFrame) -> Review:
    """Score `df` and review the scores, as the page and the CLI do."""
    return build_review(score_frame(df))


# --- minor keys ------------------------------------------------------------------------------------
def test_minor_keys_are_shown_but_score_nothing() -> None:
    """first_name/last_name/zip_code are judged and reported, and never change the 0-10 score."""
    df = frame([{}, {}])
    df["first_name"] = [sha256_hex("alice"), "Alice"]
    df["zip_code"] = [sha256_hex("94107"), ""]
    result = review(df)
    pe = result.per_event
    assert pe["score"].tolist() == [0.0, 0.0]
    assert pe["first_name_valid"].tolist() == [True, False]
    assert pe["first_name_reason"].tolist() == ["", "unhashed"]
    assert "first_name_points" not in pe.columns
    assert result.summary["minor_coverage"] == {"first_name": 0.5, "last_name": 0.0, "zip_code": 0.5}
    assert set(MINOR_KEYS).isdisjoint(result.summary["coverage"])


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
    result = review(df)
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
    result = review(df)
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
    result = review(df)
    recs = result.recommendations
    assert recs and all(LABEL in r.message for r in recs)
    assert [r.impact for r in recs] == sorted((r.impact for r in recs), reverse=True)
    rec = next(r for r in recs if r.event == "ViewContent" and r.key == "phone")
    rows = df[df["event"] == "ViewContent"].copy()
    need = round(rec.target * len(rows)) - int((rows["phone"] == GOOD["phone"]).sum())
    idx = rows.index[rows["phone"] == ""][:need]
    rows.loc[idx, "phone"] = GOOD["phone"]
    after = review(rows).summary["mean_score"]
    assert after == pytest.approx(rec.projected_mean)
    fix = next(r for r in recs if r.event == ALL_EVENTS and r.key == "user_agent")
    assert fix.top_reason == "server_library" and fix.target >= fix.present


def test_what_if_matches_rescoring() -> None:
    """The what-if projection equals the mean of the data changed to reach the targets (additive model)."""
    df = _mixed_batch()
    result = review(df)
    projected = what_if(result, {"phone": 0.7, "ttp": 0.5}).set_index("event")
    changed = df.copy()
    for _event, group in df.groupby("event"):
        for key, share in (("phone", 0.7), ("ttp", 0.5)):
            valid = group[key] == GOOD[key]
            need = round(share * len(group)) - int(valid.sum())
            changed.loc[group.index[~valid.to_numpy()][:max(need, 0)], key] = GOOD[key]
    rescored = review(changed).by_event_type.set_index("event")
    for event in ("Purchase", "ViewContent", ALL_EVENTS):
        assert projected.loc[event, "projected_mean"] == pytest.approx(rescored.loc[event, "mean_score"])
    one = what_if(result, {"phone": 0.75}, "Purchase")
    assert one["event"].tolist() == ["Purchase"] and one.loc[0, "change"] > 0


def test_what_if_raise_only_never_lowers() -> None:
    """Targets below current coverage leave the mean alone unless raise_only is off."""
    result = review(_mixed_batch())
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
        what_if(review(_mixed_batch()), targets, event_type)


# --- outputs ---------------------------------------------------------------------------------------
def test_cli_json_has_every_key_on_every_event() -> None:
    """to_cli_json lists all seven keys per event with present/valid/points/reason, plus the summary."""
    result = review(_mixed_batch())
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
    result = review(_mixed_batch())
    back = pd.read_csv(io.BytesIO(result_csv(result)), keep_default_na=False)
    assert len(back) == 40
    assert back["score"].tolist() == result.per_event["score"].tolist()
    assert back["email_reason"].tolist() == result.per_event["email_reason"].astype(str).tolist()


def test_empty_frame_scores_without_error() -> None:
    """No rows: zero events, zero mean, no recommendations, and the JSON still has every key."""
    result = review(frame([]))
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
    result = review(_mixed_batch())
    heat = quality_coverage_heatmap(result.coverage).data[0]
    assert [list(row) for row in heat.z][::-1] == result.coverage[list(KEYS)].to_numpy().tolist()
    assert heat.x[0] == f"email<br>{WEIGHT['email']:g} pts" and heat.y[-1].startswith(ALL_EVENTS)
    hist = quality_score_histogram(result.summary)
    assert sum(hist.data[0].y) == 40 and LABEL in hist.layout.title.text
    projection = what_if(result, {"phone": 1.0})
    bars = quality_what_if_bars(projection)
    assert list(bars.data[1].y) == projection["projected_mean"].tolist()
