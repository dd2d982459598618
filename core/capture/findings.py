"""The Pixel side's findings in a capture, in lint's shape (core.lint Finding, catalogued `capture.*`).

Raw personal data is found here before anything is kept: page URLs and Pixel bodies are checked, then
redacted (`redact_url`, `redact_body`) so the events, the JSON and the saved HAR never hold an email or
phone number in clear; the finding says where it was.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from core.contract import LEGACY_EVENTS
from core.lint.findings import CAPTURE_CATALOGUE, Finding
from core.privacy import REDACTED_PII, is_raw_email, is_raw_phone

PURCHASE_EVENTS: Final = frozenset({"Purchase", "CompletePayment", "PlaceAnOrder"})
_PHONE_WORDS: Final = ("phone", "tel", "mobile", "cell", "msisdn", "whatsapp", "sms")
_URL_FIELDS: Final = ("url", "referrer", "href", "location")


def finding(code: str, path: str, message: str, fix: str | None = None) -> Finding:
    """A Finding with the catalogue's severity for `code` (and its fix unless a specific one is given)."""
    doc = CAPTURE_CATALOGUE[code]
    return Finding(doc.severity, code, path, message, fix or doc.fix)


def _raw_kind(name: str, value: str) -> str:
    """"email" / "phone" when `value` (under key or parameter `name`) is that in clear, else ""."""
    if is_raw_email(value):
        return "email"
    phone_key = any(w in name.lower() for w in _PHONE_WORDS)
    return "phone" if is_raw_phone(value, phone_key=phone_key) else ""


def url_pii(url: str) -> list[str]:
    """Where a URL carries raw PII: ["query email (email)", "path (email)"]; [] when clean."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    found = [f"query {name} ({kind})" for name, value in parse_qsl(parts.query, keep_blank_values=True)
             if (kind := _raw_kind(name, value))]
    found += [f"fragment ({kind})" for kind in [_raw_kind("", unquote(parts.fragment))] if kind]
    found += [f"path ({kind})" for seg in parts.path.split("/") if (kind := _raw_kind("", unquote(seg)))]
    return found


def redact_url(url: str) -> str:
    """The URL with every raw email/phone (query values, path segments, fragment) replaced by [redacted]."""
    if not url_pii(url):
        return url
    parts = urlsplit(url)
    red = quote(REDACTED_PII)
    query = urlencode([(n, REDACTED_PII if _raw_kind(n, v) else v)
                       for n, v in parse_qsl(parts.query, keep_blank_values=True)], safe="[]@")
    path = "/".join(red if _raw_kind("", unquote(s)) else s for s in parts.path.split("/"))
    fragment = red if _raw_kind("", unquote(parts.fragment)) else parts.fragment
    return urlunsplit((parts.scheme, parts.netloc, path, query, fragment))


def redact_body(value: Any, path: str = "") -> tuple[Any, list[str]]:
    """A Pixel body without raw PII (URLs redacted, raw emails/phones replaced) and the paths that held it."""
    found: list[str] = []
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            sub = f"{path}.{key}" if path else str(key)
            if isinstance(item, str) and (str(key) in _URL_FIELDS or item.startswith(("http://", "https://"))):
                out[key] = redact_url(item)
                found += [sub] if out[key] != item else []
            elif isinstance(item, str) and _raw_kind(str(key), item):
                out[key], found = REDACTED_PII, [*found, sub]
            else:
                out[key], more = redact_body(item, sub)
                found += more
        return out, found
    if isinstance(value, list):
        items = []
        for i, item in enumerate(value):
            clean, more = redact_body(item, f"{path}[{i}]")
            items.append(clean)
            found += more
        return items, found
    return value, found


def event_findings(index: int, row: Mapping[str, Any]) -> list[Finding]:
    """Findings for one captured Pixel row: a Purchase without event_id, a legacy twin name."""
    out: list[Finding] = []
    name = str(row.get("event") or "")
    where = f"events[{index}]"
    if name in PURCHASE_EVENTS and not str(row.get("event_id") or "").strip():
        out.append(finding("capture.purchase.no_event_id", f"{where}.event_id",
                           f"The Pixel's {name} for pixel {row.get('pixel_code')} on {row.get('url') or 'the page'} "
                           "has no event_id: the server's copy cannot deduplicate against it."))
    if name in LEGACY_EVENTS:
        out.append(finding("capture.event.legacy", f"{where}.event",
                           f"The Pixel fires {name!r}, the legacy twin of {LEGACY_EVENTS[name]!r}: a server event "
                           f"named {LEGACY_EVENTS[name]!r} never deduplicates against it.",
                           f"Fire {LEGACY_EVENTS[name]!r} on both legs."))
    return out


def page_findings(pages: Iterable[Mapping[str, Any]], raw_urls: Mapping[int, list[str]]) -> list[Finding]:
    """PII in page URLs (from the raw URLs seen, before redaction) and ttclid lost on a redirect."""
    out: list[Finding] = []
    for i, page in enumerate(pages):
        for where in raw_urls.get(i, []):
            out.append(finding("capture.pii.url", f"pages[{i}].url",
                               f"The URL of page {i + 1} ({page.get('url')}) carries raw personal data in its "
                               f"{where}; the Pixel sends it to TikTok in clear as page.url."))
        lost = page.get("ttclid_lost_at")
        if isinstance(lost, dict):
            out.append(finding("capture.ttclid.lost", f"pages[{i}].redirects",
                               f"ttclid was in {lost.get('from')} but the {lost.get('status')} redirect to "
                               f"{lost.get('to')} dropped it: the Pixel on {page.get('url')} never saw the click id."))
    return out


def no_events_finding(skipped: int, failed: int) -> Finding:
    """The one finding when nothing was captured, naming the likely causes."""
    causes = ["an ad blocker or a Content-Security-Policy blocking analytics.tiktok.com",
              "a consent banner holding the Pixel until consent is given",
              "a wrong or missing pixel code in ttq.load", "a journey that ends before the Pixel fires"]
    seen = f" ({failed} TikTok request(s) failed, {skipped} skipped)" if failed or skipped else ""
    return finding("capture.no_events", "events",
                   f"No Pixel event was captured{seen}. Likely causes: " + "; ".join(causes) + ".")
