"""The store's orders against the events TikTok counts: link orders to events, segment them, and the gap.

Linking (`link_orders`): by the events' `properties.order_id`, by the order id inside the event_id (a
template such as `ord_{order_id}_purchase`, or the Build page's `ord_{order_id}_{event}`), or "auto":
order_id where the events carry it, else the event_id shape inferred from ids that contain known order
ids. No link is never a 100 % gap: the figures are then None and `OrderLink.message` says how to link.

Segments: orders without a user agent, cookie age or page-load time take them from their linked events
(the server event's user_agent, then the Pixel event's; the Pixel's page-load time and cookie age where
a Pixel frame carries them), and `SegmentSource` says per dimension where the values came from.
core.dedup counts the events (TikTok's rules) and calls this module with what it counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from core.errors import InvalidInput
from core.links import DEFAULT_TEMPLATE as DEFAULT_TEMPLATE
from core.links import LINK_MODES as LINK_MODES
from core.links import UNLINKED_MESSAGE as UNLINKED_MESSAGE
from core.links import LinkMode as LinkMode
from core.links import SegmentSource as SegmentSource
from core.links import check_link, source_message, vote_template
from core.links import check_template as check_template
from core.orders import SEGMENT_DIMENSIONS, segment_columns

SEGMENT_COLUMNS: Final = ("dimension", "value", "truth", "pixel", "counted", "server_recovered", "pixel_gap",
                          "counted_gap", "recovered_share")
# What fills a segment dimension when the orders lack it: (orders column, its dimensions, the linked
# events' columns tried in turn as (label, side 0 Pixel / 1 server, column)).
_SEGMENT_FEEDS: Final = (
    ("user_agent", ("browser", "os", "ios_ltp"),
     (("server events' user_agent", 1, "user_agent"), ("Pixel events' user agent", 0, "user_agent"))),
    ("cookie_age_days", ("cookie_age",), (("Pixel events' cookie age", 0, "cookie_age_days"),)),
    ("page_load_s", ("page_load",), (("Pixel events' page-load time", 0, "page_load_s"),)),
)


@dataclass(frozen=True)
class OrderLink:
    """How orders were linked to events: `mode` order_id | event_id_template | none, and how many linked.

    JSON (`"link"`): mode, template (None unless linked by event_id), linked_orders, message (how to link
    when nothing linked, else "").
    """

    mode: str
    template: str | None
    linked_orders: int
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "template": self.template, "linked_orders": self.linked_orders,
                "message": self.message}


@dataclass(frozen=True)
class LinkedEvents:
    """What linking reads of the events, both sides concatenated (Pixel rows first)."""

    pixel: pd.DataFrame
    server: pd.DataFrame
    side: np.ndarray  # 0 Pixel, 1 server
    counted: np.ndarray  # 1 where TikTok counts the event (core.dedup)
    order_id: pa.Array
    event_id: pa.Array
    event: pa.Array


def _text(values: pd.Series) -> pa.Array:
    """A text column as Arrow large_string without nulls."""
    return pc.fill_null(pa.array(values.astype("string"), from_pandas=True).cast(pa.large_string()), "")


def _np(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    out: np.ndarray = np.asarray(arr.to_numpy(zero_copy_only=False))
    return out


@dataclass(frozen=True)
class OrderGap:
    """The truth orders with per-order flags (pixel, server, conversions, counted), the link, and where
    each segment dimension's values came from."""

    orders: pd.DataFrame
    link: OrderLink
    sources: dict[str, SegmentSource]


@dataclass(frozen=True)
class _Linking:
    """Orders numbered by key (`o_codes`), each event's order number (`e_codes`) where `linked`."""

    o_codes: np.ndarray
    e_codes: np.ndarray
    linked: np.ndarray
    size: int

    def per_order(self, weights: np.ndarray) -> np.ndarray:
        out: np.ndarray = np.bincount(self.e_codes[self.linked], weights=weights[self.linked],
                                      minlength=self.size)[self.o_codes]
        return out

    def first_event(self, usable: np.ndarray) -> np.ndarray:
        """Per order, the first linked event row where `usable` (-1 when none)."""
        rows = np.flatnonzero(self.linked & usable)
        by_code = np.full(self.size, -1, np.int64)
        codes, first = np.unique(self.e_codes[rows], return_index=True)
        by_code[codes] = rows[first]
        out: np.ndarray = by_code[self.o_codes]
        return out


def norm_order_ids(ids: pa.Array) -> pa.Array:
    """Trimmed, without leading '#', '1001.0' as '1001'; a step runs only when some id needs it."""
    edge = pc.or_(pc.utf8_is_space(pc.utf8_slice_codeunits(ids, 0, 1)),
                  pc.utf8_is_space(pc.utf8_slice_codeunits(ids, -1)))
    if pc.any(edge).as_py():
        ids = pc.utf8_trim_whitespace(ids)
    if pc.any(pc.starts_with(ids, "#")).as_py():
        ids = pc.utf8_ltrim(ids, characters="#")
    if pc.any(pc.match_substring(ids, ".")).as_py():
        ids = pc.replace_substring_regex(ids, pattern=r"^(\d+)\.0+$", replacement=r"\1")
    return ids


def _strip_affixes(ids: pa.Array, pre: str, post: str) -> pa.Array:
    """What lies between `pre` and `post` in each id ("" when the id does not start and end with them)."""
    fits = pc.and_(pc.and_(pc.starts_with(ids, pre), pc.ends_with(ids, post)),
                   pc.greater(pc.utf8_length(ids), len(pre) + len(post)))
    middle = pc.utf8_slice_codeunits(ids, len(pre), -len(post) if post else None)
    return pc.if_else(fits, middle, pa.scalar("", pa.large_string()))


def order_ids_from_event_ids(event_ids: pa.Array, events: pa.Array, template: str) -> pa.Array:
    """The order id each event_id carries under `template` ("" where it does not fit).

    `{event}` stands for the event's name in snake case (Purchase -> purchase), `{event_name}` for it as
    sent, as in the Build page's ids (`ord_{order_id}_{event}` -> ord_10492_purchase).
    """
    check_template(template)
    pre, post = template.split("{order_id}")
    if "{" not in pre + post:
        return _strip_affixes(event_ids, pre, post)
    from core.payload import snake_case

    out = pa.array([""], pa.large_string()).take(pa.array(np.zeros(len(event_ids), np.int64)))
    for name in pc.unique(events).to_pylist():  # a handful of event names: one pass each
        fill = {"event": snake_case(name), "event_name": name.strip()}
        ids = _strip_affixes(event_ids, pre.format(**fill), post.format(**fill))
        out = pc.if_else(pc.equal(events, name), ids, out)
    return out


def infer_template(order_ids: pa.Array, event_ids: pa.Array, sample: int = 20_000) -> str | None:
    """The event_id template most event ids that contain a known order id follow, or None.

    Each distinct event id (the first `sample`) is split into word runs; the first run that is an order
    id gives a (prefix, suffix) vote. `ord_1001_purchase`, `purchase_1001`, `order-1001`, `1001_purchase`
    and a bare `1001` are all found this way.
    """
    known = set(pc.unique(order_ids).to_pylist()) - {""}
    if not known:
        return None
    distinct = pc.unique(event_ids)
    return vote_template(distinct.slice(0, sample).to_pylist(), known, len(distinct))


def _choose_link(oid: pa.Array, ev: LinkedEvents, link: str, template: str) -> tuple[str, str | None, _Linking]:
    """(mode, template, the link): explicit modes as asked; "auto" takes properties.order_id where it links
    some order, else the event_id template inferred from the ids, else "none"."""
    check_link(link, template)
    if link == "event_id_template":
        return "event_id_template", template, _link_keys(oid, order_ids_from_event_ids(
            ev.event_id, ev.event, template))
    by_order_id = _link_keys(oid, norm_order_ids(ev.order_id))
    if link == "order_id" or by_order_id.linked.any():
        return "order_id", None, by_order_id
    inferred = infer_template(oid, ev.event_id)
    if inferred:
        return "event_id_template", inferred, _link_keys(oid, order_ids_from_event_ids(
            ev.event_id, ev.event, inferred))
    return "none", None, by_order_id


def _link_keys(oid: pa.Array, ev_key: pa.Array) -> _Linking:
    """Number the orders' keys, then look each event's key up among them (a hash of the orders only)."""
    encoded = pc.dictionary_encode(oid)
    found = pc.index_in(ev_key, value_set=encoded.dictionary)
    return _Linking(o_codes=_np(encoded.indices).astype(np.int64),
                    e_codes=_np(pc.fill_null(found, 0)).astype(np.int64),
                    linked=_np(pc.and_(pc.not_equal(ev_key, ""), pc.is_valid(found))),
                    size=max(len(encoded.dictionary), 1))


def link_orders(orders: pd.DataFrame, ev: LinkedEvents, link: str, template: str) -> OrderGap:
    """Per truth order: Pixel seen (= counted alone), server seen, conversions TikTok counts, counted.

    `link`: "order_id" (events' properties.order_id), "event_id_template" (the order id inside the
    event_id, `template` with one {order_id}), or "auto" (order_id where events carry it, else the
    template inferred from the ids). Orders without a user agent, cookie age or page-load time take them
    from their linked events (segment_sources says from where).
    """
    if "order_id" not in orders.columns:
        raise InvalidInput("The orders lack an order_id column.", hint="Map a column to order_id.")
    oid = norm_order_ids(_text(orders["order_id"]))
    mode, tmpl, linking = _choose_link(oid, ev, link, template)
    out = orders.copy(deep=False)  # copy-on-write: the new columns never touch the caller's frame
    out["order_id"] = pd.Series(oid, index=out.index, dtype="str")
    # a linked Pixel event always counts (its occurrence's first event does), so seen = counted alone
    out["pixel"] = linking.per_order((ev.side == 0).astype(np.float64)) > 0
    out["server"] = linking.per_order((ev.side == 1).astype(np.float64)) > 0
    out["conversions"] = linking.per_order(ev.counted.astype(np.float64)).astype(np.int64)
    out["counted"] = out["conversions"] > 0
    linked_orders = int((out["pixel"] | out["server"]).sum())
    out, sources = _segments_from_events(out, ev, linking)
    return OrderGap(orders=out, link=OrderLink(mode=mode if linked_orders else "none",
                                               template=tmpl if linked_orders else None,
                                               linked_orders=linked_orders,
                                               message="" if linked_orders else UNLINKED_MESSAGE),
                    sources=sources)


def _segments_from_events(frame: pd.DataFrame, ev: LinkedEvents, linking: _Linking
                          ) -> tuple[pd.DataFrame, dict[str, SegmentSource]]:
    """Fill orders' missing user agent / cookie age / page load from their linked events, relabel those
    rows' segments, and say per dimension where the values came from."""
    sources: dict[str, SegmentSource] = {}
    for base, dims, feeds in _SEGMENT_FEEDS:
        if not any(d in frame.columns for d in dims):
            continue
        own = _own_values(frame, base)
        need = ~own & _unknown(frame, dims)
        filled: dict[str, int] = {}
        got = np.zeros(len(frame), dtype=bool)
        values = frame[base].copy() if base in frame.columns else pd.Series(
            "" if base == "user_agent" else np.nan, index=frame.index)
        for label, side, col in feeds:
            feed = _event_values(ev, side, col) if need.any() else None
            if feed is None:
                continue
            row = linking.first_event(_present(feed))
            take = need & (row >= 0)
            values[take] = feed[row[take]]
            filled[label] = int(take.sum())
            need &= ~take
            got |= take
        if got.any():
            frame = frame.copy(deep=False)
            frame[base] = values
            relabelled = segment_columns(pd.DataFrame({base: values[got]}))
            for d in dims:
                if d in frame.columns:
                    frame[d] = frame[d].astype(object)
                    frame.loc[got, d] = relabelled[d].to_numpy(dtype=object)
                    frame[d] = frame[d].astype("str")
        looked = any(col in (ev.pixel if side == 0 else ev.server).columns for _, side, col in feeds)
        message = source_message(base, int(own.sum()), filled, int(need.sum()), len(frame),
                                  linked=bool(linking.linked.any()), looked=looked)
        for d in dims:
            sources[d] = message
    if "day" in frame.columns:
        dated = int((frame["day"].astype("str") != "").sum()) if len(frame) else 0
        sources["day"] = SegmentSource("orders file (created_at)", dated,
                                       f"{dated:,} of {len(frame):,} truth orders have a readable created_at.")
    return frame, sources


def _own_values(frame: pd.DataFrame, base: str) -> np.ndarray:
    """Which orders carry `base` themselves (a non-blank user agent, a number)."""
    if base not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    col = frame[base]
    out: np.ndarray = ((col.astype("string").fillna("").str.strip() != "") if base == "user_agent"
                       else pd.to_numeric(col, errors="coerce").notna()).to_numpy(dtype=bool)
    return out


def _unknown(frame: pd.DataFrame, dims: tuple[str, ...]) -> np.ndarray:
    """Orders whose labels in `dims` all read "unknown" (or are absent): a label given by the caller stays."""
    out = np.ones(len(frame), dtype=bool)
    for d in dims:
        if d in frame.columns and d != "ios_ltp":  # ios_ltp reads "not iOS" without a user agent
            out &= (frame[d].astype("string").fillna("unknown") == "unknown").to_numpy(dtype=bool)
    return out


def _event_values(ev: LinkedEvents, side: int, col: str) -> np.ndarray | None:
    """Column `col` over both sides' rows, with values on `side` only (None when that side lacks it)."""
    src = ev.pixel if side == 0 else ev.server
    if col not in src.columns:
        return None
    text = col == "user_agent"
    blank: object = "" if text else np.nan
    own = (src[col].astype("string").fillna("").to_numpy(dtype=object) if text
           else pd.to_numeric(src[col], errors="coerce").to_numpy(dtype="float64"))
    other = np.full(len(ev.server) if side == 0 else len(ev.pixel), blank, dtype=object if text else "float64")
    return np.concatenate([own, other] if side == 0 else [other, own])


def _present(values: np.ndarray) -> np.ndarray:
    """Which values are usable: non-blank text, finite numbers."""
    if values.dtype == object:
        out: np.ndarray = (pd.Series(values).astype("string").fillna("").str.strip() != "").to_numpy(dtype=bool)
        return out
    finite: np.ndarray = np.isfinite(values)
    return finite


def segment_gaps(linked: pd.DataFrame, dimensions: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Gap per segment value: truth orders, Pixel-counted, counted, and the shares (SEGMENT_COLUMNS).

    `linked` is DedupReport.orders (or any frame with boolean `pixel`/`counted` and segment columns);
    dimensions default to core.orders.SEGMENT_DIMENSIONS present in the frame. pixel_gap = 1 - pixel /
    truth; recovered_share = server-recovered / orders the Pixel missed (NaN when it missed none).
    """
    dims = dimensions or tuple(d for d in SEGMENT_DIMENSIONS if d in linked.columns)
    parts = []
    for dim in dims:
        g = linked.groupby(linked[dim].astype("str").fillna("unknown"), sort=True)
        a = g.agg(truth=("pixel", "size"), pixel=("pixel", "sum"), counted=("counted", "sum"))
        a = a.rename_axis("value").reset_index()
        a.insert(0, "dimension", dim)
        parts.append(a)
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in SEGMENT_COLUMNS})
    out = pd.concat(parts, ignore_index=True)
    for col in ("truth", "pixel", "counted"):
        out[col] = out[col].astype("int64")
    out["server_recovered"] = out["counted"] - out["pixel"]
    out["pixel_gap"] = 1 - out["pixel"] / out["truth"]
    out["counted_gap"] = 1 - out["counted"] / out["truth"]
    lost = (out["truth"] - out["pixel"]).astype("float64")
    out["recovered_share"] = (out["server_recovered"] / lost.where(lost > 0)).astype("float64")
    return out[list(SEGMENT_COLUMNS)]


def order_day_numbers(created: pd.Series) -> np.ndarray:
    """Days since the epoch (UTC) of each order time, whatever the datetime unit (s, ms, us, ns); -1 for none.

    Reading the raw integers of a datetime column assumes its unit: a us column read as ns puts a May 2026
    order on 1970-01-21. Converting to seconds first makes the day the same in every unit.
    """
    ts = pd.DatetimeIndex(pd.to_datetime(created, utc=True, errors="coerce"))
    secs = ts.as_unit("s").asi8
    out: np.ndarray = np.where(ts.isna(), -1, np.floor_divide(secs, 86400)).astype(np.int64)
    return out
