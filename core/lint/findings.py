"""Lint findings as data: the `Finding` record, the catalogue of every stable code, and their exports.

The linter (core.lint.linter) emits `Finding`s; each `code` is documented once in `CATALOGUE` with its
fixed severity, and docs/findings.md is rendered from it (`python -m core.lint > docs/findings.md`).
Ordering, counts, the JSON download and the annotated body live here too, so pages and the CLI handle
findings without the checks. The package `core.lint` re-exports every public name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from core.lint.jsonpath import line_for, locate_paths, path_sort_key, pretty_json

Severity = Literal["error", "warning", "info"]
SEVERITY_RANK: Final[dict[str, int]] = {"error": 0, "warning": 1, "info": 2}
SEVERITY_BADGE: Final[dict[str, str]] = {"error": "🔴 error", "warning": "🟠 warning", "info": "🔵 info"}


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem in a body: severity, stable code, JSON path of the offending key, message, fix.

    Over an upload (`lint_bodies`, `lint_upload`) the path is absolute in the input (`data[1500]`, not
    the 500th event of the second request), `line` is the input line of a JSONL record and `event_id`
    the offending event's id; both stay None for a single body.
    """

    severity: Severity
    code: str  # stable, e.g. "user.email.unhashed"; documented in CATALOGUE
    path: str  # "data[0].user.email", "data[0].user.email[1]", "event_source_id"; "" = the body itself
    message: str  # a marketer understands it
    fix: str
    line: int | None = None  # 1-based input line (JSONL) of the record that holds it
    event_id: str | None = None  # the event's event_id, when the finding is inside an event that has one

    def as_dict(self) -> dict[str, str | int]:
        """Plain dict in the order the CLI and the download use; `line` and `event_id` only when set."""
        out: dict[str, str | int] = {"severity": self.severity, "code": self.code, "path": self.path,
                                     "message": self.message, "fix": self.fix}
        if self.line is not None:
            out["line"] = self.line
        if self.event_id is not None:
            out["event_id"] = self.event_id
        return out


@dataclass(frozen=True, slots=True)
class CodeDoc:
    """Catalogue entry for one finding code: its fixed severity, a title, why it matters, the usual fix."""

    severity: Severity
    title: str
    why: str
    fix: str


_HASHED_NOTE = "TikTok matches on the lower-case hex SHA-256 of the normalized value (40062 PII_NOT_HASHED)."

# code -> (severity, title, why, fix). Every code `lint` emits must be here: `_Linter.add` looks it up.
_ENTRIES: Final[tuple[tuple[str, Severity, str, str, str], ...]] = (
    # --- body shape ---
    ("body.not_object", "error", "The body is not a JSON object",
     "The Events API takes one JSON object with `event_source`, `event_source_id` and `data`.",
     "Send an object like {\"event_source\": \"web\", \"event_source_id\": \"<pixel>\", \"data\": [...]}."),
    ("body.bare_event", "info", "A single event, not a full body",
     "The linter checks it as `data[0]`; the console wraps it in a v1.3 body when sending.",
     "Nothing to do, or send it as {\"event_source\": \"web\", \"event_source_id\": ..., \"data\": [event]}."),
    ("body.event_list", "info", "A list of events, not a full body",
     "A top-level array is read as the `data` array of one request.",
     "Wrap the array: {\"event_source\": \"web\", \"event_source_id\": ..., \"data\": [...]}."),
    ("body.legacy_v1", "warning", "Events API 1.0 body",
     "`/pixel/track/` and `/pixel/batch/` are the legacy Events API 1.0; TikTok moved integrations to "
     "Events API 2.0 (`/event/track/`).",
     "Migrate to the 2.0 body: see the finding's fix for the field mapping."),
    ("body.legacy_offline", "warning", "Offline Events API body",
     "`event_set_id` with `/offline/track/` or `/offline/batch/` is the older Offline Events API; offline "
     "events now go to `/event/track/` with `event_source` offline and the event set id.",
     "Migrate to the 2.0 body: see the finding's fix for the field mapping."),
    ("body.unknown_key", "info", "Key TikTok does not document at the top level",
     "TikTok may ignore it or reject the request.", "Remove it, or move it where TikTok reads it."),
    ("body.misplaced_key", "warning", "Key at the wrong level",
     "TikTok reads this key at another level of the body, so here it has no effect.",
     "Move the key where the fix says."),
    ("body.access_token", "error", "Access token inside the body",
     "TikTok takes the token in the `Access-Token` header only; in the body it leaks into logs and exports.",
     "Remove it from the body, send it as the Access-Token header, and rotate the token."),
    ("meta.key", "error", "Meta Conversions API key",
     "A Meta CAPI field name: TikTok ignores it, so the value it carries is lost.",
     "Rename it to the TikTok field the finding names."),
    ("meta.user_key", "error", "Meta Conversions API user key",
     "Meta's short user keys (em, ph, fbc, ...) mean nothing to TikTok; the match key is lost. fbc and fbp "
     "carry Meta's own ids: TikTok's come from the ttclid URL parameter (or ttclid cookie) and the _ttp "
     "cookie.", "Send the TikTok user field the finding names, with TikTok's value."),
    ("meta.phone_hash", "warning", "Phone hashed the Meta way",
     "Meta hashes phone digits without the +; TikTok hashes E.164 with the leading +, so the same number "
     "hashes differently. A hash cannot show which way it was made: this is advice on Meta-shaped bodies.",
     "Re-hash phones from the raw number in E.164 with the leading + (+12133734253)."),
    # --- top level ---
    ("event_source.missing", "error", "event_source missing",
     "TikTok needs to know the kind of source: web (Pixel), app, offline or crm.",
     "Add \"event_source\": \"web\" for Pixel events."),
    ("event_source.invalid", "error", "event_source not one of web, app, offline, crm",
     "TikTok accepts exactly these lower-case values.", "Use \"web\" for a Pixel code."),
    ("event_source_id.missing", "error", "event_source_id missing",
     "It names the Pixel (web) or event set (offline, CRM) the events belong to.",
     "Add \"event_source_id\": \"<your Pixel code>\" from Events Manager."),
    ("event_source_id.not_string", "error", "event_source_id is not a string",
     "TikTok answers 40002 \"Invalid value for event_source_id: not a valid string.\"",
     "Quote it: \"event_source_id\": \"C4A1B2C3D4E5F6G7H8I9\"."),
    ("event_source_id.mismatch", "warning", "event_source_id does not fit event_source",
     "Web uses a Pixel code (letters and digits), app the TikTok App ID; offline and CRM use a 19-digit "
     "event set id. All go to the same /event/track/.",
     "Pair a Pixel code with web, the App ID with app, an event set id with offline or crm."),
    ("event_source_id.pixel_code_offline", "error", "Pixel code on an offline event",
     "Offline events name their offline event set; with a Pixel code TikTok answers 40002 \"Invalid value "
     "for event_source_id\".",
     "Send the 19-digit offline event set id from Events Manager, or event_source web for Pixel events."),
    ("event_source_id.not_pixel_code", "warning", "event_source_id cannot be a Pixel code",
     "Pixel codes are 20 upper-case letters and digits (C4A1B2C3D4E5F6G7H8I9); TikTok finds no Pixel for "
     "anything else, so the events go nowhere.",
     "Copy the code from Events Manager > Data sources > your Pixel."),
    ("data.missing", "error", "data missing", "The events travel in the `data` array.",
     "Add \"data\": [ {event}, ... ]."),
    ("data.not_array", "error", "data is not an array", "TikTok reads `data` as an array of events.",
     "Wrap the event in [ ]."),
    ("data.empty", "error", "No events", "A request carries 1 to 1,000 events (40061 INVALID_BATCH_SIZE).",
     "Add at least one event."),
    ("data.too_many", "error", "More than 1,000 events",
     "TikTok rejects the whole request above 1,000 events (40061 INVALID_BATCH_SIZE).",
     "Split into requests of at most 1,000 events."),
    ("data.item_not_object", "error", "Event is not an object", "Each element of `data` is one event object.",
     "Replace it with {\"event\": ..., \"event_time\": ..., ...}."),
    ("test_event_code.not_string", "error", "test_event_code is not a string",
     "The code from Events Manager's Test Events tab is a string such as \"TEST12345\".", "Quote it."),
    ("test_event_code.empty", "warning", "test_event_code is empty",
     "An empty code sends live events that count in reporting.",
     "Paste the code from the Test Events tab, or remove the key for live traffic."),
    ("test_event_code.batched", "info", "Test events in a batch",
     "Integrations (RudderStack) send test events one per request: batching them is reported unsupported.",
     "Send test events one per request."),
    ("partner_name.set", "info", "partner_name set",
     "Only TikTok partners set it; unknown values are rejected with 40063 INVALID_PARTNER_NAME.",
     "Remove partner_name unless TikTok gave you one."),
    # --- event name ---
    ("event.name.missing", "error", "event missing", "Every event needs a name.",
     "Add \"event\": \"Purchase\" (or another standard event)."),
    ("event.name.not_string", "error", "event is not a string", "The event name is a string.",
     "Quote it."),
    ("event.name.near_miss", "warning", "Event name with the wrong spelling or casing",
     "Event names are case-sensitive: a near miss is a different, custom event that does not optimize.",
     "Use the exact name the finding gives."),
    ("event.name.legacy", "warning", "Legacy event name",
     "TikTok renamed or soft-deprecated it (May 2025); it is still accepted.",
     "Switch to the current name when convenient."),
    ("event.name.custom", "info", "Custom event name",
     "TikTok accepts custom events for reporting and audiences, not for optimization.",
     "Use a standard event if you want to optimize for it."),
    ("event.name.app_event", "info", "App event name on a web source",
     "This is an app standard event; on event_source web it counts as a custom event.",
     "Use a web standard event, or event_source app."),
    ("event.name.offline_custom", "warning", "Custom event on an offline source",
     "Offline event sets accept standard events only.", "Use a standard event name."),
    # --- event_time ---
    ("event.event_time.missing", "error", "event_time missing",
     "TikTok needs the time the event happened, as Unix seconds (UTC).",
     "Add \"event_time\": <integer Unix seconds>."),
    ("event.event_time.milliseconds", "error", "event_time in milliseconds",
     "TikTok wants seconds; a milliseconds value lies tens of thousands of years in the future.",
     "Divide by 1000 and drop the fraction."),
    ("event.event_time.string", "error", "event_time is a string", "TikTok wants an integer, not text.",
     "Send the integer the finding names, without quotes."),
    ("event.event_time.invalid", "error", "event_time is not a time",
     "It must be a positive integer of Unix seconds.", "Send e.g. 1735689600."),
    ("event.event_time.fraction", "warning", "event_time has a fraction",
     "TikTok wants integer seconds.", "Round down to the integer."),
    ("event.event_time.future", "warning", "event_time in the future",
     "More than 5 minutes ahead: a wrong clock or time zone; TikTok may drop or misdate it.",
     "Send the time the event happened, in UTC seconds."),
    ("event.event_time.too_old", "warning", "event_time older than 7 days",
     "TikTok documents no maximum age (third parties cite 7 to 28 days); old events may not attribute.",
     "Send events in real time; check the value is seconds of the right date."),
    # --- event_id ---
    ("event.event_id.missing", "warning", "event_id missing on a Pixel-deduplicated event",
     "Without event_id TikTok cannot deduplicate this server event against the same Pixel event.",
     "Send the same event_id as ttq.track(..., {event_id}) on the page, e.g. \"ord_10492_purchase\"."),
    ("event.event_id.not_string", "error", "event_id is not a string",
     "TikTok answers 40002 \"Invalid value for event_id: not a valid string.\"", "Quote it."),
    ("event.event_id.pii", "error", "event_id contains personal data",
     "event_id travels unhashed: an email or phone number in it leaks PII to TikTok.",
     "Build it from an order or session id, e.g. \"ord_10492_purchase\"."),
    ("event.event_id.duplicate", "warning", "Same event and event_id twice in the batch",
     "TikTok keeps the first and drops the other as a duplicate.",
     "Give each distinct event its own event_id; remove true duplicates."),
    # --- other event keys ---
    ("event.unknown_key", "info", "Key TikTok does not document on an event",
     "TikTok may ignore it.", "Remove it or move it where TikTok reads it."),
    ("event.user.missing", "info", "No user object",
     "Without match keys (ttclid, email, phone, ip + user_agent, ttp) TikTok cannot attribute the event.",
     "Add a user object with the keys you have."),
    ("event.not_object", "error", "Field is not an object",
     "user, properties, page (and app, ad, lead) are JSON objects.", "Send an object { ... }."),
    ("event.limited_data_use.not_boolean", "error", "limited_data_use is not true/false",
     "TikTok reads a JSON boolean.", "Send true or false without quotes."),
    ("event.lead.missing", "warning", "CRM event without lead.lead_id",
     "CRM events are matched by lead_id.", "Add \"lead\": {\"lead_id\": \"...\"}."),
    # --- user ---
    ("user.email.unhashed", "error", "Email not hashed", _HASHED_NOTE,
     "Trim, lower-case and SHA-256 hash it (the finding gives the value)."),
    ("user.phone.unhashed", "error", "Phone not hashed", _HASHED_NOTE + " Phone is E.164 (+ and country code).",
     "Format as E.164 and SHA-256 hash it (the finding gives the value)."),
    ("user.external_id.unhashed", "warning", "external_id not hashed", _HASHED_NOTE,
     "SHA-256 hash the trimmed id (the finding gives the value)."),
    ("user.first_name.unhashed", "warning", "first_name not hashed", _HASHED_NOTE,
     "Lower-case, drop whitespace, SHA-256 hash."),
    ("user.last_name.unhashed", "warning", "last_name not hashed", _HASHED_NOTE,
     "Lower-case, drop whitespace, SHA-256 hash."),
    ("user.zip_code.unhashed", "warning", "zip_code not hashed", _HASHED_NOTE,
     "Drop spaces and dashes, lower-case, SHA-256 hash."),
    ("user.hash.empty", "error", "SHA-256 of an empty string",
     "e3b0c442...b855 is the hash of nothing: an empty field was hashed upstream; it matches nobody.",
     "Leave the key out when the value is empty."),
    ("user.hash.wrong_algorithm", "error", "Hash of the wrong length",
     "32, 40 or 128 hex characters are MD5, SHA-1 or SHA-512; TikTok matches SHA-256 (64) only.",
     "Hash with SHA-256."),
    ("user.hash.uppercase", "warning", "Upper-case SHA-256",
     "TikTok expects lower-case hex.", "Lower-case the hash."),
    ("user.hash.whitespace", "warning", "Spaces around a hash", "The hash is compared as sent.",
     "Trim the value."),
    ("user.ttclid.hashed", "warning", "ttclid looks hashed",
     "The click id must be the raw value from ?ttclid= on the landing URL.", "Send it unhashed."),
    ("user.ttp.hashed", "warning", "ttp looks hashed",
     "ttp must be the raw value of the _ttp cookie.", "Send the cookie value unhashed."),
    ("user.ttclid.in_url", "info", "ttclid in page.url but not in user",
     "The click id is the strongest match key and sits in the landing URL.",
     "Copy the ttclid query parameter into user.ttclid."),
    ("user.location.hashed", "warning", "city/state/country looks hashed",
     "Integrations send these unhashed (lower-case letters and digits).", "Send the plain value."),
    ("user.ip.invalid", "error", "ip is not an IP address",
     "TikTok needs the customer's unhashed public IPv4 or IPv6 address.",
     "Send one address, e.g. 203.0.114.7, without port or list."),
    ("user.ip.private", "warning", "IP that is not the customer's public address",
     "Private, loopback, documentation (203.0.113.0/24 ...), shared, link-local and reserved addresses are "
     "your network or no one's; the EMQ proxy gives them no points, and TikTok cannot match them.",
     "Send the customer's public IP (e.g. the first public X-Forwarded-For entry)."),
    ("user.ip.missing", "warning", "Web event without ip",
     "TikTok matches web events on the customer's IP with the user agent (the Pixel sends both; the Events "
     "API only when you do).", "Forward the customer's IP (the first public X-Forwarded-For entry) as user.ip."),
    ("user.user_agent.missing", "warning", "Web event without user_agent",
     "TikTok matches web events on the browser's user agent with the IP.",
     "Forward the browser's User-Agent header as user.user_agent."),
    ("user.user_agent.server_library", "warning", "user_agent of a server library",
     "This is your HTTP client's user agent, not the customer's browser.",
     "Forward the browser's User-Agent header from the original request."),
    ("user.locale.format", "warning", "locale not BCP-47", "TikTok expects e.g. en-US.",
     "Use a hyphen: en-US."),
    ("user.value.type", "error", "User value of the wrong type",
     "User values are strings; email, phone and external_id may also be arrays of strings.",
     "Send a string (or an array of strings where allowed)."),
    ("user.value.empty", "warning", "Empty user value", "An empty value carries no match key.",
     "Leave the key out instead."),
    ("user.value.placeholder", "warning", "Placeholder instead of a value",
     "\"undefined\", \"null\" and the like are template bugs; hashed, they match nobody.",
     "Leave the key out when there is no value."),
    ("user.unknown_key", "info", "Unknown user key", "TikTok may ignore it.",
     "Rename it to a TikTok user field or remove it."),
    ("user.misnamed_key", "warning", "Misnamed user key",
     "A common other spelling (phone_number, ip_address, zip, ...) of a TikTok user field: TikTok ignores it "
     "and the match key is lost.", "Rename it to the field the finding names."),
    ("consent.denied_with_pii", "error", "Personal data sent despite denied consent",
     "ad_user_data is DENIED, yet the event carries personal identifiers.",
     "Drop email, phone, external_id, names and zip when consent is denied (or do not send)."),
    # --- properties ---
    ("properties.value.not_number", "error", "value is not a number",
     "value is a JSON number: no quotes, currency symbols or thousands separators.", "Send e.g. 46.0."),
    ("properties.value.negative", "error", "Negative value", "value is the order total, zero or more.",
     "Send the positive total; report refunds elsewhere."),
    ("properties.value.missing", "info", "No value on a value event",
     "Without value and currency TikTok cannot report ROAS or optimize for value.",
     "Add value and currency."),
    ("properties.currency.missing", "error", "value without currency",
     "TikTok cannot use a value without its currency.", "Add \"currency\": \"USD\" (ISO 4217)."),
    ("properties.currency.not_string", "error", "currency is not a string", "ISO 4217 codes are text.",
     "Send e.g. \"USD\"."),
    ("properties.currency.lowercase", "warning", "Lower-case currency", "TikTok's list is upper-case.",
     "Upper-case it."),
    ("properties.currency.unsupported", "error", "Currency not supported by TikTok",
     "TikTok accepts a fixed ISO 4217 allow-list.", "Convert the value to a listed currency (e.g. USD)."),
    ("properties.content_type.invalid", "error", "content_type not product or product_group",
     "TikTok accepts only product (SKU ids) or product_group (item group ids).",
     "Use \"product\" or \"product_group\"."),
    ("properties.contents.invalid", "error", "contents is not an array of objects",
     "contents is [ {content_id, price, quantity, ...}, ... ].", "Send an array of item objects."),
    ("properties.contents.content_id_missing", "warning", "Item without content_id",
     "Catalog ads match items by content_id.", "Add the SKU (or item group) id as a string."),
    ("properties.content_id.not_string", "error", "content_id is not a string",
     "TikTok answers \"content_id: Not a valid string\".", "Quote the id: \"1077218\"."),
    ("properties.contents.quantity_invalid", "error", "quantity is not a positive integer",
     "quantity counts units.", "Send an integer such as 2."),
    ("properties.contents.price_invalid", "error", "price is not a number",
     "price is the unit price as a JSON number.", "Send e.g. 8.0."),
    ("properties.content_ids.invalid", "error", "content_ids is not an array of strings",
     "content_ids lists item ids as strings.", "Send [\"1077218\", \"1077219\"]."),
    ("properties.num_items.invalid", "error", "num_items is not an integer", "num_items counts items.",
     "Send an integer."),
    # --- page ---
    ("page.url.not_absolute", "warning", "page.url is not an absolute URL",
     "TikTok wants the full page URL (location.href) with scheme, host and query string.",
     "Send e.g. https://shop.example/thanks?ttclid=..."),
    ("page.url.missing", "warning", "Web event without page.url",
     "TikTok needs the page a web event happened on to match and attribute it; its ttclid often sits there.",
     "Send page.url: the full location.href, query string included."),
    ("page.referrer.not_absolute", "warning", "page.referrer is not an absolute URL",
     "The referrer is the previous page's full URL.", "Send document.referrer or the Referer header."),
    # --- legacy 1.0 ---
    ("legacy.batch.invalid", "error", "batch is not an array of events",
     "The 1.0 batch body is {pixel_code, batch: [ {type: \"track\", event, ...} ]}.",
     "Send an array (or migrate to 2.0)."),
    ("legacy.batch.too_many", "error", "More than 50 events in a 1.0 batch",
     "Events API 1.0 batches hold at most 50 events.", "Split the batch, or migrate to 2.0 (1,000)."),
    ("legacy.timestamp.invalid", "warning", "timestamp is not ISO 8601",
     "1.0 reads an ISO 8601 string; 2.0 reads integer event_time seconds.",
     "Send e.g. \"2026-01-01T12:00:00Z\", or migrate to event_time."),
)
CATALOGUE: Final[dict[str, CodeDoc]] = {c: CodeDoc(s, t, w, f) for c, s, t, w, f in _ENTRIES}

# Codes a live browser capture emits (core.capture.findings) in the same Finding shape; not lint's own, so
# kept apart from CATALOGUE (which lists exactly what `lint` emits) but rendered into docs/findings.md too.
_CAPTURE_ENTRIES: Final[tuple[tuple[str, Severity, str, str, str], ...]] = (
    ("capture.pii.url", "error", "Raw personal data in a page URL",
     "The Pixel sends page.url (and the next page's referrer) to TikTok in clear, so an email or phone "
     "number in the URL leaves the browser unhashed.",
     "Keep personal data out of URLs: POST the form, or put an order id in the URL instead."),
    ("capture.pii.body", "error", "Raw personal data in a Pixel body",
     "An email or phone number travels to TikTok in clear; the Pixel should only send SHA-256 hashes.",
     "Pass raw values to ttq.identify (the Pixel hashes them) or hash them yourself before sending."),
    ("capture.ttclid.lost", "error", "ttclid dropped by a redirect",
     "The landing URL carried TikTok's click id but a redirect removed it before the Pixel could store it, "
     "so the conversion cannot be attributed to the ad click.",
     "Make the redirect keep the query string (or at least ttclid)."),
    ("capture.purchase.no_event_id", "error", "Purchase without event_id",
     "Without an event_id TikTok cannot deduplicate the Pixel's purchase against the server's, and counts "
     "it twice.",
     "Pass {event_id: ...} to ttq.track with the id the server event uses (e.g. ord_<order>_purchase)."),
    ("capture.event.legacy", "warning", "Legacy event name fired by the Pixel",
     "CompletePayment, PlaceAnOrder, SubmitForm and ClickButton are the legacy twins of current names; a "
     "server event under the other twin never deduplicates against it.",
     "Fire the current name (Purchase, Lead) on both legs."),
    ("capture.pixel_code.missing", "error", "Pixel hit without a pixel code",
     "TikTok treats a hit that names no pixel as invalid: the event is lost.",
     "Load the Pixel with ttq.load('<pixel code>') before tracking, or check a proxy keeps the body whole."),
    ("capture.request.failed", "warning", "Request to TikTok failed or was blocked",
     "An ad blocker, a Content-Security-Policy or the network stopped a Pixel request: TikTok never saw it.",
     "Allow analytics.tiktok.com in the CSP; expect some loss to blockers and cover it with the Events API."),
    ("capture.journey.step_failed", "error", "Journey step failed",
     "The page did not do what the journey expected, so the capture stopped early.",
     "Fix the step's selector or URL, or make the page show the element the step waits for."),
    ("capture.no_events", "error", "No Pixel event captured",
     "The browser made no request to TikTok's Pixel endpoints.",
     "Check for an ad blocker or a consent banner holding the Pixel back, and the pixel code in ttq.load."),
)
CAPTURE_CATALOGUE: Final[dict[str, CodeDoc]] = {c: CodeDoc(s, t, w, f) for c, s, t, w, f in _CAPTURE_ENTRIES}


def has_errors(findings: Iterable[Finding]) -> bool:
    """True when any finding has severity error (the CLI then exits 1)."""
    return any(f.severity == "error" for f in findings)


_EVENT_INDEX_RE: Final = re.compile(r"^(?:data)?\[(\d+)\]")


def event_index(path: str) -> int | None:
    """The event position a path points into (`data[1500].user.ip` -> 1500, `[3]` -> 3); None above events."""
    m = _EVENT_INDEX_RE.match(path)
    return int(m.group(1)) if m else None


def error_event_indexes(findings: Iterable[Finding]) -> set[int]:
    """Positions of the events that carry a finding of severity error (absolute over `lint_bodies` input).

    The send path holds these events back: TikTok refuses a whole request over one bad event (40002
    names `data.N`). Errors above the events (`event_source`, `data`) are not in the set; `has_errors`
    still sees them.
    """
    out: set[int] = set()
    for f in findings:
        if f.severity == "error" and (i := event_index(f.path)) is not None:
            out.add(i)
    return out


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Errors first, then warnings, then info; by path (in body order for data[i]) and code within."""
    return sorted(findings, key=lambda f: (SEVERITY_RANK[f.severity], path_sort_key(f.path), f.code))


def count_findings(findings: Iterable[Finding]) -> dict[str, int]:
    """Counts per severity: {"error": n, "warning": n, "info": n}."""
    counts = {"error": 0, "warning": 0, "info": 0}
    for f in findings:
        counts[f.severity] += 1
    return counts


def findings_json(findings: Sequence[Finding]) -> bytes:
    """The download/CLI document `{"findings": [...], "counts": {...}}` as UTF-8 JSON bytes."""
    doc = {"findings": [f.as_dict() for f in findings], "counts": count_findings(findings)}
    return json.dumps(doc, indent=2, ensure_ascii=False).encode("utf-8")


def annotate_json(body: object, findings: Sequence[Finding]) -> tuple[str, dict[int, list[Finding]]]:
    """The pretty body with `◀ 🔴 code` markers at the end of each offending line, and line -> findings."""
    text = pretty_json(body)
    located = locate_paths(text)
    by_line: dict[int, list[Finding]] = {}
    for f in findings:
        by_line.setdefault(line_for(f.path, located), []).append(f)
    icons = {"error": "🔴", "warning": "🟠", "info": "🔵"}
    lines = text.split("\n")
    for n, fs in by_line.items():
        marks = ", ".join(f"{icons[f.severity]} {f.code}" for f in fs)
        lines[n - 1] = f"{lines[n - 1]}   ◀ {marks}"
    return "\n".join(lines), by_line


def render_catalogue_markdown() -> str:
    """docs/findings.md: every finding code with severity, title, why and fix, grouped by area."""
    out = [
        "# Lint findings catalogue",
        "",
        "Generated from `core.lint.CATALOGUE` by `python -m core.lint > docs/findings.md`; a test keeps it in",
        "sync. Each finding also carries the exact JSON `path` of the offending key and a specific fix.",
        "Severity: **error** = TikTok rejects it or the data is lost; **warning** = accepted but weakens",
        "matching, deduplication or reporting; **info** = worth knowing.",
        "",
    ]
    area = None
    every = {**CATALOGUE, **CAPTURE_CATALOGUE}
    for code, doc in every.items():
        head = code.split(".")[0]
        if head != area:
            area = head
            out += [f"## `{head}`", "", "| Code | Severity | Title | Why | Fix |", "|---|---|---|---|---|"]
        cells = [f"`{code}`", doc.severity, doc.title, doc.why, doc.fix]
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        nxt = list(every).index(code) + 1
        if nxt == len(every) or list(every)[nxt].split(".")[0] != head:
            out.append("")
    return "\n".join(out)
