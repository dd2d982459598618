"""Server events as rows: bodies, bare events, lists, JSONL and CSV all become SERVER_COLUMNS frames."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest

from core.errors import InvalidFile, InvalidInput
from core.sources.jsondoc import parse_json_documents
from core.sources.server import (
    SERVER_COLUMNS,
    iter_events,
    load_server_events,
    load_server_side,
    server_frame,
    server_projection,
    server_side,
)


def parse_documents(text: str, name: str = "input") -> list[object]:
    """The file form of the JSON reader: errors are InvalidFile."""
    return parse_json_documents(text, name, error=InvalidFile)

HASH = "a" * 64
BODY = {
    "event_source": "web", "event_source_id": "C1", "test_event_code": "TEST1",
    "data": [
        {"event": "Purchase", "event_time": 1735689600, "event_id": "ord_1_purchase",
         "user": {"email": ["", HASH], "phone": HASH, "ip": "203.0.113.7"},
         "properties": {"value": 46.0, "currency": "USD", "order_id": "1"},
         "page": {"url": "https://shop.example/thanks"}},
        {"event": "AddToCart", "event_time": 1735689600123, "event_id": 17},
    ],
}


def test_body_rows_keep_wire_values() -> None:
    """A v1.3 body yields one row per event with hashed values as sent, ms converted, ids as text."""
    df = server_frame([BODY])
    assert list(df.columns) == SERVER_COLUMNS
    first, second = df.iloc[0], df.iloc[1]
    assert (first.pixel_code, first.event, first.event_id, first.email) == ("C1", "Purchase", "ord_1_purchase", HASH)
    assert (first.value, first.currency, first.order_id, first.test_event_code) == (46.0, "USD", "1", "TEST1")
    assert first.url == "https://shop.example/thanks"
    assert second.event_time == pytest.approx(1735689600.123)
    assert second.event_id == "17"
    assert math.isnan(second.value)


@pytest.mark.parametrize(
    ("doc", "count"),
    [
        (BODY, 2),
        ({"event": "Lead"}, 1),
        ([{"event": "Lead"}, BODY], 3),
        ({"pixel_code": "C9", "batch": [{"event": "CompletePayment"}]}, 1),
        ("not an event", 0),
        ({"data": "nope"}, 0),
    ],
)
def test_iter_events_shapes(doc: object, count: int) -> None:
    """Full bodies, bare events, lists and 1.0 batches are read; other shapes yield nothing."""
    assert len(list(iter_events(doc))) == count


def test_parse_documents_jsonl_and_errors() -> None:
    """JSONL gives one document per line; a broken line is named."""
    assert len(parse_documents('{"event":"A"}\n\n{"event":"B"}\n')) == 2
    with pytest.raises(InvalidFile, match="line 2"):
        parse_documents('{"event":"A"}\n{"event":\n')
    with pytest.raises(InvalidFile, match="empty"):
        parse_documents("  ")
    with pytest.raises(InvalidFile, match="not valid JSON"):
        parse_documents("{nope")


def test_load_csv_and_jsonl(tmp_path: Path) -> None:
    """CSV with the event columns and JSONL of bodies load to the same columns."""
    csv = tmp_path / "server.csv"
    csv.write_text("event_source_id,event,event_id,event_time,value\nC1,Purchase,0042,1735689600,9.5\n")
    df = load_server_events(csv)
    assert (df.pixel_code[0], df.event_id[0], df.event_time[0], df.value[0]) == ("C1", "0042", 1735689600.0, 9.5)
    jsonl = tmp_path / "server.jsonl"
    jsonl.write_text("\n".join(json.dumps(BODY) for _ in range(3)))
    assert len(load_server_events(jsonl)) == 6


def test_load_csv_missing_columns_named(tmp_path: Path) -> None:
    """A CSV without the required columns is refused with their names."""
    bad = tmp_path / "bad.csv"
    bad.write_text("event,when\nPurchase,1\n")
    with pytest.raises(InvalidFile, match="event_id, event_time"):
        load_server_events(bad)
    with pytest.raises(InvalidFile, match="no such file"):
        load_server_events(tmp_path / "missing.csv")


def test_event_id_is_kept_exactly(tmp_path: Path) -> None:
    """TikTok compares event_id exactly: whitespace and case survive loading from JSON and CSV."""
    df = server_frame([{"event": "Purchase", "event_id": "ord_1_purchase "},
                       {"event": "Purchase", "event_id": "ORD_2"}])
    assert list(df.event_id) == ["ord_1_purchase ", "ORD_2"]
    csv = tmp_path / "server.csv"
    csv.write_text('event_source_id,event,event_id,event_time\nC1,Purchase," ord_3",1735689600\n')
    assert load_server_events(csv).event_id[0] == " ord_3"


SERVER_CSV = (' event_source_id ,event,event_id,event_time,ttp,order_id,value,limited_data_use,index,email\n'
              ' C1 ,Purchase, ord_1 ,1735689600123,t1, 1 ,9.5,true,7,' + HASH + '\n'
              'C1,Purchase,ord_2.0,,t2,2,,no,,\n')


@pytest.mark.parametrize("columns", [
    ("pixel_code", "event", "event_id", "event_time", "ttp", "order_id"), ("value", "limited_data_use", "index"),
    ("email",), ("source", "url"),
])
@pytest.mark.parametrize("kind", ["csv", "csv-junk-time", "csv-int-time", "jsonl"])
def test_projected_load_matches_full_load(tmp_path: Path, kind: str, columns: tuple[str, ...]) -> None:
    """columns= returns those columns (plus the required ones) with the full load's values."""
    path = tmp_path / f"server.{kind.split('-')[0]}"
    if kind == "csv":
        path.write_text(SERVER_CSV)
    elif kind == "csv-junk-time":  # not a number everywhere: read the way a full load reads it
        path.write_text(SERVER_CSV.replace(",,t2,", ",soon,t2,"))
    elif kind == "csv-int-time":
        path.write_text(SERVER_CSV.replace(",,t2,", ",1735689600,t2,"))
    else:
        path.write_text("\n".join(json.dumps(BODY) for _ in range(2)))
    full = load_server_events(path)
    part = load_server_events(path, columns=columns)
    assert list(part.columns) == server_projection(columns)
    pd.testing.assert_frame_equal(part, full[server_projection(columns)])


def test_server_projection() -> None:
    """The required columns are always kept, in SERVER_COLUMNS order; unknown names are refused."""
    assert server_projection(["ttp"]) == ["pixel_code", "event", "event_id", "event_time", "ttp"]
    assert server_projection(None) == SERVER_COLUMNS
    with pytest.raises(InvalidInput, match="Unknown server column"):
        server_projection(["event_name"])


def test_numeric_looking_text_stays_text(tmp_path: Path) -> None:
    """Ids, names and hashes that look like numbers keep their exact text (leading zeros included)."""
    csv = tmp_path / "server.csv"
    csv.write_text("event_source_id,event,event_id,event_time,order_id,ttp\n0012,007,000123,1735689600,0042,0099\n")
    row = load_server_events(csv).iloc[0]
    assert (row.pixel_code, row.event, row.event_id, row.order_id, row.ttp) == ("0012", "007", "000123", "0042", "0099")


# --- uploads for the Compare and Dedup gap pages (server_side, load_server_side) ----------------
T = 1_780_000_000
PX = "CPIXEL0000000000001"
UPLOAD = {"event_source": "web", "event_source_id": PX, "data": [
    {"event": "Purchase", "event_time": T, "event_id": "ord_1_purchase"},
    {"event": "AddToCart", "event_time": T - 60, "event_id": "atc_1"},
]}


def test_server_side_keeps_each_event_as_sent_in_index_order() -> None:
    """server_side pairs every frame row with its event wrapped in the body's top level, by `index`."""
    frame, bodies = server_side([UPLOAD])
    assert len(frame) == len(bodies) == 2
    for _, row in frame.iterrows():
        sent = bodies[int(row["index"])]
        assert sent["event_source_id"] == PX and sent["data"][0]["event_id"] == row["event_id"]


@pytest.mark.parametrize(("name", "data", "has_bodies"), [
    ("server.json", json.dumps(UPLOAD).encode(), True),
    ("server.jsonl", (json.dumps(UPLOAD) + "\n" + json.dumps(UPLOAD) + "\n").encode(), True),
    ("server.CSV", f"event_source_id,event,event_id,event_time\n{PX},Purchase,ord_1_purchase,{T}\n".encode(),
     False),
])
def test_load_server_upload_valid(name: str, data: bytes, has_bodies: bool) -> None:
    """JSON / JSONL uploads give rows and the events as sent; a CSV gives rows only."""
    frame, bodies = load_server_side(data, name)
    assert not frame.empty and set(frame["event_id"]) == {"ord_1_purchase"} | ({"atc_1"} if has_bodies else set())
    assert (bodies is not None) == has_bodies


@pytest.mark.parametrize(("name", "data", "message"), [
    ("server.json", b"", "server.json is empty"),
    ("server.json", b'{"data": [', "not valid JSON"),
    ("server.json", b"\xff\xfe{", "server.json"),
    ("server.csv", b"order,total\n1,9.5\n", "lacks the column(s)"),
])
def test_load_server_upload_invalid(name: str, data: bytes, message: str) -> None:
    """Unreadable uploads raise InvalidFile naming the problem (undecodable bytes included)."""
    with pytest.raises(InvalidFile, match=re.escape(message)):
        load_server_side(data, name)
