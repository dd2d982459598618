"""Valid match-key values shared by the quality and review tests (one per key, as sent)."""

from __future__ import annotations

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
