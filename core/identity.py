"""Normalize and SHA-256 hash the identifiers TikTok matches on (email, phone, external_id, ...).

TikTok (contract §2.3): email trimmed and lower-cased; phone in E.164 with the `+`; external_id hashed
as given; first/last name lower-case without whitespace; zip without spaces or dashes; city, state and
country lower-case alphanumerics, not hashed. A value that already is SHA-256 hex passes through
(lower-cased) and is never hashed twice.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any, Final, Literal, NewType, get_args

import phonenumbers

from core.contract import EMPTY_SHA256, SHA256_HEX_RE
from core.errors import InvalidIdentifier

Kind = Literal[
    "email", "phone", "external_id", "first_name", "last_name", "zip_code", "city", "state", "country",
]
KINDS: tuple[str, ...] = get_args(Kind)
_MISSING: Final[Any] = object()  # cache sentinel: None is a real result (rejected)
HASHED_KINDS = frozenset(("email", "phone", "external_id", "first_name", "last_name", "zip_code"))

NormalizedEmail = NewType("NormalizedEmail", str)
E164Phone = NewType("E164Phone", str)
Sha256Hex = NewType("Sha256Hex", str)


def sha256_hex(text: str) -> Sha256Hex:
    """Lower-case hex SHA-256 of the UTF-8 bytes of `text`."""
    return Sha256Hex(hashlib.sha256(text.encode("utf-8")).hexdigest())


def is_sha256(value: object) -> bool:
    """True when `value`, trimmed, is 64 hex characters (any case): an already-hashed identifier."""
    return isinstance(value, str) and SHA256_HEX_RE.match(value.strip()) is not None


def is_empty_hash(value: object) -> bool:
    """True for the SHA-256 of the empty string: a hashing bug upstream, matches nobody."""
    return isinstance(value, str) and value.strip().lower() == EMPTY_SHA256


def _has_inner_whitespace(text: str) -> bool:
    return any(ch.isspace() for ch in text)


def normalize_email(value: str) -> NormalizedEmail:
    """Trim and lower-case an email address; dots and +tags are kept.

    Raises InvalidIdentifier when empty, without exactly one `@`, with an empty local part, with a
    domain lacking a dot or with an empty label ("gmail.", "a@.com"), or with whitespace inside.
    TikTok: " ALICE_abc@gmail.com " -> alice_abc@gmail.com.
    """
    text = value.strip().lower()
    if not text:
        raise InvalidIdentifier("email", value, "is empty", hint="Leave the field out instead of sending it.")
    if _has_inner_whitespace(text):
        raise InvalidIdentifier("email", value, "contains whitespace", hint="Remove the spaces inside it.")
    if text.count("@") != 1:
        raise InvalidIdentifier("email", value,
                                f"has {text.count('@')} '@' signs; an address has exactly one",
                                hint="Send one address per value, e.g. name@example.com.")
    local, domain = text.split("@")
    if not local:
        raise InvalidIdentifier("email", value, "has nothing before the '@'",
                                hint="Use e.g. name@example.com.")
    if "." not in domain:
        raise InvalidIdentifier("email", value, f"domain {domain!r} has no dot",
                                hint="Check the domain, e.g. example.com.")
    if "" in domain.split("."):
        # "gmail." or "a@.com" or "x..com": an empty label is a typo, no mailbox hashes to it
        raise InvalidIdentifier("email", value, f"domain {domain!r} has an empty part between dots",
                                hint="Check the domain, e.g. example.com.")
    return NormalizedEmail(text)


def normalize_phone(value: str, region: str | None = None) -> E164Phone:
    """Parse a phone number and format it as E.164 (`+` country code number); extensions are dropped.

    `region` (ISO 3166 alpha-2, e.g. "US", "GB") reads national numbers; without it the number must carry
    its country code (`+44...` or `0044...`). A `00` prefix is read as the international dialling prefix
    when no region is given, or when the region's reading is not a valid number. Raises
    InvalidIdentifier for unparseable or invalid numbers, naming what is missing (country code, region).
    TikTok: "(+1)2133734253" -> +12133734253.
    """
    text = value.strip()
    if not text:
        raise InvalidIdentifier("phone", value, "is empty", hint="Leave the field out instead of sending it.")
    region_code = region.strip().upper() if region and region.strip() else None
    unknown_region = None
    if region_code is not None and region_code not in phonenumbers.SUPPORTED_REGIONS:
        # an unknown region must not be blamed for a number that carries its own country code
        unknown_region, region_code = region_code, None
    bare = text.lstrip("( ")
    candidates = [text]
    if bare.startswith("00"):
        international = "+" + bare[2:]  # 00 is the international dialling prefix almost everywhere
        candidates = [international] if region_code is None else [text, international]
    parsed = None
    parse_error: phonenumbers.NumberParseException | None = None
    for candidate in candidates:
        try:
            attempt = phonenumbers.parse(candidate, region_code)
        except phonenumbers.NumberParseException as exc:
            parse_error = parse_error or exc
            continue
        if parsed is None or phonenumbers.is_valid_number(attempt):
            parsed = attempt
        if phonenumbers.is_valid_number(attempt):
            break
    if parsed is None:
        assert parse_error is not None
        if parse_error.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
            if "+" in text or bare.startswith("00"):
                raise InvalidIdentifier("phone", value, "has an unknown country code",
                                        hint="Check the digits after the + (e.g. +1, +44, +49).") from None
            if unknown_region is not None:
                raise InvalidIdentifier("phone", value,
                                        f"region {unknown_region!r} is not a known region code",
                                        hint="Use a two-letter region such as US, GB or DE.") from None
            raise InvalidIdentifier(
                "phone", value, "has no country code",
                hint="Add the country code (+1 ...) or choose the default region (e.g. US, GB).",
            ) from None
        raise InvalidIdentifier("phone", value, "is not a phone number",
                                hint="Use digits with the country code, e.g. +1 213 373 4253.") from None
    if not phonenumbers.is_valid_number(parsed):
        where = phonenumbers.region_code_for_number(parsed) or f"+{parsed.country_code}"
        raise InvalidIdentifier("phone", value, f"is not a valid number for {where}",
                                hint="Check the digits and the country code.")
    return E164Phone(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


def normalize_external_id(value: str) -> str:
    """Trim an advertiser user id; case is kept (TikTok hashes it as given). Empty is rejected."""
    text = value.strip()
    if not text:
        raise InvalidIdentifier("external_id", value, "is empty", hint="Leave the field out instead.")
    return text


def normalize_name(value: str, kind: str = "first_name") -> str:
    """Trim, lower-case and drop all whitespace from a first or last name."""
    text = "".join(value.lower().split())
    if not text:
        raise InvalidIdentifier(kind, value, "is empty", hint="Leave the field out instead.")
    return text


def normalize_zip(value: str) -> str:
    """Drop spaces and dashes from a postal code and lower-case it ("SW1A 1AA" -> "sw1a1aa")."""
    text = "".join(ch for ch in value.lower() if not ch.isspace() and ch != "-")
    if not text:
        raise InvalidIdentifier("zip_code", value, "is empty", hint="Leave the field out instead.")
    return text


def normalize_location(value: str, kind: str = "city") -> str:
    """Lower-case alphanumerics only, for city, state and country (sent unhashed)."""
    text = "".join(ch for ch in value.lower() if ch.isalnum())
    if not text:
        raise InvalidIdentifier(kind, value, "has no letters or digits", hint="Leave the field out instead.")
    return text


def normalize(kind: str, value: str, region: str | None = None) -> str:
    """Normalize one raw value of `kind`; raises InvalidIdentifier (or ValueError for an unknown kind)."""
    if kind == "email":
        return normalize_email(value)
    if kind == "phone":
        return normalize_phone(value, region)
    if kind == "external_id":
        return normalize_external_id(value)
    if kind in ("first_name", "last_name"):
        return normalize_name(value, kind)
    if kind == "zip_code":
        return normalize_zip(value)
    if kind in ("city", "state", "country"):
        return normalize_location(value, kind)
    raise ValueError(f"unknown identifier kind {kind!r}; use one of {', '.join(KINDS)}")


@dataclass(frozen=True, slots=True)
class HashedIdentifier:
    """One identifier before and after: what came in, its normalized form, and what would be sent.

    `sha256` is the SHA-256 hex of the normalized value, and only ever that: None for the kinds TikTok
    takes unhashed (city, state, country), whose body value is `normalized`; `sent` is what goes into the
    body either way. `error` is set (and `normalized`/`sha256` are None) when the value was rejected.
    `passthrough` is True when the input already was SHA-256 hex and was only lower-cased.
    """

    kind: str
    input: str
    normalized: str | None
    sha256: str | None
    error: str | None = None
    hint: str | None = None
    passthrough: bool = False

    @property
    def ok(self) -> bool:
        """True when the value can be sent."""
        return self.error is None

    @property
    def sent(self) -> str | None:
        """The value that goes into the request body: the hash, or the normalized value of an unhashed kind."""
        return self.sha256 if self.kind in HASHED_KINDS else self.normalized

    def as_dict(self) -> dict[str, Any]:
        """Plain dict for JSON output."""
        return asdict(self)


@lru_cache(maxsize=262_144)
def hash_identifier(kind: str, value: str, region: str | None = None) -> HashedIdentifier:
    """Normalize and hash one value, never raising for bad input: rejections carry `error` and `hint`.

    Already-hashed input (64 hex characters after trimming) passes through lower-cased, unhashed again.
    Cached, so a month of repeated customers costs one hash per distinct value.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown identifier kind {kind!r}; use one of {', '.join(KINDS)}")
    if kind in HASHED_KINDS and is_sha256(value):
        digest = value.strip().lower()
        error = "is the SHA-256 of an empty string" if digest == EMPTY_SHA256 else None
        return HashedIdentifier(kind, value, None if error else digest, None if error else digest,
                                error=error,
                                hint="Hash the value itself, not an empty field." if error else None,
                                passthrough=True)
    try:
        normalized = normalize(kind, value, region)
    except InvalidIdentifier as exc:
        return HashedIdentifier(kind, value, None, None, error=exc.reason, hint=exc.hint)
    return HashedIdentifier(kind, value, normalized, sha256_hex(normalized) if kind in HASHED_KINDS else None)


def hash_identifiers(
    kind: str, values: str | Sequence[str] | None, region: str | None = None
) -> list[HashedIdentifier]:
    """Hash a single value or a list of values (TikTok accepts arrays for email, phone, external_id).

    None, empty strings and blank entries are dropped: they are absent, not invalid.
    """
    if values is None:
        return []
    items = [values] if isinstance(values, str) else list(values)
    return [hash_identifier(kind, str(v), region) for v in items if str(v).strip()]


# A normalized address that normalize_email accepts as is: one '@', no whitespace, a non-empty local part
# and a dotted domain without empty labels. `\s` matches exactly what str.isspace() calls whitespace.
_PLAIN_EMAIL_RE: Final = re.compile(r"[^\s@]+@[^\s@.]+(?:\.[^\s@.]+)+")


def hash_many(kind: str, values: Iterable[str], region: str | None = None) -> list[str | None]:
    """Bulk path: the value to send for each input (None where rejected), in input order.

    Same result as `hash_identifier(kind, v, region).sent` for every v (a property test holds it),
    but fast: each distinct value is worked out once per call, and well-formed emails skip the
    dataclass and the validation branches (TikTok: SHA-256 of the trimmed, lower-cased address).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown identifier kind {kind!r}; use one of {', '.join(KINDS)}")
    seen: dict[str, str | None] = {}
    out: list[str | None] = []
    append = out.append
    if kind == "email":
        match = _PLAIN_EMAIL_RE.fullmatch
        sha256 = hashlib.sha256
        for v in values:
            sent = seen.get(v, _MISSING)
            if sent is _MISSING:
                text = v.strip().lower()
                if match(text):
                    sent = sha256(text.encode("utf-8")).hexdigest()
                else:  # rejected, or already hashed: the full path decides and explains
                    sent = hash_identifier(kind, v, region).sent
                seen[v] = sent
            append(sent)
        return out
    for v in values:
        sent = seen.get(v, _MISSING)
        if sent is _MISSING:
            sent = hash_identifier(kind, v, region).sent
            seen[v] = sent
        append(sent)
    return out
