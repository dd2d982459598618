"""A small local demo shop for the offline golden path: four pages, a stand-in Pixel, a backend.

The pages (static/) fire Pixel-shaped requests through `standin-pixel.js`, a stand-in that is clearly
not TikTok's code, to TikTok's real Pixel endpoint URL (a capture with `--offline` answers them locally).
The checkout's "Place order" posts to the shop's own /order; its backend (core.demo_shop.server) sends
the server half of the Purchase, with the same event_id, to `events_api_url` (the relay or the emulator;
None: no server half). ttclid is carried through every page. `DEMO_JOURNEY` walks it end to end.
"""

from __future__ import annotations

import threading
from typing import Any, Final

from core.demo_shop.server import ShopState, make_server, track_url

DEMO_PIXEL_CODE: Final = "CDEMOSHOP00000000001"
DEMO_TTCLID: Final = "E.C.P.demo-click-0001"
DEMO_EMAIL: Final = "newcomer@example.com"
# lands with a click id, views a product, adds it to the cart, checks out and purchases
DEMO_JOURNEY: Final[list[dict[str, Any]]] = [
    {"goto": f"/?ttclid={DEMO_TTCLID}"},
    {"wait_for": "#products"},
    {"click": "#view-TEE-01"},
    {"wait_for": "#add-to-cart"},
    {"click": "#add-to-cart"},
    {"wait_for": "#email"},
    {"fill": "#email", "text": DEMO_EMAIL},
    {"click": "#place-order"},
    {"wait_for": "#thanks"},
]


class DemoShop:
    """The running shop: `.url`, `.orders`, `.server_sends`, `.stop()`; a context manager."""

    def __init__(self, state: ShopState, port: int = 0) -> None:
        self.state = state
        self._server = make_server(state, port)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="demo-shop", daemon=True)
        self._thread.start()

    @property
    def orders(self) -> list[dict[str, Any]]:
        """Orders placed so far (order_id, event_id, contents, value)."""
        with self.state.lock:
            return list(self.state.orders)

    @property
    def server_sends(self) -> list[dict[str, Any]]:
        """The backend's sends so far: event_id, url, status, code, message (or error)."""
        with self.state.lock:
            return list(self.state.server_sends)

    def stop(self) -> None:
        """Stop serving and free the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> DemoShop:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_demo_shop(*, events_api_url: str | None = None, pixel_code: str = DEMO_PIXEL_CODE,
                    access_token: str | None = None, port: int = 0,
                    test_event_code: str | None = None) -> DemoShop:
    """Start the demo shop on 127.0.0.1 (`port` 0: a free one); its backend posts to `events_api_url`."""
    state = ShopState(events_api_url=events_api_url, pixel_code=pixel_code, access_token=access_token,
                      test_event_code=test_event_code)
    return DemoShop(state, port)


__all__ = ["DEMO_EMAIL", "DEMO_JOURNEY", "DEMO_PIXEL_CODE", "DEMO_TTCLID", "DemoShop", "start_demo_shop",
           "track_url"]
