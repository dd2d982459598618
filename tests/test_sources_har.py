"""core.sources.har: DevTools HARs -> the Pixel events among their requests, with every other TikTok hit named."""

from __future__ import annotations

import base64
import contextlib
import gzip
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from core.errors import InvalidFile, InvalidPayload
from core.sources.har import decode_analytics_message, parse_har
from core.sources.pixel_body import PIXEL_COLUMNS
from tests.samples import PIXEL_BEACON

FIX = Path(__file__).parent / "fixtures"
HAR = FIX / "devtools_shop.har"
C1, C2 = "CQ1ABCDE2FGH3IJK4LMN", "CP9ZYXWV8UTS7RQP6ONM"


def _iso_seconds(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()


def _har_bodies() -> dict[int, Any]:
    """The fixture's request bodies by entry index, decoded independently of core.sources.har."""
    entries = json.loads(HAR.read_text())["log"]["entries"]
    out: dict[int, Any] = {}
    for i, e in enumerate(entries):
        text = e["request"].get("postData", {}).get("text")
        if text:
            with contextlib.suppress(json.JSONDecodeError):
                out[i] = json.loads(text)
        elif "analytics_message=" in e["request"]["url"]:
            raw = e["request"]["url"].split("analytics_message=")[1]
            out[i] = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    return out

# --- HAR: the acceptance fixture -----------------------------------------------------------------
def test_devtools_har_yields_exactly_its_pixel_events() -> None:
    """The DevTools HAR gives its 7 events (act fan-out, proxied path, Shopify, GET), in order, UTC seconds."""
    result = parse_har(HAR)
    got = result.events[["entry", "pixel_code", "event", "event_id", "endpoint"]].values.tolist()
    assert got == [
        [2, C1, "Pageview", "", "pixel"],
        [5, C1, "AddToCart", "atc_88213_1", "pixel"],
        [6, C1, "InitiateCheckout", "chk_88213", "pixel/act"],
        [6, C2, "InitiateCheckout", "chk_88213", "pixel/act"],
        [8, C1, "Purchase", "ord_10492_purchase", "pixel"],
        [9, C1, "ViewContent", "vc_204_1773483750", "shopify_pixel"],
        [10, C1, "AddToWishlist", "wl_204", "pixel"],
    ]
    bodies = _har_bodies()
    for row in result.events.itertuples():
        assert row.timestamp == pytest.approx(_iso_seconds(bodies[row.entry]["timestamp"]), abs=1e-6)
        assert row.source == "pixel"
    assert list(result.events.columns) == PIXEL_COLUMNS
    assert result.format == "har" and result.entries == len(json.loads(HAR.read_text())["log"]["entries"])
    assert result.events["timestamp"].dtype == "float64" and result.events["value"].dtype == "float64"


def test_devtools_har_skips_noise_and_broken_hits_with_reasons() -> None:
    """Loader, telemetry, EnrichAM, action-only, malformed and code-less hits are skipped; others ignored."""
    result = parse_har(HAR)
    assert [(s.entry, s.kind) for s in result.skipped] == [
        (1, "loader"), (3, "telemetry"), (4, "internal"), (7, "action_only"), (11, "telemetry"),
        (12, "malformed"), (14, "no_pixel_code"),
    ]
    assert all(s.reason and s.url.startswith("https://") for s in result.skipped)
    assert "EnrichAM" in result.skipped[2].reason and "'Click'" in result.skipped[3].reason
    ignored = {0, 13}  # the shop's document and Google Analytics: not TikTok, not listed
    assert ignored.isdisjoint({s.entry for s in result.skipped} | set(result.events["entry"]))


def test_har_rows_carry_keys_values_and_tiktok_labels() -> None:
    """User keys with hashed flags, string value as float, content ids, UA, ttclid and TikTok's labels."""
    ev = parse_har(HAR).events.set_index(["entry", "pixel_code"])
    bodies = _har_bodies()
    atc = ev.loc[(5, C1)]
    user = bodies[5]["context"]["user"]
    assert (atc.email, atc.phone, atc.external_id) == (user["email"], user["phone_number"], user["external_id"])
    assert atc.user_keys == "email,phone,external_id,ttclid" and atc.hashed_keys == "email,phone"
    assert atc.value == float(bodies[5]["properties"]["value"]) and atc.currency == "EUR"
    assert atc.content_ids == "119" and atc.ttclid == "E.C.P.Cv4BZ2xQd8kLrA"
    assert atc.user_agent == bodies[5]["context"]["userAgent"]
    assert json.loads(atc.signal_diagnostic_labels) == bodies[5]["signal_diagnostic_labels"]
    assert json.loads(atc.properties) == bodies[5]["properties"]
    assert json.loads(atc.identity_params) == bodies[5]["_inspection"]["identity_params"]
    purchase = ev.loc[(8, C1)]
    assert purchase.http_status == 204 and purchase.order_id == "10492" and purchase.content_ids == "119,204"
    assert ev.loc[(9, C1)].partner == "Shopify"
    assert ev.loc[(2, C1)].signal_diagnostic_labels != "" and ev.loc[(10, C1)].message_id.startswith("messageId-")


@pytest.mark.parametrize("wrap", ["path", "bytes", "stream", "gzip"])
def test_har_sources_are_equivalent(wrap: str, tmp_path: Path) -> None:
    """A path, bytes, a binary stream and a gzip-compressed HAR give the same events."""
    raw = HAR.read_bytes()
    source: Any = {"path": HAR, "bytes": raw, "stream": io.BytesIO(raw)}.get(wrap)
    if wrap == "gzip":
        source = tmp_path / "shop.har.gz"
        source.write_bytes(gzip.compress(raw))
    expected = parse_har(HAR).events
    pd.testing.assert_frame_equal(parse_har(source).events, expected)


@pytest.mark.parametrize(("content", "fragment"), [
    (b"<html>not json</html>", "not valid JSON"),
    (b'{"version": "1.2", "entries": []}', "no log.entries"),
    (b"[1, 2, 3]", "no log.entries"),
    (HAR.read_bytes()[:20_000], "cut off or corrupt"),
])
def test_not_a_har_is_invalid_file(content: bytes, fragment: str) -> None:
    """Non-JSON, JSON without log.entries and a truncated HAR raise InvalidFile naming the problem."""
    with pytest.raises(InvalidFile) as err:
        parse_har(content, name="upload.har")
    assert fragment in str(err.value) and "upload.har" in str(err.value)


def test_empty_har_is_valid_with_a_note() -> None:
    """A real HAR with no TikTok traffic gives no events and a note saying what to check."""
    result = parse_har(b'{"log": {"version": "1.2", "entries": []}}')
    assert result.events.empty and list(result.events.columns) == PIXEL_COLUMNS
    assert result.notes and "Preserve log" in result.notes[0]

# --- analytics_message (the GET form) -------------------------------------------------------------
_MSG = {"event": "Search", "context": {"pixel": {"code": C1}}, "properties": {"query": "shirt?&+"}}
_RAW = json.dumps(_MSG).encode()


@pytest.mark.parametrize("encoded", [
    base64.b64encode(_RAW).decode(),
    base64.b64encode(_RAW).decode().rstrip("="),
    base64.urlsafe_b64encode(_RAW).decode().rstrip("="),
    base64.b64encode(_RAW).decode().replace("+", "%2B").replace("/", "%2F").replace("=", "%3D"),
    base64.b64encode(_RAW).decode().replace("+", " "),
])
def test_decode_analytics_message_valid(encoded: str) -> None:
    """Standard, URL-safe, unpadded, percent-encoded and '+'-as-space base64 all decode."""
    assert decode_analytics_message(encoded) == _MSG


@pytest.mark.parametrize("encoded", ["%%%", base64.b64encode(b"not json").decode(), "////"])
def test_decode_analytics_message_invalid(encoded: str) -> None:
    """Text that is not base64 of UTF-8 JSON raises InvalidPayload."""
    with pytest.raises(InvalidPayload):
        decode_analytics_message(encoded)

# --- preflights and redirects --------------------------------------------------------------------
_BEACON = PIXEL_BEACON


def _entry(method: str, status: int, redirect: str = "", body: str | None = None) -> dict[str, Any]:
    req: dict[str, Any] = {"method": method, "url": "https://analytics.tiktok.com/api/v2/pixel", "headers": []}
    if body is not None:
        req["postData"] = {"mimeType": "text/plain", "text": body}
    return {"request": req, "response": {"status": status, "redirectURL": redirect}}


def test_preflight_and_redirect_are_not_counted_twice() -> None:
    """A CORS preflight is ignored and a 307 hop is skipped, so one beacon gives one event."""
    body = json.dumps(_BEACON)
    har = {"log": {"entries": [_entry("OPTIONS", 204), _entry("POST", 307, "https://analytics.tiktok.com/x", body),
                               _entry("POST", 200, body=body), _entry("POST", 0, body=body)]}}
    result = parse_har(json.dumps(har).encode())
    assert result.events["entry"].tolist() == [2, 3]  # status 0 (blocked / cancelled) is kept, flagged
    assert result.events["http_status"].tolist() == [200, 0]
    assert [(s.entry, s.kind) for s in result.skipped] == [(1, "redirect")]
