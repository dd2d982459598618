"""Simulate TikTok's deduplication of Pixel and server events, and the gap against the store's orders.

TikTok's published rules (contract §8), applied to both sides:

* The key is Pixel code (`event_source_id`) + `event` + `event_id`, compared exactly (case, whitespace and
  type matter: "ORD_1" and "ord_1" are two keys, so are "Purchase" and "CompletePayment").
* Same-side repeats (Pixel↔Pixel, server↔server): per key and side, events are taken in time order; the
  first counts; a repeat within 48 h of that FIRST event is a `same_source_duplicate` (dropped); a repeat
  more than 48 h after it starts a new counted occurrence, itself the new first. Boundaries are inclusive
  (exactly 48 h apart is still a duplicate), at millisecond resolution.
* Cross-side (Pixel↔server): per key, the counted occurrences of each side are paired in time order
  (1st Pixel occurrence with 1st server occurrence, 2nd with 2nd, ...). For a pair, Δt = server - Pixel:
  |Δt| ≤ 5 min -> one conversion, *merged* (TikTok adds the second event's match keys to the first);
  5 min < |Δt| ≤ 48 h -> one conversion, *deduplicated*; |Δt| > 48 h -> both count (*outside window*).
  An occurrence without a partner on the other side counts alone (*pixel only* / *server only*).
* Events without `event_id` can never pair or repeat: each counts alone (`missing_event_id`). TikTok has
  documented a `_ttp` fallback for server events without event_id (UNSURE whether current): it is shown
  as a hint (`ttp_fallback_candidates`) and never changes the counts.
* Events without a usable time cannot be windowed: each counts alone and is reported (`missing_time`).

Summary figures (names are a CLI contract): pixel_events, server_events, counted, deduplicated_pairs,
merged_pairs, pixel_only, server_only, same_source_duplicates, outside_window, missing_event_id; and they
reconcile: counted = merged_pairs + deduplicated_pairs + pixel_only + server_only, where pixel_only /
server_only hold every event counted from one side alone (unpaired occurrences, both halves of pairs
outside the window, events without event_id or time). With orders (the TikTok-attributable truth set,
see core.orders): truth, truth_pixel (truth orders with a counted Pixel event: what the Pixel alone would
count), truth_counted (truth orders with any counted event), truth_over_counted (truth orders TikTok counts
more than once), pixel_gap = 1 - truth_pixel / truth and recovered_share = (truth_counted - truth_pixel) /
(truth - truth_pixel), both at order level so an over-counted order never inflates them. How orders linked
to events is `link` (core.gap: order_id, an event_id template, found automatically); when none links,
the linked figures are None with a message, never a 100 % gap. `daily` has one row per UTC day (orders
on the day of their created_at, whatever the datetime unit), its truth adding up to truth - truth_undated.

Everything is vectorized (numpy sort + searchsorted); 1M + 1M events run in seconds.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from core.contract import DEDUP_WINDOW_SECONDS, LEGACY_EVENTS, MERGE_WINDOW_SECONDS
from core.errors import ConsoleError, InvalidInput
from core.gap import (
    DEFAULT_TEMPLATE,
    LinkedEvents,
    LinkMode,
    OrderGap,
    OrderLink,
    SegmentSource,
    link_orders,
    order_day_numbers,
    segment_gaps,
)
from core.links import LOOSE_PREFIX_RE, LOOSE_SUFFIX_RE, SKEW_MERGE_S, SKEW_WINDOW_S

VERDICTS: Final = ("merged", "deduplicated", "outside window", "pixel only", "server only", "missing event_id")
SUMMARY_FIELDS: Final = (
    "pixel_events", "server_events", "counted", "deduplicated_pairs", "merged_pairs", "pixel_only",
    "server_only", "same_source_duplicates", "outside_window", "missing_event_id",
)
ORDER_FIELDS: Final = ("truth", "truth_pixel", "truth_counted", "truth_over_counted", "pixel_gap",
                       "recovered_share")
_EXTRA_FIELDS: Final = ("missing_time", "ttp_fallback_candidates", "pixel_counted_alone")
# One row per UTC day: the order columns come with orders (the linked ones once orders link to events).
DAILY_COLUMNS: Final = ("truth", "truth_pixel", "truth_counted", "pixel_events", "pixel_alone", "counted")
# The event columns simulate reads: a loader's `columns=` for them keeps results and saves the rest.
PIXEL_INPUT_COLUMNS: Final = ("pixel_code", "event", "event_id", "timestamp", "ttp", "order_id")
SERVER_INPUT_COLUMNS: Final = ("pixel_code", "event", "event_id", "event_time", "ttp", "order_id")
# ... and the ones that segment orders which lack them (read only when some truth order does).
SEGMENT_INPUT_COLUMNS: Final = ("user_agent",)
KEY_COLUMNS: Final = ("pixel_code", "event", "event_id", "occurrence", "pixel_time", "server_time", "delta_s",
                      "pixel_events", "server_events", "counted", "verdict", "reason")
NEAR_MISS_COLUMNS: Final = ("kind", "pixel_code", "pixel_event", "pixel_event_id", "server_pixel_code",
                            "server_event", "server_event_id", "delta_s", "detail")

_W_MS: Final = DEDUP_WINDOW_SECONDS * 1000
_M_MS: Final = MERGE_WINDOW_SECONDS * 1000


@dataclass(frozen=True)
class DedupSummary(Mapping[str, Any]):
    """The dedup figures (names are a CLI contract, see the module docstring); read like a dict of them.

    The order figures are None without orders (and then absent from `to_dict`); the linked ones
    (truth_pixel ... recovered_share) are None when no order linked to any event (`link.message` says how).
    """

    pixel_events: int
    server_events: int
    counted: int
    deduplicated_pairs: int
    merged_pairs: int
    pixel_only: int
    server_only: int
    same_source_duplicates: int
    outside_window: int
    missing_event_id: int
    missing_time: int
    ttp_fallback_candidates: int
    pixel_counted_alone: int
    truth: int | None = None
    truth_pixel: int | None = None
    truth_counted: int | None = None
    truth_over_counted: int | None = None
    pixel_gap: float | None = None
    recovered_share: float | None = None
    truth_undated: int | None = None
    link: OrderLink | None = None
    segment_sources: Mapping[str, SegmentSource] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The CLI's JSON names: event figures always; order figures, link and segment sources with orders."""
        out: dict[str, Any] = {f: getattr(self, f) for f in (*SUMMARY_FIELDS, *_EXTRA_FIELDS)}
        if self.truth is not None:
            out.update({f: getattr(self, f) for f in (*ORDER_FIELDS, "truth_undated")})
        if self.link is not None:
            out["link"] = self.link.to_dict()
        if self.segment_sources is not None:
            out["segment_sources"] = {k: v.to_dict() for k, v in self.segment_sources.items()}
        return out

    def __getitem__(self, name: str) -> Any:
        return self.to_dict()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.to_dict())

    def __len__(self) -> int:
        return len(self.to_dict())


@dataclass(frozen=True)
class DedupReport:
    """What `simulate` found: summary figures, one row per key occurrence, near misses, and the gap.

    `keys` has KEY_COLUMNS (one row per paired/unpaired occurrence, one per event without event_id; the
    `counted` column sums to summary["counted"]); `near_misses` has NEAR_MISS_COLUMNS; with orders,
    `orders` is the truth set with per-order flags, `segments` has SEGMENT_COLUMNS, `daily` one row per
    UTC day (DAILY_COLUMNS; the order columns only with orders, the linked ones only when orders linked).
    """

    summary: DedupSummary
    keys: pd.DataFrame
    near_misses: pd.DataFrame
    segments: pd.DataFrame | None
    daily: pd.DataFrame | None
    orders: pd.DataFrame | None = None


# --- input columns (Arrow strings: C++ kernels, no Python objects per row) ------------------------
def _strings(df: pd.DataFrame, col: str) -> pa.Array:
    """Column `col` as a large_string Arrow array with "" for missing values (all "" when absent)."""
    n = len(df)
    if col not in df.columns:
        return pa.array([""], pa.large_string()).take(pa.array(np.zeros(n, dtype=np.int64)))
    series = df[col]
    if not (pd.api.types.is_string_dtype(series.dtype) or series.dtype == object):
        series = series.astype("string")
    arr = pa.array(series, from_pandas=True)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = pa.array(series.astype("string"), from_pandas=True)
    return pc.fill_null(arr.cast(pa.large_string()), "")


def _times(df: pd.DataFrame, col: str, side: str) -> np.ndarray:
    missing = [c for c in ("event", "event_id", col) if c not in df.columns]
    if missing:
        raise InvalidInput(f"The {side} events lack the column(s) {', '.join(missing)}.",
                           hint=f"{side.capitalize()} rows need event, event_id and {col}.")
    out: np.ndarray = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    return out


def _np(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    out: np.ndarray = np.asarray(arr.to_numpy(zero_copy_only=False))
    return out


def _join(*parts: pa.Array | str) -> pa.Array:
    """Element-wise string concatenation of arrays and scalars (Arrow kernel)."""
    args = [pa.scalar(p, pa.large_string()) if isinstance(p, str) else p for p in parts]
    return pc.binary_join_element_wise(*args, pa.scalar("", pa.large_string()))


def _str_int(values: np.ndarray) -> pa.Array:
    return pa.array(values.astype(np.int64)).cast(pa.large_string())


def _pick(labels: tuple[str, ...] | list[str], codes: np.ndarray) -> pa.Array:
    """labels[codes] as a large_string array (a dictionary lookup, not a Python loop)."""
    return pa.array(list(labels), pa.large_string()).take(pa.array(codes.astype(np.int64)))


# --- same-side occurrences ------------------------------------------------------------------------
def _occurrences(group: np.ndarray, t_ms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sort rows by (group, time) and mark the counted ones under the 48 h-from-first rule.

    Returns (order, anchor, anchor_pos): `order` sorts the rows; in sorted order, `anchor` marks counted
    events and `anchor_pos` gives each event the sorted position of the occurrence it belongs to.
    """
    n = len(group)
    order = np.lexsort((t_ms, group))
    if n == 0:
        return order, np.zeros(0, dtype=bool), np.zeros(0, dtype=np.int64)
    g = group[order]
    tm = t_ms[order]
    t0 = int(tm.min())
    span = int(tm.max()) - t0 + _W_MS + 1
    if int(g.max()) + 1 > (2**62) // span:
        raise InvalidInput("The events span too long a time to simulate in one run.",
                           hint="Split the files by month.")
    comp = g.astype(np.int64) * span + (tm - t0)
    # first event strictly more than 48 h after each event, if it is in the same group
    nxt = np.searchsorted(comp, comp + _W_MS, side="right")
    inside = nxt < n
    nxt = np.where(inside & (g[np.where(inside, nxt, 0)] == g), nxt, -1)
    first = np.ones(n, dtype=bool)
    first[1:] = g[1:] != g[:-1]
    anchor = np.zeros(n, dtype=bool)
    cur = np.flatnonzero(first)
    while cur.size:  # one step per occurrence number (≤ span / 48 h), vectorized over all keys
        anchor[cur] = True
        cur = nxt[cur]
        cur = cur[cur >= 0]
    anchor_pos = np.maximum.accumulate(np.where(anchor, np.arange(n), 0))
    return order, anchor, anchor_pos


def _human_parts(seconds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(unit 0-3 for s/min/h/d, whole number in it) of absolute durations; NaN and inf as 0 s."""
    a = np.abs(np.nan_to_num(seconds, nan=0.0, posinf=0.0, neginf=0.0))
    unit = np.select([a < 90, a < 5400, a < 172800], [0, 1, 2], 3)
    val = np.select([a < 90, a < 5400, a < 172800], [a, a / 60, a / 3600], a / 86400)
    return unit, np.round(val).astype(np.int64)


def _human(seconds: np.ndarray) -> pa.Array:
    """'42 s', '3 min', '7 h', '3 d' for absolute durations (vectorized)."""
    unit, val = _human_parts(seconds)
    return _join(_str_int(val), _pick((" s", " min", " h", " d"), unit))


_PAIR_TAIL: Final = (
    "merged (within 5 min: match keys added to the first event)",
    "deduplicated (after 5 min, within 48 h: the second is dropped)",
    "outside the 48 h window: both count",
)
_ONE_SIDE: Final = ("", "", "", "no server event with this key: counted from the Pixel alone",
                    "no Pixel event with this key: counted from the server alone", "")


# --- simulation -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Events:
    """Both sides as arrays, Pixel rows first: time (UTC s, NaN when unusable), side (0 Pixel, 1 server)."""

    pixel: pd.DataFrame
    server: pd.DataFrame
    t: np.ndarray
    side: np.ndarray
    cols: dict[str, pa.Array]
    has_id: np.ndarray
    has_time: np.ndarray

    @property
    def pairable(self) -> np.ndarray:
        out: np.ndarray = self.has_id & self.has_time
        return out


@dataclass(frozen=True)
class _Pairs:
    """The counted occurrences of each key paired across sides (one slot per key + occurrence number)."""

    codes: np.ndarray  # key * width + occurrence, one per slot
    width: int
    first_rows: np.ndarray  # first row of each key
    row_p: np.ndarray  # the Pixel occurrence's first row per slot (-1: none)
    row_s: np.ndarray
    n_p: np.ndarray  # events in the Pixel occurrence (repeats included)
    n_s: np.ndarray
    t_p: np.ndarray
    t_s: np.ndarray
    delta: np.ndarray  # server - Pixel, seconds
    verdict: np.ndarray  # index into VERDICTS
    occurrences: int  # counted occurrences over both sides

    @property
    def pair_key(self) -> np.ndarray:
        out: np.ndarray = self.codes // self.width
        return out


def _read_events(pixel: pd.DataFrame, server: pd.DataFrame) -> _Events:
    """The columns dedup reads, both sides concatenated (Arrow text, float seconds)."""
    t = np.concatenate([_times(pixel, "timestamp", "pixel"), _times(server, "event_time", "server")])
    side = np.concatenate([np.zeros(len(pixel), np.int8), np.ones(len(server), np.int8)])
    cols = {c: pa.concat_arrays([_strings(pixel, c), _strings(server, c)])
            for c in ("pixel_code", "event", "event_id", "ttp", "order_id")}
    return _Events(pixel=pixel, server=server, t=t, side=side, cols=cols,
                   has_id=_np(pc.not_equal(cols["event_id"], "")), has_time=np.isfinite(t))


def _pair(ev: _Events) -> _Pairs:
    """Same-side occurrences under the 48 h-from-first rule, then the k-th Pixel occurrence of a key paired
    with its k-th server occurrence (TikTok, contract §8)."""
    # one integer per key across both sides; codes follow first appearance, so the first row of
    # key k is where the running maximum first reaches k
    key = _key_codes(ev.cols)
    first_rows = np.flatnonzero(np.diff(np.maximum.accumulate(key), prepend=-1) > 0) if len(key) else key
    idx = np.flatnonzero(ev.pairable)
    group = key[idx] * 2 + ev.side[idx]
    order, anchor, anchor_pos = _occurrences(group, np.round(ev.t[idx] * 1000.0).astype(np.int64))
    rows_sorted = idx[order]
    g_sorted = group[order]
    first = np.ones(len(g_sorted), dtype=bool)
    first[1:] = g_sorted[1:] != g_sorted[:-1]
    cs = np.cumsum(anchor)
    occ = cs - cs[np.maximum.accumulate(np.where(first, np.arange(len(first)), 0))] if len(cs) else cs
    members = np.bincount(anchor_pos, minlength=len(anchor_pos)) if len(anchor_pos) else anchor_pos

    a_pos = np.flatnonzero(anchor)
    a_rows = rows_sorted[a_pos]
    width = int(occ.max()) + 1 if len(occ) else 1
    a_code = key[a_rows] * width + occ[a_pos]
    codes = np.sort(a_code)
    codes = codes[np.diff(codes, prepend=-1) != 0] if len(codes) else codes
    slot = np.searchsorted(codes, a_code)
    m = len(codes)
    row_p, row_s = np.full(m, -1, np.int64), np.full(m, -1, np.int64)
    n_p, n_s = np.zeros(m, np.int64), np.zeros(m, np.int64)
    is_p = ev.side[a_rows] == 0
    row_p[slot[is_p]] = a_rows[is_p]
    row_s[slot[~is_p]] = a_rows[~is_p]
    n_p[slot[is_p]] = members[a_pos[is_p]]
    n_s[slot[~is_p]] = members[a_pos[~is_p]]
    t_p = np.where(row_p >= 0, ev.t[row_p], np.nan)
    t_s = np.where(row_s >= 0, ev.t[row_s], np.nan)
    return _Pairs(codes=codes, width=width, first_rows=first_rows, row_p=row_p, row_s=row_s, n_p=n_p, n_s=n_s,
                  t_p=t_p, t_s=t_s, delta=t_s - t_p, verdict=_verdicts(row_p >= 0, row_s >= 0, t_s - t_p),
                  occurrences=int(anchor.sum()))


def _verdicts(has_p: np.ndarray, has_s: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """merged (≤ 5 min) / deduplicated (≤ 48 h) / outside window / pixel only / server only, per slot."""
    both_sides = has_p & has_s
    # the windows are decided in whole milliseconds, like the same-side rule
    dms = np.abs(np.round(np.nan_to_num(delta) * 1000.0))
    out: np.ndarray = np.select([both_sides & (dms <= _M_MS), both_sides & (dms <= _W_MS), both_sides, has_p],
                                [0, 1, 2, 3], 4).astype(np.int8)
    return out


def _counted_rows(ev: _Events, pairs: _Pairs) -> np.ndarray:
    """Per event, 1 when it is a conversion TikTok counts (sums to `counted`): Pixel first events always,
    server first events unless paired inside the window, and every event that cannot pair."""
    counts_row = (~ev.pairable).astype(np.int8)
    counts_row[pairs.row_p[pairs.row_p >= 0]] = 1
    counts_row[pairs.row_s[(pairs.row_s >= 0) & (pairs.verdict >= 2)]] = 1
    return counts_row


def _summarize(ev: _Events, pairs: _Pairs, ttp_hints: int) -> DedupSummary:
    """The event-level figures; they reconcile: counted = merged + deduplicated + pixel_only + server_only."""
    lone = ~ev.pairable
    v = pairs.verdict
    merged, deduped, outside = int((v == 0).sum()), int((v == 1).sum()), int((v == 2).sum())
    pixel_only = int((v == 3).sum()) + outside + int((lone & (ev.side == 0)).sum())
    server_only = int((v == 4).sum()) + outside + int((lone & (ev.side == 1)).sum())
    return DedupSummary(
        pixel_events=len(ev.pixel), server_events=len(ev.server),
        counted=merged + deduped + pixel_only + server_only, deduplicated_pairs=deduped, merged_pairs=merged,
        pixel_only=pixel_only, server_only=server_only,
        same_source_duplicates=int(ev.pairable.sum()) - pairs.occurrences, outside_window=outside,
        missing_event_id=int((~ev.has_id).sum()), missing_time=int((ev.has_id & ~ev.has_time).sum()),
        ttp_fallback_candidates=ttp_hints,
        pixel_counted_alone=int((lone & (ev.side == 0)).sum()) + int((pairs.row_p >= 0).sum()),
    )


def _key_table(ev: _Events, pairs: _Pairs, hint_rows: np.ndarray, hint_text: pa.Array) -> pd.DataFrame:
    """KEY_COLUMNS: one row per occurrence slot, then one per event that cannot pair."""
    pair_first = pairs.first_rows[pairs.pair_key] if len(pairs.codes) else pairs.codes
    keys = _keys_frame(ev.cols, pair_first, pairs.codes % pairs.width + 1, pairs.t_p, pairs.t_s, pairs.delta,
                       pairs.n_p, pairs.n_s, pairs.verdict)
    lone_rows = np.flatnonzero(~ev.pairable)
    if lone_rows.size:
        keys = pd.concat([keys, _lone_frame(ev.cols, ev.side, ev.t, ~ev.has_id, lone_rows, hint_rows, hint_text)],
                         ignore_index=True)
    return keys


def simulate(
    pixel: pd.DataFrame,
    server: pd.DataFrame,
    *,
    orders: pd.DataFrame | None = None,
    link: LinkMode = "auto",
    template: str = DEFAULT_TEMPLATE,
) -> DedupReport:
    """Apply TikTok's dedup rules to Pixel rows (`timestamp`) and server rows (`event_time`).

    Contract: both frames need `event`, `event_id` (str, "" when unset) and their time column (float UTC
    seconds); `pixel_code`, `ttp`, `order_id` are used when present (`user_agent` to segment orders that
    have none). `orders` is a canonical, already truth-filtered orders frame (core.orders.truth_filter,
    ideally with core.orders.segment_columns), linked to events as `link` says (see link_orders: "auto"
    finds the link). Raises InvalidInput on missing columns or a bad template. TikTok: key =
    event_source_id + event + event_id; 48 h same-side window; Pixel↔server merge within 5 min, dedup
    within 48 h (contract §8).
    """
    counted = _count_events(pixel, server)
    return counted.report if orders is None else _add_orders(counted, orders, link, template)


@dataclass(frozen=True)
class _Counted:
    """The events' half of a report: the arrays, which events count, and the event-level report."""

    ev: _Events
    counts_row: np.ndarray
    report: DedupReport
    event_days: pd.DataFrame


def _count_events(pixel: pd.DataFrame, server: pd.DataFrame) -> _Counted:
    """Pair, count and explain the events (no orders yet)."""
    ev = _read_events(pixel, server)
    pairs = _pair(ev)
    counts_row = _counted_rows(ev, pairs)
    hint_rows, hint_text = _ttp_fallback(ev.cols, ev.side, ev.t, ~ev.has_id)
    days = _event_days(ev, counts_row)
    report = DedupReport(
        summary=_summarize(ev, pairs, len(hint_rows)), keys=_key_table(ev, pairs, hint_rows, hint_text),
        near_misses=near_misses(ev.cols, pairs.first_rows, pairs.pair_key, pairs.verdict, pairs.t_p, pairs.t_s),
        segments=None, daily=_day_labels(days), orders=None)
    return _Counted(ev=ev, counts_row=counts_row, report=report, event_days=days)


def _add_orders(counted: _Counted, orders: pd.DataFrame, link: str, template: str) -> DedupReport:
    """The report with the truth orders linked to the counted events: gap figures, segments, daily."""
    ev = counted.ev
    gap = link_orders(orders, LinkedEvents(pixel=ev.pixel, server=ev.server, side=ev.side, counted=counted.counts_row,
                                           order_id=ev.cols["order_id"], event_id=ev.cols["event_id"],
                                           event=ev.cols["event"]), link, template)
    return replace(counted.report, summary=_with_orders(counted.report.summary, gap),
                   segments=segment_gaps(gap.orders) if gap.link.linked_orders else None,
                   daily=_day_labels(counted.event_days.join(_order_days(gap), how="outer")), orders=gap.orders)


def _event_days(ev: _Events, counts_row: np.ndarray) -> pd.DataFrame:
    """Per UTC day number: Pixel events, Pixel events counted alone, events counted."""
    days = _day_numbers(ev.t)
    is_pixel = pd.Series(ev.side == 0)
    return pd.DataFrame({
        "pixel_events": is_pixel.astype("int64").groupby(days).sum(),
        "pixel_alone": (is_pixel & (counts_row == 1)).astype("int64").groupby(days).sum(),
        "counted": pd.Series(counts_row).astype("int64").groupby(days).sum(),
    })


def _order_days(gap: OrderGap) -> pd.DataFrame:
    """Per UTC day number of created_at: truth orders, and when orders linked, Pixel-counted and counted."""
    frame = gap.orders
    days = order_day_numbers(frame["created_at"] if "created_at" in frame.columns
                             else pd.Series(pd.NaT, index=frame.index))
    out = {"truth": pd.Series(1, index=frame.index).groupby(days).sum()}
    if gap.link.linked_orders:
        out["truth_pixel"] = frame["pixel"].astype("int64").groupby(days).sum()
        out["truth_counted"] = frame["counted"].astype("int64").groupby(days).sum()
    return pd.DataFrame(out)


def _day_labels(daily: pd.DataFrame) -> pd.DataFrame:
    """Day numbers -> 'YYYY-MM-DD' in a `day` column, days without a date dropped, counts as int64."""
    daily = daily.fillna(0).astype("int64")
    daily = daily[daily.index >= 0].sort_index()
    daily.index = pd.to_datetime(daily.index.to_numpy(dtype="int64"), unit="D").strftime("%Y-%m-%d")
    cols = [c for c in DAILY_COLUMNS if c in daily.columns]
    return daily.rename_axis("day").reset_index()[["day", *cols]]


def _with_orders(summary: DedupSummary, gap: OrderGap) -> DedupSummary:
    """The summary plus the truth figures (order level); the linked ones None when no order linked."""
    frame = gap.orders
    t_n = len(frame)
    undated = int((order_day_numbers(frame["created_at"]) < 0).sum()) if "created_at" in frame.columns else t_n
    if not gap.link.linked_orders:
        return replace(summary, truth=t_n, truth_undated=undated, link=gap.link, segment_sources=gap.sources)
    tp, tc = int(frame["pixel"].sum()), int(frame["counted"].sum())
    return replace(summary, truth=t_n, truth_pixel=tp, truth_counted=tc,
                   truth_over_counted=int((frame["conversions"] > 1).sum()), pixel_gap=_ratio(t_n - tp, t_n),
                   recovered_share=_ratio(tc - tp, t_n - tp), truth_undated=undated, link=gap.link,
                   segment_sources=gap.sources)


def _key_codes(cols: dict[str, pa.Array]) -> np.ndarray:
    """One int64 per row for pixel_code + event + event_id, numbered by first appearance.

    The same numbering as dictionary-encoding the joined key strings, without building a million
    joined strings: each column is dictionary-encoded and the codes are combined.
    """
    return _combine(*(_np(pc.dictionary_encode(cols[c]).indices) for c in ("pixel_code", "event", "event_id")))


def _combine(*parts: np.ndarray) -> np.ndarray:
    """One code 0..k-1 per distinct row of the non-negative integer columns `parts` (first appearance)."""
    code = np.zeros(len(parts[0]), np.int64)
    for part in parts:
        col = part.astype(np.int64)
        code = pd.factorize(code * (int(col.max(initial=0)) + 1) + col)[0].astype(np.int64)
    return code


def _join_key(cols: dict[str, pa.Array]) -> pa.Array:
    # \x1f (unit separator) cannot occur in a pixel code, event name or sane event_id
    return pc.binary_join_element_wise(cols["pixel_code"], cols["event"], cols["event_id"],
                                       pa.scalar("\x1f", pa.large_string()))


def _keys_frame(cols: dict[str, pa.Array], first: np.ndarray, occurrence: np.ndarray, t_p: np.ndarray,
                t_s: np.ndarray, delta: np.ndarray, n_p: np.ndarray, n_s: np.ndarray,
                verdict: np.ndarray) -> pd.DataFrame:
    """One row per (key, occurrence pair) with its verdict and a reason a person can act on."""
    take = pa.array(first.astype(np.int64))
    # the reason depends on a handful of small numbers: write it once per distinct combination
    paired = verdict <= 2
    unit, value = _human_parts(delta)
    combo = _combine(verdict, np.where(paired, unit, 0), np.where(paired, value, 0), paired & (delta < 0),
                     np.maximum(n_p - 1, 0), np.maximum(n_s - 1, 0))
    rep = np.unique(combo, return_index=True)[1]
    reason = _reasons(delta[rep], verdict[rep], n_p[rep], n_s[rep]).take(pa.array(combo))
    return pa.table({
        "pixel_code": cols["pixel_code"].take(take),
        "event": cols["event"].take(take),
        "event_id": cols["event_id"].take(take),
        "occurrence": occurrence.astype(np.int64),
        "pixel_time": t_p, "server_time": t_s, "delta_s": delta,
        "pixel_events": n_p, "server_events": n_s,
        "counted": np.where(verdict == 2, 2, 1).astype(np.int64),
        "verdict": _pick(VERDICTS, verdict),
        "reason": reason,
    }).to_pandas()


def _reasons(delta: np.ndarray, verdict: np.ndarray, n_p: np.ndarray, n_s: np.ndarray) -> pa.Array:
    """The reason a person can act on, per key verdict (see _keys_frame)."""
    paired = verdict <= 2
    pair_text = _join("server arrived ", _human(delta), _pick((" after", " before"), (delta < 0).astype(int)),
                      " pixel: ", _pick(_PAIR_TAIL, np.minimum(verdict, 2)))
    reason = pc.if_else(pa.array(paired), pair_text, _pick(_ONE_SIDE, verdict))
    for n, label in ((n_p, " Pixel"), (n_s, " server")):
        if (n > 1).any():
            note = _join("; ", _str_int(np.maximum(n - 1, 0)), label, " repeat(s) within 48 h dropped")
            reason = _join(reason, pc.if_else(pa.array(n > 1), note, pa.scalar("", pa.large_string())))
    return reason


def key_reasons(delta: np.ndarray, verdict: np.ndarray, n_p: np.ndarray, n_s: np.ndarray,
                lone: np.ndarray) -> list[str]:
    """The `reason` of KEY_COLUMNS for rows given as arrays: occurrence slots, and (`lone`) events that
    cannot pair (without the _ttp hint)."""
    slots = _reasons(delta, verdict, n_p, n_s).to_pylist()
    alone = ("no event_id: cannot pair or deduplicate; counted on its own",
             "no usable time: cannot be windowed; counted on its own")
    return [alone[0 if v == 5 else 1] if is_lone else str(text)
            for text, v, is_lone in zip(slots, verdict, lone, strict=True)]


def _lone_frame(cols: dict[str, pa.Array], side: np.ndarray, t: np.ndarray, missing_id: np.ndarray,
                rows: np.ndarray, hint_rows: np.ndarray, hint_text: pa.Array) -> pd.DataFrame:
    """One row per event that cannot pair: no event_id, or no usable time."""
    take = pa.array(rows.astype(np.int64))
    lside = side[rows]
    no_id = missing_id[rows]
    reason = pa.array(np.where(no_id, "no event_id: cannot pair or deduplicate; counted on its own",
                               "no usable time: cannot be windowed; counted on its own"), pa.large_string())
    if len(hint_rows):
        pos = np.full(len(side), -1, np.int64)
        pos[rows] = np.arange(len(rows))
        hint_full = pa.array([""], pa.large_string()).take(pa.array(np.zeros(len(rows), np.int64)))
        where = pos[hint_rows]
        order = np.argsort(where)
        filled = np.full(len(rows), -1, np.int64)
        filled[where[order]] = order
        hint_full = pc.if_else(pa.array(filled >= 0),
                               hint_text.take(pa.array(np.maximum(filled, 0))), hint_full)
        reason = _join(reason, pc.if_else(pa.array(filled >= 0), pa.scalar("; ", pa.large_string()),
                                              pa.scalar("", pa.large_string())), hint_full)
    verdict = np.where(no_id, 5, np.where(lside == 0, 3, 4))
    return pa.table({
        "pixel_code": cols["pixel_code"].take(take),
        "event": cols["event"].take(take),
        "event_id": cols["event_id"].take(take),
        "occurrence": np.ones(len(rows), np.int64),
        "pixel_time": np.where(lside == 0, t[rows], np.nan),
        "server_time": np.where(lside == 1, t[rows], np.nan),
        "delta_s": np.full(len(rows), np.nan),
        "pixel_events": (lside == 0).astype(np.int64),
        "server_events": (lside == 1).astype(np.int64),
        "counted": np.ones(len(rows), np.int64),
        "verdict": _pick(VERDICTS, verdict),
        "reason": reason,
    }).to_pandas()


def _ratio(num: float, den: float) -> float | None:
    return round(num / den, 6) if den else None


def _day_numbers(t: np.ndarray) -> np.ndarray:
    """Days since the epoch (UTC) per epoch second; -1 for NaN."""
    out: np.ndarray = np.where(np.isfinite(t), np.floor(np.nan_to_num(t) / 86400), -1).astype(np.int64)
    return out


def _ttp_fallback(cols: dict[str, pa.Array], side: np.ndarray, t: np.ndarray,
                  missing_id: np.ndarray) -> tuple[np.ndarray, pa.Array]:
    """Server events without event_id sharing `_ttp` + event + Pixel code with a Pixel event within 48 h.

    Returns (rows, hint text); TikTok's fallback is documented but UNSURE, so it never changes counts.
    """
    ttp = cols["ttp"]
    has_ttp = _np(pc.not_equal(ttp, ""))
    srv = np.flatnonzero(missing_id & (side == 1) & has_ttp)
    empty = (np.zeros(0, np.int64), pa.array([], pa.large_string()))
    if not srv.size:
        return empty
    wanted = ttp.take(pa.array(srv))
    pix = np.flatnonzero((side == 0) & has_ttp & _np(pc.is_in(ttp, value_set=wanted)))
    if not pix.size:
        return empty

    def frame(rows: np.ndarray) -> pd.DataFrame:
        take = pa.array(rows)
        return pa.table({"row": rows, "t": t[rows], "k": _join_key({
            "pixel_code": cols["pixel_code"].take(take), "event": cols["event"].take(take),
            "event_id": ttp.take(take)})}).to_pandas()

    m = frame(srv).merge(frame(pix), on="k", suffixes=("", "_pixel"))
    m["ad"] = (m["t"] - m["t_pixel"]).abs()
    m = m[m["ad"] <= DEDUP_WINDOW_SECONDS].sort_values("ad").drop_duplicates("row")
    if m.empty:
        return empty
    text = _join("TikTok may try its _ttp fallback against a Pixel event ", _human(m["ad"].to_numpy()),
                 " apart (a hint only, not counted)")
    return m["row"].to_numpy(dtype=np.int64), text


# --- near misses ----------------------------------------------------------------------------------
def _normalize_ids(ids: pa.Array) -> pa.Array:
    s = pc.utf8_lower(pc.utf8_trim_whitespace(ids))
    s = pc.replace_substring_regex(s, pattern=LOOSE_SUFFIX_RE, replacement="")
    s = pc.replace_substring_regex(s, pattern=LOOSE_PREFIX_RE, replacement="")
    s = pc.replace_substring_regex(s, pattern=r"^(\d+)\.0+$", replacement=r"\1")
    return pc.utf8_trim_whitespace(s)


def normalize_event_id(ids: pd.Series) -> pd.Series:
    """A loose form of event_ids for finding near misses: lower-case, trimmed, without common prefixes
    ("ord_", "order-", "#") and event-name suffixes ("_purchase"), and "10492.0" as "10492".

    Never used for counting: TikTok compares event_id exactly (contract §8).
    """
    frame = pd.DataFrame({"id": ids})
    return pd.Series(_normalize_ids(_strings(frame, "id")), index=ids.index, dtype="str")


def near_misses(cols: dict[str, pa.Array], first_rows: np.ndarray, pair_key: np.ndarray,
                verdict: np.ndarray, t_p: np.ndarray, t_s: np.ndarray) -> pd.DataFrame:
    """Keys that did not pair but nearly did, and pairs that nearly merged / nearly stayed in the window.

    Kinds: "case or whitespace", "number vs string", "prefix or suffix", "event name differs" (same id,
    e.g. CompletePayment vs Purchase), "pixel code differs", "clock skew". TikTok pairs only exact keys
    (contract §8), so each of these is a conversion counted twice or a merge lost.
    """
    parts: list[pd.DataFrame] = []

    def frame(mask: np.ndarray, times: np.ndarray) -> pd.DataFrame:
        take = pa.array(first_rows[pair_key[mask]])
        ids = cols["event_id"].take(take)
        return pa.table({"pixel_code": cols["pixel_code"].take(take), "event": cols["event"].take(take),
                         "event_id": ids, "norm": _normalize_ids(ids), "t": times[mask]}).to_pandas()

    if (verdict == 3).any() and (verdict == 4).any():
        fp, fs = frame(verdict == 3, t_p), frame(verdict == 4, t_s)
        m = fp[fp["norm"] != ""].merge(fs[fs["norm"] != ""], on="norm", suffixes=("_p", "_s"))
        if len(m):
            parts.append(classify_near(m))
    ad = np.abs(t_s - t_p)
    skew = ((verdict == 1) & (ad <= SKEW_MERGE_S)) | ((verdict == 2) & (ad <= SKEW_WINDOW_S))
    if skew.any():
        take = pa.array(first_rows[pair_key[skew]])
        code, event, eid = (cols[c].take(take) for c in ("pixel_code", "event", "event_id"))
        parts.append(skew_near_misses(code, event, eid, (t_s - t_p)[skew], verdict[skew]))
    if not parts:
        return empty_near_misses()
    return pd.concat(parts, ignore_index=True)[list(NEAR_MISS_COLUMNS)]


def empty_near_misses() -> pd.DataFrame:
    """A near-miss table without rows (NEAR_MISS_COLUMNS)."""
    return pd.DataFrame({c: pd.Series(dtype="float64" if c == "delta_s" else "str") for c in NEAR_MISS_COLUMNS})


def skew_near_misses(code: Any, event: Any, eid: Any, d: np.ndarray, verdict: np.ndarray) -> pd.DataFrame:
    """"clock skew" near misses: pairs (keys `code`, `event`, `eid`; server - Pixel `d` seconds; verdict 1
    or 2) that just missed the merge window or the 48 h window."""
    missed = _pick(("merge window (5 min)", "48 h window"), (verdict == 2).astype(int))
    detail = _join("server ", _human(d), _pick((" after", " before"), (d < 0).astype(int)),
                   " the Pixel just missed the ", missed,
                   ": check the server clock and send event_time from the order, not the queue")
    code, event, eid = (pa.array(x, pa.large_string()) if not isinstance(x, pa.Array) else x
                        for x in (code, event, eid))
    return pa.table({
        "kind": pa.array(["clock skew"] * len(d), pa.large_string()), "pixel_code": code,
        "pixel_event": event, "pixel_event_id": eid, "server_pixel_code": code, "server_event": event,
        "server_event_id": eid, "delta_s": d, "detail": detail}).to_pandas()


def classify_near(m: pd.DataFrame) -> pd.DataFrame:
    """Name the difference between a one-sided Pixel key and a one-sided server key with one loose id."""
    id_same = m["event_id_p"] == m["event_id_s"]
    lower_same = m["event_id_p"].str.strip().str.lower() == m["event_id_s"].str.strip().str.lower()
    num_same = (m["event_id_p"].str.replace(r"\.0+$", "", regex=True)
                == m["event_id_s"].str.replace(r"\.0+$", "", regex=True))
    ev_same = m["event_p"] == m["event_s"]
    code_same = m["pixel_code_p"] == m["pixel_code_s"]
    kind = np.select([id_same & ev_same & ~code_same, id_same, lower_same, num_same],
                     ["pixel code differs", "event name differs", "case or whitespace", "number vs string"],
                     "prefix or suffix")
    legacy = (m["event_p"].map(LEGACY_EVENTS).fillna("").eq(m["event_s"])
              | m["event_s"].map(LEGACY_EVENTS).fillna("").eq(m["event_p"])).to_numpy()
    detail = np.where(
        kind == "event name differs",
        np.where(legacy, "same event_id under a legacy and a current event name (TikTok keys on the exact "
                 "name): send the same name on both sides",
                 "same event_id under different event names: send the same name on both sides"),
        np.where(kind == "pixel code differs", "same event_id and name sent to different Pixel codes",
                 "event_ids differ only by " + pd.Series(kind).to_numpy(dtype=object)
                 + ": generate the id once and pass it to both ttq.track and the Events API"))
    detail = np.where(~ev_same.to_numpy() & ~id_same.to_numpy(), detail + "; the event names differ too",
                      detail)
    return pd.DataFrame({
        "kind": kind, "pixel_code": m["pixel_code_p"], "pixel_event": m["event_p"],
        "pixel_event_id": m["event_id_p"], "server_pixel_code": m["pixel_code_s"],
        "server_event": m["event_s"], "server_event_id": m["event_id_s"],
        "delta_s": m["t_s"] - m["t_p"], "detail": detail,
    })


# --- one key's rows, for the Compare page ---------------------------------------------------------
def rows_for_key(df: pd.DataFrame, code: str, event: str, event_id: str, time_col: str,
                 near: float | None = None) -> pd.DataFrame:
    """The row of `df` with this dedup key (the occurrence nearest `near` when the key repeats); may be empty."""
    if not event_id:
        return df.iloc[0:0]
    rows = df[(df["pixel_code"] == code) & (df["event"] == event) & (df["event_id"] == event_id)]
    if len(rows) > 1 and near is not None and not math.isnan(near):
        return rows.loc[[(rows[time_col] - near).abs().idxmin()]]
    return rows.head(1)


def key_rows(pixel: pd.DataFrame, server: pd.DataFrame, key: Any) -> tuple[pd.DataFrame, pd.DataFrame, str | None]:
    """The Pixel and server rows of one `DedupReport.keys` row, and the near-miss event_id standing in.

    Each side gives at most one row (`rows_for_key`, nearest the key's time). When only one side has the
    key, the other side's nearest partner (core.diff.near_partners) stands in and its event_id is the
    third item (None otherwise). TikTok compares ids exactly, so such a pair never deduplicates.
    """
    from core.diff import near_partners

    p_rows = rows_for_key(pixel, key.pixel_code, key.event, key.event_id, "timestamp", key.pixel_time)
    s_rows = rows_for_key(server, key.pixel_code, key.event, key.event_id, "event_time", key.server_time)
    if p_rows.empty == s_rows.empty:
        return p_rows, s_rows, None
    other = near_partners(server if s_rows.empty else pixel, key.event, key.event_id)
    if other.empty:
        return p_rows, s_rows, None
    p_rows, s_rows = (p_rows, other.head(1)) if s_rows.empty else (other.head(1), s_rows)
    return p_rows, s_rows, str(other.iloc[0]["event_id"])


# --- files in, report out (the dedup command) ------------------------------------------------------
@dataclass(frozen=True)
class DedupRun:
    """A dedup over files: the report, the orders file's warnings, and the truth rule in words."""

    report: DedupReport
    warnings: list[str]
    truth_rule: str | None

    def to_dict(self, details: bool = False) -> dict[str, Any]:
        """The CLI's JSON: summary figures at the top level, `near_misses` (count per kind), `daily` (one
        object per UTC day), `truth_rule` with orders, and with `details` the `keys` (one per verdict)."""
        r = self.report
        out = r.summary.to_dict()
        out["near_misses"] = {str(k): int(v) for k, v in r.near_misses["kind"].value_counts().items()}
        out["daily"] = [] if r.daily is None else r.daily.to_dict(orient="records")
        if self.truth_rule is not None:
            out["truth_rule"] = self.truth_rule
        if details:
            out["keys"] = r.keys.astype(object).where(r.keys.notna(), None).to_dict(orient="records")
        return out


def dedup_files(pixel: str | Path, server: str | Path, orders: str | Path | None = None, *,
                link: LinkMode = "auto", template: str = DEFAULT_TEMPLATE, utm_source: str = "tiktok",
                all_orders: bool = False) -> DedupRun:
    """Read Pixel, server and (optionally) orders files and simulate TikTok's dedup over them.

    Only the columns dedup reads are loaded (plus the events' user agents when some truth order has none,
    to segment it). The truth set is core.orders.truth_filter(utm_source, or every order with
    `all_orders`). Raises InvalidFile / InvalidInput for unreadable files or bad link settings.
    TikTok: the rules of `simulate` (contract §8).
    """
    from core.sources import load_pixel_events, load_server_events

    release = pa.default_memory_pool().release_unused  # hand each stage's scratch back: a lower peak
    # The orders file is independent of the event files: it loads on a second thread while the events
    # load and are counted (Arrow's readers and kernels release the GIL); errors still surface in a
    # sequential run's order (Pixel, server, orders).
    with ThreadPoolExecutor(max_workers=1) as pool:
        truth = pool.submit(_truth_set, orders, utm_source, all_orders) if orders is not None else None
        extra = SEGMENT_INPUT_COLUMNS if orders is not None and not _has_agents(orders) else ()
        pixel_rows = load_pixel_events(pixel, columns=(*PIXEL_INPUT_COLUMNS, *extra)).events
        release()
        server_rows = load_server_events(server, columns=(*SERVER_INPUT_COLUMNS, *extra))
        release()
        counted = _count_events(pixel_rows, server_rows)
        if truth is None:
            return DedupRun(report=counted.report, warnings=[], truth_rule=None)
        warnings, frame = truth.result()
    rule = "all orders" if all_orders else f"utm_source={utm_source} or a ttclid"
    return DedupRun(report=_add_orders(counted, frame, link, template), warnings=warnings, truth_rule=rule)


def _has_agents(path: str | Path) -> bool:
    """Whether the orders file has a user-agent column (then the events' user agents are not read)."""
    from core.sources.orders import read_columns, suggest_mapping

    try:
        return "user_agent" in suggest_mapping(read_columns(path))
    except ConsoleError:  # the orders' own load reports it, after the events' errors
        return False


def _truth_set(path: str | Path, utm_source: str, all_orders: bool) -> tuple[list[str], pd.DataFrame]:
    """The orders file's warnings and its truth set with segment columns (only the truth set is kept)."""
    from core.orders import segment_columns, truth_filter
    from core.sources.orders import load_orders

    loaded = load_orders(path)
    truth = truth_filter(loaded, utm_source=utm_source, require_ttclid_or_utm=not all_orders)
    warnings = loaded.warnings
    del loaded
    pa.default_memory_pool().release_unused()
    return warnings, segment_columns(truth)
