"""What the console keeps of personal data: nothing raw. Raw email addresses and phone numbers are
recognised by what the value is, wherever it sits, and dropped before anything is written to disk.

TikTok (contract §2.3) wants email and phone normalized and SHA-256 hashed before sending; the console
keeps only hashed values (64 hex) in its database, whatever key, nesting or list a raw value hides in:
v1.3 `user.email`, 1.0's `context.user.email`, `user.emails`, misspelt keys, or an email used as
`external_id`. Free text that may echo a value (an error message) is redacted the same way.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Sequence
from typing import Any, Final

from core.identity import is_sha256

REDACTED_PII: Final = "[redacted]"
_HEX64_RE: Final = re.compile(r"[0-9a-fA-F]{64}\Z")
_EMAIL_RE: Final = re.compile(r"[^\s@<>()\[\]\"',;:]+@[^\s@<>()\[\]\"',;:]+\.[A-Za-z]{2,}")
_PHONE_CHARS_RE: Final = re.compile(r"^\+?[\d\s().\-/]+$")
_DATE_RE: Final = re.compile(r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}")
_IPV4_RE: Final = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
# keys whose digit strings are phone numbers even without a + or separators (misspellings included)
# keys whose non-hashed text is personal data whatever it looks like (TikTok hashes these, contract §2.3)
PII_KEYS: Final = frozenset({"email", "emails", "phone", "phones", "phone_number", "first_name", "last_name",
                             "zip_code", "zip", "fn", "ln", "em", "ph", "zp"})
# values that could be an email or a phone by what they are (an @, or 7+ phone characters from a digit):
# as a key's value (key, value), and as a list member
_SUSPECT = r'[^"]*@[^"]*|[+( ]*\d[\d\s().\-/]{5,}'
_SUSPECT_PAIR_RE: Final = re.compile(r'"([^"]*)":"(' + _SUSPECT + r')"')
_SUSPECT_MEMBER_RE: Final = re.compile(r'[\[,]"(' + _SUSPECT + r')"(?=[,\]])')
# a personal-data key (any case: the text is lower-cased first, which is faster than IGNORECASE) whose text,
# or a list member, is not a hash: raw under its name
_PII_KEY_RAW_LOWER_RE: Final = re.compile(
    r'"(?:' + "|".join(sorted(PII_KEYS)) + r')":(?:\[(?:"(?:[0-9a-f]{64})?",)*)?"(?!(?:[0-9a-f]{64})?")')
# without an @ in the text only a phone can be suspect: these start from a literal, which the engine finds fast
_PHONE_VALUE = r'[+( ]*\d[\d\s().\-/]{5,}'
_PHONE_PAIR_RE: Final = re.compile(r'":"(' + _PHONE_VALUE + r')"')
_PHONE_MEMBER_RE: Final = re.compile(r'"(' + _PHONE_VALUE + r')"(?=[,\]])')
# a value that is no text (a number, list or object) right after a key: judged by its key
_NONTEXT: Final = r'(?:[-\d{]|\[(?:"[^"]*",)*[-\d\[{tfn])'  # a number, object, or a list with a member that is no text
_NONTEXT_VALUE_RE: Final = re.compile('":' + _NONTEXT)
_PHONE_KEY_RE: Final = re.compile(r"ph|tel|mobile|cell|msisdn|whatsapp|sms", re.IGNORECASE)
# the screen of an ASCII text without backslashes, lower-cased (no character changes length or meaning there):
# the keys are read once (from the text reversed, where each key follows its `":`), then only what the rule
# must judge is matched, so a clean batch of a thousand events costs a few regex scans and little Python
_REVERSED_KEY_RE: Final = re.compile(r':"([^"]*)"')
_HASH_OR_EMPTY = r'"(?:[0-9a-f]{64})?"'
# what a personal-data key may hold without the walk: a hash or "", null, or a list of those
_CLEAN_PII_VALUE = rf"(?:{_HASH_OR_EMPTY}|null|\[(?:{_HASH_OR_EMPTY}(?:,{_HASH_OR_EMPTY})*)?\])[,}}\]]"
_PHONE_CHARS = r"[ ().\-/+]"
_DIGITS7 = rf"{_PHONE_CHARS}*(?:\d{_PHONE_CHARS}*){{7,}}"
# under any key, a text that can be a phone there: 8+ digits of phone characters, neither IPv4 nor a date
_ANY_KEY_PHONE_RE: Final = re.compile(
    rf'":"(?=[ (+]*\d(?:{_PHONE_CHARS}*\d){{7}})'  # 8+ digits ahead, checked first: most texts fail here
    r'(?! *\d{1,3}(?:\.\d{1,3}){3} *")(?! *\d{4}[-/.]\d{1,2}[-/.]\d{1,2})'
    rf'({_PHONE_CHARS}*(?:\d{_PHONE_CHARS}*){{8,}})"')
# a list member of phone characters with 7+ digits, judged as under a phone key (its key is not known here)
_PHONE_MEMBER_RES: Final = (re.compile(rf'\["({_DIGITS7})"(?=[,\]])'), re.compile(rf',"({_DIGITS7})"(?=[,\]])'))
_AT_PAIR_RE: Final = re.compile(r'"([^"]*)":"([^"]*@[^"]*)"')
_AT_MEMBER_RE: Final = re.compile(r'[\[,]"([^"]*@[^"]*)"(?=[,\]])')


@functools.lru_cache(maxsize=256)
def _key_value_re(key: str) -> re.Pattern[str]:
    """Values under `key` the walk must judge: for a personal-data key anything but a hash, "" or null (or a
    list of those); for a key holding a phone word a number, list or object, or a text of 7+ digits (group 1)."""
    if key in PII_KEYS:
        return re.compile(rf'"{re.escape(key)}":(?!{_CLEAN_PII_VALUE})()')
    return re.compile(rf'"{re.escape(key)}":(?:{_NONTEXT}|"({_DIGITS7})")')
# phone numbers written in clear inside free text: +country code, or groups with separators
_PHONE_IN_TEXT_RE: Final = re.compile(
    r"(?<![\w+])\+\d[\d\s().\-]{6,18}\d|(?<![\w.])\(?\d{3}\)?[\s.\-]\d{3}[\s.\-]\d{4}(?!\w)")


def is_raw_email(value: object) -> bool:
    """True for a string that is (or plainly carries) an email address in clear, not a hash of one."""
    return isinstance(value, str) and not is_sha256(value) and _EMAIL_RE.search(value) is not None


def is_raw_phone(value: object, *, phone_key: bool = False) -> bool:
    """True for a string that is a phone number in clear.

    Under a phone-like key (`phone`, `phone_number`, `tel`, `mobile`, misspellings with "ph"), any string
    of phone characters with 7-15 digits counts. Elsewhere the number must look like one: a leading `+`
    with 8-15 digits, or digit groups with separators (`(415) 555-0100`, `020 7946 0958`); dates,
    IPv4 addresses, plain ids and decimals do not.
    """
    if not isinstance(value, str) or is_sha256(value):
        return False
    text = value.strip()
    if not text or _PHONE_CHARS_RE.match(text) is None:
        return False
    if phone_key:
        return 7 <= sum(map(str.isdigit, text)) <= 15
    if _DATE_RE.match(text) or _IPV4_RE.match(text) or not 8 <= sum(map(str.isdigit, text)) <= 15:
        return False
    if text.startswith("+"):
        return True
    return any(sep in text for sep in " ()-") and sum(map(str.isdigit, text)) >= 9


@functools.lru_cache(maxsize=4096)
def _is_phone_key(key: str) -> bool:
    return _PHONE_KEY_RE.search(key) is not None


def _is_raw(value: str, key: str) -> bool:
    """The one rule, cheapest tests first (it runs on every string of every event recorded)."""
    if len(value) == 64 and _HEX64_RE.match(value) is not None:
        return False  # hashed
    if key in PII_KEYS or key.lower() in PII_KEYS:
        return bool(value.strip()) and not is_sha256(value)
    if "@" in value:
        return is_raw_email(value)
    first = value.lstrip()[:1]
    if not first or not (first.isdigit() or first in "+("):
        return False
    return is_raw_phone(value, phone_key=_is_phone_key(key))


def _is_raw_number(value: float, key: str) -> bool:
    """A number under a personal-data key (a zip, a phone written as a number), or a phone under a phone key."""
    if key in PII_KEYS or key.lower() in PII_KEYS:
        return True
    return _is_phone_key(key) and is_raw_phone(str(value), phone_key=True)


def _scrub(value: Any, path: str, key: str, dropped: list[str]) -> tuple[Any, bool]:
    """(value without raw PII, keep?) — keep False when the whole value must go."""
    if isinstance(value, str):
        if _is_raw(value, key):
            dropped.append(path)
            return None, False
        return value, True
    if isinstance(value, int | float) and not isinstance(value, bool):
        if _is_raw_number(value, key):
            dropped.append(path)
            return None, False
        return value, True
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        changed = False
        for k, v in value.items():
            sub = f"{path}.{k}" if path else str(k)
            new, keep = _scrub(v, sub, str(k), dropped)
            changed = changed or not keep or new is not v
            if keep:
                out[k] = new
        return (out if changed else value), True
    if isinstance(value, list):
        # a list of identifiers reads as one field: a raw member is reported at the list's path
        items: list[Any] = []
        changed = False
        for i, v in enumerate(value):
            if (isinstance(v, str) and _is_raw(v, key)) or (
                    isinstance(v, int | float) and not isinstance(v, bool) and _is_raw_number(v, key)):
                changed = True
                if path not in dropped:
                    dropped.append(path)
                continue
            new, _ = _scrub(v, f"{path}[{i}]", key, dropped)
            changed = changed or new is not v
            items.append(new)
        if changed and not items:
            return None, False  # nothing hashed left: the key goes (an empty list would be sent on a retry)
        return (items if changed else value), True
    return value, True


def _key_before(text: str, end: int) -> str:
    """The key whose closing quote sits at `end` in a compact JSON text."""
    return text[text.rfind('"', 0, end) + 1:end]


def _surely_clean_ascii(low: str) -> bool:
    """`_surely_clean` of a lower-cased ASCII text without backslashes, by the same rule at a fraction of the
    cost: only values under personal-data or phone keys, texts of phone characters and texts with an @ are judged."""
    for key in {k[::-1] for k in set(_REVERSED_KEY_RE.findall(low[::-1]))}:
        if key in PII_KEYS or _is_phone_key(key):
            for m in _key_value_re(key).finditer(low):
                if not m.group(1) or _is_raw(m.group(1), key):
                    return False  # a personal-data key's raw value, or a phone key's non-text value or phone
    for m in _ANY_KEY_PHONE_RE.finditer(low):
        if _is_raw(m.group(1), _key_before(low, m.start())):
            return False
    for members in _PHONE_MEMBER_RES:
        if any(is_raw_phone(v, phone_key=True) for v in members.findall(low)):
            return False
    if "@" in low:
        if any(_is_raw(value, key) for key, value in _AT_PAIR_RE.findall(low)):
            return False
        return not any(is_raw_email(v) or is_raw_phone(v, phone_key=True) for v in _AT_MEMBER_RE.findall(low))
    return True


def _surely_clean(text: str) -> bool:
    """True when a compact JSON text holds no raw PII, by the same rule as the walk, at C speed for clean events.

    Personal-data keys must hold hashes only; then only the values that could be an email or a phone (an @,
    or phone characters from a digit) are judged, with their key (a list member as if under a phone key,
    whatever its key); a number, list or object under a personal-data or phone key goes to the walk.
    Any backslash (an escaped quote could fool the screen) sends the event to the walk, and so does a text
    that is no object or list (a bare value has no key or list around it for the regexes to see).
    """
    if not text.startswith(("{", "[")) or "\\" in text:
        return False
    if text.isascii():
        return _surely_clean_ascii(text.lower())
    if _PII_KEY_RAW_LOWER_RE.search(text.lower()):
        return False
    for m in _NONTEXT_VALUE_RE.finditer(text):  # a number, list or object under a personal-data or phone key
        key = text[text.rfind('"', 0, m.start()) + 1:m.start()]
        if key.lower() in PII_KEYS or _is_phone_key(key):
            return False
    if "@" in text:
        pairs: list[tuple[str, str]] = _SUSPECT_PAIR_RE.findall(text)
        members: list[str] = _SUSPECT_MEMBER_RE.findall(text)
    else:
        pairs = [(text[text.rfind('"', 0, m.start()) + 1:m.start()], m.group(1)) for m in _PHONE_PAIR_RE.finditer(text)]
        members = [m.group(1) for m in _PHONE_MEMBER_RE.finditer(text) if text[m.start() - 1] in "[,"]
    for key, value in pairs:
        if _is_raw(value, key):
            return False
    # a member's key is not known here: judged as under a phone key, the strictest reading
    return all(not is_raw_email(v) and not is_raw_phone(v, phone_key=True) for v in members)


def scrub_event(event: Any, path: str = "", *, text: str | None = None) -> tuple[Any, list[str]]:
    """The event without raw email/phone values anywhere in it, and the JSON paths of what was dropped.

    Contract: never mutates its input; returns the same object when nothing had to go. Hashed values
    (64 hex) and empty values stay; a list keeps its other members. A raw value is dropped, never replaced
    by a placeholder (a placeholder would be sent on a retry). `text`, the event's JSON when the caller
    has it, lets a clean event through without walking it.
    """
    if text is not None and _surely_clean(text):
        return event, []
    dropped: list[str] = []
    clean, _ = _scrub(event, path.rstrip("."), "", dropped)
    return clean, dropped


def batch_is_clean(texts: Sequence[str]) -> bool:
    """True when a batch of events, by their compact JSON texts, surely holds no raw PII: one screen of the
    whole batch's text (False for an event that is no object, and whenever the screen cannot be sure:
    `scrub_events` then judges event by event)."""
    return bool(texts) and all(map(str.startswith, texts, itertools.repeat("{"))) and _surely_clean(
        "[" + ",".join(texts) + "]")


def scrub_events(events: Sequence[Any], texts: Sequence[str]) -> list[tuple[Any, list[str]]]:
    """`scrub_event` of each event of a batch whose compact JSON texts the caller has (`texts[i]` is `events[i]`).

    A clean batch (`batch_is_clean`) goes through at once; a batch with anything to judge is screened
    event by event, and only suspect events are walked.
    """
    if batch_is_clean(texts):
        return [(event, []) for event in events]
    return [scrub_event(event, text=text) for event, text in zip(events, texts, strict=True)]


def scrub_body(body: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """`scrub_event` over a whole body (top-level fields and every event); (body or a copy, dropped paths)."""
    clean, dropped = scrub_event(body)
    return (clean if isinstance(clean, dict) else {}), dropped


def redact_text(text: str | None) -> str | None:
    """Free text (an error message, a response echoing a value) with emails and phone numbers replaced."""
    if not text:
        return text
    return _PHONE_IN_TEXT_RE.sub(REDACTED_PII, _EMAIL_RE.sub(REDACTED_PII, text))


__all__ = ["REDACTED_PII", "batch_is_clean", "is_raw_email", "is_raw_phone", "redact_text", "scrub_body", "scrub_event",
           "scrub_events"]
