"""One Pixel event beside one server event, field by field, with what TikTok makes of each difference.

`field_diff` compares the dedup key (pixel code + event + event_id, contract §8), event_time against the
5 min merge and 48 h dedup windows, value, currency, content_ids, order_id and every match key (hashed
keys compare by identity). `near_partners` finds the event a mangled event_id was meant to pair with.
Pixel rows are core.sources' PIXEL_COLUMNS rows; server events are SERVER_COLUMNS rows or v1.3 bodies.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import pandas as pd

from core.contract import CURRENCIES, DEDUP_WINDOW_SECONDS, LEGACY_EVENTS, MERGE_WINDOW_SECONDS
from core.identity import hash_identifier, is_empty_hash, is_sha256
from core.sources.pixel_body import HASHABLE_KEYS, content_ids_of, dict_or_empty
from core.sources.values import as_text, parse_number, parse_time

DiffStatus = Literal["same", "different", "pixel only", "server only", "neither"]
MATCH_KEYS = ("email", "phone", "external_id", "ttclid", "ttp", "ip", "user_agent")


@dataclass(frozen=True, slots=True)
class FieldDiff:
    """One compared field: the value on each side (as text), a status and what it means for TikTok.

    status: "same" | "different" | "pixel only" | "server only" | "neither" (the last only for
    event_id, where absence on both sides is itself the finding).
    """

    field: str
    pixel: str
    server: str
    status: DiffStatus
    note: str = ""

    def as_dict(self) -> dict[str, str]:
        """Plain dict for tables and JSON."""
        return asdict(self)


def _iso(seconds: float) -> str:
    if math.isnan(seconds):
        return ""
    stamp = datetime.fromtimestamp(seconds, tz=UTC).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")


def _server_view(server: Mapping[str, Any]) -> dict[str, Any]:
    """A server event as flat fields: accepts a SERVER_COLUMNS row, a v1.3 `data[]` event or a body."""
    top: Mapping[str, Any] = {}
    event: Mapping[str, Any] = server
    if isinstance(server.get("data"), list) and server["data"] and isinstance(server["data"][0], dict):
        top, event = server, server["data"][0]
    user = dict_or_empty(event.get("user"))
    props = dict_or_empty(event.get("properties"))
    page = dict_or_empty(event.get("page"))
    keys: dict[str, str] = {}
    for k in MATCH_KEYS:
        raw = user.get(k, event.get(k))
        if isinstance(raw, list):
            raw = next((v for v in raw if v not in (None, "")), None)
        if isinstance(raw, float) and math.isnan(raw):
            raw = None
        keys[k] = as_text(raw)
    ids = content_ids_of(props)
    if not ids and isinstance(event.get("content_ids"), str):
        ids = [i for i in event["content_ids"].split(",") if i]
    # a flat SERVER_COLUMNS row has no contents: unknown, not absent, so it is not compared
    knows_contents = bool(props) or "content_ids" in event
    value = props.get("value", event.get("value"))
    return {
        "pixel_code": as_text(top.get("event_source_id") or event.get("pixel_code") or event.get("event_source_id")),
        "event": as_text(event.get("event")),
        "event_id": as_text(event.get("event_id")),
        "time": parse_time(event.get("event_time")),
        "value": parse_number(value), "value_raw": value,
        "currency": as_text(props.get("currency", event.get("currency"))),
        "order_id": as_text(props.get("order_id", event.get("order_id"))),
        "content_ids": ids, "knows_contents": knows_contents,
        "url": as_text(page.get("url") or event.get("url")),
        "keys": keys,
    }


def _pixel_view(row: Mapping[str, Any]) -> dict[str, Any]:
    props: dict[str, Any] = {}
    raw_props = row.get("properties")
    if isinstance(raw_props, dict):
        props = raw_props
    elif isinstance(raw_props, str) and raw_props.strip().startswith("{"):
        try:
            props = json.loads(raw_props)
        except json.JSONDecodeError:
            props = {}
    ids = content_ids_of(props) or [i for i in as_text(row.get("content_ids")).split(",") if i]
    keys = {k: ("" if (v := row.get(k)) is None or (isinstance(v, float) and math.isnan(v)) else as_text(v))
            for k in MATCH_KEYS}
    ts = row.get("timestamp")
    return {
        "pixel_code": as_text(row.get("pixel_code")), "event": as_text(row.get("event")),
        "event_id": as_text(row.get("event_id")),
        "time": parse_time(ts) if ts is not None else math.nan,
        "value": parse_number(row.get("value")), "value_raw": props.get("value", row.get("value")),
        "currency": as_text(row.get("currency")), "order_id": as_text(row.get("order_id")),
        "content_ids": ids, "url": as_text(row.get("url")), "keys": keys,
    }


def _presence(field_name: str, pv: str, sv: str) -> DiffStatus | None:
    if pv and sv:
        return "same" if pv == sv else "different"
    if pv:
        return "pixel only"
    if sv:
        return "server only"
    return None


def _event_id_note(pv: str, sv: str) -> tuple[DiffStatus, str]:
    if pv and sv:
        if pv == sv:
            return "same", "dedup key matches: TikTok pairs the two (pixel code + event + event_id)"
        if pv.lower() == sv.lower():
            return "different", "ids differ only in case: TikTok compares them exactly, no dedup"
        if pv in sv or sv in pv:
            return "different", ("near miss: one id contains the other (mangled on one side, e.g. a prefix "
                                 "or suffix added); TikTok sees two different events")
        return "different", "different ids: TikTok counts both events (no dedup)"
    if pv or sv:
        side = "server" if pv else "Pixel"
        return ("pixel only" if pv else "server only"), (
            f"no event_id on the {side} side: TikTok cannot deduplicate by id (it may fall back to ttp, "
            "UNSURE); pass the same event_id to ttq.track and the Events API")
    return "neither", "neither side has an event_id: the pair cannot deduplicate, both may count"


def _time_note(pt: float, st_: float) -> tuple[DiffStatus, str]:
    delta = st_ - pt
    order = "after" if delta >= 0 else "before"
    gap = abs(delta)
    text = f"server event_time {gap:,.1f} s {order} the Pixel"
    if gap <= MERGE_WINDOW_SECONDS:
        return "same", (f"{text}: within 5 min, TikTok merges the later copy into the first "
                        "(its match keys enrich the first)")
    if gap <= DEDUP_WINDOW_SECONDS:
        return "different", (f"{text} ({gap / 3600:,.1f} h): between 5 min and 48 h, TikTok drops the "
                             "later copy without merging its keys")
    return "different", (f"{text} ({gap / 86400:,.1f} days): beyond 48 h, TikTok does not deduplicate — "
                         "both count")


def _key_note(key: str, pv: str, sv: str) -> tuple[DiffStatus, str]:
    """Compare one match key; hashed keys compare by identity (raw on one side is hashed first)."""
    status = _presence(key, pv, sv)
    assert status is not None
    if key in HASHABLE_KEYS:
        state = {side: ("empty-string hash" if is_empty_hash(v) else "hashed" if is_sha256(v) else "raw")
                 for side, v in (("pixel", pv), ("server", sv)) if v}
        desc = ", ".join(f"{s}: {h}" for s, h in state.items())
        if state.get("server") == "raw":  # TikTok rejects unhashed PII on the Events API (40062)
            desc += " (the Events API needs it normalized and SHA-256 hashed)"
        if status == "different":
            pv_h = pv.lower() if is_sha256(pv) else hash_identifier(key, pv).sent
            sv_h = sv.lower() if is_sha256(sv) else hash_identifier(key, sv).sent
            if pv_h and pv_h == sv_h:
                return "same", f"{desc}; the same identity once normalized and hashed"
            return "different", (f"{desc}; different values: another person, or normalized differently "
                                 "(email trimmed + lower-case, phone E.164 with +) before SHA-256")
        if "empty-string hash" in state.values():
            return status, f"{desc}; the SHA-256 of an empty string matches nobody"
        if status == "server only" and key == "external_id":
            return status, f"{desc}; the Pixel can send it via ttq.identify({{external_id}})"
        return status, desc
    if key == "ip":
        if status == "server only":
            return status, "the Pixel's IP is the browser's connection (not in the body); TikTok sees it anyway"
        return status, ""
    if key == "user_agent":
        if status == "different":
            return status, "server user_agent should be the browser's (forward the request's User-Agent)"
        if status == "pixel only":
            return status, "add user_agent to the server event (with ip it is a match key)"
        return status, ""
    if key == "ttclid" and status == "pixel only":
        return status, "server event lacks ttclid: read it from the landing URL or the ttclid cookie"
    if key == "ttp" and status == "pixel only":
        return status, "server event lacks ttp: forward the _ttp cookie"
    return status, ""


def _identity_rows(p: Mapping[str, Any], s: Mapping[str, Any]) -> list[FieldDiff]:
    """pixel_code, event (case and legacy twins named) and event_id: the dedup key's three parts."""
    out: list[FieldDiff] = []
    if (status := _presence("pixel_code", p["pixel_code"], s["pixel_code"])) is not None:
        note = "different pixels never deduplicate" if status == "different" else ""
        out.append(FieldDiff("pixel_code", p["pixel_code"], s["pixel_code"], status, note))
    pe, se = p["event"], s["event"]
    if pe == se:
        out.append(FieldDiff("event", pe, se, "same" if pe else "neither", "" if pe else "no event name"))
    elif pe and se:
        if pe.lower() == se.lower():
            note = "differ only in case: TikTok compares event names exactly, so these never deduplicate"
        elif twin := legacy_twin_note(pe, se):
            note = twin
        else:
            note = "different events never deduplicate"
        out.append(FieldDiff("event", pe, se, "different", note))
    else:
        out.append(FieldDiff("event", pe, se, "pixel only" if pe else "server only", ""))
    status, note = _event_id_note(p["event_id"], s["event_id"])
    out.append(FieldDiff("event_id", p["event_id"], s["event_id"], status, note))
    return out


def _time_row(p: Mapping[str, Any], s: Mapping[str, Any]) -> list[FieldDiff]:
    """event_time skew against the merge and dedup windows (which apply only when the key matches)."""
    pt, st_ = p["time"], s["time"]
    if math.isnan(pt) and math.isnan(st_):
        return []
    if math.isnan(pt) or math.isnan(st_):
        return [FieldDiff("event_time", _iso(pt), _iso(st_), "server only" if math.isnan(pt) else "pixel only",
                          "no time on one side")]
    status, note = _time_note(pt, st_)
    if not (p["event_id"] and p["event_id"] == s["event_id"] and p["event"] == s["event"]
            and p["pixel_code"] == s["pixel_code"]):
        note = "if the key matched: " + note  # windows only apply to events that share the key
    return [FieldDiff("event_time", _iso(pt), _iso(st_), status, note)]


def _value_row(p: Mapping[str, Any], s: Mapping[str, Any]) -> list[FieldDiff]:
    """value: one side only, a difference, or a number sent as a string."""
    pv, sv = p["value"], s["value"]
    if math.isnan(pv) and math.isnan(sv):
        return []
    ptxt = "" if math.isnan(pv) else f"{pv:g}"
    stxt = "" if math.isnan(sv) else f"{sv:g}"
    if math.isnan(pv) or math.isnan(sv):
        return [FieldDiff("value", ptxt, stxt, "server only" if math.isnan(pv) else "pixel only",
                          "value on one side only: reported revenue depends on which copy TikTok keeps")]
    same = abs(pv - sv) < 0.005
    notes = [] if same else [f"differs by {sv - pv:+g}"]
    if isinstance(p["value_raw"], str):
        notes.append(f"Pixel sent value as a string ({p['value_raw']!r}); send a number")
    if isinstance(s["value_raw"], str):
        notes.append(f"server sent value as a string ({s['value_raw']!r}); send a number")
    return [FieldDiff("value", ptxt, stxt, "same" if same else "different", "; ".join(notes))]


def _order_rows(p: Mapping[str, Any], s: Mapping[str, Any]) -> list[FieldDiff]:
    """currency (ISO-4217), content_ids (when the server side carries contents) and order_id."""
    out: list[FieldDiff] = []
    pc, sc = p["currency"], s["currency"]
    if (status := _presence("currency", pc.upper(), sc.upper())) is not None:
        notes = [f"{c!r} is not an ISO-4217 code TikTok accepts" for c in {pc, sc} if c and c.upper()
                 not in CURRENCIES]
        if status == "same" and pc != sc:
            notes.append("same code in different case")
        out.append(FieldDiff("currency", pc, sc, status, "; ".join(sorted(notes))))
    pids, sids = p["content_ids"], s["content_ids"]
    if (pids or sids) and s["knows_contents"]:
        status = _presence("content_ids", ",".join(sorted(pids)), ",".join(sorted(sids))) or "same"
        note = ""
        if status == "different":
            only_p = sorted(set(pids) - set(sids))
            only_s = sorted(set(sids) - set(pids))
            note = "; ".join(t for t in (f"Pixel only: {', '.join(only_p)}" if only_p else "",
                                         f"server only: {', '.join(only_s)}" if only_s else "") if t) \
                or "same ids, different count or order"
        out.append(FieldDiff("content_ids", ",".join(pids), ",".join(sids), status, note))
    if (status := _presence("order_id", p["order_id"], s["order_id"])) is not None:
        out.append(FieldDiff("order_id", p["order_id"], s["order_id"], status, ""))
    return out


def field_diff(pixel_row: Mapping[str, Any], server_event: Mapping[str, Any]) -> list[FieldDiff]:
    """Field-by-field comparison of one Pixel row with one server event, each with what TikTok makes of it.

    `pixel_row` is a PIXEL_COLUMNS row (dict or Series); `server_event` a SERVER_COLUMNS row, a v1.3
    `data[]` event or a whole body (its first event). Both sides are read into the same field names first,
    so a flat row and a nested body compare like with like. Rows: pixel_code, event (case and legacy
    twins named), event_id (near misses named), event_time skew (5 min merge / 48 h dedup windows),
    value, currency, content_ids (only when the server side carries properties), order_id, then each
    match key present on either side (hashed where, same identity?).
    Fields absent on both sides are left out, except event_id ("neither").
    TikTok: dedup key = pixel code + event + event_id (contract §8).
    """
    p, s = _pixel_view(pixel_row), _server_view(server_event)
    out = [*_identity_rows(p, s), *_time_row(p, s), *_value_row(p, s), *_order_rows(p, s)]
    for key in MATCH_KEYS:
        pk, sk = p["keys"][key], s["keys"][key]
        if pk or sk:
            status, note = _key_note(key, pk, sk)
            out.append(FieldDiff(key, pk, sk, status, note))
    return out


def legacy_twin_note(a: str, b: str) -> str:
    """A sentence when one name is the legacy twin of the other (CompletePayment / Purchase), else "".

    TikTok still accepts the legacy names but deduplicates identical names only.
    """
    for old, new in ((a, b), (b, a)):
        if LEGACY_EVENTS.get(old) == new:
            return (f"{old} is the legacy name of {new}: the same event to you, two events to TikTok, which "
                    f"deduplicates identical names only — send {new} on both sides")
    return ""


def comparable_fields(row: Mapping[str, Any], side: Literal["pixel", "server"]) -> dict[str, Any]:
    """One side's event under the field names both sides share, for a like-with-like JSON diff.

    A flat Pixel row and a nested v1.3 server event (or a server row) become the same shape: pixel_code,
    event, event_id, event_time (ISO 8601 UTC), value, currency, order_id, content_ids, url and the
    match keys; empty fields are left out.
    """
    view = _pixel_view(row) if side == "pixel" else _server_view(row)
    out: dict[str, Any] = {
        "pixel_code": view["pixel_code"], "event": view["event"], "event_id": view["event_id"],
        "event_time": _iso(view["time"]), "value": None if math.isnan(view["value"]) else view["value"],
        "currency": view["currency"], "order_id": view["order_id"],
        "content_ids": ",".join(view["content_ids"]), "url": view.get("url", ""), **view["keys"],
    }
    return {k: v for k, v in out.items() if v not in ("", None)}


def near_partners(df: pd.DataFrame, event: str, event_id: str, limit: int = 5) -> pd.DataFrame:
    """Rows of the other side whose event_id contains, or is contained in, `event_id` (same event name,
    any case): the partner a mangled id ("atc_88213_1" vs "88213_1") was meant to pair with.

    Returns at most `limit` rows, nearest id length first; empty for ids shorter than 3 characters.
    TikTok: ids are compared exactly, so such pairs never deduplicate (contract §8, "near-matches").
    """
    if len(event_id) < 3 or df.empty:
        return df.iloc[0:0]
    same = df[(df["event"].str.lower() == event.lower()) & (df["event_id"] != event_id)
              & (df["event_id"].str.len() >= 3)]
    if same.empty:
        return same
    ids = same["event_id"]
    contains = ids.str.contains(event_id, regex=False)
    inside = ids.map(lambda other: other in event_id).astype(bool)  # loop only over one event's rows
    hits = same[contains | inside]
    order = (hits["event_id"].str.len() - len(event_id)).abs().sort_values(kind="stable").index
    return hits.loc[order].head(limit)
