"""Match quality on the analysis engine gives score_frame's figures exactly, from every input format."""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from core.contract import EMPTY_SHA256
from core.engine.quality import PAGE_ROWS, open_run, quality_file
from core.errors import InvalidFile, InvalidInput
from core.identity import sha256_hex
from core.quality import ALL_KEYS, KEYS, load_quality_input, score_frame
from core.review import Review, build_review, result_csv, to_cli_json, what_if
from tests.samples import GOOD, UA
from tests.test_quality import BAD

# every value the quality tests judge, and hostile ones: blanks, unicode whitespace, case folding, length
VALUES: dict[str, list[str]] = {
    "email": [GOOD["email"], BAD["email"][0], EMPTY_SHA256, sha256_hex("undefined"), sha256_hex("NULL"),
              GOOD["email"].upper(), "d41d8cd98f00b204e9800998ecf8427e", "null", "{{email}}", "0",
              "a" * 40 + "zz", "x" + "b" * 32, "\u3000" + GOOD["email"], GOOD["email"] + "\u2028"],
    "ttclid": [GOOD["ttclid"], "undefined", "abc", "E.C.P." + "x" * 250, "E.C.P. abc def ghi", "E.C.P.\x0babcdefgh",
               "https://shop.example/?ttclid=E.C.P.abcdef", "E.C.P.ábcdéfghijk", sha256_hex("E.C.P.abc"),
               "CjwKCAjw-abc_DEF.123", "E.C.P.abcdefghij&x", "x" * 200, "x" * 201, "x" * 10, "x" * 9],
    "ttp": [GOOD["ttp"], "2F7h37YkS1j57AYSKTI7IHhJPYH", "01K0T8BYGJH63785W68YS5NN1R", "abc123",
            "_ttp=2F7h37YkS1j57AYSKTI7IHhJPYH", "01K0T8BYGJH63785W68YS5NN1I", "01K0T8BYGJH63785W68YS5NN1R_.tt.",
            "2F7h37YkS1j57AYSKTI7IHhJPY\u212a"],
    "ip": ["8.8.8.8", "::ffff:8.8.4.4", "2606:4700::1111", GOOD["ip"], "127.0.0.1", "::1", "10.1.2.3", "172.20.0.5",
           "fd12:3456::1", "::ffff:10.0.0.1", "100.64.1.1", "203.0.113.9", "224.0.0.1", "fe80::1", "256.1.1.1",
           "010.1.1.1", "1.2.3.04", "not-an-ip", "8.8.8.8:443", "[2606:4700::1111]:443", "8.8.8.8, 10.0.0.1",
           sha256_hex("8.8.8.8"), "0.0.0.0", "255.255.255.255", "192.0.0.171", "192.0.0.8", "198.19.255.255",
           "1.1.1.1.1", "١.٢.٣.٤", "fe80::1%eth0", "undefined", "999.1.1.1:80"],
    "user_agent": [UA, "python-requests/2.32.3", "curl/8.5.0", "okhttp/4.12.0", "axios/1.6.8", "Go-http-client/2.0",
                   "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
                   "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 HeadlessChrome/124.0 Safari",
                   "MyShopApp/3.2 (iPhone; iOS 17.4)", "Mozilla/5.0", "undefined", "Mozilla/5.0 écurl/1 " + "x" * 30,
                   "Mozilla/5.0 o\u212ahttp/1 " + "x" * 30, "Mozilla/5.0\n (X11) " + "x" * 30,
                   "Opera/9 ruby " + "y" * 30, "Mozilla/5.0 w\u0131nhttp " + "z" * 30, "Mozilla/\u0665 " + "z" * 30],
}
VALUES["phone"] = [GOOD["phone"], "+1 213 373 4253", sha256_hex("null"), GOOD["phone"].upper()]
VALUES["external_id"] = [GOOD["external_id"], "123456", BAD["external_id"][0], "n/a", "__user__"]
for _k in ("first_name", "last_name", "zip_code"):
    VALUES[_k] = [sha256_hex("alice"), "Alice", "", "N/A"]
HOSTILE = ["", " ", "\t", "\u00a0", "\u3000x\u3000", "é" * 300, "👍🏽", "=1+2", "a'b\"c", "line\nbreak", "ǅ",
           " padded ", "x" * 2000]
EVENTS = ["Purchase", "ViewContent", "AddToCart", " Purchase ", "", "Pageview", "ünïcode", "All"]


# any text a CSV holds unambiguously (a bare carriage return is a line break to one reader, text to another)
TEXT = st.characters(codec="utf-8", exclude_characters="\x00\r")


def value(key: str) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(VALUES[key]), st.sampled_from(HOSTILE), st.text(TEXT, max_size=40))


ROW = st.fixed_dictionaries({"event": st.one_of(st.sampled_from(EVENTS), st.text(TEXT, max_size=8)),
                             **{k: value(k) for k in ALL_KEYS}})


def server_frame_of(rows: list[dict[str, str]], keys: tuple[str, ...] = ALL_KEYS) -> pd.DataFrame:
    """A server-event table (the CSV's columns) holding `keys` of `rows`."""
    return pd.DataFrame([{"event_source_id": "C1", "event": r["event"], "event_id": f"e{i}",
                          "event_time": 1_700_000_000 + i, **{k: r[k] for k in keys}} for i, r in enumerate(rows)],
                        columns=["event_source_id", "event", "event_id", "event_time", *keys])


def write(folder: Path, table: pd.DataFrame, fmt: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"server.{fmt}"
    if fmt == "csv":
        table.to_csv(path, index=False)
    elif fmt == "parquet":
        pq.write_table(pa.Table.from_pandas(table.astype({"event_time": "int64"}), preserve_index=False), path)
    else:  # jsonl: one v1.3 body per event, user keys as sent
        lines = [json.dumps({"event_source": "web", "event_source_id": r["event_source_id"], "data": [{
            "event": r["event"], "event_id": r["event_id"], "event_time": int(r["event_time"]),
            "user": {k: r[k] for k in ALL_KEYS if k in table.columns}}]}) for r in table.to_dict("records")]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def close(a: Any, b: Any, where: str = "") -> None:
    """Equal, floats to 1e-9."""
    if isinstance(a, float) or isinstance(b, float):
        assert math.isclose(float(a), float(b), rel_tol=0, abs_tol=1e-9), f"{where}: {a} != {b}"
    elif isinstance(a, dict):
        assert list(a) == list(b), f"{where}: keys {list(a)} != {list(b)}"
        for k in a:
            close(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), f"{where}: {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            close(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def assert_same(got: Review, want: Review) -> None:
    """Every figure of the review: summary, tables, recommendations, the first page, every event's row."""
    close(got.summary, want.summary, "summary")
    for name in ("by_event_type", "coverage", "invalid_reasons"):
        close(getattr(got, name).to_dict("list"), getattr(want, name).to_dict("list"), name)
    close([asdict(r) for r in got.recommendations], [asdict(r) for r in want.recommendations], "recommendations")
    pd.testing.assert_frame_equal(got.per_event.astype({"event": str}),
                                  want.per_event.head(PAGE_ROWS).astype({"event": str}))
    close(to_cli_json(got), to_cli_json(want), "cli")
    assert got.worst_events(50)["index"].tolist() == want.worst_events(50)["index"].tolist()
    assert result_csv(got) == result_csv(want)


def oracle(path: Path) -> Review:
    return build_review(score_frame(load_quality_input(path)))


# --- random inputs against score_frame ----------------------------------------------------------------
# no shrinking: each example starts an engine, and shrinking a 30-row case would take minutes
QUICK = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture],
                 phases=[Phase.explicit, Phase.reuse, Phase.generate])


@settings(QUICK, max_examples=60)
@given(rows=st.lists(ROW, min_size=1, max_size=30), fmt=st.sampled_from(["csv", "jsonl"]),
       keys=st.sets(st.sampled_from(ALL_KEYS)))
def test_random_inputs_give_score_frames_figures(tmp_path_factory: pytest.TempPathFactory,
                                                 rows: list[dict[str, str]], fmt: str, keys: set[str]) -> None:
    """Random rows (hostile values, absent columns) as CSV or JSONL: the engine's review is score_frame's."""
    keep = tuple(k for k in ALL_KEYS if k in keys)
    path = write(tmp_path_factory.mktemp("q"), server_frame_of(rows, keep), fmt)
    assert_same(quality_file(path, memory_limit="256MB"), oracle(path))


@settings(QUICK, max_examples=20)
@given(rows=st.lists(ROW, min_size=1, max_size=20))
def test_csv_and_parquet_give_identical_reviews(tmp_path_factory: pytest.TempPathFactory,
                                                rows: list[dict[str, str]]) -> None:
    """The same events as CSV and as Parquet: identical reviews (and score_frame's)."""
    table = server_frame_of(rows)
    folder = tmp_path_factory.mktemp("q")
    csv, parquet = write(folder, table, "csv"), write(folder, table, "parquet")
    assert_same(quality_file(parquet), quality_file(csv))
    assert_same(quality_file(csv), oracle(csv))


@pytest.mark.parametrize("key", (*KEYS, "first_name", "last_name", "zip_code"))
def test_every_known_value_is_judged_as_classify_key_judges_it(tmp_path: Path, key: str) -> None:
    """Each value of the quality tests (and the hostile ones) in one column: the same reason per event."""
    values = [*VALUES[key], *HOSTILE]
    rows = [{"event": "Purchase", **{k: (v if k == key else "") for k in ALL_KEYS}} for v in values]
    path = write(tmp_path, server_frame_of(rows), "csv")
    got, want = quality_file(path), oracle(path)
    assert got.per_event[f"{key}_reason"].astype(str).tolist() == want.per_event[f"{key}_reason"].astype(str).tolist()
    assert_same(got, want)


def test_parquet_nulls_count_as_missing(tmp_path: Path) -> None:
    """NULL cells and an all-NULL column in Parquet score as the blanks of the same CSV."""
    table = pd.DataFrame({"event_source_id": ["C1"] * 3, "event": ["Purchase", None, "Lead"],
                          "event_id": ["a", "b", "c"], "event_time": [1, 2, 3],
                          "email": [GOOD["email"], None, "x@y.z"], "ip": pa.array([None] * 3, pa.string()),
                          "user_agent": [UA, UA, None]})
    pq.write_table(pa.Table.from_pandas(table, preserve_index=False), tmp_path / "s.parquet")
    table.fillna("").to_csv(tmp_path / "s.csv", index=False)
    got = quality_file(tmp_path / "s.parquet")
    assert_same(got, quality_file(tmp_path / "s.csv"))
    assert_same(got, oracle(tmp_path / "s.csv"))
    assert got.summary["presence"]["ip"] == 0.0 and got.summary["events"] == 3


def test_jsonl_and_har_give_identical_reviews(tmp_path: Path) -> None:
    """The same events as server JSONL bodies and as Pixel hits in a HAR: the same review."""
    events = [{"event": ev, "email": em, "ttp": ttp, "user_agent": ua} for ev, em, ttp, ua in [
        ("Purchase", GOOD["email"], GOOD["ttp"], UA), ("ViewContent", "", "abc", "curl/8.5.0"),
        ("Purchase", BAD["email"][0], "", UA), ("AddToCart", EMPTY_SHA256, GOOD["ttp"], "Mozilla/5.0")]]
    (tmp_path / "s.jsonl").write_text("\n".join(json.dumps({"event_source_id": "C1", "data": [{
        "event": e["event"], "event_id": f"e{i}", "event_time": 1_700_000_000 + i,
        "user": {k: e[k] for k in ("email", "ttp", "user_agent")}}]}) for i, e in enumerate(events)) + "\n")
    hits = [{"event": e["event"], "event_id": f"e{i}", "timestamp": "2026-06-29T17:47:07.730Z",
             "context": {"pixel": {"code": "C1"}, "page": {"url": "https://shop.example/ok"},
                         "user": {"email": e["email"], "anonymous_id": e["ttp"]}, "userAgent": e["user_agent"]}}
            for i, e in enumerate(events)]
    har = {"log": {"version": "1.2", "entries": [
        {"request": {"method": "POST", "url": "https://analytics.tiktok.com/api/v2/pixel", "headers": [],
                     "postData": {"mimeType": "text/plain", "text": json.dumps(h)}},
         "response": {"status": 200}} for h in hits]}}
    (tmp_path / "hits.har").write_text(json.dumps(har))
    from_jsonl, from_har = quality_file(tmp_path / "s.jsonl"), quality_file(tmp_path / "hits.har")
    assert_same(from_har, from_jsonl)
    assert_same(from_har, oracle(tmp_path / "hits.har"))
    assert from_har.summary["events"] == 4 and from_har.summary["invalid"]["email"] == {"empty_hash": 1, "unhashed": 1}


def test_more_events_than_a_page_stream_in_file_order(tmp_path: Path) -> None:
    """Past PAGE_ROWS events the review holds a page; the CLI document and the CSV still list every event,
    across JSONL chunks, in file order with the readers' indexes; what-if reads the engine's tables."""
    rows = [{"event": ["Purchase", "ViewContent", "Lead"][i % 3],
             **{k: VALUES[k][i % len(VALUES[k])] if i % (j + 2) else "" for j, k in enumerate(ALL_KEYS)}}
            for i in range(1_300)]
    path = write(tmp_path, server_frame_of(rows), "jsonl")
    got, want = quality_file(path), oracle(path)
    assert len(got.per_event) == PAGE_ROWS and got.summary["events"] == 1_300
    assert_same(got, want)
    targets = {"phone": 0.9, "ip": 0.1}
    close(what_if(got, targets).to_dict("list"), what_if(want, targets).to_dict("list"), "what_if")
    with open_run(path) as run:
        worst = run.worst(10)
    lowest = want.per_event.sort_values(["score", "index"], kind="stable").head(10)
    assert worst["index"].tolist() == lowest["index"].tolist()


def test_empty_har_reviews_no_events(tmp_path: Path) -> None:
    """A HAR without Pixel hits gives score_frame's empty review (zeros), not an error."""
    (tmp_path / "empty.har").write_text(json.dumps({"log": {"version": "1.2", "entries": []}}))
    assert_same(quality_file(tmp_path / "empty.har"), oracle(tmp_path / "empty.har"))


@pytest.mark.parametrize(("content", "name", "message"), [
    ("event,x\nPurchase,1\n", "in.csv", "in.csv lacks the column(s) event_id, event_time, pixel_code."),
    ("{broken", "in.json", "not valid JSON"),
    ('{"event_source": "web", "data": []}', "in.json", "holds no events"),
    ('{"data": []}\n{"data": []}\n', "in.jsonl", "holds no events"),
    ('{"event": "Lead"}\n\n{"event": "Lead"}\n{"event": \n', "in.jsonl", "line 4"),
    ("", "in.csv", "empty"),
])
def test_bad_files_raise_the_loaders_errors(tmp_path: Path, content: str, name: str, message: str) -> None:
    """Unreadable input raises the console's InvalidFile with the message load_quality_input gives."""
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(InvalidFile) as engine:
        quality_file(path)
    with pytest.raises(InvalidFile) as loader:
        load_quality_input(path)
    assert message in engine.value.message and message in loader.value.message
    with pytest.raises(InvalidFile, match="no such file"):
        quality_file(tmp_path / "absent.csv")


def test_spark_is_refused_with_the_reason(tmp_path: Path) -> None:
    """engine='spark' is refused for quality, saying why and what to use instead."""
    path = write(tmp_path, server_frame_of([{"event": "Lead", **{k: "" for k in ALL_KEYS}}]), "csv")
    with pytest.raises(InvalidInput) as refused:
        open_run(path, engine="spark")
    assert "Spark" in refused.value.message and "duckdb" in (refused.value.hint or "")
