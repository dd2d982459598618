"""The dedup analysis over files of any size: TikTok's rules as set-based queries, run on DuckDB or Spark.

Same figures as core.dedup.simulate (the small-data path, kept as the oracle) under the same names, with
memory bounded by the engine rather than by the size of the month.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final, Literal

from core.engine import linking
from core.engine import queries as q
from core.engine.runner import DuckDBRunner, Runner, SparkRunner
from core.engine.sources import (
    EVENT_ROLES,
    ORDER_ROLES,
    Source,
    orders_source,
    pixel_source,
    segment_roles,
    server_source,
)
from core.errors import InvalidInput
from core.links import DEFAULT_TEMPLATE, LinkMode, check_link

Engine = Literal["duckdb", "spark"]
VERDICTS: Final = ("merged", "deduplicated", "outside window", "pixel only", "server only", "missing event_id")
SUMMARY_FIELDS: Final = (
    "pixel_events", "server_events", "counted", "deduplicated_pairs", "merged_pairs", "pixel_only",
    "server_only", "same_source_duplicates", "outside_window", "missing_event_id", "missing_time",
    "pixel_counted_alone",
)
ORDER_FIELDS: Final = ("truth", "truth_pixel", "truth_counted", "truth_over_counted", "pixel_gap",
                       "recovered_share")
# core.dedup.DAILY_COLUMNS: the order columns with orders, the linked ones once orders link to events
DAILY_FIELDS: Final = ("day", "truth", "truth_pixel", "truth_counted", "pixel_events", "pixel_alone", "counted")
KEY_FIELDS: Final = ("pixel_code", "event", "event_id", "occurrence", "pixel_time", "server_time", "delta_s",
                     "pixel_events", "server_events", "counted", "verdict", "reason")
MAX_PASSES: Final = 10_000  # occurrences per key; a month has at most ~16 (one per 48 h)


def _ratio(num: float, den: float) -> float | None:
    return round(num / den, 6) if den else None


def _day_label(day: int) -> str:
    return (dt.date(1970, 1, 1) + dt.timedelta(days=int(day))).isoformat()


def dedup_files(
    pixel: Path | str,
    server: Path | str,
    orders: Path | str | None = None,
    *,
    link: LinkMode = "auto",
    template: str = DEFAULT_TEMPLATE,
    utm_source: str = "tiktok",
    all_orders: bool = False,
    order_mapping: dict[str, str] | None = None,
    keys_offset: int | None = None,
    keys_limit: int = 100,
    engine: Engine = "duckdb",
    memory_limit: str | None = None,
    temp_dir: Path | None = None,
    spark_remote: str | None = None,
    progress: Callable[[str], None] | None = None,
    near_miss_rows: bool = False,
    tables: bool = False,
) -> dict[str, Any]:
    """Simulate TikTok's deduplication over a Pixel file and a server file, and the gap against orders.

    Contract: inputs are CSV or Parquet (scanned by the engine, only the needed columns) or HAR / JSON /
    JSONL (through the console's readers, streamed as Arrow batches), normalised as the loaders do.
    Returns the summary figures of `tiktok-events dedup --format json` under the same names
    (SUMMARY_FIELDS; with `orders` also ORDER_FIELDS, linked by properties.order_id or the event_id
    `template`, truth set by `utm_source` / ttclid unless `all_orders`) plus `daily` (one dict per UTC
    day: DAILY_FIELDS) and, when `keys_offset` is given, `keys`: one page of `keys_limit` per-key verdicts
    (KEY_FIELDS, in key order). `engine="spark"` runs the same SQL on Spark (local, or Spark Connect at
    `spark_remote`). `memory_limit` (e.g. "4GB", default an eighth of the RAM) and `temp_dir` bound DuckDB.
    `progress` receives one line per stage. `near_miss_rows` adds the near-miss table (NEAR_MISS_COLUMNS)
    and `tables` the segment table (`segments`, None unless orders linked) and `verdicts` (key verdict ->
    how many), for the app. Raises InvalidFile / InvalidInput on bad inputs or settings.
    TikTok: key = event_source_id + event + event_id; 48 h same-side window from the first event;
    Pixel↔server merge within 5 min, dedup within 48 h (contract §8).
    """
    say = progress or (lambda _line: None)
    check_link(link, template)
    p_src, s_src = pixel_source(Path(pixel)), server_source(Path(server))
    o_src = orders_source(Path(orders), order_mapping) if orders is not None else None
    if keys_offset is not None and (keys_offset < 0 or keys_limit < 0):
        raise InvalidInput("A key page needs a non-negative offset and limit.", hint="For example offset 0, limit 100.")
    runner: Runner = SparkRunner(spark_remote) if engine == "spark" else \
        DuckDBRunner(memory_limit, temp_dir) if engine == "duckdb" else _unknown_engine(engine)
    feeds = linking.AgentFeeds(
        (("server events' user_agent", "server_rows", _has_agents(s_src)),
         ("Pixel events' user agent", "pixel_rows", _has_agents(p_src))),
        lambda: _rebind_streams(runner, p_src, s_src))
    # segment sources as counts alone (no order's values needed): orders keep flags instead of texts
    counts_only = o_src is not None and linking.counts_only_segments(tables, o_src[0], feeds)
    try:
        if o_src is not None:
            _start_orders(runner, o_src[0], counts_only, None if all_orders else utm_source)
        out = _simulate(runner, p_src, s_src, say)
        out["ttp_fallback_candidates"] = _ttp_hints(runner)
        say("finding near misses")
        if near_miss_rows:  # the table, and its counts; else the counts alone
            near = linking.near_misses(runner)
            out["near_misses"] = {str(k): int(v) for k, v in near["kind"].value_counts().items()}
            out["near_miss_rows"] = near
        else:
            out["near_misses"] = linking.near_miss_counts(runner)
        if o_src is not None:
            say("linking orders")
            out.update(_link_orders(runner, o_src[0], link, template, feeds, say, tables, counts_only))
            out["truth_rule"] = "all orders" if all_orders else f"utm_source={utm_source} or a ttclid"
        out["daily"] = _daily(runner, out.get("link"))
        if tables:
            out["verdicts"] = {VERDICTS[int(r["verdict"])]: int(r["n"]) for r in runner.rows(q.VERDICT_COUNTS)}
        if keys_offset is not None:
            page = runner.rows(q.KEY_PAGE.format(limit=int(keys_limit), offset=int(keys_offset)))
            out["keys"] = _with_reasons(page)
        say("done")
        return out
    finally:
        runner.close()


def _daily(runner: Runner, link: dict[str, Any] | None) -> list[dict[str, Any]]:
    """One dict per UTC day (DAILY_FIELDS: the order columns with orders, the linked ones when linked)."""
    days: dict[int, dict[str, Any]] = {}
    for row in runner.rows(q.EVENT_DAYS):
        days.setdefault(int(row["day"]), {}).update(
            pixel_events=int(row["pixel_events"]), pixel_alone=int(row["pixel_counted_alone"]),
            counted=int(row["counted"]))
    fields = list(DAILY_FIELDS[4:])
    if link is not None:
        fields = ["truth", *(["truth_pixel", "truth_counted"] if link["linked_orders"] else []), *fields]
        for row in runner.rows(q.ORDER_DAYS):
            days.setdefault(int(row["day"]), {}).update(
                truth=int(row["truth"]), truth_pixel=int(row["truth_pixel"]), truth_counted=int(row["truth_counted"]))
    return [{"day": _day_label(day), **{f: int(days[day].get(f, 0)) for f in fields}}
            for day in sorted(days) if day >= 0]


def _with_reasons(page: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Key verdict rows with core.dedup's verdict names and reasons (KEY_FIELDS + reason)."""
    import numpy as np

    from core.dedup import key_reasons

    if not page:
        return []
    verdict = np.array([int(r["verdict"]) for r in page], np.int64)
    delta = np.array([np.nan if r["delta_s"] is None else float(r["delta_s"]) for r in page], np.float64)
    n_p = np.array([int(r["pixel_events"]) for r in page], np.int64)
    n_s = np.array([int(r["server_events"]) for r in page], np.int64)
    lone = np.array([int(r.pop("part")) == 1 for r in page], bool)
    reasons = key_reasons(delta, verdict, n_p, n_s, lone)
    return [{**row, "verdict": VERDICTS[int(row["verdict"])], "reason": reason}
            for row, reason in zip(page, reasons, strict=True)]


def _ttp_hints(runner: Runner) -> int:
    """core.dedup's ttp_fallback_candidates, from the _ttp the events table kept (q.SERVER_EVENTS)."""
    return int(runner.rows(q.TTP_HINTS)[0]["n"])


def _rebind_streams(runner: Runner, p_src: Source, s_src: Source) -> None:
    """Make the event views readable again: an Arrow stream is read once, a file view any number of times."""
    for name, src in (("pixel", p_src), ("server", s_src)):
        if src.kind == "arrow":
            runner.bind(f"{name}_rows", src, ())


def _simulate(runner: Runner, p_src: Source, s_src: Source, say: Callable[[str], None]) -> dict[str, Any]:
    """Read the events, find every key's occurrences, pair them; the summary figures (SUMMARY_FIELDS)."""
    say("reading Pixel and server events")
    for name, src in (("pixel", p_src), ("server", s_src)):
        if src.kind == "arrow":
            runner.bind(f"{name}_rows", src, ())
        else:
            runner.bind(f"{name}_text", src, EVENT_ROLES)
            runner.view(f"{name}_rows", q.pixel_rows_from_text() if name == "pixel" else q.server_rows_from_text())
    runner.table("server_events", q.SERVER_EVENTS)
    wanted = bool(runner.rows("SELECT count(ttp) AS n FROM server_events")[0]["n"])
    runner.table("pixel_events", q.pixel_events(wanted))
    runner.view("events", q.EVENTS)
    say("finding each key's first event")
    runner.table("firsts", q.FIRSTS)
    occ_tables = _later_occurrences(runner, say)
    say("pairing Pixel and server occurrences")
    runner.table("anchors_repeated", q.repeated_anchors(occ_tables))
    runner.table("pairs_repeated", q.PAIRS_REPEATED)
    runner.view("pairs", q.PAIRS)
    runner.view("counted_events", q.COUNTED_EVENTS)
    return _summary(runner.rows(q.SUMMARY)[0])


def _has_agents(src: Source) -> bool:
    return src.kind == "arrow" or src.columns.get("user_agent") is not None


def _link_orders(runner: Runner, source: Source, link: str, template: str, feeds: linking.AgentFeeds,
                 say: Callable[[str], None], tables: bool, counts_only: bool) -> dict[str, Any]:
    """The truth set from the orders file, linked to the counted events: ORDER_FIELDS, link, segments."""
    runner.finish("orders")  # read while the events were paired (_start_orders)
    own = counts_only and bool(segment_roles(source))  # the orders carry segment flags (q.order_rows)
    runner.table("truth", q.truth(own))  # created_at read once, for these orders only
    found = linking.link_orders(runner, link, template, feeds.rescan, say, own)
    out = linking.order_figures(runner, found)
    say("segments")
    segments, sources = linking.segments(runner, source, found, feeds, table=tables, counts_only=counts_only)
    out["segment_sources"] = {k: v.to_dict() for k, v in sources.items()}
    if tables:
        out["segments"] = segments
    return out


def _start_orders(runner: Runner, source: Source, counts_only: bool, utm_source: str | None) -> None:
    """Table `orders` (one row per order, q.order_rows) read from the file alongside the events' work, each
    judged TikTok-attributable by `utm_source` or a ttclid (None: every order); with `counts_only` its
    segment columns are flags (q.OWN_BITS), not texts."""
    has = [source.columns.get(c) is not None for c in ("utm_source", "ttclid", "landing_site")]
    runner.start("orders", q.order_rows(has[0], has[1], has[2], segment_roles(source), flags=counts_only,
                                        utm_source=utm_source), "orders_text", source, ORDER_ROLES)


def _unknown_engine(engine: str) -> Runner:
    raise InvalidInput(f"Unknown engine {engine!r}.", hint="Use duckdb (default) or spark.")


def _later_occurrences(runner: Runner, say: Callable[[str], None]) -> list[str]:
    """Occurrences 1, 2, ... of keys whose events span more than 48 h: one pass each, over what is left."""
    runner.table("later_0", q.LATER_0)
    tables: list[str] = []
    for occ in range(1, MAX_PASSES):
        left = runner.rows(f"SELECT count(*) AS n FROM later_{occ - 1}")[0]["n"]
        if not left:
            break
        say(f"repeats more than 48 h apart: occurrence {occ + 1} ({left:,} events left)")
        runner.table(f"occ_{occ}", q.occurrence(f"later_{occ - 1}", occ))
        runner.table(f"later_{occ}", q.later(f"later_{occ - 1}", f"occ_{occ}"))
        tables.append(f"occ_{occ}")
    return tables


def _summary(row: dict[str, Any]) -> dict[str, Any]:
    v = {k: int(x or 0) for k, x in row.items()}  # sums over no rows are NULL
    pixel_only = v["pixel_paired_only"] + v["pixel_lone"]
    server_only = v["server_paired_only"] + v["server_lone"]
    return {
        "pixel_events": v["pixel_events"],
        "server_events": v["server_events"],
        "counted": v["merged_pairs"] + v["deduplicated_pairs"] + pixel_only + server_only,
        "deduplicated_pairs": v["deduplicated_pairs"],
        "merged_pairs": v["merged_pairs"],
        "pixel_only": pixel_only,
        "server_only": server_only,
        "same_source_duplicates": v["same_source_duplicates"],
        "outside_window": v["outside_window"],
        "missing_event_id": v["missing_event_id"],
        "missing_time": v["missing_time"],
        "pixel_counted_alone": v["pixel_lone"] + v["pixel_occurrences"],
    }
