"""`--offline`: every request to a host other than 127.0.0.1 is answered inside the browser context.

Pixel endpoints get TikTok's success envelope, CORS preflights a 204, anything else an empty 200, so a
demo or a test sends nothing off the machine. The router counts requests per host, both the ones it let
through (127.0.0.1 only) and the ones it answered, so a test can prove it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Final
from urllib.parse import urlsplit

from core.sources.har import request_kind

LOCAL_HOST: Final = "127.0.0.1"
PIXEL_OK: Final = '{"code":0,"message":"OK","data":{}}'
_CORS: Final = {"access-control-allow-origin": "*", "access-control-allow-headers": "*",
                "access-control-allow-methods": "GET, POST, OPTIONS"}
_TYPES: Final = {".js": "application/javascript", ".css": "text/css", ".json": "application/json",
                 ".png": "image/png", ".gif": "image/gif", ".svg": "image/svg+xml"}
# belt and braces: a request that escaped the router would meet a closed local port, not the internet
DEAD_PROXY: Final = {"server": "http://127.0.0.1:9", "bypass": "127.0.0.1"}


def host_of(url: str) -> str:
    """The URL's host in lower case ("" for data:, blob: and unreadable URLs)."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


class OfflineRouter:
    """A Playwright route handler: 127.0.0.1 goes through, every other host is answered locally."""

    def __init__(self) -> None:
        self.passed: Counter[str] = Counter()
        self.answered: Counter[str] = Counter()
        self.fulfilled: set[int] = set()  # id() of each request the router answered

    def __call__(self, route: Any) -> None:
        request = route.request
        url = str(request.url)
        host = host_of(url)
        if host == LOCAL_HOST or url.startswith(("data:", "blob:")):
            self.passed[host or url.split(":", 1)[0]] += 1
            route.continue_()
            return
        self.answered[host] += 1
        try:
            if str(request.method).upper() == "OPTIONS":
                route.fulfill(status=204, headers=_CORS, body="")
            elif request_kind(url) == "event":
                route.fulfill(status=200, headers=_CORS, content_type="application/json", body=PIXEL_OK)
            else:
                path = urlsplit(url).path.lower()
                kind = next((t for ext, t in _TYPES.items() if path.endswith(ext)), "text/plain")
                route.fulfill(status=200, headers=_CORS, content_type=kind, body="")
        except Exception:  # the page went away first: the request was cancelled, not answered
            return
        self.fulfilled.add(id(request))

    def as_dict(self) -> dict[str, dict[str, int]]:
        """`{"passed": {host: n}, "answered_locally": {host: n}}`."""
        return {"passed": dict(sorted(self.passed.items())), "answered_locally": dict(sorted(self.answered.items()))}
