"""The browser half of a sent server event, simulated: the Pixel hit a site would have fired for it.

Offline there is no site, so a server event sent from the console pairs with nothing and Compare calls it
"server only". The twin closes the loop: a Pixel wire body with the same Pixel code, event name and
event_id, fired a realistic moment *before* the server event (the browser fires on the thank-you page,
the backend posts afterwards), carrying the hashed identifiers a Pixel with advanced matching would
send. Every twin says it is simulated: `simulated: true` in the body, a library and partner named
"simulated", and the row's `source` reads "pixel (simulated)".

TikTok (contract §6.3, §8): the dedup key is Pixel code + event + event_id; a Pixel and a server event
within 5 minutes are merged.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

import pandas as pd

from core.sources.pixel_body import dict_or_empty, pixel_event_from_body, pixel_frame

SIMULATED_SOURCE: Final = "pixel (simulated)"
SIMULATED_LIBRARY: Final = {"name": "console-simulated-pixel", "version": "1.0"}
MIN_LEAD_S: Final = 0.3  # the Pixel fires this much before the server event, at least ...
MAX_LEAD_S: Final = 3.0  # ... and at most (a thank-you page loads, then the backend posts)
# server user field -> the Pixel's context.user key (ttq.identify's pre-hashed spellings, contract §6.1)
_USER_KEYS: Final = {"email": "sha256_email", "phone": "sha256_phone_number", "external_id": "external_id",
                     "ttp": "anonymous_id"}


def lead_seconds(event_id: str, event: str) -> float:
    """How long before the server event its Pixel twin fires: 0.3-3 s, the same for the same event every time."""
    digest = hashlib.sha256(f"{event}\x1f{event_id}".encode()).digest()
    share = int.from_bytes(digest[:4], "big") / 0xFFFFFFFF
    return round(MIN_LEAD_S + share * (MAX_LEAD_S - MIN_LEAD_S), 3)


def _first(value: object) -> object:
    if isinstance(value, list):
        return next((v for v in value if v not in (None, "")), None)
    return value


def is_twinnable(body: Mapping[str, Any], event: object) -> bool:
    """True for an event a browser Pixel could have fired: a web body with a Pixel code and a named event."""
    return (str(body.get("event_source") or "web") == "web" and bool(body.get("event_source_id"))
            and isinstance(event, Mapping) and isinstance(event.get("event"), str) and bool(event["event"])
            and isinstance(event.get("event_time"), int | float) and not isinstance(event.get("event_time"), bool))


def pixel_twin(body: Mapping[str, Any], event: Mapping[str, Any]) -> dict[str, Any]:
    """The Pixel wire body of one sent server event: same Pixel code, event and event_id, fired just before it.

    Contract: `is_twinnable(body, event)` holds. The body has the shape of a real Pixel hit (`event`,
    `event_id`, `message_id`, ISO `timestamp`, `context.pixel/page/user/ad/library`, `properties`) and
    `simulated: true`. Identifiers are copied as sent (hashed); IP is left out, as the Pixel's comes from
    the connection. TikTok: Pixel and server events with the same key within 5 minutes are merged.
    """
    pixel_code = str(body["event_source_id"])
    name = str(event["event"])
    event_id = "" if event.get("event_id") is None else str(event["event_id"])
    fired = float(event["event_time"]) - lead_seconds(event_id, name)
    ms = round(fired * 1000)
    user_in = dict_or_empty(event.get("user"))
    user = {pixel_key: str(v) for key, pixel_key in _USER_KEYS.items() if (v := _first(user_in.get(key)))}
    page = dict_or_empty(event.get("page"))
    ttclid = _first(user_in.get("ttclid"))
    return {
        "event": name,
        "event_id": event_id,
        "message_id": f"messageId-{ms}-{int(hashlib.sha256(event_id.encode()).hexdigest()[:12], 16) % 10**13:013d}"
                      f"-{pixel_code}",
        "timestamp": datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace(
            "+00:00", "Z"),
        "context": {
            "pixel": {"code": pixel_code},
            "page": {"url": str(page.get("url") or ""), "referrer": str(page.get("referrer") or "")},
            "user": user,
            "ad": {"callback": str(ttclid)} if ttclid else {},
            "library": dict(SIMULATED_LIBRARY),
            "userAgent": str(_first(user_in.get("user_agent")) or ""),
        },
        "properties": dict_or_empty(event.get("properties")),
        "partner": "simulated",
        "simulated": True,
    }


def pixel_twins(bodies: Iterable[Mapping[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    """Pixel twins of every twinnable event in `bodies`, and one note per event that has none (and why)."""
    twins: list[dict[str, Any]] = []
    notes: list[str] = []
    for body in bodies:
        data = body.get("data")
        for i, event in enumerate(data if isinstance(data, list) else []):
            if is_twinnable(body, event):
                twins.append(pixel_twin(body, event))
                if not event.get("event_id"):
                    notes.append(f"{event['event']} data[{i}] has no event_id: its Pixel twin has none either, "
                                 "so the two can never deduplicate.")
            else:
                what = event.get("event") if isinstance(event, Mapping) else None
                notes.append(f"{what or 'data[' + str(i) + ']'}: no browser twin (a Pixel fires only for web "
                             "events with a Pixel code, an event name and an event_time).")
    return twins, notes


def twin_frame(twins: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Pixel twins as Pixel rows (core.sources.pixel_body's columns), `source` "pixel (simulated)", one row per key."""
    rows = []
    for n, body in enumerate(twins):
        for row in pixel_event_from_body(dict(body), entry=n, url="simulated", endpoint="simulated"):
            row["source"] = SIMULATED_SOURCE
            rows.append(row)
    return _one_per_key(pixel_frame(rows))


def _one_per_key(frame: pd.DataFrame) -> pd.DataFrame:
    """The last row of each key; rows without event_id have no key and all stay."""
    keyed = frame["event_id"].ne("")
    last = ~frame.duplicated(["pixel_code", "event", "event_id"], keep="last")
    return frame[~keyed | last].reset_index(drop=True)


def add_twins(existing: pd.DataFrame | None, twins: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """`existing` simulated rows plus new twins; a key simulated again replaces its earlier twin."""
    new = twin_frame(twins)
    if existing is None or existing.empty:
        return new
    return _one_per_key(pd.concat([existing, new], ignore_index=True))


__all__ = ["MAX_LEAD_S", "MIN_LEAD_S", "SIMULATED_SOURCE", "add_twins", "is_twinnable", "lead_seconds",
           "pixel_twin", "pixel_twins", "twin_frame"]
