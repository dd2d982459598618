"""The dedup analysis as set-based SQL, written once in DuckDB's dialect (SQLGlot turns it into Spark SQL).

Every statement reads named relations and yields one; `core.engine.runner` materialises them on the engine.
Inputs are four relations the sources provide (core.engine.sources):

* `pixel_text` / `server_text`: raw text columns pixel_code, event, event_id, t_text, order_id (NULL when
  the file lacks the column), or `pixel_rows` / `server_rows` already typed by the console's own readers
  (HAR and JSON bodies): pixel_code, event, event_id, t (DOUBLE seconds), order_id.
* `orders_text`: rn (file order), order_id, created_at, utm_source, ttclid, landing_site and the segment
  columns as text.

TikTok's rules (contract §8) exactly as core.dedup documents them: key = pixel code + event + event_id,
compared exactly; per key and side the first event counts and a repeat within 48 h of that FIRST event is
dropped, a later one starts a new occurrence (inclusive, in whole milliseconds); the n-th Pixel occurrence
pairs with the n-th server occurrence: |Δt| ≤ 5 min merged, ≤ 48 h deduplicated, else both count; events
without event_id or a usable time count alone.

The 48 h-from-first rule needs one pass per occurrence number: pass 0 is one GROUP BY per key over every
event, both sides at once (each side's minimum is its first occurrence); a key whose sides both stay within
48 h is paired right there, without joining the sides (most keys). Only keys whose events span more than
48 h go on, and each further pass reads only the events left after the previous occurrence's window (a
month has at most ~16 passes, over a shrinking remainder); their occurrences are paired by a join of those
few. No recursion, so the same statements run on Spark 3.5.
"""

from __future__ import annotations

from typing import Final

from core.contract import DEDUP_WINDOW_SECONDS, MERGE_WINDOW_SECONDS, MS_TIMESTAMP_THRESHOLD
from core.links import SKEW_MERGE_S, SKEW_WINDOW_S, TIKTOK_SITE

W_MS: Final = DEDUP_WINDOW_SECONDS * 1000
M_MS: Final = MERGE_WINDOW_SECONDS * 1000
KEY: Final = "pixel_code, event, event_id"
# Python's str.strip() whitespace, every character of it (pyarrow's utf8_trim_whitespace removes the same):
# what the loaders' trimming removes
WHITESPACE: Final = "".join(chr(c) for c in range(0x3001) if chr(c).isspace())
_WS: Final = f"'{WHITESPACE}'"


def strip(col: str) -> str:
    """SQL for `col` without surrounding whitespace, '' for NULL (the loaders' `stripped`).

    The trim runs only where the first or last character could be whitespace (code points 33-132 cannot):
    most values have none, and looking at two characters costs a fraction of trimming with a character set.
    """
    # BETWEEN, not `IN (...)` (the engine turns a list of constants into a join per value read); NULL (a
    # CSV's empty field) and '' come out '' without the trim
    return (f"CASE WHEN ascii({col}) BETWEEN 33 AND 132 AND ascii(right({col}, 1)) BETWEEN 33 AND 132 THEN {col} "
            f"WHEN {col} IS NULL OR {col} = '' THEN '' ELSE trim({col}, {_WS}) END")


def round_half_even(expr: str) -> str:
    """SQL rounding to a whole number, ties to even (numpy's `round`, which core.dedup uses)."""
    return (f"(floor({expr}) + CASE WHEN ({expr}) - floor({expr}) > 0.5 OR (({expr}) - floor({expr}) = 0.5 "
            f"AND floor({expr}) % 2 = 1) THEN 1 ELSE 0 END)")


def _seconds(text: str, num: str) -> str:
    """Epoch seconds from `num` (the text as a number; milliseconds above 10^11) or ISO-8601 `text`."""
    return (f"CASE WHEN {num} IS NOT NULL THEN CASE WHEN {num} > {MS_TIMESTAMP_THRESHOLD} THEN {num} / 1000.0 "
            f"ELSE {num} END ELSE epoch(TRY_CAST({text} AS TIMESTAMPTZ)) END")


def pixel_rows_from_text() -> str:
    """Pixel export rows as core.pixel reads them: trimmed texts, event_id as sent ("12.0" -> "12"),
    timestamps ISO-8601 or epoch s/ms; rows without pixel code, event or readable time are skipped.
    (Each value is computed once, in layers: the engines do not share repeated expressions.)"""
    return f"""
SELECT pixel_code, event, event_id, t, order_id, ttp, user_agent FROM (
  SELECT pixel_code, event, event_id, {_seconds('t_text', 'num')} AS t, order_id, ttp, user_agent FROM (
    SELECT pixel_code, event, event_id, t_text, TRY_CAST(t_text AS DOUBLE) AS num, order_id, ttp, user_agent FROM (
      SELECT {strip('pixel_code')} AS pixel_code, {strip('event')} AS event,
             CASE WHEN event_id LIKE '%.0' THEN regexp_replace(event_id, '^(-?[0-9]+)\\.0$', '\\1')
                  ELSE coalesce(event_id, '') END AS event_id,
             {strip('t_text')} AS t_text, {strip('order_id')} AS order_id, {strip('ttp')} AS ttp,
             user_agent
      FROM pixel_text) a) b) c
WHERE pixel_code <> '' AND event <> '' AND t IS NOT NULL AND NOT isnan(t)"""


def server_rows_from_text() -> str:
    """Server CSV rows as core.events reads them: trimmed texts but event_id exactly as sent, event_time in
    epoch seconds (milliseconds above 10^11); every row is kept."""
    return f"""
SELECT pixel_code, event, event_id, CASE WHEN num > {MS_TIMESTAMP_THRESHOLD} THEN num / 1000.0 ELSE num END AS t,
       order_id, ttp, user_agent
FROM (
  SELECT {strip('pixel_code')} AS pixel_code, {strip('event')} AS event, coalesce(event_id, '') AS event_id,
         TRY_CAST({strip('t_text')} AS DOUBLE) AS num, {strip('order_id')} AS order_id, {strip('ttp')} AS ttp,
         user_agent
  FROM server_text) s"""


# every event, one row each, server events first: `ttp` is kept only where TikTok's _ttp fallback could use
# it (server events without an event_id, a month has few, and Pixel events carrying one of their _ttp), so
# the hint needs no second read of either file
SERVER_EVENTS: Final = """
SELECT CAST(1 AS TINYINT) AS side, pixel_code, event, event_id, t, order_id,
       CASE WHEN event_id = '' AND ttp <> '' THEN ttp END AS ttp
FROM server_rows"""


def pixel_events(ttp_wanted: bool) -> str:
    """The Pixel events; with `ttp_wanted` (some server event has a _ttp and no event_id) each keeps its
    _ttp when a server event without event_id has the same one."""
    ttp = ("CASE WHEN ttp IN (SELECT ttp FROM server_events WHERE ttp IS NOT NULL) THEN ttp END" if ttp_wanted
           else "CAST(NULL AS VARCHAR)")
    return f"""
SELECT CAST(0 AS TINYINT) AS side, pixel_code, event, event_id, t, order_id, {ttp} AS ttp FROM pixel_rows"""


EVENTS: Final = """
SELECT side, pixel_code, event, event_id, t, order_id, ttp FROM pixel_events
UNION ALL
SELECT side, pixel_code, event, event_id, t, order_id, ttp FROM server_events"""

def verdict(t_p: str, t_s: str) -> str:
    """The verdict code (core.dedup.VERDICTS) of a Pixel occurrence at `t_p` beside a server one at `t_s`
    (either NULL when that side has none)."""
    delta = f"abs({round_half_even(f'({t_s} - {t_p}) * 1000')})"
    return (f"CASE WHEN {t_p} IS NULL THEN 4 WHEN {t_s} IS NULL THEN 3 WHEN {delta} <= {M_MS} THEN 0 "
            f"WHEN {delta} <= {W_MS} THEN 1 ELSE 2 END")


def _sides() -> str:
    aggs = []
    for side, x in ((0, "p"), (1, "s")):
        only = f"FILTER (WHERE side = {side})"
        aggs.append(f"min(t) {only} AS t_{x}, arg_min(order_id, t) {only} AS order_{x}, count(*) {only} AS n_{x}, "
                    f"max(t) {only} AS last_{x}")
    return ",\n           ".join(aggs)


def _ms(t: str) -> str:
    return f"CAST({round_half_even(f'{t} * 1000')} AS BIGINT)"


# pass 0, one GROUP BY over every event that can pair: per key, each side's first event (its first
# occurrence), how many events the side has and whether they span more than 48 h (`rep_p` / `rep_s`: the
# side has later occurrences). A key whose sides both stay within 48 h is paired right here (`verdict`):
# most keys are, so their pairing needs no join of the two sides. The earliest time is also the earliest
# millisecond (rounding keeps order), so min/max of the seconds stand in for arg_min over milliseconds: two
# cheap aggregates per side instead of four, which keeps a month's table of keys in memory.
FIRSTS: Final = f"""
SELECT {KEY}, tm_p, t_p, order_p, n_p, tm_s, t_s, order_s, n_s,
       coalesce({_ms('last_p')} - tm_p > {W_MS}, false) AS rep_p,
       coalesce({_ms('last_s')} - tm_s > {W_MS}, false) AS rep_s, {verdict('t_p', 't_s')} AS verdict
FROM (
  SELECT *, {_ms('t_p')} AS tm_p, {_ms('t_s')} AS tm_s FROM (
    SELECT {KEY},
           {_sides()}
    FROM events WHERE event_id <> '' AND abs(t) < 1e300 GROUP BY {KEY}) g) m"""

# the events more than 48 h after their key's first event on their side (only sides spanning more than 48 h);
# the few keys that repeat are joined first, so only their events get their milliseconds computed
LATER_0: Final = f"""
SELECT side, pixel_code, event, event_id, t, tm, order_id FROM (
  SELECT e.side, e.pixel_code, e.event, e.event_id, e.t, {_ms('e.t')} AS tm, e.order_id, f.rep_p, f.rep_s,
         f.tm_p, f.tm_s
  FROM events e JOIN (SELECT {KEY}, rep_p, rep_s, tm_p, tm_s FROM firsts WHERE rep_p OR rep_s) f
    ON e.pixel_code = f.pixel_code AND e.event = f.event AND e.event_id = f.event_id
  WHERE e.event_id <> '' AND abs(e.t) < 1e300) k
WHERE (side = 0 AND rep_p AND tm > tm_p + {W_MS}) OR (side = 1 AND rep_s AND tm > tm_s + {W_MS})"""


def occurrence(later: str, occ: int) -> str:
    """Occurrence `occ` (1, 2, ...) of each key: the first event left in `later`, and how many are left."""
    return f"""
SELECT side, {KEY}, {occ} AS occ, min(tm) AS tm, arg_min(t, tm) AS t, arg_min(order_id, tm) AS order_id,
       count(*) AS n
FROM {later} GROUP BY side, {KEY}"""


def later(prev_later: str, occ_table: str) -> str:
    """The events of `prev_later` more than 48 h after their key's occurrence in `occ_table`."""
    return f"""
SELECT k.side, k.pixel_code, k.event, k.event_id, k.t, k.tm, k.order_id
FROM {prev_later} k JOIN {occ_table} o ON k.side = o.side AND k.pixel_code = o.pixel_code
  AND k.event = o.event AND k.event_id = o.event_id
WHERE k.tm > o.tm + {W_MS}"""


def repeated_anchors(occ_tables: list[str]) -> str:
    """Every occurrence of the keys where a side spans more than 48 h (both sides), each with `members`:
    the events it stands for (itself and its dropped repeats), i.e. the events left at its pass less those
    left after."""
    parts = [f"SELECT {side} AS side, {KEY}, 0 AS occ, tm_{x} AS tm, t_{x} AS t, order_{x} AS order_id, "
             f"n_{x} AS n_left FROM firsts WHERE (rep_p OR rep_s) AND n_{x} > 0" for side, x in ((0, "p"), (1, "s"))]
    parts += [f"SELECT side, {KEY}, occ, tm, t, order_id, n AS n_left FROM {name}" for name in occ_tables]
    union = "\n  UNION ALL\n  ".join(parts)
    return f"""
SELECT side, {KEY}, occ, tm, t, order_id,
       n_left - coalesce(lead(n_left) OVER (PARTITION BY side, {KEY} ORDER BY occ), 0) AS members
FROM (
  {union}
) a"""


# the n-th Pixel occurrence beside the n-th server occurrence of the keys with repeats (a few)
PAIRS_REPEATED: Final = f"""
SELECT pixel_code, event, event_id, occ, t_p, t_s, order_p, order_s, n_p, n_s, {verdict('t_p', 't_s')} AS verdict
FROM (
  SELECT coalesce(p.pixel_code, s.pixel_code) AS pixel_code, coalesce(p.event, s.event) AS event,
         coalesce(p.event_id, s.event_id) AS event_id, coalesce(p.occ, s.occ) AS occ,
         p.t AS t_p, s.t AS t_s, p.order_id AS order_p, s.order_id AS order_s,
         coalesce(p.members, 0) AS n_p, coalesce(s.members, 0) AS n_s
  FROM (SELECT * FROM anchors_repeated WHERE side = 0) p
  FULL OUTER JOIN (SELECT * FROM anchors_repeated WHERE side = 1) s
    ON p.pixel_code = s.pixel_code AND p.event = s.event AND p.event_id = s.event_id AND p.occ = s.occ) j"""

# every key's occurrences paired (verdict codes as core.dedup.VERDICTS): the keys within 48 h straight
# from pass 0, the others from PAIRS_REPEATED
PAIRS: Final = f"""
SELECT {KEY}, 0 AS occ, t_p, t_s, order_p, order_s, n_p, n_s, verdict FROM firsts WHERE NOT (rep_p OR rep_s)
UNION ALL
SELECT {KEY}, occ, t_p, t_s, order_p, order_s, n_p, n_s, verdict FROM pairs_repeated"""

# every event TikTok counts, one row each: events that cannot pair, every Pixel occurrence, and the
# server occurrences no Pixel occurrence absorbed (no partner, or outside the 48 h window)
COUNTED_EVENTS: Final = """
SELECT side, t, order_id, event_id, event FROM events WHERE event_id = '' OR NOT abs(t) < 1e300 OR t IS NULL
UNION ALL
SELECT 0 AS side, t_p AS t, order_p AS order_id, event_id, event FROM pairs WHERE verdict <> 4
UNION ALL
SELECT 1 AS side, t_s AS t, order_s AS order_id, event_id, event FROM pairs WHERE verdict >= 2 AND verdict <> 3"""

_LONE: Final = "(event_id = '' OR t IS NULL OR NOT abs(t) < 1e300)"
# one scan of each table: the events, the pairs, the occurrences
SUMMARY: Final = f"""
SELECT e.*, p.*, f.keyed_events - p.occurrences AS same_source_duplicates
FROM (
  SELECT sum(CASE WHEN side = 0 THEN 1 ELSE 0 END) AS pixel_events,
         sum(CASE WHEN side = 1 THEN 1 ELSE 0 END) AS server_events,
         sum(CASE WHEN side = 0 AND {_LONE} THEN 1 ELSE 0 END) AS pixel_lone,
         sum(CASE WHEN side = 1 AND {_LONE} THEN 1 ELSE 0 END) AS server_lone,
         sum(CASE WHEN event_id = '' THEN 1 ELSE 0 END) AS missing_event_id,
         sum(CASE WHEN event_id <> '' AND (t IS NULL OR NOT abs(t) < 1e300) THEN 1 ELSE 0 END) AS missing_time
  FROM events) e
CROSS JOIN (
  SELECT sum(CASE WHEN verdict = 1 THEN 1 ELSE 0 END) AS deduplicated_pairs,
         sum(CASE WHEN verdict = 0 THEN 1 ELSE 0 END) AS merged_pairs,
         sum(CASE WHEN verdict = 2 THEN 1 ELSE 0 END) AS outside_window,
         sum(CASE WHEN verdict IN (2, 3) THEN 1 ELSE 0 END) AS pixel_paired_only,
         sum(CASE WHEN verdict IN (2, 4) THEN 1 ELSE 0 END) AS server_paired_only,
         sum(CASE WHEN verdict <> 4 THEN 1 ELSE 0 END) AS pixel_occurrences,
         count(t_p) + count(t_s) AS occurrences
  FROM pairs) p
CROSS JOIN (SELECT coalesce(sum(n_p + n_s), 0) AS keyed_events FROM firsts) f"""


def _day(t: str) -> str:
    return f"CAST(floor({t} / 86400) AS BIGINT)"


EVENT_DAYS: Final = f"""
SELECT day, sum(pixel_events) AS pixel_events, sum(pixel_counted_alone) AS pixel_counted_alone,
       sum(counted) AS counted
FROM (
  SELECT {_day('t')} AS day, CASE WHEN side = 0 THEN 1 ELSE 0 END AS pixel_events, 0 AS pixel_counted_alone,
         0 AS counted
  FROM events WHERE abs(t) < 1e300
  UNION ALL
  SELECT {_day('t')} AS day, 0, CASE WHEN side = 0 THEN 1 ELSE 0 END, 1
  FROM counted_events WHERE abs(t) < 1e300
) d GROUP BY day"""


# --- orders -----------------------------------------------------------------------------------------
def _norm_order_id(col: str, stripped: bool = False) -> str:
    """core.orders' order id: trimmed (unless already `stripped`), without Shopify's leading '#', "1001.0"
    as "1001" (the regular expression only where a '.' could need it)."""
    text = f"ltrim({col if stripped else strip(col)}, '#')"
    return f"CASE WHEN {col} LIKE '%.%' THEN regexp_replace({text}, '^([0-9]+)\\.0+$', '\\1') ELSE {text} END"


def _param_at(url: str, name: str) -> str:
    """SQL: where the first '?name=' or '&name=' starts in `url` (0 when neither is there)."""
    at_q, at_a = f"strpos({url}, '?{name}=')", f"strpos({url}, '&{name}=')"
    return f"CASE WHEN {at_q} = 0 THEN {at_a} WHEN {at_a} = 0 THEN {at_q} ELSE least({at_q}, {at_a}) END"


def _value_ends(url: str, at: str) -> str:
    """SQL: true when the character at position `at` of `url` ends a query value (an '&', a '#', or the end)."""
    after = f"substring({url}, {at}, 1)"
    return f"({after} = '' OR {after} = '&' OR {after} = '#')"


def _attributed(has_utm: bool, has_ttclid: bool, has_landing: bool, utm_source: str | None) -> str:
    """SQL of whether an order is TikTok-attributable (core.orders.truth_filter): a ttclid, or utm_source as
    given (case-insensitive; `None`: every order is), each from the file's own column (`clid`, `utm`,
    trimmed), else from the first such parameter of the landing URL (`landing`, with `at_utm` / `at_clid`
    from _param_at), as the regular expression [?&]name=([^&#]*) reads it; for utm_source "tiktok" also a
    landing or referring page on tiktok.com (core.links.TIKTOK_SITE). Only the answer is computed, never
    the values: a few string comparisons per order."""
    if utm_source is None:
        return "true"
    found = []
    clid = f"at_clid > 0 AND NOT {_value_ends('landing', 'at_clid + 8')}" if has_landing else "false"
    found.append(f"CASE WHEN clid <> '' THEN true ELSE {clid} END" if has_ttclid else clid)
    want = utm_source.strip().lower()
    if want:
        n, lit = len(want), literal(want)
        utm = (f"at_utm > 0 AND lower(substring(landing, at_utm + 12, {n})) = {lit} "
               f"AND {_value_ends('landing', f'at_utm + {12 + n}')}") if has_landing else "false"
        found.append(f"CASE WHEN utm <> '' THEN lower(utm) = {lit} ELSE {utm} END" if has_utm else utm)
    if want == "tiktok" and has_landing:  # a landing or referring page on tiktok.com
        site = literal("(?i)" + TIKTOK_SITE)
        found.append(f"contains(lower(landing), 'tiktok.com') AND regexp_matches(landing, {site})")
    return " OR ".join(f"({f})" for f in found)


_PICK_BLANK: Final = 1_000_000_000_000_000  # added to the row number of a line without created_at


# bits of an order's `own` column (order_rows with flags): the segment columns its picked row fills
OWN_BITS: Final = {"user_agent": 1, "cookie_age_days": 2, "page_load_s": 4}


def finite_number(text: str) -> str:
    """SQL: the finite number a trimmed text reads as (core.sources.values.number_column), else NULL: no
    infinity or NaN, and no digits grouped with '_' (which the engine's cast would take)."""
    num = f"TRY_CAST({text} AS DOUBLE)"
    return f"CASE WHEN abs({num}) <= 1.7976931348623157e308 AND NOT contains({text}, '_') THEN {num} END"


def _own_bit(col: str) -> str:
    """SQL: OWN_BITS[col] when this line's `col` counts as the order's own value (a user agent that is not
    blank, a cookie age or page load that is a number), else 0: what segment_sources counts."""
    if col == "user_agent":
        # most user agents start with a letter: trimmed only when the first character could be whitespace
        own = f"{col} >= '!' AND {col} < chr(133) OR {strip(col)} <> ''"
    else:
        own = finite_number(strip(col)) + " IS NOT NULL"
    return f"CASE WHEN {own} THEN {OWN_BITS[col]} ELSE 0 END"


def order_rows(has_utm: bool, has_ttclid: bool, has_landing: bool, extra: tuple[str, ...] = (),
               flags: bool = False, utm_source: str | None = "tiktok") -> str:
    """One row per order id (core.orders.pick_order_rows: its first row with a created_at, else its first
    row): whether that row makes it TikTok-attributable (`truth`, _attributed: a ttclid, or `utm_source`;
    None keeps every order), that row's created_at text (trimmed; `created_seconds` reads it), and the
    `extra` columns (segment columns) as that row has them, untrimmed, or with `flags` only which of them
    it fills (`own`, OWN_BITS): the counts segment_sources reports need no text.
    The row is picked first, so each order's texts are trimmed and judged once (not once per line item)."""
    texts = {"utm": ("utm_source", has_utm), "clid": ("ttclid", has_ttclid), "landing": ("landing_site", has_landing)}
    present = [(name, col) for name, (col, there) in texts.items() if there] if utm_source is not None else []
    if flags and extra:  # one column of bits computed per line, in place of the texts
        kept, names = [f"({' + '.join(_own_bit(c) for c in extra)}) AS own"], ["own"]
    else:
        names = [] if flags else list(extra)
        kept = [f"coalesce({c}, '') AS {c}" for c in names]
    # read from the file; never NULL, as arg_min passes over a NULL value to another line's
    inner = "".join(f", coalesce({col}, '') AS {col}" for _name, col in present) + "".join(f", {c}" for c in kept)
    raw = "".join(f", {col}" for _name, col in present) + "".join(f", {c}" for c in names)
    picked = "".join(f", arg_min({col}, pick) AS {col}" for _name, col in present) + \
        "".join(f", arg_min({c}, pick) AS {c}" for c in names)
    stripped = "".join(f", {strip(col)} AS {name}" for name, col in present) + "".join(f", {c}" for c in names)
    names_out = "".join(f", {c}" for c in names)
    passed = "".join(f", {name}" for name, _col in present) + names_out
    at = (f", {_param_at('landing', 'utm_source')} AS at_utm, {_param_at('landing', 'ttclid')} AS at_clid"
          if has_landing and present else "")  # where each parameter starts in the landing URL, once
    return f"""
SELECT order_id, created_at, {_attributed(has_utm, has_ttclid, has_landing, utm_source)} AS truth{names_out}
FROM (
  SELECT order_id, created_at{passed}{at} FROM (
  SELECT order_id, created_at{stripped} FROM (
    SELECT order_id, arg_min(created_at, pick) AS created_at{picked}
    FROM (
      SELECT {_norm_order_id('order_id', stripped=True)} AS order_id,
             rn + CASE WHEN created_at <> '' THEN 0 ELSE {_PICK_BLANK} END AS pick, created_at{raw}
      FROM (SELECT rn, {strip('order_id')} AS order_id, {strip('created_at')} AS created_at{inner}
            FROM orders_text) s) a
    WHERE order_id <> ''
    GROUP BY order_id) g) n) p"""


def created_seconds(col: str) -> str:
    """SQL: the epoch seconds of a trimmed created_at text: epoch s/ms, ISO-8601, or Shopify's
    '2026-05-01 00:23:55 +0000' (NULL when unreadable)."""
    num = f"TRY_CAST({col} AS DOUBLE)"
    return (f"CASE WHEN {num} IS NOT NULL THEN CASE WHEN {num} < 1e11 THEN {num} ELSE {num} / 1000.0 END "
            f"WHEN {col} LIKE '% +____' OR {col} LIKE '% -____' "
            f"THEN epoch(coalesce(TRY_CAST(try_strptime({col}, '%Y-%m-%d %H:%M:%S %z') AS TIMESTAMPTZ), "
            f"TRY_CAST({col} AS TIMESTAMPTZ))) "
            f"ELSE epoch(TRY_CAST({col} AS TIMESTAMPTZ)) END")


def truth(own: bool = False) -> str:
    """The TikTok-attributable orders (order_rows' `truth`) with their created_at in epoch seconds, read
    here for these orders only; `own` carries order_rows' flags."""
    own_col = ", own" if own else ""
    return f"SELECT order_id, {created_seconds('created_at')} AS created{own_col} FROM orders WHERE truth"


ORDER_SUMMARY: Final = """
SELECT count(*) AS truth, coalesce(sum(pixel), 0) AS truth_pixel,
       coalesce(sum(CASE WHEN conversions > 0 THEN 1 ELSE 0 END), 0) AS truth_counted,
       coalesce(sum(CASE WHEN conversions > 1 THEN 1 ELSE 0 END), 0) AS truth_over_counted,
       coalesce(sum(CASE WHEN created IS NULL OR isnan(created) THEN 1 ELSE 0 END), 0) AS undated
FROM linked"""

ORDER_DAYS: Final = f"""
SELECT {_day('created')} AS day, count(*) AS truth, sum(pixel) AS truth_pixel,
       sum(CASE WHEN conversions > 0 THEN 1 ELSE 0 END) AS truth_counted
FROM linked WHERE created IS NOT NULL GROUP BY 1"""

# one page of per-key verdicts (pairs first, in key order, then events that cannot pair)
KEY_PAGE: Final = """
SELECT pixel_code, event, event_id, occurrence, pixel_time, server_time, delta_s, pixel_events,
       server_events, counted, verdict, part
FROM (
  SELECT 0 AS part, pixel_code, event, event_id, occ + 1 AS occurrence, t_p AS pixel_time, t_s AS server_time,
         t_s - t_p AS delta_s, n_p AS pixel_events, n_s AS server_events,
         CASE WHEN verdict = 2 THEN 2 ELSE 1 END AS counted, verdict
  FROM pairs
  UNION ALL
  SELECT 1 AS part, pixel_code, event, event_id, 1 AS occurrence,
         CASE WHEN side = 0 THEN t END AS pixel_time, CASE WHEN side = 1 THEN t END AS server_time,
         CAST(NULL AS DOUBLE) AS delta_s, 1 - side AS pixel_events, side AS server_events, 1 AS counted,
         CASE WHEN event_id = '' THEN 5 WHEN side = 0 THEN 3 ELSE 4 END AS verdict
  FROM events WHERE event_id = '' OR t IS NULL OR NOT abs(t) < 1e300
) k
ORDER BY part, pixel_code, event, event_id, occurrence, pixel_time, server_time
LIMIT {limit} OFFSET {offset}"""


# --- linking, near misses, segments (core.engine.linking) -------------------------------------------
def literal(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def strip_affixes(col: str, pre: str, post: str) -> str:
    """SQL for what lies between `pre` and `post` in `col` ('' unless it starts and ends with them and
    something lies between): core.gap's _strip_affixes."""
    n_pre, n_post = len(pre), len(post)
    fits = (f"left({col}, {n_pre}) = {literal(pre)} AND right({col}, {n_post}) = {literal(post)} "
            f"AND length({col}) > {n_pre + n_post}") if n_pre or n_post else f"length({col}) > 0"
    return f"CASE WHEN {fits} THEN substring({col}, {n_pre + 1}, length({col}) - {n_pre + n_post}) ELSE '' END"


# the events' properties.order_id as core.gap links it (norm_order_ids; already trimmed by the rows)
ORDER_ID_KEY: Final = _norm_order_id("order_id", stripped=True)


def linked(ev_key: str, own: bool = False) -> str:
    """Per truth order: a Pixel event linked, a server event linked, and how many counted events TikTok
    attributes to it, the event's link key being `ev_key` (SQL over events' columns; '' links nothing).
    One join of the orders with the events and the counted events (kind 0 Pixel, 1 server, 2 counted), then
    one aggregate per order: only events that link reach the aggregate. `own`: truth's flags come along."""
    carry = ", min(o.own) AS own" if own else ""
    return f"""
SELECT o.order_id, min(o.created) AS created{carry}, max(CASE WHEN k.kind = 0 THEN 1 ELSE 0 END) AS pixel,
       max(CASE WHEN k.kind = 1 THEN 1 ELSE 0 END) AS server, sum(CASE WHEN k.kind = 2 THEN 1 ELSE 0 END) AS conversions
FROM truth o
LEFT JOIN (SELECT side AS kind, {ev_key} AS link_key FROM events
           UNION ALL
           SELECT 2 AS kind, {ev_key} AS link_key FROM counted_events) k ON k.link_key = o.order_id
GROUP BY o.order_id"""


# each distinct event_id with its first position over both files (Pixel rows first), as pc.unique sees them
ID_FIRSTS: Final = """
SELECT event_id, min(rn) AS first FROM (
  SELECT event_id, rn FROM pixel_ids
  UNION ALL
  SELECT event_id, rn + 4611686018427387904 AS rn FROM server_ids
) a GROUP BY event_id"""


def id_sample(limit: int) -> str:
    return f"SELECT event_id FROM id_firsts ORDER BY first LIMIT {int(limit)}"


# core.dedup's loose id for near misses: lower-case, trimmed, without common prefixes and event suffixes
def _loose(side: int, t_col: str) -> str:
    """One side's one-sided keys (verdict 3 Pixel only, 4 server only) with core.dedup's loose id `norm`:
    lower-case, trimmed, without common prefixes and event suffixes, "12.0" as "12" (in layers: each value
    is computed once)."""
    from core.links import LOOSE_PREFIX_RE, LOOSE_SUFFIX_RE

    chain = f"lower({strip('event_id')})"
    for pattern, repl in ((LOOSE_SUFFIX_RE, ""), (LOOSE_PREFIX_RE, ""), ("^([0-9]+)\\.0+$", "\\1")):
        chain = f"regexp_replace({chain}, {literal(pattern)}, {literal(repl)})"
    return f"""
SELECT pixel_code, event, event_id, t, norm FROM (
  SELECT pixel_code, event, event_id, t, {strip('loose')} AS norm FROM (
    SELECT pixel_code, event, event_id, {t_col} AS t, {chain} AS loose FROM pairs WHERE verdict = {side}) a) b
WHERE norm <> ''"""


def near_keys(ordered: bool = True) -> str:
    """Pairs of one-sided keys (a Pixel one, a server one) whose loose ids are equal (core.dedup's rule: built
    when asked, as core.dedup loads pandas); in key order unless not `ordered`."""
    order = ("\nORDER BY p.pixel_code, p.event, p.event_id, p.t, s.pixel_code, s.event, s.event_id, s.t"
             if ordered else "")
    return f"""
SELECT p.pixel_code AS pixel_code_p, p.event AS event_p, p.event_id AS event_id_p, p.t AS t_p,
       s.pixel_code AS pixel_code_s, s.event AS event_s, s.event_id AS event_id_s, s.t AS t_s
FROM ({_loose(3, 't_p')}) p
JOIN ({_loose(4, 't_s')}) s ON p.norm = s.norm{order}"""


# pairs that just missed the merge window or the 48 h window: core.dedup's "clock skew" (core.links)
_SKEW: Final = (f"(verdict = 1 AND abs(t_s - t_p) <= {SKEW_MERGE_S}) "
                f"OR (verdict = 2 AND abs(t_s - t_p) <= {SKEW_WINDOW_S})")
NEAR_SKEW: Final = f"""
SELECT pixel_code, event, event_id, t_s - t_p AS delta, verdict FROM pairs
WHERE {_SKEW}
ORDER BY pixel_code, event, event_id, occ"""


def near_kinds() -> str:
    """How many near misses of each kind (kind, n), without listing them: core.dedup.classify_near's rule
    in SQL (same id, name and a different Pixel code; same id; same once trimmed and lower-cased; same
    without a trailing '.0'; else a prefix or suffix) over near_keys, and the pairs NEAR_SKEW lists."""
    return f"""
SELECT kind, count(*) AS n FROM (
  SELECT CASE WHEN id_same AND ev_same AND NOT code_same THEN 'pixel code differs'
              WHEN id_same THEN 'event name differs' WHEN lower_same THEN 'case or whitespace'
              WHEN num_same THEN 'number vs string' ELSE 'prefix or suffix' END AS kind
  FROM (SELECT event_id_p = event_id_s AS id_same, event_p = event_s AS ev_same,
               pixel_code_p = pixel_code_s AS code_same,
               lower({strip('event_id_p')}) = lower({strip('event_id_s')}) AS lower_same,
               regexp_replace(event_id_p, '\\.0+$', '') = regexp_replace(event_id_s, '\\.0+$', '') AS num_same
        FROM ({near_keys(ordered=False)}) k) m
  UNION ALL
  SELECT 'clock skew' AS kind FROM pairs WHERE {_SKEW}) a
GROUP BY kind ORDER BY n DESC, kind"""


def segment_orders(cols: tuple[str, ...]) -> str:
    """The truth orders with the figures segments read: their own segment columns `cols` (from the row
    each order was read from), created (epoch seconds), and whether a Pixel / any counted event links."""
    own = "".join(f", {strip('o.' + c)} AS {c}" for c in cols)
    return f"""
SELECT l.order_id, l.created, CASE WHEN l.pixel = 1 THEN 1 ELSE 0 END AS pixel,
       CASE WHEN l.conversions > 0 THEN 1 ELSE 0 END AS counted{own}
FROM linked l JOIN orders o ON o.order_id = l.order_id"""

# server events without event_id that TikTok's _ttp fallback could pair with a Pixel event within 48 h
# (core.dedup._ttp_fallback: a hint, never counted), from the events' kept _ttp (see SERVER_EVENTS)
TTP_HINTS: Final = f"""
SELECT coalesce(sum(n), 0) AS n FROM (
  SELECT pixel_code, event, ttp, t, count(*) AS n FROM server_events WHERE ttp IS NOT NULL
  GROUP BY pixel_code, event, ttp, t) s
WHERE EXISTS (SELECT 1 FROM pixel_events p WHERE p.ttp IS NOT NULL AND p.ttp = s.ttp AND p.pixel_code = s.pixel_code
              AND p.event = s.event AND abs(s.t - p.t) <= {W_MS // 1000})"""


def first_values(numbered: str) -> str:
    """Per link key (an order id), the first non-blank value `v` in file order of table `numbered`."""
    return f"""
SELECT link_key AS order_id, arg_min(v, rn) AS v FROM {numbered}
WHERE link_key <> '' AND {strip('v')} <> '' GROUP BY link_key"""

# how many key verdicts of each kind (KEY_PAGE's rows, all of them): VERDICTS index -> count
VERDICT_COUNTS: Final = """
SELECT verdict, count(*) AS n FROM (
  SELECT verdict FROM pairs
  UNION ALL
  SELECT CASE WHEN event_id = '' THEN 5 WHEN side = 0 THEN 3 ELSE 4 END AS verdict
  FROM events WHERE event_id = '' OR t IS NULL OR NOT abs(t) < 1e300
) v GROUP BY verdict"""
