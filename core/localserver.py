"""What every HTTP server the console runs on 127.0.0.1 shares: a daemon thread, its URL, a clean stop.

The emulator (core.emulator) and the relay (core.relay) are both one; `serve` starts the thread.
"""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer
from typing import Any, Self

from core.contract import TRACK_PATH


class LocalServer:
    """A ThreadingHTTPServer on 127.0.0.1 served from a daemon thread: `url`, `track_url`, `stop()`, `with`."""

    _httpd: ThreadingHTTPServer
    _thread: threading.Thread
    port: int
    url: str

    def serve(self, httpd: ThreadingHTTPServer, name: str) -> None:
        """Serve `httpd` from a daemon thread named `name-PORT`; sets `port` and `url`."""
        self._httpd = httpd
        self.port = int(httpd.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                        name=f"{name}-{self.port}", daemon=True)
        self._thread.start()

    @property
    def track_url(self) -> str:
        """The server's `/open_api/v1.3/event/track/` URL."""
        return self.url + TRACK_PATH

    def stop(self) -> None:
        """Stop serving and close the socket (idempotent); subclasses close what else they hold."""
        if self._thread.is_alive():
            self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
