"""A browser capture recorded into a live session, and the demo shop's whole session offline.

`capture_into_session` runs core.capture and writes each Pixel hit into the session's store the moment the
browser fires it, so the Live page (and `history`) see the hits arrive. `run_demo_session` is the offline
golden path in one call: the emulator, the recording relay in front of it, the demo shop whose backend
posts through the relay, and a capture of the shop's journey with every non-127.0.0.1 request answered
locally. Both legs land in one session, where the Purchase pairs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from core.capture import CaptureOptions, CaptureResult, run_capture
from core.store import Store

DEMO_TEST_EVENT_CODE = "TESTDEMOSHOP"


def capture_into_session(store: Store, session_id: str, options: CaptureOptions, *,
                         on_event: Callable[[dict[str, Any]], None] | None = None,
                         stop: threading.Event | None = None) -> CaptureResult:
    """Run the capture; every Pixel row goes into `session_id` (source `capture`) as it is captured.

    The session is created when new. Raises what run_capture raises before a browser starts (a bad URL or
    journey: InvalidInput; no browser: BrowserMissing), so nothing is recorded for a capture that never ran.
    """
    store.create_session(label="live session", session_id=session_id)

    def record(row: dict[str, Any]) -> None:
        store.add_pixel_hits(session_id, [row], source="capture")
        if on_event is not None:
            on_event(row)

    return run_capture(replace(options, session_id=session_id), on_event=record, stop=stop)


@dataclass(slots=True)
class DemoSession:
    """What the demo session did: the capture, the orders the shop took and its backend's sends."""

    capture: CaptureResult
    orders: list[dict[str, Any]]
    server_sends: list[dict[str, Any]]
    relayed: int


def run_demo_session(store: Store, session_id: str, *, idle_seconds: float = 2.0,
                     on_event: Callable[[dict[str, Any]], None] | None = None) -> DemoSession:
    """The demo shop's purchase journey captured offline, its backend's server half through a relay to a local
    emulator, all recorded in `session_id`. Nothing leaves 127.0.0.1."""
    from core.demo_shop import DEMO_JOURNEY, start_demo_shop
    from core.emulator import start_emulator
    from core.relay import start_relay

    store.create_session(label="demo shop", session_id=session_id)
    with start_emulator() as emu, start_relay(forward_url=emu.url, session_id=session_id, store=store) as relay, \
            start_demo_shop(events_api_url=relay.url, test_event_code=DEMO_TEST_EVENT_CODE) as shop:
        result = capture_into_session(
            store, session_id, CaptureOptions(url=shop.url, journey=list(DEMO_JOURNEY), offline=True,
                                              idle_seconds=idle_seconds), on_event=on_event)
        sends = shop.server_sends
        relay.wait_recorded(len(sends), timeout=30)
        return DemoSession(result, shop.orders, sends, relay.recorded)
