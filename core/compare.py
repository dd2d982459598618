"""One dedup key inspected: its verdict, its row on each side, the near miss that stands in, the field diff.

One source of truth per key: the verdict and reason are the DedupReport's `keys` row, and the partner that
stands in for a missing side is the report's own `near_misses` row about this key (never a second search),
so the near-miss list and the inspect panel say the same thing. Both sides are compared under the same
field names (core.diff), whether the server side is a flat row or the v1.3 event as it was sent.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from core.dedup import NEAR_MISS_COLUMNS, DedupReport, rows_for_key
from core.diff import FieldDiff, comparable_fields, field_diff, legacy_twin_note, near_partners

# One-sided keys up to which ids that merely contain one another are searched too (a loop per key).
CONTAINS_SEARCH_LIMIT = 500


@dataclass(frozen=True)
class KeyInspection:
    """What the Compare page shows for one key.

    `pixel_row` / `server_row` are the rows compared (a near miss's partner stands in for a missing side);
    `server_event` the server event as sent (a one-event v1.3 body) when the bodies are known; `near_miss`
    the report's near-miss row about this key (or None); `legacy_note` names a legacy/current name pair;
    `key_row` is the report's row itself (all there is to show for an event without event_id).
    """

    verdict: str
    reason: str
    pixel_row: dict[str, Any] | None
    server_row: dict[str, Any] | None
    server_event: dict[str, Any] | None = None
    near_miss: dict[str, Any] | None = None
    legacy_note: str = ""
    diffs: list[FieldDiff] = field(default_factory=list)
    key_row: dict[str, Any] = field(default_factory=dict)

    @property
    def partner_id(self) -> str | None:
        """The event_id of the near miss that stands in for the missing side, if one does."""
        if self.near_miss is None or self.near_miss["kind"] == "clock skew":
            return None
        pixel_side = self.verdict == "pixel only"
        return str(self.near_miss["server_event_id" if pixel_side else "pixel_event_id"])

    def comparable(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """Both sides under the same field names (core.diff.comparable_fields), for a JSON diff."""
        server = self.server_event if self.server_event is not None else self.server_row
        return (comparable_fields(self.pixel_row or {}, "pixel"), comparable_fields(server or {}, "server"))


def near_miss_list(report: DedupReport) -> pd.DataFrame:
    """The report's near misses, plus one-sided keys whose event_id contains the other side's (same event).

    The dedup report names prefixes and suffixes it knows (`ord_`, `_purchase`); an id mangled another way
    (`atc_88213_1` vs `88213_1`) is found here by containment, for up to CONTAINS_SEARCH_LIMIT Pixel-only
    keys. This one table feeds both the near-miss list and the inspect panel. NEAR_MISS_COLUMNS.
    """
    keys, near = report.keys, report.near_misses
    lone_p = keys[(keys["verdict"] == "pixel only") & (keys["event_id"] != "")]
    lone_s = keys[(keys["verdict"] == "server only") & (keys["event_id"] != "")]
    if lone_p.empty or lone_s.empty or len(lone_p) > CONTAINS_SEARCH_LIMIT:
        return near
    known = set(zip(near["pixel_event_id"], near["server_event_id"], strict=True))
    rows = []
    for key in lone_p.itertuples(index=False):
        hit = near_partners(lone_s, key.event, key.event_id, limit=1)
        if hit.empty or (key.event_id, hit.iloc[0]["event_id"]) in known:
            continue
        other = hit.iloc[0]
        rows.append({"kind": "prefix or suffix", "pixel_code": key.pixel_code, "pixel_event": key.event,
                     "pixel_event_id": key.event_id, "server_pixel_code": other["pixel_code"],
                     "server_event": other["event"], "server_event_id": other["event_id"],
                     "delta_s": float(other["server_time"]) - float(key.pixel_time),
                     "detail": "one event_id contains the other (mangled on one side): generate the id once "
                               "and pass it to both ttq.track and the Events API"})
    if not rows:
        return near
    extra = pd.DataFrame(rows, columns=list(NEAR_MISS_COLUMNS))
    return extra if near.empty else pd.concat([near, extra], ignore_index=True)


def _matches(near: pd.DataFrame, side: str, key: Any) -> pd.Series:
    prefix = "" if side == "pixel" else "server_"
    event_col = "pixel_event" if side == "pixel" else "server_event"
    id_col = "pixel_event_id" if side == "pixel" else "server_event_id"
    return ((near[f"{prefix}pixel_code"] == key.pixel_code) & (near[event_col] == key.event)
            & (near[id_col] == key.event_id))


def near_miss_for(near: pd.DataFrame, key: Any) -> dict[str, Any] | None:
    """The `near_misses` row about `key` (a DedupReport.keys row), or None.

    A one-sided key matches on its own side (its partner is on the other); a paired key that just missed
    a window matches its clock-skew row.
    """
    if near.empty or not key.event_id:
        return None
    if key.verdict == "pixel only":
        hits = near[_matches(near, "pixel", key) & (near["kind"] != "clock skew")]
    elif key.verdict == "server only":
        hits = near[_matches(near, "server", key) & (near["kind"] != "clock skew")]
    else:
        hits = near[_matches(near, "pixel", key) & (near["kind"] == "clock skew")]
    return None if hits.empty else dict(hits.iloc[0].to_dict())


def _shifted(t: Any, delta: Any, sign: int) -> float | None:
    if t is None or delta is None or (isinstance(t, float) and math.isnan(t)):
        return None
    d = float(delta)
    return None if math.isnan(d) else float(t) + sign * d


def _first(rows: pd.DataFrame) -> dict[str, Any] | None:
    return None if rows.empty else dict(rows.iloc[0].to_dict())


def inspect_key(report: DedupReport, pixel: pd.DataFrame, server: pd.DataFrame, key: Any,
                bodies: Sequence[Mapping[str, Any]] | None = None,
                near_misses: pd.DataFrame | None = None) -> KeyInspection:
    """Everything about one key of `report.keys`: its rows, the stand-in near miss, the legacy twin, the diff.

    `near_misses` is the list the page shows (near_miss_list; the report's own by default). `bodies` lines
    up with the server frame's `index` column (core.events.server_side); with it the server side is the
    event as it was sent. TikTok: ids and names are compared exactly (contract §8).
    """
    p_rows = rows_for_key(pixel, key.pixel_code, key.event, key.event_id, "timestamp", key.pixel_time)
    s_rows = rows_for_key(server, key.pixel_code, key.event, key.event_id, "event_time", key.server_time)
    near = near_miss_for(report.near_misses if near_misses is None else near_misses, key)
    if near is not None and near["kind"] != "clock skew":
        if p_rows.empty:
            p_rows = rows_for_key(pixel, near["pixel_code"], near["pixel_event"], near["pixel_event_id"],
                                  "timestamp", _shifted(key.server_time, near["delta_s"], -1))
        if s_rows.empty:
            s_rows = rows_for_key(server, near["server_pixel_code"], near["server_event"], near["server_event_id"],
                                  "event_time", _shifted(key.pixel_time, near["delta_s"], 1))
    p_row, s_row = _first(p_rows), _first(s_rows)
    s_event = None
    if s_row is not None and bodies:
        i = int(s_row.get("index", -1))
        s_event = dict(bodies[i]) if 0 <= i < len(bodies) else None
    legacy = ""
    if near is not None:
        legacy = legacy_twin_note(str(near["pixel_event"]), str(near["server_event"]))
    diffs = field_diff(p_row, s_event if s_event is not None else s_row) if p_row and s_row else []
    return KeyInspection(verdict=str(key.verdict), reason=str(key.reason), pixel_row=p_row, server_row=s_row,
                         server_event=s_event, near_miss=near, legacy_note=legacy, diffs=diffs,
                         key_row=dict(key._asdict() if hasattr(key, "_asdict") else key.to_dict()))
