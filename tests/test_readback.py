"""core.readback against the emulator's Marketing API: TikTok's counts per UTC day, the Pixel list, refusals."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest

from core.config import Settings, marketing_credentials
from core.emulator import EmulatorServer, emulated_pixel_id, parse_stats_query
from core.errors import ConfigError, InvalidInput
from core.readback import (
    MarketingClient,
    Readback,
    StatsRow,
    TikTokRefused,
    console_counts,
    day_range,
    orders_per_day,
    parse_pixels,
    parse_stats,
    read_stats,
    sentence,
    side_by_side,
)
from core.transport import Sender

TOKEN = "marketing-secret-token-5e6f7a8b"
PIXEL = "CREADBACK0000000001"
DAY1, DAY2 = "2026-05-14", "2026-05-15"
T1 = int(datetime(2026, 5, 14, 23, 59, 0, tzinfo=UTC).timestamp())  # late on day 1 (UTC)
T2 = int(datetime(2026, 5, 15, 0, 0, 30, tzinfo=UTC).timestamp())  # just after midnight UTC: day 2


@pytest.fixture
def emu(emu_server: EmulatorServer) -> EmulatorServer:
    emu_server.clear()
    return emu_server


def _send(emu: EmulatorServer, events: list[dict[str, Any]], test_event_code: str | None = None) -> None:
    body: dict[str, Any] = {"event_source": "web", "event_source_id": PIXEL, "data": events}
    if test_event_code:
        body["test_event_code"] = test_event_code
    settings = Settings(target="custom", base_url=emu.url, access_token=TOKEN, max_attempts=1)
    with Sender(settings) as sender:
        (ex,) = sender.send_body(body)
    assert ex.code == 0, ex.message


def _ev(name: str, t: int, i: int) -> dict[str, Any]:
    return {"event": name, "event_time": t, "event_id": f"{name}_{t}_{i}"}


def _pixel_hit(emu: EmulatorServer, event: str, when: str, email: bool = False) -> None:
    user = {"sha256_email": "8" * 64} if email else {}
    hit = {"event": event, "event_id": "", "timestamp": when,
           "context": {"pixel": {"code": PIXEL}, "page": {"url": "https://shop.example/thanks"}, "user": user}}
    assert httpx.post(emu.url + "/api/v2/pixel", json=hit, timeout=5).json()["data"]["kept"] == 1


def _client(emu: EmulatorServer, token: str = TOKEN, **kw: Any) -> MarketingClient:
    return MarketingClient(emu.url, token, **kw)


def test_stats_count_what_the_emulator_received_per_utc_day(emu: EmulatorServer) -> None:
    """Server, browser and test events come back per UTC day and event, exactly as received."""
    _send(emu, [_ev("Purchase", T1, i) for i in range(3)] + [_ev("AddToCart", T1, 9)])
    _send(emu, [_ev("Purchase", T2, i) for i in range(2)])
    _send(emu, [_ev("Purchase", T1, 50)], test_event_code="TEST777")
    _pixel_hit(emu, "Purchase", "2026-05-14T12:00:00.000Z", email=True)
    _pixel_hit(emu, "Purchase", "2026-05-15T08:00:00.000Z")
    with _client(emu) as client:
        result = read_stats(client, pixel_code=PIXEL, advertiser_id="7000000000000000001",
                            days=day_range(DAY1, DAY2))
    assert result.rows == [StatsRow(DAY1, "AddToCart", 0, 1, 1, 0), StatsRow(DAY1, "Purchase", 1, 3, 4, 1),
                           StatsRow(DAY2, "Purchase", 1, 2, 3, 0)]
    assert result.pixel is not None and result.pixel.pixel_id == emulated_pixel_id(PIXEL)
    assert result.pixel.advanced_matching == {"email": True, "phone_number": False}
    doc = result.as_dict()
    assert doc["timezone"] == "UTC" and "UTC" in doc["notes"][0] and "every few hours" in doc["notes"][0]


def test_duplicates_are_not_counted_twice(emu: EmulatorServer) -> None:
    """A server event sent twice with the same event_id is counted once (TikTok drops the copy)."""
    _send(emu, [_ev("Purchase", T1, 1)])
    _send(emu, [_ev("Purchase", T1, 1)])
    with _client(emu) as client:
        result = read_stats(client, pixel_code=PIXEL, advertiser_id="1", days=day_range(DAY1, DAY1))
    assert [(r.event, r.server, r.total) for r in result.rows] == [("Purchase", 1, 1)]


def test_pixel_list_filters_by_code_and_reports_matching(emu: EmulatorServer) -> None:
    """/pixel/list/ lists the Pixel codes that sent events, with their event names, filtered by code."""
    _send(emu, [{**_ev("Lead", T1, 1), "user": {"phone": ["a" * 64]}}])
    with _client(emu) as client:
        (pixel,) = client.pixel_list("1", PIXEL)
        assert client.pixel_list("1", "COTHER") == []
    assert (pixel.pixel_code, pixel.events, pixel.advanced_matching) == (
        PIXEL, ("Lead",), {"email": False, "phone_number": True})


def test_unlisted_pixel_is_asked_by_its_code_and_said(emu: EmulatorServer) -> None:
    """A Pixel /pixel/list/ does not know is asked for by code, with a note saying so; no rows, no error."""
    with _client(emu) as client:
        result = read_stats(client, pixel_code="CNOTHINGSENT", advertiser_id="1", days=day_range(DAY1, DAY1))
    assert result.rows == [] and result.pixel is None
    assert any("does not list CNOTHINGSENT" in n for n in result.notes)


def test_bad_token_is_a_clear_refusal_without_the_token(emu_server: EmulatorServer) -> None:
    """TikTok's token error comes back as TikTokRefused: its code and message, the fix, and no token."""
    with _client(emu_server, token="wrong-token-abc") as client, pytest.raises(TikTokRefused) as info:
        client.pixel_list("1", PIXEL)
    exc = info.value
    assert exc.code == 40105 and exc.usage and exc.request_id
    assert "40105" in str(exc) and "incorrect or has been revoked" in str(exc)
    assert "TIKTOK_MARKETING_TOKEN" in (exc.hint or "") and "wrong-token-abc" not in str(exc)


def test_blank_token_is_refused_before_any_request() -> None:
    """A blank token is a ConfigError naming the variables, not a request TikTok would answer 40104."""
    with pytest.raises(ConfigError, match="TIKTOK_MARKETING_TOKEN"):
        MarketingClient("http://127.0.0.1:1", "  ")


def test_rate_limit_is_retried_then_succeeds(emu: EmulatorServer) -> None:
    """40100 (too many requests) is retried with backoff like the sender does; the next answer is used."""
    emu.set_fault("rate_limit", count=2)
    waits: list[float] = []
    with _client(emu, max_attempts=3, sleep=waits.append) as client:
        assert client.pixel_list("1", PIXEL) == []
    assert len(waits) == 2


def test_persistent_system_error_is_not_usage(emu: EmulatorServer) -> None:
    """A retryable code that never clears ends as a refusal the CLI reports with exit 1 (usage False)."""
    emu.set_fault("code", count=5, code=50000)
    with _client(emu, max_attempts=2, sleep=lambda _: None) as client, pytest.raises(TikTokRefused) as info:
        client.pixel_list("1", PIXEL)
    assert info.value.code == 50000 and not info.value.usage


def test_missing_advertiser_is_a_tiktok_param_error(emu: EmulatorServer) -> None:
    """The emulator refuses a stats query without advertiser_id the way TikTok does (40002 naming it)."""
    with _client(emu) as client, pytest.raises(TikTokRefused) as info:
        client.event_stats("", [PIXEL], DAY1, DAY1)
    assert info.value.code == 40002 and "advertiser_id" in info.value.message


def test_html_answer_is_named() -> None:
    """An answer without TikTok's envelope (a gateway page) is a refusal naming the HTTP status."""
    transport = httpx.MockTransport(lambda r: httpx.Response(502, text="<html>Bad Gateway</html>"))
    with MarketingClient("http://127.0.0.1:1", "t", transport=transport, max_attempts=1) as client, \
            pytest.raises(TikTokRefused) as info:
        client.pixel_list("1", PIXEL)
    assert info.value.code is None and "HTTP 502" in info.value.message


# --- both readings of TikTok's answer -------------------------------------------------------------------
def test_parse_stats_both_event_name_readings_and_own_day() -> None:
    """Ad-creation names (SHOPPING) map to web names, custom names pass, a statistic's own day wins."""
    data = {"list": [{"pixel_id": "P1", "statistics": [
        {"pixel_event_type": "SHOPPING", "browser_event_total_count": 480, "server_event_total_count": 610,
         "total_count": 1090, "preview_count": 3, "attributed_count": 12},
        {"pixel_event_type": "Purchase", "browser_event_total_count": 1, "server_event_total_count": "2"},
        {"custom_event_type": "Quote", "total_count": 5, "date": "2026-05-13"}]},
        {"pixel_id": "OTHER", "statistics": [{"pixel_event_type": "Purchase", "total_count": 99}]}]}
    rows = parse_stats(data, DAY1, {"P1"})
    assert rows == [StatsRow("2026-05-13", "Quote", 0, 0, 5, 0), StatsRow(DAY1, "Purchase", 481, 612, 1093, 3, 12)]


def test_parse_pixels_reads_settings() -> None:
    """pixel/list: id, code, name, advanced matching flags and event names; missing flags stay None."""
    (a, b) = parse_pixels({"pixels": [
        {"pixel_id": "1", "pixel_code": "C1", "pixel_name": "Shop", "events": [{"name": "Purchase"}],
         "advanced_matching_fields": {"email": True, "phone_number": False}},
        {"pixel_id": "2", "pixel_code": "C2"}]})
    assert (a.pixel_id, a.name, a.events, a.advanced_matching) == ("1", "Shop", ("Purchase",),
                                                                    {"email": True, "phone_number": False})
    assert b.advanced_matching is None


@pytest.mark.parametrize(("since", "until", "fragment"), [
    ("2026-05-15", "2026-05-14", "after"), ("2026-04-01", "2026-05-14", "at most 30"),
    ("14/05/2026", None, "not a day")])
def test_day_range_refuses_bad_ranges(since: str, until: str | None, fragment: str) -> None:
    """Reversed, longer than 30 days, or not YYYY-MM-DD: InvalidInput with the fix."""
    with pytest.raises(InvalidInput, match=fragment):
        day_range(since, until)


def test_day_range_default_is_last_seven_days() -> None:
    """Without --since/--until: the 7 UTC days ending today."""
    days = day_range(None, None, today=date(2026, 5, 14))
    assert (days[0], days[-1], len(days)) == (date(2026, 5, 8), date(2026, 5, 14), 7)


@pytest.mark.parametrize("query", [
    {"advertiser_id": ["1"], "pixel_ids": ['["a"]'], "date_range": ['{"start_date": "2026-01-01"}']},
    {"advertiser_id": ["1"], "pixel_ids": ['"a"'], "date_range": ['{"start_date": "2026-01-01", '
                                                                    '"end_date": "2026-01-01"}']},
    {"advertiser_id": ["1"], "pixel_ids": ['["a"]'], "date_range": ['{"start_date": "2026-01-01", '
                                                                      '"end_date": "2026-03-01"}']}])
def test_emulator_refuses_malformed_stats_queries(query: dict[str, list[str]]) -> None:
    """The emulator names the field TikTok would (date_range, pixel_ids) instead of answering."""
    assert isinstance(parse_stats_query(query), str)


# --- beside the console's own counts --------------------------------------------------------------------
def test_console_counts_and_the_sentence() -> None:
    """Accepted server events of this Pixel per UTC day; test apart; orders on Purchase; one plain sentence."""
    top, test_top = {"event_source_id": PIXEL}, {"event_source_id": PIXEL, "test_event_code": "T1"}
    sent = [(top, _ev("Purchase", T1, 1), "accepted"), (top, _ev("Purchase", T1, 2), "accepted"),
            (top, _ev("Purchase", T1, 3), "pending"), (test_top, _ev("Purchase", T1, 4), "accepted"),
            ({"event_source_id": "COTHER"}, _ev("Purchase", T1, 5), "accepted"),
            (top, _ev("Purchase", T2, 6), "accepted")]
    console = console_counts(sent, PIXEL, [DAY1])
    assert console == {(DAY1, "Purchase"): {"accepted": 2, "test": 1}}
    orders = orders_per_day([datetime(2026, 5, 14, 10, tzinfo=UTC), float(T1), None, float("nan"), T2])
    assert orders == {DAY1: 2, DAY2: 1}
    readback = Readback(PIXEL, "1", DAY1, DAY1, rows=[StatsRow(DAY1, "Purchase", 480, 610, 1090, 0)])
    (row,) = side_by_side(readback, console, orders)
    assert (row["tiktok_browser"], row["tiktok_server"], row["console_accepted"], row["orders"]) == (480, 610, 2, 2)
    assert sentence(row).startswith("TikTok counted 480 browser and 610 server Purchase events on 2026-05-14;")
    assert "your orders say 2" in sentence(row)


def test_marketing_credentials_order_and_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    """TIKTOK_MARKETING_TOKEN wins over TIKTOK_ACCESS_TOKEN, the environment over secrets; repr hides it."""
    env = {"TIKTOK_ACCESS_TOKEN": "events-token", "TEC_ADVERTISER_ID": " 700 "}
    assert marketing_credentials(env, {"TIKTOK_MARKETING_TOKEN": "m-secret"}).token == "m-secret"
    creds = marketing_credentials(env, {})
    assert (creds.token, creds.token_name, creds.token_source, creds.advertiser_id) == (
        "events-token", "TIKTOK_ACCESS_TOKEN", "environment", "700")
    assert "events-token" not in repr(creds)
    none = marketing_credentials({}, None)
    assert none.token is None and none.advertiser_id == ""


def test_attributed_counts_are_listed_apart_from_the_rows() -> None:
    """JSON rows keep exactly the CLI's six keys; TikTok's attributed counts come in their own list."""
    readback = Readback(PIXEL, "1", DAY1, DAY1, rows=[StatsRow(DAY1, "Purchase", 4, 6, 10, 1, 3),
                                                      StatsRow(DAY1, "Lead", 0, 1, 1, 0, 0)])
    doc = readback.as_dict()
    assert all(list(r) == ["day", "event", "browser", "server", "total", "preview"] for r in doc["rows"])
    assert doc["attributed"] == [{"day": DAY1, "event": "Purchase", "attributed": 3}]


def test_a_pixel_hit_that_is_no_event_is_refused(emu: EmulatorServer) -> None:
    """The emulator's Pixel endpoint refuses a body without a Pixel code (the console's one Pixel reader)."""
    resp = httpx.post(emu.url + "/api/v2/pixel", json={"event": "Purchase", "context": {}}, timeout=5)
    assert resp.status_code == 400 and "Not a Pixel event" in resp.json()["message"]
    resp = httpx.post(emu.url + "/api/v2/pixel", content=b"not json", timeout=5)
    assert resp.status_code == 400


@pytest.mark.parametrize("kind", ["http_502_html", "reset"])
def test_gateway_failures_are_retried_then_named(emu: EmulatorServer, kind: str) -> None:
    """A gateway page or a reset connection is retried; when it persists the refusal says what came back."""
    emu.set_fault(kind, count=1)
    with _client(emu, max_attempts=2, sleep=lambda _: None) as client:
        assert client.pixel_list("1", PIXEL) == []
    emu.set_fault(kind, count=2)
    with _client(emu, max_attempts=2, sleep=lambda _: None) as client, pytest.raises(TikTokRefused) as info:
        client.pixel_list("1", PIXEL)
    assert info.value.code is None and not info.value.usage
    assert ("HTTP 502" if kind == "http_502_html" else "Error") in info.value.message
