"""core.sources.pixel: Pixel bodies and JSON / JSONL / CSV exports -> Pixel rows, and the Pixel-vs-server field diff."""

from __future__ import annotations

import copy
import hashlib
import io
import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from core import cli
from core.diff import field_diff
from core.errors import InvalidFile, InvalidInput, InvalidPayload
from core.sources.har import parse_har
from core.sources.pixel import (
    load_pixel_events,
    parse_pixel_csv,
    parse_pixel_json,
    pixel_projection,
)
from core.sources.pixel_body import PIXEL_COLUMNS, UnusableHit, pixel_event_from_body
from core.sources.values import parse_time as parse_timestamp
from tests.samples import PIXEL_BEACON

FIX = Path(__file__).parent / "fixtures"
HAR = FIX / "devtools_shop.har"
C1, C2 = "CQ1ABCDE2FGH3IJK4LMN", "CP9ZYXWV8UTS7RQP6ONM"


def _iso_seconds(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()


def _body(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = copy.deepcopy(PIXEL_BEACON)
    body.update(over)
    return body


# --- one body ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("pixel", "codes"), [
    ({"code": C1}, [C1]),
    ({"codes": f"{C1}|{C2}"}, [C1, C2]),
    ({"code": C1, "codes": f"{C1}|{C2}|"}, [C1, C2]),
    ({"codes": f"{C2}"}, [C2]),
])
def test_body_fans_out_once_per_pixel_code(pixel: dict[str, str], codes: list[str]) -> None:
    """One row per distinct pixel code in context.pixel.code / codes (TikTok's /act fan-out)."""
    body = _body(context={"pixel": pixel})
    rows = pixel_event_from_body(body, entry=3, url="u")
    assert [r["pixel_code"] for r in rows] == codes
    assert all(r["event"] == body["event"] and r["entry"] == 3 for r in rows)


@pytest.mark.parametrize(("over", "field", "expected"), [
    ({"event": "pageview"}, "event", "pageview"),  # names kept exactly: case matters to TikTok
    ({"event_id": 10492}, "event_id", "10492"),
    ({"event_id": None}, "event_id", ""),
    ({"properties": {"value": "99.95"}}, "value", 99.95),
    ({"properties": {"value": 12}}, "value", 12.0),
    ({"properties": {"value": "n/a"}}, "value", math.nan),
    ({"properties": {"content_id": 119}}, "content_ids", "119"),
    ({"properties": {"content_ids": [1, "2"]}}, "content_ids", "1,2"),
    ({"context": {"pixel": {"code": C1}, "user": {"anonymous_id": "2F7h37YkS1j57AYSKTI7IHhJPYH"}}}, "ttp",
     "2F7h37YkS1j57AYSKTI7IHhJPYH"),
    ({"context": {"pixel": {"code": C1}, "ad": {"callback": "E.C.P.xyz"}}}, "ttclid", "E.C.P.xyz"),
    ({"context": {"pixel": {"code": C1}, "page": {"url": "https%3A%2F%2Fshop.example.com%2Fp%3Fa%3D1"}}},
     "url", "https://shop.example.com/p?a=1"),
    ({"context": {"pixel": {"code": C1}, "user": {"sha256_email": "A" * 64, "external_id": "123456"}}},
     "hashed_keys", "email"),
    ({"context": {"pixel": {"code": C1}, "user": {"email": "", "phone_number": "b" * 64}}}, "user_keys", "phone"),
    ({"timestamp": 1773483400077}, "timestamp", 1773483400.077),
])
def test_body_fields(over: dict[str, Any], field: str, expected: object) -> None:
    """Each Pixel body field lands in its row column, typed and normalized as documented."""
    value = pixel_event_from_body(_body(**over), entry=0, url="u")[0][field]
    if isinstance(expected, float) and math.isnan(expected):
        assert math.isnan(value)
    else:
        assert value == expected


def test_user_agent_falls_back_to_request_header() -> None:
    """Without context.userAgent the HAR request's User-Agent header is used."""
    body = _body(context={"pixel": {"code": C1}})
    assert pixel_event_from_body(body, entry=0, url="u", user_agent="HeaderUA")[0]["user_agent"] == "HeaderUA"


@pytest.mark.parametrize(("body", "kind"), [
    (_body(event="EnrichAM"), "internal"),
    (_body(context={"page": {}}), "no_pixel_code"),
    (_body(context={"pixel": {"codes": "|"}}), "no_pixel_code"),
    ({"action": "Pf", "page_trigger": "PageView", "context": {"pixel": {"code": C1}}}, "action_only"),
    ({"action": "Click", "context": {"pixel": {"code": C1}}}, "action_only"),
    ({"event": "", "context": {"pixel": {"code": C1}}}, "no_event"),
    ([1, 2], "malformed"),
])
def test_unusable_bodies_raise_with_kind(body: Any, kind: str) -> None:
    """EnrichAM, code-less, action-only, nameless and non-object bodies raise UnusableHit with a kind."""
    with pytest.raises(UnusableHit) as err:
        pixel_event_from_body(body, entry=0, url="u")
    assert err.value.kind == kind and isinstance(err.value, InvalidPayload)


# --- timestamps --------------------------------------------------------------
@pytest.mark.parametrize(("raw", "expected"), [
    ("2026-06-29T17:47:07.730Z", datetime(2026, 6, 29, 17, 47, 7, 730000, tzinfo=UTC).timestamp()),
    ("2026-06-29T19:47:07.730+02:00", datetime(2026, 6, 29, 17, 47, 7, 730000, tzinfo=UTC).timestamp()),
    ("2026-06-29T17:47:07", datetime(2026, 6, 29, 17, 47, 7, tzinfo=UTC).timestamp()),
    (1782755227, 1782755227.0),
    (1782755227730, 1782755227.73),
    ("1782755227.5", 1782755227.5),
])
def test_parse_timestamp_valid(raw: object, expected: float) -> None:
    """ISO-8601 (Z, offset, naive as UTC), epoch seconds and milliseconds -> UTC epoch seconds."""
    assert parse_timestamp(raw) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("raw", [None, "", "yesterday", True, float("inf"), {"t": 1}])
def test_parse_timestamp_invalid(raw: object) -> None:
    """Absent or unreadable timestamps are NaN, never an exception."""
    assert math.isnan(parse_timestamp(raw))


# --- JSON / JSONL / CSV ------------------------------------------------------------------------------
def test_json_array_of_wire_bodies() -> None:
    """A JSON array of Pixel bodies fans out like a HAR and skips EnrichAM / code-less bodies."""
    bodies = json.loads((FIX / "pixel_bodies.json").read_text())
    result = parse_pixel_json(FIX / "pixel_bodies.json")
    assert result.format == "json" and result.entries == len(bodies)
    assert result.events[["entry", "pixel_code", "event"]].values.tolist() == [
        [0, C1, "Pageview"], [1, C1, "AddToCart"], [2, C1, "InitiateCheckout"], [2, C2, "InitiateCheckout"]]
    assert [s.kind for s in result.skipped] == ["internal", "no_pixel_code"]


def test_jsonl_flat_rows() -> None:
    """JSONL of flat rows: user dicts spread into keys, numeric ids stringified, bad timestamps skipped."""
    lines = [json.loads(x) for x in (FIX / "pixel_rows.jsonl").read_text().splitlines()]
    result = load_pixel_events(FIX / "pixel_rows.jsonl")
    assert result.format == "jsonl"
    ev = result.events
    assert ev["event_id"].tolist() == [lines[0]["event_id"], str(lines[1]["event_id"])]
    assert ev["timestamp"].tolist() == pytest.approx([_iso_seconds(lines[0]["timestamp"]), lines[1]["timestamp"]])
    assert ev["user_keys"].tolist() == ["email,phone", "external_id"]
    assert ev["value"].tolist() == [129.9, 54.0]
    assert [(s.entry, s.kind) for s in result.skipped] == [(2, "bad_row")] and "yesterday" in result.skipped[0].reason


def test_cli_json_output_round_trips() -> None:
    """`{"events": [...], "skipped": [...]}` (the CLI's JSON) reads back to the same events."""
    first = parse_har(HAR)
    again = parse_pixel_json(json.dumps(first.as_dict()))
    pd.testing.assert_frame_equal(again.events, first.events)
    assert [s.kind for s in again.skipped] == [s.kind for s in first.skipped]


def test_csv_export_vectorized() -> None:
    """CSV: leading zeros kept, ms and ISO timestamps, user_keys derived, bad rows skipped by row."""
    result = parse_pixel_csv(FIX / "pixel_rows.csv")
    raw = pd.read_csv(FIX / "pixel_rows.csv", dtype=str, keep_default_na=False)
    ev = result.events
    assert ev["event_id"].tolist() == raw["event_id"][:3].tolist()
    assert ev["event_id"][1] == "007"
    assert ev["timestamp"].tolist() == pytest.approx(
        [_iso_seconds(raw["timestamp"][0]), int(raw["timestamp"][1]) / 1000, float(raw["timestamp"][2])])
    assert ev["user_keys"].tolist() == ["email,phone", "external_id", ""]
    assert ev["hashed_keys"][0] == "email,phone" and math.isnan(ev["value"][2])
    assert [(s.entry, s.kind) for s in result.skipped] == [(3, "bad_row"), (4, "bad_row")]
    assert "not-a-time" in result.skipped[0].reason and "no pixel code" in result.skipped[1].reason


@pytest.mark.parametrize(("text", "missing"), [
    ("event,event_id\nPurchase,1\n", "pixel_code, timestamp"),
    ("pixel_code,event_id,timestamp\nC1,1,1700000000\n", "event"),
])
def test_csv_missing_columns_named(text: str, missing: str) -> None:
    """A CSV without the required columns raises InvalidFile naming each missing one."""
    with pytest.raises(InvalidFile) as err:
        parse_pixel_csv(text.encode(), name="export.csv")
    assert f"lacks the column(s) {missing}" in str(err.value)


def test_csv_without_event_id_notes_it() -> None:
    """No event_id column is allowed but noted: none of those events can deduplicate."""
    result = parse_pixel_csv(b"event_source_id,event,event_time\nC1,Purchase,1700000000\n")
    assert result.events["event_id"].tolist() == [""] and result.events["pixel_code"].tolist() == ["C1"]
    assert "No event_id column" in result.notes[0]


@pytest.mark.parametrize(("name", "content", "fmt"), [
    ("capture.json", HAR.read_bytes(), "har"),          # a HAR saved as .json is still a HAR
    ("capture.har", HAR.read_bytes(), "har"),
    ("events.txt", (FIX / "pixel_rows.csv").read_bytes(), "csv"),
    ("events.jsonl", (FIX / "pixel_rows.jsonl").read_bytes(), "jsonl"),
    ("bodies", (FIX / "pixel_bodies.json").read_bytes(), "json"),
])
def test_load_pixel_events_sniffs_uploads(name: str, content: bytes, fmt: str) -> None:
    """Uploads are recognised by content first, then by name."""
    upload = io.BytesIO(content)
    upload.name = name  # type: ignore[attr-defined]
    result = load_pixel_events(upload)
    assert result.format == fmt and not result.events.empty


@pytest.mark.parametrize(("content", "fragment"), [
    (b"", "is empty"),
    (b"   \n", "is empty"),
    (b"hello world", "is not a HAR, JSON, JSONL or CSV"),
])
def test_load_pixel_events_rejects_unknown(content: bytes, fragment: str) -> None:
    """Empty or unrecognisable uploads raise InvalidFile listing the formats read."""
    with pytest.raises(InvalidFile) as err:
        load_pixel_events(content, name="x.bin")
    assert fragment in str(err.value)


# --- field diff --------------------------------------------------------------------------------------
def _pixel_row(**over: Any) -> dict[str, Any]:
    row = parse_har(HAR).events.set_index(["entry", "pixel_code"]).loc[(8, C1)].to_dict()
    row.update(pixel_code=C1, **over)
    return row


def _server(event: dict[str, Any] | None = None, **top: Any) -> dict[str, Any]:
    row = _pixel_row()
    ev = {"event": "Purchase", "event_id": "ord_10492_purchase", "event_time": int(row["timestamp"]) + 30,
          "user": {"email": row["email"], "phone": row["phone"],
                   "external_id": hashlib.sha256(b"cust-20931").hexdigest(),
                   "ip": "203.0.113.7", "user_agent": row["user_agent"]},
          "properties": {"value": 129.9, "currency": "EUR", "contents": [{"content_id": "119"},
                                                                          {"content_id": "204"}]}}
    ev.update(event or {})
    return {"event_source": "web", "event_source_id": top.get("code", C1), "data": [ev]}


def _by_field(diffs: list[Any]) -> dict[str, Any]:
    return {d.field: d for d in diffs}


def test_field_diff_matching_pair() -> None:
    """A well-built pair: same ids, merge window, same hashed identities (raw external_id hashed to match)."""
    d = _by_field(field_diff(_pixel_row(), _server()))
    for name in ("pixel_code", "event", "event_id", "event_time", "value", "currency", "content_ids",
                 "email", "phone", "external_id", "user_agent"):
        assert d[name].status == "same", (name, d[name])
    assert "merges" in d["event_time"].note and "same identity" in d["external_id"].note
    assert d["ip"].status == "server only" and "connection" in d["ip"].note
    assert d["order_id"].status == "pixel only"


@pytest.mark.parametrize(("server_over", "field", "status", "note"), [
    ({"event": "purchase"}, "event", "different", "only in case"),
    ({"event": "CompletePayment"}, "event", "different", "legacy"),
    ({"event": "AddToCart"}, "event", "different", "never deduplicate"),
    ({"event_id": "10492"}, "event_id", "different", "near miss"),
    ({"event_id": "ORD_10492_PURCHASE"}, "event_id", "different", "only in case"),
    ({"event_id": "abc"}, "event_id", "different", "both"),
    ({"event_id": None}, "event_id", "pixel only", "no event_id on the server side"),
    ({"event_time": "+600"}, "event_time", "different", "drops the later copy"),
    ({"event_time": "+200000"}, "event_time", "different", "beyond 48 h"),
    ({"properties": {"value": "129.95", "currency": "USD"}}, "value", "different", "string"),
    ({"properties": {"value": 129.9, "currency": "usd"}}, "currency", "different", ""),
    ({"properties": {"currency": "EURO"}}, "currency", "different", "not an ISO-4217"),
    ({"properties": {"currency": "EUR", "content_ids": ["119", "999"]}}, "content_ids", "different",
     "server only: 999"),
    ({"user": {"email": hashlib.sha256(b"bob@example.com").hexdigest()}}, "email", "different", "another person"),
    ({"user": {"email": "ALICE@example.com "}}, "email", "same", "needs it normalized"),
    ({"user": {}}, "email", "pixel only", "pixel: hashed"),
    ({"user": {"user_agent": "python-httpx/0.28"}}, "user_agent", "different", "browser's"),
])
def test_field_diff_differences(server_over: dict[str, Any], field: str, status: str, note: str) -> None:
    """Each kind of mismatch gets its status and a note saying what TikTok does with it."""
    server = _server()
    ev = server["data"][0]
    for key, value in server_over.items():
        if key == "event_time" and isinstance(value, str):
            value = ev["event_time"] + int(value)
        if key == "user":
            value = {**ev["user"], **value} if value else {}
        ev[key] = value
    if ev.get("event_id") is None:
        ev.pop("event_id")
    d = _by_field(field_diff(_pixel_row(), server))
    assert d[field].status == status, d[field]
    assert note.lower() in d[field].note.lower()


def test_field_diff_flat_server_row_and_neither_event_id() -> None:
    """A SERVER_COLUMNS row works too; missing event_id on both sides is reported as 'neither'."""
    pixel = _pixel_row(event_id="", ttclid="E.C.P.Cv4BZ2xQd8kLrA")
    server = {"pixel_code": C2, "event": "Purchase", "event_id": "", "event_time": pixel["timestamp"] + 1,
              "value": float("nan"), "currency": "", "email": "", "ip": "", "user_agent": ""}
    d = _by_field(field_diff(pixel, server))
    assert d["event_id"].status == "neither" and d["pixel_code"].status == "different"
    assert d["value"].status == "pixel only" and "ip" not in d
    assert d["ttclid"].status == "pixel only" and "landing URL" in d["ttclid"].note


# --- CLI -------------------------------------------------------------------------------------------
def test_cli_pixels_json_and_exit_codes(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """`pixels FILE --format json` prints events + skipped; broken hits exit 1, a clean file 0, a non-HAR 2."""
    assert cli.main(["pixels", str(HAR), "--format", "json"]) == cli.EXIT_FINDINGS
    doc = json.loads(capsys.readouterr().out)
    assert [e["event"] for e in doc["events"]] == parse_har(HAR).events["event"].tolist()
    assert {s["kind"] for s in doc["skipped"]} >= {"telemetry", "malformed"}
    clean = json.dumps([_body()])
    assert cli.main(["pixels", str(FIX / "not_a_har.har")]) == cli.EXIT_USAGE
    assert "not a HAR" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(clean.encode())))
    assert cli.main(["pixels", "-"]) == cli.EXIT_OK
    out = capsys.readouterr().out
    assert "AddToCart" in out and "1 Pixel event(s)" in out


# --- projected loads (the dedup command reads only the columns it needs) ----------------------------
DEDUP_COLUMNS = ("pixel_code", "event", "event_id", "timestamp", "ttp", "order_id")
ALIASED_CSV = (b"\xef\xbb\xbfevent_source_id,event_name,event_id,event_time,ttp,extra\n"
               b" C1 ,Purchase,12.0,1700000000123,t1,x\n,Purchase,2,1700000000,t2,y\nC1,Purchase,3,nope,t3,z\n")


@pytest.mark.parametrize("source", [
    FIX / "pixel_rows.csv", str(FIX / "pixel_rows.csv"), (FIX / "pixel_rows.csv").read_bytes(),
    io.BytesIO((FIX / "pixel_rows.csv").read_bytes()), FIX / "pixel_rows.jsonl", HAR, ALIASED_CSV,
], ids=["csv-path", "csv-str", "csv-bytes", "csv-upload", "jsonl", "har", "aliased-csv-bom"])
@pytest.mark.parametrize("columns", [DEDUP_COLUMNS, ("user_keys", "hashed_keys"), ("event_id",)])
def test_projected_load_matches_full_load(source: Any, columns: tuple[str, ...]) -> None:
    """columns= gives the full load's rows and values for those columns, the same skipped rows and notes."""
    full = load_pixel_events(source, name="export.csv" if isinstance(source, bytes) else None)
    if isinstance(source, io.BytesIO):
        source.seek(0)
    part = load_pixel_events(source, name="export.csv" if isinstance(source, bytes) else None, columns=columns)
    assert list(part.events.columns) == pixel_projection(columns)
    pd.testing.assert_frame_equal(part.events, full.events[pixel_projection(columns)])
    assert [(s.entry, s.kind) for s in part.skipped] == [(s.entry, s.kind) for s in full.skipped]
    assert (part.format, part.entries, part.notes) == (full.format, full.entries, full.notes)


def test_projection_always_keeps_the_row_deciding_columns() -> None:
    """pixel_code, event, timestamp and entry decide which rows are kept, so they are always returned."""
    assert pixel_projection(["event_id"]) == ["pixel_code", "event", "event_id", "timestamp", "entry"]
    assert pixel_projection(None) == PIXEL_COLUMNS


def test_projection_rejects_unknown_columns() -> None:
    """An unknown column name is an InvalidInput that lists the columns to pick from."""
    with pytest.raises(InvalidInput, match="Unknown Pixel column"):
        parse_pixel_csv(FIX / "pixel_rows.csv", columns=("event", "evnt"))


@pytest.mark.parametrize("content", [b"", b"  \n\n ", b"\xef\xbb\xbf\n\n"])
def test_blank_csv_path_is_refused(tmp_path: Path, content: bytes) -> None:
    """A blank CSV file read from its path (streamed, not loaded) is still 'empty'."""
    path = tmp_path / "pixel.csv"
    path.write_bytes(content)
    with pytest.raises(InvalidFile, match="empty"):
        parse_pixel_csv(path, columns=DEDUP_COLUMNS)


def test_pixel_event_id_is_kept_exactly() -> None:
    """TikTok compares event_id exactly: whitespace around a Pixel event_id survives body and row parsing."""
    from core.sources.pixel import normalize_pixel_frame
    from core.sources.pixel_body import pixel_event_from_body

    body = {"event": "Purchase", "event_id": " ord_1_purchase", "timestamp": "2026-06-29T17:47:07.730Z",
            "context": {"pixel": {"code": "C1"}}}
    (row,) = pixel_event_from_body(body, entry=0, url="https://analytics.tiktok.com/api/v2/pixel")
    assert row["event_id"] == " ord_1_purchase"
    rows = pd.DataFrame([{"pixel_code": "C1", "event": "Purchase", "event_id": "ord_2 ", "timestamp": 1735689600}])
    frame, _skipped = normalize_pixel_frame(rows)
    assert frame["event_id"].iloc[0] == "ord_2 "


@pytest.mark.parametrize(("props", "expected"), [
    ({"content_type": "product_group", "contents": [{"content_type": "product"}]}, "product_group"),
    ({"contents": [{"content_id": "1"}, {"content_id": "2", "content_type": "product"}]}, "product"),
    ({"contents": [{"content_id": "1"}]}, ""),
    ({"contents": "not a list"}, ""),
])
def test_content_type_from_the_items_when_only_they_carry_it(props: dict[str, Any], expected: str) -> None:
    """content_type is the event's own, else the first item's (Pixel sends it per item in contents[])."""
    rows = pixel_event_from_body(_body(properties=props), entry=0, url="")
    assert rows[0]["content_type"] == expected


def test_cli_pixels_keeps_item_content_type(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`pixels` reports the items' content_type for wire bodies and for flat rows with properties."""
    flat = {"pixel_code": C1, "event": "ViewContent", "event_id": "vc_1", "timestamp": 1773483400,
            "properties": {"contents": [{"content_id": "9", "content_type": "product"}]}}
    path = tmp_path / "events.jsonl"
    path.write_text(json.dumps(_body(properties={"contents": [{"content_id": "1", "content_type": "product"}]}))
                    + "\n" + json.dumps(flat) + "\n")
    assert cli.main(["pixels", str(path), "--format", "json"]) == cli.EXIT_OK
    events = json.loads(capsys.readouterr().out)["events"]
    assert [e["content_type"] for e in events] == ["product", "product"]
