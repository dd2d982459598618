"""The EMQ proxy over files of any size: every key classified in SQL, the review counted by the engine.

core.quality (score_frame, classify_key) stays the small-data path and the oracle; this module gives the same
figures with memory bounded by DuckDB, not by the input: the input is read once into a numbered table of
reason codes (one byte per key and event), and only small results come back to Python (counts per event type,
key and reason, score bands, one page of per-event rows). core.review.assemble_review turns them into the
same Review the pandas path builds, so the page, the CLI and the report read one shape.

Inputs, bound as core.engine.sources binds dedup's: a server-event CSV or Parquet file is scanned by the engine
(only the quality columns, as text, trimmed as core.sources.server trims them); JSON / JSONL bodies and HAR files
go through the console's readers (JSONL a chunk of lines at a time) into Arrow batches the engine consumes.

Classification is SQL with the very regular expressions core.quality uses: pandas runs them on RE2 through
pyarrow, DuckDB on RE2 too, so they decide alike (the fullmatch spelling `^(...)$` is pandas' own). IPv4 dotted
quads are decided in SQL over core.quality's range table; every other IP text (IPv6, ports, lists) is too
irregular for SQL: its DISTINCT values are classified in Python by classify_key itself, in chunks of
IP_CHUNK, and joined back (a month has far fewer distinct addresses than events).

Not on Spark: Spark evaluates these expressions with Java's regex engine, which differs from RE2 where the
EMQ proxy's rules meet hostile text (case-insensitive matching of non-ASCII letters such as the Kelvin sign,
`\\b` next to non-ASCII letters, `\\s` and vertical tab), so Spark could not promise classify_key's codes;
engine="spark" is refused with that reason (the dedup analysis, which compares ids exactly, runs there).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa

from core import quality as q
from core.contract import EMPTY_SHA256
from core.engine.queries import WHITESPACE, strip
from core.engine.runner import DuckDBRunner
from core.engine.sources import Source
from core.errors import InvalidFile, InvalidInput
from core.reasons import ANYHEX64, IPV4_SPECIAL, PLACEHOLDER, REASON_CODES
from core.review import ALL_EVENTS, Review, assemble_review

ROLES: Final = ("event", "idx", *q.ALL_KEYS)
BATCH_SCHEMA: Final = pa.schema([(r, pa.string()) for r in ROLES])
PAGE_ROWS: Final = 500      # per-event rows a review holds (the page shows them; the CLI and CSV stream all)
CHUNK_ROWS: Final = 100_000  # per-event rows fetched at a time when every event is listed
IP_CHUNK: Final = 50_000     # distinct non-dotted-quad IP texts classified in Python at a time
ENGINES: Final = ("duckdb", "memory", "spark")
_C: Final = {code: i for i, code in enumerate(REASON_CODES)}
_PRINTABLE: Final = r"[\x21-\x7e]+"
_QUAD: Final = r"^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$"
_SPARK_REFUSED: Final = ("Match quality does not run on Spark: Spark's Java regular expressions judge some "
                         "hostile values differently from the EMQ proxy's rules (RE2).")


# --- SQL ------------------------------------------------------------------------------------------------
def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def python_re(pattern: str) -> str:
    """An RE2 spelling of `pattern` that decides as Python's `re` does on any text.

    pandas runs core.quality's expressions on RE2 only where RE2 and `re` agree on the data, and falls back
    to `re` otherwise (for `\\s`; for `\\d` and `\\b` on non-ASCII text), so the rules mean `re`'s: `\\s` is
    any str.isspace() character, `\\d` a Unicode decimal digit, `\\b` a boundary of Unicode word characters,
    and a case-insensitive `i` also matches the dotless ı and the dotted İ (`re`'s case-folding fixes).
    """
    space = "[" + "".join(f"\\x{{{ord(c):x}}}" for c in WHITESPACE) + "]"
    out = pattern.replace(r"\s", space).replace(r"\d", r"\p{Nd}")
    out = re.sub(r"\\b(?=[A-Za-z])", lambda _m: r"(?:^|[^\pL\pN_])", out)
    out = re.sub(r"(?<=[A-Za-z])\\b", lambda _m: r"(?:$|[^\pL\pN_])", out)
    if out.startswith("(?i)"):
        out = "(?i)" + out[4:].replace("i", "[i\u0131\u0130]")
    return out


def _full(col: str, pattern: str) -> str:
    """pandas' str.fullmatch(pattern) in SQL (the same `^(...)$` wrapping, the same RE2)."""
    return f"regexp_matches({col}, {_lit('^(' + pattern + ')$')})"


def _search(col: str, pattern: str) -> str:
    return f"regexp_matches({col}, {_lit(pattern)})"


def _case(col: str, rules: list[tuple[str, str]]) -> str:
    """The first matching reason code of `rules` (condition SQL, code) in priority order, else valid."""
    whens = " ".join(f"WHEN {cond} THEN {_C[code]}" for cond, code in [(f"{col} = ''", "missing"), *rules])
    return f"CAST(CASE {whens} ELSE 0 END AS TINYINT)"


def _hashed(v: str) -> str:
    hashes = ", ".join(_lit(h) for h in sorted(q.PLACEHOLDER_HASHES))
    return _case(v, [(f"lower({v}) = {_lit(EMPTY_SHA256)}", "empty_hash"),
                     (f"lower({v}) IN ({hashes})", "hashed_placeholder"),
                     (_full(v, PLACEHOLDER), "placeholder"), (_full(v, q._HEX64), ""),
                     (_full(v, ANYHEX64), "uppercase_hash"),
                     (_full(f"trim({v}, {_lit(WHITESPACE)})", ANYHEX64), "whitespace"),
                     (_full(v, q._OTHER_HEX), "wrong_hash"), ("true", "unhashed")])


def _classifier(key: str, v: str) -> str:
    """SQL for the reason code of text column `v` under `key`: core.quality's _classify_* rule by rule."""
    common = [(_full(v, PLACEHOLDER), "placeholder"), (_full(v, ANYHEX64), "hashed")]
    if key == "ttclid":
        return _case(v, [*common, (_search(v, python_re(r"\s")), "whitespace"),
                         (_search(v, r"://|ttclid=|[?&]"), "bad_shape"),
                         (f"NOT {_full(v, _PRINTABLE)}", "bad_characters"),
                         (f"length({v}) < 10", "too_short"), (f"length({v}) > 200", "too_long")])
    if key == "ttp":
        return _case(v, [*common, (_search(v, python_re(r"\s")), "whitespace"),
                         (f"NOT {_full(v, python_re(q._TTP))}", "bad_shape")])
    if key == "user_agent":
        return _case(v, [*common, (_search(v, python_re(q._SERVER_LIB)), "server_library"), (_search(v, q._BOT), "bot"),
                         (f"NOT {_full(v, python_re(q._BROWSER))}", "not_browser"), (f"length({v}) < 30", "too_short")])
    if key == "ip":
        return _ipv4(v)
    return _hashed(v)


def _ipv4(v: str) -> str:
    """Dotted quads decided in SQL over core.quality's range table (leading zeros and octets over 255 are
    unparseable, as Python's ipaddress has them); NULL for any other non-empty text (classified in Python).
    Reads the columns _IP_LAYERS adds (each computed once: the engines do not share repeated expressions)."""
    ranges = []
    for net, code in IPV4_SPECIAL:
        network = ipaddress.IPv4Network(net)
        ranges.append(f"WHEN ip_num BETWEEN {int(network.network_address)} AND {int(network.broadcast_address)} "
                      f"THEN {_C[code]}")
    return (f"CAST(CASE WHEN {v} = '' THEN {_C['missing']} WHEN NOT ip_quad THEN NULL "
            f"WHEN ip_bad THEN {_C['unparseable']} {' '.join(ranges)} ELSE 0 END AS TINYINT)")


def codes_sql(has_index: bool) -> str:
    """One row per input row (view q_src): idx, event name and a reason code per key; `ip_rest` holds the IP
    texts SQL leaves to Python (c_ip NULL there). Layered: trimmed texts, then whether the IP is a dotted
    quad, its octets, its number, then the codes."""
    keys = ", ".join(f"{_classifier(k, k)} AS c_{k}" for k in q.ALL_KEYS)
    idx = ("coalesce(CAST(trunc(TRY_CAST(idx AS DOUBLE)) AS BIGINT), -1)" if has_index
           else "CAST(-1 AS BIGINT)")
    stripped = ", ".join(f"{strip(k)} AS {k}" for k in q.ALL_KEYS)
    octets = ", ".join(f"CASE WHEN ip_quad THEN CAST(split_part(ip, '.', {i}) AS BIGINT) END AS o{i}"
                       for i in (1, 2, 3, 4))
    lead0 = _full("ip", r"(?:.*\.)?0\d.*")
    return (f"SELECT {idx} AS idx, CASE WHEN event = '' THEN {_lit(q.NO_EVENT)} ELSE event END AS event, {keys}, "
            f"CASE WHEN ip <> '' AND NOT ip_quad THEN ip END AS ip_rest FROM ("
            f"SELECT *, o1 * 16777216 + o2 * 65536 + o3 * 256 + o4 AS ip_num, "
            f"ip_quad AND (o1 > 255 OR o2 > 255 OR o3 > 255 OR o4 > 255 OR {lead0}) AS ip_bad FROM ("
            f"SELECT *, {octets} FROM ("
            f"SELECT *, {_search('ip', _QUAD)} AS ip_quad FROM ("
            f"SELECT idx, {strip('event')} AS event, {stripped} FROM q_src) s) t) u) w")


def _score4() -> str:
    """Four times the score: an integer (the weights are multiples of 0.25), so sums are exact anywhere."""
    return " + ".join(f"CASE WHEN c_{w.key} = 0 THEN {round(w.points * 4)} ELSE 0 END" for w in q.WEIGHTS)


SCORED: Final = f"SELECT *, {_score4()} AS score4, ({_score4()}) / 4.0 AS score FROM q_codes"
GROUPS: Final = ("SELECT GROUPING(event) AS overall, event, count(*) AS n, min(rn) AS first_rn, sum(score4) AS s4, "
                 "median(score) AS median, count(*) FILTER (WHERE score4 >= 28) AS n7, "
                 + ", ".join(f"count(*) FILTER (WHERE c_{k} = 0) AS v_{k}, count(*) FILTER (WHERE c_{k} <> 1) AS p_{k}"
                             for k in q.ALL_KEYS)
                 + " FROM q_scored GROUP BY GROUPING SETS ((event), ())")
BANDS: Final = "SELECT event, least(floor(score), 9) AS band, count(*) AS n FROM q_scored GROUP BY ALL"
REASONS: Final = " UNION ALL ".join(f"SELECT event, {_lit(k)} AS key, c_{k} AS code, count(*) AS n FROM q_scored "
                                    f"GROUP BY event, c_{k}" for k in q.ALL_KEYS)
ROWS: Final = ("SELECT CASE WHEN {has_index} THEN idx ELSE rn - 1 END AS idx, event, "
               + ", ".join(f"c_{k}" for k in q.ALL_KEYS) + " FROM q_scored ORDER BY rn")


# --- inputs ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class QualityInput:
    """One file bound for the review: the engine Source, its label, and whether its rows carry `index`."""

    source: Source
    name: str
    has_index: bool
    pixel: bool = False  # a HAR: Pixel rows (their signal_diagnostic_labels are read by core.review)


def quality_input(path: Path | str, name: str | None = None) -> QualityInput:
    """How `path` reaches the engine: CSV / Parquet scanned, JSON / JSONL / HAR through the readers.

    Raises InvalidFile as core.quality.load_quality_input does (same messages), naming the file `name`.
    """
    from core.sources.source import open_source

    path = Path(path)
    label = name or path.name
    if not path.is_file():
        raise InvalidFile(f"{label}: no such file.", hint="Check the path.")
    with path.open("rb") as fh:
        magic = fh.read(4)
    if magic == b"PAR1":
        import pyarrow.parquet as pq

        return _columns_input(Source("parquet", path), label, list(pq.read_schema(path).names))
    src = open_source(path, label)
    if src.format == "csv" and not src.compressed:
        return _columns_input(Source("csv", path), label, src.header())
    if src.format == "json" and not src.compressed:
        from core.engine.sources import _is_jsonl

        if _is_jsonl(path):
            return QualityInput(Source("arrow", path, batches=lambda: _jsonl_batches(path, label)), label, True)
    frame = q.load_quality_input(path, label)  # HAR, a JSON document, gzip: the readers, whole (within limits)
    return QualityInput(Source("arrow", path, batches=lambda: _frame_batches(frame)), label, True,
                        pixel=src.format == "har")


def _columns_input(source: Source, label: str, header: list[str]) -> QualityInput:
    """A CSV / Parquet of server events: core.sources.server's required columns, mapped by stripped name."""
    from core.sources.server import CSV_REQUIRED

    found: dict[str, str] = {}
    for h in header:
        found.setdefault(h.strip(), h)
    if "pixel_code" not in found and "event_source_id" in found:
        found["pixel_code"] = found["event_source_id"]
    missing = [c for c in (*CSV_REQUIRED, "pixel_code") if c not in found]
    if missing:
        raise InvalidFile(f"{label} lacks the column(s) {', '.join(missing)}.",
                          hint="A server-event CSV needs event_source_id, event, event_id and event_time columns.")
    columns = {role: found.get("index" if role == "idx" else role) for role in ROLES}
    return QualityInput(Source(source.kind, source.path, columns), label, columns["idx"] is not None)


def _batch(frame: pd.DataFrame, offset: int = 0) -> pa.RecordBatch:
    """Rows of a reader's frame as BATCH_SCHEMA text (the values score_frame would read)."""
    n = len(frame)
    index = (pd.to_numeric(frame["index"], errors="coerce").fillna(-1).astype("int64") + offset
             if "index" in frame.columns else pd.Series(np.arange(offset, offset + n)))
    arrays = [_text(index.astype(str) if r == "idx" else
                    frame[r].astype("string").fillna("") if r in frame.columns else pd.Series([""] * n, dtype="string"))
              for r in ROLES]
    return pa.RecordBatch.from_arrays(arrays, schema=BATCH_SCHEMA)


def _text(values: pd.Series) -> pa.Array:
    arr = pa.array(values, pa.string())
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def _frame_batches(frame: pd.DataFrame) -> pa.RecordBatchReader:
    return pa.RecordBatchReader.from_batches(
        BATCH_SCHEMA, (_batch(frame.iloc[i:i + CHUNK_ROWS]) for i in range(0, max(len(frame), 1), CHUNK_ROWS)))


def _jsonl_batches(path: Path, label: str) -> pa.RecordBatchReader:
    """JSONL bodies a chunk of lines at a time (core.engine.sources' chunks), indexes continuing across chunks."""
    from core.engine.sources import _chunks, _kept
    from core.sources.jsondoc import parse_json_documents
    from core.sources.server import SHAPES_HINT, server_frame

    def gen() -> Iterator[pa.RecordBatch]:
        seen = 0
        for chunk in _chunks(path):
            try:
                frame = server_frame(parse_json_documents(chunk, label, error=InvalidFile))
            except InvalidFile:  # the whole-file reader names the bad line as it is in the file
                q.load_quality_input(path, label)
                raise
            yield _batch(frame, seen)
            seen += len(frame)
        if not seen:
            raise InvalidFile(f"{label} holds no events in any shape the console reads for server events.",
                              hint=SHAPES_HINT)

    return pa.RecordBatchReader.from_batches(BATCH_SCHEMA, _kept(gen()))


# --- the run --------------------------------------------------------------------------------------------
class QualityRun:
    """The EMQ proxy of one file on DuckDB: codes classified once, then small results on demand; close() it."""

    def __init__(self, inp: QualityInput, *, memory_limit: str | None = None, temp_dir: Path | None = None,
                 progress: Callable[[str], None] | None = None) -> None:
        say = progress or (lambda _line: None)
        self.input = inp
        self.runner = DuckDBRunner(memory_limit, temp_dir)
        try:
            say(f"reading and classifying {inp.name}")
            self._classify(inp)
            say("classifying IPv6 and other IP texts")
            self._classify_other_ips()
            self.runner.view("q_scored", SCORED)
        except BaseException:
            self.runner.close()
            raise

    def _classify(self, inp: QualityInput) -> None:
        """Table q_codes: the reason codes of every row, numbered in file order. A CSV the engine's reader
        cannot parse (a dialect it does not detect, e.g. bare carriage returns) is read by the console's own
        CSV reader instead, so it gets exactly the rows load_quality_input gives it."""
        import duckdb

        from core.engine.sources import STREAM_ERRORS

        STREAM_ERRORS.clear()
        try:
            self.runner.bind("q_src", inp.source, ROLES)
            self.runner.numbered("q_codes", codes_sql(inp.has_index))
        except (duckdb.Error, InvalidFile) as exc:  # (a runner may already word a CSV error as InvalidFile)
            if STREAM_ERRORS:  # a reader's own error inside the scan, as itself
                raise STREAM_ERRORS[-1] from None
            if inp.source.kind == "parquet" and not isinstance(exc, InvalidFile):
                raise InvalidFile(f"{inp.name} is not a readable Parquet file: {exc}",
                                  hint="Write it with pyarrow, DuckDB or Spark, with text or number columns.") from None
            if inp.source.kind != "csv":
                raise
            frame = q.load_quality_input(inp.source.path, inp.name)
            self.input = QualityInput(Source("arrow", inp.source.path, batches=lambda: _frame_batches(frame)),
                                      inp.name, True)
            self.runner.bind("q_src", self.input.source, ROLES)
            self.runner.numbered("q_codes", codes_sql(True))

    def _classify_other_ips(self) -> None:
        """c_ip for the texts SQL left (IPv6, ports, lists): each distinct text once, by classify_key."""
        con = self.runner.con
        cur = con.execute("SELECT DISTINCT ip_rest AS ip FROM q_codes WHERE ip_rest IS NOT NULL")
        batches = []
        while (chunk := cur.fetchmany(IP_CHUNK)):
            values = [row[0] for row in chunk]
            batches.append(pa.record_batch([pa.array(values, pa.string()),
                                            pa.array(q.classify_key("ip", values), pa.int8())], names=["ip", "code"]))
        if not batches:
            return
        con.register("q_ip_arrow", pa.Table.from_batches(batches))
        con.execute("UPDATE q_codes SET c_ip = m.code FROM q_ip_arrow m WHERE q_codes.ip_rest = m.ip")
        con.unregister("q_ip_arrow")

    def review(self, targets: Mapping[str, float] | None = None, page_rows: int = PAGE_ROWS) -> Review:
        """The Review (core.review's shape) with the first `page_rows` events as per_event."""
        review = review_from_counts(self.runner.rows(GROUPS), self.runner.rows(BANDS), self.runner.rows(REASONS),
                                    next(self.chunks(page_rows), _empty_rows()), targets)
        review.worst = self.worst(page_rows)
        return review

    def chunks(self, size: int = CHUNK_ROWS, limit: int | None = None) -> Iterator[pd.DataFrame]:
        """Every event's per_event rows in file order, `size` at a time (at most `limit` rows)."""
        sql = ROWS.format(has_index="true" if self.input.has_index else "false")
        reader = self.runner.con.sql(sql + (f" LIMIT {int(limit)}" if limit is not None else "")).to_arrow_reader(size)
        for batch in reader:
            if batch.num_rows:
                yield _rows_frame(batch.to_pandas())

    def worst(self, limit: int = PAGE_ROWS) -> pd.DataFrame:
        """The `limit` lowest-scoring events (ties in file order), as per_event rows."""
        sql = ROWS.format(has_index="true" if self.input.has_index else "false").replace(
            "ORDER BY rn", f"ORDER BY score4, rn LIMIT {int(limit)}")
        return _rows_frame(self.runner.con.execute(sql).df())

    def close(self) -> None:
        self.runner.close()

    def __enter__(self) -> QualityRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _rows_frame(df: pd.DataFrame) -> pd.DataFrame:
    codes = {k: df[f"c_{k}"].to_numpy(dtype=np.int8) for k in q.ALL_KEYS}
    return q.per_event_frame(df["idx"].to_numpy(dtype=np.int64), df["event"].astype(str), codes)


def _empty_rows() -> pd.DataFrame:
    return q.per_event_frame(np.zeros(0, np.int64), [], {k: np.zeros(0, np.int8) for k in q.ALL_KEYS})


def open_run(path: Path | str, name: str | None = None, *, engine: str = "duckdb", memory_limit: str | None = None,
             temp_dir: Path | None = None, progress: Callable[[str], None] | None = None) -> QualityRun:
    """A QualityRun over the file at `path` (labelled `name` in messages). engine is "duckdb"; "spark" is
    refused (see the module's docstring); raises InvalidFile / InvalidInput for bad input or settings."""
    if engine == "spark":
        raise InvalidInput(_SPARK_REFUSED, hint="Use --engine duckdb (the default) or memory for match quality.")
    if engine != "duckdb":
        raise InvalidInput(f"Unknown engine {engine!r} for match quality.", hint="Use duckdb (default) or memory.")
    return QualityRun(quality_input(path, name), memory_limit=memory_limit, temp_dir=temp_dir, progress=progress)


def quality_file(path: Path | str, name: str | None = None, *, targets: Mapping[str, float] | None = None,
                 memory_limit: str | None = None, progress: Callable[[str], None] | None = None) -> Review:
    """The Review of the file at `path` on DuckDB, per_event holding the first PAGE_ROWS events;
    `all_rows` runs the engine again over the file for every event (the per-event CSV)."""
    with open_run(path, name, memory_limit=memory_limit, progress=progress) as run:
        review = run.review(targets)

    def all_rows() -> Iterator[pd.DataFrame]:
        with open_run(path, name, memory_limit=memory_limit) as again:
            yield from again.chunks()

    review.all_rows = all_rows
    return review


# --- the review from the engine's counts ---------------------------------------------------------------
def review_from_counts(groups: list[dict[str, Any]], bands: list[dict[str, Any]], reasons: list[dict[str, Any]],
                       page: pd.DataFrame, targets: Mapping[str, float] | None = None) -> Review:
    """core.review.assemble_review fed the engine's small results: GROUPS rows (one per event type and one
    overall), BANDS and REASONS rows, and the first per-event rows."""
    overall = next((g for g in groups if g["overall"]), None)
    types = sorted((g for g in groups if not g["overall"]), key=lambda g: (-int(g["n"]), int(g["first_rn"])))
    order = [ALL_EVENTS, *(str(g["event"]) for g in types)]
    rows = [overall or {}, *types]

    def stat(g: dict[str, Any], what: str) -> float:
        count = int(g.get("n") or 0)
        if not count:
            return 0.0
        return {"mean": int(g["s4"]) / 4 / count, "median": float(g["median"]), "share7": int(g["n7"]) / count}[what]

    by_type = pd.DataFrame({"event": order, "events": [int(g.get("n") or 0) for g in rows],
                            "mean_score": [stat(g, "mean") for g in rows],
                            "median_score": [stat(g, "median") for g in rows],
                            "share_7_plus": [stat(g, "share7") for g in rows]})
    coverage, presence = (pd.DataFrame({"event": order, "events": by_type["events"].to_numpy(),
                                        **{k: [int(g.get(f"{p}_{k}") or 0) / int(g["n"]) if g.get("n") else 0.0
                                               for g in rows] for k in q.ALL_KEYS}}) for p in ("v", "p"))
    per_code = {(k, c): 0 for k in q.ALL_KEYS for c in range(len(REASON_CODES))}
    per_event_code: dict[tuple[str, str], dict[int, int]] = {}
    for r in reasons:
        per_code[(r["key"], int(r["code"]))] += int(r["n"])
        per_event_code.setdefault((str(r["event"]), r["key"]), {})[int(r["code"])] = int(r["n"])
    present = {k: int(overall.get(f"p_{k}") or 0) if overall else 0 for k in q.ALL_KEYS}
    reason_counts = [(k, code, per_code[(k, c)], present[k]) for k in q.ALL_KEYS
                     for c, code in enumerate(REASON_CODES)]
    band_counts: dict[str, np.ndarray] = {ALL_EVENTS: np.zeros(10, np.int64)}
    for b in bands:
        band_counts.setdefault(str(b["event"]), np.zeros(10, np.int64))[int(b["band"])] += int(b["n"])
        band_counts[ALL_EVENTS][int(b["band"])] += int(b["n"])
    return assemble_review(page, by_type, coverage, presence, reason_counts,
                           _top_reasons(per_code, per_event_code), band_counts, targets)


def _top_reasons(per_code: Mapping[tuple[str, int], int],
                 per_event_code: Mapping[tuple[str, str], Mapping[int, int]]) -> dict[tuple[str, str], str]:
    """core.review.top_reasons from counts: overall, the first of the most common in REASON_CODES order (pandas'
    value_counts sorts stably); per event type, the first of the most common in name order (crosstab's)."""
    bad_codes = range(2, len(REASON_CODES))
    out: dict[tuple[str, str], str] = {}
    for key in q.KEYS:
        counts = [0, 0, *(per_code[(key, c)] for c in bad_codes)]
        if not sum(counts):
            continue
        out[(ALL_EVENTS, key)] = REASON_CODES[counts.index(max(counts))]
        for (event, k), by_code in per_event_code.items():
            bad = {REASON_CODES[c]: n for c, n in by_code.items() if c >= 2 and n}
            if k == key and bad:
                most = max(bad.values())
                out[(event, key)] = min(r for r, n in bad.items() if n == most)
    return out
