"""The review built on EMQ-proxy scores: tables by event type, recommendations, what-if and outputs.

core.quality scores every event (the model: weights, validity rules, per-event points); this module turns
those scores into what the Match quality page and `tiktok-events quality` show:

- `build_review`: per-event-type means, valid and present coverage per key, invalid values by reason, the
  score distribution, and recommendations ranked by what they add to the whole account's mean.
- `what_if`: the projected mean when each key reaches a target coverage, exact under the additive model.
- outputs: the CLI JSON document, the per-event CSV, the weights and recommendation tables.
- the Pixel's own per-signal verdicts (`signal_diagnostic_labels`) counted and set beside ours.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd

from core.errors import InvalidInput
from core.quality import (
    ALL_KEYS,
    KEY_LABELS,
    KEYS,
    LABEL,
    MINOR_KEYS,
    WEIGHT,
    WEIGHTS,
    QualityResult,
    fix_text,
    reason_text,
    score_frame,
)
from core.sources.values import text_column

ALL_EVENTS: Final = "All events"


# Coverage a well-instrumented site reaches per key: the default targets of recommendations. These are
# the console's assumptions (TikTok publishes none); the page's what-if sliders override them.
DEFAULT_TARGETS: Final[dict[str, float]] = {
    "email": 0.8,        # checkout and sign-up events collect it; browse events only for logged-in users
    "phone": 0.6,        # optional at many checkouts
    "external_id": 0.8,  # any logged-in or identified visitor has one
    "ttclid": 0.3,       # bounded by the share of visits from TikTok ads; capture + persist it (30 days)
    "ttp": 0.9,          # every browser the Pixel ran in has the cookie unless blocked
    "ip": 0.95,          # always on the server's request; forward the visitor's, not the proxy's
    "user_agent": 0.95,  # always on the request
}


# --- the review -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Recommendation:
    """One ranked suggestion: bring `key`'s valid coverage on `event` events from `current` to `target`."""

    event: str
    key: str
    action: str           # "fix" (already sent, but invalid) or "add" (collect and send it)
    events: int
    current: float        # share of events with the key valid
    present: float        # share of events carrying the key at all (valid or not)
    target: float
    gain: float           # rise of the mean EMQ proxy of `event` events (exact under the additive model)
    impact: float         # rise of the mean over ALL events (gain weighted by this scope's share)
    projected_mean: float
    top_reason: str       # most common invalid reason code, "" when none
    message: str


@dataclass
class Review:
    """Everything the Match quality page and the CLI show; frames are ready to render."""

    per_event: pd.DataFrame
    summary: dict[str, Any]
    by_event_type: pd.DataFrame
    coverage: pd.DataFrame
    invalid_reasons: pd.DataFrame
    recommendations: list[Recommendation] = field(default_factory=list)
    # when per_event holds only the first page of a large input (core.engine.quality): every event's rows,
    # in file order, as per_event frames one chunk at a time
    all_rows: Callable[[], Iterator[pd.DataFrame]] | None = None
    worst: pd.DataFrame | None = None  # the lowest-scoring events of the whole input, when per_event is a page

    def worst_events(self, limit: int = 500) -> pd.DataFrame:
        """The `limit` lowest-scoring events (ties in input order), as per_event rows."""
        if self.worst is not None:
            return self.worst.head(limit)
        return self.per_event.sort_values("score", kind="stable").head(limit)


def _coverage_table(per_event: pd.DataFrame, column: str) -> pd.DataFrame:
    """Share of events per event type (and overall) where `KEY_<column>` is true, one column per key."""
    cols = [f"{k}_{column}" for k in ALL_KEYS]
    grouped = per_event.groupby("event", observed=True, sort=False)[cols].mean()
    overall = per_event[cols].mean().to_frame().T if len(per_event) else pd.DataFrame(0.0, [0], cols)
    overall.index = pd.Index([ALL_EVENTS])
    table = pd.concat([overall, grouped])
    table.columns = list(ALL_KEYS)
    return table


def build_review(result: QualityResult, targets: Mapping[str, float] | None = None) -> Review:
    """The review of scored events: tables by event type, coverage, invalid reasons, summary, advice.

    `by_event_type` has event, events, mean_score, median_score, share_7_plus (first row "All events");
    `coverage` the valid share per key and event type; `invalid_reasons` the present-but-invalid values
    by key and reason with the points they lose; `recommendations` are ranked by gain towards `targets`
    (default DEFAULT_TARGETS); `summary` is the plain-data digest the CLI prints as JSON.
    """
    per_event = result.per_event
    n = len(per_event)
    counts = per_event.groupby("event", observed=True, sort=False).size()
    scores = per_event.groupby("event", observed=True, sort=False)["score"]
    cov = _coverage_table(per_event, "valid")
    pres = _coverage_table(per_event, "present")
    order = [ALL_EVENTS, *counts.sort_values(ascending=False, kind="stable").index.astype(str)]
    by_type = pd.DataFrame({
        "event": order,
        "events": [n, *counts.reindex(order[1:]).tolist()],
        "mean_score": [float(per_event["score"].mean()) if n else 0.0,
                       *scores.mean().reindex(order[1:]).tolist()],
        "median_score": [float(per_event["score"].median()) if n else 0.0,
                         *scores.median().reindex(order[1:]).tolist()],
        "share_7_plus": [float((per_event["score"] >= 7).mean()) if n else 0.0,
                         *(scores.apply(lambda s: float((s >= 7).mean())).reindex(order[1:]).tolist())],
    })
    coverage = cov.reindex(order).reset_index(names="event")
    coverage.insert(1, "events", by_type["events"].to_numpy())
    presence = pres.reindex(order).reset_index(names="event")
    presence.insert(1, "events", by_type["events"].to_numpy())

    # invalid values by key and reason (present but not valid)
    reason_counts = [(key, str(code), int(count), int(per_event[f"{key}_present"].sum()))
                     for key in ALL_KEYS for code, count in per_event[f"{key}_reason"].value_counts(sort=False).items()]
    # 1-point bands 0-1 ... 9-10 (10 falls in the last band), per event type and overall, in one bincount
    band = np.minimum(np.floor(per_event["score"].to_numpy()), 9).astype(np.int64)
    type_codes = per_event["event"].cat.codes.to_numpy(dtype=np.int64)
    n_types = len(per_event["event"].cat.categories)
    per_type = np.bincount(type_codes * 10 + band, minlength=n_types * 10).reshape(n_types, 10)
    names = [str(c) for c in per_event["event"].cat.categories]
    bands = {ALL_EVENTS: per_type.sum(axis=0), **dict(zip(names, per_type, strict=True))}
    return assemble_review(per_event, by_type, coverage, presence, reason_counts, top_reasons(per_event), bands,
                           targets)


def assemble_review(per_event: pd.DataFrame, by_type: pd.DataFrame, coverage: pd.DataFrame, presence: pd.DataFrame,
                    reason_counts: list[tuple[str, str, int, int]], top_reason: Mapping[tuple[str, str], str],
                    bands: Mapping[str, Any], targets: Mapping[str, float] | None = None) -> Review:
    """The Review from its aggregates, whichever engine counted them (build_review here, core.engine.quality
    in SQL): `by_type`, `coverage` and `presence` as build_review lays them out, `reason_counts` as (key,
    reason, events, events carrying the key) in ALL_KEYS x REASON_CODES order, `top_reason` per (event type,
    key), `bands` the score distribution per event type (ten counts). `per_event` is kept as given."""
    n = int(by_type["events"].iloc[0])
    rows = []
    for key, code, count, present in reason_counts:
        if code in ("", "missing") or count == 0:
            continue
        rows.append({"key": key, "reason": code, "events": count,
                     "share_of_present": count / present if present else 0.0,
                     "points_lost": float(count * WEIGHT.get(key, 0.0)),
                     "message": reason_text(key, code)})
    invalid = pd.DataFrame(rows, columns=["key", "reason", "events", "share_of_present", "points_lost",
                                          "message"])
    invalid = invalid.sort_values(["points_lost", "events"], ascending=False, kind="stable",
                                  ignore_index=True)
    recs = _recommend(by_type, coverage, presence, top_reason, dict(targets or DEFAULT_TARGETS))

    def distribution(event: str) -> list[dict[str, Any]]:
        counts = bands.get(event, np.zeros(10, dtype=np.int64))
        return [{"from": float(b), "to": float(b + 1), "events": int(c)} for b, c in enumerate(counts)]

    summary: dict[str, Any] = {
        "label": LABEL,
        "events": n,
        "mean_score": float(by_type["mean_score"].iloc[0]),
        "median_score": float(by_type["median_score"].iloc[0]),
        "coverage": {k: float(coverage[k].iloc[0]) for k in KEYS},
        "presence": {k: float(presence[k].iloc[0]) for k in KEYS},
        "minor_coverage": {k: float(coverage[k].iloc[0]) for k in MINOR_KEYS},
        "invalid": {k: {r["reason"]: r["events"] for r in rows if r["key"] == k} for k in ALL_KEYS},
        "distribution": distribution(ALL_EVENTS),
        "by_event_type": [
            {"event": r.event, "events": int(r.events), "mean_score": float(r.mean_score),
             "coverage": {k: float(coverage.loc[i, k]) for k in KEYS}, "distribution": distribution(r.event)}
            for i, r in enumerate(by_type.itertuples(index=False))
        ],
        "weights": {w.key: w.points for w in WEIGHTS},
        "recommendations": [asdict(r) for r in recs[:10]],
        "note": "EMQ proxy: the console's additive estimate from key coverage and validity; TikTok does "
                "not publish EMQ's weights or scale, so this is not TikTok's EMQ score.",
    }
    return Review(per_event, summary, by_type, coverage, invalid, recs)


def top_reasons(per_event: pd.DataFrame) -> dict[tuple[str, str], str]:
    """The most common invalid reason per (event type or "All events", key) among events that carry the key."""
    top_reason: dict[tuple[str, str], str] = {}
    for key in KEYS:
        reasons = per_event[f"{key}_reason"]
        bad = reasons[per_event[f"{key}_present"].to_numpy() & ~per_event[f"{key}_valid"].to_numpy()]
        if len(bad):
            top_reason[(ALL_EVENTS, key)] = str(bad.value_counts().index[0])
            by_event = pd.crosstab(per_event.loc[bad.index, "event"], bad.astype(str))
            for event, row in by_event.iterrows():
                top_reason[(str(event), key)] = str(row.idxmax())
    return top_reason


def _recommend(by_type: pd.DataFrame, coverage: pd.DataFrame, presence: pd.DataFrame,
               top_reason: Mapping[tuple[str, str], str], targets: Mapping[str, float]) -> list[Recommendation]:
    """Per scope and key: raise valid coverage to max(target, share already sent); rank by gain."""
    recs = []
    total = max(int(by_type["events"].iloc[0]), 1)
    for i, scope in enumerate(by_type["event"]):
        events, mean = int(by_type["events"].iloc[i]), float(by_type["mean_score"].iloc[i])
        for key in KEYS:
            cur, pre = float(coverage[key].iloc[i]), float(presence[key].iloc[i])
            target = max(float(targets.get(key, DEFAULT_TARGETS[key])), pre)
            gain = (target - cur) * WEIGHT[key]
            if gain <= 1e-9 or events == 0:
                continue
            action = "fix" if pre - cur >= target - pre else "add"
            reason = top_reason.get((scope, key), "")
            where = "events" if scope == ALL_EVENTS else f"{scope} events"
            msg = (f"{KEY_LABELS[key]} is valid on {cur:.0%} of {where}; bringing it to {target:.0%} raises "
                   f"the mean {LABEL} by {gain:.2f} (to {mean + gain:.2f}).")
            if reason:
                msg += f" {pre - cur:.0%} of them already carry it, invalid: {reason_text(key, reason)}"
            else:
                msg += " " + fix_text(key, "missing")
            recs.append(Recommendation(scope, key, action, events, cur, pre, target, gain,
                                       gain * events / total, mean + gain, reason, msg))
    # rank by what it does to the whole account's mean, so a rare event type cannot top the list
    recs.sort(key=lambda r: (-r.impact, r.event != ALL_EVENTS, -r.gain, KEYS.index(r.key)))
    return recs

# --- what-if ----------------------------------------------------------------------------------------
def what_if(result: Review, targets: Mapping[str, float], event_type: str | None = None,
            *, raise_only: bool = True) -> pd.DataFrame:
    """Projected mean EMQ proxy per event type when each key's valid coverage becomes its target share.

    Exact under the additive model: projected = mean + Σ_k (target_k - coverage_k) * weight_k, per event
    type. With `raise_only` a target below an event type's current coverage leaves that type's key alone
    (sliders say "at least"). Keys not in `targets` keep their coverage. Returns columns event, events,
    current_mean, projected_mean, change; the first row is "All events" (event-count weighted).
    Raises InvalidInput for unknown keys, shares outside 0..1, or an unknown event_type.
    """
    for key, share in targets.items():
        if key not in KEYS:
            raise InvalidInput(f"Unknown match key {key!r} in the what-if targets.",
                               hint=f"Use one of: {', '.join(KEYS)}.")
        if not 0.0 <= float(share) <= 1.0:
            raise InvalidInput(f"Target coverage for {key} is {share}; it must be a share from 0 to 1.")
    cov = result.coverage.iloc[1:] if len(result.coverage) > 1 else result.coverage.iloc[:0]
    by = result.by_event_type.iloc[1:]
    if event_type is not None and event_type != ALL_EVENTS and event_type not in set(cov["event"]):
        raise InvalidInput(f"No {event_type!r} events in this input.",
                           hint="Pick one of the event types listed in the review.")
    change = np.zeros(len(cov))
    for key, share in targets.items():
        current = cov[key].to_numpy(dtype=float)
        new = np.maximum(current, float(share)) if raise_only else np.full(len(current), float(share))
        change += (new - current) * WEIGHT[key]
    current_mean = by["mean_score"].to_numpy(dtype=float)
    out = pd.DataFrame({"event": cov["event"].to_numpy(), "events": by["events"].to_numpy(),
                        "current_mean": current_mean, "projected_mean": current_mean + change,
                        "change": change})
    total = out["events"].sum()
    overall = pd.DataFrame([{
        "event": ALL_EVENTS, "events": int(total),
        "current_mean": float((out["current_mean"] * out["events"]).sum() / total) if total else 0.0,
        "projected_mean": float((out["projected_mean"] * out["events"]).sum() / total) if total else 0.0,
    }])
    overall["change"] = overall["projected_mean"] - overall["current_mean"]
    out = pd.concat([overall, out], ignore_index=True)
    if event_type is not None:
        out = out[out["event"] == event_type].reset_index(drop=True)
    return out


# --- outputs ----------------------------------------------------------------------------------------
def to_cli_json(result: Review) -> dict[str, Any]:
    """The `tiktok-events quality --format json` document: every event with all seven keys, and summary.

    Shape: {"events": [{"index", "event", "score", "next_key", "keys": {KEY: {"present", "valid",
    "points", "reason"}}}], "summary": {...}}; reason is None when valid, "missing" when absent.
    A review whose per_event is a page (`all_rows` set) lists every event from `all_rows`.
    """
    frames = result.all_rows() if result.all_rows is not None else [result.per_event]
    return {"events": [e for frame in frames for e in cli_events(frame)], "summary": result.summary}


def cli_events(pe: pd.DataFrame) -> list[dict[str, Any]]:
    """The `events` items of to_cli_json for per-event rows `pe` (a whole per_event frame or a chunk of it)."""
    cols: dict[str, list[Any]] = {"index": pe["index"].tolist(), "event": pe["event"].astype(str).tolist(),
                                  "score": pe["score"].tolist(), "next": pe["next_key"].astype(str).tolist()}
    for key in KEYS:
        cols[f"{key}_present"] = pe[f"{key}_present"].tolist()
        cols[f"{key}_valid"] = pe[f"{key}_valid"].tolist()
        cols[f"{key}_points"] = pe[f"{key}_points"].tolist()
        cols[f"{key}_reason"] = pe[f"{key}_reason"].astype(str).tolist()
    events = []
    for i in range(len(pe)):
        keys = {key: {"present": cols[f"{key}_present"][i], "valid": cols[f"{key}_valid"][i],
                      "points": cols[f"{key}_points"][i], "reason": cols[f"{key}_reason"][i] or None}
                for key in KEYS}
        events.append({"index": cols["index"][i], "event": cols["event"][i], "score": cols["score"][i],
                       "next_key": cols["next"][i] or None, "keys": keys})
    return events


def result_csv(result: QualityResult | Review) -> bytes:
    """Per-event CSV (UTF-8, header row): index, event, score, next key, then per key present, valid,
    points and reason code; event names that read as spreadsheet formulas are neutralized (core.export).
    Every event: a review whose per_event is a page (`all_rows` set) is written chunk by chunk."""
    from core.export import csv_bytes

    if not isinstance(result, Review) or result.all_rows is None:
        return csv_bytes(result.per_event)
    parts = [csv_bytes(frame) for frame in result.all_rows()]
    return parts[0] + b"".join(p.split(b"\n", 1)[1] for p in parts[1:]) if parts else csv_bytes(result.per_event)


def weights_frame() -> pd.DataFrame:
    """The WEIGHTS table as a frame (key, points, tier, why) for display."""
    return pd.DataFrame([asdict(w) for w in WEIGHTS])


def recommendations_frame(result: Review, event: str = ALL_EVENTS, limit: int = 7) -> pd.DataFrame:
    """The top `limit` recommendations for one scope ("All events" or an event type), ranked by gain.

    Columns: gain (rise of that scope's mean EMQ proxy), action (fix | add), key, current (valid share),
    target, advice (the sentence with the fix).
    """
    recs = sorted((r for r in result.recommendations if r.event == event), key=lambda r: -r.gain)[:limit]
    return pd.DataFrame([{"gain": r.gain, "action": r.action, "key": r.key, "current": r.current,
                          "target": r.target, "advice": r.message} for r in recs],
                        columns=["gain", "action", "key", "current", "target", "advice"])


# --- the Pixel's own verdicts ------------------------------------------------------------------------
_SIGNAL_KEY = {"email": "email", "phone": "phone", "phone_number": "phone", "external_id": "external_id",
               "ttclid": "ttclid", "ttp": "ttp", "ip": "ip", "user_agent": "user_agent",
               "first_name": "first_name", "last_name": "last_name", "zip_code": "zip_code", "zip": "zip_code"}


def signal_key(signal: str) -> str:
    """Our key for a Pixel signal name ("raw_email", "hashed_phone", "raw_auto_email" -> email/phone);
    "" when the signal is not one of our keys."""
    name = signal.lower()
    for prefix in ("raw_auto_", "hashed_auto_", "auto_", "raw_", "hashed_", "sha256_"):
        if name.startswith(prefix):
            name = name[len(prefix):]
            break
    return _SIGNAL_KEY.get(name, "")


def pixel_labels_frame(pixel_df: pd.DataFrame) -> pd.DataFrame:
    """Count the Pixel's own per-signal verdicts (`signal_diagnostic_labels`, contract §6.3).

    Returns one row per (signal, label): signal, key (ours, "" if none), label (valid / invalid /
    missing / ...), events, share (of the rows that carry labels), abnormal_types (most frequent first,
    comma-separated). Each distinct JSON text is parsed once; unparseable texts are counted as
    label "unreadable" under signal "(labels)". Empty when no row carries labels.
    """
    cols = ["signal", "key", "label", "events", "share", "abnormal_types"]
    if "signal_diagnostic_labels" not in pixel_df.columns or pixel_df.empty:
        return pd.DataFrame(columns=cols)
    texts = text_column(pixel_df["signal_diagnostic_labels"], len(pixel_df)).str.strip()
    texts = texts[texts != ""]
    if texts.empty:
        return pd.DataFrame(columns=cols)
    counts: dict[tuple[str, str], int] = {}
    abnormal: dict[tuple[str, str], dict[str, int]] = {}
    for text, mult in texts.value_counts().items():
        try:
            labels = json.loads(str(text))
        except json.JSONDecodeError:
            labels = None
        if not isinstance(labels, dict):
            counts[("(labels)", "unreadable")] = counts.get(("(labels)", "unreadable"), 0) + int(mult)
            continue
        for signal, verdict in labels.items():
            label = str(verdict.get("label", "")) if isinstance(verdict, dict) else str(verdict)
            k = (str(signal), label or "(none)")
            counts[k] = counts.get(k, 0) + int(mult)
            types = verdict.get("abnormal_types") if isinstance(verdict, dict) else None
            for t in types if isinstance(types, list) else []:
                abnormal.setdefault(k, {})[str(t)] = abnormal.setdefault(k, {}).get(str(t), 0) + int(mult)
    total = len(texts)
    rows = [{"signal": s, "key": signal_key(s), "label": lab, "events": c, "share": c / total,
             "abnormal_types": ", ".join(sorted(abnormal.get((s, lab), {}),
                                                key=lambda t: -abnormal[(s, lab)][t]))}
            for (s, lab), c in counts.items()]
    return pd.DataFrame(rows, columns=cols).sort_values(["signal", "events"], ascending=[True, False],
                                                        ignore_index=True)


def compare_verdicts(pixel_df: pd.DataFrame) -> pd.DataFrame:
    """Ours next to TikTok's, per key, over Pixel rows that carry `signal_diagnostic_labels`.

    Columns: key, ours_valid (share our rules call valid), tiktok_valid / tiktok_invalid /
    tiktok_missing (share of those rows where any of the key's signals got that label; a row counts
    as valid when at least one signal of the key is valid). Empty when no row carries labels.
    """
    cols = ["key", "ours_valid", "tiktok_valid", "tiktok_invalid", "tiktok_missing"]
    if "signal_diagnostic_labels" not in pixel_df.columns:
        return pd.DataFrame(columns=cols)
    texts = text_column(pixel_df["signal_diagnostic_labels"], len(pixel_df)).str.strip()
    mask = (texts != "").to_numpy()
    if not mask.any():
        return pd.DataFrame(columns=cols)
    rows_df = pixel_df.loc[mask].reset_index(drop=True)
    ours = score_frame(rows_df).per_event
    parsed: dict[str, dict[str, str]] = {}
    for text in texts[mask].unique():
        verdict: dict[str, str] = {}
        try:
            labels = json.loads(str(text))
        except json.JSONDecodeError:
            labels = {}
        for signal, v in (labels.items() if isinstance(labels, dict) else []):
            key, label = signal_key(str(signal)), (v.get("label") if isinstance(v, dict) else v)
            if key and isinstance(label, str):
                # one valid signal is enough for the key; invalid beats missing
                rank = {"valid": 3, "invalid": 2, "missing": 1}
                if rank.get(label, 0) > rank.get(verdict.get(key, ""), 0):
                    verdict[key] = label
        parsed[str(text)] = verdict
    per_row = texts[mask].astype(str).map(parsed)
    out = []
    for key in ALL_KEYS:
        labels = per_row.map(lambda v, k=key: v.get(k, ""))
        if not (labels != "").any():
            continue
        out.append({"key": key, "ours_valid": float(ours[f"{key}_valid"].mean()),
                    "tiktok_valid": float((labels == "valid").mean()),
                    "tiktok_invalid": float((labels == "invalid").mean()),
                    "tiktok_missing": float((labels == "missing").mean())})
    return pd.DataFrame(out, columns=cols)
