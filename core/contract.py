"""TikTok's rules as data: endpoints, event names, fields, limits and return codes.

Everything here restates ../shared/tiktok-contract.md (sources there). This module imports nothing of
ours, so every other module can depend on it. Where TikTok's documentation is UNSURE, the value chosen
is the conservative one and the comment says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

# --- Endpoints (contract §1) -------------------------------------------------------------------
TIKTOK_BASE_URL: Final = "https://business-api.tiktok.com"
TRACK_PATH: Final = "/open_api/v1.3/event/track/"
LEGACY_TRACK_PATHS: Final = ("/open_api/v1.3/pixel/track/", "/open_api/v1.3/pixel/batch/")
ACCESS_TOKEN_HEADER: Final = "Access-Token"  # exact casing; no "Bearer"
TOKEN_PLACEHOLDER: Final = "$TIKTOK_ACCESS_TOKEN"  # what cURL copies and logs show instead of a token
REDACTED: Final = "***redacted***"

# --- Body (contract §2) ------------------------------------------------------------------------
EVENT_SOURCES: Final = ("web", "app", "offline", "crm")
TOP_LEVEL_FIELDS: Final = ("event_source", "event_source_id", "test_event_code", "partner_name", "data")
EVENT_FIELDS: Final = (
    "event", "event_time", "event_id", "user", "properties", "page", "limited_data_use",
    "lead", "app", "ad", "device",
)
USER_FIELDS: Final = (
    "email", "phone", "external_id", "ttclid", "ttp", "ip", "user_agent", "locale",
    "first_name", "last_name", "zip_code", "city", "state", "country",
    "idfa", "idfv", "gaid", "att_status",
)
# user fields that must be SHA-256 hex; the first three may be arrays ("single or multiple")
HASHED_USER_FIELDS: Final = ("email", "phone", "external_id", "first_name", "last_name", "zip_code")
ARRAY_USER_FIELDS: Final = ("email", "phone", "external_id")
# user fields that must travel unhashed
RAW_USER_FIELDS: Final = ("ttclid", "ttp", "ip", "user_agent", "locale", "city", "state", "country")
# removed when the user denied ad_user_data (sender-side consent gating, contract §2.3)
CONSENT_SUPPRESSED_FIELDS: Final = ("email", "phone", "external_id", "first_name", "last_name", "zip_code")
PROPERTY_FIELDS: Final = (
    "contents", "content_type", "content_ids", "currency", "value", "num_items", "search_string", "query",
    "description", "order_id", "shop_id", "delivery_category", "predicted_ltv",
)
CONTENT_FIELDS: Final = (
    "content_id", "content_name", "content_category", "content_type", "price", "quantity", "brand",
)
CONTENT_TYPES: Final = ("product", "product_group")
CONSENT_STATES: Final = ("GRANTED", "DENIED")

MAX_EVENTS_PER_REQUEST: Final = 1000
MS_TIMESTAMP_THRESHOLD: Final = 10**11  # an event_time above this is milliseconds, not seconds
US_TIMESTAMP_THRESHOLD: Final = 10**14  # ... above this microseconds (seconds there would be year 5138+)
NS_TIMESTAMP_THRESHOLD: Final = 10**17  # ... above this nanoseconds (Spark / pandas exports)
MAX_EVENT_AGE_DAYS: Final = 7  # policy warning, not a documented TikTok limit (contract §3, UNSURE)
FUTURE_TOLERANCE_SECONDS: Final = 300  # clock skew tolerated before an event_time counts as future

# ISO-4217 allow-list (contract §2.4; TikTok's list repeats PHP)
CURRENCIES: Final = frozenset((
    "AED", "ARS", "AUD", "BDT", "BHD", "BIF", "BOB", "BRL", "CAD", "CHF", "CLP", "CNY", "COP", "CRC", "CZK",
    "DKK", "DZD", "EGP", "EUR", "GBP", "GTQ", "HKD", "HNL", "HUF", "IDR", "ILS", "INR", "ISK", "JPY", "KES",
    "KHR", "KRW", "KWD", "KZT", "MAD", "MOP", "MXN", "MYR", "NGN", "NIO", "NOK", "NZD", "OMR", "PEN", "PHP",
    "PKR", "PLN", "PYG", "QAR", "RON", "RUB", "SAR", "SEK", "SGD", "THB", "TRY", "TWD", "UAH", "USD", "VES",
    "VND", "ZAR",
))

# --- Event names (contract §5) -----------------------------------------------------------------
# Current web standard events (TikTok update effective 1 May 2025), offered first in the builder.
STANDARD_EVENTS: Final = (
    "AddPaymentInfo", "AddToCart", "AddToWishlist", "ApplicationApproval", "CompleteRegistration",
    "Contact", "CustomizeProduct", "Download", "FindLocation", "InitiateCheckout", "Lead", "Purchase",
    "Schedule", "Search", "StartTrial", "SubmitApplication", "Subscribe", "ViewContent",
)
# Legacy names still accepted; value = the current name to migrate to.
LEGACY_EVENTS: Final = {
    "CompletePayment": "Purchase",
    "SubmitForm": "Lead",
    "ClickButton": "Lead",
    "PlaceAnOrder": "Purchase",
}
PAGEVIEW_EVENT: Final = "Pageview"  # what ttq.page() emits (lower-case v)
APP_EVENTS: Final = (
    "AchieveLevel", "Checkout", "CompleteTutorial", "CreateGroup", "CreateRole", "GenerateLead",
    "InAppADClick", "InAppADImpr", "InstallApp", "JoinGroup", "LaunchAPP", "LoanApplication",
    "LoanApproval", "LoanDisbursal", "Login", "Rate", "Registration", "SpendCredits", "UnlockAchievement",
)
KNOWN_EVENTS: Final = frozenset((*STANDARD_EVENTS, *LEGACY_EVENTS, PAGEVIEW_EVENT, *APP_EVENTS))
# Events the browser Pixel usually also fires, so the server copy needs an event_id to deduplicate.
PIXEL_DEDUPLICATED_EVENTS: Final = frozenset(
    (*STANDARD_EVENTS, *LEGACY_EVENTS, PAGEVIEW_EVENT)
)
VALUE_EVENTS: Final = frozenset(
    ("Purchase", "CompletePayment", "PlaceAnOrder", "AddToCart", "InitiateCheckout", "AddPaymentInfo",
     "ViewContent", "Subscribe", "StartTrial")
)

# --- Meta Conversions API shapes that do not belong in a TikTok body (contract §9, prior-art §8) --
META_USER_KEYS: Final = {
    "em": "email", "ph": "phone", "fn": "first_name", "ln": "last_name", "zp": "zip_code",
    "ct": "city", "st": "state", "country": "country", "external_id": "external_id",
    "client_ip_address": "ip", "client_user_agent": "user_agent", "fbc": "ttclid", "fbp": "ttp",
    "ge": None, "db": None,
}
META_TOP_KEYS: Final = {
    "user_data": "user", "custom_data": "properties", "event_name": "event",
    "action_source": "event_source", "event_source_url": "page.url",
}

# --- Deduplication (contract §8) -----------------------------------------------------------------
DEDUP_WINDOW_SECONDS: Final = 48 * 3600
MERGE_WINDOW_SECONDS: Final = 5 * 60

# --- Hashing -------------------------------------------------------------------------------------
SHA256_HEX_RE: Final = re.compile(r"^[A-Fa-f0-9]{64}$")
EMPTY_SHA256: Final = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


# --- Return codes (contract §4) ------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ReturnCode:
    """One TikTok Business API return code: its constant, what it means, the fix, and retry policy."""

    code: int
    name: str
    meaning: str
    fix: str
    retry: bool = False
    success: bool = False


_CODES: Final = (
    ReturnCode(0, "OK", "Accepted: TikTok received the events.",
               "Check the Test Events tab to see what TikTok kept.", success=True),
    ReturnCode(20001, "PARTIAL_OK", "Partial success: some events were accepted, others were not.",
               "Read the message for the rejected rows, fix them and resend only those.", success=True),
    ReturnCode(40000, "INVALID_PARAMS", "Invalid parameters.", "Lint the body and fix every error."),
    ReturnCode(40001, "PERMISSION_ERROR", "The token has no permission on this Pixel.",
               "Generate the token from this Pixel's Settings > Events API, or ask for admin/operator access."),
    ReturnCode(40002, "PARAM_ERROR", "A field failed TikTok's validation (the message names it).",
               "Fix the named field; event_id and event_source_id must be JSON strings."),
    ReturnCode(40003, "FORBIDDEN", "Forbidden.", "Check the token's account and the Pixel code."),
    ReturnCode(40006, "VERSION_ERROR", "Wrong API version.", "Use /open_api/v1.3/event/track/."),
    ReturnCode(40007, "NOT_EXIST", "The object (e.g. Pixel) does not exist.", "Check event_source_id."),
    ReturnCode(40011, "ID_LIMIT_EXCEED", "Too many ids in one request.", "Send fewer ids per request."),
    ReturnCode(40050, "DUPLICATED_REQUEST", "Duplicate request.", "Do not resend the identical request."),
    ReturnCode(40051, "INVALID_API_VERSION", "Invalid API version.", "Use /open_api/v1.3/event/track/."),
    ReturnCode(40061, "INVALID_BATCH_SIZE", "Batch empty or larger than 1,000 events.",
               "Send 1 to 1,000 events per request."),
    ReturnCode(40062, "PII_NOT_HASHED", "Personal data was sent unhashed.",
               "Normalize and SHA-256 hash email, phone and external_id before sending."),
    ReturnCode(40063, "INVALID_PARTNER_NAME", "Unknown partner_name.", "Remove partner_name."),
    ReturnCode(40100, "REQUEST_TOO_FREQUENT", "Too many requests; rate limited.",
               "Wait and retry with backoff (the console does this).", retry=True),
    ReturnCode(40101, "INVALID_PARTNER", "Invalid partner.", "Remove partner_name."),
    ReturnCode(40102, "ACCESS_TOKEN_EXPIRE", "The access token expired.", "Generate a new token."),
    ReturnCode(40103, "REFRESH_TOKEN_EXPIRE", "The refresh token expired.", "Re-authorize the app."),
    ReturnCode(40104, "EMPTY_ACCESS_TOKEN", "No Access-Token header was sent.",
               "Set TIKTOK_ACCESS_TOKEN (or TIKTOK_ACCESS_TOKEN in .streamlit/secrets.toml)."),
    ReturnCode(40105, "INVALID_ACCESS_TOKEN", "Access token is incorrect or has been revoked.",
               "Generate a new token in Events Manager > Pixel > Settings > Events API."),
    ReturnCode(40118, "NOT_IN_WHITELIST", "Feature not allow-listed (e.g. app events).",
               "Ask your TikTok representative to enable it, or use event_source web."),
    ReturnCode(40130, "SCOPE_NOT_AUTHORIZED", "The token lacks the required scope.",
               "Generate a token with Events API scope."),
    ReturnCode(40132, "REQUEST_FREQUENCY_LIMITED", "Rate limited.", "Retry with backoff.", retry=True),
    ReturnCode(40300, "ADVERTISER_NOT_EXIST", "Advertiser does not exist.", "Check the account."),
    ReturnCode(40301, "ROLE_ERROR", "Role error.", "Check your role on the advertiser account."),
    ReturnCode(40400, "ROUTE_NOT_FOUND", "Bad path.", "POST to /open_api/v1.3/event/track/."),
    ReturnCode(40700, "RPC_VALIDATION_ERROR", "Validation error inside TikTok.", "Lint and fix the body."),
    ReturnCode(41000, "BLOCKED", "Blocked.", "Contact TikTok support with the request_id."),
    ReturnCode(41001, "INTERFACE_OFFLINE", "The endpoint was retired.", "Use /open_api/v1.3/event/track/."),
    ReturnCode(41002, "FIELDS_OFFLINE", "A field was retired.", "Remove the retired field."),
    ReturnCode(50000, "SYS_ERROR", "TikTok system error.", "Retry later (the console retries).", retry=True),
    ReturnCode(50002, "SYS_TIMEOUT", "TikTok timed out internally.", "Retry (the console retries).",
               retry=True),
    ReturnCode(53102, "SERIALIZATION_ERROR", "Malformed body.", "Send valid JSON."),
    ReturnCode(53103, "DESERIALIZATION_ERROR", "Malformed body.", "Send valid JSON with the right types."),
    ReturnCode(60001, "MAINTENANCE", "TikTok is under maintenance.", "Retry later.", retry=True),
    ReturnCode(61000, "TOO_MANY_REQUESTS_BL", "Throttled hard.", "Retry much later with long backoff.",
               retry=True),
)
RETURN_CODES: Final[dict[int, ReturnCode]] = {c.code: c for c in _CODES}


def describe_code(code: int) -> ReturnCode:
    """The ReturnCode for `code`; unknown codes get a generic entry (51xxx/52xxx internal are retryable).

    TikTok: errors arrive with HTTP 200 and a non-zero `code`; 51000-52999 are internal RPC/storage errors.
    """
    known = RETURN_CODES.get(code)
    if known is not None:
        return known
    if 51000 <= code <= 52999:
        return ReturnCode(code, "INTERNAL_ERROR", "TikTok internal service error.",
                          "Retry later (the console retries).", retry=True)
    return ReturnCode(code, "UNKNOWN", f"Return code {code} is not in the console's table.",
                      "Search the code in TikTok's Business API docs and keep the request_id.")

