"""The consent preview: for one consent state, what the Pixel would send beside what the server body carries.

TikTok (contract §2.3, field-2026 1.11): the Events API body has no consent field and TikTok does not read
Consent Mode, so consent is applied by the sender: core.payload removes the personal identifiers when
`ad_user_data` is DENIED and sets `limited_data_use: true` when `ad_personalization` is DENIED (the
server leg here is exactly core.payload's body). The Pixel has its own calls: `ttq.holdConsent()` keeps
events back until `ttq.grantConsent()`, `ttq.revokeConsent()` stops them; limited data use is a
`ttq.load(code, {limited_data_use: true})` option; identifiers reach it through `ttq.identify()`.
The Pixel leg assumes the site gates `ttq.identify()` and LDU on the same two signals as the server.

Dedup (contract §8): the pair is Pixel code + event + event_id; a Pixel that sends nothing leaves the
server event alone (counted once, from the server); without an event_id both legs count.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any, Final, Literal

from core.errors import InvalidInput
from core.payload import Consent, EventSpec, build_body, consent_effects

PixelConsent = Literal["granted", "held", "revoked"]
PIXEL_STATES: Final[tuple[PixelConsent, ...]] = ("granted", "held", "revoked")
PIXEL_CALLS: Final = {"granted": "ttq.grantConsent()", "held": "ttq.holdConsent()", "revoked": "ttq.revokeConsent()"}
# identifier -> how the Pixel gets it; the personal ones come through ttq.identify() (hashed by the Pixel)
PIXEL_SOURCES: Final = {
    "email": "ttq.identify({email}) (the Pixel hashes it)",
    "phone": "ttq.identify({phone_number}) (the Pixel hashes it)",
    "external_id": "ttq.identify({external_id})",
    "ttclid": "the page URL's ?ttclid=",
    "ttp": "the _ttp first-party cookie",
    "ip": "the browser's connection",
    "user_agent": "the browser's User-Agent header",
}
PERSONAL: Final = ("email", "phone", "external_id")
IDENTIFIERS: Final = (*PERSONAL, "ttclid", "ttp", "ip", "user_agent")
BROWSER_KEYS: Final = ("ttp", "ip", "user_agent")  # a firing Pixel always has these: the cookie and the request


@dataclass(frozen=True, slots=True)
class ConsentState:
    """One consent situation: the two Google-style signals and the Pixel's own consent call."""

    ad_user_data: str = "GRANTED"
    ad_personalization: str = "GRANTED"
    pixel: PixelConsent = "granted"


@dataclass(slots=True)
class Leg:
    """One path of the event (Pixel or server): does it send, with which calls and identifiers."""

    name: str
    sends: bool
    calls: list[str] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)  # identifiers that travel
    withheld: dict[str, str] = field(default_factory=dict)  # identifier -> why it does not travel
    limited_data_use: bool = False
    event: str = ""
    event_id: str | None = None


@dataclass(slots=True)
class ConsentPreview:
    """Both legs side by side for one state, whether they still pair for dedup, and what to know."""

    state: ConsentState
    pixel: Leg
    server: Leg
    pairs: bool
    verdict: str
    notes: list[str] = field(default_factory=list)
    body: dict[str, Any] = field(default_factory=dict)  # the server body for this state (hashed values only)

    def table(self) -> list[dict[str, str]]:
        """Rows "what | Pixel | server": each identifier, limited_data_use, event and event_id."""
        def cell(leg: Leg, name: str) -> str:
            if not leg.sends:
                return "not sent (Pixel " + self.state.pixel + ")"
            if name in leg.sent:
                return "sent" + (f" ({PIXEL_SOURCES[name]})" if leg is self.pixel else "")
            return leg.withheld.get(name, "not given")

        rows = [{"what": name, "pixel": cell(self.pixel, name), "server": cell(self.server, name)}
                for name in IDENTIFIERS]
        for label, p, s in (("limited_data_use", self.pixel.limited_data_use, self.server.limited_data_use),
                            ("event", self.pixel.event, self.server.event),
                            ("event_id", self.pixel.event_id or "(none)", self.server.event_id or "(none)")):
            rows.append({"what": label, "pixel": str(p).lower() if isinstance(p, bool) else str(p),
                         "server": str(s).lower() if isinstance(s, bool) else str(s)})
        if not self.pixel.sends:
            for row in rows[-3:]:
                row["pixel"] = "not sent (Pixel " + self.state.pixel + ")"
        return rows

    def as_dict(self) -> dict[str, Any]:
        """Plain dict for JSON (no raw identifier values: names of fields only, and the hashed body)."""
        def leg(x: Leg) -> dict[str, Any]:
            return {"name": x.name, "sends": x.sends, "calls": x.calls, "sent": x.sent, "withheld": x.withheld,
                    "limited_data_use": x.limited_data_use, "event": x.event, "event_id": x.event_id}

        return {"state": {"ad_user_data": self.state.ad_user_data,
                          "ad_personalization": self.state.ad_personalization, "pixel": self.state.pixel},
                "pixel": leg(self.pixel), "server": leg(self.server), "pairs": self.pairs, "verdict": self.verdict,
                "notes": list(self.notes)}


def _given(spec: EventSpec, server_user: dict[str, Any], withheld: dict[str, str]) -> set[str]:
    """Identifiers the event has at all (typed into the spec, or sent, or withheld by consent)."""
    given: set[str] = {name for name in IDENTIFIERS if name in server_user or name in withheld}
    if spec.page_url and "ttclid=" in spec.page_url:
        given.add("ttclid")
    return given


def _pixel_leg(spec: EventSpec, state: ConsentState, pixel_code: str, given: set[str], event: str,
               event_id: str | None) -> Leg:
    leg = Leg("Pixel (browser)", sends=state.pixel == "granted", event=event, event_id=event_id,
              limited_data_use=state.ad_personalization == "DENIED")
    load_opts = ", {limited_data_use: true}" if leg.limited_data_use else ""
    leg.calls = [PIXEL_CALLS[state.pixel], f"ttq.load({json.dumps(pixel_code)}{load_opts})"]
    personal = [n for n in PERSONAL if n in given]
    if personal and state.ad_user_data == "GRANTED":
        keys = {"email": "email", "phone": "phone_number", "external_id": "external_id"}
        leg.calls.append("ttq.identify({" + ", ".join(f"{keys[n]}: …" for n in personal) + "})")
    props = {k: v for k, v in (("value", spec.value), ("currency", spec.currency)) if v not in (None, "")}
    options = f", {{event_id: {json.dumps(event_id)}}}" if event_id else ""
    leg.calls.append(f"ttq.track({json.dumps(event)}, {json.dumps(props)}{options})")
    for name in IDENTIFIERS:
        if name not in given and name not in BROWSER_KEYS:
            continue
        if name in PERSONAL and state.ad_user_data == "DENIED":
            leg.withheld[name] = "withheld: ad_user_data DENIED (no ttq.identify)"
        else:
            leg.sent.append(name)
    if state.pixel != "granted":
        leg.withheld, leg.sent = {}, []
    return leg


def _server_leg(body: dict[str, Any], removed: dict[str, str]) -> Leg:
    event = body["data"][0]
    user = event.get("user") or {}
    return Leg("Events API (server)", sends=True, calls=["POST /open_api/v1.3/event/track/"],
               sent=[n for n in IDENTIFIERS if n in user], withheld=dict(removed),
               limited_data_use=bool(event.get("limited_data_use")), event=str(event.get("event", "")),
               event_id=event.get("event_id"))


def _verdict(state: ConsentState, pixel: Leg, server: Leg) -> tuple[bool, str]:
    if state.pixel == "held":
        return False, ("Server only for now: the Pixel holds the event until ttq.grantConsent(). Granted later "
                       "(within 48 h) it fires with the same event_id and pairs; revoked, TikTok counts the server "
                       "event once.")
    if state.pixel == "revoked":
        return False, ("Server only: the Pixel sends nothing, so there is nothing to pair; TikTok counts the server "
                       "event once.")
    if not server.event_id:
        return False, ("No pair: without an event_id TikTok cannot deduplicate, so both legs count (the event is "
                       "counted twice). Give an order id or event id.")
    return True, (f"Pair: both legs carry {server.event} with event_id {server.event_id}; TikTok merges them "
                  "(within 5 minutes) or drops the later one (within 48 h). Consent does not touch the dedup key.")


def _state(value: str, name: str) -> Consent:
    state = (value or "").strip().upper()
    if state not in ("GRANTED", "DENIED"):
        raise InvalidInput(f"{name} {value!r} is not a consent state.", hint="Use GRANTED or DENIED.")
    return "GRANTED" if state == "GRANTED" else "DENIED"


def preview_consent(spec: EventSpec, state: ConsentState, *, pixel_code: str, region: str | None = None,
                    now: float | None = None) -> ConsentPreview:
    """What the Pixel would send and what the server body would carry for `spec` under `state`.

    The server leg is core.payload's body built with the state's ad_user_data / ad_personalization (its
    consent suppression, not a second copy). Raises InvalidInput where build_body does (no Pixel code,
    no event name, a bad value).
    """
    pixel_state = str(state.pixel or "").strip().lower()
    if pixel_state not in PIXEL_STATES:
        raise InvalidInput(f"Pixel consent {state.pixel!r} is not a Pixel consent state.",
                           hint="Use granted, held or revoked.")
    # one spelling for both legs: " denied " must gate the Pixel exactly as it gates the server body
    state = ConsentState(_state(state.ad_user_data, "ad_user_data"),
                         _state(state.ad_personalization, "ad_personalization"), pixel_state)
    gated = replace(spec, ad_user_data=state.ad_user_data, ad_personalization=state.ad_personalization)  # type: ignore[arg-type]
    result = build_body(gated, pixel_code=pixel_code, region=region, now=now)
    removed = {s.field.removeprefix("user."): "withheld: " + s.reason.removeprefix("consent: ")
               for s in consent_effects(result) if s.field.startswith("user.")}
    server = _server_leg(result.body, removed)
    given = _given(spec, result.body["data"][0].get("user") or {}, removed)
    pixel = _pixel_leg(spec, state, pixel_code, given, server.event, server.event_id)
    pairs, verdict = _verdict(state, pixel, server)
    notes = []
    if state.pixel == "revoked" and any(n in server.sent for n in PERSONAL):
        notes.append("The Pixel is revoked but the server still sends personal identifiers: one path is gated, the "
                     "other is not. Gate the server call on the same consent (set ad_user_data DENIED).")
    if state.ad_user_data == "DENIED" and any(n in server.sent for n in ("ip", "user_agent", "ttclid", "ttp")):
        notes.append("ad_user_data DENIED withholds email, phone and external_id; ip, user agent, ttclid and ttp "
                     "still travel on both legs. Drop them too if your policy counts them as personal data.")
    missing = [n for n in BROWSER_KEYS if n in pixel.sent and n not in server.sent]
    if missing:
        notes.append(f"The Pixel sends {', '.join(missing)} by itself; the server body has no {', '.join(missing)}: "
                     "pass them from the request to the server event for stronger matching.")
    if server.limited_data_use:
        notes.append("limited_data_use is true on both legs: TikTok limits how it uses the event (ad "
                     "personalization denied); the event still counts and still pairs.")
    return ConsentPreview(state, pixel, server, pairs, verdict, notes, result.body)


__all__ = ["IDENTIFIERS", "PIXEL_STATES", "ConsentPreview", "ConsentState", "Leg", "preview_consent"]
