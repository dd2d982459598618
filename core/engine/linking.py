"""What the engine adds to the counts: orders linked automatically, near misses, segments and hints.

The heavy part of each stays set-based SQL on the engine (core.engine.queries); the decisions that read a
handful of values (which event_id shape the ids follow, how a near miss reads, a segment's label) are the
memory engine's own functions (core.links, core.gap, core.dedup, core.orders), fed with the small results
only: one definition of each rule, whichever engine counted. pandas is loaded only by what returns a frame
(the near-miss and segment tables the app shows): the command's counts need none.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from core.engine import queries as q
from core.engine.runner import Runner
from core.engine.sources import Source, segment_roles
from core.links import (
    UNLINKED_MESSAGE,
    SegmentSource,
    check_template,
    source_message,
    template_affixes,
    template_candidates,
    vote_template,
)

if TYPE_CHECKING:
    import pandas as pd

SAMPLE_IDS: Final = 20_000  # distinct event ids read to infer the event_id shape (core.gap.infer_template)


@dataclass(frozen=True)
class Link:
    """How orders linked: mode order_id | event_id_template | none, the template, and the linked orders."""

    mode: str
    template: str | None
    linked_orders: int
    key_sql: str = "''"  # the events' link key (SQL over the event rows' columns)

    def to_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "template": self.template, "linked_orders": self.linked_orders,
                "message": "" if self.linked_orders else UNLINKED_MESSAGE}


def _template_key(runner: Runner, template: str) -> str:
    """SQL for the order id inside each event's event_id under `template` ('' where it does not fit)."""
    check_template(template)
    pre, post = template.split("{order_id}")
    if "{" not in pre + post:
        return q.strip_affixes("event_id", pre, post)
    names = [str(r["event"]) for r in runner.rows("SELECT DISTINCT event FROM events")]
    cases = " ".join(f"WHEN {q.literal(name)} THEN {q.strip_affixes('event_id', *template_affixes(template, name))}"
                     for name in names)
    return f"CASE event {cases} ELSE '' END" if cases else "''"


def _linked_count(runner: Runner, ev_key: str, own: bool) -> int:
    runner.table("linked", q.linked(ev_key, own))
    return int(runner.rows("SELECT count(*) AS n FROM linked WHERE pixel = 1 OR server = 1")[0]["n"])


def link_orders(runner: Runner, link: str, template: str, rescan: Callable[[], None],
                say: Callable[[str], None], own: bool = False) -> Link:
    """Link the truth orders (view `truth`) to the events as core.gap.link_orders does; table `linked`.

    "order_id": the events' normalized properties.order_id; "event_id_template": the order id inside the
    event_id; "auto": order_id where some event links, else the template the ids follow (voted on the
    first SAMPLE_IDS distinct ids in file order, as core.gap.infer_template), else none.
    `rescan` makes the event views readable again (a stream is read once). `own`: truth carries the
    orders' segment flags (q.order_rows with flags) and `linked` keeps them.
    """
    if link == "event_id_template":
        key = _template_key(runner, template)
        n = _linked_count(runner, key, own)
        return Link("event_id_template" if n else "none", template if n else None, n, key)
    n = _linked_count(runner, q.ORDER_ID_KEY, own)
    if link == "order_id" or n:
        return Link("order_id" if n else "none", None, n, q.ORDER_ID_KEY)
    say("finding the event_id shape that carries the order id")
    inferred = _infer_template(runner, rescan)
    if inferred is None:
        return Link("none", None, 0, q.ORDER_ID_KEY)
    key = _template_key(runner, inferred)
    n = _linked_count(runner, key, own)
    return Link("event_id_template" if n else "none", inferred if n else None, n, key)


def _infer_template(runner: Runner, rescan: Callable[[], None]) -> str | None:
    """core.gap.infer_template over the engine's events: the sample and the known ids come from SQL."""
    if not runner.rows("SELECT count(*) AS n FROM truth WHERE order_id <> ''")[0]["n"]:
        return None
    rescan()
    runner.numbered("pixel_ids", "SELECT event_id FROM pixel_rows")
    runner.numbered("server_ids", "SELECT event_id FROM server_rows")
    runner.table("id_firsts", q.ID_FIRSTS)
    n_distinct = int(runner.rows("SELECT count(*) AS n FROM id_firsts")[0]["n"])
    sample = [str(r["event_id"]) for r in runner.rows(q.id_sample(SAMPLE_IDS))]
    candidates = sorted(template_candidates(sample))
    if not candidates:
        return None
    runner.strings("candidates", "id", candidates)
    known = {str(r["order_id"]) for r in runner.rows(
        "SELECT DISTINCT t.order_id FROM truth t JOIN candidates c ON c.id = t.order_id")}
    return vote_template(sample, known, n_distinct)


def order_figures(runner: Runner, link: Link) -> dict[str, Any]:
    """ORDER_FIELDS (the linked ones None when nothing linked), truth_undated and `link`."""
    o = runner.rows(q.ORDER_SUMMARY)[0]
    t_n = int(o["truth"])
    out: dict[str, Any] = {"truth": t_n, "truth_pixel": None, "truth_counted": None, "truth_over_counted": None,
                           "pixel_gap": None, "recovered_share": None, "truth_undated": int(o["undated"] or 0),
                           "link": link.to_dict()}
    if link.linked_orders:
        tp, tc = int(o["truth_pixel"]), int(o["truth_counted"])
        out.update(truth_pixel=tp, truth_counted=tc, truth_over_counted=int(o["truth_over_counted"]),
                   pixel_gap=_ratio(t_n - tp, t_n), recovered_share=_ratio(tc - tp, t_n - tp))
    return out


def _ratio(num: float, den: float) -> float | None:
    return round(num / den, 6) if den else None


# --- near misses ----------------------------------------------------------------------------------
def near_miss_counts(runner: Runner) -> dict[str, int]:
    """How many near misses of each kind (core.dedup.near_misses' kinds), counted on the engine: no row
    comes back to Python."""
    return {str(r["kind"]): int(r["n"]) for r in runner.rows(q.near_kinds())}


def near_misses(runner: Runner) -> pd.DataFrame:
    """core.dedup.near_misses over the engine's pairs: one-sided keys joined by their loose id in SQL,
    and pairs that just missed a window; the rows are named by core.dedup's own classifier."""
    import numpy as np
    import pandas as pd

    from core.dedup import classify_near, empty_near_misses, skew_near_misses

    parts: list[pd.DataFrame] = []
    m = runner.frame(q.near_keys())
    if len(m):
        parts.append(classify_near(m))
    skew = runner.frame(q.NEAR_SKEW)
    if len(skew):
        parts.append(skew_near_misses(skew["pixel_code"].to_numpy(object), skew["event"].to_numpy(object),
                                      skew["event_id"].to_numpy(object), skew["delta"].to_numpy(np.float64),
                                      skew["verdict"].to_numpy(np.int64)))
    if not parts:
        return empty_near_misses()
    from core.dedup import NEAR_MISS_COLUMNS

    return pd.concat(parts, ignore_index=True)[list(NEAR_MISS_COLUMNS)]


# --- segments -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgentFeeds:
    """Whose user agents can segment orders that have none: (label, event view, the file has the column)."""

    feeds: tuple[tuple[str, str, bool], ...]
    rescan: Callable[[], None]


def segments(runner: Runner, source: Source, link: Link, agents: AgentFeeds, table: bool = True,
             counts_only: bool = False) -> tuple[pd.DataFrame | None, dict[str, SegmentSource]]:
    """The segment table (core.gap.segment_gaps) and segment_sources, as core.gap segments the memory
    engine's command: the truth orders' own values; orders without a user-agent column take the user agent
    of their first linked server event, else of their first linked Pixel event (file order).

    Only orders come back to Python (one row each, the columns segments read), never the events. The
    table is None when nothing linked or `table` is false (only the sources wanted). `counts_only`
    (`counts_only_segments`): the sources come from the flags `linked` kept, no order comes back at all.
    """
    cols = segment_roles(source)
    if counts_only:
        return None, _segment_sources(*_own_counts(runner, cols), link, {}, 0, looked=False)
    import pandas as pd

    from core.gap import _unknown, segment_gaps
    from core.orders import segment_columns
    from core.sources.values import number_column

    frame = runner.frame(q.segment_orders(cols))
    frame["created_at"] = pd.to_datetime(frame.pop("created"), unit="s", utc=True)
    for col in ("cookie_age_days", "page_load_s"):
        if col in frame.columns:
            frame[col] = number_column(frame[col])  # the console's one number reader: finite numbers only
    frame["pixel"] = frame["pixel"].astype(bool)
    frame["counted"] = frame["counted"].astype(bool)
    labelled = segment_columns(frame)
    filled: dict[str, int] = {}
    looked = "user_agent" not in frame.columns and any(has for _, _, has in agents.feeds)
    need = _unknown(labelled, ("browser", "os", "ios_ltp")) & looked
    if need.any():
        values = pd.Series("", index=frame.index, dtype=object)
        for label, view, has in agents.feeds:
            if not has:
                continue
            agents.rescan()
            runner.numbered(f"agents_{view}", f"SELECT {link.key_sql} AS link_key, user_agent AS v FROM {view}")
            firsts = runner.frame(q.first_values(f"agents_{view}"))
            found = frame["order_id"].map(dict(zip(firsts["order_id"], firsts["v"], strict=True)))
            take = need & found.notna().to_numpy(dtype=bool)
            values[take] = found[take]
            filled[label] = int(take.sum())
            need &= ~take
        if filled and any(filled.values()):
            frame["user_agent"] = values
            labelled = segment_columns(frame)
    sources = _segment_sources(*_frame_counts(labelled, filled), link, filled, int(need.sum()), looked)
    return (segment_gaps(labelled) if link.linked_orders and table else None), sources


_DIMS: Final = (("user_agent", ("browser", "os", "ios_ltp")), ("cookie_age_days", ("cookie_age",)),
                ("page_load_s", ("page_load",)))


def _frame_counts(frame: pd.DataFrame, agents: dict[str, int]) -> tuple[dict[str, tuple[int, int]], int, int]:
    """(base -> (orders with their own value, orders whose labels read unknown without one), orders, dated)."""
    import numpy as np

    from core.gap import _unknown

    counts: dict[str, tuple[int, int]] = {}
    for base, dims in _DIMS:
        if base in frame.columns and not (base == "user_agent" and agents):
            col = frame[base]
            own = ((col.astype("string").fillna("").str.strip() != "") if base == "user_agent"
                   else col.notna()).to_numpy(dtype=bool)
        else:
            own = np.zeros(len(frame), dtype=bool)
        counts[base] = (int(own.sum()), int((~own & _unknown(frame, dims)).sum()))
    dated = int((frame["day"].astype("str") != "").sum()) if len(frame) else 0
    return counts, len(frame), dated


def counts_only_segments(table: bool, source: Source, agents: AgentFeeds) -> bool:
    """Whether `segments` needs no order's values, only counts: no segment table, and no order's user agent
    to fill from the events (the orders have that column, or no event file has one)."""
    return not table and (source.columns.get("user_agent") is not None or not any(has for _, _, has in agents.feeds))


def _own_counts(runner: Runner, cols: tuple[str, ...]) -> tuple[dict[str, tuple[int, int]], int, int]:
    """_frame_counts in one SQL pass over `linked` and the flags it kept (q.OWN_BITS): a blank user agent
    reads unknown, so does a cookie age or page load that is no number."""
    parts = "".join(f", sum(CASE WHEN (own & {q.OWN_BITS[c]}) <> 0 THEN 1 ELSE 0 END) AS own_{c}" for c in cols)
    row = runner.rows(f"SELECT count(*) AS n, sum(CASE WHEN created IS NOT NULL AND NOT isnan(created) "
                      f"THEN 1 ELSE 0 END) AS dated{parts} FROM linked")[0]
    total = int(row["n"])
    counts = {}
    for base, _dims in _DIMS:
        n = int(row.get(f"own_{base}") or 0)
        counts[base] = (n, total - n)
    return counts, total, int(row["dated"] or 0)


def _segment_sources(counts: dict[str, tuple[int, int]], total: int, dated: int, link: Link,
                     agents: dict[str, int], agents_unknown: int, looked: bool) -> dict[str, SegmentSource]:
    """Where each dimension's values came from (core.gap's wording): the orders file, and for user agents
    the linked events (`agents`: label -> orders filled, `agents_unknown` left without one)."""
    out: dict[str, SegmentSource] = {}
    for base, dims in _DIMS:
        own, need = counts[base]
        filled = agents if base == "user_agent" else {}
        message = source_message(base, own, filled, agents_unknown if filled else need, total,
                                  linked=bool(link.linked_orders), looked=looked and base == "user_agent")
        for d in dims:
            out[d] = message
    out["day"] = SegmentSource("orders file (created_at)", dated,
                               f"{dated:,} of {total:,} truth orders have a readable created_at.")
    return out
