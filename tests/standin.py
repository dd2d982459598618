"""An independent stand-in for TikTok's /event/track/ that counts every event_id it received.

Written apart from core/emulator.py on purpose: the fault tests judge the console by what arrives at the
server, not by what the console says. Behaviours, set per test:
- `token`: the only Access-Token accepted (40105 otherwise);
- `delay_s`: answer this late (the events are counted first, like a slow gateway);
- `partial_first`: answer the first N requests 20001 after keeping only the first half of their events;
- `refuse_prefix`: 40002 naming `data.N` for the first event whose event_id starts with it (TikTok names one).
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class StandIn:
    """A running stand-in on 127.0.0.1: `url`, `counts` (event_id -> deliveries), `requests`, `stop()`."""

    def __init__(self, *, token: str = "standin-token", delay_s: float = 0.0, partial_first: int = 0,
                 refuse_prefix: str | None = None) -> None:
        self.token = token
        self.delay_s = delay_s
        self.partial_first = partial_first
        self.refuse_prefix = refuse_prefix
        self.counts: Counter[str] = Counter()
        self.requests = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> StandIn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def delivered(self) -> set[str]:
        with self._lock:
            return set(self.counts)

    def twice(self) -> dict[str, int]:
        with self._lock:
            return {k: v for k, v in self.counts.items() if v > 1}

    def _answer(self, body: Any) -> tuple[int, str]:
        """(code, message) for one request; counts what it keeps."""
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list) or not 1 <= len(data) <= 1000:
            return 40002, "Invalid value for data: must be a list of 1 to 1000 events."
        ids = [str(e.get("event_id", "")) if isinstance(e, dict) else "" for e in data]
        if self.refuse_prefix is not None:
            for i, eid in enumerate(ids):
                if eid.startswith(self.refuse_prefix):
                    return 40002, f"Invalid value for data.{i}.properties: refused by the stand-in."
        with self._lock:
            self.requests += 1
            partial = self.requests <= self.partial_first
            for eid in ids[: len(ids) // 2] if partial else ids:
                self.counts[eid] += 1
        return (20001, "Partial success.") if partial else (0, "OK")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("Access-Token") != standin.token:
                    code, message = 40105, "Access token is incorrect or has been revoked."
                else:
                    try:
                        body = json.loads(raw)
                    except ValueError:
                        body = None
                    code, message = standin._answer(body)
                    if standin.delay_s:
                        time.sleep(standin.delay_s)
                payload = json.dumps({"code": code, "message": message, "request_id": f"standin-{time.time_ns()}",
                                      "data": {}}).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:  # the client gave up on this connection
                    pass

        return Handler
