"""How orders link to events, in plain Python (no pandas): the link modes, the event_id template rule and how
a template is voted from the ids, and the words that say where a segment dimension's values came from.

core.gap links and segments the orders on frames; the analysis engine (core.engine) uses these rules on the
small results its queries return, so its command never loads pandas.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, Final, Literal

from core.contract import DEDUP_WINDOW_SECONDS, KNOWN_EVENTS
from core.errors import InvalidInput

LinkMode = Literal["auto", "order_id", "event_id_template"]
LINK_MODES: Final = ("auto", "order_id", "event_id_template")
DEFAULT_TEMPLATE: Final = "ord_{order_id}_purchase"
# the loose form of an event_id that finds near misses (ids that nearly link): without a common prefix or an
# event-name suffix (core.dedup's normalize_event_id; never used for counting)
LOOSE_PREFIX_RE: Final = r"^(?:order[_\-:#]?|ord[_\-:#]?|purchase[_\-:#]|txn[_\-:#]?|id[_\-:#]|#)"
LOOSE_SUFFIX_RE: Final = (r"[_\-:](?:" + "|".join(sorted((re.escape(e.lower()) for e in KNOWN_EVENTS), key=len,
                                                        reverse=True)) + r"|order)$")
# a TikTok host at the start of a landing or referring URL (www.tiktok.com, vm.tiktok.com, ...): an order from
# it is TikTok's when the truth set names TikTok (core.orders.truth_filter)
TIKTOK_SITE: Final = r"^\s*(?:https?://)?(?:[\w-]+\.)*tiktok\.com(?:[/:?#]|$)"
# a "clock skew" near miss: a pair that just missed the merge window (by <= 15 min) or the 48 h window (<= 1 h)
SKEW_MERGE_S: Final = 15 * 60
SKEW_WINDOW_S: Final = DEDUP_WINDOW_SECONDS + 3600
_TEMPLATE_FIELDS: Final = ("order_id", "event", "event_name")
_WORD_RUN: Final = re.compile(r"[A-Za-z0-9]+")
UNLINKED_MESSAGE: Final = ("No order links to an event: no event carries one of these orders' ids in "
                    "properties.order_id, and no event_id contains one. Send properties.order_id with each "
                    "event, or link by an event_id template such as ord_{order_id}_purchase.")
FEED_NAMES: Final = {"user_agent": "user agent", "cookie_age_days": "cookie age", "page_load_s": "page-load time"}


@dataclass(frozen=True)
class SegmentSource:
    """Where one segment dimension's values came from: `source`, the orders that have a value, and a note."""

    source: str
    orders: int
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "orders": self.orders, "message": self.message}


def check_template(template: str) -> None:
    """InvalidInput unless `template` has exactly one {order_id} and only {event} / {event_name} besides."""
    if template.count("{order_id}") != 1:
        raise InvalidInput(f"event_id template {template!r} needs exactly one {{order_id}}.",
                           hint=f"For example {DEFAULT_TEMPLATE} or ord_{{order_id}}_{{event}}.")
    unknown = [f for f in re.findall(r"\{([^{}]*)\}", template) if f not in _TEMPLATE_FIELDS]
    if unknown:
        raise InvalidInput(f"event_id template {template!r} has an unknown placeholder {{{unknown[0]}}}.",
                           hint="Use {order_id}, and {event} (snake case) or {event_name} if the id names it.")


def check_link(link: str, template: str) -> None:
    """InvalidInput for an unknown link mode, or for a bad template when linking by event_id template."""
    if link not in LINK_MODES:
        raise InvalidInput(f"Unknown link mode {link!r}.", hint="Use auto, order_id or event_id_template.")
    if link == "event_id_template":
        check_template(template)


def template_candidates(event_ids: list[str]) -> set[str]:
    """Every text in `event_ids` that vote_template could look up as an order id (whole ids, word runs)."""
    out: set[str] = set()
    for eid in event_ids:
        if eid and "{" not in eid and "}" not in eid:
            out.add(eid)
            out.update(m.group() for m in _WORD_RUN.finditer(eid))
    return out


def vote_template(sample: list[str], known: set[str], n_distinct: int) -> str | None:
    """The template of `infer_template` from `sample` (distinct event ids in first-appearance order), the
    `known` order ids (at least those among template_candidates(sample)) and the number of distinct ids."""
    known = known - {""}
    if not known:
        return None
    votes: Counter[tuple[str, str]] = Counter()
    for eid in sample:
        if not eid or "{" in eid or "}" in eid:
            continue
        if eid in known:
            votes[("", "")] += 1
            continue
        for m in _WORD_RUN.finditer(eid):
            if m.group() in known:
                votes[(eid[:m.start()], eid[m.end():])] += 1
                break
    if not votes:
        return None
    (pre, post), n = votes.most_common(1)[0]
    # a shape seen once among thousands of ids is a coincidence (a number that happens to be an order id)
    if n < max(1, min(50, n_distinct // 200)):
        return None
    return f"{pre}{{order_id}}{post}"


def template_affixes(template: str, event: str) -> tuple[str, str]:
    """(prefix, suffix) around {order_id} in `template` for an event named `event` (see
    order_ids_from_event_ids: {event} in snake case, {event_name} as sent)."""
    check_template(template)
    pre, post = template.split("{order_id}")
    if "{" not in pre + post:
        return pre, post
    from core.payload import snake_case

    fill = {"event": snake_case(event), "event_name": event.strip()}
    return pre.format(**fill), post.format(**fill)


def source_message(base: str, own: int, filled: dict[str, int], unknown: int, total: int,
                    linked: bool, looked: bool) -> SegmentSource:
    """Where one dimension's values came from, in words (and why some or all are unknown)."""
    what = FEED_NAMES[base]
    parts = ([f"{own:,} from the orders file"] if own else []) + [
        f"{n:,} from linked {label}" for label, n in filled.items() if n]
    names = (["orders file"] if own else []) + [label for label, n in filled.items() if n]
    if not linked:
        reason = "the orders are not linked to any event"
    elif base == "user_agent":
        reason = f"no linked event carries a {what}" if looked else "the event files carry no user agent"
    else:
        reason = (f"no linked Pixel event carries a {what}" if looked else
                  f"the Pixel events carry no {what} (the Pixel does not send one by default)")
    if not parts:
        return SegmentSource("none", 0, f"Empty: the orders file has no {what}, and {reason}.")
    tail = f"; {unknown:,} unknown ({reason})" if unknown else ""
    return SegmentSource(" + ".join(names), total - unknown,
                         f"{total - unknown:,} of {total:,} truth orders have a {what}: {'; '.join(parts)}{tail}.")


__all__ = ["DEFAULT_TEMPLATE", "LINK_MODES", "LOOSE_PREFIX_RE", "LOOSE_SUFFIX_RE", "SKEW_MERGE_S", "SKEW_WINDOW_S",
           "TIKTOK_SITE", "UNLINKED_MESSAGE", "LinkMode", "SegmentSource", "check_link", "check_template",
           "source_message", "template_affixes", "template_candidates", "vote_template"]
