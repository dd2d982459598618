"""core.dedup: TikTok's dedup rules on both sides, near misses, the order gap, and the gap figures."""

from __future__ import annotations

import json
from itertools import pairwise

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import charts
from core.contract import DEDUP_WINDOW_SECONDS as W
from core.contract import MERGE_WINDOW_SECONDS as M
from core.dedup import (
    SUMMARY_FIELDS,
    VERDICTS,
    _join_key,
    _key_codes,
    _reasons,
    key_rows,
    normalize_event_id,
    rows_for_key,
    simulate,
)
from core.errors import InvalidInput

T = 1_780_000_000.0
H = 3600.0
PX = "CPIXEL0000000000001"


def frames(pixel: list[tuple], server: list[tuple]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(event_id, seconds after T[, event[, pixel_code[, ttp]]]) tuples -> Pixel and server frames."""
    def rows(items: list[tuple], time_col: str) -> pd.DataFrame:
        out = []
        for item in items:
            eid, dt, *rest = item
            event = rest[0] if rest else "Purchase"
            code = rest[1] if len(rest) > 1 else PX
            ttp = rest[2] if len(rest) > 2 else ""
            out.append({"pixel_code": code, "event": event, "event_id": eid, time_col: T + dt, "ttp": ttp,
                        "order_id": ""})
        return pd.DataFrame(out, columns=["pixel_code", "event", "event_id", time_col, "ttp", "order_id"])
    return rows(pixel, "timestamp"), rows(server, "event_time")


def reconciles(summary: dict) -> bool:
    return summary["counted"] == (summary["merged_pairs"] + summary["deduplicated_pairs"]
                                  + summary["pixel_only"] + summary["server_only"])


SCENARIOS = {
    "merged": ([("a", 0)], [("a", 120)], dict(merged_pairs=1, counted=1, pixel_only=0, server_only=0)),
    "merged at exactly 5 min": ([("a", 0)], [("a", M)], dict(merged_pairs=1, counted=1)),
    "deduplicated just after 5 min": ([("a", 0)], [("a", M + 0.01)], dict(deduplicated_pairs=1, counted=1)),
    "deduplicated": ([("a", 0)], [("a", H)], dict(deduplicated_pairs=1, merged_pairs=0, counted=1)),
    "deduplicated at exactly 48 h": ([("a", 0)], [("a", W)], dict(deduplicated_pairs=1, counted=1)),
    "server first, then Pixel": ([("a", 60)], [("a", 0)], dict(merged_pairs=1, counted=1)),
    "outside window": ([("a", 0)], [("a", W + 1)],
                       dict(outside_window=1, counted=2, pixel_only=1, server_only=1)),
    "one-sided keys": ([("a", 0)], [("b", 0)], dict(pixel_only=1, server_only=1, counted=2)),
    "same-side repeats within 48 h": ([("a", 0), ("a", H), ("a", W)], [],
                                      dict(same_source_duplicates=2, counted=1, pixel_only=1)),
    "repeat measured from the first, not the previous": (
        [("a", 0), ("a", 47 * H), ("a", 49 * H)], [],
        dict(same_source_duplicates=1, counted=2, pixel_only=2)),
    "server repeats deduplicate too": ([], [("a", 0), ("a", 30)],
                                       dict(same_source_duplicates=1, counted=1, server_only=1)),
    "no event_id on both sides": ([("", 0)], [("", 10)],
                                  dict(missing_event_id=2, counted=2, pixel_only=1, server_only=1)),
    "two occurrences pair in time order": ([("a", 0), ("a", 50 * H)], [("a", 60), ("a", 50 * H + 60)],
                                           dict(merged_pairs=2, counted=2, same_source_duplicates=0)),
    "event name is part of the key": ([("a", 0, "Purchase")], [("a", 5, "CompletePayment")],
                                      dict(pixel_only=1, server_only=1, counted=2)),
    "pixel code is part of the key": ([("a", 0, "Purchase", "C1")], [("a", 5, "Purchase", "C2")],
                                      dict(pixel_only=1, server_only=1, counted=2)),
    "event_id case matters": ([("ord_1", 0)], [("ORD_1", 5)], dict(pixel_only=1, server_only=1, counted=2)),
    "empty inputs": ([], [], dict(counted=0, pixel_events=0, server_events=0)),
}


@pytest.mark.parametrize(("pixel", "server", "expected"), SCENARIOS.values(), ids=SCENARIOS.keys())
def test_scenarios_give_known_figures(pixel: list, server: list, expected: dict) -> None:
    """Each hand-worked scenario gives its figures, and the figures reconcile."""
    p, s = frames(pixel, server)
    report = simulate(p, s)
    got = {k: report.summary[k] for k in expected}
    assert got == expected
    assert set(SUMMARY_FIELDS) <= set(report.summary)
    assert report.summary["pixel_events"] == len(pixel) and report.summary["server_events"] == len(server)
    assert reconciles(report.summary)
    assert int(report.keys["counted"].sum()) == report.summary["counted"]


@pytest.mark.parametrize(("delta", "verdict", "reason_part"), [
    (180.0, "merged", "server arrived 3 min after pixel: merged"),
    (-42.0, "merged", "42 s before pixel"),
    (2 * H, "deduplicated", "2 h after pixel: deduplicated"),
    (3 * 86400.0, "outside window", "3 d after pixel: outside the 48 h window"),
])
def test_verdict_and_reason_per_key(delta: float, verdict: str, reason_part: str) -> None:
    """A paired key gets the verdict of its time gap and a reason quoting the gap."""
    p, s = frames([("k", 0)], [("k", delta)])
    row = simulate(p, s).keys.iloc[0]
    assert row["verdict"] == verdict
    assert reason_part in row["reason"]
    assert row["delta_s"] == pytest.approx(delta)


def test_missing_event_id_rows_and_ttp_hint() -> None:
    """Events without event_id get their own verdict; a shared _ttp shows as a hint, never counted."""
    p, s = frames([("", 0, "Purchase", PX, "ttp-1")], [("", 90, "Purchase", PX, "ttp-1"), ("", 95)])
    r = simulate(p, s)
    assert r.summary["missing_event_id"] == 3 and r.summary["counted"] == 3
    assert r.summary["ttp_fallback_candidates"] == 1
    assert set(r.keys["verdict"]) == {"missing event_id"}
    hinted = r.keys[r.keys["reason"].str.contains("_ttp fallback")]
    assert len(hinted) == 1 and hinted.iloc[0]["server_events"] == 1
    assert "2 min apart" in hinted.iloc[0]["reason"]


def test_repeat_counts_are_reported_in_the_reason() -> None:
    """A key's dropped same-side repeats are counted in its row and named in its reason."""
    p, s = frames([("a", 0), ("a", 10), ("a", 20)], [("a", 30)])
    row = simulate(p, s).keys.iloc[0]
    assert (row["pixel_events"], row["server_events"], row["verdict"]) == (3, 1, "merged")
    assert "2 Pixel repeat(s) within 48 h dropped" in row["reason"]


@pytest.mark.parametrize(("pixel", "server", "kind"), [
    (("ord_10492_purchase", "Purchase"), ("ORD_10492_PURCHASE", "Purchase"), "case or whitespace"),
    (("ord_10492_purchase", "Purchase"), ("ord_10492_purchase ", "Purchase"), "case or whitespace"),
    (("10492", "Purchase"), ("10492.0", "Purchase"), "number vs string"),
    (("ord_10492_purchase", "Purchase"), ("order_10492_purchase", "Purchase"), "prefix or suffix"),
    (("ord_10492_purchase", "Purchase"), ("10492", "Purchase"), "prefix or suffix"),
    (("ord_10492", "Purchase"), ("ord_10492", "CompletePayment"), "event name differs"),
])
def test_near_misses_name_what_stopped_pairing(pixel: tuple, server: tuple, kind: str) -> None:
    """One-sided keys whose ids nearly match are reported with the kind of difference."""
    p, s = frames([(pixel[0], 0, pixel[1])], [(server[0], 30, server[1])])
    near = simulate(p, s).near_misses
    assert list(near["kind"]) == [kind]
    assert near.iloc[0]["pixel_event_id"] == pixel[0] and near.iloc[0]["server_event_id"] == server[0]
    if kind == "event name differs":
        assert "legacy" in near.iloc[0]["detail"]


@pytest.mark.parametrize(("delta", "expected"), [(8 * 60.0, 1), (-10 * 60.0, 1), (30 * 60.0, 0),
                                                 (W + 600, 1), (W + 2 * H, 0), (60.0, 0)])
def test_clock_skew_near_misses(delta: float, expected: int) -> None:
    """Pairs that just missed the merge window or the 48 h window are flagged as clock skew."""
    p, s = frames([("a", 0)], [("a", delta)])
    near = simulate(p, s).near_misses
    assert int((near["kind"] == "clock skew").sum()) == expected


def test_unrelated_ids_are_not_near_misses() -> None:
    """Different orders never show as near misses."""
    p, s = frames([("ord_1_purchase", 0)], [("ord_2_purchase", 0)])
    assert simulate(p, s).near_misses.empty


@pytest.mark.parametrize(("raw", "loose"), [
    ("ORD_10492_Purchase", "10492"), (" order-77 ", "77"), ("#1001", "1001"), ("10492.0", "10492"),
    ("abc", "abc"), ("", ""),
])
def test_normalize_event_id(raw: str, loose: str) -> None:
    """The loose id form drops case, whitespace, common prefixes/suffixes and '.0'."""
    assert normalize_event_id(pd.Series([raw])).iloc[0] == loose


def test_orders_gap_by_order_id() -> None:
    """truth, Pixel-alone and counted orders give pixel_gap and recovered_share at order level."""
    p, s = frames([("ord_1", 0), ("ord_2", 0), ("x", 0)], [("ord_1", 10), ("ord_3", 0), ("ord_4", 0),
                                                           ("ord_4b", W + 5 * H)])
    p["order_id"] = ["1", "2", ""]
    s["order_id"] = ["1", "3", "4", "4"]
    s.loc[3, "event_time"] = T + W + 5 * H
    p.loc[1, "timestamp"] = T
    orders = pd.DataFrame({"order_id": ["#1", "2", "3", "4", "5"],
                           "created_at": pd.to_datetime([T] * 5, unit="s", utc=True),
                           "browser": ["Chrome", "Chrome", "Safari", "Safari", "Safari"]})
    r = simulate(p, s, orders=orders)
    sm = r.summary
    assert (sm["truth"], sm["truth_pixel"], sm["truth_counted"]) == (5, 2, 4)
    assert sm["pixel_gap"] == pytest.approx(1 - 2 / 5)
    assert sm["recovered_share"] == pytest.approx((4 - 2) / (5 - 2))
    assert sm["truth_over_counted"] == 1  # order 4: two server events > 48 h apart both count
    linked = r.orders.set_index("order_id")
    assert linked.loc["1", "pixel"] and linked.loc["1", "server"] and linked.loc["1", "conversions"] == 1
    assert not linked.loc["5", "counted"]
    seg = r.segments.set_index(["dimension", "value"])
    assert seg.loc[("browser", "Safari"), "truth"] == 3 and seg.loc[("browser", "Safari"), "pixel"] == 0
    assert seg.loc[("browser", "Safari"), "recovered_share"] == pytest.approx(2 / 3)
    assert int(r.daily["truth"].sum()) == 5


def test_orders_linked_by_event_id_template() -> None:
    """With a template, orders link through event_id and events need no order_id."""
    p, s = frames([("ord_1_purchase", 0)], [("ord_2_purchase", 0), ("ORD_3_PURCHASE", 0)])
    orders = pd.DataFrame({"order_id": ["1", "2", "3"], "created_at": pd.to_datetime([T] * 3, unit="s", utc=True)})
    r = simulate(p, s, orders=orders, link="event_id_template", template="ord_{order_id}_purchase")
    assert (r.summary["truth"], r.summary["truth_pixel"], r.summary["truth_counted"]) == (3, 1, 2)


@pytest.mark.parametrize(("kwargs", "needle"), [
    (dict(link="event_id_template", template="ord_purchase"), "exactly one {order_id}"),
    (dict(link="event_id_template", template="{order_id}_{order_id}"), "exactly one {order_id}"),
    (dict(link="fuzzy"), "Unknown link mode"),
])
def test_invalid_link_settings(kwargs: dict, needle: str) -> None:
    """A bad link mode or template is an InvalidInput naming the fix."""
    p, s = frames([("a", 0)], [("a", 0)])
    with pytest.raises(InvalidInput, match=needle.replace("{", r"\{").replace("}", r"\}")):
        simulate(p, s, orders=pd.DataFrame({"order_id": ["1"]}), **kwargs)


@pytest.mark.parametrize("drop", ["event", "event_id", "timestamp"])
def test_missing_columns_are_named(drop: str) -> None:
    """A frame without a needed column raises InvalidInput naming it."""
    p, s = frames([("a", 0)], [("a", 0)])
    with pytest.raises(InvalidInput, match=drop):
        simulate(p.drop(columns=drop), s)


# --- a slow, obvious reference implementation of the documented rules -----------------------------
def reference(pixel: list[tuple[str, float]], server: list[tuple[str, float]]) -> dict[str, int]:
    """The module docstring's rules written as plain loops (small inputs only)."""
    out = dict(counted=0, merged_pairs=0, deduplicated_pairs=0, pixel_only=0, server_only=0,
               same_source_duplicates=0, outside_window=0, missing_event_id=0)
    occ: dict[int, dict[str, list[float]]] = {0: {}, 1: {}}
    for side, events in enumerate((pixel, server)):
        for eid, t in sorted(events, key=lambda e: e[1]):
            if eid == "":
                out["missing_event_id"] += 1
                out["pixel_only" if side == 0 else "server_only"] += 1
                continue
            firsts = occ[side].setdefault(eid, [])
            if firsts and round((t - firsts[-1]) * 1000) <= W * 1000:
                out["same_source_duplicates"] += 1
            else:
                firsts.append(t)
    for eid in set(occ[0]) | set(occ[1]):
        ps, ss = occ[0].get(eid, []), occ[1].get(eid, [])
        for i in range(max(len(ps), len(ss))):
            if i < len(ps) and i < len(ss):
                d = abs(round((ss[i] - ps[i]) * 1000))
                if d <= M * 1000:
                    out["merged_pairs"] += 1
                elif d <= W * 1000:
                    out["deduplicated_pairs"] += 1
                else:
                    out["outside_window"] += 1
                    out["pixel_only"] += 1
                    out["server_only"] += 1
            elif i < len(ps):
                out["pixel_only"] += 1
            else:
                out["server_only"] += 1
    out["counted"] = out["merged_pairs"] + out["deduplicated_pairs"] + out["pixel_only"] + out["server_only"]
    return out


_events = st.lists(st.tuples(st.sampled_from(["", "a", "b", "c"]),
                             st.sampled_from([0.0, 60.0, M, M + 1, H, W - 1, W, W + 1, 2 * W + 5, 3 * W])),
                   max_size=7)


@settings(max_examples=150, deadline=None)
@given(_events, _events)
def test_matches_the_plain_reference(pixel: list, server: list) -> None:
    """On random small inputs the vectorized simulator equals the loop reference, figure by figure."""
    p, s = frames(pixel, server)
    got = simulate(p, s).summary
    want = reference(pixel, server)
    assert {k: got[k] for k in want} == want


# --- gap figures (core.charts) ---------------------------------------------------------------------
def _demo_report():
    p, s = frames([("a", 0), ("b", 0), ("c", 0), ("", 0)], [("a", 60), ("b", H), ("d", 0), ("c", 3 * W)])
    p["order_id"] = ["1", "2", "3", ""]
    s["order_id"] = ["1", "2", "4", "3"]
    orders = pd.DataFrame({"order_id": ["1", "2", "3", "4", "5"],
                           "created_at": pd.to_datetime([T, T, T + 86400, T + 86400, T], unit="s", utc=True),
                           "browser": ["Chrome", "Safari", "Safari", "Chrome", "Firefox"]})
    return simulate(p, s, orders=orders)


def test_gap_waterfall_with_orders() -> None:
    """The order waterfall runs truth -> missed -> recovered -> counted with the summary's numbers."""
    r = _demo_report()
    trace = charts.gap_waterfall(r.summary).data[0]
    sm = r.summary
    assert list(trace.y) == [sm["truth"], sm["truth_pixel"] - sm["truth"], sm["truth_counted"] - sm["truth_pixel"],
                             sm["truth_counted"]]
    assert list(trace.measure) == ["absolute", "relative", "relative", "total"]
    frame = charts.waterfall_frame(r.summary)
    assert list(frame["value"]) == list(trace.y)


def test_gap_waterfall_without_orders() -> None:
    """Without orders the waterfall goes Pixel alone -> + server -> counted events."""
    p, s = frames([("a", 0)], [("a", 10), ("b", 0)])
    sm = simulate(p, s).summary
    trace = charts.gap_waterfall(sm).data[0]
    assert list(trace.y) == [sm["pixel_counted_alone"], sm["counted"] - sm["pixel_counted_alone"], sm["counted"]]


def test_verdict_mix_counts_every_verdict() -> None:
    """verdict_mix has one bar per verdict, summing to the keys' rows."""
    r = _demo_report()
    trace = charts.verdict_mix(r.keys).data[0]
    assert list(trace.y) == list(VERDICTS)
    assert sum(trace.x) == len(r.keys)
    assert dict(zip(trace.y, trace.x, strict=True)) == r.keys["verdict"].value_counts().reindex(
        list(VERDICTS), fill_value=0).to_dict()


def test_gap_by_segment_and_daily_series() -> None:
    """Segment bars carry the segment's gaps; the daily series has one line per measure."""
    r = _demo_report()
    fig = charts.gap_by_segment(r.segments, "browser")
    rows = r.segments[r.segments["dimension"] == "browser"].sort_values("truth", ascending=False)
    assert list(fig.data[0].y) == pytest.approx(list(rows["pixel_gap"]))
    assert list(fig.data[1].y) == pytest.approx(list(rows["counted_gap"]))
    daily = charts.daily_series(r.daily)
    assert [t.name for t in daily.data] == ["truth orders", "Pixel counted (orders)", "counted (orders)"]
    assert sum(daily.data[0].y) == r.summary["truth"]
    assert list(pairwise(daily.data[0].x)) and json.loads(daily.to_json())["data"]


def test_gap_csv_bytes() -> None:
    """The gap's CSV downloads give the frame as UTF-8 CSV, and a summary dict as metric,value rows."""
    from core.export import csv_bytes

    r = _demo_report()
    text = csv_bytes(r.segments).decode("utf-8")
    assert text.splitlines()[0].startswith('"dimension","value","truth"')
    assert len(text.splitlines()) == len(r.segments) + 1
    rows = csv_bytes({"counted": 3}).decode().splitlines()
    assert rows == ['"metric","value"', '"counted",3']


# --- the fast paths give what the plain ones gave ----------------------------------------------------
def test_reasons_written_per_combination_equal_row_by_row() -> None:
    """Each key's reason, written once per distinct combination, is the one written for its own row."""
    p, s = frames([("a", 0), ("b", 0), ("b", 60), ("c", 0), ("d", 0), ("e", 0), ("f", 0), ("f", 3 * W)],
                  [("a", 61), ("b", -H), ("c", 7 * 60), ("c", 8 * 60), ("c", 9 * 60), ("e", 3 * W), ("g", 0),
                   ("h", 5), ("f", 5)])
    keys = simulate(p, s).keys
    paired = keys[keys["verdict"] != "missing event_id"]
    code = paired["verdict"].map({v: i for i, v in enumerate(VERDICTS)}).to_numpy()
    want = _reasons(paired["delta_s"].to_numpy(), code, paired["pixel_events"].to_numpy(),
                    paired["server_events"].to_numpy())
    assert paired["reason"].tolist() == want.to_pylist()


@given(st.lists(st.tuples(st.sampled_from(["C1", "C2"]), st.sampled_from(["Purchase", "purchase", "View"]),
                          st.sampled_from(["", "1", "01", "1 ", "a", "A"])), max_size=40))
def test_key_codes_number_keys_like_joined_strings(rows: list[tuple[str, str, str]]) -> None:
    """Per-column codes combined number the keys exactly as dictionary-encoding the joined key would."""
    cols = {name: pa.array([r[i] for r in rows], pa.large_string())
            for i, name in enumerate(("pixel_code", "event", "event_id"))}
    want = pc.dictionary_encode(_join_key(cols)).indices.to_numpy(zero_copy_only=False)
    assert _key_codes(cols).tolist() == want.tolist()


def test_orders_link_repeated_and_unknown_order_ids() -> None:
    """An order id listed twice gets its events on both rows; events of unknown orders link to none."""
    p, s = frames([("a", 0), ("b", 0)], [("a", 10), ("z", 0)])
    p["order_id"] = ["1", "2"]
    s["order_id"] = ["1", "99"]
    orders = pd.DataFrame({"order_id": ["1", "1", "3"], "created_at": pd.to_datetime([T] * 3, unit="s", utc=True)})
    linked = simulate(p, s, orders=orders).orders
    assert linked["pixel"].tolist() == [True, True, False]
    assert linked["server"].tolist() == [True, True, False]
    assert linked["conversions"].tolist() == [1, 1, 0]


@pytest.mark.parametrize(("raw", "expected"), [
    (["#1001", "1002"], ["1001", "1002"]), ([" 1001.0 ", "1002"], ["1001", "1002"]),
    (["1001", ""], ["1001", ""]), (["##7.00", "v1.0"], ["7", "v1.0"]), (["# 5", "5.5"], [" 5", "5.5"]),
])
def test_event_order_ids_are_normalized(raw: list[str], expected: list[str]) -> None:
    """Event order ids link like the orders' ids: trimmed, no leading '#', '1001.0' as '1001'."""
    from core.gap import norm_order_ids

    assert norm_order_ids(pa.array(raw, pa.large_string())).to_pylist() == expected


# --- Compare inputs: one key's rows ----------------------------------------------
def test_rows_for_key_picks_the_occurrence_nearest_the_key_time() -> None:
    """A repeated key gives the row nearest `near`; no event_id or no match gives no row."""
    pixel, _ = frames([("a", 0), ("a", 100), ("b", 0)], [])
    assert rows_for_key(pixel, PX, "Purchase", "a", "timestamp", T + 90)["timestamp"].tolist() == [T + 100]
    assert rows_for_key(pixel, PX, "Purchase", "a", "timestamp")["timestamp"].tolist() == [T]
    assert rows_for_key(pixel, PX, "Purchase", "", "timestamp").empty
    assert rows_for_key(pixel, PX, "Lead", "a", "timestamp").empty


@pytest.mark.parametrize(("pixel_ids", "server_ids", "key_id", "near", "sides"), [
    (["ord_1"], ["ord_1"], "ord_1", None, (1, 1)),
    (["atc_88213_1"], ["88213_1"], "atc_88213_1", "88213_1", (1, 1)),
    (["88213_1"], ["atc_88213_1"], "atc_88213_1", "88213_1", (1, 1)),
    (["ord_1"], ["zzz_9"], "ord_1", None, (1, 0)),
])
def test_key_rows_fills_a_missing_side_with_its_near_partner(pixel_ids: list[str], server_ids: list[str],
                                                             key_id: str, near: str | None,
                                                             sides: tuple[int, int]) -> None:
    """Both sides come back for a paired key; a one-sided key borrows the other side's near miss."""
    pixel, server = frames([(i, 0) for i in pixel_ids], [(i, 60) for i in server_ids])
    report = simulate(pixel, server)
    key = report.keys[report.keys["event_id"] == key_id].iloc[0]
    p_rows, s_rows, near_id = key_rows(pixel, server, key)
    assert (len(p_rows), len(s_rows)) == sides and near_id == near
