"""Shared test data: valid match-key values (one per key, as sent) and a Pixel beacon body."""

from __future__ import annotations

from typing import Any

from core.identity import sha256_hex

UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
      "Version/17.4 Mobile/15E148 Safari/604.1")
GOOD = {
    "email": sha256_hex("alice_abc@gmail.com"),
    "phone": sha256_hex("+12133734253"),
    "external_id": sha256_hex("user_123"),
    "ttclid": "E.C.P.CqgBc2VydmVyLXNpZGUtY2xpY2staWQ",
    "ttp": "01K0T8BYGJH63785W68YS5NN1R_.tt.1",
    "ip": "2a02:c7c:1234:5600::1",
    "user_agent": UA,
}


# One Pixel beacon body as the browser sends it (a /api/v2/pixel POST), for the HAR and Pixel reader tests.
PIXEL_CODE = "CQ1ABCDE2FGH3IJK4LMN"
PIXEL_BEACON: dict[str, Any] = {
    "event": "AddToCart", "event_id": "atc_1", "message_id": f"messageId-1773483400077-1234567890123-{PIXEL_CODE}",
    "timestamp": "2026-03-14T10:16:40.077Z",
    "context": {"pixel": {"code": PIXEL_CODE}, "page": {"url": "https://shop.example.com/p"}, "user": {},
                "userAgent": "UA/1"},
    "properties": {"value": "99.95", "currency": "EUR"},
}
