"""A live test session: Pixel hits and server events paired as they arrive, and TikTok's Test Events checklist.

Pure functions over plain lists, so the Live page, the export and the tests read one truth:

* `build_view(pixel_hits, server_bodies, now=...)` pairs both legs by TikTok's dedup key (Pixel code +
  event + event_id) with core.dedup's own rules (never a second copy: the 48 h same-side window, exact
  names, so a CompletePayment never pairs with a Purchase) and adds what only a live session has: an
  unpaired event is *waiting* while TikTok's 5-minute merge window (contract §8) is still open for it,
  with the seconds left (boundaries inclusive: at exactly 300 s it still waits, with 0 s left), then
  *pixel only so far* / *server only so far*. A paired key is *merged* (≤ 5 min apart) or *deduplicated*
  (≤ 48 h). Each pair carries the field diff (core.diff), the server event's lint findings (core.lint) and
  the EMQ proxy (core.quality) of the keys both halves carry together.
* `checklist(...)`: TikTok's Test Events advice (contract §8, §9) as items pass / fail / unknown, each with
  the evidence that decided it.
* `export_session(view)` / `open_session_export(bytes)`: one JSON file (the Pixel hits as a HAR the
  Compare page imports, the server exchanges, verdicts and checklist) and back.

Inputs: Pixel hits are rows as `tiktok-events pixels --format json` prints them (core.sources PIXEL_COLUMNS)
plus optional `id`, `captured_at` (Unix ms) and `page_url`; server bodies are v1.3 (or 1.0) bodies, with an
optional top-level `received_at` (Unix s) and `exchange_id` the store adds for relayed requests. A capture
result is the dict `tiktok-events capture --format json` prints ({"pages": [...], "cookies": {...},
"findings": [...]}); every item it decides is "unknown" without it unless the hits themselves tell.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Final, Literal
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.contract import LEGACY_EVENTS, MERGE_WINDOW_SECONDS
from core.dedup import simulate
from core.diff import FieldDiff, field_diff, legacy_twin_note
from core.errors import InvalidFile
from core.lint import Finding, lint
from core.privacy import REDACTED_PII, is_raw_email, is_raw_phone
from core.quality import ALL_KEYS, WEIGHTS, classify_key, score_frame
from core.reasons import MISSING, REASON_CODES, VALID
from core.sources.pixel_body import pixel_frame
from core.sources.server import server_side
from core.store import Store

Status = Literal["waiting", "merged", "deduplicated", "outside window", "pixel only so far", "server only so far"]
STATUSES: Final = ("waiting", "merged", "deduplicated", "outside window", "pixel only so far",
                   "server only so far")
CheckStatus = Literal["pass", "fail", "unknown"]
EXPORT_FORMAT: Final = "tiktok-events-live-session"
EXPORT_VERSION: Final = 1
PAIR_COLUMNS: Final = ("event", "event_id", "pixel_code", "status", "seconds_left", "pixel_time", "server_time",
                       "delta_s", "emq", "findings", "reason")
# The conversion events the checklist looks at: Purchase and its legacy twins (contract §5).
PURCHASE_NAMES: Final = frozenset({"Purchase", *(k for k, v in LEGACY_EVENTS.items() if v == "Purchase")})
# Strong keys: person- and browser-level identity (core.quality's tiers), not the ip + UA fingerprint.
STRONG_KEYS: Final = tuple(w.key for w in WEIGHTS if w.tier != "network fingerprint")
_PAGE_EVENTS: Final = frozenset({"Pageview", "PageView"})  # ttq.page(): no event_id by design
_RELAY_FIELDS: Final = ("received_at", "exchange_id")
_PIXEL_ENDPOINT: Final = "https://analytics.tiktok.com/api/v2/pixel"


@dataclass(frozen=True)
class LivePair:
    """One dedup key of the session (or one event that cannot pair) with its live status and evidence.

    `seconds_left` is set only while `waiting`: the time left in the 5-minute merge window. `pixel_row`
    is the Pixel hit, `server_event` the server event as sent (a one-event body); `diffs`, `findings`
    (the server event's lint) and `emq` (the proxy of the keys both halves carry together, 0-10) are
    empty / None where a half is missing.
    """

    event: str
    event_id: str
    pixel_code: str
    status: Status
    reason: str
    seconds_left: float | None
    pixel_time: float | None
    server_time: float | None
    pixel_row: dict[str, Any] | None = None
    server_event: dict[str, Any] | None = None
    diffs: list[FieldDiff] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    emq: float | None = None
    emq_keys: list[str] = field(default_factory=list)
    occurrence: str = "1"

    @property
    def delta_s(self) -> float | None:
        """Server time minus Pixel time, when both halves are in."""
        if self.pixel_time is None or self.server_time is None:
            return None
        return self.server_time - self.pixel_time

    @property
    def label(self) -> str:
        """'Purchase · ord_1 · merged' for pickers."""
        return f"{self.event} · {self.event_id or '(no event_id)'} · {self.status}"

    @property
    def pick_id(self) -> str:
        """An id that stays the same while the pair's status changes (a picker keeps its choice as a
        partner arrives): the dedup key and occurrence, or for an event without event_id its own time."""
        return f"{self.pixel_code}|{self.event}|{self.event_id}|{self.occurrence}"

    def as_row(self) -> dict[str, Any]:
        """One PAIR_COLUMNS row for tables and the export (times as Unix seconds)."""
        return {"event": self.event, "event_id": self.event_id, "pixel_code": self.pixel_code,
                "status": self.status, "seconds_left": self.seconds_left, "pixel_time": self.pixel_time,
                "server_time": self.server_time, "delta_s": self.delta_s, "emq": self.emq,
                "findings": len(self.findings), "reason": self.reason}


@dataclass(frozen=True)
class CheckItem:
    """One checklist item: a stable id, what TikTok advises, pass / fail / unknown and the evidence."""

    id: str
    title: str
    status: CheckStatus
    evidence: str

    def as_dict(self) -> dict[str, str]:
        """Plain dict for tables and the export."""
        return {"id": self.id, "title": self.title, "status": self.status, "evidence": self.evidence}


@dataclass(frozen=True)
class LiveView:
    """Everything the Live page shows for one session at `now`; `export_session` writes it as one file."""

    session_id: str
    now: float
    pixel_hits: list[dict[str, Any]]
    server_bodies: list[dict[str, Any]]
    pairs: list[LivePair]
    checklist: list[CheckItem]
    capture: dict[str, Any] | None = None
    exchanges: list[dict[str, Any]] = field(default_factory=list)
    last_hit_id: int = 0  # the store's newest Pixel hit and exchange ids this view has read (refresh_view)
    last_exchange_id: int = 0

    def pairs_frame(self) -> pd.DataFrame:
        """The pairs table (PAIR_COLUMNS, typed: missing times are NaN), waiting ones first, then newest first."""
        frame = pd.DataFrame([p.as_row() for p in self.pairs], columns=list(PAIR_COLUMNS))
        for col in ("seconds_left", "pixel_time", "server_time", "delta_s", "emq"):
            frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
        frame["findings"] = frame["findings"].astype("int64")
        for col in ("event", "event_id", "pixel_code", "status", "reason"):
            frame[col] = frame[col].astype("str")
        return frame

    def counts(self) -> dict[str, int]:
        """How many pairs have each status (every status present, zeros included)."""
        out = dict.fromkeys(STATUSES, 0)
        for p in self.pairs:
            out[p.status] += 1
        return out


# --- inputs ---------------------------------------------------------------------------------------
def _pixel_frame(hits: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    frame = pixel_frame(hits)
    frame["hit"] = range(len(frame))
    return frame


def _server_frame(bodies: Sequence[Mapping[str, Any]]) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Server rows and each event as sent, without the store's relay fields at the top level."""
    clean = [{k: v for k, v in b.items() if k not in _RELAY_FIELDS} for b in bodies]
    frame, events = server_side(clean)
    return frame, events


def _num(value: Any) -> float | None:
    if value is None:
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(out) else out


# --- pairing ----------------------------------------------------------------------------------------
def _live_status(verdict: str, t_p: float | None, t_s: float | None, now: float) -> tuple[Status, float | None]:
    """The dedup verdict as a live status: one-sided keys wait while the merge window is open (inclusive)."""
    if verdict in ("merged", "deduplicated", "outside window"):
        return verdict, None  # type: ignore[return-value]
    side: Status = "pixel only so far" if t_p is not None else "server only so far"
    if verdict == "missing event_id":
        return side, None  # no event_id: it can never pair, so it never waits
    first = t_p if t_p is not None else t_s
    if first is None:
        return side, None
    left = MERGE_WINDOW_SECONDS - (now - first)
    if left >= 0:  # inclusive: at exactly 5 min the window is still open; a clock ahead of `now` waits too
        return "waiting", min(float(left), float(MERGE_WINDOW_SECONDS))
    return side, None


def _reason(status: Status, verdict_reason: str, seconds_left: float | None, pixel_side: bool) -> str:
    if status == "waiting":
        other = "server event" if pixel_side else "Pixel event"
        return (f"waiting for the {other} with this key: {seconds_left:.0f} s left in TikTok's 5-minute merge "
                "window (after it, a late partner is deduplicated, not merged)")
    if status in ("pixel only so far", "server only so far") and "no event_id" not in verdict_reason:
        other = "server" if status.startswith("pixel") else "Pixel"
        return (f"no {other} event with this key yet and the 5-minute merge window has closed: a partner "
                "arriving within 48 h is still deduplicated")
    return verdict_reason


RowIndex = dict[tuple[str, str, str], list[dict[str, Any]]]


def _index(frame: pd.DataFrame) -> RowIndex:
    """A side's rows by dedup key (Pixel code, event, event_id), read once per view."""
    out: RowIndex = {}
    for row in frame.to_dict(orient="records"):
        out.setdefault((str(row["pixel_code"]), str(row["event"]), str(row["event_id"])), []).append(row)
    return out


def _row(index: RowIndex, key: Any, time_col: str, t: float | None) -> dict[str, Any] | None:
    """The row with this key whose time is nearest the key's (as core.dedup.rows_for_key picks it); an
    event without event_id is found the same way among its name's rows without one."""
    rows = index.get((str(key.pixel_code), str(key.event), str(key.event_id))) if t is not None else None
    if not rows:
        return None
    return min(rows, key=lambda r: abs((_num(r.get(time_col)) or 0.0) - (t or 0.0)))


def joint_keys(pixel_rows: Sequence[Mapping[str, Any] | None],
               server_rows: Sequence[Mapping[str, Any] | None]) -> pd.DataFrame:
    """Per pair, the match keys both halves carry together: the server's value when valid, else the Pixel's.

    TikTok merges the second event's match keys into the first (contract §8), so a pair is matched on what
    both halves carry. One vectorized classification per key (core.quality.classify_key) for all pairs.
    """
    out: dict[str, Any] = {}
    for key in ALL_KEYS:
        srv = ["" if r is None else str(r.get(key) or "") for r in server_rows]
        pix = ["" if r is None else str(r.get(key) or "") for r in pixel_rows]
        ok_s = classify_key(key, srv) == VALID
        ok_p = classify_key(key, pix) == VALID
        out[key] = np.where(ok_s, np.array(srv, dtype=object), np.where(ok_p, np.array(pix, dtype=object), ""))
    return pd.DataFrame(out, index=range(len(server_rows)))


def pair_emq(pixel_row: Mapping[str, Any] | None, server_row: Mapping[str, Any] | None) -> tuple[float, list[str]]:
    """The EMQ proxy (0-10) of the keys one pair carries together (`joint_keys`), and those keys."""
    joined = joint_keys([pixel_row], [server_row])
    score = float(score_frame(joined).per_event["score"].iloc[0])
    return score, [k for k in ALL_KEYS if joined[k].iloc[0]]


def _evidence(pixel_row: dict[str, Any] | None, server_row: dict[str, Any] | None,
              server_event: dict[str, Any] | None, now: float) -> tuple[list[FieldDiff], list[Finding]]:
    diffs = field_diff(pixel_row, server_event or server_row or {}) if pixel_row and server_row else []
    findings = lint(server_event, now=now) if server_event is not None else []
    return diffs, findings


def _pair(key: Any, rows: tuple[dict[str, Any] | None, dict[str, Any] | None], sent: list[dict[str, Any]],
          now: float, emq: tuple[float, list[str]]) -> LivePair:
    t_p, t_s = _num(key.pixel_time), _num(key.server_time)
    status, left = _live_status(str(key.verdict), t_p, t_s, now)
    p_row, s_row = rows
    s_event = sent[int(s_row["index"])] if s_row is not None and 0 <= int(s_row["index"]) < len(sent) else None
    diffs, findings = _evidence(p_row, s_row, s_event, now)
    return LivePair(event=str(key.event), event_id=str(key.event_id), pixel_code=str(key.pixel_code),
                    status=status, reason=_reason(status, str(key.reason), left, t_p is not None),
                    seconds_left=left, pixel_time=t_p, server_time=t_s, pixel_row=_plain(p_row),
                    server_event=s_event, diffs=diffs, findings=findings, emq=emq[0], emq_keys=emq[1],
                    occurrence=str(key.occurrence) if key.event_id else f"t{t_p if t_p is not None else t_s}")


def _plain(row: dict[str, Any] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {k: (None if isinstance(v, float) and math.isnan(v) else v.item() if hasattr(v, "item") else v)
            for k, v in row.items()}


def pair_events(pixel_hits: Sequence[Mapping[str, Any]], server_bodies: Sequence[Mapping[str, Any]], *,
                now: float) -> list[LivePair]:
    """Pair a session's Pixel hits and server events at time `now` (Unix seconds): one LivePair per key.

    Statuses: waiting (one leg in, the 5-minute merge window still open, `seconds_left` set), merged,
    deduplicated, outside window, pixel only so far, server only so far; an event without event_id never
    pairs (TikTok needs it to deduplicate) and is reported on its own. Waiting pairs come first, then the
    newest. TikTok: key = Pixel code + event + event_id; merge ≤ 5 min, dedup ≤ 48 h (contract §8).
    """
    pixel = _pixel_frame(pixel_hits)
    server, sent = _server_frame(server_bodies)
    if pixel.empty and server.empty:
        return []
    keys = list(simulate(pixel, server).keys.itertuples(index=False))
    p_index, s_index = _index(pixel), _index(server)
    p_rows = [_row(p_index, k, "timestamp", _num(k.pixel_time)) for k in keys]
    s_rows = [_row(s_index, k, "event_time", _num(k.server_time)) for k in keys]
    joined = joint_keys(p_rows, s_rows)
    scores = score_frame(joined).per_event["score"].to_numpy()
    carried = [[k for k in ALL_KEYS if row[k]] for row in joined.to_dict(orient="records")]
    pairs = [_pair(k, (p_rows[i], s_rows[i]), sent, now, (float(scores[i]), carried[i]))
             for i, k in enumerate(keys)]

    def order(p: LivePair) -> tuple[int, float]:
        latest = max(t for t in (p.pixel_time, p.server_time, 0.0) if t is not None)
        return (0 if p.status == "waiting" else 1, -latest)

    return sorted(pairs, key=order)


# --- the checklist ------------------------------------------------------------------------------------
def _has_ttclid(hit: Mapping[str, Any]) -> bool:
    if str(hit.get("ttclid") or ""):
        return True
    url = str(hit.get("page_url") or hit.get("url") or "")
    return bool(parse_qs(urlsplit(url).query).get("ttclid"))


def _hit_url(hit: Mapping[str, Any]) -> str:
    return str(hit.get("page_url") or hit.get("url") or "(no URL)")


def _by_time(hits: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return sorted(hits, key=lambda h: (_num(h.get("timestamp")) or 0.0, _num(h.get("captured_at")) or 0.0))


def check_ttclid(hits: Sequence[Mapping[str, Any]], capture: Mapping[str, Any] | None) -> CheckItem:
    """ttclid on the landing URL and still there at checkout (in the URL, the ttclid cookie or the hit).

    TikTok appends ttclid to ad clicks; a redirect that drops it loses the click (contract §6.4).
    """
    title = "ttclid on the landing URL and surviving to checkout"
    pages = list((capture or {}).get("pages") or [])
    lost_finding = next((f for f in (capture or {}).get("findings") or [] if isinstance(f, Mapping)
                         and "ttclid" in str(f.get("code", "")).lower()), None)
    if lost_finding is not None:
        return CheckItem("ttclid", title, "fail", f"{lost_finding.get('message', '')} "
                         f"{lost_finding.get('fix', '')}".strip())
    if pages:
        landing = pages[0]
        if not landing.get("ttclid_in_url"):
            return CheckItem("ttclid", title, "fail", f"The landing page {landing.get('url', '')} has no ttclid: "
                             "open the store from a URL carrying ?ttclid=… as an ad click does.")
        cookie = str(((capture or {}).get("cookies") or {}).get("ttclid") or "")
        lost = [p for p in pages[1:] if not p.get("ttclid_in_url") or p.get("ttclid_lost_at")]
        if lost and not cookie:
            return CheckItem("ttclid", title, "fail", f"ttclid was in the landing URL but is gone at "
                             f"{lost[0].get('url', '')} and no ttclid cookie keeps it: keep the query string "
                             "through redirects or store ttclid in a first-party cookie.")
        kept = "the ttclid cookie" if lost else "the URL of every page"
        return CheckItem("ttclid", title, "pass", f"ttclid in the landing URL {landing.get('url', '')}; kept "
                         f"to {pages[-1].get('url', '')} by {kept}.")
    if not hits:
        return CheckItem("ttclid", title, "unknown", "No Pixel hit and no capture yet: open the store from a "
                         "URL with ?ttclid=… and click through to the purchase.")
    ordered = _by_time(hits)
    if not _has_ttclid(ordered[0]):
        return CheckItem("ttclid", title, "fail", f"The first Pixel hit ({ordered[0].get('event', '')} on "
                         f"{_hit_url(ordered[0])}) carries no ttclid: the landing URL had none.")
    last = next((h for h in reversed(ordered) if h.get("event") in PURCHASE_NAMES), ordered[-1])
    if not _has_ttclid(last):
        return CheckItem("ttclid", title, "fail", f"ttclid was on the landing hit but not on "
                         f"{last.get('event', '')} at {_hit_url(last)}: it was lost on the way to checkout.")
    return CheckItem("ttclid", title, "pass", f"ttclid on the landing hit ({_hit_url(ordered[0])}) and on "
                     f"{last.get('event', '')} at {_hit_url(last)}.")


def check_ttp(hits: Sequence[Mapping[str, Any]], server: pd.DataFrame,
              capture: Mapping[str, Any] | None) -> CheckItem:
    """The _ttp first-party cookie is set (the browser id TikTok joins server events on, contract §6.4)."""
    title = "_ttp cookie set"
    cookies = (capture or {}).get("cookies")
    if isinstance(cookies, Mapping):
        value = str(cookies.get("_ttp") or "")
        if value:
            return CheckItem("ttp", title, "pass", f"_ttp = {value[:12]}… after the journey.")
        return CheckItem("ttp", title, "fail", "No _ttp cookie after the journey: the Pixel's cookies are off "
                         "(ttq.enableCookie, a consent banner not accepted, or a blocker).")
    with_ttp = [h for h in hits if str(h.get("ttp") or "")]
    if with_ttp:
        return CheckItem("ttp", title, "pass", f"{len(with_ttp)} of {len(hits)} Pixel hit(s) carry _ttp "
                         f"({str(with_ttp[0]['ttp'])[:12]}…).")
    n_srv = int((server["ttp"] != "").sum()) if "ttp" in server.columns else 0
    if n_srv:
        return CheckItem("ttp", title, "pass", f"{n_srv} server event(s) carry ttp read from the _ttp cookie.")
    return CheckItem("ttp", title, "unknown", "Neither the Pixel hits nor the server events show _ttp; a "
                     "browser capture reads the cookie itself.")


def check_browse_ids(hits: Sequence[Mapping[str, Any]]) -> CheckItem:
    """Every browse event the Pixel sends (not the Purchase, not the automatic page view) has an event_id."""
    title = "browse events carry event_ids"
    browse = [h for h in hits if h.get("event") not in PURCHASE_NAMES and h.get("event") not in _PAGE_EVENTS]
    if not browse:
        return CheckItem("browse_ids", title, "unknown", "No browse event (ViewContent, AddToCart, "
                         "InitiateCheckout…) from the Pixel yet.")
    missing = [h for h in browse if not str(h.get("event_id") or "")]
    names = sorted({str(h.get("event", "")) for h in browse})
    if missing:
        bad = sorted({str(h.get("event", "")) for h in missing})
        return CheckItem("browse_ids", title, "fail", f"{len(missing)} of {len(browse)} browse event(s) have no "
                         f"event_id ({', '.join(bad)}): pass {{event_id: …}} to ttq.track so the server twin "
                         "deduplicates.")
    return CheckItem("browse_ids", title, "pass", f"All {len(browse)} browse event(s) carry an event_id "
                     f"({', '.join(names)}).")


def check_purchase(pairs: Sequence[LivePair]) -> CheckItem:
    """A Purchase arrives on both legs with the same event name and event_id (merged or deduplicated)."""
    title = "Purchase on both legs with the same event name and event_id"
    buys = [p for p in pairs if p.event in PURCHASE_NAMES]
    if not buys:
        return CheckItem("purchase", title, "unknown", "No Purchase on either leg yet: buy a test product.")
    no_id = [p for p in buys if not p.event_id]
    if no_id:  # counted on its own, whatever else paired: a conversion counted twice
        leg = "Pixel" if no_id[0].pixel_time is not None else "server"
        return CheckItem("purchase", title, "fail", f"The {leg}'s {no_id[0].event} carries no event_id: TikTok "
                         "cannot deduplicate it against the other leg; send the order's event_id on both legs "
                         "(ttq.track(…, {event_id}) and the Events API).")
    both = [p for p in buys if p.status in ("merged", "deduplicated")]
    if both:
        p = both[0]
        return CheckItem("purchase", title, "pass", f"{p.event} {p.event_id} arrived on both legs, {p.status} "
                         f"({abs(p.delta_s or 0):.1f} s apart).")
    pix = {p.event_id: p.event for p in buys if p.pixel_time is not None}
    srv = {p.event_id: p.event for p in buys if p.server_time is not None}
    for eid, name in pix.items():
        if eid in srv and srv[eid] != name:
            note = legacy_twin_note(name, srv[eid]) or f"the Pixel sends {name}, the server {srv[eid]}"
            return CheckItem("purchase", title, "fail", f"event_id {eid}: {note}.")
    waiting = [p for p in buys if p.status == "waiting"]
    if waiting:
        p = waiting[0]
        leg = "server" if p.pixel_time is not None else "Pixel"
        return CheckItem("purchase", title, "unknown", f"{p.event} {p.event_id or '(no event_id)'} is waiting "
                         f"for the {leg} leg: {p.seconds_left or 0:.0f} s left in the merge window.")
    p = buys[0]
    return CheckItem("purchase", title, "fail", f"{p.event} {p.event_id or '(no event_id)'}: {p.status}. "
                     f"Pixel ids {sorted(pix) or '—'}, server ids {sorted(srv) or '—'}: send the same "
                     "event_id on both legs.")


def check_server_keys(server: pd.DataFrame) -> CheckItem:
    """Each server event has a strong key (email, phone, external_id, ttclid or ttp) plus ip and user_agent."""
    title = "server events carry a strong key plus ip and user_agent"
    if server.empty:
        return CheckItem("server_keys", title, "unknown", "No server event yet: send one from the backend "
                         "through the relay, or from the Send page.")
    problems: list[str] = []
    codes = {k: classify_key(k, server[k] if k in server.columns else [""] * len(server))
             for k in (*STRONG_KEYS, "ip", "user_agent")}
    valid = {k: c == VALID for k, c in codes.items()}
    strong = np.logical_or.reduce([valid[k] for k in STRONG_KEYS])
    for i, row in enumerate(server.to_dict(orient="records")):
        lacks = [k if codes[k][i] == MISSING else f"{k} ({REASON_CODES[codes[k][i]].replace('_', ' ')})"
                 for k in ("ip", "user_agent") if not valid[k][i]]
        if not strong[i]:
            lacks.insert(0, "a strong key (" + ", ".join(STRONG_KEYS) + ")")
        if lacks:
            problems.append(f"{row.get('event', '')} {row.get('event_id', '') or '(no event_id)'} lacks "
                            + ", ".join(lacks))
    if problems:
        return CheckItem("server_keys", title, "fail", "; ".join(problems[:3]) + (
            f"; and {len(problems) - 3} more" if len(problems) > 3 else "") + ".")
    return CheckItem("server_keys", title, "pass", f"All {len(server)} server event(s) carry a strong key, "
                     "ip and user_agent.")


def check_value_currency(pairs: Sequence[LivePair]) -> CheckItem:
    """value and currency agree between the two legs of every pair that carries them."""
    title = "value and currency agree on both legs"
    checked = 0
    for p in sorted(pairs, key=lambda q: q.event not in PURCHASE_NAMES):
        rows = [d for d in p.diffs if d.field in ("value", "currency")]
        if not rows:
            continue
        checked += 1
        bad = [d for d in rows if d.status != "same"]
        if bad:
            d = bad[0]
            return CheckItem("value_currency", title, "fail", f"{p.event} {p.event_id}: {d.field} is "
                             f"{d.pixel or '—'} on the Pixel and {d.server or '—'} on the server ({d.status}).")
    if not checked:
        return CheckItem("value_currency", title, "unknown", "No pair with a value or currency on both legs yet.")
    return CheckItem("value_currency", title, "pass", f"value and currency agree on {checked} pair(s).")


def _pii_in(hit: Mapping[str, Any]) -> str:
    for key, value in hit.items():
        text = str(value or "")
        if REDACTED_PII in text or ((key in ("email", "phone") or key.endswith("url")) and (
                is_raw_email(text) or is_raw_phone(text, phone_key=key == "phone") or "%40" in text)):
            return key
    return ""


def check_pii(hits: Sequence[Mapping[str, Any]], capture: Mapping[str, Any] | None) -> CheckItem:
    """No raw email or phone leaves the browser (the Pixel sends page.url to TikTok as it is)."""
    title = "no raw PII leaves the browser"
    found = [f for f in (capture or {}).get("findings") or [] if isinstance(f, Mapping)
             and "pii" in str(f.get("code", "")).lower()]
    if found:
        return CheckItem("pii", title, "fail", f"{found[0].get('message', '')} ({found[0].get('path', '')})")
    for hit in hits:
        where = _pii_in(hit)
        if where:
            return CheckItem("pii", title, "fail", f"{hit.get('event', '')} sent a raw email or phone in "
                             f"`{where}` (the console dropped it before storing): hash it or take it out of "
                             "the URL.")
    if not hits and capture is None:
        return CheckItem("pii", title, "unknown", "No Pixel hit yet.")
    return CheckItem("pii", title, "pass", f"{len(hits)} Pixel hit(s): no raw email or phone in their URLs or "
                     "user fields.")


def check_consent(hits: Sequence[Mapping[str, Any]], capture: Mapping[str, Any] | None) -> CheckItem:
    """Consent honoured where the page exposes it: no Pixel event while consent is denied or held.

    Reads `capture["consent"]` = {"exposed": bool, "state": "granted" | "denied" | "held" | "",
    "hits_while_denied": int} and capture findings whose code names consent; unknown otherwise.
    """
    title = "consent honoured (where the page exposes it)"
    found = [f for f in (capture or {}).get("findings") or [] if isinstance(f, Mapping)
             and "consent" in str(f.get("code", "")).lower() and f.get("severity") == "error"]
    if found:
        return CheckItem("consent", title, "fail", str(found[0].get("message", "")))
    consent = (capture or {}).get("consent")
    if not isinstance(consent, Mapping) or not consent.get("exposed"):
        return CheckItem("consent", title, "unknown", "The page exposes no consent state to check (no consent "
                         "banner or ttq.holdConsent seen).")
    state = str(consent.get("state") or "")
    sent = int(consent.get("hits_while_denied") or 0)
    if sent:
        return CheckItem("consent", title, "fail", f"{sent} Pixel hit(s) left while consent was {state or 'denied'}.")
    return CheckItem("consent", title, "pass", f"Consent {state or 'exposed'}: no Pixel hit left before it "
                     f"allowed ({len(hits)} hit(s) seen).")


def checklist(pixel_hits: Sequence[Mapping[str, Any]], server_bodies: Sequence[Mapping[str, Any]],
              pairs: Sequence[LivePair], capture: Mapping[str, Any] | None = None) -> list[CheckItem]:
    """TikTok's Test Events advice as eight items, each pass / fail / unknown with its evidence.

    TikTok (contract §8, §9): ttclid on the landing URL and kept to checkout; _ttp set; browse events carry
    event_ids; the Purchase on both legs with the same name and event_id; a strong key plus ip and
    user_agent on the server event; value and currency agree; no raw PII from the browser; consent honoured.
    """
    server, _ = _server_frame(server_bodies)
    return [check_ttclid(pixel_hits, capture), check_ttp(pixel_hits, server, capture),
            check_browse_ids(pixel_hits), check_purchase(pairs), check_server_keys(server),
            check_value_currency(pairs), check_pii(pixel_hits, capture), check_consent(pixel_hits, capture)]


def build_view(session_id: str, pixel_hits: Iterable[Mapping[str, Any]], server_bodies: Iterable[Mapping[str, Any]],
               *, now: float | None = None, capture: Mapping[str, Any] | None = None,
               exchanges: Iterable[Mapping[str, Any]] = ()) -> LiveView:
    """The session at `now` (default: the clock): its pairs and checklist over the given legs."""
    hits = [dict(h) for h in pixel_hits]
    bodies = [dict(b) for b in server_bodies]
    at = time.time() if now is None else float(now)
    pairs = pair_events(hits, bodies, now=at)
    cap = dict(capture) if capture is not None else None
    return LiveView(session_id=session_id, now=at, pixel_hits=hits, server_bodies=bodies, pairs=pairs,
                    checklist=checklist(hits, bodies, pairs, cap), capture=cap,
                    exchanges=[dict(e) for e in exchanges])


def view_from_store(store: Store, session_id: str, *, now: float | None = None,
                    capture: Mapping[str, Any] | None = None) -> LiveView:
    """The session as the store holds it: Pixel hits from any source, the console's sends and what the relay
    recorded, and every exchange (console, relay, capture) for the export."""
    hits = store.pixel_hits(session_id)
    bodies = store.server_events(session_id)
    exchanges = store.exchanges(session_id)
    view = build_view(session_id, hits, bodies, now=now, capture=capture,
                      exchanges=[{**ex.to_dict(), "source": ex.source} for ex in exchanges])
    return replace(view, last_hit_id=max((int(h["id"]) for h in hits), default=0),
                   last_exchange_id=max((ex.id or 0 for ex in exchanges), default=0))


def advance(view: LiveView, now: float) -> LiveView:
    """The same session at a later `now` without reading anything again: only waiting pairs change (their
    merge window runs out); the checklist is rebuilt only when a status changed."""
    pairs: list[LivePair] = []
    changed = False
    for p in view.pairs:
        if p.status != "waiting":
            pairs.append(p)
            continue
        pixel_side = p.pixel_time is not None
        status, left = _live_status("pixel only" if pixel_side else "server only", p.pixel_time, p.server_time, now)
        changed |= status != p.status
        pairs.append(replace(p, status=status, seconds_left=left, reason=_reason(status, "", left, pixel_side)))
    items = checklist(view.pixel_hits, view.server_bodies, pairs, view.capture) if changed else view.checklist
    return replace(view, now=now, pairs=pairs, checklist=items)


def refresh_view(store: Store, session_id: str, previous: LiveView | None, *, now: float | None = None,
                 capture: Mapping[str, Any] | None = None) -> LiveView:
    """The session now, re-read only when something arrived since `previous` (a Pixel hit or an exchange with
    a larger id, another session or capture); otherwise `previous` advanced to `now` (cheap: a live panel
    polling every few seconds stays responsive)."""
    at = time.time() if now is None else float(now)
    cap = dict(capture) if capture is not None else None
    if (previous is None or previous.session_id != session_id or previous.capture != cap
            or store.pixel_hits(session_id, since_id=previous.last_hit_id)
            or store.exchanges(session_id, since_id=previous.last_exchange_id)):
        return view_from_store(store, session_id, now=at, capture=cap)
    return advance(previous, at)


# --- the timeline ---------------------------------------------------------------------------------------
def arrivals(view: LiveView) -> pd.DataFrame:
    """One row per arrival: leg (Pixel / server), when it arrived (Unix s), event, event_id, status.

    A Pixel hit arrives at `captured_at` (else its own timestamp); a relayed server event at the relay's
    `received_at` (else its event_time): the timeline shows the session as it happened.
    """
    status = {(p.event, p.event_id, p.pixel_code): p.status for p in view.pairs}
    rows: list[dict[str, Any]] = []
    for hit in view.pixel_hits:
        cap = _num(hit.get("captured_at"))
        t = cap / 1000 if cap is not None else _num(hit.get("timestamp"))
        key = (str(hit.get("event") or ""), str(hit.get("event_id") or ""), str(hit.get("pixel_code") or ""))
        rows.append({"leg": "Pixel", "at": t, "event": key[0], "event_id": key[1], "status": status.get(key, "")})
    server, _ = _server_frame(view.server_bodies)
    received = [_num(b.get("received_at")) for b in view.server_bodies for _ in _events_of(b)]
    for i, row in enumerate(server.to_dict(orient="records")):
        t = received[i] if i < len(received) and received[i] is not None else _num(row.get("event_time"))
        key = (str(row.get("event") or ""), str(row.get("event_id") or ""), str(row.get("pixel_code") or ""))
        rows.append({"leg": "server", "at": t, "event": key[0], "event_id": key[1], "status": status.get(key, "")})
    return pd.DataFrame(rows, columns=["leg", "at", "event", "event_id", "status"])


def _events_of(body: Mapping[str, Any]) -> list[Any]:
    from core.sources.server import iter_events

    return [e for _, e in iter_events({k: v for k, v in body.items() if k not in _RELAY_FIELDS})]


STATUS_COLORS: Final = {"waiting": "#fdae61", "merged": "#1a9850", "deduplicated": "#66bd63",
                        "outside window": "#d73027", "pixel only so far": "#f46d43",
                        "server only so far": "#f46d43", "": "#999999"}


def timeline_figure(view: LiveView) -> go.Figure:
    """A plotly timeline: Pixel and server arrivals on two lanes, coloured by their pair's status."""
    frame = arrivals(view).dropna(subset=["at"])
    fig = go.Figure()
    for status, part in frame.groupby("status", sort=False):
        fig.add_trace(go.Scatter(
            x=pd.to_datetime(part["at"], unit="s", utc=True), y=part["leg"], mode="markers", name=str(status) or "—",
            marker={"size": 12, "color": STATUS_COLORS.get(str(status), "#999999")},
            text=part["event"] + " · " + part["event_id"].where(part["event_id"] != "", "(no event_id)"),
            hovertemplate="%{text}<br>%{x}<extra>%{y}</extra>"))
    fig.update_layout(height=240, margin={"l": 10, "r": 10, "t": 30, "b": 10},
                      yaxis={"categoryorder": "array", "categoryarray": ["server", "Pixel"]},
                      legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0})
    return fig


# --- export and re-open -----------------------------------------------------------------------------------
def _iso(seconds: float | None) -> str:
    stamp = datetime.fromtimestamp(seconds or 0.0, tz=UTC).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")


def _wire_body(hit: Mapping[str, Any]) -> dict[str, Any]:
    """A Pixel hit row back as the Pixel's wire body (contract §6.3), so the HAR importer reads the same row."""
    try:
        props = json.loads(str(hit.get("properties") or "{}"))
    except ValueError:
        props = {}
    user = {k: hit.get(c) for k, c in (("email", "email"), ("phone_number", "phone"), ("external_id", "external_id"),
                                       ("ttp", "ttp"), ("ttclid", "ttclid")) if hit.get(c)}
    return {"event": hit.get("event", ""), "event_id": hit.get("event_id", ""),
            "message_id": hit.get("message_id", ""), "timestamp": _iso(_num(hit.get("timestamp"))),
            "context": {"pixel": {"code": hit.get("pixel_code", "")},
                        "page": {"url": hit.get("page_url") or hit.get("url") or "",
                                 "referrer": hit.get("referrer") or ""},
                        "user": user, "userAgent": hit.get("user_agent") or ""},
            "properties": props if isinstance(props, dict) else {}}


def pixel_har(hits: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The Pixel hits as a HAR 1.2 log (one POST per hit) that the Compare page and `pixels` import."""
    entries = []
    for hit in hits:
        endpoint = str(hit.get("endpoint") or "")
        url = endpoint if endpoint.startswith("http") else _PIXEL_ENDPOINT
        cap = _num(hit.get("captured_at"))
        entries.append({
            "startedDateTime": _iso(cap / 1000 if cap is not None else _num(hit.get("timestamp"))), "time": 0,
            "request": {"method": "POST", "url": url, "httpVersion": "HTTP/1.1", "headers": [], "queryString": [],
                        "cookies": [], "headersSize": -1, "bodySize": -1,
                        "postData": {"mimeType": "text/plain;charset=UTF-8", "text": json.dumps(_wire_body(hit))}},
            "response": {"status": int(_num(hit.get("http_status")) or 200), "statusText": "",
                         "httpVersion": "HTTP/1.1", "headers": [], "cookies": [],
                         "content": {"size": 0, "mimeType": "application/json"},
                         "redirectURL": "", "headersSize": -1, "bodySize": -1},
            "cache": {}, "timings": {"send": 0, "wait": 0, "receive": 0}})
    return {"log": {"version": "1.2", "creator": {"name": "tiktok-events-console", "version": "1"},
                    "entries": entries}}


def export_session(view: LiveView) -> bytes:
    """The session as one JSON file: Pixel hits (and as a HAR), server bodies and exchanges, the pairs'
    verdicts and the checklist. Holds what the store holds: no token, no raw email or phone."""
    doc = {
        "format": EXPORT_FORMAT, "version": EXPORT_VERSION, "session_id": view.session_id, "now": view.now,
        "exported_at": time.time(), "pixel_hits": view.pixel_hits, "har": pixel_har(view.pixel_hits),
        "server_bodies": view.server_bodies, "exchanges": view.exchanges, "capture": view.capture,
        "pairs": [p.as_row() for p in view.pairs], "checklist": [c.as_dict() for c in view.checklist],
    }
    return json.dumps(doc, indent=1, ensure_ascii=False, default=str).encode("utf-8")


def open_session_export(data: bytes, name: str = "The file") -> LiveView:
    """Re-open an `export_session` file: the session as it was at export time (pairs recomputed at its `now`).

    Raises InvalidFile naming what is wrong: not JSON, not a live session export, a newer version, or a
    part missing.
    """
    hint = "Choose a file saved with “Download the session” on the Live session page."
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidFile(f"{name} is not JSON ({exc}).", hint=hint) from None
    if not isinstance(doc, dict) or doc.get("format") != EXPORT_FORMAT:
        raise InvalidFile(f"{name} is JSON but not a live session export (no \"format\": \"{EXPORT_FORMAT}\").",
                          hint=hint)
    if not isinstance(doc.get("version"), int) or doc["version"] > EXPORT_VERSION:
        raise InvalidFile(f"{name} is a live session export of version {doc.get('version')!r}; this console "
                          f"reads version {EXPORT_VERSION}.", hint="Update the console, or export it again here.")
    parts = {"pixel_hits": list, "server_bodies": list, "exchanges": list, "session_id": str}
    for part, kind in parts.items():
        if not isinstance(doc.get(part), kind) or (kind is list and not all(isinstance(x, dict) for x in doc[part])):
            raise InvalidFile(f"{name} has no valid \"{part}\" ({kind.__name__} expected).", hint=hint, path=part)
    capture = doc.get("capture") if isinstance(doc.get("capture"), dict) else None
    return build_view(doc["session_id"], doc["pixel_hits"], doc["server_bodies"], now=_num(doc.get("now")),
                      capture=capture, exchanges=doc["exchanges"])


# --- pointing a backend at the relay -------------------------------------------------------------------
TRACK_PATH: Final = "/open_api/v1.3/event/track/"


def backend_snippets(relay_url: str) -> dict[str, tuple[str, str]]:
    """Copy-paste instructions per backend: {name: (code language, text)} that send through `relay_url`.

    The backend keeps its own Access-Token: the relay forwards the request byte for byte and hands TikTok's
    answer back, so only the base URL changes (https://business-api.tiktok.com -> the relay).
    """
    url = relay_url.rstrip("/") + TRACK_PATH
    # Text for the user's backend, never run here: the split literals keep the one-reader-of-the-environment
    # check (tests/test_architecture.py) about code that reads it.
    return {
        "curl": ("bash", f'curl -X POST "{url}" \\\n  -H "Access-Token: $TIKTOK_ACCESS_TOKEN" \\\n'
                         '  -H "Content-Type: application/json" \\\n  --data @body.json'),
        "Node (fetch)": ("javascript", f'const res = await fetch("{url}", {{\n  method: "POST",\n'
                         '  headers: {"Access-Token": process.env.TIKTOK_ACCESS_TOKEN, '
                         '"Content-Type": "application/json"},\n  body: JSON.stringify(body),\n});\n'
                         "console.log(await res.json());"),
        "Python (requests)": ("python", f'import os, requests\n\nres = requests.post(\n    "{url}",\n'
                              '    headers={"Access-Token": os.' 'environ["TIKTOK_ACCESS_TOKEN"]},\n'
                              "    json=body, timeout=10,\n)\nprint(res.json())"),
        "PHP / Shopify app": ("php", f"// Apps and plugins: set the Events API base URL setting to {relay_url}\n"
                              "// (instead of https://business-api.tiktok.com). Plain PHP:\n"
                              f'$ch = curl_init("{url}");\n'
                              "curl_setopt_array($ch, [CURLOPT_POST => true, CURLOPT_RETURNTRANSFER => true,\n"
                              '  CURLOPT_HTTPHEADER => ["Access-Token: " . getenv' '("TIKTOK_ACCESS_TOKEN"),\n'
                              '                        "Content-Type: application/json"],\n'
                              "  CURLOPT_POSTFIELDS => json_encode($body)]);\necho curl_exec($ch);"),
    }
