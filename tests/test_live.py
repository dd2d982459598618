"""core.live: pairs and statuses as events arrive, the merge-window boundary, the checklist, export/re-open."""

from __future__ import annotations

import json
from typing import Any

import pytest

from core.contract import MERGE_WINDOW_SECONDS
from core.errors import InvalidFile
from core.live import (
    PAIR_COLUMNS,
    advance,
    backend_snippets,
    build_view,
    check_consent,
    check_pii,
    check_ttclid,
    check_ttp,
    export_session,
    open_session_export,
    pair_emq,
    pair_events,
    refresh_view,
    timeline_figure,
)
from core.quality import WEIGHT
from core.sources.har import parse_har
from tests.samples import GOOD, PIXEL_CODE

T0 = 1_800_000_000.0
LANDING = "https://shop.example/p/1?ttclid=E.C.P.abc"


def hit(event: str, event_id: str, t: float, **extra: Any) -> dict[str, Any]:
    """A Pixel hit row as `pixels --format json` prints it, plus the store's captured_at."""
    row = {"pixel_code": PIXEL_CODE, "event": event, "event_id": event_id, "timestamp": t, "url": LANDING,
           "value": 25.0, "currency": "USD", "properties": json.dumps({"value": 25, "currency": "USD"}),
           "captured_at": t * 1000, "user_agent": GOOD["user_agent"]}
    row.update(extra)
    return row


def body(event: str, event_id: str, t: float, *, value: float = 25, currency: str = "USD",
         **user: Any) -> dict[str, Any]:
    """A one-event v1.3 body with the given user keys."""
    return {"event_source": "web", "event_source_id": PIXEL_CODE,
            "data": [{"event": event, "event_id": event_id, "event_time": int(t), "user": user,
                      "properties": {"value": value, "currency": currency}}]}


STRONG = {"email": GOOD["email"], "ip": GOOD["ip"], "user_agent": GOOD["user_agent"]}


def status_of(pairs: list[Any], event_id: str) -> tuple[str, float | None]:
    p = next(p for p in pairs if p.event_id == event_id)
    return p.status, p.seconds_left


@pytest.mark.parametrize(("elapsed", "status", "left"), [
    (0, "waiting", 300.0),
    (120, "waiting", 180.0),
    (MERGE_WINDOW_SECONDS, "waiting", 0.0),  # the boundary is inclusive
    (MERGE_WINDOW_SECONDS + 1, "pixel only so far", None),
    (3 * 3600, "pixel only so far", None),
])
def test_pixel_leg_waits_for_the_merge_window(elapsed: float, status: str, left: float | None) -> None:
    """A Pixel hit alone waits, with the seconds left, until exactly 5 min have passed; then it is Pixel only."""
    pairs = pair_events([hit("Purchase", "ord_1", T0)], [], now=T0 + elapsed)
    assert status_of(pairs, "ord_1") == (status, left)


@pytest.mark.parametrize(("elapsed", "status"), [(10, "waiting"), (MERGE_WINDOW_SECONDS + 0.5, "server only so far")])
def test_server_leg_waits_too(elapsed: float, status: str) -> None:
    """A server event alone waits the same way, then is server only so far."""
    pairs = pair_events([], [body("Purchase", "ord_2", T0, **STRONG)], now=T0 + elapsed)
    assert status_of(pairs, "ord_2")[0] == status


@pytest.mark.parametrize(("gap", "status"), [
    (2, "merged"), (MERGE_WINDOW_SECONDS, "merged"), (MERGE_WINDOW_SECONDS + 1, "deduplicated"),
    (48 * 3600, "deduplicated"), (48 * 3600 + 1, "outside window"),
])
def test_partner_arrival_merges_or_deduplicates(gap: float, status: str) -> None:
    """When the partner arrives the status follows TikTok's windows (5 min merge, 48 h dedup, inclusive)."""
    pairs = pair_events([hit("Purchase", "ord_3", T0)], [body("Purchase", "ord_3", T0 + gap, **STRONG)],
                        now=T0 + gap + 1)
    assert [p.status for p in pairs if p.event_id == "ord_3"][:1] == [status]


def test_pairs_update_as_events_arrive() -> None:
    """The same session read at three moments: waiting, then merged once the server leg lands."""
    hits = [hit("AddToCart", "atc_1", T0), hit("Purchase", "ord_4", T0 + 30)]
    first = pair_events(hits, [], now=T0 + 40)
    assert {p.event_id: p.status for p in first} == {"atc_1": "waiting", "ord_4": "waiting"}
    assert first[0].seconds_left is not None
    second = pair_events(hits, [body("Purchase", "ord_4", T0 + 33, **STRONG)], now=T0 + 400)
    by_id = {p.event_id: p for p in second}
    assert by_id["ord_4"].status == "merged" and by_id["ord_4"].delta_s == pytest.approx(3.0)
    assert by_id["atc_1"].status == "pixel only so far"


def test_legacy_twin_never_pairs_and_the_checklist_names_it() -> None:
    """CompletePayment on the Pixel and Purchase on the server are two keys (core.dedup), and the check says why."""
    view = build_view("s", [hit("CompletePayment", "ord_5", T0)], [body("Purchase", "ord_5", T0 + 1, **STRONG)],
                      now=T0 + 2)
    assert sorted(p.status for p in view.pairs) == ["waiting", "waiting"]
    item = next(c for c in view.checklist if c.id == "purchase")
    assert item.status == "fail" and "CompletePayment is the legacy name of Purchase" in item.evidence


def test_same_side_repeat_is_one_key() -> None:
    """A Pixel Purchase fired twice within 48 h is one key (TikTok drops the repeat), merged with the server."""
    pairs = pair_events([hit("Purchase", "ord_6", T0), hit("Purchase", "ord_6", T0 + 5)],
                        [body("Purchase", "ord_6", T0 + 6, **STRONG)], now=T0 + 10)
    assert [(p.event_id, p.status) for p in pairs] == [("ord_6", "merged")]


def test_pair_evidence_diff_findings_and_emq() -> None:
    """A merged pair carries its field diff, the server event's lint and the EMQ proxy of the joined keys."""
    pixel = hit("Purchase", "ord_7", T0, ttp=GOOD["ttp"], value=30.0)
    server = body("Purchase", "ord_7", T0 + 2, email=GOOD["email"])  # no ip / user_agent: lint warns
    pair = pair_events([pixel], [server], now=T0 + 3)[0]
    diff = {d.field: d for d in pair.diffs}
    assert diff["value"].status == "different" and diff["event_id"].status == "same"
    assert any("ip" in f.path or "user_agent" in f.path for f in pair.findings)
    assert pair.server_event is not None and pair.server_event["data"][0]["event_id"] == "ord_7"
    assert set(pair.emq_keys) == {"email", "ttp", "user_agent"}  # ttp and UA from the Pixel, email from the server
    assert pair.emq == WEIGHT["email"] + WEIGHT["ttp"] + WEIGHT["user_agent"]


def test_pair_emq_prefers_a_valid_value_from_either_side() -> None:
    """An invalid server value does not hide a valid Pixel one."""
    score, keys = pair_emq({"ttclid": GOOD["ttclid"]}, {"ttclid": "undefined", "ip": GOOD["ip"]})
    assert keys == ["ttclid", "ip"] and score == WEIGHT["ttclid"] + WEIGHT["ip"]


def test_relay_fields_do_not_reach_lint_and_pairs_frame_has_columns() -> None:
    """received_at / exchange_id the store adds to relayed bodies are not linted as unknown fields."""
    relayed = {**body("Purchase", "ord_8", T0, **STRONG), "received_at": T0 + 1, "exchange_id": 3}
    view = build_view("s", [], [relayed], now=T0 + 1)
    assert not [f for f in view.pairs[0].findings if "received_at" in f.path or "exchange_id" in f.path]
    assert list(view.pairs_frame().columns) == list(PAIR_COLUMNS)
    assert view.counts()["waiting"] == 1


def _items(view: Any) -> dict[str, Any]:
    return {c.id: c for c in view.checklist}


def test_green_session_checklist() -> None:
    """A clean session: landing ttclid kept to checkout, _ttp, browse ids, merged Purchase, keys, value agree."""
    capture = {"pages": [{"url": LANDING, "ttclid_in_url": True}, {"url": "https://shop.example/thanks?ttclid=E.C.P.abc",
                                                                    "ttclid_in_url": True}],
               "cookies": {"_ttp": GOOD["ttp"], "ttclid": "E.C.P.abc"}, "findings": [],
               "consent": {"exposed": True, "state": "granted", "hits_while_denied": 0}}
    hits = [hit("ViewContent", "vc_1", T0), hit("AddToCart", "atc_1", T0 + 5), hit("Purchase", "ord_9", T0 + 20)]
    view = build_view("s", hits, [body("Purchase", "ord_9", T0 + 21, **STRONG)], now=T0 + 30, capture=capture)
    items = _items(view)
    assert {k: c.status for k, c in items.items()} == dict.fromkeys(
        ("ttclid", "ttp", "browse_ids", "purchase", "server_keys", "value_currency", "pii", "consent"), "pass")
    assert "merged" in items["purchase"].evidence and "ord_9" in items["purchase"].evidence
    assert "thanks" in items["ttclid"].evidence and items["ttp"].evidence.startswith("_ttp = 01K0T8")


def test_red_session_checklist_names_each_broken_link() -> None:
    """A broken session: every item red with the evidence that decided it."""
    capture = {"pages": [{"url": LANDING, "ttclid_in_url": True}, {"url": "https://shop.example/cart",
                                                                    "ttclid_in_url": False}],
               "cookies": {}, "findings": [{"severity": "error", "code": "pixel.url.pii", "path": "pages[2].url",
                                            "message": "The thank-you page URL carries the customer's email."}],
               "consent": {"exposed": True, "state": "denied", "hits_while_denied": 2}}
    hits = [hit("AddToCart", "", T0), hit("Purchase", "", T0 + 20)]
    server = [body("Purchase", "ord_10", T0 + 21, value=99, currency="EUR")]
    view = build_view("s", hits, server, now=T0 + 30, capture=capture)
    items = _items(view)
    assert {k: c.status for k, c in items.items() if k != "value_currency"} == dict.fromkeys(
        ("ttclid", "ttp", "browse_ids", "purchase", "server_keys", "pii", "consent"), "fail")
    assert "https://shop.example/cart" in items["ttclid"].evidence
    assert "AddToCart" in items["browse_ids"].evidence
    assert "Pixel's Purchase carries no event_id" in items["purchase"].evidence
    assert "lacks a strong key" in items["server_keys"].evidence and "ip" in items["server_keys"].evidence
    assert "thank-you page" in items["pii"].evidence
    assert "2 Pixel hit(s)" in items["consent"].evidence


def test_value_and_currency_disagree_is_red() -> None:
    """A merged pair whose currency differs fails the value check with both values."""
    view = build_view("s", [hit("Purchase", "ord_11", T0)],
                      [body("Purchase", "ord_11", T0 + 1, currency="EUR", **STRONG)], now=T0 + 2)
    item = _items(view)["value_currency"]
    assert item.status == "fail" and "USD" in item.evidence and "EUR" in item.evidence


def test_empty_session_is_unknown() -> None:
    """Nothing yet: every item unknown, with what to do."""
    view = build_view("s", [], [], now=T0)
    assert view.pairs == [] and {c.status for c in view.checklist} == {"unknown"}


@pytest.mark.parametrize(("hits", "status"), [
    ([hit("ViewContent", "a", T0, url="https://s.example/"), hit("Purchase", "b", T0 + 1)], "fail"),
    ([hit("ViewContent", "a", T0), hit("Purchase", "b", T0 + 1, url="https://s.example/thanks")], "fail"),
    ([hit("ViewContent", "a", T0), hit("Purchase", "b", T0 + 1, url="https://s.example/thanks",
                                       ttclid="E.C.P.abc")], "pass"),
])
def test_ttclid_from_hits_without_capture(hits: list[dict[str, Any]], status: str) -> None:
    """Without a capture the landing hit and the Purchase hit decide: ttclid in URL or carried by the hit."""
    assert check_ttclid(hits, None).status == status


def test_pii_from_hits_redaction_marker_and_raw_values() -> None:
    """A hit whose URL the store redacted, or with a raw email, is red; hashed values are green."""
    assert check_pii([hit("Purchase", "x", T0, url="https://s.example/t?e=[redacted]")], None).status == "fail"
    assert check_pii([hit("Purchase", "x", T0, email="alice@example.com")], None).status == "fail"
    assert check_pii([hit("Purchase", "x", T0, email=GOOD["email"])], None).status == "pass"


def test_ttp_and_consent_sources() -> None:
    """_ttp from the hits when no capture; consent unknown unless the page exposes it."""
    import pandas as pd

    assert check_ttp([hit("Purchase", "x", T0, ttp=GOOD["ttp"])], pd.DataFrame(), None).status == "pass"
    assert check_ttp([], pd.DataFrame({"ttp": [""]}), {"cookies": {"_ttp": ""}}).status == "fail"
    assert check_consent([], None).status == "unknown"
    assert check_consent([], {"consent": {"exposed": True, "state": "granted"}}).status == "pass"


def test_export_reopens_the_same_session_and_its_har_imports() -> None:
    """export -> open gives the same pairs and checklist; the HAR part reads back through the HAR importer."""
    hits = [hit("AddToCart", "atc_9", T0, email=GOOD["email"]), hit("Purchase", "ord_12", T0 + 10)]
    exchanges = [{"url": "http://127.0.0.1/open_api/v1.3/event/track/", "status": 200, "source": "relay"}]
    view = build_view("sess-1", hits, [body("Purchase", "ord_12", T0 + 12, **STRONG)], now=T0 + 20,
                      exchanges=exchanges)
    data = export_session(view)
    again = open_session_export(data)
    assert [p.as_row() for p in again.pairs] == [p.as_row() for p in view.pairs]
    assert [c.as_dict() for c in again.checklist] == [c.as_dict() for c in view.checklist]
    assert again.session_id == "sess-1" and again.exchanges == exchanges
    doc = json.loads(data)
    assert doc["pairs"][0]["status"] in ("merged", "waiting") and len(doc["checklist"]) == 8
    har = parse_har(json.dumps(doc["har"]).encode()).events
    assert list(har["event_id"]) == ["atc_9", "ord_12"]
    assert list(har["email"]) == [GOOD["email"], ""] and list(har["timestamp"]) == [T0, T0 + 10]


@pytest.mark.parametrize(("data", "words"), [
    (b"not json", "is not JSON"),
    (b'{"format": "har"}', "not a live session export"),
    (b'{"format": "tiktok-events-live-session", "version": 99}', "version 99"),
    (b'{"format": "tiktok-events-live-session", "version": 1, "session_id": "s", "pixel_hits": [1]}',
     "pixel_hits"),
])
def test_bad_export_files_are_named(data: bytes, words: str) -> None:
    """A file that is not an export says what is wrong and how to get a good one."""
    with pytest.raises(InvalidFile) as err:
        open_session_export(data, "upload.json")
    assert words in err.value.message and "upload.json" in err.value.message and err.value.hint


def test_timeline_has_both_lanes() -> None:
    """The timeline puts Pixel and server arrivals on their own lanes, at the relay's received_at."""
    relayed = {**body("Purchase", "ord_13", T0 + 1, **STRONG), "received_at": T0 + 4}
    fig = timeline_figure(build_view("s", [hit("Purchase", "ord_13", T0)], [relayed], now=T0 + 5))
    lanes = [y for trace in fig.data for y in trace.y]
    assert sorted(lanes) == ["Pixel", "server"]
    xs = sorted(str(x) for trace in fig.data for x in trace.x)
    assert xs[-1].startswith("2027-01-15T08:00:04")


def test_backend_snippets_point_at_the_relay_with_the_backends_own_token() -> None:
    """Every snippet posts to the relay's v1.3 track path and reads the token from the backend's environment."""
    snippets = backend_snippets("http://127.0.0.1:8765/")
    assert set(snippets) == {"curl", "Node (fetch)", "Python (requests)", "PHP / Shopify app"}
    for _, text in snippets.values():
        assert "http://127.0.0.1:8765/open_api/v1.3/event/track/" in text and "TIKTOK_ACCESS_TOKEN" in text


def test_pick_id_is_stable_while_the_status_changes() -> None:
    """A pair keeps its pick id from waiting to merged, so a picker keeps the user's choice."""
    before = pair_events([hit("Purchase", "ord_14", T0)], [], now=T0 + 1)[0]
    after = pair_events([hit("Purchase", "ord_14", T0)], [body("Purchase", "ord_14", T0 + 2, **STRONG)], now=T0 + 3)[0]
    assert (before.status, after.status) == ("waiting", "merged") and before.pick_id == after.pick_id
    lone = pair_events([hit("Purchase", "", T0), hit("Purchase", "", T0 + 9)], [], now=T0 + 10)
    assert len({p.pick_id for p in lone}) == 2


def test_capture_finding_about_ttclid_decides_the_item() -> None:
    """A capture finding that ttclid was lost on a redirect turns the item red with its message."""
    capture = {"pages": [{"url": LANDING, "ttclid_in_url": True}], "cookies": {},
               "findings": [{"severity": "warning", "code": "capture.ttclid.lost", "path": "pages[1]",
                             "message": "ttclid was dropped by the redirect to /cart.", "fix": "Keep the query."}]}
    item = check_ttclid([], capture)
    assert item.status == "fail" and "redirect to /cart" in item.evidence and "Keep the query" in item.evidence


def test_advance_runs_out_the_merge_window_without_rereading() -> None:
    """A waiting Purchase advanced past 5 min is Pixel only so far, and the checklist follows."""
    view = build_view("s", [hit("Purchase", "ord_15", T0)], [], now=T0 + 10)
    assert view.pairs[0].status == "waiting" and _items(view)["purchase"].status == "unknown"
    still = advance(view, T0 + MERGE_WINDOW_SECONDS)
    assert still.pairs[0].status == "waiting" and still.pairs[0].seconds_left == 0.0
    later = advance(view, T0 + MERGE_WINDOW_SECONDS + 1)
    assert later.pairs[0].status == "pixel only so far" and later.pairs[0].seconds_left is None
    assert _items(later)["purchase"].status == "fail" and later.now == T0 + MERGE_WINDOW_SECONDS + 1
    assert [p.as_row() for p in later.pairs] == [p.as_row() for p in pair_events(view.pixel_hits, [],
                                                                                   now=T0 + MERGE_WINDOW_SECONDS + 1)]


def test_refresh_view_rereads_only_when_something_arrived(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """With nothing new the previous view is advanced; a new Pixel hit or exchange makes it read the store."""
    from core.exchange import Exchange
    from core.store import Store

    with Store(tmp_path / "live.db") as store:
        store.create_session("Live", session_id="r1")
        store.add_pixel_hits("r1", [hit("Purchase", "ord_16", T0)])
        first = refresh_view(store, "r1", None, now=T0 + 1)
        assert first.last_hit_id == 1 and [p.status for p in first.pairs] == ["waiting"]
        same = refresh_view(store, "r1", first, now=T0 + 2)
        assert same.pairs[0].pixel_row is first.pairs[0].pixel_row and same.now == T0 + 2  # not re-read
        store.add_exchange("r1", Exchange(method="POST", url="http://127.0.0.1:9/open_api/v1.3/event/track/",
                                          request_headers={}, request_body=body("Purchase", "ord_16", T0 + 2, **STRONG),
                                          status=200, code=0, started_at=T0 + 3), source="relay")
        after = refresh_view(store, "r1", same, now=T0 + 4)
        assert [p.status for p in after.pairs] == ["merged"] and after.last_exchange_id == 1
        assert refresh_view(store, "r2", after, now=T0 + 5).pairs == []  # another session: read afresh


def test_server_keys_name_why_a_key_does_not_count() -> None:
    """A loopback ip and a headless user agent are named with the reason they do not count."""
    from core.live import check_server_keys
    from core.sources.server import server_frame

    frame = server_frame([body("Purchase", "ord_17", T0, email=GOOD["email"], ip="127.0.0.1",
                               user_agent="Mozilla/5.0 HeadlessChrome/120.0")])
    item = check_server_keys(frame)
    assert item.status == "fail" and "ip (loopback)" in item.evidence and "user_agent (bot)" in item.evidence
