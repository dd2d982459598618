"""User-field checks of the Events API linter: hashing, identifiers, IP, user agent, locale, consent.

Mixed into core.lint's linter; the decisions (an IP warns exactly where the EMQ proxy gives it no points)
are in core.lint.linter's docstring. TikTok: email, phone, external_id, first_name, last_name and zip_code
are SHA-256 hashed after normalization; ip, user_agent, ttclid and ttp are sent raw (contract §2.3).
Meta's fbc and fbp carry Meta's ids, and Meta hashes phones without the +, so their advice says where the
TikTok value comes from instead of "rename".
"""

from __future__ import annotations

import functools
import re
from typing import Any, Final

from core.contract import CONSENT_SUPPRESSED_FIELDS, EMPTY_SHA256, META_USER_KEYS, USER_FIELDS
from core.identity import hash_identifier
from core.lint.checker import Checker, EventContext, is_present, json_excerpt, json_kind
from core.lint.jsonpath import join_index, join_key
from core.reasons import REASONS, ip_reason

_HEX_RE: Final = re.compile(r"^[A-Fa-f0-9]+$")
_SERVER_UA_RE: Final = re.compile(
    r"python-requests|python-urllib|python-httpx|\bhttpx/|aiohttp|curl/|Go-http-client|axios|node-fetch|"
    r"undici|okhttp|Java/|Apache-HttpClient|PostmanRuntime|Guzzle|\bRuby\b|Wget|libwww-perl|Dart/|Scrapy",
    re.IGNORECASE,
)
_LOCALE_RE: Final = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_PLACEHOLDERS: Final = frozenset(("undefined", "null", "none", "nan", "n/a", "[object object]", "-", "nil"))
# Meta keys whose value must not be moved across: (message, fix)
_META_ADVICE: Final = {
    "fbc": ("fbc is Meta's click id (the _fbc cookie); it carries Meta's id, which TikTok cannot match.",
            "Remove fbc and send user.ttclid: the ttclid URL parameter of the landing page, or the ttclid "
            "cookie you keep from it."),
    "fbp": ("fbp is Meta's browser id (the _fbp cookie); it carries Meta's id, which TikTok cannot match.",
            "Remove fbp and send user.ttp: the value of the browser's _ttp cookie, set by the TikTok Pixel."),
    "ph": ("ph is Meta's phone key; Meta hashes the digits without the +, so the hash will not match "
           "TikTok's.", "Send user.phone: the SHA-256 of the number in E.164 with the leading + "
                        "(+12133734253), re-hashed from the raw number, not Meta's hash."),
}
_HASH_ALGOS: Final = {32: "MD5", 40: "SHA-1", 128: "SHA-512"}
_USER_KEY_ALIASES: Final = {
    "phone_number": "phone", "emails": "email", "phones": "phone", "ip_address": "ip", "userAgent": "user_agent",
    "useragent": "user_agent", "zip": "zip_code", "postal_code": "zip_code", "firstname": "first_name",
    "lastname": "last_name", "externalId": "external_id", "anonymous_id": "ttp",
}


class UserChecks(Checker):
    """Checks of one event's `user` object and of each identifier in it."""

    def user(self, user: dict[str, Any], prefix: str, ctx: EventContext) -> None:
        for key, value in user.items():
            path = join_key(prefix, key)
            if key in META_USER_KEYS and META_USER_KEYS[key] != key:
                self.meta_user_key(key, value, path, f"Rename it to {META_USER_KEYS[key]}.")
                continue
            if key not in USER_FIELDS:
                alias = _USER_KEY_ALIASES.get(key)
                if alias:  # a known misspelling: the match key it carries is lost
                    self.add("user.misnamed_key", path, f"{key} is not a TikTok user field; TikTok ignores it.",
                             f"Rename it to {alias}" + (" (and hash it)." if alias in CONSENT_SUPPRESSED_FIELDS
                                                        else "."))
                    self.user_value(alias, value, path)  # lint what it carries as if already renamed
                else:
                    self.add("user.unknown_key", path, f"User key {key!r} is not a TikTok user field.")
                continue
            self.user_value(key, value, path)
        if ctx.denied:
            for key in CONSENT_SUPPRESSED_FIELDS:
                if is_present(user.get(key)):
                    self.add("consent.denied_with_pii", join_key(prefix, key),
                             f"{key} is sent although ad_user_data is DENIED at {ctx.denied or 'the top level'}.",
                             f"Remove user.{key} for this event (and the other personal identifiers).")

    def user_value(self, kind: str, value: object, path: str) -> None:
        """Check one user field (string or, for email/phone/external_id, an array of strings)."""
        if isinstance(value, list) and kind in ("email", "phone", "external_id"):
            for i, item in enumerate(value):
                self.user_scalar(kind, item, join_index(path, i))
            return
        self.user_scalar(kind, value, path)

    def user_scalar(self, kind: str, value: object, path: str) -> None:
        if value is None:
            return
        if not isinstance(value, str):
            arrays = kind in ("email", "phone", "external_id")
            self.add("user.value.type", path,
                     f"{kind} is a JSON {json_kind(value)}; it must be a string"
                     + (" or an array of strings." if arrays else "."))
            return
        if not value.strip():
            self.add("user.value.empty", path, f"{kind} is an empty string.")
            return
        if value.strip().lower() in _PLACEHOLDERS:
            self.add("user.value.placeholder", path, f"{kind} is the placeholder {value.strip()!r}.")
            return
        if kind in ("email", "phone", "external_id", "first_name", "last_name", "zip_code"):
            self.hashed_value(kind, value, path)
        elif kind in ("ttclid", "ttp"):
            if _HEX_RE.match(value.strip()) and len(value.strip()) == 64:
                self.add(f"user.{kind}.hashed", path, f"{kind} looks like a SHA-256 hash; it must be raw.")
        elif kind in ("city", "state", "country"):
            if _HEX_RE.match(value.strip()) and len(value.strip()) == 64:
                self.add("user.location.hashed", path, f"{kind} looks hashed.")
        elif kind == "ip":
            self.ip(value, path)
        elif kind == "user_agent":
            m = _SERVER_UA_RE.search(value)
            if m:
                self.add("user.user_agent.server_library", path,
                         f"user_agent is a server HTTP library ({m.group(0)}), not the customer's browser.")
        elif kind == "locale" and not _LOCALE_RE.match(value):
            fixed = value.replace("_", "-")
            self.add("user.locale.format", path, f"locale {value!r} is not BCP-47.",
                     f"Send {fixed!r}." if _LOCALE_RE.match(fixed) else None)

    def hashed_value(self, kind: str, value: str, path: str) -> None:
        stripped = value.strip()
        if _HEX_RE.match(stripped) and len(stripped) == 64:
            if stripped.lower() == EMPTY_SHA256:
                self.add("user.hash.empty", path, f"{kind} is the SHA-256 of an empty string.")
            elif stripped != value:
                self.add("user.hash.whitespace", path, f"The {kind} hash has spaces around it.",
                         "Trim the value.")
            elif stripped != stripped.lower():
                self.add("user.hash.uppercase", path, f"The {kind} hash is upper-case hex.",
                         "Lower-case it.")
            return
        if _HEX_RE.match(stripped) and len(stripped) in _HASH_ALGOS and kind != "external_id":
            algo = _HASH_ALGOS[len(stripped)]
            self.add("user.hash.wrong_algorithm", path,
                     f"{kind} is {len(stripped)} hex characters, like {algo}, not SHA-256.",
                     f"Hash the normalized {kind} with SHA-256 instead of {algo}.")
            return
        h = hash_identifier(kind, value)
        code = f"user.{kind}.unhashed"
        if h.sha256 is not None:
            self.add(code, path, f"{kind} is sent in plain text, not as a SHA-256 hash.",
                     f"Send the SHA-256 of {h.normalized!r}: {h.sha256}.")
        else:
            self.add(code, path, f"{kind} is plain text and not a usable {kind} ({h.error}).",
                     f"{h.hint or 'Fix the value'} Then normalize and SHA-256 hash it.")

    def meta_user_keys(self, user_data: dict[str, Any], prefix: str) -> None:
        for key, value in user_data.items():
            if key in META_USER_KEYS and META_USER_KEYS[key] != key:
                self.meta_user_key(key, value, join_key(prefix, key), f"Rename it to user.{META_USER_KEYS[key]}.")

    def meta_user_key(self, key: str, value: object, path: str, rename: str) -> None:
        """A Meta CAPI user key: where its TikTok twin comes from (fbc/fbp/ph are not a rename)."""
        if key in _META_ADVICE:
            message, fix = _META_ADVICE[key]
            self.add("meta.user_key", path, message, fix)
            if key == "ph" and is_present(value):
                self.add("meta.phone_hash", path, "A phone hashed the Meta way (digits only, no +) does not "
                         "match TikTok's E.164 hash; a hash cannot show which way it was made.")
            return
        self.add("meta.user_key", path, f"{key} is a Meta Conversions API user key; TikTok ignores it.",
                 rename if META_USER_KEYS[key] else f"Remove {key}: TikTok has no such key.")

    def ip(self, value: str, path: str) -> None:
        text = value.strip()
        reason = _ip_reason(text)
        if not reason:
            return
        if reason in _NO_POINTS:
            what, fix = REASONS[reason]
            self.add("user.ip.private", path, f"ip {text} {what}: the EMQ proxy gives it no points.", fix)
            return
        self.add("user.ip.invalid", path, f"ip {json_excerpt(value)} is not an IPv4 or IPv6 address.",
                 _INVALID_IP_FIX.get(reason))


# the EMQ proxy's reasons for an address that parses but earns no points, and fixes for one that does not
_NO_POINTS: Final = frozenset(("loopback", "private", "not_public"))
_INVALID_IP_FIX: Final = {
    "ip_list": "Send only the first address of the X-Forwarded-For list (the client).",
    "hashed": "Send the IP unhashed: TikTok hashes nothing here.",
    "has_port": "Drop the port: send only the address.",
}


@functools.lru_cache(maxsize=4096)
def _ip_reason(text: str) -> str:
    """The EMQ proxy's verdict on one IP (core.reasons), once per distinct address (a batch repeats its
    servers' IPs)."""
    return ip_reason(text)
