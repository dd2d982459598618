"""core.orders: Shopify / WooCommerce / mapped CSV exports, the truth filter and the segments."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import InvalidFile, InvalidInput
from core.orders import COOKIE_AGE_DAYS, SEGMENT_DIMENSIONS, segment_columns, truth_filter
from core.sources.orders import load_orders, read_columns, sniff_format, suggest_mapping

IOS17 = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
         "Version/17.5 Mobile/15E148 Safari/604.1")
IOS16 = ("Mozilla/5.0 (iPhone; CPU iPhone OS 16_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
         "Version/16.6 Mobile/15E148 Safari/604.1")
CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/124.0.0.0 Safari/537.36")

SHOPIFY = """Name,Email,Financial Status,Currency,Total,Created at,Lineitem quantity,Lineitem name,Landing Site
#1001,a@example.com,paid,USD,120.50,2026-05-01 10:15:32 -0400,1,Shirt,/p?utm_source=tiktok&ttclid=E.C.P.abc
#1001,,,,,,2,Mug,
#1002,b@example.com,paid,EUR,"1,049.00",2026-05-02 08:00:00 +0000,1,Lamp,/p?utm_source=google
"""
WOO = """order_id,order_number,order_date,order_total,order_currency,_wc_order_attribution_utm_source,\
_wc_order_attribution_user_agent
501,501,2026-05-03T09:00:00+00:00,30.00,USD,tiktok,"{ua}"
502,502,2026-05-03T10:00:00+00:00,45.10,USD,(direct),"{ua}"
""".replace("{ua}", CHROME)
GENERIC = """ref,when,amount,cur,src
X1,2026-05-04T00:00:00Z,10,usd,tiktok
X2,2026-05-05T00:00:00Z,20,usd,
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_shopify_line_items_group_by_name(tmp_path: Path) -> None:
    """Shopify's export: one order per Name, '#' dropped, order-level fields from the first row."""
    orders = load_orders(write(tmp_path, "orders_export.csv", SHOPIFY))
    f = orders.frame.set_index("order_id")
    assert orders.source == "shopify" and orders.rows_read == 3
    assert list(f.index) == ["1001", "1002"]
    assert f.loc["1001", "total"] == pytest.approx(120.5) and f.loc["1002", "total"] == pytest.approx(1049.0)
    assert f.loc["1001", "created_at"] == pd.Timestamp("2026-05-01 14:15:32", tz="UTC")
    assert (f.loc["1001", "utm_source"], f.loc["1001", "ttclid"]) == ("tiktok", "E.C.P.abc")
    assert (f.loc["1002", "currency"], f.loc["1002", "ttclid"]) == ("EUR", "")
    assert orders.warnings == []


def test_woocommerce_attribution_columns(tmp_path: Path) -> None:
    """WooCommerce's order-attribution meta fills utm_source and user_agent."""
    orders = load_orders(write(tmp_path, "woo.csv", WOO))
    assert orders.source == "woocommerce"
    assert list(orders.frame["order_id"]) == ["501", "502"]
    assert list(orders.frame["utm_source"]) == ["tiktok", "(direct)"]
    assert orders.frame["user_agent"].iloc[0] == CHROME


def test_generic_csv_needs_a_mapping(tmp_path: Path) -> None:
    """An unknown export raises InvalidFile naming missing columns; a mapping reads it."""
    path = write(tmp_path, "mine.csv", GENERIC)
    with pytest.raises(InvalidFile, match="order_id, created_at, currency") as err:
        load_orders(path)
    assert "ref" in str(err.value)  # the file's columns are offered for the mapping
    mapping = {"order_id": "ref", "created_at": "when", "total": "amount", "currency": "cur", "utm_source": "src"}
    orders = load_orders(path, mapping)
    assert orders.source == "generic" and orders.mapping["order_id"] == "ref"
    assert list(orders.frame["currency"]) == ["USD", "USD"]
    assert list(truth_filter(orders)["order_id"]) == ["X1"]
    assert read_columns(path) == ["ref", "when", "amount", "cur", "src"]


@pytest.mark.parametrize(("mapping", "error", "needle"), [
    ({"order_id": "nope"}, InvalidFile, "no column 'nope'"),
    ({"colour": "ref"}, InvalidInput, "not an orders column"),
])
def test_bad_mappings_are_rejected(tmp_path: Path, mapping: dict, error: type, needle: str) -> None:
    """A mapping to a column the file lacks, or to an unknown field, is rejected with the fix."""
    with pytest.raises(error, match=needle):
        load_orders(write(tmp_path, "mine.csv", GENERIC), mapping)


@pytest.mark.parametrize(("text", "needle"), [("", "not a readable CSV"), (None, "no such file")])
def test_unreadable_files(tmp_path: Path, text: str | None, needle: str) -> None:
    """Missing or empty files raise InvalidFile."""
    path = tmp_path / "o.csv"
    if text is not None:
        path.write_text(text)
    with pytest.raises(InvalidFile, match=needle):
        load_orders(path)


@pytest.mark.parametrize(("columns", "fmt"), [
    (["Name", "Created at", "Total", "Lineitem name"], "shopify"),
    (["order_number", "order_date", "order_total"], "woocommerce"),
    (["Order ID", "_wc_order_attribution_utm_source"], "woocommerce"),
    (["id", "date", "total", "currency"], "generic"),
])
def test_sniff_format(columns: list[str], fmt: str) -> None:
    """The export kind is recognised from its header."""
    assert sniff_format(columns) == fmt


def test_suggest_mapping_ignores_case_and_spacing() -> None:
    """Aliases match whatever the case and separators."""
    assert suggest_mapping(["ORDER NUMBER", "Order-Date", "Order Total", "Currency", "TTCLID"]) == {
        "order_id": "ORDER NUMBER", "created_at": "Order-Date", "total": "Order Total", "currency": "Currency",
        "ttclid": "TTCLID"}


FRAME = pd.DataFrame({"order_id": ["1", "2", "3", "4"], "utm_source": ["TikTok", "google", "", "tiktok"],
                      "ttclid": ["", "E.C.P.x", "", ""]})


@pytest.mark.parametrize(("kwargs", "kept"), [
    ({}, ["1", "2", "4"]),
    ({"utm_source": ""}, ["2"]),
    ({"utm_source": "google"}, ["2"]),
    ({"require_ttclid_or_utm": False}, ["1", "2", "3", "4"]),
])
def test_truth_filter(kwargs: dict, kept: list[str]) -> None:
    """The truth set is utm_source match (any case) or a ttclid, unless the filter is off."""
    assert list(truth_filter(FRAME, **kwargs)["order_id"]) == kept


def test_segment_columns() -> None:
    """Segments: browser and OS major from ua-parser, iOS 17+, cookie age, page load and day."""
    frame = pd.DataFrame({
        "order_id": ["1", "2", "3", "4"], "user_agent": [IOS17, IOS16, CHROME, ""],
        "cookie_age_days": [0.0, COOKIE_AGE_DAYS + 1, float("nan"), COOKIE_AGE_DAYS],
        "page_load_s": [1.0, 6.5, float("nan"), 5.0],
        "created_at": pd.to_datetime(["2026-05-01T23:59:00Z", "2026-05-02T00:01:00Z", None, "2026-05-02T10:00:00Z"],
                                     utc=True),
    })
    seg = segment_columns(frame)
    assert set(SEGMENT_DIMENSIONS) <= set(seg.columns)
    assert list(seg["browser"]) == ["Mobile Safari", "Mobile Safari", "Chrome", "unknown"]
    assert list(seg["os"]) == ["iOS 17", "iOS 16", "Windows 10", "unknown"]
    assert list(seg["ios_ltp"]) == ["iOS 17+", "iOS ≤16", "not iOS", "not iOS"]
    assert list(seg["cookie_age"]) == ["≤7 d", ">7 d", "unknown", "≤7 d"]
    assert list(seg["page_load"]) == ["≤5 s", ">5 s", "unknown", "≤5 s"]
    assert list(seg["day"]) == ["2026-05-01", "2026-05-02", "", "2026-05-02"]


@pytest.mark.parametrize(("raw", "expected"), [
    (["#1001", "1002"], ["1001", "1002"]),
    ([" 1001.0 ", "1002"], ["1001", "1002"]),
    (["1001", "1002"], ["1001", "1002"]),
    (["##7.00", "v1.0", None], ["7", "v1.0", ""]),
    (["# 5", "5.5"], [" 5", "5.5"]),
])
def test_order_ids_are_normalized(raw: list[str | None], expected: list[str]) -> None:
    """Order ids: trimmed, leading '#' dropped, '1001.0' as '1001'; steps no id needs change nothing."""
    from core.sources.orders import _norm_ids

    assert _norm_ids(pd.Series(raw, dtype="string")).tolist() == expected


def test_upload_helpers_read_bytes_and_name_missing_columns() -> None:
    """Uploaded bytes load like a file; missing columns raise MissingOrderColumns carrying the file's columns."""
    from core.errors import MissingOrderColumns

    data = "\ufeffref,when,amount,cur\n1001,2026-05-01T10:00:00Z,12.5,EUR\n".encode()
    assert read_columns(data) == ["ref", "when", "amount", "cur"]
    with pytest.raises(InvalidFile, match="empty"):  # an empty upload: a message, not an empty header
        read_columns(b"")
    with pytest.raises(MissingOrderColumns) as missing:
        load_orders(data)
    assert missing.value.columns == ["ref", "when", "amount", "cur"]
    with pytest.raises(MissingOrderColumns, match="no column 'nope'"):
        load_orders(data, {"order_id": "nope"})
    orders = load_orders(data, {"order_id": "ref", "created_at": "when", "total": "amount", "currency": "cur"})
    assert list(orders.frame["order_id"]) == ["1001"]


def _one_row_per_order(ids: list[str], created: list[str], line_items: bool) -> list[int] | None:
    """Plain-loop oracle: rows with an id; per repeated id, its first dated row, else its first row."""
    rows = [i for i, oid in enumerate(ids) if oid != ""]
    if not line_items and len({ids[i] for i in rows}) == len(rows):
        return None if len(rows) == len(ids) else rows
    picked = []
    for oid in dict.fromkeys(ids[i] for i in rows):
        mine = [i for i in rows if ids[i] == oid]
        picked.append(next((i for i in mine if created[i].strip()), mine[0]))
    return sorted(picked)


@pytest.mark.parametrize(("ids", "created", "line_items", "expected"), [
    (["1", "1", "2"], ["d1", "", "d2"], True, [0, 2]),  # Shopify: the dated first line item
    (["1", "1", "2"], ["", "d1", "d2"], True, [1, 2]),  # dated row after an undated one wins
    (["1", "2", "1", "2"], ["", "d2", "", ""], True, [0, 1]),  # unsorted; no dated row: the first
    (["2", "1", "2", "1"], [" ", "", "\t", "d1"], True, [0, 3]),  # whitespace-only dates count as blank
    (["1", "", "1", ""], ["", "d", "d1", "d"], False, [2]),  # blank ids dropped; repeats picked
    (["1", "2", "3"], ["", "", ""], False, None),  # distinct ids, not line items: every row as is
    (["1", "", "3"], ["d", "d", "d"], False, [0, 2]),  # distinct ids, a blank one dropped
    (["1", "2", "3"], ["d", "d", "d"], True, [0, 1, 2]),
    ([], [], True, []),
])
def test_pick_order_rows(ids: list[str], created: list[str], line_items: bool,
                         expected: list[int] | None) -> None:
    """One row per order: its first row with a created_at, else its first row; blank ids dropped."""
    import numpy as np
    import pyarrow as pa

    from core.sources.orders import pick_order_rows

    assert _one_row_per_order(ids, created, line_items) == expected
    chunked = pa.chunked_array([pa.array(ids[:2], pa.string()), pa.array(ids[2:], pa.string())])
    keep = pick_order_rows(chunked, pa.array(created, pa.string()), line_items=line_items)
    assert (None if keep is None else np.flatnonzero(keep).tolist()) == expected


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["", "1", "2", "3", "10", "x"]), st.sampled_from(["", " ", "d", "e"])),
                max_size=30), st.booleans())
def test_pick_order_rows_matches_a_plain_loop(rows: list[tuple[str, str]], line_items: bool) -> None:
    """The vectorized row pick equals the plain-loop rule on any mix of ids, blanks and row orders."""
    import numpy as np
    import pyarrow as pa

    from core.sources.orders import pick_order_rows

    ids, created = [r[0] for r in rows], [r[1] for r in rows]
    keep = pick_order_rows(pa.array(ids, pa.string()), pa.array(created, pa.string()), line_items=line_items)
    assert (None if keep is None else np.flatnonzero(keep).tolist()) == _one_row_per_order(ids, created, line_items)


def test_shopify_rows_are_picked_per_order_in_file_order(tmp_path: Path) -> None:
    """'#' prefixes, unsorted line items, blank ids and blank dates: one row per order, in file order."""
    path = tmp_path / "orders.csv"
    path.write_text(
        "Name,Created at,Total,Currency,Lineitem name,Landing Site\n"
        "#2,,,,Mug,\n"
        "#1,2026-05-01T10:00:00Z,10,usd,Shirt,/p?ttclid=A&utm_source=tiktok\n"
        ",2026-05-01T11:00:00Z,99,usd,Orphan,\n"
        "2,2026-05-02T10:00:00Z,20,eur,Lamp,/p?utm_source=google#x\n"
        " #1 ,2026-05-03T10:00:00Z,30,usd,Hat,\n"
        "#3,,,,Pen,\n"
        "#3,,7,usd,Ink,\n", encoding="utf-8")
    frame = load_orders(path).frame
    assert frame["order_id"].tolist() == ["1", "2", "3"]
    assert frame["total"].tolist()[:2] == [10.0, 20.0] and pd.isna(frame["total"].iloc[2])
    assert frame["currency"].tolist() == ["USD", "EUR", ""]
    assert frame["utm_source"].tolist() == ["tiktok", "google", ""]
    assert frame["ttclid"].tolist() == ["A", "", ""]
    assert list(frame.index) == [0, 1, 2]


def test_user_agents_read_coded_come_back_as_text(tmp_path: Path) -> None:
    """User agents (read dictionary-encoded) come back trimmed text, also when mapped to the id column."""
    path = tmp_path / "orders.csv"
    path.write_text("Name,Created at,Total,Currency,User Agent\n"
                    f"#1,2026-05-01T10:00:00Z,10,USD,\" {CHROME} \"\n#1,,,,\n"
                    "#2,2026-05-01T11:00:00Z,20,USD,\n", encoding="utf-8")
    assert load_orders(path).frame["user_agent"].tolist() == [CHROME, ""]
    assert load_orders(path, {"user_agent": "Name"}).frame["user_agent"].tolist() == ["#1", "#2"]


@pytest.mark.parametrize("created", [
    "2026-05-01 00:23:55 +0000", "2026-05-01T00:23:55Z", "2026-05-01T02:23:55+02:00", "1777595035",
    "1777595035000", "1777595035000000",
])
def test_uploaded_orders_fall_on_their_own_day(created: str) -> None:
    """Uploaded orders keep nanosecond UTC datetimes, so the daily series puts them on their own day."""
    import io

    from core.dedup import simulate

    data = f"order_id,created_at,total,currency,utm_source\n1001,{created},10,USD,tiktok\n".encode()
    upload = io.BytesIO(data)
    upload.name = "export.csv"  # type: ignore[attr-defined]
    orders = load_orders(upload)
    assert str(orders.frame["created_at"].dtype) == "datetime64[ns, UTC]"
    assert segment_columns(orders.frame)["day"].tolist() == ["2026-05-01"]
    pixel = pd.DataFrame({"pixel_code": ["C1"], "event": ["Purchase"], "event_id": ["ord_1001_purchase"],
                          "timestamp": [1777595035.0], "order_id": ["1001"]})
    server = pixel.rename(columns={"timestamp": "event_time"})
    report = simulate(pixel, server, orders=segment_columns(truth_filter(orders)))
    assert report.daily is not None
    assert report.daily.set_index("day")["truth"].to_dict() == {"2026-05-01": 1}


def test_json_given_as_orders_is_refused_at_once(tmp_path: Path) -> None:
    """A JSON file given as orders is a clear error naming the format, before anything is parsed."""
    path = tmp_path / "orders.json"
    path.write_text('{"data": [' + "[" * 50_000 + "]" * 50_000 + "]}")
    with pytest.raises(InvalidFile, match=r"orders\.json is JSON, not a CSV export of orders"):
        load_orders(path)
