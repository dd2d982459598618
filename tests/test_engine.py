"""The analysis engine gives core.dedup's figures, from every input format, with bounded memory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.contract import DEDUP_WINDOW_SECONDS as W
from core.contract import MERGE_WINDOW_SECONDS as M
from core.dedup import simulate
from core.engine import KEY_FIELDS, SUMMARY_FIELDS, dedup_files, to_spark_sql
from core.errors import InvalidFile, InvalidInput
from tests.test_dedup import PX, SCENARIOS, T, frames, reference

H = 3600.0
FIELDS = (*SUMMARY_FIELDS,)


def write_events(folder: Path, pixel: pd.DataFrame, server: pd.DataFrame, fmt: str = "csv") -> tuple[Path, Path]:
    """The frames as event files the console reads: CSV (times as text) or Parquet."""
    folder.mkdir(parents=True, exist_ok=True)
    p, s = folder / f"pixel.{fmt}", folder / f"server.{fmt}"
    px = pixel.rename(columns={"timestamp": "timestamp"}).astype({"timestamp": "float64"})
    sv = server.rename(columns={"pixel_code": "event_source_id"}).astype({"event_time": "float64"})
    if fmt == "csv":
        px.assign(timestamp=px["timestamp"].map(repr)).to_csv(p, index=False)
        sv.assign(event_time=sv["event_time"].map(lambda v: "" if pd.isna(v) else repr(v))).to_csv(s, index=False)
    else:
        pq.write_table(pa.Table.from_pandas(px, preserve_index=False), p)
        pq.write_table(pa.Table.from_pandas(sv, preserve_index=False), s)
    return p, s


def engine_summary(tmp: Path, pixel: pd.DataFrame, server: pd.DataFrame, fmt: str = "csv",
                   **kwargs: Any) -> dict[str, Any]:
    p, s = write_events(tmp, pixel, server, fmt)
    return dedup_files(p, s, memory_limit="512MB", **kwargs)


def simulated(pixel: pd.DataFrame, server: pd.DataFrame) -> dict[str, Any]:
    return {k: simulate(pixel, server).summary[k] for k in FIELDS}


# --- the hand-worked scenarios ------------------------------------------------------------------------
@pytest.mark.parametrize(("pixel", "server", "expected"), SCENARIOS.values(), ids=SCENARIOS.keys())
def test_scenarios_equal_the_simulator(tmp_path: Path, pixel: list, server: list, expected: dict) -> None:
    """Each dedup scenario of the suite gives the simulator's figures, every one of them."""
    p, s = frames(pixel, server)
    got = engine_summary(tmp_path, p, s)
    assert {k: got[k] for k in FIELDS} == simulated(p, s)
    assert {k: got[k] for k in expected} == expected


# --- random inputs against both oracles ---------------------------------------------------------------
_TIMES = [0.0, 0.0004, 60.0, M, M + 0.001, M + 1, H, W - 1, W, W + 0.001, W + 1, 2 * W, 2 * W + 5, 3 * W, 4 * W + 1]
_plain = st.lists(st.tuples(st.sampled_from(["", "a", "b", "c"]), st.sampled_from(_TIMES)), max_size=8)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_plain, _plain)
def test_matches_the_plain_loop_reference(tmp_path: Path, pixel: list, server: list) -> None:
    """On random small inputs the engine equals the plain-loop reference of the documented rules."""
    p, s = frames(pixel, server)
    got = engine_summary(tmp_path, p, s)
    want = reference(pixel, server)
    assert {k: got[k] for k in want} == want


_rich = st.lists(st.tuples(
    st.sampled_from(["", "a", "b", "A", " a"]),
    st.floats(min_value=-H, max_value=5 * W, allow_nan=False).map(lambda v: round(v, 3))
    | st.sampled_from(_TIMES),
    st.sampled_from(["Purchase", "CompletePayment"]),
    st.sampled_from([PX, "C2"]),
), max_size=12)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_rich, _rich, st.lists(st.booleans(), max_size=12))
def test_matches_the_vectorized_simulator(tmp_path: Path, pixel: list, server: list, untimed: list) -> None:
    """Random keys, names, codes and times (some server times missing): every figure as core.dedup's."""
    p, s = frames(pixel, server)
    for i, drop in enumerate(untimed[: len(s)]):
        if drop:
            s.loc[i, "event_time"] = float("nan")
    got = engine_summary(tmp_path, p, s)
    assert {k: got[k] for k in FIELDS} == simulated(p, s)


# --- formats ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A small synthetic store month as files (CSV, JSONL, and Parquet copies of the CSVs)."""
    from core.demo import generate_store, write_store

    out = tmp_path_factory.mktemp("demo")
    files = {k: Path(v) for k, v in write_store(generate_store(400, seed=11), out).items()}
    for name in ("pixel", "server", "orders"):
        table = pd.read_csv(files[f"{name}.csv"], dtype=str, keep_default_na=False)
        files[f"{name}.parquet"] = out / f"{name}.parquet"
        pq.write_table(pa.Table.from_pandas(table, preserve_index=False), files[f"{name}.parquet"])
    return files


def loaders_summary(files: dict[str, Path], pixel: str, server: str, orders: str | None, **kw: Any) -> dict[str, Any]:
    """What `tiktok-events dedup --format json` computes today: the loaders, then core.dedup.simulate."""
    from core.dedup import PIXEL_INPUT_COLUMNS, SERVER_INPUT_COLUMNS
    from core.orders import segment_columns, truth_filter
    from core.sources.orders import load_orders
    from core.sources.pixel import load_pixel_events
    from core.sources.server import load_server_events

    p = load_pixel_events(files[pixel], columns=PIXEL_INPUT_COLUMNS).events
    s = load_server_events(files[server], columns=SERVER_INPUT_COLUMNS)
    truth = None
    if orders:
        truth = segment_columns(truth_filter(load_orders(files[orders]), utm_source=kw.get("utm_source", "tiktok"),
                                             require_ttclid_or_utm=not kw.get("all_orders", False)))
    report = simulate(p, s, orders=truth, link=kw.get("link", "order_id"),
                      template=kw.get("template", "ord_{order_id}_purchase"))
    from core.engine import ORDER_FIELDS, SUMMARY_FIELDS

    # the figures the engine computes (the command adds how orders linked and where segments came from)
    out = {k: v for k, v in report.summary.items() if k in (*SUMMARY_FIELDS, *ORDER_FIELDS)}
    assert report.daily is not None
    out["daily"] = report.daily[["day", "pixel_alone", "counted"]]
    out["orders"] = report.orders
    return out


def command_doc(files: dict[str, Path], pixel: str, server: str, orders: str | None, **kw: Any) -> dict[str, Any]:
    """What `tiktok-events dedup --engine memory --format json` prints: the loaders, then core.dedup."""
    from core.dedup import dedup_files as memory_dedup_files

    return memory_dedup_files(files[pixel], files[server], files[orders] if orders else None, **kw).to_dict()


@pytest.mark.parametrize("kwargs", [
    {},
    {"all_orders": True},
    {"utm_source": ""},
    {"link": "order_id"},
    {"link": "event_id_template", "template": "ord_{order_id}_purchase"},
    {"link": "event_id_template", "template": "ord_{order_id}_{event}"},
    {"link": "event_id_template", "template": "order-{order_id}"},
])
def test_demo_month_equals_the_command(demo: dict[str, Path], kwargs: dict) -> None:
    """A store month with orders: every figure of the memory engine's command (link, segment sources, near
    misses, daily series, truth rule), for each link and truth rule."""
    want = command_doc(demo, "pixel.csv", "server.csv", "orders.csv", **kwargs)
    got = dedup_files(demo["pixel.csv"], demo["server.csv"], demo["orders.csv"], **kwargs)
    assert got == want


def test_auto_link_finds_the_event_id_shape(tmp_path: Path, demo: dict[str, Path]) -> None:
    """Without properties.order_id the automatic link reads the order id out of the event ids, as the
    memory engine does: same template, same linked orders and figures."""
    for name in ("pixel", "server"):
        table = pd.read_csv(demo[f"{name}.csv"], dtype=str, keep_default_na=False).drop(columns=["order_id"])
        table.to_csv(tmp_path / f"{name}.csv", index=False)
    files = {"pixel.csv": tmp_path / "pixel.csv", "server.csv": tmp_path / "server.csv",
             "orders.csv": demo["orders.csv"]}
    want = command_doc(files, "pixel.csv", "server.csv", "orders.csv")
    got = dedup_files(files["pixel.csv"], files["server.csv"], files["orders.csv"])
    assert want["link"]["mode"] == "event_id_template" and want["link"]["linked_orders"] > 0
    assert got == want


@pytest.mark.parametrize(("pixel", "server", "orders"), [
    ("pixel.parquet", "server.parquet", "orders.parquet"),
    ("pixel.jsonl", "server.jsonl", "orders.csv"),
    ("pixel.csv", "server.jsonl", "orders.parquet"),
])
def test_formats_give_identical_results(demo: dict[str, Path], pixel: str, server: str, orders: str) -> None:
    """CSV, Parquet and JSONL inputs of the same month give the same figures and daily series."""
    want = dedup_files(demo["pixel.csv"], demo["server.csv"], demo["orders.csv"])
    assert dedup_files(demo[pixel], demo[server], demo[orders]) == want


def test_jsonl_streams_in_chunks(demo: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """JSONL is read a chunk of lines at a time; the figures do not depend on the chunk size."""
    from core.engine import sources

    want = dedup_files(demo["pixel.jsonl"], demo["server.jsonl"])
    monkeypatch.setattr(sources, "_CHUNK_LINES", 7)
    assert dedup_files(demo["pixel.jsonl"], demo["server.jsonl"]) == want


def test_a_stream_error_comes_out_while_the_orders_are_read_alongside(
        tmp_path: Path, demo: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """The orders are read on a second connection while the events are paired: a Pixel JSONL broken deep
    inside still fails with its reader's own message (not the engine's), and the orders' reading stops."""
    from core.engine import sources

    monkeypatch.setattr(sources, "_CHUNK_LINES", 50)
    lines = demo["pixel.jsonl"].read_text().splitlines()
    broken = tmp_path / "pixel.jsonl"
    broken.write_text("\n".join([*lines, '{"event": "Purchase", "properties": {"value": ', *lines[:3]]) + "\n")
    orders = tmp_path / "orders.csv"
    with demo["orders.csv"].open() as src, orders.open("w") as out:
        header = src.readline()
        body = src.read()
        out.write(header + body * 40)  # long enough to be read while the events fail
    with pytest.raises(InvalidFile, match=r"pixel\.jsonl"):
        dedup_files(broken, demo["server.jsonl"], orders)


def test_har_pixel_input(tmp_path: Path, demo: dict[str, Path]) -> None:
    """A Pixel HAR goes through the console's HAR reader into the engine."""
    from core.sources.pixel import load_pixel_events

    har = {"log": {"version": "1.2", "entries": [{
        "request": {"method": "POST", "url": "https://analytics.tiktok.com/api/v2/pixel",
                    "postData": {"mimeType": "application/json", "text": json.dumps({
                        "event": "CompletePayment", "event_id": "ord_1001_purchase", "message_id": "m1",
                        "context": {"pixel": {"code": PX}}, "timestamp": "2026-05-01T10:00:00.000Z",
                        "properties": {"order_id": "1001"}})}},
        "response": {"status": 200}}]}}
    path = tmp_path / "capture.har"
    path.write_text(json.dumps(har))
    rows = load_pixel_events(path).events
    server = tmp_path / "server.csv"
    pd.DataFrame({"event_source_id": [PX], "event": ["CompletePayment"], "event_id": ["ord_1001_purchase"],
                  "event_time": ["1777629660"]}).to_csv(server, index=False)
    got = dedup_files(path, server)
    assert got["pixel_events"] == len(rows) == 1
    assert got["merged_pairs"] == 1 and got["counted"] == 1


# --- loader normalisation ---------------------------------------------------------------------------
def test_csv_values_are_normalised_as_the_loaders_do(tmp_path: Path) -> None:
    """Trimmed names and codes, event_id exactly as sent ("12.0" -> "12" on the Pixel side), ISO and
    millisecond timestamps, rows without a time dropped on the Pixel side and counted alone on the server."""
    pixel = tmp_path / "pixel.csv"
    server = tmp_path / "server.csv"
    pixel.write_text("pixel_id,event_name,event_id,timestamp,order_id\n"
                     f" {PX} , Purchase ,12.0,2026-05-01T10:00:00.000Z, #1001 \n"
                     f"{PX},Purchase,x ,{int(T * 1000)},\n"
                     f"{PX},Purchase,y,not a time,\n")
    server.write_text("event_source_id,event,event_id,event_time,order_id\n"
                      f"{PX} ,Purchase ,12,1777629720, 1001\n"
                      f"{PX},Purchase,x ,{T + 60},\n"
                      f"{PX},Purchase,z,,\n")
    from core.dedup import PIXEL_INPUT_COLUMNS, SERVER_INPUT_COLUMNS
    from core.sources.pixel import load_pixel_events
    from core.sources.server import load_server_events

    want = simulate(load_pixel_events(pixel, columns=PIXEL_INPUT_COLUMNS).events,
                    load_server_events(server, columns=SERVER_INPUT_COLUMNS)).summary
    got = dedup_files(pixel, server)
    assert {k: got[k] for k in FIELDS} == {k: want[k] for k in FIELDS}
    assert (got["pixel_events"], got["merged_pairs"], got["missing_time"]) == (2, 2, 1)


@pytest.mark.parametrize("created", ["2026-05-01 00:23:55 +0000", "2026-05-01T00:23:55Z", "1777594935",
                                     "1777594935000", "2026-05-01T02:23:55+02:00"])
def test_order_times_in_every_form_land_on_their_day(tmp_path: Path, created: str) -> None:
    """created_at as Shopify writes it, ISO-8601, epoch seconds or milliseconds: one truth order that day."""
    pixel, server = write_events(tmp_path, *frames([("ord_1001_purchase", 0)], []))
    orders = tmp_path / "orders.csv"
    orders.write_text(f"Name,Created at,Total,Currency,Landing Site\n#1001,{created},10,EUR,/?ttclid=abc\n")
    got = dedup_files(pixel, server, orders, link="event_id_template")
    assert got["truth"] == got["truth_pixel"] == 1
    assert [d for d in got["daily"] if d["truth"]] == [
        {"day": "2026-05-01", "truth": 1, "truth_pixel": 1, "truth_counted": 1, "pixel_events": 0,
         "pixel_alone": 0, "counted": 0}]


# --- per-key pages -------------------------------------------------------------------------------------
def test_key_pages_are_limited_and_add_up(demo: dict[str, Path]) -> None:
    """Keys come a page at a time, in a stable order; all pages together count every conversion."""
    first = dedup_files(demo["pixel.csv"], demo["server.csv"], keys_offset=0, keys_limit=50)
    assert len(first["keys"]) == 50 and list(first["keys"][0]) == list(KEY_FIELDS)
    second = dedup_files(demo["pixel.csv"], demo["server.csv"], keys_offset=50, keys_limit=50)
    assert first["keys"] != second["keys"]
    everything = dedup_files(demo["pixel.csv"], demo["server.csv"], keys_offset=0, keys_limit=10**9)
    assert sum(k["counted"] for k in everything["keys"]) == everything["counted"]
    assert "keys" not in dedup_files(demo["pixel.csv"], demo["server.csv"])


def test_key_page_verdicts_match_the_simulator(tmp_path: Path) -> None:
    """Each key's verdict, times and repeat counts are the simulator's."""
    p, s = frames([("a", 0), ("a", 60), ("b", 0), ("", 5)], [("a", 120), ("c", 0), ("b", W + 1)])
    got = engine_summary(tmp_path, p, s, keys_offset=0, keys_limit=100)["keys"]
    want = simulate(p, s).keys
    assert sorted((k["event_id"], k["verdict"], k["pixel_events"], k["server_events"], k["counted"]) for k in got) \
        == sorted(zip(want["event_id"], want["verdict"], want["pixel_events"], want["server_events"], want["counted"],
                      strict=True))


# --- settings and errors ------------------------------------------------------------------------------
@pytest.mark.parametrize(("kwargs", "error", "needle"), [
    ({"link": "event_id_template", "template": "ord_purchase"}, InvalidInput, "exactly one"),
    ({"link": "fuzzy"}, InvalidInput, "Unknown link mode"),
    ({"engine": "sqlite"}, InvalidInput, "Unknown engine"),
    ({"memory_limit": "lots"}, InvalidInput, "memory_limit"),
])
def test_bad_settings_say_what_to_do(tmp_path: Path, kwargs: dict, error: type, needle: str) -> None:
    """A bad link, engine or memory limit is an InvalidInput naming the fix."""
    p, s = write_events(tmp_path, *frames([("a", 0)], [("a", 0)]))
    with pytest.raises(error, match=needle):
        dedup_files(p, s, **kwargs)


def test_missing_columns_and_files_are_named(tmp_path: Path) -> None:
    """A CSV without a needed column, or no file at all, is an InvalidFile naming it."""
    p, s = write_events(tmp_path, *frames([("a", 0)], [("a", 0)]))
    bad = tmp_path / "bad.csv"
    bad.write_text("event_source_id,event,event_time\nC,Purchase,1\n")
    with pytest.raises(InvalidFile, match="event_id"):
        dedup_files(p, bad)
    with pytest.raises(InvalidFile, match="no such file"):
        dedup_files(tmp_path / "nope.csv", s)


@pytest.mark.parametrize("slot", ["pixel", "server", "orders"])
@pytest.mark.parametrize(("bad_line", "good_after"), [("{},a,b,c,d,e,f,g", 3000), ('{},"open quote', 2000),
                                                      ("{},short", 0)])
def test_a_ragged_csv_line_is_named_not_a_traceback(tmp_path: Path, slot: str, bad_line: str, good_after: int
                                                    ) -> None:
    """A line with more or fewer fields than the header, or a quote left open, in any of the three files
    (early, where the engine sniffs, or deep in a big file) is an InvalidFile naming the file and, deep in
    the file, the line; the line's text (customers' data) is not repeated."""
    headers = {"pixel": "pixel_code,event,event_id,timestamp,order_id",
               "server": "event_source_id,event,event_id,event_time,order_id",
               "orders": "Name,Created at,Total,Currency,Landing Site"}
    row = {"pixel": "C1,Purchase,ord_{i},1777593661,{i}", "server": "C1,Purchase,ord_{i},1777593662,{i}",
           "orders": "#{i},2026-05-01 00:00:00 +0000,1,EUR,/?utm_source=tiktok"}
    paths = {}
    for name in ("pixel", "server", "orders"):
        lines = [headers[name], *(row[name].format(i=i) for i in range(1, 30_000 if name == slot else 3))]
        if name == slot:
            lines.insert(len(lines) - good_after, bad_line.format("secret@example.com"))
        paths[name] = tmp_path / f"{name}.csv"
        paths[name].write_text("\n".join(lines) + "\n")
    with pytest.raises(InvalidFile) as err:
        dedup_files(paths["pixel"], paths["server"], paths["orders"])
    message = str(err.value) + err.value.hint
    assert f"{slot}.csv is not a readable CSV" in message and "secret@" not in message
    if good_after >= 2000:
        assert f"(line {30_000 - good_after + 1:,})" in message

def test_progress_and_spill_settings(tmp_path: Path) -> None:
    """Progress arrives as lines; a small memory limit and a chosen spill folder still give the figures."""
    p, s = frames([("a", 0), ("a", 3 * W)], [("a", 30)])
    lines: list[str] = []
    spill = tmp_path / "spill"
    spill.mkdir()
    got = engine_summary(tmp_path, p, s, progress=lines.append)
    again = dedup_files(*write_events(tmp_path / "again", p, s), memory_limit="64MB", temp_dir=spill)
    assert got == again and lines[-1] == "done" and any("occurrence 2" in line for line in lines)


def test_spark_sql_spellings() -> None:
    """SQLGlot's Spark SQL keeps millisecond epochs and reads Shopify's '+0000' times."""
    sql = to_spark_sql("SELECT epoch(TRY_CAST(x AS TIMESTAMPTZ)), try_strptime(x, '%Y-%m-%d %H:%M:%S %z'), "
                       "arg_min(a, b) FROM t")
    assert all(name in sql.lower() for name in ("unix_micros", "try_to_timestamp", "min_by"))


def test_spark_remote_setting_comes_from_the_environment() -> None:
    """SPARK_REMOTE is read in core.config like every other setting (trimmed; unset is None)."""
    from core.config import resolve_settings

    assert resolve_settings({"SPARK_REMOTE": " sc://spark.internal:15002 "})[0].spark_remote == "sc://spark.internal:15002"
    assert resolve_settings({})[0].spark_remote is None


# --- what the memory engine adds, on random inputs ------------------------------------------------------
_IDS = ["ord_1_purchase", "ord_2_purchase", "ORD_1_purchase", " ord_2_purchase", "1", "2.0", "order-3", "#3",
        "ord_3_purchase", "x", ""]
_linked_events = st.lists(st.tuples(
    st.sampled_from(_IDS),
    st.sampled_from([0.0, 60.0, M + 1, H, W, W + 1, 2 * W + 5, 3 * W]),
    st.sampled_from(["Purchase", "CompletePayment"]),
    st.sampled_from(["", "1", "2", " #3", "9"]),  # properties.order_id
    st.sampled_from(["", "ttp_a", "ttp_b"]),
), min_size=1, max_size=10)


_UA = ["", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
       "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36"]


def _random_files(tmp: Path, pixel: list, server: list, fmt: str, agents: bool = False) -> tuple[Path, Path, Path]:
    """Event files from (event_id, seconds, event, order_id, ttp) tuples, and four orders; with `agents`
    the orders have no user-agent column and the events carry user agents (drawn from the tuples)."""
    def frame(items: list, time_col: str) -> pd.DataFrame:
        rows = [{"pixel_code": PX, "event": ev, "event_id": eid, time_col: T + dt, "ttp": ttp, "order_id": oid,
                 "user_agent": _UA[(i + len(eid)) % 3]} for i, (eid, dt, ev, oid, ttp) in enumerate(items)]
        out = pd.DataFrame(rows, columns=["pixel_code", "event", "event_id", time_col, "ttp", "order_id",
                                          "user_agent"])
        return out if agents else out.drop(columns=["user_agent"])

    tmp.mkdir(parents=True, exist_ok=True)
    p, s = write_events(tmp, frame(pixel, "timestamp"), frame(server, "event_time"), fmt)
    orders = tmp / "orders.csv"
    table = pd.DataFrame({
        "order_id": ["1", "2", "3", "4"], "created_at": ["2026-05-01T10:00:00Z", "2026-05-02T10:00:00Z", "",
                                                         "2026-05-03T10:00:00Z"],
        "total": ["10", "20", "30", "40"], "currency": ["EUR"] * 4, "utm_source": ["tiktok"] * 3 + ["google"],
        "user_agent": [_UA[1], "", "", ""], "cookie_age_days": ["3", "", "9", ""]})
    (table.drop(columns=["user_agent"]) if agents else table).to_csv(orders, index=False)
    return p, s, orders


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_linked_events, _linked_events, st.sampled_from(["auto", "order_id"]), st.sampled_from(["csv", "parquet"]),
       st.booleans())
def test_link_near_misses_and_segments_equal_the_memory_engine(tmp_path: Path, pixel: list, server: list,
                                                               link: str, fmt: str, agents: bool) -> None:
    """Random ids in common shapes, order ids present or not, _ttp values: the engine's whole document
    (link, linked figures, segment sources, near misses per kind, _ttp hints, daily) is the memory engine's."""
    from core.dedup import dedup_files as memory_dedup_files

    p, s, orders = _random_files(tmp_path, pixel, server, "csv", agents)
    want = memory_dedup_files(p, s, orders, link=link).to_dict()  # type: ignore[arg-type]
    if fmt != "csv":  # the memory engine reads no Parquet: the same rows in Parquet for the engine
        p, s, _ = _random_files(tmp_path / fmt, pixel, server, fmt, agents)
    got = dedup_files(p, s, orders, link=link, memory_limit="512MB")  # type: ignore[arg-type]
    assert got == want


def test_segment_sources_from_order_flags_equal_the_texts(tmp_path: Path, demo: dict[str, Path]) -> None:
    """The command reads only flags of the orders' segment columns (whether the picked row has its own user
    agent, cookie age, page load); blank and padded texts, numbers that are no numbers, and line items after
    the picked row count as the memory engine counts them, and as the segment table's path does."""
    nbsp = "\u00a0"
    rows = [  # Name, Created at, User Agent, Cookie age (days), Page load (s), Landing Site
        ("#1001", "2026-05-01 10:00:00 +0000", "   ", "n/a", "nan", "/?utm_source=tiktok"),
        ("#1001", "", "Mozilla/5.0 (iPhone)", "5", "1.2", ""),  # a line item: not the order's row
        ("#1002", "", "Mozilla/5.0 (Windows)", "", "", "/?utm_source=tiktok"),  # no created_at: not picked
        ("#1002", "2026-05-01 11:00:00 +0000", f"{nbsp}Mozilla/5.0 (Macintosh)", " 7 ", "", "/?ttclid=E.C.P.9"),
        ("#1003", "1777629600", "Mozilla/5.0", "1e400", " 2.5", "/?utm_source=tiktok"),
        ("#1004", "", "", "", "", "/?utm_source=tiktok"),  # undated: its first line
        ("#1005", "2026-05-02T10:00:00Z", "\t", "-3", "x1", "/?utm_source=google"),  # not in the truth set
    ]
    orders = tmp_path / "orders.csv"
    pd.DataFrame(rows, columns=["Name", "Created at", "User Agent", "Cookie age (days)", "Page load (s)",
                                "Landing Site"]).assign(Total="10", Currency="EUR", **{"Lineitem name": "Tee"}) \
        .to_csv(orders, index=False)
    files = {**demo, "orders.csv": orders}
    want = command_doc(files, "pixel.csv", "server.csv", "orders.csv")
    got = dedup_files(demo["pixel.csv"], demo["server.csv"], orders)
    assert got == want and got["truth"] == 4
    with_table = dedup_files(demo["pixel.csv"], demo["server.csv"], orders, tables=True)
    assert with_table["segment_sources"] == got["segment_sources"]


@pytest.mark.parametrize("utm_source", ["tiktok", "TikTok ", "", "google", "é"])
def test_attribution_from_landing_urls_equals_the_memory_engine(tmp_path: Path, demo: dict[str, Path],
                                                                 utm_source: str) -> None:
    """Which orders are TikTok's is judged from the first utm_source / ttclid of the landing URL as the
    memory engine reads it: empty values, fragments, case, longer values, repeated parameters, a parameter
    name inside another, and the file's own utm_source column before the URL."""
    landings = [
        "/p?utm_source=tiktok", "/p?utm_source=TikTok&x=1", "/p?utm_source=tiktokx", "/p?utm_source=tik",
        "/p?utm_source=tiktok#top", "/p?a=1&utm_source=google&utm_source=tiktok", "/p?xutm_source=tiktok",
        "/p?ttclid=&utm_source=google", "/p?ttclid=#x", "/p?ttclid=E.C.P.1", "/p?x=1&ttclid=abc#f",
        "/p?ttclid=&ttclid=abc", "/p#utm_source=tiktok", "/p?utm_source=", "", "/p?utm_source=é&y",
        "/p?utm_source=%20tiktok", "/p?UTM_SOURCE=tiktok", "/p?utm_source=google?utm_source=tiktok",
        "https://www.tiktok.com/@shop/video/1", "  vm.TikTok.com/abc ", "https://nottiktok.com/x",
        "tiktok.com", "https://tiktok.com.evil.example/", "https://ads.tiktok.com:443/x",
    ]
    rows = [{"order_id": str(2000 + i), "created_at": "2026-05-01T10:00:00Z", "total": "9", "currency": "EUR",
             "utm_source": "google" if i % 7 == 3 else "", "landing_site": url} for i, url in enumerate(landings)]
    orders = tmp_path / "orders.csv"
    pd.DataFrame(rows).to_csv(orders, index=False)
    want = command_doc({**demo, "orders.csv": orders}, "pixel.csv", "server.csv", "orders.csv", utm_source=utm_source)
    got = dedup_files(demo["pixel.csv"], demo["server.csv"], orders, utm_source=utm_source)
    assert got["truth"] == want["truth"] and got["truth"] > 0
    assert got == want


_NEAR_IDS = ["ord_7_purchase", "ORD_7_PURCHASE", "\u00a0ord_7_purchase", "ord_7_purchase\u2003", "\tOrd_7_Purchase",
             "7", "7.0", "7.00", "07", "ÉV_7", "év_7", "order-7", "#7", "ord:7", "7_purchase", "purchase_7"]
_near_events = st.lists(st.tuples(
    st.sampled_from(_NEAR_IDS),
    st.sampled_from([0.0, 60.0, M + 1, 10 * M, W - 60, W + 1, W + 1800]),
    st.sampled_from(["Purchase", "CompletePayment", "AddToCart"]),
    st.just(""), st.just(""),
), min_size=1, max_size=8)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_near_events, _near_events)
def test_near_miss_kinds_counted_on_the_engine_equal_the_memory_engine(tmp_path: Path, pixel: list,
                                                                       server: list) -> None:
    """Near misses counted by kind in SQL (no row listed) are the memory engine's counts and the counts of
    the engine's own listed table, for ids that differ by case, Unicode spaces, '.0', prefixes and names."""
    from core.dedup import dedup_files as memory_dedup_files

    p, s, orders = _random_files(tmp_path, pixel, server, "csv", False)
    want = memory_dedup_files(p, s, orders).to_dict()["near_misses"]
    got = dedup_files(p, s, orders, memory_limit="512MB")["near_misses"]
    listed = dedup_files(p, s, orders, memory_limit="512MB", near_miss_rows=True)
    assert got == want == listed["near_misses"]
    assert sum(got.values()) == len(listed["near_miss_rows"])


def test_an_orders_picked_line_is_read_whole_not_filled_from_its_other_lines(tmp_path: Path,
                                                                          demo: dict[str, Path]) -> None:
    """A line-item export whose picked line (the first with a created_at) leaves utm_source, the user agent
    or the cookie age blank: those stay blank for the order, as the memory engine reads it; a later line's
    values (utm_source=google, a user agent) are not taken instead. A WooCommerce header, odd spacing."""
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "Order Number,Order Date,Order Total Amount,Order Currency,meta:_wc_order_attribution_utm_source,"
        "meta:_wc_order_attribution_session_entry,meta:_wc_order_attribution_user_agent,Cookie age (days)\n"
        "10492,2025-01-14 09:12:03,129.99,USD,tiktok,https://shop.example/?ttclid=E.C.P.abc,Mozilla/5.0,3\n"
        " 10495 ,1736850000000,20,USD,,https://shop.example/?UTM_SOURCE=x&utm_source=tiktok,,\n"
        "10495,,20,USD,google,,Mozilla/5.0 (Windows),9\n"
        "10496,,20,USD,,,,\n"
        "10496,,20,USD,tiktok,,Mozilla/5.0,4\n", encoding="utf-8")
    for kwargs in ({}, {"tables": True}):
        want = command_doc({**demo, "orders.csv": orders}, "pixel.csv", "server.csv", "orders.csv")
        got = dedup_files(demo["pixel.csv"], demo["server.csv"], orders, **kwargs)
        assert got["truth"] == want["truth"] == 2
        assert got["segment_sources"] == want["segment_sources"]
        assert {k: got[k] for k in want} == want


@pytest.mark.parametrize("slot", ["pixel", "server", "orders"])
def test_bytes_that_are_not_utf8_are_named_as_such(tmp_path: Path, slot: str) -> None:
    """A CSV with bytes that are no UTF-8 (a Latin-1 export) is an InvalidFile that says so and how to save
    it, naming the file and the line, not a line with the wrong number of fields."""
    text = {"pixel": "pixel_code,event,event_id,timestamp,order_id\nC1,Purchase,ord_1,1777593661,1\n",
            "server": "event_source_id,event,event_id,event_time,order_id\nC1,Purchase,ord_1,1777593662,1\n",
            "orders": "Name,Created at,Total,Currency,Landing Site\n#1,2026-05-01 00:00:00 +0000,1,EUR,/\n"}
    paths = {name: tmp_path / f"{name}.csv" for name in text}
    for name, path in paths.items():
        data = text[name].encode()
        path.write_bytes(data + (b"C1,Caf\xe9,ord_2,1777593663,2\n" if name != "orders" and name == slot
                                 else b"#2,2026-05-01 00:00:00 +0000,1,EUR,/caf\xe9\n" if name == slot else b""))
    with pytest.raises(InvalidFile) as err:
        dedup_files(paths["pixel"], paths["server"], paths["orders"])
    assert f"{slot}.csv is not UTF-8 text" in str(err.value) and "UTF-8" in err.value.hint
