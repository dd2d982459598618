"""EMQ proxy: a transparent, additive score of the match keys each event carries (0 to 10).

TikTok (contract §7) grades Event Match Quality as "a weighted average of all your match key coverages"
and publishes neither the weights nor the scale. This module is the console's *proxy* for it, labelled
"EMQ proxy" everywhere, never "EMQ":

- Seven keys count: email, phone, external_id, ttclid, ttp, ip, user_agent. first_name, last_name and
  zip_code are checked and shown as minor keys but add no points (TikTok does not document them in EMQ).
- A key counts only when it is *valid* (see `key_reason`): hashed keys must be 64-char lower-case
  SHA-256 hex that is not the hash of "" or of a placeholder; ttclid / ttp raw and of a plausible shape;
  ip parseable and public; user_agent a browser's. Present-but-invalid scores like missing.
- The score is additive: an event earns a key's full weight (`WEIGHTS`) when the key is valid, else 0.
  Weights sum to 10, so all seven valid = 10, none = 0, adding a valid key never lowers the score, and
  the per-key points of an event add up to its score - by construction, not by tuning.
- Because the model is additive, the mean score of a group is `sum(coverage_k * weight_k)`, so a
  what-if ("bring phone to 60%") is exact under the model: Δmean = Σ (target_k - coverage_k) * weight_k.

Everything is vectorized: validity is decided once per *distinct* value (pd.factorize) with pyarrow
regexes, IPv4 ranges with numpy, and mapped back to the rows; 1M events score in a few seconds
(bench/quality_bench.py).
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from core.contract import EMPTY_SHA256
from core.errors import InvalidFile, InvalidInput
from core.identity import sha256_hex

LABEL: Final = "EMQ proxy"
ALL_EVENTS: Final = "All events"
NO_EVENT: Final = "(no event name)"


# --- weights ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class KeyWeight:
    """One match key's points in the EMQ proxy, its tier, and why it weighs what it does."""

    key: str
    points: float
    tier: str
    why: str


# The one table of weights (they sum to 10). TikTok's own order (contract §7, "How to set up matching
# events with Events API") puts deterministic identity first, then click/browser ids, then ip + UA.
# Multiples of 0.25 keep every sum exact in binary floating point, so "points add up" holds exactly.
WEIGHTS: Final[tuple[KeyWeight, ...]] = (
    KeyWeight("email", 2.5, "deterministic identity",
              "A hashed email is a person-level key TikTok matches across devices; checkout and sign-up "
              "collect it, so it is the single strongest key most advertisers can send."),
    KeyWeight("phone", 2.0, "deterministic identity",
              "A hashed E.164 phone is person-level too, and most TikTok accounts are phone-verified; it "
              "ranks just below email because fewer checkouts require it and formatting errors are common."),
    KeyWeight("external_id", 1.5, "deterministic identity",
              "Your own user id links events of one customer across sessions, but only matches when the same "
              "id reached TikTok before (Pixel identify or earlier events), so it weighs less than email."),
    KeyWeight("ttclid", 1.5, "click and browser ids",
              "The click id ties the event to one ad click exactly (TikTok lists it first for attribution), "
              "but exists only for visits from TikTok ads inside the attribution window."),
    KeyWeight("ttp", 1.0, "click and browser ids",
              "The _ttp first-party cookie joins server events to the browser the Pixel saw; device-level, "
              "lost when cookies are blocked or cleared."),
    KeyWeight("ip", 0.75, "network fingerprint",
              "The visitor's public IP is a weak, shared signal (NAT, mobile carriers, VPNs); it helps only "
              "together with the user agent."),
    KeyWeight("user_agent", 0.75, "network fingerprint",
              "The browser's user agent narrows an IP to a device class; weak alone, so it pairs with ip."),
)
KEYS: Final[tuple[str, ...]] = tuple(w.key for w in WEIGHTS)
WEIGHT: Final[dict[str, float]] = {w.key: w.points for w in WEIGHTS}
MINOR_KEYS: Final = ("first_name", "last_name", "zip_code")
HASHED_KEYS: Final = frozenset(("email", "phone", "external_id", *MINOR_KEYS))
ALL_KEYS: Final[tuple[str, ...]] = (*KEYS, *MINOR_KEYS)
MAX_SCORE: Final = 10.0

KEY_LABELS: Final[dict[str, str]] = {
    "email": "hashed email", "phone": "hashed phone", "external_id": "hashed external_id",
    "ttclid": "ttclid (click id)", "ttp": "ttp (_ttp cookie)", "ip": "IP address",
    "user_agent": "user agent", "first_name": "hashed first name", "last_name": "hashed last name",
    "zip_code": "hashed zip code",
}

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


# --- reasons ----------------------------------------------------------------------------------------
# Stable reason codes (tests and CLI output refer to these, not to the text). "" means valid.
REASON_CODES: Final[tuple[str, ...]] = (
    "", "missing", "empty_hash", "hashed_placeholder", "placeholder", "whitespace", "unhashed",
    "uppercase_hash", "wrong_hash", "hashed", "too_short", "too_long", "bad_characters", "bad_shape",
    "unparseable", "has_port", "ip_list", "loopback", "private", "not_public", "server_library", "bot",
    "not_browser",
)
_CODE: Final[dict[str, int]] = {c: i for i, c in enumerate(REASON_CODES)}
VALID, MISSING = _CODE[""], _CODE["missing"]

REASONS: Final[dict[str, tuple[str, str]]] = {  # code -> (what is wrong, what to do)
    "missing": ("not sent", "Add it to user{} when you have it."),
    "empty_hash": ("is the SHA-256 of an empty string: a blank value was hashed",
                   "Leave the field out when the value is empty instead of hashing ''."),
    "hashed_placeholder": ("is the SHA-256 of a placeholder ('undefined', 'null', ...): a blank value was "
                           "stringified and hashed", "Read the real value; leave the field out when absent."),
    "placeholder": ("is a placeholder ('undefined', 'null', an unfilled {{macro}}), not a value",
                    "Read the real value; leave the field out when absent."),
    "whitespace": ("contains whitespace", "Trim the value before sending (and before hashing)."),
    "unhashed": ("is plain text; TikTok expects lower-case SHA-256 hex",
                 "Normalize, then SHA-256 it (tiktok-events hash KIND VALUE shows the exact result)."),
    "uppercase_hash": ("is SHA-256 hex in upper case; TikTok expects lower-case hex",
                       "Lower-case the hex digest."),
    "wrong_hash": ("is hex of the wrong length (MD5, SHA-1 or SHA-512?), not SHA-256",
                   "Hash with SHA-256: 64 lower-case hex characters."),
    "hashed": ("is hashed, but TikTok expects this key raw", "Send the value as it is, unhashed."),
    "too_short": ("is too short to be real", "Send the complete value, not a truncated or default one."),
    "too_long": ("is longer than a click id can be (over 200 characters)",
                 "Send only the ttclid parameter's value, not the whole URL or cookie string."),
    "bad_characters": ("contains characters a click id never has (non-ASCII or control characters)",
                       "Send the raw ?ttclid= value, URL-decoded once."),
    "bad_shape": ("does not have the expected shape", "Send the value exactly as TikTok set it."),
    "unparseable": ("is not an IPv4 or IPv6 address", "Send the visitor's address, e.g. 203.0.114.7."),
    "has_port": ("carries a port number", "Strip the ':port' part."),
    "ip_list": ("is a list of addresses (an X-Forwarded-For header)",
                "Send only the client's address: the first public entry of X-Forwarded-For."),
    "loopback": ("is a loopback address (127.0.0.1 / ::1): the server's own",
                 "Forward the visitor's address from the request, not the server's."),
    "private": ("is a private network address (10/8, 172.16/12, 192.168/16, fc00::/7): a proxy or "
                "load balancer", "Use the first public address of X-Forwarded-For."),
    "not_public": ("is not a public internet address (reserved, shared, documentation or multicast range)",
                   "Send the visitor's public address."),
    "server_library": ("is an HTTP library's user agent (python-requests, curl, okhttp, axios, ...): your "
                       "server's, not the visitor's", "Forward the browser's User-Agent request header."),
    "bot": ("is a bot, crawler or headless browser", "Do not send events for bots, or forward the real "
            "visitor's User-Agent."),
    "not_browser": ("does not look like a browser's user agent (no Mozilla/ or Opera/ prefix)",
                    "Forward the browser's User-Agent request header."),
}
_KEY_HINTS: Final[dict[tuple[str, str], str]] = {
    ("email", "missing"): "Send SHA-256 of the trimmed, lower-cased address when the visitor gave one.",
    ("phone", "missing"): "Send SHA-256 of the E.164 number (+ and country code) when the visitor gave one.",
    ("external_id", "missing"): "Send SHA-256 of your user or customer id for identified visitors.",
    ("ttclid", "missing"): "Read ?ttclid= on the landing page, keep it in a first-party cookie for 30 "
                           "days, and send it with every event of that visit.",
    ("ttp", "missing"): "Forward the browser's _ttp cookie value verbatim (set by the Pixel).",
    ("ip", "missing"): "Forward the visitor's IP (first public X-Forwarded-For entry).",
    ("user_agent", "missing"): "Forward the browser's User-Agent header.",
    ("email", "unhashed"): "Trim, lower-case, then SHA-256 the address.",
    ("phone", "unhashed"): "Format as E.164 (+ and country code, digits only), then SHA-256.",
    ("external_id", "unhashed"): "SHA-256 the id as you store it (case matters: hash it consistently).",
    ("ttp", "bad_shape"): "A _ttp value is 27 letters/digits, or a 26-char ULID with an optional _.tt.N "
                          "suffix; send the cookie value, not the cookie header.",
    ("ttclid", "bad_shape"): "That is a URL or query string; send only the ttclid parameter's value.",
    ("user_agent", "too_short"): "Forward the full User-Agent header, not a default 'Mozilla/5.0'.",
}


def reason_text(key: str, code: str) -> str:
    """A person-readable sentence for reason `code` on `key`, with the fix; "valid" for "".

    Codes are the stable ones in REASON_CODES; unknown codes are returned as they are.
    """
    if code == "":
        return "valid"
    what, fix = REASONS.get(code, (code, ""))
    fix = _KEY_HINTS.get((key, code), fix)
    return f"{KEY_LABELS.get(key, key)} {what}. {fix}".strip()


# --- validity of distinct values (vectorized) ------------------------------------------------------
_HEX64 = r"[0-9a-f]{64}"
_ANYHEX64 = r"[0-9A-Fa-f]{64}"
_OTHER_HEX = r"[0-9A-Fa-f]{32}|[0-9A-Fa-f]{40}|[0-9A-Fa-f]{56}|[0-9A-Fa-f]{96}|[0-9A-Fa-f]{128}"
_PLACEHOLDER = (
    r"(?i)(?:undefined|null|none|nil|nan|n/a|na|false|true|0|-|\(not set\)|\[object object\]|"
    r"\{\{.*\}\}|\$\{.*\}|__[a-z_]+__|%[a-z_]+%|\[[a-z_]+\])"
)
_PLACEHOLDER_WORDS = ("undefined", "null", "none", "nil", "nan", "n/a", "false", "true", "0", "-",
                      "[object object]", "(not set)")
# Hashes of stringified blanks ("undefined", "NULL", ...): valid-looking hex that matches nobody.
PLACEHOLDER_HASHES: Final = frozenset(
    sha256_hex(v) for w in _PLACEHOLDER_WORDS for v in {w, w.upper(), w.capitalize()}
)
_TTP = r"(?:[A-Za-z0-9]{27}|[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{26})(?:_\.tt\.\d+)?"
_BROWSER = r"(?:Mozilla|Opera)/\d.*"
_SERVER_LIB = (
    r"(?i)(?:python-requests|python-urllib|python-httpx|\bhttpx/|aiohttp|\bcurl/|\bwget/|okhttp|"
    r"go-http-client|\bjava/|apache-httpclient|jakarta commons|axios/|node-fetch|\bundici|\bnode/|"
    r"guzzlehttp|postmanruntime|insomnia/|libwww-perl|\bruby\b|faraday|\bdart/|scrapy|restsharp|"
    r"reqwest|httpie|\bphp/|http_request2|powershell|winhttp|got \(|superagent|unirest|feign|"
    r"java-http-client|http\.rb|typhoeus|mechanize|\bdeno/|\bbun/)"
)
_BOT = (
    r"(?i)(?:googlebot|bingbot|yandex(?:bot|images)|baiduspider|bytespider|applebot|petalbot|ahrefsbot|"
    r"semrushbot|mj12bot|duckduckbot|facebookexternalhit|crawler|spider|headlesschrome|phantomjs|"
    r"lighthouse|pingdom|uptimerobot|slurp|\+https?://)"
)


def _codes(*pairs: tuple[pd.Series, str]) -> npt.NDArray[np.int8]:
    """First matching reason per value: `pairs` are (mask, code) in priority order; else valid."""
    return np.select([np.asarray(m, dtype=bool) for m, _ in pairs],
                     [_CODE[c] for _, c in pairs], default=VALID).astype(np.int8)


def _match(s: pd.Series, pattern: str) -> pd.Series:
    return s.str.fullmatch(pattern).fillna(False).astype(bool)


def _search(s: pd.Series, pattern: str) -> pd.Series:
    return s.str.contains(pattern, regex=True).fillna(False).astype(bool)


def _classify_hashed(s: pd.Series) -> npt.NDArray[np.int8]:
    """TikTok §2.3: email/phone/external_id/name/zip as lower-case SHA-256 hex of the normalized value."""
    lower = s.str.strip().str.lower()
    return _codes(
        (s == "", "missing"),
        (lower == EMPTY_SHA256, "empty_hash"),
        (lower.isin(PLACEHOLDER_HASHES), "hashed_placeholder"),
        (_match(s, _PLACEHOLDER), "placeholder"),
        (_match(s, _HEX64), ""),
        (_match(s, _ANYHEX64), "uppercase_hash"),
        (_match(s.str.strip(), _ANYHEX64), "whitespace"),
        (_match(s, _OTHER_HEX), "wrong_hash"),
        (pd.Series(True, index=s.index), "unhashed"),
    )


def _classify_ttclid(s: pd.Series) -> npt.NDArray[np.int8]:
    """TikTok §6.4: the raw ?ttclid= value. Shape is not documented; TikTok's sample starts "E.C.P." but
    that prefix is not required here (other forms are seen); we only reject what cannot be a click id."""
    n = s.str.len()
    return _codes(
        (s == "", "missing"),
        (_match(s, _PLACEHOLDER), "placeholder"),
        (_match(s, _ANYHEX64), "hashed"),
        (_search(s, r"\s"), "whitespace"),
        (_search(s, r"://|ttclid=|[?&]"), "bad_shape"),
        (~_match(s, r"[\x21-\x7e]+"), "bad_characters"),
        (n < 10, "too_short"),
        (n > 200, "too_long"),
    )


def _classify_ttp(s: pd.Series) -> npt.NDArray[np.int8]:
    """TikTok §6.4: the _ttp cookie verbatim: 27-char legacy alphanumerics or a ULID + "_.tt.N"."""
    return _codes(
        (s == "", "missing"),
        (_match(s, _PLACEHOLDER), "placeholder"),
        (_match(s, _ANYHEX64), "hashed"),
        (_search(s, r"\s"), "whitespace"),
        (~_match(s, _TTP), "bad_shape"),
    )


def _classify_user_agent(s: pd.Series) -> npt.NDArray[np.int8]:
    """TikTok §2.3: the visitor's User-Agent unhashed; a server library's or a bot's matches nobody."""
    return _codes(
        (s == "", "missing"),
        (_match(s, _PLACEHOLDER), "placeholder"),
        (_match(s, _ANYHEX64), "hashed"),
        (_search(s, _SERVER_LIB), "server_library"),
        (_search(s, _BOT), "bot"),
        (~_match(s, _BROWSER), "not_browser"),
        (s.str.len() < 30, "too_short"),
    )


# IPv4 special-purpose ranges (IANA registry; the same ranges Python's ipaddress treats as non-global)
# in priority order. One table serves the numpy fast path and the scalar path, so they cannot disagree.
_IPV4_SPECIAL: Final[tuple[tuple[str, str], ...]] = (
    ("127.0.0.0/8", "loopback"),
    ("10.0.0.0/8", "private"), ("172.16.0.0/12", "private"), ("192.168.0.0/16", "private"),
    ("0.0.0.0/8", "not_public"), ("100.64.0.0/10", "not_public"), ("169.254.0.0/16", "not_public"),
    ("192.0.0.0/29", "not_public"), ("192.0.0.170/31", "not_public"), ("192.0.2.0/24", "not_public"),
    ("198.18.0.0/15", "not_public"), ("198.51.100.0/24", "not_public"), ("203.0.113.0/24", "not_public"),
    ("224.0.0.0/4", "not_public"), ("240.0.0.0/4", "not_public"),
)
_IPV4_RANGES = [(int(n.network_address), int(n.broadcast_address), _CODE[c])
                for n, c in ((ipaddress.IPv4Network(net), c) for net, c in _IPV4_SPECIAL)]


def _ipv4_code(value: int) -> int:
    for lo, hi, code in _IPV4_RANGES:
        if lo <= value <= hi:
            return code
    return VALID


def _ip_code(text: str) -> int:
    """Reason code for one IP text (the slow path: IPv6, mapped addresses, ports, lists)."""
    if text == "":
        return MISSING
    if "," in text:
        return _CODE["ip_list"]
    if re.fullmatch(_ANYHEX64, text):
        return _CODE["hashed"]
    if re.fullmatch(_PLACEHOLDER, text):
        return _CODE["placeholder"]
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        host = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\]:\d{1,5}|(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}", text)
        if host:
            try:
                ipaddress.ip_address(host.group(1) or host.group(2))
                return _CODE["has_port"]
            except ValueError:
                pass
        return _CODE["unparseable"]
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    if isinstance(addr, ipaddress.IPv4Address):
        return _ipv4_code(int(addr))
    if addr.is_loopback:
        return _CODE["loopback"]
    if addr in ipaddress.IPv6Network("fc00::/7"):
        return _CODE["private"]
    if not addr.is_global or addr.is_multicast:
        return _CODE["not_public"]
    return VALID


def _classify_ip(s: pd.Series) -> npt.NDArray[np.int8]:
    """TikTok §2.3: the visitor's public IPv4/IPv6, unhashed. Dotted quads are decided with numpy over
    the range table; everything else (IPv6, ports, lists) goes through ipaddress one distinct value each."""
    out = np.full(len(s), VALID, dtype=np.int8)
    arr = pa.array(s.to_numpy(dtype=object), type=pa.string())
    parts = pc.extract_regex(arr, r"^(?P<a>\d{1,3})\.(?P<b>\d{1,3})\.(?P<c>\d{1,3})\.(?P<d>\d{1,3})$")
    quad = parts.is_valid().to_numpy(zero_copy_only=False)
    if quad.any():
        got = parts.filter(pa.array(quad))
        octets = np.column_stack([pc.cast(got.field(f), pa.int64()).to_numpy() for f in "abcd"])
        # Python's ipaddress rejects leading zeros ("010.1.1.1" is ambiguous octal): so do we.
        lead0 = _match(s[quad], r"(?:.*\.)?0\d.*").to_numpy()
        ok = (octets <= 255).all(axis=1) & ~lead0
        num = (octets[:, 0] << 24) | (octets[:, 1] << 16) | (octets[:, 2] << 8) | octets[:, 3]
        codes = np.full(len(num), VALID, dtype=np.int8)
        decided = np.zeros(len(num), dtype=bool)
        for lo, hi, code in _IPV4_RANGES:
            hit = ~decided & (num >= lo) & (num <= hi)
            codes[hit] = code
            decided |= hit
        codes[~ok] = _CODE["unparseable"]
        out[quad] = codes
    rest = np.flatnonzero(~quad)
    if len(rest):
        out[rest] = [_ip_code(v) for v in s.iloc[rest].tolist()]
    return out


_CLASSIFIERS = {
    "ttclid": _classify_ttclid, "ttp": _classify_ttp, "ip": _classify_ip, "user_agent": _classify_user_agent,
}


def _as_text(values: Any, n: int) -> pd.Series:
    """A column as pyarrow strings with "" for absent (None/NaN) values; an absent column is all ""."""
    if values is None:
        return pd.Series([""] * n, dtype="string[pyarrow]")
    s = pd.Series(values).reset_index(drop=True)
    if s.dtype != "string[pyarrow]":
        s = s.astype("string[pyarrow]")
    return s.fillna("")


def classify_key(key: str, values: Any) -> npt.NDArray[np.int8]:
    """Reason codes (indexes into REASON_CODES; 0 = valid) for every value of `key`, vectorized.

    Each distinct value is judged once (pd.factorize), so repeated ttp/UA/ip values cost nothing.
    Raises InvalidInput for an unknown key.
    """
    if key not in ALL_KEYS:
        raise InvalidInput(f"Unknown match key {key!r}.", hint=f"Use one of: {', '.join(ALL_KEYS)}.")
    s = _as_text(values, 0)
    if len(s) == 0:
        return np.zeros(0, dtype=np.int8)
    codes, uniques = pd.factorize(s, sort=False)
    distinct = pd.Series(uniques, dtype="string[pyarrow]")
    per_value: npt.NDArray[np.int8] = np.full(len(distinct), MISSING, dtype=np.int8)
    filled = (distinct != "").to_numpy(dtype=bool)
    if filled.any():  # columns that are entirely absent (common for minor keys) cost nothing
        judge = _CLASSIFIERS.get(key, _classify_hashed)
        per_value[filled] = judge(distinct[filled].reset_index(drop=True))
    return per_value[np.asarray(codes, dtype=np.intp)]


def key_reason(key: str, value: str | None) -> str:
    """The reason code for one value of `key`: "" when valid, "missing" when empty, else why invalid.

    Same rules as `score_frame` (it runs the vectorized classifier on one value).
    """
    return REASON_CODES[int(classify_key(key, [value or ""])[0])]


def is_valid_key(key: str, value: str | None) -> bool:
    """True when `value` counts for `key` in the EMQ proxy (see `key_reason`)."""
    return key_reason(key, value) == ""


# --- scoring ----------------------------------------------------------------------------------------
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
class QualityResult:
    """Everything the Match quality page and the CLI show; frames are ready to render."""

    per_event: pd.DataFrame
    summary: dict[str, Any]
    by_event_type: pd.DataFrame
    coverage: pd.DataFrame
    invalid_reasons: pd.DataFrame
    recommendations: list[Recommendation] = field(default_factory=list)


def _event_names(df: pd.DataFrame, n: int) -> pd.Series:
    if "event" not in df.columns:
        return pd.Series([NO_EVENT] * n, dtype="string[pyarrow]")
    names = _as_text(df["event"], n).str.strip()
    return names.where(names != "", NO_EVENT)


def score_frame(df: pd.DataFrame, *, targets: Mapping[str, float] | None = None) -> QualityResult:
    """Score every row of an event frame (server rows or Pixel rows) with the EMQ proxy.

    Reads the identifier columns by name (email, phone, external_id, ttclid, ttp, ip, user_agent and the
    minor first_name, last_name, zip_code; absent columns count as missing), `event` for grouping and
    `index` when present. Returns per-event scores with KEY_present / KEY_valid / KEY_points /
    KEY_reason columns, the summary, per-event-type means and coverage, invalid-reason counts and
    recommendations ranked by gain towards `targets` (default DEFAULT_TARGETS).
    """
    n = len(df)
    per: dict[str, Any] = {
        "index": (pd.to_numeric(df["index"], errors="coerce").fillna(-1).astype("int64").to_numpy()
                  if "index" in df.columns else np.arange(n, dtype="int64")),
        "event": _event_names(df, n).astype("category"),
    }
    reason_codes: dict[str, npt.NDArray[np.int8]] = {}
    for key in ALL_KEYS:
        reason_codes[key] = classify_key(key, df[key] if key in df.columns else [""] * n)
    valid = np.column_stack([reason_codes[k] == VALID for k in KEYS]) if n else np.zeros((0, len(KEYS)), bool)
    weights = np.array([WEIGHT[k] for k in KEYS])
    score = valid.astype(np.float64) @ weights if n else np.zeros(0)
    # the next key: the heaviest one not valid (WEIGHTS is ordered, so the first invalid column)
    missing = ~valid
    first = missing.argmax(axis=1) if n else np.zeros(0, dtype=int)
    has_next = missing.any(axis=1) if n else np.zeros(0, dtype=bool)
    per["score"] = score
    per["next_key"] = pd.Categorical(np.where(has_next, np.array(KEYS)[first], ""), categories=["", *KEYS])
    per["next_gain"] = np.where(has_next, weights[first], 0.0)
    categories = pd.Index(REASON_CODES)
    for j, key in enumerate(ALL_KEYS):
        codes = reason_codes[key]
        per[f"{key}_present"] = codes != MISSING
        per[f"{key}_valid"] = codes == VALID
        if j < len(KEYS):
            per[f"{key}_points"] = valid[:, j] * weights[j]
        per[f"{key}_reason"] = pd.Categorical.from_codes(codes, categories=categories)
    per_event = pd.DataFrame(per)
    return _summarize(per_event, dict(targets or DEFAULT_TARGETS))


def _coverage_table(per_event: pd.DataFrame, column: str) -> pd.DataFrame:
    """Share of events per event type (and overall) where `KEY_<column>` is true, one column per key."""
    cols = [f"{k}_{column}" for k in ALL_KEYS]
    grouped = per_event.groupby("event", observed=True, sort=False)[cols].mean()
    overall = per_event[cols].mean().to_frame().T if len(per_event) else pd.DataFrame(0.0, [0], cols)
    overall.index = pd.Index([ALL_EVENTS])
    table = pd.concat([overall, grouped])
    table.columns = list(ALL_KEYS)
    return table


def _summarize(per_event: pd.DataFrame, targets: dict[str, float]) -> QualityResult:
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
    rows = []
    for key in ALL_KEYS:
        vc = per_event[f"{key}_reason"].value_counts(sort=False)
        present = int(per_event[f"{key}_present"].sum())
        for code, count in vc.items():
            if code in ("", "missing") or count == 0:
                continue
            rows.append({"key": key, "reason": str(code), "events": int(count),
                         "share_of_present": count / present if present else 0.0,
                         "points_lost": float(count * WEIGHT.get(key, 0.0)),
                         "message": reason_text(key, str(code))})
    invalid = pd.DataFrame(rows, columns=["key", "reason", "events", "share_of_present", "points_lost",
                                          "message"])
    invalid = invalid.sort_values(["points_lost", "events"], ascending=False, kind="stable",
                                  ignore_index=True)
    recs = _recommend(by_type, coverage, presence, per_event, targets)
    # 1-point bands 0-1 ... 9-10 (10 falls in the last band), per event type and overall, in one bincount
    band = np.minimum(np.floor(per_event["score"].to_numpy()), 9).astype(np.int64)
    type_codes = per_event["event"].cat.codes.to_numpy(dtype=np.int64)
    n_types = len(per_event["event"].cat.categories)
    per_type = np.bincount(type_codes * 10 + band, minlength=n_types * 10).reshape(n_types, 10)
    names = [str(c) for c in per_event["event"].cat.categories]
    bands = {ALL_EVENTS: per_type.sum(axis=0), **dict(zip(names, per_type, strict=True))}

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
    return QualityResult(per_event, summary, by_type, coverage, invalid, recs)


def _recommend(by_type: pd.DataFrame, coverage: pd.DataFrame, presence: pd.DataFrame,
               per_event: pd.DataFrame, targets: Mapping[str, float]) -> list[Recommendation]:
    """Per scope and key: raise valid coverage to max(target, share already sent); rank by gain."""
    top_reason: dict[tuple[str, str], str] = {}
    for key in KEYS:
        reasons = per_event[f"{key}_reason"]
        bad = reasons[per_event[f"{key}_present"].to_numpy() & ~per_event[f"{key}_valid"].to_numpy()]
        if len(bad):
            top_reason[(ALL_EVENTS, key)] = str(bad.value_counts().index[0])
            by_event = pd.crosstab(per_event.loc[bad.index, "event"], bad.astype(str))
            for event, row in by_event.iterrows():
                top_reason[(str(event), key)] = str(row.idxmax())
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
                msg += " " + _KEY_HINTS[(key, "missing")]
            recs.append(Recommendation(scope, key, action, events, cur, pre, target, gain,
                                       gain * events / total, mean + gain, reason, msg))
    # rank by what it does to the whole account's mean, so a rare event type cannot top the list
    recs.sort(key=lambda r: (-r.impact, r.event != ALL_EVENTS, -r.gain, KEYS.index(r.key)))
    return recs


def next_best_key(row: Mapping[str, Any]) -> str | None:
    """The key that would add the most to this event's score: the heaviest key not valid; None at 10.

    `row` is a per_event row (KEY_valid columns) or any mapping of KEY -> raw value (judged here).
    """
    for w in WEIGHTS:
        flag = row.get(f"{w.key}_valid")
        ok = bool(flag) if flag is not None else is_valid_key(w.key, row.get(w.key))
        if not ok:
            return w.key
    return None


def what_if(result: QualityResult, targets: Mapping[str, float], event_type: str | None = None,
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


# --- inputs -----------------------------------------------------------------------------------------
def score_bodies(docs: Iterable[object]) -> QualityResult:
    """Score Events API bodies (v1.3 bodies, bare events, or lists of either) via core.events."""
    from core.events import server_frame

    return score_frame(server_frame(docs))


def text_frame(text: str, name: str = "The pasted text") -> pd.DataFrame:
    """Server rows from pasted JSON or JSONL bodies/events; InvalidFile names the bad line, InvalidPayload
    says when the text holds no events."""
    from core.errors import InvalidPayload
    from core.events import parse_documents, server_frame

    frame = server_frame(parse_documents(text, name))
    if frame.empty:
        raise InvalidPayload(f"{name} holds no events.",
                             hint='Paste a v1.3 body ({"event_source": "web", "data": [...]}) or events.')
    return frame


def score_text(text: str, name: str = "The pasted text") -> QualityResult:
    """Score pasted JSON or JSONL bodies (see `text_frame` for the errors)."""
    return score_frame(text_frame(text, name))


def sent_events_frame(db_path: str | Path) -> pd.DataFrame:
    """Server rows for every event this console queued or sent (core.store), possibly empty.

    The store keeps hashed identifiers only, which is exactly what TikTok received."""
    from core.events import server_frame
    from core.store import Store

    with Store(db_path) as store:
        return server_frame(store.server_events())


PIXEL_SUFFIXES: Final = (".har",)


def load_quality_input(path: str | Path) -> pd.DataFrame:
    """Rows to score from a file: JSON/JSONL bodies or a server-event CSV (core.events), or a DevTools
    HAR of Pixel hits (core.pixel; its rows carry signal_diagnostic_labels). Raises InvalidFile."""
    p = Path(path)
    if p.suffix.lower() in PIXEL_SUFFIXES:
        from core.pixel import load_pixel_events

        pixel_rows: pd.DataFrame = load_pixel_events(p).events
        return pixel_rows
    from core.events import load_server_events

    return load_server_events(p)


def load_quality_upload(data: bytes, name: str) -> pd.DataFrame:
    """Rows to score from uploaded bytes named `name` (.json/.jsonl/.ndjson/.csv server events, .har
    Pixel hits). Same readers as `load_quality_input`; InvalidFile names an unsupported or empty file."""
    import tempfile

    suffix = Path(name).suffix.lower()
    if suffix in PIXEL_SUFFIXES:
        from core.pixel import load_pixel_events

        pixel_rows: pd.DataFrame = load_pixel_events(data, name).events
        return pixel_rows
    if suffix not in (".json", ".jsonl", ".ndjson", ".csv"):
        raise InvalidFile(f"{name}: the console reads .json, .jsonl, .ndjson, .csv and .har files here.",
                          hint="Export the events as JSON/JSONL bodies or a CSV with event columns.")
    if not data.strip():
        raise InvalidFile(f"{name} is empty.", hint="Upload a file that holds events.")
    from core.events import load_server_events

    # core.events reads CSV from a path (pyarrow's fast reader); hand it a private temporary copy
    with tempfile.TemporaryDirectory(prefix="tec-quality-") as folder:
        tmp = Path(folder) / Path(name).name  # keeps the user's file name in error messages
        tmp.write_bytes(data)
        frame = load_server_events(tmp)
    return frame


# --- outputs ----------------------------------------------------------------------------------------
def to_cli_json(result: QualityResult) -> dict[str, Any]:
    """The `tiktok-events quality --format json` document: every event with all seven keys, and summary.

    Shape: {"events": [{"index", "event", "score", "next_key", "keys": {KEY: {"present", "valid",
    "points", "reason"}}}], "summary": {...}}; reason is None when valid, "missing" when absent.
    """
    pe = result.per_event
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
    return {"events": events, "summary": result.summary}


def result_csv(result: QualityResult) -> bytes:
    """Per-event CSV (UTF-8, header row): index, event, score, next key, then per key present, valid,
    points and reason code. Written by pyarrow, so a 1M-row export takes seconds, not minutes."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    pe = result.per_event
    columns: dict[str, pa.Array] = {}
    for c in pe.columns:
        col = pe[c]
        if isinstance(col.dtype, pd.CategoricalDtype):  # codes + categories -> strings in C, not Python
            cats = pa.array([str(v) for v in col.cat.categories], type=pa.string())
            codes = pa.array(col.cat.codes.to_numpy(dtype=np.int32))
            columns[c] = pa.DictionaryArray.from_arrays(codes, cats).cast(pa.string())
        else:
            columns[c] = pa.array(col.to_numpy())
    table = pa.table(columns)
    sink = pa.BufferOutputStream()
    pacsv.write_csv(table, sink)
    return bytes(sink.getvalue().to_pybytes())


def weights_frame() -> pd.DataFrame:
    """The WEIGHTS table as a frame (key, points, tier, why) for display."""
    return pd.DataFrame([asdict(w) for w in WEIGHTS])


def recommendations_frame(result: QualityResult, event: str = ALL_EVENTS, limit: int = 7) -> pd.DataFrame:
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
    texts = _as_text(pixel_df["signal_diagnostic_labels"], len(pixel_df)).str.strip()
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
    texts = _as_text(pixel_df["signal_diagnostic_labels"], len(pixel_df)).str.strip()
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
