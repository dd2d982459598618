"""The base every lint check builds on: the finding sink, the per-event context and JSON value helpers.

core.lint.linter composes the area checks (event_checks, user_checks) into one linter; each area is a
mixin over `Checker`, so a check reports with `self.add(code, path, message, fix)` and the finding takes
its severity and default fix from `CATALOGUE` (core.lint.findings).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

from core.lint.findings import CATALOGUE, Finding


@dataclass
class EventContext:
    """What one event's checks need to know about the body around it."""

    source: str | None = None  # event_source when known and valid
    denied: str | None = None  # path of an ad_user_data DENIED that covers this event
    seen_ids: dict[tuple[str, str], str] = field(default_factory=dict)


class Checker:
    """Collects findings at a fixed clock: `now` (Unix seconds) is what future/too-old times compare with."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.out: list[Finding] = []

    def add(self, code: str, path: str, message: str, fix: str | None = None) -> None:
        """Record a finding for a catalogued `code`; `fix` defaults to the catalogue's fix."""
        doc = CATALOGUE[code]  # a KeyError here is a bug: every emitted code is catalogued
        self.out.append(Finding(doc.severity, code, path, message, fix or doc.fix))


# --- JSON value helpers --------------------------------------------------------------------------
def json_kind(value: object) -> str:
    """The JSON type name of a parsed value ("null", "boolean", "number", "string", "array", "object")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def json_excerpt(value: object, limit: int = 60) -> str:
    """`value` as compact JSON text, cut to `limit` characters with an ellipsis (for finding messages)."""
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (ValueError, TypeError, RecursionError):
        text = f"<{json_kind(value)}>"  # repr() of a huge int raises too
    return text if len(text) <= limit else text[: limit - 1] + "…"


def is_number(value: object) -> bool:
    """True for a finite JSON number (booleans are not numbers): the number reader's rule."""
    from core.sources.values import is_json_number

    return is_json_number(value)


def is_present(value: object) -> bool:
    """True when a value carries something: not None, not blank text, not a list of only such values."""
    if isinstance(value, list):
        return any(is_present(v) for v in value)
    return value is not None and value != "" and not (isinstance(value, str) and not value.strip())


def parse_iso_seconds(text: str) -> int | None:
    """ISO 8601 date-time text -> Unix seconds (UTC when no offset is given); None when unreadable.

    The event-time reader's ISO rule (core.sources.values); TikTok's 1.0 timestamp is UTC without an offset.
    """
    from core.sources.values import parse_iso_datetime, parse_time

    moment: datetime | None = parse_iso_datetime(text)
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    seconds = math.nan if moment is None else parse_time(moment)
    return None if math.isnan(seconds) else int(seconds)
