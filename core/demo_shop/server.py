"""The demo shop's server: its static pages, and a "backend" that sends the server half of each order.

POST /order places an order (ids from 1001 up, in order) and, when the shop has an `events_api_url`,
posts the Purchase as an Events API v1.3 body there before answering: the same event_id the page's
Pixel Purchase then uses (`ord_<order>_purchase`), the browser's ip and user agent, the email
normalized and SHA-256 hashed, ttclid and _ttp from the browser's cookies. The raw email is never kept.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import httpx

from core.contract import TRACK_PATH
from core.errors import InvalidIdentifier
from core.identity import normalize_email, sha256_hex

STATIC: Final = Path(__file__).resolve().parent / "static"
_TYPES: Final = {".html": "text/html; charset=utf-8", ".js": "application/javascript; charset=utf-8"}
PLACEHOLDER_TOKEN: Final = "demo-shop-no-token"  # sent when the shop has no token (the emulator needs one)


@dataclass(slots=True)
class ShopState:
    """What the shop did: orders placed and the server half's answers (no raw email, no token)."""

    events_api_url: str | None
    pixel_code: str
    access_token: str | None
    test_event_code: str | None
    next_order: int = 1001
    orders: list[dict[str, Any]] = field(default_factory=list)
    server_sends: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def track_url(events_api_url: str) -> str:
    """The full track URL from a base URL (the relay's or emulator's address) or a full track URL."""
    url = events_api_url.rstrip("/")
    return url + "/" if url.endswith("/event/track") else url + TRACK_PATH


def server_body(state: ShopState, order: dict[str, Any], form: dict[str, Any], ip: str, ua: str) -> dict[str, Any]:
    """The v1.3 body the shop's backend sends for one order."""
    user: dict[str, Any] = {"ip": ip, "user_agent": ua}
    with contextlib.suppress(InvalidIdentifier):  # no usable email: ip, user agent and cookies still go
        user["email"] = sha256_hex(normalize_email(str(form.get("email") or "")))
    for key in ("ttclid", "ttp"):
        if form.get(key):
            user[key] = str(form[key])
    event = {"event": "Purchase", "event_time": int(time.time()), "event_id": order["event_id"], "user": user,
             "page": {"url": str(form.get("url") or ""), "referrer": str(form.get("referrer") or "")},
             "properties": {"currency": "USD", "value": order["value"], "content_type": "product",
                            "contents": order["contents"], "order_id": order["order_id"]}}
    body: dict[str, Any] = {"event_source": "web", "event_source_id": state.pixel_code, "data": [event]}
    if state.test_event_code:
        body["test_event_code"] = state.test_event_code
    return body


def send_server_half(state: ShopState, body: dict[str, Any]) -> dict[str, Any]:
    """POST the body to the Events API URL; the answer (status, code, message) or the error, never the token."""
    record: dict[str, Any] = {"event_id": body["data"][0]["event_id"], "url": track_url(state.events_api_url or "")}
    try:
        answer = httpx.post(record["url"], content=json.dumps(body).encode("utf-8"), timeout=10.0,
                            headers={"Access-Token": state.access_token or PLACEHOLDER_TOKEN,
                                     "Content-Type": "application/json"})
        record["status"] = answer.status_code
        try:
            envelope = answer.json()
            record.update(code=envelope.get("code"), message=envelope.get("message"))
        except ValueError:
            record["message"] = answer.text[:200]
    except httpx.HTTPError as exc:
        record.update(status=0, error=f"{type(exc).__name__}: {exc}")
    return record


def _contents(form: dict[str, Any]) -> list[dict[str, Any]]:
    items = form.get("contents")
    return [c for c in items if isinstance(c, dict)] if isinstance(items, list) else []


class ShopHandler(BaseHTTPRequestHandler):
    """Static pages with the pixel code filled in; POST /order."""

    state: ShopState

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the shop does not log (an order's query string could carry personal data)."""

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        """The static pages; `/` is index.html."""
        path = urlsplit(self.path).path
        name = "index.html" if path in ("", "/") else path.lstrip("/")
        file = STATIC / name
        if "/" in name or not file.is_file():
            self._send(404, b"not found", "text/plain")
            return
        text = file.read_text(encoding="utf-8").replace("__PIXEL_CODE__", self.state.pixel_code)
        self._send(200, text.encode("utf-8"), _TYPES.get(file.suffix, "application/octet-stream"))

    def do_POST(self) -> None:
        """POST /order: place the order, send the server half, answer {order_id, event_id}."""
        if urlsplit(self.path).path != "/order":
            self._send(404, b"not found", "text/plain")
            return
        length = min(int(self.headers.get("Content-Length") or 0), 100_000)
        try:
            form = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            form = None
        if not isinstance(form, dict):
            self._send(400, b'{"error": "the order is not a JSON object"}', "application/json")
            return
        state = self.state
        with state.lock:
            order_id = str(state.next_order)
            state.next_order += 1
        value = form.get("value")
        order = {"order_id": order_id, "event_id": f"ord_{order_id}_purchase", "contents": _contents(form),
                 "value": float(value) if isinstance(value, int | float) else 0.0}
        if state.events_api_url:
            body = server_body(state, order, form, self.client_address[0], self.headers.get("User-Agent", ""))
            send = send_server_half(state, body)
            with state.lock:
                state.server_sends.append(send)
        with state.lock:
            state.orders.append(order)
        self._send(200, json.dumps({"order_id": order_id, "event_id": order["event_id"]}).encode(), "application/json")


def make_server(state: ShopState, port: int = 0) -> ThreadingHTTPServer:
    """A threading HTTP server on 127.0.0.1 serving the shop for `state`."""
    handler = type("BoundShopHandler", (ShopHandler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    return server
