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
  The review built on the scores (tables by event type, recommendations, what-if, outputs, the Pixel's
  own verdicts) is core.review.

Everything is vectorized: validity is decided once per *distinct* value (pd.factorize) with pyarrow
regexes, IPv4 ranges with numpy, and mapped back to the rows; 1M events score in a few seconds
(bench/quality_bench.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
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
from core.reasons import (
    ANYHEX64,
    CODE,
    IPV4_RANGES,
    MISSING,
    PLACEHOLDER,
    REASON_CODES,
    REASONS,
    VALID,
    ip_code,
)
from core.sources.values import text_column

LABEL: Final = "EMQ proxy"
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


def fix_text(key: str, code: str) -> str:
    """What to do about reason `code` on `key`: the key's own hint when there is one, else the reason's fix.

    "" for a valid value ("") or an unknown code.
    """
    return _KEY_HINTS.get((key, code), REASONS.get(code, ("", ""))[1])


def reason_text(key: str, code: str) -> str:
    """A person-readable sentence for reason `code` on `key`, with the fix; "valid" for "".

    Codes are the stable ones in REASON_CODES; unknown codes are returned as they are.
    """
    if code == "":
        return "valid"
    what = REASONS.get(code, (code, ""))[0]
    return f"{KEY_LABELS.get(key, key)} {what}. {fix_text(key, code)}".strip()


# --- validity of distinct values (vectorized) ------------------------------------------------------
_HEX64 = r"[0-9a-f]{64}"
_OTHER_HEX = r"[0-9A-Fa-f]{32}|[0-9A-Fa-f]{40}|[0-9A-Fa-f]{56}|[0-9A-Fa-f]{96}|[0-9A-Fa-f]{128}"
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
                     [CODE[c] for _, c in pairs], default=VALID).astype(np.int8)


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
        (_match(s, PLACEHOLDER), "placeholder"),
        (_match(s, _HEX64), ""),
        (_match(s, ANYHEX64), "uppercase_hash"),
        (_match(s.str.strip(), ANYHEX64), "whitespace"),
        (_match(s, _OTHER_HEX), "wrong_hash"),
        (pd.Series(True, index=s.index), "unhashed"),
    )


def _classify_ttclid(s: pd.Series) -> npt.NDArray[np.int8]:
    """TikTok §6.4: the raw ?ttclid= value. Shape is not documented; TikTok's sample starts "E.C.P." but
    that prefix is not required here (other forms are seen); we only reject what cannot be a click id."""
    n = s.str.len()
    return _codes(
        (s == "", "missing"),
        (_match(s, PLACEHOLDER), "placeholder"),
        (_match(s, ANYHEX64), "hashed"),
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
        (_match(s, PLACEHOLDER), "placeholder"),
        (_match(s, ANYHEX64), "hashed"),
        (_search(s, r"\s"), "whitespace"),
        (~_match(s, _TTP), "bad_shape"),
    )


def _classify_user_agent(s: pd.Series) -> npt.NDArray[np.int8]:
    """TikTok §2.3: the visitor's User-Agent unhashed; a server library's or a bot's matches nobody."""
    return _codes(
        (s == "", "missing"),
        (_match(s, PLACEHOLDER), "placeholder"),
        (_match(s, ANYHEX64), "hashed"),
        (_search(s, _SERVER_LIB), "server_library"),
        (_search(s, _BOT), "bot"),
        (~_match(s, _BROWSER), "not_browser"),
        (s.str.len() < 30, "too_short"),
    )


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
        for lo, hi, code in IPV4_RANGES:
            hit = ~decided & (num >= lo) & (num <= hi)
            codes[hit] = code
            decided |= hit
        codes[~ok] = CODE["unparseable"]
        out[quad] = codes
    rest = np.flatnonzero(~quad)
    if len(rest):
        out[rest] = [ip_code(v) for v in s.iloc[rest].tolist()]
    return out


_CLASSIFIERS = {
    "ttclid": _classify_ttclid, "ttp": _classify_ttp, "ip": _classify_ip, "user_agent": _classify_user_agent,
}


def classify_key(key: str, values: Any) -> npt.NDArray[np.int8]:
    """Reason codes (indexes into REASON_CODES; 0 = valid) for every value of `key`, vectorized.

    Each distinct value is judged once (pd.factorize), so repeated ttp/UA/ip values cost nothing.
    Raises InvalidInput for an unknown key.
    """
    if key not in ALL_KEYS:
        raise InvalidInput(f"Unknown match key {key!r}.", hint=f"Use one of: {', '.join(ALL_KEYS)}.")
    s = text_column(values, 0)
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
@dataclass
class QualityResult:
    """The EMQ proxy of every event: `per_event` holds one row per input row (see `score_frame`).

    core.review builds the tables, recommendations and outputs the page and the CLI show from it.
    """

    per_event: pd.DataFrame


def _event_names(df: pd.DataFrame, n: int) -> pd.Series:
    if "event" not in df.columns:
        return pd.Series([NO_EVENT] * n, dtype="string[pyarrow]")
    names = text_column(df["event"], n).str.strip()
    return names.where(names != "", NO_EVENT)


def score_frame(df: pd.DataFrame) -> QualityResult:
    """Score every row of an event frame (server rows or Pixel rows) with the EMQ proxy.

    Reads the identifier columns by name (email, phone, external_id, ttclid, ttp, ip, user_agent and the
    minor first_name, last_name, zip_code; absent columns count as missing), `event` for grouping and
    `index` when present. Returns one row per input row: index, event, score, next_key, next_gain and
    KEY_present / KEY_valid / KEY_points / KEY_reason columns (no points for the minor keys).
    core.review.build_review turns it into the tables and recommendations.
    """
    n = len(df)
    index = (pd.to_numeric(df["index"], errors="coerce").fillna(-1).astype("int64").to_numpy()
             if "index" in df.columns else np.arange(n, dtype="int64"))
    reason_codes = {key: classify_key(key, df[key] if key in df.columns else [""] * n) for key in ALL_KEYS}
    return QualityResult(per_event_frame(index, _event_names(df, n), reason_codes))


def per_event_frame(index: Any, events: Any, reason_codes: Mapping[str, npt.NDArray[np.int8]]) -> pd.DataFrame:
    """The per-event frame of `score_frame` from each row's index, event name and reason codes per key.

    The one place scores, next keys and points are derived from reason codes: score_frame and the
    analysis engine (core.engine.quality, which classifies in SQL) both build their rows here.
    """
    n = len(index)
    per: dict[str, Any] = {"index": np.asarray(index, dtype="int64"),
                           "event": pd.Series(events, dtype="string[pyarrow]").astype("category")}
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
        codes = np.asarray(reason_codes[key], dtype=np.int8)
        per[f"{key}_present"] = codes != MISSING
        per[f"{key}_valid"] = codes == VALID
        if j < len(KEYS):
            per[f"{key}_points"] = valid[:, j] * weights[j]
        per[f"{key}_reason"] = pd.Categorical.from_codes(codes, categories=categories)
    return pd.DataFrame(per)


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


# --- inputs -----------------------------------------------------------------------------------------
def score_bodies(docs: Iterable[object]) -> QualityResult:
    """Score Events API bodies (v1.3 bodies, bare events, or lists of either) via core.sources.server."""
    from core.sources.server import server_frame

    return score_frame(server_frame(docs))


def text_frame(text: str, name: str = "The pasted text") -> pd.DataFrame:
    """Server rows from pasted JSON or JSONL bodies/events; InvalidFile names the bad line, InvalidPayload
    says when the text holds no events."""
    from core.errors import InvalidPayload
    from core.sources.jsondoc import parse_json_documents
    from core.sources.server import SHAPES_HINT, server_frame

    frame = server_frame(parse_json_documents(text, name, error=InvalidFile))
    if frame.empty:
        raise InvalidPayload(f"{name} holds no events.", hint=SHAPES_HINT)
    return frame


def score_text(text: str, name: str = "The pasted text") -> QualityResult:
    """Score pasted JSON or JSONL bodies (see `text_frame` for the errors)."""
    return score_frame(text_frame(text, name))


def sent_events_frame(db_path: str | Path, session_id: str | None = None) -> pd.DataFrame:
    """Server rows for the events one send session queued or sent (core.store), or for the whole history
    when `session_id` is None; possibly empty.

    The store keeps hashed identifiers only, which is exactly what TikTok received."""
    from core.sources.server import server_frame
    from core.store import Store

    with Store(db_path) as store:
        return server_frame(store.server_events(session_id))


def history_stamp(db_path: str | Path) -> str:
    """A cheap fingerprint of the history database's files (size and modification time of the database
    and its write-ahead log): it changes whenever events are recorded, so a page re-reads 100k stored
    events only when something new was written."""
    parts = []
    for suffix in ("", "-wal"):
        try:
            st = Path(f"{db_path}{suffix}").stat()
        except OSError:
            parts.append("-")
            continue
        parts.append(f"{st.st_size}:{st.st_mtime_ns}")
    return "/".join(parts)


def load_quality_input(source: Any, name: str | None = None) -> pd.DataFrame:
    """Rows to score from a path, bytes or an upload, sniffed once (core.sources): JSON / JSONL bodies or a
    server-event CSV, or a DevTools HAR of Pixel hits (its rows carry signal_diagnostic_labels).

    Raises InvalidFile for an empty, unreadable or unsupported input, or one that holds no events."""
    from core.sources.pixel import load_pixel_events
    from core.sources.server import load_server_events
    from core.sources.source import open_source

    src = open_source(source, name)
    if src.format == "har":
        pixel_rows: pd.DataFrame = load_pixel_events(src).events
        return pixel_rows
    return load_server_events(src)
