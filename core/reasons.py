"""The EMQ proxy's reason codes and the console's one IP rule, in plain Python.

core.quality scores whole columns with them (vectorized: numpy, pyarrow); core.lint judges one IP at a time
with `ip_reason`, and reads the same texts, without loading pandas to do so.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Final

# --- reasons ----------------------------------------------------------------------------------------
# Stable reason codes (tests and CLI output refer to these, not to the text). "" means valid.
REASON_CODES: Final[tuple[str, ...]] = (
    "", "missing", "empty_hash", "hashed_placeholder", "placeholder", "whitespace", "unhashed",
    "uppercase_hash", "wrong_hash", "hashed", "too_short", "too_long", "bad_characters", "bad_shape",
    "unparseable", "has_port", "ip_list", "loopback", "private", "not_public", "server_library", "bot",
    "not_browser",
)
CODE: Final[dict[str, int]] = {c: i for i, c in enumerate(REASON_CODES)}
VALID, MISSING = CODE[""], CODE["missing"]

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

# --- values no key may hold: regular expressions read alike by Python's re and by RE2 (pyarrow, DuckDB) ----
ANYHEX64: Final = r"[0-9A-Fa-f]{64}"
PLACEHOLDER: Final = (
    r"(?i)(?:undefined|null|none|nil|nan|n/a|na|false|true|0|-|\(not set\)|\[object object\]|"
    r"\{\{.*\}\}|\$\{.*\}|__[a-z_]+__|%[a-z_]+%|\[[a-z_]+\])"
)


# IPv4 special-purpose ranges (IANA registry; the same ranges Python's ipaddress treats as non-global)
# in priority order. One table serves the numpy fast path and the scalar path, so they cannot disagree.
IPV4_SPECIAL: Final[tuple[tuple[str, str], ...]] = (
    ("127.0.0.0/8", "loopback"),
    ("10.0.0.0/8", "private"), ("172.16.0.0/12", "private"), ("192.168.0.0/16", "private"),
    ("0.0.0.0/8", "not_public"), ("100.64.0.0/10", "not_public"), ("169.254.0.0/16", "not_public"),
    ("192.0.0.0/29", "not_public"), ("192.0.0.170/31", "not_public"), ("192.0.2.0/24", "not_public"),
    ("198.18.0.0/15", "not_public"), ("198.51.100.0/24", "not_public"), ("203.0.113.0/24", "not_public"),
    ("224.0.0.0/4", "not_public"), ("240.0.0.0/4", "not_public"),
)
IPV4_RANGES: Final[list[tuple[int, int, int]]] = [
    (int(n.network_address), int(n.broadcast_address), CODE[c])
    for n, c in ((ipaddress.IPv4Network(net), c) for net, c in IPV4_SPECIAL)]


def _ipv4_code(value: int) -> int:
    for lo, hi, code in IPV4_RANGES:
        if lo <= value <= hi:
            return code
    return VALID


def ip_code(text: str) -> int:
    """Reason code for one IP text (the slow path: IPv6, mapped addresses, ports, lists)."""
    if text == "":
        return MISSING
    if "," in text:
        return CODE["ip_list"]
    if re.fullmatch(ANYHEX64, text):
        return CODE["hashed"]
    if re.fullmatch(PLACEHOLDER, text):
        return CODE["placeholder"]
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        host = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\]:\d{1,5}|(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}", text)
        if host:
            try:
                ipaddress.ip_address(host.group(1) or host.group(2))
                return CODE["has_port"]
            except ValueError:
                pass
        return CODE["unparseable"]
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    if isinstance(addr, ipaddress.IPv4Address):
        return _ipv4_code(int(addr))
    if addr.is_loopback:
        return CODE["loopback"]
    if addr in ipaddress.IPv6Network("fc00::/7"):
        return CODE["private"]
    if not addr.is_global or addr.is_multicast:
        return CODE["not_public"]
    return VALID


def ip_reason(text: str) -> str:
    """The EMQ proxy's reason code for one IP text: "" when it earns points, else why not.

    The one IP rule of the console: core.lint flags exactly the addresses this gives no points
    (loopback, private, documentation, shared, reserved). TikTok §2.3: the visitor's public address.
    """
    return REASON_CODES[ip_code(text.strip())]


__all__ = ["ANYHEX64", "CODE", "IPV4_RANGES", "IPV4_SPECIAL", "MISSING", "PLACEHOLDER", "REASONS", "REASON_CODES",
           "VALID", "ip_code", "ip_reason"]
